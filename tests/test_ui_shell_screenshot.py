"""The screenshot run and the headless fallback, started as a user would: ``python -m atlas_desk``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

PANES = ("inbox", "tickets", "roadmap", "calendar", "insights")


def run_desk(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**env, "ATLAS_DESK_SCREENSHOT_TIMEOUT": "30"}
    return subprocess.run(
        [sys.executable, "-m", "atlas_desk", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_screenshots(directory: Path) -> None:
    for pane in PANES:
        image = QImage(str(directory / f"{pane}.png"))
        assert not image.isNull(), f"{pane}.png missing or unreadable"
        assert (image.width(), image.height()) == (1440, 900)


@pytest.mark.slow
def test_screenshot_run_writes_five_pngs_of_1440x900(tmp_path: Path) -> None:
    out = tmp_path / "shots"
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = run_desk(
        ["--config", str(cfg), "--data-dir", str(tmp_path / "data"), "--screenshot", str(out)], env, tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert_screenshots(out)
    # Window state is not saved by a screenshot run.
    assert not list((tmp_path / "data").glob("window-state.json"))


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="headless detection is for Linux servers")
def test_no_display_falls_back_to_rendering_the_panes(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = run_desk(["--config", str(cfg), "--data-dir", str(tmp_path / "data")], env, tmp_path)
    target = tmp_path / "demo-screenshots"
    assert f"No display found: rendering the demo panes to {target} instead" in result.stdout
    assert result.returncode == 0, result.stderr
    assert_screenshots(target)


@pytest.mark.slow
def test_demo_screenshot_run_connects_every_platform_to_the_sandbox(tmp_path: Path) -> None:
    out = tmp_path / "shots"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    args = ["--demo", "--data-dir", str(tmp_path / "data"), "--screenshot", str(out)]
    result = run_desk(args, env, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert_screenshots(out)
    # The demo store lives apart from real data.
    assert list((tmp_path / "data" / "demo").glob("*.sqlite3"))
    assert not list((tmp_path / "data").glob("*.sqlite3"))


def test_closing_the_window_ends_the_run_after_shutting_down(qapp, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import argparse

    from PySide6.QtCore import QTimer

    from atlas_desk.app import run_desk

    cfg = tmp_path / "config.toml"
    cfg.write_text("")
    args = argparse.Namespace(
        demo=False, screenshot=None, config=cfg, data_dir=tmp_path / "data", verbose=False
    )
    seen: dict[str, object] = {}
    deadline = time.monotonic() + 20

    def close_when_ready() -> None:
        windows = [w for w in qapp.topLevelWidgets() if w.objectName() == "mainWindow" and w.isVisible()]
        if (not windows or windows[0].runtime is None) and time.monotonic() < deadline:
            QTimer.singleShot(20, close_when_ready)  # the runtime is attached after the first paint
            return
        if windows:
            seen["runtime"] = windows[0].runtime
            windows[0].close()

    QTimer.singleShot(0, close_when_ready)
    quit_on_close = qapp.quitOnLastWindowClosed()
    hook = sys.excepthook
    try:
        assert run_desk(args) == 0
    finally:
        qapp.setQuitOnLastWindowClosed(quit_on_close)
    assert sys.excepthook is hook  # the desk's hook is gone with the desk
    runtime = seen["runtime"]
    assert runtime is not None and runtime.store is None  # stopped: the store was closed
    assert (tmp_path / "data" / "window-state.json").exists()
