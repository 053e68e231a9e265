"""Read-only queries behind ``atlas-desk export``: the store's contents with stable, documented field names.

``EXPORT_FIELDS`` is the public contract (README lists it). JSON export writes one object per line with these
keys in this order; CSV writes a header row with the same names. Times are UTC ISO-8601 strings as stored;
lists (tags, labels, assignees) are JSON arrays in JSON and ``;``-joined in CSV; ``votes`` is an object in
JSON and compact JSON text in CSV; booleans are ``true``/``false`` in both.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, TextIO

EXPORT_FIELDS: dict[str, tuple[str, ...]] = {
    "inbox": (
        "id",
        "platform",
        "platform_id",
        "kind",
        "container",
        "author",
        "author_platform_id",
        "title",
        "body",
        "url",
        "created_at",
        "edited_at",
        "deleted",
        "score",
        "reported",
        "is_suggestion",
        "read",
        "starred",
    ),
    "tickets": (
        "id",
        "platform",
        "platform_id",
        "subject",
        "requester",
        "assignee",
        "status",
        "priority",
        "tags",
        "opened_at",
        "first_reply_at",
        "first_reply_seconds",
        "last_activity_at",
        "closed_at",
    ),
    "roadmap": (
        "id",
        "platform_id",
        "number",
        "title",
        "status",
        "position",
        "labels",
        "assignees",
        "target_month",
        "votes_total",
        "votes",
        "why_note",
        "url",
    ),
    "events": (
        "id",
        "kind",
        "platform_id",
        "title",
        "starts_at",
        "ends_at",
        "timezone",
        "recurrence",
        "status",
        "interested",
    ),
}
EXPORT_KINDS: tuple[str, ...] = tuple(EXPORT_FIELDS)

Row = dict[str, Any]

_INBOX_SQL = """
SELECT i.id, i.platform, i.platform_id, i.kind, i.container,
       COALESCE(a.handle, '') AS author, COALESCE(a.platform_id, '') AS author_platform_id,
       i.title, i.body, i.url, i.created_at, i.edited_at, i.deleted, i.score, i.reported, i.is_suggestion,
       i.read, i.starred
FROM inbox_items AS i LEFT JOIN accounts AS a ON a.id = i.account_id
ORDER BY i.id
"""
_INBOX_BOOLS = ("deleted", "reported", "is_suggestion", "read", "starred")

_TICKETS_SQL = """
SELECT t.id, t.platform, t.platform_id, t.subject, COALESCE(a.handle, '') AS requester, t.assignee, t.status,
       t.priority, t.tags, t.opened_at, t.first_reply_at, t.last_activity_at, t.closed_at
FROM tickets AS t LEFT JOIN accounts AS a ON a.id = t.requester_id
ORDER BY t.id
"""

_ROADMAP_SQL = """
SELECT id, platform_id, number, title, status, position, labels, assignees, target_month, votes, why_note, url
FROM roadmap_items WHERE archived = 0
ORDER BY status, position, id
"""

_EVENTS_SQL = """
SELECT id, kind, platform_id, title, starts_at, ends_at, timezone, recurrence, status, interested
FROM community_events
ORDER BY starts_at, id
"""


def _json_list(text: str | None) -> list[Any]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _json_dict(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _seconds_between(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    try:
        return int((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds())
    except (ValueError, TypeError):  # naive vs aware, or unparseable: leave it out rather than guess
        return None


def _inbox(row: sqlite3.Row) -> Row:
    out = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite3.Row is not iterable by key
    for key in _INBOX_BOOLS:
        out[key] = bool(out[key])
    return out


def _ticket(row: sqlite3.Row) -> Row:
    out = {k: row[k] for k in row.keys()}  # noqa: SIM118
    out["tags"] = _json_list(out["tags"])
    out["first_reply_seconds"] = _seconds_between(out["opened_at"], out["first_reply_at"])
    return out


def _roadmap(row: sqlite3.Row) -> Row:
    out = {k: row[k] for k in row.keys()}  # noqa: SIM118
    out["labels"] = _json_list(out["labels"])
    out["assignees"] = _json_list(out["assignees"])
    votes = {str(k): v for k, v in _json_dict(out["votes"]).items() if isinstance(v, int | float)}
    out["votes"] = votes
    out["votes_total"] = sum(votes.values())
    return out


def _event(row: sqlite3.Row) -> Row:
    return {k: row[k] for k in row.keys()}  # noqa: SIM118


_QUERIES: dict[str, tuple[str, Callable[[sqlite3.Row], Row]]] = {
    "inbox": (_INBOX_SQL, _inbox),
    "tickets": (_TICKETS_SQL, _ticket),
    "roadmap": (_ROADMAP_SQL, _roadmap),
    "events": (_EVENTS_SQL, _event),
}


def iter_rows(conn: sqlite3.Connection, kind: str) -> Iterator[Row]:
    """Rows of one export kind, as dicts keyed by ``EXPORT_FIELDS[kind]`` in that order."""
    if kind not in _QUERIES:
        raise ValueError(f"unknown export kind {kind!r} (known: {', '.join(EXPORT_KINDS)})")
    sql, shape = _QUERIES[kind]
    names = EXPORT_FIELDS[kind]
    previous = conn.row_factory
    conn.row_factory = sqlite3.Row
    try:
        cursor = conn.execute(sql)
        for row in cursor:
            shaped = shape(row)
            yield {name: shaped[name] for name in names}
    finally:
        conn.row_factory = previous


def write_json_lines(rows: Iterator[Row], out: TextIO) -> int:
    """Write one JSON object per line; returns the number of rows."""
    count = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        count += 1
    return count


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    if value is None:
        return ""
    return value


def write_csv(rows: Iterator[Row], kind: str, out: TextIO) -> int:
    """Write a header row with ``EXPORT_FIELDS[kind]`` and one row per record; returns the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_FIELDS[kind])
    count = 0
    for row in rows:
        writer.writerow([_csv_cell(row[name]) for name in EXPORT_FIELDS[kind]])
        count += 1
    return count


def export(conn: sqlite3.Connection, kind: str, fmt: str, out: TextIO) -> int:
    """Export one kind in ``fmt`` ("json", "csv"; "ics" for events) to ``out``; returns the row count."""
    if fmt == "ics":
        if kind != "events":
            raise ValueError("only events can be exported as iCalendar (ics)")
        from atlas_desk.store.calendar import events_to_ics, list_events

        events = list_events(conn)
        out.write(events_to_ics(events))
        return len(events)
    rows = iter_rows(conn, kind)
    if fmt == "json":
        return write_json_lines(rows, out)
    if fmt == "csv":
        return write_csv(rows, kind, out)
    raise ValueError(f"unknown export format {fmt!r} (json, csv or ics)")


__all__ = ["EXPORT_FIELDS", "EXPORT_KINDS", "export", "iter_rows", "write_csv", "write_json_lines"]
