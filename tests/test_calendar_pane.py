"""The calendar pane under pytest-qt: models, drag to reschedule, live counts, the demo render."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QPoint, Qt

from atlas_desk.core.bus import ChangeBus
from atlas_desk.core.calendar import CalendarService, DiscordEventInfo, group_questions, rank_entries
from atlas_desk.core.types import Account, InboxItem, ItemKind, OutboxState, Platform
from atlas_desk.sandbox.community import generate
from atlas_desk.sandbox.model import Community
from atlas_desk.store import calendar as repo
from atlas_desk.store import inbox as inbox_repo
from atlas_desk.store import outbox as outbox_repo
from atlas_desk.store.db import Store
from atlas_desk.ui.bridge import QtBus
from atlas_desk.ui.calendar.model import AgendaModel, LeaderboardModel, QuestionModel
from atlas_desk.ui.calendar.pane import CalendarPane

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

BERLIN = ZoneInfo("Europe/Berlin")
SHOTS = Path(os.environ.get("ATLAS_DESK_SHOTS", "/tmp/atlas-calendar-shots"))


def _seed(loop: asyncio.AbstractEventLoop, service: CalendarService, store: Store, c: Community) -> None:
    """The demo community's calendar: its Discord events (as the sync would mirror them), contests, posts."""
    infos = [
        DiscordEventInfo(
            platform_id=e.id,
            name=e.name,
            description=e.description,
            starts_at=e.starts_at,
            ends_at=e.ends_at,
            entity=e.kind,
            channel_id=e.channel_id or "",
            location=e.location,
            status="completed" if (e.ends_at or e.starts_at) <= c.now else "scheduled",
            interested=len(e.interested_keys),
            recurrence="FREQ=MONTHLY;BYDAY=1TH" if e.recurrence_monthly else "",
        )
        for e in c.events
    ]
    items: list[InboxItem] = []
    kinds = {"discord": ItemKind.MESSAGE, "github": ItemKind.DISCUSSION, "reddit": ItemKind.POST}
    for s in c.suggestions:
        items.append(
            InboxItem(
                Platform(s.platform),
                s.ref,
                kinds[s.platform],
                "ideas",
                Account(Platform(s.platform), s.author_key, s.author_key),
                s.title,
                s.created_at,
                title=s.title,
                score=s.votes,
                is_suggestion=True,
            )
        )
    questions = [
        ("q1", "Will sync support end-to-end encryption?", 9),
        ("q2", "Is end-to-end encryption coming to sync this year?", 4),
        ("q3", "When does the Linux app leave beta?", 6),
        ("q4", "<b>Any</b> student pricing planned?", 3),
    ]
    for pid, text, votes in questions:
        items.append(
            InboxItem(
                Platform.DISCORD,
                pid,
                ItemKind.MESSAGE,
                "#ama-questions",
                Account(Platform.DISCORD, pid, f"member-{pid}"),
                text,
                c.now - timedelta(hours=3),
                container_id="777",
                score=votes,
            )
        )

    async def seed() -> None:
        await store.write(lambda conn: inbox_repo.upsert_items(conn, items))
        await service.discord_events_synced(infos, complete=True)
        await service.import_plan(c.contests, c.scheduled_posts, timezone="Europe/Berlin")
        amas = [e for e in service.events() if e.title.startswith("Atlas AMA") and e.starts_at > c.now]
        nxt = min(amas, key=lambda e: e.starts_at)
        nxt.extra["question_sources"] = [{"platform": "discord", "container_id": "777"}]
        await store.write(lambda conn: repo.update_event(conn, nxt, now=c.now))

    loop.run_until_complete(seed())


@pytest.fixture
def desk(
    qtbot: Any, data_dir: Path, qloop: asyncio.AbstractEventLoop
) -> Iterator[tuple[CalendarPane, CalendarService, Store, Community]]:
    c = generate(7)
    store = Store.open(data_dir / "d.db")
    bus = ChangeBus()
    service = CalendarService(store, bus, clock=lambda: c.now)
    _seed(qloop, service, store, c)
    pane = CalendarPane()
    qtbot.addWidget(pane)
    pane.clock = lambda: c.now
    pane.tz = BERLIN
    pane.connect_service(service, QtBus(bus, pane))
    pane.go_today()
    pane.resize(1440, 900)
    pane.show()
    qtbot.waitExposed(pane)
    yield pane, service, store, c
    pane.shutdown()
    store.close()


def test_models_pass_qtmodeltester(
    qtmodeltester: Any, desk: tuple[CalendarPane, CalendarService, Store, Community]
) -> None:
    pane, service, _store, _c = desk
    assert pane.agenda_model.rowCount() > 0
    qtmodeltester.check(pane.agenda_model)
    contest = next(e for e in service.events() if e.kind == "contest")
    board = LeaderboardModel()
    board.set_entries(service.leaderboard(contest.id))
    qtmodeltester.check(board)
    ama = next(e for e in service.events() if e.extra.get("question_sources"))
    questions = QuestionModel()
    questions.set_groups(service.question_queue(ama.id))
    assert questions.rowCount() == 3  # the two encryption questions are one group
    qtmodeltester.check(questions)
    empty = AgendaModel(BERLIN)
    qtmodeltester.check(empty)
    assert rank_entries([]) == [] and group_questions([]) == []


def test_month_marks_today_and_shows_times_in_the_moderators_zone_with_utc_in_the_tooltip(
    desk: tuple[CalendarPane, CalendarService, Store, Community],
) -> None:
    pane, service, _store, c = desk
    assert pane.month.today() == c.now.astimezone(BERLIN).date()
    meetup = next(e for e in service.events() if e.title.startswith("Atlas meetup"))
    tip = pane.month.tooltip_for(meetup)
    local = meetup.starts_at.astimezone(BERLIN)
    assert f"{local:%H:%M} CET" in tip and f"{meetup.starts_at:%Y-%m-%d %H:%M} UTC" in tip
    row = pane.agenda_model.row_of(meetup.id)
    assert pane.agenda_model.index(row, AgendaModel.WHEN).data().endswith(f"{local:%H:%M} CET")
    assert "UTC" in pane.agenda_model.index(row, AgendaModel.WHEN).data(Qt.ItemDataRole.ToolTipRole)


def test_dragging_an_ama_to_another_day_reschedules_it_through_the_outbox(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, desk: tuple[CalendarPane, CalendarService, Store, Community]
) -> None:
    pane, service, store, c = desk
    ama = min(
        (e for e in service.events() if e.kind == "ama" and e.starts_at > c.now), key=lambda e: e.starts_at
    )
    pane.month.set_month(ama.starts_at.astimezone(BERLIN).date())
    chip = pane.month.chip_rect(ama.id)
    assert not chip.isNull()
    old_day = ama.starts_at.astimezone(BERLIN).date()
    new_day = old_day + timedelta(days=1)
    target = pane.month.cell_rect(new_day).center()
    qtbot.mousePress(pane.month, Qt.MouseButton.LeftButton, pos=chip.center())
    qtbot.mouseMove(pane.month, pos=chip.center() + QPoint(10, 0))
    qtbot.mouseMove(pane.month, pos=target)
    qtbot.mouseRelease(pane.month, Qt.MouseButton.LeftButton, pos=target)
    assert len(pane._tasks) == 1  # the drop became one service call
    qloop.run_until_complete(asyncio.wait_for(asyncio.gather(*pane._tasks), 10))
    reader = store.reader()
    assert (repo.get_event(reader, ama.id) or ama).starts_at == ama.starts_at + timedelta(days=1)
    (action,) = outbox_repo.list_actions(reader)
    assert action.kind == "event_edit" and action.platform is Platform.DISCORD
    assert action.state is OutboxState.PENDING  # no Discord here: it waits in the outbox
    assert action.payload["platform_id"] == ama.platform_id
    assert datetime.fromisoformat(action.payload["start"]) == ama.starts_at + timedelta(days=1)
    qtbot.waitUntil(lambda: pane.month.chip_rect(ama.id).intersects(pane.month.cell_rect(new_day)))


def test_interested_count_updates_live(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, desk: tuple[CalendarPane, CalendarService, Store, Community]
) -> None:
    pane, service, _store, c = desk
    ama = min(
        (e for e in service.events() if e.kind == "ama" and e.starts_at > c.now), key=lambda e: e.starts_at
    )
    row = pane.agenda_model.row_of(ama.id)
    qloop.run_until_complete(service.discord_interest_changed(ama.platform_id, ama.interested + 5))
    qtbot.waitUntil(
        lambda: pane.agenda_model.index(row, AgendaModel.INTERESTED).data() == str(ama.interested + 5)
    )


def test_empty_state_without_a_store(qtbot: Any) -> None:
    from atlas_desk.ui.panes import PaneContext

    pane = CalendarPane()
    qtbot.addWidget(pane)
    pane.attach(PaneContext(bus=QtBus(ChangeBus(), pane), runtime=None, open_settings=lambda _p: None))
    assert pane.ready() and pane.stack.currentWidget() is pane.empty


def test_dialog_validates_before_saving(qtbot: Any) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    from atlas_desk.ui.calendar.dialog import EventDialog

    dialog = EventDialog(
        "Europe/Berlin", channels=[("1", "ama-stage", "stage")], targets=[("reddit", "r/AtlasApp")]
    )
    qtbot.addWidget(dialog)
    save = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    assert not save.isEnabled() and "give it a title" in dialog.problems.text()
    dialog.title_edit.setText("AMA with the founders")
    assert save.isEnabled()
    dialog.end.setDateTime(dialog.start.dateTime().addSecs(-60))
    assert not save.isEnabled() and "the end must be after the start" in dialog.problems.text()
    dialog.end.setDateTime(dialog.start.dateTime().addSecs(3600))
    dialog.zone.setCurrentText("Nowhere/Atlantis")
    assert not save.isEnabled() and "unknown time zone" in dialog.problems.text()
    dialog.zone.setCurrentText("America/New_York")
    draft = dialog.draft()
    assert str(draft.starts_at.tzinfo) == "America/New_York" and draft.channel_id == "1"
    dialog.kind.setCurrentIndex(dialog.kind.findData("post"))
    dialog.description.setPlainText("Tip text")
    assert "choose where to publish" in dialog.problems.text()
    dialog.targets.item(0).setCheckState(Qt.CheckState.Checked)
    assert save.isEnabled() and dialog.draft().targets == ["reddit"]


def test_render_the_pane_with_the_demo_community(
    qtbot: Any, desk: tuple[CalendarPane, CalendarService, Store, Community]
) -> None:
    pane, service, _store, c = desk
    SHOTS.mkdir(parents=True, exist_ok=True)
    ama = next(e for e in service.events() if e.extra.get("question_sources"))
    pane.select_event(ama.id)
    assert pane.question_model.rowCount() == 3
    assert pane.grab().save(str(SHOTS / "calendar-ama.png"))
    contest = next(e for e in service.events() if e.kind == "contest" and e.status == "active")
    pane.select_event(contest.id)
    assert pane.leaderboard_model.rowCount() >= 1
    assert pane.grab().save(str(SHOTS / "calendar-contest.png"))
    pane.views.setCurrentIndex(1)
    assert pane.grab().save(str(SHOTS / "calendar-agenda.png"))
    assert datetime.now(UTC) > c.now - timedelta(days=3650)


def test_ticking_a_question_marks_its_whole_group_answered(
    qloop: asyncio.AbstractEventLoop, desk: tuple[CalendarPane, CalendarService, Store, Community]
) -> None:
    pane, service, _store, _c = desk
    ama = next(e for e in service.events() if e.extra.get("question_sources"))
    pane.select_event(ama.id)
    index = pane.question_model.index(0, 0)
    lead = pane.question_model.group_at(0)
    assert lead is not None and len(lead.item_ids) == 2
    assert pane.question_model.setData(index, Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    qloop.run_until_complete(asyncio.wait_for(asyncio.gather(*pane._tasks), 10))
    saved = service.get(ama.id)
    assert saved is not None and sorted(saved.extra["answered"]) == sorted(lead.item_ids)
    groups = service.question_queue(ama.id)
    assert groups[-1].answered and groups[-1].item_ids == lead.item_ids  # answered ones sink to the bottom
