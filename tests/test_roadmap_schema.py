"""Every GraphQL document of the roadmap sync validates against GitHub's public schema and the sandbox's."""

from __future__ import annotations

import pytest
from graphql import parse, validate

from atlas_desk.platforms.github import project_queries
from atlas_desk.sandbox.github import graphql_schema
from tests.test_github_schema import reference_schema


def test_project_queries_module_lists_every_document() -> None:
    assert set(project_queries.ALL) >= {
        "PROJECT_OF_ORGANIZATION",
        "PROJECT_OF_USER",
        "PROJECT_ITEMS",
        "UPDATE_ITEM_FIELD_VALUE",
        "UPDATE_ITEM_POSITION",
        "ADD_ITEM_BY_ID",
        "ADD_DRAFT_ISSUE",
        "ARCHIVE_ITEM",
        "CREATE_DISCUSSION",
        "DISCUSSION_TARGET",
        "RECENT_DISCUSSIONS",
    }


@pytest.mark.parametrize("name", sorted(project_queries.ALL))
def test_project_query_validates_against_github_reference_schema(name: str) -> None:
    errors = validate(reference_schema(), parse(project_queries.ALL[name]))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("name", sorted(project_queries.ALL))
def test_project_query_validates_against_sandbox_schema(name: str) -> None:
    errors = validate(graphql_schema.schema(), parse(project_queries.ALL[name]))
    assert errors == [], [e.message for e in errors]


def test_a_wrong_project_field_is_caught() -> None:
    """The check can fail: updateProjectV2Field-style option edits or a made-up field are reported."""
    bad = project_queries.UPDATE_ITEM_FIELD_VALUE.replace(
        "projectV2Item { id updatedAt }", "projectV2Item { status }"
    )
    assert validate(reference_schema(), parse(bad))


def test_no_document_changes_the_status_field_itself() -> None:
    """Columns are never edited from the desk: updateProjectV2Field would replace every option (and their
    ids)."""
    for text in project_queries.ALL.values():
        assert "updateProjectV2Field(" not in text and "updateProjectV2Field (" not in text
