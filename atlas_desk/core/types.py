"""Domain types shared by every layer. Plain dataclasses, no Qt, no I/O."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Platform(enum.StrEnum):
    DISCORD = "discord"
    GITHUB = "github"
    REDDIT = "reddit"


class ConnectionState(enum.StrEnum):
    """What the status bar shows for each platform."""

    NOT_CONFIGURED = "not configured"
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"


class ItemKind(enum.StrEnum):
    MESSAGE = "message"  # Discord channel / thread message
    ISSUE = "issue"
    ISSUE_COMMENT = "issue_comment"
    DISCUSSION = "discussion"
    DISCUSSION_COMMENT = "discussion_comment"
    POST = "post"  # Reddit submission
    COMMENT = "comment"  # Reddit comment


@dataclass(frozen=True, slots=True)
class Account:
    """One person's identity on one platform."""

    platform: Platform
    platform_id: str
    handle: str
    display_name: str = ""
    created_at: datetime | None = None


@dataclass(slots=True)
class InboxItem:
    """A normalised piece of community content from any platform.

    ``(platform, platform_id)`` is the natural key: ingesting the same item twice updates it.
    ``body`` is the source text as the platform holds it (markdown); it is untrusted.
    """

    platform: Platform
    platform_id: str
    kind: ItemKind
    container: str  # "#general", "Discussions › Ideas", "r/AtlasApp"
    author: Account
    body: str
    created_at: datetime
    title: str = ""
    url: str = ""
    container_id: str = ""
    parent_id: str = ""  # platform id of the thread / discussion / post this belongs to
    edited_at: datetime | None = None
    deleted: bool = False
    score: int = 0
    reported: bool = False
    is_suggestion: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    id: int | None = None  # store row id once stored


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DONE = "done"
    FAILED = "failed"


@dataclass(slots=True)
class OutboxAction:
    """A moderator's action waiting to be (or having been) executed on a platform."""

    id: int
    idempotency_key: str
    platform: Platform
    kind: str  # e.g. "reply", "approve", "set_status"
    target: str  # platform id the action applies to
    payload: dict[str, Any]
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    last_error: str = ""
    result: dict[str, Any] = field(default_factory=dict)


class ActionError(Exception):
    """A connector's failure to execute an action.

    ``retryable`` says whether trying again may succeed (network, 429, 5xx); ``retry_after`` is the
    platform's requested wait in seconds, if it gave one. ``message`` is shown to the moderator, so it
    is plain words and never contains a token.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
