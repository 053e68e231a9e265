"""The GraphQL schema the GitHub sandbox executes: a hand-written subset of GitHub's public schema.

Every type, field, argument and enum value here exists in GitHub's schema with the same type (a test checks it
against the reference SDL), so a query that runs here also validates against GitHub. Types list only the
interfaces they need. New areas (Projects v2 for the roadmap) are added as further SDL blocks joined into
``SDL``, with their resolvers on the sandbox's view objects.
"""

from __future__ import annotations

from functools import cache

from graphql import GraphQLSchema, build_schema

from atlas_desk.sandbox.github.projects import SDL as PROJECTS

SCALARS = """
scalar DateTime
scalar URI
"""

CORE = """
interface Node {
  id: ID!
}

interface Actor {
  avatarUrl(size: Int): URI!
  login: String!
  resourcePath: URI!
  url: URI!
}

interface Lockable {
  activeLockReason: LockReason
  locked: Boolean!
}

enum LockReason {
  OFF_TOPIC
  RESOLVED
  SPAM
  TOO_HEATED
}

enum OrderDirection {
  ASC
  DESC
}

enum ReactionContent {
  CONFUSED
  EYES
  HEART
  HOORAY
  LAUGH
  ROCKET
  THUMBS_DOWN
  THUMBS_UP
}

type PageInfo {
  endCursor: String
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
}

type ReactorConnection {
  totalCount: Int!
}

type ReactionGroup {
  content: ReactionContent!
  reactors(after: String, before: String, first: Int, last: Int): ReactorConnection!
  viewerHasReacted: Boolean!
}

type User implements Actor & Node {
  avatarUrl(size: Int): URI!
  id: ID!
  login: String!
  name: String
  resourcePath: URI!
  url: URI!
}

type RateLimit {
  cost: Int!
  limit: Int!
  nodeCount: Int!
  remaining: Int!
  resetAt: DateTime!
  used: Int!
}

type Query {
  node(id: ID!): Node
  rateLimit(dryRun: Boolean = false): RateLimit
  repository(followRenames: Boolean = true, name: String!, owner: String!): Repository
  viewer: User!
}

type Repository implements Node {
  databaseId: Int
  discussion(number: Int!): Discussion
  discussionCategories(
    after: String
    before: String
    filterByAssignable: Boolean = false
    first: Int
    last: Int
  ): DiscussionCategoryConnection!
  discussions(
    after: String
    answered: Boolean = null
    before: String
    categoryId: ID = null
    first: Int
    last: Int
    orderBy: DiscussionOrder = { field: UPDATED_AT, direction: DESC }
    states: [DiscussionState!] = []
  ): DiscussionConnection!
  hasDiscussionsEnabled: Boolean!
  id: ID!
  name: String!
  nameWithOwner: String!
  url: URI!
}
"""

DISCUSSIONS = """
enum DiscussionOrderField {
  CREATED_AT
  UPDATED_AT
}

enum DiscussionState {
  CLOSED
  OPEN
}

input DiscussionOrder {
  direction: OrderDirection!
  field: DiscussionOrderField!
}

type DiscussionCategory implements Node {
  createdAt: DateTime!
  description: String
  emoji: String!
  id: ID!
  isAnswerable: Boolean!
  name: String!
  slug: String!
  updatedAt: DateTime!
}

type DiscussionCategoryConnection {
  nodes: [DiscussionCategory]
  pageInfo: PageInfo!
  totalCount: Int!
}

type Discussion implements Lockable & Node {
  activeLockReason: LockReason
  answer: DiscussionComment
  author: Actor
  body: String!
  category: DiscussionCategory!
  closed: Boolean!
  comments(after: String, before: String, first: Int, last: Int): DiscussionCommentConnection!
  createdAt: DateTime!
  databaseId: Int
  id: ID!
  isAnswered: Boolean
  lastEditedAt: DateTime
  locked: Boolean!
  number: Int!
  reactionGroups: [ReactionGroup!]
  title: String!
  updatedAt: DateTime!
  upvoteCount: Int!
  url: URI!
}

type DiscussionConnection {
  nodes: [Discussion]
  pageInfo: PageInfo!
  totalCount: Int!
}

type DiscussionComment implements Node {
  author: Actor
  body: String!
  createdAt: DateTime!
  databaseId: Int
  discussion: Discussion
  id: ID!
  isAnswer: Boolean!
  lastEditedAt: DateTime
  reactionGroups: [ReactionGroup!]
  replies(after: String, before: String, first: Int, last: Int): DiscussionCommentConnection!
  replyTo: DiscussionComment
  updatedAt: DateTime!
  upvoteCount: Int!
  url: URI!
}

type DiscussionCommentConnection {
  nodes: [DiscussionComment]
  pageInfo: PageInfo!
  totalCount: Int!
}

input AddDiscussionCommentInput {
  body: String!
  clientMutationId: String
  discussionId: ID!
  replyToId: ID
}

type AddDiscussionCommentPayload {
  clientMutationId: String
  comment: DiscussionComment
}

input MarkDiscussionCommentAsAnswerInput {
  clientMutationId: String
  id: ID!
}

type MarkDiscussionCommentAsAnswerPayload {
  clientMutationId: String
  discussion: Discussion
}

input LockLockableInput {
  clientMutationId: String
  lockReason: LockReason
  lockableId: ID!
}

type LockLockablePayload {
  actor: Actor
  clientMutationId: String
  lockedRecord: Lockable
}

type Mutation {
  addDiscussionComment(input: AddDiscussionCommentInput!): AddDiscussionCommentPayload
  lockLockable(input: LockLockableInput!): LockLockablePayload
  markDiscussionCommentAsAnswer(
    input: MarkDiscussionCommentAsAnswerInput!
  ): MarkDiscussionCommentAsAnswerPayload
}
"""

ISSUES = """
enum IssueState {
  CLOSED
  OPEN
}

type Issue implements Lockable & Node {
  activeLockReason: LockReason
  databaseId: Int
  id: ID!
  locked: Boolean!
  number: Int!
  state: IssueState!
  title: String!
  url: URI!
}

type IssueComment implements Node {
  databaseId: Int
  id: ID!
  issue: Issue!
  url: URI!
}
"""

SDL = "\n".join([SCALARS, CORE, DISCUSSIONS, ISSUES, PROJECTS])


@cache
def schema() -> GraphQLSchema:
    """The executable sandbox schema (built once per process)."""
    return build_schema(SDL)
