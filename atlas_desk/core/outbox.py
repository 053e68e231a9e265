"""The outbox runner: executes moderator actions on the platforms, retries them, rolls failures back.

A moderator's gesture becomes one ``perform`` call: in one writer job the optimistic change is applied to the
store and an outbox row is written with the undo that reverses it; then the runner is woken. The runner claims
due rows (``pending`` → ``sending``), hands each to its platform's executor (the connector), and records the
outcome: ``done``; a retry later (exponential backoff with full jitter, never sooner than the platform's
``retry_after``); or ``failed`` for good, in which case the undo is applied in the same transaction and the
moderator is told in plain words. Rows a crash left in ``sending`` are replayed at ``start``; executors are
idempotent on the action's key, so a replay never acts twice.

The runner lives on the asyncio loop (the qasync loop in the desk). It sleeps on an event until the next
action is due or ``wake`` is called; it never polls. Publishing ``OutboxChanged`` on the bus from anywhere
also wakes it, so a service that enqueues through ``atlas_desk.store.outbox.enqueue`` itself only needs to
publish.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import random
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from atlas_desk.core.background import cancel_and_wait, wait_event, wake_loop
from atlas_desk.core.bus import (
    Change,
    ChangeBus,
    EventsChanged,
    ItemsChanged,
    Notice,
    OutboxChanged,
    RoadmapChanged,
    TicketChanged,
)
from atlas_desk.core.types import ActionError, OutboxAction, OutboxState, Platform
from atlas_desk.store import outbox as repo
from atlas_desk.store.db import Store, StoreError

log = logging.getLogger("atlas_desk.outbox")

Clock = Callable[[], datetime]
Undo = repo.Undo
# Runs in the writer job that records a confirmed action (e.g. clears a message's pending mark, stores the
# platform id the executor returned); returns the changes to publish once committed.
Completion = Callable[[sqlite3.Connection, OutboxAction, dict[str, Any]], Sequence[Change]]

PLATFORM_LABELS: dict[Platform, str] = {
    Platform.DISCORD: "Discord",
    Platform.GITHUB: "GitHub",
    Platform.REDDIT: "Reddit",
}

_MAX_SLEEP_S = 300.0  # re-check at least this often, in case the wall clock jumped (suspend, NTP)

_TABLE_CHANGES: dict[str, Callable[[tuple[int, ...]], Change]] = {
    "inbox_items": ItemsChanged,
    "tickets": TicketChanged,
    "roadmap_items": RoadmapChanged,
    "community_events": EventsChanged,
}


def utc_now() -> datetime:
    """The default clock: the current time, aware, in UTC."""
    return datetime.now(UTC)


class Executor(Protocol):
    """What the runner needs of a connector."""

    async def execute(self, action: OutboxAction) -> dict[str, Any]:
        """Perform the action (idempotently for its key); raise ``ActionError`` on failure."""
        ...


def _words(kind: str) -> str:
    return kind.replace("_", " ")


class OutboxRunner:
    """Executes outbox actions through per-platform executors, with retries and rollback."""

    def __init__(
        self,
        store: Store,
        bus: ChangeBus,
        executors: Mapping[Platform, Executor],
        *,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        max_attempts: int = 8,
        batch_size: int = 20,
        completions: Mapping[str, Completion] | None = None,
    ) -> None:
        """``executors`` is read live (a platform configured later starts executing once woken).

        ``completions`` maps an action kind to a function run in the writer job that marks it done.
        """
        self.store = store
        self.bus = bus
        self.executors = executors
        self.clock = clock
        self.rng = rng if rng is not None else random.Random()
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.completions: dict[str, Completion] = dict(completions or {})
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._publishing = False

    # -- lifecycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Requeue actions a crash left in ``sending``, then run in a task until ``stop``. Returns at once."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        now = self.clock()
        requeued = await self.store.write(lambda conn: repo.requeue_sending(conn, now=now))
        if requeued:
            log.info("replaying %d outbox actions interrupted by the last shutdown", len(requeued))
            self._publish(OutboxChanged(tuple(requeued)))
        self._unsubscribe = self.bus.subscribe(OutboxChanged, self._on_outbox_changed)
        self._task = asyncio.create_task(self._run_loop(), name="atlas-desk-outbox")
        self._task.add_done_callback(self._loop_ended)

    async def stop(self) -> None:
        """Stop the loop. An action being sent stays ``sending`` and is replayed at the next start."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def wake(self) -> None:
        """An action was enqueued or retried: look for due actions now. Safe from any thread."""
        wake_loop(self._wake, self._loop)

    def _on_outbox_changed(self, _change: OutboxChanged) -> None:
        if not self._publishing:
            self.wake()

    def _loop_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("the outbox loop stopped", exc_info=task.exception())

    async def _run_loop(self) -> None:
        failures = 0
        while True:
            self._wake.clear()  # before the pass, so a wake during it is not lost
            delay: float | None
            try:
                await self.run_once()
                delay = self._seconds_to_next_due()
                failures = 0
            except Exception as exc:
                failures += 1
                log.exception("the outbox pass failed (%d in a row)", failures)
                if failures == 1:
                    text = getattr(exc, "message", None) or "an unexpected error; see the log"
                    self._publish(Notice("error", f"Sending queued actions failed: {text}", area="outbox"))
                delay = min(_MAX_SLEEP_S, self.base_delay * 2 ** min(failures, 16))
            if delay is None:
                await self._wake.wait()
            elif delay > 0:
                await wait_event(self._wake, delay)

    def _seconds_to_next_due(self) -> float | None:
        # A short indexed read on the loop thread's read-only connection; sees everything committed.
        due = repo.next_due(self.store.reader(), platforms=set(self.executors))
        if due is None:
            return None
        return min(_MAX_SLEEP_S, max(0.0, (due - self.clock()).total_seconds()))

    # -- one pass ------------------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim the due actions of configured platforms and execute them; return how many were claimed."""
        async with self._lock:
            platforms = set(self.executors)
            if not platforms:
                return 0  # nothing configured: actions stay pending
            now = self.clock()
            actions = await self.store.write(
                lambda conn: repo.claim_due(conn, now, self.batch_size, platforms=platforms)
            )
            if not actions:
                return 0
            self._publish(OutboxChanged(tuple(a.id for a in actions)))
            # claim_due hands out at most one action per platform object, so these may run side by side.
            await asyncio.gather(*(self._execute(action) for action in actions))
            return len(actions)

    async def _execute(self, action: OutboxAction) -> None:
        executor = self.executors.get(action.platform)
        try:
            if executor is None:
                raise ActionError(f"{PLATFORM_LABELS[action.platform]} is not connected", retryable=True)
            result = await executor.execute(action)
        except ActionError as exc:
            await self._record_failure(
                action, exc.message, retryable=exc.retryable, retry_after=exc.retry_after
            )
        except Exception as exc:
            log.exception(
                "executing outbox action %d (%s %s on %s) raised",
                action.id,
                action.platform,
                action.kind,
                action.target,
            )
            await self._record_failure(
                action, f"an unexpected error ({type(exc).__name__})", retryable=True, retry_after=None
            )
        else:
            if not isinstance(result, dict):
                log.warning("executor for %s returned %r instead of a dict", action.platform, type(result))
                result = {}
            await self._record_done(action, result)

    async def _record_done(self, action: OutboxAction, result: dict[str, Any]) -> None:
        now = self.clock()
        completion = self.completions.get(action.kind)

        def job(conn: sqlite3.Connection) -> list[Change]:
            if not repo.mark_done(conn, action.id, result, now=now):
                return []
            return list(completion(conn, action, result)) if completion is not None else []

        try:
            changes = await self.store.write(job)
        except StoreError as exc:
            # The platform has it; the row stays ``sending`` and is replayed (idempotently) at the next start.
            log.error("could not record outbox action %d as done: %s", action.id, exc.message)
            return
        self._publish(OutboxChanged((action.id,)))
        for change in changes:
            self._publish(change)

    async def _record_failure(
        self, action: OutboxAction, error: str, *, retryable: bool, retry_after: float | None
    ) -> None:
        now = self.clock()
        if retryable and action.attempts < self.max_attempts:
            delay = self.backoff(action.attempts)
            if retry_after is not None:
                delay = max(delay, retry_after)
            when = now + timedelta(seconds=delay)
            log.info(
                "outbox action %d (%s %s) failed (%s); retry %d in %.1f s",
                action.id,
                action.platform,
                action.kind,
                error,
                action.attempts + 1,
                delay,
            )
            try:
                await self.store.write(lambda conn: repo.mark_retry(conn, action.id, error, when, now=now))
            except StoreError as exc:
                log.error("could not schedule a retry of outbox action %d: %s", action.id, exc.message)
                return
            self._publish(OutboxChanged((action.id,)))
            return

        def job(conn: sqlite3.Connection) -> dict[str, set[int]] | None:
            if not repo.mark_failed(conn, action.id, error, now=now):
                return None
            try:
                return repo.apply_undo(conn, repo.get_undo(conn, action.id))
            except ValueError:
                # An undo that no longer fits the schema; the action still counts as failed.
                log.exception("could not undo the optimistic change of outbox action %d", action.id)
                return {}

        try:
            touched = await self.store.write(job)
        except StoreError as exc:
            log.error("could not record outbox action %d as failed: %s", action.id, exc.message)
            return
        if touched is None:
            return
        log.warning(
            "outbox action %d (%s %s) failed for good: %s", action.id, action.platform, action.kind, error
        )
        self._publish(OutboxChanged((action.id,)))
        self._publish_touched(touched)
        self._publish(
            Notice("error", self._failure_text(action, error, retryable, bool(touched)), area="outbox")
        )

    def backoff(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` tries: exponential, capped, with full jitter."""
        return float(min(self.max_delay, self.base_delay * 2.0 ** min(attempts, 62)) * self.rng.random())

    def _failure_text(self, action: OutboxAction, error: str, retryable: bool, undone: bool) -> str:
        platform = PLATFORM_LABELS[action.platform]
        what = f"“{_words(action.kind)}” on {platform} ({action.target})"
        if retryable:
            text = f"Gave up on {what} after {action.attempts} attempts: {error}."
        else:
            text = f"{platform} refused {what}: {error}."
        if undone:
            text += " Your change was undone on the desk."
        return text + " You can retry or discard it from the outbox."

    # -- the moderator's controls (also what the status bar's outbox indicator calls) ----------------------

    def counts(self) -> tuple[int, int]:
        """(waiting, failed): waiting counts pending and sending actions."""
        counts = repo.count_by_state(self.store.reader())
        return counts[OutboxState.PENDING] + counts[OutboxState.SENDING], counts[OutboxState.FAILED]

    def failed_actions(self) -> list[OutboxAction]:
        """The failed actions, oldest first."""
        return repo.list_actions(self.store.reader(), [OutboxState.FAILED])

    def retry(self, action_id: int) -> concurrent.futures.Future[bool]:
        """Queue a failed action again (never blocks). The future says whether it was failed."""
        now = self.clock()
        future = self.store.submit(lambda conn: repo.retry(conn, action_id, now=now))

        def done(f: concurrent.futures.Future[bool]) -> None:
            if f.exception() is None and f.result():
                self.bus.publish(OutboxChanged((action_id,)))  # also wakes the runner
                self.wake()

        future.add_done_callback(done)
        return future

    def discard(self, action_id: int) -> concurrent.futures.Future[bool]:
        """Give up on a failed action, or cancel a pending one and undo its change (never blocks)."""
        result: concurrent.futures.Future[bool] = concurrent.futures.Future()

        def done(f: concurrent.futures.Future[dict[str, set[int]] | None]) -> None:
            exc = f.exception()
            if exc is not None:
                result.set_exception(exc)
                return
            touched = f.result()
            if touched is not None:
                self.bus.publish(OutboxChanged((action_id,)))
                self._publish_touched(touched)
            result.set_result(touched is not None)

        self.store.submit(lambda conn: repo.discard(conn, action_id)).add_done_callback(done)
        return result

    # -- publishing ----------------------------------------------------------------------------------------

    def _publish(self, change: Change) -> None:
        # Our own OutboxChanged must not wake our own loop again.
        self._publishing = True
        try:
            self.bus.publish(change)
        finally:
            self._publishing = False

    def _publish_touched(self, touched: Mapping[str, set[int]]) -> None:
        for table, ids in touched.items():
            make = _TABLE_CHANGES.get(table)
            if make is not None and ids:
                self._publish(make(tuple(sorted(ids))))


async def perform(
    store: Store,
    bus: ChangeBus,
    runner: OutboxRunner | None,
    *,
    apply: Callable[[sqlite3.Connection], Undo],
    platform: Platform,
    kind: str,
    target: str,
    payload: dict[str, Any],
    idempotency_key: str | None = None,
) -> int:
    """Apply an optimistic change and enqueue its action in one writer job; return the action's id.

    ``apply`` runs on the writer thread, changes the local rows and returns the undo that restores them (see
    ``atlas_desk.store.outbox``). If anything in the job fails, neither the change nor the action is kept.
    The caller publishes its own pane's change; this publishes ``OutboxChanged`` and wakes the runner.
    """
    clock = runner.clock if runner is not None else utc_now

    def job(conn: sqlite3.Connection) -> int:
        undo = apply(conn)
        return repo.enqueue(
            conn,
            platform=platform,
            kind=kind,
            target=target,
            payload=payload,
            undo=list(undo),
            idempotency_key=idempotency_key,
            now=clock(),
        )

    action_id = await store.write(job)
    bus.publish(OutboxChanged((action_id,)))
    if runner is not None:
        runner.wake()
    return action_id
