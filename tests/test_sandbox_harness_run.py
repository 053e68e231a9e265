"""The sandbox harness: servers on port 0, merged endpoints, clean stop, live mode, and the thread wrapper."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import random
import socket
import sys
import threading
import time
import types
import urllib.request
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from atlas_desk.sandbox import harness
from atlas_desk.sandbox.community import generate
from atlas_desk.sandbox.harness import Sandbox, SandboxThread, available_servers
from atlas_desk.sandbox.http import json_response, start_app
from atlas_desk.sandbox.model import Community


@pytest.fixture(scope="module")
def community() -> Community:
    return generate(7, scale=0.1)


class StubServer:
    """The smallest platform server: one JSON route, an env entry and a config section."""

    instances: list[StubServer] = []

    def __init__(
        self,
        community: Community,
        *,
        host: str,
        name: str = "stub",
        fail_start: bool = False,
        fail_every: int = 0,
    ) -> None:
        self.community = community
        self.host = host
        self.name = name
        self.fail_start = fail_start
        self.fail_every = fail_every
        self.port = 0
        self.runner: web.AppRunner | None = None
        self.activity = 0
        self.calls = 0
        self.activity_threads: set[str] = set()
        self.on_activity: list[Any] = []  # callables run after each item (tests hook events here)
        StubServer.instances.append(self)

    async def start(self) -> None:
        if self.fail_start:
            raise OSError("stub refused to start")
        app = web.Application()

        async def ping(_request: web.Request) -> web.Response:
            return json_response({"server": self.name, "guild": self.community.guild_id})

        app.router.add_get("/ping", ping)
        self.runner, self.port = await start_app(app, self.host)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        return {f"ATLAS_DESK_{self.name.upper()}_URL": self.url}

    def config(self) -> dict[str, Any]:
        return {self.name: {"guild_id": self.community.guild_id, "poll_seconds": 5}}

    async def simulate_activity(self, rng: random.Random) -> None:
        self.calls += 1
        self.activity_threads.add(threading.current_thread().name)
        if self.fail_every and self.calls % self.fail_every == 0:
            raise RuntimeError("simulated glitch")
        self.activity += 1
        for hook in self.on_activity:
            hook()


def stub_factory(name: str, **options: Any) -> Any:
    def factory(community: Community, *, host: str) -> StubServer:
        return StubServer(community, host=host, name=name, **options)

    return factory


def port_is_free(port: int) -> bool:
    """True when nothing listens on the loopback ``port`` any more."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # SO_REUSEADDR: a TIME_WAIT left by the last connection must not count; a listener still would
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen(1)
    except OSError as exc:
        assert exc.errno == errno.EADDRINUSE
        return False
    finally:
        sock.close()
    return True


def test_sandbox_serves_stub_and_stop_releases_port(
    aloop: asyncio.AbstractEventLoop, community: Community
) -> None:
    async def scenario() -> int:
        sandbox = Sandbox(community, servers={"stub": stub_factory("stub")})
        await sandbox.start()
        assert sandbox.running
        url = sandbox.env()["ATLAS_DESK_STUB_URL"]
        port = int(url.rsplit(":", 1)[1])
        assert url == f"http://127.0.0.1:{port}" and port > 0
        async with aiohttp.ClientSession() as session, session.get(url + "/ping") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/json"  # no charset: discord.py needs this
            assert await resp.json() == {"server": "stub", "guild": community.guild_id}
        assert not port_is_free(port)
        await sandbox.stop()
        assert not sandbox.running and sandbox.servers == {}
        await sandbox.stop()  # twice is harmless
        return port

    port = aloop.run_until_complete(scenario())
    assert port_is_free(port)


def test_env_and_config_merge_servers(aloop: asyncio.AbstractEventLoop, community: Community) -> None:
    class DiscordLike(StubServer):
        def env(self) -> dict[str, str]:
            return {
                "ATLAS_DESK_DISCORD_API": f"{self.url}/api/v10",
                "ATLAS_DESK_DISCORD_TOKEN": "sandbox-token",
            }

        def config(self) -> dict[str, Any]:
            return {"discord": {"guild_id": self.community.guild_id, "watch_channels": []}}

    def discord_factory(c: Community, *, host: str) -> StubServer:
        return DiscordLike(c, host=host, name="discord")

    async def scenario() -> None:
        async with Sandbox(
            community, servers={"discord": discord_factory, "reddit": stub_factory("reddit")}
        ) as sandbox:
            env = sandbox.env()
            assert set(env) == {"ATLAS_DESK_DISCORD_API", "ATLAS_DESK_DISCORD_TOKEN", "ATLAS_DESK_REDDIT_URL"}
            config = sandbox.config()
            assert config["discord"]["guild_id"] == community.guild_id
            assert config["discord"]["api"] == env["ATLAS_DESK_DISCORD_API"]
            assert config["reddit"]["url"] == env["ATLAS_DESK_REDDIT_URL"]
            assert config["reddit"]["poll_seconds"] == 5
            # secrets stay in the environment, never in a config file
            assert "sandbox-token" not in repr(config)
            assert env["ATLAS_DESK_DISCORD_API"] != env["ATLAS_DESK_REDDIT_URL"]

    aloop.run_until_complete(scenario())


def test_failed_start_stops_servers_already_running(
    aloop: asyncio.AbstractEventLoop, community: Community
) -> None:
    StubServer.instances.clear()
    sandbox = Sandbox(
        community, servers={"first": stub_factory("first"), "second": stub_factory("second", fail_start=True)}
    )
    with pytest.raises(OSError, match="refused"):
        aloop.run_until_complete(sandbox.start())
    first = next(s for s in StubServer.instances if s.name == "first")
    assert first.runner is None and port_is_free(first.port)
    assert not sandbox.running


def test_missing_server_module_is_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    module = types.ModuleType("atlas_desk_test_stub_servers")
    module.StubServer = StubServer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(
        harness,
        "SERVER_CLASSES",
        {
            "present": (module.__name__, "StubServer"),
            "absent": ("atlas_desk.sandbox.not_written_yet.server", "NopeSandbox"),
        },
    )
    with caplog.at_level(logging.WARNING, logger="atlas_desk.sandbox"):
        found = available_servers()
    assert found == {"present": StubServer}
    assert "absent" in caplog.text and "skipped" in caplog.text
    with pytest.raises(ValueError, match="unknown platform"):
        available_servers(["myspace"])


def test_live_mode_runs_at_the_rate(aloop: asyncio.AbstractEventLoop, community: Community) -> None:
    rate, wanted = 40.0, 16

    async def scenario() -> tuple[float, int, list[StubServer]]:
        StubServer.instances.clear()
        reached = asyncio.Event()
        sandbox = Sandbox(community, live_rate=rate, servers={"a": stub_factory("a"), "b": stub_factory("b")})
        await sandbox.start()
        stubs = list(StubServer.instances)

        def check() -> None:
            if sum(s.activity for s in stubs) >= wanted:
                reached.set()

        for s in stubs:
            s.on_activity.append(check)
        began = time.monotonic()
        await asyncio.wait_for(reached.wait(), timeout=10)
        elapsed = time.monotonic() - began
        assert sandbox.live_count >= wanted
        await sandbox.stop()
        after_stop = sum(s.activity for s in stubs)
        # a bounded wait to prove that nothing more arrives once stopped
        await asyncio.sleep(5 / rate)
        assert sum(s.activity for s in stubs) == after_stop
        return elapsed, after_stop, stubs

    elapsed, total, stubs = aloop.run_until_complete(scenario())
    # not faster than the rate (items are due 1/rate apart), and not wildly slower
    assert elapsed >= (wanted - 1) / rate * 0.9
    assert elapsed < 10
    assert total <= rate * elapsed + 3
    assert all(s.activity > 0 for s in stubs), "activity is spread over the servers"


def test_live_mode_survives_a_failing_server(aloop: asyncio.AbstractEventLoop, community: Community) -> None:
    async def scenario() -> StubServer:
        StubServer.instances.clear()
        reached = asyncio.Event()
        sandbox = Sandbox(community, servers={"flaky": stub_factory("flaky", fail_every=2)})
        await sandbox.start()
        stub = StubServer.instances[0]
        stub.on_activity.append(lambda: reached.set() if stub.activity >= 4 else None)
        sandbox.start_live(200.0)
        await asyncio.wait_for(reached.wait(), timeout=10)
        await sandbox.stop()
        return stub

    stub = aloop.run_until_complete(scenario())
    assert stub.calls >= 7 and stub.activity >= 4  # failures were logged and live mode went on


def test_live_rate_must_not_be_negative(community: Community) -> None:
    with pytest.raises(ValueError):
        Sandbox(community, live_rate=-1)


def test_sandbox_thread_start_call_stop(community: Community) -> None:
    StubServer.instances.clear()
    runner = SandboxThread(community, servers={"stub": stub_factory("stub")})
    env = runner.start(timeout=10)
    try:
        url = env["ATLAS_DESK_STUB_URL"]
        port = int(url.rsplit(":", 1)[1])
        # the main thread is free: a blocking request from here is answered by the sandbox thread's loop
        with urllib.request.urlopen(url + "/ping", timeout=5) as resp:
            assert resp.headers["Content-Type"] == "application/json"
        assert runner.config()["stub"]["guild_id"] == community.guild_id

        def where() -> str:
            return threading.current_thread().name

        async def add(a: int, b: int) -> int:
            await asyncio.sleep(0)
            return a + b

        assert runner.call(where).result(timeout=5) == "atlas-desk-sandbox"
        assert runner.call(add, 2, 3).result(timeout=5) == 5
        assert threading.current_thread() is threading.main_thread()
    finally:
        runner.stop(timeout=10)
    assert port_is_free(port)
    assert not any(t.name == "atlas-desk-sandbox" for t in threading.enumerate())
    with pytest.raises(RuntimeError):
        runner.call(where)
    runner.stop()  # twice is harmless


def test_sandbox_thread_reports_start_failure(community: Community) -> None:
    runner = SandboxThread(community, servers={"bad": stub_factory("bad", fail_start=True)})
    with pytest.raises(RuntimeError, match="failed to start") as info:
        runner.start(timeout=10)
    assert isinstance(info.value.__cause__, OSError)
    assert not any(t.name == "atlas-desk-sandbox" for t in threading.enumerate())


def test_sandbox_thread_live_mode(community: Community) -> None:
    StubServer.instances.clear()
    reached = threading.Event()
    runner = SandboxThread(community, live_rate=100.0, servers={"stub": stub_factory("stub")})
    runner.start(timeout=10)
    try:
        stub = StubServer.instances[0]
        # hook installed on the sandbox loop so it never races with simulate_activity
        runner.call(
            lambda: stub.on_activity.append(lambda: reached.set() if stub.activity >= 5 else None)
        ).result(timeout=5)
        assert reached.wait(timeout=10)
        assert stub.activity_threads == {"atlas-desk-sandbox"}
    finally:
        runner.stop(timeout=10)


def test_real_platform_servers_start_together(aloop: asyncio.AbstractEventLoop) -> None:
    """Whichever real servers exist start side by side and together provide the documented variables."""
    expected = {
        "discord": {"ATLAS_DESK_DISCORD_API", "ATLAS_DESK_DISCORD_GATEWAY", "ATLAS_DESK_DISCORD_TOKEN"},
        "github": {"ATLAS_DESK_GITHUB_API", "ATLAS_DESK_GITHUB_TOKEN"},
        "reddit": {
            "ATLAS_DESK_REDDIT_URL",
            "ATLAS_DESK_REDDIT_CLIENT_ID",
            "ATLAS_DESK_REDDIT_CLIENT_SECRET",
            "ATLAS_DESK_REDDIT_USERNAME",
            "ATLAS_DESK_REDDIT_PASSWORD",
        },
    }
    sections = {
        "discord": {"guild_id", "tickets_forum_id", "support_channel_id", "watch_channels", "api", "gateway"},
        "github": {"repo", "project_owner", "project_number", "poll_seconds", "api"},
        "reddit": {"subreddit", "poll_seconds", "url"},
    }
    present = available_servers()
    if not present:
        pytest.skip("no platform server written yet")

    async def scenario() -> None:
        async with Sandbox(generate(7, scale=0.2)) as sandbox:
            assert set(sandbox.servers) == set(present)
            env = sandbox.env()
            config = sandbox.config()
            ports = set()
            for name in present:
                assert expected[name] <= set(env), name
                assert sections[name] <= set(config[name]), name
            for var, value in env.items():
                if var.endswith(("_API", "_URL", "_GATEWAY")):
                    ports.add(value.split("/")[2])
            assert len(ports) == len(present), "each server listens on its own port"
            with contextlib.suppress(ImportError):
                import tomli_w

                tomli_w.dumps(config)  # TOML-ready

    aloop.run_until_complete(scenario())
