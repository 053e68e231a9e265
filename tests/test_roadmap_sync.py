"""The roadmap board end to end without Qt: sandbox Projects v2 ↔ GitHub connector ↔ store ↔
RoadmapService."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from atlas_desk.core.roadmap import RoadmapError
from atlas_desk.core.types import OutboxState
from atlas_desk.store import outbox as outbox_repo
from tests.test_roadmap_support import Desk, close_desk, open_desk, until


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


def test_board_is_read_with_columns_in_project_order(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def scenario(desk: Desk) -> None:
        assert desk.roadmap.columns() == ["Under consideration", "Planned", "In progress", "Done"]
        assert desk.board() == desk.sandbox.board()
        cards = desk.roadmap.cards()
        issue_cards = [c for c in cards if c.item_type == "ISSUE"]
        assert issue_cards and all(c.number for c in issue_cards)
        assert any(c.item_type == "DRAFT_ISSUE" for c in cards) or len(cards) < 6
        # 👍 on the issue come from GitHub's reactions
        for c in issue_cards:
            gh = desk.sandbox.issues[c.number or 0]
            assert c.votes["github"] == sum(1 for r in gh.reactions if r.content == "+1")
        assert any(c.labels for c in issue_cards)

    run(aloop, data_dir, scenario)


def test_move_between_columns_sends_one_field_update(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def scenario(desk: Desk) -> None:
        board = desk.sandbox.board()
        moving = board["Under consideration"][0]
        target_col = board["Planned"]
        card = desk.card_id(moving)
        after = desk.card_id(target_col[0])
        before = len(desk.sandbox.project.mutations)
        await asyncio.wrap_future(desk.roadmap.move_card(card, "Planned", after))
        # optimistic: the store has it at once
        assert desk.column("Planned")[:2] == [target_col[0], moving]
        await until(lambda: desk.sandbox.board()["Planned"][:2] == [target_col[0], moving])
        sent = desk.sandbox.project.mutations[before:]
        field_updates = [m for m in sent if m.name == "updateProjectV2ItemFieldValue"]
        assert len(field_updates) == 1
        assert field_updates[0].input == {
            "projectId": "PVT_sbxproject0001",
            "itemId": moving,
            "fieldId": "PVTSSF_sbxstatus01",
            "value": {"singleSelectOptionId": desk.sandbox.project.option_id("Planned")},
        }
        await until(
            lambda: desk.board() == desk.sandbox.board() and not any(c.pending for c in desk.roadmap.cards())
        )

    run(aloop, data_dir, scenario)


def test_move_within_column_sends_position_with_after_id(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def scenario(desk: Desk) -> None:
        col = desk.sandbox.board()["Planned"]
        assert len(col) >= 3
        before = len(desk.sandbox.project.mutations)
        await asyncio.wrap_future(
            desk.roadmap.move_card(desk.card_id(col[0]), "Planned", desk.card_id(col[2]))
        )
        expected = [col[1], col[2], col[0], *col[3:]]
        assert desk.column("Planned") == expected
        await until(lambda: desk.sandbox.board()["Planned"] == expected)
        sent = desk.sandbox.project.mutations[before:]
        assert [m.name for m in sent] == ["updateProjectV2ItemPosition"]
        assert sent[0].input["afterId"] == col[2] and sent[0].input["itemId"] == col[0]
        # to the top: afterId null
        await asyncio.wrap_future(desk.roadmap.move_card(desk.card_id(col[2]), "Planned", None))
        await until(lambda: desk.sandbox.board()["Planned"][0] == col[2])
        assert desk.sandbox.project.mutations[-1].input["afterId"] is None

    run(aloop, data_dir, scenario)


def test_refused_move_goes_back_with_a_plain_reason(aloop: asyncio.AbstractEventLoop, data_dir: Path) -> None:
    async def scenario(desk: Desk) -> None:
        board = desk.sandbox.board()
        moving = board["In progress"][0]
        desk.sandbox.project.fail_next_mutation(
            "updateProjectV2ItemFieldValue", "You do not have permission to update this project."
        )
        await asyncio.wrap_future(desk.roadmap.move_card(desk.card_id(moving), "Done", None))
        assert desk.column("Done")[0] == moving
        await until(lambda: any(n.area == "roadmap" and n.level == "error" for n in desk.notices))
        assert desk.column("In progress") == board["In progress"]
        assert desk.sandbox.board() == board
        text = next(n.text for n in desk.notices if n.area == "roadmap")
        assert "went back to In progress" in text and "You do not have permission" in text
        assert "{" not in text  # no raw JSON

    run(aloop, data_dir, scenario)


def test_change_made_elsewhere_arrives_within_a_poll(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def scenario(desk: Desk) -> None:
        board = desk.sandbox.board()
        moving = board["Done"][-1]
        desk.sandbox.move_card(moving, "Under consideration", None)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await until(lambda: desk.column("Under consideration")[:1] == [moving], 5)
        assert loop.time() - t0 < 0.2 * 3  # one poll interval plus the read
        assert desk.board() == desk.sandbox.board()

    run(aloop, data_dir, scenario)


def test_move_made_offline_is_sent_when_github_returns(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def scenario(desk: Desk) -> None:
        board = desk.sandbox.board()
        moving = board["Planned"][0]
        await desk.connector.stop()  # no polls: the two failures below are the mutation's own
        desk.sandbox.fail_next("/api/graphql", 502, count=2, method="POST")
        action_id = await asyncio.wrap_future(
            desk.roadmap.move_card(desk.card_id(moving), "In progress", None)
        )
        # the first attempt meets GitHub down (502); the outbox retries until it is back
        await until(lambda: desk.sandbox.board()["In progress"][:1] == [moving], 20)

        def state() -> OutboxState | None:
            action = outbox_repo.get_action(desk.store.reader(), action_id)
            return None if action is None else action.state

        await until(lambda: state() is OutboxState.DONE)
        action = outbox_repo.get_action(desk.store.reader(), action_id)
        assert action is not None and action.attempts >= 2
        assert desk.column("In progress")[:1] == [moving]
        assert action.attempts == 3

    run(aloop, data_dir, scenario)


def test_add_from_inbox_creates_issue_and_links_origin(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def scenario(desk: Desk) -> None:
        await desk.connector.backfill()
        conn = desk.store.reader()
        row = conn.execute(
            "SELECT id, platform_id, score FROM inbox_items WHERE kind = 'discussion' AND score > 0"
            " ORDER BY score DESC"
        ).fetchone()
        assert row is not None
        before = len(desk.sandbox.issues)
        card_id = await asyncio.wrap_future(desk.roadmap.add_from_inbox(int(row[0])))
        first = desk.roadmap.columns()[0]
        assert desk.roadmap.column_ids(first)[0] == card_id  # at once, on top
        await until(
            lambda: (
                not (desk.roadmap.card(card_id) or desk.roadmap.cards()[0]).pending
                and len(desk.sandbox.issues) == before + 1
            ),
            10,
        )
        await until(
            lambda: any(
                c.origin_item == int(row[0]) and c.platform_id.startswith("PVTI_")
                for c in desk.roadmap.cards()
            )
        )
        card = next(c for c in desk.roadmap.cards() if c.origin_item == int(row[0]))
        assert card.platform_id in desk.sandbox.board()[first]
        breakdown = desk.roadmap.votes_breakdown(card)
        assert breakdown.get("github_discussion") == int(row[2])
        names = [m.name for m in desk.sandbox.project.mutations]
        assert "addProjectV2ItemById" in names
        # a replay of the same action finds the item by its marker instead of adding another
        action = outbox_repo.list_actions(desk.store.reader())[-1]
        result = await desk.connector.execute(action)
        assert result.get("replayed") is True and len(desk.sandbox.issues) == before + 1

    run(aloop, data_dir, scenario)


def test_move_to_unknown_column_is_refused_before_sending(
    aloop: asyncio.AbstractEventLoop, data_dir: Path
) -> None:
    async def scenario(desk: Desk) -> None:
        card = desk.roadmap.cards()[0]
        with pytest.raises(RoadmapError):
            await asyncio.wrap_future(desk.roadmap.move_card(card.id, "Nope", None))

    run(aloop, data_dir, scenario)
