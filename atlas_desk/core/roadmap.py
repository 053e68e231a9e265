"""The roadmap service: the moderator's operations on the GitHub Projects (v2) board, Qt-free.

Every gesture is one operation. ``move_card`` applies the move to the store (the card is marked pending) and
writes the outbox row in the same writer job; the outbox runner sends it through the GitHub connector. If
GitHub refuses, the runner applies the undo (the card goes back) and this service tells the moderator, in
plain words, which card went back where and why. The GitHub connector hands every poll of the board to
``apply_roadmap``.

Votes are never stored as one number: ``votes_breakdown`` adds, when asked, the 👍 reactions on the issue
(from the last sync) to the live scores of the linked inbox items (a Discussion's upvotes, a Discord
suggestion's reactions, a Reddit post's score), so a vote anywhere shows up as soon as that platform's item
is synced.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import sqlite3
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from atlas_desk.core.bus import Change, ChangeBus, Notice, OutboxChanged, RoadmapChanged
from atlas_desk.core.roadmap_types import ProjectInfo, RoadmapSnapshot, SyncedCard
from atlas_desk.core.types import OutboxAction, OutboxState, Platform
from atlas_desk.store import outbox as outbox_repo
from atlas_desk.store import roadmap as repo
from atlas_desk.store.db import from_db_time, to_db_time
from atlas_desk.store.inbox import get_item
from atlas_desk.store.roadmap import HistoryEntry, RoadmapRow

log = logging.getLogger("atlas_desk.roadmap")

T = TypeVar("T")

DEFAULT_COLUMNS = ("Under consideration", "Planned", "In progress", "Done")
COMMUNITY_LABEL = "community-idea"
LINK_MARKER = "<!-- atlas-desk-link: {platform}:{platform_id} -->"
VOTE_SOURCES = {
    "github": "Thumbs-up on the GitHub issue",
    "github_discussion": "GitHub Discussion upvotes",
    "discord": "Discord reactions",
    "reddit": "Reddit score",
}
PLATFORM_NAMES = {"discord": "Discord", "github": "GitHub", "reddit": "Reddit"}
ROADMAP_KINDS = frozenset({"roadmap_move", "roadmap_add", "roadmap_archive"})


class StoreLike(Protocol):
    def submit(self, job: Callable[[sqlite3.Connection], T]) -> concurrent.futures.Future[T]: ...

    async def write(self, job: Callable[[sqlite3.Connection], T]) -> T: ...

    def reader(self) -> sqlite3.Connection: ...


class RunnerLike(Protocol):
    clock: Callable[[], datetime]
    completions: dict[str, Any]

    def wake(self) -> None: ...


class RoadmapError(Exception):
    """An operation the desk refuses before anything is sent (plain words for the moderator)."""


@dataclass(frozen=True, slots=True)
class LinkedItem:
    """A platform item a card links to; title, url and score are empty/None until that item is synced."""

    platform: str
    platform_id: str
    title: str
    url: str
    score: int | None


@dataclass(frozen=True, slots=True)
class PublishTarget:
    """Where a roadmap update goes: ``discord:<channel id>``, ``github:<category name>`` or ``reddit``."""

    platform: Platform
    kind: str
    target: str

    @classmethod
    def parse(cls, text: str, subreddit: str = "") -> PublishTarget:
        head, _, rest = text.partition(":")
        if head == "discord" and rest:
            return cls(Platform.DISCORD, "announce", rest)
        if head == "github":
            return cls(Platform.GITHUB, "publish_discussion", rest or "Announcements")
        if head == "reddit":
            return cls(Platform.REDDIT, "submit_post", rest or subreddit)
        raise RoadmapError(f"The desk cannot publish to “{text}”.")


def _now() -> datetime:
    return datetime.now(UTC)


class RoadmapService:
    """The roadmap board's operations, and the sink of the GitHub connector's project sync."""

    def __init__(
        self, store: StoreLike, bus: ChangeBus, runner: RunnerLike | None = None, *, actor: str = ""
    ) -> None:
        self.store = store
        self.bus = bus
        # who the card history names for changes made on this desk (settings.desk.moderator_handles[0])
        self.actor = actor or "you"
        self.runner: RunnerLike | None = None
        self._clock: Callable[[], datetime] = _now
        self._watched: dict[int, tuple[int, str, str]] = {}  # outbox id -> (card id, column before, title)
        # moves handed to the writer but not committed yet: card id -> (column, after id). Reads apply them,
        # so a dropped card is drawn in its new place without waiting for the writer thread.
        self._preview: dict[int, tuple[str, int | None]] = {}
        self._lock = threading.Lock()
        self._unsubscribe = bus.subscribe(OutboxChanged, self._on_outbox_changed)
        if runner is not None:
            self.attach_runner(runner)

    def attach_runner(self, runner: RunnerLike) -> None:
        """Send through ``runner`` (built after the service when the desk starts) and confirm via its
        completions."""
        self.runner = runner
        self._clock = runner.clock
        runner.completions.setdefault("roadmap_move", _complete_move)
        runner.completions.setdefault("roadmap_archive", _complete_move)
        runner.completions.setdefault("roadmap_add", _complete_add)
        runner.completions.setdefault("publish_discussion", _complete_publish)

    def close(self) -> None:
        """Stop listening to the bus."""
        self._unsubscribe()

    # -- reading (GUI thread: short indexed reads) -----------------------------------------------------

    def reader(self) -> sqlite3.Connection:
        return self.store.reader()

    def project(self) -> ProjectInfo | None:
        """The board's shape from the last sync, if any."""
        return repo.get_project(self.store.reader())

    def columns(self) -> list[str]:
        """The Status options in the project's order (the defaults until the first sync)."""
        info = self.project()
        return info.columns if info is not None and info.options else list(DEFAULT_COLUMNS)

    def cards(self) -> list[RoadmapRow]:
        return [self._previewed(r) for r in repo.list_rows(self.store.reader())]

    def column_ids(self, column: str) -> list[int]:
        """A column's card ids top to bottom, with moves on their way to the store already in place."""
        ids = repo.column_ids(self.store.reader(), column)
        with self._lock:
            previews = list(self._preview.items())
        for card_id, (target, after_id) in previews:
            if card_id in ids:
                ids.remove(card_id)
            if target == column:
                at = ids.index(after_id) + 1 if after_id in ids else 0
                ids.insert(at, card_id)
        return ids

    def card(self, item_id: int) -> RoadmapRow | None:
        row = repo.get_row(self.store.reader(), item_id)
        return None if row is None else self._previewed(row)

    def cards_by_id(self, ids: Sequence[int]) -> dict[int, RoadmapRow]:
        return {i: self._previewed(r) for i, r in repo.rows_by_id(self.store.reader(), ids).items()}

    def _previewed(self, row: RoadmapRow) -> RoadmapRow:
        with self._lock:
            preview = self._preview.get(row.id)
        if preview is None:
            return row
        return dataclasses.replace(row, status=preview[0], pending=True)

    def votes_breakdown(self, item: RoadmapRow | int) -> dict[str, int]:
        """Votes per source: 👍 on the issue, linked Discussion upvotes, Discord reactions, Reddit score."""
        row = self.card(item) if isinstance(item, int) else item
        if row is None:
            return {}
        return votes_breakdown(self.store.reader(), row)

    def linked_items(self, item: RoadmapRow) -> list[LinkedItem]:
        """Where the card's idea came from and was discussed, as the inbox knows them (synced items only)."""
        conn = self.store.reader()
        out: list[LinkedItem] = []
        pairs = [(x.get("platform", ""), x.get("platform_id", "")) for x in item.links]
        if item.origin_item is not None:
            origin = get_item(conn, item.origin_item)
            if origin is not None and (origin.platform, origin.platform_id) not in pairs:
                pairs.append((origin.platform, origin.platform_id))
        for platform, platform_id in pairs:
            row = repo.inbox_item_by_platform_id(conn, platform, platform_id)
            if row is None:
                out.append(LinkedItem(platform, platform_id, "", "", None))
            else:
                out.append(LinkedItem(platform, platform_id, row[0], row[1], int(row[2])))
        return out

    def history(self, item_id: int) -> list[HistoryEntry]:
        """The card's history, oldest first: added, column changes, why-notes, archive."""
        return repo.card_history(self.store.reader(), item_id)

    def total_votes(self, item: RoadmapRow | int) -> int:
        return sum(self.votes_breakdown(item).values())

    # -- sync (the GitHub connector's sink) ------------------------------------------------------------

    def sync_token(self) -> int:
        """Taken before a board read begins and handed back on its snapshot (``read_rev``): cards the desk
        changes meanwhile are newer than the read, and the sync leaves them alone."""
        return repo.local_rev(self.reader())

    async def apply_roadmap(self, snapshot: RoadmapSnapshot) -> None:
        """Store one poll of the board and tell the panes which cards changed."""
        now = self._clock()
        changed = await self.store.write(
            lambda conn: repo.apply_sync(
                conn, snapshot.project, snapshot.cards, now=now, read_rev=snapshot.read_rev
            )
        )
        if changed:
            self.bus.publish(RoadmapChanged(tuple(changed)))

    # -- moving ------------------------------------------------------------------------------------------

    def move_card(
        self, item_id: int, column: str, after_id: int | None = None
    ) -> concurrent.futures.Future[int]:
        """Move a card to ``column`` directly below card ``after_id`` (None: to the top); returns the outbox
        id.

        Optimistic: the store changes at once (one writer job with the outbox row) and ``RoadmapChanged`` is
        published as soon as it is committed. A move onto itself or to where the card already is does nothing
        (the future then holds 0).
        """
        now = self._clock()
        preview = after_id != item_id and column in self.columns()
        if preview:
            with self._lock:
                self._preview.pop(item_id, None)  # re-inserted last: previews apply in gesture order
                self._preview[item_id] = (column, after_id)
            self.bus.publish(RoadmapChanged((item_id,)))

        def job(conn: sqlite3.Connection) -> tuple[int, list[Change]]:
            row = repo.get_row(conn, item_id)
            if row is None or row.archived:
                raise RoadmapError("That card is no longer on the board.")
            if row.platform_id.startswith(repo.LOCAL_PREFIX):
                raise RoadmapError("This card is still being added to GitHub; move it once it is there.")
            info = repo.get_project(conn)
            if info is None:
                raise RoadmapError("The roadmap board has not been read from GitHub yet.")
            option = info.option_id(column)
            if option is None:
                raise RoadmapError(f"The board has no column “{column}”.")
            if after_id == item_id:
                return 0, []
            column_ids = [i for i in repo.column_ids(conn, column) if i != item_id]
            after_row = None
            if after_id is not None:
                if after_id not in column_ids:
                    raise RoadmapError("The card to drop below is not in that column any more.")
                after_row = repo.get_row(conn, after_id)
                assert after_row is not None
                if after_row.platform_id.startswith(repo.LOCAL_PREFIX):
                    raise RoadmapError(
                        "The card above is still being added to GitHub; try again in a moment."
                    )
            same_column = row.status == column
            if same_column:
                current = repo.column_ids(conn, column)
                index = current.index(item_id)
                before = current[index - 1] if index > 0 else None
                if before == after_id:
                    return 0, []
            undo = repo.move(conn, item_id, column, after_id, now=now)
            entry = None
            if not same_column:  # reorders are not history
                entry = repo.add_history(
                    conn,
                    item_id,
                    "moved",
                    now=now,
                    from_column=row.status,
                    to_column=column,
                    actor=self.actor,
                    state="pending",
                )
                undo.append(repo.history_undo(entry))
            payload: dict[str, Any] = {
                "project_id": info.project_id,
                "field_id": info.status_field_id,
                "option_id": option,
                "column": column,
                "from_column": row.status,
                "set_status": not same_column,
                "after_id": after_row.platform_id if after_row is not None else None,
                "title": row.title,
            }
            action_id = outbox_repo.enqueue(
                conn,
                platform=Platform.GITHUB,
                kind="roadmap_move",
                target=row.platform_id,
                payload=payload,
                undo=undo,
                now=now,
            )
            if entry is not None:
                repo.link_history(conn, entry, action_id)
            self._watched[action_id] = (item_id, row.status, row.title)
            return action_id, [RoadmapChanged((item_id,)), OutboxChanged((action_id,))]

        if not preview:
            return self._submit(job)

        def settle(_f: concurrent.futures.Future[int]) -> None:
            # committed (the store has the move) or refused (the card goes back): either way the store rules
            with self._lock:
                if self._preview.get(item_id) == (column, after_id):
                    del self._preview[item_id]
            self.bus.publish(RoadmapChanged((item_id,)))

        future = self._submit(job)
        future.add_done_callback(settle)
        return future

    def move_relative(self, item_id: int, direction: str) -> concurrent.futures.Future[int] | None:
        """Keyboard moves: ``left``/``right`` to the neighbouring column's top, ``up``/``down`` within the
        column."""
        row = self.card(item_id)
        if row is None:
            return None
        columns = self.columns()
        if row.status not in columns:
            return None
        ids = self.column_ids(row.status)
        index = ids.index(item_id) if item_id in ids else -1
        if direction in ("left", "right"):
            c = columns.index(row.status) + (-1 if direction == "left" else 1)
            if not 0 <= c < len(columns):
                return None
            return self.move_card(item_id, columns[c], None)
        if direction == "up":
            if index <= 0:
                return None
            return self.move_card(item_id, row.status, ids[index - 2] if index >= 2 else None)
        if direction == "down":
            if index < 0 or index + 1 >= len(ids):
                return None
            return self.move_card(item_id, row.status, ids[index + 1])
        raise ValueError(direction)

    def archive_card(self, item_id: int) -> concurrent.futures.Future[int]:
        """Archive a card on the board (optimistic; it comes back if GitHub refuses)."""
        now = self._clock()

        def job(conn: sqlite3.Connection) -> tuple[int, list[Change]]:
            row = repo.get_row(conn, item_id)
            info = repo.get_project(conn)
            if row is None or info is None or row.platform_id.startswith(repo.LOCAL_PREFIX):
                raise RoadmapError("That card cannot be archived right now.")
            undo = repo.archive(conn, item_id, now=now)
            entry = repo.add_history(
                conn, item_id, "archived", now=now, from_column=row.status, actor=self.actor, state="pending"
            )
            undo.append(repo.history_undo(entry))
            action_id = outbox_repo.enqueue(
                conn,
                platform=Platform.GITHUB,
                kind="roadmap_archive",
                target=row.platform_id,
                payload={"project_id": info.project_id, "title": row.title},
                undo=undo,
                now=now,
            )
            repo.link_history(conn, entry, action_id)
            self._watched[action_id] = (item_id, row.status, row.title)
            return action_id, [RoadmapChanged((item_id,)), OutboxChanged((action_id,))]

        return self._submit(job)

    # -- adding from the inbox ---------------------------------------------------------------------------

    def add_from_inbox(self, inbox_item_id: int, as_draft: bool = False) -> concurrent.futures.Future[int]:
        """Put an inbox suggestion on the board (an issue, or a draft issue), linked to where it came from.

        The card appears at once at the top of the first column; its votes include the origin's score. Returns
        (in the future) the new card's id.
        """
        now = self._clock()
        key = uuid.uuid4().hex

        def job(conn: sqlite3.Connection) -> tuple[int, list[Change]]:
            item = get_item(conn, inbox_item_id)
            if item is None:
                raise RoadmapError("That inbox item is no longer in the desk.")
            info = repo.get_project(conn)
            if info is None or not info.options:
                raise RoadmapError("The roadmap board has not been read from GitHub yet.")
            title = (
                item.title or item.body.strip().splitlines()[0] if item.body.strip() else item.title
            ).strip()
            title = title[:200] or "Community suggestion"
            link = {"platform": item.platform, "platform_id": item.platform_id, "url": item.url}
            where = item.url or f"{item.platform} item {item.platform_id}"
            body = (
                f"{item.body.strip()}\n\n---\nSuggested by {item.author_name or item.author} on "
                f"{item.platform.capitalize()}: {where}\n\n"
                + LINK_MARKER.format(platform=item.platform, platform_id=item.platform_id)
            )
            column = info.options[0][1]
            card_id = repo.insert_local(
                conn,
                key=key,
                title=title,
                body=body,
                status=column,
                item_type="DRAFT_ISSUE" if as_draft else "ISSUE",
                labels=[COMMUNITY_LABEL],
                origin_item=inbox_item_id,
                links=[link],
                now=now,
            )
            who = item.author_name or item.author
            entry = repo.add_history(
                conn,
                card_id,
                "added",
                now=now,
                to_column=column,
                detail=f"{PLATFORM_NAMES.get(item.platform, item.platform)} suggestion “{title}”"
                + (f" by {who}" if who else ""),
                actor=self.actor,
                state="pending",
            )
            action_id = outbox_repo.enqueue(
                conn,
                platform=Platform.GITHUB,
                kind="roadmap_add",
                target=repo.LOCAL_PREFIX + key,
                payload={
                    "project_id": info.project_id,
                    "field_id": info.status_field_id,
                    "option_id": info.options[0][0],
                    "title": title,
                    "body": body,
                    "labels": [COMMUNITY_LABEL],
                    "as_draft": as_draft,
                    "local_key": key,
                },
                undo=[
                    outbox_repo.delete_row("roadmap_items", card_id),
                    outbox_repo.delete_row("roadmap_history", entry),
                ],
                idempotency_key=key,
                now=now,
            )
            repo.link_history(conn, entry, action_id)
            self._watched[action_id] = (card_id, "", title)
            return card_id, [RoadmapChanged((card_id,)), OutboxChanged((action_id,))]

        return self._submit(job)

    def set_why_note(self, item_id: int, note: str) -> concurrent.futures.Future[int]:
        """The card's short public "why" note (kept on the desk; the monthly update publishes it)."""
        now = self._clock()

        def job(conn: sqlite3.Connection) -> tuple[int, list[Change]]:
            row = repo.get_row(conn, item_id)
            if row is None or not repo.set_why_note(conn, item_id, note, now=now):
                raise RoadmapError("That card is no longer on the board.")
            if row.why_note != note.strip():
                repo.add_history(conn, item_id, "why_note", now=now, detail=note.strip(), actor=self.actor)
            return item_id, [RoadmapChanged((item_id,))]

        return self._submit(job)

    # -- the monthly update ------------------------------------------------------------------------------

    def last_update(self) -> datetime | None:
        text = repo.last_update(self.store.reader())
        return from_db_time(text) if text else None

    def draft_monthly_update(self, since: datetime | None = None) -> str:
        """A markdown roadmap update: done since ``since`` (default: the last update), newly planned, most
        voted community ideas, and the why-notes that explain the order."""
        conn = self.store.reader()
        now = self._clock()
        if since is None:
            since = self.last_update() or now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        rows = repo.list_rows(conn)
        columns = self.columns()
        done_col = columns[-1] if columns else "Done"
        planned_cols = set(columns[1:-1]) if len(columns) > 2 else {"Planned", "In progress"}
        stamp = to_db_time(since)

        def ref(row: RoadmapRow) -> str:
            number = f" (#{row.number})" if row.number else ""
            return f"**{_md_text(row.title)}**{number}"

        done = [r for r in rows if r.status == done_col and r.status_changed_at >= stamp]
        planned = [r for r in rows if r.status in planned_cols and r.status_changed_at >= stamp]
        ideas = [r for r in rows if r.status != done_col and is_community_driven(r)]
        votes = {r.id: sum(votes_breakdown(conn, r).values()) for r in ideas}
        ideas.sort(key=lambda r: (-votes[r.id], r.position))
        notes = [r for r in rows if r.why_note and r.status != done_col]
        month = now.strftime("%B %Y")
        lines = [f"# Atlas roadmap update — {month}", ""]
        lines.append(
            f"What changed on the public roadmap since {since.strftime('%-d %B %Y')}, and what the community "
            "is asking for most."
        )
        lines += ["", "## Done since the last update", ""]
        lines += [f"- {ref(r)}" for r in done] or ["- Nothing shipped in this period."]
        lines += ["", "## Newly planned", ""]
        lines += [
            f"- {ref(r)} — {r.status.lower()}" + (f", target {r.target_month}" if r.target_month else "")
            for r in planned
        ] or ["- No new plans in this period."]
        lines += ["", "## Most voted community ideas", ""]
        lines += [f"- {ref(r)} — {votes[r.id]} votes ({r.status.lower()})" for r in ideas[:5]] or [
            "- No community ideas on the board yet."
        ]
        lines += ["", "## Why some ideas are waiting", ""]
        lines += [f"- {ref(r)}: {_md_text(r.why_note)}" for r in notes] or ["- No notes this month."]
        lines += [
            "",
            "Thank you for every idea and vote — keep them coming on Discord, GitHub and Reddit.",
            "",
        ]
        return "\n".join(lines)

    def publish_update(
        self, text: str, targets: Sequence[str], *, title: str = ""
    ) -> concurrent.futures.Future[list[int]]:
        """Publish a roadmap update through the outbox: one action per target; returns their outbox ids.

        A platform whose connector cannot publish yet fails that action visibly, with the reason, in the
        outbox.
        """
        if not text.strip():
            raise RoadmapError("The update is empty.")
        parsed = [PublishTarget.parse(t) for t in targets]
        if not parsed:
            raise RoadmapError("Choose at least one place to publish the update.")
        now = self._clock()
        heading = title or _first_heading(text) or f"Roadmap update — {now.strftime('%B %Y')}"

        def job(conn: sqlite3.Connection) -> tuple[list[int], list[Change]]:
            ids = []
            for t in parsed:
                ids.append(
                    outbox_repo.enqueue(
                        conn,
                        platform=t.platform,
                        kind=t.kind,
                        target=t.target,
                        payload={"title": heading, "body": text, "text": text},
                        undo=[],
                        now=now,
                    )
                )
            repo.set_last_update(conn, now)
            return ids, [OutboxChanged(tuple(ids))]

        return self._submit(job)

    # -- plumbing ----------------------------------------------------------------------------------------

    def _submit(
        self, job: Callable[[sqlite3.Connection], tuple[T, list[Change]]]
    ) -> concurrent.futures.Future[T]:
        result: concurrent.futures.Future[T] = concurrent.futures.Future()

        def done(f: concurrent.futures.Future[tuple[T, list[Change]]]) -> None:
            exc = f.exception()
            if exc is not None:
                if isinstance(exc, (RoadmapError, LookupError)):
                    self.bus.publish(Notice("warning", str(exc), area="roadmap"))
                result.set_exception(exc)
                return
            value, changes = f.result()
            for change in changes:
                self.bus.publish(change)
            if self.runner is not None and any(isinstance(c, OutboxChanged) for c in changes):
                self.runner.wake()
            result.set_result(value)

        self.store.submit(job).add_done_callback(done)
        return result

    def _on_outbox_changed(self, change: OutboxChanged) -> None:
        watched = [i for i in change.ids if i in self._watched]
        if not watched:
            return
        conn = self.store.reader()
        for action_id in watched:
            action = outbox_repo.get_action(conn, action_id)
            if action is None:
                self._watched.pop(action_id, None)
                continue
            if action.state is OutboxState.DONE:
                self._watched.pop(action_id, None)
            elif action.state is OutboxState.FAILED:
                _card, before, title = self._watched.pop(action_id)
                self.bus.publish(Notice("error", refusal_text(action, before, title), area="roadmap"))


def refusal_text(action: OutboxAction, before: str, title: str) -> str:
    """What the moderator reads when GitHub refused a roadmap change (plain words)."""
    reason = action.last_error.rstrip(".") or "GitHub refused the change"
    if action.kind == "roadmap_move":
        return f"“{title}” went back to {before}: {reason}."
    if action.kind == "roadmap_add":
        return f"“{title}” could not be added to the roadmap: {reason}."
    return f"“{title}” could not be archived: {reason}."


def history_text(entry: HistoryEntry) -> str:
    """One history entry in plain words, without its time (community text is kept as it is: show it as plain
    text)."""
    by = f" by {entry.actor}" if entry.actor else ""
    github = entry.source == "github"
    if entry.kind == "moved":
        text = f"Moved from {entry.from_column or 'no column'} to {entry.to_column or 'no column'}"
        text += " — changed on GitHub" if github else by
    elif entry.kind == "added":
        if github:
            text = f"Added to {entry.to_column or 'the board'} — changed on GitHub"
        else:
            text = f"Added to {entry.to_column or 'the board'}{by}"
            if entry.detail:
                text += f", from inbox item: {entry.detail}"
    elif entry.kind == "seen":
        text = f"In {entry.to_column or 'the board'} when the desk first read the board"
    elif entry.kind == "why_note":
        text = f"Why note changed{by}: “{entry.detail}”" if entry.detail else f"Why note cleared{by}"
    elif entry.kind == "archived":
        text = "Archived — changed on GitHub" if github else f"Archived{by}"
    else:
        text = entry.kind.replace("_", " ").capitalize() + by
    if entry.state == "pending":
        text += " (pending)"
    elif entry.state == "failed":
        text += " — did not go through; the card went back"
    return text


def history_lines(entries: Sequence[HistoryEntry]) -> list[str]:
    """The card history as the detail shows it: local time, then what happened; newest last."""
    out = []
    for entry in entries:
        try:
            when = from_db_time(entry.at).astimezone().strftime("%Y-%m-%d %H:%M")
        except ValueError:
            when = "?"
        out.append(f"{when}  {history_text(entry)}")
    return out


def is_community_driven(row: RoadmapRow) -> bool:
    """A card that came from the community: the community-idea label, or a link to a suggestion."""
    return COMMUNITY_LABEL in row.labels or bool(row.links) or row.origin_item is not None


def votes_breakdown(conn: sqlite3.Connection, row: RoadmapRow) -> dict[str, int]:
    """Votes per source for one card (see ``VOTE_SOURCES``)."""
    out: dict[str, int] = {"github": int(row.votes.get("github", 0))}
    links = [(x.get("platform", ""), x.get("platform_id", "")) for x in row.links]
    if row.origin_item is not None:
        origin = get_item(conn, row.origin_item)
        if origin is not None and (origin.platform, origin.platform_id) not in links:
            links.append((origin.platform, origin.platform_id))
    scores = repo.linked_scores(conn, links)
    for (platform, platform_id), score in scores.items():
        if platform == "github" and platform_id.startswith("I_"):
            continue  # the issue's 👍 are already counted from the board
        key = "github_discussion" if platform == "github" else platform
        out[key] = out.get(key, 0) + max(0, score)
    return out


def _md_text(text: str) -> str:
    # community text goes into markdown: keep it from opening links, images or HTML
    return " ".join(text.split()).replace("<", "&lt;").replace("[", "\\[").replace("]", "\\]")


def _first_heading(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return ""


def _complete_move(conn: sqlite3.Connection, action: OutboxAction, _result: dict[str, Any]) -> list[Change]:
    repo.confirm_history(conn, action.id)
    ids = repo.clear_pending(conn, action.target)
    return [RoadmapChanged(tuple(ids))] if ids else []


def _complete_add(conn: sqlite3.Connection, action: OutboxAction, result: dict[str, Any]) -> list[Change]:
    repo.confirm_history(conn, action.id)
    item_id = str(result.get("item_id") or "")
    key = str(action.payload.get("local_key") or "")
    if not item_id or not key:
        return []
    ids = repo.confirm_local(conn, key, item_id, str(result.get("url") or ""))
    return [RoadmapChanged(tuple(ids))] if ids else []


def _complete_publish(
    _conn: sqlite3.Connection, _action: OutboxAction, _result: dict[str, Any]
) -> list[Change]:
    return [Notice("info", "The roadmap update was published on GitHub Discussions.", area="roadmap")]


__all__ = [
    "DEFAULT_COLUMNS",
    "HistoryEntry",
    "LinkedItem",
    "ProjectInfo",
    "PublishTarget",
    "RoadmapError",
    "RoadmapRow",
    "RoadmapService",
    "RoadmapSnapshot",
    "SyncedCard",
    "history_lines",
    "history_text",
    "is_community_driven",
    "votes_breakdown",
]
