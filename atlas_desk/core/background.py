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


async def cancel_and_wait(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has finished, whatever it ended with."""
    if task is not None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


__all__ = ["cancel_and_wait", "wake_loop"]
