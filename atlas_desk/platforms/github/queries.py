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

# A comment with its latest replies (GitHub threads replies one level deep, under top-level comments).
_COMMENT_WITH_REPLIES = (
    _COMMENT_FIELDS
    + """
        replies(last: $replies) {
          totalCount
          pageInfo { hasPreviousPage startCursor }
          nodes {"""
    + _COMMENT_FIELDS
    + """          }
        }
"""
)

# The few most recently updated discussions, minimal fields: a quiet poll costs this one small request.
# Top-level comments and the reply counts of the latest ones show a comment or reply that arrived within the
# second the cursor already covers.
DISCUSSIONS_PROBE = """
query AtlasDeskDiscussionsProbe($owner: String!, $name: String!, $first: Int!, $comments: Int!) {
  repository(owner: $owner, name: $name) {
    discussions(first: $first, orderBy: {field: UPDATED_AT, direction: DESC}) {
      nodes {
        id
        updatedAt
        comments(last: $comments) {
          totalCount
          nodes { replies { totalCount } }
        }
      }
    }
  }
}
"""

# Discussions, most recently updated first, with their latest comments and those comments' latest replies.
# The connector pages until it reaches discussions older than its cursor.
DISCUSSIONS_UPDATED = (
    """
query AtlasDeskDiscussions(
  $owner: String!, $name: String!, $first: Int!, $after: String, $comments: Int!, $replies: Int!
) {
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
    + _COMMENT_WITH_REPLIES
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
query AtlasDeskDiscussionComments($id: ID!, $last: Int!, $before: String, $replies: Int!) {
  node(id: $id) {
    ... on Discussion {
      comments(last: $last, before: $before) {
        totalCount
        pageInfo { hasPreviousPage startCursor }
        nodes {"""
    + _COMMENT_WITH_REPLIES
    + """        }
      }
    }
  }
}
"""
)

# Older replies in a comment's thread, walking backwards from the ones a comment page brought.
DISCUSSION_REPLIES_PAGE = (
    """
query AtlasDeskDiscussionReplies($id: ID!, $last: Int!, $before: String) {
  node(id: $id) {
    ... on DiscussionComment {
      replies(last: $last, before: $before) {
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

# One page of what the replay check reads: the newest comments or replies first, oldest at the front.
_REPLAY_PAGE = (
    """
        pageInfo { hasPreviousPage startCursor }
        nodes {"""
    + _COMMENT_FIELDS
    + """        }
"""
)

# Where a reply goes and the latest comments there. The idempotency check before posting looks for its marker
# in the thread the reply joins (a comment's, or its parent's: GitHub nests one level) and among the
# discussion's top-level comments, then pages back with REPLAY_PAGE.
DISCUSSION_LATEST_COMMENTS = (
    """
query AtlasDeskLatestDiscussionComments($id: ID!, $last: Int!) {
  node(id: $id) {
    __typename
    ... on Discussion {
      id
      number
      title
      category { name }
      comments(last: $last) {"""
    + _REPLAY_PAGE
    + """      }
    }
    ... on DiscussionComment {
      id
      replyTo {
        id
        replies(last: $last) {"""
    + _REPLAY_PAGE
    + """        }
      }
      replies(last: $last) {"""
    + _REPLAY_PAGE
    + """      }
      discussion {
        id
        number
        title
        category { name }
        comments(last: $last) {"""
    + _REPLAY_PAGE
    + """        }
      }
    }
  }
}
"""
)

# Further back in a discussion's top-level comments or a comment's thread, for the replay check.
REPLAY_PAGE = (
    """
query AtlasDeskReplayPage($id: ID!, $last: Int!, $before: String) {
  node(id: $id) {
    ... on Discussion {
      comments(last: $last, before: $before) {"""
    + _REPLAY_PAGE
    + """      }
    }
    ... on DiscussionComment {
      replies(last: $last, before: $before) {"""
    + _REPLAY_PAGE
    + """      }
    }
  }
}
"""
)

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

# With ``replyToId`` (a top-level comment) the comment joins that comment's thread. The answer carries what
# the inbox needs, so the confirmed comment is delivered at once, wherever its thread sits in the discussion.
ADD_DISCUSSION_COMMENT = (
    """
mutation AtlasDeskAddDiscussionComment($input: AddDiscussionCommentInput!) {
  addDiscussionComment(input: $input) {
    comment {"""
    + _COMMENT_FIELDS
    + """      replyTo { id }
      discussion { id number title category { name } }
    }
  }
}
"""
)

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
