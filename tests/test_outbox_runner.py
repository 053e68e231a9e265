"""The outbox runner: retries with backoff, giving up with rollback, replay after a crash, perform()."""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from atlas_desk.core.bus import Change, ChangeBus, ItemsChanged, Notice, OutboxChanged, TicketChanged
from atlas_desk.core.outbox import Executor, OutboxRunner, perform
from atlas_desk.core.types import ActionError, OutboxAction, OutboxState, Platform
from atlas_desk.store import outbox as repo
from atlas_desk.store.db import Store

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


class FakePlatform:
    """Acts like a platform: a key it has seen returns the earlier result and never acts twice."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.performed: dict[str, dict[str, Any]] = {}
        self.perform_count: Counter[str] = Counter()
        self.errors: list[BaseException] = []  # raised by the next calls, in order
        self.always: BaseException | None = None
        self.called = asyncio.Event()

    async def execute(self, action: OutboxAction) -> dict[str, Any]:
        self.calls.append(action.id)
        self.called.set()
        if self.errors:
            raise self.errors.pop(0)
        if self.always is not None:
            raise self.always
        if action.idempotency_key in self.performed:
            return self.performed[action.idempotency_key]
        self.perform_count[action.idempotency_key] += 1
        result = {"id": f"p{len(self.performed) + 1}"}
        self.performed[action.idempotency_key] = result
        return result


class Recorder:
    def __init__(self, bus: ChangeBus) -> None:
        self.changes: list[Change] = []
        self.event = asyncio.Event()
        bus.subscribe(Change, self._on)

    def _on(self, change: Change) -> None:
        self.changes.append(change)
        self.event.set()

    def of(self, kind: type[Change]) -> list[Any]:
        return [c for c in self.changes if isinstance(c, kind)]

    async def until(self, predicate: Callable[[], bool], timeout: float = 10) -> None:
        """Wait (on published changes, not on time) until ``predicate`` holds."""

        async def wait() -> None:
            while not predicate():
                self.event.clear()
                if predicate():
                    return
                await self.event.wait()

        await asyncio.wait_for(wait(), timeout)


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    s = Store.open(data_dir / "desk.db")
    yield s
    s.close()


@pytest.fixture
def bus() -> ChangeBus:
    return ChangeBus()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform()


def make_runner(
    store: Store, bus: ChangeBus, clock: FakeClock, executors: dict[Platform, Executor], **kw: Any
) -> OutboxRunner:
    kw.setdefault("rng", FixedRandom(0.5))
    return OutboxRunner(store, bus, executors, clock=clock, **kw)


def add_item(store: Store, platform_id: str = "m1", *, reported: int = 1) -> int:
    def job(conn: sqlite3.Connection) -> int:
        cur = conn.execute(
            "INSERT INTO inbox_items (platform, platform_id, kind, container, created_at, created_ts,"
            " reported) VALUES ('discord', ?, 'message', '#general', ?, 0, ?)",
            (platform_id, T0.isoformat(), reported),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    return store.submit(job).result(10)


def reported(store: Store, item: int) -> int:
    return int(store.reader().execute("SELECT reported FROM inbox_items WHERE id = ?", (item,)).fetchone()[0])


def action(store: Store, action_id: int) -> OutboxAction:
    found = repo.get_action(store.reader(), action_id)
    assert found is not None
    return found


def clear_report(item: int) -> Callable[[sqlite3.Connection], repo.Undo]:
    """The optimistic change of an "approve": clear the report now, restore it if the platform refuses."""

    def apply(conn: sqlite3.Connection) -> repo.Undo:
        undo = [repo.snapshot(conn, "inbox_items", item, ["reported"])]
        conn.execute("UPDATE inbox_items SET reported = 0 WHERE id = ?", (item,))
        return undo

    return apply


async def approve(store: Store, bus: ChangeBus, runner: OutboxRunner | None, item: int, **kw: Any) -> int:
    return await perform(
        store,
        bus,
        runner,
        apply=clear_report(item),
        platform=kw.pop("platform", Platform.DISCORD),
        kind="approve",
        target=f"msg-{item}",
        payload={"item_id": item},
        **kw,
    )


def test_success_marks_done_and_publishes_each_state_change(
    store: Store, bus: ChangeBus, clock: FakeClock, platform: FakePlatform, aloop: asyncio.AbstractEventLoop
) -> None:
    rec = Recorder(bus)
    runner = make_runner(store, bus, clock, {Platform.DISCORD: platform})

    async def main() -> None:
        item = add_item(store)
        action_id = await approve(store, bus, runner, item)
        assert reported(store, item) == 0  # optimistic
        assert await runner.run_once() == 1
        done = action(store, action_id)
        assert done.state == OutboxState.DONE and done.result == {"id": "p1"}
        # enqueued, claimed (sending), done
        assert [c.ids for c in rec.of(OutboxChanged)] == [(action_id,)] * 3
        assert reported(store, item) == 0
        assert await runner.run_once() == 0
        assert platform.calls == [action_id]

    aloop.run_until_complete(main())


def test_retry_honours_retry_after(
    store: Store, bus: ChangeBus, clock: FakeClock, platform: FakePlatform, aloop: asyncio.AbstractEventLoop
) -> None:
    runner = make_runner(store, bus, clock, {Platform.DISCORD: platform}, rng=FixedRandom(0.99))
    platform.errors = [ActionError("You are being rate limited.", retryable=True, retry_after=30)]

    async def main() -> None:
        item = add_item(store)
        action_id = await approve(store, bus, runner, item)
        await runner.run_once()
        waiting = action(store, action_id)
        assert waiting.state == OutboxState.PENDING
        assert waiting.attempts == 1
        assert waiting.last_error == "You are being rate limited."
        assert waiting.next_attempt_at >= T0 + timedelta(seconds=30)  # backoff alone would be ~2 s
        assert reported(store, item) == 0  # still optimistic while retrying

        clock.advance(29)
        assert await runner.run_once() == 0
        clock.advance(1)
        assert await runner.run_once() == 1
        assert action(store, action_id).state == OutboxState.DONE
        assert platform.calls == [action_id, action_id]

    aloop.run_until_complete(main())


def test_backoff_is_exponential_capped_with_full_jitter(
    store: Store, bus: ChangeBus, clock: FakeClock, platform: FakePlatform, aloop: asyncio.AbstractEventLoop
) -> None:
    runner = make_runner(
        store, bus, clock, {Platform.DISCORD: platform}, rng=FixedRandom(0.5), base_delay=1.0, max_delay=10.0
    )
    assert [runner.backoff(n) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    platform.always = ActionError("Discord is unavailable (503).", retryable=True)

    async def main() -> None:
        action_id = await approve(store, bus, runner, add_item(store))
        delays = []
        for _ in range(4):
            before = clock()
            await runner.run_once()
            due = action(store, action_id).next_attempt_at
            delays.append((due - before).total_seconds())
            clock.now = due
        assert delays == [1.0, 2.0, 4.0, 5.0]

    aloop.run_until_complete(main())


def test_exhausting_attempts_fails_and_undoes_the_optimistic_change(
    store: Store, bus: ChangeBus, clock: FakeClock, platform: FakePlatform, aloop: asyncio.AbstractEventLoop
) -> None:
    rec = Recorder(bus)
    runner = make_runner(store, bus, clock, {Platform.DISCORD: platform}, max_attempts=3)
    platform.always = ActionError("Discord is unavailable (503).", retryable=True)

    async def main() -> None:
        item = add_item(store)
        action_id = await approve(store, bus, runner, item)
        for attempt in (1, 2):
            await runner.run_once()
            assert action(store, action_id).state == OutboxState.PENDING
            assert action(store, action_id).attempts == attempt
            assert reported(store, item) == 0
            clock.advance(runner.max_delay)
        await runner.run_once()
        failed = action(store, action_id)
        assert failed.state == OutboxState.FAILED
        assert failed.attempts == 3
        assert failed.last_error == "Discord is unavailable (503)."
        assert reported(store, item) == 1  # rolled back
        assert len(platform.calls) == 3
        assert item in rec.of(ItemsChanged)[-1].ids
        [notice] = rec.of(Notice)
        assert notice.level == "error"
        assert "approve" in notice.text and "Discord" in notice.text
        assert "after 3 attempts" in notice.text and "unavailable (503)" in notice.text
        assert "undone" in notice.text
        clock.advance(3600)
        assert await runner.run_once() == 0  # failed actions are not retried by themselves

    aloop.run_until_complete(main())


def test_non_retryable_error_fails_at_once(
    store: Store, bus: ChangeBus, clock: FakeClock, platform: FakePlatform, aloop: asyncio.AbstractEventLoop
) -> None:
    rec = Recorder(bus)
    runner = make_runner(store, bus, clock, {Platform.DISCORD: platform})
    platform.errors = [ActionError("Missing permissions to manage messages.", retryable=False)]

    async def main() -> None:
        item = add_item(store)
        action_id = await approve(store, bus, runner, item)
        await runner.run_once()
        failed = action(store, action_id)
        assert (failed.state, failed.attempts) == (OutboxState.FAILED, 1)
        assert reported(store, item) == 1
        [notice] = rec.of(Notice)
        assert notice.text.startswith("Discord refused “approve”")
        assert "Missing permissions" in notice.text

    aloop.run_until_complete(main())


def test_unexpected_exception_is_retryable_and_logged(
    store: Store,
    bus: ChangeBus,
    clock: FakeClock,
    platform: FakePlatform,
    aloop: asyncio.AbstractEventLoop,
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = make_runner(store, bus, clock, {Platform.DISCORD: platform})
    platform.errors = [KeyError("surprise")]

    async def main() -> None:
        item = add_item(store)
        action_id = await approve(store, bus, runner, item)
        with caplog.at_level(logging.ERROR, logger="atlas_desk.outbox"):
            await runner.run_once()
        waiting = action(store, action_id)
        assert waiting.state == OutboxState.PENDING
        assert "unexpected error (KeyError)" in waiting.last_error
        assert any(r.exc_info and isinstance(r.exc_info[1], KeyError) for r in caplog.records)
        assert reported(store, item) == 0

    aloop.run_until_complete(main())


def test_replay_after_a_crash_never_performs_an_action_twice(
    store: Store, bus: ChangeBus, clock: FakeClock, platform: FakePlatform, aloop: asyncio.AbstractEventLoop
) -> None:
    rec = Recorder(bus)

    async def main() -> None:
        runner = make_runner(store, bus, clock, {Platform.DISCORD: platform})
        ids = [await approve(store, bus, runner, add_item(store, f"m{i}")) for i in range(3)]
        # A previous run claimed all three, the platform performed the second, then the process died.
        claimed = await store.write(lambda conn: repo.claim_due(conn, clock(), 10))
        assert [a.id for a in claimed] == ids
        platform.performed[claimed[1].idempotency_key] = {"id": "before-crash"}
        platform.perform_count[claimed[1].idempotency_key] = 1

        await runner.start()
        try:
            await rec.until(lambda: all(action(store, i).state == OutboxState.DONE for i in ids))
            assert sorted(platform.calls) == ids  # each executed exactly once more
            assert action(store, ids[1]).result == {"id": "before-crash"}
            assert set(platform.perform_count.values()) == {1}
            assert await runner.run_once() == 0
            assert sorted(platform.calls) == ids
        finally:
            await runner.stop()

    aloop.run_until_complete(main())


def test_retry_and_discard_a_failed_action(
    store: Store, bus: ChangeBus, clock: FakeClock, platform: FakePlatform, aloop: asyncio.AbstractEventLoop
) -> None:
    rec = Recorder(bus)
    runner = make_runner(store, bus, clock, {Platform.DISCORD: platform})
    refused = ActionError("Unknown message.", retryable=False)
    platform.errors = [refused, refused]

    async def main() -> None:
        first = await approve(store, bus, runner, add_item(store, "a"))
        second = await approve(store, bus, runner, add_item(store, "b"))
        await runner.run_once()
        assert runner.counts() == (0, 2)
        assert [a.id for a in runner.failed_actions()] == [first, second]

        assert await asyncio.wrap_future(runner.retry(first)) is True
        again = action(store, first)
        assert (again.state, again.attempts) == (OutboxState.PENDING, 0)
        assert rec.of(OutboxChanged)[-1].ids == (first,)
        assert await runner.run_once() == 1
        assert action(store, first).state == OutboxState.DONE
        assert await asyncio.wrap_future(runner.retry(first)) is False  # done, nothing to retry

        assert await asyncio.wrap_future(runner.discard(second)) is True
        assert repo.get_action(store.reader(), second) is None
        assert await asyncio.wrap_future(runner.discard(first)) is False  # done actions stay as history
        assert runner.counts() == (0, 0)

    aloop.run_until_complete(main())


def test_unconfigured_platform_actions_stay_pending(
    store: Store, bus: ChangeBus, clock: FakeClock, platform: FakePlatform, aloop: asyncio.AbstractEventLoop
) -> None:
    executors: dict[Platform, Executor] = {Platform.DISCORD: platform}
    runner = make_runner(store, bus, clock, executors)

    async def main() -> None:
        item = add_item(store)
        action_id = await approve(store, bus, runner, item, platform=Platform.GITHUB)
        clock.advance(3600)
        assert await runner.run_once() == 0
        waiting = action(store, action_id)
        assert (waiting.state, waiting.attempts) == (OutboxState.PENDING, 0)
        assert reported(store, item) == 0  # not rolled back
        assert runner.counts() == (1, 0)

        github = FakePlatform()
        executors[Platform.GITHUB] = github  # the platform gets configured later
        assert await runner.run_once() == 1
        assert github.calls == [action_id]
        assert platform.calls == []

    aloop.run_until_complete(main())


def test_perform_is_atomic(
    store: Store, bus: ChangeBus, clock: FakeClock, platform: FakePlatform, aloop: asyncio.AbstractEventLoop
) -> None:
    runner = make_runner(store, bus, clock, {Platform.DISCORD: platform})

    async def main() -> None:
        item = add_item(store)
        await approve(store, bus, runner, item, idempotency_key="approve-1")
        other = add_item(store, "m2")
        # The enqueue fails (the key is taken): the optimistic change must not stay either.
        with pytest.raises(sqlite3.IntegrityError):
            await approve(store, bus, runner, other, idempotency_key="approve-1")
        assert reported(store, other) == 1
        assert len(repo.list_actions(store.reader())) == 1

        def bad_undo(conn: sqlite3.Connection) -> repo.Undo:
            conn.execute("UPDATE inbox_items SET reported = 0 WHERE id = ?", (other,))
            return [{"table": "people", "id": 1, "values": {"blocked": 0}}]

        with pytest.raises(ValueError):
            await perform(
                store,
                bus,
                runner,
                apply=bad_undo,
                platform=Platform.DISCORD,
                kind="approve",
                target="x",
                payload={},
            )
        assert reported(store, other) == 1
        assert len(repo.list_actions(store.reader())) == 1

    aloop.run_until_complete(main())


def test_started_runner_sleeps_until_woken_then_executes(
    store: Store,
    bus: ChangeBus,
    clock: FakeClock,
    platform: FakePlatform,
    aloop: asyncio.AbstractEventLoop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    claims: list[datetime] = []
    claimed = asyncio.Event()
    real_claim = repo.claim_due

    def counting_claim(conn: sqlite3.Connection, now: datetime, limit: int, **kw: Any) -> list[OutboxAction]:
        claims.append(now)  # on the writer thread
        aloop.call_soon_threadsafe(claimed.set)
        return real_claim(conn, now, limit, **kw)

    monkeypatch.setattr(repo, "claim_due", counting_claim)
    rec = Recorder(bus)
    runner = make_runner(store, bus, clock, {Platform.DISCORD: platform})

    async def settle() -> None:
        for _ in range(50):
            await asyncio.sleep(0)

    async def main() -> None:
        await runner.start()
        try:
            await asyncio.wait_for(claimed.wait(), 10)
            await settle()
            assert len(claims) == 1  # idle: one pass, then it sleeps (no polling)

            action_id = await approve(store, bus, runner, add_item(store))
            await asyncio.wait_for(platform.called.wait(), 10)
            await rec.until(lambda: action(store, action_id).state == OutboxState.DONE)

            # A retry due in 60 s (fake clock): the loop waits on a timer, it does not spin.
            platform.errors = [ActionError("Try later.", retryable=True, retry_after=60)]
            second = await approve(store, bus, runner, add_item(store, "m2"))
            await rec.until(
                lambda: (
                    action(store, second).attempts == 1 and action(store, second).state == OutboxState.PENDING
                )
            )
            passes = len(claims)
            await settle()
            assert len(claims) <= passes + 1
        finally:
            await runner.stop()

    aloop.run_until_complete(main())


def test_completion_hook_runs_with_mark_done(
    store: Store, bus: ChangeBus, clock: FakeClock, platform: FakePlatform, aloop: asyncio.AbstractEventLoop
) -> None:
    rec = Recorder(bus)
    seen: list[tuple[int, dict[str, Any]]] = []

    def confirm(conn: sqlite3.Connection, act: OutboxAction, result: dict[str, Any]) -> list[Change]:
        seen.append((act.id, result))
        return [TicketChanged((7,))]

    runner = make_runner(store, bus, clock, {Platform.DISCORD: platform}, completions={"approve": confirm})

    async def main() -> None:
        action_id = await approve(store, bus, runner, add_item(store))
        await runner.run_once()
        assert seen == [(action_id, {"id": "p1"})]
        assert rec.of(TicketChanged) == [TicketChanged((7,))]

    aloop.run_until_complete(main())
