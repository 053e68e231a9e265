"""discord.py objects → core inbox items.

Community text is untrusted and kept exactly as Discord holds it (markdown source): no truncation, no
escaping here. Rendering safely is the UI's job.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import discord

from atlas_desk.core.types import Account, InboxItem, ItemKind, Platform

UPVOTE = "👍"

# Message types that carry something a member said; joins, pins, boosts and the like are not inbox material.
_CONVERSATION_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})


def is_conversation(message: discord.Message) -> bool:
    """True for messages a person wrote (plain messages and replies)."""
    return message.type in _CONVERSATION_TYPES


# The same, as the gateway's ``type`` numbers (MESSAGE_CREATE payloads).
CONVERSATION_TYPE_VALUES = frozenset(int(t.value) for t in _CONVERSATION_TYPES)

# Accounts are immutable and authors repeat: reuse them (a busy channel is a few hundred people).
_ACCOUNTS: dict[tuple[int, str, str], Account] = {}
_ACCOUNTS_LIMIT = 50_000


def account(user: discord.User | discord.Member) -> Account:
    """The author's Discord account, named as the server shows them: nickname, global name, else handle."""
    display = getattr(user, "nick", None) or getattr(user, "global_name", None) or user.name
    key = (user.id, user.name, display)
    found = _ACCOUNTS.get(key)
    if found is None:
        if len(_ACCOUNTS) >= _ACCOUNTS_LIMIT:
            _ACCOUNTS.clear()
        found = _ACCOUNTS[key] = Account(
            platform=Platform.DISCORD,
            platform_id=str(user.id),
            handle=user.name,
            display_name=display,
            created_at=user.created_at,
        )
    return found


def payload_account(author: Mapping[str, Any], nick: str | None) -> Account:
    """The account from a MESSAGE_CREATE payload's ``author`` and ``member.nick`` (as ``account``)."""
    user_id = int(author["id"])
    name = str(author["username"])
    display = nick or author.get("global_name") or name
    key = (user_id, name, display)
    found = _ACCOUNTS.get(key)
    if found is None:
        if len(_ACCOUNTS) >= _ACCOUNTS_LIMIT:
            _ACCOUNTS.clear()
        found = _ACCOUNTS[key] = Account(
            platform=Platform.DISCORD,
            platform_id=str(user_id),
            handle=name,
            display_name=str(display),
            created_at=discord.utils.snowflake_time(user_id),
        )
    return found


def container_name(channel: object) -> str:
    """ "#channel" for a channel, "#channel › thread" for a thread."""
    name = getattr(channel, "name", None) or str(getattr(channel, "id", "?"))
    if isinstance(channel, discord.Thread):
        parent = channel.parent
        parent_name = parent.name if parent is not None else str(channel.parent_id)
        return f"#{parent_name} › {name}"
    return f"#{name}"


def is_suggestion_channel(channel: object) -> bool:
    """Whether a channel is where members post ideas (#feature-suggestions, #suggestions, #ideas)."""
    name = str(getattr(channel, "name", "") or "").lower()
    return "suggestion" in name or name in {"ideas", "feature-requests"}


def upvotes(message: discord.Message) -> int:
    """The number of 👍 reactions on a message."""
    return sum(r.count for r in message.reactions if str(r.emoji) == UPVOTE)


def jump_url(guild_id: int | None, channel_id: int, message_id: int) -> str:
    """The message's address in Discord's web and desktop client."""
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"


def message_to_item(
    message: discord.Message, *, guild_id: int | None = None, bot_id: int | None = None
) -> InboxItem:
    """Translate one message. The body is its content plus one line per attachment URL."""
    channel = message.channel
    channel_id = channel.id
    lines = [message.content] if message.content else []
    lines.extend(a.url for a in message.attachments)
    gid = message.guild.id if message.guild is not None else guild_id
    extra: dict[str, object] = {"channel_id": str(channel_id), "type": int(message.type.value)}
    if isinstance(channel, discord.Thread):
        extra["thread_parent_id"] = str(channel.parent_id)
    if message.reference is not None and message.reference.message_id is not None:
        extra["reply_to"] = str(message.reference.message_id)
    if message.attachments:
        extra["attachments"] = [{"url": a.url, "filename": a.filename} for a in message.attachments]
    if message.author.bot:
        extra["bot"] = True
    if bot_id is not None and message.author.id == bot_id:
        extra["from_desk"] = True
    return InboxItem(
        platform=Platform.DISCORD,
        platform_id=str(message.id),
        kind=ItemKind.MESSAGE,
        container=container_name(channel),
        container_id=str(channel_id),
        author=account(message.author),
        title="",
        body="\n".join(lines),
        url=jump_url(gid, channel_id, message.id),
        parent_id=str(channel_id),
        created_at=_utc(message.created_at),
        edited_at=_utc(message.edited_at) if message.edited_at is not None else None,
        score=upvotes(message),
        # A top-level post in the suggestions channel is an idea; replies there are discussion of it.
        is_suggestion=is_suggestion_channel(channel) and "reply_to" not in extra,
        extra=extra,
    )


def payload_to_item(
    data: Mapping[str, Any],
    channel: discord.abc.GuildChannel | discord.Thread,
    *,
    guild_id: int,
    bot_id: int | None = None,
) -> InboxItem:
    """Translate a MESSAGE_CREATE payload straight from the gateway, without building a ``discord.Message``.

    The same item ``message_to_item`` makes of the message discord.py would build from ``data`` (a test holds
    the two to it), for a guild member's message in a known channel. Raises KeyError, TypeError or
    ValueError on a payload that is not one (no member, webhook, malformed): the caller lets discord.py
    parse those.
    """
    if data.get("webhook_id") is not None:
        raise ValueError("webhook message")
    member = data["member"]
    author = data["author"]
    message_id = int(data["id"])
    channel_id = channel.id
    content = data["content"]
    if not isinstance(content, str):
        raise TypeError("content is not text")
    attachments = data.get("attachments") or ()
    lines = [content] if content else []
    lines.extend(str(a["url"]) for a in attachments)
    extra: dict[str, object] = {"channel_id": str(channel_id), "type": int(data["type"])}
    if isinstance(channel, discord.Thread):
        extra["thread_parent_id"] = str(channel.parent_id)
    reference = data.get("message_reference")
    if reference and reference.get("message_id") is not None:
        extra["reply_to"] = str(int(reference["message_id"]))
    if attachments:
        extra["attachments"] = [{"url": str(a["url"]), "filename": str(a["filename"])} for a in attachments]
    if author.get("bot"):
        extra["bot"] = True
    author_id = int(author["id"])
    if bot_id is not None and author_id == bot_id:
        extra["from_desk"] = True
    edited = data.get("edited_timestamp")
    score = 0
    for reaction in data.get("reactions") or ():
        emoji = reaction["emoji"]
        if emoji.get("id") is None and emoji.get("name") == UPVOTE:
            score += int(reaction.get("count", 1))
    return InboxItem(
        platform=Platform.DISCORD,
        platform_id=str(message_id),
        kind=ItemKind.MESSAGE,
        container=container_name(channel),
        container_id=str(channel_id),
        author=payload_account(author, member.get("nick")),
        title="",
        body="\n".join(lines),
        url=jump_url(guild_id, channel_id, message_id),
        parent_id=str(channel_id),
        created_at=discord.utils.snowflake_time(message_id),
        edited_at=_utc(datetime.fromisoformat(edited)) if edited else None,
        score=score,
        is_suggestion=is_suggestion_channel(channel) and "reply_to" not in extra,
        extra=extra,
    )


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
