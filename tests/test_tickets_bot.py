"""``atlas-desk bot``: the headless relay against a sandbox on its own thread; a desk started later."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import tomli_w

from atlas_desk.sandbox.harness import SandboxThread
from tests.test_tickets_support import TICKETS, running_desk, ticket_community, until

REPO = Path(__file__).resolve().parents[1]


def _bot(tmp_path: Path, thread: SandboxThread) -> subprocess.Popen[str]:
    config = thread.config()
    config.setdefault("desk", {})["moderator_handles"] = ["bot"]
    path = tmp_path / "bot.toml"
    path.write_text(tomli_w.dumps({"discord": config["discord"], "desk": config["desk"]}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_DESK_")}
    env.update({k: v for k, v in thread.env().items() if k.startswith("ATLAS_DESK_DISCORD")})
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "atlas_desk",
            "bot",
            "--config",
            str(path),
            "--data-dir",
            str(tmp_path / "botdata"),
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=REPO,
    )


def _wait_line(proc: subprocess.Popen[str], needle: str) -> list[str]:
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # blocks until the bot says it
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError("".join(seen))


def _poll(fn: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_bot_relays_with_no_desk_and_a_later_desk_shows_the_tickets(
    tmp_path: Path, aloop: asyncio.AbstractEventLoop
) -> None:
    with SandboxThread(ticket_community(), platforms=["discord"]) as thread:
        sandbox: Any = thread.sandbox.server("discord")
        proc = _bot(tmp_path, thread)
        try:
            _wait_line(proc, "relaying tickets")
            thread.call(sandbox.member_dm, "omar", "Can't log in\nIt says my password is wrong.").result(5)
            _poll(lambda: thread.call(lambda: len(sandbox.forum_threads(TICKETS))).result(5) == 1)
            _poll(lambda: thread.call(lambda: len(sandbox.dm_messages("omar"))).result(5) == 2)
            ack = thread.call(lambda: sandbox.dm_messages("omar")[1]["content"]).result(5)
            assert "Can't log in" in ack and "24 hours" in ack
            proc.send_signal(signal.SIGTERM)
            _out, rest = proc.communicate(timeout=30)
            assert proc.returncode == 0, rest
            assert "bot stopped" in rest
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()

        async def desk_later() -> None:
            async with running_desk(sandbox, tmp_path / "desk", relay=False) as desk:
                rows = await until(lambda: desk.service.rows("open"))
                assert rows[0].subject == "Can't log in" and rows[0].requester == "Omar"
                assert rows[0].first_reply_at is None
                thread_payload = thread.call(lambda: sandbox.forum_threads(TICKETS)[0]).result(5)
                from datetime import datetime

                opened = datetime.fromisoformat(thread_payload["thread_metadata"]["create_timestamp"])
                assert abs((rows[0].opened_at - opened).total_seconds()) < 1

        aloop.run_until_complete(asyncio.wait_for(desk_later(), 60))


def test_bot_refuses_a_public_tickets_forum_and_exits_non_zero(tmp_path: Path) -> None:
    with SandboxThread(ticket_community(), platforms=["discord"]) as thread:
        sandbox: Any = thread.sandbox.server("discord")
        thread.call(sandbox.make_public, TICKETS).result(5)
        proc = _bot(tmp_path, thread)
        try:
            _out, err = proc.communicate(timeout=60)  # never let a full pipe block the bot
            assert proc.returncode == 1, err
            assert "visible to @everyone" in err and "deny View Channel" in err and "Traceback" not in err
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()


def test_runtime_wires_the_relay_into_the_desk(tmp_path: Path, aloop: asyncio.AbstractEventLoop) -> None:
    from atlas_desk.runtime import Runtime, sandbox_settings
    from atlas_desk.sandbox.discord.server import DiscordSandbox

    async def body() -> None:
        sandbox = DiscordSandbox(ticket_community())
        await sandbox.start()
        config = sandbox.config()
        config["desk"] = {"moderator_handles": ["maya.k"]}
        settings, creds = sandbox_settings(config, sandbox.env())
        runtime = Runtime(settings, creds, tmp_path / "rt")
        try:
            await runtime.start(["discord"])
            await runtime.relay.wait_ready(15)
            assert runtime.relay.relaying
            sandbox.member_dm("ivy", "Where is my invoice?")
            rows = await until(lambda: runtime.tickets.rows("open"))
            await runtime.tickets.reply(rows[0].id, "It's in Settings → Billing.")
            await until(lambda: any("Billing" in m["content"] for m in sandbox.dm_messages("ivy")))
            await until(lambda: runtime.sla is not None and runtime.sla._task is not None)
        finally:
            await runtime.stop()
            await sandbox.stop()

    aloop.run_until_complete(asyncio.wait_for(body(), 60))
