"""Shared helpers for the GitHub tests: a small community, an in-memory ConnectorSink, settings."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from atlas_desk.core.types import ConnectionState, InboxItem, Platform
from atlas_desk.sandbox.model import Comment, Community, Discussion, Issue, Member

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def small_community() -> Community:
    """Three members, two issues, two discussions: enough to exercise every stream."""
    members = [
        Member("maya-k", "Maya K", github_login="mayak", github_id=501),
        Member("li-wei", "Li Wei", github_login="liwei", github_id=502),
        Member("mod-sam", "Sam (mod)", github_login="sam-mod", github_id=503, is_moderator=True),
    ]
    issues = [
        Issue(
            1,
            "I_kwAtlas0001",
            "Crash when exporting",
            "Steps: open, export, boom.",
            "maya-k",
            T0,
            labels=["bug"],
            thumbs_up=2,
            comments=[Comment("c1", "li-wei", "Same for me.", T0 + timedelta(minutes=5))],
        ),
        Issue(
            2,
            "I_kwAtlas0002",
            "Support dark mode",
            "Please add a dark theme.",
            "li-wei",
            T0 + timedelta(hours=1),
            labels=["enhancement"],
            thumbs_up=3,
        ),
    ]
    discussions = [
        Discussion(
            3,
            "D_kwAtlas0003",
            "Ideas",
            "Offline sync",
            "Let the app work offline.",
            "maya-k",
            T0 + timedelta(hours=2),
            upvotes=7,
            comments=[Comment("dc1", "li-wei", "Yes please!", T0 + timedelta(hours=3), upvotes=1)],
        ),
        Discussion(
            4,
            "D_kwAtlas0004",
            "Q&A",
            "How do I reset my password?",
            "Where is the button?",
            "li-wei",
            T0 + timedelta(hours=4),
        ),
    ]
    return Community(
        seed=7,
        now=T0 + timedelta(days=1),
        guild_id="1",
        guild_name="Atlas",
        bot_id="2",
        application_id="3",
        repo="atlas-app/atlas",
        subreddit="AtlasApp",
        members=members,
        issues=issues,
        discussions=discussions,
    )


@dataclass
class GitHubTestSettings:
    api: str
    repo: str = "atlas-app/atlas"
    project_owner: str = "atlas-app"
    project_number: int | None = 1
    poll_seconds: float = 0.2


class FakeSink:
    """An in-memory ConnectorSink that records every ingest and state change."""

    def __init__(self) -> None:
        self.items: dict[str, InboxItem] = {}
        self.ingest_counts: dict[str, int] = {}
        self.batches: list[list[InboxItem]] = []
        self.states: list[tuple[ConnectionState, str]] = []
        self.cursors: dict[tuple[Platform, str], str] = {}
        self._changed = asyncio.Event()

    async def ingest(self, items: Sequence[InboxItem]) -> None:
        self.batches.append(list(items))
        for item in items:
            self.items[item.platform_id] = item
            self.ingest_counts[item.platform_id] = self.ingest_counts.get(item.platform_id, 0) + 1
        self._changed.set()

    def set_state(self, platform: Platform, state: ConnectionState, reason: str = "") -> None:
        assert platform is Platform.GITHUB
        self.states.append((state, reason))
        self._changed.set()

    async def get_cursor(self, platform: Platform, stream: str) -> str | None:
        return self.cursors.get((platform, stream))

    async def set_cursor(self, platform: Platform, stream: str, cursor: str) -> None:
        self.cursors[(platform, stream)] = cursor

    @property
    def state(self) -> ConnectionState | None:
        return self.states[-1][0] if self.states else None

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checking on every ingest or state change."""

        async def loop() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(loop(), timeout)

    def by_body(self, body: str) -> list[InboxItem]:
        return [i for i in self.items.values() if i.body.startswith(body)]
