"""Schema migrations: versions, idempotent re-open, refusing newer databases, atomic failed migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas_desk.store.db import Store, StoreError
from atlas_desk.store.migrate import Migration, latest_version, load_migrations, migrate, schema_version

EXPECTED_TABLES = {
    "people",
    "accounts",
    "inbox_items",
    "inbox_fts",
    "tickets",
    "ticket_messages",
    "roadmap_items",
    "community_events",
    "outbox",
    "sync_cursors",
    "metric_samples",
    "meta",
}


@pytest.fixture
def raw(data_dir: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(data_dir / "raw.db", isolation_level=None)
    yield conn
    conn.close()


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_packaged_migrations_are_numbered_from_one() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "0001_initial.sql"
    assert latest_version() == migrations[-1].version


def test_fresh_database_reaches_latest_version_with_every_table(data_dir: Path) -> None:
    path = data_dir / "nested" / "folder" / "desk.db"  # the folder does not exist yet
    store = Store.open(path)
    try:
        conn = store.reader()
        assert schema_version(conn) == latest_version()
        assert _tables(conn) >= EXPECTED_TABLES
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        pragmas = store.submit(
            lambda c: (
                c.execute("PRAGMA foreign_keys").fetchone()[0],
                c.execute("PRAGMA synchronous").fetchone()[0],
                c.execute("PRAGMA busy_timeout").fetchone()[0],
            )
        ).result(timeout=10)
        assert pragmas == (1, 1, 5000)  # foreign keys on, synchronous NORMAL, 5 s busy timeout
    finally:
        store.close()


def test_reopen_is_a_no_op_and_keeps_data(data_dir: Path) -> None:
    path = data_dir / "desk.db"
    store = Store.open(path)
    store.submit(lambda c: c.execute("INSERT INTO meta (key, value) VALUES ('kept', 'yes')")).result(10)
    store.close()
    # 0001 uses plain CREATE TABLE: running it again would fail, so a clean re-open proves it was skipped.
    store = Store.open(path)
    try:
        conn = store.reader()
        assert schema_version(conn) == latest_version()
        assert conn.execute("SELECT value FROM meta WHERE key = 'kept'").fetchone()[0] == "yes"
    finally:
        store.close()


def test_migrate_returns_current_version_without_reapplying(raw: sqlite3.Connection) -> None:
    assert migrate(raw) == latest_version()
    assert migrate(raw) == latest_version()


def test_newer_database_is_refused_with_a_plain_error(data_dir: Path) -> None:
    path = data_dir / "desk.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    conn.close()
    with pytest.raises(StoreError) as info:
        Store.open(path)
    assert info.value.kind == "too_new"
    assert "newer Atlas Desk" in str(info.value)
    # Refusing must not have touched the file.
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version() + 1
    assert "outbox" not in _tables(conn)
    conn.close()


def test_failing_migration_leaves_previous_version_intact(raw: sqlite3.Connection) -> None:
    base = load_migrations()
    top = latest_version(base)
    broken = Migration(
        top + 1,
        f"{top + 1:04d}_broken.sql",
        "CREATE TABLE extra (x INTEGER);\n"
        "INSERT INTO meta (key, value) VALUES ('half', 'done');\n"
        "ALTER TABLE no_such_table ADD COLUMN y INTEGER;\n",
    )
    with pytest.raises(StoreError) as info:
        migrate(raw, [*base, broken])
    assert info.value.kind == "migration"
    assert f"left at version {top}" in str(info.value)
    assert not raw.in_transaction
    assert schema_version(raw) == top
    assert "extra" not in _tables(raw)
    assert raw.execute("SELECT count(*) FROM meta").fetchone()[0] == 0

    fixed = Migration(top + 1, f"{top + 1:04d}_fixed.sql", "CREATE TABLE extra (x INTEGER);")
    assert migrate(raw, [*base, fixed]) == top + 1
    assert "extra" in _tables(raw)


def test_each_migration_commits_on_its_own(raw: sqlite3.Connection) -> None:
    """A later failure does not undo an earlier migration of the same run."""
    base = load_migrations()
    top = latest_version(base)
    good = Migration(top + 1, "good.sql", "CREATE TABLE good (x INTEGER);")
    bad = Migration(top + 2, "bad.sql", "CREATE TABLE bad (x INTEGER); SELECT * FROM missing;")
    with pytest.raises(StoreError):
        migrate(raw, [*base, good, bad])
    assert schema_version(raw) == top + 1
    assert "good" in _tables(raw)
    assert "bad" not in _tables(raw)
