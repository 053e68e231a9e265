"""A second launch on the same data dir raises the first desk; different data dirs run side by side."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QDir
from PySide6.QtWidgets import QWidget

from atlas_desk import APP_ID
from atlas_desk.ui.single_instance import SingleInstance, raise_window, server_name


@pytest.fixture
def instances(qapp: object) -> Iterator[list[SingleInstance]]:
    """Every guard a test makes, closed afterwards so no socket file outlives the test."""
    made: list[SingleInstance] = []
    yield made
    for instance in made:
        instance.close()


def _guard(instances: list[SingleInstance], data_dir: Path) -> SingleInstance:
    instance = SingleInstance(APP_ID, data_dir)
    instances.append(instance)
    return instance


def test_second_launch_on_same_data_dir_raises_the_first(
    qtbot: object, instances: list[SingleInstance], tmp_path: Path
) -> None:
    raised: list[str] = []
    first = _guard(instances, tmp_path / "data")
    assert not first.try_activate_existing()  # nobody there yet: the first desk starts
    assert first.listen(lambda: raised.append("first"))

    # The same dir spelled differently (relative parts, a trailing component) is the same desk.
    second = _guard(instances, tmp_path / "data" / ".." / "data")
    assert second.name == first.name
    assert second.try_activate_existing()
    qtbot.waitUntil(lambda: raised == ["first"], timeout=5000)  # type: ignore[attr-defined]

    # And a third launch raises it again.
    assert _guard(instances, tmp_path / "data").try_activate_existing()
    qtbot.waitUntil(lambda: raised == ["first", "first"], timeout=5000)  # type: ignore[attr-defined]


SECOND_LAUNCH = """
import sys
from pathlib import Path
from PySide6.QtCore import QCoreApplication
from atlas_desk import APP_ID
from atlas_desk.ui.single_instance import SingleInstance
app = QCoreApplication(sys.argv[:1])
sys.exit(0 if SingleInstance(APP_ID, Path(sys.argv[1])).try_activate_existing() else 3)
"""


def test_second_launch_from_another_process(
    qtbot: object, instances: list[SingleInstance], tmp_path: Path
) -> None:
    raised: list[bool] = []
    assert _guard(instances, tmp_path / "data").listen(lambda: raised.append(True))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    launch = [sys.executable, "-c", SECOND_LAUNCH]
    result = subprocess.run([*launch, str(tmp_path / "data")], env=env, timeout=60, check=False)
    assert result.returncode == 0  # it found the running desk and would exit
    qtbot.waitUntil(lambda: raised == [True], timeout=5000)  # type: ignore[attr-defined]
    # A launch on another data dir finds nobody and would start its own desk.
    other = subprocess.run([*launch, str(tmp_path / "other")], env=env, timeout=60, check=False)
    assert other.returncode == 3
    assert raised == [True]


def test_second_listener_on_a_live_name_refuses(instances: list[SingleInstance], tmp_path: Path) -> None:
    first = _guard(instances, tmp_path / "data")
    assert first.listen()
    other = _guard(instances, tmp_path / "data")
    assert not other.listen()  # it must not steal the socket of a live desk
    assert first.listening and not other.listening


def test_different_data_dirs_run_side_by_side(
    qtbot: object, instances: list[SingleInstance], tmp_path: Path
) -> None:
    raised: list[str] = []
    a = _guard(instances, tmp_path / "a")
    b = _guard(instances, tmp_path / "b")
    assert a.name != b.name
    assert not a.try_activate_existing()
    assert a.listen(lambda: raised.append("a"))
    assert not b.try_activate_existing()  # a's desk does not answer for b's data dir
    assert b.listen(lambda: raised.append("b"))
    assert a.listening and b.listening

    assert _guard(instances, tmp_path / "b").try_activate_existing()
    qtbot.waitUntil(lambda: raised == ["b"], timeout=5000)  # type: ignore[attr-defined]


@pytest.mark.skipif(sys.platform == "win32", reason="named pipes leave no file behind")
def test_stale_socket_file_does_not_block_start(
    qtbot: object, instances: list[SingleInstance], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    name = server_name(APP_ID, data)
    path = Path(QDir.tempPath()) / name
    # What a killed desk leaves behind: a bound socket file that nobody listens on.
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()
    assert path.exists()
    try:
        guard = _guard(instances, data)
        assert not guard.try_activate_existing()  # nobody answers: start
        raised: list[bool] = []
        assert guard.listen(lambda: raised.append(True))
        assert guard.listening
        assert _guard(instances, data).try_activate_existing()
        qtbot.waitUntil(lambda: raised == [True], timeout=5000)  # type: ignore[attr-defined]
    finally:
        path.unlink(missing_ok=True)


def test_close_frees_the_name(instances: list[SingleInstance], tmp_path: Path) -> None:
    first = _guard(instances, tmp_path / "data")
    assert first.listen()
    first.close()
    assert not first.listening
    assert not _guard(instances, tmp_path / "data").try_activate_existing()
    assert _guard(instances, tmp_path / "data").listen()


def test_unknown_messages_do_not_raise(
    qtbot: object, instances: list[SingleInstance], tmp_path: Path
) -> None:
    from PySide6.QtNetwork import QLocalSocket

    raised: list[bool] = []
    guard = _guard(instances, tmp_path / "data")
    assert guard.listen(lambda: raised.append(True))
    client = QLocalSocket()
    client.connectToServer(guard.name)
    assert client.waitForConnected(1000)
    client.write(b"open https://example.invalid\nraise\n")
    # The raise after the junk line still counts, the junk line does not.
    qtbot.waitUntil(lambda: raised == [True], timeout=5000)  # type: ignore[attr-defined]
    client.abort()


def test_server_name_is_short_and_stable(tmp_path: Path) -> None:
    name = server_name(APP_ID, tmp_path / "data")
    assert name == server_name(APP_ID, tmp_path / "data")
    assert name.startswith(APP_ID + "-")
    # Unix socket paths are limited to about 104 bytes including the temp dir.
    assert len(name) <= 40


def test_raise_window_unminimises(qtbot: object) -> None:
    from PySide6.QtCore import Qt

    window = QWidget()
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.showMinimized()
    raise_window(window)
    assert window.isVisible()
    assert not window.windowState() & Qt.WindowState.WindowMinimized


@pytest.mark.skipif(sys.platform == "win32", reason="Unix socket permissions")
def test_socket_is_private_to_the_user(instances: list[SingleInstance], tmp_path: Path) -> None:
    guard = _guard(instances, tmp_path / "data")
    assert guard.listen()
    mode = (Path(QDir.tempPath()) / guard.name).stat().st_mode & 0o777
    assert mode == 0o600
