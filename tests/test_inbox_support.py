"""Shared helpers for the inbox tests (no tests here): item factories and a seeded store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atlas_desk.core.types import Account, InboxItem, ItemKind, Platform
from atlas_desk.store.db import Store

if TYPE_CHECKING:
    from atlas_desk.core.bus import ChangeBus
    from atlas_desk.core.inbox import InboxService
    from atlas_desk.ui.inbox.model import InboxModel
    from atlas_desk.ui.inbox.pane import InboxPane

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

ACCOUNTS = {
    Platform.DISCORD: Account(Platform.DISCORD, "1001", "maya_k", "Maya K"),
    Platform.GITHUB: Account(Platform.GITHUB, "2002", "octo-dev", "Octo Dev"),
    Platform.REDDIT: Account(Platform.REDDIT, "t2_abc", "redditor42", ""),
}

CONTAINERS = {
    Platform.DISCORD: ("#general", "c-general"),
    Platform.GITHUB: ("Discussions › Ideas", "ideas"),
    Platform.REDDIT: ("r/AtlasApp", "AtlasApp"),
}

KINDS = {
    Platform.DISCORD: ItemKind.MESSAGE,
    Platform.GITHUB: ItemKind.DISCUSSION,
    Platform.REDDIT: ItemKind.POST,
}


def item(platform: Platform, pid: str, body: str, minute: int, **kw: Any) -> InboxItem:
    """An item posted ``minute`` minutes after T0."""
    container, container_id = CONTAINERS[platform]
    fields: dict[str, Any] = {
        "kind": KINDS[platform],
        "container": container,
        "container_id": container_id,
        "author": ACCOUNTS[platform],
        "body": body,
        "created_at": T0 + timedelta(minutes=minute),
        "url": f"https://example.test/{platform}/{pid}",
    }
    fields.update(kw)
    return InboxItem(platform=platform, platform_id=pid, **fields)


def seed_items() -> list[InboxItem]:
    """A small community: a few items per platform with known flags."""
    return [
        item(Platform.DISCORD, "d1", "Is the app working offline yet?", 1),
        item(Platform.DISCORD, "d2", "hey @maya_k can you look at this", 2),
        item(
            Platform.GITHUB,
            "g1",
            "Dark mode please",
            3,
            title="Idea: dark mode",
            is_suggestion=True,
            score=12,
        ),
        item(Platform.REDDIT, "r1", "Buy cheap stuff here", 4, title="spam", reported=True),
        item(Platform.REDDIT, "r2", "Love the new release", 5, title="Release thoughts", score=40),
        item(Platform.DISCORD, "d3", "Sync keeps failing when offline", 6, reported=True),
        item(
            Platform.GITHUB,
            "g2",
            "Thanks! Mentioning atlas-mods here",
            7,
            kind=ItemKind.DISCUSSION_COMMENT,
            parent_id="g1",
        ),
    ]


def open_store(path: Path) -> Store:
    return Store.open(path / "atlas.db")


def stored(store: Store, items: list[InboxItem]) -> tuple[list[int], list[int]]:
    from atlas_desk.store import inbox as repo

    return store.submit(lambda conn: repo.upsert_items(conn, items)).result(timeout=10)


def store_with_seed(path: Path) -> Iterator[Store]:
    store = open_store(path)
    stored(store, seed_items())
    try:
        yield store
    finally:
        store.close()


def attached_pane(
    qtbot: Any,
    store: Store,
    *,
    service: InboxService | None = None,
    shown: bool = True,
    size: tuple[int, int] = (1200, 700),
) -> tuple[InboxPane, InboxService, ChangeBus, InboxModel]:
    """An InboxPane over ``store`` as the desk attaches it: with ``service`` (and its bus), or a new one."""
    from atlas_desk.core.bus import ChangeBus
    from atlas_desk.core.inbox import InboxService
    from atlas_desk.ui.bridge import QtBus
    from atlas_desk.ui.inbox.pane import InboxPane
    from atlas_desk.ui.panes import PaneContext

    if service is None:
        service = InboxService(store, ChangeBus())
    bus = service.bus
    pane = InboxPane()
    qtbot.addWidget(pane)
    runtime = type("R", (), {"store": store, "inbox": service, "settings": None})()
    pane.attach(PaneContext(bus=QtBus(bus, pane), runtime=runtime, open_settings=lambda _p: None))
    if shown:
        pane.resize(*size)
        pane.show()
        qtbot.waitExposed(pane)
    assert pane.model is not None
    return pane, service, bus, pane.model
