"""Sync cursors: where each platform stream (a channel, an endpoint) was last read up to."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from atlas_desk.core.types import Platform
from atlas_desk.store.db import to_db_time


def get_cursor(conn: sqlite3.Connection, platform: Platform | str, stream: str) -> str | None:
    """The stored cursor of one stream, or None if it was never synced."""
    row = conn.execute(
        "SELECT cursor FROM sync_cursors WHERE platform = ? AND stream = ?", (str(platform), stream)
    ).fetchone()
    return None if row is None else str(row[0])


def set_cursor(
    conn: sqlite3.Connection, platform: Platform | str, stream: str, cursor: str, now: datetime
) -> None:
    """Store (insert or replace) the cursor of one stream."""
    conn.execute(
        "INSERT INTO sync_cursors (platform, stream, cursor, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (platform, stream)"
        " DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        (str(platform), stream, cursor, to_db_time(now)),
    )


def clear_cursors(conn: sqlite3.Connection, platform: Platform | str) -> int:
    """Forget every cursor of a platform (the next sync backfills from scratch); return how many."""
    return conn.execute("DELETE FROM sync_cursors WHERE platform = ?", (str(platform),)).rowcount
