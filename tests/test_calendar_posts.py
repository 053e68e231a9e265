"""Scheduled posts: published on time, exactly once, also across a crash and restart (injected clock)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from atlas_desk.core.calendar import EventDraft, validate
from atlas_desk.core.types import OutboxState, Platform
from atlas_desk.store import calendar as repo
from atlas_desk.store import outbox as outbox_repo
from tests.test_calendar_support import Clock, desk, run, running_sandbox

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
DUE = T0 + timedelta(minutes=10)


def _tips_channel(sandbox: object) -> str:
    channels = sandbox._channels  # type: ignore[attr-defined]
    return next(cid for cid, ch in channels.items() if ch["name"] == "tips-and-tricks")


def _draft(channel: str) -> EventDraft:
    return EventDraft(
        kind="post",
        title="Tip of the week",
        description="Press Ctrl+K to jump anywhere.",
        starts_at=DUE,
        timezone="America/New_York",
        targets=[f"discord:{channel}"],
        post_kind="tip",
    )


def test_a_post_publishes_at_its_time_exactly_once_even_when_the_desk_dies_mid_send(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def body() -> None:
        path = data_dir / "desk.db"
        clock = Clock(T0)
        async with running_sandbox() as sandbox:
            channel = _tips_channel(sandbox)
            # -- process 1: plans the post; at its time enqueues it and sends it, then dies before confirming
            async with desk(path, sandbox, clock=clock) as d:
                post_id = await d.calendar.create(_draft(channel))
                assert await d.calendar.run_due() == DUE  # the timer's next wake-up: the post's time
                assert outbox_repo.list_actions(d.store.reader()) == []
                clock.now = DUE - timedelta(seconds=1)
                assert await d.calendar.run_due() == DUE
                assert outbox_repo.list_actions(d.store.reader()) == []
                assert sandbox.sent_messages(channel) == []

                await d.runner.stop()  # from here on this process enqueues but never confirms
                clock.now = DUE
                await d.calendar.run_due()
                await d.calendar.run_due()  # a second pass (a wake-up) does not enqueue it again
                actions = outbox_repo.list_actions(d.store.reader())
                assert [(a.kind, a.state, a.idempotency_key) for a in actions] == [
                    (
                        "post_publish",
                        OutboxState.PENDING,
                        f"post:{post_id}:{DUE.isoformat(timespec='microseconds')}|discord:{channel}",
                    )
                ]
                assert d.calendar.post_status(repo.get_event(d.store.reader(), post_id)).state == "publishing"
                # the crash: the action was claimed and sent, the confirmation never written
                claimed = await d.store.write(lambda c: outbox_repo.claim_due(c, DUE, 10))
                assert d.connector is not None
                result = await d.connector.execute(claimed[0])
                assert len(sandbox.sent_messages(channel)) == 1
            # -- process 2: starts again; replays the interrupted action and re-runs the scheduler
            async with desk(path, sandbox, clock=clock) as d2:
                await d2.calendar.run_due()
                reader = d2.store.reader()
                await d2.waiter.until(
                    lambda: [a.state for a in outbox_repo.list_actions(reader)] == [OutboxState.DONE]
                )
                action = outbox_repo.list_actions(reader)[0]
                assert action.attempts == 2 and action.result["message_id"] == result["message_id"]
                await d2.waiter.until(
                    lambda: (repo.get_event(reader, post_id) or _never()).status == "published"
                )
                status = d2.calendar.post_status(repo.get_event(reader, post_id) or _never())
                assert status.state == "published"
                assert status.links == (result["url"],)
            # -- process 3: long after; nothing more is sent
            clock.now = DUE + timedelta(hours=2)
            async with desk(path, sandbox, clock=clock) as d3:
                await d3.calendar.run_due()
                await d3.runner.run_once()
                assert len(outbox_repo.list_actions(d3.store.reader())) == 1
            sent = sandbox.sent_messages(channel)
            assert len(sent) == 1
            assert sent[0]["content"] == "**Tip of the week**\n\nPress Ctrl+K to jump anywhere."

    run(aloop, body)


def test_the_scheduler_sleeps_until_the_post_is_due_and_then_publishes_it(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def body() -> None:
        clock = Clock(T0)
        async with running_sandbox() as sandbox, desk(data_dir / "d.db", sandbox, clock=clock) as d:
            channel = _tips_channel(sandbox)
            post_id = await d.calendar.create(_draft(channel))
            d.calendar.start()
            reader = d.store.reader()
            assert outbox_repo.list_actions(reader) == []
            clock.now = DUE  # time passes; the scheduler's timer would fire now: wake it as the timer does
            d.calendar.wake()
            await d.waiter.until(lambda: (repo.get_event(reader, post_id) or _never()).status == "published")
            assert len(sandbox.sent_messages(channel)) == 1

    run(aloop, body)


def test_a_post_the_platform_refuses_shows_failed_with_the_reason(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def body() -> None:
        clock = Clock(DUE)
        async with running_sandbox() as sandbox, desk(data_dir / "d.db", sandbox, clock=clock) as d:
            draft = _draft("123456789")  # a channel that does not exist
            post_id = await d.calendar.create(draft)
            await d.calendar.run_due()
            reader = d.store.reader()
            await d.waiter.until(lambda: (repo.get_event(reader, post_id) or _never()).status == "failed")
            status = d.calendar.post_status(repo.get_event(reader, post_id) or _never())
            assert status.state == "failed" and "no longer exists" in status.reason
            assert [a.platform for a in outbox_repo.list_actions(reader)] == [Platform.DISCORD]

    run(aloop, body)


def test_validation_speaks_plainly() -> None:
    bad = EventDraft(
        kind="post", title=" ", starts_at=DUE, ends_at=DUE - timedelta(hours=1), timezone="Mars/Base"
    )
    problems = validate(bad)
    assert "give it a title" in problems
    assert "the end must be after the start" in problems
    assert "unknown time zone “Mars/Base”" in problems
    assert any("choose where to publish" in p for p in problems)
    ama = EventDraft(kind="ama", title="AMA", starts_at=DUE, entity="external")
    assert {"an external AMA needs a location", "an external AMA needs an end time"} <= set(validate(ama))
    odd = EventDraft(kind="post", title="x", starts_at=DUE, targets=["myspace:x"], description="y")
    assert validate(odd) == ["unknown post target “myspace:x”"]  # reported, not raised


def _never() -> repo.EventRow:
    raise AssertionError("the event disappeared")


def test_a_post_to_discord_and_the_subreddit_publishes_once_on_each_with_links(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    from types import SimpleNamespace

    from atlas_desk.platforms.reddit import RedditConnector
    from atlas_desk.platforms.reddit.posts import install_submit
    from atlas_desk.sandbox.reddit import RedditSandbox
    from tests.test_calendar_support import NullSink, community

    async def body() -> None:
        c = community()
        reddit_sb = RedditSandbox(c)
        await reddit_sb.start()
        settings = SimpleNamespace(
            url=reddit_sb.url,
            subreddit=c.subreddit,
            poll_seconds=60,
            backoff_base=0.05,
            backoff_max=0.2,
            timeout=5.0,
        )
        creds = {
            "client_id": reddit_sb.client_id,
            "client_secret": reddit_sb.client_secret,
            "username": reddit_sb.username,
            "password": reddit_sb.password,
        }
        reddit = RedditConnector(settings, creds, NullSink())
        install_submit(reddit)
        clock = Clock(DUE)
        try:
            async with (
                running_sandbox(c) as sandbox,
                desk(data_dir / "d.db", sandbox, clock=clock, extra={Platform.REDDIT: reddit}) as d,
            ):
                channel = _tips_channel(sandbox)
                draft = _draft(channel)
                draft.targets = [f"discord:{channel}", "reddit"]
                d.calendar.subreddit = c.subreddit
                post_id = await d.calendar.create(draft)
                await d.calendar.run_due()
                reader = d.store.reader()
                await d.waiter.until(
                    lambda: (repo.get_event(reader, post_id) or _never()).status == "published"
                )
                status = d.calendar.post_status(repo.get_event(reader, post_id) or _never())
                assert len(status.links) == 2 and any("/r/AtlasApp/comments/" in u for u in status.links)
                mine = [
                    t for t in reddit_sb._things.values() if t.kind == "t3" and t.title == "Tip of the week"
                ]
                assert len(mine) == 1 and mine[0].author == reddit_sb.username
                # a replay of the Reddit action (as after a crash) finds the post instead of posting again
                (submit,) = [a for a in outbox_repo.list_actions(reader) if a.kind == "submit"]
                submit.attempts = 2
                again = await reddit.execute(submit)
                assert again["platform_id"] == f"t3_{mine[0].id}"
                assert len([t for t in reddit_sb._things.values() if t.title == "Tip of the week"]) == 1
                assert len(sandbox.sent_messages(channel)) == 1
        finally:
            await reddit.stop()
            await reddit_sb.stop()

    run(aloop, body)


def test_a_post_to_a_github_discussion_category_publishes_once_with_its_marker(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    from atlas_desk.platforms.github.connector import GitHubConnector
    from atlas_desk.sandbox.github.server import GitHubSandbox
    from tests.test_calendar_support import NullSink, community
    from tests.test_github_support import GitHubTestSettings

    async def body() -> None:
        c = community()
        gh = GitHubSandbox(c)
        await gh.start()
        owner = c.repo.partition("/")[0]
        github = GitHubConnector(
            GitHubTestSettings(api=gh.api_url, repo=c.repo, project_owner=owner), gh.token, NullSink()
        )
        try:
            async with desk(data_dir / "d.db", None, clock=Clock(DUE), extra={Platform.GITHUB: github}) as d:
                draft = _draft("1")
                draft.targets = ["github:General"]
                post_id = await d.calendar.create(draft)
                await d.calendar.run_due()
                reader = d.store.reader()
                await d.waiter.until(
                    lambda: (repo.get_event(reader, post_id) or _never()).status == "published"
                )
                mine = [x for x in gh.discussions.values() if x.title == "Tip of the week"]
                assert len(mine) == 1 and mine[0].category == "General"
                assert mine[0].body.startswith("Press Ctrl+K to jump anywhere.")
                (action,) = outbox_repo.list_actions(reader)
                assert action.kind == "publish_discussion"
                status = d.calendar.post_status(repo.get_event(reader, post_id) or _never())
                assert status.links and status.links[0].endswith(f"/discussions/{mine[0].number}")
                action.attempts = 2  # a replay after a crash finds its marker instead of posting again
                await github.execute(action)
                assert len([x for x in gh.discussions.values() if x.title == "Tip of the week"]) == 1
        finally:
            await github.stop()
            await gh.stop()

    run(aloop, body)
