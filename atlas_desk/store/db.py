"""The SQLite store: one writer thread, per-thread read-only readers.

Every write goes through ``Store.submit`` (or its asyncio wrapper ``Store.write``) as a *job*: a function
that receives the writer's connection. The writer thread takes whatever jobs are queued (up to
``BATCH_MAX_JOBS`` jobs or about ``BATCH_BUDGET_S`` of work), runs them in one transaction with a SAVEPOINT
around each job, commits, and only then resolves the jobs' futures. A job that raises rolls back only its
own savepoint; its future gets the exception, the others in the batch still commit. Jobs must not commit,
roll back or begin transactions themselves.

Durability: the database is in WAL mode with ``synchronous=NORMAL``. A commit is a ``write()`` into the WAL
file, which the operating system keeps when the process is killed (``kill -9``, a crash, the OOM killer), so
every committed transaction survives a process death and the file is never corrupted
(tests/test_store_killsafety.py proves it). Only an operating-system crash or power cut can lose the last
few transactions before a checkpoint, and even then the database stays consistent. That trade is right here:
the platforms hold the shared truth (a restart backfills), outbox actions are replayed idempotently, and
skipping an ``fsync`` per commit keeps the writer fast on slow laptop disks. ``FULL`` would add an fsync per
batch for power-cut durability only.

A few SQLite failures (a full disk, some I/O errors) roll back the whole transaction by themselves; then every
job of that batch gets the error, since none of them was saved.

Errors: SQLite failures that are about the environment (disk full, database locked by another program,
read-only file, I/O error, damaged file) are raised as ``StoreError`` with a message in plain words;
everything else (SQL mistakes, constraint violations, bugs in a job) propagates unchanged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger("atlas_desk.store")

T = TypeVar("T")

BATCH_MAX_JOBS = 500
BATCH_BUDGET_S = 0.010
_SAVEPOINT = "atlas_job"


class StoreError(Exception):
    """A known, environmental store failure, worded for the moderator.

    ``kind`` is one of ``disk_full``, ``locked``, ``readonly``, ``io``, ``corrupt``, ``cantopen``, ``closed``,
    ``too_new``, ``migration``.
    """

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


# Primary SQLite result codes (the low byte of the extended code).
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_NOTADB = 26


def known_error(exc: BaseException, path: Path | str) -> StoreError | None:
    """The ``StoreError`` for a known environmental SQLite failure; None for anything else (a bug)."""
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return None
    primary = code & 0xFF
    where = str(path)
    if primary == _SQLITE_FULL:
        return StoreError(
            f"The disk is full: Atlas Desk could not save changes to {where}. Free some space and try again.",
            kind="disk_full",
        )
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return StoreError(
            f"The database {where} is busy: another program (perhaps another Atlas Desk) is using it. "
            "Close it and try again.",
            kind="locked",
        )
    if primary == _SQLITE_READONLY:
        return StoreError(
            f"The database {where} is read-only, so Atlas Desk cannot save changes. "
            "Check the file's permissions.",
            kind="readonly",
        )
    if primary == _SQLITE_IOERR:
        return StoreError(f"A disk error stopped Atlas Desk from reading or saving {where}.", kind="io")
    if primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return StoreError(
            f"The database {where} is damaged or is not an Atlas Desk database. "
            "Move it aside; a restart rebuilds it from the platforms.",
            kind="corrupt",
        )
    if primary == _SQLITE_CANTOPEN:
        return StoreError(
            f"Atlas Desk cannot open the database {where}. Check the folder exists and is writable.",
            kind="cantopen",
        )
    return None


def _translate(exc: BaseException, path: Path | str) -> BaseException:
    known = known_error(exc, path)
    if known is not None:
        known.__cause__ = exc
        return known
    return exc


def to_db_time(value: datetime) -> str:
    """Format an aware datetime as the store's fixed-width UTC text (sortable as a string)."""
    if value.tzinfo is None:
        raise ValueError("store times must be timezone-aware")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(text: str) -> datetime:
    """Parse a store time (any ISO-8601 text; naive text is taken as UTC)."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class _Stop:
    """Queue sentinel: the writer drains everything before it and stops."""


_QueueItem = tuple[Callable[[sqlite3.Connection], Any], "concurrent.futures.Future[Any]"] | _Stop


class Store:
    """The application's SQLite database: one writer thread, read-only readers per thread."""

    def __init__(self, path: Path, writer: sqlite3.Connection, busy_timeout: float) -> None:
        """Use ``Store.open``."""
        self.path = path
        self._busy_timeout = busy_timeout
        self._conn = writer
        self._queue: queue.SimpleQueue[_QueueItem] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._thread = threading.Thread(target=self._run, name="atlas-desk-store-writer", daemon=True)
        self._thread.start()

    @classmethod
    def open(cls, path: Path, *, busy_timeout: float = 5.0) -> Store:
        """Open (creating it and its folder if needed) the database, migrate it and start the writer thread.

        Raises ``StoreError`` when the file cannot be used (newer schema, damaged, locked, read-only...).
        """
        from atlas_desk.store.migrate import migrate  # migrate imports StoreError from here

        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Atlas Desk cannot create the folder {path.parent}: {exc.strerror}.", kind="cantopen"
            ) from exc
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("SQLite refused WAL mode for %s (got %s); concurrency will suffer", path, mode)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            migrate(conn)
        except BaseException as exc:
            if conn is not None:
                conn.close()
            translated = _translate(exc, path)
            if translated is exc:
                raise
            raise translated from exc
        return cls(path, conn, busy_timeout)

    # -- writing ---------------------------------------------------------------------------------------

    def submit(self, job: Callable[[sqlite3.Connection], T]) -> concurrent.futures.Future[T]:
        """Queue ``job`` for the writer thread and return its future at once.

        Never blocks (the queue is unbounded), so the GUI thread may call it; never wait on the future there.
        The future resolves after the job's transaction has committed, with the job's return value, the job's
        own exception, or a ``StoreError`` if the commit failed.
        """
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            if self._closed:
                raise StoreError("The database is closed; the change was not saved.", kind="closed")
            self._queue.put((job, future))
        return future

    async def write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job`` on the writer thread; return its result once committed (asyncio wrapper of submit)."""
        return await asyncio.wrap_future(self.submit(job))

    # -- reading ---------------------------------------------------------------------------------------

    def reader(self) -> sqlite3.Connection:
        """This thread's read-only connection (row_factory ``sqlite3.Row``), opened on first use.

        Meant for short indexed queries; it sees everything committed, never a batch in progress.
        """
        if self._closed:
            raise StoreError("The database is closed.", kind="closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        uri = self.path.resolve().as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(
                uri, uri=True, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout * 1000)}")
            conn.execute("PRAGMA query_only=ON")
        except sqlite3.Error as exc:
            translated = _translate(exc, self.path)
            if translated is exc:
                raise
            raise translated from exc
        conn.row_factory = sqlite3.Row
        with self._lock:
            if self._closed:  # close() ran meanwhile and will not see this one
                conn.close()
                raise StoreError("The database is closed.", kind="closed")
            self._readers.append(conn)
        self._local.conn = conn
        return conn

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once ``close`` has started: new jobs are refused, queued ones still run."""
        return self._closed

    def close(self) -> None:
        """Run every job already queued, stop the writer and close all connections. Safe to call twice."""
        with self._lock:
            if self._closed:
                already = True
            else:
                already = False
                self._closed = True
                self._queue.put(_Stop())
        if already:
            self._thread.join()
            return
        self._thread.join()
        with self._lock:
            readers, self._readers = self._readers, []
        for conn in readers:
            conn.close()

    # -- the writer thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                item = self._queue.get()
                if isinstance(item, _Stop):
                    break
                if self._run_batch(item):
                    break
        finally:
            try:
                self._conn.execute("PRAGMA optimize")
            except sqlite3.Error:
                log.debug("PRAGMA optimize failed at close", exc_info=True)
            self._conn.close()

    def _run_batch(
        self, first: tuple[Callable[[sqlite3.Connection], Any], concurrent.futures.Future[Any]]
    ) -> bool:
        """Run ``first`` and whatever else is queued in one transaction. True if a stop was dequeued."""
        conn = self._conn
        # (future, ok, result or exception), resolved only after COMMIT
        batch: list[tuple[concurrent.futures.Future[Any], bool, Any]] = []
        stop = False
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            # Could not even start (locked by another program, disk gone): this job fails, later ones retry.
            job, future = first
            if future.set_running_or_notify_cancel():
                future.set_exception(_translate(exc, self.path))
            return False

        started = time.monotonic()
        item: _QueueItem = first
        running: concurrent.futures.Future[Any] | None = None
        try:
            while True:
                assert not isinstance(item, _Stop)
                job, future = item
                if future.set_running_or_notify_cancel():
                    running = future
                    ok, value = self._run_job(conn, job)
                    running = None
                    batch.append((future, ok, value))
                    if not conn.in_transaction:
                        raise _BatchLost("a store job ended the batch's transaction (jobs must not commit)")
                if len(batch) >= BATCH_MAX_JOBS or time.monotonic() - started >= BATCH_BUDGET_S:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Stop):
                    stop = True
                    break
            conn.execute("COMMIT")
        except BaseException as exc:
            # The transaction is gone (or never committed): nothing in this batch was saved.
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    log.exception("rollback of a failed batch failed")
            cause: BaseException = exc
            if isinstance(exc, _BatchLost) and exc.__cause__ is not None:
                cause = exc.__cause__
            failure = _translate(cause, self.path)
            if failure is cause:
                log.error("store batch of %d jobs failed", len(batch) + (running is not None), exc_info=cause)
            if running is not None:
                batch.append((running, False, failure))
            for future, _ok, _value in batch:
                future.set_exception(failure)
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt / SystemExit in the writer: let it end the thread
            return stop
        for future, ok, value in batch:
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        return stop

    def _run_job(
        self, conn: sqlite3.Connection, job: Callable[[sqlite3.Connection], Any]
    ) -> tuple[bool, Any]:
        conn.execute(f"SAVEPOINT {_SAVEPOINT}")
        try:
            result = job(conn)
        except Exception as exc:
            if not conn.in_transaction:
                # SQLite rolled the whole transaction back itself (it does for some I/O and full-disk errors).
                raise _BatchLost(str(exc)) from exc
            conn.execute(f"ROLLBACK TO {_SAVEPOINT}")
            conn.execute(f"RELEASE {_SAVEPOINT}")
            return False, _translate(exc, self.path)
        if conn.in_transaction:
            conn.execute(f"RELEASE {_SAVEPOINT}")
        return True, result


class _BatchLost(RuntimeError):
    """The batch's transaction ended before COMMIT; every job in it is lost."""
