"""The protocol every platform connector implements.

A connector is created with the settings for its platform, its credentials and a ``ConnectorSink``. It is
started on the application's asyncio loop (the qasync loop in the desk, a plain loop headless);
blocking client libraries run on their own threads inside it. It never touches the store or the UI
directly: it hands normalised items to the sink and reports its connection state through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from atlas_desk.core.types import ConnectionState, InboxItem, OutboxAction, Platform


class ConnectorSink(Protocol):
    """Where connectors deliver what they receive. Implemented by ``atlas_desk.core.inbox.InboxService``."""

    async def ingest(self, items: Sequence[InboxItem]) -> None:
        """Store items (insert or update by natural key) and publish the change. Awaits the commit."""

    def set_state(self, platform: Platform, state: ConnectionState, reason: str = "") -> None:
        """Report the connection state shown in the status bar; ``reason`` is plain words for the tooltip."""

    async def get_cursor(self, platform: Platform, stream: str) -> str | None:
        """The stored sync cursor of one stream (a channel, an endpoint), or None if never synced."""

    async def set_cursor(self, platform: Platform, stream: str, cursor: str) -> None:
        """Persist a sync cursor after the items it covers have been ingested."""


class Connector(Protocol):
    platform: Platform

    async def start(self) -> None:
        """Connect, backfill since the stored cursors, then keep receiving live events until ``stop``."""

    async def stop(self) -> None:
        """Disconnect and release threads and sessions. Safe to call twice."""

    async def backfill(self) -> None:
        """Fetch everything since the stored cursors and return once caught up (``sync --once``)."""

    async def execute(self, action: OutboxAction) -> dict[str, Any]:
        """Perform an outbox action on the platform and return what it created (ids, urls).

        Must be idempotent for ``action.idempotency_key``: if the action was already performed (a replay after
        a crash), return the existing result instead of acting twice. Raises ``ActionError`` on failure.
        """

    @property
    def state(self) -> ConnectionState: ...
