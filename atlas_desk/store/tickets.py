"""Tickets and their messages in the store (tables ``tickets``, ``ticket_messages``, ``accounts``).

Functions take a connection: the writer's inside a ``Store`` job for writes, a reader for reads.
Times are stored as UTC ISO strings (``to_db_time``). ``extra`` holds platform details as JSON:
``dm_channel_id``, ``requester_user_id``, ``requester_name``, ``joined_at``, ``snooze_until_reply``, ...
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from atlas_desk.store.db import from_db_time, to_db_time

STATUSES: tuple[str, ...] = ("new", "open", "pending", "resolved", "closed")
OPEN_STATUSES: tuple[str, ...] = ("new", "open", "pending")
PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")
VIEWS: tuple[str, ...] = ("mine", "unassigned", "open", "pending", "snoozed", "closed")


@dataclass(slots=True)
class TicketRow:
    """One ticket as the pane and the services read it."""

    id: int
    platform: str
    platform_id: str
    subject: str
    requester_id: int | None
    requester: str  # display name (or handle)
    requester_handle: str
    assignee: str
    status: str
    priority: str
    tags: list[str]
    opened_at: datetime
    first_reply_at: datetime | None
    last_activity_at: datetime
    snoozed_until: datetime | None
    closed_at: datetime | None
    close_reason: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TicketMessageRow:
    id: int
    ticket_id: int
    platform_id: str
    author: str
    role: str  # member | moderator | note | system
    body: str
    created_at: datetime
    attachments: list[str]
    pending: bool


_SELECT = (
    "SELECT t.id, t.platform, t.platform_id, t.subject, t.requester_id,"
    " COALESCE(NULLIF(a.display_name, ''), a.handle, ''), COALESCE(a.handle, ''), t.assignee, t.status,"
    " t.priority, t.tags, t.opened_at, t.first_reply_at, t.last_activity_at, t.snoozed_until, t.closed_at,"
    " t.close_reason, t.extra FROM tickets AS t LEFT JOIN accounts AS a ON a.id = t.requester_id"
)


def _time(text: str | None) -> datetime | None:
    return from_db_time(text) if text else None


def _row(r: Sequence[Any]) -> TicketRow:
    return TicketRow(
        id=int(r[0]),
        platform=str(r[1]),
        platform_id=str(r[2]),
        subject=str(r[3]),
        requester_id=r[4],
        requester=str(r[5]),
        requester_handle=str(r[6]),
        assignee=str(r[7]),
        status=str(r[8]),
        priority=str(r[9]),
        tags=list(json.loads(r[10] or "[]")),
        opened_at=from_db_time(r[11]),
        first_reply_at=_time(r[12]),
        last_activity_at=from_db_time(r[13]),
        snoozed_until=_time(r[14]),
        closed_at=_time(r[15]),
        close_reason=str(r[16]),
        extra=dict(json.loads(r[17] or "{}")),
    )


def upsert_account(
    conn: sqlite3.Connection,
    platform: str,
    platform_id: str,
    handle: str,
    display_name: str = "",
    created_at: datetime | None = None,
) -> int:
    """The account row id for ``(platform, platform_id)``, creating it (and its person) if new."""
    row = conn.execute(
        "SELECT id FROM accounts WHERE platform = ? AND platform_id = ?", (platform, platform_id)
    ).fetchone()
    if row is not None:
        conn.execute(
            "UPDATE accounts SET handle = ?, display_name = ? WHERE id = ?", (handle, display_name, row[0])
        )
        return int(row[0])
    stamp = to_db_time(created_at) if created_at else None
    cur = conn.execute(
        "INSERT INTO people (display_name, created_at) VALUES (?, ?)",
        (display_name or handle, stamp or "1970-01-01T00:00:00+00:00"),
    )
    cur = conn.execute(
        "INSERT INTO accounts (person_id, platform, platform_id, handle, display_name, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (cur.lastrowid, platform, platform_id, handle, display_name, stamp),
    )
    assert cur.lastrowid is not None
    return int(cur.lastrowid)


def is_blocked(conn: sqlite3.Connection, platform: str, platform_id: str) -> bool:
    """Whether the person behind this account is blocked from opening tickets on the desk."""
    row = conn.execute(
        "SELECT p.blocked FROM accounts a JOIN people p ON p.id = a.person_id"
        " WHERE a.platform = ? AND a.platform_id = ?",
        (platform, platform_id),
    ).fetchone()
    return bool(row and row[0])


def set_blocked(conn: sqlite3.Connection, account_id: int, blocked: bool) -> None:
    """Block (or unblock) the person behind an account from opening tickets."""
    conn.execute(
        "UPDATE people SET blocked = ? WHERE id = (SELECT person_id FROM accounts WHERE id = ?)",
        (int(blocked), account_id),
    )


def upsert_ticket(
    conn: sqlite3.Connection,
    *,
    platform: str,
    platform_id: str,
    subject: str,
    requester_id: int | None,
    opened_at: datetime,
    status: str | None = None,
    priority: str | None = None,
    assignee: str | None = None,
    tags: Sequence[str] | None = None,
    last_activity_at: datetime | None = None,
    closed_at: datetime | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[int, bool]:
    """Insert or update a ticket by its platform key; returns (id, created). ``None`` leaves a field as is."""
    row = conn.execute(
        "SELECT id, extra FROM tickets WHERE platform = ? AND platform_id = ?", (platform, platform_id)
    ).fetchone()
    if row is None:
        cur = conn.execute(
            "INSERT INTO tickets (platform, platform_id, subject, requester_id, assignee, status, priority,"
            " tags,"
            " opened_at, last_activity_at, closed_at, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                platform,
                platform_id,
                subject,
                requester_id,
                assignee or "",
                status or "new",
                priority or "normal",
                json.dumps(list(tags or [])),
                to_db_time(opened_at),
                to_db_time(last_activity_at or opened_at),
                to_db_time(closed_at) if closed_at else None,
                json.dumps(extra or {}),
            ),
        )
        assert cur.lastrowid is not None
        return int(cur.lastrowid), True
    tid = int(row[0])
    values: dict[str, Any] = {"subject": subject}
    if requester_id is not None:
        values["requester_id"] = requester_id
    if status is not None:
        values["status"] = status
        if status not in ("closed",):
            values["closed_at"] = None
    if priority is not None:
        values["priority"] = priority
    if assignee is not None:
        values["assignee"] = assignee
    if tags is not None:
        values["tags"] = json.dumps(list(tags))
    if closed_at is not None:
        values["closed_at"] = to_db_time(closed_at)
    if extra:
        merged = dict(json.loads(row[1] or "{}"))
        merged.update(extra)
        values["extra"] = json.dumps(merged)
    update(conn, tid, values)
    if last_activity_at is not None:
        touch(conn, tid, last_activity_at)
    return tid, False


_COLUMNS = frozenset(
    {
        "subject",
        "requester_id",
        "assignee",
        "status",
        "priority",
        "tags",
        "first_reply_at",
        "last_activity_at",
        "snoozed_until",
        "closed_at",
        "close_reason",
        "extra",
    }
)


def update(conn: sqlite3.Connection, ticket_id: int, values: dict[str, Any]) -> None:
    """Set columns of one ticket (names checked against the schema; datetimes and lists converted)."""
    if not values:
        return
    names = []
    params: list[Any] = []
    for name, value in values.items():
        if name not in _COLUMNS:
            raise ValueError(f"tickets has no settable column {name!r}")
        if isinstance(value, datetime):
            value = to_db_time(value)
        elif isinstance(value, list | dict):
            value = json.dumps(value)
        names.append(f"{name} = ?")
        params.append(value)
    conn.execute(f"UPDATE tickets SET {', '.join(names)} WHERE id = ?", (*params, ticket_id))


def merge_extra(conn: sqlite3.Connection, ticket_id: int, values: dict[str, Any]) -> None:
    """Merge keys into a ticket's ``extra``."""
    row = conn.execute("SELECT extra FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    if row is None:
        return
    extra = dict(json.loads(row[0] or "{}"))
    extra.update(values)
    conn.execute("UPDATE tickets SET extra = ? WHERE id = ?", (json.dumps(extra), ticket_id))


def touch(conn: sqlite3.Connection, ticket_id: int, when: datetime) -> None:
    """Move last activity forward to ``when`` (never back)."""
    conn.execute(
        "UPDATE tickets SET last_activity_at = MAX(last_activity_at, ?) WHERE id = ?",
        (to_db_time(when), ticket_id),
    )


def add_message(
    conn: sqlite3.Connection,
    ticket_id: int,
    *,
    role: str,
    body: str,
    created_at: datetime,
    platform_id: str = "",
    author_id: int | None = None,
    attachments: Sequence[str] = (),
    pending: bool = False,
) -> int | None:
    """Add a message to a ticket; returns its id, or None when it was already there.

    A message the platform reports that matches a still-pending optimistic one (same role and body) adopts
    that row, so a moderator's own reply is never shown twice.
    """
    if platform_id:
        row = conn.execute(
            "SELECT id FROM ticket_messages WHERE ticket_id = ? AND platform_id = ?", (ticket_id, platform_id)
        ).fetchone()
        if row is not None:
            return None
        row = conn.execute(
            "SELECT id FROM ticket_messages WHERE ticket_id = ? AND pending = 1 AND role = ? AND body = ?"
            " ORDER BY id LIMIT 1",
            (ticket_id, role, body),
        ).fetchone()
        if row is not None and not pending:
            conn.execute(
                "UPDATE ticket_messages SET platform_id = ?, pending = 0 WHERE id = ?", (platform_id, row[0])
            )
            return None
    cur = conn.execute(
        "INSERT INTO ticket_messages (ticket_id, platform_id, author_id, role, body, created_at, attachments,"
        " pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            ticket_id,
            platform_id,
            author_id,
            role,
            body,
            to_db_time(created_at),
            json.dumps(list(attachments)),
            int(pending),
        ),
    )
    touch(conn, ticket_id, created_at)
    assert cur.lastrowid is not None
    return int(cur.lastrowid)


def confirm_message(conn: sqlite3.Connection, message_id: int, platform_id: str) -> None:
    """The platform has the message: record its id and clear the pending mark."""
    taken = conn.execute(
        "SELECT id FROM ticket_messages WHERE platform_id = ? AND id != ? AND ticket_id ="
        " (SELECT ticket_id FROM ticket_messages WHERE id = ?)",
        (platform_id, message_id, message_id),
    ).fetchone()
    if taken is not None:  # the gateway echo arrived first and was stored separately: keep one
        conn.execute("DELETE FROM ticket_messages WHERE id = ?", (taken[0],))
    conn.execute(
        "UPDATE ticket_messages SET platform_id = ?, pending = 0 WHERE id = ?", (platform_id, message_id)
    )


def get(conn: sqlite3.Connection, ticket_id: int) -> TicketRow | None:
    """One ticket by row id."""
    r = conn.execute(_SELECT + " WHERE t.id = ?", (ticket_id,)).fetchone()
    return _row(r) if r else None


def find(conn: sqlite3.Connection, platform: str, platform_id: str) -> TicketRow | None:
    """One ticket by its platform key."""
    r = conn.execute(
        _SELECT + " WHERE t.platform = ? AND t.platform_id = ?", (platform, platform_id)
    ).fetchone()
    return _row(r) if r else None


def active_for_requester(conn: sqlite3.Connection, platform: str, user_id: str) -> TicketRow | None:
    """The requester's newest ticket that is not closed (a DM from them belongs to it)."""
    r = conn.execute(
        _SELECT + " WHERE t.platform = ? AND a.platform_id = ? AND t.status != 'closed'"
        " ORDER BY t.opened_at DESC LIMIT 1",
        (platform, user_id),
    ).fetchone()
    return _row(r) if r else None


def earlier_count(conn: sqlite3.Connection, requester_id: int, before: datetime) -> int:
    """How many tickets the requester opened before ``before``."""
    row = conn.execute(
        "SELECT COUNT(*) FROM tickets WHERE requester_id = ? AND opened_at < ?",
        (requester_id, to_db_time(before)),
    ).fetchone()
    return int(row[0])


def _view_where(view: str, me: str, now: datetime) -> tuple[str, list[Any]]:
    stamp = to_db_time(now)
    awake = "(t.snoozed_until IS NULL OR t.snoozed_until <= ?)"
    if view == "mine":
        return f"t.status IN ('new','open','pending') AND t.assignee = ? AND {awake}", [me, stamp]
    if view == "unassigned":
        return f"t.status IN ('new','open','pending') AND t.assignee = '' AND {awake}", [stamp]
    if view == "pending":
        return f"t.status = 'pending' AND {awake}", [stamp]
    if view == "snoozed":
        return "t.status IN ('new','open','pending') AND t.snoozed_until > ?", [stamp]
    if view == "closed":
        return "t.status IN ('resolved','closed')", []
    return f"t.status IN ('new','open','pending') AND {awake}", [stamp]


def list_rows(
    conn: sqlite3.Connection, view: str, *, me: str, now: datetime, limit: int = 5000
) -> list[TicketRow]:
    """The tickets of a queue view, SLA due first (unanswered by opening time), then the newest activity."""
    where, params = _view_where(view, me, now)
    order = (
        " ORDER BY t.closed_at DESC, t.last_activity_at DESC"
        if view == "closed"
        else " ORDER BY (t.first_reply_at IS NOT NULL), t.opened_at ASC, t.last_activity_at DESC"
    )
    rows = conn.execute(_SELECT + " WHERE " + where + order + " LIMIT ?", (*params, limit)).fetchall()
    return [_row(r) for r in rows]


def view_counts(conn: sqlite3.Connection, *, me: str, now: datetime) -> dict[str, int]:
    """How many tickets each view holds."""
    out = {}
    for view in VIEWS:
        where, params = _view_where(view, me, now)
        out[view] = int(
            conn.execute("SELECT COUNT(*) FROM tickets AS t WHERE " + where, params).fetchone()[0]
        )
    return out


def messages(conn: sqlite3.Connection, ticket_id: int) -> list[TicketMessageRow]:
    """A ticket's conversation, oldest first."""
    rows = conn.execute(
        "SELECT m.id, m.ticket_id, m.platform_id, COALESCE(NULLIF(a.display_name, ''), a.handle, ''), m.role,"
        " m.body, m.created_at, m.attachments, m.pending FROM ticket_messages m"
        " LEFT JOIN accounts a ON a.id = m.author_id WHERE m.ticket_id = ? ORDER BY m.created_at, m.id",
        (ticket_id,),
    ).fetchall()
    return [
        TicketMessageRow(
            int(r[0]),
            int(r[1]),
            str(r[2]),
            str(r[3]),
            str(r[4]),
            str(r[5]),
            from_db_time(r[6]),
            list(json.loads(r[7] or "[]")),
            bool(r[8]),
        )
        for r in rows
    ]


def unanswered(conn: sqlite3.Connection) -> list[TicketRow]:
    """Open tickets still waiting for their first reply (what the SLA clock watches)."""
    rows = conn.execute(
        _SELECT
        + " WHERE t.status IN ('new','open','pending') AND t.first_reply_at IS NULL ORDER BY t.opened_at"
    ).fetchall()
    return [_row(r) for r in rows]
