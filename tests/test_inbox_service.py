"""InboxService: ingest → store → bus, incremental unread counts, moderator operations."""

from __future__ import annotations

import asyncio
from pathlib import Path

from test_inbox_support import item, open_store, seed_items

from atlas_desk.core.bus import ChangeBus, ConnectionChanged, ItemsAdded, ItemsChanged, Notice
from atlas_desk.core.inbox import InboxService
from atlas_desk.core.types import ConnectionState, Platform
from atlas_desk.store import inbox as repo


def test_ingest_publishes_and_counts_stay_exact(data_dir: Path, aloop: asyncio.AbstractEventLoop) -> None:
    store = open_store(data_dir)
    bus = ChangeBus()
    seen: list[object] = []
    bus.subscribe(ItemsAdded, seen.append)
    bus.subscribe(ItemsChanged, seen.append)
    service = InboxService(store, bus, mentions=("maya_k",))
    try:
        assert service.unread_counts() is None
        assert service.load_unread_counts().result(timeout=10)[repo.UNREAD] == 0
        aloop.run_until_complete(service.ingest(seed_items()))
        assert isinstance(seen[0], ItemsAdded) and len(seen[0].ids) == 7
        # Same items again: nothing new, nothing changed, nothing published.
        aloop.run_until_complete(service.ingest(seed_items()))
        assert len(seen) == 1
        # An edit (report cleared on the platform) is a change.
        edited = item(Platform.REDDIT, "r1", "Buy cheap stuff here", 4, title="spam", reported=False)
        aloop.run_until_complete(service.ingest([edited]))
        assert isinstance(seen[1], ItemsChanged) and len(seen[1].ids) == 1

        conn = store.reader()
        ids = [r.id for r in repo.window(conn, repo.InboxFilter(), limit=10)]
        service.mark_read(ids[:3], True).result(timeout=10)
        service.set_starred(ids[4], True).result(timeout=10)
        service.mark_suggestion([ids[5]]).result(timeout=10)
        service.mark_read(ids[:1], False).result(timeout=10)
        aloop.run_until_complete(service.ingest([item(Platform.DISCORD, "d9", "ping @maya_k", 30)]))
        live = {k: v for k, v in (service.unread_counts() or {}).items() if v}
        assert live == {k: v for k, v in repo.unread_counts(conn, ["maya_k"]).items() if v}
        counts = service.unread_counts() or {}
        assert counts[repo.UNREAD] == 6
        assert counts[repo.MENTIONS] == 2
    finally:
        store.close()


def test_operations_publish_changes_and_state(data_dir: Path) -> None:
    store = open_store(data_dir)
    bus = ChangeBus()
    changes: list[object] = []
    bus.subscribe(ItemsChanged, changes.append)
    bus.subscribe(ConnectionChanged, changes.append)
    notices: list[Notice] = []
    bus.subscribe(Notice, notices.append)
    service = InboxService(store, bus)
    try:
        new, _ = store.submit(lambda c: repo.upsert_items(c, seed_items())).result(timeout=10)
        assert service.mark_read([new[0]], True).result(timeout=10) == [new[0]]
        # Marking it read again changes nothing and publishes nothing more.
        assert service.mark_read([new[0]], True).result(timeout=10) == []
        assert service.set_starred(new[1], True).result(timeout=10) is True
        assert [type(c) for c in changes] == [ItemsChanged, ItemsChanged]
        assert changes[0] == ItemsChanged((new[0],))
        service.set_state(Platform.DISCORD, ConnectionState.LIVE)
        service.set_state(Platform.DISCORD, ConnectionState.LIVE)  # unchanged: not republished
        assert changes[-1] == ConnectionChanged(Platform.DISCORD, ConnectionState.LIVE, "")
        assert len(changes) == 3
        assert service.connection_state(Platform.DISCORD) is ConnectionState.LIVE
    finally:
        store.close()


def test_reply_approve_remove_go_through_the_outbox(data_dir: Path) -> None:
    from atlas_desk.core.bus import OutboxChanged
    from atlas_desk.store import outbox

    store = open_store(data_dir)
    bus = ChangeBus()
    woken: list[OutboxChanged] = []
    bus.subscribe(OutboxChanged, woken.append)
    service = InboxService(store, bus)
    try:
        store.submit(lambda c: repo.upsert_items(c, seed_items())).result(timeout=10)
        conn = store.reader()
        by_pid = {r.platform_id: r for r in repo.window(conn, repo.InboxFilter(), limit=10)}
        spam = by_pid["r1"]
        assert spam.reported

        reply_id = service.reply(by_pid["d1"].id, "  Thanks, looking into it  ").result(timeout=10)
        action = outbox.get_action(conn, reply_id)
        assert action is not None and action.kind == "reply" and action.target == "d1"
        assert action.payload["body"] == "Thanks, looking into it"
        # The reply is not invented locally: it arrives from the platform once confirmed.
        assert repo.count(conn, repo.InboxFilter()) == 7

        approve_id = service.approve(spam.id).result(timeout=10)
        assert repo.get_item(conn, spam.id).reported is False  # type: ignore[union-attr]
        # If the platform refuses, the runner's undo brings the report back.
        store.submit(lambda c: outbox.apply_undo(c, outbox.get_undo(c, approve_id))).result(timeout=10)
        assert repo.get_item(conn, spam.id).reported is True  # type: ignore[union-attr]

        remove_id = service.remove(spam.id, "110nhyk34m01d", "link farm", reason_title="Spam").result(
            timeout=10
        )
        removed = repo.get_item(conn, spam.id)
        assert removed is not None and removed.deleted and not removed.reported
        action = outbox.get_action(conn, remove_id)
        assert action is not None
        assert action.payload["reason_id"] == "110nhyk34m01d" and action.payload["mod_note"] == "link farm"
        assert action.platform == Platform.REDDIT
        assert [w.ids for w in woken] == [(reply_id,), (approve_id,), (remove_id,)]
    finally:
        store.close()


def test_cursors_round_trip(data_dir: Path, aloop: asyncio.AbstractEventLoop) -> None:
    store = open_store(data_dir)
    service = InboxService(store, ChangeBus())
    try:
        assert aloop.run_until_complete(service.get_cursor(Platform.DISCORD, "channel:1")) is None
        aloop.run_until_complete(service.set_cursor(Platform.DISCORD, "channel:1", "123"))
        aloop.run_until_complete(service.set_cursor(Platform.DISCORD, "channel:1", "456"))
        assert aloop.run_until_complete(service.get_cursor(Platform.DISCORD, "channel:1")) == "456"
        assert aloop.run_until_complete(service.get_cursor(Platform.GITHUB, "channel:1")) is None
    finally:
        store.close()
