"""The Reddit connector (real praw on its worker thread) against the Reddit sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest

from atlas_desk.core.types import (
    ActionError,
    ConnectionState,
    InboxItem,
    ItemKind,
    OutboxAction,
    OutboxState,
    Platform,
)
from atlas_desk.platforms.reddit import RedditConnector
from atlas_desk.platforms.reddit.connector import RedditUnavailable
from atlas_desk.sandbox.model import Community, Member, RedditComment, RedditPost
from atlas_desk.sandbox.reddit import RedditSandbox

T = TypeVar("T")
POLL = 0.05


def small_community() -> Community:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    members = [
        Member(key="maya-k", display_name="Maya", reddit_name="maya_k"),
        Member(key="tom-b", display_name="Tom", reddit_name="tombee"),
    ]
    posts = [
        RedditPost(
            id=f"p{i}",
            title=f"Post {i}",
            selftext=f"Body {i}",
            author_key="maya-k",
            created_at=start + timedelta(hours=i),
            flair="Suggestion" if i == 1 else "",
            comments=[
                RedditComment(
                    id=f"c{i}{j}",
                    author_key="tom-b",
                    body=f"Comment {j}",
                    created_at=start + timedelta(hours=i, minutes=j + 1),
                )
                for j in range(2)
            ],
        )
        for i in range(4)
    ]
    return Community(
        seed=1,
        now=start + timedelta(days=1),
        guild_id="1",
        guild_name="Atlas",
        bot_id="2",
        application_id="3",
        repo="atlas-app/atlas",
        subreddit="AtlasApp",
        members=members,
        posts=posts,
    )


SEEDED = 12  # 4 posts + 8 comments


class FakeSink:
    """An in-memory ConnectorSink that remembers how often each item arrived."""

    def __init__(self) -> None:
        self.items: dict[str, InboxItem] = {}
        self.counts: Counter[str] = Counter()
        self.batches: list[list[InboxItem]] = []
        self.states: list[tuple[ConnectionState, str]] = []
        self.cursors: dict[str, str] = {}
        self.changed = asyncio.Event()

    async def ingest(self, items: Sequence[InboxItem]) -> None:
        self.batches.append(list(items))
        for item in items:
            self.counts[item.platform_id] += 1
            self.items[item.platform_id] = item
        self.changed.set()

    def set_state(self, platform: Platform, state: ConnectionState, reason: str = "") -> None:
        assert platform is Platform.REDDIT
        self.states.append((state, reason))
        self.changed.set()

    async def get_cursor(self, platform: Platform, stream: str) -> str | None:
        return self.cursors.get(stream)

    async def set_cursor(self, platform: Platform, stream: str, cursor: str) -> None:
        self.cursors[stream] = cursor

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checking whenever the sink changes."""
        deadline = time.monotonic() + timeout
        while not predicate():
            self.changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("timed out waiting for the sink")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=remaining)
        assert predicate()


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition that no event announces (e.g. a request counter), checking every 10 ms."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a condition")
        await asyncio.sleep(0.01)


@pytest.fixture
def sandbox(aloop: asyncio.AbstractEventLoop) -> Iterator[RedditSandbox]:
    sb = RedditSandbox(small_community())
    aloop.run_until_complete(sb.start())
    yield sb
    aloop.run_until_complete(sb.stop())


def settings(
    sb: RedditSandbox, poll: float = POLL, backoff_base: float = 0.05, backoff_max: float = 0.2
) -> SimpleNamespace:
    return SimpleNamespace(
        url=sb.url,
        subreddit="AtlasApp",
        poll_seconds=poll,
        backoff_base=backoff_base,
        backoff_max=backoff_max,
        timeout=5.0,
    )


def creds(sb: RedditSandbox, **overrides: str) -> dict[str, str]:
    values = {
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
        "username": sb.username,
        "password": sb.password,
    }
    values.update(overrides)
    return values


@pytest.fixture
def connectors(aloop: asyncio.AbstractEventLoop) -> Iterator[list[RedditConnector]]:
    made: list[RedditConnector] = []
    yield made
    for c in made:
        aloop.run_until_complete(c.stop())
        assert c.calls_off_worker == 0


def run(aloop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, T], timeout: float = 25.0) -> T:
    return aloop.run_until_complete(asyncio.wait_for(coro, timeout=timeout))


def new_connector(
    made: list[RedditConnector],
    sb: RedditSandbox,
    sink: FakeSink,
    poll: float = POLL,
    *,
    backoff: tuple[float, float] = (0.05, 0.2),
    **cred: str,
) -> RedditConnector:
    """A connector for the sandbox; ``backoff``: (base, cap) of its reconnect waits, in seconds."""
    c = RedditConnector(settings(sb, poll, *backoff), creds(sb, **cred), sink)
    made.append(c)
    return c


def action(
    kind: str, target: str, payload: dict[str, Any], key: str = "k1", attempts: int = 0
) -> OutboxAction:
    now = datetime.now(UTC)
    return OutboxAction(
        id=1,
        idempotency_key=key,
        platform=Platform.REDDIT,
        kind=kind,
        target=target,
        payload=payload,
        state=OutboxState.SENDING,
        attempts=attempts,
        next_attempt_at=now,
        created_at=now,
    )


async def started(c: RedditConnector, sink: FakeSink, count: int = SEEDED) -> None:
    await c.start()
    await sink.wait_for(lambda: c.state is ConnectionState.LIVE and len(sink.items) >= count)


# -- ingestion -------------------------------------------------------------------------------------


def test_backfill_normalises_posts_and_comments(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    c = new_connector(connectors, sandbox, sink)
    run(aloop, started(c, sink))
    post = sink.items["t3_p1"]
    assert post.kind is ItemKind.POST and post.title == "Post 1" and post.body == "Body 1"
    assert post.container == "r/AtlasApp" and post.is_suggestion and post.author.handle == "maya_k"
    assert post.url == f"{sandbox.url}/r/AtlasApp/comments/p1/post_1/"
    assert not sink.items["t3_p0"].is_suggestion
    comment = sink.items["t1_c10"]
    assert comment.kind is ItemKind.COMMENT and comment.parent_id == "t3_p1" and comment.body == "Comment 0"
    # oldest first, within each stream
    first_batch = [i.platform_id for i in sink.batches[0]]
    assert first_batch == ["t3_p0", "t3_p1", "t3_p2", "t3_p3"]
    assert sink.states[0][0] is ConnectionState.CONNECTING
    assert sink.cursors["submissions"].startswith("t3_p3:")


def test_new_post_arrives_within_one_poll_interval(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    poll = 0.5
    c = new_connector(connectors, sandbox, sink, poll=poll)

    def polls() -> int:
        # the mod queue is the last request of a poll
        return sum(1 for _, path in sandbox.requests if path.startswith("/r/AtlasApp/about/modqueue"))

    async def after_a_poll(post: Callable[[], str]) -> float:
        """Post right after a poll has read everything (the worst moment) and time its arrival."""
        mark = polls()
        await until(lambda: polls() > mark)
        t0 = time.monotonic()
        fullname = post()
        await sink.wait_for(lambda: fullname in sink.items, timeout=5)
        return time.monotonic() - t0

    async def body() -> list[float]:
        await started(c, sink)
        fullname = "t3_?"

        def submit() -> str:
            nonlocal fullname
            fullname = sandbox.add_post("tom-b", "Dark mode please", "It burns", flair="Feature Request")
            return fullname

        latencies = [await after_a_poll(submit)]
        assert sink.items[fullname].is_suggestion
        latencies.append(await after_a_poll(lambda: sandbox.add_comment(fullname, "maya-k", "+1")))
        return latencies

    latencies = run(aloop, body())
    # Each within one interval plus the poll that reads it (three small requests, tens of milliseconds here):
    # the 0.25 s of slack is headroom for a loaded machine, and a missed poll (a second interval) still fails.
    assert max(latencies) < poll + 0.25, latencies


def test_nothing_new_means_nothing_ingested_twice(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    c = new_connector(connectors, sandbox, sink)

    async def body() -> None:
        await started(c, sink)
        before = c.requests_made
        # Many polls, including praw's stream re-reading the newest page after each empty response.
        await until(lambda: c.requests_made >= before + 30)

    run(aloop, body())
    assert len(sink.items) == SEEDED
    assert set(sink.counts.values()) == {1}
    assert c.calls_off_worker == 0


def test_downtime_backfill_delivers_everything_exactly_once(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    first = new_connector(connectors, sandbox, sink)
    run(aloop, started(first, sink))
    run(aloop, first.stop())
    added: list[str] = []
    posts = []
    for i in range(50):
        posts.append(sandbox.add_post("maya-k", f"While away {i}", f"text {i}"))
    added += posts
    for i in range(100):
        added.append(sandbox.add_comment(posts[i % 50], "tom-b", f"reply {i}"))
    second = new_connector(connectors, sandbox, sink)

    async def body() -> None:
        await started(second, sink, SEEDED + 150)
        before = second.requests_made
        await until(lambda: second.requests_made >= before + 20)  # a few more polls

    run(aloop, body())
    assert set(added) <= set(sink.items)
    assert len(sink.items) == SEEDED + 150
    assert set(sink.counts.values()) == {1}
    # ingested oldest first: each stream's backfill batch is in creation order
    comment_batch = next(b for b in sink.batches if b and b[0].platform_id == added[50])
    assert [i.platform_id for i in comment_batch] == added[50:]


def test_burst_larger_than_a_page_while_live_is_not_lost(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    c = new_connector(connectors, sandbox, sink, poll=0.3)

    async def body() -> list[str]:
        await started(c, sink)
        await until(lambda: c.requests_made > 10)  # the streams have had an empty poll
        burst = [sandbox.add_post("maya-k", f"burst {i}", "") for i in range(130)]
        await sink.wait_for(lambda: set(burst) <= set(sink.items))
        return burst

    run(aloop, body())
    assert set(sink.counts.values()) == {1}


def test_modqueue_items_arrive_reported_with_reasons(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    c = new_connector(connectors, sandbox, sink)

    async def body() -> None:
        await started(c, sink)
        sandbox.report("t3_p2", "Spam")
        sandbox.report("t1_c31", "Harassment")
        sandbox.report("t1_c31", "Harassment")
        sandbox.report("t1_c31", "Off topic", moderator="ana_mod")
        await sink.wait_for(lambda: sink.items["t3_p2"].reported and sink.items["t1_c31"].reported)
        assert sink.items["t3_p2"].extra["report_reasons"] == ["Spam"]
        assert sink.items["t1_c31"].extra["report_reasons"] == ["Harassment", "Off topic"]
        n = sink.counts["t1_c31"]
        before = c.requests_made
        await until(lambda: c.requests_made >= before + 9)  # unchanged reports are not re-ingested
        assert sink.counts["t1_c31"] == n
        # approval takes it out of the queue, and the desk hears it is no longer reported
        await c.execute(action("approve", "t1_c31", {}))
        await sink.wait_for(lambda: not sink.items["t1_c31"].reported)

    run(aloop, body())


def test_a_failed_ingest_is_delivered_again_after_reconnecting(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    class FlakySink(FakeSink):
        failures = 1

        async def ingest(self, items: Sequence[InboxItem]) -> None:
            if self.failures and any(i.title == "unlucky" for i in items):
                self.failures -= 1
                raise OSError("disk full")
            await super().ingest(items)

    sink = FlakySink()
    c = new_connector(connectors, sandbox, sink)

    async def body() -> str:
        await started(c, sink)
        fullname = sandbox.add_post("maya-k", "unlucky", "")
        await sink.wait_for(lambda: fullname in sink.items)
        return fullname

    fullname = run(aloop, body())
    assert sink.failures == 0 and sink.counts[fullname] == 1
    assert any(state is ConnectionState.RECONNECTING for state, _ in sink.states)


def test_backfill_once_for_sync(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    sandbox.report("t1_c00", "Spam")
    c = new_connector(connectors, sandbox, sink)
    run(aloop, c.backfill())
    assert len(sink.items) == SEEDED and set(sink.counts.values()) == {1}
    assert sink.items["t1_c00"].reported and sink.items["t1_c00"].extra["report_reasons"] == ["Spam"]
    sandbox.add_post("tom-b", "one more", "")
    run(aloop, c.backfill())
    assert len(sink.items) == SEEDED + 1 and set(sink.counts.values()) == {1}
    assert c.state is not ConnectionState.LIVE  # a one-shot sync does not claim to be live
    bad = new_connector(connectors, sandbox, FakeSink(), client_secret="wrong-secret-xyz")
    with pytest.raises(RedditUnavailable) as info:
        run(aloop, bad.backfill())
    assert str(info.value) == "Reddit rejected the app credentials"


# -- actions ---------------------------------------------------------------------------------------


def test_approve_and_remove_with_reason_change_the_sandbox(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    c = new_connector(connectors, sandbox, sink)

    async def body() -> None:
        reasons = await c.removal_reasons()
        assert [r["title"] for r in reasons][:2] == ["Be Kind", "Off topic"]
        result = await c.execute(action("approve", "t3_p0", {}))
        assert result["platform_id"] == "t3_p0"
        payload = {"reason_id": reasons[0]["id"], "mod_note": "rule 2", "spam": False}
        await c.execute(action("remove", "t1_c01", payload, key="k2"))
        # removing twice is harmless (Reddit's remove is idempotent)
        await c.execute(action("remove", "t1_c01", payload, key="k2"))

    run(aloop, body())
    assert sandbox.approved() == {"t3_p0"}
    assert sandbox.removed() == {
        "t1_c01": {"spam": False, "reason_id": "110nhral8vygf", "mod_note": "rule 2"}
    }


def test_action_errors_are_plain_and_classified(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    c = new_connector(connectors, sandbox, sink)

    async def body() -> None:
        with pytest.raises(ActionError) as missing:
            await c.execute(action("approve", "t3_nope", {}))
        assert not missing.value.retryable and "could not find" in missing.value.message
        sandbox.fail_next("/api/comment", 429, retry_after=3)
        with pytest.raises(ActionError) as slow:
            await c.execute(action("reply", "t3_p0", {"parent": "t3_p0", "body": "hi"}))
        assert slow.value.retryable and slow.value.retry_after == 3.0
        sandbox.fail_next("/api/approve", 503)
        with pytest.raises(ActionError) as down:
            await c.execute(action("approve", "t3_p0", {}, key="k3"))
        assert down.value.retryable
        with pytest.raises(ActionError) as unknown:
            await c.execute(action("lock", "t3_p0", {}, key="k4"))
        assert not unknown.value.retryable

    run(aloop, body())
    assert [r for r in sandbox.replies_to("t3_p0") if r["body"] == "hi"] == []


def test_reply_posted_once_despite_a_5xx_before_acting(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    c = new_connector(connectors, sandbox, sink)
    reply = action("reply", "t1_c20", {"parent": "t1_c20", "body": "Thanks, fixed in 2.3"})

    async def body() -> dict[str, Any]:
        sandbox.fail_next("/api/comment", 500)
        with pytest.raises(ActionError) as failed:
            await c.execute(reply)
        assert failed.value.retryable
        reply.attempts = 1
        return await c.execute(reply)

    result = run(aloop, body())
    replies = sandbox.replies_to("t1_c20")
    assert [r["body"] for r in replies] == ["Thanks, fixed in 2.3"]
    assert sandbox.requests.count(("POST", "/api/comment/")) == 2  # the failed one and the real one
    assert result["platform_id"] == replies[0]["fullname"]


def test_reply_posted_once_when_the_response_is_lost(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    c = new_connector(connectors, sandbox, sink)
    reply = action("reply", "t3_p1", {"parent": "t3_p1", "body": "We're on it."})

    async def body() -> tuple[dict[str, Any], dict[str, Any]]:
        sandbox.fail_next("/api/comment", 502, after=True)  # Reddit posts it, the answer is lost
        with pytest.raises(ActionError) as failed:
            await c.execute(reply)
        assert failed.value.retryable
        reply.attempts = 1
        again = await c.execute(reply)  # finds the reply instead of posting again
        twice = await c.execute(reply)  # the same key once more: the stored result
        return again, twice

    again, twice = run(aloop, body())
    replies = [r for r in sandbox.replies_to("t3_p1") if r["author"] == sandbox.username]
    assert [r["body"] for r in replies] == ["We're on it."]
    assert again == twice and again["platform_id"] == replies[0]["fullname"]
    assert sandbox.requests.count(("POST", "/api/comment/")) == 1


def test_reply_same_key_twice_and_after_a_restart(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    c = new_connector(connectors, sandbox, sink)
    reply = action("reply", "t3_p2", {"parent": "t3_p2", "body": "Welcome!"}, key="same")
    first = run(aloop, c.execute(reply))
    assert run(aloop, c.execute(reply)) == first
    # A fresh process replaying the row (killed before it stored the result) checks Reddit first.
    other = new_connector(connectors, sandbox, sink)
    reply.attempts = 1
    assert run(aloop, other.execute(reply))["platform_id"] == first["platform_id"]
    # ... and a row whose result was stored is answered without asking Reddit at all.
    reply.result = dict(first)
    assert run(aloop, other.execute(reply)) == first
    assert [r["body"] for r in sandbox.replies_to("t3_p2")].count("Welcome!") == 1
    assert sandbox.requests.count(("POST", "/api/comment/")) == 1


# -- connection states -----------------------------------------------------------------------------


def test_wrong_secret_goes_offline_with_a_plain_reason(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    secret = "very-secret-value-123"
    c = new_connector(connectors, sandbox, sink, client_secret=secret)

    async def body() -> None:
        await c.start()
        await sink.wait_for(lambda: c.state is ConnectionState.OFFLINE)

    run(aloop, body())
    state, reason = sink.states[-1]
    assert state is ConnectionState.OFFLINE
    assert reason.startswith("Reddit rejected the app credentials")
    assert all(secret not in r for _, r in sink.states)
    assert sink.items == {}
    # it gave up: no retry loop against a rejected app
    assert c._task is not None and c._task.done()
    assert c.requests_made == 1  # the one token request


class StampedRequests(list[tuple[str, str]]):
    """The sandbox's request log that also notes when each request arrived (``time.monotonic()``)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, record: tuple[str, str]) -> None:
        self.times.append(time.monotonic())
        super().append(record)


def test_outage_reconnects_with_backoff_and_recovers(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    base, cap = 0.1, 0.4
    failures = 6
    c = new_connector(connectors, sandbox, sink, backoff=(base, cap))

    async def body() -> list[float]:
        await started(c, sink)
        log = StampedRequests()
        sandbox.requests = log  # from here on, every request with the time it arrived
        sandbox.fail_next("/r/AtlasApp", 503, count=failures)
        await sink.wait_for(lambda: c.state is ConnectionState.RECONNECTING)
        assert "HTTP 503" in sink.states[-1][1]
        fullname = sandbox.add_post("maya-k", "after the outage", "")
        await sink.wait_for(lambda: c.state is ConnectionState.LIVE and fullname in sink.items)
        # The fault answers the first ``failures`` requests under /r/AtlasApp; an attempt stops at its first.
        under = [t for (_, path), t in zip(log, log.times, strict=True) if path.startswith("/r/AtlasApp")]
        return under[:failures]

    failed = run(aloop, body())
    # Attempt k waits min(cap, base · 2^(k-1)) · jitter (jitter in [0.5, 1]): 0.1, 0.2, 0.4, 0.4, 0.4 s.
    # A loop retrying at once, or every poll (0.05 s), fails the lower bounds; one that ignored the cap, the
    # last upper bound. The upper bounds add the reconnect's own requests and headroom for a loaded machine.
    gaps = [b - a for a, b in itertools.pairwise(failed)]
    for k, gap in enumerate(gaps, start=1):
        nominal = min(cap, base * 2 ** (k - 1))
        assert 0.5 * nominal <= gap <= nominal + 0.3, (k, gaps)
    assert set(sink.counts.values()) == {1}


def test_stall_and_expired_tokens_are_survived(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    c = new_connector(connectors, sandbox, sink)

    async def body() -> None:
        await started(c, sink)
        sandbox.expire_tokens()
        sandbox.stall(0.2)
        loop_alive = asyncio.Event()
        aloop.call_later(0.05, loop_alive.set)
        await asyncio.wait_for(loop_alive.wait(), 1)  # the event loop is not blocked by a slow Reddit
        fullname = sandbox.add_post("maya-k", "slow day", "")
        await sink.wait_for(lambda: fullname in sink.items)
        sandbox.stall(0)

    run(aloop, body())
    assert sandbox.requests.count(("POST", "/api/v1/access_token")) == 2


def test_refresh_token_credentials(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    creds_ = {"client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
    creds_["refresh_token"] = sandbox.issue_refresh_token()
    c = RedditConnector(settings(sandbox), creds_, sink)
    connectors.append(c)
    run(aloop, started(c, sink))
    result = run(aloop, c.execute(action("reply", "t3_p3", {"parent": "t3_p3", "body": "ok"}, attempts=1)))
    assert result["platform_id"].startswith("t1_")


# -- safety ----------------------------------------------------------------------------------------


def test_hostile_text_is_ingested_verbatim_as_plain_text(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    c = new_connector(connectors, sandbox, sink)
    title = '<img src=x onerror="alert(1)"> \u202egnp.exe'
    body = "<script>alert('x')</script> [click](javascript:alert(1)) zero\u200bwidth " + "A" * 100_000
    comment_body = "<a href='http://evil.example'>free</a> & <b>bold</b>"

    async def run_it() -> tuple[str, str]:
        await started(c, sink)
        post = sandbox.add_post("<b>mallory</b>", title, body)
        comment = sandbox.add_comment(post, "maya-k", comment_body)
        await sink.wait_for(lambda: post in sink.items and comment in sink.items)
        return post, comment

    post, comment = run(aloop, run_it())
    assert sink.items[post].title == title
    assert sink.items[post].body == body  # the markdown source, never Reddit's rendered HTML
    assert sink.items[post].author.handle == "<b>mallory</b>"
    assert sink.items[comment].body == comment_body
    assert c.state is ConnectionState.LIVE


def test_every_praw_request_runs_on_the_single_worker_thread(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox, connectors: list[RedditConnector]
) -> None:
    sink = FakeSink()
    c = new_connector(connectors, sandbox, sink)

    async def body() -> None:
        await started(c, sink)
        await c.execute(action("reply", "t3_p0", {"parent": "t3_p0", "body": "hello"}))
        await c.removal_reasons()
        await until(lambda: c.requests_made > 15)

    run(aloop, body())
    assert c.calls_off_worker == 0
    # The check is real: a request from any other thread is counted.
    praw_instance = c._reddit
    assert praw_instance is not None
    run(aloop, asyncio.to_thread(lambda: list(praw_instance.subreddit("AtlasApp").new(limit=1))))
    assert c.calls_off_worker == 1
    c.calls_off_worker = 0  # keep the fixture's own check meaningful for the connector's calls
