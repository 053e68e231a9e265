"""The Tickets pane: queue views on the left, the queue in the middle, the ticket on the right.

Keyboard first: in the queue, C claims, A assigns, O/W/R set open/waiting(pending)/resolved, Ctrl+1…4 the
priority, S snoozes, Shift+C closes (with a reason), Shift+R reopens, T edits tags, Return goes to the reply
box; each shortcut is shown in its tooltip and menu. Actions apply to every selected ticket (bulk).
The pane only translates gestures into ``TicketService`` operations; changes come back through the bus.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QInputDialog,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from atlas_desk.core.bus import Notice
from atlas_desk.core.sla import SlaPolicy
from atlas_desk.ui.panes import Pane, PaneContext
from atlas_desk.ui.tickets.detail import TicketDetail
from atlas_desk.ui.tickets.model import Column, Role, TicketQueueModel, TicketSortProxy
from atlas_desk.ui.widgets.empty_state import EmptyState, plain_label

log = logging.getLogger("atlas_desk.ui.tickets")

VIEW_TITLES: tuple[tuple[str, str], ...] = (
    ("mine", "Mine"),
    ("unassigned", "Unassigned"),
    ("open", "All open"),
    ("pending", "Pending"),
    ("snoozed", "Snoozed"),
    ("closed", "Closed"),
)


class TicketsPane(Pane):
    pane_name = "tickets"
    title = "Tickets"
    detail: TicketDetail

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service: Any = None
        self.policy = SlaPolicy()
        self.view_name = "open"
        self._tasks: set[asyncio.Future[Any]] = set()
        self._current_id: int | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget(self)
        outer.addWidget(self.stack)
        self.empty = EmptyState(
            "tickets",
            "No tickets yet",
            "When a member DMs the bot, runs /ticket or presses “Open a ticket” in the support channel, the "
            "ticket shows up here with its first-reply clock.",
            "Tickets need Discord: a bot token, the server, and a moderator-only tickets forum in Settings.",
            "Open Discord settings",
            self,
        )
        self.empty.action_triggered.connect(self._open_settings)
        self.stack.addWidget(self.empty)

        body = QWidget(self)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.toolbar = QToolBar("Ticket actions", body)
        self.toolbar.setObjectName("ticketActions")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        layout.addWidget(self.toolbar)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, body)
        self.views = QListWidget(self.splitter)
        self.views.setObjectName("ticketViews")
        self.views.setMaximumWidth(190)
        self.views.setStyleSheet(
            "QListWidget#ticketViews { border: none; } QListWidget#ticketViews::item { padding: 7px 10px; }"
        )
        for key, text in VIEW_TITLES:
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.views.addItem(item)
        self.views.currentRowChanged.connect(self._view_changed)

        queue_box = QWidget(self.splitter)
        qlayout = QVBoxLayout(queue_box)
        qlayout.setContentsMargins(0, 0, 0, 0)
        self.model = TicketQueueModel(self.policy, parent=self)
        self.proxy = TicketSortProxy(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView(queue_box)
        self.table.setObjectName("ticketQueue")
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(Column.SLA, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().hide()
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(Column.SUBJECT, QHeaderView.ResizeMode.Stretch)
        for col, width in (
            (Column.STATUS, 74),
            (Column.PRIORITY, 70),
            (Column.REQUESTER, 130),
            (Column.ASSIGNEE, 80),
            (Column.AGE, 46),
            (Column.SLA, 104),
            (Column.ACTIVITY, 86),
        ):
            self.table.setColumnWidth(col, width)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _i: self.detail.composer.setFocus())
        self.queue_empty = plain_label("Nothing here.", queue_box)
        self.queue_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.queue_empty.setObjectName("ticketQueueEmpty")
        qlayout.addWidget(self.table)
        qlayout.addWidget(self.queue_empty)
        self.queue_empty.hide()

        self.detail = TicketDetail(self.policy, self.splitter)
        self.detail.reply_requested.connect(lambda text: self._run_one(lambda s, i: s.reply(i, text)))
        self.detail.note_requested.connect(lambda text: self._run_one(lambda s, i: s.note(i, text)))
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([150, 640, 480])
        layout.addWidget(self.splitter, 1)
        self.stack.addWidget(body)
        self._body = body
        self._build_actions()

        self._tick = QTimer(self)
        self._tick.setInterval(30_000)  # ages and SLA time left move on
        self._tick.timeout.connect(self.model.tick)
        # A backfill publishes a change per ticket: coalesce a burst into one reload.
        self._reload_soon = QTimer(self)
        self._reload_soon.setSingleShot(True)
        self._reload_soon.setInterval(30)
        self._reload_soon.timeout.connect(self.reload)

    # -- actions ---------------------------------------------------------------------------------------------

    def _action(self, text: str, shortcut: str, slot: Callable[[], None], *, toolbar: bool = True) -> QAction:
        action = QAction(text, self)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        native = QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{text} ({native})")
        action.triggered.connect(lambda _checked=False: slot())  # never pass `checked` on to the slot
        self.table.addAction(action)
        if toolbar:
            self.toolbar.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.act_claim = self._action("Claim", "C", lambda: self._run_many(lambda s, i: s.claim(i)))
        self.act_assign = self._action("Assign…", "A", self._assign)
        self.status_menu = QMenu("Status", self)
        self.act_open = self._status_action("Open", "O", "open")
        self.act_pending = self._status_action("Pending (waiting on member)", "W", "pending")
        self.act_resolved = self._status_action("Resolved", "R", "resolved")
        self._menu_button("Status", self.status_menu)
        self.priority_menu = QMenu("Priority", self)
        for n, name in enumerate(("urgent", "high", "normal", "low"), start=1):
            act = self._action(
                name.capitalize(),
                f"Ctrl+{n}",
                partial(self._set_priority, name),
                toolbar=False,
            )
            self.priority_menu.addAction(act)
        self._menu_button("Priority", self.priority_menu)
        self.act_tags = self._action("Tags…", "T", self._tags)
        self.snooze_menu = QMenu("Snooze", self)
        for text, key, delta in (
            ("For an hour", "S", timedelta(hours=1)),
            ("Until tomorrow", "Shift+S", timedelta(days=1)),
        ):
            act = self._action(text, key, partial(self._snooze, delta), toolbar=False)
            self.snooze_menu.addAction(act)
        act = self._action("Until the member replies", "Alt+S", lambda: self._snooze(None), toolbar=False)
        self.snooze_menu.addAction(act)
        self._menu_button("Snooze", self.snooze_menu)
        self.toolbar.addSeparator()
        self.act_close = self._action("Close…", "Shift+C", lambda: self.close_selected())
        self.act_reopen = self._action("Reopen", "Shift+R", lambda: self._run_many(lambda s, i: s.reopen(i)))
        self.act_reply = self._action(
            "Reply", "Return", lambda: self.detail.composer.setFocus(), toolbar=False
        )
        self.toolbar.addSeparator()
        self.act_setup = QAction("Discord setup…", self)
        self.act_setup.setToolTip(
            "Check that the tickets forum is moderator-only; create missing tags, support channel, panel"
        )
        self.act_setup.triggered.connect(lambda _checked=False: self.run_setup())
        self.toolbar.addAction(self.act_setup)

    def _status_action(self, text: str, key: str, status: str) -> QAction:
        act = self._action(
            text, key, lambda: self._run_many(lambda s, i: s.set_status(i, status)), toolbar=False
        )
        self.status_menu.addAction(act)
        return act

    def _menu_button(self, text: str, menu: QMenu) -> None:
        button = QToolButton(self.toolbar)
        button.setText(text)
        button.setMenu(menu)
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        button.setToolTip(f"{text}: " + ", ".join(a.toolTip() for a in menu.actions()))
        self.toolbar.addWidget(button)

    # -- pane life cycle -------------------------------------------------------------------------------------

    def attach(self, context: PaneContext) -> None:
        super().attach(context)
        runtime = context.runtime
        self.service = getattr(runtime, "tickets", None) if runtime is not None else None
        settings = getattr(runtime, "settings", None)
        if settings is not None:
            self.policy = SlaPolicy(settings.sla.first_response_hours, settings.sla.warn_before_hours)
            self.model.policy = self.policy
            self.detail.policy = self.policy
        if self.service is None:
            self.stack.setCurrentWidget(self.empty)
            self.mark_loaded()
            return
        self.detail.setProperty("moderator", self.service.me)
        context.bus.tickets_changed.connect(self._tickets_changed)
        self.views.setCurrentRow(2)  # All open
        self._tick.start()
        self.reload()
        self.mark_loaded()

    def activate(self) -> None:
        self.table.setFocus()

    def shutdown(self) -> None:
        self._tick.stop()
        self._reload_soon.stop()
        for task in list(self._tasks):
            task.cancel()

    def _open_settings(self) -> None:
        if self.context is not None:
            self.context.open_settings("discord")

    # -- loading ---------------------------------------------------------------------------------------------

    def reload(self) -> None:
        """Re-read the current view and the view counts."""
        if self.service is None:
            return
        counts = self.service.counts()
        total = (
            sum(counts.values())
            - counts.get("mine", 0)
            - counts.get("unassigned", 0)
            - counts.get("pending", 0)
        )
        self.stack.setCurrentWidget(self._body if total > 0 else self.empty)
        for row, (key, text) in enumerate(VIEW_TITLES):
            n = counts.get(key, 0)
            self.views.item(row).setText(f"{text}  {n}" if n else text)
        selected = self.selected_ids()
        self.model.load(self.service.rows(self.view_name))
        empty = self.model.rowCount() == 0
        self.queue_empty.setVisible(empty)
        self.table.setVisible(not empty)
        self._reselect(selected)
        self.unread_count_changed.emit(counts.get("unassigned", 0))
        self._show_current()

    def _reselect(self, ids: list[int]) -> None:
        sel = self.table.selectionModel()
        if not ids and self.proxy.rowCount() and self._current_id is None:
            ids = [self.proxy.index(0, 0).data(Role.TICKET_ID)]
        for tid in ids:
            row = self.model.row_of(tid)
            if row < 0:
                continue
            index = self.proxy.mapFromSource(self.model.index(row, 0))
            sel.select(
                index, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
            )
            if tid == (self._current_id or ids[0]):
                sel.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)

    def _tickets_changed(self, _ids: tuple[int, ...]) -> None:
        if not self._reload_soon.isActive():
            self._reload_soon.start()

    def _view_changed(self, row: int) -> None:
        item = self.views.item(row)
        if item is None:
            return
        self.view_name = str(item.data(Qt.ItemDataRole.UserRole))
        self.table.clearSelection()
        self._current_id = None
        self.reload()

    def select_view(self, key: str) -> None:
        """Switch to a queue view by key ("mine", "unassigned", "open", "pending", "snoozed", "closed")."""
        self.views.setCurrentRow([k for k, _ in VIEW_TITLES].index(key))

    def selected_ids(self) -> list[int]:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return [int(i.data(Role.TICKET_ID)) for i in rows]

    def _selection_changed(self, *_args: Any) -> None:
        ids = self.selected_ids()
        self._current_id = (
            ids[0] if len(ids) == 1 else (self._current_id if self._current_id in ids else None)
        )
        if len(ids) == 1 and self.service is not None:
            row = self.service.get(ids[0])
            if row is not None and row.extra.get("unread"):
                self._spawn(self.service.mark_read(ids[0]))
        self._show_current()

    def _show_current(self) -> None:
        if self.service is None:
            return
        ticket = self.service.get(self._current_id) if self._current_id is not None else None
        self.detail.show_ticket(ticket, self.service.messages(ticket.id) if ticket else [])

    def open_ticket(self, ticket_id: int) -> None:
        """Select a ticket (a notification was clicked)."""
        self._current_id = ticket_id
        if self.model.row_of(ticket_id) < 0:
            self.select_view("open" if self.service and self.service.get(ticket_id) else self.view_name)
        self.table.clearSelection()
        self._reselect([ticket_id])

    # -- running operations ----------------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Future[Any]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None and self.context is not None:
                log.warning("a ticket action failed: %s", exc)
                self.context.bus.bus.publish(Notice("error", f"Ticket action failed: {exc}", area="tickets"))

        task.add_done_callback(done)

    def _run_many(self, op: Callable[[Any, int], Awaitable[Any]]) -> None:
        ids = self.selected_ids()
        if self.service is None or not ids:
            return

        async def all_of() -> None:
            for tid in ids:
                await op(self.service, tid)

        self._spawn(all_of())

    def _run_one(self, op: Callable[[Any, int], Awaitable[Any]]) -> None:
        if self.service is None or self._current_id is None:
            return
        self._spawn(op(self.service, self._current_id))

    def _assign(self) -> None:
        if self.service is None:
            return
        names = ["(nobody)", *self.service.moderators]
        name, ok = QInputDialog.getItem(self, "Assign", "Assign the selected tickets to:", names, 0, False)
        if ok:
            who = "" if name == "(nobody)" else name
            self._run_many(lambda s, i: s.assign(i, who))

    def close_selected(self, reason: str | None = None) -> None:
        """Close the selected tickets with a reason (asked for when not given)."""
        if reason is None:
            reason, ok = QInputDialog.getText(self, "Close tickets", "Reason (sent to the member):")
            if not ok:
                return
        self._run_many(lambda s, i: s.close(i, reason or ""))

    def _tags(self) -> None:
        ticket = self.service.get(self._current_id) if self.service and self._current_id else None
        current = ", ".join(ticket.tags) if ticket else ""
        text, ok = QInputDialog.getText(self, "Tags", "Tags (comma separated, at most 3):", text=current)
        if ok:
            tags = [t.strip() for t in text.split(",") if t.strip()]
            self._run_many(lambda s, i: s.set_tags(i, tags))

    def run_setup(self, *, confirm: bool = True) -> None:
        """Show the relay's setup findings in plain words and offer to create what is missing."""
        runtime = self.context.runtime if self.context is not None else None
        relay = getattr(runtime, "relay", None)
        if relay is None:
            self._message("Tickets need Discord with a tickets forum: set it up in Settings.")
            return
        report = relay.check_setup()
        lines = [*report.problems] or ["The tickets forum is moderator-only and the bot can work in it."]
        if not report.missing:
            self._message("\n\n".join(lines))
            return
        lines.append(
            "Missing: " + ", ".join(report.missing) + ". Create them now (and post the ticket panel)?"
        )
        if confirm:
            box = QMessageBox(QMessageBox.Icon.Question, "Discord setup", "\n\n".join(lines), parent=self)
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
            if box.exec() != QMessageBox.StandardButton.Yes:
                return
        self._spawn(self._create_missing(relay))

    def _message(self, text: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "Discord setup", text, parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.exec()

    async def _create_missing(self, relay: Any) -> None:
        done = await relay.create_missing()
        if self.context is not None:
            self.context.bus.bus.publish(
                Notice("info", "Discord setup: " + "; ".join(done) + ".", area="tickets")
            )

    def _set_priority(self, priority: str) -> None:
        self._run_many(lambda s, i: s.set_priority(i, priority))

    def _snooze(self, delta: timedelta | None) -> None:
        until = datetime.now(UTC) + delta if delta is not None else None
        self._run_many(lambda s, i: s.snooze(i, until, until_reply=delta is None))

    def current_index(self) -> QModelIndex:
        return self.table.currentIndex()
