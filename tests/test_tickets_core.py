"""Ticket service operations, undo, SLA clock and export, with a scripted executor (no platform)."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from atlas_desk.core.bus import ChangeBus, Notice, NotificationEvent
from atlas_desk.core.outbox import OutboxRunner
from atlas_desk.core.sla import SlaMonitor, SlaPolicy, SlaState, format_left
from atlas_desk.core.tickets import TicketService, fill_placeholders
from atlas_desk.core.types import ActionError, OutboxAction, Platform
from atlas_desk.platforms.discord.relay import RelayMessage, RelayTicket
from atlas_desk.store.db import Store
from atlas_desk.store.export import export
from tests.test_tickets_support import run, until

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class ScriptedExecutor:
    def __init__(self) -> None:
        self.actions: list[OutboxAction] = []
        self.fail: dict[str, ActionError] = {}

    async def execute(self, action: OutboxAction) -> dict[str, Any]:
        self.actions.append(action)
        if action.kind in self.fail:
            raise self.fail[action.kind]
        return {"message_id": f"m{action.id}"}


def relay_ticket(thread_id: str, opened: datetime, subject: str = "Sync broken") -> RelayTicket:
    return RelayTicket(
        thread_id=thread_id,
        subject=subject,
        requester_id="42",
        requester_handle="omar_dev",
        requester_name="Omar",
        requester_created_at=opened - timedelta(days=400),
        joined_at=None,
        dm_channel_id="77",
        status="new",
        priority="normal",
        assignee="",
        opened_at=opened,
    )


async def _setup(
    path: Path, clock: Clock
) -> tuple[Store, ChangeBus, TicketService, OutboxRunner, ScriptedExecutor]:
    store = Store.open(path / "t.sqlite3")
    bus = ChangeBus()
    ex = ScriptedExecutor()
    runner = OutboxRunner(store, bus, {Platform.DISCORD: ex}, clock=clock, base_delay=0.01, max_attempts=1)
    service = TicketService(store, bus, me="maya.k", moderators=("maya.k", "lee"), runner=runner, clock=clock)
    await runner.start()
    return store, bus, service, runner, ex


def test_sla_warning_and_breach_with_an_injected_clock(
    aloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    async def body() -> None:
        clock = Clock(T0)
        store, bus, service, runner, _ex = await _setup(tmp_path, clock)
        events: list[NotificationEvent] = []
        bus.subscribe(NotificationEvent, events.append)
        await service.ticket_seen(relay_ticket("1001", T0), new=True)
        await service.ticket_seen(relay_ticket("1002", T0 + timedelta(hours=5), "Other"), new=True)
        monitor = SlaMonitor(store, bus, SlaPolicy(24, 2), clock=clock)
        assert monitor.check() == pytest.approx(22 * 3600)
        clock.now = T0 + timedelta(hours=22, minutes=1)
        monitor.check()
        assert [e.kind for e in events if e.kind.startswith("sla")] == ["sla_warning"]
        clock.now = T0 + timedelta(hours=24, minutes=1)
        left = monitor.check()
        assert [e.kind for e in events if e.kind.startswith("sla")] == ["sla_warning", "sla_breach"]
        assert left == pytest.approx((timedelta(hours=27) - timedelta(hours=24, minutes=1)).total_seconds())
        monitor.check()  # announced once only
        assert len([e for e in events if e.kind.startswith("sla")]) == 2
        assert events[-1].target == {"pane": "tickets", "id": 1}
        policy = SlaPolicy(24, 2)
        assert policy.state(T0, None, T0 + timedelta(hours=23)) is SlaState.WARNING
        assert policy.state(T0, T0 + timedelta(hours=1), T0 + timedelta(hours=30)) is SlaState.MET
        assert format_left(-3700) == "1 h 01 m over"
        # the timer task wakes on its own at the due time (a real, short clock)
        fast = SlaMonitor(store, bus, SlaPolicy(0.0005, 0.0002), clock=lambda: datetime.now(UTC))
        await service.ticket_seen(relay_ticket("1003", datetime.now(UTC), "Fast"), new=True)
        await fast.start()
        try:
            await until(lambda: any(e.kind == "sla_breach" and "Fast" in e.title for e in events), 5)
        finally:
            await fast.stop()
        await runner.stop()
        store.close()

    run(aloop, body)


def test_operations_are_optimistic_with_undo_and_export_lists_first_reply(
    aloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    async def body() -> None:
        clock = Clock(T0 + timedelta(hours=3))
        store, bus, service, runner, ex = await _setup(tmp_path, clock)
        notices: list[Notice] = []
        bus.subscribe(Notice, notices.append)
        events: list[NotificationEvent] = []
        bus.subscribe(NotificationEvent, events.append)
        await service.ticket_seen(relay_ticket("2001", T0), new=True)
        tid = service.rows("open")[0].id
        await service.reply_canned(tid, "Greeting")
        row = service.get(tid)
        assert row is not None and row.first_reply_at == clock.now and row.status == "open"
        await until(lambda: ex.actions and not service.messages(tid)[0].pending)
        assert (
            ex.actions[0].payload["body"].startswith("Hi Omar, thanks")
            and "maya.k" in ex.actions[0].payload["body"]
        )

        ex.fail["ticket_priority"] = ActionError("Discord said no", retryable=False)
        await service.set_priority(tid, "urgent")
        assert service.get(tid).priority == "urgent"  # optimistic
        await until(lambda: service.get(tid).priority == "normal")  # undone
        await until(lambda: any("Discord said no" in n.text for n in notices))

        await service.snooze(tid, None, until_reply=True)
        assert service.rows("snoozed") and not service.rows("open")
        await service.message_seen(
            RelayMessage("2001", "900", "member", "Omar", "42", "any news?", clock.now), live=True
        )
        assert service.rows("open") and not service.rows("snoozed")

        await service.claim(tid)
        assert [r.id for r in service.rows("mine")] == [tid]
        await service.note(tid, "@lee can you check? @nobody")
        await until(lambda: any(a.kind == "ticket_note" for a in ex.actions))
        note = next(a for a in ex.actions if a.kind == "ticket_note")
        assert note.payload["mentions"] == ["lee"]
        await service.message_seen(
            RelayMessage("2001", "901", "note", "lee", "7", "@maya.k please look", clock.now), live=True
        )
        assert any(e.kind == "mention" and "lee mentioned you" in e.title for e in events)
        await service.bulk_close([tid], "answered")
        assert service.rows("closed")[0].close_reason == "answered"

        out = io.StringIO()
        export(store.reader(), "tickets", "csv", out)
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert rows[0]["first_reply_seconds"] == str(3 * 3600)
        assert (
            fill_placeholders("{member}/{moderator}/{ticket}/{x}", member="a", moderator="b", ticket="c")
            == "a/b/c/{x}"
        )
        await runner.stop()
        store.close()

    run(aloop, body)
