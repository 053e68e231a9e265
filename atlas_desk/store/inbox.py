"""Inbox repository: items, their authors, filters, keyset windows, unread counts and FTS5 search.

Every function takes a ``sqlite3.Connection`` (the writer's or a reader) and does not commit: the store's
writer owns transactions. Rows come back as ``InboxRow`` whatever the connection's ``row_factory`` is.

Ordering: the inbox lists newest first by ``(created_ts DESC, id DESC)`` through the ``inbox_newest`` index.
When a filter needs the full-text index (a search query or mentions) the order is ``id DESC`` instead: ids are
assigned in arrival order, and FTS5 walks its index in rowid order, so a search never materialises and sorts
every match. Windows are always keyset (``before``), never OFFSET.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from atlas_desk.core.types import Account, InboxItem

# Private-use characters around FTS5 highlight()/snippet() matches: never HTML, never in community text.
HL_START = "\ue000"
HL_END = "\ue001"
SNIPPET_ELLIPSIS = "…"
#: How much of a body a list window carries (the reading pane loads the full item with ``get_item``).
LIST_BODY_CHARS = 400

MIN_PREFIX = 2

_TOKEN_RE = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class InboxFilter:
    """What the inbox list shows. Empty fields do not filter."""

    platforms: tuple[str, ...] = ()
    container: tuple[str, str] | None = None  # (platform, container_id)
    unread_only: bool = False
    starred_only: bool = False
    mentions: tuple[str, ...] = ()  # the moderator's handles and keywords; any of them matches
    needs_moderation: bool = False  # reported / in the mod queue
    suggestions_only: bool = False
    query: str = ""  # search text, prefix-matched through FTS5

    @property
    def uses_fts(self) -> bool:
        """True when the filter goes through the full-text index (and so orders by id)."""
        return fts_query(self.query) is not None or mentions_query(self.mentions) is not None


@dataclass(slots=True)
class InboxRow:
    """One inbox item as the views see it. ``body`` is truncated in list windows (``LIST_BODY_CHARS``)."""

    id: int
    platform: str
    platform_id: str
    kind: str
    container: str
    container_id: str
    parent_id: str
    author: str
    author_name: str
    title: str
    body: str
    url: str
    created_at: str
    created_ts: float
    edited_at: str | None
    deleted: bool
    score: int
    reported: bool
    is_suggestion: bool
    read: bool
    starred: bool
    # With FTS5 filters: title and body snippet with matches between HL_START and HL_END.
    hl_title: str | None = None
    hl_body: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[float, int]:
        return (self.created_ts, self.id)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A search result: the item id and where the matches are in its title and body snippet."""

    id: int
    title: str
    title_spans: tuple[tuple[int, int], ...]
    snippet: str
    snippet_spans: tuple[tuple[int, int], ...]


# --------------------------------------------------------------------------------------------- queries


def tokens(text: str) -> list[str]:
    """Split user text into word tokens the way unicode61 roughly does; FTS syntax characters fall away."""
    return _TOKEN_RE.findall(text)


def fts_query(text: str) -> str | None:
    """Turn what a moderator typed into a safe FTS5 prefix query, or None if it has no words.

    Every token is quoted (so ``NEAR``, ``AND``, ``"`` and ``*`` are only text) and the last one gets ``*``
    (from its second letter) so results come while the word is still being typed.
    """
    words = tokens(text)
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    # A one-letter prefix would expand to a large part of the vocabulary (slow, and useless as results):
    # prefix matching starts with the second letter.
    if len(words[-1]) >= MIN_PREFIX:
        quoted[-1] += "*"
    return " ".join(quoted)


def mentions_query(terms: Iterable[str]) -> str | None:
    """An FTS5 query matching any of the handles/keywords, each as an exact phrase."""
    phrases = []
    for term in terms:
        words = tokens(term)
        if words:
            phrases.append('"' + " ".join(words) + '"')
    if not phrases:
        return None
    return " OR ".join(phrases)


def _match_expression(flt: InboxFilter) -> str | None:
    q = fts_query(flt.query)
    m = mentions_query(flt.mentions)
    if q and m:
        return f"({q}) AND ({m})"
    return q or m


def escape_like(text: str, escape: str = "\\") -> str:
    """Escape ``%``, ``_`` and the escape character for a LIKE pattern used with ``ESCAPE '\\'``."""
    return text.replace(escape, escape * 2).replace("%", escape + "%").replace("_", escape + "_")


def parse_highlight(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Split text carrying HL_START/HL_END markers into plain text and (start, end) spans."""
    if HL_START not in marked:
        return marked.replace(HL_END, ""), ()
    parts = marked.split(HL_START)
    out = [parts[0].replace(HL_END, "")]
    pos = len(out[0])
    spans: list[tuple[int, int]] = []
    for part in parts[1:]:
        inner, _sep, rest = part.partition(HL_END)
        rest = rest.replace(HL_END, "")
        spans.append((pos, pos + len(inner)))
        out.append(inner)
        out.append(rest)
        pos += len(inner) + len(rest)
    return "".join(out), tuple(spans)


# ----------------------------------------------------------------------------------------------- rows

_COLS = (
    "i.id, i.platform, i.platform_id, i.kind, i.container, i.container_id, i.parent_id, "
    "coalesce(a.handle, ''), coalesce(a.display_name, ''), i.title, {body}, i.url, i.created_at, "
    "i.created_ts, i.edited_at, i.deleted, i.score, i.reported, i.is_suggestion, i.read, i.starred, {extra}"
)
# List windows skip ``extra`` (parsing JSON per row would cost a frame at a jump); get_item reads it.
_LIST_COLS = _COLS.format(body=f"substr(i.body, 1, {LIST_BODY_CHARS})", extra="''")
_FULL_COLS = _COLS.format(body="i.body", extra="i.extra")
_HL_COLS = (
    f", highlight(inbox_fts, 0, '{HL_START}', '{HL_END}'),"
    f" snippet(inbox_fts, 1, '{HL_START}', '{HL_END}', '{SNIPPET_ELLIPSIS}', 24)"
)


def _row(r: Sequence[Any], hl: bool = False) -> InboxRow:
    try:
        extra = json.loads(r[21]) if r[21] else {}
    except ValueError:
        extra = {}
    return InboxRow(
        id=r[0],
        platform=r[1],
        platform_id=r[2],
        kind=r[3],
        container=r[4],
        container_id=r[5],
        parent_id=r[6],
        author=r[7],
        author_name=r[8],
        title=r[9],
        body=r[10],
        url=r[11],
        created_at=r[12],
        created_ts=r[13],
        edited_at=r[14],
        deleted=bool(r[15]),
        score=r[16],
        reported=bool(r[17]),
        is_suggestion=bool(r[18]),
        read=bool(r[19]),
        starred=bool(r[20]),
        hl_title=r[22] if hl else None,
        hl_body=r[23] if hl else None,
        extra=extra if isinstance(extra, dict) else {},
    )


# --------------------------------------------------------------------------------------------- upsert

# One encoder for the ``extra`` column: the same text as ``json.dumps(extra, sort_keys=True)`` (which stored
# rows are compared against) without building an encoder per item.
_EXTRA_JSON = json.JSONEncoder(sort_keys=True)
# How many natural keys one ``IN (...)`` lookup carries (well under SQLite's variable limit).
_KEY_CHUNK = 500
# Rows per multi-row INSERT statement (18 parameters each).
_INSERT_CHUNK = 100

# Why set-based, with few statement steps: the writer thread releases the GIL around every sqlite3_step, and
# while the connectors' asyncio loop is busy each release is a GIL hand-off that costs the loop more than the
# row itself. So new rows go in with multi-row INSERTs (one step per 100 rows, FTS triggers included), and
# lookups that would return a row per item come back as one JSON aggregate (one step per chunk).


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    elif dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    return dt.isoformat()


def _ts(dt: datetime) -> float:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _extra_json(extra: dict[str, Any]) -> str:
    return _EXTRA_JSON.encode(extra) if extra else "{}"


def _lookup(conn: sqlite3.Connection, sql: str, platform: str, platform_ids: Sequence[str]) -> list[Any]:
    """Run ``sql`` (ending in ``platform_id IN ({marks})``) for the given keys of one platform, in chunks."""
    rows: list[Any] = []
    for start in range(0, len(platform_ids), _KEY_CHUNK):
        chunk = platform_ids[start : start + _KEY_CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows.extend(conn.execute(sql.format(marks=marks), (platform, *chunk)).fetchall())
    return rows


def _lookup_json(conn: sqlite3.Connection, sql: str, platform: str, platform_ids: Sequence[str]) -> list[Any]:
    """Like ``_lookup`` for a query selecting one JSON array aggregate: its elements, one step per chunk."""
    out: list[Any] = []
    for (text,) in _lookup(conn, sql, platform, platform_ids):
        if text:
            out.extend(json.loads(text))
    return out


def _by_platform(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for platform, platform_id in keys:
        out.setdefault(platform, []).append(platform_id)
    return out


def _resolve_accounts(conn: sqlite3.Connection, items: Sequence[InboxItem]) -> dict[tuple[str, str], int]:
    """Account ids of the authors of ``items``: one lookup per platform; creates or updates only what differs.

    A new account gets a new person. When an author appears several times, the last occurrence's names win.
    """
    wanted: dict[tuple[str, str], Account] = {}
    for item in items:
        acc = item.author
        wanted[(str(acc.platform), acc.platform_id)] = acc
    ids: dict[tuple[str, str], int] = {}
    for platform, platform_ids in _by_platform(wanted).items():
        for account_id, pid, handle, display_name, created_at in _lookup_json(
            conn,
            "SELECT json_group_array(json_array(id, platform_id, handle, display_name, created_at))"
            " FROM accounts WHERE platform = ? AND platform_id IN ({marks})",
            platform,
            platform_ids,
        ):
            key = (platform, pid)
            ids[key] = int(account_id)
            acc = wanted[key]
            created = _iso(acc.created_at)
            if (handle, display_name) != (acc.handle, acc.display_name) or (
                created and created != created_at
            ):
                conn.execute(
                    "UPDATE accounts SET handle = ?, display_name = ?, created_at = coalesce(?, created_at)"
                    " WHERE id = ?",
                    (acc.handle, acc.display_name, created, account_id),
                )
    missing = [key for key in wanted if key not in ids]
    if missing:
        now = datetime.now(UTC).isoformat()
        for key in missing:
            acc = wanted[key]
            person = conn.execute(
                "INSERT INTO people (display_name, created_at) VALUES (?, ?)",
                (acc.display_name or acc.handle, now),
            ).lastrowid
            account_id = conn.execute(
                "INSERT INTO accounts (person_id, platform, platform_id, handle, display_name, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (person, key[0], key[1], acc.handle, acc.display_name, _iso(acc.created_at)),
            ).lastrowid
            assert account_id is not None
            ids[key] = account_id
    return ids


# Content columns compared to decide whether an update is a change (the moderator's read/starred are not).
_CONTENT = (
    "kind, container, container_id, parent_id, account_id, url, created_at, created_ts, edited_at, "
    "deleted, score, reported, extra"
)
_ASSIGN = ", ".join(f"{c.strip()} = ?" for c in _CONTENT.split(","))
_INSERT = f"INSERT INTO inbox_items (platform, platform_id, title, body, is_suggestion, {_CONTENT}) VALUES "
_INSERT_ROW = "(" + ", ".join("?" * 18) + ")"


def _insert_sql(rows: int) -> str:
    return _INSERT + ", ".join([_INSERT_ROW] * rows)


# Only touch title/body when they changed: the FTS trigger re-indexes on any write to them.
_UPDATE_TEXT = f"UPDATE inbox_items SET title = ?, body = ?, is_suggestion = ?, {_ASSIGN} WHERE id = ?"
_UPDATE = f"UPDATE inbox_items SET is_suggestion = ?, {_ASSIGN} WHERE id = ?"


def _content(item: InboxItem, account_id: int) -> tuple[Any, ...]:
    return (
        str(item.kind),
        item.container,
        item.container_id,
        item.parent_id,
        account_id,
        item.url,
        _iso(item.created_at),
        _ts(item.created_at),
        _iso(item.edited_at),
        int(item.deleted),
        int(item.score),
        int(item.reported),
        _extra_json(item.extra),
    )


def upsert_items(
    conn: sqlite3.Connection,
    items: Sequence[InboxItem],
    *,
    before_update: Callable[[list[int]], None] | None = None,
) -> tuple[list[int], list[int]]:
    """Insert or update items by (platform, platform_id); returns (new ids, changed ids).

    Creates or updates each author's account (and a person for a new account). Keeps the moderator's
    read/starred state and a local suggestion mark. An item whose content is unchanged is not reported.
    Sets each item's ``id``. ``before_update`` is called with the ids of the items that already exist, before
    any row is written (incremental counts read their old state there).

    Set-based: one lookup per platform for the authors and one for the items, multi-row INSERTs for the new
    rows and one ``executemany`` per kind of update, so a large batch costs little more Python than its SQL.
    """
    if not items:
        if before_update is not None:
            before_update([])
        return [], []
    accounts = _resolve_accounts(conn, items)
    # The first occurrence of each key goes in the set-based pass; repeats (an edit right behind its
    # message in the same batch) are applied after it, in order, as updates.
    first: dict[tuple[str, str], InboxItem] = {}
    repeats: list[InboxItem] = []
    for item in items:
        key = (str(item.platform), item.platform_id)
        if key in first:
            repeats.append(item)
        else:
            first[key] = item
    found: dict[tuple[str, str], Any] = {}
    for platform, platform_ids in _by_platform(first).items():
        for row in _lookup(
            conn,
            f"SELECT platform_id, id, title, body, is_suggestion, {_CONTENT} FROM inbox_items"
            " WHERE platform = ? AND platform_id IN ({marks})",
            platform,
            platform_ids,
        ):
            found[(platform, row[0])] = row
    if before_update is not None:
        before_update([int(row[1]) for row in found.values()])

    inserts: list[tuple[Any, ...]] = []
    fresh: list[InboxItem] = []
    text_updates: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    changed_ids: list[int] = []
    new_ids: list[int] = []
    for key, item in first.items():
        content = _content(item, accounts[(str(item.author.platform), item.author.platform_id)])
        row = found.get(key)
        if row is None:
            inserts.append((key[0], key[1], item.title, item.body, int(item.is_suggestion), *content))
            fresh.append(item)
            continue
        item.id = int(row[1])
        change = _change(row, item, content)
        if change is not None:
            (text_updates if change[0] else updates).append(change[1])
            changed_ids.append(item.id)
    if inserts:
        for start in range(0, len(inserts), _INSERT_CHUNK):
            chunk = inserts[start : start + _INSERT_CHUNK]
            conn.execute(_insert_sql(len(chunk)), [value for row in chunk for value in row])
        ids: dict[tuple[str, str], int] = {}
        for platform, platform_ids in _by_platform((str(i.platform), i.platform_id) for i in fresh).items():
            for pid, item_id in _lookup_json(
                conn,
                "SELECT json_group_array(json_array(platform_id, id)) FROM inbox_items"
                " WHERE platform = ? AND platform_id IN ({marks})",
                platform,
                platform_ids,
            ):
                ids[(platform, pid)] = int(item_id)
        for item in fresh:
            item.id = ids[(str(item.platform), item.platform_id)]
            new_ids.append(item.id)
    if text_updates:
        conn.executemany(_UPDATE_TEXT, text_updates)
    if updates:
        conn.executemany(_UPDATE, updates)
    for item in repeats:
        item_id = _update_one(conn, item, accounts)
        if item_id is not None and item_id not in changed_ids:
            changed_ids.append(item_id)
    return new_ids, changed_ids


def _change(row: Any, item: InboxItem, content: tuple[Any, ...]) -> tuple[bool, tuple[Any, ...]] | None:
    """The UPDATE parameters that bring a stored row (id, title, body, is_suggestion, content...) to
    ``item``, and whether its text changed; None if nothing did."""
    text_changed = (row[2], row[3]) != (item.title, item.body)
    # A platform's suggestion flag adds to the moderator's own mark, never clears it.
    suggestion = int(bool(row[4]) or item.is_suggestion)
    if not text_changed and tuple(row[5:]) == content and suggestion == row[4]:
        return None
    if text_changed:
        return True, (item.title, item.body, suggestion, *content, row[1])
    return False, (suggestion, *content, row[1])


def _update_one(
    conn: sqlite3.Connection, item: InboxItem, accounts: dict[tuple[str, str], int]
) -> int | None:
    """Apply a repeated item of a batch to its (now stored) row; the row's id if that changed it."""
    row = conn.execute(
        f"SELECT platform_id, id, title, body, is_suggestion, {_CONTENT} FROM inbox_items"
        " WHERE platform = ? AND platform_id = ?",
        (str(item.platform), item.platform_id),
    ).fetchone()
    item.id = int(row[1])
    change = _change(
        row, item, _content(item, accounts[(str(item.author.platform), item.author.platform_id)])
    )
    if change is None:
        return None
    conn.execute(_UPDATE_TEXT if change[0] else _UPDATE, change[1])
    return item.id


# -------------------------------------------------------------------------------------------- windows


def _where(flt: InboxFilter) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if flt.platforms:
        clauses.append(f"i.platform IN ({', '.join('?' * len(flt.platforms))})")
        params.extend(flt.platforms)
    if flt.container is not None:
        clauses.append("i.platform = ? AND i.container_id = ?")
        params.extend(flt.container)
    if flt.unread_only:
        clauses.append("i.read = 0")
    if flt.starred_only:
        clauses.append("i.starred = 1")
    if flt.needs_moderation:
        clauses.append("i.reported = 1")
    if flt.suggestions_only:
        clauses.append("i.is_suggestion = 1")
    return clauses, params


def matches(row: InboxRow, flt: InboxFilter) -> bool:
    """Whether ``row`` passes ``flt``'s conditions as ``_where`` puts them in SQL (the full-text part, a query
    or mentions, is not checked here: a filter that ``uses_fts`` needs the index)."""
    if flt.platforms and row.platform not in flt.platforms:
        return False
    if flt.container is not None and (row.platform, row.container_id) != tuple(flt.container):
        return False
    if flt.unread_only and row.read:
        return False
    if flt.starred_only and not row.starred:
        return False
    if flt.needs_moderation and not row.reported:
        return False
    return not flt.suggestions_only or row.is_suggestion


def _order_index(flt: InboxFilter) -> str:
    # The planner sometimes prefers a filter's index and then sorts everything; the newest-first index makes
    # every window a short walk. A container filter has its own index in the same order.
    return "" if flt.container is not None else "INDEXED BY inbox_newest"


def window(
    conn: sqlite3.Connection,
    flt: InboxFilter,
    *,
    before: tuple[float, int] | None = None,
    limit: int = 100,
) -> list[InboxRow]:
    """The next ``limit`` rows matching ``flt`` after the keyset position ``before`` (exclusive).

    Without FTS the order is (created_ts DESC, id DESC); with a query or mentions it is id DESC and only
    ``before[1]`` counts. Pass the last row's ``key`` to get the following window.
    """
    clauses, params = _where(flt)
    match = _match_expression(flt)
    if match is not None:
        if before is not None:
            clauses.append("inbox_fts.rowid < ?")
            params.append(before[1])
        where = "".join(f" AND {c}" for c in clauses)
        # CROSS JOIN keeps the FTS table outermost, so rows come in index (rowid) order and LIMIT stops early.
        sql = (
            f"SELECT {_LIST_COLS}{_HL_COLS} FROM inbox_fts"
            " CROSS JOIN inbox_items AS i ON i.id = inbox_fts.rowid"
            f" LEFT JOIN accounts AS a ON a.id = i.account_id"
            f" WHERE inbox_fts MATCH ?{where} ORDER BY inbox_fts.rowid DESC LIMIT ?"
        )
        rows = conn.execute(sql, (match, *params, limit)).fetchall()
        return [_row(r, hl=True) for r in rows]
    if before is not None:
        # A row value, so SQLite seeks the index to the position instead of scanning down to it.
        clauses.append("(i.created_ts, i.id) < (?, ?)")
        params.extend((before[0], before[1]))
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = (
        f"SELECT {_LIST_COLS} FROM inbox_items AS i {_order_index(flt)}"
        f" LEFT JOIN accounts AS a ON a.id = i.account_id{where}"
        " ORDER BY i.created_ts DESC, i.id DESC LIMIT ?"
    )
    return [_row(r) for r in conn.execute(sql, (*params, limit)).fetchall()]


def window_keys(
    conn: sqlite3.Connection,
    flt: InboxFilter,
    *,
    before: tuple[float, int] | None = None,
    limit: int = 1000,
) -> list[tuple[float, int]]:
    """Like ``window`` but only the (created_ts, id) keys: the index alone answers it when nothing filters."""
    clauses, params = _where(flt)
    match = _match_expression(flt)
    if match is not None:
        if before is not None:
            clauses.append("inbox_fts.rowid < ?")
            params.append(before[1])
        where = "".join(f" AND {c}" for c in clauses)
        sql = (
            "SELECT i.created_ts, i.id FROM inbox_fts CROSS JOIN inbox_items AS i ON i.id = inbox_fts.rowid"
            f" WHERE inbox_fts MATCH ?{where} ORDER BY inbox_fts.rowid DESC LIMIT ?"
        )
        return conn.execute(sql, (match, *params, limit)).fetchall()
    if before is not None:
        # A row value, so SQLite seeks the index to the position instead of scanning down to it.
        clauses.append("(i.created_ts, i.id) < (?, ?)")
        params.extend((before[0], before[1]))
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    sql = (
        f"SELECT i.created_ts, i.id FROM inbox_items AS i {_order_index(flt)}{where}"
        " ORDER BY i.created_ts DESC, i.id DESC LIMIT ?"
    )
    return conn.execute(sql, (*params, limit)).fetchall()


def rows_by_id(
    conn: sqlite3.Connection, ids: Sequence[int], flt: InboxFilter | None = None
) -> list[InboxRow]:
    """List rows of the given ids (any order); with ``flt`` only those matching it (and highlighted).

    With a full-text filter the ids are looked up as one rowid range of the FTS index (``rowid IN (...)``
    would re-run a prefix query once per id), then narrowed to the ids asked for.
    """
    if not ids:
        return []
    out: list[InboxRow] = []
    match = _match_expression(flt) if flt is not None else None
    clauses, params = _where(flt) if flt is not None else ([], [])
    where = "".join(f" AND {c}" for c in clauses)
    if match is not None:
        wanted = set(ids)
        sql = (
            f"SELECT {_LIST_COLS}{_HL_COLS} FROM inbox_fts CROSS JOIN inbox_items AS i"
            f" ON i.id = inbox_fts.rowid LEFT JOIN accounts AS a ON a.id = i.account_id"
            f" WHERE inbox_fts MATCH ? AND inbox_fts.rowid BETWEEN ? AND ?{where}"
        )
        for r in conn.execute(sql, (match, min(ids), max(ids), *params)):
            if r[0] in wanted:
                out.append(_row(r, hl=True))
        return out
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        sql = (
            f"SELECT {_LIST_COLS} FROM inbox_items AS i LEFT JOIN accounts AS a ON a.id = i.account_id"
            f" WHERE i.id IN ({marks}){where}"
        )
        out.extend(_row(r) for r in conn.execute(sql, (*chunk, *params)))
    return out


def keys_by_id(
    conn: sqlite3.Connection, ids: Sequence[int], flt: InboxFilter | None = None
) -> list[tuple[float, int]]:
    """The (created_ts, id) keys of the given ids (any order); with ``flt`` only those matching it.

    What the list model needs to place new items: no row is built, so a burst of thousands of new ids costs
    the GUI thread a few indexed lookups. Full-text filters go through one rowid range of the FTS index.
    """
    if not ids:
        return []
    match = _match_expression(flt) if flt is not None else None
    clauses, params = _where(flt) if flt is not None else ([], [])
    where = "".join(f" AND {c}" for c in clauses)
    if match is not None:
        wanted = set(ids)
        sql = (
            "SELECT i.created_ts, i.id FROM inbox_fts CROSS JOIN inbox_items AS i ON i.id = inbox_fts.rowid"
            f" WHERE inbox_fts MATCH ? AND inbox_fts.rowid BETWEEN ? AND ?{where}"
        )
        return [
            (r[0], r[1]) for r in conn.execute(sql, (match, min(ids), max(ids), *params)) if r[1] in wanted
        ]
    out: list[tuple[float, int]] = []
    for start in range(0, len(ids), _KEY_CHUNK):
        chunk = list(ids[start : start + _KEY_CHUNK])
        marks = ", ".join("?" * len(chunk))
        sql = f"SELECT i.created_ts, i.id FROM inbox_items AS i WHERE i.id IN ({marks}){where}"
        out.extend((r[0], r[1]) for r in conn.execute(sql, (*chunk, *params)))
    return out


def count(conn: sqlite3.Connection, flt: InboxFilter) -> int:
    """How many items match. A full scan at scale for broad filters: call it off the GUI thread."""
    clauses, params = _where(flt)
    match = _match_expression(flt)
    where = "".join(f" AND {c}" for c in clauses)
    if match is not None:
        sql = (
            "SELECT count(*) FROM inbox_fts CROSS JOIN inbox_items AS i ON i.id = inbox_fts.rowid"
            f" WHERE inbox_fts MATCH ?{where}"
        )
        return int(conn.execute(sql, (match, *params)).fetchone()[0])
    sql = "SELECT count(*) FROM inbox_items AS i WHERE 1" + where
    return int(conn.execute(sql, params).fetchone()[0])


# ------------------------------------------------------------------------------------- unread counts

ALL = "all"
UNREAD = "unread"
MENTIONS = "mentions"
MODERATION = "moderation"
SUGGESTIONS = "suggestions"
STARRED = "starred"


def platform_key(platform: str) -> str:
    return f"platform:{platform}"


def container_key(platform: str, container_id: str) -> str:
    return f"container:{platform}:{container_id}"


def bucket_keys(
    platform: str, container_id: str, *, reported: bool, suggestion: bool, starred: bool, mention: bool
) -> list[str]:
    """The unread-count keys one unread item contributes to."""
    keys = [ALL, UNREAD, platform_key(platform), container_key(platform, container_id)]
    if reported:
        keys.append(MODERATION)
    if suggestion:
        keys.append(SUGGESTIONS)
    if starred:
        keys.append(STARRED)
    if mention:
        keys.append(MENTIONS)
    return keys


def unread_counts(conn: sqlite3.Connection, mentions: Sequence[str] = ()) -> dict[str, int]:
    """Unread items per sidebar filter (keys above). One scan of the unread items: keep it incrementally."""
    counts: dict[str, int] = {ALL: 0, UNREAD: 0, MENTIONS: 0, MODERATION: 0, SUGGESTIONS: 0, STARRED: 0}
    rows = conn.execute(
        "SELECT platform, container_id, sum(reported), sum(is_suggestion), sum(starred), count(*)"
        " FROM inbox_items WHERE read = 0 GROUP BY platform, container_id"
    ).fetchall()
    for platform, container_id, reported, suggestions, starred, n in rows:
        counts[ALL] += n
        counts[UNREAD] += n
        counts[MODERATION] += reported
        counts[SUGGESTIONS] += suggestions
        counts[STARRED] += starred
        counts[platform_key(platform)] = counts.get(platform_key(platform), 0) + n
        counts[container_key(platform, container_id)] = n
    match = mentions_query(mentions)
    if match is not None:
        counts[MENTIONS] = int(
            conn.execute(
                "SELECT count(*) FROM inbox_fts CROSS JOIN inbox_items AS i ON i.id = inbox_fts.rowid"
                " WHERE inbox_fts MATCH ? AND i.read = 0",
                (match,),
            ).fetchone()[0]
        )
    return counts


def unread_buckets(
    conn: sqlite3.Connection, ids: Sequence[int], mentions: Sequence[str] = ()
) -> list[list[str]]:
    """For each given id that is unread, the count keys it contributes to (used for incremental counts).

    Repeated ids count once. Mentions are matched over rowid ranges of the full-text index: ``rowid IN (...)``
    would run the query once per id, a range (new items are consecutive) runs it once.
    """
    if not ids:
        return []
    unique = sorted(set(ids))
    rows: list[Any] = []
    for start in range(0, len(unique), _KEY_CHUNK):
        chunk = unique[start : start + _KEY_CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows.extend(
            conn.execute(
                f"SELECT id, platform, container_id, reported, is_suggestion, starred FROM inbox_items"
                f" WHERE read = 0 AND id IN ({marks})",
                chunk,
            ).fetchall()
        )
    mentioned: set[int] = set()
    match = mentions_query(mentions)
    if match is not None and rows:
        unread = sorted(int(r[0]) for r in rows)
        wanted = set(unread)
        for low, high in _id_ranges(unread):
            mentioned.update(
                r[0]
                for r in conn.execute(
                    "SELECT rowid FROM inbox_fts WHERE inbox_fts MATCH ? AND rowid BETWEEN ? AND ?",
                    (match, low, high),
                )
                if r[0] in wanted
            )
    return [
        bucket_keys(
            r[1],
            r[2],
            reported=bool(r[3]),
            suggestion=bool(r[4]),
            starred=bool(r[5]),
            mention=r[0] in mentioned,
        )
        for r in rows
    ]


def unread_key_counts(
    conn: sqlite3.Connection, ids: Sequence[int], mentions: Sequence[str] = ()
) -> Counter[str]:
    """How many of the given items (those unread) count under each unread-count key; repeated ids count once.

    The same totals as summing ``unread_buckets``, aggregated in SQL: a few result rows (one per container)
    instead of one per item, which keeps the writer's statement steps, and so its GIL hand-offs, few.
    """
    counts: Counter[str] = Counter()
    if not ids:
        return counts
    unique = sorted(set(ids))
    for start in range(0, len(unique), _KEY_CHUNK):
        chunk = unique[start : start + _KEY_CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows = conn.execute(
            "SELECT platform, container_id, sum(reported), sum(is_suggestion), sum(starred), count(*)"
            f" FROM inbox_items WHERE read = 0 AND id IN ({marks}) GROUP BY platform, container_id",
            chunk,
        ).fetchall()
        for platform, container_id, reported, suggestions, starred, n in rows:
            counts[ALL] += n
            counts[UNREAD] += n
            counts[platform_key(platform)] += n
            counts[container_key(platform, container_id)] += n
            counts[MODERATION] += reported
            counts[SUGGESTIONS] += suggestions
            counts[STARRED] += starred
        match = mentions_query(mentions)
        if match is not None:
            for low, high in _id_ranges(chunk):
                counts[MENTIONS] += conn.execute(
                    "SELECT count(*) FROM inbox_fts CROSS JOIN inbox_items AS i ON i.id = inbox_fts.rowid"
                    f" WHERE inbox_fts MATCH ? AND inbox_fts.rowid BETWEEN ? AND ? AND i.read = 0"
                    f" AND i.id IN ({marks})",
                    (match, low, high, *chunk),
                ).fetchone()[0]
    return +counts  # without zero entries, like summing unread_buckets


#: Ids further apart than this start a new range in ``unread_buckets``' mention lookups.
_RANGE_GAP = 64


def _id_ranges(ids: Sequence[int]) -> list[tuple[int, int]]:
    """(low, high) ranges covering sorted ``ids``, split where neighbours are more than _RANGE_GAP apart."""
    ranges: list[tuple[int, int]] = []
    low = high = ids[0]
    for i in ids[1:]:
        if i - high > _RANGE_GAP:
            ranges.append((low, high))
            low = i
        high = i
    ranges.append((low, high))
    return ranges


def containers(conn: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """Every (platform, container_id, container name) seen, for the filters sidebar."""
    pairs = conn.execute("SELECT DISTINCT platform, container_id FROM inbox_items ORDER BY 1, 2").fetchall()
    out = []
    for platform, container_id in pairs:
        name = conn.execute(
            "SELECT container FROM inbox_items WHERE platform = ? AND container_id = ?"
            " ORDER BY created_ts DESC LIMIT 1",
            (platform, container_id),
        ).fetchone()
        out.append((platform, container_id, name[0] if name else container_id))
    return out


# ---------------------------------------------------------------------------------- single items


def get_item(conn: sqlite3.Connection, item_id: int) -> InboxRow | None:
    """The full item (whole body), or None."""
    r = conn.execute(
        f"SELECT {_FULL_COLS} FROM inbox_items AS i LEFT JOIN accounts AS a ON a.id = i.account_id"
        " WHERE i.id = ?",
        (item_id,),
    ).fetchone()
    return _row(r) if r is not None else None


_ROOT_KINDS = ("issue", "discussion", "post")


def context(conn: sqlite3.Connection, item_id: int, limit: int = 20) -> list[InboxRow]:
    """The conversation around an item, oldest first, including the item itself.

    A thread reply or comment: the thread's root and its other replies around it. A discussion, issue or
    post: itself and its comments. A channel message: the messages before and after it in the channel.
    """
    item = get_item(conn, item_id)
    if item is None:
        return []
    base = f"SELECT {_LIST_COLS} FROM inbox_items AS i LEFT JOIN accounts AS a ON a.id = i.account_id WHERE "
    half = max(1, limit // 2)
    if item.parent_id or item.kind in _ROOT_KINDS:
        root = item.parent_id or item.platform_id
        roots = [
            _row(r)
            for r in conn.execute(base + "i.platform = ? AND i.platform_id = ?", (item.platform, root))
        ]
        scope = "i.platform = ? AND i.parent_id = ?"
        scope_params: tuple[Any, ...] = (item.platform, root)
    else:
        roots = []
        scope = "i.platform = ? AND i.container_id = ? AND i.parent_id = ''"
        scope_params = (item.platform, item.container_id)
    if item.parent_id:
        older = conn.execute(
            base + scope + " AND (i.created_ts, i.id) < (?, ?) ORDER BY i.created_ts DESC, i.id DESC LIMIT ?",
            (*scope_params, item.created_ts, item.id, half),
        ).fetchall()
        newer = conn.execute(
            base + scope + " AND (i.created_ts, i.id) > (?, ?) ORDER BY i.created_ts, i.id LIMIT ?",
            (*scope_params, item.created_ts, item.id, half),
        ).fetchall()
        around = [_row(r) for r in reversed(older)] + [item] + [_row(r) for r in newer]
        return [r for r in roots if r.id != item.id] + around
    if item.kind in _ROOT_KINDS:
        comments = conn.execute(
            base + scope + " ORDER BY i.created_ts, i.id LIMIT ?", (*scope_params, limit)
        ).fetchall()
        return [item] + [_row(r) for r in comments]
    older = conn.execute(
        base + scope + " AND (i.created_ts, i.id) < (?, ?) ORDER BY i.created_ts DESC, i.id DESC LIMIT ?",
        (*scope_params, item.created_ts, item.id, half),
    ).fetchall()
    newer = conn.execute(
        base + scope + " AND (i.created_ts, i.id) > (?, ?) ORDER BY i.created_ts, i.id LIMIT ?",
        (*scope_params, item.created_ts, item.id, half),
    ).fetchall()
    return [_row(r) for r in reversed(older)] + [item] + [_row(r) for r in newer]


# --------------------------------------------------------------------------------- the moderator's state


def set_read(conn: sqlite3.Connection, ids: Sequence[int], read: bool) -> list[int]:
    """Set read state; returns the ids whose state actually changed."""
    changed: list[int] = []
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" * len(chunk))
        changed.extend(
            r[0]
            for r in conn.execute(
                f"SELECT id FROM inbox_items WHERE read = ? AND id IN ({marks})", (int(not read), *chunk)
            )
        )
        conn.execute(f"UPDATE inbox_items SET read = ? WHERE id IN ({marks})", (int(read), *chunk))
    return changed


def set_starred(conn: sqlite3.Connection, item_id: int, starred: bool) -> bool:
    """Star or unstar; returns True if the state changed."""
    cur = conn.execute(
        "UPDATE inbox_items SET starred = ? WHERE id = ? AND starred != ?",
        (int(starred), item_id, int(starred)),
    )
    return cur.rowcount > 0


def mark_suggestion(conn: sqlite3.Connection, ids: Sequence[int], suggestion: bool = True) -> list[int]:
    """Mark items as suggestions (or not); returns the ids that changed."""
    changed: list[int] = []
    for item_id in ids:
        cur = conn.execute(
            "UPDATE inbox_items SET is_suggestion = ? WHERE id = ? AND is_suggestion != ?",
            (int(suggestion), item_id, int(suggestion)),
        )
        if cur.rowcount > 0:
            changed.append(item_id)
    return changed


def set_reported(conn: sqlite3.Connection, item_id: int, reported: bool) -> bool:
    """Set or clear the reported flag (optimistic approve/remove); returns True if it changed."""
    cur = conn.execute(
        "UPDATE inbox_items SET reported = ? WHERE id = ? AND reported != ?",
        (int(reported), item_id, int(reported)),
    )
    return cur.rowcount > 0


# ------------------------------------------------------------------------------------------- search


def search(conn: sqlite3.Connection, text: str, limit: int = 200) -> list[SearchHit]:
    """Prefix-match ``text`` in titles and bodies; newest (by arrival) first, with match spans."""
    match = fts_query(text)
    if match is None:
        return []
    rows = conn.execute(
        f"SELECT rowid, highlight(inbox_fts, 0, '{HL_START}', '{HL_END}'),"
        f" snippet(inbox_fts, 1, '{HL_START}', '{HL_END}', '{SNIPPET_ELLIPSIS}', 24)"
        " FROM inbox_fts WHERE inbox_fts MATCH ? ORDER BY rowid DESC LIMIT ?",
        (match, limit),
    ).fetchall()
    hits = []
    for rowid, title, snippet in rows:
        t, ts = parse_highlight(title or "")
        s, ss = parse_highlight(snippet or "")
        hits.append(SearchHit(rowid, t, ts, s, ss))
    return hits


def search_ids(conn: sqlite3.Connection, text: str, limit: int = 200) -> list[int]:
    """Just the ids of ``search`` (no highlighting)."""
    match = fts_query(text)
    if match is None:
        return []
    return [
        r[0]
        for r in conn.execute(
            "SELECT rowid FROM inbox_fts WHERE inbox_fts MATCH ? ORDER BY rowid DESC LIMIT ?", (match, limit)
        )
    ]
