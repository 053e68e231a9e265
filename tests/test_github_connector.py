"""The GitHub connector (real PyGithub) against the GitHub sandbox, with an in-memory sink."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from atlas_desk.core.types import ActionError, ConnectionState, ItemKind, OutboxAction, OutboxState, Platform
from atlas_desk.platforms.github import GitHubConnector
from atlas_desk.platforms.github.connector import TOKEN_REJECTED
from atlas_desk.sandbox.github import GitHubSandbox
from tests.test_github_support import FakeSink, GitHubTestSettings, small_community

POLL = 0.2
_ids = itertools.count(1)


def action(
    kind: str, target: str, payload: dict[str, Any] | None = None, key: str | None = None
) -> OutboxAction:
    now = datetime.now(UTC)
    n = next(_ids)
    return OutboxAction(
        id=n,
        idempotency_key=key or f"key-{n}",
        platform=Platform.GITHUB,
        kind=kind,
        target=target,
        payload=payload or {},
        state=OutboxState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition that no event signals (server-side counters)."""

    async def loop() -> None:
        while not predicate():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(loop(), timeout)


Scenario = Callable[[GitHubSandbox, FakeSink, GitHubConnector], Awaitable[None]]


def run(
    aloop: asyncio.AbstractEventLoop,
    scenario: Scenario,
    *,
    token: str | None = None,
    start: bool = True,
    poll: float = POLL,
) -> None:
    async def main() -> None:
        sandbox = GitHubSandbox(small_community())
        await sandbox.start()
        sink = FakeSink()
        connector = GitHubConnector(
            GitHubTestSettings(api=sandbox.api_url, poll_seconds=poll), token or sandbox.token, sink
        )
        try:
            if start:
                await connector.start()
            await scenario(sandbox, sink, connector)
        finally:
            await connector.stop()
            await sandbox.stop()

    aloop.run_until_complete(main())


def caught_up(sink: FakeSink) -> bool:
    return sink.state is ConnectionState.LIVE


def test_backfill_normalises_every_kind(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        await sink.wait_for(lambda: caught_up(sink))
        assert [s for s, _ in sink.states[:2]] == [ConnectionState.CONNECTING, ConnectionState.LIVE]
        items = sink.items
        issue = items["I_kwAtlas0001"]
        assert issue.kind is ItemKind.ISSUE
        assert issue.container == "Issues"
        assert issue.score == 2
        assert issue.url == f"{sandbox.base_url}/atlas-app/atlas/issues/1"
        assert issue.author.handle == "mayak"
        assert not issue.is_suggestion
        assert items["I_kwAtlas0002"].is_suggestion  # labelled enhancement
        (comment,) = [i for i in items.values() if i.kind is ItemKind.ISSUE_COMMENT]
        assert comment.parent_id == "I_kwAtlas0001"
        assert comment.title == "Crash when exporting"
        assert comment.body == "Same for me."
        idea = items["D_kwAtlas0003"]
        assert idea.kind is ItemKind.DISCUSSION
        assert idea.container == "Discussions › Ideas"
        assert idea.score == 7 and idea.is_suggestion
        assert items["D_kwAtlas0004"].container == "Discussions › Q&A"
        assert not items["D_kwAtlas0004"].is_suggestion
        (dcomment,) = [i for i in items.values() if i.kind is ItemKind.DISCUSSION_COMMENT]
        assert dcomment.parent_id == "D_kwAtlas0003"
        assert dcomment.score == 1
        assert dcomment.url.startswith(f"{sandbox.base_url}/atlas-app/atlas/discussions/3#")
        assert len(items) == 6
        assert set(sink.ingest_counts.values()) == {1}
        assert {stream for _, stream in sink.cursors} == {"issues", "issue_comments", "discussions"}

    run(aloop, scenario)


def test_new_comments_arrive_within_one_poll_interval(aloop: asyncio.AbstractEventLoop) -> None:
    poll = 0.5

    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        await sink.wait_for(lambda: caught_up(sink))
        started = time.monotonic()
        sandbox.add_issue_comment(2, "maya-k", "Dark mode please, my eyes!")
        sandbox.add_discussion_comment(3, "mod-sam", "Planned for next quarter.")
        new = sandbox.add_discussion("Ideas", "li-wei", "Keyboard shortcuts", "j/k to move around")
        await sink.wait_for(
            lambda: bool(
                sink.by_body("Dark mode please")
                and sink.by_body("Planned for next")
                and new.node_id in sink.items
            ),
            timeout=5,
        )
        # One interval to notice, plus the poll that reads them: a poll of the three streams takes about 20 ms
        # here, so the 0.25 s of slack is headroom for a loaded machine, and a missed poll (a second interval)
        # still fails.
        assert time.monotonic() - started < poll + 0.25
        (issue_comment,) = sink.by_body("Dark mode please")
        assert issue_comment.kind is ItemKind.ISSUE_COMMENT
        assert issue_comment.parent_id == "I_kwAtlas0002"
        (reply,) = sink.by_body("Planned for next")
        assert reply.kind is ItemKind.DISCUSSION_COMMENT and reply.container == "Discussions › Ideas"
        assert sink.items[new.node_id].is_suggestion

    run(aloop, scenario, poll=poll)


def test_quiet_polls_are_304_and_ingest_nothing(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        await sink.wait_for(lambda: caught_up(sink))
        issues_path = "/repos/atlas-app/atlas/issues"
        comments_path = "/repos/atlas-app/atlas/issues/comments"
        await until(lambda: sandbox.count("GET", comments_path, status=304) >= 1)
        batches = len(sink.batches)
        mark = len(sandbox.requests)
        graphql_mark = len(sandbox.graphql_operations)
        # two more full polls
        await until(lambda: sum(1 for r in sandbox.requests[mark:] if r.path == comments_path) >= 2)
        quiet = [r for r in sandbox.requests[mark:] if r.path.startswith(issues_path)]
        assert quiet, "the connector kept polling"
        assert {r.status for r in quiet} == {304}
        assert len(sink.batches) == batches
        # discussions (GraphQL has no ETags) cost one small probe per quiet poll
        ops = sandbox.graphql_operations[graphql_mark:]
        assert ops and set(ops) == {"AtlasDeskDiscussionsProbe"}

    run(aloop, scenario)


def test_downtime_everything_arrives_exactly_once(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        await sink.wait_for(lambda: caught_up(sink))
        await connector.stop()
        posted: list[str] = []
        for n in range(120):  # more than one REST page
            posted.append(
                sandbox.add_issue_comment(1 + n % 2, "li-wei", f"downtime issue comment {n}").node_id
            )
        for n in range(80):  # more than one GraphQL comments page on one discussion
            posted.append(
                sandbox.add_discussion_comment(3 + (n % 5 == 0), "maya-k", f"downtime reply {n}").node_id
            )
        restarted = GitHubConnector(
            GitHubTestSettings(api=sandbox.api_url, poll_seconds=POLL), sandbox.token, sink
        )
        await restarted.start()
        try:
            await sink.wait_for(lambda: all(p in sink.items for p in posted), timeout=15)
            mark = len(sandbox.requests)
            await until(
                lambda: (
                    sandbox.count("GET", "/repos/atlas-app/atlas/issues/comments", status=304) >= 1
                    and len(sandbox.requests) > mark + 6
                )
            )
            assert all(sink.ingest_counts[p] == 1 for p in posted)
            assert len([i for i in sink.items.values() if i.kind is ItemKind.ISSUE_COMMENT]) == 121
            assert len([i for i in sink.items.values() if i.kind is ItemKind.DISCUSSION_COMMENT]) == 81
        finally:
            await restarted.stop()

    run(aloop, scenario)


def test_reply_to_issue_posts_once_even_when_replayed(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        await sink.wait_for(lambda: caught_up(sink))
        reply = action("reply", "I_kwAtlas0001", {"body": "Thanks, we are on it."}, key="reply-1")
        first = await connector.execute(reply)
        again = await connector.execute(reply)
        assert again["id"] == first["id"] and again.get("replayed") is True
        assert sandbox.comments_on(1)[-1] == "Thanks, we are on it.\n\n<!-- atlas-desk:reply-1 -->"
        assert sum("reply-1" in b for b in sandbox.comments_on(1)) == 1
        # the desk's own comment comes back through polling with the marker moved out of the body
        await sink.wait_for(lambda: first["id"] in sink.items)
        mine = sink.items[first["id"]]
        assert mine.body == "Thanks, we are on it."
        assert mine.extra["idempotency_key"] == "reply-1"

    run(aloop, scenario)


def test_reply_after_a_server_error_posts_once(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        sandbox.fail_next("/repos/atlas-app/atlas/issues/2/comments", 502, method="POST")
        reply = action("reply", "I_kwAtlas0002", {"body": "Looking into it", "number": 2}, key="reply-502")
        with pytest.raises(ActionError) as failed:
            await connector.execute(reply)
        assert failed.value.retryable
        result = await connector.execute(reply)
        assert result["url"].startswith(f"{sandbox.base_url}/atlas-app/atlas/issues/2#issuecomment-")
        assert sum("reply-502" in b for b in sandbox.comments_on(2)) == 1

    run(aloop, scenario, start=False)


def test_reply_already_posted_before_a_crash_is_not_posted_again(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        # the first attempt reached GitHub but the desk died before recording it
        sandbox._create_issue_comment(2, sandbox.viewer, "Fixed in 1.2\n\n<!-- atlas-desk:crash-1 -->")
        result = await connector.execute(
            action("reply", "I_kwAtlas0002", {"body": "Fixed in 1.2", "number": 2}, key="crash-1")
        )
        assert result["replayed"] is True
        assert sum("crash-1" in b for b in sandbox.comments_on(2)) == 1

    run(aloop, scenario, start=False)


def test_reply_to_discussion_and_comment_posts_once(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        sandbox.fail_next("/api/graphql", 503)
        reply = action("reply", "D_kwAtlas0004", {"body": "Settings › Account › Reset."}, key="d-1")
        with pytest.raises(ActionError) as failed:
            await connector.execute(reply)
        assert failed.value.retryable
        first = await connector.execute(reply)
        second = await connector.execute(reply)
        assert first["id"] == second["id"]
        assert sum("d-1" in b for b in sandbox.comments_on(4)) == 1
        # replying to a comment joins the comment's thread
        comment_id = sandbox.discussions[3].comment_ids[0]
        await connector.execute(action("reply", comment_id, {"body": "Agreed"}, key="d-2"))
        assert [body.startswith("Agreed") for body in sandbox.replies_to(comment_id)] == [True]

    run(aloop, scenario, start=False)


def test_mark_answer_and_lock(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        answer = sandbox.add_discussion_comment(4, "mod-sam", "Use the reset link on the sign-in page.")
        result = await connector.execute(action("mark_answer", answer.node_id))
        assert result["id"] == "D_kwAtlas0004"
        assert sandbox.discussions[4].answer_id == answer.node_id
        locked = await connector.execute(action("lock", "D_kwAtlas0003", {"reason": "resolved"}))
        assert locked["locked"] is True
        assert sandbox.discussions[3].locked and sandbox.discussions[3].lock_reason == "RESOLVED"
        # Ideas discussions take no answers: a plain, final error
        idea_comment = sandbox.discussions[3].comment_ids[0]
        with pytest.raises(ActionError) as refused:
            await connector.execute(action("mark_answer", idea_comment))
        assert not refused.value.retryable
        assert "accept answers" in refused.value.message

    run(aloop, scenario, start=False)


@pytest.mark.parametrize(("status", "retry_after"), [(403, 50.0), (429, 1.0)])
def test_rate_limits_are_retryable_with_the_servers_wait(
    aloop: asyncio.AbstractEventLoop, status: int, retry_after: float
) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        sandbox.fail_next("/repos/atlas-app/atlas/issues/1/comments", status, method="POST")
        with pytest.raises(ActionError) as limited:
            await connector.execute(action("reply", "I_kwAtlas0001", {"body": "hi", "number": 1}))
        assert limited.value.retryable
        assert limited.value.retry_after is not None
        assert retry_after <= limited.value.retry_after <= 61
        assert "rate limit" in limited.value.message

    run(aloop, scenario, start=False)


def test_rejected_token_goes_offline_in_plain_words(aloop: asyncio.AbstractEventLoop) -> None:
    secret = "ghp_definitelyNotTheSandboxToken123"

    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        await sink.wait_for(lambda: sink.state is ConnectionState.OFFLINE)
        _state, reason = sink.states[-1]
        assert reason == TOKEN_REJECTED
        assert connector.state is ConnectionState.OFFLINE
        requests_after_offline = len(sandbox.requests)
        with pytest.raises(ActionError) as refused:
            await connector.execute(action("reply", "I_kwAtlas0001", {"body": "hi", "number": 1}))
        assert not refused.value.retryable
        with pytest.raises(ActionError) as refused_graphql:
            await connector.execute(action("reply", "D_kwAtlas0004", {"body": "hi"}))
        assert not refused_graphql.value.retryable
        assert TOKEN_REJECTED in refused_graphql.value.message
        for text in [reason, refused.value.message, str(refused.value), refused_graphql.value.message]:
            assert secret not in text
        assert len(sandbox.requests) <= requests_after_offline + 3  # no polling after a rejected token

    run(aloop, scenario, token=secret)


class StampedRequests(list[Any]):
    """A sandbox's request log that also notes when each record arrived (``time.monotonic()``)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, record: Any) -> None:
        self.times.append(time.monotonic())
        super().append(record)


def test_server_errors_reconnect_with_backoff_then_recover(aloop: asyncio.AbstractEventLoop) -> None:
    failures = 4  # three measured gaps, then one more wait (up to 1.6 s) before the poll that recovers

    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        await sink.wait_for(lambda: caught_up(sink))
        log = StampedRequests()
        sandbox.requests = log  # from here on, every request with the time it was answered
        sandbox.fail_next("/repos/atlas-app/atlas/issues", 502, count=failures, method="GET")
        await sink.wait_for(lambda: sink.state is ConnectionState.RECONNECTING)
        _state, reason = sink.states[-1]
        assert "502" in reason and "retrying" in reason
        await sink.wait_for(lambda: caught_up(sink), timeout=15)
        failed = [t for r, t in zip(log, log.times, strict=True) if r.status == 502]
        assert len(failed) == failures  # each failed poll stops at its first request
        # Failure k is retried after base · 2^(k-1) · jitter, jitter in [0.5, 1], base = the poll interval
        # (0.2 s here). A loop that kept polling every 0.2 s fails the third lower bound; one that retried at
        # once fails them all. The gap also holds the retry's own request, hence the slack above.
        gaps = [b - a for a, b in itertools.pairwise(failed)]
        for k, gap in enumerate(gaps, start=1):
            nominal = POLL * 2 ** (k - 1)
            assert 0.5 * nominal <= gap <= nominal + 0.5, (k, gaps)
        assert sum(gaps) >= 0.5 * POLL * (2 ** (failures - 1) - 1)  # 0.7 s at least: growing waits
        sandbox.add_issue_comment(1, "li-wei", "after the outage")
        await sink.wait_for(lambda: bool(sink.by_body("after the outage")))

    run(aloop, scenario)


def test_hostile_text_is_ingested_verbatim(aloop: asyncio.AbstractEventLoop) -> None:
    hostile = (
        '<script>alert("x")</script><img src=x onerror=alert(1)> <a href="javascript:alert(1)">click</a>'
        "\u202egnp.exe\u200b\u200d <!-- not a desk marker -->"
    )
    huge = "A" * 100_000 + "<b>end</b>"

    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        await sink.wait_for(lambda: caught_up(sink))
        sandbox.add_issue_comment(1, "<img src=x>", hostile)
        sandbox.add_discussion("Ideas", "li-wei", "<script>title</script>\u202e", huge)
        await sink.wait_for(lambda: bool(sink.by_body("<script>alert") and sink.by_body("AAAA")))
        (comment,) = sink.by_body("<script>alert")
        assert comment.body == hostile
        assert comment.author.handle == "<img src=x>"
        (idea,) = sink.by_body("AAAA")
        assert idea.body == huge
        assert idea.title == "<script>title</script>\u202e"

    run(aloop, scenario)


def test_generated_community_backfills_exactly_what_the_sandbox_holds(
    aloop: asyncio.AbstractEventLoop,
) -> None:
    from atlas_desk.sandbox.community import generate

    async def main() -> None:
        community = generate(7)
        sandbox = GitHubSandbox(community)
        await sandbox.start()
        sink = FakeSink()
        connector = GitHubConnector(
            GitHubTestSettings(api=sandbox.api_url, poll_seconds=POLL), sandbox.token, sink
        )
        try:
            await asyncio.wait_for(connector.backfill(), 20)
            expected = (
                {i.node_id for i in community.issues}
                | {d.node_id for d in community.discussions}
                | {c.id for d in community.discussions for c in d.comments}
            )
            ingested = set(sink.items)
            assert expected <= ingested
            issue_comments = [i for i in sink.items.values() if i.kind is ItemKind.ISSUE_COMMENT]
            assert len(issue_comments) == sum(len(i.comments) for i in community.issues)
            assert len(ingested) == len(expected) + len(issue_comments)
            assert set(sink.ingest_counts.values()) == {1}
            ideas = [i for i in sink.items.values() if i.kind is ItemKind.DISCUSSION and i.is_suggestion]
            assert ideas and all(i.container == "Discussions › Ideas" for i in ideas)
            # new activity after the community's history still sorts after it (sandbox clock)
            rng = random.Random(1)
            for _ in range(5):
                await sandbox.simulate_activity(rng)
            before = len(sink.items)
            await asyncio.wait_for(connector.backfill(), 20)
            assert len(sink.items) == before + 5
        finally:
            await connector.stop()
            await sandbox.stop()

    aloop.run_until_complete(main())


def test_reply_as_the_inbox_queues_it_finds_the_issue_of_a_comment(aloop: asyncio.AbstractEventLoop) -> None:
    """The inbox service's payload carries no issue number; a fresh connector (no poll yet) resolves it."""

    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        comment = sandbox.add_issue_comment(2, "maya-k", "Any news?")
        payload = {
            "item_id": 9,
            "body": "Next release.",
            "kind": "issue_comment",
            "parent_id": "I_kwAtlas0002",
        }
        await connector.execute(action("reply", comment.node_id, payload, key="inbox-1"))
        assert sandbox.comments_on(2)[-1].startswith("Next release.")
        await connector.execute(action("reply", "I_kwAtlas0001", {"body": "Thanks!"}, key="inbox-2"))
        assert sandbox.comments_on(1)[-1].startswith("Thanks!")

    run(aloop, scenario, start=False)


def test_server_poll_interval_is_honoured(aloop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        sandbox = GitHubSandbox(small_community(), poll_interval_header=3)
        await sandbox.start()
        sink = FakeSink()
        connector = GitHubConnector(
            GitHubTestSettings(api=sandbox.api_url, poll_seconds=POLL), sandbox.token, sink
        )
        try:
            await connector.start()
            await sink.wait_for(lambda: caught_up(sink))
            polls = sandbox.count("GET", "/repos/atlas-app/atlas/issues/comments")
            # at POLL=0.2 s several more polls would happen in 1 s; at the server's 3 s none does
            with contextlib.suppress(TimeoutError):
                await until(
                    lambda: sandbox.count("GET", "/repos/atlas-app/atlas/issues/comments") > polls, 1.0
                )
            assert sandbox.count("GET", "/repos/atlas-app/atlas/issues/comments") == polls
        finally:
            await connector.stop()
            await sandbox.stop()

    aloop.run_until_complete(main())


def test_a_stalled_server_delays_but_does_not_break_polling(aloop: asyncio.AbstractEventLoop) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        await sink.wait_for(lambda: caught_up(sink))
        sandbox.stall(0.5, count=2)
        sandbox.add_issue_comment(1, "li-wei", "slow but sure")
        await sink.wait_for(lambda: bool(sink.by_body("slow but sure")))
        assert sink.state is ConnectionState.LIVE

    run(aloop, scenario)


def test_changes_within_the_cursors_second_are_not_lost(aloop: asyncio.AbstractEventLoop) -> None:
    """Timestamps have whole seconds and ``since`` is inclusive: same-second changes still arrive once."""

    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        sandbox.hold_clock(datetime.now(UTC) + timedelta(hours=1))
        sandbox.add_discussion_comment(3, "li-wei", "first in this second")
        sandbox.add_issue_comment(1, "li-wei", "issue first in this second")
        await connector.start()
        await sink.wait_for(lambda: bool(sink.by_body("first in this second")))
        await sink.wait_for(lambda: bool(sink.by_body("issue first in this second")))
        # same second, same discussion and issue: only the comment count (or ETag) changes
        second = sandbox.add_discussion_comment(3, "maya-k", "second in this second")
        issue_second = sandbox.add_issue_comment(1, "maya-k", "issue second in this second")
        await sink.wait_for(lambda: second.node_id in sink.items and issue_second.node_id in sink.items)
        mark = len(sandbox.requests)
        await until(lambda: len(sandbox.requests) > mark + 6)  # a couple more polls
        assert set(sink.ingest_counts[k] for k in (second.node_id, issue_second.node_id)) == {1}
        assert len(sink.by_body("first in this second")) == 1

    run(aloop, scenario, start=False)


def test_malformed_objects_are_skipped_and_polling_goes_on(
    aloop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        render = sandbox._issue_comment_json

        def broken(com: Any) -> dict[str, Any]:
            data = render(com)
            if com.body == "broken":
                del data["issue_url"]
                data["user"] = "not an object"
            return data

        sandbox._issue_comment_json = broken  # type: ignore[method-assign]
        await sink.wait_for(lambda: caught_up(sink))
        sandbox.add_issue_comment(1, "li-wei", "broken")
        sandbox.add_issue_comment(2, "li-wei", "fine")
        await sink.wait_for(lambda: bool(sink.by_body("fine")))
        assert not sink.by_body("broken")
        assert sink.state is ConnectionState.LIVE
        assert "malformed" in caplog.text

    run(aloop, scenario)


def test_backfill_failures_are_plain_words(aloop: asyncio.AbstractEventLoop) -> None:
    from atlas_desk.platforms.github.connector import GitHubSyncError

    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        sandbox.fail_next("/repos/atlas-app/atlas/issues", 503, method="GET")
        with pytest.raises(GitHubSyncError) as down:
            await connector.backfill()
        assert str(down.value) == "GitHub answered with an error (503)"
        await connector.backfill()
        assert "I_kwAtlas0001" in sink.items
        no_token = GitHubConnector(GitHubTestSettings(api=sandbox.api_url), "", sink)
        await no_token.start()
        assert sink.states[-1] == (ConnectionState.NOT_CONFIGURED, "no GitHub token is set")
        with pytest.raises(GitHubSyncError):
            await no_token.backfill()
        await no_token.stop()

    run(aloop, scenario, start=False)


def test_reply_whose_answer_was_lost_is_not_posted_twice(aloop: asyncio.AbstractEventLoop) -> None:
    """GitHub created the comment but the desk got a 502: the retry finds the marker instead of posting."""

    async def scenario(sandbox: GitHubSandbox, sink: FakeSink, connector: GitHubConnector) -> None:
        sandbox.fail_next("/repos/atlas-app/atlas/issues/1/comments", 502, method="POST", after_handling=True)
        reply = action("reply", "I_kwAtlas0001", {"body": "Fixed in 1.3"}, key="lost-1")
        with pytest.raises(ActionError) as lost:
            await connector.execute(reply)
        assert lost.value.retryable
        assert sum("lost-1" in b for b in sandbox.comments_on(1)) == 1  # it did happen
        result = await connector.execute(reply)
        assert result["replayed"] is True
        assert sum("lost-1" in b for b in sandbox.comments_on(1)) == 1

    run(aloop, scenario, start=False)
