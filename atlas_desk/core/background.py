"""The services' background loops (outbox runner, calendar scheduler, SLA watch): waking and stopping them."""

from __future__ import annotations

import asyncio


def wake_loop(event: asyncio.Event, loop: asyncio.AbstractEventLoop | None) -> None:
    """Set ``event``, which ``loop`` waits on, from any thread.

    Before the loop exists (or after it closed) the event is set directly, so a start later sees it; on the
    loop's own thread too; from any other thread only through ``call_soon_threadsafe``, because
    ``asyncio.Event`` is not thread-safe.
    """
    if loop is None or loop.is_closed():
        event.set()
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        event.set()
    else:
        loop.call_soon_threadsafe(event.set)


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; True if it was set.

    Not ``asyncio.wait_for(event.wait(), ...)``: on Python 3.11 that swallows a cancellation arriving just as
    the event is set, and a loop built on it then never stops (gh-86296). ``asyncio.timeout`` passes it on.
    """
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has finished, whatever it ended with."""
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


__all__ = ["cancel_and_wait", "wait_event", "wake_loop"]
