"""The GitHub sandbox through real PyGithub: REST shapes, pagination, ETags, auth, faults, GraphQL."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

import github
import pytest

from atlas_desk.sandbox.github import GitHubSandbox
from tests.test_github_support import small_community


def run_with_sandbox(
    aloop: asyncio.AbstractEventLoop,
    work: Callable[[GitHubSandbox, github.Github], Any],
    *,
    token: str | None = None,
) -> Any:
    """Start a sandbox, run ``work`` (blocking PyGithub code) in a thread, stop the sandbox."""

    async def main() -> Any:
        sandbox = GitHubSandbox(small_community())
        await sandbox.start()
        gh = github.Github(
            base_url=sandbox.api_url,
            auth=github.Auth.Token(token or sandbox.token),
            seconds_between_requests=None,
            seconds_between_writes=None,
            retry=0,
        )
        try:
            return await asyncio.to_thread(work, sandbox, gh)
        finally:
            gh.close()
            await sandbox.stop()

    return aloop.run_until_complete(main())


def test_env_and_config_point_at_the_sandbox(aloop: asyncio.AbstractEventLoop) -> None:
    def work(sandbox: GitHubSandbox, _gh: github.Github) -> None:
        env = sandbox.env()
        assert env["ATLAS_DESK_GITHUB_API"] == f"http://127.0.0.1:{sandbox.port}/api/v3"
        assert env["ATLAS_DESK_GITHUB_TOKEN"] == sandbox.token
        cfg = sandbox.config()["github"]
        assert cfg["repo"] == "atlas-app/atlas"
        assert cfg["project_owner"] == "atlas-app"
        assert cfg["project_number"] == 1

    run_with_sandbox(aloop, work)


def test_rest_objects_parse_in_pygithub(aloop: asyncio.AbstractEventLoop) -> None:
    def work(sandbox: GitHubSandbox, gh: github.Github) -> None:
        repo = gh.get_repo("atlas-app/atlas")
        assert repo.full_name == "atlas-app/atlas"
        assert repo.has_discussions
        issues = list(repo.get_issues(state="all", sort="created", direction="asc"))
        assert [i.number for i in issues] == [1, 2]
        assert issues[0].reactions["+1"] == 2
        assert [label.name for label in issues[1].labels] == ["enhancement"]
        assert issues[0].user.login == "mayak"
        comments = list(repo.get_issues_comments())
        assert [c.body for c in comments] == ["Same for me."]
        assert comments[0].issue_url.endswith("/issues/1")
        assert [r.content for r in repo.get_issue(1).get_reactions()] == ["+1", "+1"]
        assert gh.get_user().login == "sam-mod"
        assert gh.get_rate_limit().resources.core.remaining > 0
        posted = repo.get_issue(2).create_comment("On it.")
        assert posted.user.login == "sam-mod"
        events = list(repo.get_events())
        assert events[0].type == "IssueCommentEvent"
        assert sandbox.comments_on(2) == ["On it."]

    run_with_sandbox(aloop, work)


def test_pagination_follows_link_headers(aloop: asyncio.AbstractEventLoop) -> None:
    def work(sandbox: GitHubSandbox, gh: github.Github) -> None:
        repo = gh.get_repo("atlas-app/atlas")
        for n in range(4):
            repo.get_issue(1).create_comment(f"note {n}")
        gh2 = github.Github(
            base_url=sandbox.api_url,
            auth=github.Auth.Token(sandbox.token),
            per_page=2,
            seconds_between_requests=None,
            seconds_between_writes=None,
            retry=0,
        )
        bodies = [c.body for c in gh2.get_repo("atlas-app/atlas").get_issue(1).get_comments()]
        gh2.close()
        assert bodies == ["Same for me.", "note 0", "note 1", "note 2", "note 3"]
        assert sandbox.count("GET", "/repos/atlas-app/atlas/issues/1/comments") == 3

    run_with_sandbox(aloop, work)


def test_etag_answers_304_until_something_changes(aloop: asyncio.AbstractEventLoop) -> None:
    def work(sandbox: GitHubSandbox, gh: github.Github) -> None:
        issue = gh.get_repo("atlas-app/atlas").get_issue(1)
        assert issue.update() is False  # unchanged: 304
        assert sandbox.count("GET", "/repos/atlas-app/atlas/issues/1", status=304) == 1
        issue.create_comment("bump")
        assert issue.update() is True
        assert issue.comments == 2

    run_with_sandbox(aloop, work)


def test_wrong_token_is_401(aloop: asyncio.AbstractEventLoop) -> None:
    def work(_sandbox: GitHubSandbox, gh: github.Github) -> None:
        with pytest.raises(github.BadCredentialsException):
            gh.get_repo("atlas-app/atlas")

    run_with_sandbox(aloop, work, token="not-the-token")


def test_fault_injection(aloop: asyncio.AbstractEventLoop) -> None:
    def work(sandbox: GitHubSandbox, gh: github.Github) -> None:
        repo = gh.get_repo("atlas-app/atlas")
        sandbox.fail_next("/repos/atlas-app/atlas/issues/1", 403)
        with pytest.raises(github.RateLimitExceededException) as rate:
            repo.get_issue(1)
        assert rate.value.headers is not None
        assert rate.value.headers["x-ratelimit-remaining"] == "0"
        assert int(rate.value.headers["x-ratelimit-reset"]) > 0
        sandbox.fail_next("/api/v3/repos/atlas-app/atlas/issues/1", 429)
        with pytest.raises(github.GithubException) as busy:
            repo.get_issue(1)
        assert busy.value.status == 429
        sandbox.fail_next("/repos/atlas-app/atlas/issues", 503, count=2)
        for _ in range(2):
            with pytest.raises(github.GithubException) as down:
                repo.get_issue(2)
            assert down.value.status == 503
        assert repo.get_issue(2).number == 2  # faults are used up

    run_with_sandbox(aloop, work)


def test_graphql_discussions_and_mutations(aloop: asyncio.AbstractEventLoop) -> None:
    def work(sandbox: GitHubSandbox, gh: github.Github) -> None:
        discussion = gh.get_repo("atlas-app/atlas").get_discussion(3, "id number title author { login }")
        assert discussion.title == "Offline sync"
        _, out = gh.requester.graphql_named_mutation(
            "addDiscussionComment",
            {"discussionId": "D_kwAtlas0004", "body": "Settings › Account"},
            "comment { id body url }",
        )
        assert out["comment"]["body"] == "Settings › Account"
        assert out["comment"]["url"].startswith(sandbox.base_url)
        _, marked = gh.requester.graphql_named_mutation(
            "markDiscussionCommentAsAnswer", {"id": out["comment"]["id"]}, "discussion { isAnswered }"
        )
        assert marked["discussion"]["isAnswered"] is True
        # Ideas is not an answerable category: GitHub refuses, with a 200 and "errors"
        idea_comment = sandbox.discussions[3].comment_ids[0]
        with pytest.raises(github.GithubException) as refused:
            gh.requester.graphql_named_mutation(
                "markDiscussionCommentAsAnswer", {"id": idea_comment}, "discussion { id }"
            )
        assert "errors" in refused.value.data
        with pytest.raises(github.UnknownObjectException):
            gh.requester.graphql_query('query { node(id: "D_missing") { id } }', {})
        _, locked = gh.requester.graphql_named_mutation(
            "lockLockable",
            {"lockableId": "D_kwAtlas0003", "lockReason": "RESOLVED"},
            "lockedRecord { locked activeLockReason }",
        )
        assert locked["lockedRecord"] == {"locked": True, "activeLockReason": "RESOLVED"}
        assert sandbox.discussions[3].locked

    run_with_sandbox(aloop, work)


def test_simulated_activity_adds_content(aloop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        sandbox = GitHubSandbox(small_community())
        before = len(sandbox.issue_comments) + len(sandbox.discussion_comments) + len(sandbox.discussions)
        rng = random.Random(3)
        for _ in range(10):
            await sandbox.simulate_activity(rng)
        after = len(sandbox.issue_comments) + len(sandbox.discussion_comments) + len(sandbox.discussions)
        assert after == before + 10

    aloop.run_until_complete(main())


REPLY = "comment { id body replyTo { id } }"
THREAD = """
query Thread($id: ID!, $last: Int!, $before: String) {
  node(id: $id) {
    ... on Discussion { comments(last: 10) { totalCount nodes { id } } }
    ... on DiscussionComment {
      replyTo { id }
      replies(last: $last, before: $before) {
        totalCount
        pageInfo { hasPreviousPage startCursor }
        nodes { id body replyTo { id } }
      }
    }
  }
}
"""


def test_discussion_replies_thread_one_level_deep(aloop: asyncio.AbstractEventLoop) -> None:
    """``replyToId`` threads a comment under a top-level one; ``replies`` serves the thread, as on GitHub."""

    def work(sandbox: GitHubSandbox, gh: github.Github) -> None:
        top = sandbox.discussions[3].comment_ids[0]
        ids = []
        for n in range(3):
            _, out = gh.requester.graphql_named_mutation(
                "addDiscussionComment",
                {"discussionId": "D_kwAtlas0003", "body": f"r{n}", "replyToId": top},
                REPLY,
            )
            assert out["comment"]["replyTo"] == {"id": top}
            ids.append(out["comment"]["id"])

        def thread(node_id: str, **page: Any) -> dict[str, Any]:
            _, data = gh.requester.graphql_query(THREAD, {"id": node_id, "last": 2, **page})
            node: dict[str, Any] = data["data"]["node"]
            return node

        # the discussion's comments are the top-level ones only
        assert thread("D_kwAtlas0003")["comments"] == {"totalCount": 1, "nodes": [{"id": top}]}
        newest = thread(top)
        assert newest["replyTo"] is None
        assert newest["replies"]["totalCount"] == 3
        assert [r["body"] for r in newest["replies"]["nodes"]] == ["r1", "r2"]
        assert newest["replies"]["pageInfo"]["hasPreviousPage"]
        older = thread(top, before=newest["replies"]["pageInfo"]["startCursor"])
        assert [r["id"] for r in older["replies"]["nodes"]] == ids[:1]
        assert not older["replies"]["pageInfo"]["hasPreviousPage"]
        assert thread(ids[0])["replies"] == {
            "totalCount": 0,
            "pageInfo": {"hasPreviousPage": False, "startCursor": None},
            "nodes": [],
        }
        assert sandbox.replies_to(top) == ["r0", "r1", "r2"]
        assert sandbox.top_level_comments(3) == ["Yes please!"]

        # GitHub's refusals: a reply to a reply, a reply to another discussion's comment, an unknown comment
        with pytest.raises(github.GithubException) as nested:
            gh.requester.graphql_named_mutation(
                "addDiscussionComment",
                {"discussionId": "D_kwAtlas0003", "body": "x", "replyToId": ids[0]},
                REPLY,
            )
        (error,) = nested.value.data["errors"]
        assert error["message"] == "Parent comment is already in a thread, cannot reply to it"
        assert error["type"] == "UNPROCESSABLE"
        with pytest.raises(github.GithubException):
            gh.requester.graphql_named_mutation(
                "addDiscussionComment",
                {"discussionId": "D_kwAtlas0004", "body": "x", "replyToId": top},
                REPLY,
            )
        with pytest.raises(github.UnknownObjectException):
            gh.requester.graphql_named_mutation(
                "addDiscussionComment",
                {"discussionId": "D_kwAtlas0004", "body": "x", "replyToId": "DC_no"},
                REPLY,
            )
        assert sandbox.replies_to(top) == ["r0", "r1", "r2"]
        assert sandbox.comments_on(4) == []

    run_with_sandbox(aloop, work)


def test_the_test_facing_reply_refuses_what_github_refuses() -> None:
    sandbox = GitHubSandbox(small_community())
    top = sandbox.discussions[3].comment_ids[0]
    reply = sandbox.add_discussion_comment(3, "maya-k", "in the thread", reply_to=top)
    with pytest.raises(ValueError, match="already in a thread"):
        sandbox.add_discussion_comment(3, "li-wei", "nested", reply_to=reply.node_id)
    with pytest.raises(ValueError, match="not in this discussion"):
        sandbox.add_discussion_comment(4, "li-wei", "elsewhere", reply_to=top)
    assert sandbox.replies_to(top) == ["in the thread"]


def test_a_fault_can_target_one_graphql_operation(aloop: asyncio.AbstractEventLoop) -> None:
    """Every GraphQL request shares /api/graphql: ``operation=`` picks the mutation and lets the rest pass."""
    named = """
    mutation AtlasDeskAddDiscussionComment($input: AddDiscussionCommentInput!) {
      addDiscussionComment(input: $input) { comment { id } }
    }
    """

    def work(sandbox: GitHubSandbox, gh: github.Github) -> None:
        repo = gh.get_repo("atlas-app/atlas")
        add = {"discussionId": "D_kwAtlas0004", "body": "Settings › Account"}
        # by top-level field: PyGithub names its mutation operation "Mutation"
        sandbox.fail_next("/api/graphql", 429, operation="addDiscussionComment")
        assert repo.get_discussion(3, "id title").title == "Offline sync"  # a query passes
        assert repo.get_issue(1).number == 1  # so does REST
        with pytest.raises(github.GithubException) as limited:
            gh.requester.graphql_named_mutation("addDiscussionComment", add, "comment { id }")
        assert limited.value.status == 429
        assert limited.value.headers is not None and limited.value.headers["retry-after"] == "1"
        assert sandbox.comments_on(4) == []
        gh.requester.graphql_named_mutation("addDiscussionComment", add, "comment { id }")  # used up
        assert sandbox.comments_on(4) == ["Settings › Account"]

        # by operation name: only the client that names its operation so is hit
        sandbox.fail_next("/api/graphql", 503, count=2, operation="AtlasDeskAddDiscussionComment")
        gh.requester.graphql_named_mutation("addDiscussionComment", add, "comment { id }")
        with pytest.raises(github.GithubException) as down:
            gh.requester.graphql_query(named, {"input": add})
        assert down.value.status == 503
        assert sandbox.count(status=503, operation="AtlasDeskAddDiscussionComment") == 1
        assert sandbox.count(status=503, operation="addDiscussionComment") == 1
        assert sandbox.count(status=429) == sandbox.count(status=429, operation="addDiscussionComment") == 1
        assert sandbox.count("POST", "/api/graphql", operation="addDiscussionComment") == 4

        with pytest.raises(ValueError):
            sandbox.fail_next("/repos/atlas-app/atlas/issues", 500, operation="addDiscussionComment")

    run_with_sandbox(aloop, work)


def test_simulated_activity_threads_some_replies(aloop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        sandbox = GitHubSandbox(small_community())
        rng = random.Random(5)
        for _ in range(60):
            await sandbox.simulate_activity(rng)
        replies = [c for c in sandbox.discussion_comments.values() if c.reply_to is not None]
        assert replies, "live activity includes threaded replies"
        for r in replies:
            parent = sandbox.discussion_comments[r.reply_to or ""]
            assert parent.reply_to is None and parent.discussion_number == r.discussion_number

    aloop.run_until_complete(main())
