"""Small key/value state kept with the data (the ``meta`` table)."""

from __future__ import annotations

import sqlite3


def get_meta(conn: sqlite3.Connection, key: str, default: str | None = None) -> str | None:
    """The value stored under ``key``, or ``default``."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return default if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    """Store ``value`` under ``key`` (insert or replace)."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def delete_meta(conn: sqlite3.Connection, key: str) -> None:
    """Remove ``key`` if present."""
    conn.execute("DELETE FROM meta WHERE key = ?", (key,))
