"""Plain-Qt pieces of the insights pane: number tiles with a target bar, the 7×24 heatmap and the table
   models.

No charting library here: these are cheap to build in ``__init__`` and show the first numbers before the
charts.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPaintEvent, QPalette
from PySide6.QtWidgets import QFrame, QSizePolicy, QVBoxLayout, QWidget

from atlas_desk.ui.widgets.empty_state import plain_label

if TYPE_CHECKING:  # the metrics module is imported when the numbers are, not with the pane
    from atlas_desk.core.metrics import Helper, ModeratorLoad

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # as in core.metrics

PLATFORM_COLOURS = {"discord": "#5865f2", "github": "#8b949e", "reddit": "#ff4500"}
PLATFORM_NAMES = {"discord": "Discord", "github": "GitHub", "reddit": "Reddit"}
GOOD, WARN, BAD = QColor("#2ea44f"), QColor("#e0a526"), QColor("#d73a49")


class TargetBar(QWidget):
    """A thin bar filled to ``value / maximum`` with a tick at ``target``; green once the target is met."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value = 0.0
        self.maximum = 1.0
        self.target: float | None = None
        self.higher_is_better = True
        self.segments: list[tuple[float, QColor]] = []  # when set: a stacked bar of parts, no target
        self.setMinimumHeight(14)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(160, 14)

    def set_values(
        self, value: float, maximum: float, target: float | None, higher_is_better: bool = True
    ) -> None:
        self.value, self.maximum, self.target = value, max(maximum, 1e-9), target
        self.higher_is_better = higher_is_better
        self.segments = []
        self.update()

    def set_segments(self, parts: Sequence[tuple[float, QColor]]) -> None:
        """Show the parts of a whole side by side (e.g. suggestions per platform)."""
        self.segments = [(v, c) for v, c in parts if v > 0]
        self.target = None
        self.update()

    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(0, 4, self.width() - 1, 7)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(self.palette().color(QPalette.ColorRole.Midlight))
        p.drawRoundedRect(r, 3.5, 3.5)
        if self.segments:
            total = sum(v for v, _c in self.segments)
            x = r.x()
            p.save()
            clip = QPainterPath()
            clip.addRoundedRect(r, 3.5, 3.5)
            p.setClipPath(clip)
            for v, c in self.segments:
                w = r.width() * v / total
                p.setBrush(c)
                p.drawRect(QRectF(x, r.y(), w, r.height()))
                x += w
            p.restore()
            p.end()
            return
        met = self.met()
        colour = (
            self.palette().color(QPalette.ColorRole.Highlight) if met is None else (GOOD if met else WARN)
        )
        frac = min(max(self.value / self.maximum, 0.0), 1.0)
        if frac > 0:
            p.setBrush(colour)
            p.drawRoundedRect(QRectF(r.x(), r.y(), max(r.width() * frac, 7.0), r.height()), 3.5, 3.5)
        if self.target is not None:
            x = r.x() + r.width() * min(self.target / self.maximum, 1.0)
            p.setPen(self.palette().color(QPalette.ColorRole.WindowText))
            p.drawLine(int(x), 0, int(x), self.height())
        p.end()


class Tile(QFrame):
    """One of the three headline numbers: caption, big value, detail line, target bar and target text."""

    def __init__(self, caption: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setObjectName("insightTile")
        self.caption = plain_label(caption, self)
        self.caption.setObjectName("emptyStateDetail")  # the muted secondary colour
        self.value = plain_label("—", self)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 2.3)
        font.setWeight(QFont.Weight.DemiBold)
        self.value.setFont(font)
        self.detail = plain_label("", self)
        self.bar = TargetBar(self)
        self.target = plain_label("", self)
        self.target.setObjectName("emptyStateDetail")
        self.target.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 12)
        layout.setSpacing(4)
        for w in (self.caption, self.value, self.detail, self.bar, self.target):
            layout.addWidget(w)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_content(self, value: str, detail: str, target_text: str) -> None:
        self.value.setText(value)
        self.detail.setText(detail)
        self.target.setText(target_text)


class Heatmap(QWidget):
    """Activity by weekday (rows, Monday first) and hour (columns), darker where busier."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid: tuple[tuple[int, ...], ...] = tuple((0,) * 24 for _ in range(7))
        self.setMinimumSize(420, 170)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_grid(self, grid: Sequence[Sequence[int]]) -> None:
        self.grid = tuple(tuple(int(v) for v in row) for row in grid)
        peak = self.peak()
        self.setToolTip(f"Busiest: {WEEKDAYS[peak[0]]} {peak[1]:02d}:00 ({peak[2]} items)" if peak[2] else "")
        self.update()

    def peak(self) -> tuple[int, int, int]:
        """(weekday, hour, count) of the busiest cell."""
        best = (0, 0, 0)
        for d, row in enumerate(self.grid):
            for h, v in enumerate(row):
                if v > best[2]:
                    best = (d, h, v)
        return best

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.PlaceholderText)
        base = pal.color(QPalette.ColorRole.Highlight)
        empty = pal.color(QPalette.ColorRole.Midlight)
        left, top, bottom = 36.0, 4.0, 18.0
        cw = (self.width() - left - 2) / 24
        ch = (self.height() - top - bottom) / 7
        peak = max((v for row in self.grid for v in row), default=0) or 1
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 0.85)
        p.setFont(font)
        for d, row in enumerate(self.grid):
            y = top + d * ch
            p.setPen(text)
            p.drawText(
                QRectF(0, y, left - 6, ch),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                WEEKDAYS[d],
            )
            p.setPen(Qt.PenStyle.NoPen)
            for h, v in enumerate(row):
                if v:
                    c = QColor(base)
                    c.setAlphaF(0.15 + 0.85 * (v / peak))
                else:
                    c = empty
                p.setBrush(c)
                p.drawRoundedRect(QRectF(left + h * cw + 1, y + 1, cw - 2, ch - 2), 2, 2)
        p.setPen(text)
        for h in range(0, 24, 3):
            p.drawText(
                QRectF(left + h * cw, top + 7 * ch + 2, cw * 3, bottom - 2),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                f"{h:02d}",
            )
        p.end()


# ---------------------------------------------------------------------------------------------- table models


class TableRole(IntEnum):
    SORT = int(Qt.ItemDataRole.UserRole) + 1


class _RowsModel(QAbstractTableModel):
    """A small read-only table over a tuple of rows; subclasses say the headers and cells."""

    headers: tuple[str, ...] = ()
    numeric_from = 1  # columns from here on are right-aligned numbers

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: tuple[Any, ...] = ()

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self._rows = tuple(rows)
        self.endResetModel()

    def row_at(self, row: int) -> Any:
        return self._rows[row]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(self.headers)
        ):
            return self.headers[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            not index.isValid()
            or not (0 <= index.row() < len(self._rows))
            or not (0 <= index.column() < len(self.headers))
        ):
            return None
        value = self.cell(self._rows[index.row()], index.column())
        if role in (Qt.ItemDataRole.DisplayRole, TableRole.SORT):
            return value if role == TableRole.SORT or not isinstance(value, int) else f"{value:,}"
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() >= self.numeric_from:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def cell(self, row: Any, column: int) -> Any:
        raise NotImplementedError


class HelpersModel(_RowsModel):
    """Helpful members: name (plain text), platform, replies, accepted answers, score."""

    headers = ("Member", "Platform", "Replies", "Answers", "Score")
    numeric_from = 2

    def cell(self, row: Helper, column: int) -> Any:
        name = row.name if row.name == row.handle else f"{row.name} ({row.handle})"
        return (name, PLATFORM_NAMES.get(row.platform, row.platform), row.replies, row.answers, row.score)[
            column
        ]

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (
            role == Qt.ItemDataRole.DecorationRole
            and index.isValid()
            and index.column() == 1
            and 0 <= index.row() < len(self._rows)
        ):
            return QColor(PLATFORM_COLOURS.get(self._rows[index.row()].platform, "#888888"))
        return super().data(index, role)


class ModeratorsModel(_RowsModel):
    """Per-moderator workload: replies, internal notes, tickets assigned."""

    headers = ("Moderator", "Replies", "Notes", "Assigned")

    def cell(self, row: ModeratorLoad, column: int) -> Any:
        return (row.moderator, row.replies, row.notes, row.assigned)[column]
