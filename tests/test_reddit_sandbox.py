"""The Reddit sandbox against real praw: OAuth grants, token refresh, listings, moderation and replies."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import praw
import prawcore
import pytest

from atlas_desk.sandbox.model import Community, Member, RedditComment, RedditPost
from atlas_desk.sandbox.reddit import RedditSandbox
from tests.conftest import REFERENCE

T = TypeVar("T")
CASSETTES = REFERENCE / "reddit" / "cassettes"


def small_community() -> Community:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    members = [
        Member(key="maya-k", display_name="Maya", reddit_name="maya_k"),
        Member(key="tom-b", display_name="Tom", reddit_name="tombee"),
        Member(key="mod-ana", display_name="Ana", reddit_name="ana_mod", is_moderator=True),
    ]
    posts = [
        RedditPost(
            id=f"p{i}",
            title=f"Post {i}",
            selftext=f"Body {i}",
            author_key="maya-k" if i % 2 else "tom-b",
            created_at=start + timedelta(hours=i),
            flair="Feature Request" if i == 1 else "",
            comments=[
                RedditComment(
                    id=f"c{i}{j}",
                    author_key="tom-b",
                    body=f"Comment {j} on {i}",
                    created_at=start + timedelta(hours=i, minutes=10 + j),
                )
                for j in range(2)
            ],
        )
        for i in range(3)
    ]
    return Community(
        seed=1,
        now=start + timedelta(days=2),
        guild_id="1",
        guild_name="Atlas",
        bot_id="2",
        application_id="3",
        repo="atlas-app/atlas",
        subreddit="AtlasApp",
        members=members,
        posts=posts,
    )


@pytest.fixture
def sandbox(aloop: asyncio.AbstractEventLoop) -> Iterator[RedditSandbox]:
    sb = RedditSandbox(small_community())
    aloop.run_until_complete(sb.start())
    yield sb
    aloop.run_until_complete(sb.stop())


def reddit_for(sb: RedditSandbox, **overrides: Any) -> praw.Reddit:
    kwargs: dict[str, Any] = {
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
        "username": sb.username,
        "password": sb.password,
    }
    kwargs.update(overrides)
    return praw.Reddit(
        user_agent="atlas-desk-tests/0.1",
        oauth_url=sb.url,
        reddit_url=sb.url,
        short_url=sb.url,
        check_for_updates=False,
        check_for_async=False,
        **kwargs,
    )


def in_thread(aloop: asyncio.AbstractEventLoop, fn: Callable[[], T]) -> T:
    """Run blocking praw code off the loop that serves the sandbox."""
    return aloop.run_until_complete(asyncio.wait_for(asyncio.to_thread(fn), timeout=20))


def test_password_grant_gives_a_token_and_me(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox
) -> None:
    reddit = reddit_for(sandbox)
    name = in_thread(aloop, lambda: reddit.user.me().name)
    assert name == sandbox.username
    assert ("POST", "/api/v1/access_token") in sandbox.requests
    assert ("GET", "/api/v1/me") in sandbox.requests


def test_refresh_token_grant(aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox) -> None:
    token = sandbox.issue_refresh_token()
    reddit = reddit_for(sandbox, username=None, password=None, refresh_token=token)
    assert in_thread(aloop, lambda: reddit.user.me().name) == sandbox.username


def test_wrong_secret_is_401_and_bad_password_is_invalid_grant(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox
) -> None:
    wrong_secret = reddit_for(sandbox, client_secret="nope")
    with pytest.raises(prawcore.exceptions.ResponseException) as info:
        in_thread(aloop, lambda: wrong_secret.user.me())
    assert info.value.response.status_code == 401
    wrong_password = reddit_for(sandbox, password="nope")
    with pytest.raises(prawcore.exceptions.OAuthException):
        in_thread(aloop, lambda: wrong_password.user.me())


def test_expired_token_is_refreshed_by_praw(aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox) -> None:
    reddit = reddit_for(sandbox)

    def newest() -> str:
        return str(next(iter(reddit.subreddit("AtlasApp").new(limit=1))).title)

    assert in_thread(aloop, newest) == "Post 2"
    sandbox.expire_tokens()
    assert in_thread(aloop, newest) == "Post 2"  # 401, a new token, the same request again
    assert sandbox.requests.count(("POST", "/api/v1/access_token")) == 2


def test_api_without_token_is_401(aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox) -> None:
    import requests

    response = in_thread(aloop, lambda: requests.get(f"{sandbox.url}/r/AtlasApp/new", timeout=5))
    assert response.status_code == 401
    assert "invalid_token" in response.headers["www-authenticate"]
    assert not any(h.lower().startswith("x-ratelimit") for h in response.headers)


def test_listings_stream_and_paging(aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox) -> None:
    reddit = reddit_for(sandbox)
    sub = reddit.subreddit("AtlasApp")
    for i in range(120):
        sandbox.add_post("maya-k", f"New {i}", "x")

    def read() -> tuple[list[str], list[str], list[str]]:
        every = [s.title for s in sub.new(limit=None)]  # pages with after=
        stream = sub.stream.submissions(pause_after=0)
        first = []
        for s in stream:
            if s is None:
                break
            first.append(s.title)
        later = []
        sandbox.add_post("tom-b", "Latest", "y")
        for s in stream:
            if s is None:
                break
            later.append(s.title)
        return every, first, later

    every, first, later = in_thread(aloop, read)
    assert len(every) == 123 and every[0] == "New 119" and every[-1] == "Post 0"
    assert first[-1] == "New 119"  # the stream yields oldest first, ending with the newest
    assert later == ["Latest"]
    assert ("GET", "/r/AtlasApp/new") in sandbox.requests  # no trailing slash, as praw asks


def test_comments_listing_and_submission_tree(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox
) -> None:
    reddit = reddit_for(sandbox)
    reply = sandbox.add_comment("p1", "maya-k", "nested", parent="t1_c10")

    def read() -> tuple[list[str], list[str], list[str]]:
        comments = [c.body for c in reddit.subreddit("AtlasApp").comments(limit=10)]
        post = reddit.submission("p1")
        top = [c.body for c in post.comments]
        nested = [r.body for r in post.comments[0].replies]
        return comments, top, nested

    comments, top, nested = in_thread(aloop, read)
    assert comments[0] == "nested" and len(comments) == 7
    assert top == ["Comment 0 on 1", "Comment 1 on 1"]
    assert nested == ["nested"]
    assert reply.startswith("t1_")


def test_modqueue_approve_remove_and_reasons(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox
) -> None:
    reddit = reddit_for(sandbox)
    sandbox.report("t3_p0", "Spam")
    sandbox.report("t1_c21", "Rude")
    reason = next(iter(sandbox.removal_reasons))

    def act() -> tuple[list[str], list[str], list[str], list[str]]:
        sub = reddit.subreddit("AtlasApp")
        queue = [t.fullname for t in sub.mod.modqueue()]
        only_comments = [t.fullname for t in sub.mod.modqueue(only="comments")]
        reasons = [r.id for r in sub.mod.removal_reasons]
        reddit.submission("p0").mod.approve()
        reddit.comment("c21").mod.remove(reason_id=reason, mod_note="be nice")
        after = [t.fullname for t in sub.mod.modqueue()]
        return queue, only_comments, reasons, after

    queue, only_comments, reasons, after = in_thread(aloop, act)
    assert set(queue) == {"t3_p0", "t1_c21"}
    assert only_comments == ["t1_c21"]
    assert reason in reasons
    assert after == []
    assert sandbox.approved() == {"t3_p0"}
    assert sandbox.removed() == {"t1_c21": {"spam": False, "reason_id": reason, "mod_note": "be nice"}}


def test_reply_returns_the_new_comment(aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox) -> None:
    reddit = reddit_for(sandbox)
    comment = in_thread(aloop, lambda: reddit.comment("c00").reply("Thanks!"))
    assert comment.body == "Thanks!"
    assert sandbox.replies_to("t1_c00") == [
        {
            "fullname": comment.fullname,
            "author": sandbox.username,
            "body": "Thanks!",
            "created_utc": comment.created_utc,
        }
    ]


def test_fault_injection(aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox) -> None:
    reddit = reddit_for(sandbox)
    sandbox.fail_next("/r/AtlasApp/new", 429, retry_after=7)
    with pytest.raises(prawcore.exceptions.TooManyRequests) as info:
        in_thread(aloop, lambda: list(reddit.subreddit("AtlasApp").new(limit=1)))
    assert info.value.retry_after == "7"
    sandbox.fail_next("/api/comment", 502, after=True)  # acted, then the response is lost

    def raw_reply() -> int:
        import requests

        token = requests.post(
            f"{sandbox.url}/api/v1/access_token",
            auth=(sandbox.client_id, sandbox.client_secret),
            data={"grant_type": "password", "username": sandbox.username, "password": sandbox.password},
            timeout=5,
        ).json()["access_token"]
        return requests.post(
            f"{sandbox.url}/api/comment/",
            headers={"Authorization": f"bearer {token}"},
            data={"api_type": "json", "text": "hi", "thing_id": "t1_c20"},
            timeout=5,
        ).status_code

    assert in_thread(aloop, raw_reply) == 502
    assert [r["body"] for r in sandbox.replies_to("t1_c20")] == ["hi"]


def test_shapes_follow_the_cassettes(sandbox: RedditSandbox) -> None:
    """Every key Reddit sent for a comment in the recorded mod queue is present in the sandbox's comments."""
    recorded = json.loads(
        (CASSETTES / "TestSubredditModeration.test_modqueue__only_comments.json").read_text()
    )
    body = json.loads(recorded["interactions"][1]["response"]["body"]["string"])
    keys = set(body["data"]["children"][0]["data"])
    ours = set(sandbox.thing("t1_c00"))
    assert keys - ours == set()
    recorded = json.loads((CASSETTES / "TestSubredditStreams.test_submissions.json").read_text())
    body = json.loads(recorded["interactions"][1]["response"]["body"]["string"])
    post_keys = set(body["data"]["children"][1]["data"])
    assert post_keys - set(sandbox.thing("t3_p0")) - {"preview", "post_hint"} == set()


def test_simulate_activity_adds_things(aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox) -> None:
    import random

    rng = random.Random(5)
    names = [aloop.run_until_complete(sandbox.simulate_activity(rng)) for _ in range(20)]
    assert len(set(names)) == 20
    assert {n[:3] for n in names} == {"t1_", "t3_"}
    assert sandbox.config() == {"reddit": {"subreddit": "AtlasApp", "poll_seconds": sandbox.poll_seconds}}
    assert sandbox.env()["ATLAS_DESK_REDDIT_URL"] == sandbox.url


# -- removal messages ----------------------------------------------------------------------------------------


def test_removal_messages_reach_the_author_publicly_or_privately(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox
) -> None:
    """What praw's ``send_removal_message`` gets, in the shapes of praw's recorded exchanges: a public one is
    a distinguished reply (stickied under a post) that leads the thread; a private one is a modmail from the
    subreddit in which the author reads the text; an item not removed first is refused as Reddit does."""
    reddit = reddit_for(sandbox)

    def act() -> dict[str, Any]:
        post = reddit.submission("p0")
        post.mod.remove()
        sticky = post.mod.send_removal_message(message="Off topic here.", title="Off topic", type="public")
        sticky.mod.lock()
        thread = reddit.submission("p0")
        comment = reddit.comment("c01")
        comment.mod.remove()
        under_comment = comment.mod.send_removal_message(message="Be kind.", type="public")
        reddit.comment("c11").mod.remove()
        private = reddit.comment("c11").mod.send_removal_message(
            message="Rule 2 - Be kind.", title="Be Kind", type="private"
        )
        reddit.comment("c20").mod.remove()
        reddit.comment("c20").mod.send_removal_message(message="Spam.", title="Spam", type="private_exposed")
        with pytest.raises(praw.exceptions.RedditAPIException) as refused:
            reddit.comment("c21").mod.send_removal_message(message="Not removed yet.")
        conversations = list(reddit.subreddit("AtlasApp").modmail.conversations(state="archived"))
        return {
            "sticky": sticky,
            "first": thread.comments[0],
            "under_comment": under_comment,
            "private": private,
            "refused": refused.value.items[0].error_type,
            "conversations": {c.subject: c for c in conversations},
        }

    got = in_thread(aloop, act)
    sticky, first, under_comment = got["sticky"], got["first"], got["under_comment"]
    assert (sticky.body, sticky.parent_id, sticky.distinguished, sticky.stickied) == (
        "Off topic here.",
        "t3_p0",
        "moderator",
        True,
    )
    assert sticky.author.name == sandbox.username and not sticky.removed
    assert (first.id, first.locked) == (sticky.id, True)  # leads the thread, and locked as asked
    assert (under_comment.parent_id, under_comment.distinguished, under_comment.stickied) == (
        "t1_c01",
        "moderator",
        False,  # only a top-level comment can be stickied
    )
    assert got["private"] is None and got["refused"] == "INVALID_ID"

    be_kind, spam = got["conversations"]["Be Kind"], got["conversations"]["Spam"]
    assert vars(be_kind.participant)["name"] == "tombee" and be_kind.state == 2
    [told] = be_kind.messages
    assert told.body_markdown.startswith("Rule 2 - Be kind.\n\n")  # and a line about the comment
    assert "/r/AtlasApp/comments/p1/post_1/c11/" in told.body_markdown
    assert vars(told.author)["is_subreddit_mod"] and vars(told.author)["is_hidden"]  # sent as the subreddit
    assert not vars(spam.messages[0].author)["is_hidden"]  # private_exposed shows who wrote it
    assert sandbox.modmail.visible_to_member(be_kind.id) == [told.body_markdown]

    assert [(m["item"], m["type"], m["message"]) for m in sandbox.removal_messages] == [
        ("t3_p0", "public", "Off topic here."),
        ("t1_c01", "public", "Be kind."),
        ("t1_c11", "private", "Rule 2 - Be kind."),
        ("t1_c20", "private_exposed", "Spam."),
    ]
    assert [c["name"] for c in sandbox.comment_thread("t1_c01")] == [under_comment.fullname]
    assert ("POST", "/api/v1/modactions/removal_link_message") in sandbox.requests
    assert ("POST", "/api/v1/modactions/removal_comment_message") in sandbox.requests


def _raw_token(sandbox: RedditSandbox) -> str:
    import requests

    return str(
        requests.post(
            f"{sandbox.url}/api/v1/access_token",
            auth=(sandbox.client_id, sandbox.client_secret),
            data={"grant_type": "password", "username": sandbox.username, "password": sandbox.password},
            timeout=5,
        ).json()["access_token"]
    )


async def _until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait on the sandbox's loop until ``predicate()`` holds (the sandbox sets no loop event to await)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a condition")
        await asyncio.sleep(0.01)


def test_removal_messages_obey_faults_and_holds(
    aloop: asyncio.AbstractEventLoop, sandbox: RedditSandbox
) -> None:
    """The fault injection reaches the new routes: a lost answer after the message was sent, and a request
    held before it is carried out or after (what a client killed at that moment has seen)."""
    import requests

    token = in_thread(aloop, lambda: _raw_token(sandbox))
    reddit = reddit_for(sandbox)
    in_thread(aloop, lambda: reddit.comment("c00").mod.remove())
    path = "/api/v1/modactions/removal_comment_message"

    def send(text: str) -> int:
        # As Reddit's web client sends it: the JSON as the body (praw sends it as a form field).
        body = {"item_id": ["t1_c00"], "message": text, "title": "Be Kind", "type": "public"}
        headers = {"Authorization": f"bearer {token}"}
        return requests.post(f"{sandbox.url}{path}", json=body, headers=headers, timeout=10).status_code

    sandbox.fail_next(path, 502, after=True)
    assert in_thread(aloop, lambda: send("lost answer")) == 502
    assert [m["message"] for m in sandbox.removal_messages] == ["lost answer"]  # sent all the same

    async def held(after: bool, text: str) -> tuple[int, int]:
        hold = sandbox.hold_next(path, after=after)
        sending = asyncio.ensure_future(asyncio.to_thread(send, text))
        await _until(hold.reached.is_set)
        while_held = len(sandbox.removal_messages)
        assert not sending.done()
        hold.release()
        return while_held, await asyncio.wait_for(sending, 10)

    assert aloop.run_until_complete(held(False, "held before")) == (1, 200)  # not carried out while held
    assert aloop.run_until_complete(held(True, "held after")) == (3, 200)  # carried out, the answer held
    assert [m["message"] for m in sandbox.removal_messages] == ["lost answer", "held before", "held after"]
