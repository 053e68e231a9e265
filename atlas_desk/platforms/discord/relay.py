"""The Discord ticket relay: member DMs, ``/ticket`` and the panel button become forum threads; moderator
replies go back to members by DM.

One ``TicketRelay`` runs in every desk and in ``atlas-desk bot``. All of them *watch* the tickets forum
(threads, tags, cards, messages) and feed what they see to a ``TicketSink`` (the ticket service), and all of
them can *execute* ticket actions from the outbox (reply, note, claim, assign, status, priority, tags). Only
the process with ``relay=True`` takes member DMs and interactions: exactly one process relays.

State shared between desks lives on Discord: status and priority are forum tags, the assignee is on the card
(the thread's starter message). Claims are arbitrated on Discord too: a desk posts a claim line carrying the
card's version, then reads the thread; the earliest claim line for that version wins on every desk alike.

Safety: before relaying, ``check_setup`` verifies that the tickets forum is hidden from @everyone and that the
bot may work in it; a visible forum would make tickets public, so the relay refuses and says why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp
import discord
from discord import app_commands

from atlas_desk.core.types import ActionError, ConnectionState, OutboxAction
from atlas_desk.platforms.discord import ticket_format as fmt
from atlas_desk.platforms.discord.connector import DiscordSettingsLike, configure_endpoints, nonce_for

log = logging.getLogger("atlas_desk.discord.relay")

PANEL_BUTTON_ID = "atlas-desk:open-ticket"
MODAL_ID = "atlas-desk:ticket-modal"
NO_TICKETS_ROLE = "no tickets"
TICKET_KINDS = frozenset(
    {
        "ticket_open",
        "ticket_reply",
        "ticket_note",
        "ticket_claim",
        "ticket_assign",
        "ticket_status",
        "ticket_priority",
        "ticket_tags",
    }
)
BLOCKED_ANSWER = (
    "Thanks for reaching out. Tickets can't be opened from this account at the moment. "
    "If you think this is a mistake, please contact a moderator in the server."
)
OPENED_ANSWER = (
    "Thanks — your ticket “{subject}” is open. "
    "A moderator will answer you here, usually within {hours} hours. "
    "Just reply in this chat to add anything."
)
CLOSED_ANSWER = (
    "Your ticket “{subject}” was closed by the moderators{reason}. Write here any time to open a new one."
)


@dataclass(slots=True)
class RelayTicket:
    """A ticket as seen on Discord."""

    thread_id: str
    subject: str
    requester_id: str
    requester_handle: str
    requester_name: str
    requester_created_at: datetime | None
    joined_at: datetime | None
    dm_channel_id: str
    status: str
    priority: str
    assignee: str
    opened_at: datetime
    tags: list[str] = field(default_factory=list)
    archived: bool = False
    locked: bool = False
    earlier_tickets: int = 0
    source: str = "dm"
    card_version: int = 0
    platform: str = "discord"


@dataclass(slots=True)
class RelayMessage:
    thread_id: str
    message_id: str
    role: str  # member | moderator | note | system
    author_name: str
    author_id: str
    body: str
    created_at: datetime
    attachments: list[str] = field(default_factory=list)
    platform: str = "discord"


class TicketSink(Protocol):
    """Where the relay hands what it sees (``atlas_desk.core.tickets.TicketService``)."""

    async def ticket_seen(self, ticket: RelayTicket, *, new: bool) -> None: ...
    async def message_seen(self, message: RelayMessage, *, live: bool) -> None: ...
    def is_blocked(self, platform_user_id: str) -> bool: ...
    def set_relay_state(self, state: ConnectionState, reason: str) -> None: ...


@dataclass(slots=True)
class SetupReport:
    """The setup check's findings, in plain words with the fix."""

    problems: list[str] = field(default_factory=list)  # each forbids relaying
    missing: list[str] = field(default_factory=list)  # things the desk can create: "support channel", ...

    @property
    def ok(self) -> bool:
        return not self.problems


def relay_intents() -> discord.Intents:
    """Guild structure, members (join dates, roles), guild and DM messages with content."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.members = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = True
    return intents


class _TicketModal(discord.ui.Modal):
    def __init__(self, relay: TicketRelay, source: str) -> None:
        super().__init__(title="Open a ticket", custom_id=MODAL_ID, timeout=600)
        self._relay = relay
        self._source = source
        self.subject: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label="Subject", custom_id="subject", max_length=80
        )
        self.body: discord.ui.TextInput[Any] = discord.ui.TextInput(
            label="How can we help?", custom_id="body", style=discord.TextStyle.paragraph, max_length=1800
        )
        self.add_item(self.subject)
        self.add_item(self.body)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        user = interaction.user
        subject = str(self.subject.value).strip() or "New ticket"
        await interaction.response.send_message(
            f"Thanks — your ticket “{subject}” is open. We'll answer you by direct message.", ephemeral=True
        )
        await self._relay.open_ticket(user, subject, str(self.body.value), [], source=self._source)


class _PanelView(discord.ui.View):
    def __init__(self, relay: TicketRelay) -> None:
        super().__init__(timeout=None)
        self._relay = relay

    @discord.ui.button(label="Open a ticket", style=discord.ButtonStyle.primary, custom_id=PANEL_BUTTON_ID)
    async def open_ticket(
        self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Any]
    ) -> None:
        await self._relay.answer_intake(interaction, "button")


class _RelayClient(discord.Client):
    def __init__(self, relay: TicketRelay, **options: Any) -> None:
        super().__init__(**options)
        self._relay = relay
        self.tree = app_commands.CommandTree(self)

        @self.tree.command(name="ticket", description="Open a private ticket with the moderators")
        async def ticket(interaction: discord.Interaction[Any]) -> None:
            await relay.answer_intake(interaction, "command")

    async def on_ready(self) -> None:
        await self._relay._on_ready()

    async def on_message(self, message: discord.Message) -> None:
        await self._relay._on_message(message)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        await self._relay._on_edit(payload)

    async def on_raw_thread_update(self, payload: discord.RawThreadUpdateEvent) -> None:
        await self._relay._on_thread_update(payload)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.exception("error while relaying the Discord event %s; carrying on", event_method)


class TicketRelay:
    """Watches the tickets forum, relays member messages (when ``relay``) and executes ticket actions."""

    def __init__(
        self,
        settings: DiscordSettingsLike,
        token: str,
        sink: TicketSink,
        *,
        relay: bool | None = None,
        first_response_hours: float = 24.0,
        guild_ready_timeout: float = 0.5,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.settings = settings
        self._token = token
        self._sink = sink
        self.relay = settings.relay if relay is None else relay
        self._hours = first_response_hours
        self._ready_timeout = guild_ready_timeout
        self._clock = clock
        self._guild_id = int(settings.guild_id) if str(settings.guild_id).isdigit() else 0
        self._forum_id = int(settings.tickets_forum_id) if str(settings.tickets_forum_id).isdigit() else 0
        self._support_id = (
            int(settings.support_channel_id) if str(settings.support_channel_id).isdigit() else 0
        )
        self._client: _RelayClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.setup = SetupReport()
        self.relaying = False  # True once the setup check passed and this process relays
        self._tags: dict[str, int] = {}  # tag name → id
        self._tickets: dict[str, RelayTicket] = {}  # thread id → ticket
        self._open_by_requester: dict[
            str, str
        ] = {}  # requester id → thread id of the ticket that is not closed
        self._locks: dict[str, asyncio.Lock] = {}
        self._opened: dict[str, str] = {}  # outbox key → thread id of tickets opened from the desk
        self._tasks: set[asyncio.Task[Any]] = set()
        self.state = ConnectionState.OFFLINE
        self.reason = ""
        self.fatal = ""
        self._fatal_event = asyncio.Event()

    # -- life cycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect in the background; ``wait_ready`` returns once the forum was read."""
        if self._task is not None:
            return
        configure_endpoints(self.settings.api, self.settings.gateway)
        self._client = self._new_client()
        self._set_state(ConnectionState.CONNECTING, "")
        self._task = asyncio.create_task(self._run(), name="discord-ticket-relay")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def wait_fatal(self) -> str:
        """Return the reason once the relay gave up for good (a rejected token, missing intents)."""
        await self._fatal_event.wait()
        return self.fatal

    def _give_up(self, reason: str) -> None:
        self.fatal = reason
        self._set_state(ConnectionState.OFFLINE, reason)
        self._fatal_event.set()

    async def _run(self) -> None:
        delay = 1.0
        while self._client is not None:
            client = self._client
            try:
                await client.start(self._token, reconnect=True)
                return
            except discord.LoginFailure:
                self._give_up("the bot token was rejected: check it in Settings or ATLAS_DESK_DISCORD_TOKEN")
                return
            except discord.PrivilegedIntentsRequired:
                self._give_up(
                    "the bot lacks the Server Members / Message Content intents: enable them in the Discord "
                    "Developer Portal (Bot → Privileged Gateway Intents)"
                )
                return
            except (
                aiohttp.ClientError,
                OSError,
                TimeoutError,
                discord.GatewayNotFound,
                discord.ConnectionClosed,
            ) as exc:
                reason = f"could not reach Discord ({type(exc).__name__}); trying again in {delay:.0f} s"
            except Exception:
                log.exception("the ticket relay stopped on an unexpected error")
                reason = f"unexpected error; trying again in {delay:.0f} s"
            self._set_state(ConnectionState.RECONNECTING, reason)
            with contextlib.suppress(Exception):
                await client.close()
            await asyncio.sleep(delay)  # backoff between connection attempts
            delay = min(delay * 2, 60.0)
            if self._client is client:
                self._client = self._new_client()

    def _new_client(self) -> _RelayClient:
        return _RelayClient(
            self,
            intents=relay_intents(),
            guild_ready_timeout=self._ready_timeout,
            chunk_guilds_at_startup=False,
            enable_debug_events=False,
        )

    async def stop(self) -> None:
        """Disconnect. Safe to call twice."""
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._set_state(ConnectionState.OFFLINE, "stopped")

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Wait until connected, checked and caught up with the forum."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    def _set_state(self, state: ConnectionState, reason: str) -> None:
        self.state, self.reason = state, reason
        with contextlib.suppress(Exception):
            self._sink.set_relay_state(state, reason)

    def _spawn(self, coro: Awaitable[Any], name: str) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("relay task %s failed", name, exc_info=t.exception())

        task.add_done_callback(done)

    # -- setup -----------------------------------------------------------------------------------------------

    def _guild(self) -> discord.Guild | None:
        return self._client.get_guild(self._guild_id) if self._client is not None else None

    def _forum(self) -> discord.ForumChannel | None:
        guild = self._guild()
        forum = guild.get_channel(self._forum_id) if guild is not None else None
        return forum if isinstance(forum, discord.ForumChannel) else None

    def check_setup(self) -> SetupReport:
        """Check: the tickets forum exists, hidden from @everyone, usable by the bot; support channel."""
        report = SetupReport()
        guild = self._guild()
        if guild is None:
            report.problems.append(
                f"The bot is not in the server {self.settings.guild_id}: invite it with the bot and "
                "applications.commands scopes, then restart."
            )
            return report
        forum = self._forum()
        if forum is None:
            report.missing.append("tickets forum")
            report.problems.append(
                "There is no tickets forum: create a moderator-only forum channel "
                "(the desk can create it) and "
                "set discord.tickets_forum_id."
            )
        else:
            if forum.permissions_for(guild.default_role).view_channel:
                report.problems.append(
                    f"The tickets forum #{forum.name} is visible to @everyone, so tickets would be public. "
                    "Relaying is off until you fix it: in the forum's settings → Permissions, "
                    "deny View Channel "
                    "to @everyone and allow it to the moderator role."
                )
            me = guild.me
            perms = forum.permissions_for(me) if me is not None else discord.Permissions.none()
            needed = {
                "View Channel": perms.view_channel,
                "Send Messages": perms.send_messages,
                "Manage Threads": perms.manage_threads,
                "Manage Channels (to add tags)": perms.manage_channels,
            }
            lacking = [name for name, ok in needed.items() if not ok]
            if lacking:
                report.problems.append(
                    f"The bot lacks {', '.join(lacking)} in #{forum.name}: "
                    "give its role these permissions there."
                )
            names = {t.name for t in forum.available_tags}
            if any(n not in names for n in fmt.ALL_TAGS):
                report.missing.append("forum tags")
        if self._support_id == 0 or guild.get_channel(self._support_id) is None:
            report.missing.append("support channel")
        return report

    async def ensure_tags(self) -> dict[str, int]:
        """Add the status and priority tags the forum lacks, keeping every existing tag."""
        forum = self._forum()
        if forum is None:
            return {}
        existing = list(forum.available_tags)
        names = {t.name for t in existing}
        missing = [n for n in (*fmt.ALL_TAGS, *self._extra_tag_names) if n not in names]
        if missing:
            room = 20 - len(existing)
            new = [discord.ForumTag(name=n, emoji=fmt.TAG_EMOJI.get(n)) for n in missing[: max(room, 0)]]
            edited = await forum.edit(available_tags=[*existing, *new])
            if isinstance(edited, discord.ForumChannel):
                forum = edited
        self._tags = {t.name: t.id for t in forum.available_tags}
        return self._tags

    _extra_tag_names: tuple[str, ...] = ()

    async def create_missing(self, *, panel: bool = True) -> list[str]:
        """Create what the setup check found missing (tags, support channel, panel); returns what was done."""
        guild = self._guild()
        done: list[str] = []
        if guild is None:
            return done
        report = self.check_setup()
        if "tickets forum" in report.missing:
            overwrites: dict[Any, discord.PermissionOverwrite] = {
                guild.default_role: discord.PermissionOverwrite(view_channel=False),
            }
            if guild.me is not None:
                overwrites[guild.me] = discord.PermissionOverwrite(view_channel=True, send_messages=True)
            forum = await guild.create_forum(name="tickets", overwrites=overwrites)
            self._forum_id = forum.id
            done.append(
                f"created the moderator-only forum #tickets ({forum.id}): set discord.tickets_forum_id"
            )
        if "support channel" in report.missing:
            channel = await guild.create_text_channel(name="support", topic="Need help? Open a ticket here.")
            self._support_id = channel.id
            done.append(f"created #support ({channel.id}): set discord.support_channel_id")
        await self.ensure_tags()
        done.append("added the missing status and priority tags")
        if panel:
            await self.post_panel()
            done.append("posted the ticket panel in the support channel")
        return done

    async def post_panel(self) -> None:
        """Post the "Open a ticket" panel in the support channel."""
        if self._client is None:
            raise ActionError("not connected to Discord yet", retryable=True)
        channel = self._client.get_channel(self._support_id)
        if not isinstance(channel, discord.TextChannel):
            raise ActionError("the support channel is not set or not found", retryable=False)
        await channel.send(
            "**Need help from the moderators?** Press the button (or use /ticket) to open a private ticket. "
            "Only moderators will see it.",
            view=_PanelView(self),
        )

    async def _on_ready(self) -> None:
        client = self._client
        if client is None:
            return
        self.setup = self.check_setup()
        if self._forum() is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.ensure_tags()
        if self.relay:
            if self.setup.ok:
                self.relaying = True
                client.add_view(_PanelView(self))
                guild = self._guild()
                try:
                    if guild is not None:
                        client.tree.copy_global_to(guild=guild)
                    await client.tree.sync()
                except discord.HTTPException as exc:
                    log.warning("could not register /ticket (%s)", exc)
            else:
                self.relaying = False
                for problem in self.setup.problems:
                    log.error("not relaying tickets: %s", problem)
        try:
            await self.backfill()
        finally:
            reason = (
                "" if self.setup.ok or not self.relay else "not relaying: " + " ".join(self.setup.problems)
            )
            self._set_state(ConnectionState.LIVE, reason)
            self._ready.set()

    # -- reading the forum -----------------------------------------------------------------------------------

    async def backfill(self) -> None:
        """Read every ticket thread (active and archived) and its messages."""
        forum = self._forum()
        if forum is None:
            return
        threads: list[discord.Thread] = list(forum.threads)
        with contextlib.suppress(discord.HTTPException):
            async for t in forum.archived_threads(limit=None):
                threads.append(t)
        for thread in sorted(threads, key=lambda t: t.id):
            try:
                await self._read_thread(thread)
            except discord.HTTPException as exc:
                log.warning("could not read ticket thread %s (%s)", thread.id, exc)

    async def _read_thread(self, thread: discord.Thread) -> None:
        try:
            starter = await thread.fetch_message(thread.id)
        except discord.NotFound:
            starter = None
        ticket = self._ticket_from(thread, starter)
        if ticket is None:
            return
        await self._sink.ticket_seen(ticket, new=False)
        async for message in thread.history(limit=None, oldest_first=True):
            if message.id == thread.id:
                continue
            await self._message_seen(thread.id, message, live=False)

    def _ticket_from(self, thread: discord.Thread, starter: discord.Message | None) -> RelayTicket | None:
        card = fmt.parse_card(_embeds(starter)) if starter is not None else None
        old = self._tickets.get(str(thread.id))
        if card is None and old is None:
            return None
        tag_names = [t.name for t in thread.applied_tags]
        by_name = {v: k for k, v in fmt.STATUS_TAGS.items()}
        pri_by_name = {v: k for k, v in fmt.PRIORITY_TAGS.items()}
        status = next((by_name[n] for n in tag_names if n in by_name), old.status if old else "new")
        priority = next(
            (pri_by_name[n] for n in tag_names if n in pri_by_name), old.priority if old else "normal"
        )
        subject = thread.name.rsplit(" · ", 1)[0]
        if card is None:
            assert old is not None
            ticket = old
            ticket.status, ticket.priority, ticket.subject = status, priority, subject
        else:
            ticket = RelayTicket(
                thread_id=str(thread.id),
                subject=subject,
                requester_id=card.requester_id,
                requester_handle=card.requester_handle,
                requester_name=card.requester_name,
                requester_created_at=card.account_created,
                joined_at=card.joined_at,
                dm_channel_id=card.dm_channel_id,
                status=status,
                priority=priority,
                assignee=card.assignee,
                opened_at=thread.created_at or discord.utils.snowflake_time(thread.id),
                earlier_tickets=card.earlier_tickets,
                source=card.source,
                card_version=card.version,
            )
        ticket.tags = [n for n in tag_names if n not in by_name and n not in pri_by_name]
        ticket.archived = bool(thread.archived)
        ticket.locked = bool(thread.locked)
        self._remember(ticket)
        return ticket

    def _remember(self, ticket: RelayTicket) -> None:
        self._tickets[ticket.thread_id] = ticket
        if ticket.status != "closed":
            self._open_by_requester[ticket.requester_id] = ticket.thread_id
        elif self._open_by_requester.get(ticket.requester_id) == ticket.thread_id:
            del self._open_by_requester[ticket.requester_id]

    async def _message_seen(self, thread_id: int, message: discord.Message, *, live: bool) -> None:
        bot_id = self._client.user.id if self._client is not None and self._client.user is not None else 0
        role, name, body = fmt.parse_thread_message(message.content, from_bot=message.author.id == bot_id)
        links = [a.url for a in message.attachments]
        if role == "member":
            body, more = fmt.split_attachments(body)
            links = more + links
        if role == "note" and message.author.id != bot_id:
            name = message.author.display_name
        await self._sink.message_seen(
            RelayMessage(
                thread_id=str(thread_id),
                message_id=str(message.id),
                role=role,
                author_name=name,
                author_id=str(message.author.id) if message.author.id != bot_id else "",
                body=body,
                created_at=message.created_at,
                attachments=links,
            ),
            live=live,
        )

    def _is_ticket_thread(self, channel: object) -> bool:
        return isinstance(channel, discord.Thread) and channel.parent_id == self._forum_id

    async def _on_message(self, message: discord.Message) -> None:
        if self._is_ticket_thread(message.channel):
            if message.id == message.channel.id:
                return  # the card: read through the thread
            if str(message.channel.id) not in self._tickets:
                thread = message.channel
                assert isinstance(thread, discord.Thread)
                with contextlib.suppress(discord.HTTPException):
                    ticket = self._ticket_from(thread, await thread.fetch_message(thread.id))
                    if ticket is not None:
                        await self._sink.ticket_seen(ticket, new=True)
            await self._message_seen(message.channel.id, message, live=True)
            return
        if message.guild is None and isinstance(
            message.channel, discord.DMChannel | discord.PartialMessageable
        ):
            if self._client is not None and message.author.id == getattr(self._client.user, "id", None):
                return
            if message.author.bot or not self.relaying:
                return
            await self._intake_dm(message)

    async def _on_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        if payload.message_id != payload.channel_id or payload.channel_id not in self._ticket_ids():
            return
        raw: Any = payload.data.get("embeds") or []
        card = fmt.parse_card([dict(e) for e in raw])
        ticket = self._tickets.get(str(payload.channel_id))
        if card is None or ticket is None:
            return
        ticket.assignee, ticket.card_version = card.assignee, card.version
        await self._sink.ticket_seen(ticket, new=False)

    def _ticket_ids(self) -> set[int]:
        return {int(t) for t in self._tickets}

    async def _on_thread_update(self, payload: discord.RawThreadUpdateEvent) -> None:
        if payload.parent_id != self._forum_id:
            return
        thread = payload.thread
        if thread is None and self._client is not None:
            thread = self._client.get_channel(payload.thread_id)  # type: ignore[assignment]
        if not isinstance(thread, discord.Thread):
            return
        ticket = self._ticket_from(thread, None) if str(thread.id) in self._tickets else None
        if ticket is not None:
            await self._sink.ticket_seen(ticket, new=False)

    # -- intake ----------------------------------------------------------------------------------------------

    def _blocked(self, user: discord.abc.User) -> bool:
        guild = self._guild()
        member = guild.get_member(user.id) if guild is not None else None
        if member is not None and any(r.name.lower() == NO_TICKETS_ROLE for r in member.roles):
            return True
        try:
            return self._sink.is_blocked(str(user.id))
        except Exception:
            log.exception("could not check the block list")
            return False

    def _lock(self, user_id: str) -> asyncio.Lock:
        return self._locks.setdefault(user_id, asyncio.Lock())

    async def _intake_dm(self, message: discord.Message) -> None:
        user = message.author
        if self._blocked(user):
            await message.channel.send(BLOCKED_ANSWER, nonce=nonce_for(f"blocked:{message.id}"))
            return
        links = [a.url for a in message.attachments]
        async with self._lock(str(user.id)):
            tid = self._open_by_requester.get(str(user.id))
            ticket = self._tickets.get(tid) if tid else None
            if ticket is not None and not ticket.locked:
                thread = await self._thread(ticket.thread_id)
                name = getattr(user, "display_name", user.name)
                await thread.send(
                    fmt.member_text(name, message.content, links),
                    nonce=nonce_for(f"dm:{message.id}"),
                    allowed_mentions=discord.AllowedMentions.none(),
                )
                if ticket.status in ("resolved", "pending"):
                    await self._apply_tags(ticket, status="open")
                return
            await self._open(
                user,
                fmt.subject_from(message.content),
                message.content,
                links,
                "dm",
                dm_channel_id=str(message.channel.id),
                key=f"dm:{message.id}",
            )

    async def answer_intake(self, interaction: discord.Interaction[Any], source: str) -> None:
        """``/ticket`` or the panel button: the modal, or a polite refusal for a blocked member."""
        if not self.relaying:
            await interaction.response.send_message(
                "Tickets are not available right now; please try again later.", ephemeral=True
            )
            return
        if self._blocked(interaction.user):
            await interaction.response.send_message(BLOCKED_ANSWER, ephemeral=True)
            return
        await interaction.response.send_modal(_TicketModal(self, source))

    async def open_ticket(
        self, user: discord.abc.User, subject: str, body: str, links: list[str], *, source: str
    ) -> str:
        """Open a ticket for ``user`` (from the modal); returns the thread id."""
        async with self._lock(str(user.id)):
            return await self._open(user, subject, body, links, source, dm_channel_id="", key=None)

    async def _open(
        self,
        user: discord.abc.User,
        subject: str,
        body: str,
        links: list[str],
        source: str,
        *,
        dm_channel_id: str,
        key: str | None,
    ) -> str:
        forum = self._forum()
        if forum is None or self._client is None:
            raise ActionError("the tickets forum is not available", retryable=True)
        if not self._tags:
            await self.ensure_tags()
        if not dm_channel_id:
            dm = await self._client.create_dm(user)
            dm_channel_id = str(dm.id)
        guild = self._guild()
        member = guild.get_member(user.id) if guild is not None else None
        earlier = sum(1 for t in self._tickets.values() if t.requester_id == str(user.id))
        name = getattr(user, "display_name", user.name)
        card = fmt.Card(
            requester_id=str(user.id),
            requester_name=name,
            requester_handle=user.name,
            account_created=discord.utils.snowflake_time(user.id),
            joined_at=member.joined_at if member is not None else None,
            earlier_tickets=earlier,
            dm_channel_id=dm_channel_id,
            source=source,
        )
        tags = [
            discord.Object(self._tags[fmt.STATUS_TAGS["new"]]),
            discord.Object(self._tags[fmt.PRIORITY_TAGS["normal"]]),
        ]
        created = await forum.create_thread(
            name=fmt.thread_name(subject, name),
            content=f"Ticket from {name}",
            embed=discord.Embed.from_dict(fmt.card_embed(card, self._clock())),
            applied_tags=tags,  # type: ignore[arg-type]
            allowed_mentions=discord.AllowedMentions.none(),
        )
        thread = created.thread
        ticket = RelayTicket(
            thread_id=str(thread.id),
            subject=subject,
            requester_id=str(user.id),
            requester_handle=user.name,
            requester_name=name,
            requester_created_at=discord.utils.snowflake_time(user.id),
            joined_at=card.joined_at,
            dm_channel_id=dm_channel_id,
            status="new",
            priority="normal",
            assignee="",
            opened_at=thread.created_at or self._clock(),
            earlier_tickets=earlier,
            source=source,
        )
        self._remember(ticket)
        await self._sink.ticket_seen(ticket, new=True)
        await thread.send(
            fmt.member_text(name, body, links),
            nonce=nonce_for(f"first:{key or thread.id}"),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        dm_channel = self._client.get_partial_messageable(int(dm_channel_id))
        await dm_channel.send(
            OPENED_ANSWER.format(subject=subject, hours=f"{self._hours:g}"),
            nonce=nonce_for(f"ack:{thread.id}"),
        )
        return str(thread.id)

    # -- actions ---------------------------------------------------------------------------------------------

    async def _thread(self, thread_id: str) -> discord.Thread:
        if self._client is None:
            raise ActionError("not connected to Discord yet", retryable=True)
        channel = self._client.get_channel(int(thread_id))
        if isinstance(channel, discord.Thread):
            return channel
        fetched = await self._client.fetch_channel(int(thread_id))
        if not isinstance(fetched, discord.Thread):
            raise ActionError("this ticket's thread is gone from the forum", retryable=False)
        return fetched

    async def _ticket(self, thread_id: str) -> RelayTicket:
        ticket = self._tickets.get(thread_id)
        if ticket is None:
            thread = await self._thread(thread_id)
            found = self._ticket_from(thread, await thread.fetch_message(thread.id))
            if found is None:
                raise ActionError("this thread is not a ticket (its card is missing)", retryable=False)
            ticket = found
        return ticket

    async def execute(self, action: OutboxAction) -> dict[str, Any]:
        """Perform a ticket action from the outbox, idempotently on its key."""
        if self._client is None or self._client.user is None:
            raise ActionError("not connected to Discord yet", retryable=True)
        try:
            return await self._execute(action)
        except discord.HTTPException as exc:
            retry = exc.status >= 500 or exc.status == 429
            raise ActionError(
                f"Discord answered {exc.status}: {exc.text or 'request failed'}", retryable=retry
            ) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ActionError(f"could not reach Discord ({type(exc).__name__})", retryable=True) from None

    async def _execute(self, action: OutboxAction) -> dict[str, Any]:
        p = action.payload
        key = action.idempotency_key
        if action.kind == "ticket_open":
            return await self._open_for(action)
        ticket = await self._ticket(action.target)
        thread = await self._thread(action.target)
        mod = str(p.get("moderator", "a moderator"))
        if action.kind == "ticket_reply":
            body = str(p.get("body", "")).strip()
            if not body:
                raise ActionError("the reply is empty", retryable=False)
            if ticket.locked:
                raise ActionError("the ticket is closed: reopen it to reply", retryable=False)
            dm = await self._dm(ticket)
            sent = await dm.send(
                body, nonce=nonce_for(f"{key}:dm"), allowed_mentions=discord.AllowedMentions.none()
            )
            mirror = await thread.send(
                fmt.reply_text(mod, body),
                nonce=nonce_for(f"{key}:thread"),
                allowed_mentions=discord.AllowedMentions.none(),
            )
            if ticket.status == "new":
                await self._apply_tags(ticket, status="open")
            return {"dm_message_id": str(sent.id), "message_id": str(mirror.id)}
        if action.kind == "ticket_note":
            body = str(p.get("body", "")).strip()
            note = await thread.send(
                fmt.note_text(mod, body),
                nonce=nonce_for(f"{key}:thread"),
                allowed_mentions=discord.AllowedMentions.none(),
            )
            return {"message_id": str(note.id)}
        if action.kind == "ticket_claim":
            return await self._claim(ticket, thread, mod, key)
        if action.kind == "ticket_assign":
            await self._edit_card(ticket, thread, str(p.get("assignee", "")))
            return {"assignee": ticket.assignee}
        if action.kind == "ticket_priority":
            await self._apply_tags(ticket, priority=str(p["priority"]))
            return {}
        if action.kind == "ticket_tags":
            await self._apply_tags(ticket, extra=[str(t) for t in p.get("tags", [])])
            return {}
        if action.kind == "ticket_status":
            return await self._set_status(ticket, thread, str(p["status"]), str(p.get("reason", "")), key)
        raise ActionError(f"Discord tickets cannot perform “{action.kind}”", retryable=False)

    async def _open_for(self, action: OutboxAction) -> dict[str, Any]:
        """Open a ticket with a member on a moderator's initiative (an inbox message converted)."""
        assert self._client is not None
        done = self._opened.get(action.idempotency_key)
        if done is not None:
            return {"thread_id": done}
        p = action.payload
        user = await self._client.fetch_user(int(str(p["user_id"])))
        async with self._lock(str(user.id)):
            tid = await self._open(
                user,
                str(p.get("subject") or "Ticket"),
                str(p.get("body") or ""),
                [],
                "inbox",
                dm_channel_id="",
                key=action.idempotency_key,
            )
        self._opened[action.idempotency_key] = tid
        return {"thread_id": tid}

    async def _dm(self, ticket: RelayTicket) -> discord.abc.Messageable:
        assert self._client is not None
        if ticket.dm_channel_id.isdigit():
            return self._client.get_partial_messageable(int(ticket.dm_channel_id))
        return await self._client.create_dm(discord.Object(int(ticket.requester_id)))

    async def _claim(self, ticket: RelayTicket, thread: discord.Thread, mod: str, key: str) -> dict[str, Any]:
        card_msg = await thread.fetch_message(thread.id)
        card = fmt.parse_card(_embeds(card_msg))
        if card is None:
            raise ActionError("the ticket card is missing", retryable=False)
        if card.assignee and card.assignee != mod:
            raise ActionError(f"{card.assignee} already has this ticket", retryable=False)
        if card.assignee == mod:
            return {"assignee": mod}
        marker = f"{fmt.SYSTEM_MARK}{mod} is claiming this ticket (card v{card.version})"
        mine = await thread.send(
            marker, nonce=nonce_for(f"{key}:claim"), allowed_mentions=discord.AllowedMentions.none()
        )
        suffix = f" is claiming this ticket (card v{card.version})"
        winner = mod
        winner_id = mine.id
        async for m in thread.history(limit=50, after=discord.Object(card_msg.id)):
            if (
                m.author.id == mine.author.id
                and m.content.startswith(fmt.SYSTEM_MARK)
                and m.content.endswith(suffix)
                and m.id < winner_id
            ):
                winner_id = m.id
                winner = m.content[len(fmt.SYSTEM_MARK) : -len(suffix)]
        if winner != mod:
            with contextlib.suppress(discord.HTTPException):
                await mine.delete()
            raise ActionError(f"{winner} claimed this ticket first", retryable=False)
        ticket.card_version = card.version
        await self._edit_card(ticket, thread, mod, card_msg=card_msg, card=card)
        return {"assignee": mod}

    async def _edit_card(
        self,
        ticket: RelayTicket,
        thread: discord.Thread,
        assignee: str,
        *,
        card_msg: discord.Message | None = None,
        card: fmt.Card | None = None,
    ) -> None:
        card_msg = card_msg or await thread.fetch_message(thread.id)
        card = card or fmt.parse_card(_embeds(card_msg))
        if card is None:
            raise ActionError("the ticket card is missing", retryable=False)
        card.assignee = assignee
        card.version += 1
        await card_msg.edit(embed=discord.Embed.from_dict(fmt.card_embed(card, self._clock())))
        ticket.assignee, ticket.card_version = assignee, card.version

    async def _apply_tags(
        self,
        ticket: RelayTicket,
        *,
        status: str | None = None,
        priority: str | None = None,
        extra: list[str] | None = None,
    ) -> None:
        if extra is not None:
            self._extra_tag_names = tuple(dict.fromkeys([*self._extra_tag_names, *extra]))
            if any(t not in self._tags for t in extra):
                await self.ensure_tags()
        if not self._tags:
            await self.ensure_tags()
        ticket.status = status or ticket.status
        ticket.priority = priority or ticket.priority
        if extra is not None:
            ticket.tags = extra
        names = [fmt.STATUS_TAGS[ticket.status], fmt.PRIORITY_TAGS[ticket.priority], *ticket.tags][:5]
        thread = await self._thread(ticket.thread_id)
        await thread.edit(applied_tags=[discord.Object(self._tags[n]) for n in names if n in self._tags])  # type: ignore[misc]
        self._remember(ticket)

    async def _set_status(
        self, ticket: RelayTicket, thread: discord.Thread, status: str, reason: str, key: str
    ) -> dict[str, Any]:
        if status == "closed":
            if not ticket.locked:
                dm = await self._dm(ticket)
                why = f": {reason}" if reason else ""
                await dm.send(
                    CLOSED_ANSWER.format(subject=ticket.subject, reason=why), nonce=nonce_for(f"{key}:dm")
                )
                await thread.send(
                    f"{fmt.SYSTEM_MARK}Closed{why}",
                    nonce=nonce_for(f"{key}:thread"),
                    allowed_mentions=discord.AllowedMentions.none(),
                )
            await self._apply_tags(ticket, status="closed")
            await thread.edit(archived=True, locked=True)
            ticket.archived = ticket.locked = True
        else:
            if ticket.locked or ticket.archived:
                await thread.edit(archived=False, locked=False)
                ticket.archived = ticket.locked = False
            await self._apply_tags(ticket, status=status)
        self._remember(ticket)
        return {"status": status}


def _embeds(message: discord.Message) -> list[dict[str, Any]]:
    return [dict(e.to_dict()) for e in message.embeds]


def is_ticket_action(action: OutboxAction) -> bool:
    """Whether the relay (not the inbox connector) performs this action."""
    return action.kind in TICKET_KINDS


class DiscordExecutor:
    """Routes Discord outbox actions: ticket actions to the relay, the rest to the inbox connector."""

    def __init__(self, connector: Any, relay: TicketRelay) -> None:
        self.connector = connector
        self.relay = relay

    async def execute(self, action: OutboxAction) -> dict[str, Any]:
        if is_ticket_action(action):
            return await self.relay.execute(action)
        if self.connector is None:
            raise ActionError("Discord is not connected", retryable=True)
        result: dict[str, Any] = await self.connector.execute(action)
        return result
