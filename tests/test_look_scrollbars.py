"""The desk's flat scrollbars under Fusion: solid opaque colours from the palette, following the scheme.

Fusion's own scrollbar is gradients and outlines a track long, which Qt's raster engine fills on its thread
pool while the GUI thread waits; the inbox's jump-scroll frame paid 1-5 ms for it (BENCHMARKS.md)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QListWidget

from atlas_desk.ui import look


@pytest.fixture
def desk_look(qapp):  # type: ignore[no-untyped-def]
    saved_style, saved_palette, saved_sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    stop = look.install_look(qapp)
    yield qapp
    stop()
    qapp.setStyleSheet(saved_sheet)
    qapp.setStyle(saved_style)
    qapp.setPalette(saved_palette)


def scrollbar_columns(qtbot, qapp) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    """The colours down the middle of a long list's vertical scrollbar: (above the handle, in the handle)."""
    view = QListWidget()
    qtbot.addWidget(view)
    view.addItems([f"row {n}" for n in range(5000)])
    view.resize(300, 400)
    view.show()
    qtbot.waitExposed(view)
    bar = view.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    image = bar.grab().toImage()
    x = image.width() // 2
    column = [image.pixelColor(x, y).name() for y in range(image.height())]
    handle_top = next(y for y, c in enumerate(column) if c != column[0])
    return set(column[:handle_top]), set(column[handle_top + 4 : handle_top + 20])


def test_scrollbars_are_flat_solid_colours_of_the_palette(qtbot, desk_look) -> None:  # type: ignore[no-untyped-def]
    track, handle = scrollbar_columns(qtbot, desk_look)
    assert len(track) == 1, track  # no gradient, no outline along the track
    assert len(handle) == 1, handle
    assert track != handle
    sheet = desk_look.styleSheet()
    assert f"background: {track.pop()}" in sheet
    assert f"background: {handle.pop()}" in sheet


def test_scrollbar_colours_follow_the_colour_scheme(qtbot, desk_look) -> None:  # type: ignore[no-untyped-def]
    desk_look.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    light_track, _ = scrollbar_columns(qtbot, desk_look)
    desk_look.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    dark_track, dark_handle = scrollbar_columns(qtbot, desk_look)
    assert QColor(light_track.pop()).lightness() > 200
    assert QColor(dark_track.pop()).lightness() < 60
    assert QColor(dark_handle.pop()).lightness() > 60  # the handle stands out from a dark track
