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
        self.calendar: Any = None  # atlas_desk.core.calendar.CalendarService (attach_calendar builds it)
        self.roadmap: Any = None  # atlas_desk.core.roadmap.RoadmapService (the GitHub project board)
        self.tickets: Any = None  # atlas_desk.core.tickets.TicketService
        self.relay: Any = (
            None  # atlas_desk.platforms.discord.relay.TicketRelay (watches; relays if discord.relay)
        )
        self.sla: Any = None  # atlas_desk.core.sla.SlaMonitor
        self.modmail: Any = None  # atlas_desk.platforms.reddit.modmail.ModmailTickets
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
        try:
            from atlas_desk.core.roadmap import RoadmapService
        except ImportError as exc:
            log.error("the roadmap service is not available (%s)", exc)
        else:
            handles = self.settings.desk.moderator_handles
            self.roadmap = RoadmapService(self.store, self.bus, actor=handles[0] if handles else "")
        try:
            from atlas_desk.core.sla import SlaMonitor, SlaPolicy
            from atlas_desk.core.tickets import TicketService
        except ImportError as exc:
            log.error("the ticket service is not available (%s)", exc)
        else:
            handles = self.settings.desk.moderator_handles
            self.tickets = TicketService(
                self.store, self.bus, me=handles[0] if handles else "", moderators=handles
            )
            sla = self.settings.sla
            self.sla = SlaMonitor(
                self.store, self.bus, SlaPolicy(sla.first_response_hours, sla.warn_before_hours)
            )

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
        self._build_relay()
        self._build_modmail()
        github = self.connectors.get(Platform.GITHUB)
        if github is not None and self.roadmap is not None and hasattr(github, "roadmap"):
            github.roadmap = self.roadmap  # the connector's project sync feeds the roadmap board
        self._build_calendar()
        return {
            p: c for p, c in self.connectors.items() if platforms is None or p in self.selected(platforms)
        }

    def _build_calendar(self) -> None:
        """The calendar service (``self.calendar``), its platform actions and, in the relay, its scheduler."""
        try:
            from atlas_desk.calendar_runtime import attach_calendar
        except ImportError as exc:
            log.warning("the calendar is not available (%s)", exc)
            return
        attach_calendar(self)

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
        if self.roadmap is not None:
            self.roadmap.attach_runner(self.outbox)
        if self.tickets is not None:
            self.tickets.attach_runner(self.outbox)

    def _build_relay(self) -> None:
        """The ticket relay beside the Discord connector: it executes the connector's ticket actions."""
        discord_connector = self.connectors.get(Platform.DISCORD)
        if self.relay is not None or discord_connector is None or self.tickets is None:
            return
        if not self.settings.discord.tickets_forum_id:
            log.info("no discord.tickets_forum_id: tickets are off")
            return
        try:
            from atlas_desk.platforms.discord.relay import TICKET_KINDS, TicketRelay
        except ImportError as exc:
            log.error("the ticket relay is not available (%s)", exc)
            return
        self.relay = TicketRelay(
            self.settings.discord,
            self.credentials.get("discord_token") or "",
            self.tickets,
            first_response_hours=self.settings.sla.first_response_hours,
        )
        handlers = getattr(discord_connector, "action_handlers", None)
        if isinstance(handlers, dict):
            for kind in TICKET_KINDS:
                handlers[kind] = self.relay.execute

    def _build_modmail(self) -> None:
        """Reddit modmail conversations as tickets, beside the Reddit connector."""
        reddit = self.connectors.get(Platform.REDDIT)
        if self.modmail is not None or reddit is None or self.tickets is None:
            return
        try:
            from atlas_desk.platforms.reddit.modmail import MODMAIL_KINDS, ModmailTickets
        except ImportError as exc:
            log.error("Reddit modmail tickets are not available (%s)", exc)
            return
        self.modmail = ModmailTickets(reddit, self.tickets)
        handlers = getattr(reddit, "action_handlers", None)
        if isinstance(handlers, dict):
            for kind in MODMAIL_KINDS:
                handlers[kind] = self.modmail.execute

    # -- running --------------------------------------------------------------------------------------------

    async def start(self, platforms: Iterable[str | Platform] | None = None) -> None:
        """Start the outbox runner and the connectors (each in its own task) and return at once."""
        selected = list(platforms) if platforms is not None else None
        await asyncio.to_thread(self.open)  # migrations are file I/O: keep them off the loop
        connectors = self.build_connectors(selected)  # on the loop thread: connectors may bind to it
        if self.outbox is not None and not self._outbox_started:
            await self.outbox.start()  # replays interrupted actions, then runs in its own task
            self._outbox_started = True
        if self.relay is not None and not self.relay.running:
            await self.relay.start()
        if self.sla is not None:
            await self.sla.start()
        if self.modmail is not None:
            await self.modmail.start()
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
        for service in (self.sla, self.relay, self.modmail, self.calendar):
            if service is not None:
                try:
                    await service.stop()
                except Exception:
                    log.exception("stopping the ticket relay or SLA clock failed")
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
