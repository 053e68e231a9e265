"""A scheduled post survives kill -9 around its publication: the sandbox shows it exactly once."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from atlas_desk.core.types import OutboxState
from atlas_desk.store import calendar as repo
from atlas_desk.store import outbox as outbox_repo
from atlas_desk.store.db import Store
from tests.test_calendar_posts import DUE, T0, _draft, _tips_channel
from tests.test_calendar_support import Clock, desk, run, running_sandbox
from tests.test_discord_support import settings_for

CHILD = Path(__file__).with_name("calendar_desk_child.py")
ROOT = Path(__file__).resolve().parent.parent


async def _child(db: Path, config: str, mode: str, until: str) -> asyncio.subprocess.Process:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        str(db),
        config,
        DUE.isoformat(),
        mode,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=str(ROOT),
    )
    assert proc.stdout is not None

    async def wait_line() -> None:
        assert proc.stdout is not None
        while True:
            line = await proc.stdout.readline()
            if not line:
                err = await proc.stderr.read() if proc.stderr else b""
                raise AssertionError(f"the desk process ended before {until}: {err.decode()[-2000:]}")
            if line.decode().strip() == until:
                return

    await asyncio.wait_for(wait_line(), 90)
    return proc


def test_kill_9_between_sending_and_confirming_still_publishes_exactly_once(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def body() -> None:
        db = data_dir / "desk.db"
        async with running_sandbox() as sandbox:
            channel = _tips_channel(sandbox)
            async with desk(db, None, clock=Clock(T0)) as d:  # the moderator planned it earlier
                post_id = await d.calendar.create(_draft(channel))
            s = settings_for(sandbox)
            config = json.dumps(
                {
                    "api": s.api,
                    "gateway": s.gateway,
                    "guild_id": s.guild_id,
                    "watch_channels": [channel],
                    "tickets_forum_id": s.tickets_forum_id,
                    "support_channel_id": s.support_channel_id,
                    "token": sandbox.token,
                }
            )
            first = await _child(db, config, "hang", "SENT")  # sent to Discord, not yet recorded as done
            first.kill()  # SIGKILL: no clean-up of any kind
            await first.wait()
            assert len(sandbox.sent_messages(channel)) == 1
            second = await _child(db, config, "normal", "DONE")
            await asyncio.wait_for(second.wait(), 30)
            assert len(sandbox.sent_messages(channel)) == 1
            store = await asyncio.to_thread(Store.open, db)
            try:
                (action,) = outbox_repo.list_actions(store.reader())
                assert action.state is OutboxState.DONE and action.attempts == 2
                assert (repo.get_event(store.reader(), post_id) or action).status == "published"  # type: ignore[union-attr]
            finally:
                await asyncio.to_thread(store.close)

    run(aloop, body, timeout=200)
