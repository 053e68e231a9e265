"""The real notification path: a private D-Bus session bus with a tiny org.freedesktop.Notifications service
   that records what it receives; desktop-notifier sends to it, and its ActionInvoked signal must open the
   item.

Needs ``dbus-daemon`` (Debian package ``dbus-daemon``); the test is skipped, saying so, where it is missing.
This module deliberately has no ``from __future__ import annotations``: dbus-fast reads the D-Bus signatures
from the annotations at class creation.
"""

# ruff: noqa: F821, F722 - the D-Bus signatures below are annotations dbus-fast reads, not Python types

import asyncio
import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

pytest.importorskip("dbus_fast", reason="desktop-notifier (which brings dbus-fast) is not installed")

from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, method, signal

from atlas_desk.core.bus import Notice, NotificationEvent
from atlas_desk.core.notify import NotificationRules, NotifyOptions
from atlas_desk.ui.notifications import DesktopNotifierBackend, Notifier, RecordingBackend

HOSTILE = '<a href="x">y</a>'


class FakeNotifications(ServiceInterface):
    """Records Notify calls; advertises body markup like GNOME Shell, KDE Plasma and dunst do."""

    def __init__(self) -> None:
        super().__init__("org.freedesktop.Notifications")
        self.calls: list[dict[str, Any]] = []
        self.received = asyncio.Event()

    @method()
    def Notify(
        self,
        app_name: "s",
        replaces_id: "u",
        app_icon: "s",
        summary: "s",
        body: "s",
        actions: "as",
        hints: "a{sv}",
        expire_timeout: "i",
    ) -> "u":
        self.calls.append(
            {
                "app_name": app_name,
                "summary": summary,
                "body": body,
                "actions": list(actions),
                "hints": {k: v.value for k, v in hints.items()},
            }
        )
        self.received.set()
        return len(self.calls)

    @method()
    def GetCapabilities(self) -> "as":
        return ["body", "body-markup", "actions", "sound"]

    @method()
    def GetServerInformation(self) -> "ssss":
        return ["atlas-test-notifications", "atlas", "1.0", "1.2"]

    @method()
    def CloseNotification(self, notification_id: "u") -> None:
        return None

    @signal()
    def ActionInvoked(self, notification_id: "u", action_key: "s") -> "us":
        return [notification_id, action_key]

    @signal()
    def NotificationClosed(self, notification_id: "u", reason: "u") -> "uu":
        return [notification_id, reason]


@pytest.fixture
def session_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private D-Bus session bus for this test only."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        pytest.skip("dbus-daemon is not installed (Debian package dbus-daemon): cannot test the D-Bus path")
    proc = subprocess.Popen(
        [daemon, "--session", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        assert address.startswith("unix:"), address
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


async def _serve(service: FakeNotifications) -> MessageBus:
    bus = await MessageBus().connect()
    bus.export("/org/freedesktop/Notifications", service)
    await bus.request_name("org.freedesktop.Notifications")
    return bus


async def _filed(backend: DesktopNotifierBackend) -> None:
    """Until desktop-notifier lists a notification as shown (polled: it offers no event for it)."""
    while not await backend._notifier.get_current_notifications():
        await asyncio.sleep(0.01)


async def _close(notifier: Notifier, server: MessageBus) -> None:
    await notifier.aclose()
    server.disconnect()
    await asyncio.wait_for(server.wait_for_disconnect(), 5)


def test_notification_reaches_the_dbus_server_escaped_and_a_click_opens_the_item(
    session_bus: str, qloop: asyncio.AbstractEventLoop, qtbot: Any
) -> None:
    service = FakeNotifications()
    server = qloop.run_until_complete(_serve(service))
    clock = lambda: datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # noqa: E731
    backend = DesktopNotifierBackend()
    notifier = Notifier(NotificationRules(NotifyOptions(), clock=clock, tz=UTC), backend)
    opened: list[dict[str, Any]] = []
    got_click = asyncio.Event()

    def on_open(target: dict[str, Any]) -> None:
        opened.append(target)
        got_click.set()

    notifier.open_target.connect(on_open)
    target = {"pane": "inbox", "id": 42, "container": "#general"}
    notifier.notify(
        NotificationEvent(
            "mention",
            f"{HOSTILE} mentioned you in #general",
            f"{HOSTILE} says <b>hi</b> & asks for help",
            target,
        )
    )
    assert notifier.flush_now()[0].count == 1
    qloop.run_until_complete(asyncio.wait_for(service.received.wait(), 10))

    (call,) = service.calls
    assert call["app_name"] == "Atlas Desk"
    assert call["summary"] == f"{HOSTILE} mentioned you in #general"  # the spec's summary is never markup
    assert (
        call["body"]
        == "&lt;a href=&quot;x&quot;&gt;y&lt;/a&gt; says &lt;b&gt;hi&lt;/b&gt; &amp; asks for help"
    )
    assert call["actions"][:2] == ["default", ""]  # a click on the body is reported
    assert call["hints"]["urgency"] == 1

    # desktop-notifier files the notification under its id only once Notify has returned; a click
    # signal that overtakes the reply (a loaded machine reads both at once) would find nothing to open
    qloop.run_until_complete(asyncio.wait_for(_filed(backend), 10))
    service.ActionInvoked(1, "default")  # the moderator clicks it
    qloop.run_until_complete(asyncio.wait_for(got_click.wait(), 10))
    assert opened == [target]
    qloop.run_until_complete(_close(notifier, server))


def test_urgent_breach_is_critical_and_sounds(session_bus: str, qloop: asyncio.AbstractEventLoop) -> None:
    service = FakeNotifications()
    server = qloop.run_until_complete(_serve(service))
    rules = NotificationRules(NotifyOptions(sound=True, do_not_disturb=True), tz=UTC)
    notifier = Notifier(rules, DesktopNotifierBackend())
    held = notifier.notify(NotificationEvent("mention", "quiet please", "", {}))
    assert not held.popup  # do not disturb
    notifier.notify(
        NotificationEvent(
            "sla_breach", "Ticket from ana is past its deadline", "waited 25 h", {"pane": "tickets", "id": 3}
        )
    )
    notifier.flush_now()
    qloop.run_until_complete(asyncio.wait_for(service.received.wait(), 10))
    (call,) = service.calls
    assert call["summary"] == "Ticket from ana is past its deadline"
    assert call["hints"]["urgency"] == 2 and call["hints"]["sound-name"] == "dialog-warning"
    qloop.run_until_complete(_close(notifier, server))


def test_without_a_notification_server_the_fallback_shows_it(
    session_bus: str, qloop: asyncio.AbstractEventLoop
) -> None:
    fallback = RecordingBackend(markup=False)
    notifier = Notifier(NotificationRules(NotifyOptions(), tz=UTC), DesktopNotifierBackend(), fallback)
    shown = asyncio.Event()
    notifier.popup_shown.connect(lambda _p: shown.set())
    notifier.notify(
        NotificationEvent("new_ticket", "New ticket from ana", "cannot log in", {"pane": "tickets"})
    )
    notifier.flush_now()
    qloop.run_until_complete(asyncio.wait_for(shown.wait(), 10))
    qloop.run_until_complete(notifier.aclose())
    assert [(p.title, body) for p, body, _click in fallback.shown] == [
        ("New ticket from ana", "cannot log in")
    ]


def test_outbox_failure_notices_become_action_failed_notifications(qloop: asyncio.AbstractEventLoop) -> None:
    backend = RecordingBackend()
    notifier = Notifier(NotificationRules(NotifyOptions(), tz=UTC), backend)
    entries: list[Any] = []
    notifier.listed.connect(entries.append)
    notifier.on_notice(
        Notice("error", "Discord refused “reply” on Discord (123): Missing Access.", area="outbox")
    )
    notifier.on_notice(Notice("error", "The disk is full.", area="store"))
    assert [e.kind for e in entries] == ["action_failed"]
    assert entries[0].target == {"pane": "outbox"}


def test_with_no_session_bus_the_desk_uses_the_tray_without_trying_dbus(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A headless machine (``make demo`` in CI): no traceback from a notification that cannot be shown."""
    from atlas_desk.ui.notifications import default_backend

    monkeypatch.setattr(sys, "platform", "linux")
    with caplog.at_level(logging.INFO, logger="atlas_desk.ui.notifications"):
        assert default_backend({}) is None
    assert "no session D-Bus" in caplog.text
    found = default_backend({"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nowhere"})
    assert isinstance(found, DesktopNotifierBackend)
