"""End to end, with the real client libraries: `atlas-desk sync --once` against the three sandbox servers,
then `atlas-desk export inbox` lists exactly what the sandbox holds, and a second sync adds nothing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from atlas_desk.cli import main
from atlas_desk.sandbox.community import generate
from atlas_desk.sandbox.harness import SandboxThread
from atlas_desk.sandbox.model import Community


def expected_keys(thread: SandboxThread, community: Community) -> set[tuple[str, str]]:
    """Every (platform, platform_id) the sandbox servers hold, as the inbox should list it.

    Discord and Reddit ids follow from the community (message snowflakes; ``t3_``/``t1_`` fullnames); GitHub's
    node ids are the sandbox's own, read from its public tables on its thread (they are idle by now).
    """
    keys = {("discord", m.id) for m in community.messages}
    for post in community.posts:
        keys.add(("reddit", f"t3_{post.id}"))
        keys.update(("reddit", f"t1_{c.id}") for c in post.comments)

    def github_ids() -> set[str]:
        gh: Any = thread.sandbox.server("github")
        return (
            {i.node_id for i in gh.issues.values()}
            | {c.node_id for c in gh.issue_comments.values()}
            | {d.node_id for d in gh.discussions.values()}
            | set(gh.discussion_comments)
        )

    keys.update(("github", nid) for nid in thread.call(github_ids).result(10))
    return keys


def expected_counts(community: Community) -> Counter[tuple[str, str]]:
    """What the seeded community holds, per (platform, kind), as the inbox should list it."""
    counts: Counter[tuple[str, str]] = Counter()
    counts["discord", "message"] = len(community.messages)
    counts["github", "issue"] = len(community.issues)
    counts["github", "issue_comment"] = sum(len(i.comments) for i in community.issues)
    counts["github", "discussion"] = len(community.discussions)
    counts["github", "discussion_comment"] = sum(len(d.comments) for d in community.discussions)
    counts["reddit", "post"] = len(community.posts)
    counts["reddit", "comment"] = sum(len(p.comments) for p in community.posts)  # a flat list
    return +counts


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[SandboxThread, Community]]:
    community = generate(11, scale=0.15)
    thread = SandboxThread(community)
    env = thread.start(timeout=60)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    try:
        yield thread, community
    finally:
        thread.stop()


def _export(config: Path, data: Path, out: Path) -> list[dict[str, object]]:
    args = ["export", "inbox", "--config", str(config), "--data-dir", str(data), "--output", str(out)]
    assert main(args) == 0
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_sync_once_then_export_lists_exactly_what_the_sandbox_holds(
    sandbox: tuple[SandboxThread, Community], tmp_path: Path
) -> None:
    thread, community = sandbox
    config = tmp_path / "sandbox.toml"
    settings = thread.config()
    settings.setdefault("discord", {})["relay"] = False  # the export is about the inbox, not ticket relaying
    config.write_bytes(tomli_w.dumps(settings).encode())
    data = tmp_path / "data"

    assert main(["sync", "--once", "--config", str(config), "--data-dir", str(data)]) == 0
    rows = _export(config, data, tmp_path / "inbox.jsonl")

    got = Counter((str(r["platform"]), str(r["kind"])) for r in rows)
    assert got == expected_counts(community)
    keys = [(str(r["platform"]), str(r["platform_id"])) for r in rows]
    assert len(set(keys)) == len(keys)  # no item twice
    expected = expected_keys(thread, community)
    for platform in ("discord", "github", "reddit"):
        # per platform, so a failure names the platform and the ids missing or extra
        mine = {k for k in keys if k[0] == platform}
        theirs = {k for k in expected if k[0] == platform}
        assert theirs, f"the {platform} sandbox holds nothing: the comparison would prove nothing"
        assert mine == theirs, (platform, sorted(theirs - mine)[:5], sorted(mine - theirs)[:5])

    # Caught up: a second run adds nothing and duplicates nothing.
    assert main(["sync", "--once", "--config", str(config), "--data-dir", str(data)]) == 0
    again = _export(config, data, tmp_path / "again.jsonl")
    assert sorted((str(r["platform"]), str(r["platform_id"])) for r in again) == sorted(keys)
