"""Shared pieces of the roadmap tests: a running sandbox + connector + store + outbox + roadmap service."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atlas_desk.core.bus import Change, ChangeBus, Notice
from atlas_desk.core.inbox import InboxService
from atlas_desk.core.outbox import OutboxRunner
from atlas_desk.core.roadmap import RoadmapService
from atlas_desk.core.types import Platform
from atlas_desk.platforms.github import GitHubConnector
from atlas_desk.sandbox.community import generate
from atlas_desk.sandbox.github import GitHubSandbox
from atlas_desk.sandbox.model import Community
from atlas_desk.store.db import Store
from tests.test_github_support import GitHubTestSettings

POLL = 0.2


@dataclass
class Desk:
    """One moderator's desk against the GitHub sandbox."""

    sandbox: GitHubSandbox
    store: Store
    bus: ChangeBus
    inbox: InboxService
    runner: OutboxRunner
    connector: GitHubConnector
    roadmap: RoadmapService
    changes: list[Change] = field(default_factory=list)

    @property
    def notices(self) -> list[Notice]:
        return [c for c in self.changes if isinstance(c, Notice)]

    def column(self, name: str) -> list[str]:
        """A column as the desk's store has it: platform ids, top to bottom."""
        rows = self.roadmap.cards_by_id(self.roadmap.column_ids(name))
        return [rows[i].platform_id for i in self.roadmap.column_ids(name)]

    def board(self) -> dict[str, list[str]]:
        return {c: self.column(c) for c in self.roadmap.columns()}

    def card_id(self, platform_id: str) -> int:
        for row in self.roadmap.cards():
            if row.platform_id == platform_id:
                return row.id
        raise KeyError(platform_id)


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition checked on the loop (store reads, sandbox counters), with a timeout."""

    async def loop() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(loop(), timeout)


def demo_community(scale: float = 1.0) -> Community:
    return generate(7, scale=scale)


async def open_desk(data_dir: Path, community: Community | None = None, *, poll: float = POLL) -> Desk:
    """Start a sandbox and a desk on it; return once the board is in the store."""
    sandbox = GitHubSandbox(community or demo_community())
    await sandbox.start()
    store = Store.open(data_dir / "desk.db")
    bus = ChangeBus()
    changes: list[Change] = []
    bus.subscribe(Change, changes.append)
    inbox = InboxService(store, bus)
    executors: dict[Platform, GitHubConnector] = {}
    runner = OutboxRunner(store, bus, executors, base_delay=0.05)
    roadmap = RoadmapService(store, bus, runner)
    connector = GitHubConnector(
        GitHubTestSettings(api=sandbox.api_url, poll_seconds=poll), sandbox.token, inbox
    )
    connector.roadmap = roadmap
    executors[Platform.GITHUB] = connector
    await runner.start()
    await connector.start()
    desk = Desk(sandbox, store, bus, inbox, runner, connector, roadmap, changes)
    total = sum(len(v) for v in sandbox.board().values())
    await until(lambda: len(roadmap.cards()) == total, 20)
    return desk


async def close_desk(desk: Desk) -> None:
    await desk.connector.stop()
    await desk.runner.stop()
    desk.roadmap.close()
    await desk.sandbox.stop()
    await asyncio.to_thread(desk.store.close)


class BackgroundDesk:
    """A sandbox and a desk (connector, outbox runner, roadmap service) on their own thread and loop.

    The GUI thread stays pure Qt, so a real ``QDrag`` loop or ``qtbot.waitUntil`` never re-enters an asyncio
    task. Sandbox objects live on that loop: reach them with ``call``.
    """

    def __init__(self, data_dir: Path, community: Community | None = None, *, poll: float = POLL) -> None:
        import threading

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="roadmap-test-desk", daemon=True)
        self._thread.start()
        self.desk: Desk = self.run(open_desk(data_dir, community, poll=poll), timeout=60)

    def run(self, coro: Any, timeout: float = 20) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        async def runner() -> Any:
            return fn(*args)

        return self.run(runner())

    def close(self) -> None:
        try:
            self.run(close_desk(self.desk), timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
