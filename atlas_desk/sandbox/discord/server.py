"""A loopback Discord: REST (``/api/v10``) and a JSON gateway (``/gateway``) for discord.py's ``Client``.

The guild, its channels, threads, roles, members and message history come from a seeded ``Community``.
Payloads follow the shapes in ``reference/discord/openapi.json`` (``MessageResponse``, ``GuildResponse``,
``GuildChannelResponse``, ``ThreadResponse``, ``UserResponse``, ``GuildMemberResponse``, ...); gateway events
carry the same objects. Gateway frames are plain JSON text: discord.py only decompresses binary frames.

Tests and the demo drive it through plain methods: ``post_message`` (a member speaks; stored and
dispatched), ``edit_message``, ``delete_message``, ``add_reaction``, ``create_thread``, ``burst``, and fault
injection: ``drop_gateway``, ``drop_gateway_after`` (or ``burst(drop_after=...)``: a cut in the middle of
a burst, recorded in ``drops``), ``send_reconnect``, ``fail_next``, ``stall``, ``rotate_token``,
``dispatch_raw``. The latest accepted RESUMEs are kept in ``resumes``: what the client had, what was replayed.

The server keeps everything in memory. Later features (DM channels, forum tags, interactions) add their own
state and routes next to the ones here; ``_routes`` is the single table of endpoints.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import contextlib
import fnmatch
import hashlib
import json
import logging
import random
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from aiohttp import WSMsgType, web

from atlas_desk.sandbox.community import message_text, reply_text
from atlas_desk.sandbox.discord.tickets import TicketSandboxMixin
from atlas_desk.sandbox.http import json_dumps, json_response, start_app
from atlas_desk.sandbox.model import Community, Member

log = logging.getLogger("atlas_desk.sandbox.discord")

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000

# Channel types (Discord's numbering)
GUILD_TEXT = 0
GUILD_VOICE = 2
GUILD_CATEGORY = 4
GUILD_ANNOUNCEMENT = 5
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_STAGE_VOICE = 13
GUILD_FORUM = 15
_CHANNEL_TYPES = {
    "text": GUILD_TEXT,
    "voice": GUILD_VOICE,
    "announcement": GUILD_ANNOUNCEMENT,
    "stage": GUILD_STAGE_VOICE,
    "forum": GUILD_FORUM,
}

# Permission bits
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
MODERATE_MEMBERS = 1 << 40
MEMBER_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
    | USE_APPLICATION_COMMANDS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
)
MODERATOR_PERMISSIONS = (
    MEMBER_PERMISSIONS | MANAGE_MESSAGES | MANAGE_THREADS | CREATE_PRIVATE_THREADS | MODERATE_MEMBERS
)
BOT_PERMISSIONS = MODERATOR_PERMISSIONS | (1 << 4) | (1 << 28)  # + manage channels, manage roles

# Gateway close codes the sandbox uses
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005

_CONTENT_LIMIT = 2000


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def _snowflake_at(dt: datetime, increment: int = 0) -> int:
    ms = int(dt.timestamp() * 1000) - DISCORD_EPOCH_MS
    return (max(ms, 0) << 22) | (increment & 0x3FFFFF)


@dataclass(slots=True)
class _Failure:
    pattern: str
    status: int
    retry_after: float | None
    remaining: int
    method: str | None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.pattern) or fnmatch.fnmatchcase(API_PREFIX + path, self.pattern)


@dataclass(frozen=True, slots=True)
class GatewayDrop:
    """A gateway connection the sandbox cut after writing a set number of dispatch frames.

    ``written`` frames were handed to the socket (a client may still lose the last of them: the cut discards
    what the kernel has not sent); ``unsent`` were queued for it and never written. ``burst_posted`` of
    ``burst_total`` messages of the burst in progress had been posted (0 of 0 outside a burst).
    """

    session_id: str
    written: int
    unsent: int
    unsent_message_ids: tuple[str, ...]  # the MESSAGE_CREATEs among the unsent frames
    last_written_seq: int
    burst_posted: int
    burst_total: int


@dataclass(frozen=True, slots=True)
class GatewayResume:
    """An accepted RESUME: the last sequence number the client had, and what the sandbox sent it again."""

    session_id: str
    client_seq: int
    frames: tuple[str, ...]  # the dispatch frames replayed from the session's buffer

    @property
    def replayed(self) -> int:
        return len(self.frames)

    @property
    def replayed_message_ids(self) -> tuple[str, ...]:
        """The MESSAGE_CREATEs among the replayed frames (read when asked: a RESUME itself stays cheap)."""
        return _message_create_ids(self.frames)


class _Connection:
    """One gateway websocket; frames go out in order through one writer task."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None) -> None:
        self.ws = ws
        self.transport = transport
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.session: _Session | None = None
        self.identified = False
        self.dead = False
        self.writer: asyncio.Task[None] | None = None
        # ``drop_gateway_after``: cut the connection once this many more dispatch frames have been written
        self.drop_after: int | None = None
        self.written_since_armed = 0

    def send(self, frame: str) -> None:
        if not self.dead:
            self.queue.put_nowait(frame)

    def abort(self) -> None:
        """Cut the TCP connection without a closing handshake (what a network failure looks like)."""
        self.dead = True
        if self.transport is not None:
            self.transport.abort()
        self.queue.put_nowait(None)


@dataclass(slots=True)
class _Session:
    id: str
    seq: int = 0
    buffer: deque[tuple[int, str]] = field(default_factory=lambda: deque(maxlen=20_000))
    conn: _Connection | None = None
    detached_at: float = 0.0


class DiscordSandbox(TicketSandboxMixin):
    """The community guild served over Discord's REST API and gateway on a loopback port."""

    def __init__(
        self,
        community: Community,
        *,
        host: str = "127.0.0.1",
        heartbeat_interval_ms: int = 41_250,
        nonce_window: float = 300.0,
    ) -> None:
        self.community = community
        self.host = host
        self.port = 0
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.nonce_window = nonce_window
        self._token = self._make_token()
        self._runner: web.AppRunner | None = None
        self._connections: set[_Connection] = set()
        self._sessions: dict[str, _Session] = {}
        self._failures: list[_Failure] = []
        self._stalled_until = 0.0
        self._last_id = 0
        self._nonces: dict[tuple[str, str], tuple[str, float]] = {}
        self._sent: dict[str, list[dict[str, Any]]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.requests: list[tuple[str, str]] = []  # (method, path) of every REST call, for tests
        self.identify_count = 0  # gateway IDENTIFYs accepted (fresh sessions)
        self.resume_count = 0  # gateway RESUMEs accepted
        self.drops: list[GatewayDrop] = []  # connections cut by ``drop_gateway_after``, for tests
        self.resumes: deque[GatewayResume] = deque(maxlen=20)  # the latest accepted RESUMEs, for tests
        self._burst_posted = 0  # progress of the burst in progress (``GatewayDrop`` records it)
        self._burst_total = 0
        self._load(community)
        from atlas_desk.sandbox.discord.events import ScheduledEvents  # seeds from the loaded guild

        self.scheduled_events = ScheduledEvents(self)
        self._init_tickets()

    # ------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Serve on a free loopback port."""
        app = web.Application(middlewares=[self._middleware], client_max_size=8 * 1024 * 1024)
        for method, path, handler in self._routes():
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway/", self._gateway)
        self._runner, self.port = await start_app(app, self.host)
        log.info("Discord sandbox on %s", self.base_url)

    async def stop(self) -> None:
        """Close every gateway connection and stop serving."""
        for conn in list(self._connections):
            conn.abort()
        for task in list(self._background):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token(self) -> str:
        """The bot token the sandbox currently accepts."""
        return self._token

    def env(self) -> dict[str, str]:
        """Environment variables pointing the desk at this sandbox."""
        return {
            "ATLAS_DESK_DISCORD_API": f"{self.base_url}{API_PREFIX}",
            "ATLAS_DESK_DISCORD_GATEWAY": f"ws://{self.host}:{self.port}/gateway",
            "ATLAS_DESK_DISCORD_TOKEN": self._token,
        }

    def config(self) -> dict[str, Any]:
        """The ``[discord]`` settings that match this sandbox's guild."""
        return {
            "discord": {
                "guild_id": self.guild_id,
                "tickets_forum_id": self.tickets_forum_id,
                "support_channel_id": self.support_channel_id,
                "watch_channels": [],
            }
        }

    # ------------------------------------------------------------------------------------------ the guild

    def _make_token(self) -> str:
        bot = base64.urlsafe_b64encode(self.community.bot_id.encode()).decode().rstrip("=")
        return f"{bot}.{secrets.token_urlsafe(6)}.{secrets.token_urlsafe(27)}"

    def _derived_id(self, label: str) -> str:
        """A stable snowflake for objects the community model does not name (roles, categories, users)."""
        digest = int.from_bytes(hashlib.sha256(f"{self.community.seed}:{label}".encode()).digest()[:4], "big")
        return str(_snowflake_at(self.community.now - timedelta(days=900), digest))

    def _load(self, community: Community) -> None:
        self.guild_id = community.guild_id
        self.bot_id = community.bot_id
        now = community.now
        self._everyone_role = community.guild_id
        self._moderator_role = self._derived_id("role:moderator")
        self._bot_role = self._derived_id("role:bot")
        self._roles = [
            self._role(self._everyone_role, "@everyone", MEMBER_PERMISSIONS, 0),
            self._role(
                self._moderator_role, "Moderator", MODERATOR_PERMISSIONS, 2, color=0x5865F2, hoist=True
            ),
            self._role(
                self._bot_role,
                "Atlas Desk",
                BOT_PERMISSIONS,
                1,
                managed=True,
                tags={"bot_id": community.bot_id},
            ),
        ]
        # users and members
        self._users: dict[str, dict[str, Any]] = {}
        self._members: dict[str, dict[str, Any]] = {}
        self._user_by_key: dict[str, str] = {}
        self.bot_user = self._user_payload(community.bot_id, "atlas-desk", "Atlas Desk", bot=True)
        self._users[community.bot_id] = self.bot_user
        self._members[community.bot_id] = self._member_payload(
            self.bot_user, [self._bot_role], now - timedelta(days=400)
        )
        for member in community.members:
            self._add_member(member)
        # channels
        self._channels: dict[str, dict[str, Any]] = {}
        self._moderator_only: set[str] = set()
        categories: dict[str, str] = {}
        for position, ch in enumerate(community.channels):
            parent_id = None
            if ch.category:
                if ch.category not in categories:
                    cid = self._derived_id(f"category:{ch.category}")
                    categories[ch.category] = cid
                    self._channels[cid] = self._channel_payload(
                        cid, ch.category, GUILD_CATEGORY, len(categories)
                    )
                parent_id = categories[ch.category]
            kind = _CHANNEL_TYPES.get(ch.kind, GUILD_TEXT)
            self._channels[ch.id] = self._channel_payload(
                ch.id,
                ch.name,
                kind,
                position,
                topic=ch.topic,
                parent_id=parent_id,
                moderator_only=ch.moderator_only,
            )
        forum = next((c for c in community.channels if c.kind == "forum" and c.moderator_only), None)
        if forum is None:
            fid = self._derived_id("channel:tickets")
            self._channels[fid] = self._channel_payload(fid, "tickets", GUILD_FORUM, 90, moderator_only=True)
            self.tickets_forum_id = fid
        else:
            self.tickets_forum_id = forum.id
        support = next((c for c in community.channels if c.kind == "text" and "support" in c.name), None)
        if support is None:
            sid = self._derived_id("channel:support")
            self._channels[sid] = self._channel_payload(
                sid, "support", GUILD_TEXT, 91, topic="Need help? Open a ticket here."
            )
            self.support_channel_id = sid
        else:
            self.support_channel_id = support.id
        # threads
        self._threads: dict[str, dict[str, Any]] = {}
        for th in community.threads:
            self._threads[th.id] = self._thread_payload(
                th.id, th.parent_id, th.name, self._user_id(th.owner_key), th.created_at, archived=th.archived
            )
        # messages, keyed by the channel they live in (a thread's own id for thread messages)
        self._messages: dict[str, dict[int, dict[str, Any]]] = {}
        self._order: dict[str, list[int]] = {}
        self._reactors: dict[tuple[str, str], list[str]] = {}
        for msg in sorted(community.messages, key=lambda m: int(m.id)):
            where = msg.thread_id or msg.channel_id
            payload = self._message_payload(
                msg.id,
                where,
                self._users[self._user_id(msg.author_key)],
                msg.content,
                msg.created_at,
                reply_to=msg.reply_to,
            )
            for reaction in msg.reactions:
                users = [self._user_id(k) for k in reaction.member_keys]
                self._reactors[(msg.id, reaction.emoji)] = users
            self._store(payload)
            for reaction in msg.reactions:
                self._refresh_reactions(payload, reaction.emoji)

    @staticmethod
    def _role(
        rid: str,
        name: str,
        permissions: int,
        position: int,
        *,
        color: int = 0,
        hoist: bool = False,
        managed: bool = False,
        tags: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        role: dict[str, Any] = {
            "id": rid,
            "name": name,
            "permissions": str(permissions),
            "position": position,
            "color": color,
            "colors": {"primary_color": color, "secondary_color": None, "tertiary_color": None},
            "hoist": hoist,
            "managed": managed,
            "mentionable": False,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if tags is not None:
            role["tags"] = tags
        return role

    @staticmethod
    def _user_payload(
        uid: str, username: str, global_name: str | None, *, bot: bool = False
    ) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": uid,
            "username": username,
            "global_name": global_name,
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "collectibles": None,
            "primary_guild": None,
        }
        if bot:
            user["bot"] = True
        return user

    @staticmethod
    def _member_payload(user: dict[str, Any], roles: list[str], joined_at: datetime) -> dict[str, Any]:
        return {
            "user": user,
            "nick": None,
            "avatar": None,
            "banner": None,
            "roles": roles,
            "joined_at": _iso(joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }

    def _add_member(self, member: Member) -> None:
        uid = member.discord_id or self._derived_id(f"user:{member.key}")
        self._user_by_key[member.key] = uid
        user = self._user_payload(uid, member.discord_name or member.key, member.display_name or None)
        self._users[uid] = user
        roles = [self._moderator_role] if member.is_moderator else []
        joined = member.joined_at or (self.community.now - timedelta(days=365))
        self._members[uid] = self._member_payload(user, roles, joined)

    def _user_id(self, key: str) -> str:
        if key not in self._user_by_key:
            # Authors the member list does not know still get a stable account.
            self._add_member(Member(key=key, display_name=key))
        return self._user_by_key[key]

    def _channel_payload(
        self,
        cid: str,
        name: str,
        kind: int,
        position: int,
        *,
        topic: str = "",
        parent_id: str | None = None,
        moderator_only: bool = False,
    ) -> dict[str, Any]:
        overwrites: list[dict[str, Any]] = []
        if moderator_only:
            self._moderator_only.add(cid)
            overwrites = [
                {"id": self._everyone_role, "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)},
                {
                    "id": self._moderator_role,
                    "type": 0,
                    "allow": str(VIEW_CHANNEL | SEND_MESSAGES),
                    "deny": "0",
                },
                {"id": self._bot_role, "type": 0, "allow": str(VIEW_CHANNEL | SEND_MESSAGES), "deny": "0"},
            ]
        ch: dict[str, Any] = {
            "id": cid,
            "type": kind,
            "guild_id": self.guild_id,
            "name": name,
            "position": position,
            "parent_id": parent_id,
            "permission_overwrites": overwrites,
            "flags": 0,
            "nsfw": False,
        }
        if kind in (GUILD_TEXT, GUILD_ANNOUNCEMENT, GUILD_FORUM):
            ch.update(
                topic=topic or None,
                rate_limit_per_user=0,
                last_message_id=None,
                default_auto_archive_duration=1440,
                last_pin_timestamp=None,
            )
        if kind == GUILD_FORUM:
            ch.update(
                available_tags=[],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
            )
        if kind in (GUILD_VOICE, GUILD_STAGE_VOICE):
            ch.update(
                bitrate=64000, user_limit=0, rtc_region=None, video_quality_mode=1, rate_limit_per_user=0
            )
        return ch

    def _thread_payload(
        self,
        tid: str,
        parent_id: str,
        name: str,
        owner_id: str,
        created_at: datetime,
        *,
        archived: bool = False,
        private: bool = False,
    ) -> dict[str, Any]:
        return {
            "id": tid,
            "type": PRIVATE_THREAD if private else PUBLIC_THREAD,
            "guild_id": self.guild_id,
            "parent_id": parent_id,
            "name": name,
            "owner_id": owner_id,
            "flags": 0,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "applied_tags": [],
            "thread_metadata": {
                "archived": archived,
                "archive_timestamp": _iso(created_at),
                "auto_archive_duration": 1440,
                "locked": False,
                "create_timestamp": _iso(created_at),
                "invitable": True,
            },
        }

    def _guild_payload(self) -> dict[str, Any]:
        c = self.community
        return {
            "id": self.guild_id,
            "name": c.guild_name,
            "icon": None,
            "description": "The Atlas community",
            "home_header": None,
            "splash": None,
            "discovery_splash": None,
            "features": ["COMMUNITY"],
            "banner": None,
            "owner_id": self._owner_id(),
            "application_id": None,
            "region": "deprecated",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 1,
            "roles": self._roles,
            "default_message_notifications": 1,
            "mfa_level": 0,
            "explicit_content_filter": 2,
            "max_presences": None,
            "max_members": 500000,
            "max_stage_video_channel_users": 50,
            "max_video_channel_users": 25,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "rules_channel_id": None,
            "safety_alerts_channel_id": None,
            "public_updates_channel_id": None,
            "premium_progress_bar_enabled": False,
            "nsfw": False,
            "nsfw_level": 0,
            "emojis": [],
            "stickers": [],
            "incidents_data": None,
        }

    def _owner_id(self) -> str:
        owner = next((m for m in self.community.members if m.is_moderator), None)
        return self._user_id(owner.key) if owner else self.bot_id

    def _guild_create(self) -> dict[str, Any]:
        guild = self._guild_payload()
        members = list(self._members.values())
        guild.update(
            joined_at=self._members[self.bot_id]["joined_at"],
            large=len(members) >= 250,
            unavailable=False,
            member_count=len(members),
            members=members,
            channels=list(self._channels.values()),
            threads=[t for t in self._threads.values() if not t["thread_metadata"]["archived"]],
            presences=[],
            voice_states=[],
            stage_instances=[],
            guild_scheduled_events=self.scheduled_events.live_payloads(),
            soundboard_sounds=[],
        )
        return guild

    # ------------------------------------------------------------------------------------------ messages

    def _next_id(self) -> str:
        candidate = _snowflake_at(datetime.now(UTC))
        self._last_id = max(candidate, self._last_id + 1)
        return str(self._last_id)

    def _message_payload(
        self,
        mid: str,
        channel_id: str,
        author: dict[str, Any],
        content: str,
        created_at: datetime,
        *,
        reply_to: str | None = None,
        nonce: str | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "id": mid,
            "channel_id": channel_id,
            "type": 0,
            "content": content,
            "author": author,
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "attachments": attachments or [],
            "embeds": [],
            "components": [],
            "timestamp": _iso(created_at),
            "edited_timestamp": None,
            "flags": 0,
            "pinned": False,
            "tts": False,
            "reactions": [],
        }
        if reply_to:
            msg["type"] = 19
            msg["message_reference"] = {
                "type": 0,
                "message_id": reply_to,
                "channel_id": channel_id,
                "guild_id": self.guild_id,
            }
            ref = self._find(channel_id, reply_to)
            msg["referenced_message"] = _without_reference(ref) if ref is not None else None
        if nonce is not None:
            msg["nonce"] = nonce
        return msg

    def _find(self, channel_id: str, message_id: str) -> dict[str, Any] | None:
        try:
            return self._messages.get(channel_id, {}).get(int(message_id))
        except ValueError:
            return None

    def _store(self, payload: dict[str, Any]) -> None:
        cid = payload["channel_id"]
        mid = int(payload["id"])
        self._messages.setdefault(cid, {})[mid] = payload
        order = self._order.setdefault(cid, [])
        if not order or mid > order[-1]:
            order.append(mid)
        else:
            bisect.insort(order, mid)
        self._last_id = max(self._last_id, mid)
        last = str(order[-1])
        if cid in self._threads:
            thread = self._threads[cid]
            thread["last_message_id"] = last
            thread["message_count"] += 1
            thread["total_message_sent"] += 1
        elif cid in self._channels:
            self._channels[cid]["last_message_id"] = last

    def _unstore(self, channel_id: str, message_id: str) -> dict[str, Any] | None:
        payload = self._messages.get(channel_id, {}).pop(int(message_id), None)
        if payload is not None:
            order = self._order[channel_id]
            i = bisect.bisect_left(order, int(message_id))
            if i < len(order) and order[i] == int(message_id):
                del order[i]
        return payload

    def _gateway_message(self, payload: dict[str, Any]) -> dict[str, Any]:
        data = dict(payload)
        if self.is_dm(payload["channel_id"]):
            return data  # DMs carry no guild_id
        data["guild_id"] = self.guild_id
        member = self._members.get(payload["author"]["id"])
        if member is not None:
            data["member"] = {k: v for k, v in member.items() if k != "user"}
        return data

    def _channel_exists(self, channel_id: str) -> bool:
        return channel_id in self._channels or channel_id in self._threads or self.is_dm(channel_id)

    def post_message(
        self,
        channel_id: str,
        author_key: str,
        content: str,
        *,
        reply_to: str | None = None,
        attachments: list[str] | None = None,
    ) -> dict[str, Any]:
        """A member posts ``content`` in a channel or thread: stored and dispatched live; returns it."""
        if not self._channel_exists(channel_id):
            raise KeyError(f"unknown channel {channel_id}")
        author = self._users[self._user_id(author_key)]
        mid = self._next_id()
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
        payload = self._message_payload(
            mid, channel_id, author, content, datetime.now(UTC), reply_to=reply_to, attachments=files
        )
        self._unarchive(channel_id)
        self._store(payload)
        self._dispatch("MESSAGE_CREATE", self._gateway_message(payload))
        return payload

    def _unarchive(self, channel_id: str) -> None:
        """A message in an archived (unlocked) thread reopens it, as on Discord."""
        thread = self._threads.get(channel_id)
        if thread is not None and thread["thread_metadata"]["archived"]:
            thread["thread_metadata"]["archived"] = False
            thread["thread_metadata"]["archive_timestamp"] = _iso(datetime.now(UTC))
            self._dispatch("THREAD_UPDATE", thread)

    def edit_message(self, channel_id: str, message_id: str, content: str) -> dict[str, Any]:
        """Change a message's content (as its author would): stored and dispatched as MESSAGE_UPDATE."""
        payload = self._find(channel_id, message_id)
        if payload is None:
            raise KeyError(message_id)
        payload["content"] = content
        payload["edited_timestamp"] = _iso(datetime.now(UTC))
        self._dispatch("MESSAGE_UPDATE", self._gateway_message(payload))
        return payload

    def delete_message(self, channel_id: str, message_id: str) -> None:
        """Delete a message: removed and dispatched as MESSAGE_DELETE."""
        if self._unstore(channel_id, message_id) is None:
            raise KeyError(message_id)
        self._dispatch(
            "MESSAGE_DELETE", {"id": message_id, "channel_id": channel_id, "guild_id": self.guild_id}
        )

    def add_reaction(self, channel_id: str, message_id: str, author_key: str, emoji: str = "👍") -> None:
        """A member reacts to a message: stored and dispatched as MESSAGE_REACTION_ADD."""
        self._react(channel_id, message_id, self._user_id(author_key), emoji, add=True)

    def remove_reaction(self, channel_id: str, message_id: str, author_key: str, emoji: str = "👍") -> None:
        """A member takes a reaction back: dispatched as MESSAGE_REACTION_REMOVE."""
        self._react(channel_id, message_id, self._user_id(author_key), emoji, add=False)

    def _react(self, channel_id: str, message_id: str, user_id: str, emoji: str, *, add: bool) -> bool:
        payload = self._find(channel_id, message_id)
        if payload is None:
            raise KeyError(message_id)
        users = self._reactors.setdefault((message_id, emoji), [])
        if add == (user_id in users):
            return False
        if add:
            users.append(user_id)
        else:
            users.remove(user_id)
        self._refresh_reactions(payload, emoji)
        event: dict[str, Any] = {
            "user_id": user_id,
            "channel_id": channel_id,
            "message_id": message_id,
            "guild_id": self.guild_id,
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }
        if add:
            member = self._members.get(user_id)
            if member is not None:
                event["member"] = member
            event["message_author_id"] = payload["author"]["id"]
            event["burst_colors"] = []
        self._dispatch("MESSAGE_REACTION_ADD" if add else "MESSAGE_REACTION_REMOVE", event)
        return True

    def _refresh_reactions(self, payload: dict[str, Any], emoji: str) -> None:
        users = self._reactors.get((payload["id"], emoji), [])
        reactions = [r for r in payload["reactions"] if r["emoji"]["name"] != emoji]
        if users:
            reactions.append(
                {
                    "emoji": {"id": None, "name": emoji},
                    "count": len(users),
                    "count_details": {"burst": 0, "normal": len(users)},
                    "burst_colors": [],
                    "me_burst": False,
                    "me": self.bot_id in users,
                }
            )
        payload["reactions"] = reactions

    def create_thread(
        self, channel_id: str, name: str, owner_key: str, *, content: str = ""
    ) -> dict[str, Any]:
        """A member starts a thread (dispatched as THREAD_CREATE); ``content`` is its first post."""
        if channel_id not in self._channels:
            raise KeyError(channel_id)
        tid = self._next_id()
        thread = self._thread_payload(tid, channel_id, name, self._user_id(owner_key), datetime.now(UTC))
        self._threads[tid] = thread
        self._dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        if content:
            self.post_message(tid, owner_key, content)
        return thread

    def update_thread(
        self,
        thread_id: str,
        *,
        name: str | None = None,
        archived: bool | None = None,
        locked: bool | None = None,
    ) -> dict[str, Any]:
        """Rename, archive or lock a thread: dispatched as THREAD_UPDATE."""
        thread = self._threads[thread_id]
        if name is not None:
            thread["name"] = name
        meta = thread["thread_metadata"]
        if archived is not None:
            meta["archived"] = archived
            meta["archive_timestamp"] = _iso(datetime.now(UTC))
        if locked is not None:
            meta["locked"] = locked
        self._dispatch("THREAD_UPDATE", thread)
        return thread

    def messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Every stored message of a channel or thread, oldest first."""
        per = self._messages.get(channel_id, {})
        return [per[i] for i in self._order.get(channel_id, [])]

    def sent_messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Messages the bot created in a channel through the REST API (deduplicated sends count once)."""
        return list(self._sent.get(channel_id, []))

    def text_channel_ids(self, *, include_moderator_only: bool = False) -> list[str]:
        """Ids of the guild's text channels, in position order."""
        return [
            cid
            for cid, ch in self._channels.items()
            if ch["type"] in (GUILD_TEXT, GUILD_ANNOUNCEMENT)
            and (include_moderator_only or cid not in self._moderator_only)
        ]

    def thread_ids(self, *, active_only: bool = True) -> list[str]:
        """Ids of the guild's threads."""
        return [
            tid for tid, t in self._threads.items() if not (active_only and t["thread_metadata"]["archived"])
        ]

    async def simulate_activity(self, rng: random.Random) -> dict[str, Any]:
        """One bit of community life: a member posts (sometimes a reply) in a random public channel."""
        channels = [c for c in self.text_channel_ids() if self._channels[c]["type"] == GUILD_TEXT]
        channels = channels or self.text_channel_ids() or list(self._channels)
        members = [m for m in self.community.members if not m.blocked and m.discord_id is not None]
        member = rng.choice(members) if members else Member(key="guest", display_name="Guest")
        threads = [t for t in self.thread_ids() if self._threads[t]["parent_id"] in channels]
        where = rng.choice(threads) if threads and rng.random() < 0.2 else rng.choice(channels)
        topic = self._threads[where]["parent_id"] if where in self._threads else where
        channel_name = self._channels[topic]["name"]
        recent = self._order.get(where, [])[-20:]
        reply_to = str(rng.choice(recent)) if recent and rng.random() < 0.25 else None
        if recent and rng.random() < 0.15:
            with contextlib.suppress(KeyError):
                self.add_reaction(where, str(rng.choice(recent)), member.key, "👍")
        text = reply_text(rng, channel_name) if reply_to else message_text(rng, channel_name)
        return self.post_message(where, member.key, text, reply_to=reply_to)

    async def burst(
        self,
        count: int,
        *,
        channel_ids: list[str] | None = None,
        author_key: str | None = None,
        chunk: int = 200,
        drop_after: int | None = None,
    ) -> list[str]:
        """Post ``count`` messages as fast as the loop allows (load mode); returns their ids.

        ``drop_after``: cut every gateway connection abnormally once it has written that many dispatch frames
        of the burst (``drop_gateway_after``), so the cut falls while frames are still queued and messages
        still to be posted. Each cut is recorded in ``drops``.
        """
        channels = channel_ids or self.text_channel_ids()
        authors = [m.key for m in self.community.members if not m.blocked] or ["guest"]
        ids: list[str] = []
        self._burst_posted, self._burst_total = 0, count
        if drop_after is not None:
            self.drop_gateway_after(drop_after)
        try:
            for i in range(count):
                author = author_key or authors[i % len(authors)]
                ids.append(self.post_message(channels[i % len(channels)], author, f"load message {i}")["id"])
                self._burst_posted = i + 1
                if i % chunk == chunk - 1:
                    await asyncio.sleep(0)  # let the gateway writers run
        finally:
            self._burst_posted = self._burst_total = 0
        return ids

    # ------------------------------------------------------------------------------------------ faults

    def fail_next(
        self,
        path_pattern: str,
        status: int,
        retry_after: float | None = None,
        count: int = 1,
        *,
        method: str | None = None,
    ) -> None:
        """Answer the next ``count`` REST calls whose path matches the glob ``path_pattern`` with ``status``.

        The path is matched with and without the ``/api/v10`` prefix, e.g. ``"/channels/*/messages"``.
        A 429 carries a ``Via`` header and Discord's JSON body: discord.py sleeps ``retry_after``, retries.
        """
        self._failures.append(_Failure(path_pattern, status, retry_after, count, method))

    def stall(self, seconds: float) -> None:
        """Hold every REST answer and gateway frame (heartbeat ACKs included) for ``seconds`` from now."""
        self._stalled_until = asyncio.get_running_loop().time() + seconds

    def drop_gateway(self) -> None:
        """Cut every gateway connection abnormally; sessions stay resumable."""
        for conn in list(self._connections):
            self._detach(conn)
            conn.abort()

    def drop_gateway_after(self, frames: int) -> None:
        """Cut every current gateway connection abnormally once it has written ``frames`` more dispatch
        frames (sessions stay resumable). What each connection had written and still queued is recorded in
        ``drops``: unlike ``drop_gateway`` after a burst, this cuts while frames are still on their way."""
        if frames < 1:
            raise ValueError("frames must be at least 1")
        for conn in list(self._connections):
            if conn.session is not None and not conn.dead:
                conn.drop_after = frames
                conn.written_since_armed = 0

    def _cut_after_frames(self, conn: _Connection, frame: str) -> None:
        """Count a dispatch frame just written on an armed connection; cut it when the count is reached."""
        if not frame.startswith('{"op":0,'):
            return  # heartbeat ACKs and the like are not part of what is being delivered
        conn.written_since_armed += 1
        if conn.drop_after is None or conn.written_since_armed < conn.drop_after or conn.dead:
            return
        session = conn.session
        # What is still queued never reaches this socket (the session's buffer keeps it for a RESUME).
        unsent: list[str] = []
        while not conn.queue.empty():
            queued = conn.queue.get_nowait()
            if queued is not None:
                unsent.append(queued)
        self.drops.append(
            GatewayDrop(
                session_id=session.id if session is not None else "",
                written=conn.written_since_armed,
                unsent=len(unsent),
                unsent_message_ids=_message_create_ids(unsent),
                last_written_seq=int(json.loads(frame)["s"]),
                burst_posted=self._burst_posted,
                burst_total=self._burst_total,
            )
        )
        conn.drop_after = None
        drop = self.drops[-1]
        log.info("gateway cut after %d frames with %d still queued", drop.written, drop.unsent)
        self._detach(conn)
        conn.abort()

    def invalidate_sessions(self) -> None:
        """Forget every gateway session and cut the connections: clients must IDENTIFY afresh (op 9)."""
        self._sessions.clear()
        for conn in list(self._connections):
            conn.session = None
            conn.abort()

    def send_reconnect(self) -> None:
        """Ask every connected client to reconnect and resume (op 7)."""
        for conn in list(self._connections):
            conn.send('{"op":7,"d":null}')

    def rotate_token(self) -> str:
        """Issue a new bot token; the old one is rejected from now on (REST 401, gateway 4004)."""
        self._token = self._make_token()
        return self._token

    def member_interested(self, event_id: str, member_key: str, on: bool = True) -> int:
        """A member marks (or unmarks) interest in a scheduled event; returns the new interested count."""
        return self.scheduled_events.member_interested(event_id, member_key, on)

    def dispatch_raw(self, event: str, data: Any) -> None:
        """Send any dispatch, even a malformed one, to every session."""
        self._dispatch(event, data)

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    @property
    def connection_count(self) -> int:
        return len(self._connections)

    # ------------------------------------------------------------------------------------------ gateway

    def _dispatch(self, event: str, data: Any) -> None:
        body = json_dumps(data)
        name = json.dumps(event)
        for session in list(self._sessions.values()):
            self._session_dispatch(session, name, body)

    @staticmethod
    def _session_dispatch(session: _Session, name: str, body: str) -> None:
        session.seq += 1
        frame = f'{{"op":0,"t":{name},"s":{session.seq},"d":{body}}}'
        session.buffer.append((session.seq, frame))
        if session.conn is not None:
            session.conn.send(frame)

    def _detach(self, conn: _Connection) -> None:
        session = conn.session
        if session is not None and session.conn is conn:
            session.conn = None
            session.detached_at = time.monotonic()

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=4 * 1024 * 1024)
        await ws.prepare(request)
        conn = _Connection(ws, request.transport)
        self._connections.add(conn)
        conn.writer = asyncio.create_task(self._write_loop(conn))
        conn.send(
            json_dumps(
                {"op": 10, "s": None, "t": None, "d": {"heartbeat_interval": self.heartbeat_interval_ms}}
            )
        )
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                try:
                    payload = json.loads(msg.data)
                    op = payload["op"]
                    data = payload.get("d")
                    if not isinstance(data, dict):
                        data = {}
                except (ValueError, KeyError, TypeError, AttributeError):
                    await self._close(conn, CLOSE_DECODE_ERROR, "Decode error.")
                    break
                if op == 1:
                    conn.send('{"op":11,"s":null,"t":null,"d":null}')
                elif op == 2:
                    await self._identify(conn, data)
                elif op == 6:
                    await self._resume(conn, data)
                elif op == 8:
                    self._request_members(conn, data)
                elif op in (3, 4):
                    pass  # presence and voice state updates: nothing to do in the sandbox
                else:
                    await self._close(conn, CLOSE_UNKNOWN_OPCODE, "Unknown opcode.")
                    break
        except ConnectionError:
            pass  # the client vanished; its session stays resumable
        finally:
            self._connections.discard(conn)
            session = conn.session
            self._detach(conn)
            conn.dead = True
            conn.queue.put_nowait(None)
            # A client's deliberate close (1000) ends its session; anything else leaves it resumable.
            if session is not None and ws.close_code == 1000 and session.conn is None:
                self._sessions.pop(session.id, None)
        return ws

    async def _write_loop(self, conn: _Connection) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await conn.queue.get()
                if frame is None or conn.dead:
                    return
                delay = self._stalled_until - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                await conn.ws.send_str(frame)
                if conn.drop_after is not None:
                    self._cut_after_frames(conn, frame)
        except (ConnectionError, RuntimeError):
            return  # the socket went away; the session keeps the frames for a RESUME

    async def _close(self, conn: _Connection, code: int, reason: str) -> None:
        conn.dead = True
        conn.queue.put_nowait(None)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await conn.ws.close(code=code, message=reason.encode())

    async def _identify(self, conn: _Connection, data: dict[str, Any]) -> None:
        if data.get("token") != self._token:
            await self._close(conn, CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return
        if conn.session is not None:
            await self._close(conn, CLOSE_ALREADY_AUTHENTICATED, "Already authenticated.")
            return
        self.identify_count += 1
        self._expire_sessions()
        session = _Session(id=secrets.token_hex(16))
        self._sessions[session.id] = session
        session.conn = conn
        conn.session = session
        ready = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": self.guild_id, "unavailable": True}],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": f"ws://{self.host}:{self.port}/gateway",
            "application": {"id": self.community.application_id, "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "auth": {},
            "shard": [0, 1],
        }
        self._session_dispatch(session, '"READY"', json_dumps(ready))
        self._session_dispatch(session, '"GUILD_CREATE"', json_dumps(self._guild_create()))

    async def _resume(self, conn: _Connection, data: dict[str, Any]) -> None:
        if data.get("token") != self._token:
            await self._close(conn, CLOSE_AUTHENTICATION_FAILED, "Authentication failed.")
            return
        session = self._sessions.get(str(data.get("session_id")))
        seq = data.get("seq")
        oldest = session.buffer[0][0] if session is not None and session.buffer else 1
        if session is None or not isinstance(seq, int) or seq < oldest - 1 or seq > session.seq:
            conn.send('{"op":9,"s":null,"t":null,"d":false}')
            return
        if session.conn is not None and session.conn is not conn:
            session.conn.abort()  # a half-open older socket of the same session
        replay = [frame for s, frame in session.buffer if s > seq]
        for frame in replay:
            conn.send(frame)
        self.resumes.append(GatewayResume(session.id, seq, tuple(replay)))
        self.resume_count += 1
        session.conn = conn
        conn.session = session
        self._session_dispatch(session, '"RESUMED"', "{}")

    def _expire_sessions(self) -> None:
        cutoff = time.monotonic() - 300
        for sid, session in list(self._sessions.items()):
            if session.conn is None and session.detached_at and session.detached_at < cutoff:
                del self._sessions[sid]

    def _request_members(self, conn: _Connection, data: dict[str, Any]) -> None:
        members = list(self._members.values())
        user_ids = data.get("user_ids")
        if user_ids:
            wanted = {str(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
            members = [m for m in members if m["user"]["id"] in wanted]
        query = data.get("query")
        if query:
            members = [m for m in members if m["user"]["username"].lower().startswith(str(query).lower())]
        limit = data.get("limit") or 0
        if limit:
            members = members[:limit]
        chunk = {
            "guild_id": self.guild_id,
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
            "nonce": data.get("nonce"),
        }
        if conn.session is not None:
            self._session_dispatch(conn.session, '"GUILD_MEMBERS_CHUNK"', json_dumps(chunk))

    # ------------------------------------------------------------------------------------------ REST

    def _routes(self) -> list[tuple[str, str, Callable[[web.Request], Awaitable[web.StreamResponse]]]]:
        return [
            ("GET", "/users/@me", self._get_me),
            ("GET", "/users/{user_id}", self._get_user),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/applications/@me", self._get_application),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway),
            ("GET", "/guilds/{guild_id}", self._get_guild),
            ("GET", "/guilds/{guild_id}/channels", self._get_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self._get_guild_roles),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_guild_member),
            ("GET", "/guilds/{guild_id}/threads/active", self._get_active_threads),
            ("GET", "/channels/{channel_id}/threads/archived/public", self._get_archived_threads),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("GET", "/channels/{channel_id}/messages", self._get_messages),
            ("POST", "/channels/{channel_id}/messages", self._post_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._patch_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}", self._get_reactions),
            (
                "PUT",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user}",
                self._put_reaction,
            ),
            (
                "DELETE",
                "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/{user}",
                self._delete_reaction,
            ),
            *self._ticket_routes(),
            *self.scheduled_events.routes(),
        ]

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        path = request.path[len(API_PREFIX) :]
        self.requests.append((request.method, path))
        delay = self._stalled_until - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)
        for failure in self._failures:
            if failure.matches(request.method, path):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return self._failure_response(failure)
        # Interaction callbacks authenticate with the interaction's token in the path, not the bot token.
        bot_auth = request.headers.get("Authorization") == f"Bot {self._token}"
        if not path.startswith("/interactions/") and not bot_auth:
            return json_response({"message": "401: Unauthorized", "code": 0}, status=401)
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except _ApiError as exc:
            return json_response({"message": exc.message, "code": exc.code, **exc.extra}, status=exc.status)

    @staticmethod
    def _failure_response(failure: _Failure) -> web.Response:
        if failure.status == 429:
            retry_after = 0.05 if failure.retry_after is None else failure.retry_after
            body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
            headers = {"Via": "1.1 google", "Retry-After": str(max(1, int(retry_after + 0.999)))}
            return json_response(body, status=429, headers=headers)
        if failure.status >= 500:
            return json_response(
                {"message": f"{failure.status}: Server Error", "code": 0}, status=failure.status
            )
        return json_response(
            {"message": f"{failure.status}: Request failed", "code": 0}, status=failure.status
        )

    async def _get_me(self, request: web.Request) -> web.Response:
        return json_response(
            {**self.bot_user, "mfa_enabled": False, "locale": "en-US", "verified": True, "email": None}
        )

    async def _get_user(self, request: web.Request) -> web.Response:
        user = self._users.get(request.match_info["user_id"])
        if user is None:
            raise _ApiError(404, 10013, "Unknown User")
        return json_response(user)

    async def _get_application(self, request: web.Request) -> web.Response:
        owner = self._users.get(self._owner_id(), self.bot_user)
        return json_response(
            {
                "id": self.community.application_id,
                "name": "Atlas Desk",
                "icon": None,
                "description": "Moderation desk for the Atlas community",
                "type": None,
                "bot": self.bot_user,
                "bot_public": False,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 1 << 15 | 1 << 19,
                "flags_new": str(1 << 15 | 1 << 19),
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "role_connections_verification_url": None,
                "owner": owner,
                "approximate_guild_count": 1,
                "approximate_user_install_count": 0,
                "approximate_user_authorization_count": 0,
                "explicit_content_filter": 0,
                "team": None,
                "eligible_oauth2_scopes": [],
                "rpc_origins": [],
                "summary": "",
                "hook": True,
                "tags": [],
            }
        )

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": f"ws://{self.host}:{self.port}/gateway",
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    def _check_guild(self, request: web.Request) -> None:
        if request.match_info["guild_id"] != self.guild_id:
            raise _ApiError(404, 10004, "Unknown Guild")

    async def _get_guild(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        guild = self._guild_payload()
        if request.query.get("with_counts") in ("true", "True", "1"):
            guild["approximate_member_count"] = len(self._members)
            guild["approximate_presence_count"] = 0
        return json_response(guild)

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        return json_response(list(self._channels.values()))

    async def _get_guild_roles(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        return json_response(self._roles)

    async def _get_guild_member(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        member = self._members.get(request.match_info["user_id"])
        if member is None:
            raise _ApiError(404, 10007, "Unknown Member")
        return json_response(member)

    async def _get_active_threads(self, request: web.Request) -> web.Response:
        self._check_guild(request)
        threads = [t for t in self._threads.values() if not t["thread_metadata"]["archived"]]
        return json_response({"threads": threads, "members": [], "has_more": False})

    async def _get_archived_threads(self, request: web.Request) -> web.Response:
        cid = self._channel_or_404(request)
        try:
            limit = min(max(int(request.query.get("limit", "50")), 2), 100)
            before = datetime.fromisoformat(request.query["before"]) if "before" in request.query else None
        except ValueError:
            raise _ApiError(400, 50035, "Invalid Form Body") from None
        archived = [
            t
            for t in self._threads.values()
            if t["parent_id"] == cid and t["type"] == PUBLIC_THREAD and t["thread_metadata"]["archived"]
        ]
        archived.sort(key=lambda t: (t["thread_metadata"]["archive_timestamp"], int(t["id"])), reverse=True)
        if before is not None:
            archived = [
                t
                for t in archived
                if datetime.fromisoformat(t["thread_metadata"]["archive_timestamp"]) < before
            ]
        page = archived[:limit]
        return json_response({"threads": page, "members": [], "has_more": len(archived) > limit})

    def _channel_or_404(self, request: web.Request) -> str:
        cid = request.match_info["channel_id"]
        if not self._channel_exists(cid):
            raise _ApiError(404, 10003, "Unknown Channel")
        return cid

    async def _get_channel(self, request: web.Request) -> web.Response:
        cid = self._channel_or_404(request)
        return json_response(self._threads.get(cid) or self._channels.get(cid) or self._dm_channels[cid])

    async def _get_messages(self, request: web.Request) -> web.Response:
        cid = self._channel_or_404(request)
        q = request.query
        try:
            limit = min(max(int(q.get("limit", "50")), 1), 100)
            before = int(q["before"]) if "before" in q else None
            after = int(q["after"]) if "after" in q else None
            around = int(q["around"]) if "around" in q else None
        except ValueError:
            raise _ApiError(400, 50035, "Invalid Form Body") from None
        order = self._order.get(cid, [])
        if around is not None:
            i = bisect.bisect_left(order, around)
            start = max(0, i - limit // 2)
            chosen = order[start : start + limit]
        elif before is not None:
            i = bisect.bisect_left(order, before)
            chosen = order[max(0, i - limit) : i]
        elif after is not None:
            i = bisect.bisect_right(order, after)
            chosen = order[i : i + limit]
        else:
            chosen = order[-limit:]
        per = self._messages.get(cid, {})
        return json_response([per[m] for m in reversed(chosen)])  # newest first, as Discord answers

    async def _get_message(self, request: web.Request) -> web.Response:
        cid = self._channel_or_404(request)
        payload = self._find(cid, request.match_info["message_id"])
        if payload is None:
            raise _ApiError(404, 10008, "Unknown Message")
        return json_response(payload)

    async def _read_body(self, request: web.Request) -> dict[str, Any]:
        try:
            if request.content_type.startswith("multipart/"):
                reader = await request.multipart()
                async for part in reader:
                    if getattr(part, "name", None) == "payload_json":
                        data = json.loads(await part.text())  # type: ignore[union-attr]
                        break
                else:
                    data = {}
            elif request.can_read_body:
                data = await request.json()
            else:
                data = {}
        except ValueError:
            raise _ApiError(400, 50109, "The request body contains invalid JSON.") from None
        if not isinstance(data, dict):
            raise _ApiError(400, 50035, "Invalid Form Body")
        return data

    async def _post_message(self, request: web.Request) -> web.Response:
        cid = self._channel_or_404(request)
        data = await self._read_body(request)
        content = data.get("content") or ""
        if not isinstance(content, str):
            raise _ApiError(400, 50035, "Invalid Form Body")
        nonce = data.get("nonce")
        nonce_key = (cid, str(nonce)) if nonce is not None and data.get("enforce_nonce") else None
        if nonce_key is not None:
            seen = self._nonces.get(nonce_key)
            if seen is not None and time.monotonic() - seen[1] < self.nonce_window:
                existing = self._find(cid, seen[0])
                if existing is not None:
                    return json_response(existing)
        if not content.strip() and not data.get("embeds") and not data.get("sticker_ids"):
            raise _ApiError(400, 50006, "Cannot send an empty message")
        if len(content) > _CONTENT_LIMIT:
            raise _ApiError(
                400,
                50035,
                "Invalid Form Body",
                errors={
                    "content": {
                        "_errors": [
                            {
                                "code": "BASE_TYPE_MAX_LENGTH",
                                "message": f"Must be {_CONTENT_LIMIT} or fewer in length.",
                            }
                        ]
                    }
                },
            )
        thread = self._threads.get(cid)
        if thread is not None and thread["thread_metadata"]["locked"]:
            raise _ApiError(403, 50083, "Thread is locked")
        reply_to = None
        reference = data.get("message_reference")
        if isinstance(reference, dict) and reference.get("message_id"):
            reply_to = str(reference["message_id"])
            if self._find(cid, reply_to) is None:
                if reference.get("fail_if_not_exists", True):
                    raise _ApiError(
                        400,
                        50035,
                        "Invalid Form Body",
                        errors={
                            "message_reference": {
                                "_errors": [
                                    {
                                        "code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE",
                                        "message": "Unknown message",
                                    }
                                ]
                            }
                        },
                    )
                reply_to = None
        payload = self._message_payload(
            self._next_id(),
            cid,
            self.bot_user,
            content,
            datetime.now(UTC),
            reply_to=reply_to,
            nonce=str(nonce) if nonce is not None else None,
        )
        if data.get("embeds"):
            payload["embeds"] = data["embeds"]
        if data.get("components"):
            payload["components"] = data["components"]
        self._unarchive(cid)
        self._store(payload)
        self._sent.setdefault(cid, []).append(payload)
        if nonce_key is not None:
            now = time.monotonic()
            if len(self._nonces) > 10_000:  # forget nonces older than the window
                self._nonces = {k: v for k, v in self._nonces.items() if now - v[1] < self.nonce_window}
            self._nonces[nonce_key] = (payload["id"], now)
        self._dispatch("MESSAGE_CREATE", self._gateway_message(payload))
        return json_response(payload)

    async def _patch_message(self, request: web.Request) -> web.Response:
        cid = self._channel_or_404(request)
        payload = self._find(cid, request.match_info["message_id"])
        if payload is None:
            raise _ApiError(404, 10008, "Unknown Message")
        if payload["author"]["id"] != self.bot_id:
            raise _ApiError(403, 50005, "Cannot edit a message authored by another user")
        data = await self._read_body(request)
        if "content" in data:
            content = data["content"] or ""
            if len(content) > _CONTENT_LIMIT:
                raise _ApiError(400, 50035, "Invalid Form Body")
            payload["content"] = content
        for key in ("embeds", "components", "flags"):
            if key in data and data[key] is not None:
                payload[key] = data[key]
        payload["edited_timestamp"] = _iso(datetime.now(UTC))
        self._dispatch("MESSAGE_UPDATE", self._gateway_message(payload))
        return json_response(payload)

    async def _delete_message(self, request: web.Request) -> web.Response:
        cid = self._channel_or_404(request)
        mid = request.match_info["message_id"]
        if self._unstore(cid, mid) is None:
            raise _ApiError(404, 10008, "Unknown Message")
        self._dispatch("MESSAGE_DELETE", {"id": mid, "channel_id": cid, "guild_id": self.guild_id})
        return web.Response(status=204)

    def _emoji(self, request: web.Request) -> str:
        emoji = unquote(request.match_info["emoji"])
        # custom emoji arrive as name:id; the sandbox has none, so keep the name
        return emoji.split(":", 1)[0] if ":" in emoji else emoji

    def _reaction_user(self, request: web.Request) -> str:
        user = request.match_info["user"]
        return self.bot_id if user == "@me" else user

    async def _get_reactions(self, request: web.Request) -> web.Response:
        cid = self._channel_or_404(request)
        mid = request.match_info["message_id"]
        if self._find(cid, mid) is None:
            raise _ApiError(404, 10008, "Unknown Message")
        users = self._reactors.get((mid, self._emoji(request)), [])
        after = request.query.get("after")
        ids = sorted(users, key=int)
        if after:
            ids = [u for u in ids if int(u) > int(after)]
        limit = min(max(int(request.query.get("limit", "25")), 1), 100)
        return json_response([self._users[u] for u in ids[:limit] if u in self._users])

    async def _put_reaction(self, request: web.Request) -> web.Response:
        cid = self._channel_or_404(request)
        if request.match_info["user"] != "@me":
            raise _ApiError(405, 0, "405: Method Not Allowed")
        try:
            self._react(cid, request.match_info["message_id"], self.bot_id, self._emoji(request), add=True)
        except KeyError:
            raise _ApiError(404, 10008, "Unknown Message") from None
        return web.Response(status=204)

    async def _delete_reaction(self, request: web.Request) -> web.Response:
        cid = self._channel_or_404(request)
        try:
            self._react(
                cid,
                request.match_info["message_id"],
                self._reaction_user(request),
                self._emoji(request),
                add=False,
            )
        except KeyError:
            raise _ApiError(404, 10008, "Unknown Message") from None
        return web.Response(status=204)


class _ApiError(Exception):
    """A Discord-style JSON error answer."""

    def __init__(self, status: int, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


def _message_create_ids(frames: Sequence[str]) -> tuple[str, ...]:
    """The message ids of the MESSAGE_CREATE dispatches among gateway frames (for the fault records)."""
    return tuple(
        str(json.loads(f)["d"]["id"]) for f in frames if f.startswith('{"op":0,"t":"MESSAGE_CREATE"')
    )


def _without_reference(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "referenced_message"}
