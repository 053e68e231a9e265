"""Live mode (``atlas-desk sandbox --live RATE``) with the three real sandbox servers, as clients see it.

The harness's own tests use stub servers; here the real Discord, GitHub and Reddit sandboxes run on the
``SandboxThread`` at a high rate for a moment, and each platform's own client library (discord.py's HTTP
client, PyGithub, praw) must find new activity through the platform's API: new messages in channel and thread
history, new issue comments, discussions, comments and replies, new posts and comments. Then the stop must be
clean: ports released, the thread gone, nothing logged as failed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

import discord
import github
import praw
import pytest

from atlas_desk.sandbox.community import generate
from atlas_desk.sandbox.harness import SandboxThread
from tests.test_sandbox_harness_run import port_is_free

RATE = 200.0  # items per second across the three platforms (Discord 3 : Reddit 2 : GitHub 1)
DEADLINE = 6.0

# Every discussion with its comments and their threaded replies, newest discussions first.
DISCUSSIONS = """
query LiveDiscussions($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    discussions(first: 100, orderBy: {field: UPDATED_AT, direction: DESC}) {
      nodes {
        id
        comments(last: 100) { nodes { id replies(last: 100) { nodes { id } } } }
      }
    }
  }
}
"""


async def discord_view(token: str, guild_id: str) -> set[str]:
    """Message ids in the latest history of every text channel and active thread (discord.py's REST)."""
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    await http.static_login(token)
    try:
        channels: list[Any] = [c for c in await http.get_all_guild_channels(guild_id) if c["type"] == 0]
        channels += (await http.get_active_threads(guild_id))["threads"]
        ids: set[str] = set()
        for channel in channels:
            ids.update(str(m["id"]) for m in await http.logs_from(channel["id"], 100))
        return ids
    finally:
        await http.close()


def github_view(gh: github.Github, repo_name: str) -> set[str]:
    """Issue, issue comment, discussion, comment and reply ids (PyGithub: REST and GraphQL)."""
    repo = gh.get_repo(repo_name)
    ids = {i.node_id for i in repo.get_issues(state="all")}
    ids |= {c.node_id for c in repo.get_issues_comments()}
    owner, _, name = repo_name.partition("/")
    _, data = gh.requester.graphql_query(DISCUSSIONS, {"owner": owner, "name": name})
    for d in data["data"]["repository"]["discussions"]["nodes"]:
        ids.add(d["id"])
        for c in d["comments"]["nodes"]:
            ids.add(c["id"])
            ids.update(r["id"] for r in c["replies"]["nodes"])
    return ids


def reddit_view(reddit: praw.Reddit, subreddit: str) -> set[str]:
    """Fullnames of the newest posts and comments (praw)."""
    sub = reddit.subreddit(subreddit)
    return {p.fullname for p in sub.new(limit=100)} | {c.fullname for c in sub.comments(limit=100)}


def test_live_mode_feeds_all_three_platforms_and_stops_cleanly(
    aloop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="atlas_desk")
    runner = SandboxThread(generate(7, scale=0.1), live_rate=RATE)
    env = runner.start(timeout=10)
    ports = [int(v.split("/")[2].rsplit(":", 1)[1]) for k, v in env.items() if k.endswith(("_API", "_URL"))]
    config = runner.config()
    monkeypatch.setattr(discord.http.Route, "BASE", env["ATLAS_DESK_DISCORD_API"])
    gh = github.Github(
        base_url=env["ATLAS_DESK_GITHUB_API"],
        auth=github.Auth.Token(env["ATLAS_DESK_GITHUB_TOKEN"]),
        per_page=100,
        seconds_between_requests=None,
        seconds_between_writes=None,
        retry=0,
    )
    reddit = praw.Reddit(
        client_id=env["ATLAS_DESK_REDDIT_CLIENT_ID"],
        client_secret=env["ATLAS_DESK_REDDIT_CLIENT_SECRET"],
        username=env["ATLAS_DESK_REDDIT_USERNAME"],
        password=env["ATLAS_DESK_REDDIT_PASSWORD"],
        user_agent="atlas-desk-tests/0.1",
        oauth_url=env["ATLAS_DESK_REDDIT_URL"],
        reddit_url=env["ATLAS_DESK_REDDIT_URL"],
        short_url=env["ATLAS_DESK_REDDIT_URL"],
        check_for_updates=False,
        check_for_async=False,
    )
    token, guild = env["ATLAS_DESK_DISCORD_TOKEN"], config["discord"]["guild_id"]
    repo, subreddit = config["github"]["repo"], config["reddit"]["subreddit"]

    def views() -> dict[str, set[str]]:
        # blocking clients on this thread: the sandbox answers from its own thread and loop
        return {
            "discord": aloop.run_until_complete(asyncio.wait_for(discord_view(token, guild), 10)),
            "github": github_view(gh, repo),
            "reddit": reddit_view(reddit, subreddit),
        }

    try:
        before = views()
        assert all(before.values()), "each platform serves its seeded community"
        deadline = time.monotonic() + DEADLINE
        new: dict[str, set[str]] = {}
        while True:
            now = views()
            new = {name: now[name] - before[name] for name in now}
            if all(new.values()) or time.monotonic() > deadline:
                break
            time.sleep(0.05)  # pacing the polling loop, not synchronisation: the condition decides
        assert {name: len(ids) for name, ids in new.items() if not ids} == {}, "no new activity seen"
        assert runner.sandbox.live_count > 0
    finally:
        gh.close()
        runner.stop(timeout=10)

    assert runner.sandbox.servers == {} and not runner.sandbox.running
    assert not any(t.name == "atlas-desk-sandbox" for t in threading.enumerate())
    assert all(port_is_free(p) for p in ports), "every server released its port"
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == []
