"""The event calendar: AMAs (Discord scheduled events), feature-suggestion contests and scheduled posts.

Where truth lives: an AMA is a Discord scheduled event; the desk mirrors it in ``community_events`` and
changes it through the outbox (``event_create``, ``event_edit``, ``event_cancel``, ``event_start``,
``event_end``), so every
moderator's desk converges on Discord's copy. Contests and scheduled posts are the moderators' own plan.

The scheduler (``start``) sleeps until the next thing is due (a post, a reminder, a contest's start or end) or
until ``wake``; it never polls. A due post is enqueued once per target with a deterministic idempotency key
``post:<event id>:<occurrence>|<target>`` in the same writer job that marks it ``publishing``: a crash either
did both or neither, and a restart cannot enqueue it twice (the key is UNIQUE). The executors are idempotent
on
that key (a Discord nonce derived from it plus a history check, a marker in a GitHub Discussion), so a replay
after a crash between "sent" and "confirmed" does not post twice either.

AMA question queue: questions are inbox items from the AMA's sources (a Discord channel or thread, a GitHub
Discussion, a Reddit thread). Near-duplicates are grouped with a token-set similarity: the Jaccard index of
the
two questions' content words (lower-cased, stop words and words under three letters dropped), grouped when
≥ ``DUPLICATE_THRESHOLD``. Groups are ordered by their summed votes.

Every time comes from an injectable clock.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from atlas_desk.core.background import cancel_and_wait, wait_event, wake_loop
from atlas_desk.core.bus import Change, ChangeBus, EventsChanged, Notice, NotificationEvent, OutboxChanged
from atlas_desk.core.types import OutboxAction, Platform
from atlas_desk.store import calendar as repo
from atlas_desk.store import outbox as outbox_repo
from atlas_desk.store.calendar import EventRow, PostDelivery, SourceItem
from atlas_desk.store.db import to_db_time

log = logging.getLogger("atlas_desk.calendar")

T = TypeVar("T")
Clock = Callable[[], datetime]

ENTITIES = ("stage", "voice", "external")
POST_KINDS = ("tip", "user_story", "roadmap_update", "custom")
POST_KIND_LABELS = {
    "tip": "Weekly tip",
    "user_story": "User story",
    "roadmap_update": "Roadmap update",
    "custom": "Post",
}
DEFAULT_REMINDER_MINUTES = 15
DUPLICATE_THRESHOLD = 0.5
_MAX_SLEEP_S = 300.0  # re-check at least this often, in case the wall clock jumped (suspend, NTP)
_DISCORD_LIMIT = 2000


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


class StoreLike(Protocol):
    async def write(self, job: Callable[[sqlite3.Connection], T]) -> T: ...

    def reader(self) -> sqlite3.Connection: ...


class RunnerLike(Protocol):
    clock: Clock
    completions: dict[str, Any]

    def wake(self) -> None: ...


class CalendarError(ValueError):
    """A moderator's calendar input that cannot be accepted, in plain words."""


# -- Discord's view of an AMA -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DiscordEventInfo:
    """A Discord scheduled event as the connector reports it."""

    platform_id: str
    name: str
    description: str
    starts_at: datetime
    ends_at: datetime | None
    entity: str  # stage | voice | external
    channel_id: str
    location: str
    status: str  # scheduled | active | completed | canceled
    interested: int | None = None  # None when the event came without counts
    recurrence: str = ""  # RRULE text, "" if not recurring


_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def monthly_rrule(start: datetime) -> str:
    """ "Every month on this weekday of the month" (the 5th means the last), as RRULE text."""
    n = (start.day - 1) // 7 + 1
    next_week = start + timedelta(days=7)
    if next_week.month != start.month:
        n = -1  # the last such weekday of the month
    return f"FREQ=MONTHLY;BYDAY={n}{_DAYS[start.weekday()]}"


_BYDAY_RE = re.compile(r"^(-?\d)?(MO|TU|WE|TH|FR|SA|SU)$")


def _rrule_parts(rrule: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for chunk in rrule.removeprefix("RRULE:").split(";"):
        key, _, value = chunk.partition("=")
        if key:
            parts[key.strip().upper()] = value.strip().upper()
    return parts


def rrule_to_discord(rrule: str, start: datetime) -> dict[str, Any] | None:
    """Discord's ``recurrence_rule`` for an RRULE the desk supports (monthly by n-th weekday); None if empty.

    Raises ``CalendarError`` for rules Discord cannot express.
    """
    if not rrule:
        return None
    parts = _rrule_parts(rrule)
    if parts.get("FREQ") != "MONTHLY":
        raise CalendarError("Discord events can only repeat monthly from the desk")
    match = _BYDAY_RE.match(parts.get("BYDAY", ""))
    if match is None:
        raise CalendarError(
            "a monthly AMA repeats on a weekday of the month (for example the first Thursday)"
        )
    n = int(match.group(1) or (start.day - 1) // 7 + 1)
    day = _DAYS.index(match.group(2))
    if day != start.astimezone(UTC).weekday():
        raise CalendarError("the first AMA must fall on the weekday it repeats on")
    return {
        "start": start.astimezone(UTC).isoformat(),
        "end": None,
        "frequency": 1,
        "interval": int(parts.get("INTERVAL", "1") or 1),
        "by_weekday": None,
        "by_n_weekday": [{"n": 5 if n < 0 else n, "day": day}],
        "by_month": None,
        "by_month_day": None,
        "by_year_day": None,
        "count": None,
    }


def discord_to_rrule(rule: dict[str, Any] | None) -> str:
    """RRULE text for a Discord ``recurrence_rule`` ("" if none or not one the desk shows)."""
    if not rule:
        return ""
    freq = {0: "YEARLY", 1: "MONTHLY", 2: "WEEKLY", 3: "DAILY"}.get(int(rule.get("frequency", -1)))
    if freq is None:
        return ""
    out = f"FREQ={freq}"
    interval = int(rule.get("interval") or 1)
    if interval != 1:
        out += f";INTERVAL={interval}"
    nth = rule.get("by_n_weekday") or []
    if nth:
        n = int(nth[0]["n"])
        out += f";BYDAY={-1 if n == 5 else n}{_DAYS[int(nth[0]['day'])]}"
    elif rule.get("by_weekday"):
        out += ";BYDAY=" + ",".join(_DAYS[int(d)] for d in rule["by_weekday"])
    return out


# -- what the views get -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostStatus:
    """A scheduled post's state: scheduled / publishing / published / failed, with links and the reason."""

    state: str
    links: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class LeaderboardEntry:
    rank: int
    item_id: int
    platform: str
    title: str
    author: str
    votes: int
    created_at: datetime
    url: str


@dataclass(slots=True)
class QuestionGroup:
    """Near-duplicate AMA questions; ``lead`` is the most voted one."""

    lead: SourceItem
    others: list[SourceItem] = field(default_factory=list)
    answered: bool = False

    @property
    def votes(self) -> int:
        return self.lead.score + sum(o.score for o in self.others)

    @property
    def item_ids(self) -> list[int]:
        return [self.lead.id, *(o.id for o in self.others)]


_STOP = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "you",
        "your",
        "with",
        "will",
        "what",
        "when",
        "how",
        "can",
        "could",
        "would",
        "does",
        "did",
        "this",
        "that",
        "from",
        "have",
        "has",
        "about",
        "any",
        "there",
        "their",
        "they",
        "them",
        "its",
        "it's",
        "is",
        "was",
        "were",
        "our",
        "out",
        "not",
        "but",
        "all",
        "one",
        "get",
        "got",
    ]
)
_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)


def content_words(text: str) -> frozenset[str]:
    """The words similarity is measured on."""
    return frozenset(w for w in _WORD_RE.findall(text.lower()) if len(w) >= 3 and w not in _STOP)


def similarity(a: str, b: str) -> float:
    """Token-set (Jaccard) similarity of two texts' content words, 0..1."""
    wa, wb = content_words(a), content_words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


def group_questions(
    items: Sequence[SourceItem], answered: Iterable[int] = (), threshold: float = DUPLICATE_THRESHOLD
) -> list[QuestionGroup]:
    """Group near-duplicate questions and order the groups by summed votes (ties: earliest first)."""
    done = set(answered)
    groups: list[tuple[QuestionGroup, frozenset[str]]] = []
    for item in sorted(items, key=lambda i: (-i.score, i.created_at, i.id)):
        text = f"{item.title} {item.body}"
        words = content_words(text)
        for group, lead_words in groups:
            if words and lead_words and len(words & lead_words) / len(words | lead_words) >= threshold:
                group.others.append(item)
                break
        else:
            groups.append((QuestionGroup(lead=item), words))
    out = [g for g, _ in groups]
    for g in out:
        g.answered = any(i in done for i in g.item_ids)
    out.sort(key=lambda g: (g.answered, -g.votes, g.lead.created_at, g.lead.id))
    return out


def rank_entries(items: Sequence[SourceItem]) -> list[LeaderboardEntry]:
    """A leaderboard: most votes first, ties by who posted first; equal votes share a rank."""
    ordered = sorted(items, key=lambda i: (-i.score, i.created_at, i.id))
    out: list[LeaderboardEntry] = []
    for pos, item in enumerate(ordered):
        rank = out[-1].rank if out and out[-1].votes == item.score else pos + 1
        out.append(
            LeaderboardEntry(
                rank=rank,
                item_id=item.id,
                platform=item.platform,
                title=item.title or item.body[:80],
                author=item.author,
                votes=item.score,
                created_at=item.created_at,
                url=item.url,
            )
        )
    return out


def announcement_text(contest: EventRow, board: Sequence[LeaderboardEntry], winners: int = 3) -> str:
    """A draft announcement of a contest's winners for the moderator to edit and publish."""
    lines = [f"🏆 {contest.title}: the winners!", ""]
    top = [e for e in board if e.rank <= winners]
    if not top:
        lines.append("No suggestions were entered this time. Thank you all for taking part!")
    for e in top:
        where = {"discord": "Discord", "github": "GitHub", "reddit": "Reddit"}.get(e.platform, e.platform)
        lines.append(f"{e.rank}. “{e.title}” by {e.author or 'someone'} ({e.votes} votes on {where})")
    prize = str(contest.extra.get("prize") or "")
    if top and prize:
        lines += ["", f"Prize: {prize}. We'll be in touch by DM."]
    lines += ["", f"{len(board)} ideas were entered. Thank you to everyone who suggested and voted!"]
    return "\n".join(lines)


def zone(name: str) -> ZoneInfo:
    """The named IANA time zone; ``CalendarError`` if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CalendarError(f"unknown time zone “{name}”") from None


_DISCORD_URL = re.compile(r"discord(?:app)?\.com/channels/\d+/(\d+)")
_GITHUB_URL = re.compile(r"/discussions/(\d+)")
_REDDIT_URL = re.compile(r"/comments/([a-z0-9]+)")


def parse_question_source(text: str) -> dict[str, str]:
    """Where an AMA's questions come from, from a pasted link or a short form.

    Discord: a channel or thread link, or ``discord:<channel or thread id>``; GitHub: a Discussion link or
    ``github:<number>``; Reddit: a post link or ``reddit:<post id>``. Raises ``CalendarError`` otherwise.
    """
    text = text.strip()
    if m := _DISCORD_URL.search(text):
        return {"platform": "discord", "container_id": m.group(1)}
    if "github" in text and (m := _GITHUB_URL.search(text)):
        return {"platform": "github", "discussion_number": m.group(1)}
    if "reddit" in text and (m := _REDDIT_URL.search(text)):
        return {"platform": "reddit", "parent_id": f"t3_{m.group(1)}"}
    head, _, rest = text.partition(":")
    rest = rest.strip().lstrip("#")
    if head == "discord" and rest.isdigit():
        return {"platform": "discord", "container_id": rest}
    if head == "github" and rest.isdigit():
        return {"platform": "github", "discussion_number": rest}
    if head == "reddit" and rest:
        return {"platform": "reddit", "parent_id": rest if rest.startswith("t3_") else f"t3_{rest}"}
    raise CalendarError(f"“{text[:60]}” is not a Discord channel, GitHub Discussion or Reddit post")


def describe_question_source(source: dict[str, str]) -> str:
    """The short form of a question source (what the dialog shows)."""
    platform = source.get("platform", "")
    if platform == "discord":
        return f"discord:{source.get('container_id', '')}"
    if platform == "github":
        return f"github:{source.get('discussion_number') or source.get('parent_id', '')}"
    return f"reddit:{source.get('parent_id', '').removeprefix('t3_')}"


def parse_target(target: str) -> tuple[Platform, str]:
    """``discord:<channel id>`` / ``github:<category>`` / ``reddit[:<subreddit>]`` → (platform, rest)."""
    head, _, rest = target.partition(":")
    try:
        platform = Platform(head)
    except ValueError:
        raise CalendarError(f"unknown post target “{target}”") from None
    if platform is Platform.DISCORD and not rest.isdigit():
        raise CalendarError("a Discord target needs a channel")
    if platform is Platform.GITHUB and not rest:
        raise CalendarError("a GitHub target needs a Discussion category")
    return platform, rest


def _post_text(event: EventRow) -> str:
    return f"**{event.title}**\n\n{event.description}".strip() if event.title else event.description


def post_action(event: EventRow, target: str, occurrence: str, subreddit: str = "") -> dict[str, Any]:
    """The outbox action (platform, kind, target, payload, key) that publishes ``event`` to one target."""
    platform, rest = parse_target(target)
    key = f"post:{event.id}:{occurrence}|{target}"
    if platform is Platform.DISCORD:
        content = _post_text(event)
        if len(content) > _DISCORD_LIMIT:
            content = content[: _DISCORD_LIMIT - 1] + "…"
        return {
            "platform": platform,
            "kind": "post_publish",
            "target": f"channel:{rest}",
            "payload": {"channel_id": rest, "content": content, "event_id": event.id},
            "key": key,
        }
    if platform is Platform.GITHUB:
        return {
            "platform": platform,
            "kind": "publish_discussion",
            "target": rest,
            "payload": {"title": event.title, "body": event.description, "event_id": event.id},
            "key": key,
        }
    return {
        "platform": platform,
        "kind": "submit",
        "target": rest or subreddit,
        "payload": {"title": event.title, "body": event.description, "event_id": event.id},
        "key": key,
    }


def post_status(event: EventRow, deliveries: Sequence[PostDelivery]) -> PostStatus:
    """Summarise a post's deliveries for the current occurrence."""
    occurrence = to_db_time(event.starts_at)
    mine = [d for d in deliveries if d.occurrence == occurrence]
    if not mine:
        if event.status == "failed":
            return PostStatus("failed", reason=str(event.extra.get("error") or "not published"))
        return PostStatus("scheduled")
    links = tuple(d.url for d in mine if d.url)
    failed = [d for d in mine if d.state == "failed"]
    if failed:
        reason = "; ".join(f"{d.target}: {d.error}" for d in failed)
        return PostStatus("failed", links, reason)
    if all(d.state == "done" for d in mine):
        return PostStatus("published", links)
    return PostStatus("publishing", links)


# -- the service ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class EventDraft:
    """What the create/edit dialog produces. ``timezone`` is the zone they were entered in."""

    kind: str  # ama | contest | post
    title: str
    starts_at: datetime
    ends_at: datetime | None = None
    timezone: str = "UTC"
    description: str = ""
    entity: str = "stage"  # AMA: stage | voice | external
    channel_id: str = ""  # AMA: the stage / voice channel
    location: str = ""  # AMA: an external event's place
    monthly: bool = False  # AMA: repeat monthly on this weekday of the month
    reminder_minutes: int = DEFAULT_REMINDER_MINUTES
    targets: list[str] = field(default_factory=list)  # post
    post_kind: str = "custom"  # post
    prize: str = ""  # contest
    rules: str = ""  # contest
    question_sources: list[dict[str, str]] = field(default_factory=list)  # AMA


def validate(draft: EventDraft) -> list[str]:
    """Plain-words problems with a draft (empty if it can be saved)."""
    problems: list[str] = []
    if draft.kind not in repo.KINDS:
        problems.append(f"unknown event kind “{draft.kind}”")
    if not draft.title.strip():
        problems.append("give it a title")
    if draft.starts_at.tzinfo is None:
        problems.append("the start time needs a time zone")
    try:
        zone(draft.timezone)
    except CalendarError as exc:
        problems.append(str(exc))
    if draft.ends_at is not None and draft.ends_at <= draft.starts_at:
        problems.append("the end must be after the start")
    if draft.kind in ("contest",) and draft.ends_at is None:
        problems.append("a contest needs an end")
    if draft.kind == "ama":
        if draft.entity not in ENTITIES:
            problems.append("choose stage, voice or external")
        elif draft.entity == "external":
            if not draft.location.strip():
                problems.append("an external AMA needs a location")
            if draft.ends_at is None:
                problems.append("an external AMA needs an end time")
        elif not draft.channel_id.isdigit():
            problems.append(f"choose the {draft.entity} channel")
        if len(draft.title) > 100:
            problems.append("Discord event titles are at most 100 characters")
        if draft.monthly:
            try:
                rrule_to_discord(monthly_rrule(draft.starts_at.astimezone(UTC)), draft.starts_at)
            except CalendarError as exc:
                problems.append(str(exc))
    if draft.kind == "post":
        if not draft.targets:
            problems.append("choose where to publish (a Discord channel, a GitHub category or the subreddit)")
        for target in draft.targets:
            try:
                parse_target(target)
            except CalendarError as exc:
                problems.append(str(exc))
        if not draft.description.strip():
            problems.append("the post has no text")
    if draft.reminder_minutes < 0:
        problems.append("the reminder cannot be after the start")
    return problems


def _row_from_draft(draft: EventDraft, *, event_id: int = 0) -> EventRow:
    extra: dict[str, Any] = {}
    recurrence = ""
    location = ""
    if draft.kind == "ama":
        extra = {
            "entity": draft.entity,
            "channel_id": draft.channel_id if draft.entity != "external" else "",
            "question_sources": list(draft.question_sources),
        }
        location = draft.location if draft.entity == "external" else ""
        if draft.monthly:
            recurrence = monthly_rrule(draft.starts_at.astimezone(UTC))
    elif draft.kind == "contest":
        extra = {"prize": draft.prize, "rules": draft.rules}
    elif draft.kind == "post":
        extra = {"post_kind": draft.post_kind}
    return EventRow(
        id=event_id,
        kind=draft.kind,
        title=draft.title.strip(),
        description=draft.description,
        starts_at=draft.starts_at.astimezone(UTC),
        ends_at=draft.ends_at.astimezone(UTC) if draft.ends_at is not None else None,
        timezone=draft.timezone,
        recurrence=recurrence,
        location=location,
        targets=list(draft.targets) if draft.kind == "post" else [],
        reminder_minutes=draft.reminder_minutes,
        extra=extra,
    )


def draft_from_row(event: EventRow) -> EventDraft:
    """The dialog's starting point for editing an event."""
    return EventDraft(
        kind=event.kind,
        title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        description=event.description,
        entity=str(event.extra.get("entity") or "stage"),
        channel_id=str(event.extra.get("channel_id") or ""),
        location=event.location,
        monthly=bool(event.recurrence),
        reminder_minutes=event.reminder_minutes,
        targets=list(event.targets),
        post_kind=str(event.extra.get("post_kind") or "custom"),
        prize=str(event.extra.get("prize") or ""),
        rules=str(event.extra.get("rules") or ""),
        question_sources=list(event.extra.get("question_sources") or []),
    )


def _ama_payload(event: EventRow) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "name": event.title,
        "description": event.description,
        "start": event.starts_at.isoformat(),
        "end": event.ends_at.isoformat() if event.ends_at is not None else None,
        "entity": str(event.extra.get("entity") or "stage"),
        "channel_id": str(event.extra.get("channel_id") or ""),
        "location": event.location,
        "recurrence_rule": rrule_to_discord(event.recurrence, event.starts_at) if event.recurrence else None,
    }


def _event_target(event: EventRow) -> str:
    # One outbox target per event, so its create, edits and status changes reach Discord in order.
    return f"event:{event.extra.get('local_key') or event.id}"


class CalendarService:
    """The calendar's operations, its Discord mirror and its scheduler."""

    def __init__(
        self,
        store: StoreLike,
        bus: ChangeBus,
        runner: RunnerLike | None = None,
        *,
        clock: Clock | None = None,
        subreddit: str = "",
    ) -> None:
        self.store = store
        self.bus = bus
        self.runner: RunnerLike | None = None
        self.clock: Clock = clock or (runner.clock if runner is not None else utc_now)
        self.subreddit = subreddit
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        if runner is not None:
            self.attach_runner(runner)

    def attach_runner(self, runner: RunnerLike) -> None:
        """Use ``runner`` for the calendar's actions and record their outcomes in the calendar rows."""
        self.runner = runner
        completions = runner.completions
        completions["event_create"] = self._complete_create
        for kind in ("post_publish", "publish_discussion", "submit"):
            previous = completions.get(kind)
            completions[kind] = self._post_completion(previous)

    # -- reads (the GUI thread's reader; short indexed queries) --------------------------------------------

    def events(self, start: datetime | None = None, end: datetime | None = None) -> list[EventRow]:
        """Events overlapping ``[start, end)``, by start."""
        return repo.list_events(self.store.reader(), start=start, end=end)

    def get(self, event_id: int) -> EventRow | None:
        return repo.get_event(self.store.reader(), event_id)

    def post_status(self, event: EventRow) -> PostStatus:
        """Scheduled / publishing / published (links) / failed (reason) for a scheduled post."""
        return post_status(event, repo.post_deliveries(self.store.reader(), event.id))

    def leaderboard(self, contest_id: int) -> list[LeaderboardEntry]:
        """The contest's entries ranked by votes (live: read from the inbox each time)."""
        contest = self.get(contest_id)
        if contest is None or contest.kind != "contest" or contest.ends_at is None:
            return []
        return rank_entries(repo.suggestions_between(self.store.reader(), contest.starts_at, contest.ends_at))

    def question_queue(self, event_id: int) -> list[QuestionGroup]:
        """The AMA's questions, near-duplicates grouped, most voted first, answered ones last."""
        event = self.get(event_id)
        if event is None:
            return []
        sources = list(event.extra.get("question_sources") or [])
        items = repo.items_in_sources(self.store.reader(), sources)
        return group_questions(items, answered=[int(i) for i in event.extra.get("answered") or []])

    def discord_event_id(self, event_id: int) -> str:
        """The Discord id of a local AMA ("" until Discord confirmed its creation)."""
        event = self.get(event_id)
        return event.platform_id if event is not None else ""

    def to_ics(self, events: Sequence[EventRow] | None = None) -> str:
        """The calendar (or ``events``) as iCalendar text."""
        rows = list(events) if events is not None else self.events()
        return repo.events_to_ics(rows)

    # -- operations ------------------------------------------------------------------------------------------

    async def _run(self, job: Callable[[sqlite3.Connection], T], ids: Callable[[T], Sequence[int]]) -> T:
        result = await self.store.write(job)
        self.bus.publish(EventsChanged(tuple(ids(result))))
        return result

    def _enqueue(
        self,
        conn: sqlite3.Connection,
        *,
        platform: Platform,
        kind: str,
        target: str,
        payload: dict[str, Any],
        undo: outbox_repo.Undo,
        key: str | None = None,
    ) -> int:
        return outbox_repo.enqueue(
            conn,
            platform=platform,
            kind=kind,
            target=target,
            payload=payload,
            undo=undo,
            idempotency_key=key,
            now=self.clock(),
        )

    def _after_enqueue(self, action_ids: Sequence[int]) -> None:
        if action_ids:
            self.bus.publish(OutboxChanged(tuple(action_ids)))
            if self.runner is not None:
                self.runner.wake()

    async def create(self, draft: EventDraft) -> int:
        """Create an event; an AMA is created on Discord through the outbox. Returns the local id."""
        problems = validate(draft)
        if problems:
            raise CalendarError("; ".join(problems))
        row = _row_from_draft(draft)
        now = self.clock()
        if row.kind == "contest":
            row.status = "active" if row.starts_at <= now < (row.ends_at or now) else "scheduled"

        def job(conn: sqlite3.Connection) -> tuple[int, list[int]]:
            if row.kind == "ama":
                row.extra["local_key"] = uuid.uuid4().hex
            event_id = repo.insert_event(conn, row, now=now)
            row.id = event_id
            actions: list[int] = []
            if row.kind == "ama":
                actions.append(
                    self._enqueue(
                        conn,
                        platform=Platform.DISCORD,
                        kind="event_create",
                        target=_event_target(row),
                        payload=_ama_payload(row),
                        undo=[outbox_repo.delete_row(repo.TABLE, event_id)],
                    )
                )
            return event_id, actions

        event_id, actions = await self._run(job, lambda r: (r[0],))
        self._after_enqueue(actions)
        self.wake()
        return event_id

    async def update(self, event_id: int, draft: EventDraft) -> None:
        """Save an edited event; an AMA's change goes to Discord through the outbox."""
        problems = validate(draft)
        if problems:
            raise CalendarError("; ".join(problems))
        new = _row_from_draft(draft, event_id=event_id)
        await self._change(event_id, lambda old: self._merged(old, new))

    async def reschedule(self, event_id: int, starts_at: datetime) -> None:
        """Move an event to a new start, keeping its length (a drag in the month view)."""
        if starts_at.tzinfo is None:
            raise CalendarError("the new start time needs a time zone")

        def move(old: EventRow) -> EventRow:
            length = old.ends_at - old.starts_at if old.ends_at is not None else None
            start = starts_at.astimezone(UTC)
            moved = replace(old, starts_at=start, ends_at=start + length if length is not None else None)
            if old.recurrence:
                moved.recurrence = monthly_rrule(start)  # keep "every n-th weekday" in step with the new day
            return moved

        await self._change(event_id, move)

    @staticmethod
    def _merged(old: EventRow, new: EventRow) -> EventRow:
        extra = dict(old.extra)
        extra.update(new.extra)
        return replace(
            new,
            id=old.id,
            platform_id=old.platform_id,
            status=old.status,
            interested=old.interested,
            extra=extra,
        )

    async def _change(self, event_id: int, change: Callable[[EventRow], EventRow]) -> None:
        now = self.clock()

        def job(conn: sqlite3.Connection) -> list[int]:
            old = repo.get_event(conn, event_id)
            if old is None:
                raise CalendarError("that event no longer exists")
            if old.status in ("canceled", "completed", "published"):
                raise CalendarError(f"the event is {old.status} and can no longer be changed")
            new = change(old)
            undo = [
                outbox_repo.snapshot(
                    conn,
                    repo.TABLE,
                    event_id,
                    [
                        "title",
                        "description",
                        "starts_at",
                        "ends_at",
                        "timezone",
                        "recurrence",
                        "location",
                        "targets",
                        "reminder_minutes",
                        "extra",
                    ],
                )
            ]
            if new.kind == "post" and old.status == "failed":
                new.status = "scheduled"  # edited after a failure: try again at the new time
            repo.update_event(conn, new, now=now)
            if new.kind != "ama":
                return []
            payload = _ama_payload(new)
            payload["platform_id"] = old.platform_id
            return [
                self._enqueue(
                    conn,
                    platform=Platform.DISCORD,
                    kind="event_edit",
                    target=_event_target(new),
                    payload=payload,
                    undo=undo,
                )
            ]

        actions = await self._run(job, lambda _r: (event_id,))
        self._after_enqueue(actions)
        self.wake()

    async def set_status(self, event_id: int, status: str) -> None:
        """Cancel, start or end (``canceled``, ``active``, ``completed``); an AMA on Discord too."""
        kinds = {"canceled": "event_cancel", "active": "event_start", "completed": "event_end"}
        if status not in kinds:
            raise CalendarError(f"an event cannot be set to “{status}”")
        now = self.clock()

        def job(conn: sqlite3.Connection) -> list[int]:
            old = repo.get_event(conn, event_id)
            if old is None:
                raise CalendarError("that event no longer exists")
            undo = [outbox_repo.snapshot(conn, repo.TABLE, event_id, ["status"])]
            new = replace(old, status=status)
            repo.update_event(conn, new, now=now)
            if old.kind != "ama":
                return []
            return [
                self._enqueue(
                    conn,
                    platform=Platform.DISCORD,
                    kind=kinds[status],
                    target=_event_target(old),
                    payload={"event_id": event_id, "platform_id": old.platform_id},
                    undo=undo,
                )
            ]

        actions = await self._run(job, lambda _r: (event_id,))
        self._after_enqueue(actions)
        self.wake()

    async def cancel(self, event_id: int) -> None:
        """Cancel an event (an AMA on Discord too)."""
        await self.set_status(event_id, "canceled")

    async def set_answered(self, event_id: int, item_ids: Sequence[int], answered: bool = True) -> None:
        """Mark AMA questions (a whole group) answered or not."""
        now = self.clock()

        def job(conn: sqlite3.Connection) -> None:
            event = repo.get_event(conn, event_id)
            if event is None:
                raise CalendarError("that event no longer exists")
            done = {int(i) for i in event.extra.get("answered") or []}
            done = done | set(item_ids) if answered else done - set(item_ids)
            event.extra["answered"] = sorted(done)
            repo.update_event(conn, event, now=now)

        await self._run(job, lambda _r: (event_id,))

    async def save_announcement(self, contest_id: int, text: str) -> None:
        """Keep the moderator's edit of a contest's winners announcement."""
        now = self.clock()

        def job(conn: sqlite3.Connection) -> None:
            event = repo.get_event(conn, contest_id)
            if event is None:
                raise CalendarError("that contest no longer exists")
            event.extra["announcement"] = text
            repo.update_event(conn, event, now=now)

        await self._run(job, lambda _r: (contest_id,))

    async def publish_announcement(self, contest_id: int, text: str, targets: Sequence[str]) -> int:
        """Publish a contest's announcement now, as a post due immediately. Returns the post's id."""
        contest = self.get(contest_id)
        if contest is None:
            raise CalendarError("that contest no longer exists")
        draft = EventDraft(
            kind="post",
            title=f"{contest.title}: the winners",
            starts_at=self.clock(),
            description=text,
            targets=list(targets),
            post_kind="custom",
        )
        post_id = await self.create(draft)
        await self.save_announcement(contest_id, text)
        return post_id

    # -- Discord's side (called by the connector) ---------------------------------------------------------

    async def discord_events_synced(
        self, infos: Sequence[DiscordEventInfo], *, complete: bool = False
    ) -> None:
        """Mirror Discord's scheduled events. ``complete``: this is all of them; missing ones were deleted."""
        now = self.clock()

        def job(conn: sqlite3.Connection) -> list[int]:
            touched: list[int] = []
            seen: set[str] = set()
            for info in infos:
                seen.add(info.platform_id)
                event_id = self._upsert_discord(conn, info, now)
                if event_id is not None:
                    touched.append(event_id)
            if complete:
                for event in repo.list_events(conn, kinds=["ama"]):
                    gone = event.platform_id and event.platform_id not in seen
                    if gone and event.status in ("scheduled", "active"):
                        event.status = "canceled"
                        repo.update_event(conn, event, now=now)
                        touched.append(event.id)
            return touched

        await self._run(job, lambda ids: ids)
        self.wake()

    def _upsert_discord(self, conn: sqlite3.Connection, info: DiscordEventInfo, now: datetime) -> int | None:
        event = repo.find_by_platform_id(conn, "ama", info.platform_id)
        if event is None:
            # The gateway's CREATE can arrive before the outbox recorded our own create: adopt that row.
            for candidate in repo.list_events(
                conn, kinds=["ama"], start=info.starts_at - timedelta(minutes=1)
            ):
                if (
                    not candidate.platform_id
                    and candidate.title == info.name
                    and candidate.starts_at == info.starts_at.astimezone(UTC)
                ):
                    event = candidate
                    break
        new_fields: dict[str, Any] = {
            "platform_id": info.platform_id,
            "title": info.name,
            "description": info.description,
            "starts_at": info.starts_at.astimezone(UTC),
            "ends_at": info.ends_at.astimezone(UTC) if info.ends_at is not None else None,
            "location": info.location if info.entity == "external" else "",
            "status": info.status,
            "recurrence": info.recurrence,
        }
        if event is None:
            row = EventRow(id=0, kind="ama", **new_fields)
            row.interested = info.interested or 0
            row.extra = {"entity": info.entity, "channel_id": info.channel_id, "question_sources": []}
            if info.channel_id:
                row.extra["question_sources"] = []
            return repo.insert_event(conn, row, now=now)
        updated = replace(event, **new_fields)
        if info.interested is not None:
            updated.interested = info.interested
        updated.extra = {**event.extra, "entity": info.entity, "channel_id": info.channel_id}
        if updated == event:
            return None
        repo.update_event(conn, updated, now=now)
        return event.id

    async def discord_event_deleted(self, platform_id: str) -> None:
        """A scheduled event was deleted on Discord: it shows as canceled."""
        now = self.clock()

        def job(conn: sqlite3.Connection) -> list[int]:
            event = repo.find_by_platform_id(conn, "ama", platform_id)
            if event is None or event.status == "canceled":
                return []
            event.status = "canceled"
            repo.update_event(conn, event, now=now)
            return [event.id]

        await self._run(job, lambda ids: ids)

    async def discord_interest_changed(self, platform_id: str, count: int) -> None:
        """Someone marked or unmarked interest: store the new count (the month view shows it live)."""
        now = self.clock()

        def job(conn: sqlite3.Connection) -> list[int]:
            event = repo.find_by_platform_id(conn, "ama", platform_id)
            if event is None or event.interested == count:
                return []
            event.interested = count
            repo.update_event(conn, event, now=now)
            return [event.id]

        await self._run(job, lambda ids: ids)

    # -- outbox completions (run in the writer job that marks the action done) -----------------------------

    def _complete_create(
        self, conn: sqlite3.Connection, action: OutboxAction, result: dict[str, Any]
    ) -> Sequence[Change]:
        event_id = int(action.payload.get("event_id") or 0)
        event = repo.get_event(conn, event_id)
        platform_id = str(result.get("platform_id") or "")
        if event is None or not platform_id:
            return []
        duplicate = repo.find_by_platform_id(conn, "ama", platform_id)
        if duplicate is not None and duplicate.id != event_id:
            repo.delete_event(conn, duplicate.id)  # a mirror the gateway made before we knew the id
        event.platform_id = platform_id
        event.extra["url"] = str(result.get("url") or "")
        repo.update_event(conn, event, now=self.clock())
        return [EventsChanged((event_id,))]

    def _post_completion(
        self, previous: Any
    ) -> Callable[[sqlite3.Connection, OutboxAction, dict[str, Any]], Sequence[Change]]:
        def complete(
            conn: sqlite3.Connection, action: OutboxAction, result: dict[str, Any]
        ) -> Sequence[Change]:
            if not action.idempotency_key.startswith("post:"):
                return list(previous(conn, action, result)) if previous is not None else []
            event_id = int(action.idempotency_key.split(":", 2)[1])
            event = repo.get_event(conn, event_id)
            if event is None:
                return []
            status = post_status(event, repo.post_deliveries(conn, event_id))
            if status.state == "published" and event.status != "published":
                event.status = "published"
                repo.update_event(conn, event, now=self.clock())
            return [EventsChanged((event_id,))]

        return complete

    # -- the scheduler -------------------------------------------------------------------------------------

    def start(self) -> None:
        """Run the scheduler in a task on the running loop until ``stop``: posts on time, reminders, contest
        starts and ends. Only the relay process runs it (``discord.relay``), so posts go out once."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._unsubscribe = self.bus.subscribe(EventsChanged, lambda _c: self.wake())
        self._task = asyncio.create_task(self._run_loop(), name="atlas-desk-calendar")
        self._task.add_done_callback(self._loop_ended)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        task, self._task = self._task, None
        await cancel_and_wait(task)

    @property
    def running(self) -> bool:
        """Whether the scheduler runs in this process."""
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Something changed: look again at what is due next. Safe from any thread."""
        wake_loop(self._wake, self._loop)

    def _loop_ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("the calendar scheduler stopped", exc_info=task.exception())

    async def _run_loop(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            delay: float | None
            try:
                due = await self.run_due()
                failures = 0
                delay = None if due is None else max(0.0, (due - self.clock()).total_seconds())
            except Exception:
                failures += 1
                log.exception("the calendar pass failed (%d in a row)", failures)
                delay = min(_MAX_SLEEP_S, 2.0 ** min(failures, 8))
            timeout = _MAX_SLEEP_S if delay is None else min(delay, _MAX_SLEEP_S)
            if timeout > 0:
                await wait_event(self._wake, timeout)

    async def run_due(self) -> datetime | None:
        """Do everything due now; return when the next thing is due (None if nothing is planned)."""
        now = self.clock()
        changes: list[Change] = []
        action_ids: list[int] = []

        def job(conn: sqlite3.Connection) -> datetime | None:
            upcoming: list[datetime] = []
            for event in repo.list_events(
                conn
            ):  # hundreds of rows at most; a post missed while off still goes
                upcoming.extend(self._due_for(conn, event, now, changes, action_ids))
            return min((t for t in upcoming if t > now), default=None)

        next_due = await self.store.write(job)
        ids = sorted({c.ids[0] for c in changes if isinstance(c, EventsChanged)})
        for change in changes:
            if not isinstance(change, EventsChanged):
                self.bus.publish(change)
        if ids:
            self.bus.publish(EventsChanged(tuple(ids)))
        self._after_enqueue(action_ids)
        return next_due

    def _due_for(
        self,
        conn: sqlite3.Connection,
        event: EventRow,
        now: datetime,
        changes: list[Change],
        action_ids: list[int],
    ) -> list[datetime]:
        """Act on one event if something of it is due; return its future due times."""
        if event.kind == "post":
            if event.status != "scheduled":
                return []
            if event.starts_at > now:
                return [event.starts_at]
            self._enqueue_post(conn, event, action_ids)
            changes.append(EventsChanged((event.id,)))
            return []
        if event.kind == "contest":
            return self._contest_due(conn, event, now, changes)
        if event.kind == "ama" and event.status == "scheduled":
            remind_at = event.starts_at - timedelta(minutes=event.reminder_minutes)
            occurrence = to_db_time(event.starts_at)
            if now < remind_at:
                return [remind_at]
            if now < event.starts_at and event.extra.get("reminded") != occurrence:
                event.extra["reminded"] = occurrence
                repo.update_event(conn, event, now=now)
                minutes = max(1, round((event.starts_at - now).total_seconds() / 60))
                changes.append(
                    NotificationEvent(
                        kind="event_soon",
                        title=f"Starting in {minutes} min: {event.title}",
                        body=event.description[:200],
                        target={"pane": "calendar", "id": event.id},
                    )
                )
                changes.append(EventsChanged((event.id,)))
        return []

    def _enqueue_post(self, conn: sqlite3.Connection, event: EventRow, action_ids: list[int]) -> None:
        occurrence = to_db_time(event.starts_at)
        for target in event.targets:
            try:
                spec = post_action(event, target, occurrence, self.subreddit)
            except CalendarError as exc:
                log.warning("scheduled post %d has a bad target: %s", event.id, exc)
                continue
            key = str(spec["key"])
            if conn.execute("SELECT 1 FROM outbox WHERE idempotency_key = ?", (key,)).fetchone() is not None:
                continue  # already enqueued (by this desk before a restart, or a replay of this pass)
            # If the platform refuses the post for good, the row reads "failed" (the outbox applies this).
            undo = [outbox_repo.restore(repo.TABLE, event.id, {"status": "failed"})]
            try:
                action_ids.append(
                    self._enqueue(
                        conn,
                        platform=spec["platform"],
                        kind=str(spec["kind"]),
                        target=str(spec["target"]),
                        payload=dict(spec["payload"]),
                        undo=undo,
                        key=key,
                    )
                )
            except sqlite3.IntegrityError:
                continue  # the UNIQUE key: someone enqueued it between our check and now
        event.status = "publishing"
        repo.update_event(conn, event, now=self.clock())

    def _contest_due(
        self, conn: sqlite3.Connection, event: EventRow, now: datetime, changes: list[Change]
    ) -> list[datetime]:
        if event.ends_at is None or event.status in ("completed", "canceled"):
            return []
        if now < event.starts_at:
            return [event.starts_at]
        if now < event.ends_at:
            if event.status != "active":
                event.status = "active"
                repo.update_event(conn, event, now=now)
                changes.append(EventsChanged((event.id,)))
            return [event.ends_at]
        board = rank_entries(repo.suggestions_between(conn, event.starts_at, event.ends_at))
        event.status = "completed"
        event.extra.setdefault("announcement", announcement_text(event, board))
        event.extra["winners"] = [e.item_id for e in board if e.rank <= 3]
        repo.update_event(conn, event, now=now)
        changes.append(EventsChanged((event.id,)))
        changes.append(
            NotificationEvent(
                kind="contest_ended",
                title=f"Contest ended: {event.title}",
                body="A draft announcement of the winners is ready to edit and publish.",
                target={"pane": "calendar", "id": event.id},
            )
        )
        return []

    # -- demo / first run ------------------------------------------------------------------------------------

    async def import_plan(
        self, contests: Iterable[Any], posts: Iterable[Any], *, timezone: str = "UTC"
    ) -> int:
        """Add contests and scheduled posts (``sandbox.model.Contest`` / ``ScheduledPost``-shaped) that are
        not in the calendar yet (matched by title and start). Returns how many were added."""
        now = self.clock()
        rows: list[EventRow] = []
        for c in contests:
            rows.append(
                EventRow(
                    id=0,
                    kind="contest",
                    title=c.name,
                    starts_at=c.starts_at,
                    ends_at=c.ends_at,
                    timezone=timezone,
                    description=c.rules,
                    status="completed"
                    if c.ends_at <= now
                    else ("active" if c.starts_at <= now else "scheduled"),
                    extra={"prize": c.prize, "rules": c.rules},
                )
            )
        for p in posts:
            targets = ["reddit" if t == "reddit" else t for t in p.targets]
            rows.append(
                EventRow(
                    id=0,
                    kind="post",
                    title=p.title,
                    starts_at=p.due_at,
                    timezone=timezone,
                    description=p.body,
                    targets=targets,
                    extra={"post_kind": p.kind},
                )
            )

        def job(conn: sqlite3.Connection) -> list[int]:
            existing = {(e.kind, e.title, e.starts_at) for e in repo.list_events(conn)}
            added: list[int] = []
            for row in rows:
                if (row.kind, row.title, row.starts_at.astimezone(UTC)) in existing:
                    continue
                added.append(repo.insert_event(conn, row, now=now))
            return added

        added = await self._run(job, lambda ids: ids)
        self.wake()
        return len(added)

    def problem(self, text: str) -> None:
        """Tell the moderator something went wrong, in plain words."""
        self.bus.publish(Notice("error", text, area="calendar"))


__all__ = [
    "CalendarError",
    "CalendarService",
    "DiscordEventInfo",
    "EventDraft",
    "EventRow",
    "LeaderboardEntry",
    "PostStatus",
    "QuestionGroup",
    "announcement_text",
    "content_words",
    "discord_to_rrule",
    "draft_from_row",
    "group_questions",
    "monthly_rrule",
    "post_action",
    "rank_entries",
    "rrule_to_discord",
    "similarity",
    "validate",
    "zone",
]
