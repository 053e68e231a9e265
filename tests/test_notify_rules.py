"""Notification rules: toggles, quiet hours, grouping, escaping, the inbox rule, [notifications] settings."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from atlas_desk.config import ConfigError, settings_from_dict
from atlas_desk.core.bus import ChangeBus, ItemsAdded, NotificationEvent
from atlas_desk.core.notify import (
    NotificationRules,
    NotifyOptions,
    escape_markup,
    in_quiet_hours,
    item_events,
    parse_quiet_hours,
    summary_title,
    watch_inbox,
)
from atlas_desk.core.types import Account, InboxItem, ItemKind, Platform
from atlas_desk.store import inbox as repo

SCHEMA = Path(__file__).resolve().parents[1] / "atlas_desk" / "store" / "migrations" / "0001_initial.sql"
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def mention(i: int, container: str = "#general") -> NotificationEvent:
    return NotificationEvent(
        "mention",
        f"m{i} mentioned you in {container}",
        f"hello {i}",
        {"pane": "inbox", "id": i, "container": container},
    )


def rules(clock: FakeClock, **options: object) -> NotificationRules:
    return NotificationRules(NotifyOptions(**options), clock=clock, tz=UTC)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ grouping


def test_fifty_mentions_in_a_minute_become_one_summary() -> None:
    clock = FakeClock()
    r = rules(clock)
    popups = []
    containers = ["#general"] * 47 + ["#help", "#ideas", "#off-topic"]
    for i, where in enumerate(containers):
        assert r.offer(mention(i, where)).popup
        popups += r.due()
        clock.advance(1.2)  # 50 events over one minute, never 3 s apart
    assert popups == []  # nothing popped while the burst went on
    clock.now = T0 + timedelta(seconds=60)
    popups = r.due()
    assert len(popups) == 1
    summary = popups[0]
    assert summary.count == 50
    assert summary.title == "50 new mentions in #general and 3 more"
    assert summary.target["pane"] == "inbox" and summary.target["ids"] == list(range(50))
    assert r.pending() == 0 and r.next_due() is None


def test_single_event_comes_out_as_itself_after_settling() -> None:
    clock = FakeClock()
    r = rules(clock)
    r.offer(mention(7))
    assert r.due() == []
    assert r.next_due() == T0 + timedelta(seconds=3)
    clock.advance(3)
    (popup,) = r.due()
    assert popup.count == 1 and popup.title == "m7 mentioned you in #general"
    assert popup.target == {"pane": "inbox", "id": 7, "container": "#general"}


def test_a_kind_pops_up_at_most_once_per_window_and_kinds_are_separate() -> None:
    clock = FakeClock()
    r = rules(clock)
    r.offer(mention(1))
    clock.advance(3)
    assert len(r.due()) == 1
    clock.advance(10)
    r.offer(mention(2))
    r.offer(
        NotificationEvent("new_ticket", "New ticket from ana", "login fails", {"pane": "tickets", "id": 4})
    )
    clock.advance(3)
    out = r.due()
    assert [p.kind for p in out] == ["new_ticket"]  # mentions wait for their window, tickets do not
    clock.now = T0 + timedelta(seconds=63)
    (later,) = r.due()
    assert later.kind == "mention" and later.count == 1


def test_summary_title_wording() -> None:
    assert summary_title("new_ticket", [mention(1, ""), mention(2, "")]) == "2 new tickets"
    assert summary_title("mod_report", [mention(1, "r/AtlasApp")]) == "1 new report in r/AtlasApp"


# ---------------------------------------------------------------------------------- toggles, quiet hours


def test_quiet_hours_hold_back_non_urgent_kinds_but_list_them() -> None:
    clock = FakeClock(datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    r = rules(clock, quiet_hours=parse_quiet_hours("22:00-07:00"))
    d = r.offer(mention(1))
    assert (d.listed, d.popup, d.reason) == (True, False, "quiet hours")
    breach = NotificationEvent(
        "sla_breach", "Ticket #4 is past its first-reply deadline", "", {"pane": "tickets"}
    )
    d2 = r.offer(breach)
    assert d2.popup and d2.urgent
    clock.advance(3)
    assert [p.kind for p in r.due()] == ["sla_breach"]
    clock.now = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # the quiet hours are over
    assert r.offer(mention(2)).popup


def test_do_not_disturb_and_muted_and_popups_off() -> None:
    clock = FakeClock()
    r = rules(clock, do_not_disturb=True, muted_kinds=frozenset({"keyword"}))
    assert r.offer(mention(1)).reason == "do not disturb"
    muted = r.offer(NotificationEvent("keyword", "crash", "", {}))
    assert (muted.listed, muted.popup) == (False, False)
    assert r.offer(NotificationEvent("sla_breach", "x", "", {})).popup
    r.set_options(NotifyOptions(popups=False))
    assert r.offer(NotificationEvent("sla_breach", "x", "", {})).reason == "pop-ups off"


def test_quiet_hours_parsing_and_wrapping() -> None:
    span = parse_quiet_hours("22:00-07:00")
    assert in_quiet_hours(span, time(23, 59)) and in_quiet_hours(span, time(0, 0))
    assert in_quiet_hours(span, time(6, 59)) and not in_quiet_hours(span, time(7, 0))
    day = parse_quiet_hours("12:00-13:30")
    assert in_quiet_hours(day, time(12, 0)) and not in_quiet_hours(day, time(13, 30))
    assert parse_quiet_hours("") is None
    for bad in ("22-07", "25:00-07:00", "07:00-07:00", "later"):
        with pytest.raises(ValueError):
            parse_quiet_hours(bad)


def test_sound_follows_the_per_kind_setting() -> None:
    clock = FakeClock()
    r = rules(clock, sound=True, sound_kinds=frozenset({"new_ticket"}))
    r.offer(NotificationEvent("new_ticket", "t", "", {}))
    r.offer(mention(1))
    clock.advance(3)
    sounds = {p.kind: p.sound for p in r.due()}
    assert sounds == {"new_ticket": True, "mention": False}


# ------------------------------------------------------------------------------------------ escaping


def test_markup_is_escaped_in_the_body_only_when_the_server_renders_it() -> None:
    clock = FakeClock()
    r = rules(clock)
    name = '<a href="x">y</a>'
    r.offer(NotificationEvent("mention", f"{name} mentioned you", f"{name} says <b>hi</b> & bye", {}))
    (popup,) = r.flush()
    assert (
        popup.body_for(markup=True)
        == "&lt;a href=&quot;x&quot;&gt;y&lt;/a&gt; says &lt;b&gt;hi&lt;/b&gt; &amp; bye"
    )
    assert popup.body_for(markup=False) == f"{name} says <b>hi</b> & bye"
    assert escape_markup("<i>") == "&lt;i&gt;"


# ------------------------------------------------------------------------------------------ the inbox rule


def _conn() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", check_same_thread=False)
    conn.executescript(SCHEMA.read_text(encoding="utf-8"))
    return conn


def _item(
    pid: str,
    author: str,
    body: str,
    *,
    minutes_ago: float = 1,
    reported: bool = False,
    container: str = "#general",
) -> InboxItem:
    return InboxItem(
        platform=Platform.DISCORD,
        platform_id=pid,
        kind=ItemKind.MESSAGE,
        container=container,
        author=Account(Platform.DISCORD, f"u-{author}", author, author.title()),
        body=body,
        created_at=T0 - timedelta(minutes=minutes_ago),
        container_id="c1",
        reported=reported,
    )


def _seed(conn: sqlite3.Connection) -> list[int]:
    items = [
        _item("1", "ana", "hey @Mira can you look at this?"),
        _item("2", "ben", "the app CRASH es on start", container="#help"),
        _item("3", "cho", "nothing to see here"),
        _item("4", "dev", "mira this is spam", reported=True),
        _item("5", "mira", "I am mira and I mention crash myself"),
        _item("6", "eve", "old mention of mira", minutes_ago=600),
        _item("7", "fay", "admiration is not a mention"),
    ]
    new_ids, _ = repo.upsert_items(conn, items)
    return new_ids


def test_new_items_become_mention_keyword_and_report_events() -> None:
    conn = _conn()
    ids = _seed(conn)
    events = item_events(conn, ids, handles=["mira"], keywords=["crash"], since=T0 - timedelta(minutes=15))
    got = [(e.kind, e.target["id"]) for e in events]
    assert got == [("mention", ids[0]), ("keyword", ids[1]), ("mod_report", ids[3])]
    assert events[0].title == "Ana mentioned you in #general"
    assert events[0].target == {"pane": "inbox", "id": ids[0], "platform": "discord", "container": "#general"}
    assert events[1].target["container"] == "#help"


def test_a_member_named_with_html_arrives_as_text() -> None:
    conn = _conn()
    hostile = '<a href="x">y</a>'
    item = _item("9", "zed", "ping mira")
    item.author = Account(Platform.DISCORD, "u-zed", "zed", hostile)
    ids, _ = repo.upsert_items(conn, [item])
    (event,) = item_events(conn, ids, handles=["mira"], keywords=[])
    r = NotificationRules(NotifyOptions(), clock=lambda: T0, tz=UTC)
    r.offer(event)
    (popup,) = r.flush()
    assert popup.title == f"{hostile} mentioned you in #general"  # titles are plain text by specification
    assert "<a" not in popup.body_for(markup=True)


def test_watcher_publishes_events_for_items_added_on_the_bus() -> None:
    conn = _conn()
    ids = _seed(conn)

    class Store:
        def reader(self) -> sqlite3.Connection:
            return conn

    bus = ChangeBus()
    seen: list[NotificationEvent] = []
    bus.subscribe(NotificationEvent, seen.append)
    watcher = watch_inbox(bus, Store(), ["mira"], ["crash"], clock=lambda: T0)
    bus.publish(ItemsAdded(tuple(ids)))
    watcher.stop()  # waits for the worker
    assert [e.kind for e in seen] == ["mention", "keyword", "mod_report"]
    bus.publish(ItemsAdded(tuple(ids)))  # stopped: nothing more
    assert len(seen) == 3


# ------------------------------------------------------------------------------------------ settings


def test_notifications_section_validates_and_maps_onto_options() -> None:
    s = settings_from_dict(
        {
            "notifications": {
                "quiet_hours": "22:00 - 07:00",
                "muted_kinds": ["keyword", "keyword"],
                "urgent_kinds": ["sla_breach", "action_failed"],
                "group_seconds": 30,
            }
        },
        environ={"ATLAS_DESK_NOTIFICATIONS_DO_NOT_DISTURB": "yes"},
    )
    n = s.notifications
    assert n.quiet_hours == "22:00-07:00" and n.muted_kinds == ("keyword",) and n.do_not_disturb is True
    opts = NotifyOptions.from_settings(n)
    assert opts.quiet_hours == (time(22, 0), time(7, 0))
    assert opts.urgent_kinds == {"sla_breach", "action_failed"} and opts.group_seconds == 30
    assert settings_from_dict({}).notifications.urgent_kinds == ("sla_breach",)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"muted_kinds": ["mentions"]}, "notifications.muted_kinds has unknown kind 'mentions'"),
        ({"quiet_hours": "late"}, "notifications.quiet_hours must be a time span"),
        ({"group_seconds": 1}, "notifications.group_seconds must be an integer ≥ 5"),
        ({"sound": "loud"}, "notifications.sound must be true or false"),
    ],
)
def test_notifications_section_rejects_bad_values(body: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        settings_from_dict({"notifications": body}, source="config file x")
