"""The services' background loops stop when told to, even if woken at the same moment."""

from __future__ import annotations

import asyncio

from atlas_desk.core.background import cancel_and_wait, wait_event


async def _until_waiting(event: asyncio.Event) -> None:
    while not event._waiters:  # type: ignore[attr-defined]  # the loop has reached its wait
        await asyncio.sleep(0)


def test_wait_event_says_whether_the_event_came(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> tuple[bool, bool]:
        event = asyncio.Event()
        timed_out = await wait_event(event, 0.01)
        aloop.call_soon(event.set)
        came = await wait_event(event, 30)
        return timed_out, came

    assert aloop.run_until_complete(asyncio.wait_for(body(), 10)) == (False, True)


def test_a_loop_woken_and_cancelled_at_once_stops(aloop: asyncio.AbstractEventLoop) -> None:
    """A wake-up (a store change) landing with the stop must not keep the loop alive (3.11 wait_for)."""

    async def service(event: asyncio.Event) -> None:
        while True:
            event.clear()
            await wait_event(event, 3600)

    async def body() -> None:
        for _ in range(20):
            event = asyncio.Event()
            task = asyncio.ensure_future(service(event))
            await _until_waiting(event)
            event.set()
            await asyncio.wait_for(cancel_and_wait(task), 5)
            assert task.cancelled()

    aloop.run_until_complete(asyncio.wait_for(body(), 30))
