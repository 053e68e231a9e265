"""The inbox repository: upsert, keyset windows, filters, FTS5 search, context, counts."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_inbox_support import item, open_store, seed_items, store_with_seed, stored

from atlas_desk.core.types import Account, ItemKind, Platform
from atlas_desk.store import inbox as repo
from atlas_desk.store.db import Store
from atlas_desk.store.inbox import HL_END, HL_START, InboxFilter


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    yield from store_with_seed(data_dir)


def ids_for(store: Store, flt: InboxFilter) -> list[str]:
    rows = repo.window(store.reader(), flt, limit=100)
    return [r.platform_id for r in rows]


def test_upsert_is_idempotent_and_reports_only_real_changes(data_dir: Path) -> None:
    store = open_store(data_dir)
    try:
        first = item(Platform.DISCORD, "m1", "hello", 1)
        new, changed = stored(store, [first])
        assert len(new) == 1 and changed == []
        new2, changed2 = stored(store, [item(Platform.DISCORD, "m1", "hello", 1)])
        assert new2 == [] and changed2 == []
        conn = store.reader()
        assert conn.execute("SELECT count(*) FROM inbox_items").fetchone()[0] == 1
        # The moderator's state survives an update from the platform.
        store.submit(lambda c: repo.set_read(c, new, True)).result()
        store.submit(lambda c: repo.set_starred(c, new[0], True)).result()
        new3, changed3 = stored(store, [item(Platform.DISCORD, "m1", "hello, edited", 1)])
        assert new3 == [] and changed3 == new
        row = repo.get_item(conn, new[0])
        assert row is not None and row.body == "hello, edited" and row.read and row.starred
        # The FTS index follows the edit.
        assert repo.search_ids(conn, "edited") == new
        assert conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM people").fetchone()[0] == 1
        # A score change is a change too; a renamed author updates the account, not a new person.
        renamed = dataclasses.replace(
            item(Platform.DISCORD, "m1", "hello, edited", 1, score=3),
            author=Account(Platform.DISCORD, "1001", "maya_new", "Maya"),
        )
        _, changed4 = stored(store, [renamed])
        assert changed4 == new
        assert conn.execute("SELECT handle FROM accounts").fetchone()[0] == "maya_new"
        assert conn.execute("SELECT count(*) FROM people").fetchone()[0] == 1
    finally:
        store.close()


def test_keyset_windows_return_every_row_once_in_order(data_dir: Path) -> None:
    store = open_store(data_dir)
    try:
        # Same timestamps in groups of 7, so the id tie-break matters.
        items = [item(Platform.DISCORD, f"m{i}", f"message {i}", i // 7) for i in range(250)]
        stored(store, items)
        conn = store.reader()
        seen: list[tuple[float, int]] = []
        before = None
        while True:
            page = repo.window(conn, InboxFilter(), before=before, limit=16)
            if not page:
                break
            seen.extend(r.key for r in page)
            before = page[-1].key
        assert len(seen) == 250 == len(set(seen))
        assert seen == sorted(seen, reverse=True)
        keys: list[tuple[float, int]] = []
        before = None
        while chunk := repo.window_keys(conn, InboxFilter(), before=before, limit=33):
            keys.extend(tuple(k) for k in chunk)
            before = tuple(chunk[-1])
        assert keys == seen
    finally:
        store.close()


def test_filters_return_exactly_the_expected_rows(store: Store) -> None:
    assert ids_for(store, InboxFilter()) == ["g2", "d3", "r2", "r1", "g1", "d2", "d1"]
    assert ids_for(store, InboxFilter(platforms=("reddit",))) == ["r2", "r1"]
    assert ids_for(store, InboxFilter(platforms=("discord", "github"))) == ["g2", "d3", "g1", "d2", "d1"]
    assert ids_for(store, InboxFilter(container=("github", "ideas"))) == ["g2", "g1"]
    assert ids_for(store, InboxFilter(needs_moderation=True)) == ["d3", "r1"]
    assert ids_for(store, InboxFilter(suggestions_only=True)) == ["g1"]
    assert ids_for(store, InboxFilter(mentions=("@maya_k", "atlas-mods"))) == ["g2", "d2"]
    conn = store.reader()
    d1 = repo.window(conn, InboxFilter(), limit=100)[-1].id
    store.submit(lambda c: repo.set_read(c, [d1], True)).result()
    assert "d1" not in ids_for(store, InboxFilter(unread_only=True))
    assert len(ids_for(store, InboxFilter(unread_only=True))) == 6
    assert ids_for(store, InboxFilter(starred_only=True)) == []
    store.submit(lambda c: repo.set_starred(c, d1, True)).result()
    store.submit(lambda c: repo.mark_suggestion(c, [d1])).result()
    assert ids_for(store, InboxFilter(starred_only=True)) == ["d1"]
    assert ids_for(store, InboxFilter(suggestions_only=True)) == ["g1", "d1"]
    assert ids_for(store, InboxFilter(platforms=("discord",), query="offl")) == ["d3", "d1"]
    assert repo.count(conn, InboxFilter(platforms=("discord",))) == 3
    assert repo.count(conn, InboxFilter(query="offl")) == 2


def test_fts_prefix_search_is_safe_and_highlights(store: Store) -> None:
    conn = store.reader()
    hits = repo.search(conn, "offl")
    assert [
        conn.execute("SELECT platform_id FROM inbox_items WHERE id=?", (h.id,)).fetchone()[0] for h in hits
    ] == [
        "d3",
        "d1",
    ]
    body = hits[0].snippet
    start, end = hits[0].snippet_spans[0]
    assert body[start:end] == "offline"
    assert HL_START not in body and HL_END not in body and "<" not in body
    # FTS syntax in the user's text is just text: no error, no operator semantics.
    for hostile in ['"', "NEAR(", 'offline"', "a AND", "OR", "*", "col:x", "(", "NOT offline", "^offl", "-x"]:
        repo.search(conn, hostile)
        repo.window(conn, InboxFilter(query=hostile), limit=5)
    assert [h.id for h in repo.search(conn, 'NEAR("offline')] == [
        h.id for h in repo.search(conn, "near offline")
    ]
    assert repo.search(conn, "   ") == []
    assert repo.fts_query('say "hi" NEAR(xy') == '"say" "hi" "NEAR" "xy"*'
    assert repo.fts_query("offline w") == '"offline" "w"'
    # Windows in search mode carry the highlight for the delegate.
    row = repo.window(conn, InboxFilter(query="dark"), limit=5)[0]
    title, spans = repo.parse_highlight(row.hl_title or "")
    assert title == "Idea: dark mode" and [title[a:b] for a, b in spans] == ["dark"]


def test_like_escape() -> None:
    assert repo.escape_like("50%_off\\") == "50\\%\\_off\\\\"


def test_context_of_thread_and_channel(store: Store) -> None:
    conn = store.reader()
    by_pid = {r.platform_id: r.id for r in repo.window(conn, InboxFilter(), limit=100)}
    # A discussion comment: the discussion and its comments.
    assert [r.platform_id for r in repo.context(conn, by_pid["g2"], 10)] == ["g1", "g2"]
    # The discussion itself: itself then its comments.
    assert [r.platform_id for r in repo.context(conn, by_pid["g1"], 10)] == ["g1", "g2"]
    # A channel message: its neighbours in the same channel, oldest first.
    assert [r.platform_id for r in repo.context(conn, by_pid["d2"], 10)] == ["d1", "d2", "d3"]
    assert repo.context(conn, 99999, 10) == []


def test_unread_counts_per_filter(store: Store) -> None:
    conn = store.reader()
    counts = repo.unread_counts(conn, ["maya_k"])
    assert counts[repo.UNREAD] == 7
    assert counts[repo.MODERATION] == 2
    assert counts[repo.SUGGESTIONS] == 1
    assert counts[repo.MENTIONS] == 1
    assert counts[repo.platform_key("discord")] == 3
    assert counts[repo.container_key("github", "ideas")] == 2
    ids = [r.id for r in repo.window(conn, InboxFilter(platforms=("reddit",)), limit=10)]
    store.submit(lambda c: repo.set_read(c, ids, True)).result()
    counts = repo.unread_counts(conn, ["maya_k"])
    assert counts[repo.UNREAD] == 5 and counts[repo.MODERATION] == 1
    assert repo.platform_key("reddit") not in counts
    assert sorted(repo.containers(conn)) == [
        ("discord", "c-general", "#general"),
        ("github", "ideas", "Discussions › Ideas"),
        ("reddit", "AtlasApp", "r/AtlasApp"),
    ]


def test_seed_kinds_are_stored(store: Store) -> None:
    conn = store.reader()
    kinds = {r.platform_id: r.kind for r in repo.window(conn, InboxFilter(), limit=100)}
    assert kinds["g2"] == ItemKind.DISCUSSION_COMMENT
    assert len(kinds) == len(seed_items())
