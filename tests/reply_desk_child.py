"""The desk side of a moderator's reply, as the reply end-to-end tests run it (tests/test_inbox_reply_e2e.py).

``ReplyDesk`` is the real chain: the store, the inbox service, one real connector (discord.py, PyGithub or
praw) delivering into that service, and the outbox runner executing through the connector. The tests use it
in their own process, and run this file as a separate desk process that they can kill -9:

    python reply_desk_child.py SPEC_JSON

SPEC_JSON: {"platform", "db", "mode", "connector": {...}, "target": the platform id of the item replied to,
"text": the reply}. Mode "reply": sync until the item is in the store, queue the reply through
``InboxService.reply``, print ``QUEUED <action id>`` and keep running until killed. Mode "resume": start
(which replays what a crash left in the outbox), print ``DONE <state> <attempts>`` once the outbox has
nothing pending or being sent, and exit.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from atlas_desk.core.bus import ChangeBus
from atlas_desk.core.inbox import InboxService
from atlas_desk.core.outbox import OutboxRunner
from atlas_desk.core.types import ConnectionState, OutboxAction, OutboxState, Platform
from atlas_desk.store import inbox as inbox_repo
from atlas_desk.store import outbox as outbox_repo
from atlas_desk.store.db import Store

WAIT = 30.0  # generous: the machine is shared and loaded
# Runner backoff far below any platform's retry-after, so a wait the tests measure is the platform's.
BASE_DELAY = 0.01


async def until(predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll a condition no event announces (a store row, a server counter) every 10 ms, with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


def make_connector(platform: Platform, config: dict[str, Any], sink: InboxService) -> Any:
    """A real connector for ``platform`` pointed at a sandbox, delivering into ``sink``."""
    if platform is Platform.DISCORD:
        from atlas_desk.config import DiscordSettings
        from atlas_desk.platforms.discord.connector import DiscordConnector

        settings = DiscordSettings(**{k: v for k, v in config.items() if k != "token"}, relay=False)
        return DiscordConnector(
            settings, config["token"], sink, guild_ready_timeout=0.05, reidentify_delay=0.05
        )
    if platform is Platform.GITHUB:
        from atlas_desk.platforms.github import GitHubConnector

        settings_ns = SimpleNamespace(
            api=config["api"],
            repo=config["repo"],
            project_owner="",
            project_number=None,
            poll_seconds=config["poll_seconds"],
        )
        return GitHubConnector(settings_ns, config["token"], sink)
    from atlas_desk.platforms.reddit import RedditConnector

    settings_ns = SimpleNamespace(
        url=config["url"],
        subreddit=config["subreddit"],
        poll_seconds=config["poll_seconds"],
        backoff_base=0.05,
        backoff_max=0.2,
        timeout=5.0,
    )
    creds = {k: config[k] for k in ("client_id", "client_secret", "username", "password")}
    return RedditConnector(settings_ns, creds, sink)


class ReplyDesk:
    """Store + inbox service + one connector + outbox runner, wired as the desk wires them."""

    def __init__(self, db: Path, platform: Platform, config: dict[str, Any]) -> None:
        self.platform = platform
        self.store = Store.open(db)
        self.bus = ChangeBus()
        self.inbox = InboxService(self.store, self.bus)
        self.connector = make_connector(platform, config, self.inbox)
        self.runner = OutboxRunner(self.store, self.bus, {platform: self.connector}, base_delay=BASE_DELAY)

    async def start(self) -> None:
        """Connect (the runner starts once the connector is live, as replies need a connection)."""
        await self.connector.start()
        await until(
            lambda: self.inbox.connection_state(self.platform) is ConnectionState.LIVE,
            f"{self.platform} to be live",
        )
        await self.runner.start()

    async def stop(self) -> None:
        await self.runner.stop()
        await self.connector.stop()
        await asyncio.to_thread(self.store.close)

    def find(self, platform_id: str) -> inbox_repo.InboxRow | None:
        """The inbox item with this platform id, if it has been synced."""
        row = (
            self.store.reader()
            .execute(
                "SELECT id FROM inbox_items WHERE platform = ? AND platform_id = ?",
                (self.platform.value, platform_id),
            )
            .fetchone()
        )
        return None if row is None else inbox_repo.get_item(self.store.reader(), int(row[0]))

    async def synced(self, platform_id: str) -> inbox_repo.InboxRow:
        """Wait until the connector has brought the item into the store."""
        row: inbox_repo.InboxRow = await until(lambda: self.find(platform_id), f"{platform_id} in the inbox")
        return row

    async def reply(self, item_id: int, text: str) -> int:
        """What the reading pane's reply does; returns the outbox action's id."""
        return await asyncio.wrap_future(self.inbox.reply(item_id, text))

    def action(self, action_id: int) -> OutboxAction:
        found = outbox_repo.get_action(self.store.reader(), action_id)
        assert found is not None
        return found

    async def settled(self, action_id: int, timeout: float = WAIT) -> OutboxAction:
        """Wait until the action is done or failed for good."""
        action: OutboxAction = await until(
            lambda: (a := self.action(action_id)).state in (OutboxState.DONE, OutboxState.FAILED) and a,
            f"outbox action {action_id} to settle",
            timeout,
        )
        return action

    def idle(self) -> bool:
        counts = outbox_repo.count_by_state(self.store.reader())
        return counts[OutboxState.PENDING] == counts[OutboxState.SENDING] == 0

    def with_body(self, text: str) -> list[inbox_repo.InboxRow]:
        """Inbox items whose body is ``text`` (how the moderator's reply shows up once confirmed)."""
        ids = [
            int(r[0])
            for r in self.store.reader().execute(
                "SELECT id FROM inbox_items WHERE platform = ? AND body = ?", (self.platform.value, text)
            )
        ]
        return [row for i in ids if (row := inbox_repo.get_item(self.store.reader(), i)) is not None]


async def main(spec: dict[str, Any]) -> None:
    desk = ReplyDesk(Path(spec["db"]), Platform(spec["platform"]), spec["connector"])
    await desk.start()
    if spec["mode"] == "reply":
        item = await desk.synced(spec["target"])
        action_id = await desk.reply(item.id, spec["text"])
        print(f"QUEUED {action_id}", flush=True)
        await asyncio.sleep(WAIT * 2)  # the test kills this process long before; never linger after it
        raise SystemExit("the reply desk was not killed")
    await until(desk.idle, "the outbox to be replayed")
    (action,) = outbox_repo.list_actions(desk.store.reader())
    await desk.stop()
    print(f"DONE {action.state} {action.attempts}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
