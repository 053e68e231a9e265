"""Logging: one logger per area, a rotating file in the user log dir, and redaction of secrets.

Areas log through ``logging.getLogger("atlas_desk.<area>")`` (store, outbox, inbox, discord, github, reddit,
sandbox, ui, cli, runtime, config, credentials, ...). ``setup_logging`` installs the handlers on the root
logger so third-party libraries' records (discord.py, aiohttp, PyGithub, praw) pass through the same
redaction.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

LOG_FILENAME = "atlas-desk.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUP_COUNT = 4  # with the live file: five files of 2 MB
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
REDACTED = "[redacted]"

# Token-looking text that must never reach a log even when it is not a secret we know about.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization headers and their values: "Authorization: Bot abc", "'Authorization': 'Bearer abc'"
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:(bot|bearer|token|basic)\s+)?[^\s'\",}]+"),
        r"\1\2 " + REDACTED,
    ),
    (re.compile(r"(?i)\b(bot|bearer)\s+[A-Za-z0-9._~+/=-]{12,}"), r"\1 " + REDACTED),
    # key=value / "key": "value" forms of the usual secret parameters
    (
        re.compile(
            r"(?i)\b([A-Za-z_]*(?:token|secret|password|passwd|api_key))"
            r"(['\"]?\s*[:=]\s*['\"]?)([^\s'\"&,;}]{3,})"
        ),
        r"\1\2" + REDACTED,
    ),
    # GitHub tokens
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), REDACTED),
    # Discord bot tokens: three base64url parts separated by dots
    (re.compile(r"\b[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{20,}"), REDACTED),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret value and token-looking string replaced by ``[redacted]``."""
    for value in secrets:
        if value and value in text:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _default_secrets() -> list[str]:
    from atlas_desk.credentials import known_secret_values

    return known_secret_values()


class RedactingFilter(logging.Filter):
    """Rewrites each record so its message, exception text and stack never carry a secret."""

    def __init__(self, secrets: Callable[[], Iterable[str]] | None = None) -> None:
        super().__init__()
        self._secrets = secrets or _default_secrets
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        self.clean(record)
        return True

    def clean(self, record: logging.LogRecord) -> None:
        """Redact ``record`` in place."""
        secrets = list(self._secrets())
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message, secrets)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            # Formatter.format uses exc_text when set, so the traceback is formatted (and cleaned) once here.
            record.exc_text = redact(self._formatter.formatException(record.exc_info), secrets)
        elif record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)


_previous_factory: Callable[..., logging.LogRecord] | None = None


def _install_record_factory(redactor: RedactingFilter) -> None:
    """Redact every record as it is created, so any handler (a test's, the UI's) only ever sees clean text."""
    global _previous_factory
    if _previous_factory is None:
        _previous_factory = logging.getLogRecordFactory()
    base = _previous_factory

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = base(*args, **kwargs)
        redactor.clean(record)
        return record

    logging.setLogRecordFactory(factory)


class _AtlasHandlerMixin:
    """Marks handlers installed by ``setup_logging`` so a second call replaces them."""


class _FileHandler(_AtlasHandlerMixin, logging.handlers.RotatingFileHandler):
    pass


class _StreamHandler(_AtlasHandlerMixin, logging.StreamHandler):  # type: ignore[type-arg]
    pass


QUIET_LIBRARIES = ("discord", "aiohttp", "github", "praw", "prawcore", "urllib3", "asyncio", "qasync")


def setup_logging(
    log_dir: Path,
    *,
    verbose: bool = False,
    stderr: bool = True,
    secrets: Callable[[], Iterable[str]] | None = None,
) -> Path:
    """Log to ``log_dir/atlas-desk.log`` (rotating, 5 × 2 MB) and optionally to stderr. Returns the file path.

    Calling it again replaces the handlers it installed before. ``secrets`` supplies secret values to redact
    (default: every value ``atlas_desk.credentials`` has seen).
    """
    log_dir = Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / LOG_FILENAME
    teardown_logging()

    redactor = RedactingFilter(secrets)
    formatter = logging.Formatter(FORMAT)
    handlers: list[logging.Handler] = []
    file_handler = _FileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8")
    file_handler.setLevel(logging.DEBUG)
    handlers.append(file_handler)
    if stderr:
        stream = _StreamHandler(sys.stderr)
        stream.setLevel(logging.DEBUG if verbose else logging.INFO)
        handlers.append(stream)

    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    _install_record_factory(redactor)
    logging.getLogger("atlas_desk").setLevel(logging.DEBUG if verbose else logging.INFO)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    discord_client = logging.getLogger("discord.client")
    if not any(isinstance(f, _NoVoiceNotice) for f in discord_client.filters):
        discord_client.addFilter(_NoVoiceNotice())
    return path


class _NoVoiceNotice(logging.Filter):
    """Drops discord.py's warning that voice is unsupported: the desk never joins voice channels, and a
    warning on every start teaches moderators to ignore warnings."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.levelno == logging.WARNING and "voice will NOT be supported" in str(record.msg))


def teardown_logging() -> None:
    """Remove and close the handlers ``setup_logging`` installed and restore the record factory."""
    global _previous_factory
    if _previous_factory is not None:
        logging.setLogRecordFactory(_previous_factory)
        _previous_factory = None
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _AtlasHandlerMixin):
            root.removeHandler(handler)
            handler.close()


__all__ = ["RedactingFilter", "redact", "setup_logging", "teardown_logging"]
