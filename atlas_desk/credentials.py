"""Secrets: tokens and passwords in the OS keyring (service ``atlas-desk``), never in files or logs.

Lookup order for each name: the environment variable (``ATLAS_DESK_<NAME>``), then a session-only in-memory
value, then the keyring. When there is no usable keyring backend (a headless Linux box without a Secret
Service makes keyring fall back to its ``fail`` backend, or an empty chainer), secrets are kept for this
session only and ``keyring_status()`` says so in plain words. Nothing here ever writes a secret to disk or
logs it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from typing import Literal

log = logging.getLogger("atlas_desk.credentials")

SERVICE = "atlas-desk"
NAMES: tuple[str, ...] = (
    "discord_token",
    "github_token",
    "reddit_client_id",
    "reddit_client_secret",
    "reddit_refresh_token",
    "reddit_username",
    "reddit_password",
)
ENV_VARS: dict[str, str] = {name: f"ATLAS_DESK_{name.upper()}" for name in NAMES}

# What each platform needs before it can connect (reddit: an app id + secret and either a refresh token or a
# script-app username/password pair).
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "discord": (("discord_token",),),
    "github": (("github_token",),),
    "reddit": (
        ("reddit_client_id", "reddit_client_secret", "reddit_refresh_token"),
        ("reddit_client_id", "reddit_client_secret", "reddit_username", "reddit_password"),
    ),
}

Source = Literal["env", "keyring", "session"]

# Every secret value this process has seen, so the log filter can redact it wherever it turns up.
_known_lock = threading.Lock()
_known: set[str] = set()
_MIN_REDACT_LEN = 4  # shorter values would redact ordinary words


def _remember(value: str) -> None:
    if len(value) >= _MIN_REDACT_LEN:
        with _known_lock:
            _known.add(value)


def known_secret_values() -> list[str]:
    """Secret values seen by this process (and those set in the environment), longest first."""
    for var in ENV_VARS.values():
        value = os.environ.get(var)
        if value:
            _remember(value)
    with _known_lock:
        return sorted(_known, key=len, reverse=True)


class Secret:
    """A secret string that never shows itself in ``repr``/``str``/f-strings; ``reveal()`` returns it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        _remember(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def _backend_usable(backend: object) -> tuple[bool, str]:
    """Whether a keyring backend can store anything, and its plain name."""
    from keyring.backends import chainer, fail

    name = f"{type(backend).__module__.removeprefix('keyring.backends.')}.{type(backend).__name__}"
    if isinstance(backend, fail.Keyring):
        return False, name
    try:
        from keyring.backends import null

        if isinstance(backend, null.Keyring):
            return False, name
    except ImportError:  # pragma: no cover - null backend always ships with keyring 25
        pass
    # An empty chainer silently does nothing on set: treat it as no keyring.
    if isinstance(backend, chainer.ChainerBackend) and not chainer.ChainerBackend.backends:
        return False, name
    return True, name


NO_KEYRING_MESSAGE = (
    "No system keyring is available (no Secret Service, KWallet or macOS/Windows keychain was found), "
    "so secrets entered now are kept for this session only and forgotten on exit. To keep them, start a "
    "keyring service (for example gnome-keyring) or set the ATLAS_DESK_DISCORD_TOKEN, "
    "ATLAS_DESK_GITHUB_TOKEN and ATLAS_DESK_REDDIT_* environment variables."
)


class Credentials:
    """Read and write the desk's secrets. Thread-safe; the keyring is only touched on demand."""

    def __init__(self, environ: Mapping[str, str] | None = None, *, use_keyring: bool = True) -> None:
        """``environ`` replaces ``os.environ`` for lookups; ``use_keyring=False`` leaves the keyring out."""
        self._environ = environ  # None: the live os.environ
        self._use_keyring = use_keyring
        self._session: dict[str, str] = {}
        self._lock = threading.Lock()
        self._keyring_failed = ""  # the plain reason, once a keyring call has failed

    # -- lookups --------------------------------------------------------------------------------------------

    def get(self, name: str) -> str | None:
        """The secret's value (env > session > keyring), or None if it is not set anywhere."""
        value, _ = self._lookup(name)
        return value

    def get_secret(self, name: str) -> Secret | None:
        """Like ``get`` but wrapped so it cannot leak through repr or formatting."""
        value = self.get(name)
        return Secret(value) if value is not None else None

    def source(self, name: str) -> Source | None:
        """Where the secret comes from: "env", "session", "keyring", or None if unset."""
        _, where = self._lookup(name)
        return where

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def missing_for(self, platform: str) -> list[str]:
        """The secret names a platform still needs (empty when one complete set is present)."""
        options = REQUIRED[platform]
        best: list[str] | None = None
        for option in options:
            missing = [n for n in option if not self.has(n)]
            if not missing:
                return []
            if best is None or len(missing) < len(best):
                best = missing
        return best or []

    def _lookup(self, name: str) -> tuple[str | None, Source | None]:
        self._check_name(name)
        environ = os.environ if self._environ is None else self._environ
        value = environ.get(ENV_VARS[name])
        if value:
            _remember(value)
            return value, "env"
        with self._lock:
            if name in self._session:
                return self._session[name], "session"
        value = self._keyring_get(name)
        if value is not None:
            _remember(value)
            return value, "keyring"
        return None, None

    # -- changes --------------------------------------------------------------------------------------------

    def set(self, name: str, value: str) -> Source:
        """Store a secret: in the keyring if possible, else for this session only. Returns where it went."""
        self._check_name(name)
        _remember(value)
        available = self._use_keyring and keyring_status()[0]
        if available:
            import keyring
            from keyring.errors import KeyringError

            try:
                keyring.set_password(SERVICE, name, value)
            except KeyringError as exc:
                self._note_failure(exc)
            else:
                with self._lock:
                    self._session.pop(name, None)
                log.info("stored %s in the system keyring", name)
                return "keyring"
        with self._lock:
            self._session[name] = value
        log.warning("kept %s for this session only: no usable system keyring", name)
        return "session"

    def delete(self, name: str) -> None:
        """Forget a secret in the session store and the keyring (an environment variable stays in force)."""
        self._check_name(name)
        with self._lock:
            self._session.pop(name, None)
        if not (self._use_keyring and keyring_status()[0]):
            return
        import keyring
        from keyring.errors import KeyringError, PasswordDeleteError

        try:
            keyring.delete_password(SERVICE, name)
        except PasswordDeleteError:
            pass  # it was not there
        except KeyringError as exc:
            self._note_failure(exc)

    # -- helpers --------------------------------------------------------------------------------------------

    def _keyring_get(self, name: str) -> str | None:
        if not (self._use_keyring and keyring_status()[0]):
            return None
        import keyring
        from keyring.errors import KeyringError

        try:
            return keyring.get_password(SERVICE, name)
        except KeyringError as exc:
            self._note_failure(exc)
            return None

    def _note_failure(self, exc: Exception) -> None:
        reason = type(exc).__name__
        if reason != self._keyring_failed:
            # Only the exception type: a backend's message could echo what it was given.
            log.warning("the system keyring failed (%s); using the session store", reason)
            self._keyring_failed = reason

    @staticmethod
    def _check_name(name: str) -> None:
        if name not in ENV_VARS:
            raise KeyError(f"unknown secret name {name!r} (known: {', '.join(NAMES)})")


def keyring_status(*, probe: bool = False) -> tuple[bool, str]:
    """Whether a usable keyring backend exists, and a plain sentence saying so.

    ``probe`` also makes one harmless read, which catches a backend that exists but fails (locked, no D-Bus).
    """
    import keyring
    from keyring.errors import KeyringError

    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring config file must not stop the desk
        return False, f"The system keyring could not be loaded ({type(exc).__name__}). " + NO_KEYRING_MESSAGE
    usable, name = _backend_usable(backend)
    if not usable:
        return False, NO_KEYRING_MESSAGE
    if probe:
        try:
            backend.get_password(SERVICE, "__probe__")
        except KeyringError as exc:
            return (
                False,
                f"The system keyring ({name}) refused access ({type(exc).__name__}). " + NO_KEYRING_MESSAGE,
            )
    return True, f"Secrets are stored in the system keyring ({name}), service {SERVICE!r}."


__all__ = [
    "ENV_VARS",
    "NAMES",
    "REQUIRED",
    "SERVICE",
    "Credentials",
    "Secret",
    "keyring_status",
    "known_secret_values",
]
