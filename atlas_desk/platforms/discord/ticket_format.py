"""How a ticket looks on Discord: forum tag names, the ticket card, and the relayed messages' first lines.

Everything shared between desks lives on the platform: status and priority are forum tags, the assignee and
the requester are on the card (the thread's starter message, an embed the relay edits), and the role of each
thread message is on its first line, written by the bot. Messages a moderator types in the thread directly
are internal notes: they are never relayed. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

STATUS_TAGS: dict[str, str] = {
    "new": "New",
    "open": "Open",
    "pending": "Pending",
    "resolved": "Resolved",
    "closed": "Closed",
}
PRIORITY_TAGS: dict[str, str] = {
    "low": "Low priority",
    "normal": "Normal priority",
    "high": "High priority",
    "urgent": "Urgent",
}
TAG_EMOJI: dict[str, str] = {
    "New": "🆕",
    "Open": "📬",
    "Pending": "⏳",
    "Resolved": "✅",
    "Closed": "🔒",
    "Low priority": "🔽",
    "Normal priority": "⏺️",
    "High priority": "🔼",
    "Urgent": "🚨",
}
ALL_TAGS: tuple[str, ...] = (*STATUS_TAGS.values(), *PRIORITY_TAGS.values())

MEMBER_MARK = "💬 From "
REPLY_MARK = "↩️ Reply from "
NOTE_MARK = "📝 Internal note from "
SYSTEM_MARK = "ℹ️ "
CARD_TITLE = "Ticket"
_FOOTER = re.compile(r"requester:(\d+) dm:(\d*) v:(\d+)(?: via:(\w+))?")


@dataclass(slots=True)
class Card:
    """What the ticket card says."""

    requester_id: str
    requester_name: str
    requester_handle: str
    account_created: datetime | None
    joined_at: datetime | None
    earlier_tickets: int
    assignee: str = ""
    dm_channel_id: str = ""
    version: int = 0
    source: str = "dm"


def thread_name(subject: str, member: str) -> str:
    """The forum post's title: "subject · member", within Discord's 100 characters."""
    subject = " ".join(subject.split()) or "Ticket"
    member = " ".join(member.split())[:40]
    room = 100 - len(member) - 3
    if len(subject) > room:
        subject = subject[: max(room - 1, 10)] + "…"
    return f"{subject} · {member}"[:100]


def subject_from(text: str) -> str:
    """A subject from a member's first message: its first line, shortened."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "") or "New ticket"
    return line if len(line) <= 60 else line[:59] + "…"


def _age(created: datetime | None, now: datetime) -> str:
    if created is None:
        return "unknown"
    days = max((now - created).days, 0)
    if days >= 365:
        span = f"{days // 365} y {days % 365 // 30} mo"
    elif days >= 30:
        span = f"{days // 30} mo"
    else:
        span = f"{days} d"
    return f"{created.date().isoformat()} ({span})"


def card_embed(card: Card, now: datetime) -> dict[str, Any]:
    """The card as a Discord embed dict."""
    return {
        "type": "rich",
        "title": CARD_TITLE,
        "color": 0x5865F2,
        "fields": [
            {
                "name": "Member",
                "value": f"{card.requester_name} (@{card.requester_handle}) <@{card.requester_id}>",
                "inline": False,
            },
            {"name": "Account created", "value": _age(card.account_created, now), "inline": True},
            {"name": "Joined server", "value": _age(card.joined_at, now), "inline": True},
            {"name": "Earlier tickets", "value": str(card.earlier_tickets), "inline": True},
            {"name": "Assignee", "value": card.assignee or "nobody yet", "inline": True},
        ],
        "footer": {
            "text": f"requester:{card.requester_id} dm:{card.dm_channel_id} v:{card.version}"
            f" via:{card.source}"
        },
    }


def parse_card(embeds: list[dict[str, Any]]) -> Card | None:
    """Read a card back from a starter message's embeds (None if it is not a ticket card)."""
    for embed in embeds:
        if embed.get("title") != CARD_TITLE:
            continue
        m = _FOOTER.search(str((embed.get("footer") or {}).get("text", "")))
        if m is None:
            continue
        fields = {f.get("name"): str(f.get("value", "")) for f in embed.get("fields", [])}
        member = fields.get("Member", "")
        name, _, rest = member.partition(" (@")
        handle = rest.split(")", 1)[0]
        assignee = fields.get("Assignee", "")
        try:
            earlier = int(fields.get("Earlier tickets", "0"))
        except ValueError:
            earlier = 0
        return Card(
            requester_id=m.group(1),
            requester_name=name,
            requester_handle=handle,
            account_created=_date(fields.get("Account created", "")),
            joined_at=_date(fields.get("Joined server", "")),
            earlier_tickets=earlier,
            assignee="" if assignee == "nobody yet" else assignee,
            dm_channel_id=m.group(2),
            version=int(m.group(3)),
            source=m.group(4) or "dm",
        )
    return None


def _date(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.split(" ", 1)[0] + "T00:00:00+00:00")
    except ValueError:
        return None


def member_text(name: str, body: str, attachments: list[str]) -> str:
    """A member's DM as mirrored in the thread; attachments as links."""
    links = "".join(f"\n📎 {url}" for url in attachments)
    return f"{MEMBER_MARK}{name}:\n{body}{links}"


def reply_text(moderator: str, body: str) -> str:
    return f"{REPLY_MARK}{moderator} (sent to the member):\n{body}"


def note_text(moderator: str, body: str) -> str:
    return f"{NOTE_MARK}{moderator} (not sent):\n{body}"


def parse_thread_message(content: str, *, from_bot: bool) -> tuple[str, str, str]:
    """(role, author name, body) of a thread message. Anything a person typed in the thread is a note."""
    first, _, body = content.partition("\n")
    if from_bot:
        for mark, role, tail in (
            (MEMBER_MARK, "member", ":"),
            (REPLY_MARK, "moderator", " (sent to the member):"),
            (NOTE_MARK, "note", " (not sent):"),
        ):
            if first.startswith(mark) and first.endswith(tail):
                return role, first[len(mark) : len(first) - len(tail)], body
        return "system", "", content.removeprefix(SYSTEM_MARK)
    return "note", "", content


def split_attachments(body: str) -> tuple[str, list[str]]:
    """Separate the 📎 link lines a mirrored member message ends with."""
    lines = body.split("\n")
    links: list[str] = []
    while lines and lines[-1].startswith("📎 "):
        links.insert(0, lines.pop()[2:].strip())
    return "\n".join(lines), links
