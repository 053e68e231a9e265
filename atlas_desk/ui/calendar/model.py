"""Qt models of the calendar pane: the agenda, a contest's leaderboard and an AMA's question queue.

They hold what the calendar service returns (a few hundred rows at most) and refresh on ``EventsChanged``.
Community text is returned as plain strings; views show it as plain text.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import UTC as _UTC
from datetime import datetime, tzinfo
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from atlas_desk.core.calendar import LeaderboardEntry, PostStatus, QuestionGroup
from atlas_desk.store.calendar import EventRow
from atlas_desk.ui.text import plain_tooltip

Index = QModelIndex | QPersistentModelIndex
_NO_INDEX = QModelIndex()

KIND_LABELS = {"ama": "AMA", "contest": "Contest", "post": "Post"}
PLATFORM_LABELS = {"discord": "Discord", "github": "GitHub", "reddit": "Reddit"}
# Status chip colours (light backgrounds that keep dark text readable in both themes' table views).
STATUS_COLORS = {
    "scheduled": QColor("#dbeafe"),
    "active": QColor("#dcfce7"),
    "publishing": QColor("#fef3c7"),
    "published": QColor("#d1fae5"),
    "completed": QColor("#e5e7eb"),
    "canceled": QColor("#f3f4f6"),
    "failed": QColor("#fee2e2"),
}
KIND_COLORS = {"ama": QColor("#6366f1"), "contest": QColor("#d97706"), "post": QColor("#0d9488")}


class Role(enum.IntEnum):
    EVENT_ID = Qt.ItemDataRole.UserRole + 1
    KIND = enum.auto()
    STATUS = enum.auto()
    START_UTC = enum.auto()
    ITEM_IDS = enum.auto()


def local_text(dt: datetime, tz: tzinfo, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A time in the moderator's zone, with the zone's abbreviation."""
    local = dt.astimezone(tz)
    return f"{local.strftime(fmt)} {local.tzname() or ''}".strip()


class _Table(QAbstractTableModel):
    headers: tuple[str, ...] = ()
    _rows: Sequence[Any] = ()

    def rowCount(self, parent: Index = _NO_INDEX) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = _NO_INDEX) -> int:
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
        if horizontal and 0 <= section < len(self.headers):
            return self.headers[section]
        return None


class AgendaModel(_Table):
    """Events by start time: when (moderator's zone; UTC in the tooltip), kind, title, status, interested."""

    headers = ("When", "Kind", "Title", "Status", "Interested")
    WHEN, KIND, TITLE, STATUS, INTERESTED = range(5)

    def __init__(
        self, tz: tzinfo, status_of: Callable[[EventRow], PostStatus] | None = None, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self.tz = tz
        self.status_of = status_of
        self._rows: list[EventRow] = []
        self._status: dict[int, str] = {}

    def set_events(self, events: Sequence[EventRow]) -> None:
        """Show ``events``; an unchanged list of ids only refreshes cells (selection and scroll stay)."""
        status = {e.id: self._status_text(e) for e in events}
        if [e.id for e in events] == [e.id for e in self._rows]:
            self._rows = list(events)
            self._status = status
            if self._rows:
                self.dataChanged.emit(
                    self.index(0, 0), self.index(len(self._rows) - 1, len(self.headers) - 1)
                )
            return
        self.beginResetModel()
        self._rows = list(events)
        self._status = status
        self.endResetModel()

    def _status_text(self, event: EventRow) -> str:
        if event.kind == "post" and self.status_of is not None:
            return self.status_of(event).state
        return event.status

    def event_at(self, row: int) -> EventRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, event_id: int) -> int:
        return next((i for i, e in enumerate(self._rows) if e.id == event_id), -1)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        e = self._rows[index.row()]
        col = index.column()
        status = self._status.get(e.id, e.status)
        if role == Qt.ItemDataRole.DisplayRole:
            if col == self.WHEN:
                return local_text(e.starts_at, self.tz)
            if col == self.KIND:
                return KIND_LABELS.get(e.kind, e.kind)
            if col == self.TITLE:
                return e.title
            if col == self.STATUS:
                return status
            if col == self.INTERESTED:
                return str(e.interested) if e.kind == "ama" else ""
            return None
        if role == Qt.ItemDataRole.ToolTipRole and col == self.WHEN:
            end = f" – {e.ends_at.astimezone(_UTC):%Y-%m-%d %H:%M}" if e.ends_at is not None else ""
            return f"{e.starts_at.astimezone(_UTC):%Y-%m-%d %H:%M}{end} UTC (planned in {e.timezone})"
        if role == Qt.ItemDataRole.BackgroundRole and col == self.STATUS:
            return STATUS_COLORS.get(status)
        if role == Qt.ItemDataRole.ForegroundRole and col == self.STATUS:
            return QColor("#111827")
        if role == Qt.ItemDataRole.TextAlignmentRole and col == self.INTERESTED:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Role.EVENT_ID:
            return e.id
        if role == Role.KIND:
            return e.kind
        if role == Role.STATUS:
            return status
        if role == Role.START_UTC:
            return e.starts_at
        return None


class LeaderboardModel(_Table):
    """A contest's entries, ranked."""

    headers = ("#", "Votes", "Suggestion", "Where", "By")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[LeaderboardEntry] = []

    def set_entries(self, entries: Sequence[LeaderboardEntry]) -> None:
        self.beginResetModel()
        self._rows = list(entries)
        self.endResetModel()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        e = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return (
                (str(e.rank), str(e.votes), e.title, PLATFORM_LABELS.get(e.platform, e.platform), e.author)[
                    index.column()
                ]
                if 0 <= index.column() < 5
                else None
            )
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 2:
            return plain_tooltip(e.url)
        if role == Role.EVENT_ID:
            return e.item_id
        return None


class QuestionModel(_Table):
    """An AMA's questions, near-duplicates grouped; the checkbox marks a group answered."""

    headers = ("Answered", "Votes", "Question", "Where")

    def __init__(
        self, on_answered: Callable[[list[int], bool], None] | None = None, parent: Any = None
    ) -> None:
        super().__init__(parent)
        self.on_answered = on_answered
        self._rows: list[QuestionGroup] = []

    def set_groups(self, groups: Sequence[QuestionGroup]) -> None:
        self.beginResetModel()
        self._rows = list(groups)
        self.endResetModel()

    def group_at(self, row: int) -> QuestionGroup | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.isValid() and index.column() == 0:
            return base | Qt.ItemFlag.ItemIsUserCheckable
        return base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        g = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and col == 0:
            return Qt.CheckState.Checked if g.answered else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 1:
                return str(g.votes)
            if col == 2:
                text = " ".join((g.lead.title + " " + g.lead.body).split())
                return text + (f"  (+{len(g.others)} similar)" if g.others else "")
            if col == 3:
                where = {PLATFORM_LABELS.get(i.platform, i.platform) for i in (g.lead, *g.others)}
                return ", ".join(sorted(where))
            return None
        if role == Qt.ItemDataRole.ToolTipRole and col == 2 and g.others:
            return plain_tooltip("\n".join(" ".join(o.body.split()) for o in g.others))
        if role == Role.ITEM_IDS:
            return g.item_ids
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != 0 or role != Qt.ItemDataRole.CheckStateRole:
            return False
        g = self._rows[index.row()]
        checked = Qt.CheckState(value) == Qt.CheckState.Checked if not isinstance(value, bool) else value
        g.answered = checked
        self.dataChanged.emit(index, index, [role])
        if self.on_answered is not None:
            self.on_answered(g.item_ids, checked)
        return True
