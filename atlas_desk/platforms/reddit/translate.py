"""Reddit things (as praw hands them over) → core inbox items.

Functions here read a thing's attributes through ``vars()``: praw objects are lazy and asking one for a
missing attribute makes it fetch itself over the network, which must never happen while translating. Text is
copied as the platform holds it (markdown source, never ``*_html``); it is untrusted and the UI shows it as
plain text.

Malformed things. praw turns a whole listing page into objects at once, so one child it cannot read (its
``data`` not an object, no ``id``, a null ``subreddit``) fails the page, and a child of a kind it does
not know comes back as a plain dict, on which its streams fail (they read ``.fullname``). Either way, every
poll of that page fails again. ``tolerate_malformed_things`` gives a praw instance a listing that reads each
child on its own and leaves out (and logs, once) the children it cannot read, those of unknown kinds, and
posts or comments without the identity and time the connector orders them by; a page that is not a listing at
all reads as empty. What is left of a thing is read leniently by ``to_item``: a wrong-typed score is 0, not a
lost message.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import praw
from praw.models import Comment, Submission
from praw.models.listing.listing import Listing

from atlas_desk.core.types import Account, InboxItem, ItemKind, Platform

log = logging.getLogger("atlas_desk.platforms.reddit")

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


def _int(value: Any) -> int:
    """A count from the platform, 0 when it is missing or not a number."""
    if isinstance(value, bool):
        return int(value)
    try:
        return int(value or 0)
    except (TypeError, ValueError, OverflowError):
        return 0


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
    ident = data.get("id")
    if not isinstance(ident, str) or not ident:
        raise ValueError("a Reddit thing without an id")
    name = fullname(data)
    if not name.startswith(("t1_", "t3_")):
        raise ValueError(f"a Reddit thing that is not a post or a comment ({name[:3]!r})")
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
        "score": _int(data.get("score")),
        "reported": is_reported(data),
    }
    if name.startswith("t3_"):
        flair = _text(data.get("link_flair_text"))
        if flair:
            extra["flair"] = flair
        extra["num_comments"] = _int(data.get("num_comments"))
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


# -- listings that survive malformed children -------------------------------------------------------------

_REPORTED_CAPACITY = 1000
# Per praw instance: the children it has logged (a stream sees the same newest page on every poll).
_reported: weakref.WeakKeyDictionary[praw.Reddit, OrderedDict[str, None]] = weakref.WeakKeyDictionary()
_reported_lock = threading.Lock()


def _report(reddit: praw.Reddit, what: str, key: str) -> None:
    """Log a skipped child at WARNING the first time this praw instance meets it, then at DEBUG."""
    with _reported_lock:
        seen = _reported.setdefault(reddit, OrderedDict())
        first = key not in seen
        seen[key] = None
        seen.move_to_end(key)
        while len(seen) > _REPORTED_CAPACITY:
            seen.popitem(last=False)
    log.log(logging.WARNING if first else logging.DEBUG, "reddit: skipped %s in a listing", what)


def _describe(child: Any) -> tuple[str, str]:
    """(what it is, a key to log it once by) for a listing child, naming its kind and id, never its text."""
    if not isinstance(child, Mapping):
        name = type(child).__name__
        return f"a child that is not an object ({name})", f"type:{name}"
    kind = str(child.get("kind"))[:20]
    data = child.get("data")
    ident = ""
    if isinstance(data, Mapping):
        ident = str(data.get("name") or data.get("id") or "")[:40]
    what = f"a {kind!r} thing {ident!r}" if ident else f"a {kind!r} thing"
    return what, f"{kind}:{ident or repr(child)[:120]}"


def _identity_problem(thing: Submission | Comment) -> str:
    """Why a post or comment cannot be ordered and remembered by the connector ('' when it can)."""
    data = vars(thing)
    ident = data.get("id")
    if not isinstance(ident, str) or not ident:
        return "without an id"
    prefix = "t3" if isinstance(thing, Submission) else "t1"
    if data.get("name") != f"{prefix}_{ident}":
        return "whose name does not match its id"
    created = data.get("created_utc")
    if isinstance(created, bool) or not isinstance(created, int | float) or created != created:
        return "without a creation time"
    return ""


def readable_children(reddit: praw.Reddit, children: Any) -> list[Any]:
    """The listing children praw can read as things, each read on its own; the others logged and left out."""
    if not isinstance(children, list):
        _report(reddit, f"a page whose children are not a list ({type(children).__name__})", "page:children")
        return []
    objector = reddit._objector
    readable: list[Any] = []
    for child in children:
        what, key = _describe(child)
        if not isinstance(child, Mapping):
            _report(reddit, what, key)
            continue
        try:
            thing = objector.objectify(data=dict(child))
        except Exception as exc:  # praw could not build it: the child is malformed, the page is not
            _report(reddit, f"{what} that could not be read ({type(exc).__name__})", key)
            continue
        if thing is None or isinstance(thing, dict | list | str | int | float | bool):
            _report(reddit, f"{what} of a kind the desk does not know", key)
            continue
        if isinstance(thing, Submission | Comment):
            problem = _identity_problem(thing)
            if problem:
                _report(reddit, f"{what} {problem}", key)
                continue
        readable.append(thing)
    return readable


class TolerantListing(Listing):
    """praw's ``Listing`` reading each child on its own (see the module docstring)."""

    # Defaults for a page whose data is missing: it reads as an empty, last page.
    after: Any = None
    before: Any = None
    children: list[Any] = []  # never mutated: a page's children are set on the instance

    @classmethod
    def parse(cls, data: dict[str, Any], reddit: praw.Reddit) -> TolerantListing:
        if not isinstance(data, Mapping):
            _report(reddit, f"a listing page that is not an object ({type(data).__name__})", "page:data")
            data = {}
        return cls(reddit, _data=dict(data))

    def __setattr__(self, attribute: str, value: Any) -> None:
        if attribute == self.CHILD_ATTRIBUTE:
            object.__setattr__(self, attribute, readable_children(self._reddit, value))
            return
        super().__setattr__(attribute, value)


def tolerate_malformed_things(reddit: praw.Reddit) -> None:
    """Make ``reddit`` skip (and log) listing children it cannot read instead of failing the whole page.

    Call once, right after creating the instance, on the thread that owns it. praw offers no public hook for
    its parsers; if a later praw moves them, this logs that and leaves praw as it is.
    """
    parsers = getattr(getattr(reddit, "_objector", None), "parsers", None)
    if not isinstance(parsers, dict) or parsers.get("Listing") is not Listing:
        log.warning("reddit: praw's listing parser is not where expected; malformed things may stop a poll")
        return
    parsers["Listing"] = TolerantListing
