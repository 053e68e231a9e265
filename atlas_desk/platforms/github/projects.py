"""The roadmap sync: the GitHub Projects (v2) board read and written over GraphQL, for the GitHub connector.

Reading: the project (by its owner — organization, else user — and number) with its fields once, then every
poll all its items, paged in the project's order, normalised into ``SyncedCard``s for the roadmap service.
Writing (outbox actions): ``roadmap_move`` sets Status with ``updateProjectV2ItemFieldValue`` (single-select
option id; never ``updateProjectV2Field``, which would replace the options) and/or the order with
``updateProjectV2ItemPosition``; ``roadmap_add`` creates an issue over REST and adds it with
``addProjectV2ItemById`` (or adds a draft issue); ``roadmap_archive``; and ``publish_discussion`` posts a
roadmap update in a Discussions category. All run on the connector's worker thread, one call at a time.

Idempotency: a move or an archive is naturally idempotent. An add writes the action's key as a marker into the
body, and a replay first looks for an item (or issue) that carries it.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from github.GithubException import GithubException

from atlas_desk.core.roadmap_types import ProjectInfo, RoadmapSnapshot, SyncedCard
from atlas_desk.core.types import ActionError, OutboxAction
from atlas_desk.platforms.github import project_queries as q
from atlas_desk.platforms.github import translate

log = logging.getLogger("atlas_desk.platforms.github.projects")

ITEMS_PAGE = 100
STATUS_FIELD = "Status"
TARGET_FIELD = "Target month"
LINK_RE = re.compile(r"<!-- atlas-desk-link: (discord|github|reddit):([A-Za-z0-9_\-]{1,100}) -->")
WHY_RE = re.compile(r"<!-- atlas-desk-why: (.{1,500}?) -->")
ANY_MARKER_RE = re.compile(r"<!-- atlas-desk:([A-Za-z0-9_.:\-]{1,200}) -->")
KINDS = frozenset({"roadmap_move", "roadmap_add", "roadmap_archive", "publish_discussion"})


class RoadmapSink(Protocol):
    """Where a poll of the board goes (the roadmap service)."""

    def sync_token(self) -> int: ...

    async def apply_roadmap(self, snapshot: RoadmapSnapshot) -> None: ...


class GraphQLRunner(Protocol):
    """What this module needs of the connector (all called on the worker thread)."""

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]: ...

    def _client(self) -> Any: ...


class ProjectNotFound(Exception):
    """The configured project does not exist or the token cannot see it."""


class ProjectSync:
    """Reads and writes one Projects (v2) board through a connector's GraphQL plumbing (worker thread)."""

    def __init__(self, gql: GraphQLRunner, owner: str, number: int, repo: str) -> None:
        self._gql = gql
        self.owner = owner
        self.number = number
        self.repo = repo
        self.info: ProjectInfo | None = None
        self._last: tuple[str, ...] | None = None  # a cheap fingerprint of the last snapshot handed over

    # -- reading -----------------------------------------------------------------------------------------

    def project(self) -> ProjectInfo:
        """The project's ids and Status options (read once, then cached)."""
        if self.info is None:
            self.info = self._read_project()
        return self.info

    def _read_project(self) -> ProjectInfo:
        variables = {"owner": self.owner, "number": self.number}
        node: dict[str, Any] | None = None
        try:
            node = (self._gql._graphql(q.PROJECT_OF_ORGANIZATION, variables).get("organization") or {}).get(
                "projectV2"
            )
        except GithubException as exc:
            if exc.status not in (404, 400):
                raise
        if node is None:
            try:
                node = (self._gql._graphql(q.PROJECT_OF_USER, variables).get("user") or {}).get("projectV2")
            except GithubException as exc:
                if exc.status not in (404, 400):
                    raise
        if node is None:
            raise ProjectNotFound(f"project {self.number} of {self.owner} was not found")
        status_id, target_id, options = "", "", []
        for f in node["fields"]["nodes"] or []:
            if not f:
                continue
            if f.get("__typename") == "ProjectV2SingleSelectField" and f.get("name") == STATUS_FIELD:
                status_id = str(f["id"])
                options = [(str(o["id"]), str(o["name"])) for o in f.get("options") or []]
            elif f.get("name") == TARGET_FIELD:
                target_id = str(f["id"])
        if not status_id:
            raise ProjectNotFound(f"project {self.number} of {self.owner} has no “{STATUS_FIELD}” field")
        return ProjectInfo(
            project_id=str(node["id"]),
            status_field_id=status_id,
            options=options,
            target_field_id=target_id,
            url=str(node.get("url") or ""),
            title=str(node.get("title") or ""),
        )

    def snapshot(self) -> RoadmapSnapshot:
        """Every item of the board, in the project's order."""
        info = self.project()
        names = {oid: name for oid, name in info.options}
        cards: list[SyncedCard] = []
        after: str | None = None
        while True:
            data = self._gql._graphql(
                q.PROJECT_ITEMS, {"project": info.project_id, "first": ITEMS_PAGE, "after": after}
            )
            node = data.get("node") or {}
            conn = node.get("items")
            if conn is None:
                self.info = None  # the project went away: look it up again next time
                raise ProjectNotFound(f"project {self.number} of {self.owner} cannot be read")
            for raw in conn["nodes"] or []:
                if raw is None or raw.get("isArchived"):
                    continue
                try:
                    card = _card(raw, names, len(cards))
                except (KeyError, TypeError, ValueError):
                    log.warning("skipped a malformed project item", exc_info=True)
                    continue
                if card is not None:
                    cards.append(card)
            if not conn["pageInfo"]["hasNextPage"]:
                break
            after = conn["pageInfo"]["endCursor"]
        return RoadmapSnapshot(info, cards)

    def changed(self, snapshot: RoadmapSnapshot) -> bool:
        """Whether this snapshot differs from the last one handed over (a quiet board costs no write)."""
        fingerprint = tuple(
            f"{c.platform_id}|{c.status}|{c.position}|{c.title}|{c.github_votes}|{c.labels}|{c.assignees}|"
            f"{c.target_month}|{c.state}|{len(c.body)}|{hash(c.body)}"
            for c in snapshot.cards
        )
        if fingerprint == self._last:
            return False
        self._last = fingerprint
        return True

    def forget_last(self) -> None:
        """Hand the next snapshot over even if unchanged (after the desk changed the board itself)."""
        self._last = None

    # -- writing (outbox actions) ------------------------------------------------------------------------

    def execute(self, action: OutboxAction) -> dict[str, Any]:
        if action.kind == "roadmap_move":
            return self._move(action)
        if action.kind == "roadmap_add":
            return self._add(action)
        if action.kind == "roadmap_archive":
            return self._archive(action)
        if action.kind == "publish_discussion":
            return self._publish(action)
        raise ActionError(f"GitHub cannot do “{action.kind}” from the desk.", retryable=False)

    def _project_id(self, action: OutboxAction) -> str:
        return str(action.payload.get("project_id") or self.project().project_id)

    def _move(self, action: OutboxAction) -> dict[str, Any]:
        p = action.payload
        project_id = self._project_id(action)
        out: dict[str, Any] = {"item_id": action.target}
        if p.get("set_status"):
            option = str(p.get("option_id") or "")
            field = str(p.get("field_id") or self.project().status_field_id)
            self._gql._graphql(
                q.UPDATE_ITEM_FIELD_VALUE,
                {
                    "input": {
                        "projectId": project_id,
                        "itemId": action.target,
                        "fieldId": field,
                        "value": {"singleSelectOptionId": option},
                    }
                },
            )
            out["status"] = p.get("column")
        if not p.get("set_status") or "after_id" in p:
            self._gql._graphql(
                q.UPDATE_ITEM_POSITION,
                {"input": {"projectId": project_id, "itemId": action.target, "afterId": p.get("after_id")}},
            )
            out["after_id"] = p.get("after_id")
        return out

    def _archive(self, action: OutboxAction) -> dict[str, Any]:
        data = self._gql._graphql(
            q.ARCHIVE_ITEM, {"input": {"projectId": self._project_id(action), "itemId": action.target}}
        )
        item = (data.get("archiveProjectV2Item") or {}).get("item") or {}
        return {"item_id": item.get("id", action.target), "archived": True}

    def _find_marked_item(self, key: str) -> str | None:
        marker = translate.marker(key)
        for card in self.snapshot().cards:
            if card.marker == key or marker in card.body:
                return card.platform_id
        return None

    def _add(self, action: OutboxAction) -> dict[str, Any]:
        p = action.payload
        key = action.idempotency_key
        project_id = self._project_id(action)
        existing = self._find_marked_item(key)
        if existing is not None:
            return {"item_id": existing, "replayed": True}
        body = translate.with_marker(str(p.get("body") or ""), key)
        title = str(p.get("title") or "").strip()
        if not title:
            raise ActionError("The card has no title.", retryable=False)
        url = ""
        if p.get("as_draft"):
            data = self._gql._graphql(
                q.ADD_DRAFT_ISSUE, {"input": {"projectId": project_id, "title": title, "body": body}}
            )
            item_id = str(data["addProjectV2DraftIssue"]["projectItem"]["id"])
        else:
            issue = self._marked_issue(key, action.created_at)
            if issue is None:
                repo = self._gql._client().get_repo(self.repo)
                labels = [str(x) for x in p.get("labels") or []]
                issue = repo.create_issue(title=title, body=body, labels=labels)
            url = str(issue.html_url or "")
            data = self._gql._graphql(
                q.ADD_ITEM_BY_ID, {"input": {"projectId": project_id, "contentId": issue.node_id}}
            )
            item_id = str(data["addProjectV2ItemById"]["item"]["id"])
        option = p.get("option_id")
        if option:
            self._gql._graphql(
                q.UPDATE_ITEM_FIELD_VALUE,
                {
                    "input": {
                        "projectId": project_id,
                        "itemId": item_id,
                        "fieldId": str(p.get("field_id") or self.project().status_field_id),
                        "value": {"singleSelectOptionId": str(option)},
                    }
                },
            )
            self._gql._graphql(
                q.UPDATE_ITEM_POSITION,
                {"input": {"projectId": project_id, "itemId": item_id, "afterId": None}},
            )
        return {"item_id": item_id, "url": url}

    def _marked_issue(self, key: str, created: datetime) -> Any:
        """An issue this action already created (a replay after a lost answer), or None."""
        marker = translate.marker(key)
        repo = self._gql._client().get_repo(self.repo)
        since = min(created, datetime.now(UTC)) - timedelta(days=1)
        for issue in repo.get_issues(state="all", since=since, sort="created", direction="desc"):
            if issue.body and issue.body.rstrip().endswith(marker):
                return issue
        return None

    def _publish(self, action: OutboxAction) -> dict[str, Any]:
        owner, _, name = self.repo.partition("/")
        data = self._gql._graphql(q.DISCUSSION_TARGET, {"owner": owner, "name": name})
        repo = data.get("repository") or {}
        wanted = action.target.lower() or "announcements"
        category = next(
            (
                c
                for c in (repo.get("discussionCategories") or {}).get("nodes") or []
                if c and (c["name"].lower() == wanted or c["slug"] == wanted)
            ),
            None,
        )
        if category is None:
            raise ActionError(
                f"The repository has no “{action.target}” discussion category.", retryable=False
            )
        marker = translate.marker(action.idempotency_key)
        recent = self._gql._graphql(
            q.RECENT_DISCUSSIONS, {"owner": owner, "name": name, "category": category["id"]}
        )
        for d in ((recent.get("repository") or {}).get("discussions") or {}).get("nodes") or []:
            if d and (d.get("body") or "").rstrip().endswith(marker):
                return {"id": d["id"], "url": d["url"], "replayed": True}
        body = translate.with_marker(str(action.payload.get("body") or ""), action.idempotency_key)
        title = str(action.payload.get("title") or "Roadmap update")
        created = self._gql._graphql(
            q.CREATE_DISCUSSION,
            {
                "input": {
                    "repositoryId": repo["id"],
                    "categoryId": category["id"],
                    "title": title,
                    "body": body,
                }
            },
        )
        d = created["createDiscussion"]["discussion"]
        return {"id": d["id"], "url": d["url"], "number": d["number"]}


def _card(raw: dict[str, Any], names: dict[str, str], index: int) -> SyncedCard | None:
    content = raw.get("content") or {}
    typename = content.get("__typename")
    if typename not in ("Issue", "DraftIssue"):
        return None  # pull requests and redacted items are not roadmap cards
    status = raw.get("status") or {}
    option = status.get("optionId")
    column = names.get(str(option), "") if option else ""
    target = (raw.get("target") or {}).get("text") or ""
    body_raw = str(content.get("body") or "")
    links = [
        {"platform": m.group(1), "platform_id": m.group(2), "url": ""} for m in LINK_RE.finditer(body_raw)
    ]
    why = WHY_RE.search(body_raw)
    marker = ANY_MARKER_RE.search(body_raw)
    body = ANY_MARKER_RE.sub("", WHY_RE.sub("", LINK_RE.sub("", body_raw))).rstrip()
    assignees = [u["login"] for u in (content.get("assignees") or {}).get("nodes") or [] if u]
    is_issue = typename == "Issue"
    return SyncedCard(
        platform_id=str(raw["id"]),
        content_id=str(content.get("id") or ""),
        item_type="ISSUE" if is_issue else "DRAFT_ISSUE",
        number=int(content["number"]) if is_issue else None,
        title=str(content.get("title") or ""),
        body=body,
        status=column,
        position=float(index),
        labels=[lab["name"] for lab in (content.get("labels") or {}).get("nodes") or [] if lab]
        if is_issue
        else [],
        assignees=assignees,
        target_month=str(target),
        github_votes=int((content.get("reactions") or {}).get("totalCount") or 0) if is_issue else 0,
        url=str(content.get("url") or "") if is_issue else "",
        updated_at=translate.parse_time(raw.get("updatedAt") or datetime.now(UTC)),
        links=links,
        why_note=why.group(1).strip() if why else "",
        state=str(content.get("state") or ""),
        marker=marker.group(1) if marker else "",
    )
