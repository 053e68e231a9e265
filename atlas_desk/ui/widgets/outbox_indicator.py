"""The outbox in the status bar: how many actions wait to reach a platform and how many failed.

A click lists the failed actions with Retry and Discard. The widget reads through an ``OutboxSource`` (the
runtime's outbox service supplies one), so it knows nothing of the store.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from atlas_desk.core.types import OutboxAction
from atlas_desk.ui import icons
from atlas_desk.ui.widgets.empty_state import plain_label

log = logging.getLogger("atlas_desk.ui")


class OutboxSource(Protocol):
    """What the indicator needs from the outbox service."""

    def counts(self) -> tuple[int, int]:
        """(waiting, failed): waiting counts pending and sending actions."""

    def failed_actions(self) -> Sequence[OutboxAction]:
        """The failed actions, oldest first."""

    def retry(self, action_id: int) -> None:
        """Queue a failed action again."""

    def discard(self, action_id: int) -> None:
        """Give up on a failed action (its optimistic change is already rolled back)."""


class OutboxIndicator(QWidget):
    """``⇪ 2 waiting · 1 failed``; hidden text when all is sent."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("outboxIndicator")
        self.waiting = 0
        self.failed = 0
        self.glyph = QLabel(self)
        self.label = plain_label("", self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(5)
        layout.addWidget(self.glyph)
        layout.addWidget(self.label)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.set_counts(0, 0)

    def set_counts(self, waiting: int, failed: int) -> None:
        """Show the outbox counts."""
        self.waiting, self.failed = waiting, failed
        colour = self.palette().color(self.foregroundRole())
        self.glyph.setPixmap(icons.render("outbox", 14, colour))
        if failed:
            text = f"{waiting} waiting · {failed} failed" if waiting else f"{failed} failed"
            tip = "Some actions could not be sent. Click to retry or discard them."
        elif waiting:
            text = f"{waiting} waiting"
            tip = "Actions waiting to reach their platform."
        else:
            text = "All sent"
            tip = "Every action has reached its platform."
        self.label.setText(text)
        if failed:
            self.label.setStyleSheet("color: #e5534b; font-weight: 600;")
        else:
            self.label.setStyleSheet("")
        self.setToolTip(tip)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mousePressEvent(event)


class FailedActionsDialog(QDialog):
    """Failed outbox actions with Retry / Discard per selected row."""

    COLUMNS = ("Platform", "Action", "Target", "Attempts", "Error")

    def __init__(self, source: OutboxSource, parent: QWidget | None = None) -> None:
        # Item-view classes are imported here: creating their Python types costs ~4 ms, and the indicator
        # (this module) is built before the window's first paint.
        from PySide6.QtWidgets import QDialogButtonBox, QHeaderView, QTableWidget

        super().__init__(parent)
        self.setWindowTitle("Failed actions")
        self.source = source
        self.resize(760, 360)
        intro = plain_label(
            "These actions did not reach their platform. Retry sends them again; Discard drops them "
            "(the change was already undone in the desk).",
            self,
        )
        intro.setWordWrap(True)
        self.table = QTableWidget(0, len(self.COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.retry_button = QPushButton("Retry", self)
        self.discard_button = QPushButton("Discard", self)
        self.retry_button.clicked.connect(self._retry)
        self.discard_button.clicked.connect(self._discard)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.addButton(self.retry_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.discard_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.reload()

    def reload(self) -> None:
        """Read the failed actions again."""
        from PySide6.QtWidgets import QTableWidgetItem

        actions = list(self.source.failed_actions())
        self._ids = [a.id for a in actions]
        self.table.setRowCount(len(actions))
        for row, action in enumerate(actions):
            values = (
                action.platform.value,
                action.kind,
                action.target,
                str(action.attempts),
                action.last_error,
            )
            for col, value in enumerate(values):
                # QTableWidgetItem text is never interpreted as markup.
                self.table.setItem(row, col, QTableWidgetItem(value))
        has_rows = bool(actions)
        self.retry_button.setEnabled(has_rows)
        self.discard_button.setEnabled(has_rows)
        if has_rows:
            self.select_row(0)

    def select_row(self, row: int) -> None:
        """Select one row (``selectRow`` would toggle it while Ctrl is held)."""
        from PySide6.QtCore import QItemSelectionModel

        index = self.table.model().index(row, 0)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        selection = self.table.selectionModel()
        selection.select(index, flags)
        selection.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)

    def _selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self._ids[r] for r in rows if r < len(self._ids)]

    def _retry(self) -> None:
        for action_id in self._selected_ids():
            self.source.retry(action_id)
        self.reload()

    def _discard(self) -> None:
        for action_id in self._selected_ids():
            self.source.discard(action_id)
        self.reload()
