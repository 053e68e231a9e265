"""The roadmap pane against a running desk: real mouse drags, keyboard moves, refusals, live changes,
safety."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from atlas_desk.ui.bridge import QtBus
from atlas_desk.ui.panes import PaneContext
from atlas_desk.ui.roadmap import board as board_module
from atlas_desk.ui.roadmap.board import ColumnView
from atlas_desk.ui.roadmap.model import MIME_TYPE
from atlas_desk.ui.roadmap.pane import RoadmapPane
from tests.test_roadmap_support import BackgroundDesk

# The offscreen platform warns that it cannot propagate size hints when a window is shown; harmless.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


@dataclass
class UiDesk:
    bg: BackgroundDesk
    pane: RoadmapPane
    bus: QtBus

    def sandbox_board(self) -> dict[str, list[str]]:
        return self.bg.call(self.bg.desk.sandbox.board)

    def mutations(self) -> list[Any]:
        return self.bg.call(lambda: list(self.bg.desk.sandbox.project.mutations))

    def pid(self, card_id: int) -> str:
        row = self.bg.desk.roadmap.card(card_id)
        assert row is not None
        return row.platform_id

    def shown(self, column: str) -> list[str]:
        """A column as the pane shows it: platform ids top to bottom."""
        return [self.pid(i) for i in self.pane.models[column].ids]

    def view(self, column: str) -> ColumnView:
        return self.pane.columns[column].view


@pytest.fixture
def ui(qtbot: Any, data_dir: Path) -> Iterator[UiDesk]:
    bg = BackgroundDesk(data_dir)
    bus = QtBus(bg.desk.bus)
    pane = RoadmapPane()
    qtbot.addWidget(pane)
    pane.resize(1440, 900)
    pane.attach(PaneContext(bus, types.SimpleNamespace(roadmap=bg.desk.roadmap), lambda _: None, demo=True))
    pane.show()
    qtbot.waitExposed(pane)
    qtbot.waitUntil(pane.ready)
    try:
        yield UiDesk(bg, pane, bus)
    finally:
        pane.shutdown()
        bus.close()
        bg.close()


def on_offscreen() -> bool:
    return QGuiApplication.platformName() == "offscreen"


class _OffscreenDrag:
    """Stands in for QDrag on the offscreen platform, whose drag loop returns at once without a drop.

    It delivers genuine QDragEnterEvent / QDragMoveEvent / QDropEvent objects, carrying the mime data the
    source view built, to the target view at the real positions, as Qt's drag manager does on a desktop.
    """

    target: ColumnView | None = None
    points: list[QPoint] = []
    started: list[bytes] = []

    def __init__(self, _source: Any) -> None:
        self.mime: QMimeData | None = None

    def setMimeData(self, mime: QMimeData) -> None:
        self.mime = mime

    def setPixmap(self, _pixmap: Any) -> None:
        pass

    def setHotSpot(self, _point: Any) -> None:
        pass

    def exec(self, actions: Qt.DropAction, _default: Any = None) -> Qt.DropAction:
        assert self.mime is not None and self.target is not None
        _OffscreenDrag.started.append(bytes(self.mime.data(MIME_TYPE).data()))
        viewport = self.target.viewport()
        buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        first = QPointF(self.points[0])
        enter = QDragEnterEvent(first, actions, self.mime, buttons, mods)
        QApplication.sendEvent(viewport, enter)
        if not enter.isAccepted():
            return Qt.DropAction.IgnoreAction
        for point in self.points:
            QApplication.sendEvent(
                viewport, QDragMoveEvent(QPointF(point), actions, self.mime, buttons, mods)
            )
        drop = QDropEvent(QPointF(self.points[-1]), actions, self.mime, buttons, mods)
        QApplication.sendEvent(viewport, drop)
        return drop.dropAction() if drop.isAccepted() else Qt.DropAction.IgnoreAction


def real_drag(source: ColumnView, start: QPoint, target: ColumnView, end: QPoint) -> None:
    """Press on a card and move past the drag distance: Qt's own mouseMoveEvent starts the drag.

    On a real display (xcb, e.g. under Xvfb) Qt's drag loop runs and the moves and release inside it come from
    a timer that fires within that loop. On offscreen, where QDrag.exec cannot run, ``_OffscreenDrag``
    delivers the drag events (see its docstring).
    """
    steps: list[str] = []
    distance = QApplication.startDragDistance() + 5

    def inside_drag() -> None:
        QTest.mouseMove(target.viewport(), end - QPoint(0, 6))
        QTest.mouseMove(target.viewport(), end)
        QTest.mouseRelease(target.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
        steps.append("released")

    if on_offscreen():
        _OffscreenDrag.target = target
        _OffscreenDrag.points = [end - QPoint(0, 6), end]
        _OffscreenDrag.started.clear()
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(board_module, "QDrag", _OffscreenDrag)
            QTest.mousePress(
                source.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start
            )
            QTest.mouseMove(source.viewport(), start + QPoint(distance, distance))
            QTest.mouseMove(source.viewport(), start + QPoint(distance * 2, distance * 2))
            QTest.mouseRelease(
                source.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start
            )
        assert len(_OffscreenDrag.started) == 1, "the view did not start a drag"
        return
    QTest.mousePress(source.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTimer.singleShot(50, inside_drag)
    QTest.mouseMove(source.viewport(), start + QPoint(distance, distance))
    QTest.mouseMove(source.viewport(), start + QPoint(distance * 2, distance * 2))
    assert steps == ["released"], "the drag loop did not run"


def test_column_models_pass_qtmodeltester(ui: UiDesk, qtmodeltester: Any) -> None:
    for model in ui.pane.models.values():
        qtmodeltester.check(model)
    assert [m.column for m in ui.pane.models.values()] == [
        "Under consideration",
        "Planned",
        "In progress",
        "Done",
    ]


def test_drag_between_columns_sends_one_field_update(ui: UiDesk, qtbot: Any) -> None:
    before_board = ui.sandbox_board()
    src, dst = ui.view("Under consideration"), ui.view("Planned")
    moving = ui.pane.models["Under consideration"].ids[0]
    below = ui.pane.models["Planned"].ids[0]
    start = src.card_rect(moving).center()
    target_rect = dst.card_rect(below)
    end = QPoint(target_rect.center().x(), target_rect.bottom() - 10)  # lower half of the first card
    n = len(ui.mutations())
    real_drag(src, start, dst, end)
    qtbot.waitUntil(lambda: ui.pane.models["Planned"].ids[:2] == [below, moving], timeout=3000)
    expected = [ui.pid(below), ui.pid(moving), *before_board["Planned"][1:]]
    qtbot.waitUntil(lambda: ui.sandbox_board()["Planned"] == expected, timeout=10000)
    sent = ui.mutations()[n:]
    updates = [m for m in sent if m.name == "updateProjectV2ItemFieldValue"]
    assert len(updates) == 1
    assert updates[0].input["projectId"] == "PVT_sbxproject0001"
    assert updates[0].input["itemId"] == ui.pid(moving)
    assert updates[0].input["fieldId"] == "PVTSSF_sbxstatus01"
    option = ui.bg.call(ui.bg.desk.sandbox.project.option_id, "Planned")
    assert updates[0].input["value"] == {"singleSelectOptionId": option}
    qtbot.waitUntil(lambda: all(ui.shown(c) == ids for c, ids in ui.sandbox_board().items()), timeout=10000)


def test_drag_within_a_column_reorders_after_the_card_dropped_below(ui: UiDesk, qtbot: Any) -> None:
    col = "Planned"
    ids = ui.pane.models[col].ids
    moving, below = ids[0], ids[2]
    view = ui.view(col)
    start = view.card_rect(moving).center()
    rect = view.card_rect(below)
    end = QPoint(rect.center().x(), rect.center().y() + 12)  # lower half of the third card: "below it"
    n = len(ui.mutations())
    real_drag(view, start, view, end)
    expected = [ids[1], ids[2], ids[0], *ids[3:]]
    qtbot.waitUntil(lambda: ui.pane.models[col].ids == expected, timeout=3000)
    qtbot.waitUntil(lambda: len(ui.mutations()) > n, timeout=10000)
    sent = ui.mutations()[n:]
    assert [m.name for m in sent] == ["updateProjectV2ItemPosition"]
    assert sent[0].input["itemId"] == ui.pid(moving)
    assert sent[0].input["afterId"] == ui.pid(below)
    qtbot.waitUntil(lambda: ui.sandbox_board()[col] == [ui.pid(i) for i in expected], timeout=10000)


def test_refused_drop_puts_the_card_back_and_says_why(ui: UiDesk, qtbot: Any) -> None:
    before = {c: list(m.ids) for c, m in ui.pane.models.items()}
    ui.bg.call(
        ui.bg.desk.sandbox.project.fail_next_mutation,
        "updateProjectV2ItemFieldValue",
        "You do not have permission to update this project.",
    )
    src, dst = ui.view("In progress"), ui.view("Done")
    moving = before["In progress"][0]
    start = src.card_rect(moving).center()
    end = dst.card_rect(before["Done"][0]).center() - QPoint(0, 20)  # upper half of the first card: the top
    ui.bg.call(ui.bg.desk.sandbox.stall, 0.5, 50)  # GitHub answers slowly: the optimistic move is visible
    done_model = ui.pane.models["Done"]
    seen: list[list[int]] = []
    done_model.rowsInserted.connect(lambda *_a: seen.append(done_model.ids))
    real_drag(src, start, dst, end)
    # the card moved at once (optimistic), whether or not GitHub has answered yet
    qtbot.waitUntil(lambda: any(ids[:1] == [moving] for ids in seen), timeout=3000)
    qtbot.waitUntil(lambda: ui.pane.notice_bar.isVisible(), timeout=10000)
    qtbot.waitUntil(lambda: {c: m.ids for c, m in ui.pane.models.items()} == before, timeout=5000)
    text = ui.pane.notice_bar.text_label.text()
    assert "went back to In progress" in text and "You do not have permission" in text
    assert ui.pane.notice_bar.text_label.textFormat() == Qt.TextFormat.PlainText


def test_change_made_on_github_moves_the_card_within_a_poll(ui: UiDesk, qtbot: Any) -> None:
    moving = ui.pane.models["Done"].ids[-1]
    ui.bg.call(ui.bg.desk.sandbox.move_card, ui.pid(moving), "Planned", None)
    qtbot.waitUntil(lambda: ui.pane.models["Planned"].ids[:1] == [moving], timeout=1000)  # poll: 0.2 s
    assert moving not in ui.pane.models["Done"].ids


def test_keyboard_moves_the_selected_card(ui: UiDesk, qtbot: Any) -> None:
    card = ui.pane.models["Planned"].ids[0]
    view = ui.view("Planned")
    ui.pane.activateWindow()  # shortcuts go to the active window (offscreen windows always are)
    qtbot.waitUntil(ui.pane.isActiveWindow, timeout=3000)
    view.setFocus()
    ui.pane.select_card(card)
    assert ui.pane.selected_card() == card
    QTest.keyClick(view, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: ui.pane.models["In progress"].ids[:1] == [card], timeout=3000)
    QTest.keyClick(ui.view("In progress"), Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: ui.pane.models["In progress"].ids[1:2] == [card], timeout=3000)
    qtbot.waitUntil(lambda: ui.sandbox_board()["In progress"][1:2] == [ui.pid(card)], timeout=10000)
    shortcuts = {a.shortcut().toString() for a in ui.pane.move_actions.values()}
    assert shortcuts == {"Ctrl+Left", "Ctrl+Right", "Ctrl+Up", "Ctrl+Down"}
    assert all("Ctrl+" in a.toolTip() for a in ui.pane.move_actions.values())


def test_filters_by_label_assignee_and_text(ui: UiDesk, qtbot: Any) -> None:
    total = sum(m.rowCount() for m in ui.pane.models.values())
    ui.pane.label_combo.setCurrentText("community-idea")
    shown = [ui.bg.desk.roadmap.card(i) for m in ui.pane.models.values() for i in m.ids]
    assert shown and all(r is not None and "community-idea" in r.labels for r in shown)
    assert len(shown) < total
    ui.pane.label_combo.setCurrentIndex(0)
    login = ui.pane.assignee_combo.itemText(1)
    ui.pane.assignee_combo.setCurrentText(login)
    shown = [ui.bg.desk.roadmap.card(i) for m in ui.pane.models.values() for i in m.ids]
    assert shown and all(r is not None and login in r.assignees for r in shown)
    ui.pane.assignee_combo.setCurrentIndex(0)
    some = ui.bg.desk.roadmap.card(ui.pane.models["Done"].ids[0])
    assert some is not None
    ui.pane.filter_edit.setText(some.title[:12])
    assert some.id in ui.pane.models["Done"].ids
    assert sum(m.rowCount() for m in ui.pane.models.values()) < total
    ui.pane.filter_edit.clear()
    assert sum(m.rowCount() for m in ui.pane.models.values()) == total


def test_card_detail_shows_untrusted_text_as_text(
    ui: UiDesk, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = ui.pane.models["Planned"].ids[0]
    row = ui.bg.desk.roadmap.card(card)
    assert row is not None
    hostile = (
        '<img src="http://evil.example/x.png"><b>bold</b> [click](http://evil.example/) <script>x</script>'
    )

    def poison(conn: Any) -> None:
        conn.execute("UPDATE roadmap_items SET title = ?, body = ? WHERE id = ?", (hostile, hostile, card))

    ui.bg.desk.store.submit(poison).result(5)
    ui.pane.show_detail(card)
    detail = ui.pane.detail
    assert detail.title_label.text() == hostile
    assert detail.title_label.textFormat() == Qt.TextFormat.PlainText
    html_out = detail.description.toHtml()
    assert "<img" not in html_out and "<script" not in html_out
    assert "&lt;img" in html_out  # shown as text
    opened: list[Any] = []
    monkeypatch.setattr(detail.link, "opener", opened.append)
    detail.description.anchorClicked.emit(QUrl("http://evil.example/"))
    assert detail.link.isVisible() and detail.link.url_label.text() == "http://evil.example/"
    assert opened == []  # shown first, opened only on the Open button
    detail.link.open_button.click()
    assert [u.toString() for u in opened] == ["http://evil.example/"]
    votes = detail.votes_label.text()
    assert "in all" in votes


def test_draft_update_editor_and_publish(ui: UiDesk, qtbot: Any) -> None:
    dialog = ui.pane.open_update_editor()
    assert dialog is not None
    text = dialog.text()
    for heading in (
        "## Done since the last update",
        "## Newly planned",
        "## Most voted community ideas",
        "## Why some ideas are waiting",
    ):
        assert heading in text
    dialog.reddit.setChecked(False)
    dialog.accept()
    from atlas_desk.store import outbox as outbox_repo

    def kinds() -> list[str]:
        return [a.kind for a in outbox_repo.list_actions(ui.bg.desk.store.reader())]

    qtbot.waitUntil(lambda: "publish_discussion" in kinds() and "announce" in kinds(), timeout=5000)
    qtbot.waitUntil(
        lambda: bool(ui.mutations()) and ui.mutations()[-1].name == "createDiscussion", timeout=10000
    )
    assert ui.mutations()[-1].input["title"].startswith("Atlas roadmap update")


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs Xvfb for a real window system")
def test_real_drags_under_xvfb() -> None:
    """The drag tests again on a real X server (Xvfb), where Qt's own drag loop carries the drop."""
    if not on_offscreen():
        pytest.skip("already running on a real window system")
    env = dict(os.environ, QT_QPA_PLATFORM="xcb")
    cmd = [
        "xvfb-run",
        "-a",
        "-s",
        "-screen 0 1440x900x24",
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        __file__,
        "-k",
        "(drag or drop) and not xvfb",
    ]
    proc = subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=240, cwd=Path(__file__).parents[1]
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "3 passed" in proc.stdout
