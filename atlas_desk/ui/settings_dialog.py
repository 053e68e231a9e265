"""The Settings dialog: each platform's account (secrets go to the keyring) and community ids (the config
file), with a "Test connection" button per platform, and the desk's own preferences.

Secrets are never shown back: a stored token leaves its field empty with a note on where it is kept; typing a
new value replaces it. Keys set by environment variables are shown read-only, since the environment wins.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from atlas_desk.core.types import Platform
from atlas_desk.ui import icons
from atlas_desk.ui.widgets.empty_state import plain_label

log = logging.getLogger("atlas_desk.ui.settings")


@dataclass(frozen=True)
class Field:
    """One form row: a setting (``section.key``) or a secret (``secret:name``)."""

    key: str
    label: str
    help: str = ""
    secret: bool = False
    kind: str = "text"  # "text" | "list" | "int" | "bool" | "float"

    @property
    def is_secret(self) -> bool:
        return self.key.startswith("secret:")

    @property
    def name(self) -> str:
        return self.key.split(":", 1)[1] if self.is_secret else self.key.split(".", 1)[1]

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]


PAGES: dict[str, tuple[str, list[Field]]] = {
    "discord": (
        "Discord",
        [
            Field(
                "secret:discord_token",
                "Bot token",
                "From the Discord developer portal › Bot › Reset Token.",
                True,
            ),
            Field(
                "discord.guild_id",
                "Server (guild) id",
                "Right-click the server › Copy Server ID (developer mode).",
            ),
            Field(
                "discord.tickets_forum_id",
                "Tickets forum id",
                "The moderator-only forum channel for tickets.",
            ),
            Field(
                "discord.support_channel_id",
                "Support channel id",
                'Where the "Open a ticket" panel is posted.',
            ),
            Field(
                "discord.watch_channels",
                "Watched channels",
                "Channel ids, comma-separated; empty: all.",
                kind="list",
            ),
            Field(
                "discord.relay",
                "Relay tickets from this desk",
                "Only one desk or bot should relay.",
                kind="bool",
            ),
            Field("discord.api", "API endpoint", "Leave as is unless you use a proxy or the sandbox."),
            Field("discord.gateway", "Gateway endpoint"),
        ],
    ),
    "github": (
        "GitHub",
        [
            Field(
                "secret:github_token",
                "Access token",
                "Fine-grained token: issues, discussions, projects.",
                True,
            ),
            Field("github.repo", "Repository", "owner/name, e.g. atlas-app/atlas"),
            Field(
                "github.project_owner",
                "Project owner",
                "The user or organisation owning the roadmap project.",
            ),
            Field(
                "github.project_number",
                "Project number",
                "From the project's URL: …/projects/NUMBER",
                kind="int",
            ),
            Field("github.poll_seconds", "Poll every (seconds)", kind="int"),
            Field("github.api", "API endpoint", "https://api.github.com, or your GitHub Enterprise API."),
        ],
    ),
    "reddit": (
        "Reddit",
        [
            Field("secret:reddit_client_id", "App client id", "From reddit.com/prefs/apps."),
            Field("secret:reddit_client_secret", "App secret", secret=True),
            Field(
                "secret:reddit_refresh_token",
                "Refresh token",
                "Or a username and password (script app).",
                True,
            ),
            Field("secret:reddit_username", "Username"),
            Field("secret:reddit_password", "Password", secret=True),
            Field("reddit.subreddit", "Subreddit", "Without r/, e.g. AtlasApp"),
            Field("reddit.poll_seconds", "Poll every (seconds)", kind="int"),
            Field(
                "reddit.url", "Endpoint", "Empty: reddit.com. One base URL for OAuth, www and short links."
            ),
        ],
    ),
    "desk": (
        "Desk",
        [
            Field("sla.first_response_hours", "First reply due after (hours)", kind="float"),
            Field("sla.warn_before_hours", "Warn before the deadline (hours)", kind="float"),
            Field(
                "desk.moderator_handles",
                "Your handles",
                "For the Mentions filter; comma-separated.",
                kind="list",
            ),
            Field("desk.keywords", "Keywords", "Also count as mentions; comma-separated.", kind="list"),
        ],
    ),
}


class SettingsDialog(QDialog):
    """Accounts and community ids per platform, with "Test connection"."""

    saved = Signal(object)  # the new atlas_desk.config.Settings

    def __init__(
        self,
        parent: QWidget | None = None,
        initial_page: str = "",
        config_path: Path | None = None,
        credentials: Any | None = None,
        demo: bool = False,
    ) -> None:
        super().__init__(parent)
        from atlas_desk import config
        from atlas_desk.credentials import Credentials, keyring_status

        self.setWindowTitle("Settings")
        self.setObjectName("settingsDialog")
        self.resize(760, 520)
        self.config = config
        self.demo = demo
        self.credentials = credentials if credentials is not None else Credentials()
        self.config_path = Path(config_path) if config_path is not None else config.default_config_path()
        self.load_error = ""
        try:
            with_env = config.load_settings(self.config_path)
            self.overridden = set(with_env.overridden)
            self.settings = config.load_settings(self.config_path, environ={})
        except config.ConfigError as exc:
            self.load_error = str(exc)
            self.overridden = set()
            self.settings = config.Settings(path=self.config_path)
        self.editors: dict[str, QWidget] = {}
        self.test_buttons: dict[str, QPushButton] = {}
        self.test_results: dict[str, QLabel] = {}
        self._tasks: set[asyncio.Task[str]] = set()

        # Top: keyring and demo lines, visible only when they apply.
        self.keyring_ok, keyring_text = keyring_status()
        self.keyring_label = plain_label(keyring_text, self)
        self.keyring_label.setObjectName("keyringStatus")
        self.keyring_label.setWordWrap(True)
        self.keyring_label.setVisible(not self.keyring_ok)
        self.keyring_label.setStyleSheet(
            "padding: 6px; border-radius: 4px; background: rgba(210, 153, 34, 0.18);"
        )
        self.notice_label = plain_label("", self)
        self.notice_label.setWordWrap(True)
        notices = []
        if demo:
            notices.append(
                "Demo mode: the desk is connected to the built-in sandbox community. "
                "Changes here are not saved."
            )
        if self.load_error:
            notices.append(f"The config file could not be read, so defaults are shown: {self.load_error}")
        self.notice_label.setText("\n".join(notices))
        self.notice_label.setVisible(bool(notices))

        self.page_list = QListWidget(self)
        self.page_list.setFixedWidth(150)
        self.page_list.setIconSize(icons.icon_size(20))
        self.pages = QStackedWidget(self)
        for page_id, (title, fields) in PAGES.items():
            item = QListWidgetItem(title)
            if page_id in {p.value for p in Platform}:
                item.setIcon(icons.platform_icon(Platform(page_id)))
            else:
                item.setIcon(icons.app_icon())
            item.setData(Qt.ItemDataRole.UserRole, page_id)
            self.page_list.addItem(item)
            self.pages.addWidget(self._build_page(page_id, title, fields))
        self.page_list.currentRowChanged.connect(self.pages.setCurrentIndex)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not demo)

        body = QHBoxLayout()
        body.addWidget(self.page_list)
        body.addWidget(self.pages, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.keyring_label)
        layout.addWidget(self.notice_label)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)

        names = list(PAGES)
        self.page_list.setCurrentRow(names.index(initial_page) if initial_page in names else 0)

    # ----- building -----

    def _build_page(self, page_id: str, title: str, fields: list[Field]) -> QWidget:
        page = QWidget(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        for f in fields:
            editor = self._editor(f)
            self.editors[f.key] = editor
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(editor)
            note = self._note(f) if f.kind != "bool" else ""  # a checkbox carries its help as its own text
            if note:
                hint = plain_label(note, page)
                hint.setWordWrap(True)
                hint.setObjectName("fieldHint")  # muted by the desk's style sheet (ui/look.py)
                column.addWidget(hint)
            form.addRow(plain_label(f.label, page), column)
        layout = QVBoxLayout(page)
        heading = plain_label(title, page)
        font = heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        heading.setFont(font)
        layout.addWidget(heading)
        layout.addLayout(form)
        if page_id in {p.value for p in Platform}:
            row = QHBoxLayout()
            button = QPushButton("Test connection", page)
            button.setObjectName(f"test-{page_id}")
            button.setToolTip("Sign in with the values above without saving them.")
            result = plain_label("", page)
            result.setObjectName(f"testResult-{page_id}")
            result.setWordWrap(True)
            button.clicked.connect(lambda _c=False, p=page_id: self.start_test(p))
            self.test_buttons[page_id] = button
            self.test_results[page_id] = result
            row.addWidget(button)
            row.addWidget(result, 1)
            layout.addLayout(row)
        layout.addStretch(1)
        return page

    def _editor(self, f: Field) -> QWidget:
        from atlas_desk.config import env_var
        from atlas_desk.credentials import ENV_VARS

        if f.kind == "bool":
            box = QCheckBox(self._note(f), self)
            box.setChecked(bool(self._current(f)))
            box.setEnabled(f.key not in self.overridden and not self.demo)
            return box
        edit = QLineEdit(self)
        if f.is_secret:
            if f.secret:
                edit.setEchoMode(QLineEdit.EchoMode.Password)
            source = self.credentials.source(f.name)
            if source == "env":
                edit.setPlaceholderText(f"set by {ENV_VARS[f.name]}")
                edit.setEnabled(False)
            elif source == "keyring":
                edit.setPlaceholderText("stored in the system keyring; type to replace")
            elif source == "session":
                edit.setPlaceholderText("kept for this session only; type to replace")
            else:
                edit.setPlaceholderText("not set")
        else:
            value = self._current(f)
            if isinstance(value, tuple | list):
                value = ", ".join(value)
            edit.setText("" if value is None else str(value))
            if f.key in self.overridden:
                edit.setEnabled(False)
                edit.setToolTip(f"Set by the environment variable {env_var(f.section, f.name)}")
        if self.demo:
            edit.setReadOnly(True)
        return edit

    def _note(self, f: Field) -> str:
        from atlas_desk.config import env_var

        if not f.is_secret and f.key in self.overridden:
            return f"Set by {env_var(f.section, f.name)}; the environment wins over this file."
        return f.help

    def _current(self, f: Field) -> Any:
        return getattr(getattr(self.settings, f.section), f.name, None)

    # ----- reading the form -----

    def form_values(self) -> dict[str, dict[str, Any]]:
        """The non-secret values as ``{section: {key: value}}`` (raw, validated by ``config``)."""
        out: dict[str, dict[str, Any]] = {}
        for _page, (_title, fields) in PAGES.items():
            for f in fields:
                if f.is_secret or f.key in self.overridden:
                    continue
                editor = self.editors[f.key]
                value: Any
                if isinstance(editor, QCheckBox):
                    value = editor.isChecked()
                else:
                    assert isinstance(editor, QLineEdit)
                    text = editor.text().strip()
                    if f.kind == "list":
                        value = [part.strip() for part in text.split(",") if part.strip()]
                    elif f.kind == "int":
                        value = int(text) if text.isdigit() else (text or None)
                    elif f.kind == "float":
                        try:
                            value = float(text)
                        except ValueError:
                            value = text
                    else:
                        value = text
                out.setdefault(f.section, {})[f.name] = value
        return out

    def secret_values(self) -> dict[str, str]:
        """Secrets typed into the form (empty fields are left alone)."""
        out = {}
        for _page, (_title, fields) in PAGES.items():
            for f in fields:
                if f.is_secret:
                    editor = self.editors[f.key]
                    assert isinstance(editor, QLineEdit)
                    if editor.isEnabled() and editor.text():
                        out[f.name] = editor.text()
        return out

    def build_settings(self) -> Any:
        """Validated ``Settings`` from the form; raises ``ConfigError`` naming the bad key."""
        data = self.config.settings_to_dict(self.settings)
        for section, values in self.form_values().items():
            data.setdefault(section, {}).update(values)
            data[section] = {k: v for k, v in data[section].items() if v is not None and v != ""}
        return self.config.settings_from_dict(data, source="Settings", environ={}, path=self.config_path)

    # ----- saving -----

    def save(self) -> None:
        """Validate, write the config file, store the secrets, close."""
        if self.demo:
            self.reject()
            return
        try:
            settings = self.build_settings()
        except self.config.ConfigError as exc:
            self._warn("These settings cannot be saved", str(exc))
            return
        try:
            self.config.save_settings(settings, self.config_path)
        except OSError as exc:
            self._warn("The settings could not be written", f"{self.config_path}: {exc.strerror or exc}")
            return
        session_only = []
        for name, value in self.secret_values().items():
            if self.credentials.set(name, value) == "session":
                session_only.append(name)
        if session_only:
            self._warn(
                "Secrets kept for this session only",
                "No system keyring is available, so these are forgotten when the desk closes: "
                + ", ".join(session_only),
                QMessageBox.Icon.Warning,
            )
        self.settings = settings
        self.saved.emit(settings)
        self.accept()

    def _warn(self, title: str, text: str, icon: QMessageBox.Icon = QMessageBox.Icon.Critical) -> None:
        box = QMessageBox(icon, title, "", parent=self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(text)
        box.exec()

    # ----- testing -----

    def start_test(self, platform: str) -> None:
        """Run "Test connection" for a platform in the background (the button is disabled meanwhile)."""
        try:
            loop = asyncio.get_running_loop()  # the desk's qasync loop runs Qt's event handlers
        except RuntimeError:
            self.test_results[platform].setText("Cannot test now: the desk's event loop is not running.")
            return
        task = loop.create_task(self.test_connection(platform))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def test_connection(self, platform: str) -> str:
        """Try the entered values against the platform; show and return the result in plain words."""
        button, result = self.test_buttons[platform], self.test_results[platform]
        button.setEnabled(False)
        result.setText("Testing…")
        try:
            try:
                settings = self.build_settings()
            except self.config.ConfigError as exc:
                message = f"Fix this first: {exc}"
            else:
                secrets = {n: self.credentials.get(n) for n in _secret_names(platform)}
                secrets.update({k: v for k, v in self.secret_values().items() if k in secrets})
                message = await asyncio.to_thread(check_connection, platform, settings, secrets)
        except Exception as exc:  # the test must always end with words, never a stuck button
            log.exception("connection test for %s failed", platform)
            message = f"The test itself failed: {type(exc).__name__}"
        finally:
            button.setEnabled(True)
        result.setText(message)
        return message

    def done(self, result: int) -> None:
        for task in list(self._tasks):
            task.cancel()
        super().done(result)


def _secret_names(platform: str) -> list[str]:
    from atlas_desk.credentials import NAMES

    return [n for n in NAMES if n.startswith(platform + "_")]


# ----- connection checks (blocking; run in a worker thread) -----


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would forward the Authorization header to wherever a redirect points: never follow.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _request(url: str, headers: dict[str, str], data: bytes | None = None, timeout: float = 8.0) -> Any:
    opener = urllib.request.build_opener(_NoRedirect())
    req = urllib.request.Request(
        url, data=data, headers={"User-Agent": "atlas-desk/settings-test", **headers}
    )
    with opener.open(req, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8") or "null")


def _explain(exc: BaseException, what: str) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        if exc.code in (401, 403):
            return (
                f"{what} was refused (HTTP {exc.code}). Check that the credentials are complete and current."
            )
        if exc.code == 404:
            return f"{what}: not found (HTTP 404). Check the id or name."
        return f"{what}: the server answered HTTP {exc.code}."
    if isinstance(exc, urllib.error.URLError):
        return f"Could not reach the server ({exc.reason}). Check the endpoint and the network."
    if isinstance(exc, TimeoutError):
        return "The server did not answer within 8 seconds."
    if isinstance(exc, ValueError | json.JSONDecodeError):
        return f"{what}: the answer was not understood ({type(exc).__name__})."
    return f"{what}: {type(exc).__name__}."


def check_connection(platform: str, settings: Any, secrets: dict[str, str | None]) -> str:
    """Sign in to ``platform`` with the given settings and secrets; the outcome in plain sentences."""
    try:
        if platform == "discord":
            return _check_discord(settings.discord, secrets)
        if platform == "github":
            return _check_github(settings.github, secrets)
        return _check_reddit(settings.reddit, secrets)
    except Exception as exc:
        return _explain(exc, "Signing in")


def _check_discord(s: Any, secrets: dict[str, str | None]) -> str:
    token = secrets.get("discord_token")
    if not token:
        return "Enter the bot token first."
    headers = {"Authorization": f"Bot {token}"}
    me = _request(f"{s.api}/users/@me", headers)
    words = f"Signed in as the bot {me.get('username', '?')}."
    if s.guild_id:
        try:
            guild = _request(f"{s.api}/guilds/{s.guild_id}", headers)
        except Exception as exc:
            return words + " " + _explain(exc, "The server (guild id)")
        words += f" Server: {guild.get('name', '?')}."
    else:
        words += " Now set the server (guild) id."
    return words


def _check_github(s: Any, secrets: dict[str, str | None]) -> str:
    token = secrets.get("github_token")
    if not token:
        return "Enter the access token first."
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    me = _request(f"{s.api}/user", headers)
    words = f"Signed in as {me.get('login', '?')}."
    if s.repo:
        try:
            repo = _request(f"{s.api}/repos/{s.repo}", headers)
        except Exception as exc:
            return words + " " + _explain(exc, "The repository")
        words += f" Repository {repo.get('full_name', s.repo)} is reachable."
    else:
        words += " Now set the repository."
    return words


def _check_reddit(s: Any, secrets: dict[str, str | None]) -> str:
    client_id, client_secret = secrets.get("reddit_client_id"), secrets.get("reddit_client_secret")
    if not client_id or client_secret is None:
        return "Enter the app client id and secret first."
    if secrets.get("reddit_refresh_token"):
        grant = {"grant_type": "refresh_token", "refresh_token": secrets["reddit_refresh_token"] or ""}
    elif secrets.get("reddit_username") and secrets.get("reddit_password"):
        grant = {
            "grant_type": "password",
            "username": secrets["reddit_username"] or "",
            "password": secrets["reddit_password"] or "",
        }
    else:
        return "Enter a refresh token, or a username and password."
    www = s.url or "https://www.reddit.com"
    oauth = s.url or "https://oauth.reddit.com"
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
    token = _request(
        f"{www}/api/v1/access_token",
        {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
        urllib.parse.urlencode(grant).encode("ascii"),
    )
    access = token.get("access_token") if isinstance(token, dict) else None
    if not access:
        return "Reddit did not issue a token. Check the app id, secret and the chosen sign-in."
    headers = {"Authorization": f"bearer {access}"}
    me = _request(f"{oauth}/api/v1/me", headers)
    words = f"Signed in as u/{me.get('name', '?')}."
    if s.subreddit:
        try:
            about = _request(f"{oauth}/r/{s.subreddit}/about", headers)
        except Exception as exc:
            return words + " " + _explain(exc, "The subreddit")
        name = (
            about.get("data", {}).get("display_name", s.subreddit) if isinstance(about, dict) else s.subreddit
        )
        words += f" r/{name} is reachable."
    else:
        words += " Now set the subreddit."
    return words
