"""Shared helpers of the ticket tests: a small community with a tickets forum, and a desk built from the
real pieces (store, bus, outbox runner, ticket service, relay with real discord.py) against the sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from atlas_desk.core.bus import ChangeBus, Notice, NotificationEvent
from atlas_desk.core.outbox import OutboxRunner
from atlas_desk.core.tickets import TicketService
from atlas_desk.core.types import Platform
from atlas_desk.platforms.discord.relay import DiscordExecutor, TicketRelay
from atlas_desk.sandbox.discord.server import DiscordSandbox
from atlas_desk.sandbox.model import Channel, Community, Member
from atlas_desk.store.db import Store
from tests.test_discord_support import NOW, settings_for, snowflake

WAIT = 10.0
TICKETS = snowflake(NOW - timedelta(days=300), 40)
SUPPORT = snowflake(NOW - timedelta(days=300), 41)
GENERAL = snowflake(NOW - timedelta(days=300), 42)
MOD_CHAT = snowflake(NOW - timedelta(days=300), 43)


def ticket_community() -> Community:
    c = Community(
        seed=11,
        now=NOW,
        guild_id=snowflake(NOW - timedelta(days=800)),
        guild_name="Atlas",
        bot_id=snowflake(NOW - timedelta(days=700), 1),
        application_id=snowflake(NOW - timedelta(days=700), 2),
        repo="atlas-app/atlas",
        subreddit="AtlasApp",
    )
    c.members = [
        Member(
            key="maya",
            display_name="Maya K",
            discord_id=snowflake(NOW - timedelta(days=600), 3),
            discord_name="maya.k",
            is_moderator=True,
        ),
        Member(
            key="lee",
            display_name="Lee",
            discord_id=snowflake(NOW - timedelta(days=590), 6),
            discord_name="lee",
            is_moderator=True,
        ),
        Member(
            key="omar",
            display_name="Omar",
            discord_id=snowflake(NOW - timedelta(days=500), 4),
            discord_name="omar_dev",
            joined_at=NOW - timedelta(days=200),
        ),
        Member(
            key="ivy",
            display_name="Ivy <b>bold</b>",
            discord_id=snowflake(NOW - timedelta(days=30), 5),
            discord_name="ivy",
        ),
        Member(
            key="troll",
            display_name="Troll",
            discord_id=snowflake(NOW - timedelta(days=10), 7),
            discord_name="troll",
            blocked=True,
        ),
    ]
    c.channels = [
        Channel(id=GENERAL, name="general", kind="text", category="Community"),
        Channel(id=SUPPORT, name="support", kind="text", category="Community"),
        Channel(id=MOD_CHAT, name="mod-chat", kind="text", category="Staff", moderator_only=True),
        Channel(id=TICKETS, name="tickets", kind="forum", category="Staff", moderator_only=True),
    ]
    return c


@asynccontextmanager
async def running_sandbox() -> AsyncIterator[DiscordSandbox]:
    sandbox = DiscordSandbox(ticket_community())
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.stop()


@dataclass
class Desk:
    store: Store
    bus: ChangeBus
    service: TicketService
    runner: OutboxRunner
    relay: TicketRelay
    notices: list[Notice] = field(default_factory=list)
    events: list[NotificationEvent] = field(default_factory=list)


@asynccontextmanager
async def running_desk(
    sandbox: DiscordSandbox,
    path: Path,
    *,
    me: str = "maya.k",
    relay: bool = True,
    clock: Callable[[], datetime] | None = None,
) -> AsyncIterator[Desk]:
    path.mkdir(parents=True, exist_ok=True)
    store = Store.open(path / "desk.sqlite3")
    bus = ChangeBus()
    kwargs: dict[str, Any] = {"clock": clock} if clock else {}
    service = TicketService(store, bus, me=me, moderators=("maya.k", "lee"), **kwargs)
    relay_obj = TicketRelay(
        settings_for(sandbox, relay=relay), sandbox.token, service, guild_ready_timeout=0.05
    )
    runner = OutboxRunner(store, bus, {Platform.DISCORD: DiscordExecutor(None, relay_obj)}, base_delay=0.05)
    service.attach_runner(runner)
    desk = Desk(store, bus, service, runner, relay_obj)
    bus.subscribe(Notice, desk.notices.append)
    bus.subscribe(NotificationEvent, desk.events.append)
    await relay_obj.start()
    await runner.start()
    try:
        await relay_obj.wait_ready(WAIT)
        yield desk
    finally:
        await runner.stop()
        await relay_obj.stop()
        store.close()


async def until(predicate: Callable[[], Any], timeout: float = WAIT) -> Any:
    """Wait for a condition by yielding to the loop (no fixed sleeps); returns its value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def run(loop: asyncio.AbstractEventLoop, body: Callable[[], Any]) -> None:
    loop.run_until_complete(asyncio.wait_for(body(), 60))
