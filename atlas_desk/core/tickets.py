"""Ticket triage: the operations moderators perform on tickets, and the sink the Discord relay feeds.

Every operation is one ``perform`` call: the optimistic change to the store and an outbox row with its undo,
in one writer job; the relay executes it on Discord (tags, card, DM + mirrored message). A failure rolls the
change back and tells the moderator in plain words (for a claim race: who has the ticket).
Snooze is the moderator's own state and stays on this desk.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from atlas_desk.core.bus import Change, ChangeBus, Notice, NotificationEvent, OutboxChanged, TicketChanged
from atlas_desk.core.outbox import OutboxRunner, perform
from atlas_desk.core.types import ConnectionState, OutboxAction, Platform
from atlas_desk.store import outbox as outbox_repo
from atlas_desk.store import tickets as repo
from atlas_desk.store.db import Store

log = logging.getLogger("atlas_desk.tickets")

Clock = Callable[[], datetime]

CANNED_REPLIES: dict[str, str] = {
    "Greeting": "Hi {member}, thanks for reaching out! I'm {moderator} and I'll look into this for you.",
    "Need details": "Hi {member}, could you tell us a bit more — which device and app version, and what you "
    "expected to happen? That will help us sort out “{ticket}”.",
    "Logs please": "Thanks {member}! Could you send your logs (Help → Send logs) so we can check this?",
    "Resolved": "Glad that's sorted, {member}! I'm closing “{ticket}” now; "
    "write here any time if it comes back.",
}
_MENTION = re.compile(r"@([\w.\-]+)")


def fill_placeholders(template: str, *, member: str, moderator: str, ticket: str) -> str:
    """Replace {member}, {moderator} and {ticket}; other braces stay as written."""
    return template.replace("{member}", member).replace("{moderator}", moderator).replace("{ticket}", ticket)


@dataclass(frozen=True, slots=True)
class RelayStatus:
    state: ConnectionState
    reason: str


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TicketService:
    """Moderators' ticket operations and the relay's sink."""

    def __init__(
        self,
        store: Store,
        bus: ChangeBus,
        *,
        me: str = "",
        moderators: Sequence[str] = (),
        runner: OutboxRunner | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        self.store = store
        self.bus = bus
        self.me = me or (moderators[0] if moderators else "moderator")
        self.moderators = tuple(moderators) or (self.me,)
        self.runner = runner
        self.clock = clock
        self.relay_status = RelayStatus(ConnectionState.OFFLINE, "")
        if runner is not None:
            self.attach_runner(runner)
        self._unsubscribe = bus.subscribe(OutboxChanged, self._on_outbox_changed)

    def attach_runner(self, runner: OutboxRunner) -> None:
        """Use ``runner`` for actions and register how a confirmed reply or note is recorded."""
        self.runner = runner
        runner.completions["ticket_reply"] = _confirm_message
        runner.completions["ticket_note"] = _confirm_message
        runner.completions["ticket_open"] = _confirm_opened

    # -- reading ---------------------------------------------------------------------------------------------

    def get(self, ticket_id: int) -> repo.TicketRow | None:
        return repo.get(self.store.reader(), ticket_id)

    def rows(self, view: str) -> list[repo.TicketRow]:
        return repo.list_rows(self.store.reader(), view, me=self.me, now=self.clock())

    def messages(self, ticket_id: int) -> list[repo.TicketMessageRow]:
        return repo.messages(self.store.reader(), ticket_id)

    def counts(self) -> dict[str, int]:
        return repo.view_counts(self.store.reader(), me=self.me, now=self.clock())

    # -- the relay's sink ------------------------------------------------------------------------------------

    async def ticket_seen(self, ticket: Any, *, new: bool) -> None:
        """A ticket thread as Discord shows it (``RelayTicket``): store it; announce a new one."""
        now = self.clock()

        def job(conn: sqlite3.Connection) -> tuple[int, bool]:
            platform = str(getattr(ticket, "platform", "discord"))
            account = repo.upsert_account(
                conn,
                platform,
                ticket.requester_id,
                ticket.requester_handle,
                ticket.requester_name,
                ticket.requester_created_at,
            )
            existing = repo.find(conn, platform, ticket.thread_id)
            status, priority = ticket.status, ticket.priority
            # Reddit has no assignee: the desk's own claim stands there.
            assignee = ticket.assignee if platform == "discord" else None
            closed_at = (
                now
                if ticket.status == "closed" and (existing is None or existing.closed_at is None)
                else None
            )
            tid, created = repo.upsert_ticket(
                conn,
                platform=platform,
                platform_id=ticket.thread_id,
                subject=ticket.subject,
                requester_id=account,
                opened_at=ticket.opened_at,
                status=status,
                priority=priority,
                assignee=assignee,
                closed_at=closed_at,
                extra={
                    "dm_channel_id": ticket.dm_channel_id,
                    "requester_user_id": ticket.requester_id,
                    "requester_created_at": _iso(ticket.requester_created_at),
                    "joined_at": _iso(ticket.joined_at),
                    "earlier_tickets": ticket.earlier_tickets,
                    "source": ticket.source,
                    "platform_tags": list(ticket.tags),
                    "locked": ticket.locked,
                    "platform_assignee": ticket.assignee,
                    "platform_status": ticket.status,
                    "platform_priority": ticket.priority,
                },
            )
            if created and ticket.tags:
                repo.update(conn, tid, {"tags": list(ticket.tags)})
            return tid, created

        tid, created = await self.store.write(job)
        self.bus.publish(TicketChanged((tid,)))
        if created and new:
            self.bus.publish(
                NotificationEvent(
                    "new_ticket",
                    f"New ticket: {ticket.subject}",
                    f"from {ticket.requester_name}",
                    {"pane": "tickets", "id": tid},
                )
            )

    async def message_seen(self, message: Any, *, live: bool) -> None:
        """A thread message (``RelayMessage``): store it; a member's reply wakes a snoozed ticket."""

        def job(conn: sqlite3.Connection) -> tuple[int, int | None, str] | None:
            platform = str(getattr(message, "platform", "discord"))
            ticket = repo.find(conn, platform, message.thread_id)
            if ticket is None:
                return None
            author = None
            if message.role == "member":
                author = ticket.requester_id
            elif message.author_id:
                author = repo.upsert_account(
                    conn, platform, message.author_id, message.author_name, message.author_name
                )
            elif message.author_name:  # relayed by the bot on a moderator's behalf: named on its first line
                author = repo.upsert_account(
                    conn, "desk", message.author_name, message.author_name, message.author_name
                )
            mid = repo.add_message(
                conn,
                ticket.id,
                role=message.role,
                body=message.body,
                created_at=message.created_at,
                platform_id=message.message_id,
                author_id=author,
                attachments=message.attachments,
            )
            if message.role == "moderator" and ticket.first_reply_at is None:
                repo.update(conn, ticket.id, {"first_reply_at": message.created_at})
            if mid is not None and message.role == "member" and live:
                values: dict[str, Any] = {}
                if ticket.snoozed_until is not None or ticket.extra.get("snooze_until_reply"):
                    values["snoozed_until"] = None
                    repo.merge_extra(conn, ticket.id, {"snooze_until_reply": False})
                repo.update(conn, ticket.id, values)
                repo.merge_extra(conn, ticket.id, {"unread": True})
            return ticket.id, mid, ticket.subject

        result = await self.store.write(job)
        if result is None:
            return
        tid, mid, subject = result
        self.bus.publish(TicketChanged((tid,)))
        mentioned = f"@{self.me}" in message.body and message.author_name != self.me
        if mid is not None and live and message.role == "note" and mentioned:
            self.bus.publish(
                NotificationEvent(
                    "mention",
                    f"{message.author_name or 'A moderator'} mentioned you: {subject}",
                    message.body[:140],
                    {"pane": "tickets", "id": tid},
                )
            )
        if mid is not None and live and message.role == "member":
            self.bus.publish(
                NotificationEvent(
                    "ticket_reply",
                    f"Member replied: {subject}",
                    message.body[:140],
                    {"pane": "tickets", "id": tid},
                )
            )

    def is_blocked(self, platform_user_id: str) -> bool:
        return repo.is_blocked(self.store.reader(), "discord", platform_user_id)

    def set_relay_state(self, state: ConnectionState, reason: str) -> None:
        """The relay's connection and setup state; a refusal to relay is told to the moderator."""
        changed = self.relay_status.reason != reason
        self.relay_status = RelayStatus(state, reason)
        if changed and reason.startswith("not relaying"):
            self.bus.publish(Notice("error", f"Tickets: {reason}", area="tickets"))

    def _on_outbox_changed(self, change: OutboxChanged) -> None:
        """A ticket action failed for good: put back what Discord last said (the undo only knows the past)."""
        ids = change.ids

        def job(conn: sqlite3.Connection) -> list[int]:
            touched = []
            for aid in ids:
                row = conn.execute("SELECT kind, target, state FROM outbox WHERE id = ?", (aid,)).fetchone()
                if row is None or row[2] != "failed" or not str(row[0]).startswith("ticket_"):
                    continue
                ticket = repo.find(conn, "discord", str(row[1])) or repo.find(conn, "reddit", str(row[1]))
                if ticket is None or "platform_assignee" not in ticket.extra:
                    continue
                repo.update(
                    conn,
                    ticket.id,
                    {
                        "assignee": ticket.extra["platform_assignee"],
                        "status": ticket.extra.get("platform_status", ticket.status),
                        "priority": ticket.extra.get("platform_priority", ticket.priority),
                    },
                )
                touched.append(ticket.id)
            return touched

        def done(future: Any) -> None:
            if future.exception() is None and future.result():
                self.bus.publish(TicketChanged(tuple(future.result())))

        try:
            self.store.submit(job).add_done_callback(done)
        except Exception:
            log.exception("could not restore tickets after a failed action")

    # -- operations ------------------------------------------------------------------------------------------

    def _existing(self, ticket_id: int) -> repo.TicketRow:
        """The ticket, or LookupError when there is no such ticket."""
        ticket = self.get(ticket_id)
        if ticket is None:
            raise LookupError(f"no ticket {ticket_id}")
        return ticket

    async def _enqueue(
        self,
        ticket: repo.TicketRow,
        kind: str,
        apply: Callable[[sqlite3.Connection], outbox_repo.Undo],
        payload: dict[str, Any],
    ) -> int:
        """Apply the change and enqueue ``kind`` on the ticket's platform object; returns the action id."""
        action = await perform(
            self.store,
            self.bus,
            self.runner,
            apply=apply,
            platform=Platform(ticket.platform),
            kind=kind,
            target=ticket.platform_id,
            payload=payload,
        )
        self.bus.publish(TicketChanged((ticket.id,)))
        return action

    async def _op(
        self,
        ticket_id: int,
        kind: str,
        payload: dict[str, Any],
        change: Callable[[sqlite3.Connection, repo.TicketRow], None],
        columns: Sequence[str],
    ) -> int:
        """One operation: snapshot ``columns``, apply ``change``, enqueue ``kind``; returns the action id."""
        ticket = self._existing(ticket_id)
        payload = {"moderator": self.me, **payload}

        def apply(conn: sqlite3.Connection) -> outbox_repo.Undo:
            current = repo.get(conn, ticket_id)
            assert current is not None
            undo = [outbox_repo.snapshot(conn, "tickets", ticket_id, list(columns))] if columns else []
            change(conn, current)
            return undo

        return await self._enqueue(ticket, kind, apply, payload)

    async def claim(self, ticket_id: int) -> int:
        """Take the ticket; if another moderator got there first, the action fails and says who has it."""
        return await self._op(
            ticket_id,
            "ticket_claim",
            {},
            lambda conn, t: repo.update(
                conn, t.id, {"assignee": self.me, **({"status": "open"} if t.status == "new" else {})}
            ),
            ["assignee", "status"],
        )

    async def assign(self, ticket_id: int, moderator: str) -> int:
        """Give the ticket to ``moderator`` ("" to unassign)."""
        return await self._op(
            ticket_id,
            "ticket_assign",
            {"assignee": moderator},
            lambda conn, t: repo.update(conn, t.id, {"assignee": moderator}),
            ["assignee"],
        )

    async def set_status(self, ticket_id: int, status: str, *, reason: str = "") -> int:
        """new | open | pending | resolved | closed."""
        if status not in repo.STATUSES:
            raise ValueError(f"unknown status {status!r}")
        now = self.clock()

        def change(conn: sqlite3.Connection, t: repo.TicketRow) -> None:
            values: dict[str, Any] = {"status": status}
            if status == "closed":
                values.update(closed_at=now, close_reason=reason)
            else:
                values.update(closed_at=None)
            repo.update(conn, t.id, values)

        return await self._op(
            ticket_id,
            "ticket_status",
            {"status": status, "reason": reason},
            change,
            ["status", "closed_at", "close_reason"],
        )

    async def close(self, ticket_id: int, reason: str = "") -> int:
        """Close the ticket: the member is told, the thread archived and locked."""
        return await self.set_status(ticket_id, "closed", reason=reason)

    async def reopen(self, ticket_id: int) -> int:
        return await self.set_status(ticket_id, "open")

    async def set_priority(self, ticket_id: int, priority: str) -> int:
        if priority not in repo.PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}")
        return await self._op(
            ticket_id,
            "ticket_priority",
            {"priority": priority},
            lambda conn, t: repo.update(conn, t.id, {"priority": priority}),
            ["priority"],
        )

    async def set_tags(self, ticket_id: int, tags: Sequence[str]) -> int:
        clean = [t.strip()[:20] for t in tags if t.strip()][:3]
        return await self._op(
            ticket_id,
            "ticket_tags",
            {"tags": clean},
            lambda conn, t: repo.update(conn, t.id, {"tags": clean}),
            ["tags"],
        )

    async def reply(self, ticket_id: int, body: str) -> int:
        """Answer the member: a DM (exactly once) and a mirrored message in the thread."""
        return await self._message(ticket_id, "ticket_reply", "moderator", body)

    async def note(self, ticket_id: int, body: str) -> int:
        """An internal note: stays in the thread, never sent to the member."""
        mentions = [m for m in _MENTION.findall(body) if m in self.moderators]
        return await self._message(ticket_id, "ticket_note", "note", body, mentions=mentions)

    async def reply_canned(self, ticket_id: int, name: str) -> int:
        """Send a canned reply with its placeholders filled in."""
        ticket = self._existing(ticket_id)
        text = fill_placeholders(
            CANNED_REPLIES[name], member=ticket.requester, moderator=self.me, ticket=ticket.subject
        )
        return await self.reply(ticket_id, text)

    async def _message(
        self, ticket_id: int, kind: str, role: str, body: str, *, mentions: Sequence[str] = ()
    ) -> int:
        body = body.strip()
        if not body:
            raise ValueError("the message is empty")
        ticket = self._existing(ticket_id)
        now = self.clock()
        me = self.me
        holder: dict[str, int] = {}

        def apply(conn: sqlite3.Connection) -> outbox_repo.Undo:
            undo = [
                outbox_repo.snapshot(
                    conn, "tickets", ticket_id, ["first_reply_at", "last_activity_at", "status"]
                )
            ]
            author = repo.upsert_account(conn, "desk", me, me, me)
            mid = repo.add_message(
                conn, ticket_id, role=role, body=body, created_at=now, author_id=author, pending=True
            )
            assert mid is not None
            holder["id"] = mid
            undo.append(outbox_repo.delete_row("ticket_messages", mid))
            if role == "moderator":
                values: dict[str, Any] = {}
                if ticket.first_reply_at is None:
                    values["first_reply_at"] = now
                if ticket.status == "new":
                    values["status"] = "open"
                repo.update(conn, ticket_id, values)
            return undo

        payload: dict[str, Any] = {"moderator": me, "body": body, "mentions": list(mentions)}

        def apply_with_id(conn: sqlite3.Connection) -> outbox_repo.Undo:
            undo = apply(conn)
            payload["message_row"] = holder["id"]
            return undo

        return await self._enqueue(ticket, kind, apply_with_id, payload)

    async def open_from_inbox(self, item_id: int) -> int:
        """Convert an inbox item into a private ticket with its author ("convert to ticket"); returns the
        ticket's row id. The relay opens the forum thread and tells the member by DM. Discord items only."""
        row = (
            self.store.reader()
            .execute(
                "SELECT i.platform, i.title, i.body, i.url, a.platform_id,"
                " COALESCE(NULLIF(a.display_name, ''), a.handle), a.handle"
                " FROM inbox_items i JOIN accounts a ON a.id = i.account_id WHERE i.id = ?",
                (item_id,),
            )
            .fetchone()
        )
        if row is None:
            raise LookupError(f"no inbox item {item_id}")
        platform, title, body, url, user_id, name, handle = (str(v or "") for v in row)
        if platform != "discord":
            raise ValueError(
                "Only Discord messages can become tickets (Reddit users write to modmail themselves)."
            )
        subject = title or fmt_subject(body)
        now = self.clock()
        key = uuid.uuid4().hex
        placeholder = f"pending-{key}"
        holder: dict[str, int] = {}

        def apply(conn: sqlite3.Connection) -> outbox_repo.Undo:
            account = repo.upsert_account(conn, "discord", user_id, handle, name)
            tid, _ = repo.upsert_ticket(
                conn,
                platform="discord",
                platform_id=placeholder,
                subject=subject,
                requester_id=account,
                opened_at=now,
                extra={"source": "inbox", "inbox_item": item_id, "requester_user_id": user_id},
            )
            mid = repo.add_message(conn, tid, role="member", body=body, created_at=now, author_id=account)
            holder["id"] = tid
            undo = [outbox_repo.delete_row("ticket_messages", mid)] if mid is not None else []
            return [*undo, outbox_repo.delete_row("tickets", tid)]

        await perform(
            self.store,
            self.bus,
            self.runner,
            apply=apply,
            platform=Platform.DISCORD,
            kind="ticket_open",
            target=placeholder,
            idempotency_key=key,
            payload={"user_id": user_id, "subject": subject, "body": body, "url": url, "moderator": self.me},
        )
        self.bus.publish(TicketChanged((holder["id"],)))
        return holder["id"]

    async def snooze(self, ticket_id: int, until: datetime | None, *, until_reply: bool = False) -> None:
        """Hide the ticket from the queues until ``until`` or the member's next reply (this desk only)."""
        far = datetime(9999, 1, 1, tzinfo=UTC)

        def job(conn: sqlite3.Connection) -> None:
            repo.update(conn, ticket_id, {"snoozed_until": until or (far if until_reply else None)})
            repo.merge_extra(conn, ticket_id, {"snooze_until_reply": until_reply})

        await self.store.write(job)
        self.bus.publish(TicketChanged((ticket_id,)))

    async def mark_read(self, ticket_id: int) -> None:
        await self.store.write(lambda conn: repo.merge_extra(conn, ticket_id, {"unread": False}))
        self.bus.publish(TicketChanged((ticket_id,)))

    async def block_requester(self, ticket_id: int, blocked: bool = True) -> None:
        """Stop (or allow again) the ticket's requester from opening tickets."""
        ticket = self.get(ticket_id)
        if ticket is None or ticket.requester_id is None:
            return
        rid = ticket.requester_id
        await self.store.write(lambda conn: repo.set_blocked(conn, rid, blocked))
        self.bus.publish(TicketChanged((ticket_id,)))

    # -- bulk ------------------------------------------------------------------------------------------------

    async def bulk_assign(self, ids: Sequence[int], moderator: str) -> list[int]:
        return [await self.assign(i, moderator) for i in ids]

    async def bulk_priority(self, ids: Sequence[int], priority: str) -> list[int]:
        return [await self.set_priority(i, priority) for i in ids]

    async def bulk_close(self, ids: Sequence[int], reason: str = "") -> list[int]:
        return [await self.close(i, reason) for i in ids]


def fmt_subject(text: str) -> str:
    """A subject from a message: its first line, shortened."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "") or "New ticket"
    return line if len(line) <= 60 else line[:59] + "…"


def _confirm_opened(conn: sqlite3.Connection, action: OutboxAction, result: dict[str, Any]) -> list[Change]:
    """The forum thread exists: the placeholder row takes its id (or yields to the row the relay stored)."""
    thread_id = str(result.get("thread_id", ""))
    placeholder = repo.find(conn, "discord", action.target)
    if placeholder is None or not thread_id:
        return []
    real = repo.find(conn, "discord", thread_id)
    if real is not None:
        conn.execute("DELETE FROM ticket_messages WHERE ticket_id = ?", (placeholder.id,))
        conn.execute("DELETE FROM tickets WHERE id = ?", (placeholder.id,))
        return [TicketChanged((placeholder.id, real.id))]
    conn.execute("UPDATE tickets SET platform_id = ? WHERE id = ?", (thread_id, placeholder.id))
    conn.execute(
        "DELETE FROM ticket_messages WHERE ticket_id = ?", (placeholder.id,)
    )  # the thread's copy comes
    return [TicketChanged((placeholder.id,))]


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat() if dt is not None else None


def _confirm_message(conn: sqlite3.Connection, action: OutboxAction, result: dict[str, Any]) -> list[Change]:
    row = action.payload.get("message_row")
    platform_id = str(result.get("message_id", ""))
    if isinstance(row, int) and platform_id:
        repo.confirm_message(conn, row, platform_id)
    found = conn.execute("SELECT ticket_id FROM ticket_messages WHERE id = ?", (row,)).fetchone()
    return [TicketChanged((int(found[0]),))] if found else []
