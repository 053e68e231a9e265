"""The Qt-free composition root shared by the desk, ``atlas-desk sync`` and ``atlas-desk bot``.

``Runtime`` opens the store, builds the change bus, the inbox service (the connectors' sink), the outbox
runner and one connector per configured platform. Connector modules are imported lazily, so a missing or
broken platform package costs only that platform (logged in plain words, reported in ``problems``), and so the
desk's start-up does not pay for client libraries it has not reached yet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from atlas_desk.config import Settings, settings_from_dict, store_path
from atlas_desk.core.bus import ChangeBus
from atlas_desk.core.types import ConnectionState, Platform
from atlas_desk.credentials import Credentials

log = logging.getLogger("atlas_desk.runtime")

PLATFORM_LABELS = {Platform.DISCORD: "Discord", Platform.GITHUB: "GitHub", Platform.REDDIT: "Reddit"}


class Runtime:
    """Everything below the UI, wired together. Call ``open()`` (or let ``start``/``backfill`` do it)."""

    def __init__(
        self, settings: Settings, credentials: Credentials, data_dir: Path, *, bus: ChangeBus | None = None
    ) -> None:
        """``bus``: an existing change bus to publish on (the desk's window already listens to one)."""
        self.settings = settings
        self.credentials = credentials
        self.data_dir = Path(data_dir)
        self.bus = bus if bus is not None else ChangeBus()
        self.store: Any = None  # atlas_desk.store.db.Store once open
        self.inbox: Any = None  # atlas_desk.core.inbox.InboxService
        self.outbox: Any = None  # atlas_desk.core.outbox.OutboxRunner
        self.connectors: dict[Platform, Any] = {}
        self.problems: dict[Platform, str] = {}  # why a platform has no connector, in plain words
        self._tasks: dict[Platform, asyncio.Task[None]] = {}
        self._outbox_started = False

    # -- building -------------------------------------------------------------------------------------------

    def open(self) -> None:
        """Open the store and build the services (idempotent). Raises StoreError if the file is unusable."""
        if self.store is not None:
            return
        from atlas_desk.store.db import Store

        self.store = Store.open(store_path(self.data_dir))
        try:
            from atlas_desk.core.inbox import InboxService
        except ImportError as exc:
            log.error("the inbox service is not available (%s); nothing can be synced", exc)
        else:
            desk = self.settings.desk
            self.inbox = InboxService(self.store, self.bus, mentions=desk.moderator_handles + desk.keywords)

    def selected(self, platforms: Iterable[str | Platform] | None = None) -> list[Platform]:
        """The configured platforms among ``platforms`` (default: all configured), in a fixed order."""
        configured = [Platform(p) for p in self.settings.configured_platforms()]
        if platforms is None:
            return configured
        wanted = {Platform(p) for p in platforms}
        return [p for p in configured if p in wanted]

    def build_connectors(self, platforms: Iterable[str | Platform] | None = None) -> dict[Platform, Any]:
        """Create connectors for the selected platforms that have credentials; record why others have none."""
        self.open()
        for platform in self.selected(platforms):
            if platform in self.connectors:
                continue
            connector = self._make_connector(platform)
            if connector is not None:
                self.connectors[platform] = connector
                self.problems.pop(platform, None)
        self._build_outbox()
        return {
            p: c for p, c in self.connectors.items() if platforms is None or p in self.selected(platforms)
        }

    def _make_connector(self, platform: Platform) -> Any:
        label = PLATFORM_LABELS[platform]
        if self.inbox is None:
            return self._problem(platform, f"{label} cannot start: the inbox service is not available.")
        missing = self.credentials.missing_for(platform.value)
        if missing:
            from atlas_desk.credentials import ENV_VARS

            names = ", ".join(ENV_VARS[m] for m in missing)
            return self._problem(
                platform,
                f"{label} has no credentials: set {names} or enter them in the desk's Settings.",
                ConnectionState.NOT_CONFIGURED,
            )
        try:
            if platform is Platform.DISCORD:
                from atlas_desk.platforms.discord.connector import DiscordConnector

                return DiscordConnector(
                    self.settings.discord, self.credentials.get("discord_token") or "", self.inbox
                )
            if platform is Platform.GITHUB:
                from atlas_desk.platforms.github.connector import GitHubConnector

                return GitHubConnector(
                    self.settings.github, self.credentials.get("github_token") or "", self.inbox
                )
            from atlas_desk.platforms.reddit.connector import RedditConnector

            return RedditConnector(self.settings.reddit, self.credentials, self.inbox)
        except ImportError as exc:
            return self._problem(
                platform, f"{label} support is not available in this build ({exc.name or exc})."
            )

    def _problem(
        self, platform: Platform, reason: str, state: ConnectionState = ConnectionState.OFFLINE
    ) -> None:
        log.warning("%s", reason)
        self.problems[platform] = reason
        if self.inbox is not None:
            self.inbox.set_state(platform, state, reason)
        return None

    def _build_outbox(self) -> None:
        if self.outbox is not None:
            return
        try:
            from atlas_desk.core.outbox import OutboxRunner
        except ImportError as exc:
            log.warning("the outbox runner is not available (%s); moderator actions will wait", exc)
            return
        self.outbox = OutboxRunner(self.store, self.bus, self.connectors)

    # -- running --------------------------------------------------------------------------------------------

    async def start(self, platforms: Iterable[str | Platform] | None = None) -> None:
        """Start the outbox runner and the connectors (each in its own task) and return at once."""
        selected = list(platforms) if platforms is not None else None
        await asyncio.to_thread(self.open)  # migrations are file I/O: keep them off the loop
        connectors = self.build_connectors(selected)  # on the loop thread: connectors may bind to it
        if self.outbox is not None and not self._outbox_started:
            await self.outbox.start()  # replays interrupted actions, then runs in its own task
            self._outbox_started = True
        for platform, connector in connectors.items():
            if platform not in self._tasks:
                task = asyncio.ensure_future(self._run_connector(platform, connector))
                self._tasks[platform] = task

    async def _run_connector(self, platform: Platform, connector: Any) -> None:
        try:
            await connector.start()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reason = f"{PLATFORM_LABELS[platform]} stopped: {exc}"
            log.exception("%s", reason)
            self.problems[platform] = reason
            if self.inbox is not None:
                self.inbox.set_state(platform, ConnectionState.OFFLINE, reason)

    async def backfill(self, platforms: Iterable[str | Platform] | None = None) -> dict[Platform, str]:
        """Fetch everything new on the selected platforms and return once caught up.

        Returns the platforms that failed (or could not be built) with a plain reason; empty means success.
        """
        selected = list(platforms) if platforms is not None else None
        await asyncio.to_thread(self.open)  # migrations are file I/O: keep them off the loop
        connectors = self.build_connectors(selected)  # on the loop thread: connectors may bind to it
        failures = {p: self.problems[p] for p in self.selected(selected) if p in self.problems}

        async def one(platform: Platform, connector: Any) -> None:
            try:
                await connector.backfill()
            except Exception as exc:
                log.exception("%s backfill failed", PLATFORM_LABELS[platform])
                failures[platform] = f"{PLATFORM_LABELS[platform]} backfill failed: {exc}"

        await asyncio.gather(*(one(p, c) for p, c in connectors.items()))
        return failures

    async def stop(self) -> None:
        """Stop connectors and the outbox runner, then close the store (pending writes are committed)."""
        for connector in list(self.connectors.values()):
            try:
                await connector.stop()
            except Exception:
                log.exception("stopping a connector failed")
        tasks = list(self._tasks.values())
        if self.outbox is not None and self._outbox_started:
            try:
                await self.outbox.stop()
            except Exception:
                log.exception("stopping the outbox runner failed")
            self._outbox_started = False
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if self.store is not None:
            store, self.store = self.store, None
            await asyncio.to_thread(store.close)


def sandbox_settings(config: Mapping[str, Any], env: Mapping[str, str]) -> tuple[Settings, Credentials]:
    """Settings and credentials for a running sandbox (its ``config()`` and ``env()``), as ``--demo`` uses."""
    settings = settings_from_dict(config, source="sandbox config", environ=env)
    return settings, Credentials(environ=env, use_keyring=False)


__all__ = ["Runtime", "sandbox_settings"]
