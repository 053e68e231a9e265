"""Paints one whole inbox row: platform mark, where, who, title and snippet (search matches highlighted),
age and votes. The view shows one column and this delegate lays the row out itself: one paint call per row,
reading the row straight from ``InboxModel`` (no round trips through QVariant per field), so a jump anywhere
in a million rows repaints within a frame. Text is always painted as plain text with QPainter.drawText, never
through a rich-text document, so markup in community text stays inert; the text is
``InboxModel.display_parts``, already passed through ``ui.text.inert`` (invisible characters marked), and
painting is clipped to the row."""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QIcon,
    QPainter,
    QPalette,
    QPixmap,
    QStaticText,
    QTransform,
)
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from atlas_desk.core.types import Platform
from atlas_desk.ui.inbox.model import InboxModel, age_text

log = logging.getLogger("atlas_desk.ui")

ROW_HEIGHT = 28
ICON_SIZE = 16
_PAD = 6
CONTAINER_WIDTH = 150
AUTHOR_WIDTH = 130
AGE_WIDTH = 40
VOTES_WIDTH = 48
STATIC_TEXTS = 4000  # laid-out containers, authors, ages and votes kept

# The state bits as plain ints: testing a Python enum flag costs a few enum calls, and a jump paints ~30 rows.
_SELECTED = QStyle.StateFlag.State_Selected.value
_ACTIVE = QStyle.StateFlag.State_Active.value
_DECORATED = (
    QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_MouseOver | QStyle.StateFlag.State_HasFocus
).value

PLATFORM_COLOURS = {"discord": "#5865F2", "github": "#24292f", "reddit": "#FF4500"}
HIGHLIGHT_COLOUR = QColor(255, 214, 10, 150)
_ELIDE = Qt.TextElideMode.ElideRight


@functools.cache
def _platform_pixmap(platform: str, size: int) -> QPixmap:
    """The platform's mark at ``size``, or a coloured letter badge when there is no icon for it."""
    icon: QIcon | None = None
    try:
        from atlas_desk.ui import icons

        icon = icons.platform_icon(Platform(platform))
    except Exception:  # an unknown platform or a missing resource: the letter badge stands in
        log.debug("no icon for platform %r", platform, exc_info=True)
    if icon is not None and not icon.isNull():
        return icon.pixmap(size, size)
    return _letter_badge(platform, size)


def _letter_badge(platform: str, size: int) -> QPixmap:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(PLATFORM_COLOURS.get(platform, "#808080")))
    painter.drawRoundedRect(0, 0, size, size, 4, 4)
    painter.setPen(QColor("white"))
    font = QFont()
    font.setBold(True)
    font.setPixelSize(int(size * 0.7))
    painter.setFont(font)
    painter.drawText(QRect(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, (platform[:1] or "?").upper())
    painter.end()
    return pixmap


ELLIPSIS = "\u2026"


def _average_advance(metrics: QFontMetrics) -> int:
    """The font's average glyph advance (cached on the metrics object)."""
    average: int | None = getattr(metrics, "_atlas_average", None)
    if average is None:
        average = max(1, metrics.averageCharWidth())
        metrics._atlas_average = average  # type: ignore[attr-defined]
    return average


def _fit_width(text: str, metrics: QFontMetrics, width: int) -> tuple[str, int]:
    """``text`` elided to ``width`` pixels and the width it takes, shaping little more of it than shows.

    Shaping is what costs in a paint, and a snippet is often far longer than its row: text is cut to one and
    a half times what glyphs of average width would fill (and then marked as going on) before it is shaped,
    and shaped once (the width of an elided run is taken as the whole width). Text of unusually narrow
    glyphs may so end a little short of the edge; it never runs over it.
    """
    if width <= 0:
        return "", 0
    cap = width * 3 // (2 * _average_advance(metrics)) + 2
    if len(text) <= cap:
        advance = metrics.horizontalAdvance(text)
        if advance <= width:
            return text, advance
    else:
        text = text[:cap] + ELLIPSIS
    return metrics.elidedText(text, _ELIDE, width), width


def _fit(text: str, metrics: QFontMetrics, width: int) -> str:
    """``text`` elided to ``width`` pixels (see ``_fit_width``)."""
    return _fit_width(text, metrics, width)[0]


class InboxDelegate(QStyledItemDelegate):
    """Row painter for ``InboxModel`` in a one-column, fixed-row-height ``QTableView``."""

    def __init__(self, view: QWidget) -> None:
        super().__init__(view)
        # Kept here rather than read from ``option.widget`` (avoids a wrapper round trip per paint).
        self._view = view
        self._base_font: QFont | None = None
        self._fonts: dict[tuple[bool, bool], tuple[QFont, QFontMetrics]] = {}
        # Containers, authors and ages repeat from row to row: lay each out once (plain text, never rich).
        self._static: OrderedDict[tuple[str, int, bool], QStaticText] = OrderedDict()
        # Cells painted once, laid out when seen again (an insertion-ordered set).
        self._seen: OrderedDict[tuple[str, int, bool], None] = OrderedDict()
        self._colours: dict[tuple[int, bool, bool], tuple[QColor, QColor]] = {}

    def _static_text(
        self, text: str, width: int, bold: bool, font: QFont, metrics: QFontMetrics
    ) -> QStaticText:
        key = (text, width, bold)
        found = self._static.get(key)
        if found is None:
            if len(self._static) >= STATIC_TEXTS:
                # The oldest goes, one per new one: clearing thousands at once held a frame for ~10 ms.
                self._static.popitem(last=False)
            found = QStaticText(_fit(text, metrics, width))
            found.setTextFormat(Qt.TextFormat.PlainText)
            found.prepare(QTransform(), font)
            self._static[key] = found
        return found

    def _draw_cell(
        self,
        painter: QPainter,
        x: int,
        top: int,
        text: str,
        width: int,
        bold: bool,
        font: QFont,
        metrics: QFontMetrics,
    ) -> None:
        """Paint a container or author cell: laid out once it repeats, drawn straight the first time.

        A jump into a million rows meets mostly authors not seen before, and laying out text that is never
        painted again costs twice what drawing it does. Both ways put the glyphs on the same pixels.
        """
        if text.isascii() and self._base_font is not None:
            # The unshaped font for ASCII (see ``_font``), both ways, so a cell's glyphs never move.
            cell_font, cell_metrics = self._font(self._base_font, bold, True)
            painter.setFont(cell_font)
        else:
            cell_font, cell_metrics = font, metrics
        key = (text, width, bold)
        found = self._static.get(key)
        if found is None and key not in self._seen:
            if len(self._seen) >= STATIC_TEXTS * 4:
                self._seen.popitem(last=False)
            self._seen[key] = None
            painter.drawText(x, top + cell_metrics.ascent(), _fit(text, cell_metrics, width))
        else:
            if found is None:
                found = self._static_text(text, width, bold, cell_font, cell_metrics)
            painter.drawStaticText(x, top, found)
        if cell_font is not font:
            painter.setFont(font)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        # A constant: the view never asks the model for every row's size.
        return QSize(400, ROW_HEIGHT)

    def _font(self, base: QFont, bold: bool, ascii_only: bool = False) -> tuple[QFont, QFontMetrics]:
        """The row font (bold or not) and its metrics; ``ascii_only``: the one for text all in ASCII."""
        if self._base_font is None or self._base_font != base:
            self._base_font = QFont(base)
            self._fonts.clear()
            self._static.clear()
            self._seen.clear()
        found = self._fonts.get((bold, ascii_only))
        if found is None:
            font = QFont(base)
            font.setBold(bold)
            if ascii_only:
                # ASCII needs no shaping: drawn without HarfBuzz's optional features (kerning, ligatures),
                # a jump-scroll repaint takes ~15 % less. Only for ASCII, as Qt then also skips shaping
                # Arabic, drawing it unjoined and in the wrong direction.
                font.setStyleStrategy(QFont.StyleStrategy.PreferNoShaping)
            found = (font, QFontMetrics(font))
            self._fonts[(bold, ascii_only)] = found
        return found

    def _run_font(self, base: QFont, bold: bool, text: str) -> tuple[QFont, QFontMetrics]:
        """The font to draw a title or snippet with: the unshaped one when it is all ASCII."""
        return self._font(base, bold, text.isascii())

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        model = index.model()
        if not isinstance(model, InboxModel):
            super().paint(painter, option, index)
            return
        self.paint_row(
            painter, option, option.state.value, option.rect, option.palette, option.font, model, index.row()
        )

    def paint_row(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        state: int,
        r: QRect,
        palette: QPalette,
        base_font: QFont,
        model: InboxModel,
        number: int,
    ) -> None:
        """Paint row ``number`` of ``model`` into ``r``; ``state`` is the style state as an int.

        ``option`` is read only for a selected, hovered or focused row (the style draws its panel), and must
        then carry ``state`` and ``r``; the list view calls this straight for every row it shows.
        """
        selected = bool(state & _SELECTED)
        if state & _DECORATED:
            # Selection and hover backgrounds come from the style; plain rows need no panel.
            view = self._view
            style = view.style() if view is not None else QApplication.style()
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, view)
        row = model.row_at(number)
        if row is None:
            return
        parts = model.display_parts(row)
        colour_key = (palette.cacheKey(), selected, bool(state & _ACTIVE))
        colours = self._colours.get(colour_key)
        if colours is None:
            group = QPalette.ColorGroup.Active if colour_key[2] else QPalette.ColorGroup.Inactive
            text = palette.color(
                group, QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
            )
            faint = QColor(text)
            if not selected:
                faint.setAlpha(150)
            if len(self._colours) > 16:
                self._colours.clear()
            colours = self._colours[colour_key] = (text, faint)
        colour, muted = colours
        plain, plain_fm = self._font(base_font, False)
        strong, strong_fm = self._font(base_font, True)
        font, fm = (plain, plain_fm) if row.read else (strong, strong_fm)

        top, height = r.y(), r.height()
        x = r.x() + _PAD
        right = r.right() - _PAD

        # Baseline of one vertically centred line; the point overload of drawText skips QTextLayout.
        baseline = top + (height + fm.ascent() - fm.descent()) // 2
        painter.save()
        # Stacked combining marks ("Zalgo" text) draw far above and below their line: keep them in this row.
        painter.setClipRect(r, Qt.ClipOperation.IntersectClip)
        try:
            painter.drawPixmap(x, top + (height - ICON_SIZE) // 2, _platform_pixmap(row.platform, ICON_SIZE))
            x += ICON_SIZE + _PAD

            painter.setFont(plain)
            painter.setPen(muted)
            text_top = top + (height - fm.height()) // 2
            age = self._static_text(age_text(row.created_ts), AGE_WIDTH, False, plain, plain_fm)
            painter.drawStaticText(right - int(age.size().width()), text_top, age)
            right -= AGE_WIDTH + _PAD
            if parts.votes:
                painter.setPen(colour)
                votes = self._static_text(parts.votes, VOTES_WIDTH, False, plain, plain_fm)
                painter.drawStaticText(right - int(votes.size().width()), text_top, votes)
            right -= VOTES_WIDTH + _PAD

            painter.setPen(muted)
            container_w = min(CONTAINER_WIDTH, max(0, right - x))
            self._draw_cell(painter, x, text_top, parts.container, container_w, False, plain, plain_fm)
            x += container_w + _PAD

            painter.setFont(font)
            painter.setPen(colour)
            author_w = min(AUTHOR_WIDTH, max(0, right - x))
            self._draw_cell(painter, x, text_top, parts.author, author_w, not row.read, font, fm)
            x += author_w + _PAD

            bold = not row.read
            if parts.prefix:
                x = self._draw_run(
                    painter, x, right, top, height, baseline, parts.prefix, (), font, fm, colour
                )
            if parts.title:
                title_font, title_fm = self._run_font(base_font, bold, parts.title)
                x = self._draw_run(
                    painter,
                    x,
                    right,
                    top,
                    height,
                    baseline,
                    parts.title,
                    parts.title_spans,
                    title_font,
                    title_fm,
                    colour,
                )
                if parts.snippet:
                    x = self._draw_run(
                        painter, x, right, top, height, baseline, " — ", (), plain, plain_fm, muted
                    )
            if parts.snippet:
                # Without a title the snippet is the message itself: bold while unread.
                snippet_font, snippet_fm = self._run_font(base_font, bold and not parts.title, parts.snippet)
                self._draw_run(
                    painter,
                    x,
                    right,
                    top,
                    height,
                    baseline,
                    parts.snippet,
                    parts.snippet_spans,
                    snippet_font,
                    snippet_fm,
                    muted if parts.title else colour,
                )
        finally:
            painter.restore()

    @staticmethod
    def _draw_run(
        painter: QPainter,
        x: int,
        right: int,
        top: int,
        height: int,
        baseline: int,
        text: str,
        spans: Sequence[tuple[int, int]],
        font: QFont,
        metrics: QFontMetrics,
        colour: QColor,
    ) -> int:
        """Paint ``text`` from ``x`` (eliding at ``right``), match spans on a marker; returns the new x."""
        available = right - x
        if available <= 0:
            return x
        shown, advance = _fit_width(text, metrics, available)
        for start, end in spans:
            if start >= len(shown):
                continue
            end = min(end, len(shown))
            left = x + metrics.horizontalAdvance(shown[:start])
            width = metrics.horizontalAdvance(shown[start:end])
            painter.fillRect(QRect(left, top + 4, width, height - 8), HIGHLIGHT_COLOUR)
        painter.setFont(font)
        painter.setPen(colour)
        painter.drawText(x, baseline, shown)
        return x + advance
