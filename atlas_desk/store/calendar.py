"""Calendar rows: AMAs (Discord scheduled events), contests and scheduled posts in ``community_events``.

One row per event. ``kind`` is ``ama``, ``contest`` or ``post``. Kind-specific data lives in ``extra`` (JSON):
an AMA's ``entity`` (stage / voice / external), ``channel_id``, ``question_sources`` and ``answered``; a
contest's ``prize``, ``rules`` and ``announcement``; a post's ``post_kind``. A scheduled post's delivery state
is not stored here: it
is the outbox's own rows (keys ``post:<event id>:<occurrence>:<target>``), so it can never disagree with what
was actually sent.

Functions take a connection (the writer's inside a ``Store`` job for writes). Times are aware datetimes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from atlas_desk.store.db import from_db_time, to_db_time

TABLE = "community_events"
KINDS = ("ama", "contest", "post")

_COLUMNS = (
    "id, kind, platform_id, title, description, starts_at, ends_at, timezone, recurrence, location, targets,"
    " status, interested, reminder_minutes, extra, updated_at"
)


@dataclass(slots=True)
class EventRow:
    """One calendar event as services and views see it."""

    id: int
    kind: str
    title: str
    starts_at: datetime
    ends_at: datetime | None = None
    platform_id: str = ""
    description: str = ""
    timezone: str = "UTC"
    recurrence: str = ""  # RRULE text without the "RRULE:" prefix, e.g. FREQ=MONTHLY;BYDAY=1TH
    location: str = ""
    targets: list[str] = field(default_factory=list)
    status: str = "scheduled"
    interested: int = 0
    reminder_minutes: int = 15
    extra: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None


@dataclass(slots=True)
class PostDelivery:
    """The outbox's record of one scheduled post sent to one target."""

    action_id: int
    occurrence: str
    target: str
    state: str  # pending | sending | done | failed
    error: str
    url: str


@dataclass(slots=True)
class SourceItem:
    """An inbox item as the calendar needs it (contest entries, AMA questions)."""

    id: int
    platform: str
    platform_id: str
    title: str
    body: str
    author: str
    score: int
    created_at: datetime
    url: str
    container_id: str
    parent_id: str


def _loads(text: str | None, default: Any) -> Any:
    try:
        value = json.loads(text or "")
    except ValueError:
        return default
    return value if isinstance(value, type(default)) else default


def _row(r: Sequence[Any]) -> EventRow:
    return EventRow(
        id=int(r[0]),
        kind=str(r[1]),
        platform_id=str(r[2]),
        title=str(r[3]),
        description=str(r[4]),
        starts_at=from_db_time(r[5]),
        ends_at=from_db_time(r[6]) if r[6] else None,
        timezone=str(r[7]),
        recurrence=str(r[8]),
        location=str(r[9]),
        targets=[str(t) for t in _loads(r[10], [])],
        status=str(r[11]),
        interested=int(r[12]),
        reminder_minutes=int(r[13]),
        extra=_loads(r[14], {}),
        updated_at=from_db_time(r[15]) if r[15] else None,
    )


def _values(event: EventRow, now: datetime) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "platform_id": event.platform_id,
        "title": event.title,
        "description": event.description,
        "starts_at": to_db_time(event.starts_at),
        "ends_at": to_db_time(event.ends_at) if event.ends_at is not None else None,
        "timezone": event.timezone,
        "recurrence": event.recurrence,
        "location": event.location,
        "targets": json.dumps(event.targets),
        "status": event.status,
        "interested": event.interested,
        "reminder_minutes": event.reminder_minutes,
        "extra": json.dumps(event.extra, sort_keys=True),
        "updated_at": to_db_time(now),
    }


def insert_event(conn: sqlite3.Connection, event: EventRow, *, now: datetime) -> int:
    """Insert a new event (its ``id`` is ignored); return the new id."""
    values = _values(event, now)
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    cur = conn.execute(f"INSERT INTO {TABLE} ({names}) VALUES ({marks})", tuple(values.values()))
    assert cur.lastrowid is not None
    return int(cur.lastrowid)


def update_event(conn: sqlite3.Connection, event: EventRow, *, now: datetime) -> bool:
    """Write every field of ``event`` to its row; False if the row does not exist."""
    values = _values(event, now)
    assignments = ", ".join(f"{name} = ?" for name in values)
    cur = conn.execute(f"UPDATE {TABLE} SET {assignments} WHERE id = ?", (*values.values(), event.id))
    return cur.rowcount > 0


def delete_event(conn: sqlite3.Connection, event_id: int) -> bool:
    """Remove an event row."""
    return conn.execute(f"DELETE FROM {TABLE} WHERE id = ?", (event_id,)).rowcount > 0


def get_event(conn: sqlite3.Connection, event_id: int) -> EventRow | None:
    """One event by id."""
    r = conn.execute(f"SELECT {_COLUMNS} FROM {TABLE} WHERE id = ?", (event_id,)).fetchone()
    return None if r is None else _row(r)


def find_by_platform_id(conn: sqlite3.Connection, kind: str, platform_id: str) -> EventRow | None:
    """The event mirroring a platform object (a Discord scheduled event id)."""
    if not platform_id:
        return None
    r = conn.execute(
        f"SELECT {_COLUMNS} FROM {TABLE} WHERE kind = ? AND platform_id = ? ORDER BY id LIMIT 1",
        (kind, platform_id),
    ).fetchone()
    return None if r is None else _row(r)


def list_events(
    conn: sqlite3.Connection,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    kinds: Iterable[str] | None = None,
) -> list[EventRow]:
    """Events overlapping ``[start, end)`` (all if None), by start time."""
    where: list[str] = []
    params: list[Any] = []
    if end is not None:
        where.append("starts_at < ?")
        params.append(to_db_time(end))
    if start is not None:
        where.append("COALESCE(ends_at, starts_at) >= ?")
        params.append(to_db_time(start))
    if kinds is not None:
        wanted = list(kinds)
        if not wanted:
            return []
        where.append(f"kind IN ({', '.join('?' for _ in wanted)})")
        params.extend(wanted)
    sql = f"SELECT {_COLUMNS} FROM {TABLE}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY starts_at, id"
    return [_row(r) for r in conn.execute(sql, params)]


def post_deliveries(conn: sqlite3.Connection, event_id: int) -> list[PostDelivery]:
    """The outbox rows of a scheduled post's deliveries, oldest first."""
    prefix = f"post:{event_id}:"
    out: list[PostDelivery] = []
    for action_id, key, state, error, result in conn.execute(
        "SELECT id, idempotency_key, state, last_error, result FROM outbox"
        " WHERE idempotency_key >= ? AND idempotency_key < ? ORDER BY id",
        (prefix, prefix + "\uffff"),
    ):
        occurrence, _, target = str(key)[len(prefix) :].partition("|")
        res = _loads(result, {})
        out.append(
            PostDelivery(
                action_id=int(action_id),
                occurrence=occurrence,
                target=target,
                state=str(state),
                error=str(error),
                url=str(res.get("url") or ""),
            )
        )
    return out


_ITEM_SQL = (
    "SELECT i.id, i.platform, i.platform_id, i.title, i.body, COALESCE(a.handle, ''), i.score, i.created_at,"
    " i.url, i.container_id, i.parent_id FROM inbox_items AS i LEFT JOIN accounts AS a ON a.id = i.account_id"
)


def _item(r: Sequence[Any]) -> SourceItem:
    return SourceItem(
        id=int(r[0]),
        platform=str(r[1]),
        platform_id=str(r[2]),
        title=str(r[3]),
        body=str(r[4]),
        author=str(r[5]),
        score=int(r[6]),
        created_at=from_db_time(r[7]),
        url=str(r[8]),
        container_id=str(r[9]),
        parent_id=str(r[10]),
    )


def suggestions_between(conn: sqlite3.Connection, start: datetime, end: datetime) -> list[SourceItem]:
    """Live suggestions posted in ``[start, end)`` on any platform (a contest's entries)."""
    rows = conn.execute(
        f"{_ITEM_SQL} WHERE i.is_suggestion = 1 AND i.deleted = 0 AND i.created_ts >= ? AND i.created_ts < ?"
        " ORDER BY i.created_ts, i.id",
        (start.timestamp(), end.timestamp()),
    )
    return [_item(r) for r in rows]


def items_in_sources(
    conn: sqlite3.Connection, sources: Sequence[dict[str, Any]], *, limit: int = 2000
) -> list[SourceItem]:
    """Items posted in the sources: ``{"platform", "container_id"}`` or ``{"platform", "parent_id"}``."""
    out: list[SourceItem] = []
    seen: set[int] = set()
    for source in sources:
        platform = str(source.get("platform") or "")
        if platform == "github" and source.get("discussion_number") and not source.get("parent_id"):
            # A discussion named by its number: its node id is the parent of its comments.
            found = conn.execute(
                "SELECT platform_id FROM inbox_items WHERE platform = 'github' AND kind = 'discussion'"
                " AND url LIKE ? ESCAPE '\\' ORDER BY id DESC LIMIT 1",
                (f"%/discussions/{int(source['discussion_number'])}",),
            ).fetchone()
            if found is None:
                continue
            source = {"platform": "github", "parent_id": str(found[0])}
        if source.get("parent_id"):
            # The thread / discussion / post itself is the question prompt, not a question.
            where, value = "i.parent_id = ? AND i.platform_id != ?", str(source["parent_id"])
            params: tuple[Any, ...] = (platform, value, value)
        elif source.get("container_id"):
            where, value = "i.container_id = ?", str(source["container_id"])
            params = (platform, value)
        else:
            continue
        for r in conn.execute(
            f"{_ITEM_SQL} WHERE i.platform = ? AND {where} AND i.deleted = 0 ORDER BY i.created_ts LIMIT ?",
            (*params, limit),
        ):
            item = _item(r)
            if item.id not in seen:
                seen.add(item.id)
                out.append(item)
    return out


__all__ = [
    "KINDS",
    "TABLE",
    "EventRow",
    "PostDelivery",
    "SourceItem",
    "delete_event",
    "events_to_ics",
    "find_by_platform_id",
    "get_event",
    "insert_event",
    "items_in_sources",
    "list_events",
    "post_deliveries",
    "suggestions_between",
    "update_event",
]


# -- iCalendar --------------------------------------------------------------------------------------------

_ICS_STATUS = {
    "scheduled": "CONFIRMED",
    "active": "CONFIRMED",
    "publishing": "CONFIRMED",
    "published": "CONFIRMED",
    "completed": "CONFIRMED",
    "canceled": "CANCELLED",
    "failed": "TENTATIVE",
}


def events_to_ics(events: Iterable[EventRow], *, product: str = "-//Atlas Desk//Calendar//EN") -> str:
    """The events as an iCalendar (RFC 5545) document, written with the ``icalendar`` library."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", product)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Atlas community calendar")
    for event in events:
        try:
            tz = ZoneInfo(event.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            tz = ZoneInfo("UTC")
        vevent = icalendar.Event()
        vevent.add("uid", f"{event.kind}-{event.platform_id or event.id}@atlas-desk")
        vevent.add("summary", event.title)
        if event.description:
            vevent.add("description", event.description)
        vevent.add("dtstart", event.starts_at.astimezone(tz))
        if event.ends_at is not None:
            vevent.add("dtend", event.ends_at.astimezone(tz))
        if event.updated_at is not None:
            vevent.add("dtstamp", event.updated_at)
        else:
            vevent.add("dtstamp", event.starts_at)
        if event.recurrence:
            vevent.add("rrule", icalendar.vRecur.from_ical(event.recurrence))
        if event.location:
            vevent.add("location", event.location)
        vevent.add("categories", [event.kind.upper()])
        vevent.add("status", _ICS_STATUS.get(event.status, "CONFIRMED"))
        url = str(event.extra.get("url") or "")
        if url:
            vevent.add("url", url)
        cal.add_component(vevent)
    cal.add_missing_timezones()  # VTIMEZONE blocks for every TZID used, so other calendars read local times
    return str(cal.to_ical().decode("utf-8"))
