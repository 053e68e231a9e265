"""Threaded replies on GitHub Discussions, through the real connector (PyGithub) and the GitHub sandbox.

A moderator's reply to a discussion comment joins that comment's thread, as GitHub's own "Reply" does (a
reply to a reply joins its parent's thread: GitHub nests one level), is posted once even when an attempt's
answer is lost and many comments arrive before the retry, and shows in the inbox under the comment it
answers. Also here: a fault aimed at the reply mutation alone while polls go on, and PyGithub kept off the
event loop's thread.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import github
import pytest
from aiohttp import web

from atlas_desk.core.types import ActionError, ConnectionState, ItemKind, OutboxAction, OutboxState, Platform
from atlas_desk.platforms.github import GitHubConnector
from atlas_desk.platforms.github import connector as github_connector
from atlas_desk.sandbox.github import GitHubSandbox
from atlas_desk.sandbox.harness import SandboxThread
from atlas_desk.store import inbox as inbox_repo
from tests.reply_desk_child import ReplyDesk
from tests.test_github_support import FakeSink, GitHubTestSettings, small_community

POLL = 0.2
IDEA = 3  # the Ideas discussion, D_kwAtlas0003, with one comment ("dc1")
IDEA_ID = "D_kwAtlas0003"
MUTATION = "addDiscussionComment"
_ids = itertools.count(1)


def reply(target: str, body: str, key: str | None = None, created: datetime | None = None) -> OutboxAction:
    """A reply action as the outbox hands it to the connector."""
    now = created or datetime.now(UTC)
    n = next(_ids)
    return OutboxAction(
        id=n,
        idempotency_key=key or f"thread-{n}",
        platform=Platform.GITHUB,
        kind="reply",
        target=target,
        payload={"body": body},
        state=OutboxState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


async def until(predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    """Wait for a condition no event signals (sandbox counters), re-checking every 10 ms."""

    async def loop() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(loop(), timeout)


Scenario = Callable[[GitHubSandbox, FakeSink, GitHubConnector], Awaitable[None]]


def run(aloop: asyncio.AbstractEventLoop, scenario: Scenario, *, start: bool = True) -> None:
    async def main() -> None:
        sandbox = GitHubSandbox(small_community())
        await sandbox.start()
        sink = FakeSink()
        connector = GitHubConnector(
            GitHubTestSettings(api=sandbox.api_url, poll_seconds=POLL), sandbox.token, sink
        )
        try:
            if start:
                await connector.start()
                await sink.wait_for(lambda: sink.state is ConnectionState.LIVE)
            await scenario(sandbox, sink, connector)
        finally:
            await connector.stop()
            await sandbox.stop()

    aloop.run_until_complete(main())


def first_comment(sandbox: GitHubSandbox) -> str:
    return sandbox.discussions[IDEA].comment_ids[0]


# What a GitHub client sees of a discussion's threads.
THREADS = """
query Threads($owner: String!, $name: String!, $number: Int!) {
  repository(owner: $owner, name: $name) {
    discussion(number: $number) {
      comments(last: 100) {
        nodes { id body replies(last: 100) { nodes { id body replyTo { id } } } }
      }
    }
  }
}
"""


async def threads(sandbox: GitHubSandbox, number: int = IDEA) -> dict[str, list[dict[str, Any]]]:
    """Top-level comment id -> its replies, read with PyGithub as any client would."""

    def read() -> dict[str, list[dict[str, Any]]]:
        gh = github.Github(
            base_url=sandbox.api_url,
            auth=github.Auth.Token(sandbox.token),
            seconds_between_requests=None,
            seconds_between_writes=None,
            retry=0,
        )
        try:
            _, data = gh.requester.graphql_query(
                THREADS, {"owner": "atlas-app", "name": "atlas", "number": number}
            )
        finally:
            gh.close()
        nodes = data["data"]["repository"]["discussion"]["comments"]["nodes"]
        return {n["id"]: n["replies"]["nodes"] for n in nodes}

    return await asyncio.to_thread(read)


def marked(bodies: list[str], key: str) -> int:
    return sum(b.rstrip().endswith(f"<!-- atlas-desk:{key} -->") for b in bodies)


# -- threading ---------------------------------------------------------------------------------------------


def test_a_reply_to_a_comment_joins_its_thread_and_shows_under_it(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        comment = first_comment(sandbox)
        result = await connector.execute(reply(comment, "Thanks, noted for the roadmap.", key="t-1"))

        seen = await threads(sandbox)
        assert list(seen) == [comment]  # still one top-level comment: the reply is not a new one
        (mine,) = seen[comment]
        assert mine["id"] == result["id"]
        assert mine["replyTo"] == {"id": comment}
        assert mine["body"].startswith("Thanks, noted for the roadmap.")

        # in the inbox once GitHub confirmed it: in the discussion, answering the comment
        item = sink.items[result["id"]]
        assert item.kind is ItemKind.DISCUSSION_COMMENT
        assert item.parent_id == IDEA_ID
        assert item.extra["reply_to"] == comment
        assert item.body == "Thanks, noted for the roadmap."
        assert item.extra["idempotency_key"] == "t-1"
        assert item.author.handle == "sam-mod"
        assert item.container == "Discussions › Ideas"

    run(aloop, scenario)


def test_a_reply_to_a_reply_joins_the_top_level_thread(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        comment = first_comment(sandbox)
        member = sandbox.add_discussion_comment(
            IDEA, "maya-k", "Would this sync photos too?", reply_to=comment
        )
        result = await connector.execute(reply(member.node_id, "Photos too, yes.", key="t-2"))

        seen = await threads(sandbox)
        assert list(seen) == [comment]
        assert [r["id"] for r in seen[comment]] == [member.node_id, result["id"]]
        assert sink.items[result["id"]].extra["reply_to"] == comment
        # the member's reply reached the inbox by polling, threaded the same way
        await sink.wait_for(lambda: member.node_id in sink.items)
        assert sink.items[member.node_id].extra["reply_to"] == comment
        assert sink.items[member.node_id].parent_id == IDEA_ID

    run(aloop, scenario)


def test_a_reply_to_the_discussion_stays_top_level(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        result = await connector.execute(reply(IDEA_ID, "Thanks all, closing the vote Friday.", key="t-3"))
        seen = await threads(sandbox)
        assert list(seen) == [first_comment(sandbox), result["id"]]
        assert seen[result["id"]] == []
        assert "reply_to" not in sink.items[result["id"]].extra

    run(aloop, scenario)


# -- posted once -------------------------------------------------------------------------------------------


def test_a_threaded_reply_whose_answer_was_lost_is_not_posted_twice(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        comment = first_comment(sandbox)
        action = reply(comment, "Merged, thanks!", key="lost-thread")
        # GitHub creates the reply, then the gateway times out: the desk sees a 502
        sandbox.fail_next("/api/graphql", 502, operation=MUTATION, after_handling=True)
        with pytest.raises(ActionError) as lost:
            await connector.execute(action)
        assert lost.value.retryable
        assert marked(sandbox.replies_to(comment), "lost-thread") == 1

        again = await connector.execute(action)
        assert again["replayed"] is True
        assert marked(sandbox.replies_to(comment), "lost-thread") == 1
        assert again["id"] in sink.items and sink.items[again["id"]].extra["reply_to"] == comment

    run(aloop, scenario)


def test_a_replay_finds_an_attempt_an_earlier_desk_posted_at_the_top_level(
    aloop: asyncio.AbstractEventLoop,
) -> None:
    """Before replies threaded, a reply to a comment went to the top level: its replay must not post again."""

    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        comment = first_comment(sandbox)
        # what the earlier desk's first attempt posted, as the moderator (the sandbox token's user)
        earlier = sandbox.add_discussion_comment(
            IDEA, "mod-sam", "On the roadmap.\n\n<!-- atlas-desk:legacy-1 -->"
        )
        again = await connector.execute(reply(comment, "On the roadmap.", key="legacy-1"))
        assert again == {"id": earlier.node_id, "url": again["url"], "replayed": True}
        assert sandbox.replies_to(comment) == []
        assert "reply_to" not in sink.items[earlier.node_id].extra

    run(aloop, scenario, start=False)


@pytest.mark.parametrize("where", ["thread", "top-level"])
def test_replay_pages_back_past_many_newer_comments(aloop: asyncio.AbstractEventLoop, where: str) -> None:
    """Over 50 comments arrived between the lost answer and the retry: the retry still finds its reply."""

    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        comment = first_comment(sandbox)
        target = comment if where == "thread" else IDEA_ID
        action = reply(target, "We will look at this next sprint.", key=f"busy-{where}")
        sandbox.fail_next("/api/graphql", 502, operation=MUTATION, after_handling=True)
        with pytest.raises(ActionError):
            await connector.execute(action)
        for n in range(130):  # two and a half pages of 50 after the desk's reply
            sandbox.add_discussion_comment(
                IDEA, "li-wei", f"me too {n}", reply_to=comment if where == "thread" else None
            )
        pages = sandbox.count(operation="AtlasDeskReplayPage")

        again = await connector.execute(action)
        assert again["replayed"] is True
        bodies = sandbox.replies_to(comment) if where == "thread" else sandbox.top_level_comments(IDEA)
        assert marked(bodies, f"busy-{where}") == 1
        assert sandbox.count(operation="AtlasDeskReplayPage") - pages == 2  # paged back to it, no further

    run(aloop, scenario, start=False)


def test_the_replay_check_reads_back_a_bounded_number_of_pages(
    aloop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        comment = first_comment(sandbox)
        # older than the action by more than the replay window: nothing there can be the action's reply
        old = [
            sandbox.add_discussion_comment(IDEA, "li-wei", f"old {n}", reply_to=comment) for n in range(120)
        ]
        for com in old:
            com.created_at = com.updated_at = datetime.now(UTC) - timedelta(days=3)
        await connector.execute(reply(comment, "First answer.", key="bounded-1"))
        assert sandbox.count(operation="AtlasDeskReplayPage") == 0  # the newest page already predates it

        # recent and many: the check gives up after REPLAY_PAGES pages and posts
        monkeypatch.setattr(github_connector, "REPLAY_PAGES", 3)
        for n in range(300):
            sandbox.add_discussion_comment(IDEA, "li-wei", f"recent {n}", reply_to=comment)
        with caplog.at_level(logging.WARNING, "atlas_desk.platforms.github"):
            await connector.execute(reply(comment, "Second answer.", key="bounded-2"))
        assert sandbox.count(operation="AtlasDeskReplayPage") == 2  # 3 pages: the first came with the target
        assert "without reaching the reply's time" in caplog.text
        assert marked(sandbox.replies_to(comment), "bounded-2") == 1

    run(aloop, scenario, start=False)


# -- polling -----------------------------------------------------------------------------------------------


def test_members_replies_arrive_threaded_exactly_once(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        await connector.backfill()
        comment = first_comment(sandbox)
        other = sandbox.add_discussion_comment(IDEA, "maya-k", "A new top-level thought.")
        # more replies in one thread than a poll reads at once, and a thread started on a new comment
        posted = [
            sandbox.add_discussion_comment(IDEA, "li-wei", f"threaded {n}", reply_to=comment).node_id
            for n in range(github_connector.REPLIES_PAGE + 7)
        ]
        answer = sandbox.add_discussion_comment(IDEA, "li-wei", "Agreed!", reply_to=other.node_id)
        await connector.backfill()
        assert all(sink.items[p].extra["reply_to"] == comment for p in posted)
        assert sink.items[answer.node_id].extra["reply_to"] == other.node_id
        assert "reply_to" not in sink.items[other.node_id].extra
        assert {sink.items[p].parent_id for p in [*posted, answer.node_id]} == {IDEA_ID}
        await connector.backfill()
        assert {sink.ingest_counts[p] for p in [*posted, answer.node_id, other.node_id]} == {1}

    run(aloop, scenario, start=False)


def test_a_reply_within_the_cursors_second_is_not_lost(aloop: asyncio.AbstractEventLoop) -> None:
    """Whole-second timestamps: a reply in the second the cursor covers moves no ``updatedAt``."""

    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        sandbox.hold_clock(datetime.now(UTC) + timedelta(hours=1))
        comment = first_comment(sandbox)
        sandbox.add_discussion_comment(IDEA, "li-wei", "first in this second", reply_to=comment)
        await connector.start()
        await sink.wait_for(lambda: bool(sink.by_body("first in this second")))
        second = sandbox.add_discussion_comment(IDEA, "maya-k", "second in this second", reply_to=comment)
        await sink.wait_for(lambda: second.node_id in sink.items, timeout=5)
        assert sink.items[second.node_id].extra["reply_to"] == comment
        mark = len(sandbox.graphql_operations)
        await until(lambda: sandbox.graphql_operations[mark:].count("AtlasDeskDiscussionsProbe") >= 2)
        assert sink.ingest_counts[second.node_id] == 1

    run(aloop, scenario, start=False)


# -- a fault aimed at the reply mutation -------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 502])
def test_a_fault_on_the_reply_mutation_leaves_polling_alone(
    aloop: asyncio.AbstractEventLoop, status: int
) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        comment = first_comment(sandbox)
        sandbox.fail_next("/api/graphql", status, operation=MUTATION)
        mark = len(sandbox.requests)

        def polls_since(start: int) -> int:
            return sum(
                1
                for r in sandbox.requests[start:]
                if r.path == "/api/graphql" and r.status == 200 and MUTATION not in r.operations
            )

        # the fault waits for its mutation: GraphQL polls go through untouched meanwhile
        await until(lambda: polls_since(mark) >= 3)
        assert sandbox.count(status=status) == 0

        action = reply(comment, "Fixed in 2.4.", key=f"fault-{status}")
        with pytest.raises(ActionError) as failed:
            await connector.execute(action)
        assert failed.value.retryable
        assert failed.value.retry_after == (1.0 if status == 429 else None)  # GitHub's Retry-After
        assert sandbox.count(status=status) == sandbox.count(status=status, operation=MUTATION) == 1
        assert sandbox.replies_to(comment) == []

        after = len(sandbox.requests)
        await until(lambda: polls_since(after) >= 2)
        assert ConnectionState.RECONNECTING not in [s for s, _ in sink.states]
        assert sink.state is ConnectionState.LIVE

        await connector.execute(action)
        assert marked(sandbox.replies_to(comment), f"fault-{status}") == 1

    run(aloop, scenario)


# -- PyGithub stays off the event loop's thread -------------------------------------------------------------


def _threads_in_pygithub() -> set[int]:
    """Threads whose stack is inside PyGithub's Requester right now (blocked waiting for an answer)."""
    requester = os.path.join("github", "Requester.py")
    found: set[int] = set()
    for ident, frame in sys._current_frames().items():
        f: Any = frame
        while f is not None:
            if f.f_code.co_filename.endswith(requester):
                found.add(ident)
                break
            f = f.f_back
    return found


def test_pygithub_requests_run_on_a_worker_thread_not_the_loops(aloop: asyncio.AbstractEventLoop) -> None:
    """The event loop (the GUI thread's, in the desk) never waits on GitHub: every request the connector
    makes is in flight on another thread. The sandbox runs on its own thread so a blocking call on the loop
    would still be answered, and visible here."""
    runner = SandboxThread(small_community(), platforms=["github"])
    runner.start(timeout=10)
    seen: list[tuple[str, str, set[int]]] = []

    def observe(request: web.Request) -> None:
        # on the sandbox thread, while the client that sent ``request`` waits for the answer
        seen.append((request.method, request.path, _threads_in_pygithub()))

    try:
        sandbox = runner.sandbox.server("github")
        assert isinstance(sandbox, GitHubSandbox)
        runner.call(sandbox.on_request.append, observe).result(timeout=5)

        async def main() -> int:
            loop_thread = threading.get_ident()
            sink = FakeSink()
            connector = GitHubConnector(
                GitHubTestSettings(api=sandbox.api_url, poll_seconds=POLL, project_number=None),
                sandbox.token,
                sink,
            )
            try:
                await connector.start()
                await sink.wait_for(lambda: sink.state is ConnectionState.LIVE)
                await connector.execute(reply(first_comment(sandbox), "Thread reply.", key="off-loop-1"))
                await connector.execute(reply("I_kwAtlas0001", "Issue reply.", key="off-loop-2"))
            finally:
                await connector.stop()
            return loop_thread

        loop_thread = aloop.run_until_complete(main())
    finally:
        runner.stop(timeout=10)

    kinds = {(method, path.split("/")[-1]) for method, path, _ in seen}
    assert {("GET", "issues"), ("GET", "comments"), ("POST", "graphql"), ("POST", "comments")} <= kinds
    assert all(waiting for _, _, waiting in seen), "each request has a PyGithub caller waiting on it"
    on_loop = [(method, path) for method, path, waiting in seen if loop_thread in waiting]
    assert on_loop == [], f"PyGithub called on the event loop's thread: {on_loop}"


# -- end to end: the inbox, the outbox runner, the connector -------------------------------------------------


def test_a_reply_from_the_inbox_shows_under_its_comment_once_confirmed(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    text = "Good catch: fixed in 2.4.1."

    async def body() -> None:
        sandbox = GitHubSandbox(small_community())
        sandbox.fail_next("/api/graphql", 502, operation=MUTATION)  # the first attempt fails
        await sandbox.start()
        config = {
            "api": sandbox.api_url,
            "repo": "atlas-app/atlas",
            "poll_seconds": POLL,
            "token": sandbox.token,
        }
        desk = ReplyDesk(data_dir / "desk.db", Platform.GITHUB, config)
        comment = first_comment(sandbox)
        try:
            await desk.start()
            item = await desk.synced(comment)
            action_id = await desk.reply(item.id, text)
            await until(lambda: sandbox.count(status=502, operation=MUTATION) == 1)
            assert desk.with_body(text) == []  # nothing shows before GitHub confirms

            action = await desk.settled(action_id)
            assert action.state is OutboxState.DONE, action.last_error
            assert action.attempts == 2
            mine = desk.find(str(action.result["id"]))
            assert mine is not None  # delivered with the confirmation, not a poll later
            assert mine.body == text
            assert mine.parent_id == IDEA_ID
            assert mine.extra["reply_to"] == comment
            around = inbox_repo.context(desk.store.reader(), item.id)
            assert mine.id in [row.id for row in around]
            assert [b.startswith(text) for b in sandbox.replies_to(comment)] == [True]
            assert not any(b.startswith(text) for b in sandbox.top_level_comments(IDEA))

            mark = len(sandbox.graphql_operations)
            started = time.monotonic()
            await until(lambda: sandbox.graphql_operations[mark:].count("AtlasDeskDiscussionsProbe") >= 2)
            assert time.monotonic() - started < 5
            assert len(desk.with_body(text)) == 1  # the polls that follow add no second copy
        finally:
            await desk.stop()
            await sandbox.stop()

    aloop.run_until_complete(asyncio.wait_for(body(), 60))
