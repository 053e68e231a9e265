"""Test harness shared by every test: offscreen Qt, an in-memory keyring, temporary data dirs,
and an asyncio loop (qasync, on the Qt application) that re-raises exceptions the loop swallowed."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Never let a test touch the real user's config, data or keyring.
for _var in list(os.environ):
    if _var.startswith("ATLAS_DESK_"):
        del os.environ[_var]

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "reference"


import keyring  # noqa: E402
from keyring.backend import KeyringBackend  # noqa: E402


class MemoryKeyring(KeyringBackend):
    """A keyring that forgets everything at the end of the test."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point config, data, state and log dirs at the test's temporary directory."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local/state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    return home


@pytest.fixture(scope="session", autouse=True)
def guard_qt_binding_refcounts() -> None:
    """The desk's start-up guard against PySide6 6.12's lost references on Python 3.11 (see ui/compat.py);
    a test session emits enough signals to need it as much as the desk does."""
    from atlas_desk.ui.compat import guard_singleton_refcounts

    guard_singleton_refcounts()


@pytest.fixture(autouse=True)
def collect_garbage_on_the_main_thread() -> Iterator[None]:
    """Collect each test's garbage here, on the GUI thread.

    Otherwise a Qt object left unreachable by one test may be collected later by a worker thread of another
    (a connector's), and Qt rightly warns that its timers "cannot be stopped from another thread".
    """
    yield
    if "PySide6" in sys.modules:
        gc.collect()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def loop_errors() -> list[dict[str, object]]:
    return []


@pytest.fixture
def aloop(loop_errors: list[dict[str, object]]) -> Iterator[asyncio.AbstractEventLoop]:
    """A plain asyncio loop for Qt-free tests; fails the test if the loop saw an unhandled exception."""
    loop = asyncio.new_event_loop()
    loop.set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))
    asyncio.set_event_loop(loop)
    yield loop
    _close_loop(loop)
    asyncio.set_event_loop(None)
    _raise_loop_errors(loop_errors)


@pytest.fixture
def qloop(qapp: object, loop_errors: list[dict[str, object]]) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop on the test's QApplication, set as the current loop; re-raises swallowed errors."""
    import qasync

    loop = qasync.QEventLoop(qapp)
    loop.set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))
    asyncio.set_event_loop(loop)
    yield loop
    _close_loop(loop)
    asyncio.set_event_loop(None)
    _raise_loop_errors(loop_errors)


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending and not loop.is_running():
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    if not loop.is_running():
        loop.run_until_complete(loop.shutdown_asyncgens())
    loop.close()


def _raise_loop_errors(errors: list[dict[str, object]]) -> None:
    if errors:
        first = errors[0]
        exc = first.get("exception")
        if isinstance(exc, BaseException):
            raise AssertionError(f"asyncio loop error: {first.get('message')}") from exc
        raise AssertionError(f"asyncio loop error: {first}")
