"""The command line: help and usage errors, config errors, the desk, sync, sandbox, bot and doctor."""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail

from atlas_desk.cli import main
from atlas_desk.config import load_settings, store_path
from atlas_desk.core.types import Account, InboxItem, ItemKind, Platform

REPO = Path(__file__).resolve().parents[1]
COMMANDS = ["sync", "export", "sandbox", "bot", "doctor"]


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


# -- help and usage ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: atlas-desk") and "--config PATH" in out and "--data-dir DIR" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from atlas_desk import __version__

    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["--bogus"],
        ["frobnicate"],
        ["sync", "--platform", "myspace"],
        ["sandbox", "--live", "fast"],
        ["sandbox", "--live", "-1"],
        ["export"],
        ["doctor", "--verbose=yes"],
    ],
)
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage:" in capsys.readouterr().err


def test_python_m_help_in_a_subprocess() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "atlas_desk", "--help"], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert "sync" in done.stdout and "doctor" in done.stdout


def test_cli_module_imports_stay_light() -> None:
    code = "import sys, atlas_desk.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in "
    code += "{'PySide6', 'discord', 'github', 'praw', 'aiohttp', 'keyring', 'sqlite3'}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- config errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS[:1] + COMMANDS[3:4])
def test_bad_config_exits_1_naming_the_key(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, '[github]\nrepo = "a/b"\npoll_seconds = "fast"\n')
    # --config works before and after the command
    for argv in (["--config", str(path), command], [command, "--config", str(path)]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "github.poll_seconds must be an integer ≥ 5, got 'fast'" in err
        assert str(path) in err and "Traceback" not in err


def test_unknown_key_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, "[discord]\nguild = 1\n")
    assert main(["sync", "--config", str(path)]) == 1
    assert "unknown key discord.guild" in capsys.readouterr().err


def test_missing_explicit_config_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", "--config", str(tmp_path / "nope.toml")]) == 1
    assert "does not exist" in capsys.readouterr().err


# -- the desk ------------------------------------------------------------------------------------------------


def test_no_command_runs_the_desk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[Any] = []
    fake = types.ModuleType("atlas_desk.app")
    fake.run_desk = lambda args: seen.append(args) or 0  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "atlas_desk.app", fake)
    assert main(["--demo", "--screenshot", str(tmp_path / "shots"), "--data-dir", str(tmp_path)]) == 0
    (args,) = seen
    assert args.demo is True and args.screenshot == tmp_path / "shots" and args.data_dir == tmp_path
    assert args.config is None and args.command is None


# -- sync ----------------------------------------------------------------------------------------------------


def test_sync_with_nothing_configured(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", "--once"]) == 1
    err = capsys.readouterr().err
    assert "nothing to sync" in err and "atlas-desk doctor" in err


def test_sync_platform_not_configured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, '[github]\nrepo = "atlas-app/atlas"\n')
    assert main(["sync", "--once", "--platform", "reddit", "--config", str(path)]) == 1
    assert "reddit.subreddit" in capsys.readouterr().err


class FakeGitHubConnector:
    """Stands in for the GitHub connector: its backfill delivers two items through the sink."""

    instances: list[FakeGitHubConnector] = []

    def __init__(self, settings: Any, token: str | None, sink: Any) -> None:
        self.settings, self.token, self.sink = settings, token, sink
        self.platform = Platform.GITHUB
        self.stopped = False
        FakeGitHubConnector.instances.append(self)

    async def backfill(self) -> None:
        author = Account(Platform.GITHUB, "u1", "ines")
        when = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        await self.sink.ingest(
            [
                InboxItem(
                    Platform.GITHUB,
                    f"I_{n}",
                    ItemKind.ISSUE,
                    "Issues",
                    author,
                    f"body {n}",
                    when,
                    title=f"Issue {n}",
                )
                for n in (1, 2)
            ]
        )

    async def start(self) -> None:
        await self.backfill()
        await asyncio.Event().wait()  # live until stopped

    async def stop(self) -> None:
        self.stopped = True

    async def execute(self, action: Any) -> dict[str, Any]:
        return {}


@pytest.fixture
def fake_github(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeGitHubConnector]]:
    module = types.ModuleType("atlas_desk.platforms.github.connector")
    module.GitHubConnector = FakeGitHubConnector  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "atlas_desk.platforms.github.connector", module)
    FakeGitHubConnector.instances = []
    yield FakeGitHubConnector


def test_sync_once_then_export(
    fake_github: type[FakeGitHubConnector],
    tmp_path: Path,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_config(tmp_path, '[github]\nrepo = "atlas-app/atlas"\n')
    monkeypatch.setenv("ATLAS_DESK_GITHUB_TOKEN", "tok-from-env")
    assert main(["sync", "--once", "--config", str(path), "--data-dir", str(data_dir)]) == 0, (
        capsys.readouterr()
    )
    (connector,) = fake_github.instances
    assert connector.token == "tok-from-env" and connector.stopped
    assert store_path(data_dir).exists()
    capsys.readouterr()
    assert main(["export", "inbox", "--data-dir", str(data_dir)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["platform_id"] for r in rows] == ["I_1", "I_2"] and rows[0]["title"] == "Issue 1"


def test_sync_once_without_credentials_fails_plainly(
    fake_github: type[FakeGitHubConnector], tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, '[github]\nrepo = "atlas-app/atlas"\n')
    assert main(["sync", "--once", "--config", str(path), "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert "ATLAS_DESK_GITHUB_TOKEN" in err and "Traceback" not in err
    assert fake_github.instances == []


def test_sync_reports_a_platform_without_support(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # None in sys.modules makes the lazy import fail, as a build without that platform would.
    monkeypatch.setitem(sys.modules, "atlas_desk.platforms.discord.connector", None)
    path = write_config(tmp_path, "[discord]\nguild_id = 1\n")
    monkeypatch.setenv("ATLAS_DESK_DISCORD_TOKEN", "tok")
    assert main(["sync", "--once", "--config", str(path), "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert "Discord support is not available" in err and "Traceback" not in err


def test_runtime_publishes_connection_problems(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from atlas_desk.config import settings_from_dict
    from atlas_desk.core.bus import ChangeBus, ConnectionChanged
    from atlas_desk.credentials import Credentials
    from atlas_desk.runtime import Runtime

    monkeypatch.setitem(sys.modules, "atlas_desk.platforms.discord.connector", None)
    settings = settings_from_dict({"discord": {"guild_id": 1}, "github": {"repo": "a/b"}}, environ={})
    bus = ChangeBus()
    seen: list[ConnectionChanged] = []
    bus.subscribe(ConnectionChanged, seen.append)
    runtime = Runtime(settings, Credentials(environ={"ATLAS_DESK_DISCORD_TOKEN": "t"}), data_dir, bus=bus)
    failures = asyncio.run(_backfill_and_stop(runtime))
    assert set(failures) == {Platform.DISCORD, Platform.GITHUB}
    assert "ATLAS_DESK_GITHUB_TOKEN" in failures[Platform.GITHUB]
    states = {c.platform: c.state.value for c in seen}
    assert states == {Platform.DISCORD: "offline", Platform.GITHUB: "not configured"}
    assert runtime.store is None  # closed by stop()


async def _backfill_and_stop(runtime: Any) -> dict[Platform, str]:
    try:
        return await runtime.backfill()
    finally:
        await runtime.stop()


def test_sync_runs_until_signalled(
    fake_github: type[FakeGitHubConnector], tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, '[github]\nrepo = "atlas-app/atlas"\n')
    monkeypatch.setenv("ATLAS_DESK_GITHUB_TOKEN", "tok")
    original = FakeGitHubConnector.backfill

    async def backfill_then_signal(self: FakeGitHubConnector) -> None:
        await original(self)
        signal.raise_signal(signal.SIGTERM)  # as systemd would; the loop's handler turns it into a stop

    monkeypatch.setattr(FakeGitHubConnector, "backfill", backfill_then_signal)
    assert main(["sync", "--config", str(path), "--data-dir", str(data_dir)]) == 0
    assert fake_github.instances[0].stopped


# -- sandbox -------------------------------------------------------------------------------------------------


class FakeSandbox:
    instances: list[FakeSandbox] = []

    def __init__(self, community: Any, live_rate: float = 0.0) -> None:
        self.community, self.live_rate = community, live_rate
        self.started = self.stopped = False
        FakeSandbox.instances.append(self)

    async def start(self) -> None:
        self.started = True
        asyncio.get_running_loop().call_soon(signal.raise_signal, signal.SIGINT)

    async def stop(self) -> None:
        self.stopped = True

    def env(self) -> dict[str, str]:
        return {
            "ATLAS_DESK_DISCORD_API": "http://127.0.0.1:5001/api/v10",
            "ATLAS_DESK_DISCORD_TOKEN": "sandbox discord token",
        }

    def config(self) -> dict[str, Any]:
        return {
            "discord": {"guild_id": 1100000000000000001, "tickets_forum_id": "1100000000000000004"},
            "reddit": {"subreddit": "AtlasApp"},
        }


@pytest.fixture
def fake_sandbox(monkeypatch: pytest.MonkeyPatch) -> type[FakeSandbox]:
    harness = types.ModuleType("atlas_desk.sandbox.harness")
    harness.Sandbox = FakeSandbox  # type: ignore[attr-defined]
    community = types.ModuleType("atlas_desk.sandbox.community")
    community.generate = lambda seed=7: ("community", seed)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "atlas_desk.sandbox.harness", harness)
    monkeypatch.setitem(sys.modules, "atlas_desk.sandbox.community", community)
    FakeSandbox.instances = []
    return FakeSandbox


def test_sandbox_prints_exports_and_writes_config(
    fake_sandbox: type[FakeSandbox], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "sandbox.toml"
    assert main(["sandbox", "--live", "2.5", "--seed", "11", "--write-config", str(target)]) == 0
    (sandbox,) = fake_sandbox.instances
    assert sandbox.live_rate == 2.5 and sandbox.community == ("community", 11) and sandbox.stopped
    out = capsys.readouterr().out.splitlines()
    assert "export ATLAS_DESK_DISCORD_API=http://127.0.0.1:5001/api/v10" in out
    assert "export ATLAS_DESK_DISCORD_TOKEN='sandbox discord token'" in out  # quoted for the shell
    assert any(line.startswith("export ATLAS_DESK_CONFIG=") for line in out)
    assert "Ctrl+C" in out[-1]
    settings = load_settings(target, environ={})
    assert settings.discord.guild_id == "1100000000000000001" and settings.reddit.subreddit == "AtlasApp"


# -- bot -----------------------------------------------------------------------------------------------------


def test_bot_without_discord_names_the_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bot"]) == 1
    err = capsys.readouterr().err
    assert "discord.guild_id" in err and "discord.tickets_forum_id" in err and "Traceback" not in err


def test_bot_without_token(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, "[discord]\nguild_id = 1\ntickets_forum_id = 2\nsupport_channel_id = 3\n")
    assert main(["bot", "--config", str(path)]) == 1
    assert "ATLAS_DESK_DISCORD_TOKEN" in capsys.readouterr().err


def test_bot_runs_until_sigterm(tmp_path: Path, isolated_dirs: Path) -> None:
    path = write_config(tmp_path, "[discord]\nguild_id = 1\ntickets_forum_id = 2\nsupport_channel_id = 3\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_DESK_")}
    env["ATLAS_DESK_DISCORD_TOKEN"] = "bot-token-value-never-logged"
    proc = subprocess.Popen(
        [sys.executable, "-m", "atlas_desk", "bot", "--config", str(path)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        assert proc.stderr is not None
        seen = []
        for line in proc.stderr:  # blocks until the bot says it is running
            seen.append(line)
            if "bot running" in line:
                break
        assert any("will relay tickets" in line for line in seen), seen
        proc.send_signal(signal.SIGTERM)
        rest = proc.stderr.read()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
    logged = "".join(seen) + rest
    assert "bot stopped" in logged and "bot-token-value-never-logged" not in logged
    log_files = list(isolated_dirs.rglob("atlas-desk.log"))
    assert log_files and "bot running" in log_files[0].read_text()


# -- doctor --------------------------------------------------------------------------------------------------


def test_doctor_on_an_empty_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert all(line.startswith(("ok: ", "problem: ", "skipped: ")) for line in out), out
    assert any(line.startswith("problem: no platform is configured") and "fix:" in line for line in out)
    assert any(line.startswith("ok: ") and "system keyring" in line for line in out)
    assert any(line.startswith("ok: data dir") for line in out)


def test_doctor_reports_a_missing_keyring(capsys: pytest.CaptureFixture[str]) -> None:
    keyring.set_keyring(fail.Keyring())
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "problem: No system keyring is available" in out and "fix:" in out


def test_doctor_reports_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, "[sla]\nfirst_response_hours = -1\n")
    assert main(["doctor", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "problem: " in out and "sla.first_response_hours" in out


class _Platform(http.server.BaseHTTPRequestHandler):
    """Answers like a platform API: 200 with the right token, 401 otherwise."""

    def do_GET(self) -> None:
        good = self.headers.get("Authorization") in ("Bot good-discord-token", "Bearer good-github-token")
        self.send_response(200 if good else 401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def platform_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Platform)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_doctor_checks_reachability_and_tokens(
    platform_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(
        tmp_path,
        f'[discord]\napi = "{platform_server}/api/v10"\nguild_id = 1\n'
        f'[github]\napi = "{platform_server}/api/v3"\nrepo = "atlas-app/atlas"\n'
        '[reddit]\nurl = "http://127.0.0.1:9"\nsubreddit = "AtlasApp"\n',
    )
    monkeypatch.setenv("ATLAS_DESK_DISCORD_TOKEN", "good-discord-token")
    monkeypatch.setenv("ATLAS_DESK_GITHUB_TOKEN", "wrong-github-token")
    assert main(["doctor", "--config", str(path)]) == 1
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert any(line.startswith("ok: discord:") and "credentials accepted" in line for line in lines), out
    assert any(line.startswith("problem: github:") and "rejected" in line for line in lines), out
    assert any(line.startswith("problem: reddit: missing reddit_client_id") for line in lines), out
    assert any(line.startswith("problem: reddit: cannot reach") for line in lines), out
    assert "good-discord-token" not in out and "wrong-github-token" not in out

    monkeypatch.setenv("ATLAS_DESK_GITHUB_TOKEN", "good-github-token")
    path.write_text(path.read_text().split("[reddit]")[0], encoding="utf-8")
    assert main(["doctor", "--config", str(path)]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "skipped: reddit is not configured" in out and "problem" not in out


def test_doctor_never_follows_a_redirect_with_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seen_auth: list[str | None] = []

    class Elsewhere(_Platform):
        def do_GET(self) -> None:
            seen_auth.append(self.headers.get("Authorization"))
            super().do_GET()

    target = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Elsewhere)
    target_url = f"http://127.0.0.1:{target.server_address[1]}"

    class Redirect(_Platform):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", target_url + "/steal")
            self.end_headers()

    origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (target, origin)]
    for t in threads:
        t.start()
    try:
        path = write_config(
            tmp_path, f'[github]\napi = "http://127.0.0.1:{origin.server_address[1]}"\nrepo = "a/b"\n'
        )
        monkeypatch.setenv("ATLAS_DESK_GITHUB_TOKEN", "good-github-token")
        main(["doctor", "--config", str(path)])
        assert "github:" in capsys.readouterr().out
    finally:
        for server in (target, origin):
            server.shutdown()
            server.server_close()
    assert seen_auth == []
