"""The set-based ingest path: large mixed batches keep every guarantee of item-by-item upserts."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from pathlib import Path

from test_inbox_support import item, open_store

from atlas_desk.core.bus import ChangeBus, ItemsAdded, ItemsChanged
from atlas_desk.core.inbox import InboxService
from atlas_desk.core.types import Account, InboxItem, Platform
from atlas_desk.store import inbox as repo

MENTIONS = ("maya_k", "refund")
PLATFORMS = (Platform.DISCORD, Platform.GITHUB, Platform.REDDIT)


def version_of(key: tuple[Platform, str], n: int, rng: random.Random) -> InboxItem:
    """Version ``n`` of an item: a body with a token unique to (key, n), sometimes a mention or a report."""
    platform, pid = key
    words = [f"tok{pid}v{n}", "hello"]
    if rng.random() < 0.2:
        words.append(rng.choice(MENTIONS))
    author_no = rng.randrange(40)
    author = Account(platform, f"a{author_no}", f"user{author_no}", f"User {author_no}")
    return dataclasses.replace(
        item(platform, pid, " ".join(words), int(pid[1:]) % 5000),
        author=author,
        reported=rng.random() < 0.1,
        score=rng.randrange(3),
        extra={} if rng.random() < 0.5 else {"n": n, "channel_id": "c1"},
    )


def test_large_mixed_batches_match_item_by_item_semantics(
    data_dir: Path, aloop: asyncio.AbstractEventLoop
) -> None:
    store = open_store(data_dir)
    bus = ChangeBus()
    published: list[ItemsAdded | ItemsChanged] = []
    bus.subscribe(ItemsAdded, published.append)
    bus.subscribe(ItemsChanged, published.append)
    service = InboxService(store, bus, mentions=MENTIONS)
    rng = random.Random(7)
    latest: dict[tuple[Platform, str], InboxItem] = {}
    versions: dict[tuple[Platform, str], int] = {}
    ids: dict[tuple[Platform, str], int] = {}
    next_pid = 0
    try:
        service.load_unread_counts().result(timeout=10)
        for size in (1, 7, 99, 100, 101, 499, 500, 501, 1234, 3):
            batch: list[InboxItem] = []
            for _ in range(size):
                roll = rng.random()
                if latest and roll < 0.25:
                    key = rng.choice(list(latest))  # an edit of something older, maybe in this batch
                elif latest and roll < 0.3:
                    key = rng.choice(list(latest))
                    batch.append(latest[key])  # the same version again: no change
                    continue
                else:
                    key = (rng.choice(PLATFORMS), f"p{next_pid}")
                    next_pid += 1
                versions[key] = versions.get(key, -1) + 1
                latest[key] = version_of(key, versions[key], rng)
                batch.append(latest[key])
            before = set(ids)
            published.clear()
            aloop.run_until_complete(service.ingest(batch))
            conn = store.reader()
            stored = {
                (Platform(p), pid): i
                for p, pid, i in conn.execute("SELECT platform, platform_id, id FROM inbox_items")
            }
            # Exactly once by natural key, and every item knows its row.
            assert set(stored) == set(latest)
            for it in batch:
                assert it.id == stored[(it.platform, it.platform_id)]
            ids = stored
            added = [i for change in published if isinstance(change, ItemsAdded) for i in change.ids]
            first_seen = list(
                dict.fromkeys(
                    (it.platform, it.platform_id)
                    for it in batch
                    if (it.platform, it.platform_id) not in before
                )
            )
            assert added == [stored[k] for k in first_seen]  # arrival order
            # The stored content is the last version; the FTS index holds exactly the current text.
            for key, it in latest.items():
                row = repo.get_item(conn, stored[key])
                assert row is not None
                assert (row.body, row.reported, row.score, row.author) == (
                    it.body,
                    it.reported,
                    it.score,
                    it.author.handle,
                )
                assert row.extra == it.extra
                assert repo.search_ids(conn, f"tok{key[1]}v{versions[key]}") == [stored[key]]
                if versions[key]:
                    assert repo.search_ids(conn, f"tok{key[1]}v{versions[key] - 1}") == []
            assert conn.execute("SELECT count(*) FROM inbox_fts").fetchone()[0] == len(latest)
            # One account (and one person) per author.
            authors = {(str(it.author.platform), it.author.platform_id) for it in latest.values()}
            assert conn.execute("SELECT count(*) FROM accounts").fetchone()[0] >= len(authors)
            assert (
                conn.execute("SELECT count(*) FROM people").fetchone()[0]
                == conn.execute("SELECT count(*) FROM accounts").fetchone()[0]
            )
            # Incremental unread counts equal a full recount.
            live = {k: v for k, v in (service.unread_counts() or {}).items() if v}
            assert live == {k: v for k, v in repo.unread_counts(conn, MENTIONS).items() if v}
            # Reading some items keeps the counts exact too.
            service.mark_read(rng.sample(sorted(stored.values()), min(5, len(stored))), True).result(
                timeout=10
            )
        live = {k: v for k, v in (service.unread_counts() or {}).items() if v}
        assert live == {k: v for k, v in repo.unread_counts(store.reader(), MENTIONS).items() if v}
        assert live[repo.MENTIONS] > 0 and live[repo.MODERATION] > 0
    finally:
        store.close()


def test_a_message_and_its_edit_in_one_batch(data_dir: Path, aloop: asyncio.AbstractEventLoop) -> None:
    store = open_store(data_dir)
    bus = ChangeBus()
    service = InboxService(store, bus, mentions=MENTIONS)
    try:
        first = item(Platform.DISCORD, "m1", "original words", 1)
        edit = dataclasses.replace(first, body="edited words refund", score=2)
        other = item(Platform.DISCORD, "m2", "another", 2)
        new, changed = store.submit(lambda c: repo.upsert_items(c, [first, other, edit])).result(timeout=10)
        conn = store.reader()
        assert len(new) == 2 and new == sorted(new)
        assert changed == [new[0]]
        assert first.id == edit.id == new[0] and other.id == new[1]
        row = repo.get_item(conn, new[0])
        assert row is not None and row.body == "edited words refund" and row.score == 2
        assert repo.search_ids(conn, "original") == []
        assert repo.search_ids(conn, "edited") == [new[0]]
        # Through the service the counts follow the batch to its final version, each item once.
        service.load_unread_counts().result(timeout=10)
        third = item(Platform.DISCORD, "m3", "plain", 3)
        aloop.run_until_complete(
            service.ingest([third, dataclasses.replace(third, body="now mentions refund"), third])
        )
        counts = service.unread_counts() or {}
        recount = repo.unread_counts(conn, MENTIONS)
        assert counts[repo.UNREAD] == recount[repo.UNREAD] == 3
        assert counts[repo.MENTIONS] == recount[repo.MENTIONS] == 1  # m1's edit; m3 ends without one
    finally:
        store.close()


def test_unread_key_counts_match_unread_buckets(data_dir: Path, aloop: asyncio.AbstractEventLoop) -> None:
    store = open_store(data_dir)
    try:
        rng = random.Random(3)
        items = [version_of((rng.choice(PLATFORMS), f"p{i}"), 0, rng) for i in range(700)]
        new, _ = store.submit(lambda c: repo.upsert_items(c, items)).result(timeout=10)
        store.submit(lambda c: repo.set_read(c, new[::7], True)).result(timeout=10)
        conn = store.reader()
        # Scattered ids (several rowid ranges), repeats, and unknown ids.
        ids = new[::3] + new[:10] + [10**9]
        expected: dict[str, int] = {}
        for keys in repo.unread_buckets(conn, ids, MENTIONS):
            for k in keys:
                expected[k] = expected.get(k, 0) + 1
        assert dict(repo.unread_key_counts(conn, ids, MENTIONS)) == expected
        assert expected[repo.MENTIONS] > 0
    finally:
        store.close()
