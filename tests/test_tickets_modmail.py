"""Reddit modmail conversations as tickets: real praw against the sandbox, on the ticket service's clock."""

from __future__ import annotations

import asyncio
from pathlib import Path

from atlas_desk.core.bus import ChangeBus, NotificationEvent
from atlas_desk.core.outbox import OutboxRunner
from atlas_desk.core.tickets import TicketService
from atlas_desk.core.types import Platform
from atlas_desk.platforms.reddit.connector import RedditConnector
from atlas_desk.platforms.reddit.modmail import MODMAIL_KINDS, ModmailTickets
from atlas_desk.sandbox.reddit.modmail import STATE_ARCHIVED, STATE_IN_PROGRESS
from atlas_desk.sandbox.reddit.server import RedditSandbox
from atlas_desk.store.db import Store
from tests.test_reddit_connector import FakeSink, creds, settings, small_community
from tests.test_tickets_support import until


def test_modmail_list_reply_note_archive_highlight(aloop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    async def body() -> None:
        sb = RedditSandbox(small_community())
        await sb.start()
        store = Store.open(tmp_path / "m.sqlite3")
        bus = ChangeBus()
        events: list[NotificationEvent] = []
        bus.subscribe(NotificationEvent, events.append)
        service = TicketService(store, bus, me="maya.k")
        connector = RedditConnector(settings(sb), creds(sb), FakeSink())
        modmail = ModmailTickets(connector, service, poll_seconds=60)
        for kind in MODMAIL_KINDS:
            connector.action_handlers[kind] = modmail.execute
        runner = OutboxRunner(store, bus, {Platform.REDDIT: connector}, base_delay=0.01)
        service.attach_runner(runner)
        await runner.start()
        try:
            await modmail.poll()  # the first read is a backfill
            cid = sb.modmail.member_modmail(
                "curious_kim", "Banned by mistake?", "I think my post was removed wrongly."
            )
            assert await modmail.poll() == 1
            row = service.rows("open")[0]
            assert (
                row.platform == "reddit"
                and row.subject == "Banned by mistake?"
                and row.requester == "curious_kim"
            )
            assert any(e.kind == "new_ticket" for e in events)
            assert [m.role for m in service.messages(row.id)] == ["member"]

            await service.note(row.id, "checked the modlog: automod")
            await service.reply(row.id, "Sorry about that, it's restored now.")
            await until(
                lambda: (
                    all(not m.pending for m in service.messages(row.id))
                    and len(service.messages(row.id)) == 3
                )
            )
            conv = sb.modmail.conversations[cid]
            assert conv.state == STATE_IN_PROGRESS
            assert sb.modmail.visible_to_member(cid) == [
                "I think my post was removed wrongly.",
                "Sorry about that, it's restored now.",
            ]
            assert service.get(row.id).first_reply_at is not None

            await service.set_priority(row.id, "urgent")
            await until(lambda: conv.highlighted)
            await service.close(row.id, "restored")
            await until(lambda: conv.state == STATE_ARCHIVED)
            await modmail.poll()
            assert service.get(row.id).status == "closed"
            assert [m.role for m in service.messages(row.id)] == ["member", "note", "moderator"]

            sb.modmail.member_reply(cid, "Thanks!")
            await modmail.poll()
            assert service.get(row.id).status == "open"
            assert any(e.kind == "ticket_reply" for e in events)
        finally:
            await runner.stop()
            await connector.stop()
            store.close()
            await sb.stop()

    aloop.run_until_complete(asyncio.wait_for(body(), 60))
