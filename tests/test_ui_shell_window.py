"""The main window: tabs and shortcuts, empty states, platform states from other threads, plain-text notices,
restored geometry, the exception hook."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from atlas_desk.core.bus import ChangeBus, ConnectionChanged, ItemsAdded, Notice
from atlas_desk.core.types import ConnectionState, Platform
from atlas_desk.ui import errors
from atlas_desk.ui.bridge import QtBus
from atlas_desk.ui.main_window import MainWindow
from atlas_desk.ui.panes import PANE_NAMES, PaneSpec
from atlas_desk.ui.placeholders import COPY, PLACEHOLDERS

# The offscreen platform plugin says this whenever a top-level window's size constraints change.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")


def placeholder_specs() -> list[PaneSpec]:
    return [PaneSpec(n, PLACEHOLDERS[n].title, PLACEHOLDERS[n]) for n in PANE_NAMES]


@pytest.fixture
def bus() -> ChangeBus:
    return ChangeBus()


def make_window(qtbot, bus: ChangeBus, state_dir: Path | None = None, specs=None) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(QtBus(bus), state_dir=state_dir, specs=specs)
    qtbot.addWidget(window)
    return window


def test_five_tabs_in_order_and_ctrl_number_switches(qtbot, bus: ChangeBus) -> None:  # type: ignore[no-untyped-def]
    window = make_window(qtbot, bus)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)

    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles == ["Inbox", "Tickets", "Roadmap", "Calendar", "Insights"]
    assert [p.objectName() for p in window.panes] == list(PANE_NAMES)

    for key, index in ((Qt.Key.Key_3, 2), (Qt.Key.Key_5, 4), (Qt.Key.Key_1, 0), (Qt.Key.Key_4, 3)):
        qtbot.keyClick(window, key, Qt.KeyboardModifier.ControlModifier)
        assert window.tabs.currentIndex() == index
        assert window.pane_actions[index].isChecked()
    # QTest leaves Ctrl in the application's modifier state on the offscreen platform: release it.
    qtbot.keyRelease(window, Qt.Key.Key_Control)
    assert QApplication.keyboardModifiers() == Qt.KeyboardModifier.NoModifier


@pytest.mark.parametrize("name", ["tickets", "roadmap", "calendar", "insights"])
def test_placeholder_pane_shows_its_empty_state(qtbot, bus: ChangeBus, name: str) -> None:  # type: ignore[no-untyped-def]
    window = make_window(qtbot, bus, specs=placeholder_specs())
    window.show()
    window.show_pane(PANE_NAMES.index(name))
    pane = window.pane(name)
    headline = pane.findChild(QLabel, "emptyStateHeadline")
    assert headline is not None
    qtbot.waitUntil(headline.isVisible)
    assert headline.text() == COPY[name].headline
    assert headline.textFormat() == Qt.TextFormat.PlainText
    assert "will appear here" in headline.text()
    # Until a platform is configured, the hint says what to configure, and the button opens the settings.
    assert pane.empty_state.hint_label.text() == COPY[name].configure
    opened: list[str] = []
    window.settings_opener = lambda _parent, platform: opened.append(platform)
    pane.empty_state.action_button.click()
    assert opened and opened[0] in {p.value for p in COPY[name].needs}


def test_status_bar_follows_connection_changes_from_a_worker_thread(qtbot, bus: ChangeBus) -> None:  # type: ignore[no-untyped-def]
    window = make_window(qtbot, bus)
    github = window.platform_status[Platform.GITHUB]
    assert github.state_text() == "not configured"

    def publish(state: ConnectionState, reason: str) -> None:
        thread = threading.Thread(
            target=bus.publish, args=(ConnectionChanged(Platform.GITHUB, state, reason),)
        )
        thread.start()
        thread.join()

    publish(ConnectionState.LIVE, "")
    qtbot.waitUntil(lambda: github.state_text() == "live", timeout=2000)
    publish(ConnectionState.RECONNECTING, "The server closed the connection <b>(502)</b>")
    qtbot.waitUntil(lambda: github.state_text() == "reconnecting", timeout=2000)
    assert "closed the connection" in github.toolTip()
    assert "<b>" not in github.toolTip()  # the reason is escaped, not rendered
    # Other platforms are untouched.
    assert window.platform_status[Platform.DISCORD].state_text() == "not configured"


def test_bridge_emits_typed_signals_on_the_gui_thread(qtbot, bus: ChangeBus) -> None:  # type: ignore[no-untyped-def]
    qbus = QtBus(bus)
    seen: list[tuple[tuple[int, ...], bool]] = []
    qbus.items_added.connect(
        lambda ids: seen.append((ids, threading.current_thread() is threading.main_thread()))
    )
    thread = threading.Thread(target=bus.publish, args=(ItemsAdded((1, 2, 3)),))
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: bool(seen), timeout=2000)
    assert seen == [((1, 2, 3), True)]
    qbus.close()
    bus.publish(ItemsAdded((4,)))
    QApplication.processEvents()
    assert len(seen) == 1


def test_notice_text_is_shown_literally(qtbot, bus: ChangeBus) -> None:  # type: ignore[no-untyped-def]
    window = make_window(qtbot, bus)
    window.show()
    hostile = "Reply failed for <b>bold</b><img src=x> — try again"
    bus.publish(Notice("error", hostile, "outbox"))
    qtbot.waitUntil(window.notice_bar.isVisible, timeout=2000)
    label = window.notice_bar.text_label
    assert label.textFormat() == Qt.TextFormat.PlainText
    assert label.text() == hostile


def test_geometry_and_last_tab_are_restored(qtbot, bus: ChangeBus, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # Placeholder panes: the real panes' minimum sizes are theirs to choose, this is about the window state.
    first = make_window(qtbot, bus, state_dir=tmp_path, specs=placeholder_specs())
    first.show()
    qtbot.waitExposed(first)
    first.resize(720, 540)  # within the offscreen screen (800×600), so nothing is clamped
    first.show_pane(3)
    qtbot.waitUntil(lambda: first.size().width() == 720)
    first.close()
    assert (tmp_path / "window-state.json").exists()

    second = make_window(qtbot, ChangeBus(), state_dir=tmp_path, specs=placeholder_specs())
    second.show()
    qtbot.waitExposed(second)
    assert second.tabs.currentIndex() == 3
    assert second.current_pane().objectName() == "calendar"
    assert (second.width(), second.height()) == (720, 540)


def test_exception_hook_shows_a_plain_text_dialog_and_the_app_survives(
    qtbot, bus: ChangeBus, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    window = make_window(qtbot, bus)
    shown: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append(self) or 0)
    reporter = errors.install(window)
    try:
        assert sys.excepthook == reporter.excepthook
        try:
            raise ValueError("boom <b>not bold</b>")
        except ValueError:
            sys.excepthook(*sys.exc_info())
    finally:
        errors.uninstall(reporter)
    assert len(shown) == 1
    box = shown[0]
    assert box.textFormat() == Qt.TextFormat.PlainText
    assert "ValueError: boom <b>not bold</b>" in box.text()
    assert "Traceback" in box.detailedText()
    # Still alive and usable.
    window.show_pane(2)
    assert window.tabs.currentIndex() == 2
    assert sys.excepthook != reporter.excepthook


def test_loop_exception_handler_reports_unretrieved_task_errors(
    qtbot, bus: ChangeBus, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    window = make_window(qtbot, bus)
    shown: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda self: shown.append(self) or 0)
    reporter = errors.ErrorReporter(window)
    reporter.loop_exception_handler(
        None,
        {
            "message": "Task exception was never retrieved",  # type: ignore[arg-type]
            "exception": RuntimeError("lost"),
        },
    )
    assert len(shown) == 1
    assert "RuntimeError: lost" in shown[0].text()


def test_unread_count_shows_in_the_tab_title(qtbot, bus: ChangeBus) -> None:  # type: ignore[no-untyped-def]
    window = make_window(qtbot, bus, specs=placeholder_specs())
    window.pane("inbox").unread_count_changed.emit(1234)
    assert window.tabs.tabText(0) == "Inbox (1,234)"
    window.pane("inbox").unread_count_changed.emit(0)
    assert window.tabs.tabText(0) == "Inbox"


def test_placeholder_hint_changes_once_its_platform_is_configured(qtbot, bus: ChangeBus) -> None:  # type: ignore[no-untyped-def]
    window = make_window(qtbot, bus, specs=placeholder_specs())
    window.attach_runtime(None)
    roadmap = window.pane("roadmap")
    assert roadmap.ready()
    bus.publish(ConnectionChanged(Platform.GITHUB, ConnectionState.LIVE))
    qtbot.waitUntil(lambda: roadmap.empty_state.hint_label.text() == COPY["roadmap"].waiting, timeout=2000)
    assert roadmap.need_rows[Platform.GITHUB].text.text() == "live"


def test_about_names_the_versions(qtbot, bus: ChangeBus) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import qVersion

    window = make_window(qtbot, bus)
    text = window.about_text()
    assert "Atlas Desk 0.1.0" in text
    assert f"Qt {qVersion()}" in text
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in text
    assert "discord.py" in text and "PyGithub" in text and "praw" in text


def test_icons_come_from_the_packaged_resources() -> None:
    from importlib import resources

    from atlas_desk.ui import icons

    packaged = resources.files("atlas_desk.resources").joinpath("icons", "discord.svg")
    assert packaged.is_file()
    assert icons.icon_bytes("discord") == packaged.read_bytes()
    assert b"#5865F2" in icons.icon_bytes("discord")
    assert not icons.platform_icon(Platform.REDDIT).isNull()


def test_the_look_follows_the_colour_scheme(qtbot, qapp, bus: ChangeBus) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QPalette

    from atlas_desk.ui import look

    saved_style, saved_palette, saved_sheet = qapp.style().name(), qapp.palette(), qapp.styleSheet()
    stop = look.install_look(qapp)
    try:
        window = make_window(qtbot, bus, specs=placeholder_specs())
        window.show()
        glyph = window.pane("tickets").empty_state.glyph_label

        def glyph_lightness() -> int:
            image = glyph.pixmap().toImage()
            return max(
                image.pixelColor(x, y).lightness()
                for x in range(image.width())
                for y in (image.height() // 2,)
                if image.pixelColor(x, y).alpha() > 200
            )

        qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert look.is_dark(qapp.palette())
        qtbot.waitUntil(lambda: glyph_lightness() > 128, timeout=2000)
        window_colour = qapp.palette().color(QPalette.ColorRole.Window)

        qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert not look.is_dark(qapp.palette())
        assert qapp.palette().color(QPalette.ColorRole.Window) != window_colour
        qtbot.waitUntil(lambda: glyph_lightness() < 128, timeout=2000)
    finally:
        stop()
        qapp.setStyleSheet(saved_sheet)
        qapp.setStyle(saved_style)
        qapp.setPalette(saved_palette)


def test_singleton_refcount_guard_applies_only_where_the_binding_loses_references() -> None:
    from atlas_desk.ui import compat

    assert compat.affected("6.12.0", (3, 11))
    assert not compat.affected("6.12.0", (3, 12))
    assert not compat.affected("6.11.3", (3, 11))


def test_emitting_many_signals_does_not_drain_true(qtbot) -> None:  # type: ignore[no-untyped-def]
    import PySide6
    from PySide6.QtCore import QObject, Signal

    from atlas_desk.ui import compat

    compat.guard_singleton_refcounts()

    class Emitter(QObject):
        ping = Signal()

    emitter = Emitter()
    emitter.ping.connect(lambda: None)
    before = sys.getrefcount(True)
    for _ in range(2000):
        emitter.ping.emit()
    lost = before - sys.getrefcount(True)
    if compat.affected(PySide6.__version__):
        assert sys.getrefcount(True) > 1 << 39  # guarded: far from zero whatever the binding loses
    else:
        assert lost == 0


class FakeOutbox:
    """An OutboxSource over a list, recording what the moderator asked for."""

    def __init__(self) -> None:
        from datetime import UTC, datetime

        from atlas_desk.core.types import OutboxAction, OutboxState

        now = datetime.now(UTC)
        self.actions = [
            OutboxAction(
                i,
                f"key-{i}",
                Platform.DISCORD,
                "reply",
                f"msg-{i}",
                {},
                OutboxState.FAILED,
                5,
                now,
                now,
                last_error=f"<b>429</b> too many requests #{i}",
            )
            for i in (1, 2)
        ]
        self.waiting = 3
        self.calls: list[tuple[str, int]] = []

    def counts(self) -> tuple[int, int]:
        return self.waiting, len(self.actions)

    def failed_actions(self):  # type: ignore[no-untyped-def]
        return list(self.actions)

    def retry(self, action_id: int) -> None:
        self.calls.append(("retry", action_id))
        self.actions = [a for a in self.actions if a.id != action_id]

    def discard(self, action_id: int) -> None:
        self.calls.append(("discard", action_id))
        self.actions = [a for a in self.actions if a.id != action_id]


def test_outbox_indicator_counts_and_failed_actions_dialog(qtbot, bus: ChangeBus) -> None:  # type: ignore[no-untyped-def]
    from atlas_desk.core.bus import OutboxChanged
    from atlas_desk.ui.widgets.outbox_indicator import FailedActionsDialog

    window = make_window(qtbot, bus, specs=placeholder_specs())
    assert window.outbox_indicator.label.text() == "All sent"
    source = FakeOutbox()
    window.set_outbox_source(source)
    assert window.outbox_indicator.label.text() == "3 waiting · 2 failed"

    dialog = FailedActionsDialog(source, window)
    qtbot.addWidget(dialog)
    assert dialog.table.rowCount() == 2
    assert dialog.table.item(0, 4).text() == "<b>429</b> too many requests #1"  # literal, never rendered
    dialog.select_row(0)
    dialog.retry_button.click()
    dialog.select_row(0)
    dialog.discard_button.click()
    assert source.calls == [("retry", 1), ("discard", 2)]
    assert dialog.table.rowCount() == 0
    assert not dialog.retry_button.isEnabled()

    source.waiting = 0
    bus.publish(OutboxChanged((1, 2)))
    qtbot.waitUntil(lambda: window.outbox_indicator.label.text() == "All sent", timeout=2000)


def test_empty_state_accepts_glyph_names_with_or_without_prefix(qtbot) -> None:  # type: ignore[no-untyped-def]
    from atlas_desk.ui.widgets.empty_state import EmptyState

    for glyph in ("insights", "pane-insights"):
        state = EmptyState(glyph, "Headline")
        qtbot.addWidget(state)
        assert not state.glyph_label.pixmap().isNull()
    emoji = EmptyState("📅", "Headline")
    qtbot.addWidget(emoji)
    assert emoji.glyph_label.text() == "📅"
    unknown = EmptyState("no-such-glyph", "Headline")
    qtbot.addWidget(unknown)
    assert unknown.headline_label.text() == "Headline"
