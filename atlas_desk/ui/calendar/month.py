"""The month view: a 6 × 7 grid of days with the events of each day as chips, in the moderator's time zone.

Today is outlined. A chip's tooltip gives its time in UTC too. Dragging a chip to another day only translates
the gesture: it emits ``reschedule_requested(event_id, new_start)`` (same local time of day, new date) and the
pane hands that to the calendar service, which sends the change to the platform through the outbox.
"""

from __future__ import annotations

import calendar as pycal
from datetime import UTC, date, datetime, timedelta, tzinfo

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QHelpEvent, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QToolTip, QWidget

from atlas_desk.store.calendar import EventRow
from atlas_desk.ui.calendar.model import KIND_COLORS, KIND_LABELS
from atlas_desk.ui.text import plain_tooltip

HEADER_H = 24
CHIP_H = 18
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class MonthView(QWidget):
    """Paints one month; events come from ``set_events``."""

    event_selected = Signal(int)
    edit_requested = Signal(int)
    reschedule_requested = Signal(int, object)  # event id, new aware start (datetime)
    month_changed = Signal(object)  # the first day of the month shown (date)

    def __init__(self, tz: tzinfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tz = tz
        self.setObjectName("calendarMonth")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(560, 420)
        self._today: date = datetime.now(UTC).astimezone(tz).date()
        self._first: date = self._today.replace(day=1)
        self._events: list[EventRow] = []
        self._by_day: dict[date, list[EventRow]] = {}
        self._status: dict[int, str] = {}
        self._selected: int | None = None
        self._pressed: tuple[int, QPoint] | None = None
        self._dragging = False
        self._drop_day: date | None = None

    # -- data --------------------------------------------------------------------------------------------

    def set_today(self, today: date) -> None:
        self._today = today
        self.update()

    def today(self) -> date:
        return self._today

    def set_month(self, first: date) -> None:
        self._first = first.replace(day=1)
        self.month_changed.emit(self._first)
        self.update()

    def month(self) -> date:
        return self._first

    def step(self, months: int) -> None:
        m = self._first.month - 1 + months
        self.set_month(date(self._first.year + m // 12, m % 12 + 1, 1))

    def visible_range(self) -> tuple[datetime, datetime]:
        """The first and last instants the grid shows (aware, in the moderator's zone)."""
        start = self.grid_start()
        first = datetime(start.year, start.month, start.day, tzinfo=self.tz)
        return first, first + timedelta(days=42)

    def grid_start(self) -> date:
        return self._first - timedelta(days=self._first.weekday())

    def set_events(self, events: list[EventRow], status: dict[int, str] | None = None) -> None:
        self._events = list(events)
        self._status = dict(status or {})
        self._by_day = {}
        for e in events:
            self._by_day.setdefault(e.starts_at.astimezone(self.tz).date(), []).append(e)
        self.update()

    def select(self, event_id: int | None) -> None:
        self._selected = event_id
        self.update()

    # -- geometry ------------------------------------------------------------------------------------------

    def _cell_size(self) -> QSize:
        return QSize(max(1, self.width() // 7), max(1, (self.height() - HEADER_H) // 6))

    def cell_rect(self, day: date) -> QRect:
        """Where ``day`` is drawn (an empty rect if it is not in the grid)."""
        offset = (day - self.grid_start()).days
        if not 0 <= offset < 42:
            return QRect()
        size = self._cell_size()
        return QRect(
            (offset % 7) * size.width(), HEADER_H + (offset // 7) * size.height(), size.width(), size.height()
        )

    def day_at(self, pos: QPoint) -> date | None:
        size = self._cell_size()
        if pos.y() < HEADER_H:
            return None
        col, row = pos.x() // size.width(), (pos.y() - HEADER_H) // size.height()
        if not (0 <= col < 7 and 0 <= row < 6):
            return None
        return self.grid_start() + timedelta(days=row * 7 + col)

    def _chips(self, day: date) -> list[tuple[EventRow, QRect]]:
        cell = self.cell_rect(day)
        if cell.isNull():
            return []
        out: list[tuple[EventRow, QRect]] = []
        room = max(0, (cell.height() - 20) // (CHIP_H + 2))
        for i, e in enumerate(self._by_day.get(day, [])[:room]):
            out.append((e, QRect(cell.x() + 3, cell.y() + 20 + i * (CHIP_H + 2), cell.width() - 6, CHIP_H)))
        return out

    def chip_rect(self, event_id: int) -> QRect:
        """Where an event's chip is (an empty rect if it is not visible)."""
        for day in self._by_day:
            for e, rect in self._chips(day):
                if e.id == event_id:
                    return rect
        return QRect()

    def event_at(self, pos: QPoint) -> EventRow | None:
        day = self.day_at(pos)
        if day is None:
            return None
        return next((e for e, rect in self._chips(day) if rect.contains(pos)), None)

    # -- painting ------------------------------------------------------------------------------------------

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.color(QPalette.ColorRole.Base))
        size = self._cell_size()
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        for i, name in enumerate(_WEEKDAYS):
            p.drawText(QRect(i * size.width(), 0, size.width(), HEADER_H), Qt.AlignmentFlag.AlignCenter, name)
        grid = QColor(pal.color(QPalette.ColorRole.Mid))
        for offset in range(42):
            day = self.grid_start() + timedelta(days=offset)
            cell = self.cell_rect(day)
            in_month = day.month == self._first.month
            if not in_month:
                p.fillRect(cell, pal.color(QPalette.ColorRole.AlternateBase))
            if self._dragging and day == self._drop_day:
                p.fillRect(cell, QColor(99, 102, 241, 40))
            p.setPen(QPen(grid, 1))
            p.setBrush(Qt.BrushStyle.NoBrush)  # chips leave their fill set
            p.drawRect(cell.adjusted(0, 0, -1, -1))
            number = QRect(cell.x() + 4, cell.y() + 2, cell.width() - 8, 16)
            if day == self._today:
                p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
                p.drawRect(cell.adjusted(1, 1, -2, -2))
                p.setPen(pal.color(QPalette.ColorRole.Highlight))
                p.drawText(number, Qt.AlignmentFlag.AlignLeft, f"{day.day}  Today")
            else:
                role = QPalette.ColorRole.Text if in_month else QPalette.ColorRole.PlaceholderText
                p.setPen(pal.color(role))
                p.drawText(number, Qt.AlignmentFlag.AlignLeft, str(day.day))
            chips = self._chips(day)
            for e, rect in chips:
                self._paint_chip(p, e, rect)
            hidden = len(self._by_day.get(day, [])) - len(chips)
            if hidden > 0:
                p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
                p.drawText(number, Qt.AlignmentFlag.AlignRight, f"+{hidden} more")
        p.end()

    def _paint_chip(self, p: QPainter, e: EventRow, rect: QRect) -> None:
        color = QColor(KIND_COLORS.get(e.kind, QColor("#64748b")))
        status = self._status.get(e.id, e.status)
        if status in ("canceled", "failed"):
            color.setAlpha(110)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(color)
        p.drawRoundedRect(rect, 4, 4)
        if e.id == self._selected:
            p.setPen(QPen(self.palette().color(QPalette.ColorRole.Text), 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 4, 4)
        p.setPen(QColor("white"))
        local = e.starts_at.astimezone(self.tz)
        mark = {"failed": "⚠ ", "canceled": "✕ ", "published": "✓ "}.get(status, "")
        # drawText with a plain string never interprets markup: community titles stay text.
        text = f"{mark}{local:%H:%M} {e.title}"
        if e.kind == "ama" and e.interested:
            text += f" · {e.interested}★"
        elided = p.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, rect.width() - 8)
        p.drawText(
            rect.adjusted(4, 0, -4, 0), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, elided
        )

    # -- interaction ---------------------------------------------------------------------------------------

    def tooltip_for(self, e: EventRow) -> str:
        """Local time, UTC time and status of an event (plain text)."""
        local = e.starts_at.astimezone(self.tz)
        utc = e.starts_at.astimezone(UTC)
        status = self._status.get(e.id, e.status)
        lines = [
            f"{KIND_LABELS.get(e.kind, e.kind)}: {e.title}",
            f"{local:%a %d %b %Y %H:%M} {local.tzname() or ''}",
            f"{utc:%Y-%m-%d %H:%M} UTC",
            f"Status: {status}",
        ]
        if e.kind == "ama":
            lines.append(f"Interested: {e.interested}")
        return "\n".join(lines)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            e = self.event_at(event.pos())
            if e is not None:
                # QToolTip treats text as rich if it looks like HTML: escape it by wrapping in a plain block.
                QToolTip.showText(event.globalPos(), plain_tooltip(self.tooltip_for(e), wrap=False), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            pos = event.position().toPoint()
            e = self.event_at(pos)
            if e is not None:
                self._pressed = (e.id, pos)
                self.select(e.id)
                self.event_selected.emit(e.id)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pressed is not None:
            pos = event.position().toPoint()
            if (pos - self._pressed[1]).manhattanLength() >= 6:
                self._dragging = True
                self._drop_day = self.day_at(pos)
                self.setCursor(Qt.CursorShape.ClosedHandCursor)
                self.update()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        pressed, dragging = self._pressed, self._dragging
        self._pressed, self._dragging = None, False
        self.unsetCursor()
        if pressed is not None and dragging:
            day = self.day_at(event.position().toPoint())
            self._drop_day = None
            self.update()
            moved = next((e for e in self._events if e.id == pressed[0]), None)
            if day is not None and moved is not None:
                local = moved.starts_at.astimezone(self.tz)
                if day != local.date():
                    # Same wall-clock time on the new day, in the moderator's zone (DST-aware).
                    new = datetime(day.year, day.month, day.day, local.hour, local.minute, tzinfo=self.tz)
                    self.reschedule_requested.emit(moved.id, new)
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        e = self.event_at(event.position().toPoint())
        if e is not None:
            self.edit_requested.emit(e.id)
        super().mouseDoubleClickEvent(event)


def month_days(first: date) -> int:
    return pycal.monthrange(first.year, first.month)[1]
