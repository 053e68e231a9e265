"""A slim bar above the panes telling the moderator something in plain words (a failed action, a warning).

It shows the newest notice; older ones stay in a short history reachable from "Earlier". Text is always plain.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from atlas_desk.ui.widgets.empty_state import plain_label

LEVEL_COLOURS = {"info": "#2f81f7", "warning": "#d29922", "error": "#e5534b"}
LEVEL_WORDS = {"info": "Note", "warning": "Warning", "error": "Problem"}


@dataclass(frozen=True, slots=True)
class ShownNotice:
    level: str
    text: str
    area: str = ""


class NoticeBar(QFrame):
    """Shows the latest notice with a Dismiss button; hidden when there is nothing to say."""

    dismissed = Signal()
    HISTORY = 50

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noticeBar")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAutoFillBackground(True)
        self.history: deque[ShownNotice] = deque(maxlen=self.HISTORY)

        self.level_label = QLabel(self)
        self.level_label.setTextFormat(Qt.TextFormat.PlainText)
        self.text_label = plain_label("", self)
        self.text_label.setObjectName("noticeText")
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.earlier_button = QPushButton("Earlier…", self)
        self.earlier_button.setFlat(True)
        self.earlier_button.clicked.connect(self.show_history)
        self.dismiss_button = QPushButton("Dismiss", self)
        self.dismiss_button.setFlat(True)
        self.dismiss_button.setToolTip("Hide this notice (Esc)")
        self.dismiss_button.clicked.connect(self.dismiss)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 8, 6)
        layout.addWidget(self.level_label)
        layout.addWidget(self.text_label, 1)
        layout.addWidget(self.earlier_button)
        layout.addWidget(self.dismiss_button)
        self.hide()

    def show_notice(self, level: str, text: str, area: str = "") -> None:
        """Show a notice (plain text, whatever it contains)."""
        level = level if level in LEVEL_COLOURS else "info"
        notice = ShownNotice(level, text, area)
        self.history.append(notice)
        words = LEVEL_WORDS[level] + (f" · {area}" if area else "")
        self.level_label.setText(words)
        self.text_label.setText(text)
        self.earlier_button.setVisible(len(self.history) > 1)
        self._tint(level)
        self.show()

    def dismiss(self) -> None:
        """Hide the bar until the next notice."""
        self.hide()
        self.dismissed.emit()

    def show_history(self) -> None:
        """List the earlier notices in a plain-text message box."""
        from PySide6.QtWidgets import QMessageBox  # its Python type is made on first use, not at start-up

        lines = [f"{LEVEL_WORDS[n.level]}{' · ' + n.area if n.area else ''}: {n.text}" for n in self.history]
        box = QMessageBox(
            QMessageBox.Icon.Information, "Notices", "Recent notices, newest last:", parent=self
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setDetailedText("\n".join(lines))
        box.exec()

    def _tint(self, level: str) -> None:
        # A light wash of the level's colour over the window colour keeps the text's contrast in light and
        # dark schemes.
        parent = self.parentWidget()
        base = parent.palette() if parent is not None else self.palette()
        window = base.color(QPalette.ColorRole.Window)
        accent = QColor(LEVEL_COLOURS[level])
        mix = QColor(
            round(window.red() * 0.82 + accent.red() * 0.18),
            round(window.green() * 0.82 + accent.green() * 0.18),
            round(window.blue() * 0.82 + accent.blue() * 0.18),
        )
        palette = QPalette(base)
        palette.setColor(QPalette.ColorRole.Window, mix)
        self.setPalette(palette)
        font = self.level_label.font()
        font.setBold(True)
        self.level_label.setFont(font)
