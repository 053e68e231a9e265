"""Guild scheduled events for the Discord sandbox: REST routes, gateway dispatches and a test driver.

Installed on every ``DiscordSandbox`` (``sandbox.scheduled_events``). Shapes follow
``reference/discord/openapi.json`` (``*ScheduledEventResponse``, ``RecurrenceRule``,
``ScheduledEventUserResponse``). Routes:

- ``GET/POST /guilds/{guild_id}/scheduled-events`` (``with_counts`` adds ``user_count``)
- ``GET/PATCH/DELETE /guilds/{guild_id}/scheduled-events/{event_id}``
- ``GET /guilds/{guild_id}/scheduled-events/{event_id}/users``

Status changes follow Discord: scheduled → active → completed, scheduled → canceled; anything else is a 400.
When a recurring event completes, Discord moves it to its next occurrence; the sandbox does too (monthly
``by_n_weekday`` rules). Gateway: ``GUILD_SCHEDULED_EVENT_CREATE/UPDATE/DELETE/USER_ADD/USER_REMOVE``.
Seeded from ``community.events``; members mark interest through ``member_interested``.
"""

from __future__ import annotations

import calendar
import copy
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from atlas_desk.sandbox.http import json_response

if TYPE_CHECKING:
    from atlas_desk.sandbox.discord.server import DiscordSandbox

SCHEDULED, ACTIVE, COMPLETED, CANCELED = 1, 2, 3, 4
STAGE_INSTANCE, VOICE, EXTERNAL = 1, 2, 3
GUILD_ONLY = 2
MONTHLY = 1
_ENTITY_BY_KIND = {"stage": STAGE_INSTANCE, "voice": VOICE, "external": EXTERNAL}
_ALLOWED = {SCHEDULED: {ACTIVE, CANCELED}, ACTIVE: {COMPLETED}}


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def _parse_time(value: Any, field: str) -> datetime:
    from atlas_desk.sandbox.discord.server import _ApiError

    if not isinstance(value, str):
        raise _ApiError(400, 50035, "Invalid Form Body", errors={field: "required"})
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _ApiError(400, 50035, "Invalid Form Body", errors={field: "not an ISO8601 timestamp"}) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt


def nth_weekday(year: int, month: int, n: int, weekday: int) -> int:
    """Day of the month of the ``n``-th ``weekday`` (0 = Monday); ``n`` = 5 means the last one."""
    days = [d for d, wd in calendar.Calendar().itermonthdays2(year, month) if d and wd == weekday]
    return days[-1] if n >= 5 or n > len(days) else days[n - 1]


def next_monthly(start: datetime, rule: dict[str, Any]) -> datetime:
    """The occurrence of a monthly ``by_n_weekday`` rule after ``start``."""
    interval = int(rule.get("interval") or 1)
    nth = (rule.get("by_n_weekday") or [{"n": (start.day - 1) // 7 + 1, "day": start.weekday()}])[0]
    month0 = start.month - 1 + interval
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return start.replace(year=year, month=month, day=nth_weekday(year, month, int(nth["n"]), int(nth["day"])))


class ScheduledEvents:
    """The guild's scheduled events, kept in memory by one ``DiscordSandbox``."""

    def __init__(self, server: DiscordSandbox) -> None:
        self.server = server
        self.events: dict[str, dict[str, Any]] = {}
        self.users: dict[str, list[str]] = {}  # event id -> interested user ids, in order of interest
        self._seed()

    # -- seeding and payloads ---------------------------------------------------------------------------

    def _seed(self) -> None:
        s = self.server
        now = s.community.now
        for ev in s.community.events:
            status = SCHEDULED
            if ev.ends_at is not None and ev.ends_at <= now:
                status = COMPLETED
            elif ev.starts_at <= now:
                status = ACTIVE
            rule = monthly_rule(ev.starts_at) if ev.recurrence_monthly else None
            self.events[ev.id] = self._payload(
                ev.id,
                ev.name,
                ev.description,
                ev.starts_at,
                ev.ends_at,
                _ENTITY_BY_KIND.get(ev.kind, EXTERNAL),
                ev.channel_id,
                ev.location,
                status,
                s._owner_id(),
                rule,
            )
            self.users[ev.id] = [s._user_id(k) for k in ev.interested_keys]

    def _payload(
        self,
        eid: str,
        name: str,
        description: str | None,
        start: datetime,
        end: datetime | None,
        entity_type: int,
        channel_id: str | None,
        location: str,
        status: int,
        creator_id: str,
        rule: dict[str, Any] | None,
    ) -> dict[str, Any]:
        s = self.server
        return {
            "id": eid,
            "guild_id": s.guild_id,
            "name": name,
            "description": description or None,
            "channel_id": str(channel_id) if channel_id and entity_type != EXTERNAL else None,
            "creator_id": creator_id,
            "creator": s._users.get(creator_id),
            "image": None,
            "scheduled_start_time": _iso(start),
            "scheduled_end_time": _iso(end) if end is not None else None,
            "status": status,
            "entity_type": entity_type,
            "entity_id": None,
            "recurrence_rule": rule,
            "privacy_level": GUILD_ONLY,
            "guild_scheduled_event_exceptions": [],
            "entity_metadata": {"location": location} if entity_type == EXTERNAL else None,
        }

    def payload(self, eid: str, *, with_count: bool = True) -> dict[str, Any]:
        """The REST / gateway shape of one event."""
        data = copy.deepcopy(self.events[eid])
        if with_count:
            data["user_count"] = len(self.users.get(eid, []))
        return data

    def live_payloads(self) -> list[dict[str, Any]]:
        """The scheduled and active events, for GUILD_CREATE (discord.py caches them from there)."""
        return [self.payload(eid) for eid, ev in self.events.items() if ev["status"] in (SCHEDULED, ACTIVE)]

    # -- test driver ------------------------------------------------------------------------------------

    def member_interested(self, event_id: str, member_key: str, on: bool = True) -> int:
        """A member marks (or unmarks) interest; dispatches USER_ADD / USER_REMOVE. Returns the new count."""
        if event_id not in self.events:
            raise KeyError(event_id)
        s = self.server
        uid = s._user_id(member_key)
        users = self.users.setdefault(event_id, [])
        if on and uid not in users:
            users.append(uid)
            name = "GUILD_SCHEDULED_EVENT_USER_ADD"
        elif not on and uid in users:
            users.remove(uid)
            name = "GUILD_SCHEDULED_EVENT_USER_REMOVE"
        else:
            return len(users)
        s._dispatch(name, {"guild_scheduled_event_id": event_id, "user_id": uid, "guild_id": s.guild_id})
        return len(users)

    def set_status(self, event_id: str, status: int) -> dict[str, Any]:
        """Change an event's status as Discord would (start, end, cancel) and dispatch the update."""
        self._transition(self.events[event_id], status)
        data = self.payload(event_id)
        self.server._dispatch("GUILD_SCHEDULED_EVENT_UPDATE", data)
        return data

    # -- REST ---------------------------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, Any]]:
        base = "/guilds/{guild_id}/scheduled-events"
        return [
            ("GET", base, self._list),
            ("POST", base, self._create),
            ("GET", base + "/{event_id}", self._get),
            ("PATCH", base + "/{event_id}", self._patch),
            ("DELETE", base + "/{event_id}", self._delete),
            ("GET", base + "/{event_id}/users", self._users),
        ]

    def _error(self, status: int, code: int, message: str, **extra: Any) -> Exception:
        from atlas_desk.sandbox.discord.server import _ApiError

        return _ApiError(status, code, message, **extra)

    def _event_or_404(self, request: web.Request) -> str:
        self.server._check_guild(request)
        eid = request.match_info["event_id"]
        if eid not in self.events:
            raise self._error(404, 10070, "Unknown Guild Scheduled Event")
        return eid

    @staticmethod
    def _with_counts(request: web.Request) -> bool:
        # discord.py sends with_user_count; the reference also names it with_counts.
        flags = (request.query.get("with_user_count"), request.query.get("with_counts"))
        return any(f in ("true", "True", "1") for f in flags)

    async def _list(self, request: web.Request) -> web.Response:
        self.server._check_guild(request)
        counts = self._with_counts(request)
        return json_response([self.payload(eid, with_count=counts) for eid in self.events])

    async def _get(self, request: web.Request) -> web.Response:
        eid = self._event_or_404(request)
        return json_response(self.payload(eid, with_count=self._with_counts(request)))

    def _check_rule(self, rule: Any, start: datetime) -> dict[str, Any] | None:
        if rule is None:
            return None
        if not isinstance(rule, dict) or rule.get("frequency") not in (0, 1, 2, 3):
            raise self._error(400, 50035, "Invalid Form Body", errors={"recurrence_rule": "invalid"})
        if rule["frequency"] == MONTHLY:
            nth = rule.get("by_n_weekday")
            if not isinstance(nth, list) or len(nth) != 1 or rule.get("by_weekday"):
                raise self._error(
                    400,
                    50035,
                    "Invalid Form Body",
                    errors={"recurrence_rule": "monthly needs one by_n_weekday"},
                )
            n, day = nth[0].get("n"), nth[0].get("day")
            if n not in (1, 2, 3, 4, 5) or day not in range(7) or start.weekday() != day:
                raise self._error(
                    400,
                    50035,
                    "Invalid Form Body",
                    errors={"recurrence_rule": "by_n_weekday must match the start"},
                )
        clean = {
            "start": _iso(start),
            "end": rule.get("end"),
            "frequency": rule["frequency"],
            "interval": int(rule.get("interval") or 1),
            "by_weekday": rule.get("by_weekday"),
            "by_n_weekday": rule.get("by_n_weekday"),
            "by_month": rule.get("by_month"),
            "by_month_day": rule.get("by_month_day"),
            "by_year_day": rule.get("by_year_day"),
            "count": rule.get("count"),
        }
        return clean

    def _check_entity(self, ev: dict[str, Any]) -> None:
        s = self.server
        et = ev["entity_type"]
        if et not in (STAGE_INSTANCE, VOICE, EXTERNAL):
            raise self._error(400, 50035, "Invalid Form Body", errors={"entity_type": "invalid"})
        if et == EXTERNAL:
            location = (ev.get("entity_metadata") or {}).get("location")
            if not location or ev.get("scheduled_end_time") is None:
                raise self._error(
                    400,
                    50035,
                    "Invalid Form Body",
                    errors={"entity_metadata": "external needs location and end"},
                )
            ev["channel_id"] = None
        else:
            want = 13 if et == STAGE_INSTANCE else 2
            channel = s._channels.get(str(ev.get("channel_id") or ""))
            if channel is None or channel["type"] != want:
                raise self._error(
                    400, 50035, "Invalid Form Body", errors={"channel_id": "wrong channel type"}
                )
            ev["entity_metadata"] = None
        end = ev.get("scheduled_end_time")
        if end is not None and _parse_time(end, "scheduled_end_time") <= _parse_time(
            ev["scheduled_start_time"], "scheduled_start_time"
        ):
            raise self._error(400, 50035, "Invalid Form Body", errors={"scheduled_end_time": "before start"})

    async def _create(self, request: web.Request) -> web.Response:
        s = self.server
        s._check_guild(request)
        data = await s._read_body(request)
        name = data.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise self._error(400, 50035, "Invalid Form Body", errors={"name": "1 to 100 characters"})
        start = _parse_time(data.get("scheduled_start_time"), "scheduled_start_time")
        end_raw = data.get("scheduled_end_time")
        end = _parse_time(end_raw, "scheduled_end_time") if end_raw is not None else None
        eid = s._next_id()
        metadata = data.get("entity_metadata") or {}
        ev = self._payload(
            eid,
            name,
            data.get("description"),
            start,
            end,
            int(data.get("entity_type") or 0),
            data.get("channel_id"),
            str(metadata.get("location") or ""),
            SCHEDULED,
            s.bot_id,
            None,
        )
        self._check_entity(ev)
        ev["recurrence_rule"] = self._check_rule(data.get("recurrence_rule"), start)
        self.events[eid] = ev
        self.users[eid] = []
        out = self.payload(eid)
        s._dispatch("GUILD_SCHEDULED_EVENT_CREATE", out)
        return json_response(out)

    def _transition(self, ev: dict[str, Any], status: int) -> None:
        current = ev["status"]
        if status == current:
            return
        if status not in _ALLOWED.get(current, set()):
            raise self._error(400, 180000, "Cannot change the status of this scheduled event that way")
        rule = ev.get("recurrence_rule")
        if status == COMPLETED and rule and rule.get("frequency") == MONTHLY:
            # A recurring event moves on to its next occurrence instead of ending for good.
            start = _parse_time(ev["scheduled_start_time"], "start")
            end = ev.get("scheduled_end_time")
            length = _parse_time(end, "end") - start if end else timedelta(0)
            nxt = next_monthly(start, rule)
            ev["scheduled_start_time"] = _iso(nxt)
            ev["scheduled_end_time"] = _iso(nxt + length) if end else None
            ev["status"] = SCHEDULED
            return
        ev["status"] = status

    async def _patch(self, request: web.Request) -> web.Response:
        s = self.server
        eid = self._event_or_404(request)
        data = await s._read_body(request)
        ev = copy.deepcopy(self.events[eid])
        if ev["status"] in (COMPLETED, CANCELED):
            raise self._error(400, 180000, "Cannot modify a finished scheduled event")
        for key in ("name", "description", "channel_id", "scheduled_start_time", "scheduled_end_time"):
            if key in data:
                ev[key] = data[key]
        if ev.get("channel_id") is not None:
            ev["channel_id"] = str(ev["channel_id"])  # snowflakes are strings in Discord's JSON
        if "entity_type" in data:
            ev["entity_type"] = int(data["entity_type"])
        if "entity_metadata" in data:
            ev["entity_metadata"] = data["entity_metadata"]
        start = _parse_time(ev["scheduled_start_time"], "scheduled_start_time")
        ev["scheduled_start_time"] = _iso(start)
        if ev.get("scheduled_end_time") is not None:
            ev["scheduled_end_time"] = _iso(_parse_time(ev["scheduled_end_time"], "scheduled_end_time"))
        self._check_entity(ev)
        if "recurrence_rule" in data:
            ev["recurrence_rule"] = self._check_rule(data["recurrence_rule"], start)
        elif ev.get("recurrence_rule"):
            ev["recurrence_rule"]["start"] = _iso(start)
        if "status" in data:
            self._transition(ev, int(data["status"]))
        self.events[eid] = ev
        out = self.payload(eid)
        s._dispatch("GUILD_SCHEDULED_EVENT_UPDATE", out)
        return json_response(out)

    async def _delete(self, request: web.Request) -> web.Response:
        eid = self._event_or_404(request)
        out = self.payload(eid)
        del self.events[eid]
        self.users.pop(eid, None)
        self.server._dispatch("GUILD_SCHEDULED_EVENT_DELETE", out)
        return web.Response(status=204)

    async def _users(self, request: web.Request) -> web.Response:
        s = self.server
        eid = self._event_or_404(request)
        try:
            limit = max(1, min(100, int(request.query.get("limit", "100"))))
        except ValueError:
            raise self._error(400, 50035, "Invalid Form Body", errors={"limit": "integer"}) from None
        with_member = request.query.get("with_member") in ("true", "True", "1")
        ids = sorted(self.users.get(eid, []), key=int)
        if "after" in request.query:
            ids = [u for u in ids if int(u) > int(request.query["after"])]
        if "before" in request.query:
            ids = [u for u in ids if int(u) < int(request.query["before"])][-limit:]
        out = []
        for uid in ids[:limit]:
            entry: dict[str, Any] = {
                "guild_scheduled_event_id": eid,
                "guild_scheduled_event_exception_id": None,
                "user_id": uid,
                "user": s._users[uid],
            }
            if with_member and uid in s._members:
                entry["member"] = s._members[uid]
            out.append(entry)
        return json_response(out)


def monthly_rule(start: datetime) -> dict[str, Any]:
    """Discord's recurrence rule for "every month on this weekday of the month" (e.g. the first Thursday)."""
    n = (start.day - 1) // 7 + 1
    if start.day + 7 > calendar.monthrange(start.year, start.month)[1]:
        n = 5  # the last such weekday of the month
    return {
        "start": _iso(start),
        "end": None,
        "frequency": MONTHLY,
        "interval": 1,
        "by_weekday": None,
        "by_n_weekday": [{"n": min(n, 5), "day": start.weekday()}],
        "by_month": None,
        "by_month_day": None,
        "by_year_day": None,
        "count": None,
    }
