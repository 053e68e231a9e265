"""Numbered schema migrations.

Each ``atlas_desk/store/migrations/NNNN_name.sql`` file moves the schema from version NNNN-1 to NNNN. The
version lives in ``PRAGMA user_version``. Each migration runs in its own transaction together with the
version bump, so a migration that fails leaves the database at the previous version, untouched. Migration
files must not contain BEGIN/COMMIT themselves. A database whose version is newer than the newest migration
is refused: an older Atlas Desk must not write into a schema it does not know.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from atlas_desk.store.db import StoreError, known_error

log = logging.getLogger("atlas_desk.store")

_NAME = re.compile(r"^(\d{4})_[A-Za-z0-9_]+\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    """The packaged migrations, in order. Raises ValueError if the numbering has a gap or a duplicate."""
    folder = resources.files("atlas_desk.store") / "migrations"
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise ValueError(
                f"migration {migration.name} is out of sequence (expected number {expected:04d})"
            )
    return found


def latest_version(migrations: Sequence[Migration] | None = None) -> int:
    """The schema version this code writes."""
    migrations = load_migrations() if migrations is None else migrations
    return migrations[-1].version if migrations else 0


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's current schema version (0 for a new file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] | None = None) -> int:
    """Apply the migrations the database lacks; return the resulting version.

    ``conn`` must be in autocommit mode (``isolation_level=None``) with no transaction open. Raises
    ``StoreError`` (kind ``too_new``) for a database from a newer Atlas Desk, and ``StoreError`` (kind
    ``migration``) when a migration fails; the database then stays at the last version that succeeded.
    """
    migrations = load_migrations() if migrations is None else migrations
    latest = latest_version(migrations)
    current = schema_version(conn)
    if current > latest:
        raise StoreError(
            f"This database was written by a newer Atlas Desk (schema version {current}; this version "
            f"understands up to {latest}). Update Atlas Desk, or start it with another data folder.",
            kind="too_new",
        )
    for migration in migrations:
        if migration.version <= current:
            continue
        log.info("migrating the store to schema version %d (%s)", migration.version, migration.name)
        # executescript runs the whole file; wrapping it in BEGIN ... COMMIT makes it one transaction
        # with the version bump (user_version is part of the database header, so it is transactional).
        script = (
            f"BEGIN IMMEDIATE;\n{migration.sql}\n;\nPRAGMA user_version = {int(migration.version)};\nCOMMIT;"
        )
        try:
            conn.executescript(script)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            known = known_error(exc, _db_path(conn))
            if known is not None:
                raise known from exc
            raise StoreError(
                f"Updating the database to schema version {migration.version} ({migration.name}) "
                f"failed: {exc}. "
                f"It was left at version {schema_version(conn)}.",
                kind="migration",
            ) from exc
        current = migration.version
    return current


def _db_path(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA database_list").fetchone()
    return str(row[2]) if row is not None and row[2] else "(in memory)"
