"""An empty state: what will appear in a pane and what to do to get it there.

Knows nothing of the app: the pane gives it the words, the glyph name and what the button does.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from atlas_desk.ui import icons


def plain_label(text: str = "", parent: QWidget | None = None) -> QLabel:
    """A QLabel that never interprets its text as rich text (community text is untrusted)."""
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    return label


class EmptyState(QWidget):
    """Centred glyph, headline, explanation, a hint on what to configure, and an optional action button."""

    action_triggered = Signal()

    GLYPH_SIZE = 72

    def __init__(
        self,
        glyph: str,
        headline: str,
        detail: str = "",
        hint: str = "",
        action_text: str = "",
        parent: QWidget | None = None,
    ) -> None:
        # Imported here, not at module level: plain_label is used before the window's first paint, and the
        # Python types of QFont and QSizePolicy take a few ms to create.
        from PySide6.QtGui import QFont
        from PySide6.QtWidgets import QSizePolicy

        super().__init__(parent)
        self._glyph = glyph

        self.glyph_label = QLabel(self)
        self.glyph_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.headline_label = plain_label(headline, self)
        self.headline_label.setObjectName("emptyStateHeadline")
        self.headline_label.setWordWrap(True)
        self.headline_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.45)
        font.setWeight(QFont.Weight.DemiBold)
        self.headline_label.setFont(font)

        self.detail_label = plain_label(detail, self)
        self.detail_label.setObjectName("emptyStateDetail")
        self.detail_label.setWordWrap(True)
        self.detail_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail_label.setVisible(bool(detail))

        # Extra rows a pane may add (e.g. the platforms it needs and their state).
        self.extra_layout = QVBoxLayout()
        self.extra_layout.setSpacing(4)

        self.hint_label = plain_label(hint, self)
        self.hint_label.setWordWrap(True)
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint_label.setVisible(bool(hint))

        self.action_button = QPushButton(action_text, self)
        self.action_button.setVisible(bool(action_text))
        self.action_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.action_button.clicked.connect(self.action_triggered)

        column = QVBoxLayout()
        column.setSpacing(10)
        column.addWidget(self.glyph_label)
        column.addSpacing(6)
        column.addWidget(self.headline_label)
        column.addWidget(self.detail_label)
        column.addSpacing(6)
        column.addLayout(self.extra_layout)
        column.addWidget(self.hint_label)
        column.addSpacing(4)
        button_row = QHBoxLayout()
        button_row.addStretch(1)
        button_row.addWidget(self.action_button)
        button_row.addStretch(1)
        column.addLayout(button_row)

        holder = QWidget(self)
        holder.setLayout(column)
        # A readable measure: long lines of centred text are hard to scan.
        holder.setMaximumWidth(560)
        holder.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

        outer = QVBoxLayout(self)
        outer.addStretch(2)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(holder, 4)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(3)
        self._apply_palette()

    def set_hint(self, text: str) -> None:
        """Change the line on what to configure."""
        self.hint_label.setText(text)
        self.hint_label.setVisible(bool(text))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_palette()
        super().changeEvent(event)

    def _apply_palette(self) -> None:
        # The glyph uses the palette's muted colour, so it follows light/dark changes (the detail text's muted
        # colour comes from the desk's style sheet, ``ui/look.py``).
        if self._glyph and not self._glyph.replace("-", "").isascii():
            # A pane may pass an emoji instead of an icon name: show it as large plain text.
            self.glyph_label.setTextFormat(Qt.TextFormat.PlainText)
            self.glyph_label.setText(self._glyph)
            from PySide6.QtGui import QFont

            font = QFont(self.font())
            font.setPixelSize(round(self.GLYPH_SIZE * 0.8))
            self.glyph_label.setFont(font)
            return
        self.glyph_label.setPixmap(icons.pane_pixmap(self._glyph, self.GLYPH_SIZE, self.palette()))
