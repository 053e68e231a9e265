"""The inbox list paints its rows itself (one pass per frame): it must show what QTableView would show."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView
from test_inbox_support import ACCOUNTS, attached_pane, item, open_store

from atlas_desk.core.bus import ChangeBus
from atlas_desk.core.inbox import InboxService
from atlas_desk.core.types import Account, InboxItem, Platform
from atlas_desk.store.db import Store
from atlas_desk.ui.inbox.delegate import ROW_HEIGHT, InboxDelegate
from atlas_desk.ui.inbox.model import Column, InboxModel
from atlas_desk.ui.inbox.pane import InboxPane
from atlas_desk.ui.inbox.view import InboxList

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

PLATFORMS = (Platform.DISCORD, Platform.GITHUB, Platform.REDDIT)


def _items() -> list[InboxItem]:
    items = []
    for n in range(80):
        platform = PLATFORMS[n % 3]
        author = ACCOUNTS[platform]
        if n % 4 == 0:  # a crowd of one-off authors, as a jump into a big inbox meets them
            author = Account(platform, f"id{n}", f"member{n}", f"Member Number {n}")
        items.append(
            item(
                platform,
                f"p{n}",
                f"message {n}: the sync stopped after the update, " * (1 + n % 3),
                n,
                author=author,
                title=f"Idea {n}: dark mode for the calendar" if platform is Platform.GITHUB else "",
                score=n * 7 if n % 5 else 0,
            )
        )
    return items


@dataclass
class Desk:
    store: Store
    pane: InboxPane


@pytest.fixture
def desk(qtbot: Any, data_dir: Path, aloop: asyncio.AbstractEventLoop) -> Iterator[Desk]:
    store = open_store(data_dir)
    service = InboxService(store, ChangeBus())
    aloop.run_until_complete(service.ingest(_items()))
    pane, _service, _bus, model = attached_pane(qtbot, store, service=service, size=(1300, 700))
    while model.canFetchMore():
        model.fetchMore()
    assert model.rowCount() == 80
    yield Desk(store=store, pane=pane)
    pane.shutdown()
    store.close()


def _model(desk: Desk) -> InboxModel:
    assert desk.pane.model is not None
    return desk.pane.model


def _plain_view(desk: Desk, qtbot: Any) -> QTableView:
    """Qt's own table view over the same model, set up as the pane sets up its list."""
    ours = desk.pane.table
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(_model(desk))
    view.setItemDelegate(InboxDelegate(view))
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
    view.verticalHeader().hide()
    for col in Column:
        view.setColumnHidden(col, col != Column.SUBJECT)
    view.horizontalHeader().setSectionResizeMode(Column.SUBJECT, QHeaderView.ResizeMode.Stretch)
    view.horizontalHeader().hide()
    view.setFont(ours.font())
    view.setPalette(ours.palette())
    view.resize(ours.size())
    view.show()
    qtbot.waitExposed(view)
    assert view.viewport().size() == ours.viewport().size()
    return view


def _grab(view: QTableView) -> QImage:
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    view.viewport().render(image)
    return image


def _same_rows(ours: QTableView, plain: QTableView, rows: list[int]) -> None:
    for view in (ours, plain):
        view.clearFocus()
        selection = view.selectionModel()
        selection.clear()  # no current row either: Qt would draw a focus frame only where the view has focus
        for row in rows:
            selection.select(
                view.model().index(row, Column.SUBJECT),
                QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
            )


def test_the_list_paints_exactly_what_qt_table_view_paints(desk: Desk, qtbot: Any) -> None:
    ours = desk.pane.table
    assert isinstance(ours, InboxList)
    plain = _plain_view(desk, qtbot)
    for scroll, selected in ((0, []), (0, [1, 3, 4]), (17, [18, 19, 40])):
        _same_rows(ours, plain, selected)
        for view in (ours, plain):
            view.verticalScrollBar().setValue(scroll)
        assert ours.verticalScrollBar().value() == scroll
        assert _grab(ours) == _grab(plain), (scroll, selected)
    # And the rows really show: a selected row is drawn on the highlight, an unselected one is not.
    image = _grab(ours)
    top = ours.rowViewportPosition(18)
    other = ours.rowViewportPosition(21)
    x = ours.viewport().width() // 2
    assert image.pixelColor(x, top + 2) != image.pixelColor(x, other + 2)


def test_select_all_over_every_row_paints_each_visible_row_selected(desk: Desk, qtbot: Any) -> None:
    ours = desk.pane.table
    plain = _plain_view(desk, qtbot)
    for view in (ours, plain):
        view.clearFocus()
        view.selectAll()
        view.verticalScrollBar().setValue(30)
    assert _grab(ours) == _grab(plain)


def test_a_cell_looks_the_same_drawn_at_once_and_laid_out_once_it_repeats(desk: Desk, qtbot: Any) -> None:
    ours = desk.pane.table
    delegate = ours.itemDelegate()
    assert isinstance(delegate, InboxDelegate)
    _same_rows(ours, ours, [])
    delegate._static.clear()
    delegate._seen.clear()
    first = _grab(ours)  # every container and author drawn straight
    assert delegate._seen and not any(key[0].startswith("Member Number") for key in delegate._static)
    second = _grab(ours)  # seen before: laid out and drawn from the layout
    assert any(key[0].startswith("Member Number") for key in delegate._static)
    assert first == second == _grab(ours)


def test_titles_and_snippets_in_arabic_are_drawn_shaped(qtbot: Any) -> None:
    """ASCII runs skip optional shaping (kerning, ligatures) for speed. Qt would then draw Arabic unjoined and
    left to right, so anything not ASCII must keep the shaped font."""
    from PySide6.QtGui import QFont, QFontDatabase, QPainter

    if not QFontDatabase.families(QFontDatabase.WritingSystem.Arabic):
        pytest.skip("no font with Arabic glyphs on this machine")
    view = QTableView()
    qtbot.addWidget(view)
    delegate = InboxDelegate(view)
    no_shaping = QFont.StyleStrategy.PreferNoShaping

    def render(font: QFont, text: str) -> QImage:
        image = QImage(400, 40, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        painter.setFont(font)
        painter.drawText(10, 28, text)
        painter.end()
        return image

    arabic = "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645"  # "hello world"
    for bold in (False, True):
        ascii_font, _ = delegate._run_font(view.font(), bold, "Dark mode for the calendar")
        assert ascii_font.styleStrategy() & no_shaping
        assert ascii_font.bold() == bold
        font, _ = delegate._run_font(view.font(), bold, arabic)
        assert not font.styleStrategy() & no_shaping
        shaped = QFont(view.font())
        shaped.setBold(bold)
        assert render(font, arabic) == render(shaped, arabic)
        # What the unshaped font would have drawn: the letters unjoined, in the wrong order.
        assert render(ascii_font, arabic) != render(shaped, arabic)


def test_laid_out_cells_are_evicted_oldest_first_not_all_at_once(
    qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Dropping thousands of laid-out texts in one go held a frame for ~10 ms: the oldest go one at a time."""
    from PySide6.QtGui import QFontMetrics

    from atlas_desk.ui.inbox import delegate as delegate_module

    monkeypatch.setattr(delegate_module, "STATIC_TEXTS", 8)
    view = QTableView()
    qtbot.addWidget(view)
    delegate = InboxDelegate(view)
    font, metrics = delegate._font(view.font(), False)
    assert isinstance(metrics, QFontMetrics)
    for n in range(20):
        delegate._static_text(f"member{n}", 120, False, font, metrics)
        assert len(delegate._static) == min(n + 1, 8)
    assert [key[0] for key in delegate._static] == [f"member{n}" for n in range(12, 20)]
