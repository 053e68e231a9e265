"""The connector's GraphQL documents and the sandbox's schema, checked against GitHub's public schema."""

from __future__ import annotations

from functools import cache

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
    parse,
    validate,
)
from graphql.type import is_introspection_type, is_specified_scalar_type

from atlas_desk.platforms.github import queries
from atlas_desk.sandbox.github import graphql_schema
from tests.conftest import REFERENCE


@cache
def reference_schema() -> GraphQLSchema:
    sdl = (REFERENCE / "github" / "schema.graphql").read_text(encoding="utf-8")
    schema = build_schema(sdl, assume_valid_sdl=True)
    # GitHub's SDL repeats some interface fields; graphql-core would refuse to validate against it otherwise
    schema._validation_errors = []
    return schema


def test_queries_module_lists_every_document() -> None:
    assert set(queries.ALL) >= {
        "DISCUSSIONS_UPDATED",
        "DISCUSSION_COMMENTS_PAGE",
        "DISCUSSION_REPLIES_PAGE",
        "DISCUSSION_LATEST_COMMENTS",
        "REPLAY_PAGE",
        "ISSUE_NUMBER_OF_NODE",
        "ADD_DISCUSSION_COMMENT",
        "MARK_DISCUSSION_COMMENT_AS_ANSWER",
        "LOCK_LOCKABLE",
    }


@pytest.mark.parametrize("name", sorted(queries.ALL))
def test_query_validates_against_github_reference_schema(name: str) -> None:
    errors = validate(reference_schema(), parse(queries.ALL[name]))
    assert errors == [], [e.message for e in errors]


@pytest.mark.parametrize("name", sorted(queries.ALL))
def test_query_validates_against_sandbox_schema(name: str) -> None:
    errors = validate(graphql_schema.schema(), parse(queries.ALL[name]))
    assert errors == [], [e.message for e in errors]


def test_a_wrong_field_is_caught() -> None:
    """The validation above can fail: a field GitHub lacks is reported."""
    errors = validate(reference_schema(), parse('query { repository(owner: "a", name: "b") { upvotes } }'))
    assert errors


def test_sandbox_schema_is_a_subset_of_the_reference() -> None:
    ref = reference_schema()
    sub = graphql_schema.schema()
    problems: list[str] = []
    for name, t in sub.type_map.items():
        if is_introspection_type(t) or is_specified_scalar_type(t):
            continue
        r = ref.get_type(name)
        if r is None:
            problems.append(f"type {name} is not in GitHub's schema")
            continue
        if type(r) is not type(t):
            problems.append(f"{name} is a {type(t).__name__} here but a {type(r).__name__} on GitHub")
            continue
        if isinstance(t, GraphQLEnumType):
            assert isinstance(r, GraphQLEnumType)
            extra = set(t.values) - set(r.values)
            if extra:
                problems.append(f"enum {name} has values GitHub lacks: {sorted(extra)}")
        if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType)):
            assert isinstance(r, (GraphQLObjectType, GraphQLInterfaceType))
            ifaces = {i.name for i in t.interfaces} - {i.name for i in r.interfaces}
            if ifaces:
                problems.append(f"{name} implements {sorted(ifaces)} here but not on GitHub")
            for fname, f in t.fields.items():
                rf = r.fields.get(fname)
                if rf is None:
                    problems.append(f"{name}.{fname} is not on GitHub")
                    continue
                if str(f.type) != str(rf.type):
                    problems.append(f"{name}.{fname}: {f.type} here, {rf.type} on GitHub")
                for aname, a in f.args.items():
                    ra = rf.args.get(aname)
                    if ra is None:
                        problems.append(f"{name}.{fname}({aname}) is not on GitHub")
                    elif str(a.type) != str(ra.type):
                        problems.append(f"{name}.{fname}({aname}): {a.type} here, {ra.type} on GitHub")
                missing = [a for a, ra in rf.args.items() if str(ra.type).endswith("!") and a not in f.args]
                if missing:
                    problems.append(f"{name}.{fname} lacks GitHub's required arguments {missing}")
        if isinstance(t, GraphQLInputObjectType):
            assert isinstance(r, GraphQLInputObjectType)
            for fname, f in t.fields.items():
                rf = r.fields.get(fname)
                if rf is None:
                    problems.append(f"input {name}.{fname} is not on GitHub")
                elif str(f.type) != str(rf.type):
                    problems.append(f"input {name}.{fname}: {f.type} here, {rf.type} on GitHub")
            required = [f for f, rf in r.fields.items() if str(rf.type).endswith("!") and f not in t.fields]
            if required:
                problems.append(f"input {name} lacks GitHub's required fields {required}")
    assert problems == []


def test_subset_check_detects_a_mismatch() -> None:
    """A subset schema with a wrong field type is reported by the same comparison."""
    bad = build_schema(graphql_schema.SDL.replace("upvoteCount: Int!", "upvoteCount: String!", 1))
    ref_type = reference_schema().get_type("Discussion")
    assert isinstance(ref_type, GraphQLObjectType)
    bad_type = bad.get_type("Discussion")
    assert isinstance(bad_type, GraphQLObjectType)
    assert str(bad_type.fields["upvoteCount"].type) != str(ref_type.fields["upvoteCount"].type)
