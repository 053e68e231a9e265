"""The headless bot as a systemd user service: the unit and its example config."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from atlas_desk.config import load_settings

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "packaging" / "atlas-desk-bot.service"
EXAMPLE = ROOT / "packaging" / "bot.example.toml"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNIT, encoding="utf-8")
    return parser


def test_unit_runs_the_bot_and_restarts_on_failure() -> None:
    unit = _unit()
    service = unit["Service"]
    argv = service["ExecStart"].split()
    assert argv[0].endswith("/atlas-desk") and argv[1] == "bot"
    assert "--config" in argv
    assert service["Restart"] == "on-failure"
    assert re.fullmatch(r"\d+s?", service["RestartSec"])
    assert service["EnvironmentFile"].endswith("/bot.env")
    assert unit["Install"]["WantedBy"] == "default.target"  # a user unit
    assert "network-online.target" in unit["Unit"]["After"]


def test_unit_carries_no_secrets() -> None:
    text = UNIT.read_text(encoding="utf-8")
    # Environment= lines may set harmless variables, never a credential.
    for line in text.splitlines():
        if line.startswith("Environment="):
            assert not re.search(r"(?i)token|secret|password", line), line


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd not installed")
def test_unit_verifies(tmp_path: Path) -> None:
    # A user manager resolves %h and %E and checks that ExecStart exists: give it a home with a stand-in
    # atlas-desk (the real one comes from pipx or the bundle). verify reports parse problems on stderr while
    # still exiting 0, so any output fails the test.
    home = tmp_path / "home"
    exe = home / ".local" / "bin" / "atlas-desk"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(0o755)
    (home / ".config" / "atlas-desk").mkdir(parents=True)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_RUNTIME_DIR": str(runtime),
        "SYSTEMD_LOG_COLOR": "0",
    }
    unit = tmp_path / UNIT.name
    shutil.copyfile(UNIT, unit)
    result = subprocess.run(
        ["systemd-analyze", "--user", "verify", str(unit)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr.strip() and not result.stdout.strip(), (
        result.stdout + result.stderr
    )


def test_example_config_is_valid_for_the_bot() -> None:
    settings = load_settings(EXAMPLE, must_exist=True, environ={})
    d = settings.discord
    assert d.guild_id and d.tickets_forum_id and d.support_channel_id  # what `atlas-desk bot` requires
    assert d.relay is True
    text = EXAMPLE.read_text(encoding="utf-8")
    assert not re.search(r"(?im)^\s*[a-z_]*(token|secret|password)\s*=", text)
