"""The seeded community: deterministic, complete, consistent across platforms, and believable."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from random import Random

import pytest

from atlas_desk.sandbox.community import (
    HISTORY_DAYS,
    HOSTILE_BODIES,
    HOSTILE_NAMES,
    base36,
    comment_text,
    community_digest,
    discussion_text,
    generate,
    issue_text,
    message_text,
    reddit_comment_text,
    reddit_post_text,
    snowflake,
    snowflake_time,
    suggestion_text,
    ticket_text,
)
from atlas_desk.sandbox.model import Community

# an unfilled template slot such as "{device}" (the tips' literal "{{events}}" is app syntax, not a slot)
UNFILLED = re.compile(r"(?<!\{)\{[a-z_]+\}(?!\})")


@pytest.fixture(scope="module")
def community() -> Community:
    return generate(7)


def test_same_seed_gives_identical_community() -> None:
    assert community_digest(generate(7)) == community_digest(generate(7))


def test_different_seed_gives_different_community(community: Community) -> None:
    other = generate(8)
    assert community_digest(other) != community_digest(community)
    assert {m.discord_id for m in other.members} != {m.discord_id for m in community.members}
    assert [m.content for m in other.messages[:50]] != [m.content for m in community.messages[:50]]


def test_generation_is_fast_enough() -> None:
    start = time.perf_counter()
    generate(21)
    assert time.perf_counter() - start < 1.5


def test_counts_at_scale_one(community: Community) -> None:
    c = community
    assert 140 <= len(c.members) <= 160
    assert 2000 <= len(c.messages) <= 5000
    assert 50 <= len(c.discussions) <= 70
    assert 70 <= len(c.issues) <= 90
    assert 100 <= len(c.posts) <= 140
    assert 30 <= len(c.suggestions) <= 50
    assert 20 <= len(c.tickets) <= 30
    assert 25 <= len(c.roadmap) <= 35
    assert len(c.threads) >= 20
    assert 3 <= sum(m.is_moderator for m in c.members) <= 10
    assert sum(m.blocked for m in c.members) == 2
    assert sum(len(p.comments) for p in c.posts) >= 200
    assert sum(len(d.comments) for d in c.discussions) >= 60


def test_scale_changes_size_but_keeps_shape() -> None:
    small, big = generate(7, scale=0.2), generate(7, scale=2.0)
    assert len(small.messages) < 1000 < 5000 < len(big.messages)
    assert len(small.members) < len(big.members)
    for c in (small, big):
        assert {ch.name for ch in c.channels} >= {"general", "support", "tickets"}
        _check_integrity(c)


def test_channels(community: Community) -> None:
    by_name = {ch.name: ch for ch in community.channels}
    for name in (
        "announcements",
        "general",
        "support",
        "feature-suggestions",
        "tips-and-tricks",
        "show-and-tell",
        "off-topic",
        "tickets",
        "ama-stage",
    ):
        assert name in by_name
    assert by_name["tickets"].kind == "forum" and by_name["tickets"].moderator_only
    assert by_name["ama-stage"].kind == "stage"
    assert any(ch.kind == "voice" for ch in community.channels)
    assert not any(ch.moderator_only for name, ch in by_name.items() if name != "tickets")
    # every public text channel has history
    used = Counter(m.channel_id for m in community.messages)
    for name in (
        "announcements",
        "general",
        "support",
        "feature-suggestions",
        "tips-and-tricks",
        "show-and-tell",
        "off-topic",
    ):
        assert used[by_name[name].id] >= 5, name


def test_members_have_one_to_three_accounts_with_unique_handles(community: Community) -> None:
    for m in community.members:
        n = sum(x is not None for x in (m.discord_id, m.github_login, m.reddit_name))
        assert 1 <= n <= 3, m.key
        if m.discord_id:
            assert m.discord_name
        if m.github_login:
            assert m.github_id and re.fullmatch(r"[A-Za-z0-9-]{1,39}", m.github_login)
        if m.reddit_name:
            assert re.fullmatch(r"[A-Za-z0-9_-]{3,20}", m.reddit_name)
    for attr in ("key", "discord_id", "discord_name", "github_login", "github_id", "reddit_name"):
        values = [getattr(m, attr) for m in community.members if getattr(m, attr) is not None]
        assert len(values) == len(set(values)), attr
    spread = Counter(
        sum(x is not None for x in (m.discord_id, m.github_login, m.reddit_name)) for m in community.members
    )
    assert spread[1] > 0 and spread[2] > 0 and spread[3] > 0
    for mod in (m for m in community.members if m.is_moderator):
        assert mod.discord_id and mod.github_login and mod.reddit_name and not mod.blocked


def test_referential_integrity(community: Community) -> None:
    _check_integrity(community)


def _check_integrity(c: Community) -> None:
    members = {m.key: m for m in c.members}
    channels = {ch.id: ch for ch in c.channels}
    threads = {t.id: t for t in c.threads}
    messages = {m.id: m for m in c.messages}
    assert len(messages) == len(c.messages)

    def on_discord(key: str) -> bool:
        return key in members and members[key].discord_id is not None

    for msg in c.messages:
        assert on_discord(msg.author_key), msg.author_key
        assert not members[msg.author_key].blocked
        assert msg.channel_id in channels
        assert channels[msg.channel_id].kind in ("text", "announcement")
        assert snowflake_time(msg.id) == msg.created_at
        if msg.thread_id is not None:
            assert threads[msg.thread_id].parent_id == msg.channel_id
            assert msg.created_at >= threads[msg.thread_id].created_at
        if msg.reply_to is not None:
            target = messages[msg.reply_to]
            assert target.created_at <= msg.created_at
        for r in msg.reactions:
            assert r.member_keys and len(r.member_keys) == len(set(r.member_keys))
            assert all(on_discord(k) for k in r.member_keys)
    for t in c.threads:
        assert t.parent_id in channels and on_discord(t.owner_key)
        if channels[t.parent_id].kind != "forum":
            assert t.id in messages, "a thread started from a message has that message's id"
    numbers = [d.number for d in c.discussions] + [i.number for i in c.issues]
    assert len(numbers) == len(set(numbers)), "issues and discussions share one number sequence"
    node_ids = [d.node_id for d in c.discussions] + [i.node_id for i in c.issues]
    assert len(node_ids) == len(set(node_ids))
    assert all(d.node_id.startswith("D_kwDO") for d in c.discussions)
    assert all(i.node_id.startswith("I_kwDO") for i in c.issues)
    for d in c.discussions:
        assert members[d.author_key].github_login
        assert d.category in ("Ideas", "Q&A", "Announcements", "General")
        assert sum(cm.is_answer for cm in d.comments) <= (1 if d.category == "Q&A" else 0)
        for cm in d.comments:
            assert members[cm.author_key].github_login
            assert cm.created_at >= d.created_at
            if cm.is_answer:
                assert cm.author_key != d.author_key
    for i in c.issues:
        assert members[i.author_key].github_login
        assert all(members[k].github_login for k in i.assignees)
        assert i.state in ("open", "closed") and i.labels
        assert all(members[cm.author_key].github_login for cm in i.comments)
    post_ids = [p.id for p in c.posts]
    assert len(post_ids) == len(set(post_ids))
    for p in c.posts:
        assert members[p.author_key].reddit_name
        ids = {cm.id for cm in p.comments}
        for rc in p.comments:
            assert members[rc.author_key].reddit_name
            assert rc.parent_id is None or rc.parent_id in ids
            assert rc.created_at >= p.created_at
    # reddit ids increase with time
    ordered = sorted(c.posts, key=lambda p: p.created_at)
    assert [int(p.id, 36) for p in ordered] == sorted(int(p.id, 36) for p in ordered)
    discussions = {str(d.number): d for d in c.discussions}
    posts = {p.id: p for p in c.posts}
    for s in c.suggestions:
        assert s.author_key in members
        if s.platform == "discord":
            msg = messages[s.ref]
            assert s.votes == sum(len(r.member_keys) for r in msg.reactions if r.emoji == "👍")
            assert channels[msg.channel_id].name == "feature-suggestions"
        elif s.platform == "github":
            assert discussions[s.ref].category == "Ideas" and s.votes == discussions[s.ref].upvotes
        else:
            assert s.platform == "reddit" and s.votes == posts[s.ref].score
    sugg_keys = {s.key for s in c.suggestions}
    issue_numbers = {i.number for i in c.issues}
    for card in c.roadmap:
        assert card.status in ("Under consideration", "Planned", "In progress", "Done")
        assert re.fullmatch(r"\d{4}-\d{2}", card.target_month)
        assert card.issue_number is None or card.issue_number in issue_numbers
        assert card.suggestion_key is None or card.suggestion_key in sugg_keys
        assert all(members[k].github_login for k in card.assignee_keys)
    forum = next(ch for ch in c.channels if ch.name == "tickets")
    for tk in c.tickets:
        req = members[tk.requester_key]
        assert not req.is_moderator and not req.blocked
        if tk.platform == "discord":
            assert req.discord_id and tk.thread_id and threads[tk.thread_id].parent_id == forum.id
        else:
            assert tk.platform == "reddit" and req.reddit_name and tk.conversation_id
        assert tk.messages and tk.messages[0].role == "member"
        assert tk.messages[0].created_at == tk.opened_at
        for tm in tk.messages:
            if tm.role == "member":
                assert tm.author_key == tk.requester_key
            else:
                assert tm.role in ("moderator", "note") and members[tm.author_key].is_moderator
        assert tk.assignee_key is None or members[tk.assignee_key].is_moderator
        assert [tm.created_at for tm in tk.messages] == sorted(tm.created_at for tm in tk.messages)
    for ev in c.events:
        assert all(on_discord(k) for k in ev.interested_keys)
        assert ev.channel_id is None or ev.channel_id in channels
        assert ev.ends_at is None or ev.ends_at > ev.starts_at


def test_history_is_within_three_months_before_now() -> None:
    now = datetime(2027, 3, 14, 9, 30, tzinfo=UTC)
    c = generate(5, now=now)
    assert c.now == now
    start = now - timedelta(days=HISTORY_DAYS)
    stamps = [m.created_at for m in c.messages]
    stamps += [t.created_at for t in c.threads]
    for d in c.discussions:
        stamps += [d.created_at, *(cm.created_at for cm in d.comments)]
    for i in c.issues:
        stamps += [i.created_at, *(cm.created_at for cm in i.comments)]
    for p in c.posts:
        stamps += [p.created_at, *(cm.created_at for cm in p.comments)]
    for t in c.tickets:
        stamps += [t.opened_at, *(tm.created_at for tm in t.messages)]
    stamps += [s.created_at for s in c.suggestions]
    assert all(s.tzinfo is not None for s in stamps)
    assert min(stamps) >= start
    assert max(stamps) < now
    # history really spans the three months, and the last day is not empty
    assert min(stamps) < start + timedelta(days=7)
    assert max(m.created_at for m in c.messages) > now - timedelta(days=1)


def test_default_now_is_fixed_and_snowflakes_follow_it() -> None:
    a, b = generate(7), generate(7)
    assert a.now == b.now
    assert snowflake_time(a.guild_id) < a.now - timedelta(days=365)


def test_hostile_strings_are_present_and_active(community: Community) -> None:
    names = {m.display_name for m in community.members}
    for hostile in HOSTILE_NAMES:
        assert hostile in names
    assert any("\u202e" in n for n in names)
    assert any("\u200d" in n for n in names)
    assert any(len(n) > 100 for n in names)
    assert any('<a href="https://evil.example">' in n for n in names)
    hostile_keys = {m.key for m in community.members if m.display_name in HOSTILE_NAMES}
    authors = {m.author_key for m in community.messages}
    assert hostile_keys <= authors
    contents = {m.content for m in community.messages}
    for body in HOSTILE_BODIES:
        assert body in contents


def test_no_placeholder_text(community: Community) -> None:
    text = repr(community).lower()
    assert "lorem" not in text and "ipsum" not in text
    bodies = [m.content for m in community.messages]
    bodies += [d.title + d.body for d in community.discussions]
    bodies += [cm.body for d in community.discussions for cm in d.comments]
    bodies += [i.title + i.body for i in community.issues]
    bodies += [p.title + p.selftext for p in community.posts]
    bodies += [cm.body for p in community.posts for cm in p.comments]
    bodies += [tm.body for t in community.tickets for tm in t.messages]
    bodies += [t.subject for t in community.tickets]
    for body in bodies:
        assert body.strip()
        assert not UNFILLED.search(body), body


def test_text_varies(community: Community) -> None:
    contents = [m.content for m in community.messages]
    assert len(set(contents)) >= 0.55 * len(contents)
    # no single line dominates a channel
    assert Counter(contents).most_common(1)[0][1] <= 40
    titles = [p.title for p in community.posts]
    assert len(set(titles)) >= 0.5 * len(titles)
    issue_titles = [i.title for i in community.issues]
    assert len(set(issue_titles)) >= 0.7 * len(issue_titles)
    # some conversation structure: replies, threads, reactions
    assert sum(m.reply_to is not None for m in community.messages) >= 200
    assert sum(m.thread_id is not None for m in community.messages) >= 100
    assert sum(bool(m.reactions) for m in community.messages) >= 200


def test_activity_has_helpers_and_a_long_tail(community: Community) -> None:
    per_author = Counter(m.author_key for m in community.messages)
    assert len(per_author) >= 80  # many distinct active members
    top = per_author.most_common(5)
    assert top[0][1] >= 5 * sorted(per_author.values())[len(per_author) // 2]


def test_suggestions_roadmap_and_votes(community: Community) -> None:
    platforms = Counter(s.platform for s in community.suggestions)
    assert platforms["discord"] >= 8 and platforms["github"] >= 8 and platforms["reddit"] >= 5
    assert max(s.votes for s in community.suggestions) >= 10
    statuses = Counter(card.status for card in community.roadmap)
    assert set(statuses) == {"Under consideration", "Planned", "In progress", "Done"}
    assert sum(card.suggestion_key is not None for card in community.roadmap) >= 5
    assert sum(card.issue_number is None for card in community.roadmap) >= 1  # draft issues exist
    assert sum(bool(card.why_note) for card in community.roadmap) >= 3
    issues = {i.number: i for i in community.issues}
    for card in community.roadmap:
        if card.issue_number is not None and card.status == "Done":
            assert issues[card.issue_number].state == "closed"
    labels = Counter(label for i in community.issues for label in i.labels)
    for label in ("bug", "enhancement", "sync", "ui", "community-idea"):
        assert labels[label] > 0, label
    assert sum(i.thumbs_up > 0 for i in community.issues) >= 10
    qa = [d for d in community.discussions if d.category == "Q&A"]
    assert sum(any(cm.is_answer for cm in d.comments) for d in qa) >= 5
    assert {d.category for d in community.discussions} == {"Ideas", "Q&A", "Announcements", "General"}


def test_reddit_reports(community: Community) -> None:
    reported_posts = [p for p in community.posts if p.reported]
    reported_comments = [cm for p in community.posts for cm in p.comments if cm.reported]
    assert reported_posts and reported_comments
    assert all(p.report_reason for p in reported_posts)
    assert all(cm.report_reason for cm in reported_comments)


def test_tickets_cover_statuses_and_sla(community: Community) -> None:
    c = community
    assert {t.status for t in c.tickets} == {"new", "open", "pending", "resolved", "closed"}
    assert {t.platform for t in c.tickets} == {"discord", "reddit"}
    sla = timedelta(hours=24)
    breached = within = 0
    for t in c.tickets:
        first = next((tm.created_at for tm in t.messages if tm.role == "moderator"), None)
        if first is not None:
            if first - t.opened_at > sla:
                breached += 1
            else:
                within += 1
        elif c.now - t.opened_at > sla:
            breached += 1
    assert breached >= 3 and within >= 10
    assert any(tm.role == "note" for t in c.tickets for tm in t.messages)
    assert any(t.assignee_key is None for t in c.tickets if t.status == "new")


def test_events_contests_and_scheduled_posts(community: Community) -> None:
    c = community
    amas = [e for e in c.events if e.recurrence_monthly and e.kind == "stage"]
    past = [e for e in amas if e.starts_at < c.now]
    upcoming = [e for e in amas if e.starts_at >= c.now]
    assert len(past) >= 2 and len(upcoming) >= 1
    assert all(len(e.interested_keys) >= 5 for e in amas)
    assert any(ct.starts_at <= c.now < ct.ends_at for ct in c.contests)
    running = next(ct for ct in c.contests if ct.starts_at <= c.now < ct.ends_at)
    assert any(running.starts_at <= s.created_at < c.now for s in c.suggestions)
    tips = [p for p in c.scheduled_posts if p.kind == "tip"]
    assert len(tips) >= 3 and all(p.due_at > c.now for p in tips)
    gaps = [p.due_at - tips[0].due_at for p in tips[:3]]
    assert gaps == [timedelta(0), timedelta(days=7), timedelta(days=14)]
    ids = [e.id for e in c.events]
    assert len(ids) == len(set(ids))


def test_all_discord_ids_are_unique(community: Community) -> None:
    c = community
    ids = [c.guild_id, c.bot_id, c.application_id]
    ids += [m.discord_id for m in c.members if m.discord_id]
    ids += [ch.id for ch in c.channels] + [m.id for m in c.messages] + [e.id for e in c.events]
    ids += [t.id for t in c.threads if t.id not in {m.id for m in c.messages}]
    assert len(ids) == len(set(ids))


def test_text_helpers_fill_every_slot() -> None:
    rng = Random(3)
    produced: list[str] = []
    for _ in range(200):
        for channel in (
            "general",
            "support",
            "feature-suggestions",
            "tips-and-tricks",
            "show-and-tell",
            "off-topic",
            "announcements",
        ):
            produced.append(message_text(rng, channel))
        produced += list(suggestion_text(rng))
        for category in ("Ideas", "Q&A", "Announcements", "General"):
            produced += list(discussion_text(rng, category))
        title, body, labels = issue_text(rng)
        assert "bug" in labels
        produced += [title, body, comment_text(rng), reddit_comment_text(rng), *ticket_text(rng)]
        produced += list(reddit_post_text(rng))
    for text in produced:
        assert text.strip() and not UNFILLED.search(text), text
    assert len(set(produced)) > len(produced) // 4


def test_id_helpers() -> None:
    when = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
    assert snowflake_time(snowflake(when, 123)) == when
    assert int(snowflake(when, 1)) < int(snowflake(when + timedelta(milliseconds=1), 0))
    for n in (0, 35, 36, 123456789):
        assert int(base36(n), 36) == n
    with pytest.raises(ValueError):
        base36(-1)


@pytest.mark.parametrize(("seed", "scale"), [(0, 1.0), (1, 0.5), (42, 0.3), (999, 1.0)])
def test_integrity_holds_for_other_seeds(seed: int, scale: float) -> None:
    c = generate(seed, scale=scale)
    _check_integrity(c)
    assert {m.display_name for m in c.members} >= set(HOSTILE_NAMES)
