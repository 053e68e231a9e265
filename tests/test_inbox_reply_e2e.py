"""A reply typed in the desk reaches the platform once, end to end.

The chain under test is the desk's own: ``InboxService.reply`` writes the outbox row, the real
``OutboxRunner`` claims it, the real connector (discord.py, PyGithub, praw) sends it to the sandbox server,
and the reply comes back into the inbox through the connector like any other message. For Discord, a GitHub
issue, a GitHub discussion and Reddit:

- the first attempt meets a 429: the reply is posted once, after waiting what the platform asked, and shows
  in the thread only once confirmed;
- the desk is killed (SIGKILL, a separate process) after the platform applied the reply and before the desk
  recorded it: the restarted desk replays the action without posting a second reply. For Discord the replay
  comes after the nonce window, with a history that carries no nonces, as the real Discord's does.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from atlas_desk.core.types import OutboxAction, OutboxState, Platform
from atlas_desk.sandbox.discord import DiscordSandbox
from atlas_desk.sandbox.github import GitHubSandbox
from atlas_desk.sandbox.reddit import RedditSandbox
from atlas_desk.store import inbox as inbox_repo
from atlas_desk.store import outbox as outbox_repo
from atlas_desk.store.db import Store
from tests import test_discord_support as discord_support
from tests import test_github_support as github_support
from tests import test_reddit_connector as reddit_support
from tests.reply_desk_child import WAIT, ReplyDesk, until

CHILD = Path(__file__).with_name("reply_desk_child.py")
ROOT = Path(__file__).resolve().parent.parent
TEXT = "Thanks for the report: the fix ships in 2.4.1."
REPO = "atlas-app/atlas"

Sandbox = DiscordSandbox | GitHubSandbox | RedditSandbox
Wanted = Callable[[web.Request], Awaitable[bool]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# -- instruments on the sandbox side ----------------------------------------------------------------------


class StampedRequests(list[Any]):
    """The sandbox's request log, also noting when each request was logged (to measure waits between
    tries)."""

    def __init__(self) -> None:
        super().__init__()
        self.stamped: list[tuple[float, Any]] = []

    def append(self, item: Any) -> None:
        self.stamped.append((time.monotonic(), item))
        super().append(item)


def _wrap(sandbox: Sandbox, attribute: str, wrapper: Callable[[Handler], Handler]) -> None:
    # The sandboxes bind their route handlers when they start: wrap before ``start``.
    setattr(sandbox, attribute, wrapper(getattr(sandbox, attribute)))


class HeldAnswer:
    """Lets the sandbox apply a request ``wanted`` picks (the first, or the one after ``skip`` others), then
    holds its answer until ``release``.

    The desk side sees no confirmation: what a desk killed between the platform acting and the desk
    recording it has seen.
    """

    def __init__(self, sandbox: Sandbox, attribute: str, wanted: Wanted, *, skip: int = 0) -> None:
        self.applied = asyncio.Event()
        self.release = asyncio.Event()
        seen = 0

        def wrapper(handler: Handler) -> Handler:
            async def held(request: web.Request) -> web.StreamResponse:
                nonlocal seen
                response = await handler(request)
                if not self.applied.is_set() and await wanted(request):
                    seen += 1
                    if seen > skip:
                        self.applied.set()
                        await self.release.wait()
                return response

            return held

        _wrap(sandbox, attribute, wrapper)


async def _always(_request: web.Request) -> bool:
    return True


def _github_reply_request(issue_number: int | None) -> Wanted:
    """Picks the request that posts the desk's reply: an issue comment, or the discussion comment mutation."""

    async def wanted(request: web.Request) -> bool:
        if request.method != "POST":
            return False
        if issue_number is not None:
            return request.path.endswith(f"/repos/{REPO}/issues/{issue_number}/comments")
        return request.path.endswith("/graphql") and "addDiscussionComment" in await request.text()

    return wanted


# -- the platforms --------------------------------------------------------------------------------------


@dataclass
class Case:
    """One place a moderator replies: how to set up its sandbox and how to read the replies it holds."""

    name: str
    platform: Platform
    retry_after: float  # what the 429 asks for, in seconds

    def make(self) -> Sandbox:
        if self.platform is Platform.DISCORD:
            return DiscordSandbox(discord_support.small_community())
        if self.platform is Platform.GITHUB:
            return GitHubSandbox(github_support.small_community())
        return RedditSandbox(reddit_support.small_community())

    def config(self, sandbox: Any) -> dict[str, Any]:
        """The connector settings pointing at the sandbox (JSON, for the desk process too)."""
        if self.platform is Platform.DISCORD:
            s = discord_support.settings_for(sandbox)
            return {
                "api": s.api,
                "gateway": s.gateway,
                "guild_id": s.guild_id,
                "watch_channels": [],
                "tickets_forum_id": s.tickets_forum_id,
                "support_channel_id": s.support_channel_id,
                "token": sandbox.token,
            }
        if self.platform is Platform.GITHUB:
            return {"api": sandbox.api_url, "repo": REPO, "poll_seconds": 0.2, "token": sandbox.token}
        return {
            "url": sandbox.url,
            "subreddit": "AtlasApp",
            "poll_seconds": 0.05,
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
            "username": sandbox.username,
            "password": sandbox.password,
        }

    @property
    def issue_number(self) -> int | None:
        return 1 if self.name == "github-issue" else None

    def target(self, sandbox: Any) -> str:
        """The platform id of the item the moderator replies to."""
        if self.platform is Platform.DISCORD:
            return str(sandbox.messages(discord_support.IDEAS)[-1]["id"])
        if self.platform is Platform.GITHUB:
            return "I_kwAtlas0001" if self.issue_number else "D_kwAtlas0004"
        return "t3_p3"

    def replies(self, sandbox: Any) -> list[str]:
        """The desk's replies with ``TEXT`` that the platform holds."""
        if self.platform is Platform.DISCORD:
            sent = sandbox.messages(discord_support.IDEAS)
            return [m["id"] for m in sent if m["content"] == TEXT and m["author"]["id"] == sandbox.bot_id]
        if self.platform is Platform.GITHUB:
            return [b for b in sandbox.comments_on(self.issue_number or 4) if b.startswith(TEXT)]
        return [
            r["fullname"]
            for r in sandbox.replies_to("t3_p3")
            if r["body"] == TEXT and r["author"] == sandbox.username
        ]

    def reply_id(self, result: dict[str, Any]) -> str:
        """The reply's platform id in what the connector returned to the outbox."""
        key = {Platform.DISCORD: "message_id", Platform.GITHUB: "id", Platform.REDDIT: "platform_id"}
        return str(result[key[self.platform]])

    def hold(self, sandbox: Any) -> HeldAnswer:
        """Hold the answer to the reply once the sandbox has posted it (install before ``start``)."""
        if self.platform is Platform.DISCORD:
            return HeldAnswer(sandbox, "_post_message", _always)
        if self.platform is Platform.GITHUB:
            return HeldAnswer(sandbox, "_dispatch", _github_reply_request(self.issue_number))
        return HeldAnswer(sandbox, "_comment", _always)

    def rate_limit_first(self, sandbox: Any) -> Callable[[], list[float]]:
        """Make the reply's first attempt meet a 429; returns when each attempt reached the sandbox."""
        log = StampedRequests()
        sandbox.requests = log
        if self.platform is Platform.GITHUB and self.issue_number is None:
            # Only the mutation meets it: the connector's discussion polls go to the same path.
            retry = {"Retry-After": str(int(self.retry_after))}
            sandbox.fail_next("/api/graphql", 429, headers=retry, operation="addDiscussionComment")
            return lambda: [t for t, r in log.stamped if "addDiscussionComment" in r.operations]
        if self.platform is Platform.DISCORD:
            sandbox.fail_next("/channels/*/messages", 429, retry_after=self.retry_after, method="POST")
            path = f"/channels/{discord_support.IDEAS}/messages"
            return lambda: [t for t, r in log.stamped if r == ("POST", path)]
        if self.platform is Platform.GITHUB:
            path = f"/repos/{REPO}/issues/{self.issue_number}/comments"
            sandbox.fail_next(path, 429, method="POST")  # GitHub's answer: Retry-After: 1
            return lambda: [t for t, r in log.stamped if (r.method, r.path) == ("POST", path)]
        sandbox.fail_next("/api/comment", 429, retry_after=self.retry_after)
        return lambda: [t for t, r in log.stamped if r == ("POST", "/api/comment/")]

    def before_replay(self, sandbox: Any) -> None:
        """Discord: the restart comes after Discord forgot the nonce, and its history shows no nonces."""
        if self.platform is Platform.DISCORD:
            sandbox.nonce_window = 0.0
            for message in sandbox.messages(discord_support.IDEAS):
                message.pop("nonce", None)


CASES = [
    Case("discord", Platform.DISCORD, 0.5),
    Case("github-issue", Platform.GITHUB, 1.0),
    Case("github-discussion", Platform.GITHUB, 1.0),
    Case("reddit", Platform.REDDIT, 0.5),
]


def run(loop: asyncio.AbstractEventLoop, body: Callable[[], Awaitable[None]], timeout: float = 90) -> None:
    loop.run_until_complete(asyncio.wait_for(body(), timeout))


# -- 429 on the first attempt -----------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_reply_whose_first_attempt_meets_a_429_is_posted_once_after_the_wait(
    aloop: asyncio.AbstractEventLoop, data_dir: Path, case: Case
) -> None:
    async def body() -> None:
        sandbox = case.make()
        attempts = case.rate_limit_first(sandbox)
        await sandbox.start()
        desk = ReplyDesk(data_dir / "desk.db", case.platform, case.config(sandbox))
        try:
            await desk.start()
            item = await desk.synced(case.target(sandbox))
            action_id = await desk.reply(item.id, TEXT)

            await until(attempts, "the first attempt")
            assert desk.with_body(TEXT) == []  # nothing is shown before the platform confirms
            action = await desk.settled(action_id)
            assert action.state is OutboxState.DONE, action.last_error
            # discord.py waits out a 429 inside the one attempt; for GitHub and Reddit the outbox retries.
            assert action.attempts == (1 if case.platform is Platform.DISCORD else 2)

            times = attempts()
            assert len(times) == 2  # the 429, then one retry: no busy loop
            assert times[1] - times[0] >= case.retry_after - 0.05  # the platform's wait was honoured
            assert len(case.replies(sandbox)) == 1

            # The confirmed reply comes back through the connector and sits in the thread's context.
            reply_id = case.reply_id(action.result)
            mine = await until(lambda: desk.find(reply_id), "the reply in the inbox")
            assert mine.body == TEXT
            around = inbox_repo.context(desk.store.reader(), item.id)
            assert mine.id in [row.id for row in around]
            assert len(desk.with_body(TEXT)) == 1
        finally:
            await desk.stop()
            await sandbox.stop()

    run(aloop, body)


# -- kill -9 between the platform acting and the desk recording it ----------------------------------------


async def _desk_process(spec: dict[str, Any], log: Path) -> asyncio.subprocess.Process:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with log.open("ab") as err:  # a file, not a pipe: a chatty child can never block on a full pipe
        return await asyncio.create_subprocess_exec(
            sys.executable,
            str(CHILD),
            json.dumps(spec),
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=str(ROOT),
        )


async def _line(proc: asyncio.subprocess.Process, prefix: str, log: Path) -> str:
    """The first line the desk process prints that starts with ``prefix``."""

    async def read() -> str:
        assert proc.stdout is not None
        while True:
            raw = await proc.stdout.readline()
            if not raw:
                tail = log.read_text(errors="replace")[-3000:]
                raise AssertionError(f"the desk process ended before {prefix}:\n{tail}")
            line = raw.decode().strip()
            if line.startswith(prefix):
                return line

    return await asyncio.wait_for(read(), WAIT)


def _only_action(db: Path) -> OutboxAction:
    store = Store.open(db)
    try:
        (action,) = outbox_repo.list_actions(store.reader())
        return action
    finally:
        store.close()


def _stored_action(db: Path, action_id: int) -> OutboxAction:
    store = Store.open(db)
    try:
        action = outbox_repo.get_action(store.reader(), action_id)
        assert action is not None
        return action
    finally:
        store.close()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_reply_is_not_posted_twice_when_the_desk_is_killed_before_confirming(
    aloop: asyncio.AbstractEventLoop, data_dir: Path, case: Case
) -> None:
    async def body() -> None:
        sandbox = case.make()
        held = case.hold(sandbox)
        await sandbox.start()
        db = data_dir / "desk.db"
        log = data_dir / "desk-process.log"
        spec = {
            "platform": case.platform.value,
            "db": str(db),
            "connector": case.config(sandbox),
            "target": case.target(sandbox),
            "text": TEXT,
        }
        try:
            first = await _desk_process({**spec, "mode": "reply"}, log)
            try:
                await _line(first, "QUEUED", log)
                await asyncio.wait_for(held.applied.wait(), WAIT)  # on the platform, not confirmed
            finally:
                first.kill()  # SIGKILL: no clean-up of any kind
                await first.wait()
            held.release.set()
            assert len(case.replies(sandbox)) == 1
            crashed = await asyncio.to_thread(_only_action, db)
            assert (crashed.state, crashed.attempts) == (OutboxState.SENDING, 1)

            case.before_replay(sandbox)
            second = await _desk_process({**spec, "mode": "resume"}, log)
            done = await _line(second, "DONE", log)
            assert await asyncio.wait_for(second.wait(), WAIT) == 0
            assert done == "DONE done 2"
            assert len(case.replies(sandbox)) == 1
            replayed = await asyncio.to_thread(_only_action, db)
            assert replayed.state is OutboxState.DONE
            if case.platform is not Platform.REDDIT:
                assert replayed.result.get("replayed") is True
        finally:
            held.release.set()
            await sandbox.stop()

    run(aloop, body)


def test_a_discord_replay_after_the_nonce_window_tells_two_identical_replies_apart(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    """Where history carries nonces, a replay never takes another reply with the same text for its own."""
    case = CASES[0]

    async def body() -> None:
        sandbox = case.make()
        held = HeldAnswer(sandbox, "_post_message", _always, skip=1)
        await sandbox.start()
        db = data_dir / "desk.db"
        try:
            desk = ReplyDesk(db, case.platform, case.config(sandbox))
            try:
                await desk.start()
                item = await desk.synced(case.target(sandbox))
                first = await desk.settled(await desk.reply(item.id, TEXT))
                assert first.state is OutboxState.DONE
                second_id = await desk.reply(item.id, TEXT)  # the moderator really sends it twice
                await asyncio.wait_for(held.applied.wait(), WAIT)
            finally:
                await desk.stop()  # the second reply is on Discord, its answer never came
            held.release.set()
            posted = case.replies(sandbox)
            assert len(posted) == 2
            assert _stored_action(db, second_id).state is OutboxState.SENDING

            sandbox.nonce_window = 0.0  # the desk comes back after Discord forgot the nonce
            again = ReplyDesk(db, case.platform, case.config(sandbox))
            try:
                await again.start()
                second = await again.settled(second_id)
            finally:
                await again.stop()
            assert second.state is OutboxState.DONE
            assert case.replies(sandbox) == posted
            assert (first.result["message_id"], second.result["message_id"]) == tuple(posted)
            assert second.result.get("replayed") is True
        finally:
            held.release.set()
            await sandbox.stop()

    run(aloop, body)
