"""The calendar pane: month view and agenda, event details, contest leaderboard and AMA question queue.

Every gesture is one service call (``CalendarService``): create/edit in the dialog, drag a chip to another day
to reschedule, cancel / start / end an AMA, mark questions answered, publish a contest's announcement. AMA
changes reach Discord through the outbox; the pane refreshes on ``EventsChanged`` (interested counts live).
Times are shown in the moderator's time zone, UTC in tooltips. Community text is plain text throughout.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from atlas_desk.core.calendar import (
    POST_KIND_LABELS,
    CalendarError,
    CalendarService,
    announcement_text,
    draft_from_row,
)
from atlas_desk.core.types import Platform
from atlas_desk.store.calendar import EventRow
from atlas_desk.ui.bridge import QtBus
from atlas_desk.ui.calendar.dialog import EventDialog
from atlas_desk.ui.calendar.model import (
    KIND_LABELS,
    STATUS_COLORS,
    AgendaModel,
    LeaderboardModel,
    QuestionModel,
    Role,
    local_text,
)
from atlas_desk.ui.calendar.month import MonthView
from atlas_desk.ui.panes import Pane, PaneContext
from atlas_desk.ui.widgets.empty_state import EmptyState, plain_label

log = logging.getLogger("atlas_desk.ui.calendar")

EMPTY_HEADLINE = "No calendar yet"


def moderator_zone() -> tzinfo:
    """The moderator's time zone: the system's (an IANA zone when it can be named)."""
    local = datetime.now().astimezone().tzinfo
    key = getattr(local, "key", None)
    if isinstance(key, str):
        return ZoneInfo(key)
    try:
        return ZoneInfo(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except (OSError, ValueError, KeyError):
        return local or UTC


def _zone_name(tz: tzinfo) -> str:
    return str(getattr(tz, "key", "") or "UTC")


class CalendarPane(Pane):
    pane_name = "calendar"
    title = "Calendar"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tz: tzinfo = moderator_zone()
        self.service: CalendarService | None = None
        self.runtime: Any = None
        self.qtbus: QtBus | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._selected: int | None = None
        self._auto_selected = False
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

        self.stack = QStackedWidget(self)
        self.empty = EmptyState(
            "📅",
            EMPTY_HEADLINE,
            "AMAs, suggestion contests and scheduled posts appear here once the desk has a store.",
            hint="Connect Discord in Settings to plan AMAs as Discord events.",
        )
        self.stack.addWidget(self.empty)

        # -- the calendar itself
        body = QWidget()
        self.prev_button = QPushButton("◀")
        self.prev_button.setToolTip("Previous month (Page Up)")
        self.next_button = QPushButton("▶")
        self.next_button.setToolTip("Next month (Page Down)")
        self.today_button = QPushButton("Today")
        self.today_button.setToolTip("Go to today (T)")
        self.month_label = plain_label("")
        font = self.month_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.month_label.setFont(font)
        self.zone_label = plain_label("")
        self.new_button = QPushButton("New event…")
        self.new_button.setToolTip("Plan an AMA, a contest or a post (Ctrl+N)")
        self.export_button = QPushButton("Export .ics…")
        self.export_button.setToolTip("Save the calendar as an iCalendar file")
        bar = QHBoxLayout()
        for w in (self.prev_button, self.today_button, self.next_button):
            bar.addWidget(w)
        bar.addWidget(self.month_label)
        bar.addStretch(1)
        bar.addWidget(self.zone_label)
        bar.addWidget(self.new_button)
        bar.addWidget(self.export_button)

        self.month = MonthView(self.tz)
        self.agenda = QTableView()
        self.agenda.setObjectName("calendarAgenda")
        self.agenda.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.agenda.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.agenda.verticalHeader().hide()
        self.agenda.setWordWrap(False)
        self.views = QTabWidget()
        self.views.addTab(self.month, "Month")
        self.views.addTab(self.agenda, "Agenda")
        self.hint = plain_label("")
        self.hint.setWordWrap(True)

        # -- details of the selected event
        self.details_title = plain_label("Select an event")
        dfont = self.details_title.font()
        dfont.setBold(True)
        dfont.setPointSizeF(dfont.pointSizeF() * 1.15)
        self.details_title.setFont(dfont)
        self.details_title.setWordWrap(True)
        self.details = plain_label("")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status_chip = plain_label("")
        self.status_chip.setObjectName("calendarStatusChip")
        self.edit_button = QPushButton("Edit…")
        self.start_button = QPushButton("Start")
        self.end_button = QPushButton("End")
        self.cancel_button = QPushButton("Cancel event")
        actions = QHBoxLayout()
        for w in (self.edit_button, self.start_button, self.end_button, self.cancel_button):
            actions.addWidget(w)
        actions.addStretch(1)

        self.leaderboard_model = LeaderboardModel(self)
        self.leaderboard = QTableView()
        self.leaderboard.setObjectName("calendarLeaderboard")
        self.leaderboard.setModel(self.leaderboard_model)
        self.leaderboard.verticalHeader().hide()
        self.announcement = QPlainTextEdit()
        self.announcement.setPlaceholderText(
            "The winners' announcement is drafted here when the contest ends."
        )
        self.publish_button = QPushButton("Publish announcement")
        contest_box = QWidget()
        cl = QVBoxLayout(contest_box)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(plain_label("Leaderboard (live)"))
        cl.addWidget(self.leaderboard, 3)
        cl.addWidget(plain_label("Announcement"))
        cl.addWidget(self.announcement, 2)
        cl.addWidget(self.publish_button)

        self.question_model = QuestionModel(self._on_answered, self)
        self.questions = QTableView()
        self.questions.setObjectName("calendarQuestions")
        self.questions.setModel(self.question_model)
        self.questions.verticalHeader().hide()
        ama_box = QWidget()
        al = QVBoxLayout(ama_box)
        al.setContentsMargins(0, 0, 0, 0)
        al.addWidget(plain_label("Question queue (similar questions grouped, most voted first)"))
        al.addWidget(self.questions)
        for table, text_column in ((self.leaderboard, 2), (self.questions, 2)):
            header = table.horizontalHeader()
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setSectionResizeMode(text_column, QHeaderView.ResizeMode.Stretch)
            table.setWordWrap(False)
        for table in (self.leaderboard, self.questions, self.agenda):
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)

        self.extra = QStackedWidget()
        self.extra.addWidget(QWidget())
        self.extra.addWidget(contest_box)
        self.extra.addWidget(ama_box)
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.addWidget(self.details_title)
        sl.addWidget(self.status_chip)
        sl.addWidget(self.details)
        sl.addLayout(actions)
        sl.addWidget(self.extra, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.views, 1)
        ll.addWidget(self.hint)
        split.addWidget(left)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        bl = QVBoxLayout(body)
        bl.addLayout(bar)
        bl.addWidget(split, 1)
        self.body = body
        self.stack.addWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

        self.agenda_model = AgendaModel(self.tz, parent=self)
        self.agenda.setModel(self.agenda_model)
        self.agenda.horizontalHeader().setSectionResizeMode(AgendaModel.TITLE, QHeaderView.ResizeMode.Stretch)

        self.prev_button.clicked.connect(lambda: self.month.step(-1))
        self.next_button.clicked.connect(lambda: self.month.step(1))
        self.today_button.clicked.connect(self.go_today)
        self.month.month_changed.connect(lambda _d: self.refresh())
        self.month.event_selected.connect(self.select_event)
        self.month.edit_requested.connect(self.edit_event)
        self.month.reschedule_requested.connect(self.reschedule)
        self.agenda.clicked.connect(
            lambda index: self.select_event(self.agenda_model.data(index, Role.EVENT_ID))
        )
        self.agenda.doubleClicked.connect(
            lambda index: self.edit_event(self.agenda_model.data(index, Role.EVENT_ID))
        )
        self.new_button.clicked.connect(self.new_event)
        self.export_button.clicked.connect(self._export_dialog)
        self.edit_button.clicked.connect(
            lambda: self._selected is not None and self.edit_event(self._selected)
        )
        self.start_button.clicked.connect(lambda: self._status("active"))
        self.end_button.clicked.connect(lambda: self._status("completed"))
        self.cancel_button.clicked.connect(lambda: self._status("canceled"))
        self.publish_button.clicked.connect(self._publish_announcement)
        QShortcut(QKeySequence("Ctrl+N"), self, self.new_event)
        QShortcut(QKeySequence(Qt.Key.Key_PageUp), self, lambda: self.month.step(-1))
        QShortcut(QKeySequence(Qt.Key.Key_PageDown), self, lambda: self.month.step(1))
        QShortcut(QKeySequence("T"), self, self.go_today)
        self._show_details(None)

    # -- life cycle ----------------------------------------------------------------------------------------

    def attach(self, context: PaneContext) -> None:
        super().attach(context)
        runtime = context.runtime
        service = getattr(runtime, "calendar", None) if runtime is not None else None
        if service is None and runtime is not None and getattr(runtime, "store", None) is not None:
            from atlas_desk.calendar_runtime import attach_calendar

            service = attach_calendar(runtime)
        if service is None:
            self.stack.setCurrentWidget(self.empty)
            self.mark_loaded()
            return
        self.connect_service(service, context.bus, runtime)

    def connect_service(self, service: CalendarService, qtbus: QtBus, runtime: Any = None) -> None:
        """Wire the pane to a calendar service and the bus (``attach`` calls this; tests too)."""
        self.service = service
        self.runtime = runtime
        self.qtbus = qtbus
        self.agenda_model.status_of = service.post_status
        qtbus.events_changed.connect(lambda _ids: self.refresh())
        qtbus.items_changed.connect(lambda _ids: self._refresh_extra())
        qtbus.outbox_changed.connect(lambda _ids: self.refresh())
        self.stack.setCurrentWidget(self.body)
        self.set_timezone(self.tz)
        self.mark_loaded()

    def set_timezone(self, tz: tzinfo) -> None:
        """Show times in ``tz`` (the moderator's zone)."""
        self.tz = tz
        self.month.tz = tz
        self.agenda_model.tz = tz
        self.month.set_today(self.clock().astimezone(tz).date())
        self.zone_label.setText(f"Times in {_zone_name(tz)}")
        self.refresh()

    def go_today(self) -> None:
        today = self.clock().astimezone(self.tz).date()
        self.month.set_today(today)
        self.month.set_month(today)

    def shutdown(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self.service = None

    # -- data ---------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the visible month, the agenda and the selected event's panel."""
        first = self.month.month()
        self.month_label.setText(f"{first:%B %Y}")
        service = self.service
        if service is None:
            return
        start, end = self.month.visible_range()
        events = service.events(start, end)
        status = {e.id: service.post_status(e).state if e.kind == "post" else e.status for e in events}
        self.month.set_events(events, status)
        upcoming = service.events(self.clock(), None)
        self.agenda_model.set_events(upcoming)
        if self._selected is None and not self._auto_selected and upcoming:
            # First look: show the next event's details rather than an empty panel.
            self._auto_selected = True
            self._selected = upcoming[0].id
            self.month.select(self._selected)
        if not service.events():
            self.hint.setText(
                "No events yet. Plan an AMA, a contest or a scheduled post with New event (Ctrl+N)."
            )
        else:
            self.hint.setText("Drag an event to another day to reschedule it. Double-click to edit.")
        self._show_details(self._selected)

    def _refresh_extra(self) -> None:
        if self._selected is not None:
            self._show_details(self._selected)

    def select_event(self, event_id: int | None) -> None:
        self._selected = event_id
        self.month.select(event_id)
        self._show_details(event_id)

    def _show_details(self, event_id: int | None) -> None:
        event = self.service.get(event_id) if self.service is not None and event_id is not None else None
        for w in (self.edit_button, self.start_button, self.end_button, self.cancel_button):
            w.setVisible(event is not None)
        if event is None:
            self.details_title.setText("Select an event")
            self.details.setText("")
            self.status_chip.setText("")
            self.extra.setCurrentIndex(0)
            return
        self.details_title.setText(f"{KIND_LABELS.get(event.kind, event.kind)}: {event.title}")
        lines = [local_text(event.starts_at, self.tz)]
        if event.ends_at is not None:
            same_day = event.ends_at.astimezone(self.tz).date() == event.starts_at.astimezone(self.tz).date()
            lines[0] += (
                f" – {local_text(event.ends_at, self.tz, '%H:%M' if same_day else '%a %d %b %Y, %H:%M')}"
            )
        lines.append(f"{event.starts_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC · planned in {event.timezone}")
        if event.recurrence:
            lines.append("Repeats monthly" + (" (Discord recurrence)" if event.kind == "ama" else ""))
        if event.location:
            lines.append(f"Where: {event.location}")
        if event.kind == "ama":
            lines.append(f"Interested: {event.interested} · reminder {event.reminder_minutes} min before")
        if event.description:
            lines.append("")
            lines.append(event.description)
        status = event.status
        if event.kind == "post" and self.service is not None:
            ps = self.service.post_status(event)
            status = ps.state
            kind = POST_KIND_LABELS.get(str(event.extra.get("post_kind") or "custom"), "Post")
            lines.insert(1, f"{kind} → {', '.join(self._target_label(t) for t in event.targets)}")
            if ps.links:
                lines.append("")
                lines.extend(f"Published: {link}" for link in ps.links)
            if ps.reason:
                lines.append(f"Failed: {ps.reason}")
        self.status_chip.setText(f" {status} ")
        color = STATUS_COLORS.get(status)
        self.status_chip.setStyleSheet(
            f"background: {color.name() if color else '#e5e7eb'}; color: #111827;"
            " border-radius: 6px; padding: 1px 6px;"
        )
        self.details.setText("\n".join(lines))
        live = status in ("scheduled", "active")
        self.start_button.setVisible(event.kind == "ama" and event.status == "scheduled")
        self.end_button.setVisible(event.kind == "ama" and event.status == "active")
        self.cancel_button.setVisible(live or status == "failed")
        self.edit_button.setVisible(live or status == "failed")
        if event.kind == "contest" and self.service is not None:
            board = self.service.leaderboard(event.id)
            self.leaderboard_model.set_entries(board)
            text = str(event.extra.get("announcement") or "")
            if not text and event.status == "completed":
                text = announcement_text(event, board)
            if not self.announcement.hasFocus():
                self.announcement.setPlainText(text)
            self.publish_button.setEnabled(event.status == "completed")
            self.extra.setCurrentIndex(1)
        elif event.kind == "ama" and self.service is not None:
            self.question_model.set_groups(self.service.question_queue(event.id))
            self.extra.setCurrentIndex(2)
        else:
            self.extra.setCurrentIndex(0)

    def _target_label(self, target: str) -> str:
        head, _, rest = target.partition(":")
        if head == "discord":
            name = next((n for cid, n, _k in self.discord_channels() if cid == rest), rest)
            return f"Discord #{name}"
        if head == "github":
            return f"GitHub Discussions › {rest}"
        return f"r/{rest}" if rest else "the subreddit"

    # -- gestures -----------------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, Any], what: str) -> asyncio.Task[Any] | None:
        try:
            task = asyncio.ensure_future(coro)
        except RuntimeError:
            coro.close()
            self.hint.setText(f"Could not {what}: the desk is not running its event loop.")
            return None
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if isinstance(exc, CalendarError):
                self.hint.setText(f"Could not {what}: {exc}")
            elif exc is not None:
                log.error("could not %s", what, exc_info=exc)
                self.hint.setText(f"Could not {what}: an unexpected error; see the log.")

        task.add_done_callback(done)
        return task

    def reschedule(self, event_id: int, new_start: datetime) -> None:
        """A chip was dropped on another day: move the event (the platform hears of it through the outbox)."""
        if self.service is not None:
            self._spawn(self.service.reschedule(event_id, new_start), "reschedule the event")

    def _status(self, status: str) -> None:
        if self.service is not None and self._selected is not None:
            self._spawn(self.service.set_status(self._selected, status), f"set the event to {status}")

    def _on_answered(self, item_ids: list[int], answered: bool) -> None:
        if self.service is not None and self._selected is not None:
            self._spawn(self.service.set_answered(self._selected, item_ids, answered), "mark the question")

    def _publish_announcement(self) -> None:
        if self.service is None or self._selected is None:
            return
        targets = [key for key, _label in self.post_targets()[:1]]
        self._spawn(
            self.service.publish_announcement(self._selected, self.announcement.toPlainText(), targets),
            "publish the announcement",
        )

    def discord_channels(self) -> list[tuple[str, str, str]]:
        """(id, name, kind) of the Discord guild's channels, if the connector is connected."""
        connectors = getattr(self.runtime, "connectors", {}) or {}
        connector = connectors.get(Platform.DISCORD)
        client = getattr(connector, "client", None)
        guild = connector._guild() if connector is not None and client is not None else None
        if guild is None:
            return []
        out: list[tuple[str, str, str]] = []
        for ch in guild.channels:
            kind = {13: "stage", 2: "voice", 0: "text", 5: "text"}.get(getattr(ch.type, "value", -1), "")
            if kind:
                out.append((str(ch.id), ch.name, kind))
        return out

    def post_targets(self) -> list[tuple[str, str]]:
        targets = [
            (f"discord:{cid}", f"Discord #{name}")
            for cid, name, kind in self.discord_channels()
            if kind == "text"
        ]
        targets += [
            ("github:Announcements", "GitHub Discussions › Announcements"),
            ("github:General", "GitHub Discussions › General"),
        ]
        sub = str(
            getattr(getattr(getattr(self.runtime, "settings", None), "reddit", None), "subreddit", "") or ""
        )
        targets.append(("reddit", f"r/{sub}" if sub else "the subreddit"))
        return targets

    def make_dialog(self, event: EventRow | None = None) -> EventDialog:
        return EventDialog(
            _zone_name(self.tz),
            channels=self.discord_channels(),
            targets=self.post_targets(),
            draft=draft_from_row(event) if event is not None else None,
            parent=self,
        )

    def new_event(self) -> None:
        if self.service is None:
            return
        dialog = self.make_dialog()
        if dialog.exec():
            self._spawn(self.service.create(dialog.draft()), "create the event")

    def edit_event(self, event_id: int | None) -> None:
        if self.service is None or event_id is None:
            return
        event = self.service.get(event_id)
        if event is None:
            return
        dialog = self.make_dialog(event)
        if dialog.exec():
            self._spawn(self.service.update(event_id, dialog.draft()), "save the event")

    def export_ics(self, path: Path) -> int:
        """Write the whole calendar as iCalendar to ``path``; returns the number of events."""
        if self.service is None:
            return 0
        events = self.service.events()
        path.write_text(self.service.to_ics(events), encoding="utf-8")
        return len(events)

    def _export_dialog(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export calendar", "atlas-calendar.ics", "iCalendar (*.ics)"
        )
        if name:
            count = self.export_ics(Path(name))
            self.hint.setText(f"Exported {count} events to {name}.")

    def today(self) -> date:
        return self.month.today()
