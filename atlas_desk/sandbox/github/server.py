"""A loopback GitHub: REST v3 (issues, comments, reactions, events) and GraphQL (Discussions).

Real PyGithub talks to it with ``Github(base_url="http://127.0.0.1:PORT/api/v3")``. Shapes follow GitHub's
(see the PyGithub replay data), and every URL in a response uses the sandbox's own scheme, host and port
because PyGithub refuses to follow URLs to another host. Every GET answers with an ETag; a matching
``If-None-Match`` gets a bodiless 304, so polling an unchanged resource costs nothing. GraphQL runs with
graphql-core against ``graphql_schema.SDL``, a subset of GitHub's public schema. Discussion replies thread
one level deep as on GitHub: ``Discussion.comments`` lists top-level comments, each comment's ``replies`` its
thread, and ``addDiscussionComment`` refuses a ``replyToId`` that is itself a reply.

State lives on the event loop that runs the server: the test-facing methods (``add_issue_comment`` ...)
must be called from that loop's thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from graphql import FieldNode, GraphQLError, OperationDefinitionNode, graphql_sync, parse

from atlas_desk.sandbox.github.graphql_schema import schema as graphql_schema
from atlas_desk.sandbox.github.projects import (
    DraftIssueView,
    GraphQLRefusal,
    ItemView,
    ProjectBoard,
    ProjectRootMixin,
    ProjectView,
    issue_extras,
)
from atlas_desk.sandbox.http import json_dumps, start_app
from atlas_desk.sandbox.model import Community

log = logging.getLogger("atlas_desk.sandbox.github")

API_PREFIX = "/api/v3"
_MAX_RECORDS = 50_000
_OPERATION_RE = re.compile(r"^\s*(query|mutation)\s+(\w+)")
GRAPHQL_PATH = "/api/graphql"
CATEGORIES = (
    # name, slug, emoji, answerable, description
    ("Announcements", "announcements", ":mega:", False, "Updates from the Atlas team"),
    ("General", "general", ":speech_balloon:", False, "Chat about anything Atlas"),
    ("Ideas", "ideas", ":bulb:", False, "Share ideas for new features"),
    ("Q&A", "q-a", ":pray:", True, "Ask the community for help"),
)
REACTION_KEYS = ("+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes")
GRAPHQL_REACTION = {
    "+1": "THUMBS_UP",
    "-1": "THUMBS_DOWN",
    "laugh": "LAUGH",
    "hooray": "HOORAY",
    "confused": "CONFUSED",
    "heart": "HEART",
    "rocket": "ROCKET",
    "eyes": "EYES",
}


def iso(dt: datetime) -> str:
    """GitHub's timestamp format: UTC, whole seconds, trailing Z."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse a GitHub ISO 8601 timestamp (``...Z`` or with an offset)."""
    dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


# ----------------------------------------------------------------------------------------------------
# State


@dataclass(slots=True)
class GhUser:
    login: str
    id: int
    node_id: str
    name: str = ""


@dataclass(slots=True)
class GhReaction:
    id: int
    content: str  # REST spelling: "+1", "heart", ...
    login: str
    created_at: datetime


@dataclass(slots=True)
class GhIssueComment:
    id: int
    node_id: str
    issue_number: int
    login: str
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass(slots=True)
class GhIssue:
    number: int
    id: int
    node_id: str
    title: str
    body: str
    login: str
    created_at: datetime
    updated_at: datetime
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    state: str = "open"
    closed_at: datetime | None = None
    locked: bool = False
    reactions: list[GhReaction] = field(default_factory=list)
    comment_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class GhCategory:
    node_id: str
    name: str
    slug: str
    emoji: str
    answerable: bool
    description: str
    created_at: datetime


@dataclass(slots=True)
class GhDiscussionComment:
    node_id: str
    database_id: int
    discussion_number: int
    login: str
    body: str
    created_at: datetime
    updated_at: datetime
    upvotes: int = 0
    reply_to: str | None = None  # the top-level comment this one replies to (GitHub nests one level)
    reply_ids: list[str] = field(default_factory=list)  # this comment's replies, oldest first


@dataclass(slots=True)
class GhDiscussion:
    number: int
    node_id: str
    database_id: int
    category: str
    title: str
    body: str
    login: str
    created_at: datetime
    updated_at: datetime
    upvotes: int = 0
    comment_ids: list[str] = field(default_factory=list)
    locked: bool = False
    lock_reason: str | None = None
    answer_id: str | None = None
    reactions: list[GhReaction] = field(default_factory=list)


@dataclass(slots=True)
class GhEvent:
    id: int
    type: str
    login: str
    created_at: datetime
    payload: dict[str, Any]


@dataclass(slots=True)
class RequestRecord:
    """One request as the sandbox saw it (tests count these)."""

    method: str
    path: str  # without the /api/v3 prefix for REST
    query: str
    status: int
    # GraphQL: the operation's name and its top-level fields (``("Mutation", "addDiscussionComment")``)
    operations: tuple[str, ...] = ()


@dataclass(slots=True)
class _Fault:
    prefix: str
    status: int
    remaining: int
    headers: dict[str, str]
    method: str | None
    after_handling: bool = False
    operation: str | None = None


class _NotFound(Exception):
    """A GraphQL lookup that GitHub answers with ``type: NOT_FOUND``."""


# ----------------------------------------------------------------------------------------------------
# The server


class GitHubSandbox:
    """A GitHub REST + GraphQL server on loopback, seeded from a ``Community``."""

    def __init__(
        self,
        community: Community,
        *,
        host: str = "127.0.0.1",
        token: str | None = None,
        poll_seconds: float = 5,
        poll_interval_header: int | None = None,
    ) -> None:
        self.community = community
        self.host = host
        self.token = token or f"ghs_sandbox{community.seed:06d}atlasdesk"
        self.poll_seconds = poll_seconds
        self.poll_interval_header = poll_interval_header
        self.owner, _, self.repo_name = community.repo.partition("/")
        self.port = 0
        self.requests: list[RequestRecord] = []
        self.graphql_operations: list[str] = []  # operation names in arrival order (tests count these)
        self._runner: web.AppRunner | None = None
        self._faults: list[_Fault] = []
        # called with each request before it is handled, on the server's loop (tests observe who is waiting)
        self.on_request: list[Callable[[web.Request], None]] = []
        self._stall_seconds = 0.0
        self._stall_count = 0
        self._ids = 1000
        self._clock_offset = timedelta(0)
        self._last_time = community.now
        wall = datetime.now(UTC)
        if community.now > wall:
            # history ends at the community's "now": new activity must come after it
            self._clock_offset = community.now - wall
        self.users: dict[str, GhUser] = {}
        self.issues: dict[int, GhIssue] = {}
        self.issue_comments: dict[int, GhIssueComment] = {}
        self.categories: dict[str, GhCategory] = {}
        self.discussions: dict[int, GhDiscussion] = {}
        self.discussion_comments: dict[str, GhDiscussionComment] = {}
        self.events: list[GhEvent] = []
        self._seed()
        self.project = ProjectBoard(self)  # the roadmap board (Projects v2), seeded from community.roadmap
        self.project.seed()

    # -- lifecycle ------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application(middlewares=[self._middleware], client_max_size=8 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner, self.port = await start_app(app, self.host)
        log.info("GitHub sandbox on %s", self.base_url)

    async def stop(self) -> None:
        """Stop listening. Safe to call twice."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    def env(self) -> dict[str, str]:
        """Environment variables that point the desk at this sandbox."""
        return {"ATLAS_DESK_GITHUB_API": self.api_url, "ATLAS_DESK_GITHUB_TOKEN": self.token}

    def config(self) -> dict[str, Any]:
        """The ``[github]`` config section for this sandbox."""
        return {
            "github": {
                "repo": self.community.repo,
                "project_owner": self.owner,
                "project_number": 1,
                "poll_seconds": self.poll_seconds,
            }
        }

    # -- fault injection ------------------------------------------------------------------------------------

    def fail_next(
        self,
        path_prefix: str,
        status: int,
        count: int = 1,
        headers: Mapping[str, str] | None = None,
        *,
        method: str | None = None,
        after_handling: bool = False,
        operation: str | None = None,
    ) -> None:
        """Answer the next ``count`` requests whose path starts with ``path_prefix`` with ``status``.

        ``path_prefix`` may include ``/api/v3`` or not. 403 answers look like GitHub's primary rate limit
        (``X-RateLimit-Remaining: 0``, ``X-RateLimit-Reset``), 429 like its secondary limit (``Retry-After``).
        With ``after_handling`` the request is carried out first and only its answer is lost, as when a
        gateway times out after GitHub has already created the comment.

        ``operation`` narrows the fault to GraphQL requests (every one shares ``/api/graphql``, polls
        included) whose operation is named so or that call that top-level field: ``"addDiscussionComment"``
        picks the mutation whether the client names its operation (``AtlasDeskAddDiscussionComment``) or
        not (PyGithub's ``graphql_named_mutation`` sends ``mutation Mutation``). Other requests pass.
        """
        prefix = path_prefix.removeprefix(API_PREFIX) or "/"
        if operation is not None and not GRAPHQL_PATH.startswith(prefix):
            raise ValueError(f"an operation fault needs a path prefix of {GRAPHQL_PATH}, not {path_prefix!r}")
        self._faults.append(
            _Fault(prefix, status, count, dict(headers or {}), method, after_handling, operation)
        )

    def stall(self, seconds: float, count: int = 1) -> None:
        """Hold the next ``count`` requests for ``seconds`` before answering."""
        self._stall_seconds = seconds
        self._stall_count = count

    def count(
        self,
        method: str | None = None,
        path_prefix: str = "",
        status: int | None = None,
        *,
        operation: str | None = None,
    ) -> int:
        """How many requests matched (for tests); ``operation`` as in ``fail_next``."""
        prefix = path_prefix.removeprefix(API_PREFIX)
        return sum(
            1
            for r in self.requests
            if (method is None or r.method == method)
            and r.path.startswith(prefix)
            and (status is None or r.status == status)
            and (operation is None or operation in r.operations)
        )

    # -- test-facing mutations ------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox clock: wall time shifted past the community's history, whole seconds, monotonic."""
        t = (datetime.now(UTC) + self._clock_offset).replace(microsecond=0)
        if t < self._last_time:
            t = self._last_time
        self._last_time = t
        return t

    def hold_clock(self, at: datetime) -> None:
        """Keep the sandbox clock at ``at`` until wall time passes it (tests: many events in one second)."""
        self._last_time = at.astimezone(UTC).replace(microsecond=0)

    def user_for(self, author_key: str) -> GhUser:
        """The GitHub user of a community member (created on first use)."""
        try:
            member = self.community.member(author_key)
            login = member.github_login or author_key
            name = member.display_name
            uid = member.github_id
        except KeyError:
            login, name, uid = author_key, author_key, None
        return self._user(login, name, uid)

    def add_issue(self, author_key: str, title: str, body: str, labels: Iterable[str] = ()) -> GhIssue:
        """Open a new issue."""
        now = self.now()
        number = self._next_number()
        issue = GhIssue(
            number=number,
            id=self._next_id(),
            node_id=f"I_sbx{number:06d}",
            title=title,
            body=body,
            login=self.user_for(author_key).login,
            created_at=now,
            updated_at=now,
            labels=list(labels),
        )
        self.issues[number] = issue
        self._event("IssuesEvent", issue.login, {"action": "opened", "issue": self._issue_json(issue)})
        return issue

    def add_issue_comment(self, number: int, author_key: str, body: str) -> GhIssueComment:
        """Comment on an issue as a community member."""
        return self._create_issue_comment(number, self.user_for(author_key).login, body)

    def add_discussion(self, category: str, author_key: str, title: str, body: str) -> GhDiscussion:
        """Start a new discussion in a category (by name: "Ideas", "Q&A", ...)."""
        if category not in self.categories:
            raise KeyError(category)
        now = self.now()
        number = self._next_number()
        d = GhDiscussion(
            number=number,
            node_id=f"D_sbx{number:06d}",
            database_id=self._next_id(),
            category=category,
            title=title,
            body=body,
            login=self.user_for(author_key).login,
            created_at=now,
            updated_at=now,
        )
        self.discussions[number] = d
        return d

    def add_discussion_comment(
        self, number: int, author_key: str, body: str, *, reply_to: str | None = None
    ) -> GhDiscussionComment:
        """Comment on a discussion as a community member; with ``reply_to``, reply in that comment's thread.

        Raises ``ValueError`` where GitHub refuses: a reply to a reply, or to another discussion's comment.
        """
        return self._create_discussion_comment(number, self.user_for(author_key).login, body, reply_to)

    def replies_to(self, comment_id: str) -> list[str]:
        """The bodies of the replies in a discussion comment's thread, oldest first."""
        com = self.discussion_comments[comment_id]
        return [self.discussion_comments[r].body for r in com.reply_ids]

    def top_level_comments(self, number: int) -> list[str]:
        """The bodies of discussion ``number``'s top-level comments (replies excluded), oldest first."""
        coms = (self.discussion_comments[c] for c in self.discussions[number].comment_ids)
        return [c.body for c in coms if c.reply_to is None]

    def comments_on(self, number: int) -> list[str]:
        """The bodies of the comments on issue or discussion ``number``, oldest first (replies included)."""
        if number in self.issues:
            return [self.issue_comments[c].body for c in self.issues[number].comment_ids]
        if number in self.discussions:
            return [self.discussion_comments[c].body for c in self.discussions[number].comment_ids]
        raise KeyError(number)

    def move_card(self, item_id: str, status: str | None = None, after_id: str | None = None) -> None:
        """Another desk moves a roadmap card: set its Status (option name) and put it after ``after_id``."""
        self.project.move_card(item_id, status, after_id)

    def board(self) -> dict[str, list[str]]:
        """The roadmap board: Status option names in order, each with its item ids top to bottom."""
        return self.project.board()

    async def simulate_activity(self, rng: random.Random) -> None:
        """One piece of live activity: an issue comment, a discussion comment (sometimes a threaded reply)
        or a new discussion."""
        members = (
            [m.key for m in self.community.members if not m.is_moderator]
            or [m.key for m in self.community.members]
            or ["community-member"]
        )
        who = rng.choice(members)
        roll = rng.random()
        if roll < 0.4 and self.issues:
            number = rng.choice(sorted(self.issues))
            self.add_issue_comment(number, who, rng.choice(_COMMENT_LINES))
        elif roll < 0.85 and self.discussions:
            number = rng.choice(sorted(self.discussions))
            d = self.discussions[number]
            top = [c for c in d.comment_ids[-20:] if self.discussion_comments[c].reply_to is None]
            # about a third of the talk goes into an existing comment's thread, as on GitHub
            reply_to = rng.choice(top) if top and rng.random() < 0.35 else None
            self.add_discussion_comment(number, who, rng.choice(_COMMENT_LINES), reply_to=reply_to)
        else:
            title = rng.choice(_IDEA_TITLES)
            self.add_discussion("Ideas", who, title, f"{title}. Would anyone else use this?")

    # -- seeding --------------------------------------------------------------------------------------------

    def _seed(self) -> None:
        c = self.community
        for m in c.members:
            if m.github_login:
                self._user(m.github_login, m.display_name, m.github_id)
        moderators = [m for m in c.members if m.is_moderator and m.github_login]
        # the sandbox token belongs to the first moderator with a GitHub login
        self.viewer: str = (moderators[0].github_login if moderators else None) or "atlas-moderator"
        self._user(self.viewer, "Atlas moderator", None)
        for i, (name, slug, emoji, answerable, description) in enumerate(CATEGORIES):
            self.categories[name] = GhCategory(
                f"DIC_sbx{i:04d}", name, slug, emoji, answerable, description, c.now - timedelta(days=400)
            )
        fans = [u.login for u in self.users.values()]
        for src in sorted(c.issues, key=lambda i: i.number):
            issue = GhIssue(
                number=src.number,
                id=self._next_id(),
                node_id=src.node_id or f"I_sbx{src.number:06d}",
                title=src.title,
                body=src.body,
                login=self.user_for(src.author_key).login,
                created_at=src.created_at,
                updated_at=src.created_at,
                labels=list(src.labels),
                assignees=[self.user_for(k).login for k in src.assignees],
                state=src.state,
                closed_at=src.created_at if src.state == "closed" else None,
            )
            for n in range(src.thumbs_up):
                login = fans[n] if n < len(fans) else f"atlas-fan-{n}"
                issue.reactions.append(GhReaction(self._next_id(), "+1", login, src.created_at))
            self.issues[issue.number] = issue
            for com in src.comments:
                self._store_issue_comment(
                    issue, self.user_for(com.author_key).login, com.body, com.created_at, com.id
                )
        for src_d in sorted(c.discussions, key=lambda d: d.number):
            category = src_d.category if src_d.category in self.categories else "General"
            d = GhDiscussion(
                number=src_d.number,
                node_id=src_d.node_id or f"D_sbx{src_d.number:06d}",
                database_id=self._next_id(),
                category=category,
                title=src_d.title,
                body=src_d.body,
                login=self.user_for(src_d.author_key).login,
                created_at=src_d.created_at,
                updated_at=src_d.created_at,
                upvotes=src_d.upvotes,
                locked=src_d.locked,
            )
            self.discussions[d.number] = d
            for com in src_d.comments:
                dc = self._store_discussion_comment(
                    d, self.user_for(com.author_key).login, com.body, com.created_at, None, com.id
                )
                dc.upvotes = com.upvotes
                if com.is_answer:
                    d.answer_id = dc.node_id

    def _user(self, login: str, name: str, uid: int | None) -> GhUser:
        user = self.users.get(login)
        if user is None:
            uid = uid or self._next_id()
            user = GhUser(login, uid, f"U_sbx{uid:08d}", name or login)
            self.users[login] = user
        return user

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _next_number(self) -> int:
        # issues and discussions share one number space, as on GitHub
        return max([0, *self.issues, *self.discussions]) + 1

    def _store_issue_comment(
        self, issue: GhIssue, login: str, body: str, when: datetime, rest_id: str | None = None
    ) -> GhIssueComment:
        # the community's issue comment ids are decimal REST ids: keep them so tests can find the comment
        cid = int(rest_id) if rest_id and rest_id.isdigit() and int(rest_id) not in self.issue_comments else 0
        cid = cid or self._next_id()
        com = GhIssueComment(cid, f"IC_sbx{cid:010d}", issue.number, login, body, when, when)
        self.issue_comments[cid] = com
        issue.comment_ids.append(cid)
        issue.updated_at = max(issue.updated_at, when)
        return com

    def _create_issue_comment(self, number: int, login: str, body: str) -> GhIssueComment:
        issue = self.issues[number]
        self._user(login, login, None)
        com = self._store_issue_comment(issue, login, body, self.now())
        self._event(
            "IssueCommentEvent",
            login,
            {"action": "created", "issue": self._issue_json(issue), "comment": self._issue_comment_json(com)},
        )
        return com

    def _store_discussion_comment(
        self,
        d: GhDiscussion,
        login: str,
        body: str,
        when: datetime,
        reply_to: str | None,
        node_id: str | None = None,
    ) -> GhDiscussionComment:
        dbid = self._next_id()
        # the community's discussion comment ids are already GraphQL node ids
        usable = bool(node_id) and str(node_id).startswith("DC_") and node_id not in self.discussion_comments
        nid = str(node_id) if usable else f"DC_sbx{dbid:08d}"
        com = GhDiscussionComment(nid, dbid, d.number, login, body, when, when, reply_to=reply_to)
        self.discussion_comments[com.node_id] = com
        d.comment_ids.append(com.node_id)
        if reply_to is not None:
            self.discussion_comments[reply_to].reply_ids.append(com.node_id)
        d.updated_at = max(d.updated_at, when)
        return com

    def _create_discussion_comment(
        self, number: int, login: str, body: str, reply_to: str | None
    ) -> GhDiscussionComment:
        d = self.discussions[number]
        if reply_to is not None:
            parent = self.discussion_comments[reply_to]
            # GitHub's own refusals: replies thread one level deep, under a comment of the same discussion
            if parent.discussion_number != number:
                raise _Unprocessable("The comment to reply to is not in this discussion")
            if parent.reply_to is not None:
                raise _Unprocessable("Parent comment is already in a thread, cannot reply to it")
        self._user(login, login, None)
        return self._store_discussion_comment(d, login, body, self.now(), reply_to)

    def _event(self, kind: str, login: str, payload: dict[str, Any]) -> None:
        self.events.append(GhEvent(self._next_id(), kind, login, self.now(), payload))

    # -- HTTP plumbing --------------------------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        path = request.path
        rel = path.removeprefix(API_PREFIX) if path.startswith(API_PREFIX + "/") else path
        operations = await _graphql_names(request) if rel == GRAPHQL_PATH and request.method == "POST" else ()
        for observe in list(self.on_request):
            observe(request)
        if self._stall_count > 0:
            self._stall_count -= 1
            await asyncio.sleep(self._stall_seconds)
        fault = self._take_fault(request.method, rel, operations)
        early = None if fault is None or fault.after_handling else self._fault_response(fault)
        early = early or self._auth_response(request)
        response: web.StreamResponse
        if early is not None:
            response = early
        else:
            try:
                response = await handler(request)
            except web.HTTPException as exc:
                response = self._json({"message": exc.reason}, exc.status)
            except KeyError:
                response = self._not_found()
            if fault is not None and fault.after_handling:
                response = self._fault_response(fault)
        if request.method == "GET" and response.status == 200 and isinstance(response, web.Response):
            response = self._conditional(request, response)
        self.requests.append(
            RequestRecord(request.method, rel, request.query_string, response.status, operations)
        )
        if len(self.requests) > _MAX_RECORDS:
            # a long demo run must not grow without bound; tests stay far below this
            del self.requests[: _MAX_RECORDS // 2]
            del self.graphql_operations[: max(0, len(self.graphql_operations) - _MAX_RECORDS // 2)]
        return response

    def _take_fault(self, method: str, rel: str, operations: tuple[str, ...]) -> _Fault | None:
        for fault in self._faults:
            if (
                fault.remaining > 0
                and rel.startswith(fault.prefix)
                and fault.method in (None, method)
                and (fault.operation is None or fault.operation in operations)
            ):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _fault_response(self, fault: _Fault) -> web.Response:
        headers = dict(self._rate_headers())
        if fault.status == 403:
            headers["X-RateLimit-Remaining"] = "0"
            headers["X-RateLimit-Reset"] = str(int(time.time()) + 60)
            body = {
                "message": "API rate limit exceeded for user ID 1.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            }
        elif fault.status == 429:
            headers["Retry-After"] = "1"
            body = {
                "message": "You have exceeded a secondary rate limit. "
                "Please wait a few minutes before you try again.",
            }
        elif fault.status == 401:
            body = {"message": "Bad credentials"}
        else:
            body = {"message": "Server Error"}
        headers.update(fault.headers)
        return self._json(body, fault.status, headers)

    def _auth_response(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() in ("token", "bearer") and value.strip() == self.token:
            return None
        return self._json(
            {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, 401
        )

    def _conditional(self, request: web.Request, response: web.Response) -> web.Response:
        body = response.body if isinstance(response.body, bytes) else b""
        digest = hashlib.sha256(body + response.headers.get("Link", "").encode()).hexdigest()[:40]
        etag = f'W/"{digest}"'
        response.headers["ETag"] = etag
        wanted = [t.strip() for t in request.headers.get("If-None-Match", "").split(",") if t.strip()]
        if etag in wanted or etag.removeprefix("W/") in wanted:
            headers = {
                k: v
                for k, v in response.headers.items()
                if k.lower() not in ("content-type", "content-length")
            }
            return web.Response(status=304, headers=headers)
        return response

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "4999",
            "X-RateLimit-Reset": str(int(time.time()) + 3600),
            "X-RateLimit-Used": "1",
            "X-RateLimit-Resource": "core",
        }

    def _json(self, data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
        hdrs = dict(self._rate_headers())
        hdrs.update(headers or {})
        hdrs["Content-Type"] = "application/json; charset=utf-8"
        return web.Response(body=json_dumps(data).encode("utf-8"), status=status, headers=hdrs)

    def _not_found(self) -> web.Response:
        return self._json({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, 404)

    def _page(self, request: web.Request, items: list[Any], render: Callable[[Any], Any]) -> web.Response:
        """Paginate ``items`` with ``per_page``/``page`` and GitHub's ``Link`` header."""
        try:
            per_page = max(1, min(100, int(request.query.get("per_page", "30"))))
            page = max(1, int(request.query.get("page", "1")))
        except ValueError:
            return self._json({"message": "Invalid pagination"}, 422)
        last = max(1, (len(items) + per_page - 1) // per_page)
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def url(p: int) -> str:
            query = dict(request.query)
            query["page"] = str(p)
            query["per_page"] = str(per_page)
            return f"{self.base_url}{request.path}?{urlencode(sorted(query.items()))}"

        if page < last:
            links.append(f'<{url(page + 1)}>; rel="next"')
            links.append(f'<{url(last)}>; rel="last"')
        if page > 1:
            links.append(f'<{url(1)}>; rel="first"')
            links.append(f'<{url(page - 1)}>; rel="prev"')
        headers = {"Link": ", ".join(links)} if links else {}
        if self.poll_interval_header is not None:
            headers["X-Poll-Interval"] = str(self.poll_interval_header)
        return self._json([render(i) for i in chunk], headers=headers)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path == GRAPHQL_PATH and request.method == "POST":
            return await self._graphql(request)
        if not path.startswith(API_PREFIX + "/"):
            return self._not_found()
        parts = [p for p in path.removeprefix(API_PREFIX).split("/") if p]
        method = request.method
        if method == "GET" and parts == ["user"]:
            return self._json(self._user_json(self.users[self.viewer], full=True))
        if method == "GET" and len(parts) == 2 and parts[0] == "users":
            return self._json(self._user_json(self.users[parts[1]], full=True))
        if method == "GET" and parts == ["rate_limit"]:
            core = {"limit": 5000, "used": 1, "remaining": 4999, "reset": int(time.time()) + 3600}
            return self._json({"resources": {"core": core, "graphql": core, "search": core}, "rate": core})
        if len(parts) < 3 or parts[0] != "repos" or f"{parts[1]}/{parts[2]}" != self.community.repo:
            return self._not_found()
        rest = parts[3:]
        if method == "GET" and not rest:
            return self._json(self._repo_json())
        if method == "GET" and rest == ["events"]:
            return self._page(request, list(reversed(self.events)), self._event_json)
        if rest[:1] == ["issues"]:
            return await self._issues(request, method, rest[1:])
        return self._not_found()

    async def _issues(self, request: web.Request, method: str, rest: list[str]) -> web.Response:
        q = request.query
        if method == "POST" and not rest:
            return await self._create_issue(request)
        if method == "GET" and not rest:
            state = q.get("state", "open")
            items = [i for i in self.issues.values() if state == "all" or i.state == state]
            if q.get("labels"):
                wanted = {x.strip() for x in q["labels"].split(",")}
                items = [i for i in items if wanted <= set(i.labels)]
            if "since" in q:
                since = parse_iso(q["since"])
                items = [i for i in items if i.updated_at >= since]
            sort = q.get("sort", "created")
            key: Callable[[GhIssue], Any] = {
                "updated": lambda i: (i.updated_at, i.number),
                "comments": lambda i: (len(i.comment_ids), i.number),
            }.get(sort, lambda i: (i.created_at, i.number))
            items.sort(key=key, reverse=q.get("direction", "desc") != "asc")
            return self._page(request, items, self._issue_json)
        if method == "GET" and rest == ["comments"]:
            coms = list(self.issue_comments.values())
            if "since" in q:
                since = parse_iso(q["since"])
                coms = [c for c in coms if c.updated_at >= since]
            if q.get("sort") == "updated":
                coms.sort(key=lambda c: (c.updated_at, c.id), reverse=q.get("direction", "asc") == "desc")
            else:
                coms.sort(key=lambda c: (c.created_at, c.id), reverse=q.get("direction", "asc") == "desc")
            return self._page(request, coms, self._issue_comment_json)
        if method == "GET" and len(rest) == 2 and rest[0] == "comments":
            return self._json(self._issue_comment_json(self.issue_comments[int(rest[1])]))
        if not rest or not rest[0].isdigit():
            return self._not_found()
        issue = self.issues[int(rest[0])]
        if method == "GET" and len(rest) == 1:
            return self._json(self._issue_json(issue))
        if rest[1:] == ["comments"]:
            if method == "GET":
                coms = [self.issue_comments[c] for c in issue.comment_ids]
                if "since" in q:
                    since = parse_iso(q["since"])
                    coms = [c for c in coms if c.updated_at >= since]
                return self._page(request, coms, self._issue_comment_json)
            if method == "POST":
                try:
                    payload = await request.json()
                except (json.JSONDecodeError, UnicodeDecodeError):
                    return self._json({"message": "Problems parsing JSON"}, 400)
                body = payload.get("body") if isinstance(payload, dict) else None
                if not isinstance(body, str) or not body:
                    return self._json({"message": "Validation Failed", "errors": [{"field": "body"}]}, 422)
                if issue.locked:
                    return self._json({"message": "Issue is locked"}, 403)
                com = self._create_issue_comment(issue.number, self.viewer, body)
                return self._json(self._issue_comment_json(com), 201)
        if method == "GET" and rest[1:] == ["reactions"]:
            return self._page(request, issue.reactions, self._reaction_json)
        return self._not_found()

    async def _create_issue(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._json({"message": "Problems parsing JSON"}, 400)
        title = payload.get("title") if isinstance(payload, dict) else None
        if not isinstance(title, str) or not title.strip():
            return self._json(
                {"message": "Validation Failed", "errors": [{"field": "title", "code": "missing_field"}]}, 422
            )
        labels = [str(x) for x in payload.get("labels") or []]
        issue = self.add_issue(self.viewer, title, str(payload.get("body") or ""), labels)
        issue.assignees = [str(a) for a in payload.get("assignees") or [] if str(a) in self.users]
        return self._json(self._issue_json(issue), 201)

    # -- REST shapes ----------------------------------------------------------------------------------------

    def _user_json(self, user: GhUser, *, full: bool = False) -> dict[str, Any]:
        api = self.api_url
        data: dict[str, Any] = {
            "login": user.login,
            "id": user.id,
            "node_id": user.node_id,
            "avatar_url": f"{self.base_url}/avatars/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": f"{api}/users/{user.login}",
            "html_url": f"{self.base_url}/{user.login}",
            "followers_url": f"{api}/users/{user.login}/followers",
            "following_url": f"{api}/users/{user.login}/following{{/other_user}}",
            "gists_url": f"{api}/users/{user.login}/gists{{/gist_id}}",
            "starred_url": f"{api}/users/{user.login}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/users/{user.login}/subscriptions",
            "organizations_url": f"{api}/users/{user.login}/orgs",
            "repos_url": f"{api}/users/{user.login}/repos",
            "events_url": f"{api}/users/{user.login}/events{{/privacy}}",
            "received_events_url": f"{api}/users/{user.login}/received_events",
            "type": "User",
            "user_view_type": "public",
            "site_admin": False,
        }
        if full:
            data.update(
                {
                    "name": user.name,
                    "company": None,
                    "blog": "",
                    "location": None,
                    "email": None,
                    "hireable": None,
                    "bio": None,
                    "twitter_username": None,
                    "public_repos": 1,
                    "public_gists": 0,
                    "followers": 0,
                    "following": 0,
                    "created_at": iso(self.community.now - timedelta(days=900)),
                    "updated_at": iso(self.community.now - timedelta(days=1)),
                }
            )
        return data

    def _repo_json(self) -> dict[str, Any]:
        api = f"{self.api_url}/repos/{self.community.repo}"
        owner = self._user(self.owner, self.owner, None)
        owner_json = self._user_json(owner) | {"type": "Organization"}
        return {
            "id": 3544490,
            "node_id": "R_sbxrepo0001",
            "name": self.repo_name,
            "full_name": self.community.repo,
            "private": False,
            "owner": owner_json,
            "organization": owner_json,
            "html_url": f"{self.base_url}/{self.community.repo}",
            "description": "Atlas: the community's app",
            "fork": False,
            "url": api,
            "issues_url": f"{api}/issues{{/number}}",
            "issue_comment_url": f"{api}/issues/comments{{/number}}",
            "issue_events_url": f"{api}/issues/events{{/number}}",
            "events_url": f"{api}/events",
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments{{/number}}",
            "pulls_url": f"{api}/pulls{{/number}}",
            "milestones_url": f"{api}/milestones{{/number}}",
            "created_at": iso(self.community.now - timedelta(days=900)),
            "updated_at": iso(self.community.now),
            "pushed_at": iso(self.community.now),
            "homepage": "",
            "size": 1024,
            "stargazers_count": 1200,
            "watchers_count": 1200,
            "language": "Python",
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": False,
            "has_pages": False,
            "has_discussions": True,
            "forks_count": 80,
            "archived": False,
            "disabled": False,
            "open_issues_count": sum(1 for i in self.issues.values() if i.state == "open"),
            "topics": ["atlas", "community"],
            "visibility": "public",
            "forks": 80,
            "open_issues": sum(1 for i in self.issues.values() if i.state == "open"),
            "watchers": 1200,
            "default_branch": "main",
            "permissions": {"admin": False, "maintain": True, "push": True, "triage": True, "pull": True},
            "network_count": 80,
            "subscribers_count": 40,
        }

    def _reactions_summary(self, url: str, reactions: list[GhReaction]) -> dict[str, Any]:
        summary: dict[str, Any] = {"url": url, "total_count": len(reactions)}
        for k in REACTION_KEYS:
            summary[k] = sum(1 for r in reactions if r.content == k)
        return summary

    def _label_json(self, name: str) -> dict[str, Any]:
        lid = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
        return {
            "id": lid,
            "node_id": f"LA_sbx{lid:010d}",
            "url": f"{self.api_url}/repos/{self.community.repo}/labels/{name}",
            "name": name,
            "color": "a2eeef",
            "default": name in ("bug", "enhancement", "question"),
            "description": "",
        }

    def _issue_json(self, issue: GhIssue) -> dict[str, Any]:
        api = f"{self.api_url}/repos/{self.community.repo}"
        url = f"{api}/issues/{issue.number}"
        assignees = [self._user_json(self.users[a]) for a in issue.assignees if a in self.users]
        return {
            "url": url,
            "repository_url": api,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self.base_url}/{self.community.repo}/issues/{issue.number}",
            "id": issue.id,
            "node_id": issue.node_id,
            "number": issue.number,
            "title": issue.title,
            "user": self._user_json(self.users[issue.login]),
            "labels": [self._label_json(n) for n in issue.labels],
            "state": issue.state,
            "locked": issue.locked,
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "comments": len(issue.comment_ids),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at) if issue.closed_at else None,
            "author_association": "CONTRIBUTOR",
            "active_lock_reason": None,
            "body": issue.body,
            "reactions": self._reactions_summary(f"{url}/reactions", issue.reactions),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "state_reason": "completed" if issue.state == "closed" else None,
        }

    def _issue_comment_json(self, com: GhIssueComment) -> dict[str, Any]:
        api = f"{self.api_url}/repos/{self.community.repo}"
        url = f"{api}/issues/comments/{com.id}"
        return {
            "url": url,
            "html_url": (
                f"{self.base_url}/{self.community.repo}/issues/{com.issue_number}#issuecomment-{com.id}"
            ),
            "issue_url": f"{api}/issues/{com.issue_number}",
            "id": com.id,
            "node_id": com.node_id,
            "user": self._user_json(self.users[com.login]),
            "created_at": iso(com.created_at),
            "updated_at": iso(com.updated_at),
            "author_association": "MEMBER" if com.login == self.viewer else "CONTRIBUTOR",
            "body": com.body,
            "reactions": self._reactions_summary(f"{url}/reactions", []),
            "performed_via_github_app": None,
        }

    def _reaction_json(self, r: GhReaction) -> dict[str, Any]:
        user = self.users.get(r.login) or self._user(r.login, r.login, None)
        return {
            "id": r.id,
            "node_id": f"REA_sbx{r.id:08d}",
            "user": self._user_json(user),
            "content": r.content,
            "created_at": iso(r.created_at),
        }

    def _event_json(self, e: GhEvent) -> dict[str, Any]:
        user = self.users[e.login]
        return {
            "id": str(e.id),
            "type": e.type,
            "actor": {
                "id": user.id,
                "login": user.login,
                "display_login": user.login,
                "gravatar_id": "",
                "url": f"{self.api_url}/users/{user.login}",
                "avatar_url": f"{self.base_url}/avatars/u/{user.id}?",
            },
            "repo": {
                "id": 3544490,
                "name": self.community.repo,
                "url": f"{self.api_url}/repos/{self.community.repo}",
            },
            "payload": e.payload,
            "public": True,
            "created_at": iso(e.created_at),
        }

    # -- GraphQL --------------------------------------------------------------------------------------------

    async def _graphql(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._json({"message": "Problems parsing JSON"}, 400)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return self._json({"errors": [{"message": "A query attribute must be specified"}]})
        variables = payload.get("variables") or {}
        named = _OPERATION_RE.search(payload["query"])
        self.graphql_operations.append(named.group(2) if named else "")
        result = graphql_sync(
            graphql_schema(),
            payload["query"],
            root_value=_Root(self),
            variable_values=variables if isinstance(variables, dict) else {},
            operation_name=payload.get("operationName"),
            type_resolver=_resolve_type,
        )
        out: dict[str, Any] = {}
        if result.errors:
            out["errors"] = [self._graphql_error(e) for e in result.errors]
        if result.data is not None or not result.errors:
            out["data"] = result.data
        return self._json(out, headers={"X-RateLimit-Resource": "graphql"})

    @staticmethod
    def _graphql_error(error: GraphQLError) -> dict[str, Any]:
        formatted: dict[str, Any] = dict(error.formatted)
        if isinstance(error.original_error, GraphQLRefusal):
            formatted["type"] = error.original_error.gh_type
        elif isinstance(error.original_error, _NotFound):
            formatted["type"] = "NOT_FOUND"
        elif isinstance(error.original_error, _Unprocessable):
            formatted["type"] = "UNPROCESSABLE"
        return formatted

    def _lookup_node(self, node_id: str) -> Any:
        if node_id.startswith("D_"):
            for d in self.discussions.values():
                if d.node_id == node_id:
                    return _DiscussionView(self, d)
        elif node_id.startswith("DC_"):
            com = self.discussion_comments.get(node_id)
            if com is not None:
                return _DiscussionCommentView(self, com)
        elif node_id.startswith("I_"):
            for issue in self.issues.values():
                if issue.node_id == node_id:
                    return _IssueView(self, issue)
        elif node_id.startswith("IC_"):
            for issue_comment in self.issue_comments.values():
                if issue_comment.node_id == node_id:
                    return _IssueCommentView(self, issue_comment)
        elif node_id.startswith("DIC_"):
            for cat in self.categories.values():
                if cat.node_id == node_id:
                    return _CategoryView(cat)
        elif node_id.startswith("U_"):
            for user in self.users.values():
                if user.node_id == node_id:
                    return _UserView(self, user)
        elif node_id == "R_sbxrepo0001":
            return _RepositoryView(self)
        elif node_id.startswith("PVTI_"):
            for item in self.project.items:
                if item.node_id == node_id:
                    return ItemView(self.project, item)
        elif node_id.startswith("PVT_") and node_id == ProjectView(self.project).id:
            return ProjectView(self.project)
        elif node_id.startswith("DI_") and node_id in self.project.drafts:
            return DraftIssueView(self, self.project.drafts[node_id])
        raise _NotFound(f"Could not resolve to a node with the global id of '{node_id}'")


async def _graphql_names(request: web.Request) -> tuple[str, ...]:
    """A GraphQL request's operation name and top-level field names; empty when it cannot be read.

    Reads the body here (aiohttp keeps it for the handler) so faults can pick one operation.
    """
    try:
        payload = json.loads(await request.read())
        document = parse(payload["query"])
        wanted = payload.get("operationName")
    except (ValueError, KeyError, TypeError, AttributeError, GraphQLError):
        return ()
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        name = definition.name.value if definition.name else ""
        if wanted and name != wanted:
            continue
        fields = [s.name.value for s in definition.selection_set.selections if isinstance(s, FieldNode)]
        return tuple([name, *fields] if name else fields)
    return ()


def _resolve_type(value: Any, _info: Any, _abstract: Any) -> str | None:
    """Interfaces (Node, Actor, Lockable) resolve to the view's own object type."""
    return getattr(value, "typename", None)


class _Unprocessable(ValueError):
    """A mutation GitHub refuses (``type: UNPROCESSABLE``); a ``ValueError`` for test-facing callers."""


_COMMENT_LINES = (
    "Same here, this would really help my team.",
    "+1, I ran into this yesterday.",
    "Is there a workaround until this lands?",
    "Thanks for the quick fix!",
    "I can reproduce this on the latest release.",
    "Could this be configurable per workspace?",
)
_IDEA_TITLES = (
    "Offline mode for the mobile app",
    "Keyboard shortcuts for the board view",
    "Export reports as CSV",
    "Dark theme for the web dashboard",
    "Shared templates between workspaces",
)


# ----------------------------------------------------------------------------------------------------
# GraphQL view objects: attributes and methods named like the schema's fields (graphql-core resolves them)


def _connection(
    items: list[Any], first: int | None, after: str | None, last: int | None = None, before: str | None = None
) -> dict[str, Any]:
    """A GraphQL connection over ``items`` with offset cursors."""
    start = int(after) + 1 if after and after.isdigit() else 0
    end = int(before) if before and before.isdigit() else len(items)
    window = list(range(start, max(start, end)))
    if first is not None:
        window = window[: max(0, min(first, 100))]
    if last is not None:
        window = window[-max(0, min(last, 100)) :] if last else []
    nodes = [items[i] for i in window]
    return {
        "nodes": nodes,
        "totalCount": len(items),
        "pageInfo": {
            "startCursor": str(window[0]) if window else None,
            "endCursor": str(window[-1]) if window else None,
            "hasNextPage": bool(window) and window[-1] < len(items) - 1,
            "hasPreviousPage": bool(window) and window[0] > 0,
        },
    }


def _reaction_groups(reactions: list[GhReaction]) -> list[dict[str, Any]]:
    groups = []
    for key in REACTION_KEYS:
        count = sum(1 for r in reactions if r.content == key)
        groups.append(
            {
                "content": GRAPHQL_REACTION[key],
                "reactors": lambda _info, n=count, **_: {"totalCount": n},
                "viewerHasReacted": False,
            }
        )
    return groups


class _UserView:
    typename = "User"

    def __init__(self, sandbox: GitHubSandbox, user: GhUser) -> None:
        self.id = user.node_id
        self.login = user.login
        self.name = user.name
        self.url = f"{sandbox.base_url}/{user.login}"
        self.resourcePath = f"/{user.login}"
        self._avatar = f"{sandbox.base_url}/avatars/u/{user.id}?v=4"

    def avatarUrl(self, _info: Any, size: int | None = None) -> str:
        return self._avatar + (f"&s={size}" if size else "")

    def projectV2(self, _info: Any, number: int) -> None:
        return None  # the sandbox's one project belongs to the organization


class _IssueView:
    typename = "Issue"

    def __init__(self, sandbox: GitHubSandbox, issue: GhIssue) -> None:
        self.id = issue.node_id
        self.databaseId = issue.id
        self.number = issue.number
        self.title = issue.title
        self.state = issue.state.upper()
        self.locked = issue.locked
        self.activeLockReason = None
        self.url = f"{sandbox.base_url}/{sandbox.community.repo}/issues/{issue.number}"
        issue_extras(sandbox, issue, self)


class _IssueCommentView:
    typename = "IssueComment"

    def __init__(self, sandbox: GitHubSandbox, com: GhIssueComment) -> None:
        self._sb = sandbox
        self._c = com
        self.id = com.node_id
        self.databaseId = com.id
        self.url = (
            f"{sandbox.base_url}/{sandbox.community.repo}/issues/{com.issue_number}#issuecomment-{com.id}"
        )

    def issue(self, _info: Any) -> _IssueView:
        return _IssueView(self._sb, self._sb.issues[self._c.issue_number])


class _CategoryView:
    typename = "DiscussionCategory"

    def __init__(self, cat: GhCategory) -> None:
        self.id = cat.node_id
        self.name = cat.name
        self.slug = cat.slug
        self.emoji = cat.emoji
        self.description = cat.description
        self.isAnswerable = cat.answerable
        self.createdAt = iso(cat.created_at)
        self.updatedAt = iso(cat.created_at)


class _DiscussionCommentView:
    typename = "DiscussionComment"

    def __init__(self, sandbox: GitHubSandbox, com: GhDiscussionComment) -> None:
        self._sb = sandbox
        self._c = com
        d = sandbox.discussions[com.discussion_number]
        self.id = com.node_id
        self.databaseId = com.database_id
        self.body = com.body
        self.createdAt = iso(com.created_at)
        self.updatedAt = iso(com.updated_at)
        self.lastEditedAt = None
        self.upvoteCount = com.upvotes
        self.isAnswer = d.answer_id == com.node_id
        self.url = (
            f"{sandbox.base_url}/{sandbox.community.repo}/discussions/{d.number}"
            f"#discussioncomment-{com.database_id}"
        )
        self.reactionGroups = _reaction_groups([])

    def author(self, _info: Any) -> _UserView:
        return _UserView(self._sb, self._sb.users[self._c.login])

    def discussion(self, _info: Any) -> _DiscussionView:
        return _DiscussionView(self._sb, self._sb.discussions[self._c.discussion_number])

    def replyTo(self, _info: Any) -> _DiscussionCommentView | None:
        parent = self._sb.discussion_comments.get(self._c.reply_to or "")
        return _DiscussionCommentView(self._sb, parent) if parent else None

    def replies(
        self,
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> dict[str, Any]:
        # a reply has no replies of its own: GitHub threads one level deep
        views = [_DiscussionCommentView(self._sb, self._sb.discussion_comments[r]) for r in self._c.reply_ids]
        return _connection(views, first, after, last, before)


class _DiscussionView:
    typename = "Discussion"

    def __init__(self, sandbox: GitHubSandbox, d: GhDiscussion) -> None:
        self._sb = sandbox
        self._d = d
        self.id = d.node_id
        self.databaseId = d.database_id
        self.number = d.number
        self.title = d.title
        self.body = d.body
        self.createdAt = iso(d.created_at)
        self.updatedAt = iso(d.updated_at)
        self.lastEditedAt = None
        self.upvoteCount = d.upvotes
        self.locked = d.locked
        self.activeLockReason = d.lock_reason
        self.closed = False
        self.isAnswered = (d.answer_id is not None) if sandbox.categories[d.category].answerable else None
        self.url = f"{sandbox.base_url}/{sandbox.community.repo}/discussions/{d.number}"
        self.reactionGroups = _reaction_groups(d.reactions)

    def author(self, _info: Any) -> _UserView:
        return _UserView(self._sb, self._sb.users[self._d.login])

    def category(self, _info: Any) -> _CategoryView:
        return _CategoryView(self._sb.categories[self._d.category])

    def answer(self, _info: Any) -> _DiscussionCommentView | None:
        com = self._sb.discussion_comments.get(self._d.answer_id or "")
        return _DiscussionCommentView(self._sb, com) if com else None

    def comments(
        self,
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> dict[str, Any]:
        # replies live under their parent comment, as on GitHub
        top = [self._sb.discussion_comments[c] for c in self._d.comment_ids]
        views = [_DiscussionCommentView(self._sb, c) for c in top if c.reply_to is None]
        return _connection(views, first, after, last, before)


class _RepositoryView:
    typename = "Repository"

    def __init__(self, sandbox: GitHubSandbox) -> None:
        self._sb = sandbox
        self.id = "R_sbxrepo0001"
        self.databaseId = 3544490
        self.name = sandbox.repo_name
        self.nameWithOwner = sandbox.community.repo
        self.url = f"{sandbox.base_url}/{sandbox.community.repo}"
        self.hasDiscussionsEnabled = True

    def projectV2(self, _info: Any, number: int) -> ProjectView | None:
        return ProjectView(self._sb.project) if number == self._sb.project.number else None

    def discussion(self, _info: Any, number: int) -> _DiscussionView:
        d = self._sb.discussions.get(number)
        if d is None:
            raise _NotFound(f"Could not resolve to a Discussion with the number of {number}.")
        return _DiscussionView(self._sb, d)

    def discussionCategories(
        self,
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        cats = [_CategoryView(c) for c in self._sb.categories.values()]
        return _connection(cats, first, after, last, before)

    def discussions(
        self,
        _info: Any,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        categoryId: str | None = None,
        orderBy: dict[str, str] | None = None,
        answered: bool | None = None,
        states: list[str] | None = None,
    ) -> dict[str, Any]:
        items = list(self._sb.discussions.values())
        if categoryId:
            items = [d for d in items if self._sb.categories[d.category].node_id == categoryId]
        if answered is not None:
            items = [d for d in items if (d.answer_id is not None) == answered]
        order = orderBy or {"field": "UPDATED_AT", "direction": "DESC"}
        if order["field"] == "CREATED_AT":
            items.sort(key=lambda d: (d.created_at, d.number))
        else:
            items.sort(key=lambda d: (d.updated_at, d.number))
        if order["direction"] == "DESC":
            items.reverse()
        return _connection([_DiscussionView(self._sb, d) for d in items], first, after, last, before)


class _Root(ProjectRootMixin):
    """Query and Mutation root (the projects block's fields come from ``ProjectRootMixin``)."""

    def __init__(self, sandbox: GitHubSandbox) -> None:
        self._sb = sandbox

    def repository(self, _info: Any, owner: str, name: str, followRenames: bool = True) -> _RepositoryView:
        if f"{owner}/{name}".lower() != self._sb.community.repo.lower():
            raise _NotFound(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return _RepositoryView(self._sb)

    def node(self, _info: Any, id: str) -> Any:
        return self._sb._lookup_node(id)

    def viewer(self, _info: Any) -> _UserView:
        return _UserView(self._sb, self._sb.users[self._sb.viewer])

    def rateLimit(self, _info: Any, dryRun: bool = False) -> dict[str, Any]:
        reset = datetime.now(UTC) + timedelta(hours=1)
        return {"cost": 1, "limit": 5000, "nodeCount": 1, "remaining": 4999, "resetAt": iso(reset), "used": 1}

    # mutations

    def addDiscussionComment(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        view = self._sb._lookup_node(str(input["discussionId"]))
        if not isinstance(view, _DiscussionView):
            raise _NotFound(f"Could not resolve to a node with the global id of '{input['discussionId']}'")
        body = input["body"]
        if not body:
            raise _Unprocessable("Body can't be blank")
        reply_to = input.get("replyToId")
        if reply_to and reply_to not in self._sb.discussion_comments:
            raise _NotFound(f"Could not resolve to a node with the global id of '{reply_to}'")
        com = self._sb._create_discussion_comment(view.number, self._sb.viewer, body, reply_to or None)
        return {
            "clientMutationId": input.get("clientMutationId"),
            "comment": _DiscussionCommentView(self._sb, com),
        }

    def markDiscussionCommentAsAnswer(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        com = self._sb.discussion_comments.get(str(input["id"]))
        if com is None:
            raise _NotFound(f"Could not resolve to a node with the global id of '{input['id']}'")
        d = self._sb.discussions[com.discussion_number]
        if not self._sb.categories[d.category].answerable:
            raise _Unprocessable("This discussion's category does not accept answers.")
        d.answer_id = com.node_id
        d.updated_at = self._sb.now()
        return {"clientMutationId": input.get("clientMutationId"), "discussion": _DiscussionView(self._sb, d)}

    def lockLockable(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        view = self._sb._lookup_node(str(input["lockableId"]))
        if not isinstance(view, _DiscussionView):
            raise _Unprocessable("This object cannot be locked.")
        d = self._sb.discussions[view.number]
        d.locked = True
        d.lock_reason = input.get("lockReason")
        d.updated_at = self._sb.now()
        return {
            "clientMutationId": input.get("clientMutationId"),
            "actor": _UserView(self._sb, self._sb.users[self._sb.viewer]),
            "lockedRecord": _DiscussionView(self._sb, d),
        }
