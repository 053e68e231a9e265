"""Icons from the project's own ``resources/`` (packaged as ``atlas_desk.resources``).

Platform marks keep their platform's colour; pane glyphs are drawn in black and tinted with the current
palette so they follow the light/dark colour scheme. Icons come from SVG at the device pixel ratio asked for,
so they stay crisp at 200 % scaling.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

from atlas_desk.core.types import ConnectionState, Platform

log = logging.getLogger("atlas_desk.ui")

_FALLBACK_DIR = Path(__file__).resolve().parents[2] / "resources" / "icons"

# Colours of the state dots: chosen to read on both light and dark backgrounds.
STATE_COLOURS: dict[ConnectionState, str] = {
    ConnectionState.NOT_CONFIGURED: "#8a8f98",
    ConnectionState.CONNECTING: "#e0a526",
    ConnectionState.LIVE: "#2ea44f",
    ConnectionState.RECONNECTING: "#e0a526",
    ConnectionState.OFFLINE: "#d73a49",
}


@functools.cache
def _icons_dir() -> Path:
    """The ``icons`` folder of the ``atlas_desk.resources`` package.

    Found through the import system's spec rather than ``importlib.resources`` (10 ms to import at start-up);
    the package is a plain directory in every way the desk is installed (wheel, editable, bundle).
    """
    spec = importlib.util.find_spec("atlas_desk.resources")
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "icons"
        if candidate.is_dir():
            return candidate
    return _FALLBACK_DIR


@functools.cache
def icon_path(name: str) -> str | None:
    """The file of ``resources/icons/<name>.svg``, or None if there is no such icon."""
    path = _icons_dir() / f"{name}.svg"
    return str(path) if path.is_file() else None


@functools.cache
def icon_bytes(name: str) -> bytes:
    """The SVG source of ``resources/icons/<name>.svg``."""
    return (_icons_dir() / f"{name}.svg").read_bytes()


def _device_ratio() -> float:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return max(1.0, float(app.devicePixelRatio()))
    return 1.0


def render(name: str, size: int, tint: QColor | None = None, ratio: float | None = None) -> QPixmap:
    """Render an SVG icon to a pixmap of ``size`` logical pixels, optionally tinted with one colour."""
    dpr = ratio if ratio is not None else _device_ratio()
    return _render(name, size, tint.rgba() if tint is not None else None, dpr)


@functools.lru_cache(maxsize=256)
def _render(name: str, size: int, tint_rgba: int | None, dpr: float) -> QPixmap:
    # Cached: the same glyphs are drawn in many places (status bar, empty states, tabs); QPixmap is shared.
    tint = QColor.fromRgba(tint_rgba) if tint_rgba is not None else None
    px = max(1, round(size * dpr))
    # Qt's SVG icon engine draws the glyph in C++, so the window's first paint waits for no Python
    # QSvgRenderer (and the QXmlStreamReader type its overloads pull in); same pixels (the icons are square).
    path = icon_path(name)
    pixmap = QIcon(path).pixmap(QSize(px, px), 1.0) if path is not None else QPixmap()
    if pixmap.isNull() or pixmap.width() != px or pixmap.height() != px:
        pixmap = _render_with_qtsvg(name, px)  # no SVG icon engine plugin, or no such file (raises OSError)
    if tint is not None:
        # A solid pixmap drawn with SourceIn, not fillRect: fillRect's overloads make PySide create the
        # QGradient type (a few ms of enums) before the window's first paint.
        solid = QPixmap(px, px)
        solid.fill(tint)
        painter = QPainter(pixmap)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
        painter.drawPixmap(0, 0, solid)
        painter.end()
    pixmap.setDevicePixelRatio(dpr)
    return pixmap


def _render_with_qtsvg(name: str, px: int) -> QPixmap:
    from PySide6.QtCore import QByteArray
    from PySide6.QtSvg import QSvgRenderer

    pixmap = QPixmap(px, px)
    pixmap.fill(Qt.GlobalColor.transparent)
    renderer = QSvgRenderer(QByteArray(icon_bytes(name)))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, px, px))
    painter.end()
    return pixmap


def icon(name: str, tint: QColor | None = None, sizes: tuple[int, ...] = (16, 32)) -> QIcon:
    """A QIcon that stays crisp at any size and scale.

    Untinted icons use Qt's SVG icon engine, which renders each requested size on demand; tinted ones get
    pixmaps for ``sizes`` at 1× and 2×.
    """
    if tint is None:
        path = icon_path(name)
        if path is not None:
            return QIcon(path)
    result = QIcon()
    for size in sizes:
        for ratio in (1.0, 2.0):
            result.addPixmap(render(name, size, tint, ratio))
    return result


def app_icon() -> QIcon:
    """The Atlas Desk application icon."""
    return icon("atlas-desk")


def platform_icon(platform: Platform) -> QIcon:
    """The project's own mark for a platform, in the platform's colour."""
    return icon(platform.value)


def pane_pixmap(glyph: str, size: int, palette: QPalette | None = None) -> QPixmap:
    """A glyph (``"tickets"``, ``"pane-tickets"`` or any icon name) tinted with the palette's placeholder text
    colour (muted, scheme-aware). An unknown glyph gives an empty pixmap rather than an error."""
    pal = palette if palette is not None else QApplication.palette()
    colour = pal.color(QPalette.ColorRole.PlaceholderText)
    for name in (glyph if glyph.startswith("pane-") else f"pane-{glyph}", glyph):
        if icon_path(name) is not None:
            return render(name, size, colour)
    log.warning("no icon named %r in resources/icons", glyph)
    return QPixmap()


def state_dot(state: ConnectionState, size: int = 10) -> QPixmap:
    """A filled circle in the colour of a connection state (hollow for "not configured")."""
    dpr = _device_ratio()
    px = max(1, round(size * dpr))
    pixmap = QPixmap(px, px)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = QColor(STATE_COLOURS[state])
    inset = max(1.0, px * 0.12)
    rect = QRectF(inset, inset, px - 2 * inset, px - 2 * inset)
    if state is ConnectionState.NOT_CONFIGURED:
        pen = painter.pen()
        pen.setColor(colour)
        pen.setWidthF(max(1.0, px * 0.14))
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
    else:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
    painter.drawEllipse(rect)
    painter.end()
    pixmap.setDevicePixelRatio(dpr)
    return pixmap


def icon_size(size: int) -> QSize:
    """A square QSize, for ``setIconSize``."""
    return QSize(size, size)
