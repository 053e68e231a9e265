"""Credentials: keyring storage, the env override, the session-only fallback, and secrets kept out of logs."""

from __future__ import annotations

import logging
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail
from keyring.errors import KeyringLocked

from atlas_desk.config import Settings, save_settings
from atlas_desk.credentials import SERVICE, Credentials, Secret, keyring_status
from atlas_desk.log import redact, setup_logging, teardown_logging

TOKEN = "ghp_S3cr3tT0kenValue1234567890abcdef"
DISCORD_TOKEN = "MTEwMDAwMDAwMDAwMDAwMDAx.GaBcDe.abcdefghijklmnopqrstuvwxyz0123"


class LockedKeyring(KeyringBackend):
    """A backend that exists but refuses every call (a locked keyring, no D-Bus)."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked("locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringLocked("locked")


def files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


def test_keyring_present_stores_there(memory_keyring: object) -> None:
    creds = Credentials(environ={})
    assert creds.set("github_token", TOKEN) == "keyring"
    assert memory_keyring.store[(SERVICE, "github_token")] == TOKEN  # type: ignore[attr-defined]
    # A fresh instance (the next start) finds it.
    again = Credentials(environ={})
    assert again.get("github_token") == TOKEN
    assert again.source("github_token") == "keyring"
    available, message = keyring_status()
    assert available and "system keyring" in message
    again.delete("github_token")
    assert again.get("github_token") is None and again.source("github_token") is None
    assert (SERVICE, "github_token") not in memory_keyring.store  # type: ignore[attr-defined]


def test_env_token_wins(memory_keyring: object) -> None:
    Credentials(environ={}).set("discord_token", "from-keyring")
    creds = Credentials(environ={"ATLAS_DESK_DISCORD_TOKEN": "from-env"})
    assert creds.get("discord_token") == "from-env"
    assert creds.source("discord_token") == "env"


def test_env_token_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_DESK_REDDIT_CLIENT_SECRET", "shh-secret")
    assert Credentials().get("reddit_client_secret") == "shh-secret"


def test_no_keyring_keeps_secrets_for_the_session_only(
    isolated_dirs: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keyring.set_keyring(fail.Keyring())
    available, message = keyring_status()
    assert not available
    assert "No system keyring is available" in message and "this session only" in message
    log_file = setup_logging(isolated_dirs / "logs", stderr=False)
    try:
        creds = Credentials(environ={})
        assert creds.set("github_token", TOKEN) == "session"
        assert creds.get("github_token") == TOKEN
        assert creds.source("github_token") == "session"
        save_settings(Settings(), isolated_dirs / "config.toml")
        logging.getLogger("atlas_desk.test").warning("set the token %s", TOKEN)
    finally:
        teardown_logging()
    assert log_file.exists()
    assert files_containing(tmp_path, TOKEN) == []
    # A new process (a new Credentials) has forgotten it.
    assert Credentials(environ={}).get("github_token") is None
    assert "session only" in caplog.text and TOKEN not in caplog.text


def test_empty_chainer_counts_as_no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    keyring.set_keyring(chainer.ChainerBackend())
    assert keyring_status()[0] is False
    creds = Credentials(environ={})
    assert creds.set("discord_token", "abc-session") == "session"
    assert creds.get("discord_token") == "abc-session"


def test_failing_backend_falls_back_to_session() -> None:
    keyring.set_keyring(LockedKeyring())
    assert keyring_status()[0] is True  # it looks usable...
    available, message = keyring_status(probe=True)  # ...until it is asked
    assert not available and "KeyringLocked" in message
    creds = Credentials(environ={})
    assert creds.set("github_token", TOKEN) == "session"
    assert creds.get("github_token") == TOKEN


def test_keyring_left_out_when_asked(memory_keyring: object) -> None:
    Credentials(environ={}).set("github_token", TOKEN)
    demo = Credentials(environ={"ATLAS_DESK_DISCORD_TOKEN": "sandbox"}, use_keyring=False)
    assert demo.get("github_token") is None
    assert demo.get("discord_token") == "sandbox"


def test_missing_for_reddit_accepts_either_login() -> None:
    creds = Credentials(environ={"ATLAS_DESK_REDDIT_CLIENT_ID": "id", "ATLAS_DESK_REDDIT_CLIENT_SECRET": "s"})
    assert creds.missing_for("reddit") == ["reddit_refresh_token"]
    creds.set("reddit_username", "mod")
    creds.set("reddit_password", "pw-1234")
    assert creds.missing_for("reddit") == []
    assert creds.missing_for("discord") == ["discord_token"]


def test_unknown_name_is_refused() -> None:
    with pytest.raises(KeyError, match="discord_tokn"):
        Credentials().get("discord_tokn")


def test_secret_never_shows_its_value() -> None:
    secret = Secret(TOKEN)
    for shown in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret}", str([secret])):
        assert TOKEN not in shown
    assert secret.reveal() == TOKEN
    assert Credentials(environ={"ATLAS_DESK_GITHUB_TOKEN": TOKEN}).get_secret("github_token") == secret


def test_log_file_never_contains_a_token(isolated_dirs: Path) -> None:
    creds = Credentials(environ={})
    creds.set("github_token", TOKEN)
    log_file = setup_logging(isolated_dirs / "logs", stderr=False)
    log = logging.getLogger("atlas_desk.github")
    try:
        log.info("request failed with token %s", TOKEN)
        log.warning("headers: %r", {"Authorization": f"Bot {DISCORD_TOKEN}"})
        try:
            raise RuntimeError(f"login failed for {TOKEN}")
        except RuntimeError:
            log.exception("could not log in")
        logging.getLogger("discord.http").warning("Authorization: Bearer some-unknown-token-value-123")
        log.info("url was https://example.org/cb?access_token=abcdef123456&x=1")
    finally:
        teardown_logging()
    text = log_file.read_text(encoding="utf-8")
    assert "could not log in" in text and "RuntimeError" in text  # the record and its traceback are there
    for leaked in (TOKEN, DISCORD_TOKEN, "some-unknown-token-value-123", "abcdef123456"):
        assert leaked not in text
    assert text.count("[redacted]") >= 5


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "Mira replied to ticket 42 in #support about the token shop"
    assert redact(text) == text
    assert redact("my password is hunter22", ["hunter22"]) == "my password is [redacted]"


def test_setup_logging_twice_replaces_handlers(isolated_dirs: Path) -> None:
    root = logging.getLogger()
    before = len(root.handlers)
    setup_logging(isolated_dirs / "logs", stderr=True)
    setup_logging(isolated_dirs / "logs", stderr=True)
    try:
        assert len(root.handlers) == before + 2
    finally:
        teardown_logging()
    assert len(root.handlers) == before
