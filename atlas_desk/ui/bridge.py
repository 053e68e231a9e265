"""The Qt bridge of the change bus: every change published on the Qt-free ``ChangeBus`` is re-emitted as a Qt
signal on the GUI thread.

The bus calls subscribers in the publishing thread (the store's writer, a connector's worker, the asyncio
loop), so the bridge hops to the GUI thread through a queued connection; widgets only ever see changes on
their own thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot

from atlas_desk.core.bus import (
    Change,
    ChangeBus,
    ConnectionChanged,
    EventsChanged,
    ItemsAdded,
    ItemsChanged,
    Notice,
    NotificationEvent,
    OutboxChanged,
    RoadmapChanged,
    TicketChanged,
)
from atlas_desk.core.types import Platform

log = logging.getLogger("atlas_desk.ui")


class QtBus(QObject):
    """Re-emits bus changes on the GUI thread: ``changed`` for all of them, plus one typed signal per kind."""

    changed = Signal(object)  # any Change
    items_added = Signal(tuple)  # ids
    items_added_rows = Signal(tuple, tuple)  # ids, and their list rows when the publisher read them
    items_changed = Signal(tuple)
    items_changed_rows = Signal(tuple, tuple)  # ids, and their list rows when the publisher read them
    outbox_changed = Signal(tuple)
    tickets_changed = Signal(tuple)
    roadmap_changed = Signal(tuple)
    events_changed = Signal(tuple)
    connection_changed = Signal(object)  # ConnectionChanged
    notice = Signal(object)  # Notice
    notification = Signal(object)  # NotificationEvent

    # Emitted from whatever thread published; delivered to _dispatch on the GUI thread.
    _incoming = Signal(object)

    def __init__(self, bus: ChangeBus, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bus = bus
        # The latest state per platform, for widgets created after it was published.
        self.states: dict[Platform, ConnectionChanged] = {}
        self._incoming.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        unsubscribe = bus.subscribe(Change, self._on_change)
        self._unsubscribe: Callable[[], None] | None = unsubscribe
        # If the C++ object is deleted with its parent window, stop receiving (the closure does not hold
        # self).
        self.destroyed.connect(lambda *_: unsubscribe())

    def close(self) -> None:
        """Stop listening to the bus (call before the window goes away)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_change(self, change: Change) -> None:
        # Runs in the publisher's thread: only a signal emission, which Qt queues to the GUI thread.
        try:
            self._incoming.emit(change)
        except RuntimeError:
            # The C++ side is gone (the window closed while a worker still published): stop listening.
            self.close()

    @Slot(object)
    def _dispatch(self, change: Change) -> None:
        if isinstance(change, ConnectionChanged):
            self.states[change.platform] = change
        self.changed.emit(change)
        match change:
            case ItemsAdded(ids=ids, rows=rows):
                self.items_added.emit(ids)
                self.items_added_rows.emit(ids, rows)
            case ItemsChanged(ids=ids, rows=rows):
                self.items_changed.emit(ids)
                self.items_changed_rows.emit(ids, rows)
            case OutboxChanged(ids=ids):
                self.outbox_changed.emit(ids)
            case TicketChanged(ids=ids):
                self.tickets_changed.emit(ids)
            case RoadmapChanged(ids=ids):
                self.roadmap_changed.emit(ids)
            case EventsChanged(ids=ids):
                self.events_changed.emit(ids)
            case ConnectionChanged():
                self.connection_changed.emit(change)
            case Notice():
                self.notice.emit(change)
            case NotificationEvent():
                self.notification.emit(change)
            case _:
                pass
