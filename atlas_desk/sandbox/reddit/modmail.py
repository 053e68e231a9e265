"""Modmail for the Reddit sandbox: conversations list / read / reply (with internal notes) / archive /
unarchive / highlight, in the shapes of ``reference/reddit/cassettes`` (TestSubredditModmail,
TestModmailConversation).

``RedditSandbox`` owns one ``SandboxModmail`` and adds its ``routes()``. Members write through
``member_modmail`` (a new conversation) and ``member_reply``; tests read ``conversation(cid)``. A removal
message sent privately starts a conversation from the moderators (``moderator_message``).
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

STATE_NEW, STATE_IN_PROGRESS, STATE_ARCHIVED = 0, 1, 2


def _b36(n: int) -> str:
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = chars[r] + out
        if n == 0:
            return out


def _date(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


@dataclass
class _Message:
    id: str
    author: str
    is_mod: bool
    body: str
    internal: bool
    date: datetime
    hidden: bool = False  # a moderator writing as the subreddit: the member does not see who


@dataclass
class _Conversation:
    id: str
    subject: str
    participant: str
    state: int = STATE_NEW
    highlighted: bool = False
    messages: list[_Message] = field(default_factory=list)


class SandboxModmail:
    """Modmail conversations of the sandbox subreddit."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self._ids = itertools.count(int("3a000", 36))
        self._msg_ids = itertools.count(int("5b0000", 36))
        self.conversations: dict[str, _Conversation] = {}
        mods = {m.key for m in server.community.members if m.is_moderator}
        for ticket in server.community.tickets:
            if ticket.platform != "reddit" or not ticket.conversation_id:
                continue
            who = self._name(ticket.requester_key)
            conv = _Conversation(ticket.conversation_id, ticket.subject, who)
            conv.state = (
                STATE_ARCHIVED
                if ticket.status == "closed"
                else (STATE_NEW if ticket.status == "new" else STATE_IN_PROGRESS)
            )
            conv.highlighted = ticket.priority in ("high", "urgent")
            for tm in ticket.messages:
                conv.messages.append(
                    _Message(
                        _b36(next(self._msg_ids)),
                        self._name(tm.author_key),
                        tm.author_key in mods or tm.role != "member",
                        tm.body,
                        tm.role == "note",
                        tm.created_at,
                    )
                )
            self.conversations[conv.id] = conv

    def _name(self, key: str) -> str:
        for m in self.server.community.members:
            if m.key == key:
                return str(m.reddit_name or m.key)
        return key

    def routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("GET", "/api/mod/conversations", self._list),
            ("GET", "/api/mod/conversations/", self._list),
            ("GET", "/api/mod/conversations/{id}", self._get),
            ("POST", "/api/mod/conversations/{id}", self._reply),
            ("POST", "/api/mod/conversations/{id}/archive", self._archive),
            ("POST", "/api/mod/conversations/{id}/unarchive", self._unarchive),
            ("POST", "/api/mod/conversations/{id}/highlight", self._highlight),
            ("DELETE", "/api/mod/conversations/{id}/highlight", self._unhighlight),
        ]

    # -- member side ----------------------------------------------------------------------------------------

    def member_modmail(self, member: str, subject: str, body: str) -> str:
        """A Redditor writes to the subreddit's moderators; returns the conversation id."""
        conv = _Conversation(_b36(next(self._ids)), subject, member)
        conv.messages.append(
            _Message(_b36(next(self._msg_ids)), member, False, body, False, datetime.now(UTC))
        )
        self.conversations[conv.id] = conv
        return conv.id

    def member_reply(self, cid: str, body: str) -> None:
        conv = self.conversations[cid]
        conv.messages.append(
            _Message(_b36(next(self._msg_ids)), conv.participant, False, body, False, datetime.now(UTC))
        )
        if conv.state == STATE_ARCHIVED:
            conv.state = STATE_IN_PROGRESS  # a user's reply brings an archived conversation back

    def moderator_message(self, member: str, subject: str, body: str, *, moderator: str, hidden: bool) -> str:
        """The moderators write to a member first (a removal message); returns the conversation id.

        It is filed as archived, so it waits in no moderator's inbox (nor as an open ticket on the desks)
        until the member answers: their reply brings it back.
        """
        conv = _Conversation(_b36(next(self._ids)), subject, member, state=STATE_ARCHIVED)
        conv.messages.append(
            _Message(_b36(next(self._msg_ids)), moderator, True, body, False, datetime.now(UTC), hidden)
        )
        self.conversations[conv.id] = conv
        return conv.id

    def visible_to_member(self, cid: str) -> list[str]:
        """What the participant can read of a conversation (internal notes excluded)."""
        return [m.body for m in self.conversations[cid].messages if not m.internal]

    # -- shapes ---------------------------------------------------------------------------------------------

    def _author(self, name: str, is_mod: bool, conv: _Conversation, hidden: bool = False) -> dict[str, Any]:
        return {
            "isMod": is_mod,
            "isAdmin": False,
            "name": name,
            "isOp": name == conv.participant,
            "isParticipant": name == conv.participant,
            "isApproved": False,
            "isHidden": hidden,
            "id": int.from_bytes(name.encode()[:6].ljust(6, b"\0"), "big"),
            "isDeleted": False,
        }

    def _message(self, m: _Message, conv: _Conversation) -> dict[str, Any]:
        return {
            "body": f'<!-- SC_OFF --><div class="md"><p>{html.escape(m.body)}</p>\n</div><!-- SC_ON -->',
            "author": self._author(m.author, m.is_mod, conv, m.hidden),
            "isInternal": m.internal,
            "date": _date(m.date),
            "bodyMarkdown": m.body,
            "id": m.id,
            "participatingAs": "moderator" if m.is_mod else "participant_user",
        }

    def _conv(self, conv: _Conversation) -> dict[str, Any]:
        users = [m for m in conv.messages if not m.is_mod]
        mods = [m for m in conv.messages if m.is_mod]
        last = conv.messages[-1].date if conv.messages else datetime.now(UTC)
        seen: dict[str, dict[str, Any]] = {}
        for m in conv.messages:
            seen.setdefault(m.author, self._author(m.author, m.is_mod, conv))
        return {
            "isAuto": False,
            "participant": self._author(conv.participant, False, conv),
            "objIds": [{"id": m.id, "key": "messages"} for m in conv.messages],
            "isRepliable": True,
            "lastUserUpdate": _date(users[-1].date) if users else None,
            "isInternal": False,
            "lastModUpdate": _date(mods[-1].date) if mods else None,
            "authors": list(seen.values()),
            "lastUpdated": _date(last),
            "participantSubreddit": {},
            "legacyFirstMessageId": conv.messages[0].id if conv.messages else "0",
            "state": conv.state,
            "conversationType": "sr_user",
            "lastUnread": None,
            "owner": {"displayName": self.server.subreddit, "type": "subreddit", "id": "t5_atlas1"},
            "subject": conv.subject,
            "id": conv.id,
            "isHighlighted": conv.highlighted,
            "numMessages": len(conv.messages),
        }

    def _full(self, conv: _Conversation) -> dict[str, Any]:
        return {
            "conversation": self._conv(conv),
            "messages": {m.id: self._message(m, conv) for m in conv.messages},
            "modActions": {},
            "participantSubreddit": {},
            "user": {
                "recentComments": {},
                "recentConvos": {},
                "recentPosts": {},
                "muteStatus": {"isMuted": False, "endDate": None, "reason": ""},
                "name": conv.participant,
                "created": "2021-03-01T10:00:00+00:00",
                "banStatus": {"endDate": None, "reason": "", "isBanned": False, "isPermanent": False},
                "isSuspended": False,
                "isShadowBanned": False,
                "id": "t2_" + conv.participant.lower(),
            },
        }

    # -- handlers -------------------------------------------------------------------------------------------

    def _json(self, data: Any, status: int = 200) -> web.Response:
        from atlas_desk.sandbox.reddit.server import _json

        return _json(data, status=status)

    def _find(self, request: web.Request) -> _Conversation | None:
        return self.conversations.get(request.match_info["id"])

    async def _list(self, request: web.Request) -> web.Response:
        state = request.query.get("state", "all")
        convs = sorted(
            self.conversations.values(),
            key=lambda c: c.messages[-1].date if c.messages else datetime.min,
            reverse=True,
        )
        wanted: Callable[[Any], bool] = {
            "new": lambda c: c.state == STATE_NEW,
            "inprogress": lambda c: c.state == STATE_IN_PROGRESS,
            "archived": lambda c: c.state == STATE_ARCHIVED,
            "highlighted": lambda c: c.highlighted,
        }.get(state, lambda c: True)
        convs = [c for c in convs if wanted(c)]
        after = request.query.get("after")
        if after:
            ids = [c.id for c in convs]
            convs = convs[ids.index(after) + 1 :] if after in ids else []
        limit = int(request.query.get("limit", "100"))
        convs = convs[:limit]
        return self._json(
            {
                "conversations": {c.id: self._conv(c) for c in convs},
                "conversationIds": [c.id for c in convs],
                "messages": {m.id: self._message(m, c) for c in convs for m in c.messages},
                "viewerId": "t2_" + self.server.username.lower(),
            }
        )

    async def _get(self, request: web.Request) -> web.Response:
        conv = self._find(request)
        if conv is None:
            return self._json({"message": "Not Found", "error": 404}, status=404)
        return self._json(self._full(conv))

    async def _reply(self, request: web.Request) -> web.Response:
        conv = self._find(request)
        if conv is None:
            return self._json({"message": "Not Found", "error": 404}, status=404)
        form = await request.post()
        body = str(form.get("body", ""))
        if not body.strip():
            return self._json(
                {"json": {"errors": [["NO_TEXT", "we need something here", "body"]]}}, status=400
            )
        internal = str(form.get("isInternal", "False")).lower() == "true"
        conv.messages.append(
            _Message(_b36(next(self._msg_ids)), self.server.username, True, body, internal, datetime.now(UTC))
        )
        if conv.state == STATE_NEW:
            conv.state = STATE_IN_PROGRESS
        return self._json(self._full(conv), status=201)

    async def _set(self, request: web.Request, **changes: Any) -> web.Response:
        conv = self._find(request)
        if conv is None:
            return self._json({"message": "Not Found", "error": 404}, status=404)
        for key, value in changes.items():
            setattr(conv, key, value)
        return self._json(self._full(conv))

    async def _archive(self, request: web.Request) -> web.Response:
        return await self._set(request, state=STATE_ARCHIVED)

    async def _unarchive(self, request: web.Request) -> web.Response:
        return await self._set(request, state=STATE_IN_PROGRESS)

    async def _highlight(self, request: web.Request) -> web.Response:
        return await self._set(request, highlighted=True)

    async def _unhighlight(self, request: web.Request) -> web.Response:
        return await self._set(request, highlighted=False)
