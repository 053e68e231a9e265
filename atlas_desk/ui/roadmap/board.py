"""The board's columns: a header with the column's name and count over a list view of cards.

Drag and drop only translates the gesture: ``ColumnView.dropEvent`` works out the column and the card the drop
landed below and calls ``RoadmapService.move_card(card, column, after_id)``. It never touches a model; the
store changes, the bus says so, and the pane moves the card (at once: the change is optimistic).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from PySide6.QtCore import QByteArray, QMimeData, QModelIndex, QPoint, QRect, Qt, Signal
from PySide6.QtGui import (
    QDrag,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QAbstractItemView, QFrame, QHBoxLayout, QLabel, QListView, QVBoxLayout, QWidget

from atlas_desk.ui.roadmap.delegate import CARD_HEIGHT, GAP, CardDelegate
from atlas_desk.ui.roadmap.model import MIME_TYPE, CardRole, ColumnModel

log = logging.getLogger("atlas_desk.ui.roadmap")

COLUMN_COLOURS = {
    "Under consideration": "#8a8f98",
    "Planned": "#2f81f7",
    "In progress": "#d29922",
    "Done": "#2ea44f",
}


class Mover(Protocol):
    """What a column view needs to move a card (``RoadmapService``)."""

    def move_card(self, item_id: int, column: str, after_id: int | None = None) -> Any: ...


def card_from_mime(mime: QMimeData) -> int | None:
    """The card id a drag carries, if it is one of the desk's roadmap cards."""
    if not mime.hasFormat(MIME_TYPE):
        return None
    head = bytes(mime.data(MIME_TYPE).data()).decode(errors="replace").split("\n", 1)[0]
    return int(head) if head.isdigit() else None


class ColumnView(QListView):
    """A column's cards; accepts card drops and turns them into ``move_card`` calls."""

    def __init__(self, model: ColumnModel, mover: Mover | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mover = mover
        self.column_model = model
        self.setModel(model)
        self.setObjectName(f"roadmapColumn:{model.column}")
        self.setItemDelegate(CardDelegate(self))
        self.setUniformItemSizes(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDropIndicatorShown(False)  # the view draws its own insertion line
        self.setMouseTracking(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.viewport().setAutoFillBackground(False)
        self.setSpacing(0)
        self._indicator_y: int | None = None

    # -- dragging out -------------------------------------------------------------------------------------

    def startDrag(self, supportedActions: Qt.DropAction) -> None:
        index = self.currentIndex()
        if not index.isValid():
            return
        mime = self.column_model.mimeData([index])
        drag = QDrag(self)
        drag.setMimeData(mime)
        rect = self.visualRect(index)
        pixmap = QPixmap(rect.size() * self.devicePixelRatioF())
        pixmap.setDevicePixelRatio(self.devicePixelRatioF())
        pixmap.fill(Qt.GlobalColor.transparent)
        self.viewport().render(pixmap, QPoint(), rect)
        drag.setPixmap(pixmap)
        drag.setHotSpot(self.viewport().mapFromGlobal(self.cursor().pos()) - rect.topLeft())
        # the drop's outcome is shown by the store and the bus, never by removing rows here
        drag.exec(Qt.DropAction.MoveAction, Qt.DropAction.MoveAction)

    # -- dropping in --------------------------------------------------------------------------------------

    def drop_target(self, pos: QPoint, card_id: int) -> int | None:
        """The card a drop at ``pos`` (viewport coordinates) lands below, None for the top of the column."""
        ids = self.column_model.ids
        index = self.indexAt(pos)
        if index.isValid():
            rect = self.visualRect(index)
            insert_at = index.row() + (1 if pos.y() >= rect.center().y() else 0)
        else:
            insert_at = len(ids)  # the empty space below the last card
        above = [i for i in ids[:insert_at] if i != card_id]
        return above[-1] if above else None

    def _indicator_for(self, pos: QPoint) -> int:
        index = self.indexAt(pos)
        n = self.model().rowCount()
        if index.isValid():
            rect = self.visualRect(index)
            return rect.bottom() if pos.y() >= rect.center().y() else rect.top()
        if n:
            return self.visualRect(self.model().index(n - 1, 0)).bottom()
        return 2

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if card_from_mime(event.mimeData()) is None:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.MoveAction)
        event.accept()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if card_from_mime(event.mimeData()) is None:
            event.ignore()
            return
        self._indicator_y = self._indicator_for(event.position().toPoint())
        self.viewport().update()
        event.setDropAction(Qt.DropAction.MoveAction)
        event.accept()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._indicator_y = None
        self.viewport().update()
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        self._indicator_y = None
        self.viewport().update()
        card_id = card_from_mime(event.mimeData())
        if card_id is None or self.mover is None:
            event.ignore()
            return
        after_id = self.drop_target(event.position().toPoint(), card_id)
        self.mover.move_card(card_id, self.column_model.column, after_id)
        event.setDropAction(Qt.DropAction.MoveAction)
        event.accept()

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._indicator_y is None:
            return
        painter = QPainter(self.viewport())
        painter.setPen(QPen(self.palette().highlight().color(), 3))
        y = max(2, self._indicator_y)
        painter.drawLine(6, y, self.viewport().width() - 6, y)
        painter.end()

    def select_card(self, card_id: int) -> bool:
        row = self.column_model.row_of(card_id)
        if row < 0:
            return False
        index = self.column_model.index(row)
        self.setCurrentIndex(index)
        self.scrollTo(index)
        return True

    def current_card(self) -> int | None:
        index = self.currentIndex()
        value = index.data(CardRole.Id) if index.isValid() else None
        return int(value) if value is not None else None

    def card_rect(self, card_id: int) -> QRect:
        """Where a card is drawn (viewport coordinates), for tests and the benchmark."""
        row = self.column_model.row_of(card_id)
        return self.visualRect(self.column_model.index(row)) if row >= 0 else QRect()

    def sizeHintForRow(self, row: int) -> int:
        return CARD_HEIGHT + GAP


class ColumnWidget(QFrame):
    """A column: coloured dot, name and count over the cards."""

    card_activated = Signal(int)

    def __init__(self, model: ColumnModel, mover: Mover | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("roadmapColumnFrame")
        self.model = model
        self.view = ColumnView(model, mover, self)
        header = QWidget(self)
        hl = QHBoxLayout(header)
        hl.setContentsMargins(10, 8, 10, 4)
        hl.setSpacing(8)
        self.dot = QLabel(header)
        self.dot.setFixedSize(12, 12)
        colour = COLUMN_COLOURS.get(model.column, "#8a8f98")
        self.dot.setStyleSheet(f"background: {colour}; border-radius: 6px;")
        self.name_label = QLabel(model.column, header)
        self.name_label.setTextFormat(Qt.TextFormat.PlainText)
        font = self.name_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() + 1)
        self.name_label.setFont(font)
        self.count_label = QLabel("0", header)
        self.count_label.setTextFormat(Qt.TextFormat.PlainText)
        self.count_label.setObjectName("roadmapCount")
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.count_label.setMinimumWidth(26)
        hl.addWidget(self.dot)
        hl.addWidget(self.name_label)
        hl.addWidget(self.count_label)
        hl.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(header)
        layout.addWidget(self.view, 1)
        self.view.clicked.connect(self._clicked)
        self.view.activated.connect(self._clicked)
        model.rowsInserted.connect(self.update_count)
        model.rowsRemoved.connect(self.update_count)
        self.setStyleSheet(
            "QFrame#roadmapColumnFrame { background: palette(alternate-base); border: 1px solid palette(mid);"
            " border-radius: 8px; }"
            "QLabel#roadmapCount { background: palette(midlight); border: 1px solid palette(mid);"
            " border-radius: 9px; padding: 0px 7px; }"
        )
        self.update_count()

    def update_count(self, *_args: Any) -> None:
        self.count_label.setText(str(self.model.rowCount()))

    def _clicked(self, index: QModelIndex) -> None:
        value = index.data(CardRole.Id)
        if value is not None:
            self.card_activated.emit(int(value))


def mime_for(card_id: int, column: str) -> QMimeData:
    """The mime data a card drag carries (the same bytes ``ColumnModel.mimeData`` makes)."""
    mime = QMimeData()
    mime.setData(MIME_TYPE, QByteArray(f"{card_id}\n{column}".encode()))
    return mime


__all__ = ["COLUMN_COLOURS", "ColumnView", "ColumnWidget", "card_from_mime", "mime_for"]
