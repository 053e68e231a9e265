"""The inbox list: a one-column table whose visible rows are painted in one pass.

``QTableView.paintEvent`` builds a style option and calls into Python for every cell it shows (the model's
``flags`` and ``rowCount``, then the delegate's ``paint``, each with fresh wrappers). At about thirty rows a
frame that was a quarter of a jump's repaint. This view keeps everything else of ``QTableView`` (selection,
keys, scrolling, accessibility) and paints the rows the event exposes straight through
``InboxDelegate.paint_row``, with one option reused for the rows the style draws a panel under.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QCursor, QPainter, QPaintEvent
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem, QTableView

from atlas_desk.ui.inbox.delegate import InboxDelegate
from atlas_desk.ui.inbox.model import Column, InboxModel

_SELECTED = QStyle.StateFlag.State_Selected.value
_HOVER = QStyle.StateFlag.State_MouseOver.value
_FOCUS = QStyle.StateFlag.State_HasFocus.value
_ROW_STATES = _SELECTED | _HOVER | _FOCUS


class InboxList(QTableView):
    """``QTableView`` over ``InboxModel`` with ``InboxDelegate`` painting whole rows."""

    def paintEvent(self, event: QPaintEvent) -> None:
        model = self.model()
        delegate = self.itemDelegate()
        if not isinstance(model, InboxModel) or not isinstance(delegate, InboxDelegate):
            super().paintEvent(event)
            return
        count = model.rowCount()
        area = event.rect()
        first = self.rowAt(area.top())
        if count == 0 or first < 0:
            return  # nothing here, or only the empty space below the last row (the background is filled)
        last = self.rowAt(area.bottom())
        if last < 0:
            last = count - 1
        x = self.columnViewportPosition(Column.SUBJECT)
        width = self.columnWidth(Column.SUBJECT)
        height = self.verticalHeader().defaultSectionSize()

        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        base = option.state.value & ~_ROW_STATES
        palette = option.palette
        font = option.font

        selected: set[int] = set()
        selection = self.selectionModel()
        if selection is not None:
            ranges = selection.selection()  # ranges, so "select all" over a million rows is one
            for i in range(ranges.size()):
                span = ranges.at(i)
                selected.update(range(max(span.top(), first), min(span.bottom(), last) + 1))
        current = self.currentIndex().row() if self.hasFocus() else -1
        hover = -1
        viewport = self.viewport()
        if viewport.testAttribute(Qt.WidgetAttribute.WA_Hover) and viewport.underMouse():  # as Qt tracks it
            hover = self.rowAt(viewport.mapFromGlobal(QCursor.pos()).y())

        painter = QPainter(viewport)
        try:
            for number in range(first, last + 1):
                state = base
                if number in selected:
                    state |= _SELECTED
                if number == hover:
                    state |= _HOVER
                if number == current:
                    state |= _FOCUS
                rect = QRect(x, self.rowViewportPosition(number), width, height)
                if state != base:  # the style draws this row's panel from the option
                    option.rect = rect
                    option.state = QStyle.StateFlag(state)
                delegate.paint_row(painter, option, state, rect, palette, font, model, number)
        finally:
            painter.end()


__all__ = ["InboxList"]
