"""GitHub objects (PyGithub REST objects, GraphQL dicts) → core ``InboxItem``s.

Natural keys are GitHub node ids (``I_…`` issues, ``IC_…`` issue comments, ``D_…`` discussions, ``DC_…``
discussion comments): the same id whether an object arrives over REST or GraphQL. Bodies stay the platform's
source text, untouched apart from the desk's own idempotency marker, which is moved into ``extra``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from github.Issue import Issue
from github.IssueComment import IssueComment

from atlas_desk.core.types import Account, InboxItem, ItemKind, Platform

ISSUES_CONTAINER = "Issues"
SUGGESTION_LABELS = frozenset({"enhancement", "community-idea"})
SUGGESTION_CATEGORIES = frozenset({"Ideas"})

MARKER_RE = re.compile(r"\s*<!-- atlas-desk:([A-Za-z0-9_.:\-]{1,200}) -->\s*$")


def marker(key: str) -> str:
    """The invisible HTML comment that tags a comment the desk posted for idempotency ``key``."""
    return f"<!-- atlas-desk:{key} -->"


def with_marker(body: str, key: str) -> str:
    """``body`` with the idempotency marker appended (GitHub renders it as nothing)."""
    return f"{body.rstrip()}\n\n{marker(key)}"


def split_marker(body: str) -> tuple[str, str | None]:
    """Remove a trailing desk marker from ``body``; return the body and the key (or None)."""
    m = MARKER_RE.search(body)
    if m is None:
        return body, None
    return body[: m.start()], m.group(1)


def discussion_container(category: str) -> str:
    return f"Discussions › {category}"


def parse_time(value: Any) -> datetime:
    """A GitHub timestamp (ISO string or datetime) as an aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _account(login: str | None) -> Account:
    # GraphQL's Actor has no numeric id, so the login is the account key on both APIs
    handle = login or "ghost"
    return Account(Platform.GITHUB, handle, handle, handle)


def _with_body(item_body: str | None, extra: dict[str, Any]) -> str:
    body, key = split_marker(item_body or "")
    if key is not None:
        extra["idempotency_key"] = key
    return body


def issue_item(issue: Issue, repo: str) -> InboxItem:
    """An issue as an inbox item; score is its 👍 reactions."""
    labels = [label.name for label in issue.labels]
    extra: dict[str, Any] = {
        "number": issue.number,
        "labels": labels,
        "state": issue.state,
        "comments": issue.comments,
    }
    reactions = issue.reactions or {}
    return InboxItem(
        platform=Platform.GITHUB,
        platform_id=issue.node_id,
        kind=ItemKind.ISSUE,
        container=ISSUES_CONTAINER,
        container_id=repo,
        author=_account(issue.user.login if issue.user else None),
        title=issue.title or "",
        body=_with_body(issue.body, extra),
        created_at=parse_time(issue.created_at),
        url=issue.html_url,
        score=int(reactions.get("+1", 0) or 0),
        is_suggestion=bool(SUGGESTION_LABELS.intersection(labels)),
        extra=extra,
    )


def issue_number_from_url(issue_url: str) -> int:
    """The issue number at the end of an ``issue_url``."""
    return int(issue_url.rstrip("/").rsplit("/", 1)[1])


def issue_comment_item(comment: IssueComment, repo: str, parent_id: str, title: str = "") -> InboxItem:
    """An issue comment; ``parent_id`` is its issue's node id."""
    number = issue_number_from_url(comment.issue_url)
    extra: dict[str, Any] = {"issue_number": number, "number": number, "comment_id": comment.id}
    reactions = comment.reactions or {}
    created = parse_time(comment.created_at)
    updated = parse_time(comment.updated_at)
    return InboxItem(
        platform=Platform.GITHUB,
        platform_id=comment.node_id,
        kind=ItemKind.ISSUE_COMMENT,
        container=ISSUES_CONTAINER,
        container_id=repo,
        author=_account(comment.user.login if comment.user else None),
        title=title,
        body=_with_body(comment.body, extra),
        created_at=created,
        edited_at=updated if updated > created else None,
        url=comment.html_url,
        parent_id=parent_id,
        score=int(reactions.get("+1", 0) or 0),
        extra=extra,
    )


def _login(node: dict[str, Any]) -> str | None:
    author = node.get("author")
    return author.get("login") if isinstance(author, dict) else None


def discussion_item(node: dict[str, Any], repo: str) -> InboxItem:
    """A discussion from GraphQL; score is its upvote count."""
    category = (node.get("category") or {}).get("name") or "General"
    extra: dict[str, Any] = {
        "number": node["number"],
        "category": category,
        "locked": bool(node.get("locked")),
        "answered": node.get("isAnswered"),
    }
    edited = node.get("lastEditedAt")
    return InboxItem(
        platform=Platform.GITHUB,
        platform_id=node["id"],
        kind=ItemKind.DISCUSSION,
        container=discussion_container(category),
        container_id=repo,
        author=_account(_login(node)),
        title=node.get("title") or "",
        body=_with_body(node.get("body"), extra),
        created_at=parse_time(node["createdAt"]),
        edited_at=parse_time(edited) if edited else None,
        url=node.get("url") or "",
        score=int(node.get("upvoteCount") or 0),
        is_suggestion=category in SUGGESTION_CATEGORIES,
        extra=extra,
    )


def discussion_comment_item(
    node: dict[str, Any], discussion: dict[str, Any], repo: str, reply_to: str | None = None
) -> InboxItem:
    """A discussion comment; ``discussion`` is its parent discussion's GraphQL node.

    A threaded reply names the top-level comment it answers in ``reply_to`` (as Discord and Reddit replies
    do); its ``parent_id`` stays the discussion, the root of the conversation.
    """
    category = (discussion.get("category") or {}).get("name") or "General"
    extra: dict[str, Any] = {
        "discussion_number": discussion["number"],
        "number": discussion["number"],
        "is_answer": bool(node.get("isAnswer")),
    }
    if reply_to:
        extra["reply_to"] = reply_to
    created = parse_time(node["createdAt"])
    updated = parse_time(node.get("updatedAt") or node["createdAt"])
    return InboxItem(
        platform=Platform.GITHUB,
        platform_id=node["id"],
        kind=ItemKind.DISCUSSION_COMMENT,
        container=discussion_container(category),
        container_id=repo,
        author=_account(_login(node)),
        title=discussion.get("title") or "",
        body=_with_body(node.get("body"), extra),
        created_at=created,
        edited_at=updated if updated > created else None,
        url=node.get("url") or "",
        parent_id=discussion["id"],
        score=int(node.get("upvoteCount") or 0),
        extra=extra,
    )
