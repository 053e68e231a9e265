"""Typed settings: the TOML config file, environment overrides and the user directories.

The file lives under platformdirs' config dir (``default_config_path()``) unless ``--config`` names another.
Every key of the file can be overridden by an environment variable ``ATLAS_DESK_<SECTION>_<KEY>`` (for
example ``ATLAS_DESK_DISCORD_API`` or ``ATLAS_DESK_GITHUB_POLL_SECONDS``); the environment wins over the file.
Lists are comma-separated in the environment, booleans are ``1/true/yes/on`` or ``0/false/no/off``.

Secrets are never settings: they live in the OS keyring (``atlas_desk.credentials``).
Errors are ``ConfigError`` with a message that names the bad key and where it came from, in plain words.
"""

from __future__ import annotations

import contextlib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

# The directories live in atlas_desk.dirs (the desk needs them before its first paint); re-exported here.
from atlas_desk.dirs import (  # noqa: F401
    APP_DIR_NAME,
    CONFIG_FILENAME,
    DEMO_SUBDIR,
    ENV_PREFIX,
    STORE_FILENAME,
    data_dir,
    default_config_path,
    log_dir,
    store_path,
)

# Real platform endpoints, used when the config leaves them out.
DISCORD_API_DEFAULT = "https://discord.com/api/v10"
DISCORD_GATEWAY_DEFAULT = "wss://gateway.discord.gg"
GITHUB_API_DEFAULT = "https://api.github.com"
REDDIT_URL_DEFAULT = "https://www.reddit.com"


class ConfigError(Exception):
    """A settings problem, described in plain words naming the key and the file (or environment variable)."""

    def __init__(self, message: str, *, key: str = "", source: str = "") -> None:
        super().__init__(f"{source}: {message}" if source else message)
        self.key = key
        self.source = source


# ----------------------------------------------------------------------------------------------------
# Settings dataclasses. Community ids are kept as strings (Discord snowflakes exceed what some tools handle as
# numbers); the file may give them as integers or strings.


@dataclass(frozen=True, slots=True)
class DiscordSettings:
    api: str = DISCORD_API_DEFAULT
    gateway: str = DISCORD_GATEWAY_DEFAULT
    guild_id: str = ""
    watch_channels: tuple[str, ...] = ()  # empty: every readable text channel
    tickets_forum_id: str = ""
    support_channel_id: str = ""
    relay: bool = True  # this process relays tickets (only one process should)

    @property
    def configured(self) -> bool:
        """True when the community (guild) is set; the token is checked separately."""
        return bool(self.guild_id)


@dataclass(frozen=True, slots=True)
class GitHubSettings:
    api: str = GITHUB_API_DEFAULT
    repo: str = ""  # "owner/name"
    project_owner: str = ""
    project_number: int | None = None
    poll_seconds: int = 60

    @property
    def configured(self) -> bool:
        """True when the repository is set; the token is checked separately."""
        return bool(self.repo)

    @property
    def project_configured(self) -> bool:
        return bool(self.project_owner) and self.project_number is not None


@dataclass(frozen=True, slots=True)
class RedditSettings:
    url: str = ""  # empty: the real reddit.com endpoints; otherwise one base for oauth, www and short URLs
    subreddit: str = ""
    poll_seconds: int = 30

    @property
    def configured(self) -> bool:
        """True when the subreddit is set; the app credentials are checked separately."""
        return bool(self.subreddit)


@dataclass(frozen=True, slots=True)
class SlaSettings:
    first_response_hours: float = 24.0
    warn_before_hours: float = 2.0


@dataclass(frozen=True, slots=True)
class DeskSettings:
    moderator_handles: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    keep_in_tray: bool = False


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    """Desktop notifications (rules in ``atlas_desk.core.notify``). Whether closing the window keeps the desk
    in the tray is ``desk.keep_in_tray``."""

    popups: bool = True  # desktop pop-ups at all (the notification centre and tray always list them)
    muted_kinds: tuple[str, ...] = ()  # kinds the desk ignores entirely
    quiet_hours: str = ""  # "22:00-07:00", local time; empty: none
    do_not_disturb: bool = False
    urgent_kinds: tuple[str, ...] = ("sla_breach",)  # still pop up in quiet hours and do-not-disturb
    sound: bool = False
    sound_kinds: tuple[str, ...] = ("new_ticket", "sla_breach")
    group_seconds: int = 60  # a burst within this becomes one summary; at most one pop-up per kind per window


@dataclass(frozen=True, slots=True)
class Settings:
    discord: DiscordSettings = field(default_factory=DiscordSettings)
    github: GitHubSettings = field(default_factory=GitHubSettings)
    reddit: RedditSettings = field(default_factory=RedditSettings)
    sla: SlaSettings = field(default_factory=SlaSettings)
    desk: DeskSettings = field(default_factory=DeskSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    # Where the settings came from; not written back.
    path: Path | None = field(default=None, compare=False)
    # Dotted keys whose value came from the environment (a settings editor shows them as overridden).
    overridden: frozenset[str] = field(default=frozenset(), compare=False)

    def configured_platforms(self) -> list[str]:
        """Names of the platforms whose community settings are filled in, in a fixed order."""
        return [name for name in ("discord", "github", "reddit") if getattr(self, name).configured]


SECTIONS: dict[str, type[Any]] = {
    "discord": DiscordSettings,
    "github": GitHubSettings,
    "reddit": RedditSettings,
    "sla": SlaSettings,
    "desk": DeskSettings,
    "notifications": NotificationSettings,
}


# ----------------------------------------------------------------------------------------------------
# Validation: one function per kind of value. Each takes the raw value (from TOML or, as text, from the
# environment) and returns the typed value or raises _Invalid with the phrase that follows the key name.


class _Invalid(Exception):
    pass


def _show(value: object) -> str:
    return repr(value)


def _text(value: object, *, from_env: bool) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"must be a string, got {_show(value)}")
    return value.strip()


def _url(schemes: tuple[str, ...]) -> Callable[[object, bool], str]:
    def check(value: object, from_env: bool) -> str:
        text = _text(value, from_env=from_env)
        if not text:
            return text
        if not any(text.startswith(s + "://") for s in schemes) or len(text) <= len(text.split("://")[0]) + 3:
            raise _Invalid(
                f"must be a URL starting with {' or '.join(s + '://' for s in schemes)}, got {_show(value)}"
            )
        return text.rstrip("/")

    return check


def _snowflake(value: object, from_env: bool) -> str:
    if isinstance(value, bool):
        raise _Invalid(f"must be a numeric id, got {_show(value)}")
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not (value.strip() == "" or value.strip().isdigit()):
        raise _Invalid(f"must be a numeric id, got {_show(value)}")
    return value.strip()


def _snowflakes(value: object, from_env: bool) -> tuple[str, ...]:
    items = _split(value) if from_env and isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise _Invalid(f"must be a list of numeric ids, got {_show(value)}")
    out = []
    for item in items:
        try:
            out.append(_snowflake(item, from_env))
        except _Invalid:
            raise _Invalid(f"must be a list of numeric ids, got {_show(item)} in the list") from None
    return tuple(x for x in out if x)


def _strings(value: object, from_env: bool) -> tuple[str, ...]:
    items = _split(value) if from_env and isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(x, str) for x in items):
        raise _Invalid(f"must be a list of strings, got {_show(value)}")
    return tuple(x.strip() for x in items if x.strip())


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _bool(value: object, from_env: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_env and isinstance(value, str):
        if value.strip().lower() in _TRUE:
            return True
        if value.strip().lower() in _FALSE:
            return False
    raise _Invalid(f"must be true or false, got {_show(value)}")


def _int_at_least(minimum: int) -> Callable[[object, bool], int]:
    def check(value: object, from_env: bool) -> int:
        if from_env and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise _Invalid(f"must be an integer ≥ {minimum}, got {_show(value)}")
        return value

    return check


def _optional_positive_int(value: object, from_env: bool) -> int | None:
    if from_env and isinstance(value, str) and value.strip() == "":
        return None
    return _int_at_least(1)(value, from_env)


def _positive_number(value: object, from_env: bool) -> float:
    if from_env and isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise _Invalid(f"must be a number > 0, got {_show(value)}")
    return float(value)


_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


def _repo(value: object, from_env: bool) -> str:
    text = _text(value, from_env=from_env)
    if text and not _REPO_RE.match(text):
        raise _Invalid(f'must be "owner/name", got {_show(value)}')
    return text


def _subreddit(value: object, from_env: bool) -> str:
    text = _text(value, from_env=from_env)
    if text.lower().startswith("r/"):
        text = text[2:]
    if text and not re.fullmatch(r"[A-Za-z0-9_]{2,21}", text):
        raise _Invalid(f'must be a subreddit name like "AtlasApp", got {_show(value)}')
    return text


def _plain_text(value: object, from_env: bool) -> str:
    return _text(value, from_env=from_env)


def _notification_kinds(value: object, from_env: bool) -> tuple[str, ...]:
    from atlas_desk.core.notify import KIND_NAMES  # the kinds live with their rules

    names = _strings(value, from_env)
    unknown = [n for n in names if n not in KIND_NAMES]
    if unknown:
        raise _Invalid(f"has unknown kind {unknown[0]!r} (known: {', '.join(KIND_NAMES)})")
    return tuple(dict.fromkeys(names))


def _quiet_hours(value: object, from_env: bool) -> str:
    from atlas_desk.core.notify import parse_quiet_hours

    text = _text(value, from_env=from_env)
    try:
        parse_quiet_hours(text)
    except ValueError:
        raise _Invalid(f'must be a time span like "22:00-07:00" (or empty), got {_show(value)}') from None
    return text.replace(" ", "")


_HTTP = _url(("http", "https"))
_WS = _url(("ws", "wss"))

# section -> key -> validator. With the dataclasses this is the public contract; a test keeps them in step.
VALIDATORS: dict[str, dict[str, Callable[[object, bool], Any]]] = {
    "discord": {
        "api": _HTTP,
        "gateway": _WS,
        "guild_id": _snowflake,
        "watch_channels": _snowflakes,
        "tickets_forum_id": _snowflake,
        "support_channel_id": _snowflake,
        "relay": _bool,
    },
    "github": {
        "api": _HTTP,
        "repo": _repo,
        "project_owner": _plain_text,
        "project_number": _optional_positive_int,
        "poll_seconds": _int_at_least(5),
    },
    "reddit": {
        "url": _HTTP,
        "subreddit": _subreddit,
        "poll_seconds": _int_at_least(5),
    },
    "sla": {
        "first_response_hours": _positive_number,
        "warn_before_hours": _positive_number,
    },
    "desk": {
        "moderator_handles": _strings,
        "keywords": _strings,
        "keep_in_tray": _bool,
    },
    "notifications": {
        "popups": _bool,
        "muted_kinds": _notification_kinds,
        "quiet_hours": _quiet_hours,
        "do_not_disturb": _bool,
        "urgent_kinds": _notification_kinds,
        "sound": _bool,
        "sound_kinds": _notification_kinds,
        "group_seconds": _int_at_least(5),
    },
}

# Empty endpoint strings fall back to the real platform.
_ENDPOINT_DEFAULTS = {
    ("discord", "api"): DISCORD_API_DEFAULT,
    ("discord", "gateway"): DISCORD_GATEWAY_DEFAULT,
    ("github", "api"): GITHUB_API_DEFAULT,
}


def env_var(section: str, key: str) -> str:
    """The environment variable that overrides ``section.key``."""
    return f"{ENV_PREFIX}{section.upper()}_{key.upper()}"


def settings_from_dict(
    data: Mapping[str, Any],
    *,
    source: str = "",
    environ: Mapping[str, str] | None = None,
    path: Path | None = None,
) -> Settings:
    """Validate a TOML-shaped dict (plus environment overrides) into ``Settings``.

    ``source`` names where ``data`` came from in error messages. Unknown sections and keys are errors.
    """
    for section, body in data.items():
        if section not in SECTIONS:
            raise ConfigError(
                f"unknown section [{section}] (known: {', '.join('[' + s + ']' for s in SECTIONS)})",
                key=section,
                source=source,
            )
        if not isinstance(body, Mapping):
            raise ConfigError(f"[{section}] must be a table, got {_show(body)}", key=section, source=source)
        for key in body:
            if key not in VALIDATORS[section]:
                raise ConfigError(
                    f"unknown key {section}.{key} (known: {', '.join(VALIDATORS[section])})",
                    key=f"{section}.{key}",
                    source=source,
                )

    overridden: set[str] = set()
    built: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        values: dict[str, Any] = {}
        body = data.get(section, {})
        for key, check in VALIDATORS[section].items():
            dotted = f"{section}.{key}"
            var = env_var(section, key)
            if environ is not None and var in environ:
                raw: object = environ[var]
                where, from_env = f"environment variable {var}", True
                overridden.add(dotted)
            elif key in body:
                raw, where, from_env = body[key], source, False
            else:
                continue
            try:
                value = check(raw, from_env)
            except _Invalid as exc:
                raise ConfigError(f"{dotted} {exc}", key=dotted, source=where) from None
            if value == "" and (section, key) in _ENDPOINT_DEFAULTS:
                value = _ENDPOINT_DEFAULTS[(section, key)]
            values[key] = value
        built[section] = cls(**values)

    sla: SlaSettings = built["sla"]
    if sla.warn_before_hours >= sla.first_response_hours:
        raise ConfigError(
            f"sla.warn_before_hours must be less than sla.first_response_hours "
            f"({sla.warn_before_hours:g} ≥ {sla.first_response_hours:g})",
            key="sla.warn_before_hours",
            source=source,
        )
    gh: GitHubSettings = built["github"]
    if gh.project_owner and gh.project_number is None:
        raise ConfigError(
            "github.project_number must be set when github.project_owner is",
            key="github.project_number",
            source=source,
        )
    if gh.project_number is not None and not gh.project_owner:
        raise ConfigError(
            "github.project_owner must be set when github.project_number is",
            key="github.project_owner",
            source=source,
        )
    return Settings(**built, path=path, overridden=frozenset(overridden))


def load_settings(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    must_exist: bool = False,
) -> Settings:
    """Read the config file (default: ``default_config_path()``) and apply environment overrides.

    A missing default file means defaults. ``must_exist`` (an explicit ``--config``) makes a missing file an
    error. ``environ`` defaults to ``os.environ``; pass ``{}`` to read the file alone (as a settings editor
    does).
    """
    path = Path(path) if path is not None else default_config_path()
    env = os.environ if environ is None else environ
    source = f"config file {path}"
    data: dict[str, Any] = {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        if must_exist:
            raise ConfigError(f"config file {path} does not exist", source="") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", source=source) from None
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror or exc}", source=source) from None
    return settings_from_dict(data, source=source, environ=env, path=path)


def settings_to_dict(settings: Settings) -> dict[str, dict[str, Any]]:
    """The TOML-ready form of ``settings`` (every key, except unset optional numbers)."""
    out: dict[str, dict[str, Any]] = {}
    for section in SECTIONS:
        obj = getattr(settings, section)
        body: dict[str, Any] = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            if value is None:
                continue  # TOML has no null: leaving the key out means "not set"
            body[f.name] = list(value) if isinstance(value, tuple) else value
        out[section] = body
    return out


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write ``settings`` as TOML, atomically (a temporary file renamed over the old one)."""
    import tomli_w

    target = Path(path) if path is not None else (settings.path or default_config_path())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(tomli_w.dumps(settings_to_dict(settings)), encoding="utf-8")
    os.replace(tmp, target)
    return target


def with_section(settings: Settings, section: str, **changes: Any) -> Settings:
    """A copy of ``settings`` with some keys of one section changed (validated like file values)."""
    data = settings_to_dict(settings)
    data[section].update({k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()})
    data[section] = {k: v for k, v in data[section].items() if v is not None}
    return settings_from_dict(data, source="settings", environ={}, path=settings.path)


# ----------------------------------------------------------------------------------------------------
# Directories


# default_config_path, data_dir, store_path and log_dir: see atlas_desk.dirs.


__all__ = [
    "ConfigError",
    "DeskSettings",
    "DiscordSettings",
    "GitHubSettings",
    "NotificationSettings",
    "RedditSettings",
    "Settings",
    "SlaSettings",
    "data_dir",
    "default_config_path",
    "env_var",
    "load_settings",
    "log_dir",
    "save_settings",
    "settings_from_dict",
    "settings_to_dict",
    "store_path",
    "with_section",
]
