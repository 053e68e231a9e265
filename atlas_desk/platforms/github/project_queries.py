"""Every GraphQL document of the roadmap sync (Projects v2) and the roadmap update, as module constants.

Like ``queries``, each upper-case ``str`` constant here is validated against GitHub's public schema by a test
(tests/test_roadmap_schema.py). Projects v2 is GraphQL only; PyGithub does not wrap it.
"""

from __future__ import annotations

_PROJECT_FIELDS = """
      id
      number
      title
      url
      fields(first: 50) {
        nodes {
          __typename
          ... on ProjectV2Field { id name dataType }
          ... on ProjectV2SingleSelectField { id name dataType options { id name color } }
        }
      }
"""

# The project and its fields, for an organization owner.
PROJECT_OF_ORGANIZATION = (
    """
query AtlasDeskOrgProject($owner: String!, $number: Int!) {
  organization(login: $owner) {
    projectV2(number: $number) {"""
    + _PROJECT_FIELDS
    + """    }
  }
}
"""
)

# The same for a user-owned project (tried when the owner is not an organization).
PROJECT_OF_USER = (
    """
query AtlasDeskUserProject($owner: String!, $number: Int!) {
  user(login: $owner) {
    projectV2(number: $number) {"""
    + _PROJECT_FIELDS
    + """    }
  }
}
"""
)

# One page of the project's items in the project's order, with what a card shows.
PROJECT_ITEMS = """
query AtlasDeskProjectItems($project: ID!, $first: Int!, $after: String) {
  node(id: $project) {
    ... on ProjectV2 {
      items(first: $first, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes {
          id
          type
          isArchived
          updatedAt
          status: fieldValueByName(name: "Status") {
            ... on ProjectV2ItemFieldSingleSelectValue { optionId name }
          }
          target: fieldValueByName(name: "Target month") {
            ... on ProjectV2ItemFieldTextValue { text }
          }
          content {
            __typename
            ... on Issue {
              id
              number
              title
              body
              url
              state
              labels(first: 20) { nodes { name } }
              assignees(first: 10) { nodes { login } }
              reactions(content: THUMBS_UP) { totalCount }
            }
            ... on DraftIssue {
              id
              title
              body
              assignees(first: 10) { nodes { login } }
            }
          }
        }
      }
    }
  }
}
"""

UPDATE_ITEM_FIELD_VALUE = """
mutation AtlasDeskSetStatus($input: UpdateProjectV2ItemFieldValueInput!) {
  updateProjectV2ItemFieldValue(input: $input) {
    projectV2Item { id updatedAt }
  }
}
"""

UPDATE_ITEM_POSITION = """
mutation AtlasDeskMoveItem($input: UpdateProjectV2ItemPositionInput!) {
  updateProjectV2ItemPosition(input: $input) {
    clientMutationId
  }
}
"""

ADD_ITEM_BY_ID = """
mutation AtlasDeskAddItem($input: AddProjectV2ItemByIdInput!) {
  addProjectV2ItemById(input: $input) {
    item { id }
  }
}
"""

ADD_DRAFT_ISSUE = """
mutation AtlasDeskAddDraft($input: AddProjectV2DraftIssueInput!) {
  addProjectV2DraftIssue(input: $input) {
    projectItem { id }
  }
}
"""

ARCHIVE_ITEM = """
mutation AtlasDeskArchiveItem($input: ArchiveProjectV2ItemInput!) {
  archiveProjectV2Item(input: $input) {
    item { id isArchived }
  }
}
"""

# Where a roadmap update goes on GitHub: the repository's id and its discussion categories.
DISCUSSION_TARGET = """
query AtlasDeskDiscussionTarget($owner: String!, $name: String!) {
  repository(owner: $owner, name: $name) {
    id
    discussionCategories(first: 50) {
      nodes { id name slug }
    }
  }
}
"""

# Recent discussions of one category (a replayed publish looks for its marker here).
RECENT_DISCUSSIONS = """
query AtlasDeskRecentDiscussions($owner: String!, $name: String!, $category: ID!) {
  repository(owner: $owner, name: $name) {
    discussions(first: 20, categoryId: $category, orderBy: {field: CREATED_AT, direction: DESC}) {
      nodes { id url body }
    }
  }
}
"""

CREATE_DISCUSSION = """
mutation AtlasDeskCreateDiscussion($input: CreateDiscussionInput!) {
  createDiscussion(input: $input) {
    discussion { id number url }
  }
}
"""

ALL: dict[str, str] = {
    name: value
    for name, value in dict(globals()).items()
    if name.isupper() and not name.startswith("_") and isinstance(value, str)
}
