"""The GitHub connector: PyGithub (REST + GraphQL) polled off the event loop.

Three streams are polled every ``poll_seconds`` (or the server's ``X-Poll-Interval``, if longer):
issues and repository-wide issue comments over REST with ``since`` cursors and ETags (an unchanged stream
answers 304 and costs nothing), and discussions with their comments and threaded replies over GraphQL.
PyGithub is blocking, so every call runs in a worker thread (``asyncio.to_thread``), one at a time.

Cursors are ``{"since": <newest updated_at>, "ids": [ids seen at exactly that second]}``: GitHub's ``since``
is inclusive and its timestamps have whole seconds, so the ids keep an item from being delivered twice while
items that share the cursor's second are never skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

import github
import requests
from github.GithubException import BadCredentialsException, GithubException, RateLimitExceededException
from github.Issue import Issue
from github.IssueComment import IssueComment

from atlas_desk.core.background import wait_event
from atlas_desk.core.types import ActionError, ConnectionState, InboxItem, OutboxAction, Platform
from atlas_desk.platforms.base import ConnectorSink
from atlas_desk.platforms.github import projects, queries, translate

log = logging.getLogger("atlas_desk.platforms.github")

T = TypeVar("T")

STREAM_ISSUES = "issues"
STREAM_ISSUE_COMMENTS = "issue_comments"
STREAM_DISCUSSIONS = "discussions"
PER_PAGE = 100
DISCUSSIONS_PAGE = 25
COMMENTS_PAGE = 50
REPLIES_PAGE = 20  # replies per comment in a poll; older ones are paged while newer than the cursor
PROBE_DISCUSSIONS = 5
PROBE_COMMENTS = 5  # the latest comments whose reply counts the quiet-poll probe compares
REPLAY_PAGES = 20  # pages of 50 the replay check reads back at most in one thread (1,000 comments)
REPLAY_WINDOW = timedelta(days=1)  # nothing created this long before the action can be its reply
MAX_ROUNDS = 5  # catch-up rounds per stream and poll; the next poll continues
BACKOFF_CAP = 300.0
TOKEN_REJECTED = "the GitHub token was rejected"
NO_TOKEN = "no GitHub token is set"


class GitHubSettingsLike(Protocol):
    """What the connector reads from the ``[github]`` settings section."""

    @property
    def api(self) -> str: ...
    @property
    def repo(self) -> str: ...
    @property
    def project_owner(self) -> str: ...
    @property
    def project_number(self) -> int | None: ...
    @property
    def poll_seconds(self) -> float: ...


@dataclass
class _Cursor:
    since: str | None = None
    ids: set[str] = field(default_factory=set)
    # discussions updated at exactly ``since`` -> their ``_activity`` (the quiet-poll probe compares these)
    counts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, raw: str | None) -> _Cursor:
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            counts = {str(k): int(v) for k, v in dict(data.get("counts", {})).items()}
            return cls(data.get("since"), set(data.get("ids", [])), counts)
        except (ValueError, AttributeError, TypeError):
            # an unreadable cursor only costs a full backfill, and ingest is idempotent
            log.warning("ignoring an unreadable GitHub cursor")
            return cls()

    def dump(self) -> str:
        data: dict[str, Any] = {"since": self.since, "ids": sorted(self.ids)}
        if self.counts:
            data["counts"] = dict(sorted(self.counts.items()))
        return json.dumps(data)

    def is_seen(self, updated: str, key: str) -> bool:
        return self.since is not None and _ts(updated) == _ts(self.since) and key in self.ids

    def is_old(self, updated: str) -> bool:
        return self.since is not None and _ts(updated) < _ts(self.since)

    def advanced(self, stamps: Iterable[tuple[str, str]]) -> _Cursor:
        """The cursor after seeing ``(updated_at, id)`` pairs."""
        pairs = list(stamps)
        if not pairs:
            return self
        newest = max(pairs, key=lambda p: _ts(p[0]))[0]
        if self.since is not None and _ts(newest) < _ts(self.since):
            return self
        ids = {k for u, k in pairs if _ts(u) == _ts(newest)}
        if self.since is not None and _ts(newest) == _ts(self.since):
            ids |= self.ids
        return _Cursor(translate.parse_time(newest).strftime("%Y-%m-%dT%H:%M:%SZ"), ids)


def _ts(value: str) -> datetime:
    return translate.parse_time(value)


def _safe_ts(value: Any) -> datetime | None:
    try:
        return translate.parse_time(value)
    except (TypeError, ValueError):
        return None


class _TokenRejected(Exception):
    pass


class GitHubSyncError(Exception):
    """A sync (``backfill``) that could not finish; the message is plain words for the moderator."""


class GitHubConnector:
    """Polls one repository's issues, issue comments and discussions; executes replies and moderation."""

    platform = Platform.GITHUB

    def __init__(
        self,
        settings: GitHubSettingsLike,
        token: str,
        sink: ConnectorSink,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._token = token
        self._sink = sink
        self._rng = rng or random.Random()
        self._owner, _, self._name = settings.repo.partition("/")
        self._state = ConnectionState.NOT_CONFIGURED if not settings.repo else ConnectionState.OFFLINE
        self._gh: github.Github | None = None
        self._calls = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._etags: dict[str, tuple[str, str]] = {}  # stream -> (request key, etag)
        self._server_interval: float | None = None
        self._issue_nodes: dict[int, str] = {}  # issue number -> node id
        self._issue_titles: dict[int, str] = {}
        self._node_numbers: dict[str, int] = {}  # issue / issue comment node id -> issue number
        # the roadmap board (Projects v2): synced when a sink is set and a project is configured
        self.roadmap: projects.RoadmapSink | None = None
        self._projects: projects.ProjectSync | None = None
        self._project_problem = ""

    # -- Connector protocol ---------------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._state

    async def start(self) -> None:
        """Begin polling in a background task (backfill first, then live)."""
        if self._task is not None and not self._task.done():
            return
        if not self._settings.repo:
            self._set_state(ConnectionState.NOT_CONFIGURED, "no GitHub repository is set")
            return
        if not self._token:
            self._set_state(ConnectionState.NOT_CONFIGURED, NO_TOKEN)
            return
        self._ensure_client()
        self._stopping.clear()
        self._set_state(ConnectionState.CONNECTING)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="github-poll")

    async def stop(self) -> None:
        """Stop polling and close PyGithub's connections. Safe to call twice."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                # let a poll in progress finish its ingest and cursor so nothing is delivered twice
                await asyncio.wait_for(asyncio.shield(task), timeout=5.0)
            except TimeoutError:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            except Exception:  # the task logged its own failure
                pass
        gh, self._gh = self._gh, None
        if gh is not None:
            await asyncio.to_thread(gh.close)
        if (task is not None or gh is not None) and self._state is not ConnectionState.OFFLINE:
            self._set_state(ConnectionState.OFFLINE, "stopped")

    async def backfill(self) -> None:
        """Fetch everything since the stored cursors and return once caught up.

        Raises ``GitHubSyncError`` (plain words, no token) when GitHub cannot be read.
        """
        if not self._token:
            raise GitHubSyncError(NO_TOKEN)
        self._ensure_client()
        try:
            await self._poll_once()
        except _TokenRejected:
            self._set_state(ConnectionState.OFFLINE, TOKEN_REJECTED)
            raise GitHubSyncError(TOKEN_REJECTED) from None
        except (GithubException, requests.RequestException, OSError) as exc:
            reason, _wait = self._failure(exc, 1)
            raise GitHubSyncError(reason) from None

    async def execute(self, action: OutboxAction) -> dict[str, Any]:
        """Perform ``reply``, ``mark_answer`` or ``lock`` on GitHub (idempotent per ``idempotency_key``)."""
        if not self._token:
            raise ActionError(f"The desk cannot act on GitHub: {NO_TOKEN}.", retryable=False)
        self._ensure_client()
        try:
            if action.kind == "reply":
                return await self._reply(action)
            if action.kind == "mark_answer":
                return await self._mark_answer(action)
            if action.kind == "lock":
                return await self._lock_discussion(action)
            if action.kind in projects.KINDS:
                sync = self._project_sync()
                try:
                    return await self._call(sync.execute, action)
                finally:
                    sync.forget_last()  # the next poll hands the board over even if it looks unchanged
        except projects.ProjectNotFound as exc:
            raise ActionError(f"The roadmap board cannot be reached: {exc}.", retryable=False) from None
        except _TokenRejected:
            self._set_state(ConnectionState.OFFLINE, TOKEN_REJECTED)
            raise ActionError(
                f"GitHub did not accept the desk's sign-in ({TOKEN_REJECTED}).", retryable=False
            ) from None
        except GithubException as exc:
            if exc.status == 401:
                self._set_state(ConnectionState.OFFLINE, TOKEN_REJECTED)
            raise action_error(exc) from None
        except (requests.RequestException, OSError) as exc:
            raise ActionError("Could not reach GitHub; the action will be retried.", retryable=True) from exc
        raise ActionError(f"GitHub cannot do “{action.kind}” from the desk.", retryable=False)

    # -- polling --------------------------------------------------------------------------------------------

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                await self._poll_once()
            except _TokenRejected:
                self._set_state(ConnectionState.OFFLINE, TOKEN_REJECTED)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                reason, wait = self._failure(exc, failures)
                log.warning("GitHub poll failed (%s); retrying in %.1f s", reason, wait)
                self._set_state(
                    ConnectionState.RECONNECTING, f"{reason}; retrying in {max(1, round(wait))} s"
                )
            else:
                failures = 0
                if self._state is not ConnectionState.LIVE:
                    self._set_state(ConnectionState.LIVE)
                wait = self._interval()
            await wait_event(self._stopping, wait)

    def _interval(self) -> float:
        interval = float(self._settings.poll_seconds)
        if self._server_interval is not None:
            interval = max(interval, self._server_interval)
        return max(interval, 0.05)

    def _failure(self, exc: Exception, failures: int) -> tuple[str, float]:
        """Plain words for the status bar, and how long to wait (exponential backoff with jitter, capped)."""
        base = min(2.0, max(0.05, float(self._settings.poll_seconds)))
        wait = min(BACKOFF_CAP, base * 2 ** min(failures - 1, 16)) * self._rng.uniform(0.5, 1.0)
        if isinstance(exc, GithubException):
            retry_after = _retry_after(exc)
            if retry_after is not None:
                wait = min(BACKOFF_CAP, max(wait, retry_after))
            if _is_rate_limited(exc):
                return "GitHub's rate limit was reached", wait
            if exc.status == 404:
                return f"the repository {self._settings.repo} was not found", wait
            return f"GitHub answered with an error ({exc.status})", wait
        if isinstance(exc, (requests.RequestException, OSError)):
            return "GitHub could not be reached", wait
        log.exception("unexpected error while polling GitHub", exc_info=exc)
        return "an unexpected error occurred while reading GitHub", wait

    async def _poll_once(self) -> None:
        await self._poll_rest(
            STREAM_ISSUES,
            f"/repos/{self._settings.repo}/issues",
            {"state": "all", "sort": "updated", "direction": "desc"},
        )
        await self._poll_rest(
            STREAM_ISSUE_COMMENTS,
            f"/repos/{self._settings.repo}/issues/comments",
            {"sort": "updated", "direction": "desc"},
        )
        await self._poll_discussions()
        await self._poll_project()

    async def _poll_project(self) -> None:
        """Hand the roadmap board to the roadmap service (when one listens and a project is configured)."""
        if self.roadmap is None or not self._settings.project_owner or self._settings.project_number is None:
            return
        try:
            read_rev = self.roadmap.sync_token()  # before the read: the desk's changes after it are newer
            snapshot = await self._call(self._project_sync().snapshot)
            snapshot.read_rev = read_rev
        except projects.ProjectNotFound as exc:
            if str(exc) != self._project_problem:
                log.warning("the roadmap board cannot be read: %s", exc)
                self._project_problem = str(exc)
            return
        self._project_problem = ""
        if self._projects is not None and self._projects.changed(snapshot):
            await self.roadmap.apply_roadmap(snapshot)

    def _project_sync(self) -> projects.ProjectSync:
        if self._projects is None:
            number = self._settings.project_number
            if not self._settings.project_owner or number is None:
                raise projects.ProjectNotFound("no roadmap project is configured")
            owner = self._settings.project_owner
            self._projects = projects.ProjectSync(self, owner, number, self._settings.repo)
        return self._projects

    async def _poll_rest(self, stream: str, path: str, params: dict[str, Any]) -> None:
        """Fetch one REST stream since its cursor until nothing new arrives (or MAX_ROUNDS)."""
        cursor = _Cursor.load(await self._sink.get_cursor(Platform.GITHUB, stream))
        for _ in range(MAX_ROUNDS):
            query = dict(params, per_page=PER_PAGE)
            if cursor.since:
                query["since"] = cursor.since
            key = json.dumps([path, sorted(query.items())])
            known = self._etags.get(stream)
            etag = known[1] if known and known[0] == key else None
            fetched = await self._call(self._fetch_pages, path, query, etag)
            if fetched is None:
                return  # 304: nothing changed
            fetched_raws, new_etag = fetched
            raws = [r for r in fetched_raws if _safe_ts(r.get("updated_at")) and r.get("id") is not None]
            if len(raws) < len(fetched_raws):
                log.warning("skipped %d malformed GitHub objects", len(fetched_raws) - len(raws))
            fresh = [r for r in raws if not cursor.is_seen(r["updated_at"], str(r["id"]))]
            if not fresh:
                if new_etag:
                    self._etags[stream] = (key, new_etag)
                return
            if stream == STREAM_ISSUES:
                items = await self._call(self._issue_items, fresh)
            else:
                items = await self._call(self._comment_items, fresh)
            if items:
                await self._sink.ingest(items)
            cursor = cursor.advanced((r["updated_at"], str(r["id"])) for r in raws)
            await self._sink.set_cursor(Platform.GITHUB, stream, cursor.dump())

    def _fetch_pages(
        self, path: str, query: dict[str, Any], etag: str | None
    ) -> tuple[list[dict[str, Any]], str] | None:
        """GET every page of a list (worker thread). None when the first page answers 304."""
        requester = self._client().requester
        headers = {"If-None-Match": etag} if etag else {}
        try:
            hdrs, data = requester.requestJsonAndCheck("GET", path, query, headers)
        except GithubException as exc:
            _check_auth(exc)
            raise
        self._note_headers(hdrs)
        if data is None:
            return None
        first_etag = str(hdrs.get("etag", ""))
        out: list[dict[str, Any]] = [d for d in data if isinstance(d, dict) and "pull_request" not in d]
        next_url = _next_link(hdrs.get("link"))
        while next_url:
            hdrs, data = requester.requestJsonAndCheck("GET", next_url)
            out.extend(d for d in data or [] if isinstance(d, dict) and "pull_request" not in d)
            next_url = _next_link(hdrs.get("link"))
        return out, first_etag

    def _issue_items(self, raws: list[dict[str, Any]]) -> list[InboxItem]:
        requester = self._client().requester
        items = []
        for raw in raws:
            try:
                issue = Issue(requester, {}, raw, completed=True)
                self._remember_issue(issue)
                items.append(translate.issue_item(issue, self._settings.repo))
            except (KeyError, TypeError, ValueError, AttributeError, AssertionError):
                log.warning("skipped a malformed GitHub issue", exc_info=True)
        return items

    def _remember_issue(self, issue: Issue) -> None:
        self._issue_nodes[issue.number] = issue.node_id
        self._issue_titles[issue.number] = issue.title or ""
        self._node_numbers[issue.node_id] = issue.number

    def _comment_items(self, raws: list[dict[str, Any]]) -> list[InboxItem]:
        requester = self._client().requester
        repo = self._settings.repo
        items = []
        for raw in raws:
            try:
                comment = IssueComment(requester, {}, raw, completed=True)
                number = translate.issue_number_from_url(comment.issue_url)
                if number not in self._issue_nodes:
                    # a comment on an issue this session has not seen yet (cold start with a cursor)
                    self._remember_issue(self._client().get_repo(repo).get_issue(number))
                self._node_numbers[comment.node_id] = number
                items.append(
                    translate.issue_comment_item(
                        comment, repo, self._issue_nodes[number], self._issue_titles[number]
                    )
                )
            except (KeyError, TypeError, ValueError, AttributeError, AssertionError, IndexError):
                log.warning("skipped a malformed GitHub issue comment", exc_info=True)
        return items

    async def _poll_discussions(self) -> None:
        """Fetch discussions and comments updated since the cursor (GraphQL has no ETags: probe first)."""
        cursor = _Cursor.load(await self._sink.get_cursor(Platform.GITHUB, STREAM_DISCUSSIONS))
        for _ in range(MAX_ROUNDS):
            if cursor.since is not None and await self._call(self._discussions_unchanged, cursor):
                return
            discussions = await self._call(self._fetch_discussions, cursor)
            items: list[InboxItem] = []
            stamps: list[tuple[str, str]] = []
            for node in discussions:
                try:
                    stamps.append((node["updatedAt"], node["id"]))
                    if not cursor.is_seen(node["updatedAt"], node["id"]):
                        items.append(translate.discussion_item(node, self._settings.repo))
                    for com in node["comments"]["nodes"]:
                        self._collect_comment(com, node, None, cursor, items, stamps)
                        # an old comment may have new replies: its thread is read either way
                        for reply in (com.get("replies") or {}).get("nodes") or []:
                            self._collect_comment(reply, node, com["id"], cursor, items, stamps)
                except (KeyError, TypeError, ValueError, AttributeError):
                    log.warning("skipped a malformed GitHub discussion", exc_info=True)
            after = cursor.advanced(stamps)
            after.counts = {
                node["id"]: _activity(node)
                for node in discussions
                if after.since is not None and _safe_ts(node.get("updatedAt")) == _ts(after.since)
            }
            if items:
                await self._sink.ingest(items)
            if after.dump() != cursor.dump():
                await self._sink.set_cursor(Platform.GITHUB, STREAM_DISCUSSIONS, after.dump())
            cursor = after
            if not items:
                return

    def _collect_comment(
        self,
        com: dict[str, Any] | None,
        discussion: dict[str, Any],
        reply_to: str | None,
        cursor: _Cursor,
        items: list[InboxItem],
        stamps: list[tuple[str, str]],
    ) -> None:
        """Add a comment or reply the cursor has not delivered yet to ``items`` (and its stamp)."""
        if com is None:
            return
        stamp = com.get("updatedAt") or com["createdAt"]
        if cursor.is_old(stamp):
            return
        stamps.append((stamp, com["id"]))
        if not cursor.is_seen(stamp, com["id"]):
            items.append(translate.discussion_comment_item(com, discussion, self._settings.repo, reply_to))

    def _discussions_unchanged(self, cursor: _Cursor) -> bool:
        """True when the newest discussions are exactly those the cursor has seen (worker thread)."""
        data = self._graphql(
            queries.DISCUSSIONS_PROBE,
            {
                "owner": self._owner,
                "name": self._name,
                "first": PROBE_DISCUSSIONS,
                "comments": PROBE_COMMENTS,
            },
        )
        repo = data.get("repository")
        if repo is None:
            raise GithubException(404, {"message": "Not Found"}, None, "repository not found")
        for node in repo["discussions"]["nodes"] or []:
            if node is None or cursor.is_old(node["updatedAt"]):
                break
            seen = cursor.is_seen(node["updatedAt"], node["id"])
            if not seen or cursor.counts.get(node["id"]) != _activity(node):
                return False
        return True

    def _fetch_discussions(self, cursor: _Cursor) -> list[dict[str, Any]]:
        """Discussions updated at or after the cursor, each with its comments since then (worker thread)."""
        out: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            data = self._graphql(
                queries.DISCUSSIONS_UPDATED,
                {
                    "owner": self._owner,
                    "name": self._name,
                    "first": DISCUSSIONS_PAGE,
                    "after": after,
                    "comments": COMMENTS_PAGE,
                    "replies": REPLIES_PAGE,
                },
            )
            repo = data.get("repository")
            if repo is None:
                raise GithubException(404, {"message": "Not Found"}, None, "repository not found")
            conn = repo["discussions"]
            reached_old = False
            for node in conn["nodes"] or []:
                if node is None:
                    continue
                if cursor.is_old(node["updatedAt"]):
                    reached_old = True
                    break
                self._older_comments(node, cursor)
                out.append(node)
            if reached_old or not conn["pageInfo"]["hasNextPage"]:
                return out
            after = conn["pageInfo"]["endCursor"]

    def _older_comments(self, node: dict[str, Any], cursor: _Cursor) -> None:
        """Walk a discussion's comments backwards (they come oldest first) until they predate the cursor,
        then each fetched comment's replies likewise.

        A reply to a comment older than both the cursor and the latest ``COMMENTS_PAGE`` comments is not
        read here (GitHub offers no "replies since" query); the desk's own replies are delivered when
        GitHub confirms them (``_reply_discussion``).
        """
        comments = node["comments"]
        comments["nodes"] = [c for c in comments["nodes"] or [] if c is not None]
        while comments["pageInfo"]["hasPreviousPage"]:
            oldest = comments["nodes"][0] if comments["nodes"] else None
            if oldest is not None and cursor.is_old(oldest["createdAt"]):
                break
            page = self._graphql(
                queries.DISCUSSION_COMMENTS_PAGE,
                {
                    "id": node["id"],
                    "last": COMMENTS_PAGE,
                    "before": comments["pageInfo"]["startCursor"],
                    "replies": REPLIES_PAGE,
                },
            )["node"]["comments"]
            comments["nodes"][:0] = [c for c in page["nodes"] or [] if c is not None]
            comments["pageInfo"] = page["pageInfo"]
        for com in comments["nodes"]:
            self._older_replies(com, cursor)

    def _older_replies(self, com: dict[str, Any], cursor: _Cursor) -> None:
        """Walk one comment's replies backwards until they predate the cursor (worker thread)."""
        replies = com.get("replies")
        if not replies:
            return
        replies["nodes"] = [r for r in replies["nodes"] or [] if r is not None]
        while replies["pageInfo"]["hasPreviousPage"]:
            oldest = replies["nodes"][0] if replies["nodes"] else None
            if oldest is not None and cursor.is_old(oldest["createdAt"]):
                return
            page = self._graphql(
                queries.DISCUSSION_REPLIES_PAGE,
                {"id": com["id"], "last": REPLIES_PAGE, "before": replies["pageInfo"]["startCursor"]},
            )["node"]["replies"]
            replies["nodes"][:0] = [r for r in page["nodes"] or [] if r is not None]
            replies["pageInfo"] = page["pageInfo"]

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Run one GraphQL document (worker thread) and return its ``data``."""
        try:
            hdrs, data = self._client().requester.graphql_query(query, variables)
        except GithubException as exc:
            _check_auth(exc)
            raise
        self._note_headers(hdrs)
        result: dict[str, Any] = data.get("data") or {}
        return result

    def _note_headers(self, headers: dict[str, Any]) -> None:
        value = headers.get("x-poll-interval")
        if value is not None:
            with contextlib.suppress(ValueError):
                self._server_interval = float(value)

    # -- actions --------------------------------------------------------------------------------------------

    async def _reply(self, action: OutboxAction) -> dict[str, Any]:
        body = str(action.payload.get("body", ""))
        if not body.strip():
            raise ActionError("The reply is empty.", retryable=False)
        key = action.idempotency_key
        text = translate.with_marker(body, key)
        target = action.target
        if target.startswith(("D_", "DC_")):
            result, item = await self._call(self._reply_discussion, target, text, key, action.created_at)
            await self._deliver_confirmed(item)
            return result
        number = self._issue_number(action)
        if number is None and target.startswith(("I_", "IC_")):
            number = await self._call(self._lookup_issue_number, target)
        if number is None:
            raise ActionError(
                "The desk does not know which GitHub issue this reply belongs to.", retryable=False
            )
        return await self._call(self._reply_issue, number, text, key, action.created_at)

    def _issue_number(self, action: OutboxAction) -> int | None:
        for name in ("number", "issue_number"):
            value = action.payload.get(name)
            if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
                return int(value)
        return self._node_numbers.get(action.target)

    def _lookup_issue_number(self, node_id: str) -> int | None:
        node = self._graphql(queries.ISSUE_NUMBER_OF_NODE, {"id": node_id}).get("node") or {}
        if node.get("__typename") == "IssueComment":
            node = node.get("issue") or {}
        number = node.get("number")
        if isinstance(number, int):
            self._node_numbers[node_id] = number
            return number
        return None

    def _reply_issue(self, number: int, text: str, key: str, created: datetime) -> dict[str, Any]:
        issue = self._client().get_repo(self._settings.repo).get_issue(number)
        marker = translate.marker(key)
        # a replay (crash or lost answer after posting) must find the comment it already made
        since = min(created, datetime.now(UTC)) - timedelta(days=1)
        for existing in issue.get_comments(since=since):
            if existing.body and existing.body.rstrip().endswith(marker):
                return {"id": existing.node_id, "url": existing.html_url, "replayed": True}
        posted = issue.create_comment(text)
        return {"id": posted.node_id, "url": posted.html_url}

    def _reply_discussion(
        self, target: str, text: str, key: str, created: datetime
    ) -> tuple[dict[str, Any], InboxItem | None]:
        """Post a reply to a discussion (top level) or to a comment (in its thread), once (worker thread).

        GitHub nests one level: a reply to a reply joins its parent's thread. Returns the outbox result and
        the confirmed comment as an inbox item.
        """
        marker = translate.marker(key)
        latest = {"id": target, "last": COMMENTS_PAGE}
        node = self._graphql(queries.DISCUSSION_LATEST_COMMENTS, latest)["node"]
        if node is None:
            raise GithubException(404, {"message": "Not Found"}, None, "discussion not found")
        # a replay (crash or lost answer after posting) must find the comment it already made, where it went
        not_before = min(created, datetime.now(UTC)) - REPLAY_WINDOW
        if node.get("__typename") == "Discussion":
            discussion, reply_to = node, None
            found = self._find_marked(discussion["id"], discussion["comments"], marker, not_before)
            found_in = None
        else:
            discussion = node["discussion"]
            thread = node.get("replyTo") or node
            reply_to = thread["id"]
            found = self._find_marked(reply_to, thread["replies"], marker, not_before)
            found_in = reply_to
            if found is None:
                # before the desk threaded its replies, a reply to a comment went to the top level: an
                # attempt from then sits among the latest top-level comments
                found = _marked(discussion["comments"], marker)
                found_in = None
        if found is not None:
            item = self._confirmed_item(found, discussion, found_in)
            return {"id": found["id"], "url": found["url"], "replayed": True}, item
        payload: dict[str, Any] = {"discussionId": discussion["id"], "body": text}
        if reply_to is not None:
            payload["replyToId"] = reply_to
        comment = self._graphql(queries.ADD_DISCUSSION_COMMENT, {"input": payload})["addDiscussionComment"][
            "comment"
        ]
        parent = (comment.get("replyTo") or {}).get("id")
        item = self._confirmed_item(comment, comment.get("discussion") or discussion, parent)
        return {"id": comment["id"], "url": comment["url"]}, item

    def _find_marked(
        self, owner: str, page: dict[str, Any], marker: str, not_before: datetime
    ) -> dict[str, Any] | None:
        """The comment ending with ``marker`` in a comment connection, paging back to ``not_before`` at most.

        ``owner`` is the discussion (top-level comments) or the comment (its replies) the connection belongs
        to. Pages come oldest first; reading stops at a page that starts before ``not_before``, which no
        reply to this action can predate, or after ``REPLAY_PAGES`` pages.
        """
        for read in range(1, REPLAY_PAGES + 1):
            found = _marked(page, marker)
            if found is not None:
                return found
            nodes = [n for n in page.get("nodes") or [] if n is not None]
            oldest = _safe_ts(nodes[0].get("createdAt")) if nodes else None
            if not page["pageInfo"]["hasPreviousPage"] or oldest is None or oldest < not_before:
                return None
            if read == REPLAY_PAGES:
                break
            data = self._graphql(
                queries.REPLAY_PAGE,
                {"id": owner, "last": COMMENTS_PAGE, "before": page["pageInfo"]["startCursor"]},
            )["node"]
            page = data.get("comments") or data.get("replies") or {}
            if "pageInfo" not in page:
                return None
        log.warning(
            "the reply check read %d pages of GitHub comments without reaching the reply's time; posting",
            REPLAY_PAGES,
        )
        return None

    def _confirmed_item(
        self, comment: dict[str, Any], discussion: dict[str, Any], reply_to: str | None
    ) -> InboxItem | None:
        try:
            return translate.discussion_comment_item(comment, discussion, self._settings.repo, reply_to)
        except (KeyError, TypeError, ValueError, AttributeError):
            log.warning("GitHub confirmed a reply the desk cannot show yet", exc_info=True)
            return None

    async def _deliver_confirmed(self, item: InboxItem | None) -> None:
        """Put a comment GitHub confirmed into the inbox now.

        Polling would bring it too, but not always: a reply threaded under an older comment is outside what
        a poll reads. Delivering twice is harmless (ingest is by natural key).
        """
        if item is None:
            return
        try:
            await self._sink.ingest([item])
        except Exception:
            # the reply is on GitHub: failing the action now would only make the outbox replay it
            log.exception("could not store the confirmed GitHub reply; the next poll may bring it")

    async def _mark_answer(self, action: OutboxAction) -> dict[str, Any]:
        data = await self._call(
            self._graphql, queries.MARK_DISCUSSION_COMMENT_AS_ANSWER, {"input": {"id": action.target}}
        )
        discussion = data["markDiscussionCommentAsAnswer"]["discussion"]
        return {"id": discussion["id"], "url": discussion["url"]}

    async def _lock_discussion(self, action: OutboxAction) -> dict[str, Any]:
        if not action.target.startswith("D_"):
            raise ActionError("Only discussions can be locked from the desk.", retryable=False)
        payload: dict[str, Any] = {"lockableId": action.target}
        reason = action.payload.get("reason")
        if reason:
            payload["lockReason"] = str(reason).upper()
        data = await self._call(self._graphql, queries.LOCK_LOCKABLE, {"input": payload})
        record = data["lockLockable"]["lockedRecord"] or {}
        return {"id": action.target, "locked": bool(record.get("locked"))}

    # -- plumbing -------------------------------------------------------------------------------------------

    def _ensure_client(self) -> None:
        if self._gh is None:
            self._gh = github.Github(
                base_url=self._settings.api.rstrip("/"),
                auth=github.Auth.Token(self._token),
                seconds_between_requests=None,
                seconds_between_writes=None,
                # no retries inside PyGithub: a worker thread must never sleep until a rate-limit reset;
                # the poll loop backs off and the outbox retries actions
                retry=0,
                timeout=30,
                # objects are built from what the desk already fetched; no request just to construct a repo
                lazy=True,
            )

    def _client(self) -> github.Github:
        if self._gh is None:
            raise RuntimeError("GitHub connector is stopped")
        return self._gh

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        # one PyGithub call at a time: the Requester shares one connection between threads
        async with self._calls:
            return await asyncio.to_thread(fn, *args)

    def _set_state(self, state: ConnectionState, reason: str = "") -> None:
        self._state = state
        self._sink.set_state(Platform.GITHUB, state, reason)


# ----------------------------------------------------------------------------------------------------


def _marked(page: dict[str, Any], marker: str) -> dict[str, Any] | None:
    """The newest comment in a connection page whose body ends with the desk's ``marker``."""
    for existing in reversed(page.get("nodes") or []):
        if existing and (existing.get("body") or "").rstrip().endswith(marker):
            return dict(existing)
    return None


def _activity(node: dict[str, Any]) -> int:
    """A discussion's top-level comment count plus the reply counts of its latest ``PROBE_COMMENTS`` comments.

    The quiet-poll probe compares this for discussions updated in the cursor's own second: a comment or a
    reply arriving within that second changes it even though ``updatedAt`` does not move.
    """
    comments = node["comments"]
    latest = [c for c in comments.get("nodes") or [] if c is not None][-PROBE_COMMENTS:]
    replies = sum(int((c.get("replies") or {}).get("totalCount") or 0) for c in latest)
    return int(comments["totalCount"]) + replies


def _check_auth(exc: GithubException) -> None:
    if exc.status == 401 or isinstance(exc, BadCredentialsException):
        raise _TokenRejected() from None


def _next_link(header: Any) -> str | None:
    if not header:
        return None
    for part in str(header).split(","):
        url, _, rel = part.partition(";")
        if 'rel="next"' in rel:
            return url.strip().strip("<>")
    return None


def _header(exc: GithubException, name: str) -> str | None:
    headers = exc.headers or {}
    for k, v in headers.items():
        if k.lower() == name.lower():
            return str(v)
    return None


def _is_rate_limited(exc: GithubException) -> bool:
    if exc.status == 429 or isinstance(exc, RateLimitExceededException):
        return True
    return exc.status == 403 and (
        _header(exc, "x-ratelimit-remaining") == "0" or _header(exc, "retry-after") is not None
    )


def _retry_after(exc: GithubException) -> float | None:
    value = _header(exc, "retry-after")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None
    if _header(exc, "x-ratelimit-remaining") == "0":
        reset = _header(exc, "x-ratelimit-reset")
        if reset is not None:
            try:
                return max(0.0, float(reset) - time.time())
            except ValueError:
                return None
    return None


def _github_message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    errors = data.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict) and errors[0].get("message"):
        return str(errors[0]["message"])
    return str(data.get("message") or "")


def action_error(exc: GithubException) -> ActionError:
    """Plain-words ``ActionError`` for a failed GitHub call (never includes a token)."""
    status = exc.status
    if status == 401:
        return ActionError(f"GitHub did not accept the desk's sign-in ({TOKEN_REJECTED}).", retryable=False)
    if _is_rate_limited(exc):
        return ActionError(
            "GitHub's rate limit was reached; the action will be retried.",
            retryable=True,
            retry_after=_retry_after(exc),
        )
    if status >= 500:
        return ActionError(
            f"GitHub had a server error ({status}); the action will be retried.",
            retryable=True,
            retry_after=_retry_after(exc),
        )
    if status == 404:
        return ActionError(
            "The item no longer exists on GitHub (or the desk cannot see it).", retryable=False
        )
    message = _github_message(exc)
    if status == 403:
        return ActionError(f"GitHub refused the action: {message or 'permission denied'}.", retryable=False)
    return ActionError(f"GitHub refused the action: {message or f'error {status}'}.", retryable=False)
