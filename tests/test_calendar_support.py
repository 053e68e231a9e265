"""Helpers for the calendar tests: a store, the outbox, the calendar service and the Discord sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from atlas_desk.core.bus import Change, ChangeBus
from atlas_desk.core.calendar import CalendarService
from atlas_desk.core.outbox import OutboxRunner
from atlas_desk.core.types import Platform
from atlas_desk.platforms.discord.connector import DiscordConnector
from atlas_desk.platforms.discord.events import ScheduledEventSync
from atlas_desk.sandbox.community import generate
from atlas_desk.sandbox.discord.server import DiscordSandbox
from atlas_desk.sandbox.model import Community
from atlas_desk.store.db import Store
from tests.test_discord_support import FakeSink, settings_for

WAIT = 15.0
SEED = 7


def community() -> Community:
    return generate(SEED)


class Clock:
    """An injectable clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Waiter:
    """Wait (without sleeping) until a predicate holds, re-checking on every change published on the bus."""

    def __init__(self, bus: ChangeBus) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        bus.subscribe(Change, lambda _c: self._loop.call_soon_threadsafe(self._event.set))

    def poke(self) -> None:
        self._event.set()

    async def until(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        async def wait() -> None:
            while not predicate():
                self._event.clear()
                await self._event.wait()

        await asyncio.wait_for(wait(), timeout)


@dataclass
class Desk:
    store: Store
    bus: ChangeBus
    runner: OutboxRunner
    calendar: CalendarService
    connector: DiscordConnector | None
    waiter: Waiter


@asynccontextmanager
async def running_sandbox(c: Community | None = None) -> AsyncIterator[DiscordSandbox]:
    sandbox = DiscordSandbox(c or community())
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.stop()


@asynccontextmanager
async def desk(
    path: Path,
    sandbox: DiscordSandbox | None,
    *,
    clock: Callable[[], datetime] | None = None,
    connect: bool = True,
    extra: dict[Platform, Any] | None = None,
    **runner_options: Any,
) -> AsyncIterator[Desk]:
    """One desk process: store, bus, outbox runner, calendar (and a live Discord connector if ``sandbox``)."""
    store = Store.open(path)
    bus = ChangeBus()
    waiter = Waiter(bus)
    executors: dict[Platform, Any] = dict(extra or {})
    runner = OutboxRunner(
        store, bus, executors, clock=clock or (lambda: datetime.now(UTC)), base_delay=0.01, **runner_options
    )
    calendar = CalendarService(store, bus, runner)
    connector = None
    if sandbox is not None and connect:
        connector = DiscordConnector(
            settings_for(sandbox), sandbox.token, FakeSink(), guild_ready_timeout=0.05, reidentify_delay=0.05
        )
        ScheduledEventSync(connector, calendar).install()
        executors[Platform.DISCORD] = connector
        await connector.start()
        await connector.wait_caught_up(WAIT)
    await runner.start()
    try:
        yield Desk(store, bus, runner, calendar, connector, waiter)
    finally:
        await calendar.stop()
        await runner.stop()
        if connector is not None:
            await connector.stop()
        await asyncio.to_thread(store.close)


def run(loop: asyncio.AbstractEventLoop, body: Callable[[], Any], timeout: float = 90) -> None:
    loop.run_until_complete(asyncio.wait_for(body(), timeout))


class NullSink:
    """A ConnectorSink for connectors used only to execute actions."""

    async def ingest(self, items: Any) -> None:
        return None

    def set_state(self, platform: Platform, state: Any, reason: str = "") -> None:
        return None

    async def get_cursor(self, platform: Platform, stream: str) -> str | None:
        return None

    async def set_cursor(self, platform: Platform, stream: str, cursor: str) -> None:
        return None
