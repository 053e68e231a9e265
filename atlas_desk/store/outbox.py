"""The durable outbox: moderator actions waiting for (or confirmed by, or refused by) a platform.

Life of a row: ``pending`` → (claimed by the runner) ``sending`` → ``done``; or back to ``pending`` with a
later ``next_attempt_at`` for a retry; or ``failed`` for good, after which the moderator may ``retry`` or
``discard`` it. Rows left in ``sending`` by a crash are put back to ``pending`` at start-up and replayed;
executors are idempotent on ``idempotency_key``, so a replay never acts twice on the platform.

Each row carries an *undo* list: how to restore the local rows that the optimistic change touched, applied
when the action fails for good. An entry is ``{"table": T, "id": N, "values": {column: old value, ...}}``
(put the old values back) or ``{"table": T, "id": N, "delete": true}`` (remove a row the optimistic change
inserted). Tables are limited to ``UNDO_TABLES`` and columns to those that exist; names never reach SQL
unless they matched the schema.

Functions take a connection (the writer's inside a ``Store`` job for writes). Times are aware datetimes.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

from atlas_desk.core.types import OutboxAction, OutboxState, Platform
from atlas_desk.store.db import from_db_time, to_db_time

UndoEntry = dict[str, Any]
Undo = list[UndoEntry]

UNDO_TABLES: frozenset[str] = frozenset(
    {"inbox_items", "tickets", "ticket_messages", "roadmap_items", "roadmap_history", "community_events"}
)

_COLUMNS = (
    "id, idempotency_key, platform, kind, target, payload, state, attempts, next_attempt_at, "
    "last_error, result, created_at"
)


def _now() -> datetime:
    return datetime.now(UTC)


def _action(row: Sequence[Any]) -> OutboxAction:
    return OutboxAction(
        id=int(row[0]),
        idempotency_key=str(row[1]),
        platform=Platform(row[2]),
        kind=str(row[3]),
        target=str(row[4]),
        payload=json.loads(row[5]),
        state=OutboxState(row[6]),
        attempts=int(row[7]),
        next_attempt_at=from_db_time(row[8]),
        last_error=str(row[9]),
        result=json.loads(row[10]),
        created_at=from_db_time(row[11]),
    )


# -- undo ---------------------------------------------------------------------------------------------


def restore(table: str, row_id: int, values: dict[str, Any]) -> UndoEntry:
    """An undo entry that puts ``values`` back into row ``row_id`` of ``table``."""
    return {"table": table, "id": row_id, "values": dict(values)}


def delete_row(table: str, row_id: int) -> UndoEntry:
    """An undo entry that removes a row the optimistic change inserted."""
    return {"table": table, "id": row_id, "delete": True}


def snapshot(conn: sqlite3.Connection, table: str, row_id: int, columns: Sequence[str]) -> UndoEntry:
    """An undo entry holding the current values of ``columns`` of one row (take it before changing it)."""
    checked = _checked_columns(conn, table, columns)
    row = conn.execute(
        f"SELECT {', '.join(checked)} FROM {_checked_table(table)} WHERE id = ?", (row_id,)
    ).fetchone()
    if row is None:
        raise LookupError(f"{table} has no row {row_id} to snapshot")
    return restore(table, row_id, {name: row[i] for i, name in enumerate(columns)})


def _checked_table(table: object) -> str:
    for known in UNDO_TABLES:
        if table == known:
            return known  # the whitelist's own string, never the caller's
    raise ValueError(f"undo may not touch table {table!r}")


def _table_columns(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    return {str(row[1]): str(row[1]) for row in conn.execute(f"PRAGMA table_info({_checked_table(table)})")}


def _checked_columns(conn: sqlite3.Connection, table: str, names: Collection[object]) -> list[str]:
    columns = _table_columns(conn, table)
    checked: list[str] = []
    for name in names:
        if not isinstance(name, str) or name not in columns or name == "id":
            raise ValueError(f"undo may not set column {name!r} of {table}")
        checked.append('"' + columns[name] + '"')  # the schema's own name
    return checked


def _db_value(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bytes):
        return value
    if isinstance(value, list | dict):
        return json.dumps(value)
    raise ValueError(f"undo value of type {type(value).__name__} cannot be stored")


def validate_undo(conn: sqlite3.Connection, undo: object) -> Undo:
    """Check an undo list against the whitelist and the schema; return it normalised. Raises ValueError."""
    if undo == {}:
        return []  # the column's default: nothing to undo
    if not isinstance(undo, list):
        raise ValueError("undo must be a list of entries")
    normalised: Undo = []
    for entry in undo:
        if not isinstance(entry, dict):
            raise ValueError(f"undo entry {entry!r} is not an object")
        table = _checked_table(entry.get("table"))
        row_id = entry.get("id")
        if not isinstance(row_id, int) or isinstance(row_id, bool):
            raise ValueError(f"undo entry for {table} needs an integer id")
        if entry.get("delete") is True:
            if "values" in entry:
                raise ValueError("an undo entry either deletes or restores values, not both")
            normalised.append(delete_row(table, row_id))
            continue
        values = entry.get("values")
        if not isinstance(values, dict) or not values:
            raise ValueError(f"undo entry for {table} {row_id} needs values or delete")
        _checked_columns(conn, table, list(values))
        for value in values.values():
            _db_value(value)
        normalised.append(restore(table, row_id, values))
    return normalised


def apply_undo(conn: sqlite3.Connection, undo: object) -> dict[str, set[int]]:
    """Restore the rows an undo list describes; return the ids touched per table.

    For ``ticket_messages`` the owning ticket's id is reported under ``tickets`` too, so the caller can
    publish one change per pane.
    """
    touched: dict[str, set[int]] = {}
    for entry in validate_undo(conn, undo):
        table = _checked_table(entry["table"])
        row_id = int(entry["id"])
        if table == "ticket_messages":
            owner = conn.execute("SELECT ticket_id FROM ticket_messages WHERE id = ?", (row_id,)).fetchone()
            if owner is not None:
                touched.setdefault("tickets", set()).add(int(owner[0]))
        if entry.get("delete"):
            conn.execute(f"DELETE FROM {table} WHERE id = ?", (row_id,))
        else:
            values: dict[str, Any] = entry["values"]
            columns = _checked_columns(conn, table, list(values))
            assignments = ", ".join(f"{column} = ?" for column in columns)
            params = [_db_value(v) for v in values.values()]
            conn.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", (*params, row_id))
        touched.setdefault(table, set()).add(row_id)
    return touched


# -- rows ---------------------------------------------------------------------------------------------


def enqueue(
    conn: sqlite3.Connection,
    *,
    platform: Platform,
    kind: str,
    target: str,
    payload: dict[str, Any],
    undo: Undo,
    idempotency_key: str | None = None,
    now: datetime,
) -> int:
    """Add a pending action due ``now``; return its id.

    ``idempotency_key`` defaults to a fresh uuid4; it is UNIQUE, so enqueueing a key twice raises
    ``sqlite3.IntegrityError``. ``undo`` is validated here, so a bad one fails the moderator's operation at
    once rather than when the action fails.
    """
    checked_undo = validate_undo(conn, undo)
    key = idempotency_key or uuid.uuid4().hex
    stamp = to_db_time(now)
    cur = conn.execute(
        "INSERT INTO outbox (idempotency_key, platform, kind, target, payload, state, attempts,"
        " next_attempt_at, undo, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
        (
            key,
            str(platform),
            kind,
            target,
            json.dumps(payload),
            stamp,
            json.dumps(checked_undo),
            stamp,
            stamp,
        ),
    )
    assert cur.lastrowid is not None
    return int(cur.lastrowid)


# An action waits while an earlier one for the same platform object is still pending or being sent, so two
# changes to one object (a status set twice, two replies) reach the platform in the order they were made.
_CLAIMABLE = (
    "o.state = 'pending' AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.state IN ('pending', 'sending')"
    " AND p.platform = o.platform AND p.target = o.target AND p.id < o.id)"
)


def _platform_filter(platforms: Collection[Platform] | None) -> tuple[str, list[str]]:
    if platforms is None:
        return "", []
    names = sorted(str(p) for p in platforms)
    return f" AND o.platform IN ({', '.join('?' for _ in names)})", names


def claim_due(
    conn: sqlite3.Connection,
    now: datetime,
    limit: int,
    *,
    platforms: Collection[Platform] | None = None,
) -> list[OutboxAction]:
    """Move up to ``limit`` due pending actions to ``sending`` (attempts + 1) and return them, oldest first.

    ``platforms`` restricts the claim to platforms that can execute now; others stay pending.
    """
    if platforms is not None and not platforms:
        return []
    where, params = _platform_filter(platforms)
    stamp = to_db_time(now)
    ids = [
        int(row[0])
        for row in conn.execute(
            f"SELECT o.id FROM outbox o WHERE {_CLAIMABLE} AND o.next_attempt_at <= ?{where}"
            " ORDER BY o.next_attempt_at, o.id LIMIT ?",
            (stamp, *params, limit),
        )
    ]
    actions: list[OutboxAction] = []
    for action_id in ids:
        conn.execute(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ? WHERE id = ?",
            (stamp, action_id),
        )
        found = get_action(conn, action_id)
        assert found is not None
        actions.append(found)
    return actions


def next_due(conn: sqlite3.Connection, *, platforms: Collection[Platform] | None = None) -> datetime | None:
    """When the earliest claimable pending action is due, or None if there is none."""
    if platforms is not None and not platforms:
        return None
    where, params = _platform_filter(platforms)
    row = conn.execute(
        f"SELECT min(o.next_attempt_at) FROM outbox o WHERE {_CLAIMABLE}{where}", params
    ).fetchone()
    return None if row is None or row[0] is None else from_db_time(row[0])


def mark_done(
    conn: sqlite3.Connection, action_id: int, result: dict[str, Any], *, now: datetime | None = None
) -> bool:
    """Record a confirmed action and what the platform returned. False if it was not being sent."""
    cur = conn.execute(
        "UPDATE outbox SET state = 'done', result = ?, last_error = '', updated_at = ?"
        " WHERE id = ? AND state = 'sending'",
        (json.dumps(result), to_db_time(now or _now()), action_id),
    )
    return cur.rowcount > 0


def mark_retry(
    conn: sqlite3.Connection,
    action_id: int,
    error: str,
    next_attempt_at: datetime,
    *,
    now: datetime | None = None,
) -> bool:
    """Put a sent action back to pending, to be tried again at ``next_attempt_at``."""
    cur = conn.execute(
        "UPDATE outbox SET state = 'pending', last_error = ?, next_attempt_at = ?, updated_at = ?"
        " WHERE id = ? AND state = 'sending'",
        (error, to_db_time(next_attempt_at), to_db_time(now or _now()), action_id),
    )
    return cur.rowcount > 0


def mark_failed(conn: sqlite3.Connection, action_id: int, error: str, *, now: datetime | None = None) -> bool:
    """Record that an action failed for good (the caller applies its undo in the same job)."""
    cur = conn.execute(
        "UPDATE outbox SET state = 'failed', last_error = ?, updated_at = ?"
        " WHERE id = ? AND state = 'sending'",
        (error, to_db_time(now or _now()), action_id),
    )
    return cur.rowcount > 0


def requeue_sending(conn: sqlite3.Connection, *, now: datetime | None = None) -> list[int]:
    """At start-up: put actions a crash left in ``sending`` back to pending, to be replayed. Returns ids."""
    ids = [int(row[0]) for row in conn.execute("SELECT id FROM outbox WHERE state = 'sending' ORDER BY id")]
    if ids:
        conn.execute(
            "UPDATE outbox SET state = 'pending', updated_at = ? WHERE state = 'sending'",
            (to_db_time(now or _now()),),
        )
    return ids


def retry(conn: sqlite3.Connection, action_id: int, *, now: datetime | None = None) -> bool:
    """A moderator's "try again" on a failed action: pending, due now, with a fresh set of attempts.

    The optimistic change was undone when it failed; the platform's own event brings the change back once the
    action succeeds.
    """
    stamp = to_db_time(now or _now())
    cur = conn.execute(
        "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?"
        " WHERE id = ? AND state = 'failed'",
        (stamp, stamp, action_id),
    )
    return cur.rowcount > 0


def discard(conn: sqlite3.Connection, action_id: int) -> dict[str, set[int]] | None:
    """Forget a failed action, or cancel a pending one (undoing its optimistic change).

    Returns the rows the undo touched (empty for a failed action, whose undo was applied when it failed), or
    None if the action is being sent, done, or unknown, and so cannot be discarded.
    """
    row = conn.execute("SELECT state FROM outbox WHERE id = ?", (action_id,)).fetchone()
    if row is None or row[0] not in (OutboxState.FAILED, OutboxState.PENDING):
        return None
    touched: dict[str, set[int]] = {}
    if row[0] == OutboxState.PENDING:
        touched = apply_undo(conn, get_undo(conn, action_id))
    conn.execute("DELETE FROM outbox WHERE id = ?", (action_id,))
    return touched


def get_action(conn: sqlite3.Connection, action_id: int) -> OutboxAction | None:
    """One action by id."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM outbox WHERE id = ?", (action_id,)).fetchone()
    return None if row is None else _action(row)


def get_undo(conn: sqlite3.Connection, action_id: int) -> Undo:
    """The stored undo list of one action (empty if none)."""
    row = conn.execute("SELECT undo FROM outbox WHERE id = ?", (action_id,)).fetchone()
    if row is None:
        return []
    value = json.loads(row[0])
    return value if isinstance(value, list) else []


def list_actions(
    conn: sqlite3.Connection, states: Collection[OutboxState] | None = None, *, limit: int | None = None
) -> list[OutboxAction]:
    """Actions in the given states (all if None), oldest first."""
    sql = f"SELECT {_COLUMNS} FROM outbox"
    params: list[Any] = []
    if states is not None:
        if not states:
            return []
        sql += f" WHERE state IN ({', '.join('?' for _ in states)})"
        params.extend(str(s) for s in states)
    sql += " ORDER BY id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [_action(row) for row in conn.execute(sql, params)]


def count_by_state(conn: sqlite3.Connection) -> dict[OutboxState, int]:
    """How many actions are in each state (for the status bar)."""
    counts = {state: 0 for state in OutboxState}
    for state, n in conn.execute("SELECT state, count(*) FROM outbox GROUP BY state"):
        counts[OutboxState(state)] = int(n)
    return counts


def purge_done(conn: sqlite3.Connection, before: datetime) -> int:
    """Delete confirmed actions last updated before ``before``; return how many."""
    cur = conn.execute("DELETE FROM outbox WHERE state = 'done' AND updated_at < ?", (to_db_time(before),))
    return cur.rowcount
