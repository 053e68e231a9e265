"""The first-reply SLA: due times, states, and the clock that announces warnings and breaches.

A ticket's first reply is due ``first_response_hours`` after it was opened. ``warn_before_hours`` before that
it is in *warning*; past it, *breached*; a ticket with a first reply has *met* its SLA. ``SlaMonitor`` sleeps
until the next warning or breach is due (woken early when tickets change; never a busy loop) and publishes
one ``NotificationEvent`` per ticket and kind on the bus. The clock is injectable for tests.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from atlas_desk.core.background import cancel_and_wait, wait_event
from atlas_desk.core.bus import ChangeBus, NotificationEvent, TicketChanged
from atlas_desk.store import tickets as repo
from atlas_desk.store.db import Store

log = logging.getLogger("atlas_desk.sla")

Clock = Callable[[], datetime]
_MAX_SLEEP_S = 300.0  # re-check at least this often, in case the wall clock jumped


def utc_now() -> datetime:
    return datetime.now(UTC)


class SlaState(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"
    MET = "met"
    NONE = "none"  # closed without a reply: no clock


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    first_response_hours: float = 24.0
    warn_before_hours: float = 2.0

    def due(self, opened_at: datetime) -> datetime:
        """When the first reply is due."""
        return opened_at + timedelta(hours=self.first_response_hours)

    def warn_at(self, opened_at: datetime) -> datetime:
        """When the warning starts."""
        return self.due(opened_at) - timedelta(hours=self.warn_before_hours)

    def state(
        self, opened_at: datetime, first_reply_at: datetime | None, now: datetime, *, status: str = "open"
    ) -> SlaState:
        """The SLA state of a ticket at ``now``."""
        if first_reply_at is not None:
            return SlaState.MET
        if status in ("resolved", "closed"):
            return SlaState.NONE
        if now >= self.due(opened_at):
            return SlaState.BREACHED
        if now >= self.warn_at(opened_at):
            return SlaState.WARNING
        return SlaState.OK

    def seconds_left(self, opened_at: datetime, now: datetime) -> float:
        """Seconds until the first reply is due (negative once breached)."""
        return (self.due(opened_at) - now).total_seconds()


def format_left(seconds: float) -> str:
    """'5 h 20 m left', '40 m left', '3 h 5 m over'."""
    over = seconds < 0
    s = int(abs(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m = rem // 60
    if d:
        text = f"{d} d {h} h"
    elif h:
        text = f"{h} h {m:02d} m"
    else:
        text = f"{m} m"
    return f"{text} over" if over else f"{text} left"


class SlaMonitor:
    """Publishes ``sla_warning`` and ``sla_breach`` notification events when tickets reach them."""

    def __init__(self, store: Store, bus: ChangeBus, policy: SlaPolicy, *, clock: Clock = utc_now) -> None:
        self.store = store
        self.bus = bus
        self.policy = policy
        self.clock = clock
        self._announced: set[tuple[int, str]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Run until ``stop``; returns at once."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._unsubscribe = self.bus.subscribe(TicketChanged, lambda _c: self.wake())
        self._task = asyncio.create_task(self._run(), name="atlas-desk-sla")

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def wake(self) -> None:
        """Tickets changed (or the clock moved): check again now. Safe from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(self._wake.set)

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = self.check()
            except Exception:
                log.exception("the SLA check failed")
                delay = 60.0
            if delay is None:
                await self._wake.wait()
            else:
                await wait_event(self._wake, min(_MAX_SLEEP_S, max(delay, 0.05)))

    def check(self) -> float | None:
        """Announce what is due now; return the seconds until the next warning or breach (None: nothing)."""
        now = self.clock()
        next_at: datetime | None = None
        for t in repo.unanswered(self.store.reader()):
            state = self.policy.state(t.opened_at, None, now, status=t.status)
            who = t.requester or "a member"
            due = self.policy.due(t.opened_at)
            target = {"pane": "tickets", "id": t.id}
            if state is SlaState.BREACHED and (t.id, "sla_breach") not in self._announced:
                self._announced.add((t.id, "sla_breach"))
                self._announced.add((t.id, "sla_warning"))
                self.bus.publish(
                    NotificationEvent(
                        "sla_breach",
                        f"First reply overdue: {t.subject}",
                        f"{who} has waited {format_left(self.policy.seconds_left(t.opened_at, now))[:-5]}"
                        " past the first-reply time.",
                        target,
                    )
                )
            elif state is SlaState.WARNING and (t.id, "sla_warning") not in self._announced:
                self._announced.add((t.id, "sla_warning"))
                self.bus.publish(
                    NotificationEvent(
                        "sla_warning",
                        f"First reply due soon: {t.subject}",
                        f"{who} is waiting; {format_left(self.policy.seconds_left(t.opened_at, now))}.",
                        target,
                    )
                )
            for when in (self.policy.warn_at(t.opened_at), due):
                if when > now and (next_at is None or when < next_at):
                    next_at = when
        return None if next_at is None else (next_at - now).total_seconds()
