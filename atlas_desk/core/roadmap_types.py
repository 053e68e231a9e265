"""Plain data the roadmap sync hands from the GitHub connector to the roadmap service (no I/O, no Qt)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class ProjectInfo:
    """The board's shape: project and field ids, and the Status options in the project's order."""

    project_id: str
    status_field_id: str
    options: list[tuple[str, str]]  # (option id, name)
    target_field_id: str = ""
    url: str = ""
    title: str = ""

    def option_id(self, name: str) -> str | None:
        return next((oid for oid, oname in self.options if oname == name), None)

    @property
    def columns(self) -> list[str]:
        return [name for _oid, name in self.options]


@dataclass(slots=True)
class SyncedCard:
    """One project item as the connector read it (position: its index in the project's order)."""

    platform_id: str
    content_id: str
    item_type: str
    number: int | None
    title: str
    body: str
    status: str
    position: float
    labels: list[str]
    assignees: list[str]
    target_month: str
    github_votes: int
    url: str
    updated_at: datetime
    links: list[dict[str, str]] = field(default_factory=list)
    why_note: str = ""
    state: str = ""
    marker: str = ""  # the desk's idempotency key found in the body, if any


@dataclass(slots=True)
class RoadmapSnapshot:
    """The whole board as one sync read it: the project's shape and its items in the project's order."""

    project: ProjectInfo
    cards: list[SyncedCard]
    # The store's roadmap revision when the read began (``RoadmapService.sync_token``); None: unknown.
    read_rev: int | None = None
