"""The Discord sandbox speaks what discord.py 2.7 expects: login, gateway frames, REST shapes from the
OpenAPI reference, message history paging, nonce de-duplication and fault injection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import discord

from atlas_desk.platforms.discord.connector import configure_endpoints, desk_intents
from tests.test_discord_support import (
    GENERAL,
    IDEAS,
    THREAD,
    TICKETS,
    WAIT,
    run,
    running_sandbox,
    small_community,
    spec,
    violations,
)


def test_discord_py_logs_in_and_sees_the_guild(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            env = sandbox.env()
            configure_endpoints(env["ATLAS_DESK_DISCORD_API"], env["ATLAS_DESK_DISCORD_GATEWAY"])
            client = discord.Client(intents=desk_intents(), guild_ready_timeout=0.05)
            ready = asyncio.Event()
            client.event(_set_on("on_ready", ready))
            await client.login(env["ATLAS_DESK_DISCORD_TOKEN"])
            task = asyncio.create_task(client.connect())
            try:
                await asyncio.wait_for(ready.wait(), WAIT)
                guild = client.get_guild(int(sandbox.guild_id))
                assert guild is not None and guild.name == "Atlas"
                assert {c.name for c in guild.text_channels} >= {"general", "ideas", "mod-chat", "support"}
                forum = guild.get_channel(int(TICKETS))
                assert isinstance(forum, discord.ForumChannel)
                assert not forum.permissions_for(guild.default_role).read_messages  # moderator-only
                assert forum.permissions_for(guild.me).read_messages
                assert {t.name for t in guild.threads} == {"sync help", "login broken · omar"}
                assert guild.member_count == len(guild.members) == 4
                assert guild.get_member(int(small_community().members[0].discord_id or 0)) is not None
                general = guild.get_channel(int(GENERAL))
                assert isinstance(general, discord.TextChannel)
                oldest = [m.content async for m in general.history(limit=None, oldest_first=True)]
                assert oldest == [f"history {i}" for i in range(0, 30, 2)]
                newest = [m.content async for m in general.history(limit=3)]
                assert newest == ["history 28", "history 26", "history 24"]
                middle = int(sandbox.messages(GENERAL)[7]["id"])
                before = [m.content async for m in general.history(limit=2, before=discord.Object(middle))]
                assert before == ["history 12", "history 10"]
                around = [m.content async for m in general.history(limit=3, around=discord.Object(middle))]
                assert "history 14" in around and len(around) == 3
                voted = await general.fetch_message(int(sandbox.messages(GENERAL)[2]["id"]))
                assert [(str(r.emoji), r.count) for r in voted.reactions] == [("👍", 2)]
                assert sandbox.identify_count == 1
            finally:
                await client.close()
                await task

    run(aloop, body)


def _set_on(name: str, event: asyncio.Event) -> Callable[..., Awaitable[None]]:
    async def handler(*_args: Any) -> None:
        event.set()

    handler.__name__ = name
    return handler


def test_sandbox_post_honours_nonce_and_rejects_bad_tokens(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            api = sandbox.env()["ATLAS_DESK_DISCORD_API"]
            auth = {"Authorization": f"Bot {sandbox.token}"}
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{api}/users/@me", headers={"Authorization": "Bot nope"}) as r:
                    assert r.status == 401
                async with http.get(f"{api}/users/@me", headers=auth) as r:
                    assert r.status == 200 and r.headers["Content-Type"] == "application/json"
                body_ = {"content": "hello", "nonce": "n-1", "enforce_nonce": True}
                async with http.post(f"{api}/channels/{IDEAS}/messages", json=body_, headers=auth) as r:
                    first = await r.json()
                async with http.post(f"{api}/channels/{IDEAS}/messages", json=body_, headers=auth) as r:
                    second = await r.json()
                assert first["id"] == second["id"]
                assert len(sandbox.sent_messages(IDEAS)) == 1
                async with http.post(
                    f"{api}/channels/{IDEAS}/messages", json={"content": "x" * 2001}, headers=auth
                ) as r:
                    assert r.status == 400
                sandbox.fail_next("/channels/*/messages", 429, retry_after=0.5)
                async with http.get(f"{api}/channels/{IDEAS}/messages", headers=auth) as r:
                    assert r.status == 429 and r.headers["Via"]
                    assert await r.json() == {
                        "message": "You are being rate limited.",
                        "retry_after": 0.5,
                        "global": False,
                    }
                async with http.get(f"{api}/channels/{IDEAS}/messages?limit=2", headers=auth) as r:
                    assert [m["content"] for m in await r.json()] == ["hello", "history 29"]

    run(aloop, body)


def test_rest_answers_follow_the_openapi_reference(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        async with running_sandbox() as sandbox:
            mid = sandbox.messages(GENERAL)[2]["id"]  # has reactions
            sandbox.post_message(IDEAS, "omar", "with a file", attachments=["https://cdn.example/a.png"])
            reply = sandbox.post_message(IDEAS, "maya", "a reply", reply_to=sandbox.messages(IDEAS)[0]["id"])
            member = sandbox.messages(GENERAL)[0]["author"]["id"]
            calls = [
                ("/users/@me", "/users/@me"),
                ("/oauth2/applications/@me", "/oauth2/applications/@me"),
                ("/guilds/{guild_id}", f"/guilds/{sandbox.guild_id}"),
                ("/guilds/{guild_id}/channels", f"/guilds/{sandbox.guild_id}/channels"),
                ("/guilds/{guild_id}/roles", f"/guilds/{sandbox.guild_id}/roles"),
                ("/guilds/{guild_id}/members/{user_id}", f"/guilds/{sandbox.guild_id}/members/{member}"),
                ("/guilds/{guild_id}/threads/active", f"/guilds/{sandbox.guild_id}/threads/active"),
                ("/channels/{channel_id}", f"/channels/{GENERAL}"),
                ("/channels/{channel_id}", f"/channels/{THREAD}"),
                ("/channels/{channel_id}/messages", f"/channels/{GENERAL}/messages?limit=100"),
                ("/channels/{channel_id}/messages", f"/channels/{IDEAS}/messages?limit=100"),
                ("/channels/{channel_id}/messages/{message_id}", f"/channels/{IDEAS}/messages/{reply['id']}"),
                (
                    "/channels/{channel_id}/threads/archived/public",
                    f"/channels/{IDEAS}/threads/archived/public",
                ),
                ("/gateway/bot", "/gateway/bot"),
                (
                    "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}",
                    f"/channels/{GENERAL}/messages/{mid}/reactions/%F0%9F%91%8D",
                ),
            ]
            api = sandbox.env()["ATLAS_DESK_DISCORD_API"]
            headers = {"Authorization": f"Bot {sandbox.token}"}
            problems: list[str] = []
            async with aiohttp.ClientSession() as http:
                for template, path in calls:
                    async with http.get(api + path, headers=headers) as response:
                        assert response.status == 200, path
                        data = await response.json()
                    ok = spec()["paths"][template]["get"]["responses"]["200"]
                    schema = ok["content"]["application/json"]["schema"]
                    problems += [f"GET {path} {p}" for p in violations(data, schema)]
            assert problems == []

    run(aloop, body)


def test_gateway_frames_follow_the_protocol_and_the_reference(aloop: asyncio.AbstractEventLoop) -> None:
    async def body() -> None:
        schemas = spec()["components"]["schemas"]

        def ref(name: str) -> dict[str, Any]:
            assert name in schemas
            return {"$ref": f"#/components/schemas/{name}"}

        async with running_sandbox() as sandbox, aiohttp.ClientSession() as http:
            url = sandbox.env()["ATLAS_DESK_DISCORD_GATEWAY"] + "?v=10&encoding=json"
            async with http.ws_connect(url) as ws:
                hello = await ws.receive_json(timeout=WAIT)
                assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] > 0
                await ws.send_json({"op": 2, "d": {"token": "not the token", "intents": 0}})
                closing = await ws.receive(timeout=WAIT)
                assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 4004

            async with http.ws_connect(url) as ws:
                await ws.receive_json(timeout=WAIT)  # HELLO
                await ws.send_json({"op": 1, "d": None})
                assert (await ws.receive_json(timeout=WAIT))["op"] == 11
                await ws.send_json({"op": 2, "d": {"token": sandbox.token, "intents": 0}})
                ready = await ws.receive_json(timeout=WAIT)
                assert (ready["t"], ready["s"]) == ("READY", 1)
                assert ready["d"]["resume_gateway_url"].startswith("ws://127.0.0.1:")
                assert violations(ready["d"]["user"], ref("UserResponse")) == []
                guild = (await ws.receive_json(timeout=WAIT))["d"]
                assert violations(guild, ref("GuildResponse")) == []
                channel_shapes = {"oneOf": [ref("GuildChannelResponse"), ref("ThreadResponse")]}
                problems = [p for c in guild["channels"] for p in violations(c, channel_shapes)]
                problems += [p for t in guild["threads"] for p in violations(t, ref("ThreadResponse"))]
                problems += [p for m in guild["members"] for p in violations(m, ref("GuildMemberResponse"))]
                assert problems == []
                assert guild["member_count"] == len(guild["members"])
                session = ready["d"]["session_id"]
                first = sandbox.post_message(GENERAL, "omar", "one")["id"]
                created = await ws.receive_json(timeout=WAIT)
                assert (created["t"], created["s"]) == ("MESSAGE_CREATE", 3)
                assert violations(created["d"], ref("MessageResponse")) == [] and created["d"]["id"] == first
                await ws.close(code=4000)  # not 1000: a clean close would end the session

            # two more events wait in the session for a RESUME from seq 3
            sandbox.post_message(GENERAL, "omar", "two")
            sandbox.post_message(GENERAL, "omar", "three")
            async with http.ws_connect(url) as ws:
                await ws.receive_json(timeout=WAIT)  # HELLO
                await ws.send_json({"op": 6, "d": {"token": sandbox.token, "session_id": session, "seq": 3}})
                replay = [await ws.receive_json(timeout=WAIT) for _ in range(3)]
                assert [(f["t"], f["s"]) for f in replay] == [
                    ("MESSAGE_CREATE", 4),
                    ("MESSAGE_CREATE", 5),
                    ("RESUMED", 6),
                ]
                assert [f["d"]["content"] for f in replay[:2]] == ["two", "three"]

            async with http.ws_connect(url) as ws:
                await ws.receive_json(timeout=WAIT)
                await ws.send_json(
                    {"op": 6, "d": {"token": sandbox.token, "session_id": "unknown", "seq": 1}}
                )
                assert await ws.receive_json(timeout=WAIT) == {"op": 9, "s": None, "t": None, "d": False}

    run(aloop, body)
