"""The outbox table's repository: claiming, state changes, ordering per target, undo."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from atlas_desk.core.types import OutboxState, Platform
from atlas_desk.store import outbox
from atlas_desk.store.migrate import migrate

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def conn(data_dir: Path) -> Iterator[sqlite3.Connection]:
    c = sqlite3.connect(data_dir / "desk.db", isolation_level=None)
    migrate(c)
    yield c
    c.close()


def add_item(conn: sqlite3.Connection, platform_id: str = "m1", *, reported: int = 1) -> int:
    cur = conn.execute(
        "INSERT INTO inbox_items (platform, platform_id, kind, container, title, body, created_at,"
        " created_ts, reported) VALUES ('discord', ?, 'message', '#general', 'A title', 'A body', ?, 0, ?)",
        (platform_id, NOW.isoformat(), reported),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def enqueue(
    conn: sqlite3.Connection,
    target: str = "t1",
    *,
    platform: Platform = Platform.DISCORD,
    undo: outbox.Undo | None = None,
    key: str | None = None,
    now: datetime = NOW,
) -> int:
    return outbox.enqueue(
        conn,
        platform=platform,
        kind="reply",
        target=target,
        payload={"body": "hi"},
        undo=undo or [],
        idempotency_key=key,
        now=now,
    )


def state(conn: sqlite3.Connection, action_id: int) -> OutboxState:
    action = outbox.get_action(conn, action_id)
    assert action is not None
    return action.state


def test_enqueue_then_claim_then_done(conn: sqlite3.Connection) -> None:
    action_id = enqueue(conn, key="key-1")
    action = outbox.get_action(conn, action_id)
    assert action is not None
    assert (action.state, action.attempts, action.idempotency_key) == (OutboxState.PENDING, 0, "key-1")
    assert action.payload == {"body": "hi"}
    assert action.next_attempt_at == NOW

    claimed = outbox.claim_due(conn, NOW, 10)
    assert [a.id for a in claimed] == [action_id]
    assert claimed[0].state == OutboxState.SENDING
    assert claimed[0].attempts == 1
    assert outbox.claim_due(conn, NOW, 10) == []  # already sending

    assert outbox.mark_done(conn, action_id, {"message_id": "555"}, now=NOW)
    done = outbox.get_action(conn, action_id)
    assert done is not None
    assert done.state == OutboxState.DONE and done.result == {"message_id": "555"}
    assert not outbox.mark_done(conn, action_id, {}, now=NOW)  # only from sending


def test_generated_idempotency_keys_are_unique_and_duplicates_refused(conn: sqlite3.Connection) -> None:
    a = outbox.get_action(conn, enqueue(conn, "t1"))
    b = outbox.get_action(conn, enqueue(conn, "t2"))
    assert a is not None and b is not None
    assert len(a.idempotency_key) == 32 and a.idempotency_key != b.idempotency_key
    enqueue(conn, key="same")
    with pytest.raises(sqlite3.IntegrityError):
        enqueue(conn, "t3", key="same")


def test_claim_respects_due_time_limit_and_platforms(conn: sqlite3.Connection) -> None:
    later = enqueue(conn, "a", now=NOW + timedelta(seconds=30))
    first = enqueue(conn, "b")
    second = enqueue(conn, "c")
    github = enqueue(conn, "d", platform=Platform.GITHUB)
    assert [a.id for a in outbox.claim_due(conn, NOW, 1, platforms={Platform.DISCORD})] == [first]
    assert [a.id for a in outbox.claim_due(conn, NOW, 10, platforms={Platform.DISCORD})] == [second]
    assert outbox.claim_due(conn, NOW, 10, platforms=set()) == []
    assert state(conn, github) == OutboxState.PENDING
    assert outbox.next_due(conn, platforms={Platform.DISCORD}) == NOW + timedelta(seconds=30)
    # by due time, then id
    assert [a.id for a in outbox.claim_due(conn, NOW + timedelta(seconds=30), 10)] == [github, later]
    assert outbox.next_due(conn) is None


def test_actions_on_one_target_go_out_in_order(conn: sqlite3.Connection) -> None:
    first = enqueue(conn, "thread-1")
    second = enqueue(conn, "thread-1")
    other = enqueue(conn, "thread-2")
    assert [a.id for a in outbox.claim_due(conn, NOW, 10)] == [first, other]
    # The first one must wait for a retry: the second still waits behind it, even once due.
    outbox.mark_retry(conn, first, "timeout", NOW + timedelta(seconds=60), now=NOW)
    assert outbox.claim_due(conn, NOW + timedelta(seconds=10), 10) == []
    assert outbox.next_due(conn) == NOW + timedelta(seconds=60)
    assert [a.id for a in outbox.claim_due(conn, NOW + timedelta(seconds=60), 10)] == [first]
    outbox.mark_failed(conn, first, "refused", now=NOW)
    assert [a.id for a in outbox.claim_due(conn, NOW + timedelta(seconds=60), 10)] == [second]


def test_retry_and_failed_states(conn: sqlite3.Connection) -> None:
    action_id = enqueue(conn)
    outbox.claim_due(conn, NOW, 10)
    when = NOW + timedelta(seconds=42)
    assert outbox.mark_retry(conn, action_id, "server error", when, now=NOW)
    action = outbox.get_action(conn, action_id)
    assert action is not None
    assert (action.state, action.next_attempt_at) == (OutboxState.PENDING, when)
    assert action.last_error == "server error"
    outbox.claim_due(conn, when, 10)
    assert outbox.mark_failed(conn, action_id, "missing permissions", now=NOW)
    assert state(conn, action_id) == OutboxState.FAILED
    assert outbox.claim_due(conn, when + timedelta(days=1), 10) == []

    assert outbox.retry(conn, action_id, now=when)
    action = outbox.get_action(conn, action_id)
    assert action is not None
    assert (action.state, action.attempts, action.next_attempt_at) == (OutboxState.PENDING, 0, when)
    assert not outbox.retry(conn, action_id, now=when)  # only from failed


def test_requeue_sending_after_a_crash(conn: sqlite3.Connection) -> None:
    a, b, c = enqueue(conn, "1"), enqueue(conn, "2"), enqueue(conn, "3")
    outbox.claim_due(conn, NOW, 2)
    assert outbox.requeue_sending(conn, now=NOW) == [a, b]
    assert [state(conn, i) for i in (a, b, c)] == [OutboxState.PENDING] * 3
    assert outbox.get_action(conn, a) is not None
    assert outbox.requeue_sending(conn, now=NOW) == []


def test_discard(conn: sqlite3.Connection) -> None:
    item = add_item(conn, reported=1)
    conn.execute("UPDATE inbox_items SET reported = 0 WHERE id = ?", (item,))
    pending = enqueue(conn, "x", undo=[outbox.restore("inbox_items", item, {"reported": 1})])
    sending = enqueue(conn, "y")
    outbox.claim_due(conn, NOW, 10, platforms={Platform.DISCORD})
    outbox.mark_retry(conn, pending, "later", NOW + timedelta(hours=1), now=NOW)
    # Cancelling a pending action undoes its optimistic change.
    assert outbox.discard(conn, pending) == {"inbox_items": {item}}
    assert conn.execute("SELECT reported FROM inbox_items WHERE id = ?", (item,)).fetchone()[0] == 1
    assert outbox.get_action(conn, pending) is None
    assert outbox.discard(conn, sending) is None  # in flight: not now
    outbox.mark_failed(conn, sending, "no", now=NOW)
    assert outbox.discard(conn, sending) == {}
    assert outbox.list_actions(conn) == []


def test_list_and_count(conn: sqlite3.Connection) -> None:
    a, b = enqueue(conn, "1"), enqueue(conn, "2")
    outbox.claim_due(conn, NOW, 1)
    outbox.mark_failed(conn, a, "no", now=NOW)
    assert [x.id for x in outbox.list_actions(conn, [OutboxState.FAILED])] == [a]
    assert [x.id for x in outbox.list_actions(conn)] == [a, b]
    assert outbox.list_actions(conn, []) == []
    counts = outbox.count_by_state(conn)
    assert (counts[OutboxState.FAILED], counts[OutboxState.PENDING], counts[OutboxState.DONE]) == (1, 1, 0)


def test_purge_done(conn: sqlite3.Connection) -> None:
    a = enqueue(conn, "1")
    outbox.claim_due(conn, NOW, 10)
    outbox.mark_done(conn, a, {}, now=NOW)
    assert outbox.purge_done(conn, NOW) == 0
    assert outbox.purge_done(conn, NOW + timedelta(days=1)) == 1


# -- undo ------------------------------------------------------------------------------------------------


def test_apply_undo_restores_values_and_deletes_inserted_rows(conn: sqlite3.Connection) -> None:
    item = add_item(conn, reported=1)
    ticket = conn.execute(
        "INSERT INTO tickets (platform, platform_id, subject, opened_at, last_activity_at, status, tags)"
        " VALUES ('discord', 'th1', 'Help', ?, ?, 'new', '[]')",
        (NOW.isoformat(), NOW.isoformat()),
    ).lastrowid
    assert ticket is not None
    undo = [
        outbox.snapshot(conn, "inbox_items", item, ["reported", "title"]),
        outbox.snapshot(conn, "tickets", ticket, ["status", "tags"]),
    ]
    conn.execute("UPDATE inbox_items SET reported = 0, title = 'changed' WHERE id = ?", (item,))
    conn.execute("UPDATE tickets SET status = 'open', tags = '[\"x\"]' WHERE id = ?", (ticket,))
    message = conn.execute(
        "INSERT INTO ticket_messages (ticket_id, role, body, created_at, pending)"
        " VALUES (?, 'moderator', 'hi', ?, 1)",
        (ticket, NOW.isoformat()),
    ).lastrowid
    assert message is not None
    undo.append(outbox.delete_row("ticket_messages", message))

    stored = json.loads(json.dumps(undo))  # it survives the trip through the outbox row
    touched = outbox.apply_undo(conn, stored)
    assert touched == {"inbox_items": {item}, "tickets": {ticket}, "ticket_messages": {message}}
    row = conn.execute("SELECT reported, title FROM inbox_items WHERE id = ?", (item,)).fetchone()
    assert tuple(row) == (1, "A title")
    row = conn.execute("SELECT status, tags FROM tickets WHERE id = ?", (ticket,)).fetchone()
    assert tuple(row) == ("new", "[]")
    assert conn.execute("SELECT count(*) FROM ticket_messages").fetchone()[0] == 0


@pytest.mark.parametrize(
    "entry",
    [
        {"table": "outbox", "id": 1, "values": {"state": "done"}},  # not whitelisted
        {"table": "people", "id": 1, "values": {"blocked": 0}},
        {"table": "inbox_items; DROP TABLE outbox", "id": 1, "values": {"read": 0}},
        {"table": "inbox_items", "id": 1, "values": {"read = 1; DROP TABLE outbox; --": 0}},
        {"table": "inbox_items", "id": 1, "values": {"no_such_column": 0}},
        {"table": "inbox_items", "id": 1, "values": {"id": 99}},
        {"table": "inbox_items", "id": "1", "values": {"read": 0}},
        {"table": "inbox_items", "id": 1, "values": {}},
        {"table": "inbox_items", "id": 1, "values": {"read": object()}},
        {"table": "inbox_items", "id": 1, "delete": True, "values": {"read": 0}},
        "inbox_items",
    ],
)
def test_undo_refuses_unknown_tables_columns_and_shapes(conn: sqlite3.Connection, entry: object) -> None:
    item = add_item(conn)
    conn.execute("UPDATE inbox_items SET read = 1 WHERE id = ?", (item,))
    with pytest.raises(ValueError):
        outbox.apply_undo(conn, [entry])
    with pytest.raises(ValueError):
        enqueue(conn, undo=[entry])  # type: ignore[list-item]
    assert conn.execute("SELECT read FROM inbox_items WHERE id = ?", (item,)).fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


def test_undo_must_be_a_list(conn: sqlite3.Connection) -> None:
    with pytest.raises(ValueError):
        outbox.apply_undo(conn, {"table": "inbox_items", "id": 1, "values": {"read": 0}})
    assert outbox.apply_undo(conn, {}) == {}  # the column's default means "nothing to undo"
