"""The inbox service: where connectors deliver items, and the moderator's inbox operations.

Every mutation is one store job on the writer thread and, once committed, one change on the bus. Operations
called from the GUI return a ``concurrent.futures.Future`` at once (never wait on it there); ``ingest``
and the
cursor functions are coroutines for the connectors' asyncio loop.

Unread counts per sidebar filter are computed once (``load_unread_counts``, one scan) and then kept up to date
incrementally inside each write job, on the writer thread, so a million items never get recounted per change.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from atlas_desk.core.bus import ChangeBus, ConnectionChanged, ItemsAdded, ItemsChanged, Notice, OutboxChanged
from atlas_desk.core.types import ConnectionState, InboxItem, Platform
from atlas_desk.store import inbox as repo

log = logging.getLogger("atlas_desk.inbox")

T = TypeVar("T")


class StoreLike(Protocol):
    """What the service needs of ``atlas_desk.store.db.Store``."""

    def submit(self, job: Callable[[sqlite3.Connection], T]) -> concurrent.futures.Future[T]: ...

    async def write(self, job: Callable[[sqlite3.Connection], T]) -> T: ...

    def reader(self) -> sqlite3.Connection: ...


class InboxService:
    """Stores what connectors deliver and performs the moderator's inbox operations. Implements
    ConnectorSink."""

    def __init__(self, store: StoreLike, bus: ChangeBus, *, mentions: Sequence[str] = ()) -> None:
        self.store = store
        self.bus = bus
        self.mentions: tuple[str, ...] = tuple(mentions)
        self._states: dict[Platform, tuple[ConnectionState, str]] = {}
        self._lock = threading.Lock()
        self._counts: Counter[str] | None = None

    # ------------------------------------------------------------------------------------ ConnectorSink

    async def ingest(self, items: Sequence[InboxItem]) -> None:
        """Store items (insert or update by natural key) in one writer job, then publish what changed."""
        if not items:
            return
        batch = list(items)
        new_ids, changed_ids, rows = await self.store.write(lambda conn: self._ingest_job(conn, batch))
        by_id = {row.id: row for row in rows}
        if new_ids:
            self.bus.publish(ItemsAdded(tuple(new_ids), tuple(by_id[i] for i in new_ids if i in by_id)))
        if changed_ids:
            changed_rows = tuple(by_id[i] for i in changed_ids if i in by_id)
            self.bus.publish(ItemsChanged(tuple(changed_ids), changed_rows))

    def set_state(self, platform: Platform, state: ConnectionState, reason: str = "") -> None:
        """Remember and publish a connector's connection state."""
        with self._lock:
            if self._states.get(platform) == (state, reason):
                return
            self._states[platform] = (state, reason)
        self.bus.publish(ConnectionChanged(platform, state, reason))

    def connection_state(self, platform: Platform) -> ConnectionState:
        """The last reported state of a platform's connector."""
        with self._lock:
            return self._states.get(platform, (ConnectionState.NOT_CONFIGURED, ""))[0]

    async def get_cursor(self, platform: Platform, stream: str) -> str | None:
        """The stored sync cursor of one stream, or None."""
        from atlas_desk.store import cursors

        return await self.store.write(lambda conn: cursors.get_cursor(conn, str(platform), stream))

    async def set_cursor(self, platform: Platform, stream: str, cursor: str) -> None:
        """Persist a sync cursor (after the items it covers were ingested)."""
        from atlas_desk.store import cursors

        now = datetime.now(UTC)
        await self.store.write(lambda conn: cursors.set_cursor(conn, str(platform), stream, cursor, now))

    # ------------------------------------------------------------------------------------ unread counts

    def load_unread_counts(self) -> concurrent.futures.Future[dict[str, int]]:
        """Count unread items per filter once (a scan; runs on the writer so later deltas apply on top)."""

        def job(conn: sqlite3.Connection) -> dict[str, int]:
            counts = repo.unread_counts(conn, self.mentions)
            with self._lock:
                self._counts = Counter(counts)
            return counts

        return self.store.submit(job)

    def unread_counts(self) -> dict[str, int] | None:
        """The current unread counts per filter key, or None until ``load_unread_counts`` has run."""
        with self._lock:
            return None if self._counts is None else dict(self._counts)

    def _tracked(
        self,
        conn: sqlite3.Connection,
        ids: Sequence[int],
        change: Callable[[], T],
        more_ids: Callable[[T], Sequence[int]] | None = None,
    ) -> T:
        """Run ``change`` and move the unread counts by the difference it made to ``ids``' buckets."""
        if self._counts is None:
            return change()
        before = repo.unread_key_counts(conn, ids, self.mentions)
        result = change()
        after_ids = list(ids) + list(more_ids(result) if more_ids else ())
        after = repo.unread_key_counts(conn, after_ids, self.mentions)
        with self._lock:
            if self._counts is not None:
                self._counts.update(after)
                self._counts.subtract(before)
        return result

    # ---------------------------------------------------------------------------------------- jobs

    def _ingest_job(
        self, conn: sqlite3.Connection, items: list[InboxItem]
    ) -> tuple[list[int], list[int], list[repo.InboxRow]]:
        """Upsert, then read the new and changed items back as list rows in the same transaction.

        Here on the writer thread, not in the GUI's model: every row a query returns releases and retakes the
        GIL, and with a gateway busy on another thread each retake can wait a whole switch interval, so a
        few hundred rows read on the GUI thread held it for a quarter of a second.
        """
        new_ids, changed_ids = self._upsert_job(conn, items)
        return new_ids, changed_ids, repo.rows_by_id(conn, [*new_ids, *changed_ids])

    def _upsert_job(self, conn: sqlite3.Connection, items: list[InboxItem]) -> tuple[list[int], list[int]]:
        if self._counts is None:
            return repo.upsert_items(conn, items)
        # The upsert finds the items that already exist (one lookup for the batch) and hands their ids over
        # before writing, so their old buckets come off the counts; new and changed ones go back on after.
        before: Counter[str] = Counter()
        existing: list[int] = []

        def take_before(ids: list[int]) -> None:
            existing.extend(ids)
            before.update(repo.unread_key_counts(conn, ids, self.mentions))

        new_ids, changed_ids = repo.upsert_items(conn, items, before_update=take_before)
        after = repo.unread_key_counts(conn, existing + new_ids, self.mentions)
        with self._lock:
            if self._counts is not None:
                self._counts.update(after)
                self._counts.subtract(before)
        return new_ids, changed_ids

    def _run(
        self,
        job: Callable[[sqlite3.Connection], T],
        changed: Callable[[T], Sequence[int]],
        what: str,
        outbox_ids: Callable[[T], Sequence[int]] | None = None,
    ) -> concurrent.futures.Future[T]:
        """Submit a job; once committed publish ItemsChanged (and OutboxChanged, which wakes the outbox
        runner) for what it changed, or a Notice in plain words on failure.

        The returned future resolves after the changes have been published.
        """
        outer: concurrent.futures.Future[T] = concurrent.futures.Future()
        outer.set_running_or_notify_cancel()

        def done(f: concurrent.futures.Future[T]) -> None:
            exc = f.exception()
            if exc is not None:
                log.error("inbox operation failed: %s", what, exc_info=exc)
                text = getattr(exc, "message", None) or f"Could not {what}."
                self.bus.publish(Notice("error", str(text), area="inbox"))
                outer.set_exception(exc)
                return
            result = f.result()
            ids = tuple(changed(result))
            if ids:
                self.bus.publish(ItemsChanged(ids))
            actions = tuple(outbox_ids(result)) if outbox_ids is not None else ()
            if actions:
                self.bus.publish(OutboxChanged(actions))
            outer.set_result(result)

        self.store.submit(job).add_done_callback(done)
        return outer

    # ------------------------------------------------------------------------------ moderator's state

    def mark_read(self, ids: Sequence[int], read: bool = True) -> concurrent.futures.Future[list[int]]:
        """Mark items read (or unread); resolves to the ids whose state changed."""
        ids = list(ids)
        return self._run(
            lambda conn: self._tracked(conn, ids, lambda: repo.set_read(conn, ids, read)),
            lambda changed: changed,
            "mark the items read" if read else "mark the items unread",
        )

    def set_starred(self, item_id: int, starred: bool = True) -> concurrent.futures.Future[bool]:
        """Star or unstar an item."""
        return self._run(
            lambda conn: self._tracked(conn, [item_id], lambda: repo.set_starred(conn, item_id, starred)),
            lambda changed: [item_id] if changed else [],
            "star the item" if starred else "unstar the item",
        )

    def mark_suggestion(
        self, ids: Sequence[int], suggestion: bool = True
    ) -> concurrent.futures.Future[list[int]]:
        """Mark items as feature suggestions (local state), or clear the mark."""
        ids = list(ids)
        return self._run(
            lambda conn: self._tracked(conn, ids, lambda: repo.mark_suggestion(conn, ids, suggestion)),
            lambda changed: changed,
            "mark the item as a suggestion",
        )

    # -------------------------------------------------------------------------- actions on platforms

    def reply(self, item_id: int, text: str) -> concurrent.futures.Future[int]:
        """Reply to an item through the outbox; resolves to the outbox action's id.

        Nothing is added to the inbox optimistically: the reply shows up in the thread when the platform
        confirms it and the connector delivers it like any other message.
        """
        text = text.strip()
        if not text:
            raise ValueError("A reply needs some text.")

        def job(conn: sqlite3.Connection) -> int:
            item = _require(conn, item_id)
            payload = {
                "item_id": item_id,
                "body": text,
                "kind": item.kind,
                "container_id": item.container_id,
                "parent_id": item.parent_id,
            }
            return _enqueue(conn, item, "reply", payload, {})

        return self._run(job, lambda _r: [], "queue the reply", lambda action: [action])

    def approve(self, item_id: int) -> concurrent.futures.Future[int]:
        """Approve a reported item (Reddit mod queue): clears the report at once, then asks the platform.

        Resolves to the outbox action's id; if the platform refuses, the runner restores the report. Reddit
        items only (the other connectors cannot approve).
        """
        from atlas_desk.core.types import ActionError

        def job(conn: sqlite3.Connection) -> int:
            item = _require(conn, item_id)
            if item.platform != Platform.REDDIT.value:
                # Checked here as well as in the pane: the other connectors would refuse the action only
                # after the item's state had changed on the desk.
                raise ActionError("Only Reddit items can be approved from the desk.", retryable=False)
            payload = {"item_id": item_id, "kind": item.kind}
            return self._tracked(
                conn, [item_id], lambda: _enqueue(conn, item, "approve", payload, {"reported": 0})
            )

        return self._run(job, lambda _r: [item_id], "approve the item", lambda action: [action])

    def remove(
        self,
        item_id: int,
        reason_id: str | None,
        mod_note: str = "",
        *,
        reason_title: str = "",
        spam: bool = False,
        message_type: str = "none",
        message: str = "",
        message_title: str = "",
        lock_message: bool = False,
    ) -> concurrent.futures.Future[int]:
        """Remove a Reddit item with one of the subreddit's removal reasons and/or a note for the other
        moderators, and tell its author why if the moderator chose to, through the outbox.

        ``reason_id`` is one of the subreddit's own reasons (``RedditConnector.removal_reasons``): it is what
        Reddit records, while ``reason_title`` only labels the action on the desk. Reddit attaches a removal
        reason only with a reason id or a note, so one of the two is required. ``message_type`` is how the
        member is told, as Reddit's own mod tools offer it: ``"public"`` (a distinguished reply under the
        item, locked with ``lock_message``), ``"private"`` (a modmail from the subreddit, titled
        ``message_title``, else the reason's title) or ``"none"``; the message travels in the same outbox
        action as the removal, so one is never sent without the other. Optimistically the item is shown
        removed and no longer reported; a refusal restores both.
        """
        from atlas_desk.core.types import ActionError

        reason_id = (reason_id or "").strip() or None
        mod_note = mod_note.strip()
        if reason_id is None and not mod_note:
            raise ValueError("A removal needs one of the subreddit's removal reasons or a note.")
        if message_type not in ("none", "public", "private"):
            raise ValueError(f"A removal message is sent publicly or privately, not {message_type!r}.")
        if message_type != "none" and not message.strip():
            raise ValueError("The message to the member is empty.")
        if message_type != "none" and len(message) > 10000:  # Reddit's limit for a comment or a modmail
            raise ValueError("The message to the member is over Reddit's 10,000 characters.")

        def job(conn: sqlite3.Connection) -> int:
            item = _require(conn, item_id)
            if item.platform != Platform.REDDIT.value:
                raise ActionError("Only Reddit items can be removed from the desk.", retryable=False)
            told: dict[str, Any] | None = None
            if message_type != "none":
                noun = "post" if item.kind == "post" else "comment"
                # Reddit needs a title for a private message: its subject line in the member's modmail.
                title = (message_title or reason_title).strip() or f"Your {noun} was removed"
                told = {"type": message_type, "text": message, "title": title, "lock": bool(lock_message)}
            payload = {
                "item_id": item_id,
                "kind": item.kind,
                "reason_id": reason_id,
                "reason_title": reason_title.strip(),
                "mod_note": mod_note,
                "spam": bool(spam),
                "message": told,
            }
            return self._tracked(
                conn,
                [item_id],
                lambda: _enqueue(conn, item, "remove", payload, {"reported": 0, "deleted": 1}),
            )

        return self._run(job, lambda _r: [item_id], "remove the item", lambda action: [action])

    # ---------------------------------------------------------------------------------------- reads

    def read_connection(self) -> sqlite3.Connection:
        """This thread's read-only connection, for the repository's short indexed queries."""
        return self.store.reader()

    async def run_read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a longer read (counts, context) on a worker thread with its own reader."""
        return await asyncio.to_thread(lambda: fn(self.store.reader()))


def _require(conn: sqlite3.Connection, item_id: int) -> repo.InboxRow:
    item = repo.get_item(conn, item_id)
    if item is None:
        raise LookupError("That item is no longer in the inbox.")
    return item


# The inbox columns an optimistic change may set (names never come from elsewhere).
_OPTIMISTIC_COLUMNS = frozenset({"reported", "deleted"})


def _enqueue(
    conn: sqlite3.Connection, item: repo.InboxRow, kind: str, payload: dict[str, Any], changes: dict[str, int]
) -> int:
    """Apply an optimistic change to the item and write its outbox row, in the caller's writer job.

    The same thing ``atlas_desk.core.outbox.perform`` does, without awaiting, so GUI gestures can use it; the
    caller publishes OutboxChanged after the commit, which wakes the runner. Returns the action's id.
    """
    from atlas_desk.store import outbox

    assert set(changes) <= _OPTIMISTIC_COLUMNS
    undo: outbox.Undo = []
    if changes:
        undo.append(outbox.snapshot(conn, "inbox_items", item.id, list(changes)))
        assignments = ", ".join(f"{column} = ?" for column in changes)
        conn.execute(f"UPDATE inbox_items SET {assignments} WHERE id = ?", (*changes.values(), item.id))
    return outbox.enqueue(
        conn,
        platform=Platform(item.platform),
        kind=kind,
        target=item.platform_id,
        payload=payload,
        undo=undo,
        now=datetime.now(UTC),
    )
