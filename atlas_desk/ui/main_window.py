"""The desk's main window: five pane tabs, menus, the notices bar and a status bar with each platform's state
and the outbox.

The window is built before anything slow happens (no platform library imports here) so it paints first; the
runtime is attached afterwards with ``attach_runtime``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, Qt, QTimer, Signal, qVersion
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence, QPaintEvent, QPalette
from PySide6.QtWidgets import QMainWindow, QTabWidget, QVBoxLayout, QWidget

from atlas_desk import APP_NAME, __version__
from atlas_desk.core.bus import ConnectionChanged, Notice
from atlas_desk.core.types import Platform
from atlas_desk.ui import icons
from atlas_desk.ui.bridge import QtBus
from atlas_desk.ui.panes import Pane, PaneContext, PaneSpec, default_pane_specs
from atlas_desk.ui.widgets.empty_state import plain_label
from atlas_desk.ui.widgets.notice_bar import NoticeBar
from atlas_desk.ui.widgets.outbox_indicator import FailedActionsDialog, OutboxIndicator, OutboxSource
from atlas_desk.ui.widgets.platform_status import PlatformStatus

log = logging.getLogger("atlas_desk.ui")

STATE_FILE = "window-state.json"
DEFAULT_SIZE = (1280, 800)


class MainWindow(QMainWindow):
    """Tabs Inbox, Tickets, Roadmap, Calendar, Insights (Ctrl+1…5), menus, notices and the status bar."""

    first_painted = Signal()
    closing = Signal()

    def __init__(
        self,
        bus: QtBus,
        state_dir: Path | None = None,
        specs: list[PaneSpec] | None = None,
        settings_opener: Callable[[QWidget, str], None] | None = None,
        restore_state: bool = True,
        lazy_panes: bool = False,
    ) -> None:
        super().__init__()
        self.bus = bus
        self.state_path = state_dir / STATE_FILE if state_dir is not None else None
        self.settings_opener = settings_opener
        self.outbox_source: OutboxSource | None = None
        self.runtime: Any | None = None
        self._painted = False
        # Wall-clock time (time.time()) of the first paint event: the start-up benchmark's end point.
        self.first_paint_time: float | None = None
        self._save_state_on_close = restore_state

        self.setObjectName("mainWindow")
        self.setWindowTitle(APP_NAME)
        self.setWindowIcon(icons.app_icon())
        self.resize(*DEFAULT_SIZE)

        # Panes. Each tab holds a slot; with ``lazy_panes`` the panes themselves (and their modules) are built
        # by ``build_panes`` after the first paint, so the window appears before their imports are paid for.
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("paneTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setIconSize(icons.icon_size(16))
        self.specs = specs if specs is not None else default_pane_specs()
        self.panes: list[Pane] = []
        self._slots: list[QWidget] = []
        for spec in self.specs:
            slot = QWidget(self.tabs)
            slot.setObjectName(f"{spec.name}Slot")
            slot_layout = QVBoxLayout(slot)
            slot_layout.setContentsMargins(0, 0, 0, 0)
            self._slots.append(slot)
            self.tabs.addTab(slot, spec.title)
        self.tabs.currentChanged.connect(self._on_tab_changed)

        self.notice_bar = NoticeBar(self)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.notice_bar)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        # Status bar: a message on the left, platforms and the outbox on the right.
        status = self.statusBar()
        status.setSizeGripEnabled(False)
        self.status_message = plain_label("Starting…", self)
        self.status_message.setObjectName("statusMessage")
        status.addWidget(self.status_message, 1)
        self.platform_status: dict[Platform, PlatformStatus] = {}
        for platform in Platform:
            widget = PlatformStatus(platform, self)
            widget.clicked.connect(lambda p: self.open_settings(p.value))
            self.platform_status[platform] = widget
            status.addPermanentWidget(widget)
        status.addPermanentWidget(self._separator())
        self.outbox_indicator = OutboxIndicator(self)
        self.outbox_indicator.clicked.connect(self.show_failed_actions)
        status.addPermanentWidget(self.outbox_indicator)
        self._refresh_tab_icons()

        self._build_menus()
        if not lazy_panes:
            self.build_panes()

        bus.connection_changed.connect(self._on_connection_changed)
        bus.notice.connect(self._on_notice)
        bus.outbox_changed.connect(lambda _ids: self.refresh_outbox())
        for change in bus.states.values():
            self._on_connection_changed(change)

        if restore_state:
            self.restore_ui_state()

    def _separator(self) -> QWidget:
        line = QWidget(self)
        line.setObjectName("statusSeparator")
        line.setFixedSize(1, 14)
        line.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        return line

    def _refresh_tab_icons(self) -> None:
        # Pane glyphs in the text colour: they follow the light/dark scheme.
        colour = self.palette().color(QPalette.ColorRole.WindowText)
        for index, spec in enumerate(self.specs):
            with contextlib.suppress(OSError):  # a pane without a glyph of its own has no tab icon
                self.tabs.setTabIcon(index, icons.icon(f"pane-{spec.name}", colour, sizes=(16,)))

    # ----- menus -----

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.settings_action = QAction("&Settings…", self)
        self.settings_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Preferences))
        if self.settings_action.shortcut().isEmpty():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.settings_action.setToolTip(
            f"Accounts and community ids ({self.settings_action.shortcut().toString()})"
        )
        self.settings_action.triggered.connect(lambda: self.open_settings(""))
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        self.quit_action = QAction("&Quit", self)
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.quit_action.triggered.connect(self.close)
        file_menu.addAction(self.quit_action)

        view_menu = self.menuBar().addMenu("&View")
        self.pane_actions: list[QAction] = []
        group = QActionGroup(self)
        for index, spec in enumerate(self.specs):
            action = QAction(spec.title, self)
            action.setCheckable(True)
            if index < 9:
                action.setShortcut(QKeySequence(f"Ctrl+{index + 1}"))
                action.setToolTip(f"Show {spec.title} (Ctrl+{index + 1})")
            action.triggered.connect(lambda _checked=False, i=index: self.show_pane(i))
            group.addAction(action)
            view_menu.addAction(action)
            self.pane_actions.append(action)
        view_menu.addSeparator()
        self.dismiss_notice_action = QAction("Dismiss Notice", self)
        self.dismiss_notice_action.setShortcut(QKeySequence("Ctrl+Shift+D"))
        self.dismiss_notice_action.triggered.connect(self.notice_bar.dismiss)
        view_menu.addAction(self.dismiss_notice_action)
        self.outbox_action = QAction("Failed Actions…", self)
        self.outbox_action.triggered.connect(self.show_failed_actions)
        view_menu.addAction(self.outbox_action)

        help_menu = self.menuBar().addMenu("&Help")
        self.about_action = QAction(f"&About {APP_NAME}", self)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        help_menu.addAction(self.about_action)

    # ----- panes -----

    def build_panes(self) -> None:
        """Create the panes in their tabs (once). A pane that fails to build gets its placeholder instead."""
        if self.panes:
            return
        from atlas_desk.ui.placeholders import PLACEHOLDERS

        for spec, slot in zip(self.specs, self._slots, strict=True):
            try:
                pane = spec.factory()
            except Exception:
                log.exception("the %s pane could not be built; showing its placeholder", spec.name)
                pane = PLACEHOLDERS[spec.name]()
            pane.setObjectName(spec.name)
            layout = slot.layout()
            assert layout is not None  # each slot got its layout in __init__
            layout.addWidget(pane)
            self.panes.append(pane)
            pane.unread_count_changed.connect(lambda n, p=pane: self._set_unread(p, n))
        current = self.tabs.currentIndex()
        if 0 <= current < len(self.panes):
            self.panes[current].activate()

    def pane(self, name: str) -> Pane:
        """The pane with object name ``name`` ("inbox", …)."""
        for pane in self.panes:
            if pane.objectName() == name:
                return pane
        raise KeyError(name)

    def current_pane(self) -> Pane:
        return self.panes[self.tabs.currentIndex()]

    def current_pane_name(self) -> str:
        index = self.tabs.currentIndex()
        return self.specs[index].name if 0 <= index < len(self.specs) else ""

    def show_pane(self, index: int) -> None:
        """Switch to the pane at ``index``."""
        if 0 <= index < len(self.specs):
            self.tabs.setCurrentIndex(index)

    def _on_tab_changed(self, index: int) -> None:
        if 0 <= index < len(self.specs):
            self.pane_actions[index].setChecked(True)
        if 0 <= index < len(self.panes):
            self.panes[index].activate()

    def _set_unread(self, pane: Pane, count: int) -> None:
        if pane not in self.panes:
            return
        index = self.panes.index(pane)
        title = self.specs[index].title
        self.tabs.setTabText(index, f"{title} ({count:,})" if count > 0 else title)

    def attach_runtime(self, runtime: Any | None, demo: bool = False) -> None:
        """Hand the runtime to every pane a pane that fails is reported, not fatal."""
        self.runtime = runtime
        self.build_panes()
        context = PaneContext(bus=self.bus, runtime=runtime, open_settings=self.open_settings, demo=demo)
        for pane in self.panes:
            try:
                pane.attach(context)
            except Exception:
                log.exception("the %s pane failed to attach", pane.objectName())
                self.notice_bar.show_notice(
                    "error",
                    f"The {pane.title or pane.objectName()} pane could not load its data. "
                    "Details are in the log.",
                    "desk",
                )
                pane.mark_loaded()  # nothing more will come; do not hold up a screenshot run
        self.refresh_outbox()

    @property
    def painted(self) -> bool:
        """Whether the window has been painted at least once."""
        return self._painted

    def all_loaded(self) -> bool:
        """Whether every pane has shown its first data."""
        return bool(self.panes) and all(p.ready() for p in self.panes)

    # ----- status bar, notices, outbox -----

    def _on_connection_changed(self, change: ConnectionChanged) -> None:
        widget = self.platform_status.get(change.platform)
        if widget is not None:
            widget.set_state(change.state, change.reason)

    def _on_notice(self, notice: Notice) -> None:
        self.notice_bar.show_notice(notice.level, notice.text, notice.area)

    def set_status_message(self, text: str) -> None:
        """The plain-text message at the left of the status bar."""
        self.status_message.setText(text)

    def set_outbox_source(self, source: OutboxSource | None) -> None:
        self.outbox_source = source
        self.refresh_outbox()

    def refresh_outbox(self) -> None:
        """Re-read the outbox counts."""
        if self.outbox_source is None:
            self.outbox_indicator.set_counts(0, 0)
            return
        try:
            waiting, failed = self.outbox_source.counts()
        except Exception:
            log.exception("could not read the outbox counts")
            return
        self.outbox_indicator.set_counts(waiting, failed)

    def show_failed_actions(self) -> None:
        """The failed actions, with Retry and Discard."""
        if self.outbox_source is None:
            from PySide6.QtWidgets import QMessageBox  # not at start-up: its Python type costs ~2 ms to make

            QMessageBox.information(self, "Outbox", "Nothing has been sent yet.")
            return
        dialog = FailedActionsDialog(self.outbox_source, self)
        dialog.exec()
        self.refresh_outbox()

    def open_target(self, target: dict[str, Any]) -> None:
        """Raise the window and open what a notification points at: ``{"pane": name, "id": ...}``."""
        from atlas_desk.ui.single_instance import raise_window

        raise_window(self)
        name = str(target.get("pane", ""))
        if name == "outbox":
            self.show_failed_actions()
            return
        names = [pane.objectName() for pane in self.panes]
        if name not in names:
            return
        self.show_pane(names.index(name))
        item_id = target.get("id")
        if item_id is None:
            return
        pane = self.pane(name)
        opener = {
            "inbox": "open_item",
            "tickets": "open_ticket",
            "roadmap": "select_card",
            "calendar": "select_event",
        }.get(name, "")
        open_item = getattr(pane, opener, None)
        if callable(open_item):
            try:
                open_item(int(item_id))
            except (TypeError, ValueError):
                log.warning("a notification pointed at %r in %s, which is not an id", item_id, name)

    # ----- dialogs -----

    def open_settings(self, platform: str = "") -> None:
        """Open the Settings dialog, on ``platform``'s page if given."""
        if self.settings_opener is not None:
            self.settings_opener(self, platform)
            return
        from atlas_desk.ui.settings_dialog import SettingsDialog

        SettingsDialog(parent=self, initial_page=platform).exec()

    def about_text(self) -> str:
        """The About text: versions of the desk, Qt, Python and the platform libraries."""
        # Imported here: importlib.metadata and platform cost tens of milliseconds at start-up.
        import platform as py_platform
        from importlib import metadata

        import PySide6

        lines = [
            f"{APP_NAME} {__version__}",
            "A moderation desk for the Atlas community on Discord, GitHub and Reddit.",
            "",
            f"Qt {qVersion()} · PySide6 {PySide6.__version__}",
            f"Python {py_platform.python_version()} ({sys.platform})",
        ]
        libraries = []
        for dist in ("discord.py", "PyGithub", "praw", "qasync", "aiohttp", "keyring"):
            try:
                libraries.append(f"{dist} {metadata.version(dist)}")
            except metadata.PackageNotFoundError:
                libraries.append(f"{dist} (not installed)")
        lines.append(" · ".join(libraries))
        return "\n".join(lines)

    def show_about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(self)
        box.setWindowTitle(f"About {APP_NAME}")
        box.setIconPixmap(icons.app_icon().pixmap(64, 64))
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(self.about_text())
        box.exec()

    # ----- UI state -----

    def restore_ui_state(self) -> None:
        """Restore geometry and the last tab from the state file, if any."""
        if self.state_path is None or not self.state_path.exists():
            return
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            geometry = data.get("geometry")
            if isinstance(geometry, str):
                self.restoreGeometry(QByteArray(base64.b64decode(geometry)))
            window_state = data.get("window_state")
            if isinstance(window_state, str):
                self.restoreState(QByteArray(base64.b64decode(window_state)))
            tab = data.get("tab")
            names = [spec.name for spec in self.specs]
            if isinstance(tab, str) and tab in names:
                self.tabs.setCurrentIndex(names.index(tab))
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring an unreadable window state file %s: %s", self.state_path, exc)

    def save_ui_state(self) -> None:
        """Write geometry and the current tab to the state file."""
        if self.state_path is None:
            return
        data = {
            "geometry": base64.b64encode(bytes(self.saveGeometry().data())).decode("ascii"),
            "window_state": base64.b64encode(bytes(self.saveState().data())).decode("ascii"),
            "tab": self.current_pane_name(),
        }
        try:
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.state_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            tmp.replace(self.state_path)
        except OSError as exc:
            log.warning("could not save the window state to %s: %s", self.state_path, exc)

    # ----- events -----

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.first_paint_time = time.time()
            # Let the paint finish before anything listening starts heavy work.
            QTimer.singleShot(0, self.first_painted.emit)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._refresh_tab_icons()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._save_state_on_close:
            self.save_ui_state()
        for pane in self.panes:
            try:
                pane.shutdown()
            except Exception:
                log.exception("the %s pane failed to shut down", pane.objectName())
        self.closing.emit()
        self.bus.close()
        super().closeEvent(event)
