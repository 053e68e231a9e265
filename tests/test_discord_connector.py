"""The Discord connector: real discord.py against the sandbox, delivering to a small in-memory sink.

Waits are on conditions with generous timeouts, never sleeps.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta

import pytest

from atlas_desk.core.types import ActionError, ConnectionState, ItemKind, OutboxAction, OutboxState, Platform
from atlas_desk.platforms.discord.connector import DiscordConnector, nonce_for
from tests.test_discord_support import (
    GENERAL,
    HISTORY_IN_INBOX,
    HOSTILE_NAME,
    IDEAS,
    MOD_CHAT,
    NOW,
    OLD_THREAD,
    THREAD,
    TICKET_THREAD,
    WAIT,
    FakeSink,
    live_connector,
    make_connector,
    reply_action,
    run,
    running_sandbox,
    settings_for,
    snowflake,
)


def test_backfill_fetches_history_after_the_cursor_exactly_once(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            await make_connector(sandbox, sink).backfill()
            assert len(sink.items) == HISTORY_IN_INBOX
            assert set(sink.counts.values()) == {1}
            assert "private ticket text" not in {i.body for i in sink.items.values()}
            assert sink.cursors[f"channel:{GENERAL}"] == sandbox.messages(GENERAL)[-1]["id"]
            assert sink.cursors[f"channel:{THREAD}"] == sandbox.messages(THREAD)[-1]["id"]
            thread_item = sink.items[sandbox.messages(THREAD)[0]["id"]]
            assert thread_item.container == "#general › sync help"
            assert thread_item.parent_id == THREAD
            voted = sink.items[sandbox.messages(GENERAL)[2]["id"]]
            assert voted.score == 2 and voted.kind is ItemKind.MESSAGE
            assert (
                voted.url == f"https://discord.com/channels/{sandbox.guild_id}/{GENERAL}/{voted.platform_id}"
            )
            assert voted.created_at.tzinfo is not None and voted.created_at.utcoffset() == timedelta(0)
            assert sink.state is ConnectionState.OFFLINE

            assert sink.items[sandbox.messages(OLD_THREAD)[1]["id"]].container == "#ideas › old idea"

            batches = len(sink.batches)
            sandbox.requests.clear()
            await make_connector(sandbox, sink).backfill()  # nothing new: nothing ingested
            assert len(sink.batches) == batches
            # an archived thread whose cursor is at its last message is not even read again
            assert ("GET", f"/channels/{OLD_THREAD}/messages") not in sandbox.requests
            assert ("GET", f"/channels/{GENERAL}/messages") in sandbox.requests

            new = [sandbox.post_message(IDEAS, "omar", f"while away {i}")["id"] for i in range(3)]
            await make_connector(sandbox, sink).backfill()
            assert len(sink.items) == HISTORY_IN_INBOX + 3
            assert all(sink.counts[i] == 1 for i in new)
            assert set(sink.counts.values()) == {1}

    run(aloop, body)


def test_live_message_reaches_the_sink_within_a_second(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            async with live_connector(sandbox, sink) as connector:
                assert connector.state is ConnectionState.LIVE
                posted = sandbox.post_message(GENERAL, "maya", "Welcome to the new members!")
                await sink.until(lambda: posted["id"] in sink.items, timeout=1.0)
                item = sink.items[posted["id"]]
                assert item.body == "Welcome to the new members!"
                assert item.container == "#general" and item.author.handle == "maya.k"
                assert item.author.display_name == "Maya K"
                await sink.until(lambda: sink.cursors.get(f"channel:{GENERAL}") == posted["id"])
            assert [s for s, _ in sink.states][:2] == [ConnectionState.CONNECTING, ConnectionState.LIVE]
            assert sink.state is ConnectionState.OFFLINE

    run(aloop, body)


def test_downtime_then_restart_brings_every_message_exactly_once(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            async with live_connector(sandbox, sink):
                pass
            before = len(sink.items)
            where = [GENERAL, IDEAS, THREAD, MOD_CHAT]
            posted = [sandbox.post_message(where[i % 4], "omar", f"offline {i}")["id"] for i in range(500)]
            async with live_connector(sandbox, sink):
                await sink.until(lambda: all(p in sink.items for p in posted))
            assert len(sink.items) == before + 500
            assert all(sink.counts[p] == 1 for p in posted)
            assert set(sink.counts.values()) == {1}

    run(aloop, body)


def test_gateway_drop_mid_burst_resumes_without_loss_or_duplicates(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            async with live_connector(sandbox, sink):
                # the socket is cut after 150 frames of the burst: the rest are queued or not even posted yet
                posted = await sandbox.burst(800, channel_ids=[GENERAL, IDEAS, THREAD], drop_after=150)
                await sink.until(lambda: all(p in sink.items for p in posted))
                (drop,) = sandbox.drops
                assert drop.written == 150 and drop.unsent > 0 and drop.unsent_message_ids
                assert drop.burst_posted < drop.burst_total == 800
                assert ConnectionState.RECONNECTING in [s for s, _ in sink.states]
                await sink.until(lambda: sink.state is ConnectionState.LIVE)
                assert sandbox.identify_count == 1  # resumed, not a fresh session
                (resume,) = sandbox.resumes
                assert resume.session_id == drop.session_id
                assert resume.client_seq <= drop.last_written_seq  # nothing reached the client after the cut
                # what was still queued at the cut came through the replay
                assert set(drop.unsent_message_ids) <= set(resume.replayed_message_ids) <= set(posted)
            assert all(sink.counts[p] == 1 for p in posted)
            assert set(sink.counts.values()) == {1}

    run(aloop, body)


def test_op7_reconnect_resumes(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            async with live_connector(sandbox, sink):
                first = sandbox.post_message(GENERAL, "omar", "before reconnect")["id"]
                sandbox.send_reconnect()
                second = sandbox.post_message(GENERAL, "omar", "after reconnect")["id"]
                await sink.until(lambda: sandbox.resume_count == 1 and second in sink.items)
                third = sandbox.post_message(GENERAL, "omar", "on the new socket")["id"]
                await sink.until(lambda: third in sink.items)
                assert sink.counts[first] == sink.counts[second] == sink.counts[third] == 1
                assert sandbox.identify_count == 1

    run(aloop, body)


def test_reply_reaches_the_channel_once_despite_429_and_a_replay(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            target = sandbox.messages(IDEAS)[-1]["id"]
            async with live_connector(sandbox, sink) as connector:
                sandbox.fail_next("/channels/*/messages", 429, retry_after=0.05, method="POST")
                action = reply_action("reply-42", IDEAS, "Thanks, we are on it!", reply_to=target)
                result = await connector.execute(action)
                posts = [r for r in sandbox.requests if r == ("POST", f"/channels/{IDEAS}/messages")]
                assert len(posts) == 2  # the 429, then discord.py's retry
                sent = sandbox.sent_messages(IDEAS)
                assert [m["content"] for m in sent] == ["Thanks, we are on it!"]
                assert sent[0]["nonce"] == nonce_for("reply-42") and len(sent[0]["nonce"]) <= 25
                assert sent[0]["message_reference"]["message_id"] == target
                assert result["message_id"] == sent[0]["id"]
                assert result["url"].endswith(f"/{IDEAS}/{sent[0]['id']}")
                again = await connector.execute(action)  # e.g. replayed after a crash
                assert again["message_id"] == result["message_id"]
                assert len(sandbox.sent_messages(IDEAS)) == 1
                await sink.until(lambda: result["message_id"] in sink.items)
                assert sink.items[result["message_id"]].extra.get("from_desk") is True

    run(aloop, body)


def test_reply_errors_are_sorted_into_retryable_and_final(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            idle = make_connector(sandbox, sink)
            with pytest.raises(ActionError) as not_connected:
                await idle.execute(reply_action("k0", IDEAS, "hi"))
            assert not_connected.value.retryable
            async with live_connector(sandbox, sink) as connector:
                sandbox.fail_next("/channels/*/messages", 403, method="POST")
                with pytest.raises(ActionError) as forbidden:
                    await connector.execute(reply_action("k1", IDEAS, "hi"))
                assert not forbidden.value.retryable and "not allowed" in forbidden.value.message
                with pytest.raises(ActionError) as missing:
                    await connector.execute(reply_action("k2", "123", "hi"))
                assert not missing.value.retryable
                with pytest.raises(ActionError) as empty:
                    await connector.execute(reply_action("k3", IDEAS, "   "))
                assert not empty.value.retryable
                assert sandbox.sent_messages(IDEAS) == []

    run(aloop, body)


def test_bad_token_goes_offline_with_a_plain_reason(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            bad = "MTIz.bad-token-value.abcdefghijklmnopqrstuvwxyz"
            connector = make_connector(sandbox, sink, token=bad)
            await connector.start()
            try:
                await sink.until(lambda: sink.state is ConnectionState.OFFLINE)
                reason = sink.states[-1][1]
                assert "token was rejected" in reason and bad not in reason
                with pytest.raises(ConnectionError):
                    await connector.wait_caught_up(WAIT)
            finally:
                await connector.stop()
            assert all(bad not in r for _, r in sink.states)

    run(aloop, body)


def test_token_revoked_while_connected_closes_4004(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            old = sandbox.token
            async with live_connector(sandbox, sink) as connector:
                new = sandbox.rotate_token()
                sandbox.drop_gateway()  # the RESUME now carries a token the gateway rejects
                await sink.until(lambda: sink.state is ConnectionState.OFFLINE)
                reason = connector.reason
                assert "(4004)" in reason and old not in reason and new not in reason

    run(aloop, body)


def test_hostile_content_is_ingested_as_inert_text(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            async with live_connector(sandbox, sink) as connector:
                huge = (
                    "<script>alert('x')</script>\u202e" + "A" * 100_000 + "\u200b<a href='javascript:x'>y</a>"
                )
                big = sandbox.post_message(GENERAL, "eve", huge)["id"]
                files = sandbox.post_message(
                    IDEAS, "eve", "see logs", attachments=["https://cdn.example/log.txt"]
                )["id"]
                await sink.until(lambda: big in sink.items and files in sink.items)
                assert sink.items[big].body == huge
                assert sink.items[big].author.display_name == HOSTILE_NAME
                assert sink.items[files].body == "see logs\nhttps://cdn.example/log.txt"
                assert connector.state is ConnectionState.LIVE

    run(aloop, body)


def test_malformed_dispatches_are_logged_and_the_connection_stays_live(
    aloop: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            async with live_connector(sandbox, sink) as connector:
                states = len(sink.states)
                sandbox.dispatch_raw("SOMETHING_DISCORD_ADDS_LATER", {"whatever": [1, 2, 3]})
                sandbox.dispatch_raw(
                    "MESSAGE_CREATE", {"id": "1", "channel_id": GENERAL}
                )  # no author, no content
                sandbox.dispatch_raw(
                    "MESSAGE_CREATE", {"id": "not a number", "channel_id": None, "author": 5}
                )
                sandbox.dispatch_raw("MESSAGE_REACTION_ADD", {"emoji": None})
                sandbox.dispatch_raw("THREAD_CREATE", [])
                odd_id = snowflake(NOW + timedelta(days=1000))  # an id no real message will have
                odd = {
                    **sandbox.messages(GENERAL)[0],
                    "id": odd_id,
                    "type": 999,
                    "guild_id": sandbox.guild_id,
                }
                sandbox.dispatch_raw("MESSAGE_CREATE", odd)
                after = sandbox.post_message(GENERAL, "omar", "still here")["id"]
                await sink.until(lambda: after in sink.items)
                assert connector.state is ConnectionState.LIVE
                assert len(sink.states) == states  # no reconnect happened
                assert sandbox.identify_count == 1 and sandbox.resume_count == 0
                assert sink.counts[after] == 1 and "1" not in sink.items
                assert odd_id not in sink.items  # an unknown message type is not conversation

    with caplog.at_level(logging.WARNING, logger="atlas_desk.discord"):
        run(aloop, body)
    assert any("malformed MESSAGE_CREATE" in r.getMessage() for r in caplog.records)


def test_edits_reactions_and_deletes_update_the_item(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            async with live_connector(sandbox, sink):
                mid = sandbox.post_message(IDEAS, "omar", "Dark mode please")["id"]
                await sink.until(lambda: mid in sink.items)
                revived = sandbox.post_message(OLD_THREAD, "maya", "reviving an archived idea")["id"]
                await sink.until(lambda: revived in sink.items)
                assert sink.items[revived].container == "#ideas › old idea"  # THREAD_UPDATE came first
                sandbox.edit_message(IDEAS, mid, "Dark mode please (and high contrast)")
                await sink.until(lambda: sink.items[mid].edited_at is not None)
                assert sink.items[mid].body == "Dark mode please (and high contrast)"
                sandbox.add_reaction(IDEAS, mid, "maya")
                sandbox.add_reaction(IDEAS, mid, "eve")
                sandbox.add_reaction(IDEAS, mid, "eve", "🎉")  # only 👍 counts as a vote
                await sink.until(lambda: sink.items[mid].score == 2)
                sandbox.remove_reaction(IDEAS, mid, "eve")
                await sink.until(lambda: sink.items[mid].score == 1)
                sandbox.delete_message(IDEAS, mid)
                await sink.until(lambda: sink.items[mid].deleted)
                assert sink.items[mid].body == "Dark mode please (and high contrast)"

    run(aloop, body)


def test_watch_list_and_tickets_forum_filter_live_messages(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            async with live_connector(sandbox, sink, watch_channels=(GENERAL,)):
                assert {i.container_id for i in sink.items.values()} == {GENERAL, THREAD}
                ignored = [
                    sandbox.post_message(IDEAS, "omar", "not watched")["id"],
                    sandbox.post_message(TICKET_THREAD, "omar", "ticket reply")["id"],
                ]
                revived = sandbox.post_message(OLD_THREAD, "maya", "reviving an archived idea")["id"]
                thread = sandbox.create_thread(GENERAL, "new thread", "maya", content="first post")
                watched = sandbox.post_message(GENERAL, "omar", "watched")["id"]
                await sink.until(
                    lambda: (
                        watched in sink.items
                        and len(sandbox.messages(thread["id"])) == 1
                        and sandbox.messages(thread["id"])[0]["id"] in sink.items
                    )
                )
                assert not any(i in sink.items for i in ignored)
                assert revived not in sink.items  # #ideas is not watched, even when its thread reopens
                first = sink.items[sandbox.messages(thread["id"])[0]["id"]]
                assert first.container == "#general › new thread"

    run(aloop, body)


def test_simulated_activity_is_dispatched_live(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            async with live_connector(sandbox, sink):
                rng = random.Random(3)
                posted = [(await sandbox.simulate_activity(rng))["id"] for _ in range(20)]
                await sink.until(lambda: all(p in sink.items for p in posted))
                assert all(sink.items[p].body for p in posted)

    run(aloop, body)


def test_lost_session_is_caught_up_by_backfill(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            async with live_connector(sandbox, sink):
                sandbox.invalidate_sessions()
                # posted while no session exists: never dispatched, only history has them
                gap = [
                    sandbox.post_message((GENERAL, IDEAS, THREAD)[i % 3], "omar", f"gap {i}")["id"]
                    for i in range(60)
                ]
                await sink.until(lambda: all(g in sink.items for g in gap))
                assert sandbox.identify_count == 2  # RESUME refused (op 9), then a fresh IDENTIFY
                after = sandbox.post_message(GENERAL, "maya", "after the new session")["id"]
                await sink.until(lambda: after in sink.items)
            assert set(sink.counts.values()) == {1}

    run(aloop, body)


def test_unreachable_discord_is_retried_with_backoff(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            connector = DiscordConnector(
                settings_for(sandbox, api="http://127.0.0.1:1/api/v10", gateway="ws://127.0.0.1:1/gateway"),
                sandbox.token,
                sink,
            )
            await connector.start()
            try:
                await sink.until(lambda: sink.state is ConnectionState.RECONNECTING)
                reason = sink.states[-1][1]
                assert "could not reach Discord" in reason and "trying again in 1 s" in reason
                # the next failure waits twice as long: backoff, never a busy loop
                await sink.until(lambda: "trying again in 2 s" in sink.states[-1][1])
            finally:
                await connector.stop()  # wakes the backoff wait instead of sleeping it out
            assert sink.state is ConnectionState.OFFLINE and sink.states[-1][1] == "stopped"
            assert [s for s, _ in sink.states].count(ConnectionState.CONNECTING) == 1
            assert not any("trying again in 4 s" in r for _, r in sink.states)

    run(aloop, body)


def test_stalled_api_delays_but_does_not_break_a_reply(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            async with live_connector(sandbox, sink) as connector:
                loop = asyncio.get_running_loop()
                sandbox.stall(0.3)
                started = loop.time()
                result = await connector.execute(reply_action("stalled", GENERAL, "Looking into it"))
                assert loop.time() - started >= 0.3
                assert [m["id"] for m in sandbox.sent_messages(GENERAL)] == [result["message_id"]]
                assert connector.state is ConnectionState.LIVE

    run(aloop, body)


def test_a_failed_store_write_is_retried(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            async with live_connector(sandbox, sink):
                cursor = sink.cursors[f"channel:{IDEAS}"]
                sink.fail_ingests = 1
                mid = sandbox.post_message(IDEAS, "omar", "saved on the second try")["id"]
                await sink.until(lambda: mid in sink.items)
                assert sink.fail_ingests == 0 and sink.counts[mid] == 1
                await sink.until(lambda: sink.cursors[f"channel:{IDEAS}"] == mid)
                assert int(cursor) < int(mid)

    run(aloop, body)


def test_reply_accepts_the_inbox_service_payload(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            target = sandbox.messages(THREAD)[-1]["id"]
            now = datetime.now(UTC)
            action = OutboxAction(
                id=7,
                idempotency_key="outbox-7",
                platform=Platform.DISCORD,
                kind="reply",
                target=target,  # the message replied to
                payload={"item_id": 3, "body": "Fixed in 2.4.1", "kind": "message", "container_id": THREAD},
                state=OutboxState.SENDING,
                attempts=1,
                next_attempt_at=now,
                created_at=now,
            )
            async with live_connector(sandbox, sink) as connector:
                result = await connector.execute(action)
            sent = sandbox.sent_messages(THREAD)
            assert [(m["id"], m["content"]) for m in sent] == [(result["message_id"], "Fixed in 2.4.1")]
            assert sent[0]["message_reference"]["message_id"] == target

    run(aloop, body)
