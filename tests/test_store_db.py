"""The single writer: batching, savepoints, commit-before-resolve, draining on close, known errors."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from atlas_desk.store.db import Store, StoreError, from_db_time, known_error, to_db_time


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    s = Store.open(data_dir / "desk.db")
    yield s
    s.close()


def _insert(key: str) -> Callable[[sqlite3.Connection], str]:
    def job(conn: sqlite3.Connection) -> str:
        conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, "v"))
        return key

    return job


def _gate(store: Store) -> tuple[threading.Event, threading.Event]:
    """Block the writer inside a job until released, so the jobs submitted meanwhile form one batch."""
    entered, release = threading.Event(), threading.Event()

    def hold(conn: sqlite3.Connection) -> None:
        entered.set()
        assert release.wait(10)

    store.submit(hold)
    assert entered.wait(10)
    return entered, release


def _keys(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT key FROM meta")}
    finally:
        conn.close()


def test_concurrent_submits_from_several_threads_all_commit(store: Store) -> None:
    threads_n, per_thread = 6, 300
    futures: list[concurrent.futures.Future[str]] = []
    lock = threading.Lock()
    start = threading.Barrier(threads_n)

    def producer(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            f = store.submit(_insert(f"t{t}-{i}"))
            with lock:
                futures.append(f)

    threads = [threading.Thread(target=producer, args=(t,)) for t in range(threads_n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(10)
    done, not_done = concurrent.futures.wait(futures, timeout=30)
    assert not not_done
    assert {f.result() for f in done} == {f"t{t}-{i}" for t in range(threads_n) for i in range(per_thread)}
    count = store.reader().execute("SELECT count(*) FROM meta").fetchone()[0]
    assert count == threads_n * per_thread


def test_failing_job_rolls_back_only_itself(store: Store) -> None:
    _entered, release = _gate(store)

    def failing(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO meta (key, value) VALUES ('bad', 'v')")
        raise ValueError("a bug in the job")

    def constraint(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO meta (key, value) VALUES ('ok1', 'duplicate')")

    ok1 = store.submit(_insert("ok1"))
    bad = store.submit(failing)
    dup = store.submit(constraint)
    ok2 = store.submit(_insert("ok2"))
    release.set()
    assert ok1.result(10) == "ok1"
    assert ok2.result(10) == "ok2"
    # Bugs and constraint violations reach the caller unchanged, not as StoreError.
    with pytest.raises(ValueError, match="a bug in the job"):
        bad.result(10)
    with pytest.raises(sqlite3.IntegrityError):
        dup.result(10)
    assert _keys(store.path) == {"ok1", "ok2"}


def test_futures_resolve_only_after_commit(store: Store) -> None:
    _entered, release = _gate(store)
    seen: dict[str, bool] = {}
    errors: list[BaseException] = []
    all_checked = threading.Event()

    def check(key: str) -> Callable[[concurrent.futures.Future[str]], None]:
        def done(_f: concurrent.futures.Future[str]) -> None:
            # Runs the moment the future resolves; a separate read connection must already see the row.
            try:
                conn = sqlite3.connect(store.path)
                seen[key] = conn.execute("SELECT 1 FROM meta WHERE key = ?", (key,)).fetchone() is not None
                conn.close()
            except BaseException as exc:
                errors.append(exc)
            if len(seen) + len(errors) == 20:
                all_checked.set()

        return done

    futures = []
    for i in range(20):
        f = store.submit(_insert(f"k{i}"))
        f.add_done_callback(check(f"k{i}"))
        futures.append(f)
    release.set()
    assert all_checked.wait(10)
    assert not errors
    assert seen == {f"k{i}": True for i in range(20)}


def test_reader_sees_committed_rows_and_refuses_writes(store: Store) -> None:
    store.submit(_insert("r1")).result(10)
    reader = store.reader()
    row = reader.execute("SELECT key, value FROM meta").fetchone()
    assert isinstance(row, sqlite3.Row)
    assert row["key"] == "r1"
    assert store.reader() is reader  # one per thread
    with pytest.raises(sqlite3.OperationalError):
        reader.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")

    other: list[sqlite3.Connection] = []
    th = threading.Thread(target=lambda: other.append(store.reader()))
    th.start()
    th.join(10)
    assert other and other[0] is not reader


def test_close_drains_queued_jobs(data_dir: Path) -> None:
    store = Store.open(data_dir / "desk.db")
    _entered, release = _gate(store)
    futures = [store.submit(_insert(f"q{i}")) for i in range(200)]
    closer = threading.Thread(target=store.close)
    closer.start()
    while not store.closed:  # close() flips this first, then waits for the writer
        closer.join(0.001)
    with pytest.raises(StoreError) as info:
        store.submit(_insert("late"))
    assert info.value.kind == "closed"
    release.set()
    closer.join(10)
    assert not closer.is_alive()
    assert all(f.done() and f.exception() is None for f in futures)
    assert _keys(store.path) == {f"q{i}" for i in range(200)}
    store.close()  # twice is fine


def test_write_awaits_the_commit(store: Store, aloop: asyncio.AbstractEventLoop) -> None:
    async def main() -> int:
        await store.write(_insert("a"))
        return int(store.reader().execute("SELECT count(*) FROM meta").fetchone()[0])

    assert aloop.run_until_complete(main()) == 1


def test_locked_database_is_a_store_error_in_plain_words(data_dir: Path) -> None:
    path = data_dir / "desk.db"
    store = Store.open(path, busy_timeout=0.05)
    try:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another program holds the write lock
        future = store.submit(_insert("blocked"))
        with pytest.raises(StoreError) as info:
            future.result(10)
        assert info.value.kind == "locked"
        assert "another program" in info.value.message
        assert isinstance(info.value.__cause__, sqlite3.OperationalError)
        other.execute("ROLLBACK")
        other.close()
        assert store.submit(_insert("later")).result(10) == "later"  # the writer carries on
    finally:
        store.close()


def test_damaged_file_is_refused_with_a_store_error(data_dir: Path) -> None:
    path = data_dir / "desk.db"
    path.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(StoreError) as info:
        Store.open(path)
    assert info.value.kind == "corrupt"


def test_db_times_are_fixed_width_utc_text() -> None:
    plus_two = timezone(timedelta(hours=2))
    a = datetime(2026, 11, 24, 15, 0, 0, tzinfo=plus_two)
    b = datetime(2026, 11, 24, 13, 0, 0, 500, tzinfo=UTC)
    assert to_db_time(a) == "2026-11-24T13:00:00.000000+00:00"
    assert to_db_time(a) < to_db_time(b)  # string order is time order
    assert from_db_time(to_db_time(b)) == b
    assert from_db_time("2026-11-24T13:00:00") == datetime(2026, 11, 24, 13, tzinfo=UTC)
    with pytest.raises(ValueError):
        to_db_time(datetime(2026, 1, 1))


def test_disk_full_is_a_store_error_and_the_writer_carries_on(store: Store) -> None:
    _entered, release = _gate(store)

    def fill_the_disk(conn: sqlite3.Connection) -> None:
        # A size limit stands in for a full disk: SQLite reports both as SQLITE_FULL.
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
        try:
            conn.execute("INSERT INTO meta (key, value) VALUES ('big', ?)", ("x" * 1_000_000,))
        finally:
            conn.execute("PRAGMA max_page_count = 1073741823")

    before = store.submit(_insert("before"))
    full = store.submit(fill_the_disk)
    after = store.submit(_insert("after"))
    release.set()
    with pytest.raises(StoreError) as info:
        full.result(10)
    assert info.value.kind == "disk_full"
    assert "disk is full" in info.value.message
    # SQLite rolls the whole transaction back on a full disk, so the job batched before it is lost too, and
    # says so rather than claiming success; the writer then carries on with the next batch.
    with pytest.raises(StoreError):
        before.result(10)
    assert after.result(10) == "after"
    assert _keys(store.path) == {"after"}


def test_read_only_errors_are_named(store: Store) -> None:
    with pytest.raises(sqlite3.OperationalError) as info:
        store.reader().execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
    err = known_error(info.value, store.path)
    assert err is not None and err.kind == "readonly"
    assert known_error(ValueError("a bug"), store.path) is None
    assert known_error(sqlite3.OperationalError("no such table: x"), store.path) is None
