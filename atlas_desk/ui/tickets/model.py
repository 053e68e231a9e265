"""The ticket queue model: one row per ticket of the current view; community text stays plain text."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QBrush, QColor, QFont

from atlas_desk.core.sla import SlaPolicy, SlaState, format_left
from atlas_desk.core.types import Platform
from atlas_desk.store.tickets import TicketRow
from atlas_desk.ui import icons
from atlas_desk.ui.text import plain_tooltip

Index = QModelIndex | QPersistentModelIndex


class Role(enum.IntEnum):
    TICKET_ID = Qt.ItemDataRole.UserRole + 1
    SORT_KEY = Qt.ItemDataRole.UserRole + 2
    SLA_STATE = Qt.ItemDataRole.UserRole + 3


class Column(enum.IntEnum):
    STATUS = 0
    PRIORITY = 1
    SUBJECT = 2
    REQUESTER = 3
    ASSIGNEE = 4
    AGE = 5
    SLA = 6
    ACTIVITY = 7


HEADERS = ("Status", "Priority", "Subject", "Requester", "Assignee", "Age", "SLA", "Last activity")
STATUS_COLORS = {
    "new": "#3b82f6",
    "open": "#10b981",
    "pending": "#f59e0b",
    "resolved": "#8b5cf6",
    "closed": "#6b7280",
}
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
PRIORITY_COLORS = {"urgent": "#dc2626", "high": "#ea580c", "normal": "", "low": "#6b7280"}
SLA_COLORS = {SlaState.OK: "#15803d", SlaState.WARNING: "#c2410c", SlaState.BREACHED: "#dc2626"}


def span(seconds: float) -> str:
    """'3 d', '5 h', '12 m', 'now'."""
    s = max(int(seconds), 0)
    if s >= 86400:
        return f"{s // 86400} d"
    if s >= 3600:
        return f"{s // 3600} h"
    if s >= 60:
        return f"{s // 60} m"
    return "now"


class TicketQueueModel(QAbstractTableModel):
    """The tickets of one queue view. ``load`` replaces the rows (in place when the ids did not move)."""

    def __init__(
        self, policy: SlaPolicy, clock: Callable[[], datetime] | None = None, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self.policy = policy
        self.clock = clock or (lambda: datetime.now(UTC))
        self._rows: list[TicketRow] = []
        self._bold = QFont()
        self._bold.setBold(True)

    # -- loading --------------------------------------------------------------------------------------------

    def load(self, rows: Sequence[TicketRow]) -> None:
        """Show ``rows``: same ids in the same order → dataChanged; an append → insert; else a reset."""
        new_ids = [r.id for r in rows]
        old_ids = [r.id for r in self._rows]
        if new_ids == old_ids:
            self._rows = list(rows)
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(HEADERS) - 1))
            return
        if old_ids and new_ids[: len(old_ids)] == old_ids:
            self.beginInsertRows(QModelIndex(), len(old_ids), len(new_ids) - 1)
            self._rows = list(rows)
            self.endInsertRows()
            return
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def tick(self) -> None:
        """Time moved: ages and SLA columns change."""
        if self._rows:
            top = self.index(0, Column.AGE)
            self.dataChanged.emit(top, self.index(len(self._rows) - 1, Column.ACTIVITY))

    def ticket(self, row: int) -> TicketRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, ticket_id: int) -> int:
        return next((i for i, r in enumerate(self._rows) if r.id == ticket_id), -1)

    # -- Qt -------------------------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(HEADERS)
        ):
            return HEADERS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren

    def sla(self, t: TicketRow) -> tuple[SlaState, float]:
        now = self.clock()
        state = self.policy.state(t.opened_at, t.first_reply_at, now, status=t.status)
        return state, self.policy.seconds_left(t.opened_at, now)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        t = self._rows[index.row()]
        col = index.column()
        now = self.clock()
        if role == Role.TICKET_ID:
            return t.id
        if role == Role.SLA_STATE:
            return self.sla(t)[0].value
        if role == Qt.ItemDataRole.DisplayRole:
            if col == Column.STATUS:
                return t.status.capitalize()
            if col == Column.PRIORITY:
                return t.priority.capitalize()
            if col == Column.SUBJECT:
                return t.subject
            if col == Column.REQUESTER:
                return t.requester or t.requester_handle or "unknown"
            if col == Column.ASSIGNEE:
                return t.assignee or "—"
            if col == Column.AGE:
                return span((now - t.opened_at).total_seconds())
            if col == Column.SLA:
                state, left = self.sla(t)
                if state is SlaState.MET:
                    return "Answered"
                if state is SlaState.NONE:
                    return "—"
                return format_left(left)
            if col == Column.ACTIVITY:
                return span((now - t.last_activity_at).total_seconds()) + " ago"
        if role == Role.SORT_KEY:
            if col == Column.STATUS:
                return (
                    ("new", "open", "pending", "resolved", "closed").index(t.status)
                    if t.status in ("new", "open", "pending", "resolved", "closed")
                    else 9
                )
            if col == Column.PRIORITY:
                return PRIORITY_RANK.get(t.priority, 9)
            if col == Column.SUBJECT:
                return t.subject.casefold()
            if col == Column.REQUESTER:
                return (t.requester or "").casefold()
            if col == Column.ASSIGNEE:
                return t.assignee.casefold() or "~"
            if col == Column.AGE:
                return -t.opened_at.timestamp()
            if col == Column.SLA:
                state, left = self.sla(t)
                return left if state in (SlaState.OK, SlaState.WARNING, SlaState.BREACHED) else 1e12 + t.id
            if col == Column.ACTIVITY:
                return -t.last_activity_at.timestamp()
        if role == Qt.ItemDataRole.DecorationRole and col == Column.REQUESTER:
            try:
                return icons.platform_icon(Platform(t.platform))
            except ValueError:
                return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == Column.SLA:
                color = SLA_COLORS.get(self.sla(t)[0])
                return QBrush(QColor(color)) if color else None
            if col == Column.STATUS:
                return QBrush(QColor(STATUS_COLORS.get(t.status, "#6b7280")))
            if col == Column.PRIORITY and PRIORITY_COLORS.get(t.priority):
                return QBrush(QColor(PRIORITY_COLORS[t.priority]))
        if role == Qt.ItemDataRole.FontRole and (
            (col == Column.SUBJECT and t.extra.get("unread"))
            or (col == Column.SLA and self.sla(t)[0] is SlaState.BREACHED)
        ):
            return self._bold
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == Column.SLA:
                due = self.policy.due(t.opened_at).astimezone().strftime("%a %d %b %H:%M")
                return f"First reply due {due}"
            if col == Column.SUBJECT:
                return plain_tooltip(t.subject)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return self.data(index, Qt.ItemDataRole.DisplayRole)
        return None


class TicketSortProxy(QSortFilterProxyModel):
    """Sorts on ``Role.SORT_KEY`` (SLA due first by default)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(Role.SORT_KEY)
        self.setDynamicSortFilter(True)

    def lessThan(self, left: Index, right: Index) -> bool:
        a = left.data(Role.SORT_KEY)
        b = right.data(Role.SORT_KEY)
        if a is None or b is None or type(a) is not type(b):
            return str(a) < str(b)
        return bool(a < b)
