"""Community health numbers for the insights pane, without Qt: pure functions over a SQLite connection.

The community plan's three numbers:

* **Active Discord members** — distinct authors of Discord messages (bots and deleted messages excluded), per
  day (daily), over the 7 days ending that day (weekly) and over the 30 days ending it (monthly). Target:
  ``ACTIVE_TARGET`` (100) monthly active members in the first month.
* **Feature suggestions and upvotes per month and platform** — inbox items flagged ``is_suggestion`` (GitHub
  issues with a suggestion label and Ideas discussions, Reddit posts with a suggestion flair, Discord messages
  a moderator marked), counted by the month they were created; upvotes are their ``score`` (👍 reactions on
  GitHub and Discord, the post score on Reddit) as last seen.
* **Ticket first-reply time** — hours from ``tickets.opened_at`` to ``first_reply_at`` for tickets opened in
  the range: median and p90 (linear interpolation between closest ranks, like ``statistics.quantiles(...,
  method="inclusive")``), and the share answered within the SLA (24 h by default). A ticket still unanswered
  after the SLA counts as a miss in the share; one still unanswered but younger is left out (undecided).
  Trend: the same per ISO week (Monday first).

Also: ticket volume (opened and closed per day) and backlog (tickets opened and not yet closed — ``closed_at``
empty or later — at the end of each day); per-moderator workload (``ticket_messages`` by role ``moderator``
(replies) and ``note``, by author handle, plus tickets assigned); busiest hours (a 7×24 grid of inbox items by
weekday, Monday first, and hour, shifted to the moderator's UTC offset); and **helpful members**:

* *replies*: Discord messages in a support context — a channel or a thread under a channel whose id is in
  ``support_channels``, or whose name contains "help", "support" or "question" — that answer **another**
  member: they reply (``extra.reply_to``) to someone else's message, or sit in a thread someone else started
  (the thread's earliest stored message). Reddit comments replying (``extra.reply_to``) to someone else's post
  or comment under a post with a help/question/support flair count the same.
* *answers*: GitHub Discussion comments with ``extra.is_answer`` true (the accepted answer) on someone else's
  discussion (``parent_id`` is the discussion's node id).
* Ranking score: ``replies + 3 × answers`` (an accepted answer is a member saying "this solved it"). Bots and
  the moderators (``exclude`` handles) are left out.

**History.** Everything is computed from daily values ``(metric, day, dimension) → value`` (UTC days). Raw
rows give them; ``record_samples(conn, day)`` stores a day's values in ``metric_samples`` (never lowering a
stored value), and reading merges the two by taking the larger value per key. So a restart keeps history, a
platform-side deletion (rows gone or flagged deleted) does not shrink a day already sampled, and late-arriving
rows still count.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

ACTIVE_TARGET = 100
SLA_HOURS_DEFAULT = 24.0
ANSWER_WEIGHT = 3
SUPPORT_NAME = re.compile(r"help|support|question", re.IGNORECASE)

# Metric names in metric_samples.
M_ACTIVE_DAILY = "discord.active_members.daily"
M_ACTIVE_WEEKLY = "discord.active_members.weekly"
M_ACTIVE_MONTHLY = "discord.active_members.monthly"
M_SUGGESTIONS = "suggestions.count"  # dimension: platform
M_UPVOTES = "suggestions.upvotes"  # dimension: platform
M_ITEMS = "items.count"  # dimension: platform
M_HOURLY = "items.hourly"  # dimension: UTC hour "00".."23"
M_OPENED = "tickets.opened"
M_CLOSED = "tickets.closed"
M_BACKLOG = "tickets.backlog"
M_FIRST_REPLY = "tickets.first_reply_hours"  # day: opened; dimension: "platform:platform_id"
M_MOD_REPLIES = "moderators.replies"  # dimension: handle
M_MOD_NOTES = "moderators.notes"
M_MOD_ASSIGNED = "moderators.assigned"
M_HELP_REPLIES = "helpful.replies"  # dimension: "platform:handle"
M_HELP_ANSWERS = "helpful.answers"

Key = tuple[str, str]  # (day, dimension)
Values = dict[str, dict[Key, float]]


# ---------------------------------------------------------------------------------------------- ranges


@dataclass(frozen=True, slots=True)
class DateRange:
    """UTC days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"a date range must not end ({self.end}) before it starts ({self.start})")

    @classmethod
    def last_days(cls, n: int, today: date) -> DateRange:
        """The ``n`` days ending with ``today``."""
        return cls(today - timedelta(days=n - 1), today)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def start_ts(self) -> float:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=UTC).timestamp()

    @property
    def end_ts(self) -> float:
        """The first instant after the range."""
        nxt = self.end + timedelta(days=1)
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=UTC).timestamp()

    def contains(self, day: str) -> bool:
        return self.start.isoformat() <= day <= self.end.isoformat()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


def _parse(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _day_end(day: str) -> str:
    """The store time text of the first instant after ``day`` (times compare as fixed-width UTC text)."""
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


# ---------------------------------------------------------------------------------------------- raw values


@dataclass(frozen=True, slots=True)
class Options:
    """What the computations need to know about the community."""

    support_channels: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()  # moderators' handles, casefolded
    sla_hours: float = SLA_HOURS_DEFAULT

    @classmethod
    def make(
        cls,
        support_channels: Iterable[str] = (),
        exclude: Iterable[str] = (),
        sla_hours: float = SLA_HOURS_DEFAULT,
    ) -> Options:
        return cls(
            frozenset(support_channels), frozenset(h.casefold().lstrip("@") for h in exclude), sla_hours
        )


def _add(values: Values, metric: str, day: str, dim: str, amount: float) -> None:
    bucket = values.setdefault(metric, {})
    bucket[(day, dim)] = bucket.get((day, dim), 0.0) + amount


def raw_values(conn: sqlite3.Connection, rng: DateRange, opts: Options | None = None) -> Values:
    """Daily values computed from the raw rows for every day of ``rng``."""
    opts = opts or Options()
    values: Values = {}
    _raw_active(conn, rng, values)
    _raw_items(conn, rng, values)
    _raw_tickets(conn, rng, values)
    _raw_moderators(conn, rng, values)
    _raw_helpful(conn, rng, opts, values)
    return values


def _raw_active(conn: sqlite3.Connection, rng: DateRange, values: Values) -> None:
    lookback = DateRange(rng.start - timedelta(days=29), rng.end)
    rows = conn.execute(
        "SELECT DISTINCT date(created_ts, 'unixepoch'), account_id FROM inbox_items"
        " WHERE platform = 'discord' AND kind = 'message' AND deleted = 0 AND account_id IS NOT NULL"
        " AND created_ts >= ? AND created_ts < ? AND json_extract(extra, '$.bot') IS NULL",
        (lookback.start_ts, lookback.end_ts),
    ).fetchall()
    by_day: dict[str, set[int]] = defaultdict(set)
    for day, account in rows:
        by_day[day].add(int(account))
    for d in rng.days():
        daily = by_day.get(d.isoformat(), set())
        weekly: set[int] = set()
        monthly: set[int] = set()
        for back in range(30):
            s = by_day.get((d - timedelta(days=back)).isoformat())
            if s:
                monthly |= s
                if back < 7:
                    weekly |= s
        if monthly:
            _add(values, M_ACTIVE_DAILY, d.isoformat(), "", len(daily))
            _add(values, M_ACTIVE_WEEKLY, d.isoformat(), "", len(weekly))
            _add(values, M_ACTIVE_MONTHLY, d.isoformat(), "", len(monthly))


def _raw_items(conn: sqlite3.Connection, rng: DateRange, values: Values) -> None:
    span = (rng.start_ts, rng.end_ts)
    for day, platform, n, suggestions, upvotes in conn.execute(
        "SELECT date(created_ts, 'unixepoch') AS d, platform, count(*), sum(is_suggestion),"
        " sum(CASE WHEN is_suggestion THEN max(score, 0) ELSE 0 END)"
        " FROM inbox_items WHERE deleted = 0 AND created_ts >= ? AND created_ts < ? GROUP BY d, platform",
        span,
    ):
        _add(values, M_ITEMS, day, platform, n)
        if suggestions:
            _add(values, M_SUGGESTIONS, day, platform, suggestions)
            _add(values, M_UPVOTES, day, platform, upvotes or 0)
    for day, hour, n in conn.execute(
        "SELECT date(created_ts, 'unixepoch') AS d, strftime('%H', created_ts, 'unixepoch') AS h, count(*)"
        " FROM inbox_items WHERE deleted = 0 AND created_ts >= ? AND created_ts < ? GROUP BY d, h",
        span,
    ):
        _add(values, M_HOURLY, day, hour, n)


def _raw_tickets(conn: sqlite3.Connection, rng: DateRange, values: Values) -> None:
    lo, hi = rng.start.isoformat(), _day_end(rng.end.isoformat())
    for day, n in conn.execute(
        "SELECT substr(opened_at, 1, 10) AS d, count(*) FROM tickets WHERE opened_at >= ? AND opened_at < ?"
        " GROUP BY d",
        (lo, hi),
    ):
        _add(values, M_OPENED, day, "", n)
    for day, n in conn.execute(
        "SELECT substr(closed_at, 1, 10) AS d, count(*) FROM tickets WHERE closed_at >= ? AND closed_at < ?"
        " GROUP BY d",
        (lo, hi),
    ):
        _add(values, M_CLOSED, day, "", n)
    # Backlog at each day's end: opened before it ends, not closed by then.
    opened = sorted(r[0] for r in conn.execute("SELECT opened_at FROM tickets WHERE opened_at < ?", (hi,)))
    closed = sorted(
        r[0]
        for r in conn.execute(
            "SELECT closed_at FROM tickets WHERE closed_at IS NOT NULL AND closed_at < ?", (hi,)
        )
    )
    for d in rng.days():
        end = _day_end(d.isoformat())
        backlog = bisect.bisect_left(opened, end) - bisect.bisect_left(closed, end)
        if bisect.bisect_left(opened, end):
            _add(values, M_BACKLOG, d.isoformat(), "", max(backlog, 0))
    for platform, pid, opened_at, first in conn.execute(
        "SELECT platform, platform_id, opened_at, first_reply_at FROM tickets"
        " WHERE opened_at >= ? AND opened_at < ? AND first_reply_at IS NOT NULL",
        (lo, hi),
    ):
        hours = (_parse(first) - _parse(opened_at)).total_seconds() / 3600
        _add(values, M_FIRST_REPLY, opened_at[:10], f"{platform}:{pid}", max(hours, 0.0))
    for day, who, n in conn.execute(
        "SELECT substr(opened_at, 1, 10) AS d, assignee, count(*) FROM tickets"
        " WHERE opened_at >= ? AND opened_at < ? AND assignee != '' GROUP BY d, assignee",
        (lo, hi),
    ):
        _add(values, M_MOD_ASSIGNED, day, who, n)


def _raw_moderators(conn: sqlite3.Connection, rng: DateRange, values: Values) -> None:
    lo, hi = rng.start.isoformat(), _day_end(rng.end.isoformat())
    for day, handle, role, n in conn.execute(
        "SELECT substr(m.created_at, 1, 10) AS d, coalesce(a.handle, '?') AS h, m.role, count(*)"
        " FROM ticket_messages AS m LEFT JOIN accounts AS a ON a.id = m.author_id"
        " WHERE m.role IN ('moderator', 'note') AND m.created_at >= ? AND m.created_at < ?"
        " GROUP BY d, h, m.role",
        (lo, hi),
    ):
        _add(values, M_MOD_REPLIES if role == "moderator" else M_MOD_NOTES, day, handle, n)


def _is_support(container: str, container_id: str, thread_parent: str | None, opts: Options) -> bool:
    if container_id in opts.support_channels or (thread_parent and thread_parent in opts.support_channels):
        return True
    channel = container.split(" › ", 1)[0]
    return bool(SUPPORT_NAME.search(channel))


def _raw_helpful(conn: sqlite3.Connection, rng: DateRange, opts: Options, values: Values) -> None:
    span = (rng.start_ts, rng.end_ts)
    # Who started each Discord thread: the author of its earliest stored message.
    starters: dict[str, int] = {}
    for container_id, account in conn.execute(
        "SELECT container_id, account_id FROM inbox_items WHERE platform = 'discord'"
        " AND json_extract(extra, '$.thread_parent_id') IS NOT NULL"
        " GROUP BY container_id HAVING created_ts = min(created_ts)"
    ):
        starters[container_id] = account
    rows = conn.execute(
        "SELECT i.platform, i.kind, i.container, i.container_id, i.account_id, a.handle, i.extra,"
        " (SELECT r.account_id FROM inbox_items AS r WHERE r.platform = i.platform"
        "   AND r.platform_id = json_extract(i.extra, '$.reply_to')),"
        " (SELECT p.account_id FROM inbox_items AS p WHERE p.platform = i.platform"
        "   AND p.platform_id = i.parent_id),"
        " (SELECT json_extract(p.extra, '$.flair') FROM inbox_items AS p WHERE p.platform = i.platform"
        "   AND p.platform_id = i.parent_id),"
        " date(i.created_ts, 'unixepoch')"
        " FROM inbox_items AS i JOIN accounts AS a ON a.id = i.account_id"
        " WHERE i.deleted = 0 AND i.created_ts >= ? AND i.created_ts < ?"
        " AND i.kind IN ('message', 'comment', 'discussion_comment')"
        " AND json_extract(i.extra, '$.bot') IS NULL",
        span,
    ).fetchall()
    for (
        platform,
        kind,
        container,
        container_id,
        account,
        handle,
        extra_text,
        replied,
        parent,
        flair,
        day,
    ) in rows:
        if str(handle).casefold() in opts.exclude:
            continue
        try:
            extra = json.loads(extra_text) if extra_text else {}
        except ValueError:
            extra = {}
        who = f"{platform}:{handle}"
        if kind == "discussion_comment":
            if extra.get("is_answer") and parent is not None and parent != account:
                _add(values, M_HELP_ANSWERS, day, who, 1)
            continue
        if kind == "message":
            thread_parent = extra.get("thread_parent_id")
            if not _is_support(container, container_id, thread_parent, opts):
                continue
            asker = (
                replied if replied is not None else (starters.get(container_id) if thread_parent else None)
            )
        else:  # a Reddit comment under a help post
            if not (flair and SUPPORT_NAME.search(str(flair))):
                continue
            asker = replied if replied is not None else parent
        if asker is not None and asker != account:
            _add(values, M_HELP_REPLIES, day, who, 1)


# ---------------------------------------------------------------------------------------------- samples


def sampled_values(conn: sqlite3.Connection, rng: DateRange) -> Values:
    """The values stored in ``metric_samples`` for the days of ``rng``."""
    values: Values = {}
    for metric, day, dim, value in conn.execute(
        "SELECT metric, day, dimension, value FROM metric_samples WHERE day >= ? AND day <= ?",
        (rng.start.isoformat(), rng.end.isoformat()),
    ):
        values.setdefault(metric, {})[(day, dim)] = float(value)
    return values


def merge(*sources: Values) -> Values:
    """Per key, the largest value any source has (see the module's note on history)."""
    out: Values = {}
    for src in sources:
        for metric, series in src.items():
            target = out.setdefault(metric, {})
            for key, value in series.items():
                if key not in target or value > target[key]:
                    target[key] = value
    return out


def load_values(conn: sqlite3.Connection, rng: DateRange, opts: Options | None = None) -> Values:
    """Raw values merged with the stored samples."""
    return merge(sampled_values(conn, rng), raw_values(conn, rng, opts))


def record_samples(conn: sqlite3.Connection, day: date, opts: Options | None = None) -> int:
    """Store ``day``'s values in ``metric_samples`` (a stored value is never lowered). Returns rows written.

    Run it on the store's writer (``store.submit(lambda c: record_samples(c, day))``), e.g. for yesterday at
    start-up and after midnight; recording the same day again is harmless.
    """
    values = raw_values(conn, DateRange(day, day), opts)
    rows = [
        (metric, d, dim, value)
        for metric, series in values.items()
        for (d, dim), value in series.items()
        if d == day.isoformat()
    ]
    conn.executemany(
        "INSERT INTO metric_samples (metric, day, dimension, value) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (metric, day, dimension) DO UPDATE SET value = max(value, excluded.value)",
        rows,
    )
    return len(rows)


def sampled_days(conn: sqlite3.Connection) -> list[str]:
    """Days that have samples, oldest first."""
    return [r[0] for r in conn.execute("SELECT DISTINCT day FROM metric_samples ORDER BY day")]


# ---------------------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class ActiveDay:
    day: date
    daily: int
    weekly: int
    monthly: int


@dataclass(frozen=True, slots=True)
class SuggestionMonth:
    month: str  # "2026-11"
    platform: str
    suggestions: int
    upvotes: int


@dataclass(frozen=True, slots=True)
class ReplyWeek:
    week: date  # the Monday
    tickets: int
    median_hours: float | None
    within_share: float | None


@dataclass(frozen=True, slots=True)
class FirstReply:
    replied: int
    median_hours: float | None
    p90_hours: float | None
    within_share: float | None  # 0..1, None without decided tickets
    within: int
    overdue_unreplied: int
    sla_hours: float
    weeks: tuple[ReplyWeek, ...] = ()


@dataclass(frozen=True, slots=True)
class TicketDay:
    day: date
    opened: int
    closed: int
    backlog: int


@dataclass(frozen=True, slots=True)
class ModeratorLoad:
    moderator: str
    replies: int
    notes: int
    assigned: int


@dataclass(frozen=True, slots=True)
class Helper:
    platform: str
    handle: str
    name: str
    replies: int
    answers: int

    @property
    def score(self) -> int:
        return self.replies + ANSWER_WEIGHT * self.answers


@dataclass(frozen=True, slots=True)
class Insights:
    """Everything the insights pane shows for one range."""

    range: DateRange
    active: tuple[ActiveDay, ...]
    suggestions: tuple[SuggestionMonth, ...]
    first_reply: FirstReply
    tickets: tuple[TicketDay, ...]
    moderators: tuple[ModeratorLoad, ...]
    heatmap: tuple[tuple[int, ...], ...]  # 7 rows (Monday first) × 24 hours
    helpers: tuple[Helper, ...]
    items: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when there is nothing at all to show."""
        return (
            self.items == 0
            and not any(t.opened or t.backlog for t in self.tickets)
            and not any(a.monthly for a in self.active)
        )

    @property
    def active_now(self) -> ActiveDay | None:
        return self.active[-1] if self.active else None


def _sum_by(series: dict[Key, float], rng: DateRange) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for (day, dim), value in series.items():
        if rng.contains(day):
            out[dim] += value
    return out


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile by linear interpolation between closest ranks (``q`` in 0..1)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def active_from(values: Values, rng: DateRange) -> tuple[ActiveDay, ...]:
    d, w, m = (values.get(k, {}) for k in (M_ACTIVE_DAILY, M_ACTIVE_WEEKLY, M_ACTIVE_MONTHLY))
    return tuple(
        ActiveDay(
            day,
            int(d.get((day.isoformat(), ""), 0)),
            int(w.get((day.isoformat(), ""), 0)),
            int(m.get((day.isoformat(), ""), 0)),
        )
        for day in rng.days()
    )


def suggestions_from(values: Values, rng: DateRange) -> tuple[SuggestionMonth, ...]:
    counts: dict[tuple[str, str], float] = defaultdict(float)
    votes: dict[tuple[str, str], float] = defaultdict(float)
    for (day, platform), v in values.get(M_SUGGESTIONS, {}).items():
        if rng.contains(day):
            counts[(day[:7], platform)] += v
    for (day, platform), v in values.get(M_UPVOTES, {}).items():
        if rng.contains(day):
            votes[(day[:7], platform)] += v
    return tuple(
        SuggestionMonth(month, platform, int(counts[(month, platform)]), int(votes[(month, platform)]))
        for month, platform in sorted(counts)
    )


def _reply_stats(
    hours: list[float], overdue: int, sla: float
) -> tuple[float | None, float | None, float | None, int]:
    within = sum(1 for h in hours if h <= sla)
    decided = len(hours) + overdue
    median = quantile(hours, 0.5) if hours else None
    p90 = quantile(hours, 0.9) if hours else None
    return median, p90, (within / decided if decided else None), within


def first_reply_from(
    values: Values, rng: DateRange, sla_hours: float, overdue: Sequence[str] = ()
) -> FirstReply:
    """``overdue``: the opening days of tickets still unanswered past the SLA."""
    per_ticket = [(day, v) for (day, _dim), v in values.get(M_FIRST_REPLY, {}).items() if rng.contains(day)]
    hours = [v for _d, v in per_ticket]
    overdue_days = [d for d in overdue if rng.contains(d)]
    median, p90, share, within = _reply_stats(hours, len(overdue_days), sla_hours)
    weeks: dict[date, list[float]] = defaultdict(list)
    late: dict[date, int] = defaultdict(int)
    for day, v in per_ticket:
        d = date.fromisoformat(day)
        weeks[d - timedelta(days=d.weekday())].append(v)
    for day in overdue_days:
        d = date.fromisoformat(day)
        late[d - timedelta(days=d.weekday())] += 1
    trend = []
    for monday in sorted(set(weeks) | set(late)):
        m, _p, s, _w = _reply_stats(weeks[monday], late[monday], sla_hours)
        trend.append(ReplyWeek(monday, len(weeks[monday]) + late[monday], m, s))
    return FirstReply(len(hours), median, p90, share, within, len(overdue_days), sla_hours, tuple(trend))


def tickets_from(values: Values, rng: DateRange) -> tuple[TicketDay, ...]:
    o, c, b = (values.get(k, {}) for k in (M_OPENED, M_CLOSED, M_BACKLOG))
    return tuple(
        TicketDay(
            d,
            int(o.get((d.isoformat(), ""), 0)),
            int(c.get((d.isoformat(), ""), 0)),
            int(b.get((d.isoformat(), ""), 0)),
        )
        for d in rng.days()
    )


def moderators_from(values: Values, rng: DateRange) -> tuple[ModeratorLoad, ...]:
    r = _sum_by(values.get(M_MOD_REPLIES, {}), rng)
    n = _sum_by(values.get(M_MOD_NOTES, {}), rng)
    a = _sum_by(values.get(M_MOD_ASSIGNED, {}), rng)
    names = set(r) | set(n) | set(a)
    loads = [ModeratorLoad(h, int(r.get(h, 0)), int(n.get(h, 0)), int(a.get(h, 0))) for h in names]
    return tuple(sorted(loads, key=lambda x: (-(x.replies + x.notes + x.assigned), x.moderator)))


def heatmap_from(values: Values, rng: DateRange, utc_offset_hours: int = 0) -> tuple[tuple[int, ...], ...]:
    """Items per (weekday, hour), Monday first, in the moderator's time (a whole-hour UTC offset)."""
    grid = [[0] * 24 for _ in range(7)]
    for (day, hour), v in values.get(M_HOURLY, {}).items():
        if not rng.contains(day):
            continue
        moment = datetime.fromisoformat(day) + timedelta(hours=int(hour) + utc_offset_hours)
        grid[moment.weekday()][moment.hour] += int(v)
    return tuple(tuple(row) for row in grid)


def helpers_from(
    values: Values, rng: DateRange, names: dict[str, str] | None = None, limit: int = 20
) -> tuple[Helper, ...]:
    r = _sum_by(values.get(M_HELP_REPLIES, {}), rng)
    a = _sum_by(values.get(M_HELP_ANSWERS, {}), rng)
    out = []
    for key in set(r) | set(a):
        platform, _, handle = key.partition(":")
        name = (names or {}).get(key) or handle
        out.append(Helper(platform, handle, name, int(r.get(key, 0)), int(a.get(key, 0))))
    out.sort(key=lambda h: (-h.score, -h.answers, h.handle.casefold()))
    return tuple(out[:limit])


# ---------------------------------------------------------------------------------------------- entry points


def _overdue_unreplied(
    conn: sqlite3.Connection, rng: DateRange, sla_hours: float, now: datetime
) -> list[str]:
    cutoff = (now - timedelta(hours=sla_hours)).astimezone(UTC).isoformat()
    return [
        r[0][:10]
        for r in conn.execute(
            "SELECT opened_at FROM tickets WHERE first_reply_at IS NULL AND opened_at >= ? AND opened_at < ?"
            " AND opened_at < ?",
            (rng.start.isoformat(), _day_end(rng.end.isoformat()), cutoff),
        )
    ]


def _display_names(conn: sqlite3.Connection, keys: Iterable[str]) -> dict[str, str]:
    out = {}
    for key in keys:
        platform, _, handle = key.partition(":")
        row = conn.execute(
            "SELECT display_name FROM accounts WHERE platform = ? AND handle = ? LIMIT 1", (platform, handle)
        ).fetchone()
        if row and row[0]:
            out[key] = str(row[0])
    return out


def compute(
    conn: sqlite3.Connection,
    rng: DateRange,
    opts: Options | None = None,
    *,
    now: datetime | None = None,
    utc_offset_hours: int = 0,
) -> Insights:
    """Every number of the insights pane for ``rng`` (one read transaction's worth of queries)."""
    opts = opts or Options()
    now = now or datetime.now(UTC)
    values = load_values(conn, rng, opts)
    top = helpers_from(values, rng, None, limit=20)
    names = _display_names(conn, {f"{h.platform}:{h.handle}" for h in top})
    items = int(sum(v for (day, _d), v in values.get(M_ITEMS, {}).items() if rng.contains(day)))
    return Insights(
        range=rng,
        active=active_from(values, rng),
        suggestions=suggestions_from(values, rng),
        first_reply=first_reply_from(
            values, rng, opts.sla_hours, _overdue_unreplied(conn, rng, opts.sla_hours, now)
        ),
        tickets=tickets_from(values, rng),
        moderators=moderators_from(values, rng),
        heatmap=heatmap_from(values, rng, utc_offset_hours),
        helpers=helpers_from(values, rng, names),
        items=items,
    )


# Convenience wrappers, one per number (each recomputes what it needs).


def active_members(conn: sqlite3.Connection, rng: DateRange) -> tuple[ActiveDay, ...]:
    """Daily / weekly / monthly active Discord members for each day of ``rng``."""
    return active_from(load_values(conn, rng), rng)


def suggestions_by_month(conn: sqlite3.Connection, rng: DateRange) -> tuple[SuggestionMonth, ...]:
    """Feature suggestions and their upvotes per month and platform."""
    return suggestions_from(load_values(conn, rng), rng)


def first_reply_times(
    conn: sqlite3.Connection,
    rng: DateRange,
    sla_hours: float = SLA_HOURS_DEFAULT,
    now: datetime | None = None,
) -> FirstReply:
    """First-reply time statistics of the tickets opened in ``rng``."""
    now = now or datetime.now(UTC)
    return first_reply_from(
        load_values(conn, rng), rng, sla_hours, _overdue_unreplied(conn, rng, sla_hours, now)
    )


def ticket_volume(conn: sqlite3.Connection, rng: DateRange) -> tuple[TicketDay, ...]:
    """Tickets opened and closed per day, and the backlog at each day's end."""
    return tickets_from(load_values(conn, rng), rng)


def moderator_workload(conn: sqlite3.Connection, rng: DateRange) -> tuple[ModeratorLoad, ...]:
    """Replies, internal notes and assigned tickets per moderator."""
    return moderators_from(load_values(conn, rng), rng)


def busiest_hours(
    conn: sqlite3.Connection, rng: DateRange, utc_offset_hours: int = 0
) -> tuple[tuple[int, ...], ...]:
    """The 7×24 activity grid (Monday first)."""
    return heatmap_from(load_values(conn, rng), rng, utc_offset_hours)


def helpful_members(
    conn: sqlite3.Connection, rng: DateRange, opts: Options | None = None, limit: int = 20
) -> tuple[Helper, ...]:
    """Members who answer other members most, best first."""
    values = load_values(conn, rng, opts)
    top = helpers_from(values, rng, None, limit)
    return helpers_from(values, rng, _display_names(conn, {f"{h.platform}:{h.handle}" for h in top}), limit)


# ---------------------------------------------------------------------------------------------- CSV


def csv_series(insights: Insights) -> dict[str, tuple[list[str], list[list[object]]]]:
    """Each chart's series as (header, rows), ready for ``csv.writer``; keys are file-name stems."""
    fr = insights.first_reply
    return {
        "active-members": (
            ["day", "daily", "weekly", "monthly", "target"],
            [[a.day.isoformat(), a.daily, a.weekly, a.monthly, ACTIVE_TARGET] for a in insights.active],
        ),
        "suggestions": (
            ["month", "platform", "suggestions", "upvotes"],
            [[s.month, s.platform, s.suggestions, s.upvotes] for s in insights.suggestions],
        ),
        "first-reply-weekly": (
            ["week", "tickets", "median_hours", "share_within_sla", "sla_hours"],
            [
                [w.week.isoformat(), w.tickets, _r(w.median_hours), _r(w.within_share), fr.sla_hours]
                for w in fr.weeks
            ],
        ),
        "tickets": (
            ["day", "opened", "closed", "backlog"],
            [[t.day.isoformat(), t.opened, t.closed, t.backlog] for t in insights.tickets],
        ),
        "moderators": (
            ["moderator", "replies", "notes", "assigned"],
            [[m.moderator, m.replies, m.notes, m.assigned] for m in insights.moderators],
        ),
        "busiest-hours": (
            ["weekday", *[f"{h:02d}" for h in range(24)]],
            [[day, *row] for day, row in zip(WEEKDAYS, insights.heatmap, strict=True)],
        ),
        "helpful-members": (
            ["name", "platform", "handle", "replies", "accepted_answers", "score"],
            [[h.name, h.platform, h.handle, h.replies, h.answers, h.score] for h in insights.helpers],
        ),
    }


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _r(value: float | None) -> object:
    return "" if value is None else round(value, 4)


def iter_days(rng: DateRange) -> Iterator[date]:
    """The days of ``rng``."""
    return iter(rng.days())
