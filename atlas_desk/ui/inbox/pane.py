"""The unified inbox pane: filters on the left, the list in the middle, the reading pane on the right.

Keyboard first: j/k move, e marks read and moves on, s stars, r replies, o opens in the browser (after showing
the address), / searches. The list is a ``QTableView`` with a fixed row height over ``InboxModel`` (the
only view
that stays flat at a million rows); reads go through the GUI thread's read-only connection for sub-ms keyset
queries, anything that scans (unread counts, the container list) runs off the GUI thread.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QSplitter,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from atlas_desk.core.bus import ChangeBus, Notice
from atlas_desk.core.types import Platform
from atlas_desk.store import inbox as repo
from atlas_desk.ui.bridge import QtBus
from atlas_desk.ui.compat import guard_singleton_refcounts
from atlas_desk.ui.inbox.delegate import ROW_HEIGHT, InboxDelegate
from atlas_desk.ui.inbox.filters import PLATFORM_LABELS, FiltersSidebar, filter_for
from atlas_desk.ui.inbox.model import Column, InboxModel, Role
from atlas_desk.ui.inbox.reading_pane import ReadingPane, confirm_open_url
from atlas_desk.ui.inbox.removal_dialog import RemovalChoice, RemovalDialog, RemovalReason
from atlas_desk.ui.inbox.view import InboxList
from atlas_desk.ui.panes import Pane, PaneContext
from atlas_desk.ui.widgets.empty_state import EmptyState, plain_label

log = logging.getLogger("atlas_desk.ui")

SEARCH_DEBOUNCE_MS = 150
CONTEXT_LIMIT = 20
EMPTY_HEADLINE = "Your community's messages will appear here — connect Discord, GitHub or Reddit in Settings"
# Approve and remove act on Reddit's mod queue; the Discord and GitHub connectors cannot perform them.
MODERATION_PLATFORMS = frozenset({Platform.REDDIT.value})
TICKET_PLATFORMS = frozenset({Platform.DISCORD.value})
REDDIT_NOT_CONNECTED = (
    "Reddit is not connected, so the subreddit's removal reasons cannot be listed: connect it in "
    "Settings › Reddit, or remove with a note."
)


class _Relay(QObject):
    """Carries results from worker threads to the GUI thread (queued signals)."""

    counts = Signal(object)
    containers = Signal(object)
    failed = Signal(str)


class ReplyEditor(QDialog):
    """A small editor for a reply to one item; sending queues it in the outbox."""

    def __init__(self, recipient: str, send: Callable[[str], Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Reply")
        self._send = send
        self.editor = QPlainTextEdit(self)
        self.editor.setPlaceholderText("Write your reply (markdown)…")
        self.status = plain_label(f"Replying to {recipient}", self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.send_button = buttons.addButton("Send", QDialogButtonBox.ButtonRole.AcceptRole)
        self.send_button.setToolTip("Send (Ctrl+Return)")
        self.send_button.setShortcut(QKeySequence("Ctrl+Return"))
        buttons.accepted.connect(self._on_send)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.editor)
        layout.addWidget(buttons)
        self.resize(480, 240)

    def _on_send(self) -> None:
        text = self.editor.toPlainText().strip()
        if not text:
            self.status.setText("A reply needs some text.")
            return
        try:
            self._send(text)
        except Exception as exc:  # shown in plain words; the moderator keeps the draft
            log.exception("queueing a reply failed")
            self.status.setText(f"The reply could not be queued: {exc}")
            return
        self.accept()


class InboxPane(Pane):
    """One list of everything the community says, newest first, with the moderator's actions."""

    pane_name = "inbox"
    title = "Inbox"

    def __init__(self, parent: QWidget | None = None) -> None:
        # The app does this at start-up; the inbox repeats it (idempotent) because its delegate makes hundreds
        # of the calls that leak references to None per frame (see ui/compat.py), e.g. in benchmarks.
        guard_singleton_refcounts()
        super().__init__(parent)
        self.store: Any = None
        self.service: Any = None
        self.qtbus: QtBus | None = None
        self.model: InboxModel | None = None
        self.mentions: tuple[str, ...] = ()
        self._filter_key = repo.ALL
        self._unread = 0
        self._open_settings: Callable[[str], None] | None = None
        self._runtime: Any = None
        self._tasks: set[Any] = set()  # running async actions, kept so they are not collected mid-flight
        self._removal_reasons: list[RemovalReason] = []  # the subreddit's, as last loaded
        self.removal_dialog: RemovalDialog | None = None
        self._relay = _Relay(self)
        # Set at shutdown: worker threads stop handing results to the (soon deleted) relay.
        self._closing = threading.Event()
        self._relay.counts.connect(self._on_counts)
        self._relay.containers.connect(self.filters_set_containers)
        # One worker (so one read-only connection) for the reads that scan: containers.
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="atlas-desk-inbox")
        self._containers_timer = QTimer(self)
        self._containers_timer.setSingleShot(True)
        self._containers_timer.setInterval(3000)
        self._containers_timer.timeout.connect(self._load_containers)
        self._has_items = False
        self._awaiting_first = False

        self.search = QLineEdit(self)
        self.search.setObjectName("inboxSearch")
        self.search.setPlaceholderText("Search messages  ( / )")
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self._search_timer.timeout.connect(self._apply_filter)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())

        self.filters = FiltersSidebar(self)
        self.filters.filter_selected.connect(self._on_filter_selected)

        self.table = InboxList(self)
        self.table.setObjectName("inboxList")
        self.table.setItemDelegate(InboxDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vh = self.table.verticalHeader()
        # A fixed section size is what keeps QTableView flat at a million rows (no per-row layout).
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(ROW_HEIGHT)
        vh.hide()
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)

        self.reading = ReadingPane(self)
        self.status_label = plain_label("", self)

        self._build_actions()

        toolbar = QHBoxLayout()
        toolbar.addWidget(self.search, 1)
        for action in (self.act_read_next, self.act_star, self.act_reply, self.act_open):
            button = QToolButton(self)
            button.setDefaultAction(action)
            toolbar.addWidget(button)
        more = QToolButton(self)
        more.setText("Actions")
        more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        more.setMenu(self.actions_menu)
        toolbar.addWidget(more)

        middle = QWidget(self)
        mid_layout = QVBoxLayout(middle)
        mid_layout.setContentsMargins(0, 0, 0, 0)
        mid_layout.addLayout(toolbar)
        mid_layout.addWidget(self.table, 1)
        mid_layout.addWidget(self.status_label)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.filters)
        self.splitter.addWidget(middle)
        self.splitter.addWidget(self.reading)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([230, 680, 470])

        self.empty = EmptyState("inbox", EMPTY_HEADLINE, action_text="Open Settings", parent=self)
        self.empty.action_triggered.connect(lambda: self._open_settings and self._open_settings(""))

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.splitter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    # -------------------------------------------------------------------------------------- actions

    def _action(self, text: str, shortcut: str, slot: Callable[[], None], name: str) -> QAction:
        action = QAction(text, self)
        action.setObjectName(name)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        # Off by default on some platforms (macOS): the menus are where a moderator learns the keys.
        action.setShortcutVisibleInContextMenu(True)
        self._describe(action, text)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    @staticmethod
    def _describe(action: QAction, text: str, why_not: str = "") -> None:
        """Set an action's text and its tooltip, which always names the key and says why it is disabled."""
        key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setText(text)
        action.setToolTip(f"{text} ({key})" + (f" — {why_not}" if why_not else ""))

    def _build_actions(self) -> None:
        self.act_next = self._action("Next", "J", lambda: self.move_selection(1), "inboxNext")
        self.act_prev = self._action("Previous", "K", lambda: self.move_selection(-1), "inboxPrevious")
        self.act_read_next = self._action("Mark read and next", "E", self.mark_read_and_next, "inboxReadNext")
        self.act_unread = self._action("Mark unread", "U", self.mark_unread, "inboxUnread")
        self.act_star = self._action("Star", "S", self.toggle_star, "inboxStar")
        self.act_reply = self._action("Reply…", "R", self.reply, "inboxReply")
        self.act_open = self._action("Open in browser…", "O", self.open_in_browser, "inboxOpen")
        self.act_search = self._action("Search", "/", self.focus_search, "inboxSearchAction")
        self.act_approve = self._action("Approve", "A", self.approve, "inboxApprove")
        self.act_remove = self._action("Remove…", "X", self.remove, "inboxRemove")
        self.act_suggestion = self._action(
            "Mark as suggestion", "I", self.toggle_suggestion, "inboxSuggestion"
        )
        self.act_ticket = self._action("Convert to ticket", "T", self.convert_to_ticket, "inboxTicket")
        self.act_roadmap = self._action("Add to roadmap", "Ctrl+Shift+R", self.add_to_roadmap, "inboxRoadmap")
        self.actions_menu = QMenu("Actions", self)
        for action in (
            self.act_next,
            self.act_prev,
            self.act_read_next,
            self.act_unread,
            self.act_star,
            self.act_reply,
            self.act_open,
            self.act_search,
        ):
            self.actions_menu.addAction(action)
        self.actions_menu.addSeparator()
        for action in (
            self.act_approve,
            self.act_remove,
            self.act_suggestion,
            self.act_ticket,
            self.act_roadmap,
        ):
            self.actions_menu.addAction(action)

    def _context_menu(self, pos: Any) -> None:
        self.actions_menu.popup(self.table.viewport().mapToGlobal(pos))

    # ------------------------------------------------------------------------------------ lifecycle

    def attach(self, context: PaneContext) -> None:
        """Build the model over the store and start listening to the bus."""
        super().attach(context)
        self._open_settings = context.open_settings
        runtime = context.runtime
        self._runtime = runtime
        store = getattr(runtime, "store", None) if runtime is not None else None
        if store is None:
            self.stack.setCurrentWidget(self.empty)
            self.mark_loaded()
            return
        service = getattr(runtime, "inbox", None)
        if service is None:
            from atlas_desk.core.inbox import InboxService

            service = InboxService(store, context.bus.bus)
        settings = getattr(runtime, "settings", None)
        desk = getattr(settings, "desk", None)
        if desk is not None:
            self.mentions = tuple(desk.moderator_handles) + tuple(desk.keywords)
            if not service.mentions:
                service.mentions = self.mentions
        else:
            self.mentions = tuple(service.mentions)
        self.connect_store(store, service, context.bus)

    def connect_store(self, store: Any, service: Any, qtbus: QtBus | ChangeBus) -> None:
        """Wire the pane to a store, an InboxService and the bus (``attach`` calls this)."""
        self.store = store
        self.service = service
        self.qtbus = qtbus if isinstance(qtbus, QtBus) else QtBus(qtbus, self)
        self.qtbus.items_added_rows.connect(self._on_items_added)
        self.qtbus.items_changed_rows.connect(self._on_items_changed)
        self.model = InboxModel(store.reader, self)
        self.table.setModel(self.model)
        # The count under the list follows the rows as they arrive (appends are batched per frame).
        self.model.rowsInserted.connect(self._update_status)
        self.model.rowsInserted.connect(self._select_first_arrival)
        self.model.rowsRemoved.connect(self._update_status)
        self.model.modelReset.connect(self._update_status)
        # One visible column: the delegate lays out the whole row (one paint per row keeps a frame short).
        for col in Column:
            self.table.setColumnHidden(col, col != Column.SUBJECT)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(Column.SUBJECT, QHeaderView.ResizeMode.Stretch)
        header.hide()
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)
        self._apply_filter()
        self._has_items = self.model.rowCount() > 0
        self._update_empty()
        self.refresh_counts()
        self._load_containers()
        # Loaded once the first window is painted.
        QTimer.singleShot(0, self.mark_loaded)

    def activate(self) -> None:
        self.table.setFocus()

    def shutdown(self) -> None:
        self._search_timer.stop()
        self._containers_timer.stop()
        self._closing.set()
        self._worker.shutdown(wait=True, cancel_futures=True)
        if self.model is not None:
            self.model.stop()
        if self.qtbus is not None:
            try:
                self.qtbus.items_added_rows.disconnect(self._on_items_added)
                self.qtbus.items_changed_rows.disconnect(self._on_items_changed)
            except (RuntimeError, TypeError):
                pass

    def tab_title(self) -> str:
        """What the tab shows: the title and the unread count."""
        return f"{self.title} ({self._unread:,})" if self._unread else self.title

    @property
    def unread_count(self) -> int:
        return self._unread

    # ----------------------------------------------------------------------------------- filtering

    def _on_filter_selected(self, key: str) -> None:
        self._filter_key = key
        self._apply_filter()

    def _apply_filter(self) -> None:
        if self.model is None:
            return
        self._search_timer.stop()
        current = self.current_id()
        self.model.set_filter(filter_for(self._filter_key, self.mentions, self.search.text()))
        row = self.model.row_of(current) if current is not None else None
        if row is not None and row < 200:
            self.table.selectRow(row)
        elif self.model.rowCount():
            self.table.selectRow(0)
        else:
            self.reading.show_placeholder()
        self._update_status()

    def _update_status(self, *_args: Any) -> None:
        if self.model is None:
            return
        n = self.model.rowCount()
        more = "+" if self.model.canFetchMore() else ""
        if self.search.text().strip():
            self.status_label.setText(f"{n:,}{more} matches")
        else:
            self.status_label.setText(f"{n:,}{more} items")

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape and self.search.hasFocus():
            self.search.clear()
            self.table.setFocus()
            return
        super().keyPressEvent(event)

    # ---------------------------------------------------------------------------------- selection

    def current_id(self) -> int | None:
        if self.model is None:
            return None
        index = self.table.currentIndex()
        return self.model.item_id(index.row()) if index.isValid() else None

    def selected_ids(self) -> list[int]:
        if self.model is None:
            return []
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        ids = [i for i in (self.model.item_id(r) for r in rows) if i is not None]
        current = self.current_id()
        return ids or ([current] if current is not None else [])

    def open_item(self, item_id: int) -> None:
        """Select ``item_id`` if it is loaded in the list, and show it in the reading pane either way."""
        if self.model is None or self.store is None:
            return
        row = self.model.row_of(item_id)
        if row is not None:
            self.table.selectRow(row)
            self.table.scrollTo(self.model.index(row, Column.SUBJECT))
            return
        conn = self.store.reader()
        item = repo.get_item(conn, item_id)
        if item is not None:
            self.table.clearSelection()
            self.reading.show_item(item, repo.context(conn, item_id, CONTEXT_LIMIT))
            self._update_action_state(item)

    def move_selection(self, step: int) -> None:
        """Select the next (step 1) or previous (-1) item."""
        if self.model is None or self.model.rowCount() == 0:
            return
        index = self.table.currentIndex()
        row = index.row() + step if index.isValid() else 0
        if row >= self.model.rowCount() and self.model.canFetchMore():
            self.model.fetchMore()
        row = max(0, min(row, self.model.rowCount() - 1))
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, Column.SUBJECT))

    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._show_current()

    def _show_current(self) -> None:
        item_id = self.current_id()
        if item_id is None or self.store is None:
            self.reading.show_placeholder()
            self._update_action_state(None)
            return
        conn = self.store.reader()
        item = repo.get_item(conn, item_id)
        if item is None:
            self.reading.show_placeholder()
            self._update_action_state(None)
            return
        self.reading.show_item(item, repo.context(conn, item_id, CONTEXT_LIMIT))
        self._update_action_state(item)

    def _update_action_state(self, item: repo.InboxRow | None) -> None:
        """Enable the item's actions only where its platform can perform them, and say why not."""
        describe = self._describe
        if item is None:
            none = "select an item first"
            for action, text in (
                (self.act_approve, "Approve"),
                (self.act_remove, "Remove…"),
                (self.act_ticket, "Convert to ticket"),
                (self.act_open, "Open in browser…"),
            ):
                action.setEnabled(False)
                describe(action, text, none)
            return
        describe(self.act_star, "Unstar" if item.starred else "Star")
        describe(self.act_suggestion, "Not a suggestion" if item.is_suggestion else "Mark as suggestion")
        if item.platform not in MODERATION_PLATFORMS:
            where = PLATFORM_LABELS.get(item.platform, item.platform)
            approve_why = remove_why = (
                f"only Reddit's mod queue can be moderated from the desk; moderate {where} items in {where}"
            )
        else:
            approve_why = "" if item.reported else "nothing to approve: it is not in the mod queue"
            remove_why = "already removed" if item.deleted else ""
        self.act_approve.setEnabled(not approve_why)
        describe(self.act_approve, "Approve", approve_why)
        self.act_remove.setEnabled(not remove_why)
        describe(self.act_remove, "Remove…", remove_why)
        ticket_why = (
            ""
            if item.platform in TICKET_PLATFORMS
            else "only Discord messages can become tickets (Reddit members write to modmail)"
        )
        self.act_ticket.setEnabled(not ticket_why)
        describe(self.act_ticket, "Convert to ticket", ticket_why)
        open_why = "" if item.url else "this item has no web address"
        self.act_open.setEnabled(not open_why)
        describe(self.act_open, "Open in browser…", open_why)

    # ---------------------------------------------------------------------------------- operations

    def _watch(self, future: concurrent.futures.Future[Any] | None) -> None:
        """Failures are reported by the service as a Notice; only log here so nothing vanishes silently."""
        if future is None:
            return

        def done(f: concurrent.futures.Future[Any]) -> None:
            if f.exception() is not None:
                log.debug("inbox operation failed: %s", f.exception())

        future.add_done_callback(done)

    def mark_read_and_next(self) -> None:
        """Mark the selected items read and move to the next one."""
        ids = self.selected_ids()
        if not ids or self.service is None:
            return
        self._watch(self.service.mark_read(ids, True))
        self.move_selection(1)

    def mark_unread(self) -> None:
        ids = self.selected_ids()
        if ids and self.service is not None:
            self._watch(self.service.mark_read(ids, False))

    def toggle_star(self) -> None:
        item_id = self.current_id()
        if item_id is None or self.model is None or self.service is None:
            return
        starred = bool(self.model.data(self.table.currentIndex(), Role.STARRED))
        self._watch(self.service.set_starred(item_id, not starred))

    def toggle_suggestion(self) -> None:
        """Mark the selected items as feature suggestions, or clear the mark if the current one has it."""
        ids = self.selected_ids()
        item = self.reading.item
        if ids and self.service is not None:
            suggestion = not (item is not None and item.id in ids and item.is_suggestion)
            self._watch(self.service.mark_suggestion(ids, suggestion))

    def reply(self) -> None:
        item_id = self.current_id()
        item = self.reading.item
        if item_id is None or item is None or self.service is None:
            return
        service = self.service
        editor = ReplyEditor(
            f"{item.author_name or item.author} in {item.container}",
            lambda text: self._watch(service.reply(item_id, text)),
            self,
        )
        editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        editor.accepted.connect(
            lambda: self.status_label.setText(
                f"Reply queued: it appears in the thread once {item.platform} confirms it."
            )
        )
        editor.show()
        self.reply_editor = editor

    def open_in_browser(self) -> None:
        """Show the item's address and open it only if the moderator confirms."""
        item = self.reading.item
        if item is None or not item.url:
            return
        confirm_open_url(self, QUrl(item.url))

    def approve(self) -> None:
        """Approve the current Reddit item: it leaves the mod queue on the desk at once, then on Reddit."""
        item = self.reading.item
        if item is None or self.service is None or item.platform not in MODERATION_PLATFORMS:
            return
        self._watch(self.service.approve(item.id))
        self.status_label.setText("Approval queued: Reddit confirms it in a moment.")

    def remove(self) -> None:
        """Ask how to remove the current Reddit item (a subreddit reason, a note, spam) and how to tell its
        author why, then queue it."""
        item = self.reading.item
        if item is None or self.service is None or item.platform not in MODERATION_PLATFORMS:
            return
        connector = self._reddit_connector()
        load = getattr(connector, "removal_reasons", None)
        subreddit = str(getattr(connector, "subreddit", "") or item.container_id or "?")
        dialog = RemovalDialog(
            subreddit,
            item.title or item.body[:80],
            load if callable(load) else None,
            known=self._removal_reasons,
            unavailable="" if callable(load) else REDDIT_NOT_CONNECTED,
            item_kind="comment" if item.kind == "comment" else "post",
            parent=self,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.reasons_loaded.connect(self._remember_removal_reasons)
        service, item_id = self.service, item.id

        def chosen(choice: RemovalChoice) -> None:
            self._watch(
                service.remove(
                    item_id,
                    choice.reason_id,
                    choice.mod_note,
                    reason_title=choice.reason_title,
                    spam=choice.spam,
                    message_type=choice.message_type,
                    message=choice.message,
                    lock_message=choice.lock_message,
                )
            )
            why = f" ({choice.reason_title})" if choice.reason_title else ""
            told = {"public": " with a public reply", "private": " with a private message"}.get(
                choice.message_type, ""
            )
            self.status_label.setText(f"Removal{why}{told} queued: Reddit confirms it in a moment.")

        dialog.chosen.connect(chosen)
        dialog.finished.connect(lambda _result: self._forget_removal_dialog(dialog))
        self.removal_dialog = dialog
        dialog.open()

    def _forget_removal_dialog(self, dialog: RemovalDialog) -> None:
        # The dialog deletes itself once closed; nothing may reach it through the pane after that.
        if self.removal_dialog is dialog:
            self.removal_dialog = None

    def _reddit_connector(self) -> Any:
        connectors = getattr(self._runtime, "connectors", None)
        return connectors.get(Platform.REDDIT) if isinstance(connectors, dict) else None

    def _remember_removal_reasons(self, reasons: list[RemovalReason]) -> None:
        # Shown at once the next time the dialog opens, while it asks Reddit again.
        self._removal_reasons = list(reasons)

    def convert_to_ticket(self) -> None:
        """Open a private ticket with the item's author (Discord items); the relay opens the thread."""
        item_id = self.current_id()
        tickets = getattr(self._runtime, "tickets", None)
        if item_id is None:
            return
        if tickets is None:
            QMessageBox.information(
                self, "Convert to ticket", "Tickets need Discord: connect it in Settings › Discord."
            )
            return
        import asyncio

        async def open_ticket() -> None:
            try:
                await tickets.open_from_inbox(item_id)
            except (LookupError, ValueError) as exc:
                box = QMessageBox(QMessageBox.Icon.Information, "Convert to ticket", str(exc), parent=self)
                box.setTextFormat(Qt.TextFormat.PlainText)
                box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
                # open(), not exec(): a nested event loop inside a running coroutine breaks qasync's tasks.
                box.open()
            else:
                tickets.bus.publish(
                    Notice(
                        "info", "Ticket opened: it is in the Tickets pane; the member is told by DM.", "inbox"
                    )
                )

        task = asyncio.ensure_future(open_ticket())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def add_to_roadmap(self) -> None:
        """Put the current item on the roadmap board, linked and carrying its votes."""
        from atlas_desk.ui.roadmap.actions import add_to_roadmap

        item_id = self.current_id()
        if item_id is not None:
            add_to_roadmap(self._runtime, item_id)

    # -------------------------------------------------------------------------------- live changes

    def _on_items_added(self, ids: Sequence[int], rows: Sequence[repo.InboxRow] = ()) -> None:
        if self.model is None:
            return
        self.model.add_ids(ids, rows)
        if not self._has_items:
            self._has_items = True
            self._awaiting_first = True  # the first items to arrive get shown, as a filter's first do
            self._update_empty()
        if not self._containers_timer.isActive():
            self._containers_timer.start()
        self.refresh_counts()

    def _on_items_changed(self, ids: Sequence[int], rows: Sequence[repo.InboxRow] = ()) -> None:
        if self.model is None:
            return
        self.model.refresh_ids(ids, rows)
        current = self.current_id()
        if current is not None and current in set(ids):
            self._show_current()
        self.refresh_counts()

    def _select_first_arrival(self, *_args: Any) -> None:
        if self._awaiting_first and self.model is not None and self.model.rowCount():
            self._awaiting_first = False
            if self.current_id() is None:
                self.table.selectRow(0)

    def _update_empty(self) -> None:
        self.stack.setCurrentWidget(self.splitter if self._has_items else self.empty)

    # ----------------------------------------------------------------------------------- counts

    def refresh_counts(self) -> None:
        """Show the service's unread counts (kept incrementally); load them once, off the GUI thread."""
        if self.service is None:
            return
        counts = self.service.unread_counts()
        if counts is not None:
            self._on_counts(counts)
            return
        if getattr(self, "_counts_loading", False):
            return
        self._counts_loading = True
        future = self.service.load_unread_counts()
        relay, closing = self._relay, self._closing

        def done(f: concurrent.futures.Future[dict[str, int]]) -> None:
            if f.exception() is None and not closing.is_set():
                with contextlib.suppress(RuntimeError):  # the pane is gone
                    relay.counts.emit(f.result())

        future.add_done_callback(done)

    def _on_counts(self, counts: dict[str, int]) -> None:
        self.filters.set_counts(counts)
        unread = int(counts.get(repo.UNREAD, 0))
        if unread != self._unread:
            self._unread = unread
            self.unread_count_changed.emit(unread)

    def _load_containers(self) -> None:
        if self.store is None or getattr(self, "_containers_loading", False):
            return
        self._containers_loading = True
        store, relay, closing = self.store, self._relay, self._closing

        def work() -> None:
            try:
                found = repo.containers(store.reader())
            except Exception:
                log.exception("listing the inbox's containers failed")
                found = []
            if not closing.is_set():
                with contextlib.suppress(RuntimeError):  # the pane is gone
                    relay.containers.emit(found)

        self._worker.submit(work)

    def filters_set_containers(self, found: list[tuple[str, str, str]]) -> None:
        self._containers_loading = False
        self.filters.set_containers(found)
