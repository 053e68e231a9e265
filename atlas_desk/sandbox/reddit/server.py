"""The Reddit sandbox: OAuth token endpoint and the REST endpoints praw uses, on a loopback aiohttp server.

Shapes follow the recorded exchanges in ``reference/reddit/cassettes`` (listings, things, ``json.data.things``
for new comments, removal reasons). One base URL serves as praw's ``oauth_url``, ``reddit_url`` and
``short_url``. ``x-ratelimit-*`` headers are left out on purpose: prawcore sleeps (blocking) on them.

The state is a flat table of things (posts ``t3_`` and comments ``t1_``) in creation order, which is what
every listing is a view of. Routes are registered in ``_routes`` so later features (modmail conversations) add
their own without touching the rest.

Removal messages (``POST /api/v1/modactions/removal_link_message`` and ``removal_comment_message``, which
praw's ``mod.send_removal_message`` calls) follow praw's recorded exchanges: ``public`` answers with the new
comment as a bare thing (distinguished as a moderator's, stickied under a post); the ``private`` kinds answer
``{}`` and start a modmail conversation with the member. Reddit adds "human-readable information about the
object" to a private message; the sandbox adds a line linking the removed item, so a client cannot expect the
text verbatim.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import logging
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import web

from atlas_desk.sandbox.http import start_app
from atlas_desk.sandbox.model import Community, RedditComment, RedditPost

log = logging.getLogger("atlas_desk.sandbox.reddit")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DEFAULT_CLIENT_ID = "atlas-desk-sandbox"
DEFAULT_CLIENT_SECRET = "sandbox-secret-2f9c41"
DEFAULT_USERNAME = "AtlasDeskMod"
DEFAULT_PASSWORD = "sandbox-password-77a1"
SUBREDDIT_ID = "t5_atlas1"
# Base36 starting points for new ids; well above anything the seeded community uses.
_POST_ID_START = int("t00000", 36)
_COMMENT_ID_START = int("z00000", 36)

DEFAULT_REMOVAL_REASONS: tuple[tuple[str, str, str], ...] = (
    ("110nhral8vygf", "Be Kind", "Rule 2 - Be kind and respectful to others."),
    ("110nhk2cgmaxy", "Off topic", "This subreddit is for the Atlas app. Please post elsewhere."),
    ("110nhyk34m01d", "Spam", "Self-promotion and spam are not allowed here."),
    ("110nib8nlsz79", "Duplicate", "This has been asked before; please search before posting."),
)

_UNAUTHORIZED_HEADERS = {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'}


def _b36(n: int) -> str:
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = chars[r] + out
        if n == 0:
            return out


def _slug(title: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")
    return words[:50] or "post"


def _md_html(text: str) -> str:
    """Reddit's rendering, crudely: escaped paragraphs. Never used by the desk, present for shape only."""
    paras = "".join(f"<p>{html.escape(p)}</p>\n" for p in text.split("\n\n") if p)
    return f'<div class="md">{paras}</div>'


@dataclass(slots=True)
class _Thing:
    """A post or a comment as the sandbox holds it."""

    kind: str  # "t3" | "t1"
    id: str
    author: str
    created_utc: float
    body: str  # selftext for posts
    title: str = ""  # posts only
    flair: str = ""
    link_id: str = ""  # comments: the post fullname
    parent_id: str = ""  # comments: the direct parent's fullname
    score: int = 1
    user_reports: list[list[Any]] = field(default_factory=list)  # [[reason, count], ...]
    mod_reports: list[list[str]] = field(default_factory=list)  # [[reason, moderator], ...]
    approved_by: str | None = None
    removed: bool = False
    spam: bool = False
    removal_reason_id: str | None = None
    mod_note: str | None = None
    distinguished: str | None = None  # "moderator" for a moderator's distinguished comment
    stickied: bool = False
    locked: bool = False

    @property
    def fullname(self) -> str:
        return f"{self.kind}_{self.id}"

    @property
    def reported(self) -> bool:
        return bool(self.user_reports or self.mod_reports)


@dataclass(slots=True)
class _Fault:
    prefix: str
    status: int
    remaining: int
    after: bool  # True: perform the request, then answer the error (the response is "lost")
    retry_after: float | None


class RequestHold:
    """A request held by the sandbox until ``release``: before it is carried out, or (``after``) once it was
    carried out and before it is answered, which is what a client that dies at that moment has seen.

    ``reached`` is set when the request arrives; ``release`` may be called from any thread.
    """

    def __init__(self, prefix: str, after: bool) -> None:
        self.prefix = prefix
        self.after = after
        self.reached = threading.Event()
        self.taken = False
        self._released = threading.Event()
        self._lock = threading.Lock()
        self._wakeup: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    async def wait(self) -> None:
        event = asyncio.Event()
        with self._lock:
            self._wakeup = (asyncio.get_running_loop(), event)
            if self._released.is_set():
                event.set()
        self.reached.set()
        await event.wait()

    def release(self) -> None:
        with self._lock:
            self._released.set()
            if self._wakeup is not None:
                loop, event = self._wakeup
                if not loop.is_closed():
                    loop.call_soon_threadsafe(event.set)


class RedditSandbox:
    """A loopback Reddit for one subreddit of a seeded community."""

    def __init__(
        self,
        community: Community,
        *,
        host: str = "127.0.0.1",
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        username: str = DEFAULT_USERNAME,
        password: str = DEFAULT_PASSWORD,
        poll_seconds: float = 5,
        token_ttl: int = 3600,
    ) -> None:
        self.community = community
        self.host = host
        self.subreddit = community.subreddit
        self.client_id = client_id
        self.client_secret = client_secret
        self.username = username
        self.password = password
        self.poll_seconds = poll_seconds
        self.token_ttl = token_ttl
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._things: dict[str, _Thing] = {}  # fullname -> thing, in creation order
        self._num_comments: Counter[str] = Counter()  # post fullname -> comments, kept as things are added
        self._tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> username
        self._faults: list[_Fault] = []
        self._holds: list[RequestHold] = []
        self._stall = 0.0
        self._last_created = 0.0
        self._next_post = _POST_ID_START
        self._next_comment = _COMMENT_ID_START
        self.removal_reasons: dict[str, dict[str, str]] = {
            rid: {"id": rid, "title": title, "message": message}
            for rid, title, message in DEFAULT_REMOVAL_REASONS
        }
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, for tests
        # Every removal message sent, in order: item, type, title, message, and the comment or conversation.
        self.removal_messages: list[dict[str, Any]] = []
        self._load(community.posts)
        from atlas_desk.sandbox.reddit.modmail import SandboxModmail

        self.modmail = SandboxModmail(self)

    # -- lifecycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start listening on ``host`` with a free port."""
        app = web.Application(middlewares=[self._middleware])
        for method, path, handler in self._routes():
            app.router.add_route(method, path, handler)
        self._runner, self.port = await start_app(app, self.host)
        log.info("reddit sandbox for r/%s at %s", self.subreddit, self.url)

    async def stop(self) -> None:
        """Stop listening. Safe to call twice. Held requests are let go first, so none keeps the server up."""
        for hold in self._holds:
            hold.release()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment variables pointing the desk at this sandbox."""
        return {
            "ATLAS_DESK_REDDIT_URL": self.url,
            "ATLAS_DESK_REDDIT_CLIENT_ID": self.client_id,
            "ATLAS_DESK_REDDIT_CLIENT_SECRET": self.client_secret,
            "ATLAS_DESK_REDDIT_USERNAME": self.username,
            "ATLAS_DESK_REDDIT_PASSWORD": self.password,
        }

    def config(self) -> dict[str, Any]:
        """The ``[reddit]`` settings section for this sandbox."""
        return {"reddit": {"subreddit": self.subreddit, "poll_seconds": self.poll_seconds}}

    # -- seeding --------------------------------------------------------------------------------------------

    def _load(self, posts: Iterable[RedditPost]) -> None:
        pending: list[_Thing] = []
        for post in posts:
            t3 = _Thing(
                kind="t3",
                id=post.id,
                author=self._username(post.author_key),
                created_utc=post.created_at.timestamp(),
                body=post.selftext,
                title=post.title,
                flair=post.flair,
                score=post.score,
            )
            if post.reported:
                t3.user_reports.append([post.report_reason or "Reported", 1])
            pending.append(t3)
            pending.extend(self._load_comments(post.comments, t3.fullname))
        # Listings are views of creation order; seed in time order so "newest first" is true.
        pending.sort(key=lambda t: t.created_utc)
        for thing in pending:
            self._add(thing)
            self._last_created = max(self._last_created, thing.created_utc)
            n = int(thing.id, 36) if thing.id.isalnum() else 0
            if thing.kind == "t3":
                self._next_post = max(self._next_post, n + 1)
            else:
                self._next_comment = max(self._next_comment, n + 1)

    def _load_comments(self, comments: Iterable[RedditComment], link_id: str) -> list[_Thing]:
        out: list[_Thing] = []
        for c in comments:
            thing = _Thing(
                kind="t1",
                id=c.id,
                author=self._username(c.author_key),
                created_utc=c.created_at.timestamp(),
                body=c.body,
                link_id=link_id,
                parent_id=f"t1_{c.parent_id}" if c.parent_id else link_id,
                score=c.score,
            )
            if c.reported:
                thing.user_reports.append([c.report_reason or "Reported", 1])
            out.append(thing)
        return out

    def _username(self, author_key: str) -> str:
        for m in self.community.members:
            if m.key == author_key:
                return m.reddit_name or m.key
        return author_key  # already a username

    def _now(self) -> float:
        # Strictly increasing, so creation order and created_utc always agree.
        self._last_created = max(time.time(), self._last_created + 0.001)
        return round(self._last_created, 3)

    # -- test-facing ----------------------------------------------------------------------------------------

    def add_post(self, author_key: str, title: str, body: str, *, flair: str = "") -> str:
        """A member submits a self post; returns its fullname."""
        thing = _Thing(
            kind="t3",
            id=_b36(self._next_post),
            author=self._username(author_key),
            created_utc=self._now(),
            body=body,
            title=title,
            flair=flair,
        )
        self._next_post += 1
        self._add(thing)
        return thing.fullname

    def add_comment(self, post_id: str, author_key: str, body: str, *, parent: str | None = None) -> str:
        """A member comments on a post (or answers ``parent``, a comment fullname); returns the fullname."""
        link_id = post_id if post_id.startswith("t3_") else f"t3_{post_id}"
        if link_id not in self._things:
            raise KeyError(link_id)
        thing = _Thing(
            kind="t1",
            id=_b36(self._next_comment),
            author=self._username(author_key),
            created_utc=self._now(),
            body=body,
            link_id=link_id,
            parent_id=parent or link_id,
        )
        self._next_comment += 1
        self._add(thing)
        return thing.fullname

    def _add(self, thing: _Thing) -> None:
        self._things[thing.fullname] = thing
        if thing.kind == "t1":
            self._num_comments[thing.link_id] += 1

    def report(self, fullname: str, reason: str, *, moderator: str | None = None) -> None:
        """A member (or, with ``moderator``, a moderator) reports a thing; it enters the mod queue."""
        thing = self._things[fullname]
        if moderator:
            thing.mod_reports.append([reason, moderator])
            return
        for entry in thing.user_reports:
            if entry[0] == reason:
                entry[1] += 1
                return
        thing.user_reports.append([reason, 1])

    def replies_to(self, fullname: str) -> list[dict[str, Any]]:
        """Direct replies to a thing, oldest first."""
        return [
            {"fullname": t.fullname, "author": t.author, "body": t.body, "created_utc": t.created_utc}
            for t in self._things.values()
            if t.kind == "t1" and t.parent_id == fullname
        ]

    def removed(self) -> dict[str, dict[str, Any]]:
        """Removed things: fullname -> {"spam", "reason_id", "mod_note"}."""
        return {
            t.fullname: {"spam": t.spam, "reason_id": t.removal_reason_id, "mod_note": t.mod_note}
            for t in self._things.values()
            if t.removed
        }

    def approved(self) -> set[str]:
        """Fullnames of approved things."""
        return {t.fullname for t in self._things.values() if t.approved_by and not t.removed}

    def thing(self, fullname: str) -> dict[str, Any]:
        """A thing in its API shape (as a moderator sees it)."""
        return self._thing_json(self._things[fullname])

    def issue_refresh_token(self, username: str | None = None) -> str:
        """What the OAuth code flow yields: a refresh token for ``username`` (default: the desk account)."""
        token = secrets.token_urlsafe(18)
        self._refresh_tokens[token] = username or self.username
        return token

    def expire_tokens(self) -> None:
        """Invalidate every access token: the next API call gets a 401 and praw fetches a new one."""
        self._tokens.clear()

    def fail_next(
        self,
        path_prefix: str,
        status: int,
        count: int = 1,
        *,
        after: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``count`` requests under ``path_prefix`` with ``status`` (5xx, 429, ...).

        With ``after=True`` the request is carried out first and only its response is replaced: the client
        sees a failure for something that happened. ``retry_after`` sets the 429 ``Retry-After`` header.
        """
        prefix = path_prefix if path_prefix.startswith("/") else "/" + path_prefix
        self._faults.append(_Fault(prefix, status, count, after, retry_after))

    def hold_next(self, path_prefix: str, *, after: bool = False) -> RequestHold:
        """Hold the next request under ``path_prefix`` until the returned hold is released.

        With ``after=True`` the request is carried out first and only its answer waits: a client killed while
        waiting saw nothing of what the platform did.
        """
        prefix = path_prefix if path_prefix.startswith("/") else "/" + path_prefix
        hold = RequestHold(prefix, after)
        self._holds.append(hold)
        return hold

    def comment_thread(self, fullname: str) -> list[dict[str, Any]]:
        """The comments under a post or a comment (any depth), oldest first, as a moderator sees them."""
        thing = self._things[fullname]
        link = thing.fullname if thing.kind == "t3" else thing.link_id
        under = {fullname}
        out: list[dict[str, Any]] = []
        for t in self._things.values():
            if t.kind == "t1" and t.link_id == link and t.parent_id in under:
                under.add(t.fullname)
                out.append(self._thing_json(t))
        return out

    def stall(self, seconds: float) -> None:
        """Delay every response by ``seconds`` (0 to stop)."""
        self._stall = max(0.0, seconds)

    async def simulate_activity(self, rng: random.Random) -> str:
        """Something new appears: a post (one time in four) or a comment. Returns its fullname."""
        authors = [m.key for m in self.community.members if m.reddit_name and not m.is_moderator] or [
            "atlas_user"
        ]
        posts = [t for t in self._things.values() if t.kind == "t3" and not t.removed]
        author = rng.choice(authors)
        if not posts or rng.random() < 0.25:
            topic = rng.choice(_TOPICS)
            title, body, flair = rng.choice(_POST_TEMPLATES)
            return self.add_post(author, title.format(topic=topic), body.format(topic=topic), flair=flair)
        post = rng.choice(posts[-30:])
        return self.add_comment(post.fullname, author, rng.choice(_COMMENTS))

    # -- HTTP plumbing --------------------------------------------------------------------------------------

    def _routes(self) -> list[tuple[str, str, Handler]]:
        routes: list[tuple[str, str, Handler]] = [
            ("POST", "/api/v1/access_token", self._access_token),
            ("GET", "/api/v1/me", self._me),
            ("GET", "/api/v1/{sub}/removal_reasons", self._removal_reasons),
            ("POST", "/api/v1/modactions/removal_reasons", self._set_removal_reason),
            ("POST", "/api/approve/", self._approve),
            ("POST", "/api/remove/", self._remove),
            ("POST", "/api/comment/", self._comment),
            ("POST", "/api/lock/", self._lock),
            ("POST", "/api/unlock/", self._unlock),
            ("POST", "/api/v1/modactions/removal_link_message", self._removal_link_message),
            ("POST", "/api/v1/modactions/removal_comment_message", self._removal_comment_message),
        ]
        # praw asks some paths with a trailing slash and some without; answer both.
        for path, handler in (
            ("/r/{sub}/new", self._new),
            ("/r/{sub}/comments", self._comments),
            ("/r/{sub}/about/modqueue", self._modqueue),
            ("/r/{sub}/about/reports", self._modqueue),
            ("/comments/{id}", self._submission),
            ("/comments/{id}/{slug}", self._submission),
            ("/api/info", self._info),
            ("/user/{name}/comments", self._user_comments),
        ):
            routes.append(("GET", path, handler))
            routes.append(("GET", path + "/", handler))
        routes.extend(self.modmail.routes())
        from atlas_desk.sandbox.reddit.submit import submit_routes  # the calendar's scheduled posts

        routes.extend(submit_routes(self))
        return routes

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        if self._stall:
            await asyncio.sleep(self._stall)
        hold = self._take_hold(request.path)
        if hold is not None and not hold.after:
            await hold.wait()
        fault = self._take_fault(request.path)
        if fault is not None and not fault.after:
            return self._fault_response(fault)
        if request.path != "/api/v1/access_token" and not self._authorized(request):
            return _json({"message": "Unauthorized", "error": 401}, status=401, headers=_UNAUTHORIZED_HEADERS)
        try:
            response = await handler(request)
        except web.HTTPException:
            raise
        except (KeyError, ValueError, json.JSONDecodeError):
            log.info("bad request to %s", request.path, exc_info=True)
            return _json({"message": "Bad Request", "error": 400}, status=400)
        if hold is not None and hold.after:
            await hold.wait()
        if fault is not None:
            return self._fault_response(fault)
        return response

    def _take_hold(self, path: str) -> RequestHold | None:
        for hold in self._holds:
            if path.startswith(hold.prefix) and not hold.taken:
                hold.taken = True  # kept in the list, so ``stop`` can still let it go
                return hold
        return None

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if path.startswith(fault.prefix) and fault.remaining > 0:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    @staticmethod
    def _fault_response(fault: _Fault) -> web.Response:
        headers: dict[str, str] = {}
        if fault.status == 429 and fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        reason = "Too Many Requests" if fault.status == 429 else "Server Error"
        return _json({"message": reason, "error": fault.status}, status=fault.status, headers=headers)

    def _authorized(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        expiry = self._tokens.get(token)
        return expiry is not None and expiry > time.monotonic()

    def _new_token(self) -> str:
        token = secrets.token_urlsafe(24)
        self._tokens[token] = time.monotonic() + self.token_ttl
        return token

    # -- OAuth ----------------------------------------------------------------------------------------------

    async def _access_token(self, request: web.Request) -> web.Response:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            client_id, secret = "", ""
        if scheme.lower() != "basic" or client_id != self.client_id or secret != self.client_secret:
            return _json({"message": "Unauthorized", "error": 401}, status=401)
        form = await request.post()
        grant = form.get("grant_type")
        payload: dict[str, Any] = {"token_type": "bearer", "expires_in": self.token_ttl, "scope": "*"}
        if grant == "password":
            if form.get("username") != self.username or form.get("password") != self.password:
                return _json({"error": "invalid_grant"})  # Reddit answers a bad login with 200
        elif grant == "refresh_token":
            refresh = str(form.get("refresh_token", ""))
            if refresh not in self._refresh_tokens:
                return _json({"error": "invalid_grant"})
            payload["refresh_token"] = refresh
        elif grant != "client_credentials":
            return _json({"error": "unsupported_grant_type"})
        payload["access_token"] = self._new_token()
        return _json(payload)

    async def _me(self, request: web.Request) -> web.Response:
        return _json(
            {
                "name": self.username,
                "id": "atlasmod1",
                "created_utc": 1600000000.0,
                "is_mod": True,
                "has_verified_email": True,
                "link_karma": 1,
                "comment_karma": 1,
                "icon_img": "",
                "is_suspended": False,
                "subreddit": None,
            }
        )

    # -- listings -------------------------------------------------------------------------------------------

    def _check_sub(self, request: web.Request) -> None:
        if request.match_info.get("sub", "").lower() != self.subreddit.lower():
            raise web.HTTPNotFound(
                text=json.dumps({"message": "Not Found", "error": 404}), content_type="application/json"
            )

    async def _new(self, request: web.Request) -> web.Response:
        self._check_sub(request)
        return self._listing(request, [t for t in self._newest_first() if t.kind == "t3"])

    async def _comments(self, request: web.Request) -> web.Response:
        self._check_sub(request)
        return self._listing(request, [t for t in self._newest_first() if t.kind == "t1"])

    async def _modqueue(self, request: web.Request) -> web.Response:
        self._check_sub(request)
        only = request.query.get("only")
        kinds = {"comments": {"t1"}, "links": {"t3"}}.get(only or "", {"t1", "t3"})
        queue = [t for t in self._newest_first() if t.kind in kinds and t.reported and not t.removed]
        return self._listing(request, queue)

    async def _user_comments(self, request: web.Request) -> web.Response:
        name = request.match_info["name"].lower()
        mine = [t for t in self._newest_first() if t.kind == "t1" and t.author.lower() == name]
        return self._listing(request, mine)

    def _newest_first(self) -> list[_Thing]:
        return list(reversed(self._things.values()))

    def _listing(self, request: web.Request, items: list[_Thing]) -> web.Response:
        """A Reddit listing page honouring ``limit``, ``after`` and ``before`` as Reddit does."""
        limit = max(1, min(100, int(request.query.get("limit", "25"))))
        before = request.query.get("before")
        after = request.query.get("after")
        names = [t.fullname for t in items]
        next_after: str | None = None
        if before:
            # The ``limit`` items just newer than ``before``; an unknown anchor gives an empty page.
            if before in names:
                idx = names.index(before)
                page = items[max(0, idx - limit) : idx]
            else:
                page = []
        else:
            start = names.index(after) + 1 if after and after in names else 0
            if after and after not in names:
                page = []
            else:
                page = items[start : start + limit]
                if start + limit < len(items) and page:
                    next_after = page[-1].fullname
        return _json(
            {
                "kind": "Listing",
                "data": {
                    "modhash": None,
                    "dist": len(page),
                    "children": [{"kind": t.kind, "data": self._thing_json(t)} for t in page],
                    "after": next_after,
                    "before": None,
                },
            }
        )

    async def _info(self, request: web.Request) -> web.Response:
        ids = [i for i in request.query.get("id", "").split(",") if i]
        found = [self._things[i] for i in ids if i in self._things]
        return _json(
            {
                "kind": "Listing",
                "data": {
                    "modhash": None,
                    "dist": len(found),
                    "children": [{"kind": t.kind, "data": self._thing_json(t)} for t in found],
                    "after": None,
                    "before": None,
                },
            }
        )

    async def _submission(self, request: web.Request) -> web.Response:
        fullname = "t3_" + request.match_info["id"]
        post = self._things.get(fullname)
        if post is None:
            return _json({"message": "Not Found", "error": 404}, status=404)
        children: dict[str, list[_Thing]] = {}
        for t in self._things.values():
            if t.kind == "t1" and t.link_id == fullname:
                children.setdefault(t.parent_id, []).append(t)

        def tree(parent: str, depth: int) -> list[dict[str, Any]]:
            out = []
            # A stickied comment (a moderator's removal reply) leads the thread, as on Reddit.
            for c in sorted(children.get(parent, []), key=lambda c: not c.stickied):
                data = self._thing_json(c)
                data["depth"] = depth
                replies = tree(c.fullname, depth + 1)
                data["replies"] = (
                    {"kind": "Listing", "data": {"children": replies, "after": None, "before": None}}
                    if replies
                    else ""
                )
                out.append({"kind": "t1", "data": data})
            return out

        return _json(
            [
                {
                    "kind": "Listing",
                    "data": {
                        "modhash": None,
                        "children": [{"kind": "t3", "data": self._thing_json(post)}],
                        "after": None,
                        "before": None,
                    },
                },
                {
                    "kind": "Listing",
                    "data": {"modhash": None, "children": tree(fullname, 0), "after": None, "before": None},
                },
            ]
        )

    # -- moderation and replies -----------------------------------------------------------------------------

    async def _approve(self, request: web.Request) -> web.Response:
        form = await request.post()
        thing = self._things.get(str(form.get("id", "")))
        if thing is None:
            return _json({"message": "Not Found", "error": 404}, status=404)
        thing.approved_by = self.username
        thing.removed = False
        thing.spam = False
        # Approving clears the reports, as on Reddit: the item leaves the queue until reported again.
        thing.user_reports.clear()
        thing.mod_reports.clear()
        return _json({})

    async def _remove(self, request: web.Request) -> web.Response:
        form = await request.post()
        thing = self._things.get(str(form.get("id", "")))
        if thing is None:
            return _json({"message": "Not Found", "error": 404}, status=404)
        thing.removed = True
        thing.spam = str(form.get("spam", "False")).lower() == "true"
        thing.approved_by = None
        return _json({})

    async def _removal_reasons(self, request: web.Request) -> web.Response:
        self._check_sub(request)
        return _json({"data": self.removal_reasons, "order": list(self.removal_reasons)})

    async def _set_removal_reason(self, request: web.Request) -> web.Response:
        form = await request.post()
        data = json.loads(str(form["json"]))
        reason_id = data.get("reason_id")
        if reason_id is not None and reason_id not in self.removal_reasons:
            return _json({"message": "Bad Request", "error": 400, "reason": "INVALID_ID"}, status=400)
        for fullname in data.get("item_ids", [])[:1]:  # Reddit only uses the first id
            thing = self._things.get(fullname)
            if thing is None or not thing.removed:
                return _json({"json": {"errors": [["INVALID_ID", "that item is not removed", "item_ids"]]}})
            thing.removal_reason_id = reason_id
            thing.mod_note = data.get("mod_note") or None
        return web.Response(status=200, body=b"", headers={"Content-Type": "application/json"})

    async def _comment(self, request: web.Request) -> web.Response:
        form = await request.post()
        parent = self._things.get(str(form.get("thing_id", "")))
        text = str(form.get("text", ""))
        if parent is None or parent.removed:
            errors = [["DELETED_COMMENT", "that comment has been deleted", "parent"]]
            return _json({"json": {"errors": errors}})
        if not text.strip():
            return _json({"json": {"errors": [["NO_TEXT", "we need something here", "text"]]}})
        link_id = parent.fullname if parent.kind == "t3" else parent.link_id
        fullname = self.add_comment(link_id, self.username, text, parent=parent.fullname)
        thing = self._things[fullname]
        things = [{"kind": "t1", "data": self._thing_json(thing)}]
        return _json({"json": {"errors": [], "data": {"things": things}}})

    async def _lock(self, request: web.Request) -> web.Response:
        return await self._set_locked(request, True)

    async def _unlock(self, request: web.Request) -> web.Response:
        return await self._set_locked(request, False)

    async def _set_locked(self, request: web.Request, locked: bool) -> web.Response:
        form = await request.post()
        thing = self._things.get(str(form.get("id", "")))
        if thing is None:
            return _json({"message": "Not Found", "error": 404}, status=404)
        thing.locked = locked
        return _json({})

    # -- removal messages -----------------------------------------------------------------------------------

    async def _removal_link_message(self, request: web.Request) -> web.Response:
        return await self._removal_message(request, "t3")

    async def _removal_comment_message(self, request: web.Request) -> web.Response:
        return await self._removal_message(request, "t1")

    async def _removal_message(self, request: web.Request, kind: str) -> web.Response:
        """Tell a removed item's author why: a distinguished reply, or a modmail from the subreddit."""
        if request.content_type == "application/json":
            data = await request.json()  # Reddit's own clients send the JSON as the body
        else:
            form = await request.post()
            data = json.loads(str(form["json"]))  # praw sends it as a form field named ``json``
        ids = data.get("item_id")
        fullname = str(ids[0]) if isinstance(ids, list) and ids else ""  # Reddit only uses the first id
        thing = self._things.get(fullname)
        kind_of_message = str(data.get("type") or "public")
        message = str(data.get("message") or "")
        title = str(data.get("title") or "")
        if thing is None or thing.kind != kind or not thing.removed:
            return _api_error("INVALID_ID", "The specified id is invalid", "item_id")
        if kind_of_message not in ("public", "public_as_subreddit", "private", "private_exposed"):
            return _api_error("INVALID_OPTION", "that option is not valid", "type")
        if not message.strip():
            return _api_error("NO_TEXT", "we need something here", "message")
        record: dict[str, Any] = {
            "item": fullname,
            "type": kind_of_message,
            "title": title,
            "message": message,
            "comment": None,
            "conversation": None,
        }
        if kind_of_message.startswith("public"):
            author = self.username if kind_of_message == "public" else f"{self.subreddit}-ModTeam"
            reply = self._removal_reply(thing, author, message, bool(data.get("lock_comment")))
            record["comment"] = reply.fullname
            self.removal_messages.append(record)
            return _json(self._thing_json(reply))  # a bare thing, not wrapped in a listing
        if not title.strip():
            return _api_error("NO_TEXT", "we need something here", "title")
        noun = "post" if thing.kind == "t3" else "comment"
        body = f"{message}\n\n---\n\n[Your {noun}]({self.url}{self._permalink(thing)}) in r/{self.subreddit}"
        record["conversation"] = self.modmail.moderator_message(
            thing.author, title, body, moderator=self.username, hidden=kind_of_message == "private"
        )
        self.removal_messages.append(record)
        return _json({})

    def _removal_reply(self, thing: _Thing, author: str, text: str, lock: bool) -> _Thing:
        link_id = thing.fullname if thing.kind == "t3" else thing.link_id
        reply = _Thing(
            kind="t1",
            id=_b36(self._next_comment),
            author=author,
            created_utc=self._now(),
            body=text,
            link_id=link_id,
            parent_id=thing.fullname,
            distinguished="moderator",
            # Only a top-level comment can be stickied; a post has one sticky, so the newest replaces it.
            stickied=thing.kind == "t3",
            locked=lock,
        )
        if reply.stickied:
            for other in self._things.values():
                if other.kind == "t1" and other.link_id == link_id and other.stickied:
                    other.stickied = False
        self._next_comment += 1
        self._add(reply)
        return reply

    # -- shapes ---------------------------------------------------------------------------------------------

    def _permalink(self, thing: _Thing) -> str:
        if thing.kind == "t3":
            return f"/r/{self.subreddit}/comments/{thing.id}/{_slug(thing.title)}/"
        post = self._things.get(thing.link_id)
        slug = _slug(post.title) if post else "post"
        return f"/r/{self.subreddit}/comments/{thing.link_id[3:]}/{slug}/{thing.id}/"

    def _thing_json(self, t: _Thing) -> dict[str, Any]:
        num_reports = sum(int(r[1]) for r in t.user_reports) + len(t.mod_reports)
        common: dict[str, Any] = {
            "id": t.id,
            "name": t.fullname,
            "author": t.author,
            "author_fullname": "t2_" + quote(t.author.lower(), safe=""),
            "author_flair_text": None,
            "author_flair_css_class": None,
            "subreddit": self.subreddit,
            "subreddit_id": SUBREDDIT_ID,
            "subreddit_name_prefixed": f"r/{self.subreddit}",
            "created": t.created_utc,
            "created_utc": t.created_utc,
            "score": t.score,
            "ups": t.score,
            "downs": 0,
            "likes": None,
            "saved": False,
            "gilded": 0,
            "archived": False,
            "edited": False,
            "stickied": t.stickied,
            "locked": t.locked,
            "distinguished": t.distinguished,
            "permalink": self._permalink(t),
            "user_reports": [list(r) for r in t.user_reports],
            "mod_reports": [list(r) for r in t.mod_reports],
            "num_reports": num_reports,
            "report_reasons": None,
            "approved_by": t.approved_by,
            "approved": bool(t.approved_by) and not t.removed,
            "banned_by": self.username if t.removed else None,
            "removed": t.removed,
            "spam": t.spam,
            "removal_reason": None,
            "mod_note": t.mod_note,
            "mod_reason_title": (self.removal_reasons.get(t.removal_reason_id or "") or {}).get("title"),
        }
        if t.kind == "t3":
            num_comments = self._num_comments[t.fullname]
            common.update(
                {
                    "title": t.title,
                    "selftext": t.body,
                    "selftext_html": f"<!-- SC_OFF -->{_md_html(t.body)}<!-- SC_ON -->" if t.body else None,
                    "link_flair_text": t.flair or None,
                    "link_flair_css_class": None,
                    "is_self": True,
                    "domain": f"self.{self.subreddit}",
                    "url": self.url + self._permalink(t),
                    "num_comments": num_comments,
                    "over_18": False,
                    "spoiler": False,
                    "hidden": False,
                    "clicked": False,
                    "visited": False,
                    "thumbnail": "self",
                    "media": None,
                    "media_embed": {},
                    "secure_media": None,
                    "secure_media_embed": {},
                    "contest_mode": False,
                    "suggested_sort": None,
                    "quarantine": False,
                    "hide_score": False,
                    "upvote_ratio": 1.0,
                }
            )
        else:
            post = self._things.get(t.link_id)
            common.update(
                {
                    "body": t.body,
                    "body_html": _md_html(t.body),
                    "link_id": t.link_id,
                    "parent_id": t.parent_id,
                    "link_title": post.title if post else "",
                    "link_author": post.author if post else "[deleted]",
                    "link_permalink": self.url + self._permalink(post) if post else "",
                    "link_url": self.url + self._permalink(post) if post else "",
                    "is_submitter": bool(post and post.author == t.author),
                    "replies": "",
                    "controversiality": 0,
                    "score_hidden": False,
                    "collapsed": False,
                    "over_18": False,
                    "quarantine": False,
                }
            )
        return common


def _api_error(reason: str, explanation: str, field_name: str) -> web.Response:
    """A 400 in the shape of Reddit's v1 endpoints, which praw raises as ``RedditAPIException``."""
    body = {"reason": reason, "explanation": explanation, "fields": [field_name], "message": "Bad Request"}
    return _json(body, status=400)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(data, ensure_ascii=False).encode("utf-8"),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json; charset=UTF-8"},
    )


# Text for live activity. Plain community talk about the Atlas app.
_TOPICS = ("offline maps", "dark mode", "route sharing", "the widget", "sync", "battery use", "search")
_POST_TEMPLATES = (
    ("Feature request: better {topic}", "I wish {topic} synced across devices.", "Feature Request"),
    ("Is {topic} broken for anyone else?", "Since the last update {topic} doesn't load for me.", "Help"),
    ("Tip: getting more out of {topic}", "Long-press the map to pin {topic} to the home screen.", "Tips"),
    ("Suggestion: {topic} shortcuts", "A quick toggle for {topic} would save a lot of taps.", "Suggestion"),
    ("Love the new {topic}", "Just wanted to say thanks to the team for {topic}.", ""),
)
_COMMENTS = (
    "Same here, started after the update.",
    "Have you tried clearing the cache? Fixed it for me.",
    "+1, would use this every day.",
    "Works fine on Android 14 for me.",
    "The devs mentioned this on Discord last week.",
    "Great tip, thanks!",
    "Any workaround until it's fixed?",
)
