"""AMAs end to end: the desk's calendar, the outbox, real discord.py and the Discord sandbox."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from atlas_desk.core.calendar import EventDraft
from atlas_desk.core.types import OutboxState
from atlas_desk.store import calendar as repo
from atlas_desk.store import outbox as outbox_repo
from tests.test_calendar_support import desk, run, running_sandbox


def _stage_id(sandbox: object) -> str:
    channels = sandbox._channels  # type: ignore[attr-defined]
    return next(cid for cid, ch in channels.items() if ch["type"] == 13)


def test_creating_an_ama_creates_the_discord_event_with_times_and_monthly_recurrence(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox, desk(data_dir / "desk.db", sandbox) as d:
            stage = _stage_id(sandbox)
            start = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)  # the first Thursday of December
            event_id = await d.calendar.create(
                EventDraft(
                    kind="ama",
                    title="AMA with the sync team",
                    description="Ask us about sync.",
                    starts_at=start,
                    ends_at=start + timedelta(hours=1),
                    timezone="Europe/Berlin",
                    entity="stage",
                    channel_id=stage,
                    monthly=True,
                )
            )
            reader = d.store.reader()

            def mirrored() -> bool:
                row = repo.get_event(reader, event_id)
                # the gateway's CREATE comes without the rule; its UPDATE (after the rule's PATCH) brings it
                return (
                    row is not None and bool(row.platform_id) and row.recurrence == "FREQ=MONTHLY;BYDAY=1TH"
                )

            await d.waiter.until(mirrored)
            row = repo.get_event(reader, event_id)
            assert row is not None
            on_discord = sandbox.scheduled_events.events[row.platform_id]
            assert on_discord["name"] == "AMA with the sync team"
            assert datetime.fromisoformat(on_discord["scheduled_start_time"]) == start
            assert datetime.fromisoformat(on_discord["scheduled_end_time"]) == start + timedelta(hours=1)
            assert on_discord["entity_type"] == 1 and on_discord["channel_id"] == stage
            assert on_discord["creator_id"] == sandbox.bot_id
            rule = on_discord["recurrence_rule"]
            assert rule["frequency"] == 1 and rule["by_n_weekday"] == [{"n": 1, "day": 3}]
            # exactly one event on Discord and one row in the desk, although the gateway echoed it too
            mine = [
                e for e in sandbox.scheduled_events.events.values() if e["name"] == "AMA with the sync team"
            ]
            assert len(mine) == 1
            rows = [e for e in repo.list_events(reader, kinds=["ama"]) if e.title == "AMA with the sync team"]
            assert [r.id for r in rows] == [event_id]
            assert [a.state for a in outbox_repo.list_actions(reader)] == [OutboxState.DONE]

            # a sandbox member marks interest: the desk's count follows, live
            await d.waiter.until(lambda: (repo.get_event(reader, event_id) or row).interested == 0)
            first, second = (m.key for m in sandbox.community.members[:2])
            sandbox.member_interested(row.platform_id, first)
            sandbox.member_interested(row.platform_id, second)
            await d.waiter.until(lambda: (repo.get_event(reader, event_id) or row).interested == 2)
            sandbox.member_interested(row.platform_id, first, on=False)
            await d.waiter.until(lambda: (repo.get_event(reader, event_id) or row).interested == 1)

            # the seeded events arrived with their counts
            seeded = {e.platform_id: e for e in repo.list_events(reader, kinds=["ama"]) if e.id != event_id}
            for eid, users in sandbox.scheduled_events.users.items():
                if eid in seeded and sandbox.scheduled_events.events[eid]["status"] in (1, 2):
                    assert seeded[eid].interested == len(users)

            # reschedule (a drag to another day) and cancel go to Discord through the outbox
            await d.calendar.reschedule(event_id, start + timedelta(days=7))
            await d.waiter.until(
                lambda: (
                    sandbox.scheduled_events.events[row.platform_id]["scheduled_start_time"]
                    == (start + timedelta(days=7)).isoformat()
                )
            )
            assert sandbox.scheduled_events.events[row.platform_id]["recurrence_rule"]["by_n_weekday"] == [
                {"n": 2, "day": 3}
            ]
            await d.calendar.cancel(event_id)
            await d.waiter.until(lambda: sandbox.scheduled_events.events[row.platform_id]["status"] == 4)
            await d.waiter.until(lambda: (repo.get_event(reader, event_id) or row).status == "canceled")

    run(aloop, body)
