"""Wiring of the calendar into a ``Runtime``: the service, its outbox completions, the platform actions.

Kept out of ``runtime.py`` so that module only calls ``attach_calendar(runtime)``. It is idempotent and
upgrades what exists: the desk's calendar pane may call it before the connectors and the outbox runner are
built, ``Runtime.build_connectors`` calls it again once they are. Only the relay process runs the scheduler
that publishes posts (``discord.relay``); every desk mirrors events and shows the calendar.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from atlas_desk.core.calendar import CalendarService
from atlas_desk.core.types import Platform

log = logging.getLogger("atlas_desk.calendar")


def attach_calendar(runtime: Any, *, schedule: bool | None = None) -> CalendarService | None:
    """The runtime's calendar service, created and wired as far as the runtime allows (None without a store).

    ``schedule``: start the scheduler (posts, reminders, contests) on the running loop once the outbox runner
    exists; by default when this process is the relay.
    """
    store = getattr(runtime, "store", None)
    service = getattr(runtime, "calendar", None)
    if not isinstance(service, CalendarService):
        if store is None:
            return None
        settings = getattr(runtime, "settings", None)
        subreddit = str(getattr(getattr(settings, "reddit", None), "subreddit", "") or "")
        service = CalendarService(store, runtime.bus, subreddit=subreddit)
        runtime.calendar = service
    runner = getattr(runtime, "outbox", None)
    if runner is not None and service.runner is not runner:
        service.attach_runner(runner)
    connectors = getattr(runtime, "connectors", {}) or {}
    discord = connectors.get(Platform.DISCORD)
    if discord is not None and "event_create" not in getattr(discord, "action_handlers", {"event_create": 1}):
        try:
            from atlas_desk.platforms.discord.events import ScheduledEventSync
        except ImportError as exc:
            log.warning("Discord scheduled events are not available (%s)", exc)
        else:
            ScheduledEventSync(discord, service).install()
    reddit = connectors.get(Platform.REDDIT)
    if reddit is not None and "submit" not in getattr(reddit, "action_handlers", {"submit": 1}):
        try:
            from atlas_desk.platforms.reddit.posts import install_submit
        except ImportError as exc:
            log.warning("Reddit scheduled posts are not available (%s)", exc)
        else:
            install_submit(reddit)
    wanted = schedule if schedule is not None else relays(runtime)
    if wanted and service.runner is not None and not service.running:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # not on the loop yet: the next call (from Runtime.start) starts it
        else:
            service.start()
    return service


def relays(runtime: Any) -> bool:
    """Whether this process publishes scheduled posts (the Discord relay setting; True when unset)."""
    settings = getattr(runtime, "settings", None)
    return bool(getattr(getattr(settings, "discord", None), "relay", True))
