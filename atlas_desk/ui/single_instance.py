"""One desk per data dir: a second launch raises the running window instead of opening the same store twice.

The running desk listens on a local socket (a Unix domain socket in the temp dir, a named pipe on Windows)
whose name is derived from a hash of the user and the resolved data dir, so desks on different ``--data-dir``s
(or the demo next to the real desk) run side by side. A second launch connects, sends ``raise`` and exits.

Use it after the QApplication exists and before the store is opened::

    instance = SingleInstance(APP_ID, data_dir)
    if instance.try_activate_existing():
        return 0
    instance.listen(lambda: raise_window(window))
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from PySide6.QtNetwork import QLocalServer, QLocalSocket

# QtNetwork (~10 ms with its enums) is imported only when a socket is needed: at start-up on Linux, a missing
# socket file already says that no desk serves this data dir, and ``listen`` runs after the first paint.

log = logging.getLogger("atlas_desk.ui")

RAISE = b"raise"
ACK = b"ok"
# Local sockets connect at once or fail at once; the timeout only covers a desk too busy to accept.
CONNECT_TIMEOUT_MS = 1000
MAX_MESSAGE = 256


def server_name(app_id: str, data_dir: Path) -> str:
    """The local socket name for a desk on ``data_dir``: stable across launches, short enough for sun_path."""
    try:
        resolved = Path(data_dir).expanduser().resolve()
    except OSError:  # a path that cannot be resolved still names one desk
        resolved = Path(data_dir).expanduser().absolute()
    # The user is part of the key: another account's desk on a shared path is not ours to raise.
    user = str(os.getuid()) if hasattr(os, "getuid") else os.environ.get("USERNAME", "")
    digest = hashlib.sha256(f"{user}\0{resolved}".encode()).hexdigest()[:16]
    return f"{app_id}-{digest}"


class SingleInstance(QObject):
    """The single-instance guard of one desk; ``raise_requested`` fires when another launch asks for it."""

    raise_requested = Signal()

    def __init__(self, app_id: str, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = server_name(app_id, data_dir)
        self._server: QLocalServer | None = None
        self._buffers: dict[QLocalSocket, bytes] = {}

    # -- the second launch -------------------------------------------------------------------------------

    def try_activate_existing(self, timeout_ms: int = CONNECT_TIMEOUT_MS) -> bool:
        """If a desk already serves this data dir, ask it to raise its window and return True."""
        if self._no_socket_file():
            log.debug("no running desk on %s: no socket file", self.name)
            return False
        from PySide6.QtNetwork import QLocalSocket

        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if not socket.waitForConnected(timeout_ms):
            # No server, or a stale socket file left by a desk that crashed: nobody answers, so we start.
            log.debug("no running desk on %s: %s", self.name, socket.errorString())
            return False
        socket.write(RAISE + b"\n")
        if not socket.waitForBytesWritten(timeout_ms):
            # Connected means a live desk holds the data dir even if it is slow to read: do not open it twice.
            log.warning("the running desk did not take the raise request: %s", socket.errorString())
        socket.disconnectFromServer()
        if socket.state() != QLocalSocket.LocalSocketState.UnconnectedState:
            socket.waitForDisconnected(timeout_ms)
        log.info("another desk is running on this data dir; asked it to raise its window")
        return True

    def _no_socket_file(self) -> bool:
        """True when, on Linux, the socket file a running desk would listen on does not exist.

        Qt puts a relative server name's socket in ``QDir::tempPath()`` ($TMPDIR, else /tmp). Elsewhere (named
        pipes, macOS's own temp dir) this answers False and the connection attempt decides.
        """
        if not sys.platform.startswith("linux"):
            return False
        temp = os.environ.get("TMPDIR", "").rstrip("/") or "/tmp"
        try:
            return not os.path.exists(os.path.join(temp, self.name))
        except (OSError, ValueError):
            return False

    # -- the running desk --------------------------------------------------------------------------------

    def listen(self, on_raise: Callable[[], None] | None = None) -> bool:
        """Serve raise requests, calling ``on_raise`` for each; False if another live desk already listens."""
        if on_raise is not None:
            self.raise_requested.connect(on_raise)
        if self._server is not None:
            return True
        from PySide6.QtNetwork import QAbstractSocket, QLocalServer

        # Default socket options on purpose: Qt's access options bind elsewhere and rename over the name,
        # which would silently take the socket of a live desk; a plain bind fails with "address in use".
        server = QLocalServer(self)
        if not server.listen(self.name):
            if server.serverError() != QAbstractSocket.SocketError.AddressInUseError:
                log.warning("cannot listen for other launches (%s): %s", self.name, server.errorString())
                return False
            if self._someone_answers():
                log.warning("another desk already listens on %s", self.name)
                return False
            # A socket file nobody answers on: left behind by a desk that was killed. Remove it and retry.
            log.info("removing the stale single-instance socket %s", self.name)
            QLocalServer.removeServer(self.name)
            if not server.listen(self.name):
                log.warning("cannot listen for other launches (%s): %s", self.name, server.errorString())
                return False
        if sys.platform != "win32":
            # Only this user may ask this desk for anything (the umask may leave the socket group-writable).
            try:
                os.chmod(server.fullServerName(), 0o600)
            except OSError as exc:
                log.debug("cannot restrict the single-instance socket: %s", exc.strerror)
        server.newConnection.connect(self._on_new_connection)
        self._server = server
        log.debug("listening for other launches on %s", server.fullServerName())
        return True

    @property
    def listening(self) -> bool:
        """Whether this desk serves raise requests."""
        return self._server is not None and self._server.isListening()

    def close(self) -> None:
        """Stop listening (the socket file is removed)."""
        if self._server is not None:
            self._server.close()
            self._server.deleteLater()
            self._server = None
        for socket in list(self._buffers):
            socket.abort()
            socket.deleteLater()
        self._buffers.clear()

    def _someone_answers(self) -> bool:
        from PySide6.QtNetwork import QLocalSocket

        probe = QLocalSocket()
        probe.connectToServer(self.name)
        alive = probe.waitForConnected(CONNECT_TIMEOUT_MS)
        probe.abort()
        return alive

    def _on_new_connection(self) -> None:
        from PySide6.QtNetwork import QLocalSocket

        assert self._server is not None
        while (socket := self._server.nextPendingConnection()) is not None:
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._on_ready_read(s))
            socket.disconnected.connect(lambda s=socket: self._forget(s))
            if socket.bytesAvailable():  # the request can arrive before the connection is taken
                self._on_ready_read(socket)
            if socket.state() == QLocalSocket.LocalSocketState.UnconnectedState:
                self._forget(socket)  # gone before we took it: "disconnected" will not fire again

    def _on_ready_read(self, socket: QLocalSocket) -> None:
        if socket not in self._buffers:
            return
        buffer = self._buffers[socket] + bytes(socket.readAll().data())
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip() == RAISE:
                socket.write(ACK + b"\n")
                self.raise_requested.emit()
            else:
                log.debug("ignoring an unknown single-instance message (%d bytes)", len(line))
        if len(buffer) > MAX_MESSAGE:  # not one of ours: drop it
            socket.abort()
            buffer = b""
        self._buffers[socket] = buffer

    def _forget(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()


def raise_window(window: QWidget) -> None:
    """Bring ``window`` to the front: un-minimise, show, raise and ask the window manager for focus."""
    state = window.windowState()
    if state & Qt.WindowState.WindowMinimized:
        window.setWindowState((state & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive)
    window.show()
    if QGuiApplication.platformName() in ("offscreen", "minimal"):
        return  # no window stacking there (the screenshot run, tests): Qt would only warn
    window.raise_()
    window.activateWindow()
