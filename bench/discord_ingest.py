"""Live Discord ingest: discord.py alone beside the desk's connector, against the loopback sandbox gateway.

    python bench/discord_ingest.py [--messages 20000] [--runs 3] [--no-store]

Each run starts a fresh ``DiscordSandbox`` (same process, as in PERFORMANCE.md's baseline), connects a client,
waits until it is caught up, then has the sandbox post ``--messages`` MESSAGE_CREATE as fast as it can and
times how long until the client has them all:

- ``discord.py``: a bare ``discord.Client`` whose ``on_message`` only counts (the ceiling);
- ``connector``: ``DiscordConnector`` handing batches to a sink that only counts;
- ``connector+store``: ``DiscordConnector`` → ``InboxService`` → SQLite store (the real ingest path, no GUI).

Modes alternate within each run so they see the same machine load; medians and ratios to discord.py alone are
printed. Target (issue 3, with the GUI part measured later): the desk sustains ≥ 70 % of discord.py's rate.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import discord

from atlas_desk.config import DiscordSettings
from atlas_desk.core.types import ConnectionState, InboxItem, Platform
from atlas_desk.platforms.discord.connector import DiscordConnector, configure_endpoints, desk_intents
from atlas_desk.sandbox.community import generate
from atlas_desk.sandbox.discord import DiscordSandbox

TARGET = 0.70


class CountingSink:
    """A ConnectorSink that only counts (what the connector costs by itself)."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.done = asyncio.Event()
        self.cursors: dict[str, str] = {}

    async def ingest(self, items: Sequence[InboxItem]) -> None:
        self.count += len(items)
        if self.target and self.count >= self.target:
            self.done.set()

    def set_state(self, platform: Platform, state: ConnectionState, reason: str = "") -> None:
        pass

    async def get_cursor(self, platform: Platform, stream: str) -> str | None:
        return self.cursors.get(stream)

    async def set_cursor(self, platform: Platform, stream: str, cursor: str) -> None:
        self.cursors[stream] = cursor


class StoreSink(CountingSink):
    """The real ingest path: InboxService over a SQLite store in a temporary directory."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        from atlas_desk.core.bus import ChangeBus
        from atlas_desk.core.inbox import InboxService
        from atlas_desk.store.db import Store

        self.store = Store.open(directory / "bench.sqlite3")
        self.service = InboxService(self.store, ChangeBus())

    async def ingest(self, items: Sequence[InboxItem]) -> None:
        await self.service.ingest(items)
        await super().ingest(items)

    def close(self) -> None:
        self.store.close()


def settings_for(sandbox: DiscordSandbox) -> DiscordSettings:
    env = sandbox.env()
    cfg = sandbox.config()["discord"]
    return DiscordSettings(
        api=env["ATLAS_DESK_DISCORD_API"],
        gateway=env["ATLAS_DESK_DISCORD_GATEWAY"],
        guild_id=cfg["guild_id"],
        tickets_forum_id=cfg["tickets_forum_id"],
        support_channel_id=cfg["support_channel_id"],
    )


async def timed_burst(sandbox: DiscordSandbox, n: int, done: asyncio.Event) -> float:
    channels = sandbox.text_channel_ids()
    started = time.perf_counter()
    await sandbox.burst(n, channel_ids=channels)
    await asyncio.wait_for(done.wait(), 300)
    return n / (time.perf_counter() - started)


async def run_discord_py(n: int) -> float:
    sandbox = DiscordSandbox(generate(7))
    await sandbox.start()
    env = sandbox.env()
    configure_endpoints(env["ATLAS_DESK_DISCORD_API"], env["ATLAS_DESK_DISCORD_GATEWAY"])
    client = discord.Client(intents=desk_intents(), guild_ready_timeout=0.05, chunk_guilds_at_startup=False)
    ready = asyncio.Event()
    done = asyncio.Event()
    count = 0

    async def on_ready() -> None:
        ready.set()

    async def on_message(message: discord.Message) -> None:
        nonlocal count
        count += 1
        if count >= n:
            done.set()

    client.event(on_ready)
    client.event(on_message)
    await client.login(env["ATLAS_DESK_DISCORD_TOKEN"])
    task = asyncio.create_task(client.connect())
    try:
        await asyncio.wait_for(ready.wait(), 60)
        return await timed_burst(sandbox, n, done)
    finally:
        await client.close()
        await task
        await sandbox.stop()


async def run_connector(n: int, make_sink: Callable[[], CountingSink]) -> float:
    sandbox = DiscordSandbox(generate(7))
    await sandbox.start()
    sink = make_sink()
    connector = DiscordConnector(settings_for(sandbox), sandbox.token, sink, guild_ready_timeout=0.05)
    await connector.start()
    try:
        await connector.wait_caught_up(120)
        sink.count = 0
        sink.target = n
        return await timed_burst(sandbox, n, sink.done)
    finally:
        await connector.stop()
        await sandbox.stop()
        close = getattr(sink, "close", None)
        if close is not None:
            close()


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-store", action="store_true", help="skip the connector+store mode")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    results: dict[str, list[float]] = {"discord.py": [], "connector": [], "connector+store": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            modes: list[tuple[str, Any]] = [
                ("discord.py", lambda: run_discord_py(args.messages)),
                ("connector", lambda: run_connector(args.messages, CountingSink)),
            ]
            if not args.no_store:
                directory = Path(tmp) / f"run{run}"
                directory.mkdir()
                modes.append(
                    (
                        "connector+store",
                        lambda d=directory: run_connector(args.messages, lambda: StoreSink(d)),
                    )
                )
            for name, make in modes:
                rate = await make()
                results[name].append(rate)
                print(f"run {run + 1} {name:16s} {rate:8,.0f} messages/s", flush=True)
    base = statistics.median(results["discord.py"])
    print(f"\nmedian over {args.runs} runs of {args.messages:,} MESSAGE_CREATE:")
    ok = True
    for name, rates in results.items():
        if not rates:
            continue
        median = statistics.median(rates)
        ratio = median / base
        verdict = "" if name == "discord.py" else ("  ok" if ratio >= TARGET else f"  below {TARGET:.0%}")
        ok = ok and (name == "discord.py" or ratio >= TARGET)
        print(f"  {name:16s} {median:8,.0f}/s  {ratio:6.1%} of discord.py alone{verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
