"""Discord scheduled events for the calendar: mirror them into the desk and change them through the outbox.

``ScheduledEventSync(connector, sink).install()`` adds, on the existing ``DiscordConnector``:

- outbox action kinds ``event_create``, ``event_edit``, ``event_cancel``, ``event_start``, ``event_end`` (with
  discord.py's ``Guild.create_scheduled_event``, ``ScheduledEvent.edit/cancel/start/end``) and
  ``post_publish``
  (a scheduled post to a channel, at most once per idempotency key);
- handlers for ``on_scheduled_event_create/update/delete`` and ``on_scheduled_event_user_add/remove`` on every
  discord.py client the connector makes, and a full refresh after each READY (discord.py's HTTP client's
  ``get_scheduled_events(guild, with_user_count=True)``: the raw list, which carries the recurrence rules).

discord.py 2.7 does not model recurrence rules, so the rule is sent with one extra PATCH through discord.py's
own HTTP client, and read from the raw gateway payloads.

Idempotency: Discord has no nonce for scheduled events. A replayed ``event_create`` (the desk died between
Discord creating it and the outbox recording it) first looks for an event the bot created with the same name
and start time, and adopts it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

import aiohttp
import discord
from discord.http import Route

from atlas_desk.core.calendar import DiscordEventInfo, discord_to_rrule
from atlas_desk.core.types import ActionError, OutboxAction
from atlas_desk.platforms.discord.connector import DiscordConnector, _action_error, nonce_for

log = logging.getLogger("atlas_desk.discord.events")

_ENTITY = {
    discord.EntityType.stage_instance: "stage",
    discord.EntityType.voice: "voice",
    discord.EntityType.external: "external",
}
_ENTITY_TYPES = {v: k for k, v in _ENTITY.items()}
_STATUS = {
    discord.EventStatus.scheduled: "scheduled",
    discord.EventStatus.active: "active",
    discord.EventStatus.completed: "completed",
    discord.EventStatus.cancelled: "canceled",
}
_RAW_STATUS = {1: "scheduled", 2: "active", 3: "completed", 4: "canceled"}
_RAW_ENTITY = {1: "stage", 2: "voice", 3: "external"}
_HISTORY_CHECK = 50  # recent channel messages searched for a post sent before a crash


class CalendarSink(Protocol):
    """Where scheduled events go (``atlas_desk.core.calendar.CalendarService``)."""

    async def discord_events_synced(
        self, infos: Sequence[DiscordEventInfo], *, complete: bool = False
    ) -> None: ...

    async def discord_event_deleted(self, platform_id: str) -> None: ...

    async def discord_interest_changed(self, platform_id: str, count: int) -> None: ...

    def discord_event_id(self, event_id: int) -> str: ...


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def info_from_raw(data: dict[str, Any]) -> DiscordEventInfo:
    """A ``DiscordEventInfo`` from Discord's JSON (REST list or gateway event)."""
    start = _time(data.get("scheduled_start_time"))
    assert start is not None
    count = data.get("user_count")
    return DiscordEventInfo(
        platform_id=str(data["id"]),
        name=str(data.get("name") or ""),
        description=str(data.get("description") or ""),
        starts_at=start,
        ends_at=_time(data.get("scheduled_end_time")),
        entity=_RAW_ENTITY.get(int(data.get("entity_type") or 3), "external"),
        channel_id=str(data.get("channel_id") or ""),
        location=str((data.get("entity_metadata") or {}).get("location") or ""),
        status=_RAW_STATUS.get(int(data.get("status") or 1), "scheduled"),
        interested=int(count) if count is not None else None,
        recurrence=discord_to_rrule(data.get("recurrence_rule")),
    )


class ScheduledEventSync:
    """Keeps the calendar's AMAs and Discord's scheduled events in step, for one connector."""

    def __init__(self, connector: DiscordConnector, sink: CalendarSink) -> None:
        self.connector = connector
        self.sink = sink
        self._rules: dict[int, dict[str, Any] | None] = {}  # raw recurrence rules seen on the gateway

    def install(self) -> None:
        """Register the action kinds and the client hooks on the connector."""
        handlers: dict[str, Callable[[OutboxAction], Any]] = {
            "event_create": self._create,
            "event_edit": self._edit,
            "event_cancel": self._cancel,
            "event_start": self._start,
            "event_end": self._end,
            "post_publish": self._post,
        }
        self.connector.action_handlers.update(handlers)
        self.connector.client_hooks.append(self._hook)
        client = self.connector.client
        if client is not None:  # installed on a running connector: hook this client and catch up now
            self._hook(client)
            if client.is_ready():
                self.connector._spawn(self.refresh(), "discord-scheduled-events")

    # -- live events ------------------------------------------------------------------------------------

    def _hook(self, client: discord.Client) -> None:
        parsers: dict[str, Callable[[Any], None]] = client._connection.parsers
        for name in ("GUILD_SCHEDULED_EVENT_CREATE", "GUILD_SCHEDULED_EVENT_UPDATE"):
            parsers[name] = self._remember_rule(parsers[name])
        ready = client.on_ready  # type: ignore[attr-defined]

        async def on_ready() -> None:
            await ready()
            self.connector._spawn(self.refresh(), "discord-scheduled-events")

        async def on_created(event: discord.ScheduledEvent) -> None:
            await self.sink.discord_events_synced([self._info(event)])

        async def on_updated(_before: discord.ScheduledEvent, after: discord.ScheduledEvent) -> None:
            await self.sink.discord_events_synced([self._info(after)])

        async def on_deleted(event: discord.ScheduledEvent) -> None:
            await self.sink.discord_event_deleted(str(event.id))

        async def on_user(event: discord.ScheduledEvent, _user: discord.User) -> None:
            await self._recount(event)

        # discord.Client dispatches ``on_<event>`` by attribute lookup, so instance attributes are handlers.
        setattr(client, "on_ready", on_ready)  # noqa: B010
        setattr(client, "on_scheduled_event_create", on_created)  # noqa: B010
        setattr(client, "on_scheduled_event_update", on_updated)  # noqa: B010
        setattr(client, "on_scheduled_event_delete", on_deleted)  # noqa: B010
        setattr(client, "on_scheduled_event_user_add", on_user)  # noqa: B010
        setattr(client, "on_scheduled_event_user_remove", on_user)  # noqa: B010

    def _remember_rule(self, parse: Callable[[Any], None]) -> Callable[[Any], None]:
        def parse_and_remember(data: Any) -> None:
            if isinstance(data, dict) and str(data.get("id", "")).isdigit():
                self._rules[int(data["id"])] = data.get("recurrence_rule")
            parse(data)

        return parse_and_remember

    def _info(self, event: discord.ScheduledEvent, count: int | None = None) -> DiscordEventInfo:
        location = event.location if event.entity_type is discord.EntityType.external else ""
        return DiscordEventInfo(
            platform_id=str(event.id),
            name=event.name,
            description=event.description or "",
            starts_at=event.start_time,
            ends_at=event.end_time,
            entity=_ENTITY.get(event.entity_type, "external"),
            channel_id=str(event.channel_id or ""),
            location=location or "",
            status=_STATUS.get(event.status, "scheduled"),
            interested=count,
            recurrence=discord_to_rrule(self._rules.get(event.id)),
        )

    async def _recount(self, event: discord.ScheduledEvent) -> None:
        # discord.py does not keep user_count up to date on USER_ADD/REMOVE; Discord's own count is the truth.
        guild = self.connector._guild()
        if guild is None:
            return
        try:
            fresh = await guild.fetch_scheduled_event(event.id, with_counts=True)
        except discord.HTTPException as exc:
            log.warning("could not refresh the interested count of event %s (%s)", event.id, exc.status)
            return
        await self.sink.discord_interest_changed(str(fresh.id), int(fresh.user_count or 0))

    async def refresh(self) -> None:
        """Fetch every scheduled event with counts and hand the full list to the calendar."""
        client = self.connector.client
        guild = self.connector._guild()
        if client is None or guild is None:
            return
        try:
            raw = await client.http.get_scheduled_events(guild.id, True)
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            log.warning("could not fetch Discord's scheduled events (%s)", type(exc).__name__)
            return
        events: list[dict[str, Any]] = [dict(d) for d in raw]
        infos = [info_from_raw(d) for d in events]
        for d in events:
            self._rules[int(d["id"])] = d.get("recurrence_rule")
        await self.sink.discord_events_synced(infos, complete=True)

    # -- actions ------------------------------------------------------------------------------------------

    def _ready_guild(self) -> tuple[discord.Client, discord.Guild]:
        client = self.connector.client
        guild = self.connector._guild()
        if client is None or client.is_closed() or guild is None:
            raise ActionError("not connected to Discord yet", retryable=True)
        return client, guild

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except discord.RateLimited as exc:
            raise ActionError(
                f"Discord is rate limiting the bot; trying again in {exc.retry_after:.0f} s",
                retryable=True,
                retry_after=exc.retry_after,
            ) from None
        except discord.NotFound:
            raise ActionError("the Discord event no longer exists", retryable=False) from None
        except discord.HTTPException as exc:
            raise _action_error(exc) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise ActionError(f"could not reach Discord ({type(exc).__name__})", retryable=True) from None

    def _platform_id(self, action: OutboxAction) -> int:
        pid = str(action.payload.get("platform_id") or "")
        if not pid.isdigit():
            pid = self.sink.discord_event_id(int(action.payload.get("event_id") or 0))
        if not pid.isdigit():
            raise ActionError("the event is not on Discord yet", retryable=True)
        return int(pid)

    def _url(self, guild_id: int, event_id: int) -> str:
        return f"https://discord.com/events/{guild_id}/{event_id}"

    async def _set_rule(self, client: discord.Client, guild_id: int, event_id: int, rule: Any) -> None:
        route = Route(
            "PATCH",
            "/guilds/{guild_id}/scheduled-events/{event_id}",
            guild_id=guild_id,
            event_id=event_id,
        )
        await self._call(client.http.request(route, json={"recurrence_rule": rule}))

    async def _create(self, action: OutboxAction) -> dict[str, Any]:
        client, guild = self._ready_guild()
        p = action.payload
        start = _time(p.get("start"))
        end = _time(p.get("end"))
        if start is None:
            raise ActionError("the AMA has no start time", retryable=False)
        rule = p.get("recurrence_rule")
        if action.attempts > 1:
            # A replay: the first attempt may have created it before the desk went down.
            raw = await self._call(client.http.get_scheduled_events(guild.id, False))
            me = str(client.user.id) if client.user else ""
            for d in raw:
                same_start = _time(d.get("scheduled_start_time")) == start
                if d.get("name") == p.get("name") and same_start and str(d.get("creator_id")) == me:
                    if rule and not d.get("recurrence_rule"):
                        await self._set_rule(client, guild.id, int(d["id"]), rule)
                    return {
                        "platform_id": str(d["id"]),
                        "url": self._url(guild.id, int(d["id"])),
                        "replayed": True,
                    }
        entity = str(p.get("entity") or "external")
        kwargs: dict[str, Any] = {
            "name": str(p.get("name") or ""),
            "start_time": start,
            "description": str(p.get("description") or ""),
            "privacy_level": discord.PrivacyLevel.guild_only,
            "entity_type": _ENTITY_TYPES[entity],
        }
        if end is not None:
            kwargs["end_time"] = end
        if entity == "external":
            kwargs["location"] = str(p.get("location") or "")
        else:
            channel = guild.get_channel(int(p.get("channel_id") or 0))
            if channel is None:
                raise ActionError("the AMA's channel no longer exists on Discord", retryable=False)
            kwargs["channel"] = channel
        event: discord.ScheduledEvent = await self._call(guild.create_scheduled_event(**kwargs))
        if rule:
            await self._set_rule(client, guild.id, event.id, rule)
        return {"platform_id": str(event.id), "url": self._url(guild.id, event.id)}

    async def _fetch(self, guild: discord.Guild, action: OutboxAction) -> discord.ScheduledEvent:
        event: discord.ScheduledEvent = await self._call(
            guild.fetch_scheduled_event(self._platform_id(action))
        )
        return event

    async def _edit(self, action: OutboxAction) -> dict[str, Any]:
        client, guild = self._ready_guild()
        event = await self._fetch(guild, action)
        p = action.payload
        start = _time(p.get("start"))
        end = _time(p.get("end"))
        entity = str(p.get("entity") or _ENTITY.get(event.entity_type, "external"))
        kwargs: dict[str, Any] = {
            "name": str(p.get("name") or event.name),
            "description": str(p.get("description") or ""),
            "entity_type": _ENTITY_TYPES[entity],
        }
        if start is not None:
            kwargs["start_time"] = start
        if end is not None:
            kwargs["end_time"] = end
        if entity == "external":
            kwargs["location"] = str(p.get("location") or "")
        else:
            channel = guild.get_channel(int(p.get("channel_id") or event.channel_id or 0))
            if channel is None:
                raise ActionError("the AMA's channel no longer exists on Discord", retryable=False)
            kwargs["channel"] = channel
        edited: discord.ScheduledEvent = await self._call(event.edit(**kwargs))
        if "recurrence_rule" in p and p["recurrence_rule"] != self._rules.get(event.id):
            await self._set_rule(client, guild.id, event.id, p["recurrence_rule"])
        return {"platform_id": str(edited.id), "url": self._url(guild.id, edited.id)}

    async def _status(self, action: OutboxAction, want: discord.EventStatus) -> dict[str, Any]:
        _client, guild = self._ready_guild()
        event = await self._fetch(guild, action)
        if event.status is not want:  # already there: a replay, or another moderator did it first
            if want is discord.EventStatus.cancelled:
                await self._call(event.cancel())
            elif want is discord.EventStatus.active:
                await self._call(event.start())
            else:
                await self._call(event.end())
        return {"platform_id": str(event.id), "status": _STATUS[want]}

    async def _cancel(self, action: OutboxAction) -> dict[str, Any]:
        return await self._status(action, discord.EventStatus.cancelled)

    async def _start(self, action: OutboxAction) -> dict[str, Any]:
        return await self._status(action, discord.EventStatus.active)

    async def _end(self, action: OutboxAction) -> dict[str, Any]:
        return await self._status(action, discord.EventStatus.completed)

    async def _post(self, action: OutboxAction) -> dict[str, Any]:
        """Publish a scheduled post to a channel, once per idempotency key."""
        client, guild = self._ready_guild()
        content = str(action.payload.get("content") or "")
        raw_channel = str(action.payload.get("channel_id") or "")
        if not content.strip():
            raise ActionError("the post is empty", retryable=False)
        if not raw_channel.isdigit():
            raise ActionError("the post does not say which Discord channel to use", retryable=False)
        channel = client.get_partial_messageable(int(raw_channel), guild_id=guild.id)
        me = client.user.id if client.user else None
        if action.attempts > 1:
            # A replay after a crash: the nonce only de-duplicates for minutes, so also look at what we sent.
            async for message in channel.history(limit=_HISTORY_CHECK):
                if message.author.id == me and message.content == content:
                    return {"message_id": str(message.id), "channel_id": raw_channel, "url": message.jump_url}
        message = await self._call(
            channel.send(
                content,
                nonce=nonce_for(action.idempotency_key),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        )
        return {"message_id": str(message.id), "channel_id": raw_channel, "url": message.jump_url}
