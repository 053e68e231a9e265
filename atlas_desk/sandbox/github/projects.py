"""The sandbox's Projects (v2) board: state, seeding from ``community.roadmap``, GraphQL views and mutations.

One organization-owned project (number 1) with a Status single-select field (Under consideration / Planned /
In progress / Done, in that order), a "Target month" text field (``2026-12``) and items that are issues or
draft issues. Items keep one global order, as on GitHub; a column is that order filtered by Status.
``updateProjectV2ItemPosition`` moves an item directly after ``afterId`` (``null``: to the top).

The SDL block (``SDL``) extends the core sandbox schema; every field exists on GitHub with the same type (the
schema test checks it). Resolvers are the view classes below, named like the schema's fields.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from atlas_desk.sandbox.github.server import GitHubSandbox

STATUS_OPTIONS: tuple[tuple[str, str, str], ...] = (
    # name, colour, description
    ("Under consideration", "GRAY", "Ideas we are weighing"),
    ("Planned", "BLUE", "We intend to build it"),
    ("In progress", "YELLOW", "Being built now"),
    ("Done", "GREEN", "Shipped"),
)
PROJECT_ID = "PVT_sbxproject0001"
STATUS_FIELD_ID = "PVTSSF_sbxstatus01"
TARGET_FIELD_ID = "PVTF_sbxtarget001"
TITLE_FIELD_ID = "PVTF_sbxtitle0001"
LINK_MARKER = "<!-- atlas-desk-link: {platform}:{platform_id} -->"

SDL = """
enum ProjectV2ItemType {
  DRAFT_ISSUE
  ISSUE
  PULL_REQUEST
  REDACTED
}

enum ProjectV2FieldType {
  ASSIGNEES
  DATE
  ITERATION
  LABELS
  LINKED_PULL_REQUESTS
  MILESTONE
  NUMBER
  PARENT_ISSUE
  REPOSITORY
  REVIEWERS
  SINGLE_SELECT
  SUB_ISSUES_PROGRESS
  TEXT
  TITLE
  TRACKED_BY
  TRACKS
}

enum ProjectV2SingleSelectFieldOptionColor {
  BLUE
  GRAY
  GREEN
  ORANGE
  PINK
  PURPLE
  RED
  YELLOW
}

interface ProjectV2Owner {
  id: ID!
  projectV2(number: Int!): ProjectV2
}

interface ProjectV2FieldCommon {
  createdAt: DateTime!
  dataType: ProjectV2FieldType!
  databaseId: Int
  id: ID!
  name: String!
  project: ProjectV2!
  updatedAt: DateTime!
}

interface ProjectV2ItemFieldValueCommon {
  createdAt: DateTime!
  creator: Actor
  databaseId: Int
  field: ProjectV2FieldConfiguration!
  id: ID!
  item: ProjectV2Item!
  updatedAt: DateTime!
}

type Organization implements Actor & Node & ProjectV2Owner {
  avatarUrl(size: Int): URI!
  id: ID!
  login: String!
  name: String
  projectV2(number: Int!): ProjectV2
  resourcePath: URI!
  url: URI!
}

extend type User implements ProjectV2Owner {
  projectV2(number: Int!): ProjectV2
}

extend type Repository {
  projectV2(number: Int!): ProjectV2
}

extend type Query {
  organization(login: String!): Organization
  user(login: String!): User
}

type Label implements Node {
  color: String!
  id: ID!
  name: String!
  url: URI!
}

type LabelConnection {
  nodes: [Label]
  pageInfo: PageInfo!
  totalCount: Int!
}

type UserConnection {
  nodes: [User]
  pageInfo: PageInfo!
  totalCount: Int!
}

type ReactionConnection {
  pageInfo: PageInfo!
  totalCount: Int!
}

extend type Issue {
  assignees(after: String, before: String, first: Int, last: Int): UserConnection!
  body: String!
  createdAt: DateTime!
  labels(after: String, before: String, first: Int, last: Int): LabelConnection
  reactionGroups: [ReactionGroup!]
  reactions(
    after: String
    before: String
    content: ReactionContent
    first: Int
    last: Int
  ): ReactionConnection!
  updatedAt: DateTime!
}

type DraftIssue implements Node {
  assignees(after: String, before: String, first: Int, last: Int): UserConnection!
  body: String!
  createdAt: DateTime!
  id: ID!
  title: String!
  updatedAt: DateTime!
}

union ProjectV2ItemContent = DraftIssue | Issue

type ProjectV2SingleSelectFieldOption {
  color: ProjectV2SingleSelectFieldOptionColor!
  description: String!
  id: String!
  name: String!
}

type ProjectV2SingleSelectField implements Node & ProjectV2FieldCommon {
  createdAt: DateTime!
  dataType: ProjectV2FieldType!
  databaseId: Int
  id: ID!
  name: String!
  options(names: [String!]): [ProjectV2SingleSelectFieldOption!]!
  project: ProjectV2!
  updatedAt: DateTime!
}

type ProjectV2Field implements Node & ProjectV2FieldCommon {
  createdAt: DateTime!
  dataType: ProjectV2FieldType!
  databaseId: Int
  id: ID!
  name: String!
  project: ProjectV2!
  updatedAt: DateTime!
}

union ProjectV2FieldConfiguration = ProjectV2Field | ProjectV2SingleSelectField

type ProjectV2FieldConfigurationConnection {
  nodes: [ProjectV2FieldConfiguration]
  pageInfo: PageInfo!
  totalCount: Int!
}

type ProjectV2ItemFieldSingleSelectValue implements Node & ProjectV2ItemFieldValueCommon {
  color: ProjectV2SingleSelectFieldOptionColor!
  createdAt: DateTime!
  creator: Actor
  databaseId: Int
  field: ProjectV2FieldConfiguration!
  id: ID!
  item: ProjectV2Item!
  name: String
  optionId: String
  updatedAt: DateTime!
}

type ProjectV2ItemFieldTextValue implements Node & ProjectV2ItemFieldValueCommon {
  createdAt: DateTime!
  creator: Actor
  databaseId: Int
  field: ProjectV2FieldConfiguration!
  id: ID!
  item: ProjectV2Item!
  text: String
  updatedAt: DateTime!
}

union ProjectV2ItemFieldValue = ProjectV2ItemFieldSingleSelectValue | ProjectV2ItemFieldTextValue

type ProjectV2ItemFieldValueConnection {
  nodes: [ProjectV2ItemFieldValue]
  pageInfo: PageInfo!
  totalCount: Int!
}

type ProjectV2Item implements Node {
  content: ProjectV2ItemContent
  createdAt: DateTime!
  fieldValueByName(name: String!): ProjectV2ItemFieldValue
  fieldValues(after: String, before: String, first: Int, last: Int): ProjectV2ItemFieldValueConnection!
  id: ID!
  isArchived: Boolean!
  project: ProjectV2!
  type: ProjectV2ItemType!
  updatedAt: DateTime!
}

type ProjectV2ItemConnection {
  nodes: [ProjectV2Item]
  pageInfo: PageInfo!
  totalCount: Int!
}

type ProjectV2 implements Node {
  closed: Boolean!
  createdAt: DateTime!
  field(name: String!): ProjectV2FieldConfiguration
  fields(after: String, before: String, first: Int, last: Int): ProjectV2FieldConfigurationConnection!
  id: ID!
  items(after: String, before: String, first: Int, last: Int): ProjectV2ItemConnection!
  number: Int!
  public: Boolean!
  shortDescription: String
  title: String!
  updatedAt: DateTime!
  url: URI!
}

input ProjectV2FieldValue {
  date: Date
  iterationId: String
  number: Float
  singleSelectOptionId: String
  text: String
}

scalar Date

input UpdateProjectV2ItemFieldValueInput {
  clientMutationId: String
  fieldId: ID!
  itemId: ID!
  projectId: ID!
  value: ProjectV2FieldValue!
}

type UpdateProjectV2ItemFieldValuePayload {
  clientMutationId: String
  projectV2Item: ProjectV2Item
}

input UpdateProjectV2ItemPositionInput {
  afterId: ID
  clientMutationId: String
  itemId: ID!
  projectId: ID!
}

type UpdateProjectV2ItemPositionPayload {
  clientMutationId: String
  items(after: String, before: String, first: Int, last: Int): ProjectV2ItemConnection
}

input AddProjectV2ItemByIdInput {
  clientMutationId: String
  contentId: ID!
  projectId: ID!
}

type AddProjectV2ItemByIdPayload {
  clientMutationId: String
  item: ProjectV2Item
}

input AddProjectV2DraftIssueInput {
  assigneeIds: [ID!]
  body: String
  clientMutationId: String
  projectId: ID!
  title: String!
}

type AddProjectV2DraftIssuePayload {
  clientMutationId: String
  projectItem: ProjectV2Item
}

input ArchiveProjectV2ItemInput {
  clientMutationId: String
  itemId: ID!
  projectId: ID!
}

type ArchiveProjectV2ItemPayload {
  clientMutationId: String
  item: ProjectV2Item
}

input CreateDiscussionInput {
  body: String!
  categoryId: ID!
  clientMutationId: String
  repositoryId: ID!
  title: String!
}

type CreateDiscussionPayload {
  clientMutationId: String
  discussion: Discussion
}

extend type Mutation {
  addProjectV2DraftIssue(input: AddProjectV2DraftIssueInput!): AddProjectV2DraftIssuePayload
  addProjectV2ItemById(input: AddProjectV2ItemByIdInput!): AddProjectV2ItemByIdPayload
  archiveProjectV2Item(input: ArchiveProjectV2ItemInput!): ArchiveProjectV2ItemPayload
  createDiscussion(input: CreateDiscussionInput!): CreateDiscussionPayload
  updateProjectV2ItemFieldValue(
    input: UpdateProjectV2ItemFieldValueInput!
  ): UpdateProjectV2ItemFieldValuePayload
  updateProjectV2ItemPosition(input: UpdateProjectV2ItemPositionInput!): UpdateProjectV2ItemPositionPayload
}
"""


class GraphQLRefusal(Exception):
    """A mutation GitHub refuses; ``gh_type`` becomes the error's ``type`` (FORBIDDEN, UNPROCESSABLE...)."""

    def __init__(self, message: str, gh_type: str = "UNPROCESSABLE") -> None:
        super().__init__(message)
        self.gh_type = gh_type


@dataclass(slots=True)
class GhDraftIssue:
    node_id: str
    title: str
    body: str
    login: str
    created_at: datetime
    updated_at: datetime
    assignees: list[str] = field(default_factory=list)


@dataclass(slots=True)
class GhProjectItem:
    node_id: str
    content_type: str  # "ISSUE" | "DRAFT_ISSUE"
    content_id: str  # issue number as text, or the draft's node id
    created_at: datetime
    updated_at: datetime
    status: str | None = None  # option id
    target_month: str = ""
    archived: bool = False


@dataclass(slots=True)
class MutationRecord:
    """One project mutation the sandbox carried out (tests check names and inputs)."""

    name: str
    input: dict[str, Any]


class ProjectBoard:
    """The sandbox's one Projects (v2) board."""

    def __init__(self, sandbox: GitHubSandbox) -> None:
        self.sb = sandbox
        self.number = 1
        self.title = "Atlas public roadmap"
        self.options: list[tuple[str, str, str, str]] = [
            (_option_id(name), name, colour, description) for name, colour, description in STATUS_OPTIONS
        ]
        self.items: list[GhProjectItem] = []  # the project's order
        self.drafts: dict[str, GhDraftIssue] = {}
        self.mutations: list[MutationRecord] = []
        self._faults: list[tuple[str, str, str]] = []  # (mutation name or "*", message, type)
        self._ids = itertools.count(1)
        self.created_at = sandbox.community.now
        self.updated_at = sandbox.community.now

    # -- seeding --------------------------------------------------------------------------------------------

    def seed(self) -> None:
        """One item per ``community.roadmap`` card, in the community's order."""
        c = self.sb.community
        suggestions = {s.key: s for s in c.suggestions}
        by_name = {name: oid for oid, name, _c, _d in self.options}
        for card in c.roadmap:
            link = ""
            sug = suggestions.get(card.suggestion_key or "")
            if sug is not None:
                link = "\n\n" + LINK_MARKER.format(platform=sug.platform, platform_id=_link_id(self.sb, sug))
            if card.why_note:
                link += f"\n<!-- atlas-desk-why: {card.why_note} -->"
            if card.issue_number is not None and card.issue_number in self.sb.issues:
                issue = self.sb.issues[card.issue_number]
                if link and "atlas-desk-link" not in issue.body:
                    issue.body = issue.body + link
                item = self._new_item("ISSUE", str(issue.number), issue.created_at)
            else:
                draft = GhDraftIssue(
                    f"DI_sbx{next(self._ids):06d}",
                    card.title,
                    card.body + link,
                    self.sb.viewer,
                    c.now,
                    c.now,
                    [self.sb.user_for(k).login for k in card.assignee_keys],
                )
                self.drafts[draft.node_id] = draft
                item = self._new_item("DRAFT_ISSUE", draft.node_id, c.now)
            item.status = by_name.get(card.status)
            item.target_month = card.target_month

    def _new_item(self, content_type: str, content_id: str, when: datetime) -> GhProjectItem:
        item = GhProjectItem(f"PVTI_sbx{next(self._ids):06d}", content_type, content_id, when, when)
        self.items.append(item)
        return item

    # -- test-facing ----------------------------------------------------------------------------------------

    def option_id(self, name: str) -> str:
        """The option id of a Status column by name."""
        for oid, oname, _c, _d in self.options:
            if oname == name:
                return oid
        raise KeyError(name)

    def option_name(self, option_id: str | None) -> str | None:
        for oid, oname, _c, _d in self.options:
            if oid == option_id:
                return oname
        return None

    def item(self, item_id: str) -> GhProjectItem:
        for item in self.items:
            if item.node_id == item_id:
                return item
        raise KeyError(item_id)

    def board(self) -> dict[str, list[str]]:
        """Columns (Status option names, in order) with their non-archived item ids, top to bottom."""
        out: dict[str, list[str]] = {name: [] for _oid, name, _c, _d in self.options}
        for item in self.items:
            name = self.option_name(item.status)
            if not item.archived and name is not None:
                out[name].append(item.node_id)
        return out

    def move_card(self, item_id: str, status: str | None = None, after_id: str | None = None) -> None:
        """Another desk (or github.com) moves a card: set its Status and put it after ``after_id`` (None:
        top)."""
        item = self.item(item_id)
        if status is not None:
            item.status = self.option_id(status)
        self._position(item, after_id)
        self._touch(item)

    def fail_next_mutation(
        self,
        name: str = "*",
        message: str = "Resource not accessible by integration",
        gh_type: str = "FORBIDDEN",
    ) -> None:
        """Refuse the next project mutation called ``name`` (``*``: any) with GitHub's error shape."""
        self._faults.append((name, message, gh_type))

    def add_issue_item(self, number: int, status: str | None = None) -> GhProjectItem:
        item = self._new_item("ISSUE", str(number), self.sb.now())
        if status is not None:
            item.status = self.option_id(status)
        return item

    # -- mutations ------------------------------------------------------------------------------------------

    def _check(self, name: str, data: dict[str, Any]) -> None:
        for fault in self._faults:
            if fault[0] in (name, "*"):
                self._faults.remove(fault)
                raise GraphQLRefusal(fault[1], fault[2])
        if str(data.get("projectId")) != PROJECT_ID:
            raise GraphQLRefusal(
                f"Could not resolve to a node with the global id of '{data.get('projectId')}'", "NOT_FOUND"
            )

    def _record(self, name: str, data: dict[str, Any]) -> None:
        self.mutations.append(MutationRecord(name, dict(data)))

    def _touch(self, item: GhProjectItem) -> None:
        now = self.sb.now()
        item.updated_at = now
        self.updated_at = now

    def _position(self, item: GhProjectItem, after_id: str | None) -> None:
        if after_id is not None:
            after = self.item(after_id)  # KeyError before anything changes
        self.items.remove(item)
        if after_id is None:
            self.items.insert(0, item)
        else:
            self.items.insert(self.items.index(after) + 1, item)

    def update_field_value(self, data: dict[str, Any]) -> GhProjectItem:
        self._check("updateProjectV2ItemFieldValue", data)
        item = self._find(str(data["itemId"]))
        value = data.get("value") or {}
        field_id = str(data["fieldId"])
        if field_id == STATUS_FIELD_ID:
            option = value.get("singleSelectOptionId")
            if option is None or self.option_name(option) is None:
                raise GraphQLRefusal(f"The single select option Id does not belong to the field: {option}")
            item.status = option
        elif field_id == TARGET_FIELD_ID:
            if value.get("text") is None:
                raise GraphQLRefusal("A text value is required for this field")
            item.target_month = str(value["text"])
        else:
            raise GraphQLRefusal(
                f"Could not resolve to a node with the global id of '{field_id}'", "NOT_FOUND"
            )
        self._touch(item)
        self._record("updateProjectV2ItemFieldValue", data)
        return item

    def update_position(self, data: dict[str, Any]) -> None:
        self._check("updateProjectV2ItemPosition", data)
        item = self._find(str(data["itemId"]))
        after = data.get("afterId")
        if after is not None:
            self._find(str(after))
        self._position(item, None if after is None else str(after))
        self._touch(item)
        self._record("updateProjectV2ItemPosition", data)

    def add_by_id(self, data: dict[str, Any]) -> GhProjectItem:
        self._check("addProjectV2ItemById", data)
        content = str(data["contentId"])
        for issue in self.sb.issues.values():
            if issue.node_id == content:
                self._record("addProjectV2ItemById", data)
                for existing in self.items:
                    if existing.content_type == "ISSUE" and existing.content_id == str(issue.number):
                        existing.archived = False
                        return existing  # GitHub answers with the existing item
                return self._new_item("ISSUE", str(issue.number), self.sb.now())
        raise GraphQLRefusal(f"Could not resolve to a node with the global id of '{content}'", "NOT_FOUND")

    def add_draft(self, data: dict[str, Any]) -> GhProjectItem:
        self._check("addProjectV2DraftIssue", data)
        title = str(data.get("title") or "")
        if not title.strip():
            raise GraphQLRefusal("Title can't be blank")
        now = self.sb.now()
        draft = GhDraftIssue(
            f"DI_sbx{next(self._ids):06d}", title, str(data.get("body") or ""), self.sb.viewer, now, now
        )
        self.drafts[draft.node_id] = draft
        self._record("addProjectV2DraftIssue", data)
        return self._new_item("DRAFT_ISSUE", draft.node_id, now)

    def archive(self, data: dict[str, Any]) -> GhProjectItem:
        self._check("archiveProjectV2Item", data)
        item = self._find(str(data["itemId"]))
        item.archived = True
        self._touch(item)
        self._record("archiveProjectV2Item", data)
        return item

    def _find(self, item_id: str) -> GhProjectItem:
        try:
            return self.item(item_id)
        except KeyError:
            raise GraphQLRefusal(
                f"Could not resolve to a node with the global id of '{item_id}'", "NOT_FOUND"
            ) from None


def _option_id(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:8]


def _link_id(sandbox: GitHubSandbox, sug: Any) -> str:
    """The platform id the desk stores for a suggestion (Discord message id, Discussion node id, t3_
    fullname)."""
    if sug.platform == "github":
        d = sandbox.discussions.get(int(sug.ref)) if str(sug.ref).isdigit() else None
        return d.node_id if d is not None else str(sug.ref)
    if sug.platform == "reddit":
        return f"t3_{sug.ref}"
    return str(sug.ref)


# ----------------------------------------------------------------------------------------------------
# GraphQL views


def _iso(dt: datetime) -> str:
    from atlas_desk.sandbox.github.server import iso

    return iso(dt)


def _conn(items: list[Any], first: int | None = None, after: str | None = None, **_: Any) -> dict[str, Any]:
    from atlas_desk.sandbox.github.server import _connection

    return _connection(items, first, after, _.get("last"), _.get("before"))


class ProjectView:
    typename = "ProjectV2"

    def __init__(self, board: ProjectBoard) -> None:
        self._b = board
        self.id = PROJECT_ID
        self.number = board.number
        self.title = board.title
        self.closed = False
        self.public = True
        self.shortDescription = "What the Atlas team is building, and why"
        self.createdAt = _iso(board.created_at)
        self.updatedAt = _iso(board.updated_at)
        self.url = f"{board.sb.base_url}/orgs/{board.sb.owner}/projects/{board.number}"

    def _fields(self) -> list[Any]:
        return [
            FieldView(self._b, TITLE_FIELD_ID, "Title", "TITLE"),
            SingleSelectFieldView(self._b),
            FieldView(self._b, TARGET_FIELD_ID, "Target month", "TEXT"),
        ]

    def fields(self, _info: Any, **kw: Any) -> dict[str, Any]:
        return _conn(self._fields(), **kw)

    def field(self, _info: Any, name: str) -> Any:
        for f in self._fields():
            if f.name == name:
                return f
        return None

    def items(self, _info: Any, **kw: Any) -> dict[str, Any]:
        live = [ItemView(self._b, i) for i in self._b.items if not i.archived]
        return _conn(live, **kw)


class FieldView:
    typename = "ProjectV2Field"

    def __init__(self, board: ProjectBoard, fid: str, name: str, data_type: str) -> None:
        self._b = board
        self.id = fid
        self.name = name
        self.dataType = data_type
        self.databaseId = int(hashlib.sha256(fid.encode()).hexdigest()[:6], 16)
        self.createdAt = _iso(board.created_at)
        self.updatedAt = _iso(board.created_at)

    def project(self, _info: Any) -> ProjectView:
        return ProjectView(self._b)


class SingleSelectFieldView(FieldView):
    typename = "ProjectV2SingleSelectField"

    def __init__(self, board: ProjectBoard) -> None:
        super().__init__(board, STATUS_FIELD_ID, "Status", "SINGLE_SELECT")

    def options(self, _info: Any, names: list[str] | None = None) -> list[dict[str, Any]]:
        return [
            {"id": oid, "name": name, "color": colour, "description": desc}
            for oid, name, colour, desc in self._b.options
            if names is None or name in names
        ]


class _ValueBase:
    def __init__(self, board: ProjectBoard, item: GhProjectItem, field_view: Any) -> None:
        self._b = board
        self._i = item
        self._f = field_view
        self.id = f"PVTFV_{item.node_id}_{field_view.id}"
        self.databaseId = None
        self.createdAt = _iso(item.created_at)
        self.updatedAt = _iso(item.updated_at)
        self.creator = None

    def field(self, _info: Any) -> Any:
        return self._f

    def item(self, _info: Any) -> ItemView:
        return ItemView(self._b, self._i)


class SingleSelectValueView(_ValueBase):
    typename = "ProjectV2ItemFieldSingleSelectValue"

    def __init__(self, board: ProjectBoard, item: GhProjectItem) -> None:
        super().__init__(board, item, SingleSelectFieldView(board))
        self.optionId = item.status
        self.name = board.option_name(item.status)
        self.color = next((c for oid, _n, c, _d in board.options if oid == item.status), "GRAY")


class TextValueView(_ValueBase):
    typename = "ProjectV2ItemFieldTextValue"

    def __init__(self, board: ProjectBoard, item: GhProjectItem, fid: str, name: str, text: str) -> None:
        super().__init__(
            board, item, FieldView(board, fid, name, "TEXT" if fid == TARGET_FIELD_ID else "TITLE")
        )
        self.text = text


class ItemView:
    typename = "ProjectV2Item"

    def __init__(self, board: ProjectBoard, item: GhProjectItem) -> None:
        self._b = board
        self._i = item
        self.id = item.node_id
        self.type = item.content_type
        self.isArchived = item.archived
        self.createdAt = _iso(item.created_at)
        self.updatedAt = _iso(item.updated_at)

    def project(self, _info: Any) -> ProjectView:
        return ProjectView(self._b)

    def content(self, _info: Any) -> Any:
        from atlas_desk.sandbox.github.server import _IssueView

        if self._i.content_type == "ISSUE":
            return _IssueView(self._b.sb, self._b.sb.issues[int(self._i.content_id)])
        return DraftIssueView(self._b.sb, self._b.drafts[self._i.content_id])

    def _title(self) -> str:
        if self._i.content_type == "ISSUE":
            return self._b.sb.issues[int(self._i.content_id)].title
        return self._b.drafts[self._i.content_id].title

    def _values(self) -> list[Any]:
        out: list[Any] = [TextValueView(self._b, self._i, TITLE_FIELD_ID, "Title", self._title())]
        if self._i.status is not None:
            out.append(SingleSelectValueView(self._b, self._i))
        if self._i.target_month:
            out.append(TextValueView(self._b, self._i, TARGET_FIELD_ID, "Target month", self._i.target_month))
        return out

    def fieldValues(self, _info: Any, **kw: Any) -> dict[str, Any]:
        return _conn(self._values(), **kw)

    def fieldValueByName(self, _info: Any, name: str) -> Any:
        for v in self._values():
            if v._f.name == name:
                return v
        return None


class DraftIssueView:
    typename = "DraftIssue"

    def __init__(self, sandbox: GitHubSandbox, draft: GhDraftIssue) -> None:
        self._sb = sandbox
        self._d = draft
        self.id = draft.node_id
        self.title = draft.title
        self.body = draft.body
        self.createdAt = _iso(draft.created_at)
        self.updatedAt = _iso(draft.updated_at)

    def assignees(self, _info: Any, **kw: Any) -> dict[str, Any]:
        from atlas_desk.sandbox.github.server import _UserView

        users = [_UserView(self._sb, self._sb.users[a]) for a in self._d.assignees if a in self._sb.users]
        return _conn(users, **kw)


class OrganizationView:
    typename = "Organization"

    def __init__(self, sandbox: GitHubSandbox) -> None:
        self._sb = sandbox
        self.id = "O_sbxorg0001"
        self.login = sandbox.owner
        self.name = sandbox.owner
        self.url = f"{sandbox.base_url}/{sandbox.owner}"
        self.resourcePath = f"/{sandbox.owner}"

    def avatarUrl(self, _info: Any, size: int | None = None) -> str:
        return f"{self._sb.base_url}/avatars/o/1?v=4"

    def projectV2(self, _info: Any, number: int) -> ProjectView | None:
        return ProjectView(self._sb.project) if number == self._sb.project.number else None


class ProjectRootMixin:
    """Query and Mutation root fields of the projects block (mixed into the sandbox's root)."""

    _sb: GitHubSandbox

    def organization(self, _info: Any, login: str) -> OrganizationView | None:
        from atlas_desk.sandbox.github.server import _NotFound

        if login.lower() != self._sb.owner.lower():
            raise _NotFound(f"Could not resolve to an Organization with the login of '{login}'.")
        return OrganizationView(self._sb)

    def user(self, _info: Any, login: str) -> Any:
        from atlas_desk.sandbox.github.server import _NotFound, _UserView

        user = self._sb.users.get(login)
        if user is None or login == self._sb.owner:
            raise _NotFound(f"Could not resolve to a User with the login of '{login}'.")
        return _UserView(self._sb, user)

    def updateProjectV2ItemFieldValue(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        item = self._sb.project.update_field_value(input)
        return {
            "clientMutationId": input.get("clientMutationId"),
            "projectV2Item": ItemView(self._sb.project, item),
        }

    def updateProjectV2ItemPosition(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        board = self._sb.project
        board.update_position(input)
        live = [ItemView(board, i) for i in board.items if not i.archived]
        return {
            "clientMutationId": input.get("clientMutationId"),
            "items": lambda _info, **kw: _conn(live, **kw),
        }

    def addProjectV2ItemById(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        item = self._sb.project.add_by_id(input)
        return {"clientMutationId": input.get("clientMutationId"), "item": ItemView(self._sb.project, item)}

    def addProjectV2DraftIssue(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        item = self._sb.project.add_draft(input)
        return {
            "clientMutationId": input.get("clientMutationId"),
            "projectItem": ItemView(self._sb.project, item),
        }

    def archiveProjectV2Item(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        item = self._sb.project.archive(input)
        return {"clientMutationId": input.get("clientMutationId"), "item": ItemView(self._sb.project, item)}

    def createDiscussion(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        from atlas_desk.sandbox.github.server import _DiscussionView

        sb = self._sb
        board = sb.project
        for fault in board._faults:
            if fault[0] in ("createDiscussion", "*"):
                board._faults.remove(fault)
                raise GraphQLRefusal(fault[1], fault[2])
        if str(input.get("repositoryId")) != "R_sbxrepo0001":
            raise GraphQLRefusal(
                f"Could not resolve to a node with the global id of '{input.get('repositoryId')}'",
                "NOT_FOUND",
            )
        category = next((c for c in sb.categories.values() if c.node_id == input.get("categoryId")), None)
        if category is None:
            raise GraphQLRefusal(
                f"Could not resolve to a node with the global id of '{input.get('categoryId')}'", "NOT_FOUND"
            )
        board._record("createDiscussion", input)
        d = sb.add_discussion(category.name, sb.viewer, str(input["title"]), str(input["body"]))
        return {"clientMutationId": input.get("clientMutationId"), "discussion": _DiscussionView(sb, d)}


def issue_extras(sandbox: GitHubSandbox, issue: Any, view: Any) -> None:
    """Add the projects block's Issue fields to an ``_IssueView``."""
    from atlas_desk.sandbox.github.server import GRAPHQL_REACTION, _reaction_groups, _UserView

    view.body = issue.body
    view.createdAt = _iso(issue.created_at)
    view.updatedAt = _iso(issue.updated_at)
    view.reactionGroups = _reaction_groups(issue.reactions)

    def labels(_info: Any, **kw: Any) -> dict[str, Any]:
        nodes = [
            {
                "id": f"LA_sbx{int(hashlib.sha256(n.encode()).hexdigest()[:8], 16):010d}",
                "name": n,
                "color": "a2eeef",
                "url": f"{sandbox.base_url}/{sandbox.community.repo}/labels/{n}",
            }
            for n in issue.labels
        ]
        return _conn(nodes, **kw)

    def assignees(_info: Any, **kw: Any) -> dict[str, Any]:
        users = [_UserView(sandbox, sandbox.users[a]) for a in issue.assignees if a in sandbox.users]
        return _conn(users, **kw)

    def reactions(_info: Any, content: str | None = None, **kw: Any) -> dict[str, Any]:
        matching = [r for r in issue.reactions if content is None or GRAPHQL_REACTION[r.content] == content]
        conn = _conn(matching, **kw)
        conn.pop("nodes", None)
        return conn

    view.labels = labels
    view.assignees = assignees
    view.reactions = reactions
