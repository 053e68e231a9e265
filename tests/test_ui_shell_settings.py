"""The Settings dialog: secrets to the keyring with password echo, ids to the config file, the no-keyring
line, and "Test connection" (button disabled while testing, result in plain words)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtWidgets import QLabel, QLineEdit

from atlas_desk import config
from atlas_desk.credentials import Credentials
from atlas_desk.ui.settings_dialog import SettingsDialog

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


class FakeDiscord(BaseHTTPRequestHandler):
    """Answers the two calls the Discord test makes; a gate lets the test hold the answer."""

    gate: threading.Event
    seen_auth: list[str]

    def do_GET(self) -> None:
        self.seen_auth.append(self.headers.get("Authorization", ""))
        self.gate.wait(5)
        if self.headers.get("Authorization") != "Bot good-token":
            self._json(401, {"message": "401: Unauthorized", "code": 0})
        elif self.path == "/api/v10/users/@me":
            self._json(200, {"id": "1", "username": "AtlasBot", "discriminator": "0"})
        elif self.path == "/api/v10/guilds/4242":
            self._json(200, {"id": "4242", "name": "Atlas <Community>"})
        else:
            self._json(404, {"message": "Unknown Guild"})

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_discord() -> Iterator[tuple[str, threading.Event, list[str]]]:
    gate = threading.Event()
    seen: list[str] = []
    handler = type("Handler", (FakeDiscord,), {"gate": gate, "seen_auth": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v10", gate, seen
    gate.set()
    server.shutdown()
    server.server_close()


def edit(dialog: SettingsDialog, key: str) -> QLineEdit:
    widget = dialog.editors[key]
    assert isinstance(widget, QLineEdit)
    return widget


def test_token_fields_are_password_echo_and_save_goes_to_keyring_and_file(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    creds = Credentials(environ={})
    dialog = SettingsDialog(config_path=path, credentials=creds, initial_page="github")
    qtbot.addWidget(dialog)
    assert dialog.pages.currentIndex() == 1
    token = edit(dialog, "secret:github_token")
    assert token.echoMode() == QLineEdit.EchoMode.Password
    assert edit(dialog, "secret:discord_token").echoMode() == QLineEdit.EchoMode.Password
    assert not dialog.keyring_label.isVisibleTo(dialog)  # the test keyring works

    token.setText("ghp_secret")
    edit(dialog, "github.repo").setText("atlas-app/atlas")
    edit(dialog, "discord.guild_id").setText("4242")
    dialog.save()

    saved = config.load_settings(path, environ={})
    assert saved.github.repo == "atlas-app/atlas"
    assert saved.discord.guild_id == "4242"
    assert "ghp_secret" not in path.read_text()
    assert keyring.get_password("atlas-desk", "github_token") == "ghp_secret"
    assert creds.source("github_token") == "keyring"


def test_invalid_value_is_refused_with_the_key_named(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    dialog = SettingsDialog(config_path=path, credentials=Credentials(environ={}))
    qtbot.addWidget(dialog)
    warnings: list[str] = []
    monkeypatch.setattr(dialog, "_warn", lambda title, text, *a: warnings.append(text))
    edit(dialog, "github.repo").setText("not a repo")
    dialog.save()
    assert not path.exists()
    assert warnings and "github.repo" in warnings[0]


def test_no_keyring_is_said_plainly(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    keyring.set_keyring(fail.Keyring())
    dialog = SettingsDialog(config_path=tmp_path / "c.toml", credentials=Credentials(environ={}))
    qtbot.addWidget(dialog)
    dialog.show()
    label = dialog.findChild(QLabel, "keyringStatus")
    assert label is not None and label.isVisible()
    assert "No system keyring" in label.text()


def test_demo_mode_does_not_save(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "config.toml"
    dialog = SettingsDialog(config_path=path, credentials=Credentials(environ={}), demo=True)
    qtbot.addWidget(dialog)
    assert "Demo mode" in dialog.notice_label.text()
    dialog.save()
    assert not path.exists()


def test_test_connection_disables_the_button_and_reports_in_plain_words(
    qtbot,
    qloop: asyncio.AbstractEventLoop,
    tmp_path: Path,
    fake_discord,  # type: ignore[no-untyped-def]
) -> None:
    api, gate, seen = fake_discord
    dialog = SettingsDialog(
        config_path=tmp_path / "c.toml", credentials=Credentials(environ={}), initial_page="discord"
    )
    qtbot.addWidget(dialog)
    edit(dialog, "discord.api").setText(api)
    edit(dialog, "discord.guild_id").setText("4242")
    edit(dialog, "secret:discord_token").setText("good-token")
    button, result = dialog.test_buttons["discord"], dialog.test_results["discord"]

    async def run() -> str:
        task = asyncio.ensure_future(dialog.test_connection("discord"))
        while not seen:  # the request is in flight, held by the gate
            await asyncio.sleep(0.01)
        assert not button.isEnabled()
        assert result.text() == "Testing…"
        gate.set()
        return await asyncio.wait_for(task, 10)

    message = qloop.run_until_complete(run())
    assert button.isEnabled()
    assert message == "Signed in as the bot AtlasBot. Server: Atlas <Community>."
    assert result.text() == message
    assert result.textFormat().name == "PlainText"
    assert seen[0] == "Bot good-token"

    edit(dialog, "secret:discord_token").setText("wrong")
    message = qloop.run_until_complete(dialog.test_connection("discord"))
    assert "refused (HTTP 401)" in message
    assert button.isEnabled()


def test_test_connection_reports_an_unreachable_server(qtbot, qloop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dialog = SettingsDialog(
        config_path=tmp_path / "c.toml", credentials=Credentials(environ={}), initial_page="github"
    )
    qtbot.addWidget(dialog)
    edit(dialog, "github.api").setText("http://127.0.0.1:9/api/v3")  # the discard port: nothing listens
    edit(dialog, "secret:github_token").setText("t0ken")
    message = qloop.run_until_complete(dialog.test_connection("github"))
    assert message.startswith("Could not reach the server")
    assert dialog.test_buttons["github"].isEnabled()


def test_the_test_button_runs_on_the_desks_loop(qtbot, qloop, tmp_path: Path, fake_discord) -> None:  # type: ignore[no-untyped-def]
    api, gate, _seen = fake_discord
    gate.set()
    dialog = SettingsDialog(
        config_path=tmp_path / "c.toml", credentials=Credentials(environ={}), initial_page="discord"
    )
    qtbot.addWidget(dialog)
    edit(dialog, "discord.api").setText(api)
    edit(dialog, "secret:discord_token").setText("good-token")
    result = dialog.test_results["discord"]

    async def click_and_wait() -> None:
        dialog.test_buttons["discord"].click()  # a Qt slot, as a moderator's click would run it
        while not result.text().startswith("Signed in"):
            await asyncio.sleep(0.01)

    qloop.run_until_complete(asyncio.wait_for(click_and_wait(), 10))
    assert result.text() == "Signed in as the bot AtlasBot. Now set the server (guild) id."
    assert dialog.test_buttons["discord"].isEnabled()
