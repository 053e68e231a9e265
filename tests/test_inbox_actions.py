"""The inbox pane's moderator actions, driven from the keyboard as a moderator does: what the pane shows, what
reaches the store and the outbox and, for approve and remove, what reaches Reddit (the real OutboxRunner and
RedditConnector, praw against the Reddit sandbox)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, TypeVar

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox
from test_inbox_support import item, open_store, seed_items, stored

from atlas_desk.core.bus import ChangeBus, Notice
from atlas_desk.core.inbox import InboxService
from atlas_desk.core.outbox import OutboxRunner
from atlas_desk.core.types import ActionError, OutboxState, Platform
from atlas_desk.platforms.reddit import RedditConnector
from atlas_desk.sandbox.model import Community, Member, RedditComment, RedditPost
from atlas_desk.sandbox.reddit import RedditSandbox
from atlas_desk.store import inbox as repo
from atlas_desk.store import outbox
from atlas_desk.store.db import Store
from atlas_desk.ui.bridge import QtBus
from atlas_desk.ui.inbox.model import Role
from atlas_desk.ui.inbox.pane import REDDIT_NOT_CONNECTED, InboxPane
from atlas_desk.ui.panes import PaneContext

# The offscreen platform warns that it cannot propagate size hints when a window is shown.
pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

T = TypeVar("T")


@dataclass
class Desk:
    store: Store
    service: InboxService
    bus: ChangeBus
    qtbus: QtBus
    pane: InboxPane
    notices: list[Notice] = field(default_factory=list)

    def pids(self) -> list[str]:
        model = self.pane.model
        assert model is not None
        return [model.data(model.index(r, 0), Role.ROW).platform_id for r in range(model.rowCount())]

    def row(self, pid: str) -> repo.InboxRow:
        conn = self.store.reader()
        found = conn.execute("SELECT id FROM inbox_items WHERE platform_id = ?", (pid,)).fetchone()
        assert found is not None, pid
        row = repo.get_item(conn, int(found[0]))
        assert row is not None
        return row

    def select(self, pid: str) -> None:
        """Click the item's row, as a moderator picks it in the list."""
        row = self.pids().index(pid)
        self.pane.table.selectRow(row)
        self.pane.table.setFocus()
        shown = self.pane.reading.item
        assert shown is not None and shown.platform_id == pid

    def actions(self) -> list[Any]:
        return outbox.list_actions(self.store.reader())

    def key(self, qtbot: Any, key: Qt.Key) -> None:
        qtbot.keyClick(self.pane.table, key)


def open_desk(qtbot: Any, store: Store, service: InboxService, bus: ChangeBus, **runtime: Any) -> Desk:
    pane = InboxPane()
    qtbot.addWidget(pane)
    qtbus = QtBus(bus, pane)
    desk = Desk(store, service, bus, qtbus, pane)
    bus.subscribe(Notice, desk.notices.append)
    pane.attach(
        PaneContext(
            bus=qtbus,
            runtime=SimpleNamespace(store=store, inbox=service, settings=None, **runtime),
            open_settings=lambda _p: None,
        )
    )
    pane.resize(1300, 700)
    pane.show()
    qtbot.waitExposed(pane)
    pane.activateWindow()
    pane.table.setFocus()
    return desk


def close_desk(desk: Desk) -> None:
    desk.pane.shutdown()
    desk.store.close()


@pytest.fixture
def desk(qtbot: Any, data_dir: Path) -> Iterator[Desk]:
    store = open_store(data_dir)
    stored(store, [*seed_items(), item(Platform.DISCORD, "nolink", "A message with no address", 0, url="")])
    bus = ChangeBus()
    d = open_desk(qtbot, store, InboxService(store, bus, mentions=("maya_k",)), bus, tickets=None)
    yield d
    close_desk(d)


# -- mark unread, suggestions, open in browser -------------------------------------------------------------


def test_u_marks_the_item_unread_again(desk: Desk, qtbot: Any) -> None:
    qtbot.waitUntil(lambda: desk.pane.unread_count == 8)
    desk.select("g2")
    desk.key(qtbot, Qt.Key.Key_E)  # read, and on to the next
    qtbot.waitUntil(lambda: desk.pane.unread_count == 7)
    desk.key(qtbot, Qt.Key.Key_K)
    assert desk.pane.reading.item is not None and desk.pane.reading.item.platform_id == "g2"
    assert desk.row("g2").read

    with qtbot.waitSignal(desk.pane.unread_count_changed, timeout=5000) as blocker:
        desk.key(qtbot, Qt.Key.Key_U)
    assert blocker.args == [8]
    assert desk.pane.tab_title() == "Inbox (8)"
    assert not desk.row("g2").read
    model = desk.pane.model
    assert model is not None
    qtbot.waitUntil(lambda: model.data(model.index(0, 0), Role.READ) is False)  # bold again in the list


def test_i_marks_a_suggestion_and_i_again_clears_it(desk: Desk, qtbot: Any) -> None:
    desk.select("d1")
    assert desk.pane.act_suggestion.text() == "Mark as suggestion"
    desk.key(qtbot, Qt.Key.Key_I)
    qtbot.waitUntil(lambda: desk.row("d1").is_suggestion)
    qtbot.waitUntil(lambda: desk.pane.act_suggestion.text() == "Not a suggestion")
    assert "(I)" in desk.pane.act_suggestion.toolTip()
    desk.pane.filters.select_key("suggestions")
    assert desk.pids() == ["g1", "d1"]

    desk.select("d1")
    desk.key(qtbot, Qt.Key.Key_I)
    qtbot.waitUntil(lambda: not desk.row("d1").is_suggestion)
    qtbot.waitUntil(lambda: desk.pane.act_suggestion.text() == "Mark as suggestion")
    desk.pane.filters.select_key("all")
    desk.pane.filters.select_key("suggestions")
    assert desk.pids() == ["g1"]


def test_o_shows_the_address_and_opens_only_after_confirmation(
    desk: Desk, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    asked: list[str] = []
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Open]

    def question(*args: Any) -> QMessageBox.StandardButton:
        asked.append(args[2])
        return answers.pop(0)

    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toString())))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))

    desk.select("r2")
    desk.key(qtbot, Qt.Key.Key_O)
    assert asked == ["Open this address in your browser?\n\nhttps://example.test/reddit/r2"]
    assert opened == []  # cancelled
    desk.key(qtbot, Qt.Key.Key_O)
    assert len(asked) == 2 and opened == ["https://example.test/reddit/r2"]

    desk.select("nolink")
    assert not desk.pane.act_open.isEnabled()
    assert desk.pane.act_open.toolTip() == "Open in browser… (O) — this item has no web address"
    desk.key(qtbot, Qt.Key.Key_O)
    assert len(asked) == 2 and opened == ["https://example.test/reddit/r2"]


# -- approve and remove: where, and with what --------------------------------------------------------------


@pytest.mark.parametrize(("pid", "where"), [("d3", "Discord"), ("g2", "GitHub")])
def test_approve_and_remove_only_where_the_platform_can(desk: Desk, qtbot: Any, pid: str, where: str) -> None:
    desk.select(pid)
    for action, key in ((desk.pane.act_approve, "A"), (desk.pane.act_remove, "X")):
        assert not action.isEnabled()
        assert action.toolTip().endswith(
            f"({key}) — only Reddit's mod queue can be moderated from the desk; "
            f"moderate {where} items in {where}"
        )
    desk.key(qtbot, Qt.Key.Key_A)
    desk.key(qtbot, Qt.Key.Key_X)
    assert desk.pane.removal_dialog is None
    assert desk.actions() == []

    # The service refuses too, before changing anything on the desk.
    reported = desk.row(pid).reported
    with pytest.raises(ActionError):
        desk.service.approve(desk.row(pid).id).result(timeout=10)
    with pytest.raises(ActionError):
        desk.service.remove(desk.row(pid).id, "110nhral8vygf").result(timeout=10)
    assert desk.row(pid).reported == reported and not desk.row(pid).deleted
    assert desk.actions() == []
    assert [n.text for n in desk.notices] == [
        "Only Reddit items can be approved from the desk.",
        "Only Reddit items can be removed from the desk.",
    ]

    desk.select("r2")  # on Reddit, but not reported
    assert not desk.pane.act_approve.isEnabled()
    assert desk.pane.act_approve.toolTip() == "Approve (A) — nothing to approve: it is not in the mod queue"
    assert desk.pane.act_remove.isEnabled() and desk.pane.act_remove.toolTip() == "Remove… (X)"


def test_a_approves_a_reported_reddit_item(desk: Desk, qtbot: Any) -> None:
    qtbot.waitUntil(lambda: desk.pane.filters.count_for("moderation") == 2)
    desk.select("r1")
    assert desk.pane.act_approve.isEnabled() and desk.pane.act_approve.toolTip() == "Approve (A)"
    desk.key(qtbot, Qt.Key.Key_A)
    qtbot.waitUntil(lambda: len(desk.actions()) == 1)
    action = desk.actions()[0]
    assert (action.platform, action.kind, action.target) == (Platform.REDDIT, "approve", "r1")
    assert not desk.row("r1").reported
    assert desk.pane.status_label.text() == "Approval queued: Reddit confirms it in a moment."
    qtbot.waitUntil(lambda: desk.pane.filters.count_for("moderation") == 1)
    qtbot.waitUntil(lambda: not desk.pane.act_approve.isEnabled())  # nothing left to approve
    desk.pane.filters.select_key("moderation")
    assert desk.pids() == ["d3"]


def test_x_without_reddit_connected_says_so_and_removes_with_a_note(desk: Desk, qtbot: Any) -> None:
    desk.select("r1")
    desk.key(qtbot, Qt.Key.Key_X)
    dialog = desk.pane.removal_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.subject_label.text() == "Remove from r/AtlasApp: spam"
    assert dialog.state_label.text() == REDDIT_NOT_CONNECTED
    assert dialog.reason_titles() == []
    assert not dialog.remove_button.isEnabled()

    qtbot.keyClicks(dialog.note, "link farm, see modmail")
    assert dialog.remove_button.isEnabled()
    assert dialog.tell() == "none"  # no reason, so nothing to tell the author
    dialog.spam.setChecked(True)
    qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(desk.actions()) == 1)
    action = desk.actions()[0]
    assert (action.kind, action.target) == ("remove", "r1")
    assert action.payload["reason_id"] is None
    assert action.payload["mod_note"] == "link farm, see modmail"
    assert action.payload["spam"] is True
    assert action.payload["message"] is None
    row = desk.row("r1")
    assert row.deleted and not row.reported
    qtbot.waitUntil(lambda: not desk.pane.act_remove.isEnabled())
    assert desk.pane.act_remove.toolTip() == "Remove… (X) — already removed"
    assert desk.pane.status_label.text() == "Removal queued: Reddit confirms it in a moment."


# -- convert to ticket ---------------------------------------------------------------------------------------


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait on the running loop (GUI events included) until ``predicate()`` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for a condition")
        await asyncio.sleep(0.01)


def test_t_converts_a_discord_message_into_a_ticket(
    qtbot: Any, data_dir: Path, qloop: asyncio.AbstractEventLoop
) -> None:
    from atlas_desk.core.tickets import TicketService

    store = open_store(data_dir)
    stored(store, seed_items())
    bus = ChangeBus()
    tickets = TicketService(store, bus, me="maya_k")
    desk = open_desk(qtbot, store, InboxService(store, bus), bus, tickets=tickets)
    try:

        def opened() -> list[tuple[str, str]]:
            rows = store.reader().execute("SELECT subject, platform_id FROM tickets").fetchall()
            return [(str(s), str(p)) for s, p in rows]

        async def scenario() -> None:
            desk.select("d2")
            assert desk.pane.act_ticket.isEnabled()
            assert desk.pane.act_ticket.toolTip() == "Convert to ticket (T)"
            desk.key(qtbot, Qt.Key.Key_T)
            await until(lambda: any(n.text.startswith("Ticket opened") for n in desk.notices))

            desk.select("r2")
            assert not desk.pane.act_ticket.isEnabled()
            assert desk.pane.act_ticket.toolTip() == (
                "Convert to ticket (T) — only Discord messages can become tickets "
                "(Reddit members write to modmail)"
            )
            desk.key(qtbot, Qt.Key.Key_T)  # a disabled action: nothing starts

        qloop.run_until_complete(asyncio.wait_for(scenario(), 20))
        [(subject, placeholder)] = opened()
        assert subject == "hey @maya_k can you look at this"
        [action] = desk.actions()
        assert (action.platform, action.kind, action.target) == (Platform.DISCORD, "ticket_open", placeholder)
    finally:
        close_desk(desk)


def test_t_without_discord_tells_the_moderator_how_to_get_tickets(
    desk: Desk, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[str] = []
    monkeypatch.setattr(QMessageBox, "information", staticmethod(lambda *a: told.append(a[2])))
    desk.select("d2")
    desk.key(qtbot, Qt.Key.Key_T)
    assert told == ["Tickets need Discord: connect it in Settings › Discord."]
    assert desk.actions() == []


# -- end to end: the remove dialog, the outbox runner, praw, the Reddit sandbox ---------------------------


def reddit_community() -> Community:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return Community(
        seed=1,
        now=start + timedelta(days=1),
        guild_id="1",
        guild_name="Atlas",
        bot_id="2",
        application_id="3",
        repo="atlas-app/atlas",
        subreddit="AtlasApp",
        members=[
            Member(key="maya-k", display_name="Maya", reddit_name="maya_k"),
            Member(key="tom-b", display_name="Tom", reddit_name="tombee"),
        ],
        posts=[
            RedditPost(
                id="p0",
                title="Sync question",
                selftext="How do I sync two devices?",
                author_key="maya-k",
                created_at=start,
                comments=[
                    RedditComment(
                        id="c01",
                        author_key="tom-b",
                        body="Read the manual, idiot",
                        created_at=start + timedelta(minutes=5),
                    )
                ],
            )
        ],
    )


class RemoteReddit:
    """The Reddit sandbox on its own thread and loop: the far side of the network, as Reddit is for the desk
    (whose connector and outbox runner run on the GUI thread's loop, as in the app)."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-reddit", daemon=True)
        self._thread.start()
        self.sandbox = RedditSandbox(reddit_community())
        self.run(self.sandbox.start())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(20)

    def call(self, fn: Callable[[], T]) -> T:
        async def on_loop() -> T:
            return fn()

        return self.run(on_loop())

    def close(self) -> None:
        try:
            self.run(self.sandbox.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


@pytest.fixture
def reddit() -> Iterator[RemoteReddit]:
    remote = RemoteReddit()
    yield remote
    remote.close()


@dataclass
class RedditDesk:
    desk: Desk
    sandbox: RedditSandbox
    connector: RedditConnector
    runner: OutboxRunner


@pytest.fixture
def reddit_desk(
    qtbot: Any, data_dir: Path, qloop: asyncio.AbstractEventLoop, reddit: RemoteReddit
) -> Iterator[RedditDesk]:
    """The desk's Reddit side as the app wires it: InboxService as the connector's sink, the outbox runner
    executing through the connector, both on the GUI thread's loop; the sandbox's items backfilled, with one
    reported comment in the mod queue."""
    sb = reddit.sandbox
    reddit.call(lambda: sb.report("t1_c01", "Rude"))
    store = open_store(data_dir)
    bus = ChangeBus()
    service = InboxService(store, bus)
    settings = SimpleNamespace(
        url=sb.url, subreddit="AtlasApp", poll_seconds=60, backoff_base=0.05, backoff_max=0.2, timeout=5.0
    )
    creds = {
        "client_id": sb.client_id,
        "client_secret": sb.client_secret,
        "username": sb.username,
        "password": sb.password,
    }
    connector = RedditConnector(settings, creds, service)
    runner = OutboxRunner(store, bus, {Platform.REDDIT: connector}, base_delay=0.05)
    qloop.run_until_complete(asyncio.wait_for(connector.backfill(), 20))  # the sandbox's items, via praw
    qloop.run_until_complete(runner.start())
    desk = open_desk(qtbot, store, service, bus, connectors={Platform.REDDIT: connector})
    try:
        yield RedditDesk(desk, sb, connector, runner)
    finally:
        # First, before the loop runs again: pytest-qt has closed the pane, and running the loop deletes it.
        desk.pane.shutdown()
        qloop.run_until_complete(runner.stop())
        qloop.run_until_complete(connector.stop())
        store.close()


def test_remove_with_a_subreddit_reason_and_note_reaches_reddit(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, reddit: RemoteReddit, reddit_desk: RedditDesk
) -> None:
    sb, desk = reddit.sandbox, reddit_desk.desk
    reddit.call(lambda: sb.fail_next("/api/v1/AtlasApp/removal_reasons", 503))  # the first load fails
    reasons = reddit.call(lambda: [(r["id"], r["title"], r["message"]) for r in sb.removal_reasons.values()])
    be_kind = next(r for r in reasons if r[1] == "Be Kind")

    async def scenario() -> None:
        desk.select("t1_c01")
        assert desk.row("t1_c01").reported
        desk.key(qtbot, Qt.Key.Key_X)
        dialog = desk.pane.removal_dialog
        assert dialog is not None and dialog.isVisible()
        # Opened at once, while Reddit is asked off the GUI thread.
        assert dialog.state_label.text() == "Loading r/AtlasApp's removal reasons…"
        assert dialog.reason_titles() == [] and not dialog.remove_button.isEnabled()
        await until(lambda: dialog.retry_button.isVisible())
        assert dialog.state_label.text() == (
            "Could not load r/AtlasApp's removal reasons (Reddit is having trouble (HTTP 503))."
            " Try again, or remove with a note."
        )
        qtbot.mouseClick(dialog.retry_button, Qt.MouseButton.LeftButton)
        await until(lambda: dialog.reason_titles() == [title for _, title, _ in reasons])
        assert not dialog.state_label.isVisible() and not dialog.retry_button.isVisible()

        assert dialog.select_reason(be_kind[0])
        # The reason's text, as the subreddit wrote it, goes to the author in Reddit's default way: publicly.
        assert dialog.message_edit.toPlainText() == be_kind[2]
        assert dialog.tell() == "public"
        qtbot.keyClicks(dialog.note, "rule 2, second warning")
        qtbot.mouseClick(dialog.remove_button, Qt.MouseButton.LeftButton)
        assert not dialog.isVisible()
        await until(lambda: reddit.call(sb.removed) != {}, timeout=15)
        await until(lambda: [a.state for a in desk.actions()] == [OutboxState.DONE], timeout=15)

        assert desk.pane.removal_dialog is None

        # The next removal shows the reasons at once (loaded before), while asking Reddit again.
        desk.pane.activateWindow()  # what the window manager does when the dialog closes
        await until(desk.pane.isActiveWindow)
        desk.select("t3_p0")
        desk.key(qtbot, Qt.Key.Key_X)
        again = desk.pane.removal_dialog
        assert again is not None
        assert again.reason_titles() == [title for _, title, _ in reasons]
        again.reject()

    qloop.run_until_complete(asyncio.wait_for(scenario(), 30))
    assert reddit.call(sb.removed) == {
        "t1_c01": {"spam": False, "reason_id": be_kind[0], "mod_note": "rule 2, second warning"}
    }
    assert [(m["item"], m["type"], m["message"]) for m in reddit.call(lambda: sb.removal_messages)] == [
        ("t1_c01", "public", be_kind[2])
    ]
    [action] = desk.actions()
    assert action.payload["reason_id"] == be_kind[0] and action.payload["reason_title"] == "Be Kind"
    row = desk.row("t1_c01")
    assert row.deleted and not row.reported
    assert desk.pane.status_label.text() == (
        "Removal (Be Kind) with a public reply queued: Reddit confirms it in a moment."
    )


def test_the_dialog_closing_while_reasons_load_is_harmless(
    qtbot: Any, qloop: asyncio.AbstractEventLoop, reddit: RemoteReddit, reddit_desk: RedditDesk
) -> None:
    sb, desk = reddit.sandbox, reddit_desk.desk
    reddit.call(lambda: sb.stall(0.2))  # Reddit is slow to answer

    async def scenario() -> None:
        for close in (lambda d: d.reject(), shiboken6.delete):  # Escape, or the window going away
            desk.select("t1_c01")
            desk.key(qtbot, Qt.Key.Key_X)
            dialog = desk.pane.removal_dialog
            assert dialog is not None and dialog.loading
            close(dialog)
            # The worker runs one praw call at a time: once this one is answered, so was the dialog's.
            assert len(await reddit_desk.connector.removal_reasons()) == 4
            await asyncio.sleep(0)  # one more turn for the finished load's callbacks
            desk.pane.activateWindow()
            await until(desk.pane.isActiveWindow)

    qloop.run_until_complete(asyncio.wait_for(scenario(), 20))
    assert desk.actions() == []
