"""The inbox pane, model and reading pane under pytest-qt."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QKeySequence, QTextCharFormat
from PySide6.QtWidgets import QMessageBox
from test_inbox_support import item, open_store, seed_items, stored

from atlas_desk.core.bus import ChangeBus
from atlas_desk.core.inbox import InboxService
from atlas_desk.core.types import InboxItem, Platform
from atlas_desk.store.db import Store
from atlas_desk.ui.bridge import QtBus
from atlas_desk.ui.inbox.model import Column, InboxModel, Role
from atlas_desk.ui.inbox.pane import EMPTY_HEADLINE, InboxPane
from atlas_desk.ui.panes import PaneContext

# The offscreen platform warns that it cannot propagate size hints when a window is shown.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

HOSTILE = (
    '<img src=x><a href="http://evil">x</a><script>alert(1)</script> see [the docs](https://docs.example/x)'
)


class Desk(SimpleNamespace):
    store: Store
    service: InboxService
    bus: ChangeBus
    pane: InboxPane


def _desk(
    qtbot: Any,
    data_dir: Path,
    seed: bool = True,
    *,
    mentions: tuple[str, ...] = ("maya_k",),
    settings: Any = None,
    extra: Sequence[InboxItem] = (),
) -> Desk:
    store = open_store(data_dir)
    if seed:
        stored(store, [*seed_items(), *extra])
    bus = ChangeBus()
    service = InboxService(store, bus, mentions=mentions)
    pane = InboxPane()
    qtbot.addWidget(pane)
    runtime = SimpleNamespace(store=store, inbox=service, settings=settings)
    pane.attach(PaneContext(bus=QtBus(bus, pane), runtime=runtime, open_settings=lambda _p: None))
    pane.resize(1300, 700)
    pane.show()
    qtbot.waitExposed(pane)
    pane.activateWindow()
    pane.table.setFocus()
    return Desk(store=store, service=service, bus=bus, pane=pane)


@pytest.fixture
def desk(qtbot: Any, data_dir: Path) -> Iterator[Desk]:
    d = _desk(qtbot, data_dir)
    yield d
    d.pane.shutdown()
    d.store.close()


def pids(desk: Desk) -> list[str]:
    model = desk.pane.model
    assert model is not None
    return [model.data(model.index(r, 0), Role.ROW).platform_id for r in range(model.rowCount())]


def item_id(desk: Desk, pid: str) -> int:
    found = desk.store.reader().execute("SELECT id FROM inbox_items WHERE platform_id = ?", (pid,)).fetchone()
    assert found is not None, pid
    return int(found[0])


def current_pid(desk: Desk) -> str:
    row = desk.pane.reading.item
    assert row is not None
    return row.platform_id


def test_model_passes_qtmodeltester(qtmodeltester: Any, data_dir: Path) -> None:
    store = open_store(data_dir)
    try:
        stored(
            store, seed_items() + [item(Platform.DISCORD, f"x{i}", f"bulk {i}", 100 + i) for i in range(1200)]
        )
        model = InboxModel(store.reader)
        model.set_filter(model.filter)
        assert model.canFetchMore()
        qtmodeltester.check(model)
        while model.canFetchMore():
            model.fetchMore()
        assert model.rowCount() == 1207
    finally:
        store.close()


def test_pane_lists_newest_first_and_jk_move(desk: Desk, qtbot: Any) -> None:
    assert pids(desk) == ["g2", "d3", "r2", "r1", "g1", "d2", "d1"]
    qtbot.waitUntil(lambda: desk.pane.reading.item is not None)
    assert current_pid(desk) == "g2"
    qtbot.keyClick(desk.pane.table, Qt.Key.Key_J)
    assert current_pid(desk) == "d3"
    qtbot.keyClick(desk.pane.table, Qt.Key.Key_J)
    assert current_pid(desk) == "r2"
    qtbot.keyClick(desk.pane.table, Qt.Key.Key_K)
    assert current_pid(desk) == "d3"
    assert "(J)" in desk.pane.act_next.toolTip() and "(E)" in desk.pane.act_read_next.toolTip()


def test_e_marks_read_moves_on_and_the_tab_count_drops(desk: Desk, qtbot: Any) -> None:
    qtbot.waitUntil(lambda: desk.pane.unread_count == 7)
    assert desk.pane.tab_title() == "Inbox (7)"
    with qtbot.waitSignal(desk.pane.unread_count_changed, timeout=5000) as blocker:
        qtbot.keyClick(desk.pane.table, Qt.Key.Key_E)
    assert blocker.args == [6]
    assert desk.pane.tab_title() == "Inbox (6)"
    assert current_pid(desk) == "d3"
    model = desk.pane.model
    assert model is not None
    qtbot.waitUntil(lambda: model.data(model.index(0, 0), Role.READ) is True)
    assert model.data(model.index(1, 0), Role.READ) is False


def test_s_stars(desk: Desk, qtbot: Any) -> None:
    model = desk.pane.model
    assert model is not None
    assert model.data(model.index(0, 0), Role.STARRED) is False
    qtbot.keyClick(desk.pane.table, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: model.data(model.index(0, 0), Role.STARRED) is True)
    qtbot.keyClick(desk.pane.table, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: model.data(model.index(0, 0), Role.STARRED) is False)


def test_typing_in_search_filters_and_highlights(desk: Desk, qtbot: Any) -> None:
    qtbot.keyClick(desk.pane.table, Qt.Key.Key_Slash)
    assert desk.pane.search.hasFocus()
    qtbot.keyClicks(desk.pane.search, "offl")
    qtbot.waitUntil(lambda: pids(desk) == ["d3", "d1"])
    model = desk.pane.model
    assert model is not None
    snippet = model.data(model.index(0, Column.SUBJECT), Role.SNIPPET)
    spans = model.data(model.index(0, Column.SUBJECT), Role.SNIPPET_SPANS)
    assert [snippet[a:b] for a, b in spans] == ["offline"]
    desk.pane.search.clear()
    qtbot.waitUntil(lambda: len(pids(desk)) == 7)


def test_new_items_are_inserted_at_the_top_without_reset(
    desk: Desk, qtbot: Any, aloop: asyncio.AbstractEventLoop
) -> None:
    model = desk.pane.model
    assert model is not None
    resets: list[int] = []
    model.modelAboutToBeReset.connect(lambda: resets.append(1))
    aloop.run_until_complete(
        desk.service.ingest(
            [item(Platform.REDDIT, "new1", "fresh", 60), item(Platform.DISCORD, "old1", "late backfill", 0)]
        )
    )
    qtbot.waitUntil(lambda: model.rowCount() == 9)
    assert pids(desk)[0] == "new1" and pids(desk)[-1] == "old1"
    assert resets == []


def _document_formats(desk: Desk) -> tuple[list[str], int]:
    doc = desk.pane.reading.browser.document()
    anchors: list[str] = []
    images = 0
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt: QTextCharFormat = it.fragment().charFormat()
            if fmt.isImageFormat():
                images += 1
            if fmt.isAnchor() and fmt.anchorHref():
                anchors.append(fmt.anchorHref())
            it += 1
        block = block.next()
    return sorted(set(anchors)), images


def test_reading_pane_shows_markup_as_text(desk: Desk, qtbot: Any, aloop: asyncio.AbstractEventLoop) -> None:
    aloop.run_until_complete(desk.service.ingest([item(Platform.DISCORD, "evil", HOSTILE, 90, url="")]))
    qtbot.waitUntil(lambda: pids(desk)[0] == "evil")
    desk.pane.table.selectRow(0)
    qtbot.waitUntil(lambda: desk.pane.reading.item is not None and current_pid(desk) == "evil")
    text = desk.pane.reading.browser.toPlainText()
    assert '<img src=x><a href="http://evil">x</a><script>alert(1)</script>' in text
    assert "[https://docs.example/x]" in text  # a markdown link shows its target
    anchors, images = _document_formats(desk)
    assert anchors == ["https://docs.example/x"]
    assert images == 0


def test_links_open_only_after_confirmation(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toString())))
    asked: list[str] = []

    def refuse(*args: Any) -> QMessageBox.StandardButton:
        asked.append(args[2])
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "question", staticmethod(refuse))
    monkeypatch.setattr(QMessageBox, "information", staticmethod(lambda *a: asked.append(a[2])))
    browser = desk.pane.reading.browser
    browser.anchorClicked.emit(QUrl("https://docs.example/x?a=1"))
    assert opened == [] and "https://docs.example/x?a=1" in asked[-1]
    browser.anchorClicked.emit(QUrl("javascript:alert(1)"))
    assert opened == []
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a: QMessageBox.StandardButton.Open))
    browser.anchorClicked.emit(QUrl("https://docs.example/x?a=1"))
    assert opened == ["https://docs.example/x?a=1"]


def test_empty_state_until_items_arrive(qtbot: Any, data_dir: Path, aloop: asyncio.AbstractEventLoop) -> None:
    d = _desk(qtbot, data_dir, seed=False)
    try:
        assert d.pane.stack.currentWidget() is d.pane.empty
        assert d.pane.empty.headline_label.text() == EMPTY_HEADLINE
        qtbot.waitUntil(d.pane.ready)
        aloop.run_until_complete(d.service.ingest(seed_items()[:1]))
        qtbot.waitUntil(lambda: d.pane.stack.currentWidget() is d.pane.splitter)
        qtbot.waitUntil(lambda: pids(d) == ["d1"])
    finally:
        d.pane.shutdown()
        d.store.close()


def test_filters_sidebar_selects_and_counts(desk: Desk, qtbot: Any) -> None:
    qtbot.waitUntil(lambda: desk.pane.filters.count_for("moderation") == 2)
    desk.pane.filters.select_key("moderation")
    assert pids(desk) == ["d3", "r1"]
    desk.pane.filters.select_key("mentions")
    assert pids(desk) == ["d2"]
    desk.pane.filters.select_key("platform:github")
    assert pids(desk) == ["g2", "g1"]
    qtbot.waitUntil(
        lambda: any(
            "r/AtlasApp" in desk.pane.filters.item(i).text() for i in range(desk.pane.filters.count())
        )
    )


def test_model_search_windows_carry_rows_and_highlights(data_dir: Path) -> None:
    from atlas_desk.store.inbox import InboxFilter

    store = open_store(data_dir)
    try:
        stored(store, [item(Platform.DISCORD, f"x{i}", f"bulk message {i}", i) for i in range(730)])
        model = InboxModel(store.reader)
        model.set_filter(InboxFilter(query="bulk mess"))
        while model.canFetchMore():
            model.fetchMore()
        assert model.rowCount() == 730
        ids = [model.item_id(r) for r in range(730)]
        assert ids == sorted(ids, reverse=True)
        for r in (0, 99, 100, 512, 729):
            row = model.data(model.index(r, 0), Role.ROW)
            assert row.id == ids[r]
            snippet = model.data(model.index(r, Column.SUBJECT), Role.SNIPPET)
            spans = model.data(model.index(r, Column.SUBJECT), Role.SNIPPET_SPANS)
            assert [snippet[a:b] for a, b in spans] == ["bulk", "message"]
    finally:
        store.close()


def test_r_opens_the_reply_editor_and_queues_the_reply(desk: Desk, qtbot: Any) -> None:
    from atlas_desk.store import outbox

    qtbot.waitUntil(lambda: desk.pane.reading.item is not None)
    qtbot.keyClick(desk.pane.table, Qt.Key.Key_R)
    editor = desk.pane.reply_editor
    assert editor.isVisible()
    editor.editor.setPlainText("On it, thanks!")
    editor.send_button.click()
    conn = desk.store.reader()
    qtbot.waitUntil(lambda: bool(outbox.list_actions(conn)))
    action = outbox.list_actions(conn)[0]
    assert action.kind == "reply" and action.target == "g2" and action.payload["body"] == "On it, thanks!"


# -- shortcuts ---------------------------------------------------------------------------------------------

# Every inbox action, by object name, with the key a moderator presses.
ACTION_KEYS = {
    "inboxNext": "J",
    "inboxPrevious": "K",
    "inboxReadNext": "E",
    "inboxUnread": "U",
    "inboxStar": "S",
    "inboxReply": "R",
    "inboxOpen": "O",
    "inboxSearchAction": "/",
    "inboxApprove": "A",
    "inboxRemove": "X",
    "inboxSuggestion": "I",
    "inboxTicket": "T",
    "inboxRoadmap": "Ctrl+Shift+R",
}


@pytest.fixture
def menus_hide_shortcuts(qapp: Any) -> Iterator[None]:
    """Menus without shortcuts unless an action asks for them, as on macOS: an action must say so itself."""
    attribute = Qt.ApplicationAttribute.AA_DontShowShortcutsInContextMenus
    hints = QGuiApplication.styleHints()
    before = (QGuiApplication.testAttribute(attribute), hints.showShortcutsInContextMenus())
    QGuiApplication.setAttribute(attribute, True)
    hints.setShowShortcutsInContextMenus(False)
    yield
    QGuiApplication.setAttribute(attribute, before[0])
    hints.setShowShortcutsInContextMenus(before[1])


def test_every_action_is_listed_here(desk: Desk) -> None:
    assert {a.objectName() for a in desk.pane.actions()} == set(ACTION_KEYS)


@pytest.mark.parametrize(("name", "key"), sorted(ACTION_KEYS.items()))
def test_action_names_its_key_in_tooltip_and_menu(
    qtbot: Any, data_dir: Path, menus_hide_shortcuts: None, name: str, key: str
) -> None:
    d = _desk(qtbot, data_dir)
    try:
        action = d.pane.findChild(QAction, name)
        assert action is not None
        assert action.shortcut() == QKeySequence(key)
        assert action in d.pane.actions_menu.actions()
        assert action.isShortcutVisibleInContextMenu()
        native = QKeySequence(key).toString(QKeySequence.SequenceFormat.NativeText)
        # Whatever item is current, enabled or not, the tooltip names the key.
        for pid in ("g2", "d3", "r1"):
            d.pane.open_item(item_id(d, pid))
            assert current_pid(d) == pid
            assert f"({native})" in action.toolTip(), (pid, action.toolTip())
    finally:
        d.pane.hide()  # the style hint's restore repaints visible widgets
        d.pane.shutdown()
        d.store.close()


# -- the filters sidebar -----------------------------------------------------------------------------------


def sidebar(desk: Desk) -> list[str]:
    """The sidebar as the moderator reads it, top to bottom."""
    filters = desk.pane.filters
    return [filters.item(r).text() for r in range(filters.count())]


def test_unread_suggestions_and_a_container_show_exactly_their_items(qtbot: Any, data_dir: Path) -> None:
    help_item = item(Platform.DISCORD, "h1", "How do I export?", 8, container="#help", container_id="c-help")
    desk = _desk(qtbot, data_dir, extra=[help_item])
    try:
        desk.service.mark_read([item_id(desk, "g2"), item_id(desk, "r2")]).result(timeout=10)
        qtbot.waitUntil(lambda: desk.pane.unread_count == 6)

        desk.pane.filters.select_key("unread")
        assert pids(desk) == ["h1", "d3", "r1", "g1", "d2", "d1"]
        desk.pane.filters.select_key("suggestions")
        assert pids(desk) == ["g1"]
        qtbot.waitUntil(lambda: "#help  (1)" in sidebar(desk))
        desk.pane.filters.select_key("container:discord:c-general")
        assert pids(desk) == ["d3", "d2", "d1"]
        assert desk.pane.filters.currentItem().text() == "#general  (3)"
        desk.pane.filters.select_key("container:discord:c-help")
        assert pids(desk) == ["h1"]
        desk.pane.filters.select_key("container:reddit:AtlasApp")
        assert pids(desk) == ["r2", "r1"]  # read ones too: a container is not an unread filter
    finally:
        desk.pane.hide()
        desk.pane.shutdown()
        desk.store.close()


def test_sidebar_shows_unread_counts_and_follows_them(desk: Desk, qtbot: Any) -> None:
    qtbot.waitUntil(lambda: "r/AtlasApp  (2)" in sidebar(desk))
    assert sidebar(desk)[:11] == [
        "All  (7)",
        "Unread  (7)",
        "Mentions  (1)",
        "Needs moderation  (2)",
        "Suggestions  (1)",
        "Starred",
        "Platforms",
        "Discord  (3)",
        "GitHub  (2)",
        "Reddit  (2)",
        "Channels and categories",
    ]
    assert sorted(sidebar(desk)[11:]) == ["#general  (3)", "Discussions › Ideas  (2)", "r/AtlasApp  (2)"]
    desk.pane.filters.select_key("platform:reddit")
    qtbot.keyClick(desk.pane.table, Qt.Key.Key_E)  # r2 read
    qtbot.keyClick(desk.pane.table, Qt.Key.Key_E)  # r1 read: nothing unread on Reddit now
    qtbot.waitUntil(lambda: "Reddit" in sidebar(desk))
    assert "r/AtlasApp" in sidebar(desk) and "Needs moderation  (1)" in sidebar(desk)
    assert sidebar(desk)[:2] == ["All  (5)", "Unread  (5)"]
    bold = {i.text(): i.font().bold() for i in (desk.pane.filters.item(r) for r in range(7, 10))}
    assert bold == {"Discord  (3)": True, "GitHub  (2)": True, "Reddit": False}  # unread in bold


def test_attach_merges_moderator_handles_and_keywords_into_mentions(qtbot: Any, data_dir: Path) -> None:
    settings = SimpleNamespace(desk=SimpleNamespace(moderator_handles=["maya_k"], keywords=["offline"]))
    d = _desk(qtbot, data_dir, mentions=(), settings=settings)
    try:
        assert d.pane.mentions == ("maya_k", "offline")
        assert d.service.mentions == ("maya_k", "offline")
        d.pane.filters.select_key("mentions")
        assert pids(d) == ["d3", "d2", "d1"]  # "@maya_k", and "offline" twice
        qtbot.waitUntil(lambda: "Mentions  (3)" in sidebar(d))
    finally:
        d.pane.hide()
        d.pane.shutdown()
        d.store.close()
