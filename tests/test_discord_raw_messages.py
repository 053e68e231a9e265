"""Messages taken straight from the MESSAGE_CREATE payload make the items discord.py's own parse makes.

The connector reads watched channels' messages from the raw gateway payload instead of building a
``discord.Message`` (``connector._take_messages_raw``). Two connectors listen to the same sandbox here, one
with that shortcut and one without, and every kind of payload the inbox meets must come out the same.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
from contextlib import AsyncExitStack
from typing import Any

from atlas_desk.platforms.discord.connector import DiscordConnector
from tests.test_discord_support import (
    GENERAL,
    IDEAS,
    THREAD,
    FakeSink,
    live_connector,
    run,
    running_sandbox,
)

_ids = itertools.count(1)


def _variant(sandbox: Any, base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A gateway MESSAGE_CREATE built from a stored message, with a fresh id and ``changes`` applied."""
    data = copy.deepcopy(base)
    data["id"] = str(int(base["id"]) - (next(_ids) << 22))  # a millisecond apart, before anything posted
    data["guild_id"] = sandbox.guild_id
    data.setdefault(
        "member",
        {"nick": None, "roles": [], "joined_at": base["timestamp"], "deaf": False, "mute": False, "flags": 0},
    )
    for key, value in changes.items():
        if value is _DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return data


_DROP = object()


def test_raw_payloads_make_the_same_items_as_discord_py(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox, AsyncExitStack() as stack:
            raw, parsed = FakeSink(), FakeSink()
            fast = await stack.enter_async_context(live_connector(sandbox, raw))
            slow: DiscordConnector = await stack.enter_async_context(live_connector(sandbox, parsed))
            slow._take_raw_message = lambda data: False  # type: ignore[method-assign]  # discord.py parses all

            plain = sandbox.post_message(GENERAL, "maya", "plain text, with **markdown**")
            posted = [
                plain,
                sandbox.post_message(IDEAS, "omar", "an idea", attachments=["https://cdn.example/a.png"]),
                sandbox.post_message(IDEAS, "maya", "a reply under the idea", reply_to=plain["id"]),
                sandbox.post_message(THREAD, "omar", "in a thread"),
            ]
            nick = {"nick": "Nick Maya", "roles": [], "joined_at": plain["timestamp"]}
            variants = [
                _variant(sandbox, plain, member=nick),
                _variant(sandbox, plain, edited_timestamp="2026-11-02T10:00:00.123000+00:00"),
                _variant(
                    sandbox,
                    plain,
                    reactions=[
                        {"emoji": {"id": None, "name": "👍"}, "count": 3, "me": False},
                        {"emoji": {"id": None, "name": "🎉"}, "count": 5, "me": False},
                    ],
                ),
                _variant(sandbox, plain, author=dict(sandbox.bot_user), member={"roles": []}),
                _variant(sandbox, plain, content="<img src=x onerror=alert(1)>\u202e\u200b" + "x" * 5000),
                _variant(sandbox, plain, content=""),
            ]
            for data in variants:
                sandbox.dispatch_raw("MESSAGE_CREATE", data)
            # A renamed member: the payload carries the new name (discord.py's user cache may lag behind).
            renamed = _variant(sandbox, plain, author={**plain["author"], "global_name": "Maya Renamed"})
            sandbox.dispatch_raw("MESSAGE_CREATE", renamed)
            await raw.until(lambda: renamed["id"] in raw.items)
            assert raw.items[renamed["id"]].author.display_name == "Maya Renamed"
            wanted = [p["id"] for p in posted] + [v["id"] for v in variants]
            for sink in (raw, parsed):
                await sink.until(lambda s=sink: all(w in s.items for w in wanted))

            for message_id in wanted:
                assert raw.items[message_id] == parsed.items[message_id], message_id
            assert fast.stats["live"] == slow.stats["live"] == len(wanted) + 1
            assert raw.items[variants[0]["id"]].author.display_name == "Nick Maya"  # as the server shows
            assert raw.items[variants[3]["id"]].extra.get("from_desk") is True
            assert raw.items[variants[2]["id"]].score == 3
            # the shortcut really was taken (and discord.py's cache is left to what still goes through it)
            assert all(int(w) not in {m.id for m in fast.client.cached_messages} for w in wanted)
            assert all(int(w) in {m.id for m in slow.client.cached_messages} for w in wanted)

    run(aloop, body)


def test_payloads_the_shortcut_cannot_read_go_to_discord_py(aloop: asyncio.AbstractEventLoop) -> None:
    """No member (a webhook), a message type the inbox does not show, a malformed author: the shortcut
    declines and discord.py decides, as before — a webhook message still arrives, the rest are skipped."""

    async def body() -> None:
        async with running_sandbox() as sandbox:
            sink = FakeSink()
            async with live_connector(sandbox, sink) as connector:
                plain = sandbox.post_message(GENERAL, "maya", "before")
                await sink.until(lambda: plain["id"] in sink.items)
                webhook = _variant(
                    sandbox,
                    plain,
                    webhook_id="123",
                    member=_DROP,
                    author={
                        "id": "123",
                        "username": "Release bot",
                        "bot": True,
                        "discriminator": "0000",
                        "avatar": None,
                    },
                )
                pinned_notice = _variant(sandbox, plain, type=6)
                broken = _variant(sandbox, plain, author={"id": "not a number", "username": 5})
                for data in (webhook, pinned_notice, broken):
                    sandbox.dispatch_raw("MESSAGE_CREATE", data)
                after = sandbox.post_message(GENERAL, "maya", "after")
                await sink.until(lambda: after["id"] in sink.items)
                assert webhook["id"] in sink.items
                assert sink.items[webhook["id"]].author.handle == "Release bot"
                assert pinned_notice["id"] not in sink.items and broken["id"] not in sink.items
                assert connector.client is not None and not connector.client.is_closed()

    run(aloop, body)
