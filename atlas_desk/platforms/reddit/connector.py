"""The Reddit connector: praw on one dedicated worker thread, polled from the asyncio loop.

praw is synchronous and not thread-safe, so one ``praw.Reddit`` lives on one single-thread executor and
every call that touches it (including iterating its lazy listings and streams) is submitted there. The event
loop only waits on futures. A custom prawcore ``Requestor`` counts every HTTP request and checks that it runs
on that thread.

Ingestion: at (re)connect, each stream (``submissions``, ``comments``) is backfilled from its stored cursor by
reading the newest-first listing back to the cursor and ingesting oldest first; then praw's streams
(``pause_after=0``) are drained every ``poll_seconds``. A bounded set of recently seen fullnames makes sure
the same item is never handed to the sink twice by this process (praw's streams re-yield the newest page
after an empty poll). The mod queue is polled alongside; an item's reports reach the sink when they change.

Removal: the item is removed with the subreddit's reason and the moderators' note, then, if the moderator
chose to, its author is told why, as Reddit's own mod tools do: a distinguished public reply (optionally
locked) or a private modmail from the subreddit. Both steps are safe to replay after a crash: an item Reddit
already shows removed with that reason is not removed again, and a message Reddit already holds is found, not
sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

import praw
import praw.exceptions
import prawcore
import prawcore.exceptions
from requests import Response

from atlas_desk.core.background import wait_event
from atlas_desk.core.types import ActionError, ConnectionState, InboxItem, OutboxAction, Platform
from atlas_desk.platforms.base import ConnectorSink
from atlas_desk.platforms.reddit.translate import (
    DELETED,
    report_reasons,
    thing_data,
    to_item,
    tolerate_malformed_things,
)

log = logging.getLogger("atlas_desk.platforms.reddit")

T = TypeVar("T")

USER_AGENT = "atlas-desk/0.1 (by the Atlas moderators)"
REAL_OAUTH_URL = "https://oauth.reddit.com"
REAL_WWW_URL = "https://www.reddit.com"
REAL_SHORT_URL = "https://redd.it"
CREDENTIALS_REJECTED = "Reddit rejected the app credentials"
STREAMS = ("submissions", "comments")
_SEEN_CAPACITY = 5000
# A drain that brings this many new items may have skipped some: a stream request without ``before`` sees only
# the newest page, and praw shrinks that page to as few as 71 items. The gap is closed by a backfill from the
# previous cursor (deduplicated), which costs one request per 100 new items.
_GAP_THRESHOLD = 50
_CLOCK_SLACK = 900.0
_RETRYABLE_STATUSES = frozenset({500, 502, 503, 504, 520, 522})
# How the member is told of a removal: praw's ``send_removal_message`` types the desk offers. ("private" is a
# modmail from the subreddit with the moderator's name hidden, as Reddit's own tools send it.)
REMOVAL_MESSAGE_TYPES = frozenset({"public", "private"})
# Reddit's limit for a comment or a modmail message.
REMOVAL_MESSAGE_MAX = 10000
_DEFAULT_MESSAGE_TITLE = "Removal notice"


class UnconfirmedWrite(Exception):
    """A write whose outcome is unknown (no response, or a 5xx after Reddit may have acted)."""


class ConnectionProblem(Exception):
    """A request that got no response (refused, reset, timed out)."""


class _GuardedRequestor(prawcore.Requestor):
    """prawcore's requestor with a per-request hook, and failures surfaced at once instead of retried.

    prawcore retries a request that failed with a 5xx or a dropped connection, sleeping (blocking) up to 4 s
    in between. A POST is not safe to repeat blindly (a comment may already exist), and the connector has its
    own backoff, so such failures are raised right away: a 5xx as ``ServerError``, no response as a
    ``RequestException`` wrapping ``UnconfirmedWrite`` (POST) or ``ConnectionProblem``, neither of which
    prawcore retries. Token requests and 401 refreshes keep prawcore's handling.
    """

    def __init__(
        self,
        *args: Any,
        on_request: Callable[[], None],
        register: Callable[[prawcore.Requestor], None],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._on_request = on_request
        register(self)

    def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Response:
        self._on_request()
        method = str(args[0]).upper() if args else str(kwargs.get("method", "")).upper()
        url = str(args[1]) if len(args) > 1 else str(kwargs.get("url", ""))
        if "/api/v1/access_token" in url:
            return super().request(*args, timeout=timeout, **kwargs)
        try:
            response = super().request(*args, timeout=timeout, **kwargs)
        except prawcore.exceptions.RequestException as exc:
            name = type(exc.original_exception).__name__
            problem: Exception = (
                UnconfirmedWrite(f"no response: {name}") if method == "POST" else ConnectionProblem(name)
            )
            raise prawcore.exceptions.RequestException(problem, args, {}) from None
        if response.status_code in _RETRYABLE_STATUSES:
            raise prawcore.exceptions.ServerError(response)
        return response


class _SeenSet:
    """The most recent fullnames handed to the sink, bounded."""

    def __init__(self, capacity: int = _SEEN_CAPACITY) -> None:
        self._items: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def add(self, name: str) -> None:
        self._items[name] = None
        self._items.move_to_end(name)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)


def _cred(creds: Any, name: str) -> str | None:
    """One credential from a mapping, an object with attributes, or the desk's ``Credentials`` store."""
    value: Any = None
    if isinstance(creds, Mapping):
        value = creds.get(name, creds.get(f"reddit_{name}"))
    else:
        value = getattr(creds, name, None)
        if value is None and callable(getattr(creds, "get", None)):
            with contextlib.suppress(Exception):
                value = creds.get(f"reddit_{name}")
    reveal = getattr(value, "reveal", None)
    if callable(reveal):
        value = reveal()
    return str(value) if value else None


def _parse_cursor(cursor: str | None) -> tuple[str | None, float | None]:
    """``"t3_abc:1732450000.5"`` → (fullname, created_utc); either part may be missing."""
    if not cursor:
        return None, None
    name, _, stamp = cursor.partition(":")
    if not stamp and not name.startswith(("t1_", "t3_")):
        name, stamp = "", name
    try:
        when = float(stamp) if stamp else None
    except ValueError:
        when = None
    return (name or None), when


def _cursor_of(item: InboxItem) -> str:
    return f"{item.platform_id}:{item.created_at.timestamp()}"


class RedditConnector:
    """Connector for one subreddit (``settings.subreddit``) through praw."""

    platform = Platform.REDDIT

    def __init__(self, settings: Any, creds: Any, sink: ConnectorSink) -> None:
        self._settings = settings
        self._creds = creds
        self._sink = sink
        self.subreddit: str = str(settings.subreddit)
        self.poll_seconds = float(getattr(settings, "poll_seconds", 30))
        self._backoff_base = float(getattr(settings, "backoff_base", 1.0))
        self._backoff_max = float(getattr(settings, "backoff_max", 300.0))
        self._timeout = float(getattr(settings, "timeout", 16.0))
        self._backfill_limit = int(getattr(settings, "backfill_limit", 1000))
        url = str(getattr(settings, "url", "") or "").rstrip("/")
        if not url or urlsplit(url).hostname in ("www.reddit.com", "reddit.com", "oauth.reddit.com"):
            self._oauth_url, self._www_url, self._short_url = REAL_OAUTH_URL, REAL_WWW_URL, REAL_SHORT_URL
        else:
            self._oauth_url = self._www_url = self._short_url = url
        self._state = ConnectionState.NOT_CONFIGURED
        self._reason = ""
        self._worker: ThreadPoolExecutor | None = None
        self._worker_ident: int | None = None
        self._reddit: praw.Reddit | None = None  # touched on the worker thread only
        self._streams: dict[str, Iterator[Any]] = {}  # worker thread only
        self._requestor: prawcore.Requestor | None = None  # worker thread only
        self._username: str | None = None
        self._seen = {name: _SeenSet() for name in STREAMS}
        self._cursors: dict[str, str | None] = {}
        self._cursors_loaded = False
        self._queue_sig: dict[str, tuple[str, ...]] = {}
        self._queue_items: dict[str, InboxItem] = {}
        self._replies: dict[str, dict[str, Any]] = {}  # idempotency key -> confirmed result
        self._removal_messages: dict[str, dict[str, Any]] = {}  # idempotency key -> the message sent or found
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._stopping = False
        # Debug counters, read by tests: HTTP requests made, and how many ran outside the worker thread.
        self.requests_made = 0
        self.calls_off_worker = 0
        # Extensions (modmail tickets): extra outbox action kinds, performed by their own handlers.
        self.action_handlers: dict[str, Callable[[OutboxAction], Awaitable[dict[str, Any]]]] = {}

    # -- Connector protocol ---------------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._state

    async def start(self) -> None:
        """Connect, backfill since the stored cursors, then poll until ``stop``."""
        if self._task is not None and not self._task.done():
            return
        self._stopping = False
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="reddit-connector")

    async def stop(self) -> None:
        """Stop polling, close praw's session and release the worker thread. Safe to call twice."""
        self._stopping = True
        if self._wake is not None:
            self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            # Let the loop finish what it is doing (an ingest and its cursor) before cancelling.
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=min(5.0, self._timeout))
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            except Exception:  # the loop reports its own failures through the state
                log.debug("reddit loop ended with an error", exc_info=True)
        worker, self._worker = self._worker, None
        if worker is not None:
            closing = worker.submit(self._close_sync)
            worker.shutdown(wait=False)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(closing), timeout=2.0)
        if self._state is not ConnectionState.OFFLINE or not self._reason:
            self._set_state(ConnectionState.OFFLINE, "stopped")

    async def backfill(self) -> None:
        """Fetch everything since the stored cursors (and the mod queue) and return once caught up.

        Raises ``RedditUnavailable`` with a plain reason if Reddit cannot be read.
        """
        try:
            await self._call(self._connect_sync)
            await self._backfill_all()
            await self._poll_queue()
        except Exception as exc:
            _, reason, _ = _classify(exc, self.subreddit)
            raise RedditUnavailable(reason) from exc

    async def execute(self, action: OutboxAction) -> dict[str, Any]:
        """Reply, approve or remove on Reddit. Replies and removal messages are never posted twice for one
        idempotency key."""
        handler = self.action_handlers.get(action.kind)
        if handler is not None:
            return await handler(action)
        if action.result:
            return dict(action.result)
        payload = action.payload or {}
        try:
            if action.kind == "reply":
                return await self._execute_reply(action)
            target = str(payload.get("fullname") or payload.get("id") or action.target)
            if action.kind == "approve":
                await self._call(partial(self._approve_sync, target))
                return {"platform_id": target, "approved": True}
            if action.kind == "remove":
                return await self._execute_remove(action, target)
        except ActionError:
            raise
        except Exception as exc:
            raise _action_error(exc) from None
        raise ActionError(f"Reddit has no action called '{action.kind}'", retryable=False)

    async def removal_reasons(self) -> list[dict[str, str]]:
        """The subreddit's removal reasons as [{"id", "title", "message"}], in the subreddit's order."""
        try:
            return await self._call(self._removal_reasons_sync)
        except Exception as exc:
            raise _action_error(exc) from None

    # -- the loop -------------------------------------------------------------------------------------------

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping:
            try:
                if attempt == 0:
                    self._set_state(ConnectionState.CONNECTING)
                await self._call(self._connect_sync)
                await self._backfill_all()
                await self._call(self._open_streams_sync)
                self._set_state(ConnectionState.LIVE)
                attempt = 0
                while not self._stopping:
                    await self._poll_once()
                    if await self._sleep(self.poll_seconds):
                        return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                fatal, reason, retry_after = _classify(exc, self.subreddit)
                if fatal:
                    log.warning("reddit: %s (%s)", reason, type(exc).__name__)
                    self._set_state(ConnectionState.OFFLINE, reason)
                    return
                attempt += 1
                # Honour Reddit's Retry-After, within reason; otherwise back off exponentially.
                delay = min(retry_after, 900.0) if retry_after is not None else self._backoff(attempt)
                log.info("reddit: %s; retrying in %.1f s (%s)", reason, delay, type(exc).__name__)
                self._set_state(ConnectionState.RECONNECTING, reason)
                if await self._sleep(delay):
                    return

    def _backoff(self, attempt: int) -> float:
        """Exponential with jitter, capped: about base, 2·base, 4·base … never more than the cap."""
        delay = min(self._backoff_max, self._backoff_base * 2 ** min(attempt - 1, 30))
        return float(max(0.01, delay * (0.5 + random.random() / 2)))

    async def _sleep(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stopped; True if stopping."""
        if self._wake is None or self._stopping:
            return True
        await wait_event(self._wake, seconds)
        return self._stopping

    async def _call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the praw worker thread."""
        if self._worker is None:
            self._worker = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="atlas-reddit", initializer=self._on_worker_start
            )
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn)

    def _on_worker_start(self) -> None:
        # A new thread means a new praw instance: the old one belonged to the previous thread.
        self._worker_ident = threading.get_ident()
        self._reddit = None
        self._streams = {}

    def _on_request(self) -> None:
        self.requests_made += 1
        if threading.get_ident() != self._worker_ident:
            self.calls_off_worker += 1
            log.error("reddit: a praw request ran outside its worker thread")

    def _set_state(self, state: ConnectionState, reason: str = "") -> None:
        if state is self._state and reason == self._reason:
            return
        self._state, self._reason = state, reason
        self._sink.set_state(Platform.REDDIT, state, reason)

    # -- ingestion ------------------------------------------------------------------------------------------

    async def _load_cursors(self) -> None:
        if self._cursors_loaded:
            return
        for name in STREAMS:
            self._cursors[name] = await self._sink.get_cursor(Platform.REDDIT, name)
        self._cursors_loaded = True

    async def _backfill_all(self) -> None:
        await self._load_cursors()
        for name in STREAMS:
            items = await self._call(partial(self._backfill_sync, name, self._cursors.get(name)))
            await self._deliver(name, items)

    async def _poll_once(self) -> None:
        for name in STREAMS:
            items = await self._call(partial(self._drain_sync, name, self._cursors.get(name)))
            await self._deliver(name, items)
        await self._poll_queue()

    async def _deliver(self, stream: str, items: list[InboxItem]) -> None:
        """Ingest new items oldest first, then move the stream's cursor past them."""
        fresh: dict[str, InboxItem] = {}
        for item in items:
            if item.platform_id not in self._seen[stream]:
                fresh.setdefault(item.platform_id, item)
        if not fresh:
            return
        batch = sorted(fresh.values(), key=lambda i: i.created_at)
        await self._sink.ingest(batch)
        # Only what the sink accepted counts as seen: a failed ingest is retried after the reconnect.
        for item in batch:
            self._seen[stream].add(item.platform_id)
            if item.reported:
                self._queue_sig[item.platform_id] = tuple(item.extra.get("report_reasons", ()))
        cursor = _cursor_of(batch[-1])
        self._cursors[stream] = cursor
        await self._sink.set_cursor(Platform.REDDIT, stream, cursor)

    async def _poll_queue(self) -> None:
        queue = await self._call(self._modqueue_sync)
        changed: list[InboxItem] = []
        present = set()
        for item in queue:
            present.add(item.platform_id)
            sig = tuple(item.extra.get("report_reasons", ()))
            self._queue_items[item.platform_id] = item
            if self._queue_sig.get(item.platform_id) != sig:
                self._queue_sig[item.platform_id] = sig
                changed.append(item)
        # Items that left the queue (approved, removed, reports ignored) are no longer reported.
        for name in [n for n in self._queue_items if n not in present]:
            gone = self._queue_items.pop(name)
            self._queue_sig.pop(name, None)
            extra = {k: v for k, v in gone.extra.items() if k != "report_reasons"}
            changed.append(dataclasses.replace(gone, reported=False, extra=extra))
        if changed:
            await self._sink.ingest(changed)

    # -- worker-thread side (every praw object is created and used only here) -------------------------------

    def _connect_sync(self) -> None:
        if self._reddit is None:
            client_id = _cred(self._creds, "client_id")
            client_secret = _cred(self._creds, "client_secret")
            refresh_token = _cred(self._creds, "refresh_token")
            username = _cred(self._creds, "username")
            password = _cred(self._creds, "password")
            if not client_id or not client_secret or not (refresh_token or (username and password)):
                raise _MissingCredentials()
            auth: dict[str, str] = (
                {"refresh_token": refresh_token}
                if refresh_token
                else {"username": str(username), "password": str(password)}
            )
            self._reddit = praw.Reddit(
                client_id=client_id,
                client_secret=client_secret,
                user_agent=USER_AGENT,
                oauth_url=self._oauth_url,
                reddit_url=self._www_url,
                short_url=self._short_url,
                check_for_updates=False,
                check_for_async=False,
                requestor_class=_GuardedRequestor,
                requestor_kwargs={
                    "on_request": self._on_request,
                    "register": self._register_requestor,
                    "timeout": self._timeout,
                },
                **auth,
            )
            # One unreadable child or an unknown kind must cost that child, not the whole page (and the
            # connection with it): praw's own parser fails the listing.
            tolerate_malformed_things(self._reddit)
            self._streams = {}
        me = self._reddit.user.me()
        self._username = str(vars(me).get("name")) if me is not None else None

    def _praw(self) -> praw.Reddit:
        if self._reddit is None:
            self._connect_sync()
        assert self._reddit is not None
        return self._reddit

    def _listing(self, stream: str, **kwargs: Any) -> Iterator[Any]:
        sub = self._praw().subreddit(self.subreddit)
        if stream == "submissions":
            return iter(sub.new(**kwargs))
        return iter(sub.comments(**kwargs))

    def _open_streams_sync(self) -> None:
        sub = self._praw().subreddit(self.subreddit)
        self._streams = {
            "submissions": sub.stream.submissions(
                pause_after=0, continue_after_id=_parse_cursor(self._cursors.get("submissions"))[0]
            ),
            "comments": sub.stream.comments(
                pause_after=0, continue_after_id=_parse_cursor(self._cursors.get("comments"))[0]
            ),
        }

    def _translate(self, things: Sequence[Any]) -> list[InboxItem]:
        items = []
        for thing in things:
            try:
                items.append(to_item(thing, subreddit=self.subreddit, base_url=self._www_url))
            except Exception:  # one malformed thing must not stop the stream
                log.warning("reddit: skipped a thing that could not be read", exc_info=True)
        return items

    def _backfill_sync(self, stream: str, cursor: str | None) -> list[InboxItem]:
        """Things newer than ``cursor``, oldest first; also marks the newest page as seen.

        The listing is read newest first, paging back with ``after`` until the cursor's item (or, if it is
        gone, anything older than the cursor's time). The rest of the first page is read too, because praw's
        stream re-yields the newest page after an empty poll and those items must be recognised.
        """
        name, when = _parse_cursor(cursor)
        newer: list[Any] = []
        reached = False
        for index, thing in enumerate(self._listing(stream, limit=None)):
            data = thing_data(thing)
            if not reached:
                created = float(data.get("created_utc") or 0.0)
                older = when is not None and created < when
                if data.get("name") == name or older or len(newer) >= self._backfill_limit:
                    reached = True
                else:
                    newer.append(thing)
                    continue
            self._seen[stream].add(str(data.get("name")))
            if index >= 99:
                break
        newer.reverse()
        return self._translate(newer)

    def _drain_sync(self, stream: str, cursor: str | None) -> list[InboxItem]:
        """Everything the stream has now (until it pauses), plus a gap backfill after a burst."""
        gen = self._streams.get(stream)
        if gen is None:
            self._open_streams_sync()
            gen = self._streams[stream]
        things: list[Any] = []
        try:
            for thing in gen:
                if thing is None:
                    break
                things.append(thing)
        except BaseException:
            self._streams.pop(stream, None)  # a generator that raised is finished; reopen next time
            raise
        items = self._translate(things)
        new = sum(1 for i in items if i.platform_id not in self._seen[stream])
        if new >= _GAP_THRESHOLD:
            known = {i.platform_id for i in items}
            items.extend(i for i in self._backfill_sync(stream, cursor) if i.platform_id not in known)
        return items

    def _modqueue_sync(self) -> list[InboxItem]:
        sub = self._praw().subreddit(self.subreddit)
        items = self._translate(list(sub.mod.modqueue(limit=100)))
        for item in items:
            item.reported = True
        return items

    def _thing(self, fullname: str) -> Any:
        reddit = self._praw()
        kind, _, ident = fullname.partition("_")
        if kind == "t1" and ident:
            return reddit.comment(ident)
        if kind == "t3" and ident:
            return reddit.submission(ident)
        raise ActionError(f"'{fullname}' is not a Reddit post or comment", retryable=False)

    def _approve_sync(self, fullname: str) -> None:
        self._thing(fullname).mod.approve()

    def _remove_sync(self, fullname: str, reason_id: str | None, mod_note: str, spam: bool) -> str:
        """Remove, then (praw's second request, only with a reason id or a note) attach the removal reason;
        returns the item's author, whom a private removal message goes to.

        The item is read first: one that Reddit already shows removed (as spam if asked) with a reason and
        this note, a replay of a removal whose answer was lost, is not removed again, which would log the
        removal twice in the mod log. ``mod_note`` goes as a string, empty when there is none, as Reddit's own
        clients send it; praw would send a None as JSON null.
        """
        found = list(self._praw().info(fullnames=[fullname]))
        if not found:
            raise ActionError("Reddit could not find that post or comment", retryable=False)
        data = thing_data(found[0])
        author = _author_name(data.get("author"))
        done = (
            bool(data.get("removed"))
            and (not spam or bool(data.get("spam")))
            and (reason_id is None or bool(data.get("mod_reason_title")))
            and (not mod_note or data.get("mod_note") == mod_note)
        )
        if done:
            log.info("reddit: %s is already removed with its reason, not removing it again", fullname)
            return author
        self._thing(fullname).mod.remove(spam=spam, reason_id=reason_id, mod_note=mod_note)
        return author

    def _removal_message_sync(
        self, fullname: str, author: str, message: Mapping[str, Any], since: datetime | None
    ) -> dict[str, Any]:
        """Tell the author of a removed item why, unless an earlier attempt already did; lock a public reply
        if asked (again on a replay: locking is idempotent)."""
        kind, text = str(message["type"]), str(message["text"])
        title = str(message.get("title") or "").strip() or _DEFAULT_MESSAGE_TITLE
        if kind == "public":
            found = self._find_reply_sync(fullname, text, since)
            if found is not None:
                log.info("reddit: the removal reply under %s already exists, not posting it again", fullname)
            else:
                mod = self._thing(fullname).mod
                comment = mod.send_removal_message(message=text, title=title, type="public")
                if comment is None:
                    raise ActionError("Reddit took the removal reply but did not return it", retryable=True)
                found = self._reply_result(thing_data(comment))
            locked = bool(message.get("lock"))
            if locked:
                self._praw().comment(found["platform_id"].removeprefix("t1_")).mod.lock()
            return {
                "type": "public",
                "comment_id": found["platform_id"],
                "url": found["url"],
                "locked": locked,
            }
        conversation = self._find_removal_modmail_sync(author, text, since)
        if conversation is not None:
            log.info("reddit: the removal message to %s already exists, not sending it again", author)
        else:
            # Reddit answers a private removal message with ``{}``: the conversation's id is not known here.
            self._thing(fullname).mod.send_removal_message(message=text, title=title, type=kind)
        return {"type": kind, "conversation_id": conversation}

    def _find_removal_modmail_sync(self, author: str, text: str, since: datetime | None) -> str | None:
        """The id of a modmail conversation with ``author`` in which a moderator wrote ``text`` since the
        action was queued (Reddit adds a line about the item, so the text is looked for, not compared)."""
        wanted = text.strip()
        if not author or author == DELETED or not wanted:
            return None
        earliest = since.timestamp() - _CLOCK_SLACK if since is not None else 0.0
        modmail = self._praw().subreddit(self.subreddit).modmail
        # A removal message is filed as archived; a member's answer moves it back among the others.
        for state in ("archived", "all"):
            for conv in modmail.conversations(state=state, limit=100):
                participant = vars(conv).get("participant")
                name = str(vars(participant).get("name", "")) if participant is not None else ""
                if name.lower() != author.lower():
                    continue
                messages = vars(conv).get("messages")
                if messages is None:  # the listing left them out: read the conversation
                    messages = modmail(conv.id).messages
                for m in messages:
                    data = vars(m)
                    by_moderator = bool(getattr(data.get("author"), "__dict__", {}).get("is_subreddit_mod"))
                    if (
                        by_moderator
                        and wanted in str(data.get("body_markdown") or "")
                        and _modmail_time(data.get("date")) >= earliest
                    ):
                        return str(conv.id)
        return None

    def _removal_reasons_sync(self) -> list[dict[str, str]]:
        sub = self._praw().subreddit(self.subreddit)
        out = []
        for reason in sub.mod.removal_reasons:
            data = vars(reason)
            out.append(
                {
                    "id": str(data.get("id", "")),
                    "title": str(data.get("title", "")),
                    "message": str(data.get("message", "")),
                }
            )
        return out

    def _reply_sync(self, parent: str, body: str, check: bool, since: datetime | None) -> dict[str, Any]:
        if check:
            existing = self._find_reply_sync(parent, body, since)
            if existing is not None:
                log.info("reddit: reply to %s already exists, not posting again", parent)
                return existing
        comment = self._thing(parent).reply(body)
        if comment is None:
            raise ActionError("Reddit accepted the reply but did not return it", retryable=True)
        return self._reply_result(thing_data(comment))

    def _find_reply_sync(self, parent: str, body: str, since: datetime | None) -> dict[str, Any] | None:
        """Our account's recent comment on ``parent`` with this body, if a lost response hid it from us."""
        reddit = self._praw()
        if not self._username:
            self._username = str(vars(reddit.user.me()).get("name"))
        # Our clock and Reddit's may disagree: allow some slack before the action was queued.
        earliest = since.timestamp() - _CLOCK_SLACK if since is not None else 0.0
        for comment in reddit.redditor(self._username).comments.new(limit=100):
            data = thing_data(comment)
            if float(data.get("created_utc") or 0.0) < earliest:
                break
            if data.get("parent_id") == parent and str(data.get("body", "")).strip() == body.strip():
                return self._reply_result(data)
        return None

    def _reply_result(self, data: Mapping[str, Any]) -> dict[str, Any]:
        permalink = str(data.get("permalink") or "")
        return {
            "platform_id": str(data.get("name") or f"t1_{data.get('id')}"),
            "url": self._www_url + permalink if permalink else "",
            "parent_id": str(data.get("link_id") or ""),
        }

    def _register_requestor(self, requestor: prawcore.Requestor) -> None:
        self._requestor = requestor

    def _close_sync(self) -> None:
        requestor, self._requestor = self._requestor, None
        self._reddit = None
        self._streams = {}
        if requestor is not None:
            with contextlib.suppress(Exception):
                requestor.close()

    # -- removals -------------------------------------------------------------------------------------------

    async def _execute_remove(self, action: OutboxAction, target: str) -> dict[str, Any]:
        """Remove, then tell the member if the moderator chose to; each step finds what an earlier attempt
        did (see ``_remove_sync`` and ``_removal_message_sync``)."""
        payload = action.payload or {}
        reason_id = str(payload.get("reason_id") or "").strip() or None
        mod_note = str(payload.get("mod_note") or "").strip()
        spam = bool(payload.get("spam", False))
        message = _removal_message(payload.get("message"))  # checked before anything is done on Reddit
        author = await self._call(partial(self._remove_sync, target, reason_id, mod_note, spam))
        result: dict[str, Any] = {
            "platform_id": target,
            "removed": True,
            "reason_id": reason_id,
            "mod_note": mod_note,
        }
        if message is None:
            return result
        key = action.idempotency_key
        sent = self._removal_messages.get(key)
        if sent is None:
            try:
                sent = await self._call(
                    partial(self._removal_message_sync, target, author, message, action.created_at)
                )
            except Exception as exc:
                error = exc if isinstance(exc, ActionError) else _action_error(exc)
                raise ActionError(
                    f"Removed, but telling the member failed: {error.message}",
                    retryable=error.retryable,
                    retry_after=error.retry_after,
                ) from None
            self._removal_messages[key] = sent
        result["message"] = dict(sent)
        return result

    # -- replies --------------------------------------------------------------------------------------------

    async def _execute_reply(self, action: OutboxAction) -> dict[str, Any]:
        key = action.idempotency_key
        done = self._replies.get(key)
        if done is not None:
            return dict(done)
        payload = action.payload or {}
        parent = str(payload.get("parent") or action.target)
        body = str(payload.get("body") or "")
        if not body.strip():
            raise ActionError("The reply is empty", retryable=False)
        # Look on Reddit first for the reply a lost response (or a crash before the outbox stored the result)
        # may have hidden. The outbox counts the first try as attempt 1 and a moderator's "try again" resets
        # the count, so attempts cannot tell a retry apart: one cheap read per reply is the safe price.
        result = await self._call(partial(self._reply_sync, parent, body, True, action.created_at))
        self._replies[key] = result
        return dict(result)


class _MissingCredentials(Exception):
    pass


def _removal_message(raw: Any) -> dict[str, Any] | None:
    """The removal message of a ``remove`` payload, checked: None when the member is not to be told."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ActionError("The removal message is not readable", retryable=False)
    kind = str(raw.get("type") or "")
    if kind in ("", "none"):
        return None
    if kind not in REMOVAL_MESSAGE_TYPES:
        raise ActionError(f"Reddit cannot send a removal message as '{kind}'", retryable=False)
    text = str(raw.get("text") or "")
    if not text.strip():
        raise ActionError("The message to the member is empty", retryable=False)
    if len(text) > REMOVAL_MESSAGE_MAX:
        too_long = f"The message to the member is over {REMOVAL_MESSAGE_MAX} characters"
        raise ActionError(too_long, retryable=False)
    return {"type": kind, "text": text, "title": str(raw.get("title") or ""), "lock": bool(raw.get("lock"))}


def _author_name(value: Any) -> str:
    """A username from a praw ``Redditor`` or a string; ``[deleted]`` for none (read without a fetch)."""
    if value is None:
        return DELETED
    if isinstance(value, str):
        return value
    return str(vars(value).get("name") or DELETED)


def _modmail_time(text: Any) -> float:
    """A modmail message's ISO date as a timestamp; 0 when it cannot be read (never newer than anything)."""
    try:
        return datetime.fromisoformat(str(text).replace("+0000", "+00:00")).timestamp()
    except ValueError:
        return 0.0


class RedditUnavailable(Exception):
    """Reddit could not be read; the message is plain words for the moderator."""


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def _classify(exc: BaseException, subreddit: str) -> tuple[bool, str, float | None]:
    """(fatal, plain reason, retry_after) for a failure of the polling loop."""
    if isinstance(exc, _MissingCredentials | praw.exceptions.MissingRequiredAttributeException):
        return True, "Reddit app credentials are incomplete", None
    if isinstance(exc, prawcore.exceptions.OAuthException):
        return True, f"{CREDENTIALS_REJECTED} (the account login or refresh token was refused)", None
    if isinstance(exc, prawcore.exceptions.InsufficientScope):
        return True, f"{CREDENTIALS_REJECTED} (missing permissions)", None
    if isinstance(exc, prawcore.exceptions.Forbidden):
        return True, f"Reddit refused access: is the account a moderator of r/{subreddit}?", None
    if isinstance(exc, prawcore.exceptions.NotFound | prawcore.exceptions.Redirect):
        return True, f"Reddit has no subreddit r/{subreddit}", None
    if isinstance(exc, prawcore.exceptions.TooManyRequests):
        return False, "Reddit asked us to slow down", _retry_after(exc)
    if isinstance(exc, prawcore.exceptions.ServerError):
        return False, f"Reddit is having trouble (HTTP {_status(exc)})", None
    if isinstance(exc, prawcore.exceptions.RequestException):
        return False, "Cannot reach Reddit", None
    if isinstance(exc, prawcore.exceptions.ResponseException):
        if _status(exc) == 401:
            return True, CREDENTIALS_REJECTED, None
        return False, f"Reddit answered with HTTP {_status(exc)}", None
    log.error("reddit: unexpected error", exc_info=exc)
    return False, f"Unexpected error talking to Reddit ({type(exc).__name__})", None


def _retry_after(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after", None)
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _action_error(exc: BaseException) -> ActionError:
    """Plain words for a failed action, and whether trying again may help."""
    if isinstance(exc, prawcore.exceptions.TooManyRequests):
        return ActionError("Reddit asked us to slow down", retryable=True, retry_after=_retry_after(exc))
    if isinstance(exc, prawcore.exceptions.ServerError):
        return ActionError(f"Reddit is having trouble (HTTP {_status(exc)})", retryable=True)
    if isinstance(exc, prawcore.exceptions.RequestException):
        if isinstance(exc.original_exception, UnconfirmedWrite):
            return ActionError("Reddit did not answer; it will be checked and retried", retryable=True)
        return ActionError("Cannot reach Reddit", retryable=True)
    if isinstance(exc, prawcore.exceptions.OAuthException | _MissingCredentials):
        return ActionError(CREDENTIALS_REJECTED, retryable=False)
    if isinstance(exc, prawcore.exceptions.Forbidden):
        return ActionError("Reddit refused: the account may not do this here", retryable=False)
    if isinstance(exc, prawcore.exceptions.NotFound):
        return ActionError("Reddit could not find that post or comment", retryable=False)
    if isinstance(exc, prawcore.exceptions.BadRequest):
        return ActionError("Reddit rejected the request as invalid", retryable=False)
    if isinstance(exc, praw.exceptions.RedditAPIException):
        kinds = {item.error_type for item in exc.items}
        if "RATELIMIT" in kinds:
            return ActionError("Reddit asked us to slow down", retryable=True)
        if kinds & {"DELETED_COMMENT", "DELETED_LINK", "THREAD_LOCKED", "TOO_OLD"}:
            return ActionError("That post or comment can no longer be replied to", retryable=False)
        return ActionError("Reddit refused the action (" + ", ".join(sorted(kinds)) + ")", retryable=False)
    if isinstance(exc, prawcore.exceptions.ResponseException):
        if _status(exc) == 401:
            return ActionError(CREDENTIALS_REJECTED, retryable=False)
        return ActionError(f"Reddit answered with HTTP {_status(exc)}", retryable=False)
    log.error("reddit: unexpected error in an action", exc_info=exc)
    return ActionError(f"Unexpected error talking to Reddit ({type(exc).__name__})", retryable=False)


__all__ = [
    "CREDENTIALS_REJECTED",
    "REMOVAL_MESSAGE_MAX",
    "REMOVAL_MESSAGE_TYPES",
    "USER_AGENT",
    "ConnectionProblem",
    "RedditConnector",
    "RedditUnavailable",
    "UnconfirmedWrite",
    "report_reasons",
]
