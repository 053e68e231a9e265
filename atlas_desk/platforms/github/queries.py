"""Every GraphQL document the GitHub connector sends, as module constants.

A test validates each one (every ``str`` constant in upper case here) against GitHub's public schema, so a
typo or a field GitHub does not have fails in CI rather than against github.com.
"""

from __future__ import annotations

# Fields the inbox needs from a discussion comment.
_COMMENT_FIELDS = """
        id
        databaseId
        body
        url
        createdAt
        updatedAt
        upvoteCount
        isAnswer
        author { login }
"""

# The few most recently updated discussions, minimal fields: a quiet poll costs this one small request.
DISCUSSIONS_PROBE = """
query AtlasDeskDiscussionsProbe($owner: String!, $name: String!, $first: Int!) {
  repository(owner: $owner, name: $name) {
    discussions(first: $first, orderBy: {field: UPDATED_AT, direction: DESC}) {
      nodes {
        id
        updatedAt
        comments { totalCount }
      }
    }
  }
}
"""

# Discussions, most recently updated first, with their latest comments. The connector pages until it reaches
# discussions older than its cursor.
DISCUSSIONS_UPDATED = (
    """
query AtlasDeskDiscussions($owner: String!, $name: String!, $first: Int!, $after: String, $comments: Int!) {
  repository(owner: $owner, name: $name) {
    discussions(first: $first, after: $after, orderBy: {field: UPDATED_AT, direction: DESC}) {
      pageInfo { hasNextPage endCursor }
      nodes {
        id
        number
        title
        body
        url
        createdAt
        updatedAt
        lastEditedAt
        upvoteCount
        locked
        isAnswered
        author { login }
        category { name }
        comments(last: $comments) {
          totalCount
          pageInfo { hasPreviousPage startCursor }
          nodes {"""
    + _COMMENT_FIELDS
    + """          }
        }
      }
    }
  }
}
"""
)

# Older comments of a discussion, walking backwards from the ones DISCUSSIONS_UPDATED brought.
DISCUSSION_COMMENTS_PAGE = (
    """
query AtlasDeskDiscussionComments($id: ID!, $last: Int!, $before: String) {
  node(id: $id) {
    ... on Discussion {
      comments(last: $last, before: $before) {
        totalCount
        pageInfo { hasPreviousPage startCursor }
        nodes {"""
    + _COMMENT_FIELDS
    + """        }
      }
    }
  }
}
"""
)

# The latest comments on a discussion: the idempotency check before posting a reply looks for its marker here.
DISCUSSION_LATEST_COMMENTS = """
query AtlasDeskLatestDiscussionComments($id: ID!, $last: Int!) {
  node(id: $id) {
    __typename
    ... on Discussion {
      id
      comments(last: $last) {
        nodes { id body url }
      }
    }
    ... on DiscussionComment {
      discussion {
        id
        comments(last: $last) {
          nodes { id body url }
        }
      }
    }
  }
}
"""

# The issue number behind an issue or issue comment node id (a reply queued before this session saw the item).
ISSUE_NUMBER_OF_NODE = """
query AtlasDeskIssueNumber($id: ID!) {
  node(id: $id) {
    __typename
    ... on Issue { number }
    ... on IssueComment { issue { number } }
  }
}
"""

ADD_DISCUSSION_COMMENT = """
mutation AtlasDeskAddDiscussionComment($input: AddDiscussionCommentInput!) {
  addDiscussionComment(input: $input) {
    comment { id url body }
  }
}
"""

MARK_DISCUSSION_COMMENT_AS_ANSWER = """
mutation AtlasDeskMarkAnswer($input: MarkDiscussionCommentAsAnswerInput!) {
  markDiscussionCommentAsAnswer(input: $input) {
    discussion { id url isAnswered }
  }
}
"""

LOCK_LOCKABLE = """
mutation AtlasDeskLock($input: LockLockableInput!) {
  lockLockable(input: $input) {
    lockedRecord { locked activeLockReason }
  }
}
"""

ALL: dict[str, str] = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper() and not name.startswith("_") and isinstance(value, str)
}
