"""Insights metrics over small hand-built datasets whose answers are known, and history through samples."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from atlas_desk.core import metrics
from atlas_desk.core.metrics import DateRange, Options

SCHEMA = Path(__file__).resolve().parents[1] / "atlas_desk" / "store" / "migrations" / "0001_initial.sql"
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
NOV = DateRange(date(2026, 11, 1), date(2026, 11, 30))


class Seed:
    """Writes rows the way the store does (UTC ISO text, unix created_ts)."""

    def __init__(self) -> None:
        self.conn = sqlite3.connect(":memory:")
        self.conn.executescript(SCHEMA.read_text(encoding="utf-8"))
        self.accounts: dict[tuple[str, str], int] = {}
        self.n = 0

    def account(self, platform: str, handle: str, name: str = "") -> int:
        key = (platform, handle)
        if key not in self.accounts:
            pid = self.conn.execute(
                "INSERT INTO people (display_name, created_at) VALUES (?, ?)",
                (name or handle, NOW.isoformat()),
            ).lastrowid
            self.accounts[key] = int(
                self.conn.execute(
                    "INSERT INTO accounts (person_id, platform, platform_id, handle, display_name)"
                    " VALUES (?,?,?,?,?)",
                    (pid, platform, f"id-{handle}", handle, name),
                ).lastrowid
                or 0
            )
        return self.accounts[key]

    def item(
        self,
        platform: str,
        author: str,
        when: datetime,
        *,
        kind: str = "message",
        container: str = "#general",
        container_id: str = "G",
        pid: str | None = None,
        parent_id: str = "",
        suggestion: bool = False,
        score: int = 0,
        deleted: bool = False,
        name: str = "",
        **extra: object,
    ) -> str:
        self.n += 1
        pid = pid or f"{platform}-{self.n}"
        self.conn.execute(
            "INSERT INTO inbox_items (platform, platform_id, kind, container, container_id, parent_id,"
            " account_id,"
            " body, created_at, created_ts, deleted, score, is_suggestion, extra)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                platform,
                pid,
                kind,
                container,
                container_id,
                parent_id,
                self.account(platform, author, name),
                "text",
                when.isoformat(),
                when.timestamp(),
                int(deleted),
                score,
                int(suggestion),
                json.dumps(extra),
            ),
        )
        return pid

    def ticket(
        self,
        opened: datetime,
        *,
        first_reply_h: float | None = None,
        closed: datetime | None = None,
        assignee: str = "",
    ) -> int:
        self.n += 1
        first = (opened + timedelta(hours=first_reply_h)).isoformat() if first_reply_h is not None else None
        return int(
            self.conn.execute(
                "INSERT INTO tickets (platform, platform_id, subject, assignee, opened_at, first_reply_at,"
                " last_activity_at, closed_at) VALUES ('discord', ?, 'help', ?, ?, ?, ?, ?)",
                (
                    f"t{self.n}",
                    assignee,
                    opened.isoformat(),
                    first,
                    opened.isoformat(),
                    closed.isoformat() if closed else None,
                ),
            ).lastrowid
            or 0
        )

    def ticket_message(self, ticket: int, author: str, role: str, when: datetime) -> None:
        self.conn.execute(
            "INSERT INTO ticket_messages (ticket_id, author_id, role, body, created_at) VALUES (?,?,?,?,?)",
            (ticket, self.account("discord", author), role, "x", when.isoformat()),
        )


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


# ------------------------------------------------------------------------------------------ first reply


def test_first_reply_median_p90_share_and_weekly_trend() -> None:
    s = Seed()
    for hours in (1, 5, 30):
        s.ticket(at(2), first_reply_h=hours)  # Monday 2 November
    s.ticket(at(10), first_reply_h=2)  # the next week
    fr = metrics.first_reply_times(s.conn, DateRange(date(2026, 11, 2), date(2026, 11, 8)), now=NOW)
    assert fr.replied == 3
    assert fr.median_hours == pytest.approx(5.0)
    assert fr.p90_hours == pytest.approx(25.0)  # 5 + 0.8 × (30 − 5)
    assert fr.within_share == pytest.approx(2 / 3) and fr.within == 2
    whole = metrics.first_reply_times(s.conn, NOV, now=NOW)
    assert [(w.week, w.tickets, w.median_hours) for w in whole.weeks] == [
        (date(2026, 11, 2), 3, 5.0),
        (date(2026, 11, 9), 1, 2.0),
    ]
    assert whole.weeks[1].within_share == 1.0


def test_unanswered_tickets_count_as_misses_only_once_overdue() -> None:
    s = Seed()
    s.ticket(at(20), first_reply_h=3)
    s.ticket(at(20))  # unanswered for four days: a miss
    s.ticket(NOW - timedelta(hours=2))  # unanswered, still within its 24 hours: undecided
    fr = metrics.first_reply_times(s.conn, NOV, now=NOW)
    assert fr.overdue_unreplied == 1 and fr.within_share == pytest.approx(0.5)
    assert fr.median_hours == pytest.approx(3.0)


# ------------------------------------------------------------------------------------------ active members


def test_daily_weekly_monthly_active_discord_members() -> None:
    s = Seed()
    s.item("discord", "ana", at(1))
    s.item("discord", "ben", at(1, 11))
    s.item("discord", "ana", at(2))
    s.item("discord", "ana", at(2, 12))  # twice on one day counts once
    s.item("discord", "cho", at(2))
    s.item("discord", "dev", at(9))
    s.item("discord", "bot", at(9), bot=True)  # bots are not members
    s.item("discord", "eve", at(9), deleted=True)
    s.item("github", "fay", at(9), kind="issue")  # not Discord
    active = {a.day.day: a for a in metrics.active_members(s.conn, NOV)}
    assert (active[1].daily, active[1].weekly, active[1].monthly) == (2, 2, 2)
    assert (active[2].daily, active[2].weekly, active[2].monthly) == (2, 3, 3)
    assert (active[9].daily, active[9].weekly, active[9].monthly) == (1, 1, 4)
    assert (active[30].daily, active[30].weekly, active[30].monthly) == (0, 0, 4)
    # 1 December's 30-day window starts on 2 November: ben, active only on the 1st, drops out.
    dec = metrics.active_members(s.conn, DateRange(date(2026, 12, 1), date(2026, 12, 1)))
    assert dec[0].monthly == 3


# ------------------------------------------------------------------------------------------ suggestions


def test_suggestions_and_upvotes_per_month_and_platform() -> None:
    s = Seed()
    s.item("github", "ana", at(3), kind="issue", suggestion=True, score=5)
    s.item("github", "ben", at(20), kind="discussion", suggestion=True, score=2)
    s.item("reddit", "cho", at(30, month=10), kind="post", suggestion=True, score=10)
    s.item("discord", "dev", at(4), suggestion=False, score=50)  # not a suggestion
    s.item("discord", "eve", at(5), suggestion=True, score=1)
    got = metrics.suggestions_by_month(s.conn, DateRange(date(2026, 10, 1), date(2026, 11, 30)))
    assert [(m.month, m.platform, m.suggestions, m.upvotes) for m in got] == [
        ("2026-10", "reddit", 1, 10),
        ("2026-11", "discord", 1, 1),
        ("2026-11", "github", 2, 7),
    ]


# ---------------------------------------------------------------------------------- tickets and moderators


def test_ticket_volume_backlog_and_moderator_workload() -> None:
    s = Seed()
    t1 = s.ticket(at(2), closed=at(4), assignee="mira")
    t2 = s.ticket(at(2, 15), assignee="tomas")
    s.ticket(at(3), closed=at(3, 18))
    s.ticket(at(28, month=10), closed=at(3))  # opened before the range, closed inside it
    s.ticket_message(t1, "mira", "moderator", at(2, 11))
    s.ticket_message(t1, "mira", "moderator", at(3, 11))
    s.ticket_message(t1, "mira", "note", at(3, 12))
    s.ticket_message(t2, "tomas", "moderator", at(2, 16))
    s.ticket_message(t2, "ana", "member", at(2, 17))
    rng = DateRange(date(2026, 11, 2), date(2026, 11, 5))
    days = [(t.day.day, t.opened, t.closed, t.backlog) for t in metrics.ticket_volume(s.conn, rng)]
    assert days == [(2, 2, 0, 3), (3, 1, 2, 2), (4, 0, 1, 1), (5, 0, 0, 1)]
    loads = metrics.moderator_workload(s.conn, rng)
    assert [(m.moderator, m.replies, m.notes, m.assigned) for m in loads] == [
        ("mira", 2, 1, 1),
        ("tomas", 1, 0, 1),
    ]


# ------------------------------------------------------------------------------------------ busiest hours


def test_busiest_hours_grid_in_the_moderators_time() -> None:
    s = Seed()
    s.item("discord", "ana", at(2, 10))  # Monday
    s.item("github", "ben", at(2, 10, 30), kind="issue")
    s.item("reddit", "cho", at(3, 23, 30), kind="post")  # Tuesday, late
    grid = metrics.busiest_hours(s.conn, NOV)
    assert len(grid) == 7 and all(len(row) == 24 for row in grid)
    assert grid[0][10] == 2 and grid[1][23] == 1 and sum(map(sum, grid)) == 3
    shifted = metrics.busiest_hours(s.conn, NOV, utc_offset_hours=1)
    assert shifted[0][11] == 2 and shifted[2][0] == 1  # Tuesday 23:30 UTC is Wednesday 00:30 at UTC+1


# ------------------------------------------------------------------------------------------ helpful members


def test_helpful_members_count_answers_to_other_members() -> None:
    s = Seed()
    q = s.item("discord", "ana", at(5), container="#support", container_id="S")
    s.item("discord", "ben", at(5, 11), container="#support", container_id="S", reply_to=q, name="Ben B")
    s.item("discord", "ana", at(5, 12), container="#support", container_id="S")  # no reply: not an answer
    s.item("discord", "mira", at(5, 13), container="#support", container_id="S", reply_to=q)  # a moderator
    g = s.item("discord", "ana", at(6), container="#general", container_id="G")
    s.item("discord", "eve", at(6, 11), container="#general", container_id="G", reply_to=g)  # not support
    # A thread in #support started by cho: dev answers, cho's own follow-up does not count.
    thread = {"container": "#support › sync broken", "container_id": "T1", "thread_parent_id": "S"}
    s.item("discord", "cho", at(7), **thread)
    s.item("discord", "dev", at(7, 11), **thread)
    s.item("discord", "cho", at(7, 12), **thread)
    # A thread in a channel whose id is configured as support (its name says nothing).
    f = s.item("discord", "fay", at(8), container="#lobby", container_id="L")
    s.item("discord", "dev", at(8, 1), container="#lobby", container_id="L", reply_to=f)
    # GitHub: ben's accepted answer on ana's discussion; ana's own accepted answer does not count.
    s.item("github", "ana", at(9), kind="discussion", pid="D1")
    s.item("github", "ben", at(9, 11), kind="discussion_comment", parent_id="D1", is_answer=True)
    s.item("github", "fay", at(9, 12), kind="discussion_comment", parent_id="D1", is_answer=False)
    s.item("github", "ana", at(9, 13), kind="discussion_comment", parent_id="D1", is_answer=True)
    opts = Options.make(support_channels=["L"], exclude=["Mira"])
    got = metrics.helpful_members(s.conn, NOV, opts)
    assert [(h.platform, h.handle, h.replies, h.answers, h.score) for h in got] == [
        ("github", "ben", 0, 1, 3),
        ("discord", "dev", 2, 0, 2),
        ("discord", "ben", 1, 0, 1),
    ]
    assert got[2].name == "Ben B"


# ------------------------------------------------------------------------------------------ history


def test_samples_keep_history_after_the_raw_rows_are_gone() -> None:
    s = Seed()
    s.item("discord", "ana", at(2))
    s.item("discord", "ben", at(2))
    s.item("github", "cho", at(2), kind="issue", suggestion=True, score=4)
    for hours in (1, 5, 30):
        s.ticket(at(2), first_reply_h=hours, closed=at(3))
    q = s.item("discord", "ana", at(2, 11), container="#support", container_id="S")
    s.item("discord", "dev", at(2, 12), container="#support", container_id="S", reply_to=q)
    rng = DateRange(date(2026, 11, 2), date(2026, 11, 3))
    before = metrics.compute(s.conn, rng, now=NOW)
    for day in rng.days():
        assert metrics.record_samples(s.conn, day) > 0
    # The platforms deleted everything (or the store was rebuilt without it).
    s.conn.execute("DELETE FROM inbox_items")
    s.conn.execute("DELETE FROM tickets")
    assert not metrics.raw_values(s.conn, rng).get(metrics.M_ITEMS)
    after = metrics.compute(s.conn, rng, now=NOW)
    assert after.active == before.active and after.active[0].daily == 3
    assert after.suggestions == before.suggestions == (metrics.SuggestionMonth("2026-11", "github", 1, 4),)
    assert after.first_reply.median_hours == pytest.approx(5.0)
    assert after.first_reply.within_share == pytest.approx(2 / 3)
    assert after.tickets == before.tickets and after.tickets[1].closed == 3
    assert after.heatmap == before.heatmap and after.items == before.items == 5
    assert [(h.handle, h.replies) for h in after.helpers] == [("dev", 1)]


def test_recording_again_never_lowers_a_sample_and_late_rows_still_count() -> None:
    s = Seed()
    s.item("discord", "ana", at(2))
    s.item("discord", "ben", at(2))
    day = date(2026, 11, 2)
    metrics.record_samples(s.conn, day)
    s.conn.execute("DELETE FROM inbox_items WHERE account_id = ?", (s.account("discord", "ben"),))
    metrics.record_samples(s.conn, day)  # e.g. recorded again after a restart
    stored = s.conn.execute(
        "SELECT value FROM metric_samples WHERE metric = ? AND day = ?",
        (metrics.M_ACTIVE_DAILY, "2026-11-02"),
    ).fetchone()[0]
    assert stored == 2
    for who in ("cho", "dev", "eve"):
        s.item("discord", who, at(2, 20))  # a late backfill
    assert metrics.active_members(s.conn, DateRange(day, day))[0].daily == 4  # ana + 3 late ones beat 2


def test_compute_on_an_empty_store_is_empty() -> None:
    s = Seed()
    ins = metrics.compute(s.conn, NOV, now=NOW)
    assert ins.empty and ins.first_reply.median_hours is None and ins.first_reply.within_share is None
    assert ins.helpers == () and ins.suggestions == ()


def test_csv_series_rows() -> None:
    s = Seed()
    s.item("discord", "ana", at(2))
    ins = metrics.compute(s.conn, DateRange(date(2026, 11, 2), date(2026, 11, 3)), now=NOW)
    series = metrics.csv_series(ins)
    header, rows = series["active-members"]
    assert header == ["day", "daily", "weekly", "monthly", "target"]
    assert rows == [["2026-11-02", 1, 1, 1, 100], ["2026-11-03", 0, 1, 1, 100]]
    assert series["busiest-hours"][1][0][:1] == ["Mon"] and series["busiest-hours"][1][0][11] == 1
