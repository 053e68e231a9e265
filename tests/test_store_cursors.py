"""Sync cursors and the meta key/value table."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from atlas_desk.core.types import Platform
from atlas_desk.store.cursors import clear_cursors, get_cursor, set_cursor
from atlas_desk.store.meta import delete_meta, get_meta, set_meta
from atlas_desk.store.migrate import migrate

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def conn(data_dir: Path) -> Iterator[sqlite3.Connection]:
    c = sqlite3.connect(data_dir / "desk.db", isolation_level=None)
    migrate(c)
    yield c
    c.close()


def test_cursor_round_trip_per_platform_and_stream(conn: sqlite3.Connection) -> None:
    assert get_cursor(conn, Platform.DISCORD, "channel:1") is None
    set_cursor(conn, Platform.DISCORD, "channel:1", "100", NOW)
    set_cursor(conn, Platform.DISCORD, "channel:2", "7", NOW)
    set_cursor(conn, Platform.GITHUB, "channel:1", "etag-a", NOW)
    set_cursor(conn, Platform.DISCORD, "channel:1", "250", NOW)  # replaces
    assert get_cursor(conn, Platform.DISCORD, "channel:1") == "250"
    assert get_cursor(conn, Platform.DISCORD, "channel:2") == "7"
    assert get_cursor(conn, Platform.GITHUB, "channel:1") == "etag-a"
    assert clear_cursors(conn, Platform.DISCORD) == 2
    assert get_cursor(conn, Platform.DISCORD, "channel:1") is None
    assert get_cursor(conn, Platform.GITHUB, "channel:1") == "etag-a"


def test_meta_round_trip(conn: sqlite3.Connection) -> None:
    assert get_meta(conn, "last_roadmap_update") is None
    assert get_meta(conn, "last_roadmap_update", "never") == "never"
    set_meta(conn, "last_roadmap_update", "2026-11-01")
    set_meta(conn, "last_roadmap_update", "2026-11-24")
    assert get_meta(conn, "last_roadmap_update") == "2026-11-24"
    delete_meta(conn, "last_roadmap_update")
    assert get_meta(conn, "last_roadmap_update") is None
