"""The desk's bootstrap: QApplication + qasync loop, the main window first, then everything slow.

Order matters for start-up time: the window is built and painted before the runtime exists, so the platform
client libraries (discord.py, PyGithub, praw: about a second of imports together) load only after the first
paint, in the background. With ``--demo`` the sandbox servers run on their own thread with their own asyncio
loop, so serving the platforms never competes with the GUI thread's event loop.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atlas_desk import APP_ID, APP_NAME, ORG_NAME

if TYPE_CHECKING:  # asyncio is imported after the first paint (it and qasync cost ~100 ms)
    import asyncio

log = logging.getLogger("atlas_desk.app")

SCREENSHOT_SIZE = (1440, 900)
SCREENSHOT_TIMEOUT_S = float(os.environ.get("ATLAS_DESK_SCREENSHOT_TIMEOUT", "60"))
HEADLESS_SCREENSHOT_DIR = "demo-screenshots"
FIRST_PAINT_WAIT_S = 5.0
DEMO_LIVE_RATE = 0.3  # events per second: the demo community keeps talking while you look
# Benchmarks only: the parent's time.time() at spawn; the desk prints the time to first paint and exits.
BENCH_SPAWN_ENV = "ATLAS_DESK_BENCH_SPAWN_TIME"
# The heap (see settle_heap): how long the first sync may take before the heap is settled anyway, how much
# rarer automatic full collections become (Python's default threshold is 10), when the desk collects itself.
FIRST_SYNC_TIMEOUT_S = 300.0
FIRST_SYNC_POLL_S = 0.25
GC_GEN2_THRESHOLD = 100
IDLE_GC_INTERVAL_MS = 5_000
IDLE_GC_QUIET_S = 2.0
# How long a thread may hold the GIL while another waits for it (Python's default: 5 ms); see
# responsive_threads.
GUI_SWITCH_INTERVAL_S = 0.001


def _headless_linux() -> bool:
    return (
        sys.platform.startswith("linux")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
        and not os.environ.get("QT_QPA_PLATFORM")
    )


def run_desk(args: argparse.Namespace) -> int:
    """Run the desk until its window closes (or, with ``--screenshot``, until the panes are rendered)."""
    demo = bool(getattr(args, "demo", False))
    screenshot: Path | None = getattr(args, "screenshot", None)
    if _headless_linux():
        screenshot = screenshot or Path(HEADLESS_SCREENSHOT_DIR).resolve()
        print(f"No display found: rendering the demo panes to {screenshot} instead", flush=True)
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        demo = demo or getattr(args, "config", None) is None

    from atlas_desk.ui.compat import guard_singleton_refcounts

    guard_singleton_refcounts()  # before the first signal is emitted (see ui/compat.py)
    responsive_threads()

    from PySide6.QtWidgets import QApplication

    from atlas_desk.ui import icons
    from atlas_desk.ui.look import install_look

    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setDesktopFileName(APP_ID)
    # The desk ends when ``Desk.main`` returns (after stopping connectors and the store), not when Qt's loop
    # notices the last window closed: that would stop the asyncio loop in the middle of the shutdown.
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(icons.app_icon())
    install_look(app)

    # One desk per data dir: a second launch raises the running window instead of opening the store twice.
    # A screenshot run is a render job, not a desk a moderator works in, so it neither asks nor listens.
    instance = None
    if screenshot is None:
        from atlas_desk.dirs import data_dir
        from atlas_desk.ui.single_instance import SingleInstance, raise_window

        instance = SingleInstance(APP_ID, data_dir(demo, getattr(args, "data_dir", None)))
        if instance.try_activate_existing():
            print(f"{APP_NAME} is already running on this data; its window was raised.", flush=True)
            return 0

    desk = Desk(app, args, demo=demo, screenshot=screenshot)
    desk.show_window()
    if instance is not None and not instance.listen(lambda: raise_window(desk.window)):
        print(f"{APP_NAME} is already running on this data.", file=sys.stderr, flush=True)
        desk.dispose()
        return 1
    if os.environ.get(BENCH_SPAWN_ENV):
        return desk.bench_exit()
    # The log file is opened after the first paint (config dirs, handlers: ~30 ms); until then warnings go to
    # stderr through logging's last-resort handler.
    _setup_logging(args)

    # Only now the event loop machinery: the window is already on screen.
    try:
        return _run_on_qt_loop(app, desk.main())
    except KeyboardInterrupt:
        return 130
    finally:
        desk.dispose()


def _run_on_qt_loop(app: Any, main: Any) -> int:
    """Run ``main`` on a qasync loop over ``app`` until it returns.

    Like ``qasync.run(main)``, but without installing qasync's event loop *policy*: on Python 3.11 that policy
    stays process-wide, so every ``asyncio.new_event_loop()`` in another thread (the demo sandbox, connector
    workers) would get a Qt loop bound to the GUI application and fail. Here only this thread's loop is Qt's.
    """
    import asyncio

    import qasync

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return int(loop.run_until_complete(main))
    finally:
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


def _setup_logging(args: argparse.Namespace) -> None:
    try:
        from atlas_desk.config import log_dir
        from atlas_desk.log import setup_logging

        setup_logging(log_dir(), verbose=bool(getattr(args, "verbose", False)), stderr=True)
    except (ImportError, OSError) as exc:
        logging.basicConfig(level=logging.INFO)
        log.warning("logging to stderr only: %s", exc)


def start_sandbox(live_rate: float) -> tuple[Any, dict[str, Any], dict[str, str]]:
    """Start the demo community's servers on their own thread (blocking: call it off the GUI thread).

    Returns the running ``SandboxThread``, the config pointing at it and its environment (endpoints, tokens).
    """
    from datetime import UTC, datetime

    from atlas_desk.sandbox.community import generate
    from atlas_desk.sandbox.harness import SandboxThread

    # The community's history ends now, so ages, SLA clocks and upcoming events read as they would live.
    sandbox = SandboxThread(generate(now=datetime.now(UTC)), live_rate=live_rate)
    env = sandbox.start(timeout=60)
    return sandbox, sandbox.config(), env


# ----- the heap --------------------------------------------------------------------------------------------
# A full (generation-2) garbage collection walks every object the collector tracks: on the desk's heap (Qt
# wrappers, three client libraries, the connectors' recent items) that holds the GUI thread for 30–80 ms,
# several frames. Python starts one whenever enough objects have survived the younger collections, which is
# exactly what an ingest burst produces, so the collections landed in the middle of bursts.


def responsive_threads(interval: float = GUI_SWITCH_INTERVAL_S) -> None:
    """Let the GUI thread get the GIL back sooner from the desk's busy threads (the desk process only).

    Every call from Qt into Python (a row's paint, a timer, a socket notifier, a slot) has to take the GIL.
    While another thread runs Python — the store's writer between SQLite steps, Reddit's worker, PyGithub
    calls, the demo community's sandbox — each such call waits until that thread's switch interval runs out:
    up to 5 ms by default, and a frame makes dozens of calls. In a Discord burst with the inbox visible,
    1 ms instead of 5 ms took the GUI thread's 99th-percentile lateness from 21–23 to 14–16 ms and its longest
    stall from 32 to 27 ms (medians of five paired runs) for about 8 % less ingest rate (BENCHMARKS.md): a
    moderator feels the frames, not the last messages a second.
    """
    sys.setswitchinterval(interval)


async def wait_first_sync(connectors: Iterable[Any], timeout: float = FIRST_SYNC_TIMEOUT_S) -> bool:
    """Wait until every connector has finished its first backfill, or given up; False if ``timeout`` ran out.

    Discord reports live at READY, before its backfill, so it is waited on through ``wait_caught_up``; GitHub
    and Reddit report live only after their first full fetch.
    """
    import asyncio

    from atlas_desk.core.types import ConnectionState

    async def one(connector: Any) -> None:
        caught_up = getattr(connector, "wait_caught_up", None)
        if caught_up is not None:
            with contextlib.suppress(ConnectionError):  # it stopped without catching up: nothing to wait for
                await caught_up()
            return
        while connector.state is not ConnectionState.LIVE:
            await asyncio.sleep(FIRST_SYNC_POLL_S)

    waits = [asyncio.ensure_future(one(c)) for c in connectors]
    if not waits:
        return True
    try:
        _done, pending = await asyncio.wait(waits, timeout=timeout)
    finally:
        for task in waits:
            task.cancel()
    return not pending


def settle_heap(gen2_threshold: int = GC_GEN2_THRESHOLD) -> None:
    """Once the first sync is done: collect, freeze the survivors and make automatic full collections rarer.

    What is alive then (modules, Qt wrappers, client libraries, the panes) lives as long as the desk; frozen,
    it is never walked again, so a full collection only walks what was allocated since. Frozen objects that
    later become cyclic garbage are not reclaimed; doing it once, after start-up, bounds that. The raised
    threshold postpones automatic full collections (every ~100 instead of ~10 middle-generation passes), so
    a burst of thousands of messages rarely triggers one; ``IdleCollector`` runs the postponed ones when no
    items are arriving.
    """
    gc.collect()
    gc.freeze()
    gen0, gen1, _gen2 = gc.get_threshold()
    gc.set_threshold(gen0, gen1, gen2_threshold)
    log.debug("heap settled: %d objects frozen, gc thresholds %s", gc.get_freeze_count(), gc.get_threshold())


class IdleCollector:
    """Runs full garbage collections while no items arrive, so they stay out of ingest bursts.

    Every ``interval_ms`` it checks whether the inbox has been quiet for ``quiet_s`` and whether objects
    reached the oldest generation since the last full collection; only then it collects.
    """

    def __init__(
        self, qbus: Any, *, interval_ms: int = IDLE_GC_INTERVAL_MS, quiet_s: float = IDLE_GC_QUIET_S
    ) -> None:
        from PySide6.QtCore import QTimer

        self.quiet_s = quiet_s
        self.collections = 0
        self._last_change = time.monotonic()
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        qbus.items_added.connect(self._changed)
        qbus.items_changed.connect(self._changed)
        self._timer.start()

    def _changed(self, _ids: object) -> None:
        self._last_change = time.monotonic()

    def _tick(self) -> None:
        if time.monotonic() - self._last_change < self.quiet_s:
            return  # a burst is on: the raised threshold keeps the collector out of it
        if gc.get_count()[2] == 0:
            return  # nothing moved to the oldest generation since its last collection
        gc.collect()
        self.collections += 1

    def stop(self) -> None:
        """Stop checking (the desk is closing)."""
        self._timer.stop()


class StoreOutboxSource:
    """The outbox indicator's view of the store: counts and failed actions read on the GUI thread (small,
    indexed queries), retry and discard sent to the writer thread, each followed by an ``OutboxChanged``."""

    def __init__(self, store: Any, bus: Any) -> None:
        self.store = store
        self.bus = bus

    def counts(self) -> tuple[int, int]:
        from atlas_desk.core.types import OutboxState
        from atlas_desk.store import outbox

        counts = outbox.count_by_state(self.store.reader())
        return counts[OutboxState.PENDING] + counts[OutboxState.SENDING], counts[OutboxState.FAILED]

    def failed_actions(self) -> Sequence[Any]:
        from atlas_desk.core.types import OutboxState
        from atlas_desk.store import outbox

        return outbox.list_actions(self.store.reader(), [OutboxState.FAILED])

    def retry(self, action_id: int) -> None:
        from atlas_desk.store import outbox

        self._write(lambda conn: outbox.retry(conn, action_id), action_id)

    def discard(self, action_id: int) -> None:
        from atlas_desk.store import outbox

        self._write(lambda conn: outbox.discard(conn, action_id), action_id)

    def _write(self, job: Any, action_id: int) -> None:
        from atlas_desk.core.bus import OutboxChanged

        future = self.store.submit(job)

        def done(f: Any) -> None:
            if f.exception() is not None:
                log.error("outbox change failed", exc_info=f.exception())
            else:
                self.bus.publish(OutboxChanged((action_id,)))

        future.add_done_callback(done)


class Desk:
    """One run of the desk: window, runtime, optional sandbox and screenshot run."""

    def __init__(self, app: Any, args: argparse.Namespace, *, demo: bool, screenshot: Path | None) -> None:
        self.app = app
        self.args = args
        self.demo = demo
        self.screenshot = screenshot
        self.config_path: Path | None = getattr(args, "config", None)
        self.runtime: Any = None
        self.sandbox: Any = None  # atlas_desk.sandbox.harness.SandboxThread in demo mode
        self.window: Any = None
        self.qbus: Any = None
        self.settings: Any = None
        self.reporter: Any = None
        self.notifications: Any = None  # atlas_desk.ui.notifications.DeskNotifications
        self._signal_tick: Any = None
        self._idle_gc: IdleCollector | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed: asyncio.Event | None = None
        self._window_closed = False

    # ----- the run -----

    def show_window(self) -> None:
        """Build the window and paint it once, before the event loop machinery or slow imports."""
        from PySide6.QtCore import QEventLoop, QTimer

        from atlas_desk.core.bus import ChangeBus
        from atlas_desk.ui import errors
        from atlas_desk.ui.bridge import QtBus
        from atlas_desk.ui.main_window import MainWindow

        bus = ChangeBus()
        self.qbus = QtBus(bus)
        self.window = window = MainWindow(
            self.qbus,
            state_dir=self._data_dir(),
            settings_opener=self.open_settings,
            restore_state=self.screenshot is None,
            lazy_panes=True,
        )
        self.reporter = errors.install(window)
        if self.screenshot is not None:
            window.resize(*SCREENSHOT_SIZE)
        if self.demo:
            # Qt appends the application's display name: "Demo community — Atlas Desk".
            window.setWindowTitle("Demo community")
        window.closing.connect(self._on_window_closed)
        if self.demo:
            self._load_settings(bus)
        else:
            # The settings file is read right after the first paint (importing and validating the settings
            # costs ~15 ms); until then each platform shows as starting.
            from atlas_desk.core.bus import ConnectionChanged
            from atlas_desk.core.types import ConnectionState, Platform

            for platform in Platform:
                bus.publish(ConnectionChanged(platform, ConnectionState.CONNECTING, "Reading the settings…"))
        window.show()
        # A timer guarantees the wait below wakes up even if the platform never sends an expose event.
        guard = QTimer()
        guard.setSingleShot(True)
        guard.start(int(FIRST_PAINT_WAIT_S * 1000))
        while not window.painted and guard.isActive():
            self.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        guard.stop()
        self._install_signal_handlers()
        if not self.demo:
            self._load_settings(bus)

    def _install_signal_handlers(self) -> None:
        """Ctrl+C and SIGTERM close the window, which shuts the desk down in order."""
        import signal

        from PySide6.QtCore import QTimer

        def close(_signum: int, _frame: object) -> None:
            if self.window is not None:
                QTimer.singleShot(0, self.window.close)

        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, OSError):  # not the main thread, or not on this platform
                signal.signal(signum, close)
        # Python runs signal handlers only between bytecodes; a slow idle tick lets it while Qt waits.
        self._signal_tick = QTimer()
        self._signal_tick.start(300)
        self._signal_tick.timeout.connect(lambda: None)

    def _on_window_closed(self) -> None:
        self._window_closed = True
        if self._closed is not None:
            self._closed.set()

    def dispose(self) -> None:
        """Delete the window's Qt objects now, while Python and Qt are alive (not at interpreter exit)."""
        from PySide6.QtCore import QCoreApplication, QEvent

        if self.window is not None:
            self.window.close()
            self.window.deleteLater()
            self.window = None
        if self.qbus is not None:
            self.qbus.close()
            self.qbus.deleteLater()
            self.qbus = None
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)

    def bench_exit(self) -> int:
        """Benchmark runs: print the seconds from spawn to the window's first paint event, close, exit.

        Measured at the paint event itself, as the bare window in bench/startup.py measures it; what runs
        after the paint (the single-instance listener) is not part of the figure.
        """
        painted_at = getattr(self.window, "first_paint_time", None) or time.time()
        elapsed = painted_at - float(os.environ[BENCH_SPAWN_ENV])
        print(f"first-paint-seconds {elapsed:.4f}", flush=True)
        self.dispose()
        return 0

    async def main(self) -> int:
        """Everything after the first paint: runtime, connectors, then wait for the window to close."""
        import asyncio

        from atlas_desk.ui import errors

        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self.reporter.loop_exception_handler)
        self._closed = asyncio.Event()
        if self._window_closed:
            self._closed.set()
        window = self.window
        try:
            window.build_panes()
            await asyncio.sleep(0)  # let the panes paint before the runtime is built
            await self._start_runtime(self.qbus.bus)
            if self.screenshot is not None:
                return await self._render_screenshots(self.screenshot)
            await self._closed.wait()
            return 0
        finally:
            window.set_status_message("Closing…")
            await self._shutdown()
            errors.uninstall(self.reporter)

    def _data_dir(self) -> Path:
        from atlas_desk.dirs import data_dir

        return data_dir(self.demo, getattr(self.args, "data_dir", None))

    def _load_settings(self, bus: Any) -> None:
        """Read the config file (not in demo mode) and show each platform's starting state."""
        from atlas_desk.core.bus import ConnectionChanged, Notice
        from atlas_desk.core.types import ConnectionState, Platform

        if self.demo:
            for platform in Platform:
                bus.publish(ConnectionChanged(platform, ConnectionState.CONNECTING, "Starting the sandbox…"))
            self.window.set_status_message("Starting the demo community…")
            return
        from atlas_desk import config

        try:
            self.settings = config.load_settings(self.config_path, must_exist=self.config_path is not None)
        except config.ConfigError as exc:
            bus.publish(
                Notice("error", f"The settings could not be read, so nothing is connected: {exc}", "settings")
            )
            self.settings = config.Settings()
        hints = {
            Platform.DISCORD: "Set the server (guild) id and the bot token in Settings › Discord.",
            Platform.GITHUB: "Set the repository and an access token in Settings › GitHub.",
            Platform.REDDIT: "Set the subreddit and the app credentials in Settings › Reddit.",
        }
        configured = set(self.settings.configured_platforms())
        for platform in Platform:
            if platform.value in configured:
                bus.publish(ConnectionChanged(platform, ConnectionState.CONNECTING, "Starting…"))
            else:
                bus.publish(ConnectionChanged(platform, ConnectionState.NOT_CONFIGURED, hints[platform]))
        self.window.set_status_message("Opening the store…")

    async def _start_runtime(self, bus: Any) -> None:
        """Build the runtime off the GUI thread, hand it to the panes, start the connectors."""
        import asyncio

        from atlas_desk.core.bus import ConnectionChanged, Notice
        from atlas_desk.core.types import ConnectionState, Platform

        window = self.window
        try:
            from atlas_desk.credentials import Credentials
            from atlas_desk.runtime import Runtime, sandbox_settings
        except ImportError as exc:
            log.error("the runtime is not available: %s", exc)
            bus.publish(
                Notice("error", f"The desk's data layer is missing ({exc}); panes stay empty.", "desk")
            )
            window.attach_runtime(None, self.demo)
            window.set_status_message("")
            return

        credentials: Any = Credentials()
        if self.demo:
            try:
                live_rate = 0.0 if self.screenshot is not None else DEMO_LIVE_RATE
                self.sandbox, sandbox_config, env = await asyncio.to_thread(start_sandbox, live_rate)
                self.settings, credentials = sandbox_settings(sandbox_config, env)
            except Exception as exc:
                log.exception("the sandbox could not start")
                bus.publish(Notice("error", f"The demo community could not start: {exc}", "demo"))
                for platform in Platform:
                    bus.publish(
                        ConnectionChanged(platform, ConnectionState.OFFLINE, "The sandbox did not start.")
                    )
                window.attach_runtime(None, self.demo)
                window.set_status_message("")
                return

        if self.demo:
            # The demo community is generated afresh (its history ends now): start from an empty demo store.
            # Only the demo dir is touched, and the single-instance guard keeps another demo desk off it.
            from atlas_desk.config import store_path

            store = store_path(self._data_dir())
            for suffix in ("", "-wal", "-shm"):
                Path(f"{store}{suffix}").unlink(missing_ok=True)
        runtime = Runtime(self.settings, credentials, self._data_dir())
        runtime.bus = bus  # the window already listens to this bus; the services publish on it
        try:
            await asyncio.to_thread(runtime.open)
        except Exception as exc:
            log.exception("the store could not be opened")
            bus.publish(Notice("error", f"The local store could not be opened: {exc}", "store"))
            window.attach_runtime(None, self.demo)
            window.set_status_message("")
            return
        self.runtime = runtime
        window.attach_runtime(runtime, self.demo)
        self._install_notifications(runtime)
        if self.demo and self.sandbox is not None:
            self._spawn(self._import_demo_plan(runtime), "import the demo community's plan")
        if runtime.store is not None:
            window.set_outbox_source(StoreOutboxSource(runtime.store, bus))
        window.set_status_message(
            "Connecting…" if self.settings.configured_platforms() else self._idle_message()
        )
        task = asyncio.ensure_future(self._start_connectors(runtime))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _import_demo_plan(self, runtime: Any) -> None:
        """The demo community's contests and scheduled posts (its AMAs come from the Discord sandbox)."""
        from atlas_desk.calendar_runtime import attach_calendar

        service = runtime.calendar or attach_calendar(runtime)
        community = self.sandbox.sandbox.community
        if service is not None:
            await service.import_plan(community.contests, community.scheduled_posts, timezone="UTC")

    def _spawn(self, coro: Any, what: str) -> None:
        """Run ``coro`` as a task the desk keeps; a failure is logged and shown, never lost."""
        import asyncio

        from atlas_desk.core.bus import Notice

        async def guarded() -> None:
            try:
                await coro
            except Exception as exc:
                log.exception("could not %s", what)
                self.qbus.bus.publish(Notice("error", f"Could not {what}: {exc}", "desk"))

        task = asyncio.ensure_future(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _install_notifications(self, runtime: Any) -> None:
        """Desktop notifications, the notification centre and the tray, fed by the runtime's bus."""
        from atlas_desk.ui.notifications import install

        try:
            self.notifications = install(self.window, self.qbus, self.settings)
            self.notifications.attach_runtime(runtime)
        except Exception:
            # Notifications are a convenience: a desktop without a notification service still gets a desk.
            log.exception("desktop notifications could not be set up")

    async def _start_connectors(self, runtime: Any) -> None:
        from atlas_desk.core.bus import Notice

        try:
            await runtime.start()
        except Exception as exc:
            log.exception("starting the connectors failed")
            runtime.bus.publish(Notice("error", f"The platforms could not be started: {exc}", "desk"))
        finally:
            if self.window is not None:
                self.window.set_status_message(self._idle_message())
        self._spawn(self._settle_heap(runtime), "settle the memory after the first sync")

    async def _settle_heap(self, runtime: Any) -> None:
        """After the connectors' first backfill: freeze the start-up heap, collect when idle (settle_heap)."""
        await wait_first_sync(list(runtime.connectors.values()))
        if self.window is None or self._idle_gc is not None:
            return
        settle_heap()
        self._idle_gc = IdleCollector(self.qbus)

    def _idle_message(self) -> str:
        if self.demo:
            return "Demo: the built-in Atlas community, served on this machine."
        if self.settings is not None and not self.settings.configured_platforms():
            return "No platform connected yet: File › Settings… (Ctrl+,) connects Discord, GitHub or Reddit."
        return ""

    async def _shutdown(self) -> None:
        import asyncio

        if self._idle_gc is not None:
            self._idle_gc.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.runtime is not None:
            try:
                await asyncio.wait_for(self.runtime.stop(), 20)
            except Exception:
                log.exception("stopping the runtime failed")
        if self.sandbox is not None:
            await asyncio.to_thread(self.sandbox.stop)

    # ----- settings -----

    def open_settings(self, parent: Any, platform: str) -> None:
        """Open the Settings dialog; saved changes apply at the next start."""
        from atlas_desk.core.bus import Notice
        from atlas_desk.ui.settings_dialog import SettingsDialog

        credentials = self.runtime.credentials if self.runtime is not None and not self.demo else None
        dialog = SettingsDialog(
            parent,
            initial_page=platform,
            config_path=self.config_path,
            credentials=credentials,
            demo=self.demo,
        )

        def saved(_settings: Any) -> None:
            if self.qbus is not None:
                self.qbus.bus.publish(
                    Notice(
                        "info",
                        "Settings saved. Restart the desk to connect with the new settings.",
                        "settings",
                    )
                )

        dialog.saved.connect(saved)
        dialog.exec()

    # ----- screenshots -----

    async def _render_screenshots(self, directory: Path) -> int:
        """Wait for the panes (and, in demo mode, the platforms) to load, then save each pane as a PNG."""
        import asyncio

        from atlas_desk.core.types import ConnectionState

        window = self.window
        deadline = time.monotonic() + SCREENSHOT_TIMEOUT_S
        complete = await self._wait_for(window.all_loaded, deadline)
        if complete and self.demo and self.runtime is not None:
            settled = {ConnectionState.LIVE, ConnectionState.OFFLINE, ConnectionState.NOT_CONFIGURED}
            complete = await self._wait_for(
                lambda: all(w.state in settled for w in window.platform_status.values()), deadline
            )
            await self._wait_quiet(deadline)
        if not complete:
            pending = [p.objectName() for p in window.panes if not p.ready()]
            message = (
                f"Screenshots taken after waiting {SCREENSHOT_TIMEOUT_S:g} s: still loading "
                f"{', '.join(pending) or 'the platforms'}."
            )
            log.warning("%s", message)
            print(message, file=sys.stderr, flush=True)
        directory.mkdir(parents=True, exist_ok=True)
        window.set_status_message(self._idle_message())
        for index, pane in enumerate(window.panes):
            window.show_pane(index)
            # Let the tab switch lay out and paint. Not processEvents(): inside a qasync coroutine that
            # re-enters the event loop and other tasks fail with "Cannot enter into task".
            await asyncio.sleep(0.05)
            path = directory / f"{pane.objectName()}.png"
            if not window.grab().save(str(path)):
                log.error("could not write %s", path)
                return 1
            log.info("wrote %s", path)
        return 0

    async def _wait_for(self, condition: Any, deadline: float) -> bool:
        import asyncio

        while not condition():
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def _wait_quiet(self, deadline: float, quiet_s: float = 0.7) -> None:
        """Wait until no new items arrived for ``quiet_s`` (the demo's backfill has settled)."""
        last = [time.monotonic()]
        self.qbus.items_added.connect(lambda _ids: last.__setitem__(0, time.monotonic()))
        self.qbus.items_changed.connect(lambda _ids: last.__setitem__(0, time.monotonic()))
        await self._wait_for(
            lambda: time.monotonic() - last[0] >= quiet_s, min(deadline, time.monotonic() + 20)
        )
