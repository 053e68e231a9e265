"""A tiny Qt-free change bus.

Services publish one change per operation; the UI's bridge (``atlas_desk.ui.bridge``) re-emits them as a Qt
signal on the GUI thread, headless consumers (the bot, ``sync``) subscribe directly. Subscribers are called in
the publishing thread, in subscription order; a subscriber that raises is logged and does not stop the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from atlas_desk.core.types import ConnectionState, Platform

log = logging.getLogger("atlas_desk.bus")


@dataclass(frozen=True, slots=True)
class Change:
    """Base class of everything published on the bus."""


@dataclass(frozen=True, slots=True)
class ItemsAdded(Change):
    ids: tuple[int, ...]
    # The new items as the inbox list shows them (``store.inbox.InboxRow``), read in the transaction that
    # stored them, so a view can place and paint them without a query of its own on the GUI thread.
    rows: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemsChanged(Change):
    ids: tuple[int, ...]
    # Their list rows after the change when the publisher read them (as ``ItemsAdded.rows``); may be empty.
    rows: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True)
class OutboxChanged(Change):
    ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ConnectionChanged(Change):
    platform: Platform
    state: ConnectionState
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TicketChanged(Change):
    ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class RoadmapChanged(Change):
    ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class EventsChanged(Change):
    ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Notice(Change):
    """Something a moderator should be told, in plain words (errors, failed actions, warnings)."""

    level: str  # "info" | "warning" | "error"
    text: str
    area: str = ""


@dataclass(frozen=True, slots=True)
class NotificationEvent(Change):
    """Something that may warrant a desktop notification (new ticket, SLA breach, mention...)."""

    kind: str
    title: str
    body: str
    target: dict[str, Any] = field(default_factory=dict)  # pane + id to open on click


C = TypeVar("C", bound=Change)
Subscriber = Callable[[Any], None]


class ChangeBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[tuple[type[Change], Subscriber]] = []

    def subscribe(self, kind: type[C], callback: Callable[[C], None]) -> Callable[[], None]:
        """Call ``callback`` for every published change that is an instance of ``kind``.

        Returns a function that unsubscribes.
        """
        entry = (kind, callback)
        with self._lock:
            self._subs.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subs:
                    self._subs.remove(entry)

        return unsubscribe

    def publish(self, change: Change) -> None:
        with self._lock:
            subs = list(self._subs)
        for kind, callback in subs:
            if isinstance(change, kind):
                try:
                    callback(change)
                except Exception:
                    log.exception("bus subscriber %r failed on %r", callback, change)
