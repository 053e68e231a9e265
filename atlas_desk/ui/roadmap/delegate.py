"""Paints a roadmap card: title, number, votes, labels, assignees, community badge and origin.

Everything is drawn with ``QPainter.drawText`` on plain strings, so community text can never turn into markup.
Cards have one fixed height: the column views use uniform item sizes and lay out 500 cards at no cost.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from atlas_desk.ui.roadmap.model import CardRole, CardView

CARD_HEIGHT = 122
GAP = 8  # space between cards
PAD = 12
PLATFORM_WORDS = {"discord": "Discord", "github": "GitHub", "reddit": "Reddit"}
COMMUNITY_COLOUR = "#8250df"


def label_colour(name: str) -> QColor:
    """A stable, readable colour per label name."""
    digest = hashlib.sha256(name.encode()).digest()
    return QColor.fromHsl(digest[0] * 360 // 256, 150, 120)


def wrap_lines(text: str, fm: QFontMetrics, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap into at most ``max_lines`` lines; the last one is elided if text remains."""
    words = text.split()
    lines: list[str] = []
    current = ""
    while words:
        candidate = f"{current} {words[0]}".strip()
        if fm.horizontalAdvance(candidate) <= width or not current:
            current = candidate
            words.pop(0)
            if fm.horizontalAdvance(current) > width and len(lines) + 1 < max_lines:
                lines.append(fm.elidedText(current, Qt.TextElideMode.ElideRight, width))
                current = ""
            continue
        lines.append(current)
        current = ""
        if len(lines) == max_lines - 1:
            current = " ".join(words)
            words = []
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
    if lines:
        lines[-1] = fm.elidedText(lines[-1], Qt.TextElideMode.ElideRight, width)
    return lines


class CardDelegate(QStyledItemDelegate):
    """Draws one card per row; each drawn card is kept as a pixmap until what it shows changes."""

    CACHE = 400

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pixmaps: OrderedDict[tuple[object, ...], QPixmap] = OrderedDict()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(max(200, option.rect.width()), CARD_HEIGHT + GAP)

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        view: CardView | None = index.data(CardRole.Card)
        if view is None:
            return
        state = option.state & (QStyle.StateFlag.State_Selected | QStyle.StateFlag.State_MouseOver)
        dpr = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        key = (
            view.row.id,
            view.row.updated_at,
            view.row.status,
            view.row.pending,
            view.row.title,
            tuple(sorted(view.votes.items())),
            bool(state & QStyle.StateFlag.State_Selected),
            bool(state & QStyle.StateFlag.State_MouseOver),
            option.rect.width(),
            option.rect.height(),
            dpr,
            option.palette.cacheKey(),
        )
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            pixmap = QPixmap(option.rect.size() * dpr)
            pixmap.setDevicePixelRatio(dpr)
            pixmap.fill(Qt.GlobalColor.transparent)
            local = QStyleOptionViewItem(option)
            local.rect = QRect(0, 0, option.rect.width(), option.rect.height())
            p = QPainter(pixmap)
            self._draw(p, local, view)
            p.end()
            self._pixmaps[key] = pixmap
            while len(self._pixmaps) > self.CACHE:
                self._pixmaps.popitem(last=False)
        else:
            self._pixmaps.move_to_end(key)
        painter.drawPixmap(option.rect.topLeft(), pixmap)

    def _draw(self, painter: QPainter, option: QStyleOptionViewItem, view: CardView) -> None:
        row = view.row
        pal: QPalette = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        card = QRectF(option.rect.adjusted(4, GAP // 2, -4, -GAP // 2))
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        hovered = bool(option.state & QStyle.StateFlag.State_MouseOver)
        path = QPainterPath()
        path.addRoundedRect(card.adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        painter.fillPath(path, pal.color(QPalette.ColorRole.Base))
        border = pal.color(QPalette.ColorRole.Highlight) if selected else pal.color(QPalette.ColorRole.Mid)
        if hovered and not selected:
            border = pal.color(QPalette.ColorRole.Dark)
        pen = QPen(border, 2 if selected else 1)
        if row.pending:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawPath(path)

        text = pal.color(QPalette.ColorRole.Text)
        muted = pal.color(QPalette.ColorRole.PlaceholderText)
        inner = card.toRect().adjusted(PAD, PAD - 2, -PAD, -PAD + 2)
        base_font = QFont(option.font)

        # top line: number / draft, community badge, votes
        small = QFont(base_font)
        small.setPointSizeF(max(7.5, base_font.pointSizeF() - 1))
        sfm = QFontMetrics(small)
        painter.setFont(small)
        ident = f"#{row.number}" if row.number else "Draft"
        if row.pending:
            ident += " · sending…"
        painter.setPen(muted)
        top = QRect(inner.left(), inner.top(), inner.width(), sfm.height())
        painter.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, ident)
        votes_text = f"▲ {view.total_votes}"
        bold_small = QFont(small)
        bold_small.setBold(True)
        bfm = QFontMetrics(bold_small)
        vw = bfm.horizontalAdvance(votes_text) + 12
        vrect = QRectF(inner.right() - vw, top.top() - 1, vw, sfm.height() + 2)
        pill = QPainterPath()
        pill.addRoundedRect(vrect, vrect.height() / 2, vrect.height() / 2)
        accent = pal.color(QPalette.ColorRole.Highlight)
        wash = QColor(accent)
        wash.setAlpha(40)
        painter.fillPath(pill, wash)
        painter.setFont(bold_small)
        painter.setPen(text)
        painter.drawText(vrect, Qt.AlignmentFlag.AlignCenter, votes_text)
        right_edge = int(vrect.left()) - 6
        if view.community:
            painter.setFont(small)
            word = "Community"
            cw = sfm.horizontalAdvance(word) + 12
            crect = QRectF(right_edge - cw, top.top() - 1, cw, sfm.height() + 2)
            cpath = QPainterPath()
            cpath.addRoundedRect(crect, crect.height() / 2, crect.height() / 2)
            purple = QColor(COMMUNITY_COLOUR)
            painter.setPen(QPen(purple, 1))
            painter.drawPath(cpath)
            painter.drawText(crect, Qt.AlignmentFlag.AlignCenter, word)

        # title: up to two lines
        title_font = QFont(base_font)
        title_font.setWeight(QFont.Weight.DemiBold)
        tfm = QFontMetrics(title_font)
        painter.setFont(title_font)
        painter.setPen(text)
        y = top.bottom() + 5
        for line in wrap_lines(row.title, tfm, inner.width(), 2):
            painter.drawText(
                QRect(inner.left(), y, inner.width(), tfm.height()),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                line,
            )
            y += tfm.height()

        # labels as chips
        y = inner.top() + sfm.height() + 5 + 2 * tfm.height() + 6
        painter.setFont(small)
        x = inner.left()
        chip_h = sfm.height() + 2
        for shown, name in enumerate(row.labels):
            w = sfm.horizontalAdvance(name) + 12
            rest = len(row.labels) - shown
            if x + w > inner.right() - (sfm.horizontalAdvance(f"+{rest}") + 4 if rest > 1 else 0):
                painter.setPen(muted)
                painter.drawText(
                    QRect(x, y, inner.right() - x, chip_h),
                    Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                    f"+{rest}",
                )
                break
            colour = label_colour(name)
            chip = QRectF(x, y, w, chip_h)
            cpath = QPainterPath()
            cpath.addRoundedRect(chip, chip_h / 2, chip_h / 2)
            fill = QColor(colour)
            fill.setAlpha(45)
            painter.fillPath(cpath, fill)
            painter.setPen(QPen(colour, 1))
            painter.drawPath(cpath)
            painter.setPen(text)
            painter.drawText(chip, Qt.AlignmentFlag.AlignCenter, name)
            x += w + 4

        # bottom line: assignees, target month, origin
        y += chip_h + 6
        x = inner.left()
        for login in row.assignees[:3]:
            circle = QRectF(x, y, chip_h, chip_h)
            painter.setBrush(label_colour(login))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawEllipse(circle)
            painter.setPen(QColor("white"))
            painter.drawText(circle, Qt.AlignmentFlag.AlignCenter, login[:1].upper())
            x += chip_h + 4
        painter.setBrush(Qt.BrushStyle.NoBrush)
        bits = []
        if row.assignees:
            bits.append(row.assignees[0] + (f" +{len(row.assignees) - 1}" if len(row.assignees) > 1 else ""))
        if row.target_month:
            bits.append(row.target_month)
        origin = next((PLATFORM_WORDS.get(x.get("platform", ""), "") for x in row.links), "")
        if origin:
            bits.append(f"from {origin}")
        painter.setPen(muted)
        painter.drawText(
            QRect(x, y, inner.right() - x, chip_h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            sfm.elidedText("  ·  ".join(bits), Qt.TextElideMode.ElideRight, inner.right() - x),
        )
        painter.restore()
