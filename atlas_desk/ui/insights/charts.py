"""The insights charts, drawn with pyqtgraph.

Why pyqtgraph: it is maintained, pure Python on top of Qt (no compiled add-on beyond numpy), fast with many
points, and renders offscreen for ``--screenshot``. Qt Charts (PySide6-Addons) is deprecated since Qt 6.10 in
favour of Qt Graphs, whose 2D graphs need Qt Quick. pyqtgraph costs about half a second to import, so this
module is imported only when the pane has its first numbers (the pane pre-imports it on its worker thread),
never at desk start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QWidget

from atlas_desk.core.metrics import ACTIVE_TARGET, ActiveDay, FirstReply, SuggestionMonth, TicketDay
from atlas_desk.ui.insights.widgets import PLATFORM_COLOURS, PLATFORM_NAMES

TARGET_COLOUR = "#e0a526"
HEADROOM = 1.3  # y range above the highest value, for the legend and labels


def _ts(d: date) -> float:
    return datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()


class Chart(pg.PlotWidget):  # type: ignore[misc]
    """A PlotWidget themed from the Qt palette, with a title, a legend and no mouse zooming."""

    def __init__(self, title: str, parent: QWidget | None = None, *, dates: bool = False) -> None:
        axis = {"bottom": pg.DateAxisItem(orientation="bottom", utcOffset=0)} if dates else None
        super().__init__(parent, axisItems=axis)
        self.title_text = title
        self.setMinimumHeight(210)
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.getPlotItem().showGrid(x=False, y=True, alpha=0.15)
        # One row across the top, over headroom the plots leave free (``HEADROOM``), so it never hides data.
        self.legend = self.addLegend(offset=(40, 2), labelTextSize="8pt", colCount=4)
        self.apply_palette()

    def apply_palette(self) -> None:
        pal = self.palette()
        self.setBackground(pal.color(QPalette.ColorRole.Base))
        fg = pal.color(QPalette.ColorRole.PlaceholderText)
        text = pal.color(QPalette.ColorRole.WindowText)
        item = self.getPlotItem()
        item.setTitle(self.title_text, color=text.name(), size="10pt")
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(fg))
            axis.setTextPen(pg.mkPen(fg))
            font = QFont(self.font())
            font.setPointSizeF(font.pointSizeF() * 0.85)
            axis.setStyle(tickFont=font)
        if self.legend is not None:
            self.legend.setLabelTextColor(text)

    def target_line(self, y: float, label: str) -> pg.InfiniteLine:
        line = pg.InfiniteLine(
            pos=y,
            angle=0,
            movable=False,
            pen=pg.mkPen(TARGET_COLOUR, width=1.5, style=Qt.PenStyle.DashLine),
            label=label,
            labelOpts={"position": 0.98, "color": TARGET_COLOUR, "anchors": [(1, 1), (1, 1)]},
        )
        self.addItem(line)
        return line

    def clear_chart(self) -> None:
        self.getPlotItem().clear()
        if self.legend is not None:
            self.legend.clear()


def plot_active(chart: Chart, days: Sequence[ActiveDay]) -> None:
    """Daily, weekly and monthly active members, with the target line."""
    chart.clear_chart()
    x = [_ts(a.day) for a in days]
    pal = chart.palette()
    hl = pal.color(QPalette.ColorRole.Highlight)
    faint = QColor(hl)
    faint.setAlphaF(0.45)
    chart.plot(x, [a.daily for a in days], pen=pg.mkPen(faint, width=1), name="daily")
    chart.plot(x, [a.weekly for a in days], pen=pg.mkPen("#8957e5", width=1.5), name="weekly")
    chart.plot(x, [a.monthly for a in days], pen=pg.mkPen(hl, width=2.5), name="monthly")
    chart.target_line(ACTIVE_TARGET, f"target: {ACTIVE_TARGET} monthly")
    top = max([ACTIVE_TARGET, *(a.monthly for a in days)])
    chart.setYRange(0, top * HEADROOM, padding=0)


def plot_suggestions(chart: Chart, months: Sequence[SuggestionMonth]) -> None:
    """Suggestions per month, one bar per platform, with upvotes as a text label over each bar."""
    chart.clear_chart()
    labels = sorted({m.month for m in months})
    platforms = [p for p in ("discord", "github", "reddit") if any(m.platform == p for m in months)]
    width = 0.8 / max(len(platforms), 1)
    top = 1
    for i, platform in enumerate(platforms):
        xs, hs = [], []
        for j, month in enumerate(labels):
            found = [m for m in months if m.month == month and m.platform == platform]
            if found:
                xs.append(j - 0.4 + width * (i + 0.5))
                hs.append(found[0].suggestions)
                top = max(top, found[0].suggestions)
                text = pg.TextItem(
                    f"▲{found[0].upvotes}",
                    color=chart.palette().color(QPalette.ColorRole.PlaceholderText),
                    anchor=(0.5, 1),
                )
                text.setPos(xs[-1], hs[-1])
                chart.addItem(text)
        colour = PLATFORM_COLOURS[platform]
        bars = pg.BarGraphItem(x=xs, height=hs, width=width * 0.92, brush=colour, pen=pg.mkPen(None))
        chart.addItem(bars)
        chart.legend.addItem(bars, PLATFORM_NAMES[platform])
    chart.getPlotItem().getAxis("bottom").setTicks([[(j, _month_label(m)) for j, m in enumerate(labels)]])
    chart.setXRange(-0.6, max(len(labels) - 0.4, 0.6), padding=0)
    chart.setYRange(0, top * HEADROOM, padding=0)


def _month_label(month: str) -> str:
    return datetime.strptime(month, "%Y-%m").strftime("%b %Y")


def plot_first_reply(chart: Chart, fr: FirstReply) -> None:
    """Median first-reply hours per week (bars), the SLA line, and the share answered in time (text)."""
    chart.clear_chart()
    weeks = [w for w in fr.weeks if w.median_hours is not None]
    xs = [_ts(w.week) + 3.5 * 86400 for w in weeks]
    hs = [w.median_hours or 0.0 for w in weeks]
    brushes = [QColor("#2ea44f") if h <= fr.sla_hours else QColor("#d73a49") for h in hs]
    if weeks:
        bars = pg.BarGraphItem(x=xs, height=hs, width=5.5 * 86400, brushes=brushes, pen=pg.mkPen(None))
        chart.addItem(bars)
        for x, w in zip(xs, weeks, strict=True):
            if w.within_share is not None:
                t = pg.TextItem(
                    f"{w.within_share:.0%}",
                    anchor=(0.5, 1),
                    color=chart.palette().color(QPalette.ColorRole.PlaceholderText),
                )
                t.setPos(x, w.median_hours or 0.0)
                chart.addItem(t)
    chart.target_line(fr.sla_hours, f"first reply due: {fr.sla_hours:g} h")
    top = max([fr.sla_hours, *hs])
    chart.setYRange(0, top * HEADROOM, padding=0)


def plot_tickets(chart: Chart, days: Sequence[TicketDay]) -> None:
    """Tickets opened per day (bars) and the backlog (line)."""
    chart.clear_chart()
    x = [_ts(t.day) + 43200 for t in days]
    hl = chart.palette().color(QPalette.ColorRole.Highlight)
    opened = pg.BarGraphItem(
        x=x, height=[t.opened for t in days], width=0.7 * 86400, brush=QColor("#8b949e"), pen=pg.mkPen(None)
    )
    chart.addItem(opened)
    chart.legend.addItem(opened, "opened")
    chart.plot(x, [t.closed for t in days], pen=pg.mkPen("#2ea44f", width=1.5), name="closed")
    chart.plot(x, [t.backlog for t in days], pen=pg.mkPen(hl, width=2.5), name="backlog")
    top = max([1, *(max(t.opened, t.backlog, t.closed) for t in days)])
    chart.setYRange(0, top * HEADROOM, padding=0)
