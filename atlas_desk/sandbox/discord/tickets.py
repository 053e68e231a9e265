"""Ticket support for the Discord sandbox: DM channels, forum tags and posts, interactions, app commands.

``TicketSandboxMixin`` is mixed into ``DiscordSandbox``; it adds its own state (``_init_tickets``) and its
routes (``_ticket_routes``) next to the server's. Shapes follow ``reference/discord/openapi.json``
(``PrivateChannelResponse``, ``ForumTagResponse``, ``ThreadResponse``, ``ApplicationCommandResponse``,
``InteractionCallbackResponse``).

Member-side methods drive it the way a person would: ``member_dm`` (a member writes to the bot),
``member_slash_ticket`` (``/ticket`` then the modal), ``member_press_button`` (the panel's button then the
modal); ``dm_messages`` and ``thread_messages`` read what arrived; ``channel_audit`` lists every channel with
who can read it, so tests can prove no ticket content leaks into a public place.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

DM = 1
GUILD_FORUM = 15
PUBLIC_THREAD = 11
VIEW_CHANNEL = 1 << 10
INTERACTION_COMMAND = 2
INTERACTION_COMPONENT = 3
INTERACTION_MODAL_SUBMIT = 5
CALLBACK_MODAL = 9
NO_TICKETS_ROLE = "No tickets"  # members with this role may not open tickets


class TicketSandboxMixin:
    """DMs, forum posts with tags, interactions and application commands for ``DiscordSandbox``."""

    # provided by DiscordSandbox
    _channels: dict[str, dict[str, Any]]
    _threads: dict[str, dict[str, Any]]
    _users: dict[str, dict[str, Any]]
    _members: dict[str, dict[str, Any]]
    _roles: list[dict[str, Any]]
    _moderator_only: set[str]
    _everyone_role: str
    guild_id: str
    bot_id: str
    bot_user: dict[str, Any]
    tickets_forum_id: str
    support_channel_id: str
    community: Any

    if TYPE_CHECKING:
        # The rest of DiscordSandbox's helpers (ids, payloads, dispatch): typed there, not repeated here.
        def __getattr__(self, name: str) -> Any: ...

    def _init_tickets(self) -> None:
        self._dm_channels: dict[str, dict[str, Any]] = {}
        self._dm_by_user: dict[str, str] = {}
        self._commands: dict[str, dict[str, Any]] = {}
        self._callbacks: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.callbacks: list[dict[str, Any]] = []  # every interaction callback received, for tests
        self._interaction_tokens: dict[str, str] = {}  # interaction id → token, until answered
        self._no_tickets_role = self._derived_id("role:no-tickets")
        self._roles.append(self._role(self._no_tickets_role, NO_TICKETS_ROLE, 0, 1))
        for member in self.community.members:
            if member.blocked:
                uid = self._user_id(member.key)
                self._members[uid]["roles"].append(self._no_tickets_role)
        self._seed_tickets()

    def _seed_tickets(self) -> None:
        """The community's Discord tickets as a relay would have left them: card, tags, mirrored messages."""
        from atlas_desk.platforms.discord import ticket_format as fmt
        from atlas_desk.sandbox.discord.server import _snowflake_at

        tickets = [
            t for t in self.community.tickets if t.platform == "discord" and t.thread_id in self._threads
        ]
        forum = self._channels.get(self.tickets_forum_id)
        if not tickets or forum is None:
            return
        if not forum["available_tags"]:
            forum["available_tags"] = [
                {
                    "id": self._derived_id(f"tag:{name}"),
                    "name": name,
                    "moderated": False,
                    "emoji_id": None,
                    "emoji_name": fmt.TAG_EMOJI.get(name),
                }
                for name in fmt.ALL_TAGS
            ]
        tag_ids = {t["name"]: t["id"] for t in forum["available_tags"]}
        members = {m.key: m for m in self.community.members}
        earlier: dict[str, int] = {}
        for n, ticket in enumerate(sorted(tickets, key=lambda t: t.opened_at)):
            tid = str(ticket.thread_id)
            uid = self._user_id(ticket.requester_key)
            user = self._users[uid]
            member = members.get(ticket.requester_key)
            name = user.get("global_name") or user["username"]
            dm = self._dm_payload(uid)
            assignee = ""
            if ticket.assignee_key:
                auid = self._user_id(ticket.assignee_key)
                assignee = self._users[auid]["username"]
            card = fmt.Card(
                requester_id=uid,
                requester_name=name,
                requester_handle=user["username"],
                account_created=datetime.fromtimestamp(((int(uid) >> 22) + 1_420_070_400_000) / 1000, UTC),
                joined_at=member.joined_at if member else None,
                earlier_tickets=earlier.get(uid, 0),
                assignee=assignee,
                dm_channel_id=dm["id"],
                version=1 if assignee else 0,
            )
            earlier[uid] = earlier.get(uid, 0) + 1
            thread = self._threads[tid]
            thread["name"] = fmt.thread_name(ticket.subject, name)
            thread["owner_id"] = self.bot_id
            thread["applied_tags"] = [
                tag_ids[fmt.STATUS_TAGS[ticket.status]],
                tag_ids[fmt.PRIORITY_TAGS[ticket.priority]],
            ]
            meta = thread["thread_metadata"]
            meta["create_timestamp"] = ticket.opened_at.isoformat()
            if ticket.status == "closed":
                meta["archived"] = meta["locked"] = True
            starter = self._message_payload(tid, tid, self.bot_user, f"Ticket from {name}", ticket.opened_at)
            starter["embeds"] = [fmt.card_embed(card, self.community.now)]
            self._store(starter)
            for i, tm in enumerate(ticket.messages):
                mid = str(_snowflake_at(tm.created_at, (n * 64 + i + 1) & 0x3FFFFF))
                if tm.role == "member":
                    author, text = self.bot_user, fmt.member_text(name, tm.body, [])
                elif tm.role == "moderator":
                    mod = self._users[self._user_id(tm.author_key)]
                    author, text = self.bot_user, fmt.reply_text(mod["username"], tm.body)
                    dm_msg = self._message_payload(
                        str(int(mid) + 1), dm["id"], self.bot_user, tm.body, tm.created_at
                    )
                    self._store(dm_msg)
                else:
                    author, text = self._users[self._user_id(tm.author_key)], tm.body
                self._store(self._message_payload(mid, tid, author, text, tm.created_at))

    def _ticket_routes(self) -> list[tuple[str, str, Any]]:
        return [
            ("POST", "/users/@me/channels", self._create_dm),
            ("PATCH", "/channels/{channel_id}", self._patch_channel),
            ("POST", "/channels/{channel_id}/threads", self._create_forum_thread),
            ("PUT", "/channels/{channel_id}/permissions/{overwrite_id}", self._put_overwrite),
            ("POST", "/guilds/{guild_id}/channels", self._create_guild_channel),
            ("PUT", "/applications/{app_id}/commands", self._put_commands),
            ("GET", "/applications/{app_id}/commands", self._get_commands),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self._put_commands),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self._get_commands),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._interaction_callback),
        ]

    # -- DM channels -----------------------------------------------------------------------------------------

    def _dm_payload(self, user_id: str) -> dict[str, Any]:
        cid = self._dm_by_user.get(user_id)
        if cid is None:
            cid = self._next_id()
            self._dm_by_user[user_id] = cid
            self._dm_channels[cid] = {
                "id": cid,
                "type": DM,
                "last_message_id": None,
                "flags": 0,
                "recipients": [self._users[user_id]],
            }
        return self._dm_channels[cid]

    async def _create_dm(self, request: web.Request) -> web.Response:
        from atlas_desk.sandbox.discord.server import _ApiError
        from atlas_desk.sandbox.http import json_response

        data = await self._read_body(request)
        uid = str(data.get("recipient_id", ""))
        if uid not in self._users:
            raise _ApiError(400, 50033, "Invalid Recipient(s)")
        return json_response(self._dm_payload(uid))

    def is_dm(self, channel_id: str) -> bool:
        """Whether ``channel_id`` is a DM channel between the bot and a member."""
        return channel_id in self._dm_channels

    def member_dm(
        self, member_key: str, text: str, *, attachments: list[str] | None = None
    ) -> dict[str, Any]:
        """A member writes to the bot in their DM channel: stored and dispatched (no guild_id)."""
        uid = self._user_id(member_key)
        channel = self._dm_payload(uid)
        files = [
            {
                "id": self._next_id(),
                "filename": url.rsplit("/", 1)[-1] or "file",
                "size": 1024,
                "url": url,
                "proxy_url": url,
            }
            for url in attachments or []
        ]
        payload: dict[str, Any] = self._message_payload(
            self._next_id(),
            channel["id"],
            self._users[uid],
            text,
            datetime.now(UTC),
            attachments=files,
        )
        self._store(payload)
        channel["last_message_id"] = payload["id"]
        self._dispatch("MESSAGE_CREATE", payload)
        return payload

    def dm_messages(self, member_key: str) -> list[dict[str, Any]]:
        """Every message in the member's DM channel with the bot, oldest first."""
        cid = self._dm_by_user.get(self._user_id(member_key))
        return self.messages(cid) if cid else []

    def thread_messages(self, thread_id: str) -> list[dict[str, Any]]:
        """Every message of a thread, oldest first."""
        found: list[dict[str, Any]] = self.messages(thread_id)
        return found

    def forum_threads(self, forum_id: str | None = None) -> list[dict[str, Any]]:
        """The threads (posts) of the tickets forum (or ``forum_id``), oldest first."""
        fid = forum_id or self.tickets_forum_id
        return sorted(
            (t for t in self._threads.values() if t["parent_id"] == fid), key=lambda t: int(t["id"])
        )

    def channel_audit(self) -> list[tuple[str, str, list[dict[str, Any]]]]:
        """(channel id, "public" | "moderators" | "dm:<user id>", messages) for every channel and thread."""
        out: list[tuple[str, str, list[dict[str, Any]]]] = []
        for cid in self._channels:
            out.append((cid, "moderators" if self._hidden(cid) else "public", self.messages(cid)))
        for tid, thread in self._threads.items():
            where = "moderators" if self._hidden(thread["parent_id"]) else "public"
            out.append((tid, where, self.messages(tid)))
        for cid, ch in self._dm_channels.items():
            out.append((cid, f"dm:{ch['recipients'][0]['id']}", self.messages(cid)))
        return out

    def _hidden(self, channel_id: str) -> bool:
        ch = self._channels.get(channel_id)
        if ch is None:
            return False
        for ow in ch.get("permission_overwrites", []):
            if ow["id"] == self._everyone_role and int(ow.get("deny", "0")) & VIEW_CHANNEL:
                return True
        return False

    def make_public(self, channel_id: str) -> None:
        """Drop a channel's permission overwrites (a misconfigured server: everyone can read it)."""
        ch = self._channels[channel_id]
        ch["permission_overwrites"] = []
        self._moderator_only.discard(channel_id)
        self._dispatch("CHANNEL_UPDATE", ch)

    # -- channels, forum tags, threads -----------------------------------------------------------------------

    async def _patch_channel(self, request: web.Request) -> web.Response:
        from atlas_desk.sandbox.discord.server import _ApiError
        from atlas_desk.sandbox.http import json_response

        cid = self._channel_or_404(request)
        data = await self._read_body(request)
        if cid in self._threads:
            thread = self._threads[cid]
            meta = thread["thread_metadata"]
            if data.get("name"):
                thread["name"] = str(data["name"])[:100]
            if "applied_tags" in data:
                parent = self._channels.get(thread["parent_id"], {})
                known = {t["id"] for t in parent.get("available_tags", [])}
                tags = [str(t) for t in data["applied_tags"] or []]
                if any(t not in known for t in tags) or len(tags) > 5:
                    raise _ApiError(400, 50035, "Invalid Form Body")
                thread["applied_tags"] = tags
            if "archived" in data and data["archived"] is not None:
                meta["archived"] = bool(data["archived"])
                meta["archive_timestamp"] = datetime.now(UTC).isoformat()
            if "locked" in data and data["locked"] is not None:
                meta["locked"] = bool(data["locked"])
            if data.get("auto_archive_duration"):
                meta["auto_archive_duration"] = int(data["auto_archive_duration"])
            self._dispatch("THREAD_UPDATE", thread)
            return json_response(thread)
        if cid in self._dm_channels:
            raise _ApiError(403, 50003, "Cannot execute action on a DM channel")
        ch = self._channels[cid]
        for key in ("name", "topic"):
            if key in data and data[key] is not None:
                ch[key] = data[key]
        if "available_tags" in data and ch["type"] == GUILD_FORUM:
            new_tags: list[dict[str, Any]] = []
            for raw in data["available_tags"] or []:
                tag = {
                    "id": str(raw.get("id") or self._next_id()),
                    "name": str(raw.get("name", ""))[:20],
                    "moderated": bool(raw.get("moderated", False)),
                    "emoji_id": raw.get("emoji_id"),
                    "emoji_name": raw.get("emoji_name"),
                }
                new_tags.append(tag)
            if len(new_tags) > 20:
                raise _ApiError(400, 50035, "Invalid Form Body")
            ch["available_tags"] = new_tags
        if "permission_overwrites" in data and data["permission_overwrites"] is not None:
            ch["permission_overwrites"] = list(data["permission_overwrites"])
        self._dispatch("CHANNEL_UPDATE", ch)
        return json_response(ch)

    async def _put_overwrite(self, request: web.Request) -> web.Response:
        cid = self._channel_or_404(request)
        data = await self._read_body(request)
        ch = self._channels[cid]
        oid = request.match_info["overwrite_id"]
        rest = [o for o in ch["permission_overwrites"] if o["id"] != oid]
        rest.append(
            {
                "id": oid,
                "type": int(data.get("type", 0)),
                "allow": str(data.get("allow", "0")),
                "deny": str(data.get("deny", "0")),
            }
        )
        ch["permission_overwrites"] = rest
        self._dispatch("CHANNEL_UPDATE", ch)
        return web.Response(status=204)

    async def _create_guild_channel(self, request: web.Request) -> web.Response:
        from atlas_desk.sandbox.http import json_response

        self._check_guild(request)
        data = await self._read_body(request)
        cid = self._next_id()
        ch = self._channel_payload(
            cid,
            str(data.get("name", "channel")),
            int(data.get("type", 0)),
            len(self._channels),
            topic=str(data.get("topic") or ""),
            parent_id=data.get("parent_id"),
        )
        if data.get("permission_overwrites"):
            ch["permission_overwrites"] = [
                {
                    "id": str(o["id"]),
                    "type": int(o.get("type", 0)),
                    "allow": str(o.get("allow", "0")),
                    "deny": str(o.get("deny", "0")),
                }
                for o in data["permission_overwrites"]
            ]
        if data.get("available_tags") and ch["type"] == GUILD_FORUM:
            ch["available_tags"] = [
                {
                    "id": self._next_id(),
                    "name": t.get("name", ""),
                    "moderated": False,
                    "emoji_id": None,
                    "emoji_name": t.get("emoji_name"),
                }
                for t in data["available_tags"]
            ]
        self._channels[cid] = ch
        self._dispatch("CHANNEL_CREATE", ch)
        return json_response(ch)

    async def _create_forum_thread(self, request: web.Request) -> web.Response:
        from atlas_desk.sandbox.discord.server import _ApiError
        from atlas_desk.sandbox.http import json_response

        cid = self._channel_or_404(request)
        data = await self._read_body(request)
        ch = self._channels.get(cid)
        if ch is None or ch["type"] != GUILD_FORUM:
            raise _ApiError(400, 50024, "Cannot execute action on this channel type")
        message = data.get("message")
        if not isinstance(message, dict) or not (message.get("content") or message.get("embeds")):
            raise _ApiError(400, 50006, "Cannot send an empty message")
        known = {t["id"] for t in ch.get("available_tags", [])}
        tags = [str(t) for t in data.get("applied_tags") or []]
        if any(t not in known for t in tags):
            raise _ApiError(400, 50035, "Invalid Form Body")
        tid = self._next_id()
        now = datetime.now(UTC)
        thread = self._thread_payload(tid, cid, str(data.get("name", ""))[:100], self.bot_id, now)
        thread["applied_tags"] = tags
        self._threads[tid] = thread
        # A forum post's starter message has the thread's id, as on Discord.
        starter = self._message_payload(tid, tid, self.bot_user, str(message.get("content") or ""), now)
        if message.get("embeds"):
            starter["embeds"] = message["embeds"]
        if message.get("components"):
            starter["components"] = message["components"]
        self._store(starter)
        self._sent.setdefault(tid, []).append(starter)
        self._dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        self._dispatch("MESSAGE_CREATE", self._gateway_message(starter))
        return json_response({**thread, "message": starter})

    # -- application commands and interactions ---------------------------------------------------------------

    async def _put_commands(self, request: web.Request) -> web.Response:
        from atlas_desk.sandbox.http import json_response

        data = await request.json()
        out = []
        for raw in data if isinstance(data, list) else []:
            name = str(raw.get("name", ""))
            existing = self._commands.get(name)
            cmd = {
                "id": existing["id"] if existing else self._next_id(),
                "application_id": self.community.application_id,
                "version": self._next_id(),
                "type": int(raw.get("type", 1)),
                "name": name,
                "description": str(raw.get("description", "")),
                "options": raw.get("options") or [],
                "default_member_permissions": raw.get("default_member_permissions"),
                "dm_permission": raw.get("dm_permission", True),
                "nsfw": bool(raw.get("nsfw", False)),
                "contexts": raw.get("contexts"),
                "integration_types": raw.get("integration_types") or [0],
            }
            if "guild_id" in request.match_info:
                cmd["guild_id"] = request.match_info["guild_id"]
            out.append(cmd)
        self._commands = {c["name"]: c for c in out}
        return json_response(out)

    async def _get_commands(self, request: web.Request) -> web.Response:
        from atlas_desk.sandbox.http import json_response

        return json_response(list(self._commands.values()))

    def commands(self) -> dict[str, dict[str, Any]]:
        """The registered application commands by name."""
        return dict(self._commands)

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        from atlas_desk.sandbox.discord.server import _ApiError
        from atlas_desk.sandbox.http import json_response

        iid = request.match_info["interaction_id"]
        future = self._callbacks.get(iid)
        pending = self._interaction_tokens
        if pending.get(iid) != request.match_info["token"]:
            raise _ApiError(404, 10062, "Unknown interaction")
        data = await self._read_body(request)
        pending.pop(iid, None)  # an interaction is answered once
        self.callbacks.append(data)
        if future is not None and not future.done():
            future.set_result(data)
        kind = int(data.get("type", 0))
        body = {
            "interaction": {
                "id": iid,
                "type": kind,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool((data.get("data") or {}).get("flags", 0) & 64),
            },
            "resource": {"type": kind},
        }
        if request.query.get("with_response") in ("true", "True", "1"):
            return json_response(body)
        return web.Response(status=204)

    def _interaction(
        self,
        kind: int,
        member_key: str,
        channel_id: str,
        data: dict[str, Any],
        message: dict[str, Any] | None = None,
    ) -> tuple[str, asyncio.Future[dict[str, Any]]]:
        uid = self._user_id(member_key)
        iid = self._next_id()
        token = "aW50ZXJhY3Rpb24" + secrets.token_urlsafe(24)
        self._interaction_tokens[iid] = token
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._callbacks[iid] = future
        ch = self._channels[channel_id]
        member = dict(self._members[uid])
        member["permissions"] = str(0x7FFFFFFF)  # what the member may do in the channel
        payload: dict[str, Any] = {
            "id": iid,
            "application_id": self.community.application_id,
            "type": kind,
            "token": token,
            "version": 1,
            "guild_id": self.guild_id,
            "guild": {"id": self.guild_id, "locale": "en-US", "features": ["COMMUNITY"]},
            "channel_id": channel_id,
            "channel": {
                k: ch[k]
                for k in (
                    "id",
                    "type",
                    "guild_id",
                    "name",
                    "position",
                    "parent_id",
                    "permission_overwrites",
                    "flags",
                    "nsfw",
                )
                if k in ch
            },
            "member": member,
            "app_permissions": str(0x7FFFFFFF),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": self.guild_id},
            "context": 0,
            "attachment_size_limit": 8 * 1024 * 1024,
            "data": data,
        }
        if message is not None:
            payload["message"] = message
        self._dispatch("INTERACTION_CREATE", payload)
        return iid, future

    async def _submit_modal(
        self, member_key: str, channel_id: str, modal: dict[str, Any], subject: str, body: str, timeout: float
    ) -> dict[str, Any]:
        values = {"subject": subject, "body": body}
        order = [subject, body]
        rows: list[dict[str, Any]] = []
        i = 0
        for comp in modal.get("components", []):
            inner = comp.get("components", [comp.get("component")]) if comp.get("type") in (1, 18) else [comp]
            filled = []
            for c in inner:
                if not c:
                    continue
                cid = c.get("custom_id", "")
                value = values.get(cid, order[i] if i < len(order) else "")
                i += 1
                filled.append({"type": 4, "id": c.get("id", i), "custom_id": cid, "value": value})
            if comp.get("type") == 18:
                rows.append({"type": 18, "id": comp.get("id", i), "component": filled[0]})
            else:
                rows.append({"type": 1, "id": comp.get("id", i), "components": filled})
        _iid, future = self._interaction(
            INTERACTION_MODAL_SUBMIT,
            member_key,
            channel_id,
            {"custom_id": modal.get("custom_id", ""), "components": rows},
        )
        return await asyncio.wait_for(future, timeout)

    async def member_slash_ticket(
        self, member_key: str, subject: str, body: str, *, timeout: float = 10.0
    ) -> dict[str, Any]:
        """A member runs ``/ticket`` in the support channel and fills in the modal; returns the callback."""
        cmd = self._commands.get("ticket")
        if cmd is None:
            raise KeyError("no /ticket command is registered")
        _iid, future = self._interaction(
            INTERACTION_COMMAND,
            member_key,
            self.support_channel_id,
            {"id": cmd["id"], "name": "ticket", "type": 1, "guild_id": self.guild_id},
        )
        first = await asyncio.wait_for(future, timeout)
        if first.get("type") != CALLBACK_MODAL:
            return first
        return await self._submit_modal(
            member_key, self.support_channel_id, first["data"], subject, body, timeout
        )

    def panel_message(self) -> dict[str, Any] | None:
        """The newest message in the support channel carrying a button (the ticket panel)."""
        for msg in reversed(self.messages(self.support_channel_id)):
            for row in msg.get("components") or []:
                for comp in row.get("components", []):
                    if comp.get("type") == 2 and comp.get("custom_id"):
                        return msg  # type: ignore[no-any-return]
        return None

    async def member_press_button(
        self,
        member_key: str,
        subject: str = "Help needed",
        body: str = "Please help.",
        *,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """A member presses the panel's "Open a ticket" button, fills in the modal; returns the callback."""
        panel = self.panel_message()
        if panel is None:
            raise KeyError("no ticket panel in the support channel")
        custom_id = next(
            c["custom_id"] for row in panel["components"] for c in row["components"] if c.get("custom_id")
        )
        _iid, future = self._interaction(
            INTERACTION_COMPONENT,
            member_key,
            self.support_channel_id,
            {"custom_id": custom_id, "component_type": 2},
            message=panel,
        )
        first = await asyncio.wait_for(future, timeout)
        if first.get("type") != CALLBACK_MODAL:
            return first
        return await self._submit_modal(
            member_key, self.support_channel_id, first["data"], subject, body, timeout
        )
