"""The roadmap pane: the GitHub Projects (v2) board as columns of cards, moved by drag and drop or keyboard.

Columns are the Status options in the project's order. Every gesture is one ``RoadmapService`` call; the pane
only re-reads the columns a change touched (``RoadmapChanged`` from the bus) and moves rows in its models,
so a drop is drawn in its new place within a frame, and a refused move goes back the same way with the
reason shown.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from atlas_desk.core.bus import ConnectionChanged, Notice, RoadmapChanged
from atlas_desk.core.roadmap import RoadmapService, votes_breakdown
from atlas_desk.core.types import ConnectionState, Platform
from atlas_desk.store.roadmap import RoadmapRow
from atlas_desk.ui.compat import guard_singleton_refcounts
from atlas_desk.ui.panes import Pane, PaneContext
from atlas_desk.ui.roadmap.board import ColumnWidget
from atlas_desk.ui.roadmap.detail import CardDetail, UpdateDialog
from atlas_desk.ui.roadmap.model import CardView, ColumnModel
from atlas_desk.ui.widgets.notice_bar import NoticeBar

log = logging.getLogger("atlas_desk.ui.roadmap")

LOAD_PATIENCE_MS = 8000
ALL_LABELS = "All labels"
EVERYONE = "Everyone"
MOVES = (
    ("left", "Move to the previous column", "Ctrl+Left"),
    ("right", "Move to the next column", "Ctrl+Right"),
    ("up", "Move up", "Ctrl+Up"),
    ("down", "Move down", "Ctrl+Down"),
)


class RoadmapPane(Pane):
    """The roadmap board."""

    pane_name = "roadmap"
    title = "Roadmap"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        guard_singleton_refcounts()  # idempotent; the app does it first (see ui/compat.py)
        self.service: RoadmapService | None = None
        self.columns: dict[str, ColumnWidget] = {}
        self.models: dict[str, ColumnModel] = {}
        self._selected: int | None = None
        self._refreshing = False  # rows moving under a view must not change which card is selected
        self._unsubscribe_direct: Callable[[], None] | None = None
        self._gui_thread = 0
        self._labels: list[str] = []
        self._assignees: list[str] = []

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter cards by title or #number")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMinimumWidth(260)
        self.label_combo = QComboBox(self)
        self.label_combo.addItem(ALL_LABELS)
        self.label_combo.setMinimumWidth(150)
        self.assignee_combo = QComboBox(self)
        self.assignee_combo.addItem(EVERYONE)
        self.assignee_combo.setMinimumWidth(130)
        self.move_button = QToolButton(self)
        self.move_button.setText("Move card")
        self.move_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.move_menu = QMenu(self.move_button)
        self.move_actions: dict[str, QAction] = {}
        for direction, words, keys in MOVES:
            action = QAction(words, self)
            action.setShortcut(QKeySequence(keys))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            action.setToolTip(f"{words} ({keys})")
            action.triggered.connect(lambda _checked=False, d=direction: self.move_selected(d))
            self.addAction(action)
            self.move_menu.addAction(action)
            self.move_actions[direction] = action
        self.move_button.setMenu(self.move_menu)
        self.move_button.setToolTip(
            "Move the selected card: Ctrl+Left/Right between columns, Ctrl+Up/Down in order"
        )
        self.draft_button = QPushButton("Draft roadmap update", self)
        self.draft_button.setToolTip("Write the monthly roadmap update from the board (Ctrl+Shift+U)")
        self.draft_button.setShortcut(QKeySequence("Ctrl+Shift+U"))
        self.draft_button.clicked.connect(self.open_update_editor)
        self.project_label = QLabel("", self)
        self.project_label.setTextFormat(Qt.TextFormat.PlainText)

        toolbar = QHBoxLayout()
        toolbar.setContentsMargins(12, 10, 12, 6)
        toolbar.setSpacing(8)
        toolbar.addWidget(self.filter_edit)
        toolbar.addWidget(self.label_combo)
        toolbar.addWidget(self.assignee_combo)
        toolbar.addWidget(self.move_button)
        toolbar.addStretch(1)
        toolbar.addWidget(self.project_label)
        toolbar.addWidget(self.draft_button)

        self.notice_bar = NoticeBar(self)
        self.board = QWidget(self)
        self.board_layout = QHBoxLayout(self.board)
        self.board_layout.setContentsMargins(12, 4, 12, 12)
        self.board_layout.setSpacing(12)
        self.detail = CardDetail(self)
        self.detail.hide()
        self.detail.why_note_saved.connect(self._save_why)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.board)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setChildrenCollapsible(False)
        self.empty_label = QLabel("The roadmap board appears here once GitHub is connected.", self)
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(toolbar)
        layout.addWidget(self.notice_bar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.empty_label)
        self.splitter.hide()

        self.filter_edit.textChanged.connect(lambda _t: self.refresh())
        self.label_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.assignee_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self._votes_timer = QTimer(self)
        self._votes_timer.setSingleShot(True)
        self._votes_timer.setInterval(250)
        self._votes_timer.timeout.connect(self._refresh_votes)

    # -- pane life cycle ------------------------------------------------------------------------------------

    def attach(self, context: PaneContext) -> None:
        super().attach(context)
        service = getattr(context.runtime, "roadmap", None) if context.runtime is not None else None
        context.bus.roadmap_changed.connect(self._on_roadmap_changed)
        # A gesture's own change is published on this thread (the service's optimistic preview): handle it
        # in the same call, so the frame after the drop already shows the card in its new place. Changes from
        # other threads arrive through the Qt bridge as usual.
        self._gui_thread = threading.get_ident()
        self._unsubscribe_direct = context.bus.bus.subscribe(RoadmapChanged, self._on_direct_change)
        context.bus.items_changed.connect(lambda _ids: self._votes_timer.start())
        context.bus.notice.connect(self._on_notice)
        context.bus.connection_changed.connect(self._on_connection)
        if service is None:
            self.empty_label.setText("The roadmap board is not available: the desk has no GitHub connection.")
            self.mark_loaded()
            return
        self.set_service(service)

    def set_service(self, service: RoadmapService) -> None:
        """Show ``service``'s board (attach calls this; tests may too)."""
        self.service = service
        self._build_columns(service.columns())
        self.refresh()
        if not self.ready():
            # an empty board is on screen too: say so if GitHub has not delivered one after a while
            self.empty_label.setText("Reading the roadmap board from GitHub…")
            QTimer.singleShot(LOAD_PATIENCE_MS, self._give_up_waiting)

    def _give_up_waiting(self) -> None:
        if not self.ready():
            self.empty_label.setText(
                "The roadmap board has not arrived from GitHub yet. It appears here as soon as it does."
            )
            self.mark_loaded()

    def _on_connection(self, change: ConnectionChanged) -> None:
        unreachable = change.state in (ConnectionState.NOT_CONFIGURED, ConnectionState.OFFLINE)
        if change.platform is not Platform.GITHUB or not unreachable or self.ready():
            return
        if not any(m.rowCount() for m in self.models.values()):
            self.empty_label.setText(f"The roadmap board needs GitHub: {change.reason or change.state}.")
            self.mark_loaded()

    def activate(self) -> None:
        view = self._current_view()
        if view is not None:
            view.setFocus()
        else:
            super().activate()

    def shutdown(self) -> None:
        self._votes_timer.stop()
        if self._unsubscribe_direct is not None:
            self._unsubscribe_direct()
            self._unsubscribe_direct = None
        self.service = None

    def _on_direct_change(self, change: RoadmapChanged) -> None:
        if threading.get_ident() == self._gui_thread and self.service is not None:
            self._on_roadmap_changed(change.ids)

    # -- building and refreshing ----------------------------------------------------------------------------

    def _build_columns(self, names: Sequence[str]) -> None:
        for widget in self.columns.values():
            self.board_layout.removeWidget(widget)
            widget.deleteLater()
        self.columns.clear()
        self.models.clear()
        for name in names:
            model = ColumnModel(name, self._load_cards, self)
            widget = ColumnWidget(model, self.service, self.board)
            widget.card_activated.connect(self.show_detail)
            widget.view.selectionModel().currentChanged.connect(
                lambda cur, _prev, w=widget: self._current_changed(w, cur)
            )
            self.board_layout.addWidget(widget, 1)
            self.columns[name] = widget
            self.models[name] = model

    def _load_cards(self, ids: Sequence[int]) -> dict[int, CardView]:
        if self.service is None or not ids:
            return {}
        rows = self.service.cards_by_id(ids)
        conn = self.service.reader()
        return {i: CardView(r, votes_breakdown(conn, r)) for i, r in rows.items()}

    def _filter_active(self) -> bool:
        return bool(
            self.filter_edit.text().strip()
            or self.label_combo.currentIndex() > 0
            or self.assignee_combo.currentIndex() > 0
        )

    def _matches(self, row: RoadmapRow) -> bool:
        text = self.filter_edit.text().strip().lower()
        if text:
            number = f"#{row.number}" if row.number else ""
            if text not in row.title.lower() and text != number and text.lstrip("#") != str(row.number or ""):
                return False
        if self.label_combo.currentIndex() > 0 and self.label_combo.currentText() not in row.labels:
            return False
        return not (
            self.assignee_combo.currentIndex() > 0 and self.assignee_combo.currentText() not in row.assignees
        )

    def refresh(self, columns: Sequence[str] | None = None) -> None:
        """Re-read the columns (all, or the given ones) from the store and move rows to match."""
        service = self.service
        if service is None:
            return
        names = service.columns()
        if list(names) != list(self.columns):
            self._build_columns(names)
            columns = None
        filtering = self._filter_active()
        rows = {r.id: r for r in service.cards()} if filtering or columns is None else {}
        if columns is None:
            self._update_filter_choices(rows.values())
        self._refreshing = True
        try:
            for name in columns or names:
                model = self.models.get(name)
                if model is None:
                    continue
                ids = service.column_ids(name)
                if filtering:
                    ids = [i for i in ids if i in rows and self._matches(rows[i])]
                model.set_ids(ids)
                self.columns[name].update_count()
        finally:
            self._refreshing = False
        self._show_board(any(m.rowCount() for m in self.models.values()) or filtering)
        self._update_project_label()
        if self._selected is not None:
            self._reselect(self._selected)

    def _show_board(self, has_cards: bool) -> None:
        self.splitter.setVisible(has_cards)
        self.empty_label.setVisible(not has_cards)
        if has_cards and not self.ready():
            # after the paint that puts the cards on screen
            QTimer.singleShot(0, self.mark_loaded)

    def _update_project_label(self) -> None:
        info = self.service.project() if self.service is not None else None
        self.project_label.setText(info.title if info is not None and info.title else "")

    def _update_filter_choices(self, rows: Any) -> None:
        labels = sorted({label for r in rows for label in r.labels})
        assignees = sorted({a for r in rows for a in r.assignees})
        if labels != self._labels:
            self._labels = labels
            current = self.label_combo.currentText()
            self.label_combo.blockSignals(True)
            self.label_combo.clear()
            self.label_combo.addItems([ALL_LABELS, *labels])
            self.label_combo.setCurrentText(current if current in labels else ALL_LABELS)
            self.label_combo.blockSignals(False)
        if assignees != self._assignees:
            self._assignees = assignees
            current = self.assignee_combo.currentText()
            self.assignee_combo.blockSignals(True)
            self.assignee_combo.clear()
            self.assignee_combo.addItems([EVERYONE, *assignees])
            self.assignee_combo.setCurrentText(current if current in assignees else EVERYONE)
            self.assignee_combo.blockSignals(False)

    def _on_roadmap_changed(self, ids: tuple[int, ...]) -> None:
        service = self.service
        if service is None:
            return
        if len(ids) > 8 or self._filter_active() or not self.ready():
            for model in self.models.values():
                model.invalidate(ids)
            self.refresh()
        else:
            # only the columns these cards left or entered
            touched: set[str] = set()
            rows = service.cards_by_id(ids)
            for name, model in self.models.items():
                if any(model.row_of(i) >= 0 for i in ids):
                    touched.add(name)
                    model.invalidate(ids)
            touched |= {r.status for r in rows.values() if r.status in self.models}
            self.refresh(sorted(touched))
        if self.detail.isVisible() and self.detail.card_id in ids:
            self.show_detail(self.detail.card_id)

    def _refresh_votes(self) -> None:
        for model in self.models.values():
            model.invalidate_all()
        if self.detail.isVisible() and self.detail.card_id is not None:
            self.show_detail(self.detail.card_id)

    def _on_notice(self, notice: Notice) -> None:
        if notice.area == "roadmap":
            self.notice_bar.show_notice(notice.level, notice.text)

    # -- selection, keyboard, detail ----------------------------------------------------------------------

    def _current_changed(self, widget: ColumnWidget, current: Any) -> None:
        if self._refreshing:
            return
        card = widget.view.current_card() if current.isValid() else None
        if card is None:
            return
        self._selected = card
        for other in self.columns.values():
            if other is not widget:
                other.view.clearSelection()

    def _current_view(self) -> Any:
        for widget in self.columns.values():
            if widget.view.hasFocus():
                return widget.view
        if self._selected is not None:
            for widget in self.columns.values():
                if widget.model.row_of(self._selected) >= 0:
                    return widget.view
        first = next(iter(self.columns.values()), None)
        return first.view if first is not None else None

    def _reselect(self, card_id: int) -> None:
        had_focus = any(w.view.hasFocus() for w in self.columns.values())
        for widget in self.columns.values():
            if widget.model.row_of(card_id) >= 0:
                if widget.view.current_card() != card_id:
                    widget.view.select_card(card_id)
                if had_focus and not widget.view.hasFocus():
                    widget.view.setFocus()
            elif widget.view.currentIndex().isValid():
                self._refreshing = True
                try:
                    widget.view.setCurrentIndex(widget.model.index(-1))
                    widget.view.clearSelection()
                finally:
                    self._refreshing = False

    def selected_card(self) -> int | None:
        return self._selected

    def select_card(self, card_id: int) -> None:
        self._selected = card_id
        self._reselect(card_id)

    def move_selected(self, direction: str) -> None:
        """The keyboard alternative to dragging: move the selected card left/right/up/down."""
        if self.service is None or self._selected is None:
            return
        self.service.move_relative(self._selected, direction)

    def show_detail(self, card_id: int) -> None:
        service = self.service
        if service is None:
            return
        row = service.card(card_id)
        if row is None:
            self.detail.hide()
            return
        self._selected = card_id
        self.detail.show_card(
            row, service.votes_breakdown(row), service.linked_items(row), service.history(card_id)
        )
        self.detail.show()

    def _save_why(self, card_id: int, note: str) -> None:
        if self.service is not None:
            self.service.set_why_note(card_id, note)

    # -- monthly update -------------------------------------------------------------------------------------

    def open_update_editor(self) -> UpdateDialog | None:
        """Open the editor on a fresh draft; Publish sends it through the outbox."""
        if self.service is None:
            return None
        dialog = UpdateDialog(self.service.draft_monthly_update(), self)
        dialog.accepted.connect(lambda: self._publish(dialog))
        dialog.open()
        return dialog

    def _publish(self, dialog: UpdateDialog) -> None:
        if self.service is None:
            return
        try:
            self.service.publish_update(dialog.text(), dialog.targets())
        except Exception as exc:  # RoadmapError: plain words for the moderator
            self.notice_bar.show_notice("warning", str(exc))
            return
        self.notice_bar.show_notice(
            "info", "The roadmap update is on its way; the outbox shows each platform."
        )
