"""Card history: desk moves (pending → done, or failed when GitHub refuses), moves seen on GitHub, adds from
the inbox, why-notes, archive; and the card detail showing it as plain text."""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from atlas_desk.core.roadmap import history_lines, history_text
from atlas_desk.store.migrate import load_migrations
from atlas_desk.store.roadmap import HistoryEntry, RoadmapRow
from atlas_desk.ui.bridge import QtBus
from atlas_desk.ui.panes import PaneContext
from atlas_desk.ui.roadmap.detail import CardDetail
from atlas_desk.ui.roadmap.pane import RoadmapPane
from tests.test_roadmap_support import BackgroundDesk, Desk, close_desk, open_desk, until

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

HOSTILE = '<img src="http://evil.example/x.png"><b>bold</b> <a href="http://evil.example/">click</a>'


def run(
    aloop: asyncio.AbstractEventLoop, data_dir: Path, scenario: Callable[[Desk], Awaitable[None]]
) -> None:
    async def main() -> None:
        desk = await open_desk(data_dir)
        try:
            await scenario(desk)
        finally:
            await close_desk(desk)

    aloop.run_until_complete(main())


def moves(desk: Desk, card_id: int) -> list[HistoryEntry]:
    return [e for e in desk.roadmap.history(card_id) if e.kind == "moved"]


def count_polls(desk: Desk) -> Callable[[], int]:
    """Count the connector's reads of the board from now on (a read that finds no change included)."""
    done = [0]
    poll = desk.connector._poll_project

    async def counting() -> None:
        await poll()
        done[0] += 1

    desk.connector._poll_project = counting  # type: ignore[method-assign]
    return lambda: done[0]


def test_history_migration_is_the_third() -> None:
    names = [m.name for m in load_migrations()]
    assert names[2] == "0003_roadmap_history.sql"


def test_desk_move_records_one_entry_pending_then_done(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def scenario(desk: Desk) -> None:
        desk.roadmap.actor = "alice"
        board = desk.sandbox.board()
        card = desk.card_id(board["Under consideration"][0])
        assert moves(desk, card) == []
        await desk.runner.stop()  # nothing is sent yet: the entry stays pending
        await asyncio.wrap_future(desk.roadmap.move_card(card, "Planned", None))
        [entry] = moves(desk, card)
        assert (entry.from_column, entry.to_column, entry.actor) == (
            "Under consideration",
            "Planned",
            "alice",
        )
        assert entry.source == "desk" and entry.state == "pending" and entry.outbox_id
        assert history_text(entry) == "Moved from Under consideration to Planned by alice (pending)"
        # a reorder within the column is not history
        planned = desk.roadmap.column_ids("Planned")
        await asyncio.wrap_future(desk.roadmap.move_card(card, "Planned", planned[1]))
        assert len(moves(desk, card)) == 1
        await desk.runner.start()
        await until(lambda: moves(desk, card)[0].state == "done")
        await until(lambda: not any(c.pending for c in desk.roadmap.cards()))
        [entry] = moves(desk, card)
        assert history_text(entry) == "Moved from Under consideration to Planned by alice"
        # the sync that follows sees the desk's own move, not a change made elsewhere
        assert all(e.source == "desk" for e in moves(desk, card))

    run(aloop, data_dir, scenario)


def test_move_made_on_github_is_recorded_once_as_changed_on_github(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def scenario(desk: Desk) -> None:
        polls = count_polls(desk)
        moving = desk.sandbox.board()["Done"][-1]
        card = desk.card_id(moving)
        desk.sandbox.move_card(moving, "Under consideration", None)
        await until(lambda: getattr(desk.roadmap.card(card), "status", "") == "Under consideration", 5)
        seen = polls()
        await until(lambda: polls() >= seen + 2, 5)  # later polls add nothing
        [entry] = moves(desk, card)
        assert (entry.from_column, entry.to_column) == ("Done", "Under consideration")
        assert entry.source == "github" and entry.actor == "" and entry.state == "done"
        assert "changed on GitHub" in history_text(entry)
        # every card the first read found is there, with its column
        first = desk.roadmap.history(card)[0]
        assert first.kind == "seen" and first.to_column == "Done"

    run(aloop, data_dir, scenario)


def test_refused_move_is_marked_failed(aloop: asyncio.AbstractEventLoop, data_dir: Path) -> None:
    async def scenario(desk: Desk) -> None:
        board = desk.sandbox.board()
        card = desk.card_id(board["In progress"][0])
        desk.sandbox.project.fail_next_mutation(
            "updateProjectV2ItemFieldValue", "You do not have permission to update this project."
        )
        await asyncio.wrap_future(desk.roadmap.move_card(card, "Done", None))
        await until(lambda: any(n.area == "roadmap" and n.level == "error" for n in desk.notices))
        await until(lambda: moves(desk, card)[0].state == "failed")
        [entry] = moves(desk, card)
        assert not any(e.state in ("pending", "done") for e in moves(desk, card))
        assert "did not go through" in history_text(entry)
        assert desk.roadmap.card(card) is not None and desk.roadmap.card(card).status == "In progress"  # type: ignore[union-attr]

    run(aloop, data_dir, scenario)


def test_add_from_inbox_why_note_and_archive_are_recorded(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def scenario(desk: Desk) -> None:
        await desk.connector.backfill()
        row = (
            desk.store.reader()
            .execute(
                "SELECT id, title FROM inbox_items WHERE kind = 'discussion' AND title != ''"
                " ORDER BY id LIMIT 1"
            )
            .fetchone()
        )
        assert row is not None
        card = await asyncio.wrap_future(desk.roadmap.add_from_inbox(int(row[0])))
        [added] = desk.roadmap.history(card)
        assert added.kind == "added" and added.state == "pending" and row[1] in added.detail
        assert "from inbox item: GitHub suggestion" in history_text(added)

        def confirmed() -> RoadmapRow | None:
            return next(
                (
                    c
                    for c in desk.roadmap.cards()
                    if c.origin_item == int(row[0]) and c.platform_id.startswith("PVTI_") and not c.pending
                ),
                None,
            )

        await until(lambda: confirmed() is not None, 10)
        final = confirmed()
        assert final is not None
        # whether the sync or the completion confirmed it first, the card has one "added" entry, done
        await until(lambda: [e.state for e in desk.roadmap.history(final.id)] == ["done"])
        [added] = desk.roadmap.history(final.id)
        assert added.kind == "added" and added.source == "desk"

        await asyncio.wrap_future(desk.roadmap.set_why_note(final.id, "Waiting on the new sync engine"))
        await asyncio.wrap_future(desk.roadmap.set_why_note(final.id, "Waiting on the new sync engine"))
        notes = [e for e in desk.roadmap.history(final.id) if e.kind == "why_note"]
        assert [e.detail for e in notes] == ["Waiting on the new sync engine"]  # unchanged note: no entry
        assert history_text(notes[0]) == "Why note changed by you: “Waiting on the new sync engine”"

        await asyncio.wrap_future(desk.roadmap.archive_card(final.id))
        await until(
            lambda: [(e.kind, e.state) for e in desk.roadmap.history(final.id)][-1:] == [("archived", "done")]
        )
        # the syncs after the archive do not record it a second time
        polls = count_polls(desk)
        seen = polls()
        await until(lambda: polls() >= seen + 2, 5)
        assert [e.kind for e in desk.roadmap.history(final.id)].count("archived") == 1

    run(aloop, data_dir, scenario)


def test_history_lines_keep_hostile_text_literal(qtbot: Any) -> None:
    detail = CardDetail()
    qtbot.addWidget(detail)
    row = RoadmapRow(
        1,
        "PVTI_1",
        "I_1",
        "ISSUE",
        7,
        HOSTILE,
        "",
        "Planned",
        0.0,
        [],
        [],
        "",
        {},
        None,
        "",
        "",
        False,
        False,
    )
    history = [
        HistoryEntry(
            1,
            1,
            "2026-11-20T12:00:00.000000+00:00",
            "added",
            to_column="Under consideration",
            detail=f"Discord suggestion “{HOSTILE}”",
            actor="<b>mod</b>",
        ),
        HistoryEntry(
            2,
            1,
            "2026-11-21T12:00:00.000000+00:00",
            "moved",
            "Under consideration",
            "Planned",
            source="github",
        ),
        HistoryEntry(3, 1, "2026-11-22T12:00:00.000000+00:00", "why_note", detail=HOSTILE, actor="you"),
    ]
    detail.show_card(row, {"github": 0}, (), history)
    text = detail.history_label.text()
    assert detail.history_label.textFormat() == Qt.TextFormat.PlainText
    assert text == "\n".join(history_lines(history))
    assert text.count(HOSTILE) == 2 and "by <b>mod</b>" in text
    assert "Moved from Under consideration to Planned — changed on GitHub" in text
    detail.show_card(row, {"github": 0}, (), ())
    assert detail.history_label.text() == "Nothing recorded yet."


@pytest.fixture
def ui(qtbot: Any, data_dir: Path) -> Iterator[tuple[BackgroundDesk, RoadmapPane]]:
    bg = BackgroundDesk(data_dir)
    bus = QtBus(bg.desk.bus)
    pane = RoadmapPane()
    qtbot.addWidget(pane)
    pane.resize(1440, 900)
    pane.attach(PaneContext(bus, types.SimpleNamespace(roadmap=bg.desk.roadmap), lambda _: None, demo=True))
    pane.show()
    qtbot.waitExposed(pane)
    qtbot.waitUntil(pane.ready)
    try:
        yield bg, pane
    finally:
        pane.shutdown()
        bus.close()
        bg.close()


def test_card_detail_shows_history_live(ui: tuple[BackgroundDesk, RoadmapPane], qtbot: Any) -> None:
    bg, pane = ui
    card = pane.models["In progress"].ids[0]
    pane.show_detail(card)
    assert pane.detail.isVisible()
    assert "In progress when the desk first read the board" in pane.detail.history_label.text()
    bg.desk.roadmap.move_card(card, "Done", None).result(5)
    # the detail follows the card: pending at once or done once GitHub confirmed, then done
    qtbot.waitUntil(
        lambda: "Moved from In progress to Done by you" in pane.detail.history_label.text(), timeout=5000
    )
    qtbot.waitUntil(
        lambda: pane.detail.history_label.text().endswith("Moved from In progress to Done by you"),
        timeout=10000,
    )
    # a move made on GitHub shows up too, after the next poll
    pid = bg.desk.roadmap.card(card).platform_id  # type: ignore[union-attr]
    bg.call(bg.desk.sandbox.move_card, pid, "Planned", None)
    qtbot.waitUntil(
        lambda: "Moved from Done to Planned — changed on GitHub" in pane.detail.history_label.text(),
        timeout=5000,
    )
