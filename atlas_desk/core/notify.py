"""Notification rules, without Qt: which events become desktop pop-ups, when, and worded how.

Kinds (``NotificationEvent.kind``): ``new_ticket``, ``ticket_reply``, ``sla_warning``, ``sla_breach``,
``mention``, ``keyword``, ``mod_report``, ``event_soon``, ``contest_ending``, ``action_failed``. Services
publish them on the bus; ``watch_inbox`` derives ``mention`` / ``keyword`` / ``mod_report`` from
``ItemsAdded``.

``NotificationEvent.target`` is what a click opens. Keys the desk reads: ``pane`` ("inbox", "tickets",
"calendar", "roadmap", "insights", or "outbox" for the failed-actions list), ``id`` (the store row id in that
pane), and for the wording ``container`` ("#general", "r/AtlasApp") and ``platform``.

The rules (``NotificationRules``), decided here so every desk behaves the same:

* **Per-kind toggles.** A muted kind is ignored entirely: no pop-up, no sound, not in the notification centre,
  not counted in the tray (the item itself is still in its pane).
* **Quiet hours and do-not-disturb.** Between ``quiet_hours`` (local time, "22:00-07:00" may wrap midnight) or
  while ``do_not_disturb`` is on, only *urgent* kinds pop up (default: ``sla_breach`` — a member has waited
  past the promised first-reply time, which is the one thing worth waking a moderator for). Everything else is
  still listed in the notification centre and counted in the tray, so the moderator catches up afterwards.
* **Grouping and rate limiting.** Events are held per kind for a short settle time (``settle_seconds``, 3 s)
  so a burst arrives as one summary ("50 new mentions in #general and 3 more") instead of fifty pop-ups; a
  group is released at the latest ``group_seconds`` after it opened, and a kind pops up at most once per
  ``group_seconds`` (later events wait and come out as one summary). A single event comes out as itself.
* **Escaping.** Notification servers that advertise ``body-markup`` render a subset of HTML in the body, so a
  member named ``<a href="x">y</a>`` would become a link: ``Popup.body_for(markup=True)`` escapes community
  text with ``html.escape``. Titles are plain text in the specification and are never markup.

Time comes from an injectable clock (aware datetimes); quiet hours are read in ``tz`` (the system's local zone
by default).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import enum
import html
import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any, Protocol

from atlas_desk.core.bus import ChangeBus, ItemsAdded, NotificationEvent

log = logging.getLogger("atlas_desk.notify")

Clock = Callable[[], datetime]


class Kind(enum.StrEnum):
    """The kinds of notification the desk raises."""

    NEW_TICKET = "new_ticket"
    TICKET_REPLY = "ticket_reply"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    MENTION = "mention"
    KEYWORD = "keyword"
    MOD_REPORT = "mod_report"
    EVENT_SOON = "event_soon"
    CONTEST_ENDING = "contest_ending"
    ACTION_FAILED = "action_failed"


@dataclass(frozen=True, slots=True)
class KindInfo:
    """How a kind is named in settings and worded in a summary."""

    label: str  # settings: "Mentions of you"
    one: str  # summary noun, singular: "new mention"
    many: str  # plural: "new mentions"
    pane: str  # where a click on a summary goes


KINDS: dict[Kind, KindInfo] = {
    Kind.NEW_TICKET: KindInfo("New tickets", "new ticket", "new tickets", "tickets"),
    Kind.TICKET_REPLY: KindInfo("Member replies on tickets", "ticket reply", "ticket replies", "tickets"),
    Kind.SLA_WARNING: KindInfo(
        "First-reply deadline soon", "ticket near its deadline", "tickets near their deadline", "tickets"
    ),
    Kind.SLA_BREACH: KindInfo(
        "First-reply deadline missed", "ticket past its deadline", "tickets past their deadline", "tickets"
    ),
    Kind.MENTION: KindInfo("Mentions of you", "new mention", "new mentions", "inbox"),
    Kind.KEYWORD: KindInfo("Watched keywords", "keyword match", "keyword matches", "inbox"),
    Kind.MOD_REPORT: KindInfo("Reports in the mod queue", "new report", "new reports", "inbox"),
    Kind.EVENT_SOON: KindInfo(
        "Events starting soon", "event starting soon", "events starting soon", "calendar"
    ),
    Kind.CONTEST_ENDING: KindInfo("Contests ending", "contest ending", "contests ending", "calendar"),
    Kind.ACTION_FAILED: KindInfo(
        "Actions that failed to send", "action failed to send", "actions failed to send", "outbox"
    ),
}

KIND_NAMES: tuple[str, ...] = tuple(k.value for k in Kind)
DEFAULT_URGENT: tuple[str, ...] = (Kind.SLA_BREACH.value,)
DEFAULT_SOUND_KINDS: tuple[str, ...] = (Kind.NEW_TICKET.value, Kind.SLA_BREACH.value)

#: Longest body a pop-up carries (notification bubbles show a few lines; the pane has the rest).
BODY_MAX_CHARS = 240


# ---------------------------------------------------------------------------------------------- text


def escape_markup(text: str) -> str:
    """Escape community text for a notification body that the server renders as markup."""
    return html.escape(text, quote=True)


def shorten(text: str, limit: int = BODY_MAX_CHARS) -> str:
    """Collapse whitespace and cut ``text`` to ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------------------------------------- quiet hours


_HM = re.compile(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$")


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """``"22:00-07:00"`` → (22:00, 07:00); empty text → None. Raises ValueError on anything else."""
    if not text.strip():
        return None
    parts = text.split("-")
    if len(parts) != 2:
        raise ValueError(f'quiet hours must look like "22:00-07:00", got {text!r}')
    out = []
    for part in parts:
        m = _HM.match(part)
        if not m:
            raise ValueError(f'quiet hours must look like "22:00-07:00", got {text!r}')
        out.append(time(int(m.group(1)), int(m.group(2))))
    if out[0] == out[1]:
        raise ValueError(f"quiet hours must start and end at different times, got {text!r}")
    return out[0], out[1]


def in_quiet_hours(span: tuple[time, time] | None, moment: time) -> bool:
    """Whether a local wall-clock time falls in ``[start, end)``, wrapping midnight when start > end."""
    if span is None:
        return False
    start, end = span
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end


# ---------------------------------------------------------------------------------------------- rules


@dataclass(frozen=True, slots=True)
class NotifyOptions:
    """The moderator's notification settings (``[notifications]`` in the config maps onto this)."""

    popups: bool = True
    muted_kinds: frozenset[str] = frozenset()
    quiet_hours: tuple[time, time] | None = None
    do_not_disturb: bool = False
    urgent_kinds: frozenset[str] = frozenset(DEFAULT_URGENT)
    sound: bool = False
    sound_kinds: frozenset[str] = frozenset(DEFAULT_SOUND_KINDS)
    group_seconds: float = 60.0
    settle_seconds: float = 3.0

    @classmethod
    def from_settings(cls, section: Any) -> NotifyOptions:
        """Build from ``atlas_desk.config.NotificationSettings`` (duck-typed: core does not import config)."""
        return cls(
            popups=bool(section.popups),
            muted_kinds=frozenset(section.muted_kinds),
            quiet_hours=parse_quiet_hours(section.quiet_hours),
            do_not_disturb=bool(section.do_not_disturb),
            urgent_kinds=frozenset(section.urgent_kinds),
            sound=bool(section.sound),
            sound_kinds=frozenset(section.sound_kinds),
            group_seconds=float(section.group_seconds),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    """What happens to one offered event."""

    listed: bool  # goes into the notification centre and the tray counts
    popup: bool  # will come out as (part of) a desktop pop-up
    urgent: bool
    reason: str = ""  # why not, in words: "muted", "quiet hours", "do not disturb", "pop-ups off"


@dataclass(frozen=True, slots=True)
class Popup:
    """One desktop notification to show: a single event, or a summary of several of one kind."""

    kind: str
    title: str
    body: str  # plain text; use body_for() to send it
    target: dict[str, Any]
    urgent: bool
    sound: bool
    events: tuple[NotificationEvent, ...]

    @property
    def count(self) -> int:
        return len(self.events)

    def body_for(self, *, markup: bool) -> str:
        """The body to send: escaped when the notification server renders body markup."""
        return escape_markup(self.body) if markup else self.body


@dataclass
class _Group:
    events: list[NotificationEvent]
    opened: datetime
    last: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


def kind_info(kind: str) -> KindInfo:
    """The wording of a kind; unknown kinds (from a newer service) get a generic one."""
    try:
        return KINDS[Kind(kind)]
    except ValueError:
        return KindInfo(kind, "notification", "notifications", "inbox")


def summary_title(kind: str, events: Sequence[NotificationEvent]) -> str:
    """``"50 new mentions in #general and 3 more"``: the count and where most of them happened."""
    info = kind_info(kind)
    n = len(events)
    noun = info.one if n == 1 else info.many
    places: dict[str, int] = {}
    for ev in events:
        where = str(ev.target.get("container") or "")
        if where:
            places[where] = places.get(where, 0) + 1
    if not places:
        return f"{n} {noun}"
    # The busiest place names the summary; ties go to the one seen first (dicts keep insertion order).
    top = max(places, key=lambda p: places[p])
    others = len(places) - 1
    return f"{n} {noun} in {top}" + (f" and {others} more" if others else "")


def summary_body(events: Sequence[NotificationEvent], lines: int = 3) -> str:
    """The newest few titles of a group, one per line, plain text."""
    newest = list(events)[-lines:][::-1]
    body = "\n".join(shorten(ev.title or ev.body, 90) for ev in newest)
    rest = len(events) - len(newest)
    return body + (f"\n…and {rest} more" if rest > 0 else "")


class NotificationRules:
    """Decides per event and releases grouped pop-ups when due. Not thread-safe: use it from one thread."""

    def __init__(
        self, options: NotifyOptions | None = None, *, clock: Clock = _utc_now, tz: tzinfo | None = None
    ) -> None:
        self.options = options or NotifyOptions()
        self.clock = clock
        self.tz = tz  # None: the system's local time zone
        self._groups: dict[str, _Group] = {}
        self._last_popup: dict[str, datetime] = {}

    def set_options(self, options: NotifyOptions) -> None:
        """Apply changed settings; groups already held keep their events."""
        self.options = options

    def is_quiet(self, now: datetime | None = None) -> bool:
        """Whether pop-ups are held back now (do-not-disturb or quiet hours)."""
        o = self.options
        if o.do_not_disturb:
            return True
        moment = (now or self.clock()).astimezone(self.tz).time()
        return in_quiet_hours(o.quiet_hours, moment)

    def decide(self, event: NotificationEvent, now: datetime | None = None) -> Decision:
        """What to do with ``event``, without holding it."""
        o = self.options
        urgent = event.kind in o.urgent_kinds
        if event.kind in o.muted_kinds:
            return Decision(False, False, urgent, "muted")
        if not o.popups:
            return Decision(True, False, urgent, "pop-ups off")
        if not urgent:
            if o.do_not_disturb:
                return Decision(True, False, urgent, "do not disturb")
            if self.is_quiet(now):
                return Decision(True, False, urgent, "quiet hours")
        return Decision(True, True, urgent)

    def offer(self, event: NotificationEvent, now: datetime | None = None) -> Decision:
        """Decide on ``event`` and, if it is to pop up, hold it in its kind's group until ``due``."""
        now = now or self.clock()
        decision = self.decide(event, now)
        if decision.popup:
            group = self._groups.get(event.kind)
            if group is None:
                self._groups[event.kind] = _Group([event], now, now)
            else:
                group.events.append(event)
                group.last = now
        return decision

    def _due_at(self, kind: str, group: _Group) -> datetime:
        o = self.options
        window = timedelta(seconds=o.group_seconds)
        settle = min(group.last + timedelta(seconds=o.settle_seconds), group.opened + window)
        last = self._last_popup.get(kind)
        return max(settle, last + window) if last is not None else settle

    def next_due(self) -> datetime | None:
        """When the next held group is due (for the caller's timer), or None."""
        times = [self._due_at(k, g) for k, g in self._groups.items()]
        return min(times) if times else None

    def pending(self) -> int:
        """How many events are held."""
        return sum(len(g.events) for g in self._groups.values())

    def due(self, now: datetime | None = None) -> list[Popup]:
        """Release every group that is due at ``now``: one pop-up per group."""
        now = now or self.clock()
        out: list[Popup] = []
        for kind, group in list(self._groups.items()):
            if self._due_at(kind, group) > now:
                continue
            del self._groups[kind]
            self._last_popup[kind] = now
            out.append(self._popup(kind, group.events))
        return out

    def flush(self) -> list[Popup]:
        """Release everything held, due or not (the desk is quitting, or a test wants it all)."""
        now = self.clock()
        out = [self._popup(kind, g.events) for kind, g in self._groups.items()]
        for kind in self._groups:
            self._last_popup[kind] = now
        self._groups.clear()
        return out

    def _popup(self, kind: str, events: list[NotificationEvent]) -> Popup:
        o = self.options
        urgent = kind in o.urgent_kinds
        sound = o.sound and kind in o.sound_kinds
        if len(events) == 1:
            ev = events[0]
            return Popup(
                kind, shorten(ev.title, 120), shorten(ev.body), dict(ev.target), urgent, sound, (ev,)
            )
        target: dict[str, Any] = {
            "pane": kind_info(kind).pane,
            "kind": kind,
            "ids": [ev.target.get("id") for ev in events if "id" in ev.target],
        }
        return Popup(
            kind, summary_title(kind, events), summary_body(events), target, urgent, sound, tuple(events)
        )


# ---------------------------------------------------------------------------------------------- inbox rule


class _ItemLike(Protocol):
    id: int
    platform: str
    kind: str
    container: str
    author: str
    author_name: str
    title: str
    body: str
    created_ts: float
    deleted: bool
    reported: bool


_WORD = re.compile(r"\w+", re.UNICODE)


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def _contains_phrase(words: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    if n == 0:
        return False
    first = phrase[0]
    return any(
        words[i] == first and list(words[i : i + n]) == list(phrase) for i in range(len(words) - n + 1)
    )


def _matches(words: Sequence[str], terms: Iterable[str]) -> str | None:
    # Word-by-word like the inbox's full-text "mentions" filter, so what notifies is what that filter lists.
    for term in terms:
        if _contains_phrase(words, _words(term)):
            return term
    return None


def item_event(item: _ItemLike, handles: Sequence[str], keywords: Sequence[str]) -> NotificationEvent | None:
    """The notification an inbox item warrants: a report, a mention of the moderator, a keyword, or none.

    A report wins over a mention, a mention over a keyword. The moderator's own messages never notify.
    """
    if item.deleted:
        return None
    own = {h.casefold().lstrip("@") for h in handles}
    if item.author.casefold() in own:
        return None
    who = item.author_name or item.author or "someone"
    where = item.container
    text = shorten(item.title + (" — " if item.title and item.body else "") + item.body)
    target = {"pane": "inbox", "id": item.id, "platform": item.platform, "container": where}
    if item.reported:
        return NotificationEvent(Kind.MOD_REPORT.value, f"Reported: {who} in {where}", text, target)
    words = _words(item.title + " " + item.body)
    if _matches(words, handles):
        return NotificationEvent(Kind.MENTION.value, f"{who} mentioned you in {where}", text, target)
    term = _matches(words, keywords)
    if term is not None:
        return NotificationEvent(Kind.KEYWORD.value, f"“{term}” in {where}, from {who}", text, target)
    return None


def item_events(
    conn: sqlite3.Connection,
    ids: Sequence[int],
    *,
    handles: Sequence[str],
    keywords: Sequence[str],
    since: datetime | None = None,
) -> list[NotificationEvent]:
    """Notifications for newly added inbox items, read through the inbox repository.

    ``since``: items created before it are ignored, so a backfill of old history raises nothing.
    """
    from atlas_desk.store import inbox as repo

    if not ids:
        return []
    floor = since.timestamp() if since is not None else float("-inf")
    out: list[NotificationEvent] = []
    for row in sorted(repo.rows_by_id(conn, list(ids)), key=lambda r: r.id):
        if row.created_ts < floor:
            continue
        event = item_event(row, handles, keywords)
        if event is not None:
            out.append(event)
    return out


class _ReaderStore(Protocol):
    def reader(self) -> sqlite3.Connection: ...


@dataclass
class InboxWatcher:
    """Turns ``ItemsAdded`` on the bus into mention / keyword / report ``NotificationEvent``s.

    The items are read on one worker thread of its own (never the asyncio loop or the store's writer), and the
    events are published from there; the Qt bridge hops them to the GUI thread.
    """

    bus: ChangeBus
    store: _ReaderStore
    handles: tuple[str, ...]
    keywords: tuple[str, ...]
    max_age: timedelta = timedelta(minutes=15)
    clock: Clock = _utc_now
    _pool: concurrent.futures.ThreadPoolExecutor | None = field(default=None, init=False)
    _unsubscribe: Callable[[], None] | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def start(self) -> InboxWatcher:
        """Subscribe to the bus (idempotent)."""
        with self._lock:
            if self._unsubscribe is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="atlas-desk-notify")
                self._unsubscribe = self.bus.subscribe(ItemsAdded, self._on_added)
        return self

    def stop(self) -> None:
        """Unsubscribe and let the worker finish what it has."""
        with self._lock:
            unsubscribe, self._unsubscribe = self._unsubscribe, None
            pool, self._pool = self._pool, None
        if unsubscribe is not None:
            unsubscribe()
        if pool is not None:
            pool.shutdown(wait=True)

    def _on_added(self, change: ItemsAdded) -> None:
        with self._lock:
            pool = self._pool
        if pool is None:
            return
        with contextlib.suppress(RuntimeError):  # shut down meanwhile
            pool.submit(self.process, change.ids)

    def process(self, ids: Sequence[int]) -> list[NotificationEvent]:
        """Read the items and publish their notifications (runs on the worker; callable directly in tests)."""
        try:
            events = item_events(
                self.store.reader(),
                ids,
                handles=self.handles,
                keywords=self.keywords,
                since=self.clock() - self.max_age,
            )
        except Exception:
            log.exception("could not read new inbox items for notifications")
            return []
        for event in events:
            self.bus.publish(event)
        return events


def watch_inbox(
    bus: ChangeBus,
    store: _ReaderStore,
    handles: Sequence[str],
    keywords: Sequence[str],
    *,
    clock: Clock = _utc_now,
) -> InboxWatcher:
    """Start turning new inbox items into notifications; call ``stop()`` on the result at shutdown."""
    return InboxWatcher(bus, store, tuple(handles), tuple(keywords), clock=clock).start()


def failed_action_event(text: str) -> NotificationEvent:
    """The ``action_failed`` notification for an outbox failure notice (text is already plain words)."""
    return NotificationEvent(
        Kind.ACTION_FAILED.value, "An action could not be sent", shorten(text), {"pane": "outbox"}
    )


__all__ = [
    "DEFAULT_SOUND_KINDS",
    "DEFAULT_URGENT",
    "KINDS",
    "KIND_NAMES",
    "Decision",
    "InboxWatcher",
    "Kind",
    "KindInfo",
    "NotificationRules",
    "NotifyOptions",
    "Popup",
    "escape_markup",
    "failed_action_event",
    "in_quiet_hours",
    "item_event",
    "item_events",
    "parse_quiet_hours",
    "shorten",
    "summary_title",
    "watch_inbox",
]
