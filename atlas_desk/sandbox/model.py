"""The seeded Atlas community, platform-neutral.

``atlas_desk.sandbox.community.generate(seed)`` builds one; each platform's sandbox server translates it
into that platform's own objects and shapes. Ids are stable for a seed so tests and screenshots
are repeatable.
Times are timezone-aware UTC datetimes. Text is believable community talk, and deliberately includes a few
hostile strings (markup in names, RTL overrides) so the desk is always exercised against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class Member:
    key: str  # stable slug, e.g. "maya-k"
    display_name: str
    discord_id: str | None = None  # snowflake as a string
    discord_name: str | None = None
    github_login: str | None = None
    github_id: int | None = None
    reddit_name: str | None = None
    joined_at: datetime | None = None  # server join / account creation
    is_moderator: bool = False
    blocked: bool = False


@dataclass(slots=True)
class Channel:
    """A Discord channel of the community guild."""

    id: str
    name: str
    kind: str  # "text" | "forum" | "announcement" | "voice" | "stage"
    topic: str = ""
    category: str = ""
    moderator_only: bool = False


@dataclass(slots=True)
class Reaction:
    emoji: str
    member_keys: list[str]


@dataclass(slots=True)
class Message:
    """A Discord message in a channel or thread."""

    id: str
    channel_id: str
    author_key: str
    content: str
    created_at: datetime
    reactions: list[Reaction] = field(default_factory=list)
    reply_to: str | None = None
    thread_id: str | None = None  # set when the message lives in a thread of channel_id


@dataclass(slots=True)
class Thread:
    id: str
    parent_id: str  # channel
    name: str
    owner_key: str
    created_at: datetime
    archived: bool = False


@dataclass(slots=True)
class Comment:
    id: str
    author_key: str
    body: str
    created_at: datetime
    upvotes: int = 0
    is_answer: bool = False


@dataclass(slots=True)
class Discussion:
    number: int
    node_id: str
    category: str  # "Ideas" | "Q&A" | "Announcements" | "General"
    title: str
    body: str
    author_key: str
    created_at: datetime
    upvotes: int = 0
    comments: list[Comment] = field(default_factory=list)
    locked: bool = False


@dataclass(slots=True)
class Issue:
    number: int
    node_id: str
    title: str
    body: str
    author_key: str
    created_at: datetime
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)  # member keys
    state: str = "open"
    thumbs_up: int = 0
    comments: list[Comment] = field(default_factory=list)


@dataclass(slots=True)
class RedditPost:
    id: str  # base36, without the t3_ prefix
    title: str
    selftext: str
    author_key: str
    created_at: datetime
    score: int = 1
    flair: str = ""
    comments: list[RedditComment] = field(default_factory=list)
    reported: bool = False
    report_reason: str = ""


@dataclass(slots=True)
class RedditComment:
    id: str  # base36, without the t1_ prefix
    author_key: str
    body: str
    created_at: datetime
    score: int = 1
    parent_id: str | None = None  # another comment's id, or None for a top-level reply
    reported: bool = False
    report_reason: str = ""


@dataclass(slots=True)
class Suggestion:
    """A feature idea; it lives on one platform and may be linked from a roadmap card."""

    key: str
    title: str
    platform: str  # "discord" | "github" | "reddit"
    ref: str  # message id / discussion number / post id
    author_key: str
    created_at: datetime
    votes: int


@dataclass(slots=True)
class TicketMessage:
    author_key: str
    role: str  # "member" | "moderator" | "note"
    body: str
    created_at: datetime


@dataclass(slots=True)
class Ticket:
    key: str
    platform: str  # "discord" | "reddit"
    subject: str
    requester_key: str
    opened_at: datetime
    status: str  # new | open | pending | resolved | closed
    priority: str  # low | normal | high | urgent
    assignee_key: str | None = None
    messages: list[TicketMessage] = field(default_factory=list)
    thread_id: str | None = None  # Discord forum thread
    conversation_id: str | None = None  # Reddit modmail


@dataclass(slots=True)
class RoadmapCard:
    key: str
    title: str
    body: str
    status: str  # a Status option: "Under consideration" | "Planned" | "In progress" | "Done"
    target_month: str  # "2026-12"
    issue_number: int | None = None  # None: a draft issue
    labels: list[str] = field(default_factory=list)
    assignee_keys: list[str] = field(default_factory=list)
    suggestion_key: str | None = None
    why_note: str = ""


@dataclass(slots=True)
class ScheduledEvent:
    id: str
    name: str
    description: str
    kind: str  # "stage" | "voice" | "external"
    starts_at: datetime
    ends_at: datetime | None
    channel_id: str | None = None
    location: str = ""
    interested_keys: list[str] = field(default_factory=list)
    recurrence_monthly: bool = False


@dataclass(slots=True)
class Contest:
    """A feature-suggestion contest: suggestions posted in the window compete by votes."""

    key: str
    name: str
    starts_at: datetime
    ends_at: datetime
    prize: str = ""
    rules: str = ""


@dataclass(slots=True)
class ScheduledPost:
    """A post the relay publishes on time (weekly tip, user story, roadmap update)."""

    key: str
    kind: str  # "tip" | "user_story" | "roadmap_update" | "custom"
    title: str
    body: str
    due_at: datetime
    targets: list[str] = field(default_factory=list)  # "discord:<channel id>", "github:<category>", "reddit"
    author_key: str | None = None


@dataclass(slots=True)
class Community:
    seed: int
    now: datetime  # the community's "now": history ends here
    guild_id: str
    guild_name: str
    bot_id: str
    application_id: str
    repo: str  # "atlas-app/atlas"
    subreddit: str  # "AtlasApp"
    members: list[Member] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    threads: list[Thread] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    discussions: list[Discussion] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    posts: list[RedditPost] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)
    tickets: list[Ticket] = field(default_factory=list)
    roadmap: list[RoadmapCard] = field(default_factory=list)
    events: list[ScheduledEvent] = field(default_factory=list)
    contests: list[Contest] = field(default_factory=list)
    scheduled_posts: list[ScheduledPost] = field(default_factory=list)

    def member(self, key: str) -> Member:
        for m in self.members:
            if m.key == key:
                return m
        raise KeyError(key)
