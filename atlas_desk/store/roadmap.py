"""Roadmap repository: the cached Projects (v2) board, optimistic moves with their undo, why-notes.

Rows are ordered within a column by ``position`` (the project's global order as an index after a sync; an
optimistic move puts a card half-way between its new neighbours until the next sync renumbers). A row with
``pending = 1`` has a change on its way to GitHub: a sync leaves its status and position alone, so the card
does not jump back while the mutation is in flight.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from atlas_desk.core.roadmap_types import ProjectInfo, SyncedCard
from atlas_desk.store import outbox
from atlas_desk.store.db import to_db_time
from atlas_desk.store.meta import get_meta, set_meta

PROJECT_META = "roadmap.project"
LAST_UPDATE_META = "roadmap.last_update"
LOCAL_PREFIX = "local:"  # platform_id of a card added on the desk and not yet confirmed by GitHub

_COLUMNS = (
    "id, platform_id, content_id, item_type, number, title, body, status, position, labels, assignees,"
    " target_month, votes, origin_item, why_note, url, archived, pending, extra, created_at,"
    " status_changed_at, updated_at"
)


@dataclass(slots=True)
class RoadmapRow:
    """One card as the store holds it."""

    id: int
    platform_id: str
    content_id: str
    item_type: str
    number: int | None
    title: str
    body: str
    status: str
    position: float
    labels: list[str]
    assignees: list[str]
    target_month: str
    votes: dict[str, int]
    origin_item: int | None
    why_note: str
    url: str
    archived: bool
    pending: bool
    extra: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    status_changed_at: str = ""
    updated_at: str = ""

    @property
    def links(self) -> list[dict[str, str]]:
        """Where the idea came from: ``{"platform", "platform_id", "url"}`` entries."""
        raw = self.extra.get("links")
        return [dict(x) for x in raw if isinstance(x, dict)] if isinstance(raw, list) else []


def _json(value: str, default: Any) -> Any:
    try:
        out = json.loads(value) if value else default
    except ValueError:
        return default
    return out if isinstance(out, type(default)) else default


def _row(r: Sequence[Any]) -> RoadmapRow:
    return RoadmapRow(
        id=int(r[0]),
        platform_id=str(r[1]),
        content_id=str(r[2]),
        item_type=str(r[3]),
        number=None if r[4] is None else int(r[4]),
        title=str(r[5]),
        body=str(r[6]),
        status=str(r[7]),
        position=float(r[8]),
        labels=[str(x) for x in _json(r[9], [])],
        assignees=[str(x) for x in _json(r[10], [])],
        target_month=str(r[11]),
        votes={str(k): int(v) for k, v in _json(r[12], {}).items() if isinstance(v, int)},
        origin_item=None if r[13] is None else int(r[13]),
        why_note=str(r[14]),
        url=str(r[15]),
        archived=bool(r[16]),
        pending=bool(r[17]),
        extra=_json(r[18], {}),
        created_at=str(r[19]),
        status_changed_at=str(r[20]),
        updated_at=str(r[21]),
    )


# -- reading ------------------------------------------------------------------------------------------


def list_rows(conn: sqlite3.Connection, *, include_archived: bool = False) -> list[RoadmapRow]:
    """Every card, by column and position."""
    where = "" if include_archived else " WHERE archived = 0"
    return [
        _row(r)
        for r in conn.execute(f"SELECT {_COLUMNS} FROM roadmap_items{where} ORDER BY status, position, id")
    ]


def column_ids(conn: sqlite3.Connection, status: str) -> list[int]:
    """The ids of one column's cards, top to bottom."""
    return [
        int(r[0])
        for r in conn.execute(
            "SELECT id FROM roadmap_items WHERE archived = 0 AND status = ? ORDER BY position, id", (status,)
        )
    ]


def rows_by_id(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, RoadmapRow]:
    """Cards by id (unknown ids are left out)."""
    wanted = list(ids)
    out: dict[int, RoadmapRow] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for r in conn.execute(f"SELECT {_COLUMNS} FROM roadmap_items WHERE id IN ({marks})", chunk):
            row = _row(r)
            out[row.id] = row
    return out


def get_row(conn: sqlite3.Connection, row_id: int) -> RoadmapRow | None:
    r = conn.execute(f"SELECT {_COLUMNS} FROM roadmap_items WHERE id = ?", (row_id,)).fetchone()
    return None if r is None else _row(r)


def get_by_platform_id(conn: sqlite3.Connection, platform_id: str) -> RoadmapRow | None:
    r = conn.execute(f"SELECT {_COLUMNS} FROM roadmap_items WHERE platform_id = ?", (platform_id,)).fetchone()
    return None if r is None else _row(r)


def linked_scores(conn: sqlite3.Connection, links: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The current score of linked inbox items by ``(platform, platform_id)`` (items not synced are
    absent)."""
    out: dict[tuple[str, str], int] = {}
    for platform, platform_id in links:
        r = conn.execute(
            "SELECT score FROM inbox_items WHERE platform = ? AND platform_id = ?", (platform, platform_id)
        ).fetchone()
        if r is not None:
            out[(platform, platform_id)] = int(r[0])
    return out


def inbox_item_by_platform_id(
    conn: sqlite3.Connection, platform: str, platform_id: str
) -> tuple[str, str, int] | None:
    """(title or start of body, url, score) of a synced inbox item, or None."""
    r = conn.execute(
        "SELECT CASE WHEN title != '' THEN title ELSE substr(body, 1, 120) END, url, score FROM inbox_items"
        " WHERE platform = ? AND platform_id = ?",
        (platform, platform_id),
    ).fetchone()
    return None if r is None else (str(r[0]), str(r[1]), int(r[2]))


def get_project(conn: sqlite3.Connection) -> ProjectInfo | None:
    raw = get_meta(conn, PROJECT_META)
    data = _json(raw or "", {})
    if not data.get("project_id"):
        return None
    return ProjectInfo(
        project_id=str(data["project_id"]),
        status_field_id=str(data.get("status_field_id", "")),
        options=[(str(o[0]), str(o[1])) for o in data.get("options", [])],
        target_field_id=str(data.get("target_field_id", "")),
        url=str(data.get("url", "")),
        title=str(data.get("title", "")),
    )


def set_project(conn: sqlite3.Connection, info: ProjectInfo) -> None:
    data = {
        "project_id": info.project_id,
        "status_field_id": info.status_field_id,
        "options": [list(o) for o in info.options],
        "target_field_id": info.target_field_id,
        "url": info.url,
        "title": info.title,
    }
    set_meta(conn, PROJECT_META, json.dumps(data))


LOCAL_REV_META = "roadmap.local_rev"


def local_rev(conn: sqlite3.Connection) -> int:
    """The revision of the desk's latest change to any card, or of GitHub's latest confirmation of one."""
    return int(get_meta(conn, LOCAL_REV_META, "0") or 0)


def _touch(conn: sqlite3.Connection, where: str, params: Sequence[Any]) -> None:
    """Give the cards ``where`` selects the next revision: board reads begun before it leave them alone."""
    rev = local_rev(conn) + 1
    set_meta(conn, LOCAL_REV_META, str(rev))
    conn.execute(f"UPDATE roadmap_items SET local_rev = ? WHERE {where}", (rev, *params))


# -- sync ---------------------------------------------------------------------------------------------


def apply_sync(
    conn: sqlite3.Connection,
    project: ProjectInfo,
    cards: Sequence[SyncedCard],
    *,
    now: datetime,
    read_rev: int | None = None,
) -> list[int]:
    """Make the cached board match GitHub's; return the ids of rows that changed (inserted, updated,
    archived).

    ``read_rev``: ``local_rev`` when the read of ``cards`` began. Cards the desk changed, or GitHub confirmed
    a change of, since then are newer here than in the read, and are left as they are (a read that crossed
    an archive would otherwise bring the card back, and the next read archive it a second time).
    """
    first_read = get_project(conn) is None
    set_project(conn, project)
    stamp = to_db_time(now)
    changed: list[int] = []
    seen: set[str] = set()
    newer: set[int] = set()
    if read_rev is not None:
        newer = {
            int(r[0]) for r in conn.execute("SELECT id FROM roadmap_items WHERE local_rev > ?", (read_rev,))
        }
    for card in cards:
        seen.add(card.platform_id)
        existing = get_by_platform_id(conn, card.platform_id)
        if existing is None and card.marker:
            # the desk's own add, confirmed by GitHub before its outbox completion ran: adopt the local row
            r = conn.execute(
                "SELECT id FROM roadmap_items WHERE platform_id = ?", (LOCAL_PREFIX + card.marker,)
            ).fetchone()
            if r is not None:
                conn.execute(
                    "UPDATE roadmap_items SET platform_id = ?, pending = 0 WHERE id = ?",
                    (card.platform_id, r[0]),
                )
                existing = get_row(conn, int(r[0]))
        if existing is not None and existing.id in newer:
            continue
        extra: dict[str, Any] = dict(existing.extra) if existing else {}
        links = list(existing.links) if existing else []
        for link in card.links:
            if not any(
                x.get("platform") == link["platform"] and x.get("platform_id") == link["platform_id"]
                for x in links
            ):
                links.append(link)
        extra["links"] = links
        extra["state"] = card.state
        votes = dict(existing.votes) if existing else {}
        votes["github"] = card.github_votes
        changed_at = to_db_time(card.updated_at)
        values: dict[str, Any] = {
            "content_id": card.content_id,
            "item_type": card.item_type,
            "number": card.number,
            "title": card.title,
            "body": card.body,
            "labels": json.dumps(card.labels),
            "assignees": json.dumps(card.assignees),
            "target_month": card.target_month,
            "votes": json.dumps(votes, sort_keys=True),
            "url": card.url,
            # listed, so not archived on GitHub; unless the desk's archive is still on its way there
            "archived": int(existing.archived) if existing is not None and existing.pending else 0,
            "extra": json.dumps(extra, sort_keys=True),
        }
        if existing is None:
            values.update(
                platform_id=card.platform_id,
                status=card.status,
                position=card.position,
                why_note=card.why_note,
                pending=0,
                created_at=changed_at,
                status_changed_at=changed_at,
                updated_at=stamp,
            )
            cols = ", ".join(values)
            cur = conn.execute(
                f"INSERT INTO roadmap_items ({cols}) VALUES ({', '.join('?' for _ in values)})",
                list(values.values()),
            )
            assert cur.lastrowid is not None
            changed.append(int(cur.lastrowid))
            # the first read finds the board as it is; later reads see cards added elsewhere
            add_history(
                conn,
                int(cur.lastrowid),
                "seen" if first_read else "added",
                now=now if first_read else card.updated_at,
                to_column=card.status,
                source="github",
            )
            continue
        if not existing.pending:
            values["status"] = card.status
            values["position"] = card.position
            if card.status != existing.status:
                values["status_changed_at"] = changed_at
                # moved elsewhere (github.com, another desk): GitHub's item time is when it happened
                add_history(
                    conn,
                    existing.id,
                    "moved",
                    now=card.updated_at,
                    from_column=existing.status,
                    to_column=card.status,
                    source="github",
                )
        if not existing.why_note and card.why_note:
            values["why_note"] = card.why_note
        if _differs(existing, values):
            values["updated_at"] = stamp
            assignments = ", ".join(f"{k} = ?" for k in values)
            conn.execute(
                f"UPDATE roadmap_items SET {assignments} WHERE id = ?", (*values.values(), existing.id)
            )
            changed.append(existing.id)
    # items gone from the project (archived or deleted on GitHub); the desk's unconfirmed adds stay
    for r in conn.execute(
        "SELECT id, platform_id FROM roadmap_items"
        " WHERE archived = 0 AND pending = 0 AND platform_id NOT LIKE 'local:%'"
    ).fetchall():
        if r[1] not in seen and int(r[0]) not in newer:
            conn.execute("UPDATE roadmap_items SET archived = 1, updated_at = ? WHERE id = ?", (stamp, r[0]))
            changed.append(int(r[0]))
            add_history(conn, int(r[0]), "archived", now=now, source="github")
    return changed


def _differs(row: RoadmapRow, values: dict[str, Any]) -> bool:
    current = {
        "content_id": row.content_id,
        "item_type": row.item_type,
        "number": row.number,
        "title": row.title,
        "body": row.body,
        "labels": json.dumps(row.labels),
        "assignees": json.dumps(row.assignees),
        "target_month": row.target_month,
        "votes": json.dumps(row.votes, sort_keys=True),
        "url": row.url,
        "archived": int(row.archived),
        "extra": json.dumps(row.extra, sort_keys=True),
        "status": row.status,
        "position": row.position,
        "why_note": row.why_note,
        "status_changed_at": row.status_changed_at,
    }
    return any(current.get(k) != v for k, v in values.items())


# -- the moderator's changes ----------------------------------------------------------------------------

_MOVE_COLUMNS = ("status", "position", "pending", "status_changed_at")


def position_after(conn: sqlite3.Connection, status: str, after_id: int | None, moving_id: int) -> float:
    """The position that puts a card directly below ``after_id`` in column ``status`` (None: on top)."""
    positions = [
        (int(r[0]), float(r[1]))
        for r in conn.execute(
            "SELECT id, position FROM roadmap_items WHERE archived = 0 AND status = ? AND id != ?"
            " ORDER BY position, id",
            (status, moving_id),
        )
    ]
    if not positions:
        return 0.0
    if after_id is None:
        return positions[0][1] - 1.0
    for i, (rid, pos) in enumerate(positions):
        if rid == after_id:
            if i + 1 < len(positions):
                return (pos + positions[i + 1][1]) / 2.0
            return pos + 1.0
    raise LookupError(f"card {after_id} is not in column {status!r}")


def move(
    conn: sqlite3.Connection, row_id: int, status: str, after_id: int | None, *, now: datetime
) -> outbox.Undo:
    """Put a card in ``status`` below ``after_id`` (None: top), marked pending; return the undo."""
    row = get_row(conn, row_id)
    if row is None:
        raise LookupError(f"no roadmap card {row_id}")
    undo = [outbox.snapshot(conn, "roadmap_items", row_id, _MOVE_COLUMNS)]
    position = position_after(conn, status, after_id, row_id)
    changed_at = to_db_time(now) if status != row.status else row.status_changed_at
    conn.execute(
        "UPDATE roadmap_items SET status = ?, position = ?, pending = 1, status_changed_at = ?,"
        " updated_at = ?"
        " WHERE id = ?",
        (status, position, changed_at, to_db_time(now), row_id),
    )
    _touch(conn, "id = ?", (row_id,))
    return undo


def clear_pending(conn: sqlite3.Connection, platform_id: str) -> list[int]:
    """The platform confirmed the change: the card follows GitHub again."""
    ids = [
        int(r[0]) for r in conn.execute("SELECT id FROM roadmap_items WHERE platform_id = ?", (platform_id,))
    ]
    conn.execute("UPDATE roadmap_items SET pending = 0 WHERE platform_id = ?", (platform_id,))
    _touch(conn, "platform_id = ?", (platform_id,))
    return ids


def insert_local(
    conn: sqlite3.Connection,
    *,
    key: str,
    title: str,
    body: str,
    status: str,
    item_type: str,
    labels: Sequence[str],
    origin_item: int | None,
    links: Sequence[dict[str, str]],
    now: datetime,
) -> int:
    """An optimistic card for an add that GitHub has not confirmed yet (on top of its column)."""
    top = conn.execute(
        "SELECT min(position) FROM roadmap_items WHERE archived = 0 AND status = ?", (status,)
    ).fetchone()[0]
    stamp = to_db_time(now)
    cur = conn.execute(
        "INSERT INTO roadmap_items (platform_id, item_type, title, body, status, position, labels,"
        " origin_item, extra, pending, created_at, status_changed_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
        (
            LOCAL_PREFIX + key,
            item_type,
            title,
            body,
            status,
            (float(top) - 1.0) if top is not None else 0.0,
            json.dumps(list(labels)),
            origin_item,
            json.dumps({"links": list(links)}, sort_keys=True),
            stamp,
            stamp,
            stamp,
        ),
    )
    assert cur.lastrowid is not None
    return int(cur.lastrowid)


def confirm_local(conn: sqlite3.Connection, key: str, platform_id: str, url: str = "") -> list[int]:
    """GitHub created the item of a desk add: give the local card its real id (merging if a sync got there
    first)."""
    local = get_by_platform_id(conn, LOCAL_PREFIX + key)
    if local is None:
        return []
    synced = get_by_platform_id(conn, platform_id)
    if synced is None:
        conn.execute(
            "UPDATE roadmap_items SET platform_id = ?, pending = 0,"
            " url = CASE WHEN ? != '' THEN ? ELSE url END"
            " WHERE id = ?",
            (platform_id, url, url, local.id),
        )
        _touch(conn, "id = ?", (local.id,))
        return [local.id]
    extra = dict(synced.extra)
    extra["links"] = synced.links + [x for x in local.links if x not in synced.links]
    conn.execute(
        "UPDATE roadmap_items SET origin_item = coalesce(origin_item, ?), extra = ?,"
        " why_note = CASE WHEN why_note = '' THEN ? ELSE why_note END WHERE id = ?",
        (local.origin_item, json.dumps(extra, sort_keys=True), local.why_note, synced.id),
    )
    conn.execute("DELETE FROM roadmap_items WHERE id = ?", (local.id,))
    # the desk's entries (added from the inbox, notes) follow the card; the sync's "added" was this same add
    conn.execute(
        "DELETE FROM roadmap_history WHERE card_id = ? AND source = 'github' AND kind IN ('added', 'seen')",
        (synced.id,),
    )
    conn.execute("UPDATE roadmap_history SET card_id = ? WHERE card_id = ?", (synced.id, local.id))
    _touch(conn, "id = ?", (synced.id,))
    return [local.id, synced.id]


def archive(conn: sqlite3.Connection, row_id: int, *, now: datetime) -> outbox.Undo:
    """Hide a card (optimistically), marked pending; return the undo."""
    undo = [outbox.snapshot(conn, "roadmap_items", row_id, ("archived", "pending"))]
    conn.execute(
        "UPDATE roadmap_items SET archived = 1, pending = 1, updated_at = ? WHERE id = ?",
        (to_db_time(now), row_id),
    )
    _touch(conn, "id = ?", (row_id,))
    return undo


def set_why_note(conn: sqlite3.Connection, row_id: int, note: str, *, now: datetime) -> bool:
    cur = conn.execute(
        "UPDATE roadmap_items SET why_note = ?, updated_at = ? WHERE id = ?",
        (note.strip(), to_db_time(now), row_id),
    )
    return cur.rowcount > 0


def last_update(conn: sqlite3.Connection) -> str | None:
    """When the last roadmap update was published (store time text), if ever."""
    return get_meta(conn, LAST_UPDATE_META)


def set_last_update(conn: sqlite3.Connection, when: datetime) -> None:
    set_meta(conn, LAST_UPDATE_META, to_db_time(when))


# -- history ------------------------------------------------------------------------------------------

_HISTORY_COLUMNS = "id, card_id, at, kind, from_column, to_column, detail, actor, source, state, outbox_id"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One thing that happened to a card (``kind``: added, seen, moved, why_note, archived)."""

    id: int
    card_id: int
    at: str  # store time text
    kind: str
    from_column: str = ""
    to_column: str = ""
    detail: str = ""
    actor: str = ""  # the moderator's handle for desk changes; '' when not known (changes seen on GitHub)
    source: str = "desk"  # desk | github
    state: str = "done"  # pending | done | failed
    outbox_id: int | None = None


def add_history(
    conn: sqlite3.Connection,
    card_id: int,
    kind: str,
    *,
    now: datetime,
    from_column: str = "",
    to_column: str = "",
    detail: str = "",
    actor: str = "",
    source: str = "desk",
    state: str = "done",
) -> int:
    """Record one entry of a card's history; return its id."""
    cur = conn.execute(
        "INSERT INTO roadmap_history (card_id, at, kind, from_column, to_column, detail, actor, source,"
        " state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (card_id, to_db_time(now), kind, from_column, to_column, detail, actor, source, state),
    )
    assert cur.lastrowid is not None
    return int(cur.lastrowid)


def link_history(conn: sqlite3.Connection, entry_id: int, outbox_id: int) -> None:
    """Tie a pending entry to the outbox action that carries its change to GitHub."""
    conn.execute("UPDATE roadmap_history SET outbox_id = ? WHERE id = ?", (outbox_id, entry_id))


def confirm_history(conn: sqlite3.Connection, outbox_id: int) -> None:
    """GitHub accepted the action: its entries are no longer pending."""
    conn.execute(
        "UPDATE roadmap_history SET state = 'done' WHERE outbox_id = ? AND state = 'pending'", (outbox_id,)
    )


def history_undo(entry_id: int) -> outbox.UndoEntry:
    """The undo entry that marks a desk change as failed when GitHub refuses it (or it is cancelled)."""
    return outbox.restore("roadmap_history", entry_id, {"state": "failed"})


def card_history(conn: sqlite3.Connection, card_id: int, limit: int = 200) -> list[HistoryEntry]:
    """A card's history in the order the desk learnt of it (the newest ``limit`` entries).

    Ordered by id, not time: a change seen in a sync carries GitHub's (second-precision) time, which may sort
    before what the desk recorded just earlier.
    """
    rows = conn.execute(
        f"SELECT {_HISTORY_COLUMNS} FROM roadmap_history WHERE card_id = ? ORDER BY id DESC LIMIT ?",
        (card_id, limit),
    ).fetchall()
    return [
        HistoryEntry(
            id=int(r[0]),
            card_id=int(r[1]),
            at=str(r[2]),
            kind=str(r[3]),
            from_column=str(r[4]),
            to_column=str(r[5]),
            detail=str(r[6]),
            actor=str(r[7]),
            source=str(r[8]),
            state=str(r[9]),
            outbox_id=None if r[10] is None else int(r[10]),
        )
        for r in reversed(rows)
    ]
