"""Start-up: what the desk does before its first paint (issue 2's benchmark), and the fast paths that keep it
short doing the same as the slow ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from atlas_desk import cli
from atlas_desk.ui.single_instance import SingleInstance, server_name

# Imported at the first paint, each would cost the start-up benchmark milliseconds (or, for the platform
# libraries and the event loop machinery, most of a second).
NOT_BEFORE_FIRST_PAINT = (
    "asyncio",
    "qasync",
    "discord",
    "github",
    "praw",
    "aiohttp",
    "keyring",
    "sqlite3",
    "atlas_desk.config",
    "atlas_desk.credentials",
    "atlas_desk.runtime",
    "atlas_desk.store.db",
    "atlas_desk.log",
    "tomllib",
    "PySide6.QtNetwork",
)

# Runs the desk as ``python -m atlas_desk`` does, noting the imported modules and the platform states shown
# at the window's first paint, then leaving as a benchmark run does.
PROBE = textwrap.dedent(
    """
    import json, sys
    from atlas_desk.ui.main_window import MainWindow

    seen = {}
    paint = MainWindow.paintEvent

    def paint_event(self, event):
        if not seen:
            seen["modules"] = sorted(sys.modules)
            seen["states"] = {p.value: w.state.value for p, w in self.platform_status.items()}
            seen["tabs"] = [self.tabs.tabText(i) for i in range(self.tabs.count())]
            seen["menus"] = [a.text() for a in self.menuBar().actions()]
        paint(self, event)

    MainWindow.paintEvent = paint_event
    from atlas_desk.cli import main

    code = main(sys.argv[1:])
    print("PROBE " + json.dumps(seen), flush=True)
    sys.exit(code)
    """
)


@pytest.mark.slow
def test_first_paint_shows_the_shell_without_the_slow_imports(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[discord]\nguild_id = "100000000000000001"\n')
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "ATLAS_DESK_BENCH_SPAWN_TIME": repr(time.time()),
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE, "--config", str(config), "--data-dir", str(tmp_path / "data")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "first-paint-seconds " in result.stdout
    seen = json.loads(result.stdout.split("PROBE ", 1)[1])
    loaded = [m for m in NOT_BEFORE_FIRST_PAINT if m in seen["modules"]]
    assert not loaded, f"imported before the first paint: {loaded}"
    assert seen["tabs"] == ["Inbox", "Tickets", "Roadmap", "Calendar", "Insights"]
    assert seen["menus"] == ["&File", "&View", "&Help"]
    assert set(seen["states"]) == {"discord", "github", "reddit"}


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--demo"],
        ["--config", "c.toml", "--data-dir", "d"],
        ["--dat", "d", "-v", "--screenshot", "shots"],
        ["--config=c.toml", "--demo"],
    ],
)
def test_quick_desk_parse_matches_the_full_parser(argv: list[str]) -> None:
    quick = cli._parse_desk_launch(argv)
    assert quick is not None
    assert vars(quick) == vars(cli.build_parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv",
    [
        ["sync", "--once"],
        ["--config", "c.toml", "export", "inbox"],
        ["--config", "sync"],  # a config file named like a command: the full parser decides
        ["-h"],
        ["-vh"],
        ["--help"],
        ["--bogus"],
        ["stray"],
        ["--config"],
    ],
)
def test_quick_desk_parse_leaves_everything_else_to_the_full_parser(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli._parse_desk_launch(argv) is None
    assert capsys.readouterr() == ("", "")  # nothing printed: the full parser words any error


def test_usage_errors_still_come_from_the_full_parser(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--bogus"]) == 2
    err = capsys.readouterr().err
    assert "COMMAND" in err and "unrecognized arguments: --bogus" in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the socket-file check is Linux only")
def test_missing_socket_file_answers_without_a_connection_attempt(qapp: object, tmp_path: Path) -> None:
    running = SingleInstance("test.startup", tmp_path / "data")
    second = SingleInstance("test.startup", tmp_path / "data")
    assert second._no_socket_file()
    assert not second.try_activate_existing()
    assert running.listen()
    try:
        assert not second._no_socket_file()
        assert second.try_activate_existing()  # the file exists: it connects and asks the desk to raise
    finally:
        running.close()
    assert second._no_socket_file()


def test_server_name_digest_is_sha256(tmp_path: Path) -> None:
    import hashlib

    name = server_name("app.id", tmp_path)
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    expected = hashlib.sha256(f"{user}\0{tmp_path.resolve()}".encode()).hexdigest()[:16]
    assert name == f"app.id-{expected}"
