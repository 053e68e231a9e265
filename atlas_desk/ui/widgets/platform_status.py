"""One platform's connection state for the status bar: its mark, a coloured dot and the state in words.

The reason (why offline, what to configure) is in the tooltip. A click asks for that platform's settings.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

from atlas_desk.core.types import ConnectionState, Platform
from atlas_desk.ui import icons
from atlas_desk.ui.widgets.empty_state import plain_label

PLATFORM_NAMES: dict[Platform, str] = {
    Platform.DISCORD: "Discord",
    Platform.GITHUB: "GitHub",
    Platform.REDDIT: "Reddit",
}


class PlatformStatus(QWidget):
    """Shows ``<mark> Discord ● live``; the tooltip says why."""

    clicked = Signal(object)  # Platform

    def __init__(self, platform: Platform, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.platform = platform
        self.setObjectName(f"platformStatus-{platform.value}")
        self._state = ConnectionState.NOT_CONFIGURED
        self._reason = ""

        self.mark = QLabel(self)
        self.name_label = plain_label(PLATFORM_NAMES[platform], self)
        self.dot = QLabel(self)
        self.state_label = plain_label("", self)
        self.state_label.setObjectName("platformState")

        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 0)
        layout.setSpacing(5)
        layout.addWidget(self.mark)
        layout.addWidget(self.name_label)
        layout.addSpacing(2)
        layout.addWidget(self.dot)
        layout.addWidget(self.state_label)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._refresh_icons()
        self.set_state(ConnectionState.NOT_CONFIGURED, "")

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def reason(self) -> str:
        return self._reason

    def state_text(self) -> str:
        """The state as shown, e.g. "live"."""
        return self.state_label.text()

    def set_state(self, state: ConnectionState, reason: str = "") -> None:
        """Show a new state; ``reason`` (plain words) goes to the tooltip."""
        self._state = state
        self._reason = reason
        self.state_label.setText(state.value)
        self.dot.setPixmap(icons.state_dot(state, 10))
        name = PLATFORM_NAMES[self.platform]
        tip = f"{name}: {state.value}"
        if reason:
            tip += f"\n{reason}"
        if state is ConnectionState.NOT_CONFIGURED:
            tip += "\nClick to open the settings."
        # Tooltips guess rich text like labels do, and the reason may quote a server's answer: take the
        # deliberate rich path, escaping everything.
        self.setToolTip("<qt>" + html.escape(tip).replace("\n", "<br>") + "</qt>")
        self.setAccessibleName(tip)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.platform)
        super().mousePressEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.DevicePixelRatioChange:
            self._refresh_icons()
            self.dot.setPixmap(icons.state_dot(self._state, 10))
        super().changeEvent(event)

    def _refresh_icons(self) -> None:
        self.mark.setPixmap(icons.platform_icon(self.platform).pixmap(16, 16))
