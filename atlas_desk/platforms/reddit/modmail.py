"""Reddit modmail conversations as tickets, through the Reddit connector's praw (on its one worker thread).

Polls ``sub.modmail.conversations(state="all")`` and hands each changed conversation to the ticket sink
(status from the conversation state: new / in progress → open / archived → closed; highlighted → high
priority; internal messages → notes). Executes the ticket actions that Reddit can hold: reply, internal note,
archive / unarchive (close / reopen), highlight (priority). Claims and tags stay on the desks.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from atlas_desk.core.background import wait_event
from atlas_desk.core.types import ActionError, OutboxAction
from atlas_desk.platforms.discord.relay import TICKET_KINDS, RelayMessage, RelayTicket, TicketSink

log = logging.getLogger("atlas_desk.reddit.modmail")

# Every ticket action but opening one: a modmail conversation is started by the member, never by the desk.
MODMAIL_KINDS = TICKET_KINDS - {"ticket_open"}
_STATUS = {0: "new", 1: "open", 2: "closed"}


def _when(text: str | None) -> datetime:
    raw = (text or "1970-01-01T00:00:00+00:00").replace("+0000", "+00:00")
    return datetime.fromisoformat(raw)


class ModmailTickets:
    """Syncs modmail conversations into the ticket sink and performs ticket actions on them."""

    def __init__(self, connector: Any, sink: TicketSink, *, poll_seconds: float | None = None) -> None:
        self.connector = connector
        self.sink = sink
        self.poll_seconds = poll_seconds or float(getattr(connector, "poll_seconds", 30.0))
        self._seen: dict[str, tuple[Any, ...]] = {}
        self._messages: dict[str, set[str]] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._polled = False  # the first poll is a backfill: no "new reply" notifications

    # -- running --------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reddit-modmail")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.poll()
            except Exception as exc:  # Reddit down or refusing: try again at the next poll
                log.warning("could not read modmail (%s)", exc)
            await wait_event(self._wake, self.poll_seconds)

    async def poll(self) -> int:
        """Read the conversations once; returns how many changed."""
        conversations = await self.connector._call(self._list_sync)  # praw lives on the connector's worker
        changed = 0
        for ticket, messages in conversations:
            sig = (ticket.status, ticket.priority, len(messages), messages[-1].message_id if messages else "")
            if self._seen.get(ticket.thread_id) == sig:
                continue
            new = self._polled and ticket.thread_id not in self._seen
            self._seen[ticket.thread_id] = sig
            changed += 1
            await self.sink.ticket_seen(ticket, new=new)
            known = self._messages.setdefault(ticket.thread_id, set())
            for message in messages:
                if message.message_id not in known:
                    known.add(message.message_id)
                    await self.sink.message_seen(message, live=self._polled)
        self._polled = True
        return changed

    def _list_sync(self) -> list[tuple[RelayTicket, list[RelayMessage]]]:
        reddit = self.connector._praw()
        out = []
        for conv in reddit.subreddit(self.connector.subreddit).modmail.conversations(state="all", limit=100):
            participant = getattr(conv, "participant", None)
            name = str(participant.__dict__.get("name", "") if participant is not None else "") or "unknown"
            messages = list(getattr(conv, "messages", []) or [])
            if len(messages) != int(conv.num_messages):
                full = reddit.subreddit(self.connector.subreddit).modmail(conv.id)
                messages = list(full.messages)
            relayed = []
            for m in messages:
                author = str(m.author.__dict__.get("name", ""))
                is_mod = bool(m.author.__dict__.get("is_subreddit_mod", False))  # never a lazy fetch
                role = "note" if m.is_internal else ("moderator" if is_mod and author != name else "member")
                relayed.append(
                    RelayMessage(
                        thread_id=conv.id,
                        message_id=m.id,
                        role=role,
                        author_name=author,
                        author_id=author if role != "member" else "",
                        body=m.body_markdown,
                        created_at=_when(m.date),
                        platform="reddit",
                    )
                )
            opened = relayed[0].created_at if relayed else _when(getattr(conv, "last_updated", None))
            out.append(
                (
                    RelayTicket(
                        thread_id=conv.id,
                        subject=conv.subject,
                        requester_id=name,
                        requester_handle=name,
                        requester_name=name,
                        requester_created_at=None,
                        joined_at=None,
                        dm_channel_id="",
                        status=_STATUS.get(int(conv.state), "open"),
                        priority="high" if conv.is_highlighted else "normal",
                        assignee="",
                        opened_at=opened,
                        source="modmail",
                        platform="reddit",
                    ),
                    relayed,
                )
            )
        return out

    # -- actions --------------------------------------------------------------------------------------------

    async def execute(self, action: OutboxAction) -> dict[str, Any]:
        """Perform a ticket action on a modmail conversation."""
        if action.kind not in MODMAIL_KINDS:
            raise ActionError(f"Reddit modmail cannot perform “{action.kind}”", retryable=False)
        if action.kind in ("ticket_claim", "ticket_assign", "ticket_tags"):
            return {}  # Reddit has no place for these: the desks keep them
        try:
            result: dict[str, Any] = await self.connector._call(lambda: self._execute_sync(action))
        except ActionError:
            raise
        except Exception as exc:
            raise ActionError(
                f"Reddit refused the modmail action ({type(exc).__name__})", retryable=True
            ) from None
        self.wake()
        return result

    def _execute_sync(self, action: OutboxAction) -> dict[str, Any]:
        reddit = self.connector._praw()
        conv = reddit.subreddit(self.connector.subreddit).modmail(action.target)
        p = action.payload
        if action.kind in ("ticket_reply", "ticket_note"):
            body = str(p.get("body", "")).strip()
            internal = action.kind == "ticket_note"
            # Idempotent on replay: the same text already sent by us since the action was made counts as sent.
            for m in conv.messages:
                if (
                    m.body_markdown == body
                    and bool(m.is_internal) == internal
                    and _when(m.date) >= action.created_at
                ):
                    return {"message_id": m.id}
            message = conv.reply(body=body, internal=internal)
            return {"message_id": message.id}
        if action.kind == "ticket_status":
            status = str(p.get("status"))
            if status in ("closed", "resolved"):
                conv.archive()
            else:
                conv.unarchive()
            return {"status": status}
        if action.kind == "ticket_priority":
            if p.get("priority") in ("high", "urgent"):
                conv.highlight()
            else:
                conv.unhighlight()
            return {}
        raise ActionError(f"Reddit modmail cannot perform “{action.kind}”", retryable=False)
