"""The Discord connector: a discord.py ``Client`` feeding the inbox.

Flow: login → gateway (READY, GUILD_CREATE) → backfill every watched channel and active thread since its
stored cursor → live events. Live messages are batched (every ``batch_interval`` seconds or ``batch_size``
items) so ingestion keeps up with thousands of messages per second. A channel's cursor only moves after the
messages it covers were ingested, and never past history that a running backfill has not fetched yet, so a
restart neither refetches nor skips. Gateway drops are resumed by discord.py; a fresh session (READY again)
backfills the gap.

Defensive: a malformed or hostile gateway payload makes discord.py's parser raise, which would end the
connection; every parser is wrapped so such an event is logged and skipped while the connection stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, Protocol

import aiohttp
import discord
import yarl

from atlas_desk.core.background import wait_event
from atlas_desk.core.types import ActionError, ConnectionState, InboxItem, OutboxAction, Platform
from atlas_desk.platforms.base import ConnectorSink
from atlas_desk.platforms.discord.translate import (
    CONVERSATION_TYPE_VALUES,
    UPVOTE,
    is_conversation,
    message_to_item,
    payload_to_item,
)

log = logging.getLogger("atlas_desk.discord")

DEFAULT_API = "https://discord.com/api/v10"
DEFAULT_GATEWAY = "wss://gateway.discord.gg/"
NONCE_LENGTH = 25  # Discord accepts nonces of at most 25 characters
HISTORY_BATCH = 100
RECENT_LIMIT = 20_000  # messages remembered for de-duplication, deletes and reaction counts
RECENT_CHARS = 16_000_000  # ... and at most this much of their text
# Replaying a reply: how far before the action was queued to start looking (the desk's clock and Discord's may
# disagree), and at most how many messages to read looking for it.
REPLAY_CLOCK_SLACK = timedelta(minutes=2)
REPLAY_SCAN_LIMIT = 500
# How long the gateway task may go on handling already-received events before it lets the loop run: under
# qasync the loop is the GUI thread, and its timers and paints must come round at least every few frames.
GATEWAY_SLICE = 0.008
MAX_RATELIMIT_WAIT = 30.0

# Gateway close codes after which reconnecting cannot help, in the moderator's words.
_FATAL_CLOSE = {
    4004: "the bot token was rejected (4004)",
    4010: "Discord rejected the connection settings (invalid shard, 4010)",
    4011: "the bot is in too many servers for one connection (4011)",
    4012: "Discord rejected the API version (4012)",
    4013: "Discord rejected the requested events (invalid intents, 4013)",
    4014: "the bot lacks the Message Content / Server Members intents: enable them in the Discord "
    "Developer Portal (4014)",
}


class DiscordSettingsLike(Protocol):
    """What the connector reads from the ``[discord]`` settings (``atlas_desk.config.DiscordSettings``)."""

    @property
    def api(self) -> str: ...
    @property
    def gateway(self) -> str: ...
    @property
    def guild_id(self) -> str: ...
    @property
    def watch_channels(self) -> Sequence[str]: ...
    @property
    def tickets_forum_id(self) -> str: ...
    @property
    def support_channel_id(self) -> str: ...
    @property
    def relay(self) -> bool: ...


def configure_endpoints(api: str, gateway: str) -> None:
    """Point discord.py at a Discord (the real one or a sandbox). Process-wide: set before a client starts."""
    discord.http.Route.BASE = (api or DEFAULT_API).rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway or DEFAULT_GATEWAY)


def nonce_for(idempotency_key: str) -> str:
    """A Discord message nonce (≤ 25 characters) derived from an outbox idempotency key."""
    return hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:NONCE_LENGTH]


def desk_intents() -> discord.Intents:
    """The gateway intents the desk needs: guild structure, members, messages with content, reactions."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.members = True
    intents.guild_messages = True
    intents.message_content = True
    intents.reactions = True
    intents.guild_scheduled_events = True  # the calendar's AMAs and their interested counts
    return intents


def _stream(channel_id: int) -> str:
    return f"channel:{channel_id}"


class _DeskClient(discord.Client):
    """discord.py's client with its events wired to the connector."""

    def __init__(self, connector: DiscordConnector, *, reidentify_delay: float, **options: Any) -> None:
        super().__init__(**options)
        self._desk = connector
        self._reidentify_delay = reidentify_delay
        _take_messages_raw(self, connector)
        _guard_parsers(self)
        _pace_gateway(self)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py waits 5 s before every IDENTIFY after the first (Discord's identify rate limit).
        if not initial:
            await asyncio.sleep(self._reidentify_delay)

    async def on_connect(self) -> None:
        self._desk._on_connect()

    async def on_ready(self) -> None:
        self._desk._on_ready()

    async def on_resumed(self) -> None:
        self._desk._set_state(ConnectionState.LIVE)

    async def on_disconnect(self) -> None:
        self._desk._on_disconnect()

    def dispatch(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        # Messages reach the connector synchronously, inside the gateway's parse: an ``async on_message``
        # costs a task and a loop round per message, which on the desk's qasync loop is a Qt timer each.
        if event == "message":
            self._desk._on_message(args[0])
        super().dispatch(event, *args, **kwargs)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        self._desk._on_edit(payload)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        self._desk._on_delete(payload)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self._desk._on_reaction(payload, +1)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        self._desk._on_reaction(payload, -1)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.exception("error while handling the Discord event %s; carrying on", event_method)


def _take_messages_raw(client: discord.Client, connector: DiscordConnector) -> None:
    """Let the connector take inbox messages straight from the MESSAGE_CREATE payload.

    Building a ``discord.Message`` (author, member, mentions, embeds, reactions...) was about a third of what
    a live message cost the desk, only for the connector to read a dozen fields back out of it. Messages the
    connector takes are not in discord.py's message cache and raise no ``on_message``: nothing in this
    client listens for them (the ticket relay has a client of its own). Everything else — DMs, other
    servers, unwatched channels, system messages, anything unusual — goes to discord.py's parser as before.
    """
    parsers: dict[str, Callable[[Any], None]] = client._connection.parsers
    parse = parsers.get("MESSAGE_CREATE")
    if parse is None:  # a private table: if a later discord.py renames it, lose the shortcut, not messages
        log.warning("discord.py has no MESSAGE_CREATE parser table: messages take the slow path")
        return

    def parse_message_create(data: Any) -> None:
        if not connector._take_raw_message(data):
            parse(data)

    parsers["MESSAGE_CREATE"] = parse_message_create


def _guard_parsers(client: discord.Client) -> None:
    """Make every gateway event parser log and skip a payload it cannot parse instead of dropping the link."""
    parsers: dict[str, Callable[[Any], None]] = client._connection.parsers
    ignored = 0

    def guard(name: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
        def guarded(data: Any) -> None:
            nonlocal ignored
            try:
                parse(data)
            except Exception as exc:  # a hostile or malformed event must not end the connection
                ignored += 1
                if ignored <= 20 or ignored % 1000 == 0:  # a hostile stream must not flood the log either
                    log.warning(
                        "ignored a malformed %s event from Discord (%s: %s; %d so far)",
                        name,
                        type(exc).__name__,
                        str(exc)[:200],
                        ignored,
                    )

        return guarded

    for name, parse in list(parsers.items()):
        parsers[name] = guard(name, parse)


def _pace_gateway(client: discord.Client) -> None:
    """Make every gateway connection's event loop yield to the asyncio loop after ``GATEWAY_SLICE`` of work.

    discord.py handles every event already in the socket's buffer in one go (aiohttp hands them over without
    suspending), so a burst of a few thousand messages a second held the desk's GUI thread for 60–100 ms at
    a time. Every connection (a fresh one or a resume) passes through ``_update_references``: the hook.
    """
    state: Any = client._connection
    update: Callable[[Any], None] | None = getattr(state, "_update_references", None)
    if update is None:  # a private hook: if a later discord.py drops it, lose the pacing, not the connection
        log.warning("discord.py has no _update_references: gateway events are not paced")
        return

    def update_and_pace(ws: Any) -> None:
        update(ws)
        poll: Callable[[], Awaitable[None]] = ws.poll_event
        slice_end = time.monotonic() + GATEWAY_SLICE

        async def paced_poll_event() -> None:
            nonlocal slice_end
            await poll()
            if time.monotonic() >= slice_end:
                await asyncio.sleep(0)
                slice_end = time.monotonic() + GATEWAY_SLICE

        ws.poll_event = paced_poll_event

    state._update_references = update_and_pace


class DiscordConnector:
    """Connector for one Discord server (guild), implementing ``atlas_desk.platforms.base.Connector``."""

    platform = Platform.DISCORD

    def __init__(
        self,
        settings: DiscordSettingsLike,
        token: str,
        sink: ConnectorSink,
        *,
        guild_ready_timeout: float = 0.5,
        batch_interval: float = 0.05,
        batch_size: int = 500,
        first_sync_limit: int | None = None,
        max_backoff: float = 60.0,
        reidentify_delay: float = 5.0,
    ) -> None:
        """``reidentify_delay``: wait before a fresh IDENTIFY after a lost session (Discord's rate limit: keep
        5 s against the real Discord; tests against the sandbox may shorten it)."""
        self.settings = settings
        self._token = token
        self._sink = sink
        self._guild_ready_timeout = guild_ready_timeout
        self._batch_interval = batch_interval
        self._batch_size = batch_size
        self._first_sync_limit = first_sync_limit
        self._max_backoff = max_backoff
        self._reidentify_delay = reidentify_delay
        self._guild_id = int(settings.guild_id) if str(settings.guild_id).isdigit() else None
        self._tickets_forum = (
            int(settings.tickets_forum_id) if str(settings.tickets_forum_id).isdigit() else None
        )
        self._watch = {int(c) for c in settings.watch_channels if str(c).isdigit()}
        self._state = ConnectionState.OFFLINE
        self._reason = ""
        self._client: _DeskClient | None = None
        self._runner: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._stop_event = asyncio.Event()
        self._ended = asyncio.Event()
        self._caught_up = asyncio.Event()
        self._fatal = ""
        self._attempt_ready = False
        # live batching
        self._pending: list[InboxItem] = []
        self._pending_cursors: dict[int, int] = {}
        self._pending_floor: dict[int, int] = {}  # oldest queued live message per channel
        self._inflight_floor: dict[int, int] = {}  # ... of the batch being stored right now
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._flush_lock = asyncio.Lock()
        # cursors and backfill
        self._cursors: dict[str, int] = {}
        self._written: dict[str, int] = {}
        self._cursor_lock = asyncio.Lock()
        self._backfill_lock = asyncio.Lock()
        self._backfill_pending = True
        self._backfilling: set[int] = set()
        self._backfilled: set[int] = set()
        self._targets: set[int] = set()
        self._blocked: set[int] = set()  # channels whose history a failed backfill did not fetch
        self._held: dict[int, int] = {}
        self._recent: OrderedDict[int, InboxItem] = OrderedDict()
        self._recent_chars = 0
        self.stats = {"live": 0, "backfilled": 0, "skipped": 0}
        # Extensions (the calendar's scheduled events): extra outbox action kinds, and hooks run on every
        # new discord.py client before it connects (to add event handlers).
        self.action_handlers: dict[str, Callable[[OutboxAction], Awaitable[dict[str, Any]]]] = {}
        self.client_hooks: list[Callable[[discord.Client], None]] = []

    # ------------------------------------------------------------------------------------------ protocol

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def reason(self) -> str:
        """Plain words on the current state (why offline, what is being retried)."""
        return self._reason

    @property
    def client(self) -> discord.Client | None:
        """The discord.py client while connected (for the ticket relay and setup checks)."""
        return self._client

    async def start(self) -> None:
        """Begin connecting in the background; progress is reported through ``sink.set_state``."""
        if self._runner is not None and not self._runner.done():
            return
        self._stopping = False
        self._fatal = ""
        self._stop_event.clear()
        self._ended.clear()
        self._caught_up.clear()
        self._backfill_pending = True
        configure_endpoints(self.settings.api, self.settings.gateway)
        self._flusher = asyncio.create_task(self._flush_loop(), name="discord-ingest")
        self._runner = asyncio.create_task(self._run(), name="discord-connector")

    async def stop(self) -> None:
        """Disconnect, ingest what was already received, and report offline. Safe to call twice."""
        if self._stopping and self._runner is None:
            return
        self._stopping = True
        self._stop_event.set()
        # Background work (backfill, pacing) first: closing the client under a request in flight
        # would fail it with "Session is closed", which is no fault.
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        if self._runner is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._runner), 10)
            except (TimeoutError, asyncio.CancelledError):
                self._runner.cancel()
                await asyncio.gather(self._runner, return_exceptions=True)
            self._runner = None
        if self._flusher is not None:
            async with self._flush_lock:  # never cut a batch off halfway through being stored
                self._flusher.cancel()
            await asyncio.gather(self._flusher, return_exceptions=True)
            self._flusher = None
        await self._flush(final=True)
        self._set_state(ConnectionState.OFFLINE, self._fatal or "stopped")

    async def backfill(self) -> None:
        """Fetch everything since the stored cursors and return once caught up (``sync --once``).

        Raises ``ConnectionError`` with a plain reason when Discord cannot be reached or refuses the bot.
        """
        if self._runner is None or self._runner.done():
            await self.start()
            try:
                await self._wait_caught_up()
            finally:
                await self.stop()
            return
        client = self._client
        if client is not None and client.is_ready():
            await self._backfill_all()
        else:
            await self._wait_caught_up()

    async def _wait_caught_up(self) -> None:
        caught_up = asyncio.create_task(self._caught_up.wait())
        ended = asyncio.create_task(self._ended.wait())
        try:
            await asyncio.wait({caught_up, ended}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            caught_up.cancel()
            ended.cancel()
        if not self._caught_up.is_set():
            raise ConnectionError(self._fatal or self._reason or "could not connect to Discord")

    async def wait_caught_up(self, timeout: float | None = None) -> None:
        """Wait until the first backfill after connecting has finished (tests, ``sync --once``)."""
        await asyncio.wait_for(self._wait_caught_up(), timeout)

    async def execute(self, action: OutboxAction) -> dict[str, Any]:
        """Perform an outbox action. ``reply``: post ``payload["content"]`` once, even when retried.

        Two guards keep a reply single: the message nonce, which Discord de-duplicates for a few minutes, and,
        for an action that was attempted before, a look through the channel's history for the message an
        earlier attempt posted (a replay after a crash may come long after Discord forgot the nonce).
        """
        handler = self.action_handlers.get(action.kind)
        if handler is not None:
            return await handler(action)
        if action.kind != "reply":
            raise ActionError(f"Discord cannot perform “{action.kind}” yet", retryable=False)
        payload = action.payload
        # Two payload shapes: {"content", "channel_id", "reply_to"}, and the inbox service's
        # {"body", "container_id", ...} with the replied-to message as the action's target.
        content = str(payload.get("content") or payload.get("body") or "")
        if not content.strip():
            raise ActionError("the reply is empty", retryable=False)
        if len(content) > 2000:
            raise ActionError(
                "Discord messages are limited to 2,000 characters: shorten the reply", retryable=False
            )
        raw_channel = str(payload.get("channel_id") or payload.get("container_id") or "")
        if not raw_channel.isdigit():
            raise ActionError("the reply does not say which Discord channel it belongs to", retryable=False)
        reply_to = str(payload.get("reply_to", action.target or ""))
        client = self._client
        if client is None or client.is_closed() or client.user is None:
            raise ActionError("not connected to Discord yet", retryable=True)
        channel = client.get_partial_messageable(int(raw_channel), guild_id=self._guild_id)
        reference = (
            discord.MessageReference(
                message_id=int(reply_to),
                channel_id=int(raw_channel),
                guild_id=self._guild_id,
                fail_if_not_exists=False,
            )
            if reply_to.isdigit() and reply_to != raw_channel
            else None
        )
        nonce = nonce_for(action.idempotency_key)
        try:
            # ``attempts`` counts this try; a moderator's "try again" resets it but keeps the last error.
            earlier = (
                await self._sent_by_earlier_attempt(
                    channel, action, client.user.id, nonce, content, reference
                )
                if action.attempts > 1 or action.last_error
                else None
            )
            if earlier is not None:
                log.info("outbox action %d: its reply is already on Discord, not posting again", action.id)
                return {**_reply_result(earlier, raw_channel), "replayed": True}
            message = await channel.send(
                content,
                nonce=nonce,  # discord.py sets enforce_nonce with it
                reference=reference,  # type: ignore[arg-type]
                allowed_mentions=discord.AllowedMentions(
                    everyone=False, roles=False, users=True, replied_user=True
                ),
            )
        except discord.RateLimited as exc:
            raise ActionError(
                f"Discord is rate limiting the bot; trying again in {exc.retry_after:.0f} s",
                retryable=True,
                retry_after=exc.retry_after,
            ) from None
        except discord.HTTPException as exc:
            raise _action_error(exc) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ActionError(f"could not reach Discord ({type(exc).__name__})", retryable=True) from None
        return _reply_result(message, raw_channel)

    async def _sent_by_earlier_attempt(
        self,
        channel: discord.PartialMessageable,
        action: OutboxAction,
        bot_id: int,
        nonce: str,
        content: str,
        reference: discord.MessageReference | None,
    ) -> discord.Message | None:
        """The bot's message an earlier attempt of ``action`` posted, found in the channel's history.

        Read oldest first from shortly before the action was queued: an earlier attempt posted soon after.
        A message that carries a nonce is ours only with our nonce. Discord does not promise nonces in
        history, so without one the bot's message with the same text, replying to the same message, is
        taken as ours: only a moderator repeating the very same reply within minutes could be mistaken for
        it, and then the worst outcome is one repeat left out, never a duplicate.
        """
        reply_to = reference.message_id if reference is not None else None
        after = action.created_at - REPLAY_CLOCK_SLACK
        try:
            async for message in channel.history(limit=REPLAY_SCAN_LIMIT, after=after, oldest_first=True):
                if message.author.id != bot_id:
                    continue
                if message.nonce is not None:
                    if str(message.nonce) == nonce:
                        return message
                    continue
                referenced = message.reference.message_id if message.reference is not None else None
                if referenced == reply_to and message.content.strip() == content.strip():
                    return message
        except discord.Forbidden:
            # Without Read Message History the nonce is the only guard left; sending beats never replying.
            log.warning("cannot read the history of channel %s to check for an earlier reply", channel.id)
        return None

    # ------------------------------------------------------------------------------------------ running

    def _set_state(self, state: ConnectionState, reason: str = "") -> None:
        if self._token:
            reason = reason.replace(self._token, "[redacted]")
        if state == self._state and reason == self._reason:
            return
        self._state = state
        self._reason = reason
        log.info("Discord: %s%s", state.value, f" ({reason})" if reason else "")
        try:
            self._sink.set_state(Platform.DISCORD, state, reason)
        except Exception:
            log.exception("the sink failed to take the Discord connection state")

    def _make_client(self) -> _DeskClient:
        client = self._new_client()
        for hook in self.client_hooks:
            hook(client)
        return client

    def _new_client(self) -> _DeskClient:
        return _DeskClient(
            self,
            reidentify_delay=self._reidentify_delay,
            intents=desk_intents(),
            guild_ready_timeout=self._guild_ready_timeout,
            chunk_guilds_at_startup=False,  # members come with GUILD_CREATE; never delay on_ready
            enable_debug_events=False,
            # A rate limit longer than this raises instead of sleeping inside the send: the outbox then
            # shows the action as waiting and retries it after ``retry_after``, and the rest of its batch
            # goes on (30 s is the least discord.py accepts).
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT,
        )

    async def _run(self) -> None:
        delay = 1.0
        first = True
        try:
            while not self._stopping:
                self._set_state(
                    ConnectionState.CONNECTING if first else ConnectionState.RECONNECTING,
                    self._reason if not first else "",
                )
                first = False
                client = self._make_client()
                self._client = client
                self._attempt_ready = False
                reason = "the connection to Discord closed"
                try:
                    await client.login(self._token)
                    await client.connect(reconnect=True)
                except discord.LoginFailure:
                    self._give_up("the bot token was rejected (401): check the token in Settings")
                    return
                except discord.PrivilegedIntentsRequired:
                    self._give_up(_FATAL_CLOSE[4014])
                    return
                except discord.ConnectionClosed as exc:
                    if exc.code in _FATAL_CLOSE:
                        self._give_up(_FATAL_CLOSE[exc.code])
                        return
                    reason = f"the connection to Discord closed ({exc.code})"
                except discord.HTTPException as exc:
                    if 400 <= exc.status < 500 and exc.status not in (408, 429):
                        self._give_up(f"Discord refused the bot's login ({exc.status})")
                        return
                    reason = f"Discord answered {exc.status}"
                except (aiohttp.ClientError, OSError, TimeoutError, discord.GatewayNotFound) as exc:
                    reason = f"could not reach Discord ({type(exc).__name__})"
                except Exception as exc:  # anything else: log it and keep trying, never busy-loop
                    log.exception("unexpected error in the Discord connection")
                    reason = f"unexpected error ({type(exc).__name__})"
                finally:
                    if self._attempt_ready:
                        delay = 1.0  # this connection worked for a while: start the backoff over
                    with contextlib.suppress(Exception):
                        await client.close()
                if self._stopping:
                    return
                self._set_state(ConnectionState.RECONNECTING, f"{reason}; trying again in {delay:.0f} s")
                await wait_event(self._stop_event, delay)
                delay = min(delay * 2, self._max_backoff)
        finally:
            self._ended.set()

    def _give_up(self, reason: str) -> None:
        self._fatal = reason
        self._set_state(ConnectionState.OFFLINE, reason)

    def _spawn(self, coro: Any, name: str) -> None:
        task: asyncio.Task[Any] = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or task.exception() is None:
            return
        if self._stopping:  # the client was closed under it
            log.debug("Discord task %s ended while stopping: %r", task.get_name(), task.exception())
            return
        log.error("Discord background task %s failed", task.get_name(), exc_info=task.exception())

    # ------------------------------------------------------------------------------------------ events

    def _on_connect(self) -> None:
        # A fresh session (not a resume): live cursors wait until the backfill has covered the gap.
        self._backfill_pending = True

    def _on_ready(self) -> None:
        self._attempt_ready = True
        self._set_state(ConnectionState.LIVE)
        self._spawn(self._backfill_all(), "discord-backfill")

    def _on_disconnect(self) -> None:
        if not self._stopping and self._state != ConnectionState.OFFLINE:
            self._set_state(ConnectionState.RECONNECTING, "the gateway connection dropped; resuming")

    def _wanted(self, channel: object) -> bool:
        """Whether a channel's messages belong in the inbox (watched, in our guild, not the tickets forum)."""
        guild_id = getattr(getattr(channel, "guild", None), "id", None) or getattr(channel, "guild_id", None)
        if guild_id is None or (self._guild_id is not None and guild_id != self._guild_id):
            return False  # DMs and other servers are the ticket relay's business
        cid = getattr(channel, "id", None)
        if cid is None or cid == self._tickets_forum:
            return False
        if isinstance(channel, discord.Thread):
            parent = channel.parent_id
            if parent == self._tickets_forum:
                return False
            return not self._watch or parent in self._watch or cid in self._watch
        return not self._watch or cid in self._watch

    def _translate(self, message: discord.Message) -> InboxItem | None:
        try:
            return message_to_item(message, guild_id=self._guild_id, bot_id=self._bot_id())
        except Exception:
            log.exception("could not read a Discord message (%s); skipped", getattr(message, "id", "?"))
            self.stats["skipped"] += 1
            return None

    def _bot_id(self) -> int | None:
        client = self._client
        return client.user.id if client is not None and client.user is not None else None

    def _remember(self, item: InboxItem) -> None:
        key = int(item.platform_id)
        old = self._recent.pop(key, None)
        if old is not None:
            self._recent_chars -= len(old.body)
        self._recent[key] = item
        self._recent_chars += len(item.body)
        # Bounded by count and by text size: hostile 100 KB bodies must not pile up in memory.
        while len(self._recent) > RECENT_LIMIT or self._recent_chars > RECENT_CHARS:
            _, gone = self._recent.popitem(last=False)
            self._recent_chars -= len(gone.body)

    def _on_message(self, message: discord.Message) -> None:
        if message.id in self._recent or not is_conversation(message) or not self._wanted(message.channel):
            return
        item = self._translate(message)
        if item is None:
            return
        self._remember(item)
        self.stats["live"] += 1
        self._queue(item, message.channel.id, message.id)

    def _take_raw_message(self, data: Any) -> bool:
        """Take a live message from its raw payload (see ``_take_messages_raw``); False: let discord.py."""
        client = self._client
        try:
            if int(data.get("type", 0)) not in CONVERSATION_TYPE_VALUES or client is None:
                return False
            guild_id = int(data["guild_id"])
            guild = client.get_guild(guild_id)
            channel = guild.get_channel_or_thread(int(data["channel_id"])) if guild is not None else None
            if channel is None or not self._wanted(channel):
                return False
            message_id = int(data["id"])
            if message_id in self._recent:
                return True
            user = client.user
            item = payload_to_item(data, channel, guild_id=guild_id, bot_id=user.id if user else None)
        except (KeyError, TypeError, ValueError, AttributeError):
            return False  # discord.py's parser has its say (and the guard logs what it cannot parse)
        if hasattr(channel, "last_message_id"):
            channel.last_message_id = message_id  # as discord.py's parser keeps it
        self._remember(item)
        self.stats["live"] += 1
        self._queue(item, channel.id, message_id)
        return True

    def _on_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        message = payload.message
        if not is_conversation(message) or not self._wanted(message.channel):
            return
        item = self._translate(message)
        if item is not None:
            self._remember(item)
            self._queue(item)

    def _on_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        item = self._recent.get(payload.message_id)
        if (
            item is None
            and payload.cached_message is not None
            and self._wanted(payload.cached_message.channel)
        ):
            item = self._translate(payload.cached_message)
        if item is None:
            log.debug("deleted Discord message %s was not seen by this session", payload.message_id)
            return
        gone = dataclasses.replace(item, deleted=True)
        self._remember(gone)
        self._queue(gone)

    def _on_reaction(self, payload: discord.RawReactionActionEvent, delta: int) -> None:
        if str(payload.emoji) != UPVOTE:
            return
        item = self._recent.get(payload.message_id)
        if item is None:
            log.debug("reaction on Discord message %s not seen by this session", payload.message_id)
            return
        changed = dataclasses.replace(item, score=max(0, item.score + delta))
        self._remember(changed)
        self._queue(changed)

    # ------------------------------------------------------------------------------------------ ingest

    def _queue(self, item: InboxItem, channel_id: int | None = None, message_id: int | None = None) -> None:
        self._pending.append(item)
        if channel_id is not None and message_id is not None:
            if message_id > self._pending_cursors.get(channel_id, 0):
                self._pending_cursors[channel_id] = message_id
            if message_id < self._pending_floor.get(channel_id, message_id + 1):
                self._pending_floor[channel_id] = message_id
        self._wake.set()
        if len(self._pending) >= self._batch_size:
            self._full.set()

    async def _flush_loop(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            if len(self._pending) < self._batch_size:
                await wait_event(self._full, self._batch_interval)
            if await self._flush():
                failures = 0
            else:
                failures += 1
                await asyncio.sleep(min(0.5 * 2.0 ** (failures - 1), 30.0))

    async def _flush(self, *, final: bool = False) -> bool:
        """Ingest the pending live items, then move their channels' cursors. False if the sink failed."""
        async with self._flush_lock:
            self._wake.clear()
            self._full.clear()
            if not self._pending:
                return True
            batch, self._pending = self._pending, []
            cursors, self._pending_cursors = self._pending_cursors, {}
            self._inflight_floor, self._pending_floor = self._pending_floor, {}
            try:
                await self._sink.ingest(batch)
            except Exception:
                log.exception("could not store %d Discord messages; will try again", len(batch))
                if not final:
                    self._pending[:0] = batch
                    for cid, mid in cursors.items():
                        self._pending_cursors[cid] = max(mid, self._pending_cursors.get(cid, 0))
                    for cid, mid in self._inflight_floor.items():
                        self._pending_floor[cid] = min(mid, self._pending_floor.get(cid, mid))
                    self._wake.set()
                return False
            finally:
                self._inflight_floor = {}
            for cid, mid in cursors.items():
                if cid in self._blocked:
                    continue  # the next backfill fetches this channel's gap; its cursor must not jump it
                if self._backfill_pending or cid in self._backfilling:
                    self._held[cid] = max(mid, self._held.get(cid, 0))
                else:
                    await self._advance(cid, mid)
        return True

    def _unstored_floor(self, channel_id: int) -> int | None:
        """The oldest live message of a channel received but not yet stored, if any."""
        floors = [f[channel_id] for f in (self._pending_floor, self._inflight_floor) if channel_id in f]
        return min(floors) if floors else None

    async def _advance(self, channel_id: int, message_id: int) -> None:
        """Move a channel's cursor forward (never back) and persist it."""
        stream = _stream(channel_id)
        if message_id <= self._cursors.get(stream, 0):
            return
        self._cursors[stream] = message_id
        async with self._cursor_lock:
            value = self._cursors[stream]
            if self._written.get(stream, 0) >= value:
                return
            await self._sink.set_cursor(Platform.DISCORD, stream, str(value))
            self._written[stream] = value

    # ------------------------------------------------------------------------------------------ backfill

    def _guild(self) -> discord.Guild | None:
        client = self._client
        if client is None:
            return None
        if self._guild_id is not None:
            return client.get_guild(self._guild_id)
        return client.guilds[0] if client.guilds else None

    async def _backfill_all(self) -> None:
        async with self._backfill_lock:
            self._backfilled = set()
            self._targets = set()
            self._blocked = set()
            completed = False
            try:
                guild = self._guild()
                if guild is None:
                    self._set_state(
                        ConnectionState.LIVE, "connected, but the bot is not in the configured server"
                    )
                    return
                targets = await self._backfill_targets(guild)
                self._targets = {ch.id for ch in targets}
                limit = asyncio.Semaphore(3)
                results = await asyncio.gather(
                    *(self._backfill_channel(ch, limit) for ch in targets), return_exceptions=True
                )
                for ch, result in zip(targets, results, strict=True):
                    if isinstance(result, asyncio.CancelledError):
                        raise result
                    if isinstance(result, discord.Forbidden):
                        log.info("no access to the history of Discord channel %s; skipped", ch.id)
                    elif isinstance(result, BaseException):
                        log.warning("could not backfill Discord channel %s: %s", ch.id, result)
                completed = True
            finally:
                if not completed:
                    self._blocked = self._targets - self._backfilled
                self._backfill_pending = False
                held, self._held = self._held, {}
                for cid, mid in held.items():
                    # Never move a cursor past history that was not fetched (a failed or cancelled channel).
                    if cid in self._backfilled or cid not in self._targets:
                        await self._advance(cid, mid)
            self._caught_up.set()

    async def _backfill_targets(self, guild: discord.Guild) -> list[discord.TextChannel | discord.Thread]:
        """Watched text channels, their active threads, and archived threads with messages past the cursor."""
        me = guild.me
        readable = [
            ch for ch in guild.channels if self._wanted(ch) and ch.permissions_for(me).read_message_history
        ]
        targets: list[discord.TextChannel | discord.Thread] = [
            ch for ch in readable if isinstance(ch, discord.TextChannel)
        ]
        parents = {ch.id for ch in readable}
        try:
            threads = await guild.active_threads()
        except discord.HTTPException as exc:
            log.warning("could not list active Discord threads (%s); using the gateway's list", exc.status)
            threads = list(guild.threads)
        targets.extend(t for t in threads if self._wanted(t) and t.parent_id in parents)
        for parent in readable:
            if isinstance(parent, discord.TextChannel | discord.ForumChannel):
                targets.extend(await self._archived_with_news(parent))
        return targets

    async def _archived_with_news(
        self, parent: discord.TextChannel | discord.ForumChannel
    ) -> list[discord.Thread]:
        """Archived threads of a channel that hold messages newer than their cursor (or were never read)."""
        found: list[discord.Thread] = []
        try:
            async for thread in parent.archived_threads(limit=None):
                if not self._wanted(thread) or thread.last_message_id is None:
                    continue
                raw = await self._sink.get_cursor(Platform.DISCORD, _stream(thread.id))
                if raw is None or not raw.isdigit() or int(raw) < thread.last_message_id:
                    found.append(thread)
        except discord.HTTPException as exc:
            log.info("could not list archived threads of Discord channel %s (%s)", parent.id, exc.status)
        return found

    async def _backfill_channel(
        self, channel: discord.TextChannel | discord.Thread, limit: asyncio.Semaphore
    ) -> None:
        async with limit:
            stream = _stream(channel.id)
            self._backfilling.add(channel.id)
            try:
                raw = await self._sink.get_cursor(Platform.DISCORD, stream)
                cursor = int(raw) if raw and raw.isdigit() else 0
                if cursor > self._cursors.get(stream, 0):
                    self._cursors[stream] = cursor
                    self._written[stream] = cursor
                last = cursor
                batch: list[InboxItem] = []
                async for message in self._history(channel, cursor):
                    last = max(last, message.id)
                    if message.id in self._recent or not is_conversation(message):
                        continue
                    item = self._translate(message)
                    if item is None:
                        continue
                    self._remember(item)
                    batch.append(item)
                    if len(batch) >= HISTORY_BATCH:
                        await self._ingest_history(channel.id, batch, last)
                        batch = []
                await self._ingest_history(channel.id, batch, max(last, self._held.pop(channel.id, 0)))
                self._backfilled.add(channel.id)
            finally:
                self._backfilling.discard(channel.id)

    def _history(self, channel: discord.TextChannel | discord.Thread, cursor: int) -> Any:
        if cursor:
            return channel.history(limit=None, after=discord.Object(cursor), oldest_first=True)
        if self._first_sync_limit is not None:
            return _reversed_history(channel, self._first_sync_limit)
        return channel.history(limit=None, oldest_first=True)

    async def _ingest_history(self, channel_id: int, batch: list[InboxItem], last: int) -> None:
        if batch:
            try:
                await self._sink.ingest(batch)
            except BaseException:
                for item in batch:  # not stored: a later backfill must not skip them as already seen
                    self._recent.pop(int(item.platform_id), None)
                raise
            self.stats["backfilled"] += len(batch)
        # Live messages of this channel still waiting to be stored keep the cursor below them.
        floor = self._unstored_floor(channel_id)
        await self._advance(channel_id, last if floor is None else min(last, floor - 1))


async def _reversed_history(channel: discord.TextChannel | discord.Thread, limit: int) -> Any:
    newest = [m async for m in channel.history(limit=limit)]
    for message in reversed(newest):
        yield message


def _reply_result(message: discord.Message, channel_id: str) -> dict[str, Any]:
    """What the outbox records for a posted reply."""
    return {"message_id": str(message.id), "channel_id": channel_id, "url": message.jump_url}


def _action_error(exc: discord.HTTPException) -> ActionError:
    status = exc.status
    if status == 429:
        retry_after: float | None = None
        with contextlib.suppress(AttributeError, TypeError, ValueError):
            retry_after = float(exc.response.headers.get("Retry-After", ""))
        return ActionError(
            "Discord is rate limiting the bot; will try again", retryable=True, retry_after=retry_after
        )
    if status >= 500:
        return ActionError(f"Discord had a server problem ({status}); will try again", retryable=True)
    if status == 403:
        return ActionError(
            "the bot is not allowed to post there (missing permission on Discord)", retryable=False
        )
    if status == 404:
        return ActionError("the Discord channel or message no longer exists", retryable=False)
    detail = f": {exc.text}" if exc.text else ""
    return ActionError(f"Discord refused the reply ({status}){detail}", retryable=False)
