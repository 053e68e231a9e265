"""The calendar service without a platform: contests, the question queue, reminders, iCalendar."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import icalendar

from atlas_desk.core.bus import NotificationEvent
from atlas_desk.core.calendar import (
    EventDraft,
    discord_to_rrule,
    group_questions,
    monthly_rrule,
    rrule_to_discord,
    similarity,
)
from atlas_desk.core.types import Account, InboxItem, ItemKind, Platform
from atlas_desk.sandbox.community import generate
from atlas_desk.store import calendar as repo
from atlas_desk.store import inbox as inbox_repo
from atlas_desk.store.export import export
from tests.test_calendar_support import Clock, desk, run

KIND = {"discord": ItemKind.MESSAGE, "github": ItemKind.DISCUSSION, "reddit": ItemKind.POST}


def _item(
    platform: str, pid: str, title: str, votes: int, at: datetime, *, suggestion: bool = True, **kw: object
) -> InboxItem:
    return InboxItem(
        platform=Platform(platform),
        platform_id=pid,
        kind=KIND[platform],
        container=str(kw.pop("container", "#feature-suggestions")),
        author=Account(Platform(platform), f"u-{pid}", f"user{pid[-3:]}"),
        body=str(kw.pop("body", title)),
        created_at=at,
        title=title,
        score=votes,
        is_suggestion=suggestion,
        **kw,  # type: ignore[arg-type]
    )


def test_contest_leaderboard_over_the_seeded_suggestions_matches_the_hand_computed_ranking(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    c = generate(7)
    contest = c.contests[0]  # 11–25 September 2026

    async def body() -> None:
        clock = Clock(contest.starts_at + timedelta(days=7))
        async with desk(data_dir / "d.db", None, clock=clock) as d:
            items = [_item(s.platform, s.ref, s.title, s.votes, s.created_at) for s in c.suggestions]
            # not entries: a popular non-suggestion in the window, one posted at the very end, and one
            # at the very start that was deleted; one at the very start that counts
            items.append(
                _item(
                    "discord",
                    "9001",
                    "Not an idea, a meme",
                    99,
                    contest.starts_at + timedelta(days=1),
                    suggestion=False,
                )
            )
            items.append(_item("reddit", "late1", "Too late", 50, contest.ends_at))
            items.append(_item("github", "77", "Deleted idea", 40, contest.starts_at, deleted=True))
            items.append(_item("github", "78", "Right on time", 1, contest.starts_at))
            await d.store.write(lambda conn: inbox_repo.upsert_items(conn, items))
            await d.calendar.import_plan([contest], [])
            (row,) = repo.list_events(d.store.reader(), kinds=["contest"])
            assert row.status == "active"
            board = d.calendar.leaderboard(row.id)
            assert [(e.rank, e.title, e.votes, e.platform) for e in board] == [
                (1, "Vim keybindings in the editor", 15, "github"),
                (2, "Calendar week numbers", 10, "reddit"),  # 13 Sep: earlier than the other 10
                (2, "Focus mode with a pomodoro timer", 10, "github"),
                (4, "Custom recurrence rules for tasks", 7, "discord"),
                (5, "Version history for notes", 4, "discord"),
                (6, "Keyboard shortcut cheatsheet", 3, "github"),
                (6, "Pin notes to the top of a notebook", 3, "github"),
                (8, "Right on time", 1, "github"),
            ]
            # live: a vote arrives and the board changes on the next read
            items[0].score = 0
            bump = [
                _item(
                    "discord",
                    "1552770557542431521",
                    "Version history for notes",
                    20,
                    c.suggestions[18].created_at,
                )
            ]
            await d.store.write(lambda conn: inbox_repo.upsert_items(conn, bump))
            assert d.calendar.leaderboard(row.id)[0].title == "Version history for notes"

            # at the end: completed, a draft announcement, a notification
            seen: list[NotificationEvent] = []
            d.bus.subscribe(NotificationEvent, seen.append)
            clock.now = contest.ends_at
            await d.calendar.run_due()
            done = repo.get_event(d.store.reader(), row.id)
            assert done is not None and done.status == "completed"
            text = done.extra["announcement"]
            assert text.splitlines()[2] == "1. “Version history for notes” by user521 (20 votes on Discord)"
            assert "A year of Atlas Pro for the top three" in text
            assert [n.kind for n in seen] == ["contest_ended"]
            await d.calendar.run_due()
            assert len(seen) == 1  # announced once

    run(aloop, body)


def test_ama_reminder_fires_once_before_the_start(aloop: asyncio.AbstractEventLoop, data_dir: Path) -> None:
    async def body() -> None:
        start = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
        clock = Clock(start - timedelta(hours=2))
        async with desk(data_dir / "d.db", None, clock=clock) as d:
            now = clock()
            event = repo.EventRow(
                0, "ama", "AMA with the founders", start, start + timedelta(hours=1), reminder_minutes=30
            )
            event_id = await d.store.write(lambda conn: repo.insert_event(conn, event, now=now))
            seen: list[NotificationEvent] = []
            d.bus.subscribe(NotificationEvent, seen.append)
            assert await d.calendar.run_due() == start - timedelta(minutes=30)
            assert seen == []
            clock.now = start - timedelta(minutes=29)
            assert await d.calendar.run_due() is None
            assert [(n.kind, n.title, n.target) for n in seen] == [
                (
                    "event_soon",
                    "Starting in 29 min: AMA with the founders",
                    {"pane": "calendar", "id": event_id},
                )
            ]
            await d.calendar.run_due()
            assert len(seen) == 1

    run(aloop, body)


def test_ama_question_queue_groups_near_duplicates_orders_by_votes_and_marks_answered(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def body() -> None:
        at = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
        async with desk(data_dir / "d.db", None, clock=Clock(at)) as d:
            q = [
                _item(
                    "discord",
                    "1001",
                    "",
                    4,
                    at,
                    suggestion=False,
                    body="Will sync support end-to-end encryption?",
                    container_id="555",
                ),
                _item(
                    "discord",
                    "1002",
                    "",
                    1,
                    at + timedelta(minutes=1),
                    suggestion=False,
                    body="When is the Linux app coming?",
                    container_id="555",
                ),
                _item(
                    "github",
                    "D_1",
                    "",
                    6,
                    at,
                    suggestion=False,
                    body="Is end-to-end encryption coming to sync?",
                    parent_id="D_ama",
                ),
                _item(
                    "github",
                    "D_ama",
                    "AMA questions",
                    30,
                    at,
                    suggestion=False,
                    body="Ask here",
                    parent_id="D_ama",
                    url="https://github.com/atlas-app/atlas/discussions/5",
                ),
                _item(
                    "reddit",
                    "t1_x",
                    "",
                    2,
                    at,
                    suggestion=False,
                    body="Any plans for a Linux app?",
                    parent_id="t3_ama",
                ),
                _item(
                    "reddit",
                    "t1_y",
                    "",
                    3,
                    at + timedelta(minutes=5),
                    suggestion=False,
                    body="What about pricing for students?",
                    parent_id="t3_ama",
                ),
                _item(
                    "discord",
                    "1003",
                    "",
                    50,
                    at,
                    suggestion=False,
                    body="Unrelated chatter elsewhere",
                    container_id="999",
                ),
            ]
            await d.store.write(lambda conn: inbox_repo.upsert_items(conn, q))
            sources = [
                {"platform": "discord", "container_id": "555"},
                {"platform": "github", "discussion_number": "5"},  # resolved through the inbox
                {"platform": "reddit", "parent_id": "t3_ama"},
            ]
            now = at
            event = repo.EventRow(
                0, "ama", "AMA", at + timedelta(days=1), extra={"question_sources": sources}
            )
            event_id = await d.store.write(lambda conn: repo.insert_event(conn, event, now=now))
            groups = d.calendar.question_queue(event_id)
            texts = [[i.body for i in (g.lead, *g.others)] for g in groups]
            assert texts == [
                ["Is end-to-end encryption coming to sync?", "Will sync support end-to-end encryption?"],
                ["Any plans for a Linux app?", "When is the Linux app coming?"],  # 3 votes, asked first
                ["What about pricing for students?"],
            ]
            assert [g.votes for g in groups] == [10, 3, 3]
            await d.calendar.set_answered(event_id, groups[0].item_ids)
            after = d.calendar.question_queue(event_id)
            assert [g.answered for g in after] == [False, False, True]
            assert after[2].lead.body == "Is end-to-end encryption coming to sync?"

    run(aloop, body)


def test_similarity_is_a_token_set_jaccard_on_content_words() -> None:
    # {linux, app, coming} and {plans, linux, app}: "when", "the", "any", "for" are stop words
    assert similarity("When is the Linux app coming?", "Any plans for a Linux app?") == 2 / 4
    assert similarity("", "anything") == 0.0
    assert len(group_questions([])) == 0


def test_recurrence_round_trips_between_rrule_and_discord() -> None:
    first_thu = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
    last_mon = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert monthly_rrule(first_thu) == "FREQ=MONTHLY;BYDAY=1TH"
    assert monthly_rrule(last_mon) == "FREQ=MONTHLY;BYDAY=-1MO"
    rule = rrule_to_discord("FREQ=MONTHLY;BYDAY=-1MO", last_mon)
    assert rule is not None and rule["by_n_weekday"] == [{"n": 5, "day": 0}]
    assert discord_to_rrule(rule) == "FREQ=MONTHLY;BYDAY=-1MO"
    assert discord_to_rrule(rrule_to_discord("FREQ=MONTHLY;BYDAY=1TH", first_thu)) == "FREQ=MONTHLY;BYDAY=1TH"


def test_exported_ics_parses_back_with_the_same_events(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    c = generate(7)

    async def body() -> None:
        clock = Clock(c.now)
        async with desk(data_dir / "d.db", None, clock=clock) as d:
            ama = repo.EventRow(
                0,
                "ama",
                "AMA <b>with</b> the founders",
                datetime(2026, 12, 3, 17, 0, tzinfo=UTC),
                datetime(2026, 12, 3, 18, 0, tzinfo=UTC),
                timezone="Europe/Berlin",
                recurrence="FREQ=MONTHLY;BYDAY=1TH",
                description="Ask us anything,\nreally; even about pricing.",
                platform_id="42",
            )
            meetup = repo.EventRow(
                0,
                "ama",
                "Meetup",
                datetime(2026, 12, 14, 17, 30, tzinfo=UTC),
                datetime(2026, 12, 14, 20, 30, tzinfo=UTC),
                location="Betahaus, Berlin",
                timezone="Europe/Berlin",
            )
            now = clock()
            await d.store.write(lambda conn: [repo.insert_event(conn, e, now=now) for e in (ama, meetup)])
            await d.calendar.import_plan(c.contests, c.scheduled_posts, timezone="America/New_York")
            await d.calendar.create(
                EventDraft(
                    kind="post",
                    title="Ünïcode tip ✨",
                    starts_at=c.now + timedelta(days=1),
                    timezone="Asia/Tokyo",
                    description="Use 🔖 bookmarks",
                    targets=["reddit"],
                )
            )
            events = d.calendar.events()
            assert len(events) == 2 + len(c.contests) + len(c.scheduled_posts) + 1
            text = d.calendar.to_ics()
            out = io.StringIO()
            assert export(d.store.reader(), "events", "ics", out) == len(events)
            assert out.getvalue() == text

        parsed = icalendar.Calendar.from_ical(text)
        vevents = list(parsed.walk("VEVENT"))
        assert len(vevents) == len(events)
        by_uid = {str(v["UID"]): v for v in vevents}
        for e in events:
            v = by_uid[f"{e.kind}-{e.platform_id or e.id}@atlas-desk"]
            assert str(v["SUMMARY"]) == e.title
            assert str(v.get("DESCRIPTION", "")) == e.description
            start = v.decoded("DTSTART")
            assert start == e.starts_at and str(start.tzinfo) == e.timezone
            assert (v.decoded("DTEND") if "DTEND" in v else None) == e.ends_at
            assert str(v.get("LOCATION", "")) == e.location
            assert (v["RRULE"].to_ical().decode() if "RRULE" in v else "") == e.recurrence
        assert {str(t["TZID"]) for t in parsed.walk("VTIMEZONE")} >= {
            "Europe/Berlin",
            "America/New_York",
            "Asia/Tokyo",
        }

    run(aloop, body)


def test_question_sources_are_read_from_links_and_short_forms() -> None:
    from atlas_desk.core.calendar import CalendarError, parse_question_source

    assert parse_question_source("https://discord.com/channels/1/222") == {
        "platform": "discord",
        "container_id": "222",
    }
    assert parse_question_source("https://github.com/atlas-app/atlas/discussions/42") == {
        "platform": "github",
        "discussion_number": "42",
    }
    assert parse_question_source("https://www.reddit.com/r/AtlasApp/comments/1gs8319/ama/") == {
        "platform": "reddit",
        "parent_id": "t3_1gs8319",
    }
    assert parse_question_source("reddit:abc")["parent_id"] == "t3_abc"
    assert parse_question_source("github:#7")["discussion_number"] == "7"
    try:
        parse_question_source("myspace:xyz")
    except CalendarError as exc:
        assert "is not a Discord channel" in str(exc)
    else:
        raise AssertionError("accepted an unknown source")
