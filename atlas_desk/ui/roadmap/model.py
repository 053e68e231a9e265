"""One Qt list model per board column: card ids inside, rows read on demand through a small cache.

A column's order comes from the store (``RoadmapService.column_ids``); ``set_ids`` applies a new order with
the smallest row signals (remove, insert, move), never a reset for a single moved card, so the view keeps its
selection and scroll position. Drag and drop carries the card id in the desk's own mime type; the model never
changes itself on a drop (the view calls ``RoadmapService.move_card``, the store changes, the pane refreshes).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractListModel, QByteArray, QMimeData, QModelIndex, QPersistentModelIndex, Qt

from atlas_desk.core.roadmap import VOTE_SOURCES, is_community_driven
from atlas_desk.store.roadmap import RoadmapRow
from atlas_desk.ui.text import plain_tooltip

MIME_TYPE = "application/x-atlas-desk-roadmap-card"
CACHE_SIZE = 256

Index = QModelIndex | QPersistentModelIndex


class CardRole(enum.IntEnum):
    """Custom data roles of a card."""

    Id = Qt.ItemDataRole.UserRole + 1
    Card = enum.auto()  # the CardView
    Title = enum.auto()
    Number = enum.auto()
    Votes = enum.auto()
    Community = enum.auto()
    Pending = enum.auto()


@dataclass(frozen=True, slots=True)
class CardView:
    """What a card shows, computed once per cache fill."""

    row: RoadmapRow
    votes: dict[str, int]

    @property
    def total_votes(self) -> int:
        return sum(self.votes.values())

    @property
    def community(self) -> bool:
        return is_community_driven(self.row)

    @property
    def origin_url(self) -> str:
        for link in self.row.links:
            if link.get("url"):
                return link["url"]
        return ""

    def tooltip_text(self) -> str:
        """Plain text: the title, the votes per platform and the keyboard moves."""
        lines = [self.row.title]
        if self.row.number:
            lines[0] += f"  #{self.row.number}"
        lines.append("")
        lines.append(f"{self.total_votes} votes in all")
        for key, label in VOTE_SOURCES.items():
            if key in self.votes:
                lines.append(f"  {label}: {self.votes[key]}")
        if self.row.why_note:
            lines += ["", f"Why: {self.row.why_note}"]
        if self.row.pending:
            lines += ["", "Being sent to GitHub…"]
        lines += ["", "Move: Ctrl+Left / Ctrl+Right (column), Ctrl+Up / Ctrl+Down (order)"]
        return "\n".join(lines)


class ColumnModel(QAbstractListModel):
    """The cards of one column, by id; rows come from ``load`` (ids → CardView) through a bounded cache."""

    def __init__(
        self,
        column: str,
        load: Callable[[Sequence[int]], dict[int, CardView]],
        parent: Any = None,
    ) -> None:
        super().__init__(parent)
        self.column = column
        self._load = load
        self._ids: list[int] = []
        self._cache: OrderedDict[int, CardView] = OrderedDict()

    # -- Qt model API -------------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._ids)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        card_id = self._ids[index.row()]
        if role == CardRole.Id:
            return card_id
        view = self.view(card_id)
        if view is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole or role == CardRole.Title:
            return view.row.title
        if role == CardRole.Card:
            return view
        if role == CardRole.Number:
            return view.row.number
        if role == CardRole.Votes:
            return view.total_votes
        if role == CardRole.Community:
            return view.community
        if role == CardRole.Pending:
            return view.row.pending
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(view.tooltip_text())
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{view.row.title}, {view.total_votes} votes"
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsDropEnabled
        if not index.isValid():
            return base
        return base | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def mimeTypes(self) -> list[str]:
        return [MIME_TYPE]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        mime = QMimeData()
        ids = [str(self._ids[i.row()]) for i in indexes if i.isValid() and 0 <= i.row() < len(self._ids)]
        if ids:
            mime.setData(MIME_TYPE, QByteArray(f"{ids[0]}\n{self.column}".encode()))
        return mime

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def supportedDropActions(self) -> Qt.DropAction:
        return Qt.DropAction.MoveAction

    def dropMimeData(self, *_args: Any) -> bool:
        return False  # drops go to RoadmapService through the view, never into the model

    # -- the pane's API -----------------------------------------------------------------------------------

    @property
    def ids(self) -> list[int]:
        return list(self._ids)

    def row_of(self, card_id: int) -> int:
        try:
            return self._ids.index(card_id)
        except ValueError:
            return -1

    def view(self, card_id: int) -> CardView | None:
        found = self._cache.get(card_id)
        if found is not None:
            self._cache.move_to_end(card_id)
            return found
        # fill the cache with a window around the card: a paint asks for neighbouring rows next
        row = self.row_of(card_id)
        window = self._ids[max(0, row - 20) : row + 40] if row >= 0 else [card_id]
        missing = [i for i in window if i not in self._cache]
        for cid, view in self._load(missing).items():
            self._cache[cid] = view
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return self._cache.get(card_id)

    def invalidate(self, ids: Sequence[int]) -> None:
        """Forget cached cards and repaint their rows (their text or votes changed)."""
        for card_id in ids:
            self._cache.pop(card_id, None)
            row = self.row_of(card_id)
            if row >= 0:
                index = self.index(row)
                self.dataChanged.emit(index, index)

    def invalidate_all(self) -> None:
        self._cache.clear()
        if self._ids:
            self.dataChanged.emit(self.index(0), self.index(len(self._ids) - 1))

    def set_ids(self, new_ids: Sequence[int]) -> None:
        """Show ``new_ids`` in this order with remove / insert / move signals (no reset)."""
        target = list(new_ids)
        wanted = set(target)
        # removals, bottom up so rows stay valid
        for row in range(len(self._ids) - 1, -1, -1):
            if self._ids[row] not in wanted:
                self.beginRemoveRows(QModelIndex(), row, row)
                self._cache.pop(self._ids[row], None)
                del self._ids[row]
                self.endRemoveRows()
        present = set(self._ids)
        # insertions at their final rows, top down
        for row, card_id in enumerate(target):
            if card_id not in present:
                at = min(row, len(self._ids))
                self.beginInsertRows(QModelIndex(), at, at)
                self._ids.insert(at, card_id)
                self.endInsertRows()
        # moves: bring each row's card into place
        for row, card_id in enumerate(target):
            if self._ids[row] == card_id:
                continue
            src = self._ids.index(card_id, row)
            self.beginMoveRows(QModelIndex(), src, src, QModelIndex(), row)
            self._ids.insert(row, self._ids.pop(src))
            self.endMoveRows()
