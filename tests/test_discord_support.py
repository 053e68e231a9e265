"""Shared helpers for the Discord tests: a small community, an in-memory ConnectorSink, settings, and a
checker of JSON answers against the OpenAPI reference."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from atlas_desk.config import DiscordSettings
from atlas_desk.core.types import ConnectionState, InboxItem, OutboxAction, OutboxState, Platform
from atlas_desk.platforms.discord.connector import DiscordConnector
from atlas_desk.sandbox.discord import DiscordSandbox
from atlas_desk.sandbox.model import Channel, Community, Member, Message, Reaction, Thread
from tests.conftest import REFERENCE

WAIT = 15.0  # generous: the machine is shared and loaded
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
BASE = NOW - timedelta(days=10)


def snowflake(dt: datetime, increment: int = 0) -> str:
    return str(((int(dt.timestamp() * 1000) - 1_420_070_400_000) << 22) | increment)


GENERAL = snowflake(BASE, 10)
IDEAS = snowflake(BASE, 11)
MOD_CHAT = snowflake(BASE, 12)
TICKETS = snowflake(BASE, 13)
THREAD = snowflake(BASE, 20)
TICKET_THREAD = snowflake(BASE, 21)
OLD_THREAD = snowflake(BASE, 22)
HOSTILE_NAME = "<img src=x onerror=alert(1)>\u202eevil\u200b"


def small_community() -> Community:
    """Two public channels, a moderator-only one, the tickets forum, an active and an archived thread."""
    c = Community(
        seed=7,
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
            key="omar",
            display_name="Omar",
            discord_id=snowflake(NOW - timedelta(days=500), 4),
            discord_name="omar_dev",
        ),
        Member(
            key="eve",
            display_name=HOSTILE_NAME,
            discord_id=snowflake(NOW - timedelta(days=400), 5),
            discord_name="eve",
        ),
    ]
    c.channels = [
        Channel(id=GENERAL, name="general", kind="text", category="Community"),
        Channel(id=IDEAS, name="ideas", kind="text", category="Community"),
        Channel(id=MOD_CHAT, name="mod-chat", kind="text", category="Staff", moderator_only=True),
        Channel(id=TICKETS, name="tickets", kind="forum", category="Staff", moderator_only=True),
        Channel(id=snowflake(BASE, 14), name="lounge", kind="voice"),
    ]
    c.threads = [
        Thread(id=THREAD, parent_id=GENERAL, name="sync help", owner_key="omar", created_at=BASE),
        Thread(
            id=TICKET_THREAD, parent_id=TICKETS, name="login broken · omar", owner_key="omar", created_at=BASE
        ),
        Thread(
            id=OLD_THREAD, parent_id=IDEAS, name="old idea", owner_key="maya", created_at=BASE, archived=True
        ),
    ]
    for i in range(30):
        t = BASE + timedelta(hours=i)
        c.messages.append(
            Message(
                id=snowflake(t, 100 + i),
                channel_id=(GENERAL, IDEAS)[i % 2],
                author_key=("maya", "omar", "eve")[i % 3],
                content=f"history {i}",
                created_at=t,
                reactions=[Reaction("👍", ["maya", "omar"])] if i == 4 else [],
            )
        )
    for i in range(5):
        t = BASE + timedelta(hours=40 + i)
        c.messages.append(
            Message(
                id=snowflake(t, 200 + i),
                channel_id=GENERAL,
                thread_id=THREAD,
                author_key="omar",
                content=f"thread {i}",
                created_at=t,
            )
        )
    t = BASE + timedelta(hours=50)
    c.messages.append(
        Message(
            id=snowflake(t, 300), channel_id=MOD_CHAT, author_key="maya", content="mods only", created_at=t
        )
    )
    c.messages.append(
        Message(
            id=snowflake(t, 301),
            channel_id=TICKETS,
            thread_id=TICKET_THREAD,
            author_key="omar",
            content="private ticket text",
            created_at=t,
        )
    )
    for i in range(2):
        c.messages.append(
            Message(
                id=snowflake(BASE + timedelta(hours=1, minutes=i), 400 + i),
                channel_id=IDEAS,
                thread_id=OLD_THREAD,
                author_key="maya",
                content=f"archived {i}",
                created_at=BASE + timedelta(hours=1, minutes=i),
            )
        )
    return c


# public channels, the active and the archived thread, mod-chat (readable); never the tickets forum
HISTORY_IN_INBOX = 30 + 5 + 2 + 1


class FakeSink:
    """An in-memory ConnectorSink that counts how often each item was ingested."""

    def __init__(self) -> None:
        self.items: dict[str, InboxItem] = {}
        self.counts: Counter[str] = Counter()
        self.batches: list[int] = []
        self.states: list[tuple[ConnectionState, str]] = []
        self.cursors: dict[str, str] = {}
        self.fail_ingests = 0  # how many of the next ingest calls fail, like a full disk would
        self._changed = asyncio.Event()

    async def ingest(self, items: Any) -> None:
        if self.fail_ingests > 0:
            self.fail_ingests -= 1
            raise OSError("database or disk is full")
        self.batches.append(len(items))
        for item in items:
            self.counts[item.platform_id] += 1
            self.items[item.platform_id] = item
        self._changed.set()

    def set_state(self, platform: Platform, state: ConnectionState, reason: str = "") -> None:
        assert platform is Platform.DISCORD
        self.states.append((state, reason))
        self._changed.set()

    async def get_cursor(self, platform: Platform, stream: str) -> str | None:
        return self.cursors.get(stream)

    async def set_cursor(self, platform: Platform, stream: str, cursor: str) -> None:
        self.cursors[stream] = cursor

    @property
    def state(self) -> ConnectionState | None:
        return self.states[-1][0] if self.states else None

    async def until(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        async def wait() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(wait(), timeout)


def settings_for(sandbox: DiscordSandbox, **overrides: Any) -> DiscordSettings:
    env = sandbox.env()
    cfg = sandbox.config()["discord"]
    values: dict[str, Any] = {
        "api": env["ATLAS_DESK_DISCORD_API"],
        "gateway": env["ATLAS_DESK_DISCORD_GATEWAY"],
        "guild_id": cfg["guild_id"],
        "tickets_forum_id": cfg["tickets_forum_id"],
        "support_channel_id": cfg["support_channel_id"],
        "watch_channels": (),
    }
    values.update(overrides)
    return DiscordSettings(**values)


@asynccontextmanager
async def running_sandbox() -> AsyncIterator[DiscordSandbox]:
    sandbox = DiscordSandbox(small_community())
    await sandbox.start()
    try:
        yield sandbox
    finally:
        await sandbox.stop()


def make_connector(
    sandbox: DiscordSandbox, sink: FakeSink, token: str | None = None, **settings: Any
) -> DiscordConnector:
    return DiscordConnector(
        settings_for(sandbox, **settings),
        sandbox.token if token is None else token,
        sink,
        guild_ready_timeout=0.05,
        reidentify_delay=0.05,
    )


@asynccontextmanager
async def live_connector(
    sandbox: DiscordSandbox, sink: FakeSink, **settings: Any
) -> AsyncIterator[DiscordConnector]:
    connector = make_connector(sandbox, sink, **settings)
    await connector.start()
    try:
        await connector.wait_caught_up(WAIT)
        yield connector
    finally:
        await connector.stop()


def run(loop: asyncio.AbstractEventLoop, body: Callable[[], Awaitable[None]]) -> None:
    loop.run_until_complete(asyncio.wait_for(body(), 60))


def reply_action(key: str, channel_id: str, content: str, reply_to: str = "") -> OutboxAction:
    now = datetime.now(UTC)
    return OutboxAction(
        id=1,
        idempotency_key=key,
        platform=Platform.DISCORD,
        kind="reply",
        target=channel_id,
        payload={"content": content, "channel_id": channel_id, "reply_to": reply_to},
        state=OutboxState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


# ---------------------------------------------------------------------------------------------- shapes

_SPEC: dict[str, Any] = {}


def spec() -> dict[str, Any]:
    if not _SPEC:
        _SPEC.update(json.loads((REFERENCE / "discord" / "openapi.json").read_text(encoding="utf-8")))
    return _SPEC


def _is_type(value: Any, name: str) -> bool:
    return {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
        "null": value is None,
    }.get(name, True)


def violations(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Where ``value`` breaks the OpenAPI ``schema``: required fields, types, constants, patterns, unions."""
    if "$ref" in schema:
        schema = spec()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if not any(_is_type(value, t) for t in names):
            return [f"{where}: {type(value).__name__} is not {names}"]
        if value is None:
            return []
    if "const" in schema and value != schema["const"]:
        return [f"{where}: {value!r} is not {schema['const']!r}"]
    errors: list[str] = []
    for key in ("oneOf", "anyOf"):
        if key in schema:
            tried = [violations(value, alt, where) for alt in schema[key]]
            if all(tried):
                return [f"{where}: matches no alternative ({min(tried, key=len)[0]})"]
    for alt in schema.get("allOf", []):
        errors += violations(value, alt, where)
    if isinstance(value, dict):
        errors += [f"{where}: missing {k}" for k in schema.get("required", []) if k not in value]
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                errors += violations(value[key], sub, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += violations(item, schema["items"], f"{where}[{i}]")
    if isinstance(value, str) and "pattern" in schema and not re.search(schema["pattern"], value):
        errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    return errors
