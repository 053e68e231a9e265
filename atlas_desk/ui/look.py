"""The desk's look: the Fusion style on Linux, a palette that follows the system's light/dark colour scheme.

Widgets take their colours from the palette and re-tint on ``PaletteChange``, so switching the scheme while
the desk runs repaints everything. ``ATLAS_DESK_COLOR_SCHEME=dark|light`` forces a scheme (screenshots,
testing).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

log = logging.getLogger("atlas_desk.ui")

SCHEME_ENV = "ATLAS_DESK_COLOR_SCHEME"


# The desk's few style rules. palette(...) references resolve against the palette in force when the sheet is
# set, so the sheet is set again whenever the palette changes.
STYLE_SHEET = """
QTabWidget#paneTabs::pane { border: none; border-top: 1px solid palette(mid); }
QTabWidget#paneTabs > QTabBar::tab {
    padding: 8px 18px 7px 14px; margin: 0; border: none; border-bottom: 2px solid transparent;
    background: transparent; color: palette(placeholder-text);
}
QTabWidget#paneTabs > QTabBar::tab:selected {
    color: palette(window-text); border-bottom: 2px solid palette(highlight);
}
QTabWidget#paneTabs > QTabBar::tab:hover:!selected {
    color: palette(window-text); background: palette(midlight);
}
QStatusBar { border-top: 1px solid palette(mid); }
QStatusBar::item { border: none; }
QWidget#statusSeparator { background: palette(mid); }
QLabel#statusMessage { padding-left: 8px; }
QLabel#emptyStateDetail, QLabel#fieldHint { color: palette(placeholder-text); }
"""

# Flat scrollbars of opaque solid rectangles, for Fusion. Fusion paints a scrollbar with gradients and
# outlines a full track long; the raster engine splits a fill of that many lines across Qt's GUI thread pool
# and waits for it, so every scroll of the inbox waited 1-5 ms on other threads (and 2 ms of drawing) for its
# scrollbar alone. Solid rectangles take the engine's direct fill. Colours: {track} {handle} {hover}.
SCROLLBAR_SHEET = """
QScrollBar {{ background: {track}; border: none; margin: 0; }}
QScrollBar:vertical {{ width: 12px; }}
QScrollBar:horizontal {{ height: 12px; }}
QScrollBar::handle {{ background: {handle}; border: none; margin: 2px; }}
QScrollBar::handle:hover, QScrollBar::handle:pressed {{ background: {hover}; }}
QScrollBar::handle:vertical {{ min-height: 32px; }}
QScrollBar::handle:horizontal {{ min-width: 32px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ width: 0; height: 0; border: none; background: none; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: none; }}
"""


def _mix(a: QColor, b: QColor, amount: float) -> str:
    """``a`` moved ``amount`` of the way to ``b``, opaque, as ``#rrggbb``."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * amount),
        round(a.green() + (b.green() - a.green()) * amount),
        round(a.blue() + (b.blue() - a.blue()) * amount),
    ).name()


def style_sheet(app: QApplication) -> str:
    """The desk's style sheet for ``app``'s current palette, with flat scrollbars where the desk uses Fusion
    (Linux, see ``install_look``); native styles keep their own scrollbars."""
    if not sys.platform.startswith("linux"):
        return STYLE_SHEET
    palette = app.palette()
    base = palette.color(QPalette.ColorRole.Base)
    window = palette.color(QPalette.ColorRole.Window)
    text = palette.color(QPalette.ColorRole.Text)
    return STYLE_SHEET + SCROLLBAR_SHEET.format(
        track=_mix(base, window, 0.5), handle=_mix(base, text, 0.28), hover=_mix(base, text, 0.45)
    )


def dark_palette() -> QPalette:
    """A calm dark palette for the Fusion style."""
    p = QPalette()
    window, base, text = QColor("#1f2329"), QColor("#16191d"), QColor("#e6e8eb")
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor("#1c2025"),
        QPalette.ColorRole.ToolTipBase: QColor("#2b3038"),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor("#9198a1"),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor("#2b3038"),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor("#ff7b72"),
        QPalette.ColorRole.Highlight: QColor("#3f6fd8"),
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: QColor("#6ea8fe"),
        QPalette.ColorRole.LinkVisited: QColor("#b392f0"),
        QPalette.ColorRole.Light: QColor("#3a404a"),
        QPalette.ColorRole.Midlight: QColor("#30353e"),
        QPalette.ColorRole.Mid: QColor("#262a31"),
        QPalette.ColorRole.Dark: QColor("#121417"),
        QPalette.ColorRole.Shadow: QColor("#000000"),
    }
    for role, colour in roles.items():
        p.setColor(role, colour)
    disabled = QColor("#6b7280")
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def light_palette() -> QPalette:
    """Fusion's own light palette, with a slightly warmer placeholder colour for secondary text."""
    app = QApplication.instance()
    style = app.style() if isinstance(app, QApplication) else None
    p = style.standardPalette() if style is not None else QPalette()
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor("#6a737d"))
    return p


def is_dark(palette: QPalette) -> bool:
    """Whether a palette draws light text on a dark window."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def wanted_scheme(app: QGuiApplication, system: Qt.ColorScheme | None = None) -> Qt.ColorScheme:
    """The scheme to show: forced by the environment, else the system's (``system`` if given)."""
    forced = os.environ.get(SCHEME_ENV, "").strip().lower()
    if forced == "dark":
        return Qt.ColorScheme.Dark
    if forced == "light":
        return Qt.ColorScheme.Light
    return system if system is not None else app.styleHints().colorScheme()


def apply_scheme(app: QApplication, system: Qt.ColorScheme | None = None) -> None:
    """Make the palette match the wanted colour scheme (``system``: the scheme the system just reported)."""
    if not sys.platform.startswith("linux") and not os.environ.get(SCHEME_ENV):
        app.setStyleSheet(style_sheet(app))
        return  # Windows and macOS styles follow the system scheme on their own
    scheme = wanted_scheme(app, system)
    current_dark = is_dark(app.palette())
    if scheme == Qt.ColorScheme.Dark and not current_dark:
        app.setPalette(dark_palette())
    elif scheme != Qt.ColorScheme.Dark:
        app.setPalette(light_palette())
    app.setStyleSheet(style_sheet(app))
    log.debug("colour scheme: %s", scheme)


def install_look(app: QApplication) -> Callable[[], None]:
    """Choose the style and palette, and follow the system's colour scheme from now on.

    Returns a function that stops following it (tests).
    """
    if sys.platform.startswith("linux") and app.style().name().lower() != "fusion":
        # Fusion draws the same everywhere and honours the palette fully, which the dark scheme needs.
        app.setStyle("Fusion")
    apply_scheme(app)

    def follow(scheme: Qt.ColorScheme) -> None:
        apply_scheme(app, scheme)

    hints = app.styleHints()
    hints.colorSchemeChanged.connect(follow)

    def stop() -> None:
        hints.colorSchemeChanged.disconnect(follow)

    return stop
