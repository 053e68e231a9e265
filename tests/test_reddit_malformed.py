"""Malformed Reddit listings: what praw cannot read is logged and skipped, and Reddit keeps being read.

The Reddit sandbox serves well-formed listings; here its listing renderer is wrapped (as the GitHub
connector's malformed-object test wraps its renderer) so the first page of ``/new`` and ``/comments`` also
carries children a broken or future Reddit could send: a kind nobody knows, ``data`` that is not an object, a
post without an id, one without a subreddit, a creation time that is a word, a bare string; and a real post
whose counts are the wrong type but whose identity is sound (that one must still reach the moderators). Whole
pages can be replaced once by something that is not a listing at all.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import praw
import pytest
from aiohttp import web
from test_reddit_connector import SEEDED, FakeSink, creds, settings, small_community

from atlas_desk.core.types import ConnectionState
from atlas_desk.platforms.reddit import RedditConnector
from atlas_desk.platforms.reddit.translate import to_item, tolerate_malformed_things
from atlas_desk.sandbox.reddit import RedditSandbox

T = TypeVar("T")
LOGGER = "atlas_desk.platforms.reddit"
SKIPPED_IDS = ("t9_zz1", "t3_bad2", "t3_bad3", "t1_bad4")


class BrokenReddit:
    """Wraps the sandbox's listing renderer: extra raw children on first pages, or a whole page replaced."""

    def __init__(self, sandbox: RedditSandbox) -> None:
        self.sandbox = sandbox
        self.children: dict[str, list[Any]] = {"/new": [], "/comments": []}
        self.next_pages: list[Any] = []  # raw JSON bodies for the next /new requests, one each
        self._render = sandbox._listing
        sandbox._listing = self._listing  # type: ignore[method-assign]

    def _listing(self, request: web.Request, items: list[Any]) -> web.Response:
        response = self._render(request, items)
        stream = "/new" if request.path.rstrip("/").endswith("/new") else "/comments"
        if stream == "/new" and self.next_pages:
            return _raw(self.next_pages.pop(0))
        if request.query.get("after") or not self.children[stream] or not isinstance(response.body, bytes):
            return response
        page = json.loads(response.body)
        page["data"]["children"] = self.children[stream] + page["data"]["children"]
        return _raw(page)

    def poison(self) -> str:
        """Put one child of every malformed sort on the first page of both streams; returns the fullname of
        a real new post whose counts come out wrong-typed (its identity is sound: it must be delivered)."""
        sandbox = self.sandbox
        odd = sandbox.add_post("tom-b", "odd counts", "a real post with odd fields")
        render = sandbox._thing_json

        def odd_counts(thing: Any) -> dict[str, Any]:
            data = render(thing)
            if data["name"] == odd:
                data.update(title=5, score="many", num_comments=None)
            return data

        sandbox._thing_json = odd_counts  # type: ignore[method-assign]
        shape = sandbox.thing("t3_p3")
        comment = sandbox.thing("t1_c30")
        now = time.time()
        self.children["/new"] = [
            {"kind": "t9", "data": {"id": "zz1", "name": "t9_zz1", "title": "<script>alert(1)</script>"}},
            {"kind": "t3", "data": "not an object"},
            {"kind": "t3", "data": {"title": "no id at all", "created_utc": now}},
            {"kind": "t3", "data": {**shape, "id": "bad2", "name": "t3_bad2", "subreddit": None}},
            {"kind": "t3", "data": {**shape, "id": "bad3", "name": "t3_bad3", "created_utc": "soon"}},
            "a bare string",
        ]
        self.children["/comments"] = [
            {"kind": "t1", "data": {**comment, "id": "bad4", "name": "t1_bad4", "created_utc": None}},
            {"kind": "t1", "data": ["a", "list"]},
        ]
        return odd


def _raw(data: Any) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), headers={"Content-Type": "application/json"})


@pytest.fixture
def broken(aloop: asyncio.AbstractEventLoop) -> Iterator[BrokenReddit]:
    sandbox = RedditSandbox(small_community())
    aloop.run_until_complete(sandbox.start())
    yield BrokenReddit(sandbox)
    aloop.run_until_complete(sandbox.stop())


def run(aloop: asyncio.AbstractEventLoop, coro: Any, timeout: float = 20.0) -> Any:
    return aloop.run_until_complete(asyncio.wait_for(coro, timeout=timeout))


def on_worker(aloop: asyncio.AbstractEventLoop, fn: Callable[[], T]) -> T:
    """Run blocking praw code on a thread while the sandbox answers on the loop."""
    result: T = run(aloop, asyncio.to_thread(fn))
    return result


def _reddit(sandbox: RedditSandbox, *, tolerant: bool) -> praw.Reddit:
    reddit = praw.Reddit(
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        username=sandbox.username,
        password=sandbox.password,
        user_agent="atlas-desk tests",
        oauth_url=sandbox.url,
        reddit_url=sandbox.url,
        short_url=sandbox.url,
        check_for_updates=False,
        check_for_async=False,
    )
    if tolerant:
        tolerate_malformed_things(reddit)
    return reddit


def _skipped_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == LOGGER and r.levelno == logging.WARNING and "skipped" in r.getMessage()
    ]


# -- praw itself, with the desk's tolerant listing -------------------------------------------------


def test_praw_reads_the_good_things_around_malformed_ones(
    aloop: asyncio.AbstractEventLoop, broken: BrokenReddit, caplog: pytest.LogCaptureFixture
) -> None:
    odd = broken.poison()
    plain = _reddit(broken.sandbox, tolerant=False)
    # Without the desk's listing, one malformed child fails the whole page, every time.
    with pytest.raises((AttributeError, ValueError, TypeError)):
        on_worker(aloop, lambda: list(plain.subreddit("AtlasApp").new(limit=None)))

    reddit = _reddit(broken.sandbox, tolerant=True)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        posts = on_worker(aloop, lambda: [p.fullname for p in reddit.subreddit("AtlasApp").new(limit=None)])
        comments = on_worker(aloop, lambda: [c.fullname for c in reddit.subreddit("AtlasApp").comments()])
        on_worker(aloop, lambda: list(reddit.subreddit("AtlasApp").new(limit=None)))  # the same page again
    assert posts == [odd, "t3_p3", "t3_p2", "t3_p1", "t3_p0"]
    assert len(comments) == 8 and "t1_bad4" not in comments
    warnings = _skipped_warnings(caplog)
    for expected in (
        "'t9' thing 't9_zz1' of a kind the desk does not know",
        "'t3' thing that could not be read (AttributeError)",  # data not an object
        "'t3' thing that could not be read (ValueError)",  # no id: praw refuses it
        "'t3' thing 't3_bad2' that could not be read",
        "'t3' thing 't3_bad3' without a creation time",
        "a child that is not an object (str)",
        "'t1' thing 't1_bad4' without a creation time",
    ):
        assert any(expected in w for w in warnings), (expected, warnings)
    assert sum("t9_zz1" in w for w in warnings) == 1  # a page read again does not log again
    assert all("<script>" not in r.getMessage() for r in caplog.records)  # kinds and ids, never the text


def test_a_praw_stream_keeps_yielding_after_malformed_children(
    aloop: asyncio.AbstractEventLoop, broken: BrokenReddit
) -> None:
    odd = broken.poison()
    reddit = _reddit(broken.sandbox, tolerant=True)
    stream = reddit.subreddit("AtlasApp").stream.submissions(pause_after=0)

    def drain() -> list[str]:
        names = []
        for post in stream:
            if post is None:
                return names
            names.append(post.fullname)
        return names

    assert sorted(on_worker(aloop, drain)) == sorted([odd, "t3_p0", "t3_p1", "t3_p2", "t3_p3"])
    later = broken.sandbox.add_post("tom-b", "a later post", "still here")
    assert on_worker(aloop, drain) == [later]
    broken.next_pages = [{"kind": "Listing", "data": None}, {"kind": "Listing", "data": {"children": "x"}}]
    again = broken.sandbox.add_post("tom-b", "after broken pages", "")
    seen: list[str] = []
    deadline = time.monotonic() + 10
    while again not in seen:  # the broken pages read as empty; the next real page brings the post
        assert time.monotonic() < deadline
        seen += on_worker(aloop, drain)
    assert seen == [again] and broken.next_pages == []


def test_to_item_reads_wrong_typed_fields_leniently_and_refuses_a_thing_without_an_id() -> None:
    base = "https://www.reddit.com"
    data = {
        "id": "odd1",
        "name": "t3_odd1",
        "title": 5,
        "selftext": ["x"],
        "score": "many",
        "num_comments": None,
    }
    item = to_item(data, subreddit="AtlasApp", base_url=base)
    assert (item.platform_id, item.title, item.body, item.score) == ("t3_odd1", "", "", 0)
    assert item.extra["num_comments"] == 0
    with pytest.raises(ValueError, match="without an id"):
        to_item({"kind": "t9", "data": {}}, subreddit="AtlasApp", base_url=base)  # praw's dict for a kind
    with pytest.raises(ValueError, match="not a post or a comment"):
        to_item(
            {"id": "atlas1", "name": "t5_atlas1", "display_name": "AtlasApp"}, subreddit="x", base_url=base
        )


# -- the connector ---------------------------------------------------------------------------------


@pytest.fixture
def connector(
    aloop: asyncio.AbstractEventLoop, broken: BrokenReddit
) -> Iterator[tuple[RedditConnector, FakeSink]]:
    sink = FakeSink()
    c = RedditConnector(settings(broken.sandbox), creds(broken.sandbox), sink)
    yield c, sink
    run(aloop, c.stop())
    assert c.calls_off_worker == 0


def test_malformed_children_are_logged_and_skipped_while_the_connector_stays_live(
    aloop: asyncio.AbstractEventLoop,
    broken: BrokenReddit,
    connector: tuple[RedditConnector, FakeSink],
    caplog: pytest.LogCaptureFixture,
) -> None:
    c, sink = connector
    odd = broken.poison()
    sandbox = broken.sandbox

    def live() -> bool:
        # Fail at once on a reconnect rather than waiting for items that will not come.
        assert all(state in (ConnectionState.CONNECTING, ConnectionState.LIVE) for state, _ in sink.states)
        return c.state is ConnectionState.LIVE

    async def body() -> None:
        await c.start()
        await sink.wait_for(lambda: live() and len(sink.items) >= SEEDED + 1)
        post = sandbox.add_post("tom-b", "a later post", "still reading")
        comment = sandbox.add_comment(post, "maya-k", "and a later comment")
        await sink.wait_for(lambda: live() and post in sink.items and comment in sink.items)
        # Whole pages that are not listings: skipped like an empty poll, and the next one is read.
        broken.next_pages = [{"kind": "Listing", "data": None}, {"kind": "Listing", "data": {"children": 7}}]
        after = sandbox.add_post("tom-b", "after broken pages", "")
        await sink.wait_for(lambda: live() and after in sink.items and not broken.next_pages)

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        run(aloop, body(), timeout=15)
    assert c.state is ConnectionState.LIVE
    assert [state for state, _ in sink.states] == [ConnectionState.CONNECTING, ConnectionState.LIVE]
    assert not any(name in sink.items for name in SKIPPED_IDS)
    assert sink.items[odd].score == 0 and sink.items[odd].title == ""
    assert set(sink.counts.values()) == {1}
    assert _skipped_warnings(caplog)
