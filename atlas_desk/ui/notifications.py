"""Desktop notifications, the tray icon and the in-app notification centre.

Backend: **desktop-notifier** (PyPI ``desktop-notifier``, maintained, MIT). On Linux it speaks the
``org.freedesktop.Notifications`` D-Bus interface asynchronously (dbus-fast, on the desk's asyncio loop, so
the GUI never waits on D-Bus), sends urgency and sound hints, and calls us back per notification when it is
clicked (``ActionInvoked`` with the ``default`` action), which is what "click opens the item" needs. It also
works with no tray at all (GNOME), and uses the native centres on macOS and Windows. Qt's
``QSystemTrayIcon.showMessage`` was the alternative: it needs a visible tray icon, has no urgency, and its
single ``messageClicked`` signal cannot tell which message was clicked. It stays as the fallback when
desktop-notifier is missing or no notification server answers.

What pops up, when, and how bursts are grouped is decided by ``atlas_desk.core.notify.NotificationRules``;
this module only delivers. Community text in bodies is escaped when the server advertises ``body-markup``.

``install(window, qtbus, settings)`` wires it all to the main window and returns a ``DeskNotifications``; the
main window connects ``notifications.notifier.open_target`` (or defines ``window.open_target(target)``, which
``install`` connects) to open the item in its pane. ``target`` is the ``NotificationEvent.target`` dict
(``pane``, ``id``, …; a summary carries ``ids`` instead of ``id``; ``pane == "outbox"`` means the
failed-actions list).
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import os
import sys
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRectF,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QHBoxLayout,
    QListView,
    QMainWindow,
    QMenu,
    QPushButton,
    QSystemTrayIcon,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from atlas_desk.core.bus import Notice, NotificationEvent
from atlas_desk.core.notify import (
    Decision,
    NotificationRules,
    NotifyOptions,
    Popup,
    failed_action_event,
    kind_info,
    shorten,
)
from atlas_desk.ui import icons
from atlas_desk.ui.compat import guard_singleton_refcounts
from atlas_desk.ui.widgets.empty_state import plain_label

log = logging.getLogger("atlas_desk.ui.notifications")

APP_NAME = "Atlas Desk"
CENTRE_LIMIT = 300  # recent notifications kept in the centre
# freedesktop sound-naming names the notification server may play (the "sound" capability).
SOUND_NAMES = {"sla_breach": "dialog-warning", "action_failed": "dialog-error"}
DEFAULT_SOUND_NAME = "message-new-instant"


# ---------------------------------------------------------------------------------------------- backends


ClickCallback = Callable[[], None]


class Backend(Protocol):
    """Shows one pop-up; calls ``on_click`` if the moderator clicks it. Returns False if it could not."""

    name: str

    async def show(self, popup: Popup, on_click: ClickCallback) -> bool: ...


class DesktopNotifierBackend:
    """desktop-notifier: D-Bus on Linux, the native centres elsewhere."""

    name = "desktop-notifier"

    def __init__(self, app_name: str = APP_NAME, icon_path: str | None = None) -> None:
        from desktop_notifier import DesktopNotifier, Icon

        icon = Icon(path=Path(icon_path)) if icon_path else None
        self._notifier = DesktopNotifier(app_name=app_name, app_icon=icon)
        self._markup: bool | None = None

    async def body_markup(self) -> bool:
        """Whether the notification server renders markup in bodies (asked once; assumed yes if unsure)."""
        if self._markup is None:
            self._markup = await _server_has_body_markup()
        return self._markup

    async def show(self, popup: Popup, on_click: ClickCallback) -> bool:
        from desktop_notifier import Sound, Urgency

        markup = await self.body_markup()
        dispatched = False

        def on_dispatched() -> None:
            nonlocal dispatched
            dispatched = True

        sound = Sound(name=SOUND_NAMES.get(popup.kind, DEFAULT_SOUND_NAME)) if popup.sound else None
        await self._notifier.send(
            title=popup.title,
            message=popup.body_for(markup=markup),
            urgency=Urgency.Critical if popup.urgent else Urgency.Normal,
            on_clicked=on_click,
            on_dispatched=on_dispatched,
            sound=sound,
        )
        return dispatched  # desktop-notifier logs and swallows failures; this tells us if one happened

    async def aclose(self) -> None:
        """Close the D-Bus connection desktop-notifier opened (it has no public close; guarded lookups)."""
        bus = getattr(getattr(self._notifier, "_backend", None), "bus", None)
        if bus is not None and getattr(bus, "connected", False):
            bus.disconnect()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(bus.wait_for_disconnect(), 5)


async def _server_has_body_markup() -> bool:
    if not sys.platform.startswith("linux"):
        return False  # the macOS and Windows centres show bodies as plain text
    try:
        from dbus_fast import Message, MessageType
        from dbus_fast.aio import MessageBus

        bus = await MessageBus().connect()
        try:
            reply = await bus.call(
                Message(
                    destination="org.freedesktop.Notifications",
                    path="/org/freedesktop/Notifications",
                    interface="org.freedesktop.Notifications",
                    member="GetCapabilities",
                )
            )
        finally:
            bus.disconnect()
        if reply is None or reply.message_type != MessageType.METHOD_RETURN:
            return True
        return "body-markup" in list(reply.body[0])
    except Exception:
        log.debug("could not ask the notification server for its capabilities", exc_info=True)
        return True  # escaping is the safe side: at worst a plain-text server shows "&amp;"


class TrayBackend:
    """``QSystemTrayIcon.showMessage``: the fallback. Qt cannot say which message was clicked, so a click
    opens the most recent one."""

    name = "tray"

    def __init__(self, tray: QSystemTrayIcon) -> None:
        self.tray = tray
        self._last_click: ClickCallback | None = None
        tray.messageClicked.connect(self._clicked)

    async def show(self, popup: Popup, on_click: ClickCallback) -> bool:
        if not QSystemTrayIcon.isSystemTrayAvailable() or not self.tray.isVisible():
            return False
        # Qt's Linux tray forwards bodies to the D-Bus server unchanged, so they need the same escaping there.
        body = popup.body_for(markup=sys.platform.startswith("linux"))
        self._last_click = on_click
        icon = (
            QSystemTrayIcon.MessageIcon.Warning if popup.urgent else QSystemTrayIcon.MessageIcon.Information
        )
        self.tray.showMessage(popup.title, body, icon, 10_000)
        return True

    def _clicked(self) -> None:
        if self._last_click is not None:
            self._last_click()


class RecordingBackend:
    """Keeps pop-ups in a list instead of showing them (tests, ``--screenshot`` runs)."""

    name = "recording"

    def __init__(self, markup: bool = True) -> None:
        self.markup = markup
        self.shown: list[tuple[Popup, str, ClickCallback]] = []

    async def show(self, popup: Popup, on_click: ClickCallback) -> bool:
        self.shown.append((popup, popup.body_for(markup=self.markup), on_click))
        return True


class LazyBackend:
    """Builds the real backend on the first pop-up, so installing notifications imports no D-Bus library."""

    name = "desktop-notifier"

    def __init__(self, factory: Callable[[], Backend | None]) -> None:
        self._factory = factory
        self._backend: Backend | None = None
        self._tried = False

    async def show(self, popup: Popup, on_click: ClickCallback) -> bool:
        if not self._tried:
            self._tried = True
            self._backend = self._factory()
        return await self._backend.show(popup, on_click) if self._backend is not None else False

    async def aclose(self) -> None:
        closer = getattr(self._backend, "aclose", None)
        if closer is not None:
            await closer()


def default_backend(environ: Mapping[str, str] | None = None) -> Backend | None:
    """desktop-notifier if it is installed and can reach a notification service, else None (the tray
    fallback is used).

    On Linux it talks to the session D-Bus, found through ``DBUS_SESSION_BUS_ADDRESS`` (or, failing that,
    the X display's); with neither, as on a headless machine, every notification would fail with a traceback.
    """
    env = os.environ if environ is None else environ
    no_bus = not env.get("DBUS_SESSION_BUS_ADDRESS") and not env.get("DISPLAY")
    if sys.platform.startswith("linux") and no_bus:
        log.info("no session D-Bus to show desktop notifications on; using the tray and the window")
        return None
    try:
        return DesktopNotifierBackend(icon_path=icons.icon_path("atlas-desk"))
    except Exception as exc:  # ImportError, or a platform backend that cannot start
        log.info("desktop notifications through desktop-notifier are not available (%s); using the tray", exc)
        return None


def _current_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop, else the thread's current one (the desk's qasync loop between callbacks)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            return None


# ---------------------------------------------------------------------------------------------- sound


class SoundPlayer:
    """Plays ``resources/sounds/<kind>.wav`` (or ``notify.wav``) with QSoundEffect, for the tray fallback.

    QtMultimedia is optional (it needs the system's audio libraries): without it, or without a sound file,
    nothing plays and nothing complains.
    """

    def __init__(self) -> None:
        self._effects: dict[str, Any] = {}
        self._available: bool | None = None

    def play(self, kind: str) -> bool:
        if self._available is False:
            return False
        try:
            from PySide6.QtCore import QUrl
            from PySide6.QtMultimedia import QSoundEffect
        except ImportError:
            self._available = False
            return False
        self._available = True
        effect = self._effects.get(kind)
        if effect is None:
            path = _sound_file(kind)
            if path is None:
                return False
            effect = QSoundEffect()
            effect.setSource(QUrl.fromLocalFile(str(path)))
            self._effects[kind] = effect
        effect.play()
        return True


def _sound_file(kind: str) -> Path | None:
    base = Path(__file__).resolve().parents[2] / "resources" / "sounds"
    for name in (f"{kind}.wav", "notify.wav"):
        if (base / name).is_file():
            return base / name
    return None


# ---------------------------------------------------------------------------------------------- notifier


@dataclass
class CentreEntry:
    """One notification as the centre lists it."""

    when: datetime
    kind: str
    title: str
    body: str
    target: dict[str, Any]
    urgent: bool
    shown: bool  # popped up (alone or in a summary); False when held back
    reason: str = ""  # why it did not pop up
    read: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Notifier(QObject):
    """Receives ``NotificationEvent``s, applies the rules, shows pop-ups and reports clicks."""

    open_target = Signal(dict)  # the moderator clicked a notification: open this
    listed = Signal(object)  # CentreEntry: a notification for the centre and the tray counts
    popup_shown = Signal(object)  # Popup, after the backend took it
    _clicked = Signal(dict)  # from backend callbacks (any thread) to the GUI thread

    def __init__(
        self,
        rules: NotificationRules | None = None,
        backend: Backend | None = None,
        fallback: Backend | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.rules = rules or NotificationRules()
        self.backend = backend
        self.fallback = fallback
        self.sound = SoundPlayer()
        self._tasks: set[asyncio.Task[None]] = set()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.release_due)
        self._clicked.connect(self.open_target, Qt.ConnectionType.QueuedConnection)

    def set_options(self, options: NotifyOptions) -> None:
        self.rules.set_options(options)

    def notify(self, event: NotificationEvent) -> Decision:
        """Offer one event (slot for ``QtBus.notification``)."""
        decision = self.rules.offer(event)
        if decision.listed:
            self.listed.emit(
                CentreEntry(
                    self.rules.clock(),
                    event.kind,
                    event.title,
                    event.body,
                    dict(event.target),
                    decision.urgent,
                    decision.popup,
                    decision.reason,
                )
            )
        self._schedule()
        return decision

    def on_notice(self, notice: Notice) -> None:
        """Outbox failures arrive as notices; they are notifications too."""
        if notice.level == "error" and notice.area == "outbox":
            self.notify(failed_action_event(notice.text))

    def _schedule(self) -> None:
        due = self.rules.next_due()
        if due is None:
            self._timer.stop()
            return
        ms = max(0, int((due - self.rules.clock()).total_seconds() * 1000))
        self._timer.start(ms)

    def release_due(self) -> list[Popup]:
        """Show every group that is due now."""
        popups = self.rules.due()
        for popup in popups:
            self._deliver(popup)
        self._schedule()
        return popups

    def flush_now(self) -> list[Popup]:
        """Show everything held, due or not."""
        popups = self.rules.flush()
        for popup in popups:
            self._deliver(popup)
        self._schedule()
        return popups

    def _deliver(self, popup: Popup) -> None:
        target = dict(popup.target)

        def clicked() -> None:
            with contextlib.suppress(RuntimeError):  # the notifier is gone (the desk closed)
                self._clicked.emit(target)

        loop = _current_loop()
        if loop is None or loop.is_closed():
            log.warning("no event loop to show a notification on: %s", popup.title)
            return
        task = loop.create_task(self._show(popup, clicked))
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("showing a notification failed", exc_info=task.exception())

    async def _show(self, popup: Popup, clicked: ClickCallback) -> None:
        for backend in (self.backend, self.fallback):
            if backend is None:
                continue
            if await backend.show(popup, clicked):
                if popup.sound and backend.name == "tray":
                    self.sound.play(popup.kind)  # the D-Bus server plays desktop-notifier's sound hint itself
                self.popup_shown.emit(popup)
                return
            if backend is self.backend and self.fallback is not None:
                log.info(
                    "the %s backend could not show a notification; trying %s",
                    backend.name,
                    self.fallback.name,
                )
        log.info("no notification backend could show: %s", popup.title)

    def shutdown(self) -> None:
        """Stop the timer, cancel deliveries in flight, close the backend's connection (in the background)."""
        self._timer.stop()
        for task in list(self._tasks):
            task.cancel()
        loop = _current_loop()
        closer = getattr(self.backend, "aclose", None)
        if closer is not None and loop is not None and not loop.is_closed():
            task = loop.create_task(closer())
            self._tasks.add(task)
            task.add_done_callback(self._task_done)

    async def aclose(self) -> None:
        """Like ``shutdown``, awaiting the backend's close."""
        self._timer.stop()
        for task in list(self._tasks):
            task.cancel()
        closer = getattr(self.backend, "aclose", None)
        if closer is not None:
            await closer()


# ---------------------------------------------------------------------------------------------- centre model


class CentreRole(IntEnum):
    ENTRY = int(Qt.ItemDataRole.UserRole) + 1
    TARGET = int(Qt.ItemDataRole.UserRole) + 2
    URGENT = int(Qt.ItemDataRole.UserRole) + 3
    READ = int(Qt.ItemDataRole.UserRole) + 4


class NotificationListModel(QAbstractListModel):
    """Recent notifications, newest first (at most ``CENTRE_LIMIT``)."""

    counts_changed = Signal(int, int)  # unread, unread urgent

    def __init__(self, limit: int = CENTRE_LIMIT, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.limit = limit
        self._entries: deque[CentreEntry] = deque()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._entries):
            return None
        e = self._entries[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            when = e.when.astimezone().strftime("%H:%M")
            held = f"  · {e.reason}" if not e.shown and e.reason else ""
            body = f"\n{shorten(e.body, 160)}" if e.body else ""
            return f"{e.title}{body}\n{when} · {kind_info(e.kind).label}{held}"
        if role == Qt.ItemDataRole.ToolTipRole:
            # Tooltips guess rich text: escape the community text on this deliberate rich path.
            return f"<p>{html.escape(e.title)}</p><p>{html.escape(shorten(e.body, 600))}</p>"
        if role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(not e.read)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and e.urgent:
            return QColor("#d73a49")
        if role == CentreRole.ENTRY:
            return e
        if role == CentreRole.TARGET:
            return dict(e.target)
        if role == CentreRole.URGENT:
            return e.urgent
        if role == CentreRole.READ:
            return e.read
        return None

    def add(self, entry: CentreEntry) -> None:
        """Insert at the top, dropping the oldest beyond the limit."""
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._entries.appendleft(entry)
        self.endInsertRows()
        if len(self._entries) > self.limit:
            last = len(self._entries) - 1
            self.beginRemoveRows(QModelIndex(), last, last)
            self._entries.pop()
            self.endRemoveRows()
        self._emit_counts()

    def entry(self, row: int) -> CentreEntry:
        return self._entries[row]

    def mark_read(self, row: int | None = None) -> None:
        """Mark one row (or all) read."""
        rows = range(len(self._entries)) if row is None else [row]
        changed = False
        for r in rows:
            if not self._entries[r].read:
                self._entries[r].read = True
                changed = True
        if changed and self._entries:
            first, last = (0, len(self._entries) - 1) if row is None else (row, row)
            self.dataChanged.emit(self.index(first), self.index(last))
            self._emit_counts()

    def clear(self) -> None:
        self.beginResetModel()
        self._entries.clear()
        self.endResetModel()
        self._emit_counts()

    def counts(self) -> tuple[int, int]:
        unread = [e for e in self._entries if not e.read]
        return len(unread), sum(1 for e in unread if e.urgent)

    def _emit_counts(self) -> None:
        self.counts_changed.emit(*self.counts())


class NotificationCentre(QWidget):
    """The in-app list of recent notifications: nothing is missed when the desktop dropped one."""

    open_target = Signal(dict)

    def __init__(self, model: NotificationListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notificationCentre")
        self.model = model
        self.view = QListView(self)
        self.view.setModel(model)
        self.view.setWordWrap(True)
        self.view.setUniformItemSizes(False)
        self.view.setAlternatingRowColors(True)
        self.view.setSpacing(2)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.activated.connect(self._open)
        self.view.clicked.connect(self._open)
        self.empty = plain_label(
            "No notifications yet. New tickets, mentions, reports and deadlines will be listed here.", self
        )
        self.empty.setWordWrap(True)
        self.empty.setObjectName("emptyStateDetail")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.read_all = QPushButton("Mark all read", self)
        self.read_all.setToolTip("Mark every notification read (Ctrl+Shift+M)")
        self.read_all.clicked.connect(lambda: self.model.mark_read())
        self.clear_button = QPushButton("Clear", self)
        self.clear_button.clicked.connect(self.model.clear)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.read_all)
        buttons.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.empty)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        model.rowsInserted.connect(self._update_empty)
        model.modelReset.connect(self._update_empty)
        self._update_empty()

    def _update_empty(self, *_args: object) -> None:
        has = self.model.rowCount() > 0
        self.empty.setVisible(not has)
        self.view.setVisible(has)

    def _open(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        self.model.mark_read(index.row())
        self.open_target.emit(self.model.data(index, CentreRole.TARGET))


# ---------------------------------------------------------------------------------------------- tray


def badge_pixmap(base: QPixmap, unread: int, urgent: int) -> QPixmap:
    """``base`` with a count badge in the lower right: red with the urgent count, else blue with unread."""
    pm = QPixmap(base)
    count = urgent or unread
    if count <= 0:
        return pm
    text = "99+" if count > 99 else str(count)
    w, h = pm.width() / pm.devicePixelRatio(), pm.height() / pm.devicePixelRatio()
    size = max(10.0, h * 0.55)
    width = max(size, size * (0.45 + 0.32 * len(text)))
    rect = QRectF(w - width, h - size, width, size)
    painter = QPainter(pm)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#d73a49") if urgent else QColor("#3f6fd8"))
    painter.drawRoundedRect(rect, size / 2, size / 2)
    font = QFont()
    font.setBold(True)
    font.setPixelSize(max(7, int(size * 0.72)))
    painter.setFont(font)
    painter.setPen(QColor("#ffffff"))
    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)
    painter.end()
    return pm


def tray_tooltip(unread: int, urgent: int, quiet: bool = False) -> str:
    """``Atlas Desk — 5 unread notifications, 1 urgent``."""
    if unread == 0:
        text = f"{APP_NAME} — no unread notifications"
    else:
        text = f"{APP_NAME} — {unread} unread notification{'s' if unread != 1 else ''}"
        if urgent:
            text += f", {urgent} urgent"
    return text + (" (quiet)" if quiet else "")


class TrayIcon(QSystemTrayIcon):
    """The desk in the system tray, with unread and urgent counts on its icon and in its tooltip."""

    show_desk = Signal()
    quit_desk = Signal()
    do_not_disturb_toggled = Signal(bool)

    ICON_SIZE = 32

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._base = icons.app_icon().pixmap(self.ICON_SIZE, self.ICON_SIZE)
        self.unread = 0
        self.urgent = 0
        self.quiet = False
        menu = QMenu()
        self._menu = menu  # QSystemTrayIcon does not own its menu
        self.show_action = menu.addAction("Show Atlas Desk")
        self.show_action.triggered.connect(self.show_desk)
        self.dnd_action = QAction("Do not disturb", menu)
        self.dnd_action.setCheckable(True)
        self.dnd_action.toggled.connect(self.do_not_disturb_toggled)
        menu.addAction(self.dnd_action)
        menu.addSeparator()
        quit_action = menu.addAction("Quit")
        quit_action.triggered.connect(self.quit_desk)
        self.setContextMenu(menu)
        self.activated.connect(self._on_activated)
        self.set_counts(0, 0)

    def set_counts(self, unread: int, urgent: int) -> None:
        self.unread, self.urgent = unread, urgent
        self.setIcon(QIcon(badge_pixmap(self._base, unread, urgent)))
        self.setToolTip(tray_tooltip(unread, urgent, self.quiet))

    def set_quiet(self, quiet: bool) -> None:
        self.quiet = quiet
        with contextlib.suppress(RuntimeError):
            self.dnd_action.blockSignals(True)
            self.dnd_action.setChecked(quiet)
            self.dnd_action.blockSignals(False)
        self.setToolTip(tray_tooltip(self.unread, self.urgent, quiet))

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (QSystemTrayIcon.ActivationReason.Trigger, QSystemTrayIcon.ActivationReason.DoubleClick):
            self.show_desk.emit()


# ---------------------------------------------------------------------------------------------- wiring


def options_from(settings: Any) -> NotifyOptions:
    """The rules' options from ``Settings`` (defaults if it has no [notifications] section)."""
    section = getattr(settings, "notifications", None)
    return NotifyOptions.from_settings(section) if section is not None else NotifyOptions()


class _KeepInTray(QObject):
    """Turns the window's close into a hide while the desk is kept in the tray."""

    def __init__(self, owner: DeskNotifications) -> None:
        super().__init__(owner)
        self.owner = owner

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Close
            and self.owner.keeps_in_tray()
            and not self.owner.quitting
            and isinstance(watched, QWidget)
        ):
            event.ignore()
            watched.hide()
            return True
        return False


class DeskNotifications(QObject):
    """What ``install`` built: the notifier, the centre (in a dock), the tray icon and their wiring."""

    def __init__(
        self,
        window: QMainWindow,
        qtbus: Any,
        settings: Any,
        *,
        backend: Backend | None = None,
        use_default_backend: bool = True,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(window)
        guard_singleton_refcounts()  # idempotent; the app does it first (see ui/compat.py)
        self.window = window
        self.settings = settings
        self.quitting = False
        self.watcher: Any = None
        self.tray = TrayIcon(self)
        self.model = NotificationListModel(parent=self)
        rules = NotificationRules(options_from(settings), clock=clock or (lambda: datetime.now(UTC)))
        chosen = (
            backend
            if backend is not None
            else (LazyBackend(default_backend) if use_default_backend else None)
        )
        self.notifier = Notifier(rules, chosen, TrayBackend(self.tray), parent=self)
        self.centre = NotificationCentre(self.model)
        self.dock = QDockWidget("Notifications", window)
        self.dock.setObjectName("notificationsDock")
        self.dock.setWidget(self.centre)
        self.dock.setAllowedAreas(
            Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.LeftDockWidgetArea
        )
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.hide()
        self.dock.visibilityChanged.connect(self._dock_visibility)
        self.toggle_action = self.dock.toggleViewAction()
        self.toggle_action.setText("&Notifications")
        self.toggle_action.setShortcut("Ctrl+Shift+N")
        self.toggle_action.setToolTip("Show recent notifications (Ctrl+Shift+N)")
        window.addAction(self.toggle_action)
        self.bell = QToolButton(window)
        self.bell.setObjectName("notificationsButton")
        self.bell.setAutoRaise(True)
        self.bell.setDefaultAction(self.toggle_action)
        self.bell.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        with contextlib.suppress(Exception):
            window.statusBar().addPermanentWidget(self.bell)
        self._add_to_view_menu()

        qtbus.notification.connect(self.notifier.notify)
        qtbus.notice.connect(self.notifier.on_notice)
        self.notifier.listed.connect(self.model.add)
        self.model.counts_changed.connect(self._counts)
        self.notifier.open_target.connect(self.raise_window)
        self.centre.open_target.connect(self.notifier.open_target)
        opener = getattr(window, "open_target", None)
        if callable(opener):
            self.notifier.open_target.connect(opener)
        self.tray.show_desk.connect(self.raise_window)
        self.tray.quit_desk.connect(self.quit)
        self.tray.do_not_disturb_toggled.connect(self.set_do_not_disturb)
        self._keep = _KeepInTray(self)
        window.installEventFilter(self._keep)
        self.tray.set_quiet(self.notifier.rules.options.do_not_disturb)
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray.show()
        self._counts(0, 0)

    # -- wiring helpers

    def _add_to_view_menu(self) -> None:
        for action in self.window.menuBar().actions():
            menu = action.menu()
            if isinstance(menu, QMenu) and action.text().replace("&", "").lower() == "view":
                menu.addSeparator()
                menu.addAction(self.toggle_action)
                return

    def _dock_visibility(self, visible: bool) -> None:
        if visible:
            self.model.mark_read()

    def _counts(self, unread: int, urgent: int) -> None:
        self.tray.set_counts(unread, urgent)
        self.bell.setText(f"🔔 {unread}" if unread else "🔔")
        self.bell.setToolTip(tray_tooltip(unread, urgent) + " — Ctrl+Shift+N")

    # -- public

    def keeps_in_tray(self) -> bool:
        """Whether closing the window hides it to the tray (the setting, and a tray to hide in)."""
        desk = getattr(self.settings, "desk", None)
        return bool(getattr(desk, "keep_in_tray", False)) and QSystemTrayIcon.isSystemTrayAvailable()

    def raise_window(self, *_args: object) -> None:
        """Bring the desk to the front."""
        w = self.window
        if w.isMinimized():
            w.showNormal()
        w.show()
        w.raise_()
        w.activateWindow()

    def set_do_not_disturb(self, on: bool) -> None:
        from dataclasses import replace

        self.notifier.set_options(replace(self.notifier.rules.options, do_not_disturb=on))
        self.tray.set_quiet(on)

    def apply_settings(self, settings: Any) -> None:
        """Settings changed (the settings dialog saved)."""
        self.settings = settings
        self.notifier.set_options(options_from(settings))
        self.tray.set_quiet(self.notifier.rules.options.do_not_disturb)

    def attach_runtime(self, runtime: Any) -> None:
        """Start turning new inbox items into mention / keyword / report notifications."""
        from atlas_desk.core.notify import watch_inbox

        if runtime is None or getattr(runtime, "store", None) is None or self.watcher is not None:
            return
        desk = self.settings.desk
        self.watcher = watch_inbox(runtime.bus, runtime.store, desk.moderator_handles, desk.keywords)

    def quit(self) -> None:
        """Quit for real (from the tray menu)."""
        self.quitting = True
        self.window.close()
        app = QApplication.instance()
        if app is not None:
            app.quit()

    def shutdown(self) -> None:
        self.notifier.shutdown()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        self.tray.hide()


def install(window: QMainWindow, qtbus: Any, settings: Any, **kwargs: Any) -> DeskNotifications:
    """Wire notifications, the centre and the tray into the main window (call once, after it is built).

    Call ``.attach_runtime(runtime)`` on the result once the runtime exists, and ``.shutdown()`` when closing.
    """
    notifications = DeskNotifications(window, qtbus, settings, **kwargs)
    closing = getattr(window, "closing", None)
    if closing is not None:
        closing.connect(notifications.shutdown)
    return notifications


__all__ = [
    "Backend",
    "CentreEntry",
    "DeskNotifications",
    "DesktopNotifierBackend",
    "LazyBackend",
    "NotificationCentre",
    "NotificationListModel",
    "Notifier",
    "RecordingBackend",
    "TrayBackend",
    "TrayIcon",
    "badge_pixmap",
    "install",
    "tray_tooltip",
]
