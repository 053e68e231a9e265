"""The notification centre, the tray badge and ``install``'s wiring into a main window."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QMainWindow, QMenu

from atlas_desk.config import settings_from_dict
from atlas_desk.core.bus import ChangeBus, NotificationEvent
from atlas_desk.ui.bridge import QtBus
from atlas_desk.ui.notifications import (
    CentreEntry,
    CentreRole,
    NotificationListModel,
    RecordingBackend,
    badge_pixmap,
    install,
    tray_tooltip,
)

# The offscreen platform cannot resize hints or raise windows, and says so; harmless here.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints", "does not support raise")
HOSTILE = '<a href="x">y</a>'
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def entry(title: str, urgent: bool = False, **target: Any) -> CentreEntry:
    return CentreEntry(T0, "mention", title, "body", target, urgent, True)


def test_centre_model_passes_the_model_tester_and_counts_unread(qtmodeltester: Any) -> None:
    model = NotificationListModel(limit=3)
    counts: list[tuple[int, int]] = []
    model.counts_changed.connect(lambda u, g: counts.append((u, g)))
    for i in range(4):
        model.add(entry(f"n{i}", urgent=i == 3, pane="inbox", id=i))
    qtmodeltester.check(model)
    assert model.rowCount() == 3  # the oldest fell off
    assert [model.entry(r).title for r in range(3)] == ["n3", "n2", "n1"]  # newest first
    assert counts[-1] == (3, 1)
    model.mark_read(0)
    assert model.counts() == (2, 0)
    model.mark_read()
    assert model.counts() == (0, 0)
    assert model.data(model.index(1), CentreRole.TARGET) == {"pane": "inbox", "id": 2}


def test_community_text_is_plain_in_the_centre_and_escaped_in_tooltips() -> None:
    model = NotificationListModel()
    model.add(CentreEntry(T0, "mention", f"{HOSTILE} mentioned you", HOSTILE, {}, False, True))
    idx = model.index(0)
    assert model.data(idx, Qt.ItemDataRole.DisplayRole).startswith(f"{HOSTILE} mentioned you\n")
    tip = model.data(idx, Qt.ItemDataRole.ToolTipRole)
    assert "<a href" not in tip and "&lt;a href=&quot;x&quot;&gt;y&lt;/a&gt;" in tip


def test_badge_is_drawn_and_tooltip_counts(qapp: Any) -> None:
    base = QPixmap(32, 32)
    base.fill(QColor("white"))
    plain = badge_pixmap(base, 0, 0).toImage()
    unread = badge_pixmap(base, 5, 0).toImage()
    urgent = badge_pixmap(base, 5, 2).toImage()
    corner = (28, 28)
    assert plain.pixelColor(*corner) == QColor("white")
    assert unread.pixelColor(*corner).blue() > 150 and unread.pixelColor(*corner).red() < 120
    assert urgent.pixelColor(*corner).red() > 150 and urgent.pixelColor(*corner).blue() < 120
    assert tray_tooltip(0, 0) == "Atlas Desk — no unread notifications"
    assert tray_tooltip(5, 2) == "Atlas Desk — 5 unread notifications, 2 urgent"
    assert tray_tooltip(1, 0, quiet=True) == "Atlas Desk — 1 unread notification (quiet)"


class Window(QMainWindow):
    """A stand-in main window with what ``install`` looks for."""

    def __init__(self) -> None:
        super().__init__()
        self.view_menu = QMenu("&View", self)
        self.menuBar().addMenu(self.view_menu)
        self.opened: list[dict[str, Any]] = []

    def open_target(self, target: dict[str, Any]) -> None:
        self.opened.append(target)


def test_install_wires_bus_centre_tray_and_clicks(qtbot: Any, qloop: asyncio.AbstractEventLoop) -> None:
    window = Window()
    qtbot.addWidget(window)
    bus = ChangeBus()
    qtbus = QtBus(bus, window)
    settings = settings_from_dict({"notifications": {"muted_kinds": ["keyword"]}}, environ={})
    backend = RecordingBackend()
    now = [T0]
    desk = install(window, qtbus, settings, backend=backend, clock=lambda: now[0])
    assert desk.toggle_action in window.view_menu.actions()

    target = {"pane": "tickets", "id": 9}
    bus.publish(NotificationEvent("new_ticket", f"New ticket from {HOSTILE}", "help", target))
    bus.publish(NotificationEvent("keyword", "crash", "", {"pane": "inbox", "id": 1}))  # muted: ignored
    qtbot.waitUntil(lambda: desk.model.rowCount() == 1, timeout=5000)
    assert desk.tray.unread == 1 and "1 unread notification" in desk.tray.toolTip()
    assert desk.bell.text() == "🔔 1"

    now[0] = T0 + timedelta(seconds=5)
    shown = desk.notifier.release_due()
    assert [p.title for p in shown] == [f"New ticket from {HOSTILE}"]
    qloop.run_until_complete(asyncio.gather(*desk.notifier._tasks))  # the delivery in flight
    assert len(backend.shown) == 1
    _popup, _body, click = backend.shown[0]
    click()  # the moderator clicks the desktop notification
    qtbot.waitUntil(lambda: window.opened == [target], timeout=5000)

    # A click in the centre opens too, and marks the entry read.
    desk.centre._open(desk.model.index(0))
    assert window.opened == [target, target] and desk.tray.unread == 0

    desk.set_do_not_disturb(True)
    assert desk.notifier.rules.options.do_not_disturb and "(quiet)" in desk.tray.toolTip()
    desk.shutdown()


def test_closing_hides_to_the_tray_only_when_kept_there(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from atlas_desk.ui import notifications

    window = Window()
    qtbot.addWidget(window)
    kept = settings_from_dict({"desk": {"keep_in_tray": True}}, environ={})
    desk = install(window, QtBus(ChangeBus(), window), kept, use_default_backend=False)
    window.show()
    # No tray on the offscreen platform: closing closes.
    assert not desk.keeps_in_tray()
    monkeypatch.setattr(notifications.QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    assert desk.keeps_in_tray()
    assert window.close() is False  # refused: hidden in the tray instead
    assert not window.isVisible()
    window.show()
    desk.quitting = True  # "Quit" from the tray menu
    assert window.close() is True
    desk.apply_settings(settings_from_dict({}, environ={}))
    assert not desk.keeps_in_tray()
    desk.shutdown()


def test_installing_imports_no_dbus_library_until_the_first_popup() -> None:
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication, QMainWindow\n"
        "app = QApplication([])\n"
        "from atlas_desk.config import Settings\n"
        "from atlas_desk.core.bus import ChangeBus\n"
        "from atlas_desk.ui.bridge import QtBus\n"
        "from atlas_desk.ui.notifications import install\n"
        "w = QMainWindow()\n"
        "install(w, QtBus(ChangeBus(), w), Settings())\n"
        "print(sorted(m for m in ('desktop_notifier', 'dbus_fast') if m in sys.modules))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
