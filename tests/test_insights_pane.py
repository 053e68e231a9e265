"""The insights pane over a real store: known numbers on the tiles, CSV export, empty state, models, a PNG."""

from __future__ import annotations

import csv
import json
import os
import random
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from atlas_desk.config import Settings
from atlas_desk.core.bus import ChangeBus
from atlas_desk.core.metrics import DateRange, Helper, ModeratorLoad
from atlas_desk.store.db import Store
from atlas_desk.ui.bridge import QtBus
from atlas_desk.ui.insights.pane import InsightsPane
from atlas_desk.ui.insights.widgets import HelpersModel, ModeratorsModel
from atlas_desk.ui.panes import PaneContext

# The offscreen platform warns that it cannot propagate size hints when a window is shown; harmless.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

TODAY = date(2026, 11, 24)
HOSTILE = '<a href="x">y</a>'


class Writer:
    """Inserts rows as the store does, inside one writer job."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.accounts: dict[tuple[str, str], int] = {}
        self.n = 0

    def account(self, platform: str, handle: str, name: str = "") -> int:
        key = (platform, handle)
        if key not in self.accounts:
            pid = self.conn.execute(
                "INSERT INTO people (display_name, created_at) VALUES (?, ?)",
                (name or handle, "2026-01-01T00:00:00+00:00"),
            ).lastrowid
            self.accounts[key] = int(
                self.conn.execute(
                    "INSERT INTO accounts (person_id, platform, platform_id, handle, display_name)"
                    " VALUES (?,?,?,?,?)",
                    (pid, platform, f"id-{platform}-{handle}", handle, name),
                ).lastrowid
                or 0
            )
        return self.accounts[key]

    def item(
        self,
        platform: str,
        author: str,
        when: datetime,
        *,
        kind: str = "message",
        container: str = "#general",
        container_id: str = "G",
        parent_id: str = "",
        suggestion: bool = False,
        score: int = 0,
        name: str = "",
        pid: str | None = None,
        **extra: object,
    ) -> str:
        self.n += 1
        pid = pid or f"{platform}-{self.n}"
        self.conn.execute(
            "INSERT INTO inbox_items (platform, platform_id, kind, container, container_id, parent_id,"
            " account_id,"
            " body, created_at, created_ts, score, is_suggestion, extra) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                platform,
                pid,
                kind,
                container,
                container_id,
                parent_id,
                self.account(platform, author, name),
                "text",
                when.isoformat(),
                when.timestamp(),
                score,
                int(suggestion),
                json.dumps(extra),
            ),
        )
        return pid

    def ticket(
        self,
        opened: datetime,
        first_reply_h: float | None,
        closed: datetime | None = None,
        assignee: str = "",
    ) -> int:
        self.n += 1
        first = (opened + timedelta(hours=first_reply_h)).isoformat() if first_reply_h is not None else None
        return int(
            self.conn.execute(
                "INSERT INTO tickets (platform, platform_id, subject, assignee, opened_at, first_reply_at,"
                " last_activity_at, closed_at) VALUES ('discord', ?, 'help', ?, ?, ?, ?, ?)",
                (
                    f"t{self.n}",
                    assignee,
                    opened.isoformat(),
                    first,
                    opened.isoformat(),
                    closed.isoformat() if closed else None,
                ),
            ).lastrowid
            or 0
        )

    def reply(self, ticket: int, moderator: str, when: datetime, role: str = "moderator") -> None:
        self.conn.execute(
            "INSERT INTO ticket_messages (ticket_id, author_id, role, body, created_at) VALUES (?,?,?,?,?)",
            (ticket, self.account("discord", moderator), role, "x", when.isoformat()),
        )


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def seed_known(conn: sqlite3.Connection) -> None:
    w = Writer(conn)
    for who in ("ana", "ben", "cho"):
        w.item("discord", who, at(20))
    w.item("github", "dev", at(21), kind="issue", suggestion=True, score=7)
    w.item("reddit", "eve", at(22), kind="post", suggestion=True, score=3)
    for hours in (1, 5, 30):
        t = w.ticket(at(18), hours, assignee="mira")
        w.reply(t, "mira", at(18) + timedelta(hours=hours))
    q = w.item("discord", "ana", at(23), container="#support", container_id="S")
    w.item("discord", "fox", at(23, 11), container="#support", container_id="S", reply_to=q, name=HOSTILE)


HELPER_NAMES = {"maya-k": "Maya K.", "jonas.b": "Jonas", "priya": "Priya", "lee_w": "Lee <script>"}


def seed_busy(conn: sqlite3.Connection) -> None:
    """Two months of a growing community, deterministic: for the screenshot."""
    rng = random.Random(7)
    w = Writer(conn)
    members = [f"member{i:02d}" for i in range(140)]
    helpers = list(HELPER_NAMES)
    start = datetime(2026, 9, 26, tzinfo=UTC)
    for d in range(60):
        day = start + timedelta(days=d)
        active = members[: 25 + int(d * 1.6)]
        for _ in range(20 + d + rng.randint(0, 15)):
            hour = rng.choices(
                range(24),
                weights=[1, 1, 1, 1, 1, 2, 3, 5, 7, 8, 9, 9, 8, 9, 10, 11, 12, 12, 11, 10, 8, 5, 3, 2],
            )[0]
            when = day + timedelta(hours=hour, minutes=rng.randint(0, 59))
            who = rng.choice(active)
            pid = w.item(
                "discord",
                who,
                when,
                container=rng.choice(["#general", "#ideas", "#support"]),
                container_id=rng.choice("GIS"),
            )
            if rng.random() < 0.12:
                helper = rng.choice(helpers)
                w.item(
                    "discord",
                    helper,
                    when + timedelta(minutes=9),
                    container="#support",
                    container_id="S",
                    reply_to=pid,
                    name=HELPER_NAMES[helper],
                )
        if rng.random() < 0.5:
            w.item(
                "github",
                rng.choice(active),
                day + timedelta(hours=14),
                kind="issue",
                suggestion=True,
                score=rng.randint(0, 25),
            )
        if rng.random() < 0.4:
            w.item(
                "reddit",
                rng.choice(active),
                day + timedelta(hours=18),
                kind="post",
                suggestion=True,
                score=rng.randint(0, 60),
            )
        if rng.random() < 0.3:
            w.item(
                "discord",
                rng.choice(active),
                day + timedelta(hours=12),
                suggestion=True,
                score=rng.randint(0, 12),
            )
        for _ in range(rng.randint(0, 4)):
            opened = day + timedelta(hours=rng.randint(0, 23))
            first = rng.choice([0.5, 2, 4, 7, 12, 20, 26, 40]) if d < 58 else None
            mod = rng.choice(["mira", "tomas", "sol"])
            closed = opened + timedelta(hours=(first or 0) + rng.randint(2, 72)) if first and d < 55 else None
            t = w.ticket(opened, first, closed, assignee=mod)
            if first is not None:
                w.reply(t, mod, opened + timedelta(hours=first))
                if rng.random() < 0.3:
                    w.reply(t, mod, opened + timedelta(hours=first + 1), role="note")
    q = w.item("github", "ana", start + timedelta(days=50), kind="discussion", pid="D1")
    for i in range(3):
        w.item(
            "github",
            "priya",
            start + timedelta(days=50 + i, hours=3),
            kind="discussion_comment",
            parent_id=q if i == 0 else f"D{i}",
            is_answer=True,
        )


@pytest.fixture
def store(data_dir: Path) -> Any:
    s = Store.open(data_dir / "insights.sqlite3")
    yield s
    s.close()


def make_pane(qtbot: Any, store: Any | None, settings: Settings | None = None) -> InsightsPane:
    pane = InsightsPane()
    qtbot.addWidget(pane)
    pane.today = lambda: TODAY
    pane.utc_offset_hours = 0
    runtime = SimpleNamespace(store=store, settings=settings or Settings()) if store is not None else None
    pane.attach(PaneContext(bus=QtBus(ChangeBus(), pane), runtime=runtime, open_settings=lambda _p: None))
    return pane


def test_tiles_show_the_known_numbers(qtbot: Any, store: Any) -> None:
    store.submit(seed_known).result(10)
    pane = make_pane(qtbot, store)
    qtbot.waitUntil(pane.ready, timeout=10_000)
    assert pane.active_tile.value.text() == "4 / 100"  # ana, ben, cho, fox (ana twice)
    assert pane.active_tile.detail.text() == "Daily 0 · weekly 4 (on 24 Nov)"  # the range ends today
    assert pane.suggestions_tile.value.text() == "2"
    assert pane.suggestions_tile.detail.text() == "10 upvotes"
    assert pane.suggestions_tile.target.text() == "GitHub 1 · Reddit 1"
    assert pane.reply_tile.value.text() == "5.0 h"
    assert pane.reply_tile.detail.text().startswith("p90 25.0 h · 67% within 24 h · 3 replied")
    assert pane.helpers_model.rowCount() == 1
    assert (
        pane.helpers_model.data(pane.helpers_model.index(0, 0)) == f"{HOSTILE} (fox)"
    )  # shown as plain text
    assert pane.moderators_model.data(pane.moderators_model.index(0, 0)) == "mira"
    assert pane.stack.currentWidget() is pane.content_scroll
    qtbot.waitUntil(pane.charts_ready, timeout=20_000)
    pane.shutdown()


def test_recorded_samples_keep_the_numbers_after_deletion(qtbot: Any, store: Any) -> None:
    store.submit(seed_known).result(10)
    pane = make_pane(qtbot, store)  # attach records the last week's samples
    qtbot.waitUntil(pane.ready, timeout=10_000)

    def wipe(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM inbox_items")
        conn.execute("DELETE FROM ticket_messages")
        conn.execute("DELETE FROM tickets")

    store.submit(wipe).result(10)
    with qtbot.waitSignal(pane.computed, timeout=10_000):
        pane.refresh()
    assert pane.active_tile.value.text() == "4 / 100"
    assert pane.suggestions_tile.value.text() == "2" and pane.reply_tile.value.text() == "5.0 h"
    pane.shutdown()


def test_csv_export_writes_the_expected_rows(qtbot: Any, store: Any, tmp_path: Path) -> None:
    store.submit(seed_known).result(10)
    pane = make_pane(qtbot, store)
    qtbot.waitUntil(pane.ready, timeout=10_000)
    with qtbot.waitSignal(pane.computed, timeout=10_000):
        pane.set_range(DateRange(date(2026, 11, 18), date(2026, 11, 24)))
    paths = pane.export_all(tmp_path)
    assert len(paths) == 7
    rows = read_csv(tmp_path / "active-members_2026-11-18_2026-11-24.csv")
    assert rows[0] == ["day", "daily", "weekly", "monthly", "target"]
    assert rows[1] == ["2026-11-18", "0", "0", "0", "100"]
    assert rows[3] == ["2026-11-20", "3", "3", "3", "100"]
    assert rows[-1] == ["2026-11-24", "0", "4", "4", "100"]
    sugg = read_csv(tmp_path / "suggestions_2026-11-18_2026-11-24.csv")
    assert sugg == [
        ["month", "platform", "suggestions", "upvotes"],
        ["2026-11", "github", "1", "7"],
        ["2026-11", "reddit", "1", "3"],
    ]
    helpers = read_csv(tmp_path / "helpful-members_2026-11-18_2026-11-24.csv")
    assert helpers[1] == [HOSTILE, "discord", "fox", "1", "0", "1"]
    weekly = read_csv(tmp_path / "first-reply-weekly_2026-11-18_2026-11-24.csv")
    assert weekly[1] == ["2026-11-16", "3", "5.0", "0.6667", "24.0"]
    pane.shutdown()


def test_empty_store_and_no_runtime_show_the_empty_state(qtbot: Any, store: Any) -> None:
    pane = make_pane(qtbot, store)
    qtbot.waitUntil(pane.ready, timeout=10_000)
    assert pane.stack.currentWidget() is pane.empty
    pane.shutdown()
    bare = make_pane(qtbot, None)
    assert bare.ready() and bare.stack.currentWidget() is bare.empty


def test_table_models_pass_the_model_tester(qtmodeltester: Any) -> None:
    helpers = HelpersModel()
    helpers.set_rows([Helper("discord", "fox", HOSTILE, 3, 1), Helper("github", "priya", "priya", 0, 2)])
    qtmodeltester.check(helpers)
    assert helpers.data(helpers.index(1, 0)) == "priya" and helpers.data(helpers.index(1, 4)) == "6"
    mods = ModeratorsModel()
    mods.set_rows([ModeratorLoad("mira", 12, 3, 4)])
    qtmodeltester.check(mods)
    mods.set_rows([])
    qtmodeltester.check(mods)


def test_render_the_filled_pane_to_png(qtbot: Any, store: Any, tmp_path: Path) -> None:
    store.submit(seed_busy).result(30)
    pane = make_pane(qtbot, store)
    pane.resize(1280, 1180)
    pane.show()
    qtbot.waitUntil(pane.ready, timeout=20_000)
    qtbot.waitUntil(pane.charts_ready, timeout=30_000)
    qtbot.wait(50)  # let the charts lay out once (a paint, not a synchronisation)
    out = Path(os.environ.get("INSIGHTS_PNG_DIR", tmp_path)) / "insights.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    assert pane.grab().save(str(out))
    assert out.stat().st_size > 20_000
    assert int(pane.active_tile.value.text().split(" / ")[0]) >= 100
    pane.shutdown()


def test_importing_the_pane_loads_no_charting_library() -> None:
    """The pane module is imported before the window's first paint: pyqtgraph and numpy must wait."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import atlas_desk.ui.insights.pane\n"
        "print(sorted(m for m in ('pyqtgraph', 'numpy', 'atlas_desk.core.metrics') if m in sys.modules))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"
