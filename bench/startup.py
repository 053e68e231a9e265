"""Start-up: process start to the first painted main window, the desk beside a bare PySide6 QMainWindow.

    python bench/startup.py [--runs 5] [--keep DIR]

The desk starts over an existing store filled with the demo community (built first, not timed) and a config
naming that community, as a moderator's second start would. Each child gets the parent's ``time.time()`` at
spawn in ``ATLAS_DESK_BENCH_SPAWN_TIME`` and prints the seconds from then to its main window's first paint
event, then exits. Runs alternate desk / bare so both see the same machine load; medians and their ratio are
printed. Target (issue 2): ratio <= 1.5. Bytecode is cached for both (PYTHONPYCACHEPREFIX under the work dir,
filled by one untimed warm-up run each), as it is for an installed desk.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

SPAWN_ENV = "ATLAS_DESK_BENCH_SPAWN_TIME"
TARGET_RATIO = 1.5

BARE = textwrap.dedent(
    f"""
    import os, sys, time
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow

    class Window(QMainWindow):
        painted = False

        def paintEvent(self, event):
            super().paintEvent(event)
            if not self.painted:
                self.painted = True
                elapsed = time.time() - float(os.environ["{SPAWN_ENV}"])
                print(f"first-paint-seconds {{elapsed:.4f}}", flush=True)
                QTimer.singleShot(0, app.quit)

    app = QApplication(sys.argv[:1])
    window = Window()
    window.setWindowTitle("bare")
    window.resize(1280, 800)
    window.show()
    app.exec()
    """
)


def fill_store(data_dir: Path) -> str:
    """Fill ``data_dir``'s store with the demo community; returns how it was filled."""
    from atlas_desk.config import store_path

    try:
        from atlas_desk.sandbox import harness
    except ImportError:
        harness = None
    if harness is not None:
        try:
            return asyncio.run(_fill_from_sandbox(data_dir))
        except Exception as exc:  # fall back to the direct fill below
            print(f"(sandbox backfill failed: {exc}; filling the store directly)", file=sys.stderr)
    from atlas_desk.core.types import Account, InboxItem, ItemKind, Platform
    from atlas_desk.sandbox.community import generate
    from atlas_desk.store import inbox
    from atlas_desk.store.db import Store

    community = generate()
    channels = {c.id: c.name for c in community.channels}
    members = {m.key: m for m in community.members}
    items = []
    for message in community.messages:
        member = members[message.author_key]
        items.append(
            InboxItem(
                platform=Platform.DISCORD,
                platform_id=message.id,
                kind=ItemKind.MESSAGE,
                container=f"#{channels.get(message.channel_id, 'unknown')}",
                container_id=message.channel_id,
                author=Account(
                    Platform.DISCORD,
                    member.discord_id or member.key,
                    member.discord_name or member.key,
                    member.display_name,
                ),
                body=message.content,
                created_at=message.created_at,
                parent_id=message.thread_id or "",
            )
        )
    store = Store.open(store_path(data_dir))
    try:
        store.submit(lambda conn: inbox.upsert_items(conn, items)).result()
    finally:
        store.close()
    return f"direct fill: {len(items)} Discord messages of the demo community"


async def _fill_from_sandbox(data_dir: Path) -> str:
    from atlas_desk.runtime import Runtime, sandbox_settings
    from atlas_desk.sandbox import harness
    from atlas_desk.sandbox.community import generate

    sandbox = harness.Sandbox(generate())
    await sandbox.start()
    try:
        env = sandbox.env()
        env = await env if asyncio.iscoroutine(env) else env
        config = sandbox.config() if callable(getattr(sandbox, "config", None)) else {}
        config = await config if asyncio.iscoroutine(config) else config
        settings, credentials = sandbox_settings(config, env)
        runtime = Runtime(settings, credentials, data_dir)
        try:
            failures = await runtime.backfill()
        finally:
            await runtime.stop()
    finally:
        await sandbox.stop()
    return "sandbox backfill" + (f" (failures: {failures})" if failures else "")


def write_config(path: Path) -> None:
    """A config naming the demo community, pointed at a closed port (connectors start after the paint)."""
    path.write_text(
        textwrap.dedent(
            """
            [discord]
            api = "http://127.0.0.1:9/api/v10"
            gateway = "ws://127.0.0.1:9"
            guild_id = "100000000000000001"
            [github]
            api = "http://127.0.0.1:9/api/v3"
            repo = "atlas-app/atlas"
            [reddit]
            url = "http://127.0.0.1:9"
            subreddit = "AtlasApp"
            """
        )
    )


def measure(cmd: list[str], cwd: Path) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    # An installed desk has compiled bytecode; a source checkout run with PYTHONDONTWRITEBYTECODE would
    # recompile every module at each start. Both children cache bytecode under the work dir instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cwd / "pycache")
    env[SPAWN_ENV] = repr(time.time())
    result = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    for line in result.stdout.splitlines():
        if line.startswith("first-paint-seconds "):
            return float(line.split()[1])
    raise RuntimeError(
        f"{cmd[:3]} printed no first paint (exit {result.returncode}):\n{result.stderr[-2000:]}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--keep", type=Path, help="build the store here and keep it (default: a temporary dir)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="atlas-startup-") as tmp:
        work = args.keep or Path(tmp)
        data = work / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = work / "config.toml"
        write_config(config)
        started = time.perf_counter()
        how = fill_store(data)
        print(f"store: {how} ({time.perf_counter() - started:.1f} s, not timed)")

        desk_cmd = [sys.executable, "-m", "atlas_desk", "--config", str(config), "--data-dir", str(data)]
        bare_cmd = [sys.executable, "-c", BARE]
        # One untimed run each warms the OS file cache, as a second launch would find it.
        measure(desk_cmd, work)
        measure(bare_cmd, work)
        desk, bare = [], []
        for _ in range(args.runs):
            desk.append(measure(desk_cmd, work))
            bare.append(measure(bare_cmd, work))
    d, b = statistics.median(desk), statistics.median(bare)
    ratio = d / b
    print(f"desk  first paint: median {d * 1000:.0f} ms  runs {[round(x * 1000) for x in desk]}")
    print(f"bare  first paint: median {b * 1000:.0f} ms  runs {[round(x * 1000) for x in bare]}")
    print(f"ratio desk/bare: {ratio:.2f} (target <= {TARGET_RATIO})")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
