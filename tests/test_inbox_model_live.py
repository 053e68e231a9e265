"""New items reach the inbox list from the rows the writer read, with no query on the GUI thread.

During a burst every query the GUI thread runs costs a GIL hand-off per row returned, and with a busy thread
beside it each hand-off can wait a whole switch interval: the list must place and paint live items from the
rows that came with them (``ItemsAdded.rows``), and filter them in memory exactly as SQL would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from test_inbox_support import attached_pane, item, open_store, seed_items, stored

from atlas_desk.core.bus import ItemsAdded
from atlas_desk.core.types import Platform
from atlas_desk.store import inbox as repo
from atlas_desk.store.inbox import InboxFilter
from atlas_desk.ui.inbox.model import InboxModel, Role

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def _filters() -> list[InboxFilter]:
    """Every combination of the conditions ``matches`` must agree with SQL on (no full-text ones)."""
    found = []
    for platforms, container, unread, starred, moderation, suggestions in itertools.product(
        ((), ("discord",), ("github", "reddit")),
        (None, ("reddit", "AtlasApp"), ("discord", "AtlasApp")),
        (False, True),
        (False, True),
        (False, True),
        (False, True),
    ):
        found.append(
            InboxFilter(
                platforms=platforms,
                container=container,
                unread_only=unread,
                starred_only=starred,
                needs_moderation=moderation,
                suggestions_only=suggestions,
            )
        )
    return found


def test_matches_agrees_with_the_sql_filters(data_dir: Path) -> None:
    store = open_store(data_dir)
    try:
        ids, _changed = stored(store, seed_items())
        # some read, some starred, so every condition splits the items
        store.submit(lambda c: repo.set_read(c, ids[::2], True)).result(10)
        for starred in ids[1::3]:
            store.submit(lambda c, i=starred: repo.set_starred(c, i, True)).result(10)
        reader = store.reader()
        rows = repo.rows_by_id(reader, ids)
        assert len(rows) == len(ids)
        splits = 0
        for flt in _filters():
            in_sql = {key[1] for key in repo.window_keys(reader, flt, limit=1000)}
            in_memory = {row.id for row in rows if repo.matches(row, flt)}
            assert in_memory == in_sql, flt
            splits += 0 < len(in_sql) < len(ids)
        assert splits >= 25  # many filters really select some (the comparison is not between empty sets)
    finally:
        store.close()


class ReaderTrace:
    """Counts the statements the GUI thread's read-only connection runs."""

    def __init__(self, conn: Any) -> None:
        self.statements: list[str] = []
        self._conn = conn
        conn.set_trace_callback(self.statements.append)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.ProgrammingError):  # the store closed it already
            self._conn.set_trace_callback(None)


def test_a_live_burst_is_placed_and_painted_without_a_gui_thread_query(
    qtbot: Any, data_dir: Path, aloop: asyncio.AbstractEventLoop
) -> None:
    store = open_store(data_dir)
    stored(store, seed_items())
    pane, service, bus, model = attached_pane(qtbot, store)
    published: list[ItemsAdded] = []
    bus.subscribe(ItemsAdded, published.append)
    before = model.rowCount()
    trace = ReaderTrace(store.reader())
    try:
        # The rows on screen are read once, when first painted (which also shows the trace sees queries).
        qtbot.waitUntil(lambda: any("FROM inbox_items" in s for s in trace.statements))
        trace.statements.clear()
        burst = [item(Platform.DISCORD, f"live{i}", f"live message {i}", 100 + i) for i in range(300)]
        for start in range(0, len(burst), 100):
            aloop.run_until_complete(service.ingest(burst[start : start + 100]))
        qtbot.waitUntil(lambda: model.rowCount() == before + 300, timeout=5000)
        pane.table.viewport().repaint()  # the new top rows painted
        gui_thread_queries = list(trace.statements)
    finally:
        trace.close()
    assert gui_thread_queries == []
    assert all(len(change.rows) == len(change.ids) for change in published)
    top = [model.data(model.index(r, 0), Role.ROW) for r in range(3)]
    assert [row.platform_id for row in top] == ["live299", "live298", "live297"]
    assert top[0].body == "live message 299" and not top[0].read
    pane.shutdown()
    store.close()


def test_new_rows_outside_the_filter_stay_out_and_a_search_still_finds_new_items(
    qtbot: Any, data_dir: Path, aloop: asyncio.AbstractEventLoop
) -> None:
    store = open_store(data_dir)
    stored(store, seed_items())
    pane, service, _bus, model = attached_pane(qtbot, store, shown=False)

    model.set_filter(InboxFilter(platforms=("reddit",)))
    reddit_before = model.rowCount()
    aloop.run_until_complete(
        service.ingest(
            [item(Platform.DISCORD, "dx", "not reddit", 90), item(Platform.REDDIT, "rx", "yes", 91)]
        )
    )
    qtbot.waitUntil(lambda: model.rowCount() == reddit_before + 1)
    assert model.data(model.index(0, 0), Role.ROW).platform_id == "rx"

    model.set_filter(InboxFilter(query="zeppelin"))
    assert model.rowCount() == 0
    aloop.run_until_complete(service.ingest([item(Platform.GITHUB, "gz", "a zeppelin idea", 92)]))
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    row = model.data(model.index(0, 0), Role.ROW)
    assert row.platform_id == "gz" and row.hl_body is not None  # read through the index, highlighted
    pane.shutdown()
    store.close()


def test_edits_repaint_from_their_rows_and_a_stopped_model_never_reads(
    qtbot: Any, data_dir: Path, aloop: asyncio.AbstractEventLoop
) -> None:
    store = open_store(data_dir)
    stored(store, seed_items())
    pane, service, _bus, model = attached_pane(qtbot, store)
    trace = ReaderTrace(store.reader())
    try:
        qtbot.waitUntil(lambda: any("FROM inbox_items" in s for s in trace.statements))
        trace.statements.clear()
        changed: list[tuple[int, ...]] = []
        model.dataChanged.connect(lambda top, bottom: changed.append((top.row(), bottom.row())))
        edited = item(Platform.REDDIT, "r2", "Love the new release (edited: and the old one)", 5, score=41)
        aloop.run_until_complete(service.ingest([edited]))
        qtbot.waitUntil(lambda: bool(changed))
        row = model.data(model.index(changed[0][0], 0), Role.ROW)
        assert row.platform_id == "r2" and row.score == 41 and "(edited" in row.body
        pane.table.viewport().repaint()
        assert trace.statements == []  # the edit came with its row

        more = [item(Platform.DISCORD, f"m{i}", f"message {i}", 10 + i) for i in range(300)]
        aloop.run_until_complete(service.ingest(more))
        qtbot.waitUntil(lambda: model.rowCount() == 307)
        pane.shutdown()
        store.close()
        # Still on screen after its store closed: paints what it has, reads nothing for the rest.
        pane.table.scrollToBottom()
        pane.table.viewport().repaint()
        model.set_filter(InboxFilter(platforms=("github",)))
        assert model.rowCount() == 0 and not model.canFetchMore()
    finally:
        trace.close()


def test_search_highlights_stay_on_their_words_after_invisible_characters_are_marked(data_dir: Path) -> None:
    store = open_store(data_dir)
    try:
        stored(store, [item(Platform.DISCORD, "z1", "\u202e\u200bsync \u2066is\u2069 offline again", 1)])
        model = InboxModel(store.reader)
        model.set_filter(InboxFilter(query="offline"))
        assert model.rowCount() == 1
        snippet = model.data(model.index(0, 0), Role.SNIPPET)
        spans = model.data(model.index(0, 0), Role.SNIPPET_SPANS)
        assert "[U+202E]" in snippet and "[U+2066]" in snippet
        assert [snippet[start:end] for start, end in spans] == ["offline"]
    finally:
        store.close()


def test_the_first_items_to_arrive_are_shown_without_being_marked_read(
    qtbot: Any, data_dir: Path, aloop: asyncio.AbstractEventLoop
) -> None:
    store = open_store(data_dir)
    pane, service, _bus, _model = attached_pane(qtbot, store, shown=False)
    assert pane.reading.item is None
    aloop.run_until_complete(service.ingest(seed_items()))
    qtbot.waitUntil(lambda: pane.reading.item is not None)
    shown = pane.reading.item
    assert shown is not None and shown.platform_id == "g2"  # the newest
    assert not shown.read
    # later arrivals do not take the selection away from what the moderator is reading
    pane.move_selection(1)
    reading = pane.reading.item
    aloop.run_until_complete(service.ingest([item(Platform.REDDIT, "late", "later", 99)]))
    qtbot.waitUntil(lambda: pane.model is not None and pane.model.rowCount() == 8)
    assert pane.reading.item is not None and reading is not None
    assert pane.reading.item.platform_id == reading.platform_id
    pane.shutdown()
    store.close()
