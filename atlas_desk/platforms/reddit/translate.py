"""Reddit things (as praw hands them over) → core inbox items.

Functions here read a thing's attributes through ``vars()``: praw objects are lazy and asking one for a
missing attribute makes it fetch itself over the network, which must never happen while translating. Text is
copied as the platform holds it (markdown source, never ``*_html``); it is untrusted and the UI shows it as
plain text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from atlas_desk.core.types import Account, InboxItem, ItemKind, Platform

SUGGESTION_FLAIRS = frozenset({"feature request", "suggestion"})
DELETED = "[deleted]"


def thing_data(thing: Any) -> dict[str, Any]:
    """The attributes a praw object was built with (or the mapping itself), without triggering a fetch."""
    if isinstance(thing, Mapping):
        return dict(thing)
    return dict(vars(thing))


def _name(value: Any) -> str:
    """A username from a praw ``Redditor``, a plain string or None (deleted account)."""
    if value is None:
        return DELETED
    if isinstance(value, str):
        return value
    # Redditor keeps its name in __dict__; getattr on a missing one would fetch, so read vars().
    return str(vars(value).get("name") or DELETED)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _time(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.fromtimestamp(0, tz=UTC)


def _edited(value: Any) -> datetime | None:
    if isinstance(value, bool) or value is None:  # Reddit sends ``false`` for never edited
        return None
    return _time(value)


def report_reasons(data: Mapping[str, Any]) -> list[str]:
    """Every report reason on a thing: members' reports (with counts folded in) then moderators'."""
    reasons: list[str] = []
    for entry in data.get("user_reports") or []:
        if isinstance(entry, list | tuple) and entry:
            reasons.append(str(entry[0]) if entry[0] is not None else "")
    for entry in data.get("mod_reports") or []:
        if isinstance(entry, list | tuple) and entry:
            reasons.append(str(entry[0]) if entry[0] is not None else "")
    return reasons


def is_reported(data: Mapping[str, Any]) -> bool:
    return bool(data.get("user_reports") or data.get("mod_reports") or (data.get("num_reports") or 0) > 0)


def fullname(data: Mapping[str, Any]) -> str:
    """``t3_…``/``t1_…`` from ``name``, or built from the kind and id."""
    name = data.get("name")
    if isinstance(name, str) and name:
        return name
    prefix = "t3" if "title" in data else "t1"
    return f"{prefix}_{data.get('id', '')}"


def to_item(thing: Any, *, subreddit: str, base_url: str) -> InboxItem:
    """Normalise a submission or a comment (praw object or its data mapping) into an ``InboxItem``."""
    data = thing_data(thing)
    name = fullname(data)
    author = _name(data.get("author"))
    permalink = _text(data.get("permalink"))
    extra: dict[str, Any] = {}
    reasons = report_reasons(data)
    if reasons:
        extra["report_reasons"] = reasons
    if data.get("removed") or data.get("banned_by"):
        extra["removed"] = True
    if data.get("approved_by"):
        extra["approved_by"] = _name(data.get("approved_by"))
    common: dict[str, Any] = {
        "platform": Platform.REDDIT,
        "platform_id": name,
        "container": f"r/{subreddit}",
        "container_id": subreddit,
        "author": Account(platform=Platform.REDDIT, platform_id=author, handle=author, display_name=author),
        "created_at": _time(data.get("created_utc")),
        "url": base_url.rstrip("/") + permalink if permalink else "",
        "edited_at": _edited(data.get("edited")),
        "score": int(data.get("score") or 0),
        "reported": is_reported(data),
    }
    if name.startswith("t3_"):
        flair = _text(data.get("link_flair_text"))
        if flair:
            extra["flair"] = flair
        extra["num_comments"] = int(data.get("num_comments") or 0)
        return InboxItem(
            kind=ItemKind.POST,
            title=_text(data.get("title")),
            body=_text(data.get("selftext")),
            is_suggestion=flair.strip().lower() in SUGGESTION_FLAIRS,
            extra=extra,
            **common,
        )
    link_id = _text(data.get("link_id"))
    parent = _text(data.get("parent_id"))
    if parent and parent != link_id:
        extra["reply_to"] = parent
    link_title = _text(data.get("link_title"))
    if link_title:
        extra["link_title"] = link_title
    body = _text(data.get("body"))
    return InboxItem(
        kind=ItemKind.COMMENT,
        body=body,
        parent_id=link_id,
        deleted=body in ("[deleted]", "[removed]") and author == DELETED,
        extra=extra,
        **common,
    )
