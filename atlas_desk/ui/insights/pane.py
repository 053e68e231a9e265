"""The insights pane: the community plan's three numbers with their targets, charts, the busiest hours,
   helpful members and moderator workload, over a date range, each series exportable as CSV.

Numbers are computed by ``atlas_desk.core.metrics`` on a worker thread of the pane's own, through that
thread's read-only store connection, and posted back to the GUI thread by a queued signal. The tiles show
first (that is when the pane says it is loaded); the charts follow, built with pyqtgraph, which is imported on
the worker after the first computation so the desk's start-up never pays for it. On attach the pane also
records the last week's daily samples (``metrics.record_samples`` on the store's writer), so history survives
restarts and deletions.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import csv
import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QScrollArea,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from atlas_desk.ui.compat import guard_singleton_refcounts
from atlas_desk.ui.insights.widgets import (
    PLATFORM_COLOURS,
    PLATFORM_NAMES,
    Heatmap,
    HelpersModel,
    ModeratorsModel,
    Tile,
)
from atlas_desk.ui.panes import Pane, PaneContext
from atlas_desk.ui.widgets.empty_state import EmptyState, plain_label

if TYPE_CHECKING:
    from atlas_desk.core.metrics import DateRange, Insights, Options

log = logging.getLogger("atlas_desk.ui.insights")

PRESETS: tuple[tuple[str, int], ...] = (
    ("Last 7 days", 7),
    ("Last 30 days", 30),
    ("Last 90 days", 90),
    ("Last 12 months", 365),
    ("Custom", 0),
)
DEFAULT_PRESET = 1
SAMPLE_DAYS = 7
CHANGE_DELAY_MS = 600  # before the first numbers: recompute this soon after data arrives
CHANGE_INTERVAL_MS = 10_000  # afterwards, at most this often while the pane shows
SETTLE_LIMIT_MS = 20_000  # days of samples recorded at attach (idempotent; never lowers a stored value)
SERIES_TITLES = {
    "active-members": "Active Discord members",
    "suggestions": "Feature suggestions per month",
    "first-reply-weekly": "First-reply time per week",
    "tickets": "Ticket volume and backlog",
    "moderators": "Moderator workload",
    "busiest-hours": "Busiest hours",
    "helpful-members": "Helpful members",
}


def _hours(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1:
        return f"{value * 60:.0f} min"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"


def _section(title: str, body: QWidget, parent: QWidget) -> QFrame:
    frame = QFrame(parent)
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(10, 8, 10, 10)
    label = plain_label(title, frame)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    layout.addWidget(label)
    layout.addWidget(body, 1)
    return frame


class InsightsPane(Pane):
    """Community health in numbers."""

    pane_name = "insights"
    title = "Insights"

    computed = Signal(object)  # Insights, on the GUI thread, after the tiles were updated
    _result = Signal(int, object)  # generation, Insights or Exception (from the worker)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        guard_singleton_refcounts()  # the charts paint and emit a lot (see ui/compat.py)
        self.store: Any = None
        self.options: Options | None = None  # None: the defaults
        self.today: Callable[[], date] = lambda: datetime.now(UTC).date()
        self.utc_offset_hours = _local_offset_hours()
        self.insights: Insights | None = None
        self._generation = 0
        self._worker: _Worker | None = None
        self._charts: dict[str, Any] = {}
        self._computed_at: datetime | None = None
        self._result.connect(self._on_result, Qt.ConnectionType.QueuedConnection)
        # New items or tickets make the numbers stale: recompute soon while the pane shows, else on activate.
        self._dirty = False
        self._change_timer = QTimer(self)
        self._change_timer.setSingleShot(True)
        self._change_timer.timeout.connect(self.refresh)
        # The demo's first numbers wait for its backfill (see _on_result); never longer than this.
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(SETTLE_LIMIT_MS)
        self._settle_timer.timeout.connect(self.mark_loaded)

        # -- the top bar: range and export
        self.preset = QComboBox(self)
        for text, _days in PRESETS:
            self.preset.addItem(text)
        self.preset.setToolTip("Date range (UTC days)")
        self.start_edit = QDateEdit(self)
        self.end_edit = QDateEdit(self)
        for edit in (self.start_edit, self.end_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("d MMM yyyy")
        self.export_button = QToolButton(self)
        self.export_button.setText("Export CSV")
        self.export_button.setToolTip("Export a series as CSV (Ctrl+E: all series to a folder)")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        for name, title in SERIES_TITLES.items():
            act = menu.addAction(f"{title}…")
            act.triggered.connect(lambda _c=False, n=name: self._ask_export(n))
        menu.addSeparator()
        self.export_all_action = QAction("All series to a folder…", self)
        self.export_all_action.setShortcut("Ctrl+E")
        self.export_all_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.export_all_action.triggered.connect(self._ask_export_all)
        menu.addAction(self.export_all_action)
        self.addAction(self.export_all_action)
        self.export_button.setMenu(menu)
        self.export_button.setEnabled(False)
        self.status = plain_label("", self)
        self.status.setObjectName("emptyStateDetail")
        top = QHBoxLayout()
        top.addWidget(plain_label("Range", self))
        top.addWidget(self.preset)
        top.addWidget(self.start_edit)
        top.addWidget(plain_label("to", self))
        top.addWidget(self.end_edit)
        top.addSpacing(12)
        top.addWidget(self.status, 1)
        top.addWidget(self.export_button)

        # -- the three numbers
        self.active_tile = Tile("Active Discord members (30 days)", self)
        self.suggestions_tile = Tile("Feature suggestions", self)
        self.reply_tile = Tile("Ticket first-reply time (median)", self)
        tiles = QHBoxLayout()
        tiles.setSpacing(10)
        for tile in (self.active_tile, self.suggestions_tile, self.reply_tile):
            tiles.addWidget(tile, 1)

        # -- charts (filled lazily), heatmap and tables
        self.chart_holders: dict[str, QVBoxLayout] = {}
        grid = QGridLayout()
        grid.setSpacing(10)
        for i, name in enumerate(("active", "suggestions", "first_reply", "tickets")):
            holder = QWidget(self)
            holder.setMinimumHeight(220)
            box = QVBoxLayout(holder)
            box.setContentsMargins(0, 0, 0, 0)
            self.chart_holders[name] = box
            grid.addWidget(holder, i // 2, i % 2)
        self.heatmap = Heatmap(self)
        self.helpers_model = HelpersModel(self)
        self.moderators_model = ModeratorsModel(self)
        self.helpers_table = self._table(self.helpers_model)
        self.moderators_table = self._table(self.moderators_model)
        self.heatmap_caption = plain_label("", self)
        self.heatmap_caption.setObjectName("emptyStateDetail")
        heat_box = QWidget(self)
        heat_layout = QVBoxLayout(heat_box)
        heat_layout.setContentsMargins(0, 0, 0, 0)
        heat_layout.addWidget(self.heatmap, 1)
        heat_layout.addWidget(self.heatmap_caption)
        grid.addWidget(_section("Busiest hours (your time)", heat_box, self), 2, 0)
        grid.addWidget(_section("Moderator workload", self.moderators_table, self), 2, 1)
        grid.addWidget(
            _section("Helpful members — who answers other members' questions", self.helpers_table, self),
            3,
            0,
            1,
            2,
        )

        content = QWidget(self)
        column = QVBoxLayout(content)
        column.setContentsMargins(12, 10, 12, 12)
        column.setSpacing(10)
        column.addLayout(top)
        column.addLayout(tiles)
        column.addLayout(grid)
        column.addStretch(1)
        self.content_scroll = QScrollArea(self)
        self.content_scroll.setWidgetResizable(True)
        self.content_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.content_scroll.setWidget(content)

        self.empty = EmptyState(
            "insights",
            "How the community is doing will appear here",
            "Active members against the target of 100, feature suggestions and their upvotes, ticket "
            "first-reply times against the SLA, the busiest hours and the members who help others most — "
            "from "
            "what the desk collects.",
            "Connect at least one platform in Settings; insights build up as messages and tickets arrive.",
            "Open Settings",
            self,
        )
        self.empty.action_triggered.connect(self._open_settings)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.content_scroll)
        self.stack.addWidget(self.empty)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        self._set_range_for_preset(DEFAULT_PRESET)
        self.preset.setCurrentIndex(DEFAULT_PRESET)
        self.preset.currentIndexChanged.connect(self._on_preset)
        self.start_edit.dateChanged.connect(self._on_dates)
        self.end_edit.dateChanged.connect(self._on_dates)

    def _table(self, model: Any) -> QTableView:
        table = QTableView(self)
        table.setModel(model)
        table.verticalHeader().hide()
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        table.verticalHeader().setDefaultSectionSize(24)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setAlternatingRowColors(True)
        table.setShowGrid(False)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.setMinimumHeight(170)
        return table

    # ------------------------------------------------------------------------------------ range

    def date_range(self) -> DateRange:
        start, end = self.start_edit.date().toPython(), self.end_edit.date().toPython()
        assert isinstance(start, date) and isinstance(end, date)
        rng: DateRange = _m().DateRange(min(start, end), max(start, end))
        return rng

    def set_range(self, rng: DateRange) -> None:
        """Show ``rng`` (switches the preset to Custom) and recompute."""
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(len(PRESETS) - 1)
        self.preset.blockSignals(False)
        self._set_dates(rng)
        self.refresh()

    def _set_dates(self, rng: DateRange) -> None:
        self._set_days(rng.start, rng.end)

    def _set_days(self, start: date, end: date) -> None:
        for edit, day in ((self.start_edit, start), (self.end_edit, end)):
            edit.blockSignals(True)
            edit.setDate(QDate(day.year, day.month, day.day))
            edit.blockSignals(False)

    def _set_range_for_preset(self, index: int) -> None:
        days = PRESETS[index][1]
        if days:
            today = self.today()
            self._set_days(today - timedelta(days=days - 1), today)

    def _on_preset(self, index: int) -> None:
        if PRESETS[index][1]:
            self._set_range_for_preset(index)
            self.refresh()

    def _on_dates(self, *_args: object) -> None:
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(len(PRESETS) - 1)
        self.preset.blockSignals(False)
        self.refresh()

    # ------------------------------------------------------------------------------------ lifecycle

    def attach(self, context: PaneContext) -> None:
        super().attach(context)
        runtime = context.runtime
        self.store = getattr(runtime, "store", None) if runtime is not None else None
        if self.store is None:
            self.stack.setCurrentWidget(self.empty)
            self.mark_loaded()
            return
        settings = getattr(runtime, "settings", None)
        if settings is not None:
            support = [settings.discord.support_channel_id] if settings.discord.support_channel_id else []
            self.options = _m().Options.make(
                support, settings.desk.moderator_handles, settings.sla.first_response_hours
            )
        self._set_range_for_preset(self.preset.currentIndex())
        context.bus.items_added.connect(self._on_data_changed)
        context.bus.tickets_changed.connect(self._on_data_changed)
        context.bus.connection_changed.connect(self._on_data_changed)
        if context.demo:
            self._settle_timer.start()
        self.record_recent_samples()
        self.refresh()

    def _on_data_changed(self, *_args: object) -> None:
        self._dirty = True
        if self._change_timer.isActive():
            return
        if not self.ready():
            self._change_timer.start(CHANGE_DELAY_MS)
        elif self.isVisible():
            self._change_timer.start(CHANGE_INTERVAL_MS)

    def connect_store(self, store: Any, options: Options | None = None) -> None:
        """Use ``store`` directly (tests, tools); ``attach`` does this from the runtime."""
        self.store = store
        if options is not None:
            self.options = options
        self.refresh()

    def record_recent_samples(self) -> None:
        """Store the last ``SAMPLE_DAYS`` days' samples on the writer (never blocks the GUI)."""
        if self.store is None:
            return
        today = self.today()
        days = [today - timedelta(days=i) for i in range(SAMPLE_DAYS)]
        opts = self.options or _m().Options()

        def job(conn: Any) -> int:
            return sum(_m().record_samples(conn, d, opts) for d in days)

        try:
            self.store.submit(job).add_done_callback(_log_failure("recording metric samples"))
        except Exception:
            log.exception("could not queue the metric samples")

    def activate(self) -> None:
        super().activate()
        # Numbers are refreshed when the moderator looks at them again after new data, or after a minute.
        stale = self._computed_at is not None and datetime.now(UTC) - self._computed_at > timedelta(minutes=1)
        if self._dirty or stale:
            self.refresh()

    def shutdown(self) -> None:
        self._generation += 1
        self._change_timer.stop()
        self._settle_timer.stop()
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    # ------------------------------------------------------------------------------------ computing

    def refresh(self) -> None:
        """Recompute for the current range on the worker thread."""
        if self.store is None:
            return
        if self._worker is None:
            self._worker = _Worker("atlas-desk-insights")
        self._generation += 1
        self._dirty = False
        self._change_timer.stop()
        generation, rng, opts = self._generation, self.date_range(), self.options or _m().Options()
        offset, store = self.utc_offset_hours, self.store
        self.status.setText("Computing…")

        def work() -> None:
            if generation != self._generation:
                return  # a newer range was asked for while this waited
            try:
                result: object = _m().compute(store.reader(), rng, opts, utc_offset_hours=offset)
            except Exception as exc:  # reported on the GUI thread
                result = exc
            with contextlib.suppress(RuntimeError):  # the pane is gone
                self._result.emit(generation, result)
            _prewarm_charts()

        self._worker.submit(work)

    def _on_result(self, generation: int, result: object) -> None:
        if generation != self._generation:
            return  # a newer range was asked for meanwhile
        if isinstance(result, Exception):
            log.error("computing insights failed", exc_info=result)
            self.status.setText("The numbers could not be computed; details are in the log.")
            self.mark_loaded()
            return
        assert isinstance(result, _m().Insights)
        self.show_insights(result)

    def show_insights(self, ins: Insights) -> None:
        """Put ``ins`` on screen: tiles and tables now, charts right after."""
        self.insights = ins
        self._computed_at = datetime.now(UTC)
        self.export_button.setEnabled(True)
        if ins.empty:
            self.stack.setCurrentWidget(self.empty)
            self.status.setText("")
        else:
            self.stack.setCurrentWidget(self.content_scroll)
            self.status.setText(
                f"{ins.items:,} items · {sum(t.opened for t in ins.tickets):,} tickets "
                f"in {len(ins.range.days())} days"
            )
        self._fill_tiles(ins)
        self.heatmap.set_grid(ins.heatmap)
        d, h, n = self.heatmap.peak()
        self.heatmap_caption.setText(
            f"Busiest: {_m().WEEKDAYS[d]} around {h:02d}:00 ({n:,} items in that hour slot)"
            if n
            else "No activity in this range."
        )
        self.helpers_model.set_rows(ins.helpers)
        self.moderators_model.set_rows(ins.moderators)
        self.computed.emit(ins)
        self._maybe_loaded(ins)
        QTimer.singleShot(0, self._update_charts)

    def _maybe_loaded(self, ins: Insights) -> None:
        # The first numbers count as loaded, except in the demo, whose platforms still backfill when the pane
        # attaches: there the first complete numbers do (platforms settled, nothing new since asked).
        demo = self.context is not None and self.context.demo
        if not demo or (not ins.empty and not self._dirty and self._platforms_settled()):
            self._settle_timer.stop()
            self.mark_loaded()

    def _platforms_settled(self) -> bool:
        """Whether every platform has finished connecting (live, offline or not configured)."""
        from atlas_desk.core.types import ConnectionState, Platform

        if self.context is None:
            return True
        settled = {ConnectionState.LIVE, ConnectionState.OFFLINE, ConnectionState.NOT_CONFIGURED}
        states = self.context.bus.states
        return all(p in states and states[p].state in settled for p in Platform)

    def _fill_tiles(self, ins: Insights) -> None:
        now = ins.active_now
        monthly = now.monthly if now else 0
        target = int(_m().ACTIVE_TARGET)
        self.active_tile.set_content(
            f"{monthly:,} / {target}",
            f"Daily {now.daily if now else 0:,} · weekly {now.weekly if now else 0:,} "
            f"(on {ins.range.end:%d %b})",
            "Target met: 100 monthly active members"
            if monthly >= target
            else f"{target - monthly:,} more to reach {target}, the target for the first month",
        )
        self.active_tile.bar.set_values(monthly, max(target * 1.25, monthly), target)

        total = sum(m.suggestions for m in ins.suggestions)
        votes = sum(m.upvotes for m in ins.suggestions)
        per: dict[str, int] = {}
        for m in ins.suggestions:
            per[m.platform] = per.get(m.platform, 0) + m.suggestions
        months = len({m.month for m in ins.suggestions})
        self.suggestions_tile.set_content(
            f"{total:,}",
            f"{votes:,} upvotes" + (f" · {months} months" if months > 1 else ""),
            " · ".join(f"{PLATFORM_NAMES.get(p, p)} {n:,}" for p, n in sorted(per.items()))
            or "No suggestions in this range",
        )
        self.suggestions_tile.bar.set_segments(
            [(n, QColor(PLATFORM_COLOURS.get(p, "#888888"))) for p, n in sorted(per.items())]
        )

        fr = ins.first_reply
        share = "—" if fr.within_share is None else f"{fr.within_share:.0%}"
        self.reply_tile.set_content(
            _hours(fr.median_hours),
            f"p90 {_hours(fr.p90_hours)} · {share} within {fr.sla_hours:g} h · {fr.replied:,} replied"
            + (f" · {fr.overdue_unreplied} overdue" if fr.overdue_unreplied else ""),
            f"Target: first reply within {fr.sla_hours:g} h (the bar shows the median against it)",
        )
        self.reply_tile.bar.set_values(
            fr.median_hours or 0.0, fr.sla_hours * 1.5, fr.sla_hours, higher_is_better=False
        )

    def _update_charts(self) -> None:
        ins = self.insights
        if ins is None or ins.empty:
            return
        try:
            from atlas_desk.ui.insights import charts
        except ImportError as exc:
            log.warning("charts are not available (%s); the numbers are still shown", exc)
            for box in self.chart_holders.values():
                if box.count() == 0:
                    box.addWidget(plain_label("Charts need pyqtgraph, which is not installed.", self))
            return
        specs = (
            ("active", "Active Discord members", True),
            ("suggestions", "Suggestions per month (▲ upvotes)", False),
            ("first_reply", "Median first reply per week (% within the SLA)", True),
            ("tickets", "Tickets per day and backlog", True),
        )
        for name, title, dates in specs:
            if name not in self._charts:
                chart = charts.Chart(title, self, dates=dates)
                self.chart_holders[name].addWidget(chart)
                self._charts[name] = chart
        charts.plot_active(self._charts["active"], ins.active)
        charts.plot_suggestions(self._charts["suggestions"], ins.suggestions)
        charts.plot_first_reply(self._charts["first_reply"], ins.first_reply)
        charts.plot_tickets(self._charts["tickets"], ins.tickets)

    def charts_ready(self) -> bool:
        """Whether the charts have been drawn (tests and screenshots wait for this)."""
        return len(self._charts) == len(self.chart_holders)

    # ------------------------------------------------------------------------------------ export

    def export_series(self, name: str, path: Path) -> int:
        """Write one series as CSV; returns the number of data rows."""
        if self.insights is None:
            raise RuntimeError("no numbers yet")
        header, rows = _m().csv_series(self.insights)[name]
        with Path(path).open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(header)
            writer.writerows(rows)
        return len(rows)

    def export_all(self, directory: Path) -> list[Path]:
        """Write every series as ``<name>_<start>_<end>.csv`` into ``directory``."""
        if self.insights is None:
            raise RuntimeError("no numbers yet")
        rng = self.insights.range
        out = []
        for name in _m().csv_series(self.insights):
            path = Path(directory) / f"{name}_{rng.start}_{rng.end}.csv"
            self.export_series(name, path)
            out.append(path)
        return out

    def _ask_export(self, name: str) -> None:
        if self.insights is None:
            return
        rng = self.insights.range
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export {SERIES_TITLES[name]}", f"{name}_{rng.start}_{rng.end}.csv", "CSV files (*.csv)"
        )
        if path:
            self._report_export(lambda: [Path(path)] if self.export_series(name, Path(path)) >= 0 else [])

    def _ask_export_all(self) -> None:
        if self.insights is None:
            return
        directory = QFileDialog.getExistingDirectory(self, "Export every series to a folder")
        if directory:
            self._report_export(lambda: self.export_all(Path(directory)))

    def _report_export(self, action: Callable[[], list[Path]]) -> None:
        try:
            paths = action()
        except OSError as exc:
            self.status.setText(f"Could not write the CSV: {exc.strerror or exc}")
            return
        self.status.setText(
            f"Exported {len(paths)} file{'s' if len(paths) != 1 else ''} to {paths[0].parent}"
            if paths
            else ""
        )

    # ------------------------------------------------------------------------------------ misc

    def _open_settings(self) -> None:
        if self.context is not None:
            self.context.open_settings("")

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            for chart in self._charts.values():
                chart.apply_palette()
            if self._charts:
                QTimer.singleShot(0, self._update_charts)
        super().changeEvent(event)


class _Worker:
    """One daemon thread running jobs in order: a long computation never holds up quitting the desk."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> None:
        self._queue.put(job)

    def stop(self) -> None:
        """Finish the job in hand, drop the rest."""
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                job()
            except Exception:
                log.exception("an insights job failed")


def _m() -> Any:
    """``atlas_desk.core.metrics``, imported on first use: the pane module is imported before the window's
    first paint, the numbers are needed only after it."""
    from atlas_desk.core import metrics

    return metrics


def _local_offset_hours() -> int:
    offset = datetime.now().astimezone().utcoffset()
    return round(offset.total_seconds() / 3600) if offset is not None else 0


def _prewarm_charts() -> None:
    # Importing pyqtgraph costs ~0.5 s; doing it here keeps that off the GUI thread's critical path.
    try:
        import pyqtgraph  # noqa: F401
    except Exception:
        log.debug("pyqtgraph could not be pre-imported", exc_info=True)


def _log_failure(what: str) -> Callable[[concurrent.futures.Future[Any]], None]:
    def done(future: concurrent.futures.Future[Any]) -> None:
        exc = future.exception()
        if exc is not None:
            log.error("%s failed", what, exc_info=exc)

    return done


__all__ = ["InsightsPane"]
