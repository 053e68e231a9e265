"""Roadmap board with 500 cards: drop → card drawn in its new place, and drop → confirmed by GitHub (sandbox).

    QT_QPA_PLATFORM=offscreen python bench/roadmap_drop.py [--cards 500] [--drops 30]

A GitHub sandbox whose project holds ``--cards`` cards runs with the desk's connector, outbox runner and
roadmap service on a background thread (the GUI thread stays pure Qt, as in the desk). Each drop is a real
``QDropEvent`` carrying the view's own mime data, sent to a column view's viewport at a card's position (what
Qt's drag manager delivers on a desktop). Measured per drop:

- drawn: from the drop event to the end of the synchronous repaint that shows the card in its new column
  (target <= 16 ms);
- confirmed: from the drop event to the outbox action being ``done``: the sandbox applied the GraphQL mutation
  over loopback HTTP and the desk recorded it (target <= 150 ms).
The floor beside it: a bare repaint of the same column view. Medians and p95 are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_community(cards: int):  # type: ignore[no-untyped-def]
    from atlas_desk.sandbox.community import generate
    from atlas_desk.sandbox.model import RoadmapCard

    community = generate(7)
    statuses = ["Under consideration", "Planned", "In progress", "Done"]
    labels = ["enhancement", "sync", "ui", "performance", "platform:web", "community-idea"]
    n = len(community.roadmap)
    for i in range(n, cards):
        community.roadmap.append(
            RoadmapCard(
                key=f"bench-{i}",
                title=f"Benchmark card {i}: a reasonably long roadmap title that wraps",
                body="Generated for the benchmark.",
                status=statuses[i % 4],
                target_month="2027-01",
                labels=[labels[i % len(labels)], labels[(i + 2) % len(labels)]],
            )
        )
    return community


def serve(cards: int) -> int:
    """The GitHub sandbox in its own process (as GitHub is outside the desk's): print its endpoint, serve."""
    import asyncio
    import json

    from atlas_desk.sandbox.github import GitHubSandbox

    async def run() -> None:
        sandbox = GitHubSandbox(build_community(cards))
        await sandbox.start()
        print(json.dumps({"api": sandbox.api_url, "token": sandbox.token}), flush=True)
        await asyncio.get_running_loop().run_in_executor(
            None, sys.stdin.read
        )  # until the parent closes stdin
        await sandbox.stop()

    asyncio.run(run())
    return 0


class RemoteDesk:
    """The desk's connector, outbox runner and roadmap service on a background thread, against ``api``."""

    def __init__(self, data_dir: Path, api: str, token: str, poll: float) -> None:
        import asyncio
        import threading

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self._open(data_dir, api, token, poll), 60)

    def run(self, coro, timeout: float = 30):  # type: ignore[no-untyped-def]
        import asyncio

        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _open(self, data_dir: Path, api: str, token: str, poll: float) -> None:
        import asyncio

        from atlas_desk.core.bus import ChangeBus
        from atlas_desk.core.inbox import InboxService
        from atlas_desk.core.outbox import OutboxRunner
        from atlas_desk.core.roadmap import RoadmapService
        from atlas_desk.core.types import Platform
        from atlas_desk.platforms.github import GitHubConnector
        from atlas_desk.store.db import Store
        from tests.test_github_support import GitHubTestSettings

        self.store = Store.open(data_dir / "desk.db")
        self.bus = ChangeBus()
        inbox = InboxService(self.store, self.bus)
        executors: dict[Platform, GitHubConnector] = {}
        self.runner = OutboxRunner(self.store, self.bus, executors)
        self.roadmap = RoadmapService(self.store, self.bus, self.runner)
        self.connector = GitHubConnector(GitHubTestSettings(api=api, poll_seconds=poll), token, inbox)
        self.connector.roadmap = self.roadmap
        executors[Platform.GITHUB] = self.connector
        await self.runner.start()
        await self.connector.start()
        while len(self.roadmap.cards()) < 1 or self.connector.state.value != "live":
            await asyncio.sleep(0.05)

    def close(self) -> None:
        async def stop() -> None:
            await self.connector.stop()
            await self.runner.stop()
            self.roadmap.close()

        try:
            self.run(stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.store.close()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=500)
    parser.add_argument("--drops", type=int, default=30)
    parser.add_argument("--poll", type=float, default=1.0, help="the connector's poll interval (s)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--switch-interval", type=float, default=0.0, help="sys.setswitchinterval (s); 0: keep"
    )
    args = parser.parse_args()
    if args.serve:
        return serve(args.cards)

    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    app = QApplication([])
    from atlas_desk.core.types import OutboxState
    from atlas_desk.store import outbox as outbox_repo
    from atlas_desk.ui.bridge import QtBus
    from atlas_desk.ui.panes import PaneContext
    from atlas_desk.ui.roadmap.board import mime_for
    from atlas_desk.ui.roadmap.pane import RoadmapPane

    data_dir = Path(tempfile.mkdtemp(prefix="roadmap-bench-"))
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--cards", str(args.cards)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    endpoint = json.loads(server.stdout.readline())
    desk = RemoteDesk(data_dir, endpoint["api"], endpoint["token"], args.poll)
    try:
        deadline = time.perf_counter() + 60
        while len(desk.roadmap.cards()) < args.cards and time.perf_counter() < deadline:
            time.sleep(0.05)
        bus = QtBus(desk.bus)
        pane = RoadmapPane()
        pane.resize(1440, 900)
        pane.attach(PaneContext(bus, types.SimpleNamespace(roadmap=desk.roadmap), lambda _: None))
        pane.show()
        deadline = time.perf_counter() + 20
        while not pane.ready() and time.perf_counter() < deadline:
            app.processEvents()
        total = sum(m.rowCount() for m in pane.models.values())
        print(f"board: {total} cards in {len(pane.models)} columns")
        columns = list(pane.models)
        drawn: list[float] = []
        confirmed: list[float] = []
        floor: list[float] = []
        in_model: list[float] = []
        for n in range(args.drops):
            src_name = columns[n % len(columns)]
            dst_name = columns[(n + 1) % len(columns)]
            src, dst = pane.models[src_name], pane.columns[dst_name].view
            card = src.ids[0]
            target = dst.model().index(1, 0)
            rect = dst.visualRect(target)
            point = QPointF(rect.center().x(), rect.center().y() + 10)  # below the second card
            # floor: one bare repaint of the target column
            t = time.perf_counter()
            dst.viewport().repaint()
            floor.append((time.perf_counter() - t) * 1000)
            mime = mime_for(card, src_name)  # kept alive: the event holds a plain pointer to it
            drop = QDropEvent(
                point,
                Qt.DropAction.MoveAction,
                mime,
                Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
            )
            # the drag reaches the column first (enter, move), as Qt's drag manager delivers it
            buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
            QApplication.sendEvent(
                dst.viewport(), QDragEnterEvent(point, Qt.DropAction.MoveAction, mime, buttons, mods)
            )
            QApplication.sendEvent(
                dst.viewport(), QDragMoveEvent(point, Qt.DropAction.MoveAction, mime, buttons, mods)
            )
            t0 = time.perf_counter()
            QApplication.sendEvent(dst.viewport(), drop)
            model = pane.models[dst_name]
            while model.row_of(card) < 0:
                app.processEvents()
                if time.perf_counter() - t0 > 5:
                    raise SystemExit("the card never appeared in its new column")
            in_model.append((time.perf_counter() - t0) * 1000)
            dst.viewport().repaint()
            drawn.append((time.perf_counter() - t0) * 1000)
            while True:
                # the outbox row lands with the store's commit, just after the card was drawn
                actions = outbox_repo.list_actions(desk.store.reader())
                action = actions[-1] if len(actions) > n else None
                if action is not None and action.state in (OutboxState.DONE, OutboxState.FAILED):
                    break
                app.processEvents()
                time.sleep(0.0002)  # let the desk's threads have the GIL
                if time.perf_counter() - t0 > 10:
                    raise SystemExit("the move was never confirmed")
            confirmed.append((time.perf_counter() - t0) * 1000)
            assert action.state is OutboxState.DONE, action.last_error
            time.sleep(0.02)
            app.processEvents()
        print(f"drops: {args.drops} (between columns, below the second card)")
        print(
            f"drop → drawn in new place: median {statistics.median(drawn):.1f} ms,"
            f" p95 {pct(drawn, 0.95):.1f} ms,"
            f" max {max(drawn):.1f} ms (target <= 16 ms)"
        )
        print(
            f"  of which until the card is in the column's model: median {statistics.median(in_model):.1f} ms"
        )
        print(f"  floor, bare repaint of the column: median {statistics.median(floor):.1f} ms")
        print(
            f"drop → confirmed by the sandbox: median {statistics.median(confirmed):.1f} ms,"
            f" p95 {pct(confirmed, 0.95):.1f} ms, max {max(confirmed):.1f} ms (target <= 150 ms)"
        )
        pane.shutdown()
        bus.close()
    finally:
        desk.close()
        server.stdin.close()
        server.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
