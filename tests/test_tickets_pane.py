"""The Tickets pane: views, SLA sort and colours, detail with distinct roles, bulk actions, plain text."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import Qt

from atlas_desk.config import Settings
from atlas_desk.core.bus import ChangeBus
from atlas_desk.core.tickets import TicketService
from atlas_desk.platforms.discord.relay import RelayMessage, RelayTicket
from atlas_desk.store.db import Store
from atlas_desk.ui.bridge import QtBus
from atlas_desk.ui.panes import PaneContext
from atlas_desk.ui.tickets.model import Column, Role
from atlas_desk.ui.tickets.pane import TicketsPane

NOW = datetime.now(UTC)


@dataclass
class Env:
    store: Store
    bus: ChangeBus
    service: TicketService


def _ticket(tid: str, subject: str, hours_ago: float, name: str = "Omar") -> RelayTicket:
    return RelayTicket(
        thread_id=tid,
        subject=subject,
        requester_id=f"9{tid}",
        requester_handle=name.lower(),
        requester_name=name,
        requester_created_at=NOW - timedelta(days=500),
        joined_at=NOW - timedelta(days=100),
        dm_channel_id="5",
        status="new",
        priority="normal",
        assignee="",
        opened_at=NOW - timedelta(hours=hours_ago),
    )


@pytest.fixture
def env(data_dir: Path, aloop: asyncio.AbstractEventLoop) -> Iterator[Env]:
    store = Store.open(data_dir / "p.sqlite3")
    bus = ChangeBus()
    service = TicketService(store, bus, me="maya.k", moderators=("maya.k", "lee"))

    async def seed() -> None:
        await service.ticket_seen(_ticket("11", "Fresh question", 1), new=True)
        await service.ticket_seen(_ticket("12", "Almost late", 23, "<b>Ivy</b>"), new=True)
        await service.ticket_seen(_ticket("13", "Way overdue", 30), new=True)
        t = _ticket("14", "Answered already", 5)
        t.assignee = "lee"
        await service.ticket_seen(t, new=True)
        for tid, role, body in (
            ("12", "member", "<img src=x> my sync is broken"),
            ("14", "member", "help"),
            ("14", "moderator", "Here you go"),
            ("14", "note", "internal: known bug"),
        ):
            await service.message_seen(
                RelayMessage(tid, f"m{tid}{role}", role, "lee" if role != "member" else "", "", body, NOW),
                live=False,
            )

    aloop.run_until_complete(seed())
    yield Env(store, bus, service)
    store.close()


def _pane(qtbot: Any, env: Env) -> TicketsPane:
    pane = TicketsPane()
    qtbot.addWidget(pane)
    pane.resize(1300, 700)
    runtime = SimpleNamespace(tickets=env.service, settings=Settings())
    with qtbot.waitSignal(pane.loaded, timeout=5000):
        pane.attach(PaneContext(bus=QtBus(env.bus), runtime=runtime, open_settings=lambda _p: None))
    return pane


def test_model_passes_qtmodeltester(qtmodeltester: Any, qtbot: Any, env: Env) -> None:
    pane = _pane(qtbot, env)
    qtmodeltester.check(pane.model)
    qtmodeltester.check(pane.proxy)


def test_queue_sorted_by_sla_with_colours_and_views(qtbot: Any, env: Env) -> None:
    pane = _pane(qtbot, env)
    subjects = [pane.proxy.index(r, Column.SUBJECT).data() for r in range(pane.proxy.rowCount())]
    assert subjects == ["Way overdue", "Almost late", "Fresh question", "Answered already"]
    sla = pane.proxy.index(0, Column.SLA)
    assert sla.data().endswith("over") and sla.data(Role.SLA_STATE) == "breached"
    assert pane.proxy.index(1, Column.SLA).data(Role.SLA_STATE) == "warning"
    assert pane.proxy.index(3, Column.SLA).data() == "Answered"
    assert pane.proxy.index(1, Column.REQUESTER).data() == "<b>Ivy</b>"
    assert pane.proxy.index(0, Column.REQUESTER).data(Qt.ItemDataRole.DecorationRole) is not None
    pane.select_view("unassigned")
    assert pane.proxy.rowCount() == 3
    pane.select_view("closed")
    assert pane.queue_empty.isVisible() or pane.proxy.rowCount() == 0
    # shortcut shown in tooltips
    assert pane.act_claim.toolTip() == "Claim (C)" and "Shift+C" in pane.act_close.toolTip()


def test_detail_shows_roles_distinctly_and_markup_as_text(qtbot: Any, env: Env) -> None:
    pane = _pane(qtbot, env)
    tid = next(r.id for r in env.service.rows("open") if r.subject == "Answered already")
    pane.open_ticket(tid)
    qtbot.waitUntil(lambda: pane.detail.ticket is not None and pane.detail.ticket.id == tid)
    html_text = pane.detail.conversation.toHtml()
    assert "Internal note — never sent" in html_text and "Reply — sent to the member" in html_text
    assert "#fef9c3" in html_text  # the note's own ground
    other = next(r.id for r in env.service.rows("open") if r.subject == "Almost late")
    pane.open_ticket(other)
    qtbot.waitUntil(lambda: pane.detail.ticket is not None and pane.detail.ticket.id == other)
    assert "<img src=x>" in pane.detail.conversation.toPlainText()
    assert pane.detail.card_labels["Member"].textFormat() == Qt.TextFormat.PlainText
    assert pane.detail.card_labels["Member"].text().startswith("<b>Ivy</b>")


def test_bulk_priority_on_a_selection(qtbot: Any, env: Env, aloop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(aloop)
    pane = _pane(qtbot, env)
    pane.table.selectAll()
    assert len(pane.selected_ids()) == 4
    urgent = next(a for a in pane.priority_menu.actions() if a.text() == "Urgent")
    urgent.trigger()
    aloop.run_until_complete(asyncio.wait_for(asyncio.gather(*pane._tasks), 10))
    qtbot.waitUntil(lambda: all(r.priority == "urgent" for r in env.service.rows("open")), timeout=5000)
    qtbot.waitUntil(lambda: pane.proxy.index(0, Column.PRIORITY).data() == "Urgent", timeout=5000)


def test_empty_state_without_tickets(qtbot: Any, data_dir: Path) -> None:
    store = Store.open(data_dir / "empty.sqlite3")
    try:
        env = Env(store, ChangeBus(), TicketService(store, ChangeBus(), me="maya.k"))
        pane = _pane(qtbot, env)
        assert pane.stack.currentWidget() is pane.empty
    finally:
        store.close()


def test_setup_action_explains_in_plain_words(qtbot: Any, env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from atlas_desk.platforms.discord.relay import SetupReport
    from atlas_desk.ui.tickets import pane as pane_module

    shown: list[str] = []
    monkeypatch.setattr(pane_module.QMessageBox, "exec", lambda self: shown.append(self.text()) or 0)
    pane = _pane(qtbot, env)
    problem = "The tickets forum #tickets is visible to @everyone, so tickets would be public."
    relay = SimpleNamespace(check_setup=lambda: SetupReport(problems=[problem]))
    assert pane.context is not None
    pane.context.runtime.relay = relay
    pane.act_setup.trigger()
    assert shown == [problem]
    assert "Discord setup" in pane.act_setup.text()


def test_a_new_ticket_appears_live(qtbot: Any, env: Env, aloop: asyncio.AbstractEventLoop) -> None:
    pane = _pane(qtbot, env)
    before = pane.proxy.rowCount()
    aloop.run_until_complete(env.service.ticket_seen(_ticket("15", "Brand new", 0.1, "Zed"), new=True))
    qtbot.waitUntil(lambda: pane.proxy.rowCount() == before + 1, timeout=5000)
    subjects = [pane.proxy.index(r, Column.SUBJECT).data() for r in range(pane.proxy.rowCount())]
    assert "Brand new" in subjects
    assert pane.views.item(1).text() == "Unassigned  4"
