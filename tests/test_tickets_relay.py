"""The ticket relay end to end: real discord.py against the sandbox, a real store, outbox and service."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from tests.test_tickets_support import SUPPORT, TICKETS, run, running_desk, running_sandbox, until


def test_dm_to_ticket_reply_once_and_close(aloop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sandbox._channels[TICKETS]["available_tags"] = [
                {"id": "1", "name": "Bug", "moderated": False, "emoji_id": None, "emoji_name": None}
            ]
            async with running_desk(sandbox, tmp_path / "a") as desk:
                tags = sandbox._channels[TICKETS]["available_tags"]
                assert tags[0] == {
                    "id": "1",
                    "name": "Bug",
                    "moderated": False,
                    "emoji_id": None,
                    "emoji_name": None,
                }
                assert {"New", "Closed", "Urgent"} <= {t["name"] for t in tags}
                sandbox.member_dm(
                    "omar",
                    "My sync stopped working\nSince yesterday nothing syncs.",
                    attachments=["https://cdn.example/log.txt"],
                )
                rows = await until(lambda: desk.service.rows("open"))
                ticket = rows[0]
                assert ticket.subject == "My sync stopped working"
                assert ticket.requester == "Omar" and ticket.status == "new"
                threads = sandbox.forum_threads(TICKETS)
                assert len(threads) == 1 and threads[0]["name"] == "My sync stopped working · Omar"
                tag_names = {t["id"]: t["name"] for t in sandbox._channels[TICKETS]["available_tags"]}
                assert {tag_names[t] for t in threads[0]["applied_tags"]} == {"New", "Normal priority"}
                msgs = await until(
                    lambda: [m for m in desk.service.messages(ticket.id) if m.role == "member"]
                )
                assert msgs[0].attachments == ["https://cdn.example/log.txt"]
                assert any(e.kind == "new_ticket" for e in desk.events)

                await desk.service.note(ticket.id, "@lee this looks like the known sync bug")
                await desk.service.reply(ticket.id, "Thanks Omar, we're on it.")
                await until(lambda: any("we're on it" in m["content"] for m in sandbox.dm_messages("omar")))
                await until(lambda: all(not m.pending for m in desk.service.messages(ticket.id)))
                dm = [m["content"] for m in sandbox.dm_messages("omar")]
                assert dm.count("Thanks Omar, we're on it.") == 1
                assert not any("known sync bug" in c for c in dm)
                conv = desk.service.messages(ticket.id)
                assert [m.role for m in conv].count("moderator") == 1
                assert [m.role for m in conv].count("note") == 1
                assert desk.service.get(ticket.id).first_reply_at is not None

                await desk.service.close(ticket.id, "fixed in 4.2")
                await until(lambda: sandbox._threads[ticket.platform_id]["thread_metadata"]["locked"])
                meta = sandbox._threads[ticket.platform_id]["thread_metadata"]
                assert meta["archived"] and meta["locked"]
                assert any(
                    "was closed" in m["content"] and "fixed in 4.2" in m["content"]
                    for m in sandbox.dm_messages("omar")
                )
                await until(lambda: desk.service.get(ticket.id).status == "closed")
                # writing again after the close opens a new ticket; the locked thread stays closed
                sandbox.member_dm("omar", "Sync broke again")
                await until(lambda: len(sandbox.forum_threads(TICKETS)) == 2)
                assert desk.service.get(ticket.id).status == "closed"

                # nothing of the ticket anywhere public; no note in any DM
                for cid, where, messages in sandbox.channel_audit():
                    for m in messages:
                        text = m["content"] + str(m.get("embeds"))
                        if where == "public":
                            assert "sync" not in text.lower() and "Omar" not in text, (cid, text)
                        if where.startswith("dm:"):
                            assert "known sync bug" not in text and "Internal note" not in text

    run(aloop, body)


def test_slash_command_and_button_open_tickets_blocked_member_cannot(
    aloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox, running_desk(sandbox, tmp_path / "a") as desk:
            assert "ticket" in sandbox.commands()
            answer = await sandbox.member_slash_ticket("ivy", "Billing question", "I was charged twice.")
            assert answer["type"] == 4 and answer["data"]["flags"] & 64  # ephemeral confirmation
            await desk.relay.post_panel()
            await until(lambda: sandbox.panel_message())
            answer = await sandbox.member_press_button("omar", "Export fails", "PDF export crashes.")
            assert answer["type"] == 4
            rows = await until(lambda: len(desk.service.rows("open")) == 2 and desk.service.rows("open"))
            by_subject = {r.subject: r for r in rows}
            assert by_subject["Billing question"].requester == "Ivy <b>bold</b>"
            assert by_subject["Billing question"].extra["source"] == "command"
            assert by_subject["Export fails"].extra["source"] == "button"
            await until(lambda: any("Export fails" in m["content"] for m in sandbox.dm_messages("omar")))

            blocked = await sandbox.member_slash_ticket("troll", "hi", "let me in")
            assert blocked["type"] == 4 and "can't be opened" in blocked["data"]["content"]
            sandbox.member_dm("troll", "open a ticket!!")
            await until(lambda: len(sandbox.dm_messages("troll")) == 2)
            assert "can't be opened" in sandbox.dm_messages("troll")[1]["content"]
            assert len(sandbox.forum_threads(TICKETS)) == 2

    run(aloop, body)


def test_public_forum_is_refused_in_plain_words(aloop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sandbox.make_public(TICKETS)
            async with running_desk(sandbox, tmp_path / "a") as desk:
                assert not desk.relay.relaying
                assert any("visible to @everyone" in p for p in desk.relay.setup.problems)
                assert any("deny View Channel" in n.text for n in desk.notices)
                sandbox.member_dm("omar", "hello?")
                await until(lambda: sandbox.dm_messages("omar"))
                await asyncio.sleep(0)  # nothing to wait for: the relay must stay silent
                assert sandbox.forum_threads(TICKETS) == []

    run(aloop, body)


def test_bot_alone_then_desk_later_shows_tickets_with_sla(
    aloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            async with running_desk(sandbox, tmp_path / "bot") as bot:
                sandbox.member_dm("omar", "Lost my notes")
                await until(lambda: bot.service.rows("open"))
                sandbox.member_dm("omar", "They vanished after the update")
                await until(
                    lambda: len(sandbox.thread_messages(sandbox.forum_threads(TICKETS)[0]["id"])) == 3
                )
            async with running_desk(sandbox, tmp_path / "desk", relay=False) as desk:
                rows = await until(lambda: desk.service.rows("open"))
                assert rows[0].subject == "Lost my notes"
                thread = sandbox.forum_threads(TICKETS)[0]
                assert abs((rows[0].opened_at - _created(thread)).total_seconds()) < 1
                msgs = [m.body for m in desk.service.messages(rows[0].id) if m.role == "member"]
                assert msgs == ["Lost my notes", "They vanished after the update"]
                assert rows[0].first_reply_at is None

    run(aloop, body)


def _created(thread: dict) -> datetime:  # type: ignore[type-arg]
    return datetime.fromisoformat(thread["thread_metadata"]["create_timestamp"])


def test_two_desks_claiming_at_once_one_wins(aloop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    async def body() -> None:
        async with (
            running_sandbox() as sandbox,
            running_desk(sandbox, tmp_path / "a") as a,
            running_desk(sandbox, tmp_path / "b", me="lee", relay=False) as b,
        ):
            sandbox.member_dm("omar", "Please help")
            ta = (await until(lambda: a.service.rows("open")))[0]
            tb = (await until(lambda: b.service.rows("open")))[0]
            await asyncio.gather(a.service.claim(ta.id), b.service.claim(tb.id))
            await until(lambda: a.service.get(ta.id).assignee == b.service.get(tb.id).assignee != "")
            winner = a.service.get(ta.id).assignee
            loser = b if winner == "maya.k" else a
            # told who has it, whether the claims crossed (arbitrated) or one came after the other
            told = await until(
                lambda: [
                    n.text
                    for n in loser.notices
                    if "claimed this ticket first" in n.text or "already has" in n.text
                ]
            )
            assert winner in told[0]
            # both desks agree with the card on Discord
            card = sandbox.thread_messages(ta.platform_id)[0]["embeds"][0]
            assert any(f["name"] == "Assignee" and f["value"] == winner for f in card["fields"])
            await until(
                lambda: b.service.get(tb.id).assignee == winner and a.service.get(ta.id).assignee == winner
            )

            # a status change on one desk reaches the other within a second
            await a.service.set_priority(ta.id, "urgent")
            await until(lambda: b.service.get(tb.id).priority == "urgent", timeout=1.0)

    run(aloop, body)


def test_convert_an_inbox_message_to_a_ticket(aloop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    from atlas_desk.core.types import Account, InboxItem, ItemKind, Platform
    from atlas_desk.store.inbox import upsert_items

    async def body() -> None:
        async with running_sandbox() as sandbox, running_desk(sandbox, tmp_path / "a") as desk:
            omar = sandbox._user_by_key["omar"]
            item = InboxItem(
                platform=Platform.DISCORD,
                platform_id="555",
                kind=ItemKind.MESSAGE,
                container="#general",
                author=Account(Platform.DISCORD, omar, "omar_dev", "Omar"),
                body="I was charged twice for Pro, can someone help?",
                created_at=datetime.now(UTC),
            )
            added, _ = await desk.store.write(lambda conn: upsert_items(conn, [item]))
            tid = await desk.service.open_from_inbox(added[0])
            assert desk.service.get(tid).status == "new"  # optimistic, before Discord answered
            await until(lambda: len(sandbox.forum_threads(TICKETS)) == 1)
            await until(
                lambda: (
                    len(desk.service.rows("open")) == 1
                    and not desk.service.rows("open")[0].platform_id.startswith("pending")
                    and desk.service.messages(desk.service.rows("open")[0].id)
                )
            )
            row = desk.service.rows("open")[0]
            assert row.subject == "I was charged twice for Pro, can someone help?" and row.requester == "Omar"
            assert [m.body for m in desk.service.messages(row.id)] == [item.body]
            await until(lambda: any("charged twice" in m["content"] for m in sandbox.dm_messages("omar")))

    run(aloop, body)


def test_setup_check_offers_to_create_what_is_missing(
    aloop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    from atlas_desk.platforms.discord.relay import TicketRelay
    from tests.test_discord_support import settings_for

    class Sink:
        async def ticket_seen(self, ticket: object, *, new: bool) -> None: ...
        async def message_seen(self, message: object, *, live: bool) -> None: ...
        def is_blocked(self, platform_user_id: str) -> bool:
            return False

        def set_relay_state(self, state: object, reason: str) -> None: ...

    async def body() -> None:
        async with running_sandbox() as sandbox:
            relay = TicketRelay(
                settings_for(sandbox, support_channel_id=""), sandbox.token, Sink(), guild_ready_timeout=0.05
            )
            await relay.start()
            try:
                await relay.wait_ready(10)
                assert relay.setup.ok and "support channel" in relay.setup.missing
                done = await relay.create_missing()
                assert any("created #support" in d for d in done)
                support = next(
                    c for c in sandbox._channels.values() if c["name"] == "support" and c["id"] != SUPPORT
                )
                assert sandbox.panel_message() is None  # the configured support channel was not used
                assert any(m.get("components") for m in sandbox.messages(support["id"]))
                assert "support channel" not in relay.check_setup().missing
            finally:
                await relay.stop()

    run(aloop, body)


def test_crossing_claims_are_arbitrated_on_discord(aloop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    from atlas_desk.core.types import ActionError, OutboxAction, OutboxState, Platform

    def claim(thread_id: str, mod: str, key: str) -> OutboxAction:
        now = datetime.now(UTC)
        return OutboxAction(
            1,
            key,
            Platform.DISCORD,
            "ticket_claim",
            thread_id,
            {"moderator": mod},
            OutboxState.SENDING,
            0,
            now,
            now,
        )

    async def body() -> None:
        async with (
            running_sandbox() as sandbox,
            running_desk(sandbox, tmp_path / "a") as a,
            running_desk(sandbox, tmp_path / "b", me="lee", relay=False) as b,
        ):
            sandbox.member_dm("omar", "Please help")
            tid = (await until(lambda: a.service.rows("open")))[0].platform_id
            await until(lambda: b.service.rows("open"))
            results = await asyncio.gather(
                a.relay.execute(claim(tid, "maya.k", "k-a")),
                b.relay.execute(claim(tid, "lee", "k-b")),
                return_exceptions=True,
            )
            won = [r for r in results if isinstance(r, dict)]
            lost = [r for r in results if isinstance(r, ActionError)]
            assert len(won) == 1 and len(lost) == 1, results
            winner = won[0]["assignee"]
            assert winner in lost[0].message
            card = sandbox.thread_messages(tid)[0]["embeds"][0]
            assert [f["value"] for f in card["fields"] if f["name"] == "Assignee"] == [winner]

    run(aloop, body)


def test_a_retried_reply_reaches_the_member_once(aloop: asyncio.AbstractEventLoop, tmp_path: Path) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox, running_desk(sandbox, tmp_path / "a") as desk:
            sandbox.member_dm("omar", "Hello?")
            ticket = (await until(lambda: desk.service.rows("open")))[0]
            await until(lambda: len(sandbox.dm_messages("omar")) == 2)  # the member's DM and the bot's ack
            # the DM goes out, then mirroring it in the thread fails: the whole action is retried
            sandbox.fail_next(f"/channels/{ticket.platform_id}/messages", 503, method="POST")
            await desk.service.reply(ticket.id, "We are looking into it.")
            await until(lambda: all(not m.pending for m in desk.service.messages(ticket.id)))
            dm = [m["content"] for m in sandbox.dm_messages("omar")]
            assert dm.count("We are looking into it.") == 1
            mirrored = [
                m for m in sandbox.thread_messages(ticket.platform_id) if "We are looking" in m["content"]
            ]
            assert len(mirrored) == 1
            assert [m.role for m in desk.service.messages(ticket.id)].count("moderator") == 1
            dm_channel = sandbox.dm_messages("omar")[0]["channel_id"]
            posts = [p for m, p in sandbox.requests if m == "POST"]
            assert posts.count(f"/channels/{ticket.platform_id}/messages") >= 2  # the failure really happened
            assert posts.count(f"/channels/{dm_channel}/messages") >= 3  # ack + reply twice, kept once

    run(aloop, body)
