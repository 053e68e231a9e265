"""The inbox list model: a million items cost what is on screen.

The model keeps only the sort keys of the rows it has reached — ``(created_ts, id)`` in two flat arrays,
fetched by keyset windows through ``canFetchMore``/``fetchMore`` — and the full rows of the few thousand items
around what the view paints (an LRU cache by item id, filled a page of positions at a time through the GUI
thread's read-only connection: sub-millisecond indexed queries). New items arrive through ``add_ids`` with
their rows, read by the store's writer in the transaction that stored them: the model places them from their
keys and paints them from those rows, with no query of its own, and merges them at their sorted place with
``beginInsertRows`` once per frame. A filter change is the only reset.
"""

from __future__ import annotations

import concurrent.futures
import enum
import logging
import sqlite3
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from atlas_desk.store import inbox as repo
from atlas_desk.store.inbox import InboxFilter, InboxRow
from atlas_desk.ui.text import inert, plain_tooltip

log = logging.getLogger("atlas_desk.ui")

PAGE_SIZE = 50
# Ten pages: two or three screens of rows at any size. A cached row outlives the jumps that read it, and every
# garbage collection walks each one (25 fields): at 80 pages a jump into a million rows paid 3-6 ms for a
# middle-generation pass once every ~50 jumps; at ten, under 1 ms. A row read again costs ~20 us.
MAX_PAGES = 10
MAX_ROWS = MAX_PAGES * PAGE_SIZE  # rows cached by id
# New rows that land this close to the top are cached as they arrive (the rest are read when painted).
CACHE_NEW_WITHIN = 2 * PAGE_SIZE
FIRST_CHUNK = 500
MAX_CHUNK = 25_000  # keys per fetchMore: about one frame of work at most
# With a search the windows carry whole rows with highlights: smaller, so a keystroke stays one short query.
FTS_FIRST_CHUNK = 2 * PAGE_SIZE
FTS_MAX_CHUNK = 2_000
# New ids merged per frame (the keys of 2,000 ids are read and placed in a few milliseconds).
MAX_ADDED_PER_FRAME = 2_000

Index = QModelIndex | QPersistentModelIndex


class Column(enum.IntEnum):
    PLATFORM = 0
    CONTAINER = 1
    AUTHOR = 2
    SUBJECT = 3
    AGE = 4
    VOTES = 5


HEADERS = {
    Column.PLATFORM: "",
    Column.CONTAINER: "Where",
    Column.AUTHOR: "Author",
    Column.SUBJECT: "Message",
    Column.AGE: "Age",
    Column.VOTES: "Votes",
}


class Role(enum.IntEnum):
    """Custom data roles of ``InboxModel``."""

    ITEM_ID = int(Qt.ItemDataRole.UserRole) + 1
    ROW = enum.auto()  # the InboxRow (or None while it could not be read)
    PLATFORM = enum.auto()
    READ = enum.auto()
    STARRED = enum.auto()
    REPORTED = enum.auto()
    TITLE = enum.auto()
    SNIPPET = enum.auto()
    TITLE_SPANS = enum.auto()  # ((start, end), ...) of search matches in TITLE
    SNIPPET_SPANS = enum.auto()
    CREATED_TS = enum.auto()
    SCORE = enum.auto()


def age_text(created_ts: float, now: float | None = None) -> str:
    """A short relative age: 'now', '5m', '3h', '2d', '6w', '1y'."""
    delta = max(0.0, (now if now is not None else time.time()) - created_ts)
    if delta < 60:
        return "now"
    for unit, seconds in (("y", 365 * 86400), ("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if delta >= seconds:
            return f"{int(delta // seconds)}{unit}"
    return "now"


def _subject_parts(
    row: InboxRow,
) -> tuple[str, tuple[tuple[int, int], ...], str, tuple[tuple[int, int], ...]]:
    if row.hl_title is not None or row.hl_body is not None:
        title, tspans = repo.parse_highlight(row.hl_title or "")
        snippet, sspans = repo.parse_highlight(row.hl_body or "")
        if not tspans and not sspans and row.body and not snippet:
            snippet = row.body
        return (*_inert_spans(title, tspans), *_inert_spans(snippet, sspans))
    return inert(row.title), (), inert(row.body[:300]), ()


Spans = tuple[tuple[int, int], ...]


def _inert_spans(text: str, spans: Spans) -> tuple[str, Spans]:
    """``inert(text)`` with the match ``spans`` moved to where their text ends up (markers are longer)."""
    if not spans:
        return inert(text), ()
    pieces: list[str] = []
    moved: list[tuple[int, int]] = []
    at = length = 0
    for start, end in spans:
        before, match = inert(text[at:start]), inert(text[start:end])
        pieces += (before, match)
        length += len(before)
        moved.append((length, length + len(match)))
        length += len(match)
        at = end
    pieces.append(inert(text[at:]))
    return "".join(pieces), tuple(moved)


@dataclass(frozen=True, slots=True)
class DisplayParts:
    """What the delegate paints for one row, computed once per row load (inert, one-line text)."""

    container: str
    author: str
    title: str
    title_spans: tuple[tuple[int, int], ...]
    snippet: str
    snippet_spans: tuple[tuple[int, int], ...]
    prefix: str  # flags: reported, starred
    votes: str


def display_parts(row: InboxRow) -> DisplayParts:
    title, tspans, snippet, sspans = _subject_parts(row)
    prefix = ("⚑ " if row.reported else "") + ("★ " if row.starred else "")
    return DisplayParts(
        container=inert(row.container),
        author=inert(row.author_name or row.author),
        title=title,
        title_spans=tspans,
        snippet=snippet[:400],
        snippet_spans=sspans,
        prefix=prefix,
        votes=f"▲ {row.score}" if row.score else "",
    )


class InboxModel(QAbstractTableModel):
    """Inbox rows for a filter, newest first, fetched lazily by keyset windows."""

    #: The first window of the current filter is in (the view can paint).
    window_loaded = Signal()

    def __init__(self, reader: Callable[[], sqlite3.Connection], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reader = reader
        self._filter = InboxFilter()
        self._by_id = False  # FTS filters order by id alone
        self._ts = array("d")
        self._ids = array("q")
        self._exhausted = True
        # Rows by item id, least recently used first; None: the id could not be read (deleted meanwhile).
        self._rows: OrderedDict[int, InboxRow | None] = OrderedDict()
        self._parts: dict[int, DisplayParts] = {}
        self._pending_added: list[int] = []  # new ids whose keys must be read (no rows came with them)
        self._pending_rows: list[InboxRow] = []  # new rows matching the filter, placed by their keys
        self._generation = 0
        self._stopped = False
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._prefetch: (
            tuple[int, tuple[float, int], int, concurrent.futures.Future[list[tuple[float, int]]]] | None
        ) = None
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(16)  # one frame: a burst of ItemsAdded becomes one insert
        self._flush_timer.timeout.connect(self._flush_added)

    # ------------------------------------------------------------------------------------- filter

    @property
    def filter(self) -> InboxFilter:
        return self._filter

    def set_filter(self, flt: InboxFilter) -> None:
        """Show another filter: the one reset; loads the first window at once (a sub-ms keyset query)."""
        self.beginResetModel()
        self._generation += 1
        if self._prefetch is not None:
            self._prefetch[3].cancel()
            self._prefetch = None
        self._filter = flt
        self._by_id = flt.uses_fts
        self._ts = array("d")
        self._ids = array("q")
        self._rows.clear()
        self._parts.clear()
        self._pending_added.clear()
        self._pending_rows.clear()
        self._exhausted = False
        self._fetch_keys(FTS_FIRST_CHUNK if self._by_id else FIRST_CHUNK)
        self.endResetModel()
        self.window_loaded.emit()

    def reload(self) -> None:
        """Re-read the current filter from the start."""
        self.set_filter(self._filter)

    # ------------------------------------------------------------------------------- Qt model API

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(Column)
        ):
            return HEADERS[Column(section)]
        return None

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and not self._exhausted and not self._stopped

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted:
            return
        # Grow the chunk with what is loaded, so dragging the scrollbar down a million rows takes few fetches.
        self._fetch_keys(self._next_chunk(), notify=True)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.parent().isValid():
            return None
        r = index.row()
        if not 0 <= r < len(self._ids):
            return None
        if role == Role.ITEM_ID:
            return self._ids[r]
        if role == Role.CREATED_TS:
            return self._ts[r]
        if role not in _ROW_ROLES:
            return None
        row = self.row_at(r)
        if row is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == Column.SUBJECT:
                return plain_tooltip(inert((row.title + "\n" if row.title else "") + row.body[:300]))
            if col == Column.AGE:
                return row.created_at
            return None
        if role == Qt.ItemDataRole.AccessibleTextRole:
            state = "unread" if not row.read else "read"
            return inert(
                f"{row.platform} {row.container} {row.author}: {row.title} {row.body[:120]} ({state})"
            )
        if role == Role.ROW:
            return row
        if role == Role.PLATFORM:
            return row.platform
        if role == Role.READ:
            return row.read
        if role == Role.STARRED:
            return row.starred
        if role == Role.REPORTED:
            return row.reported
        if role == Role.SCORE:
            return row.score
        title, tspans, snippet, sspans = _subject_parts(row)
        if role == Role.TITLE:
            return title
        if role == Role.SNIPPET:
            return snippet
        if role == Role.TITLE_SPANS:
            return tspans
        if role == Role.SNIPPET_SPANS:
            return sspans
        return None

    def _display(self, row: InboxRow, col: int) -> str | None:
        if col == Column.PLATFORM:
            return row.platform
        if col == Column.CONTAINER:
            return inert(row.container)
        if col == Column.AUTHOR:
            return inert(row.author_name or row.author)
        if col == Column.SUBJECT:
            title, _t, snippet, _s = _subject_parts(row)
            return f"{title} — {snippet}" if title and snippet else (title or snippet)
        if col == Column.AGE:
            return age_text(row.created_ts)
        if col == Column.VOTES:
            return str(row.score) if row.score else ""
        return None

    # ----------------------------------------------------------------------------------- lookups

    def item_id(self, row: int) -> int | None:
        """The item id shown at ``row``."""
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, item_id: int) -> int | None:
        """The row showing ``item_id`` among the loaded rows, or None."""
        row = self._rows.get(item_id)
        if row is not None:
            pos = self._position(row.created_ts, item_id)
            if pos < len(self._ids) and self._ids[pos] == item_id:
                return pos
        try:
            return self._ids.index(item_id)
        except ValueError:
            return None

    def display_parts(self, row: InboxRow) -> DisplayParts:
        """The delegate's view of a row, cached while its page is."""
        parts = self._parts.get(row.id)
        if parts is None:
            if len(self._parts) > MAX_ROWS:
                self._parts.clear()
            parts = self._parts[row.id] = display_parts(row)
        return parts

    def row_at(self, r: int) -> InboxRow | None:
        """The full row at ``r``, reading it with the page of rows below it if it is not cached."""
        item_id = self._ids[r]
        rows = self._rows
        if item_id in rows:
            rows.move_to_end(item_id)
            return rows[item_id]
        self._load_rows(r)
        return rows.get(item_id)

    # ------------------------------------------------------------------------------ live updates

    def add_ids(self, ids: Iterable[int], rows: Sequence[InboxRow] = ()) -> None:
        """New items were stored: merge those matching the filter at their place, once per frame.

        ``rows``: the new items' list rows (``ItemsAdded.rows``). With them, and a filter without full-text
        conditions, the model matches, places and paints the items without reading the store.
        """
        if self._stopped:
            return
        if rows and not self._by_id:
            flt = self._filter
            self._pending_rows.extend(row for row in rows if repo.matches(row, flt))
            known = {row.id for row in rows}
            self._pending_added.extend(i for i in ids if i not in known)
        else:
            self._pending_added.extend(ids)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        """Merge pending additions now (tests, benchmarks)."""
        self._flush_timer.stop()
        while self._pending_added or self._pending_rows:
            self._flush_added()
        self._flush_timer.stop()

    def stop(self) -> None:
        """Drop pending additions and stop reading (the store is going away); the rows read stay shown."""
        self._stopped = True
        self._exhausted = True
        self._flush_timer.stop()
        self._pending_added.clear()
        self._pending_rows.clear()
        self._prefetch = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def refresh_ids(self, ids: Iterable[int], rows: Sequence[InboxRow] = ()) -> None:
        """Items changed: update their cached rows and repaint them where they are shown (no reset).

        ``rows``: their rows after the change (``ItemsChanged.rows``), used as they are; without them (or
        under a search, whose rows carry highlights) the cached rows are dropped and read again when
        painted. Only cached rows can be on screen (painting caches them), so the others need nothing.
        """
        fresh = {row.id: row for row in rows} if not self._by_id else {}
        positions: list[int] = []
        for item_id in set(ids):
            if item_id not in self._rows:
                continue
            pos = self.row_of(item_id)
            row = fresh.get(item_id)
            if row is not None:
                self._rows[item_id] = row
            else:
                del self._rows[item_id]
            self._parts.pop(item_id, None)
            if pos is not None:
                positions.append(pos)
        if positions:
            last_col = len(Column) - 1
            self.dataChanged.emit(self.index(min(positions), 0), self.index(max(positions), last_col))

    # ---------------------------------------------------------------------------------- internals

    def _conn(self) -> sqlite3.Connection:
        return self._reader()

    def _next_chunk(self) -> int:
        # Grow the chunk with what is loaded, so dragging the scrollbar down a million rows takes few fetches.
        return max(FIRST_CHUNK, min(len(self._ids), MAX_CHUNK))

    def _fetch_keys(self, limit: int, notify: bool = False) -> None:
        if self._stopped:
            return
        before = (self._ts[-1], self._ids[-1]) if self._ids else None
        rows: list[InboxRow] = []
        keys: Sequence[tuple[float, int]] | None = self._take_prefetched(before, limit)
        try:
            if keys is not None:
                pass
            elif self._by_id:
                # A search: one FTS query brings the keys and the highlighted rows together (setting up a
                # prefix query's doclists is most of its cost; never pay it twice per keystroke).
                limit = min(limit, FTS_MAX_CHUNK)
                rows = repo.window(self._conn(), self._filter, before=before, limit=limit)
                keys = [row.key for row in rows]
            else:
                keys = repo.window_keys(self._conn(), self._filter, before=before, limit=limit)
        except sqlite3.Error:
            log.exception("reading the inbox failed")
            keys = []
        if len(keys) < limit:
            self._exhausted = True
        first = len(self._ids)
        if not keys:
            return
        if notify:
            self.beginInsertRows(QModelIndex(), first, first + len(keys) - 1)
        self._ts.extend(array("d", (k[0] for k in keys)))
        self._ids.extend(array("q", (k[1] for k in keys)))
        if rows:
            self._cache_rows(first, rows)
        if notify:
            self.endInsertRows()
        if not self._exhausted and not self._by_id:
            self._start_prefetch()

    # Reading the next keys window ahead, on a worker thread with its own read-only connection, turns the
    # GUI thread's fetchMore (scrolling to the bottom) into an append.

    def _start_prefetch(self) -> None:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="atlas-desk-keys")
        before = (self._ts[-1], self._ids[-1])
        limit = self._next_chunk()
        flt, reader = self._filter, self._reader
        future = self._executor.submit(lambda: repo.window_keys(reader(), flt, before=before, limit=limit))
        self._prefetch = (self._generation, before, limit, future)

    def _take_prefetched(
        self, before: tuple[float, int] | None, limit: int
    ) -> Sequence[tuple[float, int]] | None:
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is None:
            return None
        generation, p_before, p_limit, future = prefetch
        if (generation, p_before, p_limit) != (self._generation, before, limit):
            future.cancel()
            return None
        # Still running: waiting for it is never slower than running the same query again beside it.
        try:
            return future.result()
        except Exception:
            log.debug("prefetching inbox keys failed; reading them now", exc_info=True)
            return None

    def _cache_rows(self, first: int, rows: Sequence[InboxRow]) -> None:
        """Put rows just read (the window starting at position ``first``) into the cache."""
        cache = self._rows
        for row in rows[:MAX_ROWS]:
            cache[row.id] = row
            cache.move_to_end(row.id)
        self._trim_rows()

    def _trim_rows(self) -> None:
        cache = self._rows
        while len(cache) > MAX_ROWS:
            cache.popitem(last=False)

    def _load_rows(self, first: int) -> None:
        """Read the rows from position ``first`` on, a page of them, that are not cached yet.

        Views paint top to bottom, so the first row asked for after a jump brings the whole viewport in one
        query (a fixed page grid would often take two).
        """
        ids = [i for i in self._ids[first : first + PAGE_SIZE] if i not in self._rows]
        if not ids or self._stopped:
            return
        # With a search the page is one rowid range of the FTS index, read with the highlights.
        flt = self._filter if self._by_id else None
        try:
            conn = self._conn()
            found = {row.id: row for row in repo.rows_by_id(conn, ids, flt)}
            missing = [i for i in ids if i not in found]
            if missing and flt is not None:
                # Edited since it matched: show it without highlights rather than as a hole.
                found.update((row.id, row) for row in repo.rows_by_id(conn, missing))
        except sqlite3.Error:
            log.exception("reading inbox rows failed")
            return  # nothing cached: the next paint tries again
        cache = self._rows
        for item_id in ids:
            cache[item_id] = found.get(item_id)
        self._trim_rows()

    def _newer(self, a: tuple[float, int], b: tuple[float, int]) -> bool:
        """True if key ``a`` sorts before (is newer than) key ``b`` in the current order."""
        return a[1] > b[1] if self._by_id else a > b

    def _position(self, ts: float, item_id: int) -> int:
        """Index of the first loaded key that sorts after (is older than) the given key."""
        lo, hi = 0, len(self._ids)
        ts_arr, id_arr = self._ts, self._ids
        by_id = self._by_id
        while lo < hi:
            mid = (lo + hi) // 2
            newer = id_arr[mid] > item_id if by_id else (ts_arr[mid], id_arr[mid]) > (ts, item_id)
            if newer:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _flush_added(self) -> None:
        # At most MAX_ADDED_PER_FRAME items per frame, the rest in the next ones: a live burst of thousands
        # of messages a second must never hold the GUI thread for longer than a frame or two.
        new_rows = self._pending_rows[:MAX_ADDED_PER_FRAME]
        del self._pending_rows[:MAX_ADDED_PER_FRAME]
        ids = self._pending_added[: MAX_ADDED_PER_FRAME - len(new_rows)]
        del self._pending_added[: len(ids)]
        if self._pending_added or self._pending_rows:
            self._flush_timer.start()
        found = [row.key for row in new_rows]
        if ids:
            try:
                # Only the sort keys; the rows are read by page when painted.
                found.extend(repo.keys_by_id(self._conn(), ids, self._filter))
            except sqlite3.Error:
                log.exception("reading new inbox items failed")
        if not found:
            return
        keys = sorted(set(found), key=(lambda k: k[1]) if self._by_id else None, reverse=True)
        groups: dict[int, list[tuple[float, int]]] = {}
        if keys and self._ids and self._newer(keys[-1], (self._ts[0], self._ids[0])):
            # Live messages: all newer than the top row, one insert there (no search per key).
            keys, groups = [], {0: keys}
        for ts, item_id in keys:
            pos = self._position(ts, item_id)
            if pos < len(self._ids) and self._ids[pos] == item_id:
                continue  # already loaded by a window
            if pos == len(self._ids) and not self._exhausted:
                continue  # older than what is loaded: a later window brings it
            groups.setdefault(pos, []).append((ts, item_id))
        if not groups:
            return
        # Insert from the bottom up so earlier positions stay valid; rows keep their place and selection.
        for pos in sorted(groups, reverse=True):
            group = groups[pos]
            self.beginInsertRows(QModelIndex(), pos, pos + len(group) - 1)
            self._ts[pos:pos] = array("d", (k[0] for k in group))
            self._ids[pos:pos] = array("q", (k[1] for k in group))
            self.endInsertRows()
        # The rows that came with the items and now sit at the top are what the view paints next.
        if new_rows:
            fresh = {row.id: row for row in new_rows}
            cache = self._rows
            for item_id in self._ids[:CACHE_NEW_WITHIN]:
                row = fresh.get(item_id)
                if row is not None:
                    cache[item_id] = row
                    cache.move_to_end(item_id)
            self._trim_rows()


_ROW_ROLES = frozenset(
    {
        int(Qt.ItemDataRole.DisplayRole),
        int(Qt.ItemDataRole.ToolTipRole),
        int(Qt.ItemDataRole.AccessibleTextRole),
        *(int(r) for r in Role if r not in (Role.ITEM_ID, Role.CREATED_TS)),
    }
)


def ids_of(model: InboxModel, rows: Sequence[int]) -> list[int]:
    """The item ids at the given rows."""
    return [i for i in (model.item_id(r) for r in rows) if i is not None]
