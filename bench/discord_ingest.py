"""Live Discord ingest: discord.py alone beside the desk, against the sandbox gateway.

    python bench/discord_ingest.py [--messages 20000] [--runs 3] [--no-store]
    QT_QPA_PLATFORM=offscreen python bench/discord_ingest.py --gui [--gateway thread|process] [--untuned]
        [--messages N] [--runs N] [--modes MODE ...] [--gc-gen2 N] [--switch-interval S] [--trace-stalls]

Headless (the default): each run starts a fresh ``DiscordSandbox`` in the same process (as in PERFORMANCE.md's
baseline), connects a client, waits until it is caught up, then has the sandbox post ``--messages``
MESSAGE_CREATE as fast as it can and times how long until the client has them all:

- ``discord.py``: a bare ``discord.Client`` whose ``on_message`` only counts (the ceiling);
- ``connector``: ``DiscordConnector`` handing batches to a sink that only counts;
- ``connector+store``: ``DiscordConnector`` → ``InboxService`` → SQLite store (the real ingest path, no GUI).

``--gui``: the desk as the moderator runs it. Each measurement is a fresh process. The sandbox gateway runs on
its own loop in a thread of the measured process (``--gateway thread``, the default: the sandbox shares the
process, as in PERFORMANCE.md's ~7,000/s baseline and as the demo desk runs it, but stays off the GUI thread)
or in a process of its own (``--gateway process``: like Discord, it shares neither GIL nor loop with the
client; discord.py alone then reaches 10–16k/s on this 2-core machine, where the sandbox takes one core):

- ``discord.py``: a bare client on a plain asyncio loop (the ceiling the target is set against);
- ``discord.py+qasync``: the same bare client on a qasync loop over a QApplication (what the Qt loop costs);
- ``desk``: an offscreen 1440×900 ``QMainWindow`` showing the ``InboxPane`` wired to the store and the change
  bus through the Qt bridge, the ``DiscordConnector`` on the qasync loop feeding ``InboxService``; the rate
  counts items committed to the store (``ItemsAdded``). A 5 ms ``QTimer`` heartbeat records how late each
  tick fires from the burst's start until the inbox list shows every message: the longest lateness is the
  GUI thread's longest stall. Once the connector has caught up the desk's own start-up hook runs
  (``atlas_desk.app.settle_heap`` and ``IdleCollector``, as ``Desk`` does after the first sync), and the
  garbage collector's full passes in the stall window are timed too;
- ``desk-untuned`` (with ``--untuned``): the same desk without that hook (Python's default collector), for a
  before/after in the same run.

Every measured process runs with the desk's GIL switch interval (``app.responsive_threads``), the ceilings
too; ``--switch-interval`` sets another for all of them. ``--trace-stalls`` samples the GUI thread's stack and
prints where it was during stalls (slower; for finding stalls, not for timing).

Modes alternate within each run so they see the same machine load; medians and ratios to discord.py alone are
printed. Targets (issue 3): the desk sustains ≥ 70 % of discord.py's rate with the inbox visible, and the GUI
thread's longest stall stays ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import discord

from atlas_desk.config import DiscordSettings
from atlas_desk.core.types import ConnectionState, InboxItem, Platform
from atlas_desk.platforms.discord.connector import DiscordConnector, configure_endpoints, desk_intents
from atlas_desk.sandbox.community import generate
from atlas_desk.sandbox.discord import DiscordSandbox

TARGET = 0.70
STALL_TARGET_MS = 50.0
HEARTBEAT_MS = 5
SEED = 7


class CountingSink:
    """A ConnectorSink that only counts (what the connector costs by itself)."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.done = asyncio.Event()
        self.cursors: dict[str, str] = {}

    async def ingest(self, items: Sequence[InboxItem]) -> None:
        self.count += len(items)
        if self.target and self.count >= self.target:
            self.done.set()

    def set_state(self, platform: Platform, state: ConnectionState, reason: str = "") -> None:
        pass

    async def get_cursor(self, platform: Platform, stream: str) -> str | None:
        return self.cursors.get(stream)

    async def set_cursor(self, platform: Platform, stream: str, cursor: str) -> None:
        self.cursors[stream] = cursor


class StoreSink(CountingSink):
    """The real ingest path: InboxService over a SQLite store in a temporary directory."""

    def __init__(self, directory: Path) -> None:
        super().__init__()
        from atlas_desk.core.bus import ChangeBus
        from atlas_desk.core.inbox import InboxService
        from atlas_desk.store.db import Store

        self.store = Store.open(directory / "bench.sqlite3")
        self.service = InboxService(self.store, ChangeBus())

    async def ingest(self, items: Sequence[InboxItem]) -> None:
        await self.service.ingest(items)
        await super().ingest(items)

    def close(self) -> None:
        self.store.close()


# ------------------------------------------------------------------------------------------- the sandbox


class Gateway(Protocol):
    """A running Discord sandbox, in this process or another."""

    env: dict[str, str]
    config: dict[str, Any]
    channels: list[str]

    async def burst(self, n: int) -> None: ...

    async def stop(self) -> None: ...


class LocalGateway:
    """The sandbox on this process's loop: its burst shares the client's CPU time (PERFORMANCE.md's setup)."""

    def __init__(self, sandbox: DiscordSandbox) -> None:
        self.sandbox = sandbox
        self.env = sandbox.env()
        self.config = sandbox.config()["discord"]
        self.channels = sandbox.text_channel_ids()

    @classmethod
    async def start(cls) -> LocalGateway:
        sandbox = DiscordSandbox(generate(SEED))
        await sandbox.start()
        return cls(sandbox)

    async def burst(self, n: int) -> None:
        await self.sandbox.burst(n, channel_ids=self.channels)

    async def stop(self) -> None:
        await self.sandbox.stop()


class ProcessGateway:
    """The sandbox in a child process (``--sandbox``), driven by lines on its stdin."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--sandbox"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        info = json.loads(self.proc.stdout.readline())
        self.env = info["env"]
        self.config = info["config"]
        self.channels = info["channels"]

    async def burst(self, n: int) -> None:
        # Returns at once: the sandbox posts on its own loop while this process receives.
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"burst {n}\n")
        self.proc.stdin.flush()

    async def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        await asyncio.to_thread(self.proc.wait, 30)


class ThreadGateway:
    """The sandbox on its own asyncio loop in a thread of this process: it shares the GIL with the client,
    as the in-process baseline of PERFORMANCE.md does, without running on the GUI thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sandbox", daemon=True)
        self.thread.start()
        self.local = asyncio.run_coroutine_threadsafe(LocalGateway.start(), self.loop).result(60)
        self.env = self.local.env
        self.config = self.local.config
        self.channels = self.local.channels

    async def burst(self, n: int) -> None:
        asyncio.run_coroutine_threadsafe(self.local.burst(n), self.loop)  # posts on its own loop

    async def stop(self) -> None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.local.stop(), self.loop))
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self.thread.join, 30)
        self.loop.close()


def start_gateway(kind: str) -> ProcessGateway | ThreadGateway:
    return ThreadGateway() if kind == "thread" else ProcessGateway()


async def serve_sandbox() -> None:
    """``--sandbox``: serve the gateway, print where (one JSON line), post bursts asked for on stdin."""
    if os.environ.get("ATLAS_BENCH_SANDBOX_NICE"):
        os.nice(int(os.environ["ATLAS_BENCH_SANDBOX_NICE"]))
    gateway = await LocalGateway.start()
    info = {"env": gateway.env, "config": gateway.config, "channels": gateway.channels}
    print(json.dumps(info), flush=True)
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str] = asyncio.Queue()

    def read() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line)
        loop.call_soon_threadsafe(lines.put_nowait, "")

    threading.Thread(target=read, daemon=True).start()
    try:
        while line := await lines.get():
            command, _, arg = line.strip().partition(" ")
            if command == "burst":
                await gateway.burst(int(arg))
    finally:
        await gateway.stop()


def settings_for(gateway: Gateway) -> DiscordSettings:
    return DiscordSettings(
        api=gateway.env["ATLAS_DESK_DISCORD_API"],
        gateway=gateway.env["ATLAS_DESK_DISCORD_GATEWAY"],
        guild_id=gateway.config["guild_id"],
        tickets_forum_id=gateway.config["tickets_forum_id"],
        support_channel_id=gateway.config["support_channel_id"],
    )


async def timed_burst(gateway: Gateway, n: int, done: asyncio.Event) -> float:
    started = time.perf_counter()
    await gateway.burst(n)
    await asyncio.wait_for(done.wait(), 300)
    return n / (time.perf_counter() - started)


# ---------------------------------------------------------------------------------------------- clients


async def bare_client(gateway: Gateway, n: int, on_burst: Callable[[], None] | None = None) -> float:
    """discord.py alone: a client whose on_message only counts. Returns messages/s."""
    configure_endpoints(gateway.env["ATLAS_DESK_DISCORD_API"], gateway.env["ATLAS_DESK_DISCORD_GATEWAY"])
    client = discord.Client(intents=desk_intents(), guild_ready_timeout=0.05, chunk_guilds_at_startup=False)
    ready = asyncio.Event()
    done = asyncio.Event()
    count = 0

    async def on_ready() -> None:
        ready.set()

    async def on_message(message: discord.Message) -> None:
        nonlocal count
        count += 1
        if count >= n:
            done.set()

    client.event(on_ready)
    client.event(on_message)
    await client.login(gateway.env["ATLAS_DESK_DISCORD_TOKEN"])
    task = asyncio.create_task(client.connect())
    try:
        await asyncio.wait_for(ready.wait(), 60)
        if on_burst is not None:
            on_burst()
        return await timed_burst(gateway, n, done)
    finally:
        await client.close()
        await task


async def run_discord_py(n: int) -> float:
    gateway = await LocalGateway.start()
    try:
        return await bare_client(gateway, n)
    finally:
        await gateway.stop()


async def run_connector(n: int, make_sink: Callable[[], CountingSink]) -> float:
    gateway = await LocalGateway.start()
    sink = make_sink()
    connector = DiscordConnector(
        settings_for(gateway), gateway.env["ATLAS_DESK_DISCORD_TOKEN"], sink, guild_ready_timeout=0.05
    )
    await connector.start()
    try:
        await connector.wait_caught_up(120)
        sink.count = 0
        sink.target = n
        return await timed_burst(gateway, n, sink.done)
    finally:
        await connector.stop()
        await gateway.stop()
        close = getattr(sink, "close", None)
        if close is not None:
            close()


async def headless(args: argparse.Namespace) -> int:
    results: dict[str, list[float]] = {"discord.py": [], "connector": [], "connector+store": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            modes: list[tuple[str, Any]] = [
                ("discord.py", lambda: run_discord_py(args.messages)),
                ("connector", lambda: run_connector(args.messages, CountingSink)),
            ]
            if not args.no_store:
                directory = Path(tmp) / f"run{run}"
                directory.mkdir()
                modes.append(
                    (
                        "connector+store",
                        lambda d=directory: run_connector(args.messages, lambda: StoreSink(d)),
                    )
                )
            for name, make in modes:
                rate = await make()
                results[name].append(rate)
                print(f"run {run + 1} {name:16s} {rate:8,.0f} messages/s", flush=True)
    base = statistics.median(results["discord.py"])
    print(f"\nmedian over {args.runs} runs of {args.messages:,} MESSAGE_CREATE:")
    ok = True
    for name, rates in results.items():
        if not rates:
            continue
        median = statistics.median(rates)
        ratio = median / base
        verdict = "" if name == "discord.py" else ("  ok" if ratio >= TARGET else f"  below {TARGET:.0%}")
        ok = ok and (name == "discord.py" or ratio >= TARGET)
        print(f"  {name:16s} {median:8,.0f}/s  {ratio:6.1%} of discord.py alone{verdict}")
    return 0 if ok else 1


# ------------------------------------------------------------------------------------------------ --gui


class StallTracer:
    """``--trace-stalls``: a thread samples the GUI thread's Python stack every half millisecond; the stacks
    seen while a heartbeat tick was late by more than ``STALL_TRACE_MS`` are counted and printed to stderr.
    (The sampler takes the GIL itself, so traced runs are slower: use them to find stalls, not to time.)"""

    def __init__(self, thread_id: int) -> None:
        self.thread_id = thread_id
        self.samples: collections.deque[tuple[float, tuple[str, ...]]] = collections.deque(maxlen=400_000)
        self.stalls: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-tracer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.0005):
            frame = sys._current_frames().get(self.thread_id)
            stack: list[str] = []
            while frame is not None and len(stack) < 10:
                code = frame.f_code
                stack.append(f"{Path(code.co_filename).name}:{frame.f_lineno}:{code.co_name}")
                frame = frame.f_back
            self.samples.append((time.perf_counter(), tuple(stack)))

    def report(self) -> None:
        self._stop.set()
        self._thread.join()
        counts: collections.Counter[tuple[str, ...]] = collections.Counter()
        for start, end in self.stalls:
            counts.update(stack for t, stack in self.samples if start <= t <= end)
        print(f"--- {len(self.stalls)} stalls over {STALL_TRACE_MS} ms; stacks in them:", file=sys.stderr)
        for stack, n in counts.most_common(15):
            print(f"{n:5d}  " + " <- ".join(stack[:7]), file=sys.stderr)


STALL_TRACE_MS = 20


class Heartbeat:
    """A 5 ms QTimer on the GUI thread; the longest lateness of a tick is the thread's longest stall.

    It also times the garbage collector's full (generation-2) passes while it runs.
    """

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(HEARTBEAT_MS)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.lateness: list[float] = []
        self.full_gcs: list[float] = []
        self._gc_started = 0.0
        self.tracer: StallTracer | None = None

    def start(self) -> None:
        self.lateness = []
        self.full_gcs = []
        self.last = time.perf_counter()
        gc.callbacks.append(self._gc)
        if os.environ.get("ATLAS_BENCH_TRACE_STALLS"):
            self.tracer = StallTracer(threading.get_ident())
        self.timer.start()

    def stop(self) -> dict[str, float]:
        self.timer.stop()
        if self.tracer is not None:
            self.tracer.report()
            self.tracer = None
        if self._gc in gc.callbacks:
            gc.callbacks.remove(self._gc)
        late = sorted(self.lateness) or [0.0]
        return {
            "max_stall_ms": late[-1] * 1000,
            "p99_stall_ms": late[int(len(late) * 0.99)] * 1000,
            "ticks": float(len(self.lateness)),
            "full_gcs": float(len(self.full_gcs)),
            "full_gc_max_ms": max(self.full_gcs, default=0.0) * 1000,
        }

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.full_gcs.append(time.perf_counter() - self._gc_started)

    def _tick(self) -> None:
        now = time.perf_counter()
        late = max(0.0, now - self.last - HEARTBEAT_MS / 1000)
        self.lateness.append(late)
        if self.tracer is not None and late * 1000 > STALL_TRACE_MS:
            self.tracer.stalls.append((self.last, now))
        self.last = now


async def gui_bare(n: int, kind: str) -> dict[str, float]:
    """discord.py alone on the qasync loop, the heartbeat running (no window)."""
    gateway = start_gateway(kind)
    heartbeat = Heartbeat()
    try:
        rate = await bare_client(gateway, n, on_burst=heartbeat.start)
        return {"rate": rate, **heartbeat.stop()}
    finally:
        await gateway.stop()


async def gui_desk(n: int, directory: Path, kind: str, *, tuned: bool = True) -> dict[str, float]:
    """The desk: inbox pane visible, connector → InboxService → store, ItemsAdded → Qt bridge → model.

    ``tuned``: run the desk's heap hook once caught up (``Desk._settle_heap``: ``settle_heap`` then an
    ``IdleCollector``); without it the collector keeps Python's defaults (the desk before the hook).
    """
    from PySide6.QtWidgets import QMainWindow

    from atlas_desk.app import GC_GEN2_THRESHOLD, IdleCollector, settle_heap, wait_first_sync
    from atlas_desk.core.bus import ChangeBus, ItemsAdded
    from atlas_desk.core.inbox import InboxService
    from atlas_desk.store.db import Store
    from atlas_desk.ui.bridge import QtBus
    from atlas_desk.ui.inbox.pane import InboxPane

    gateway = start_gateway(kind)
    store = Store.open(directory / "bench.sqlite3")
    bus = ChangeBus()
    service = InboxService(store, bus, mentions=("atlas-mods",))
    window = QMainWindow()
    pane = InboxPane(window)
    window.setCentralWidget(pane)
    window.resize(1440, 900)
    window.show()
    qbus = QtBus(bus, window)
    pane.connect_store(store, service, qbus)
    idle_gc: IdleCollector | None = None
    stored = 0
    target = 0
    done = asyncio.Event()

    def on_added(change: ItemsAdded) -> None:
        # Published on the loop's thread once the batch's transaction has committed.
        nonlocal stored
        stored += len(change.ids)
        if target and stored >= target:
            done.set()

    bus.subscribe(ItemsAdded, on_added)
    connector = DiscordConnector(
        settings_for(gateway), gateway.env["ATLAS_DESK_DISCORD_TOKEN"], service, guild_ready_timeout=0.05
    )
    heartbeat = Heartbeat()
    await connector.start()
    try:
        if tuned:
            # What the desk does after its connectors' first backfill (app.Desk._settle_heap).
            if not await wait_first_sync([connector], 120):
                raise RuntimeError("the connector did not catch up")
            settle_heap(int(os.environ.get("ATLAS_BENCH_GC_GEN2") or GC_GEN2_THRESHOLD))
            idle_gc = IdleCollector(qbus)
        await connector.wait_caught_up(120)
        model = pane.model
        assert model is not None
        while service.unread_counts() is None:  # the pane's one counting scan has run
            await asyncio.sleep(0.01)
        before = int(store.reader().execute("SELECT count(*) FROM inbox_items").fetchone()[0])
        await asyncio.sleep(0.2)  # let the backfill's model updates settle before the stall window opens
        stored, target = 0, n
        heartbeat.start()
        rate = await timed_burst(gateway, n, done)
        # The stall window lasts until the list shows every message (its last per-frame insert).
        deadline = time.perf_counter() + 30
        while model.rowCount() < before + n and time.perf_counter() < deadline:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)  # the last insert's repaint (never processEvents() inside a qasync task)
        result = {"rate": rate, **heartbeat.stop(), "rows": float(model.rowCount() - before)}
        counts = service.unread_counts() or {}
        result["unread"] = float(counts.get("unread", 0))
        result["stored"] = float(
            store.reader().execute("SELECT count(*) FROM inbox_items").fetchone()[0] - before
        )
        result["idle_gcs"] = float(idle_gc.collections if idle_gc is not None else 0)
        return result
    finally:
        heartbeat.timer.stop()
        if idle_gc is not None:
            idle_gc.stop()
        await connector.stop()
        await gateway.stop()
        pane.shutdown()
        window.close()
        store.close()


def gui_child(mode: str, n: int, kind: str) -> dict[str, float]:
    """``--child MODE``: one measurement in this (fresh) process."""
    if mode == "discord.py":

        async def plain() -> float:
            gateway = start_gateway(kind)
            try:
                return await bare_client(gateway, n)
            finally:
                await gateway.stop()

        return {"rate": asyncio.run(plain())}
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)  # as the desk runs (app._run_on_qt_loop)
    asyncio.set_event_loop(loop)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            result: dict[str, float]
            if mode == "discord.py+qasync":
                result = loop.run_until_complete(gui_bare(n, kind))
            else:
                result = loop.run_until_complete(gui_desk(n, Path(tmp), kind, tuned=mode != "desk-untuned"))
            return result
    finally:
        loop.close()
        asyncio.set_event_loop(None)


GUI_MODES = ("discord.py", "discord.py+qasync", "desk", "desk-untuned")


def gui(args: argparse.Namespace) -> int:
    modes = args.modes or [m for m in GUI_MODES if m != "desk-untuned" or args.untuned]
    if "discord.py" not in modes:
        modes.insert(0, "discord.py")  # the ceiling every ratio is taken against
    results: dict[str, list[dict[str, float]]] = {m: [] for m in modes}
    for run in range(args.runs):
        for mode in modes:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    *("--child", mode, "--messages", str(args.messages), "--gateway", args.gateway),
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                print(out.stdout, out.stderr, file=sys.stderr)
                raise SystemExit(f"{mode} failed")
            result = json.loads(out.stdout.strip().splitlines()[-1])
            results[mode].append(result)
            if args.trace_stalls:
                print(f"run {run + 1} {mode}:\n{out.stderr}", file=sys.stderr, flush=True)
            extra = ""
            if "max_stall_ms" in result:
                stall, p99 = result["max_stall_ms"], result["p99_stall_ms"]
                extra = f"   longest GUI stall {stall:5.1f} ms (p99 {p99:.1f})"
            if "full_gcs" in result:
                extra += f"   full GCs {result['full_gcs']:.0f} (longest {result['full_gc_max_ms']:.1f} ms)"
            if "rows" in result:
                extra += f"   list rows +{result['rows']:,.0f}, stored +{result['stored']:,.0f}"
            print(f"run {run + 1} {mode:18s} {result['rate']:8,.0f} messages/s{extra}", flush=True)
    base = statistics.median(r["rate"] for r in results["discord.py"])
    where = "its own process" if args.gateway == "process" else "a thread of the measured process"
    print(f"\nmedian over {args.runs} runs of {args.messages:,} MESSAGE_CREATE (sandbox in {where}):")
    ok = True
    for mode, runs in results.items():
        median = statistics.median(r["rate"] for r in runs)
        ratio = median / base
        line = f"  {mode:18s} {median:8,.0f}/s  {ratio:6.1%} of discord.py alone"
        if mode == "desk":
            ok = ratio >= TARGET
            line += "  ok" if ok else f"  below {TARGET:.0%}"
        if "full_gcs" in runs[0]:
            line += f"; full GCs in the window: {sum(r['full_gcs'] for r in runs):.0f} in {len(runs)} runs"
        if "max_stall_ms" in runs[0]:
            stalls = [r["max_stall_ms"] for r in runs]
            worst = max(stalls)
            line += f"; longest GUI stall median {statistics.median(stalls):.1f} ms, worst {worst:.1f} ms"
            if mode == "desk":
                stall_ok = worst <= STALL_TARGET_MS
                ok = ok and stall_ok
                line += "  ok" if stall_ok else f"  over {STALL_TARGET_MS:.0f} ms"
        print(line)
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-store", action="store_true", help="skip the connector+store mode (headless)")
    parser.add_argument(
        "--gui", action="store_true", help="the desk with the inbox visible, qasync, heartbeat"
    )
    parser.add_argument(
        "--gateway",
        choices=("thread", "process"),
        default="thread",
        help="--gui: run the sandbox in a thread of the measured process (default) or in its own process",
    )
    parser.add_argument(
        "--untuned",
        action="store_true",
        help="--gui: also measure the desk without its heap hook (app.settle_heap), in the same runs",
    )
    parser.add_argument(
        "--gc-gen2",
        type=int,
        help="--gui: the desk's gen-2 collection threshold, instead of app.GC_GEN2_THRESHOLD (experiments)",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        help="--gui: sys.setswitchinterval(S) in every measured process (default: the desk's, "
        "app.GUI_SWITCH_INTERVAL_S; Python's own default is 0.005)",
    )
    parser.add_argument(
        "--trace-stalls",
        action="store_true",
        help=f"--gui: print the GUI thread's stacks sampled in stalls over {STALL_TRACE_MS} ms (slower)",
    )
    parser.add_argument(
        "--modes", nargs="+", choices=GUI_MODES, help="--gui: measure only these modes (and discord.py alone)"
    )
    parser.add_argument("--child", choices=GUI_MODES, help=argparse.SUPPRESS)
    parser.add_argument("--sandbox", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.sandbox:
        asyncio.run(serve_sandbox())
        return 0
    if args.child:
        # Every measured process runs with the desk's switch interval (app.responsive_threads), the
        # discord.py-alone ceilings too: with the sandbox on a thread it moves their rate as well.
        from atlas_desk.app import GUI_SWITCH_INTERVAL_S

        sys.setswitchinterval(float(os.environ.get("ATLAS_BENCH_SWITCH_INTERVAL") or GUI_SWITCH_INTERVAL_S))
        print(json.dumps(gui_child(args.child, args.messages, args.gateway)), flush=True)
        # Measured and reported: skip interpreter teardown, where PySide's None refcounts (ui/compat.py) can
        # abort a process whose Qt loop ran a flood of timer events.
        sys.stderr.flush()
        os._exit(0)
    if args.gui:
        if args.gc_gen2:
            os.environ["ATLAS_BENCH_GC_GEN2"] = str(args.gc_gen2)  # read by the desk child
        if args.trace_stalls:
            os.environ["ATLAS_BENCH_TRACE_STALLS"] = "1"
        if args.switch_interval:
            os.environ["ATLAS_BENCH_SWITCH_INTERVAL"] = str(args.switch_interval)  # read by every child
        return gui(args)
    return asyncio.run(headless(args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
