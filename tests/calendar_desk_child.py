"""A desk process for the kill -9 test of scheduled posts (run by tests/test_calendar_restart.py).

Usage: python calendar_desk_child.py DB CONFIG_JSON NOW_ISO MODE
MODE "hang": enqueue the due post, send it, and block in the writer job that would record it as done (the
parent kills the process there with SIGKILL). MODE "normal": replay, run the scheduler, exit when the outbox
has nothing left to do. Prints SENT / DONE on stdout for the parent.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from atlas_desk.config import DiscordSettings
from atlas_desk.core.bus import ChangeBus, OutboxChanged
from atlas_desk.core.calendar import CalendarService
from atlas_desk.core.outbox import OutboxRunner
from atlas_desk.core.types import OutboxState, Platform
from atlas_desk.platforms.discord.connector import DiscordConnector
from atlas_desk.platforms.discord.events import ScheduledEventSync
from atlas_desk.store import outbox as outbox_repo
from atlas_desk.store.db import Store


class NullSink:
    async def ingest(self, items: Any) -> None:
        return None

    def set_state(self, platform: Any, state: Any, reason: str = "") -> None:
        return None

    async def get_cursor(self, platform: Any, stream: str) -> str | None:
        return None

    async def set_cursor(self, platform: Any, stream: str, cursor: str) -> None:
        return None


async def main(db: str, config: dict[str, Any], token: str, now: datetime, mode: str) -> None:
    if mode == "hang":
        real_mark_done = outbox_repo.mark_done

        def mark_done_then_hang(*args: Any, **kwargs: Any) -> bool:
            print("SENT", flush=True)
            threading.Event().wait()  # the writer blocks here until SIGKILL
            return real_mark_done(*args, **kwargs)

        outbox_repo.mark_done = mark_done_then_hang  # type: ignore[assignment]
    store = Store.open(Path(db))
    bus = ChangeBus()
    settings = DiscordSettings(**config)
    connector = DiscordConnector(settings, token, NullSink(), guild_ready_timeout=0.05)
    runner = OutboxRunner(store, bus, {Platform.DISCORD: connector}, clock=lambda: now, base_delay=0.01)
    calendar = CalendarService(store, bus, runner)
    ScheduledEventSync(connector, calendar).install()
    await connector.start()
    await connector.wait_caught_up(30)
    await runner.start()
    await calendar.run_due()
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    def check(_change: Any) -> None:
        counts = outbox_repo.count_by_state(store.reader())
        if counts[OutboxState.PENDING] == counts[OutboxState.SENDING] == 0:
            loop.call_soon_threadsafe(done.set)

    bus.subscribe(OutboxChanged, check)
    check(None)
    await asyncio.wait_for(done.wait(), 60)
    print("DONE", flush=True)
    await runner.stop()
    await connector.stop()
    store.close()


if __name__ == "__main__":
    cfg = json.loads(sys.argv[2])
    token = cfg.pop("token")
    asyncio.run(main(sys.argv[1], cfg, token, datetime.fromisoformat(sys.argv[3]), sys.argv[4]))
