"""RoadmapService without the network: votes across platforms, the monthly update, the sandbox's board API."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from atlas_desk.core.bus import ChangeBus
from atlas_desk.core.inbox import InboxService
from atlas_desk.core.roadmap import ProjectInfo, RoadmapService, SyncedCard
from atlas_desk.core.roadmap_types import RoadmapSnapshot
from atlas_desk.core.types import Account, InboxItem, ItemKind, Platform
from atlas_desk.sandbox.github import GitHubSandbox
from atlas_desk.sandbox.github.projects import GraphQLRefusal
from atlas_desk.store import outbox as outbox_repo
from atlas_desk.store.db import Store
from tests.test_roadmap_support import demo_community

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
INFO = ProjectInfo(
    "PVT_1",
    "F_status",
    [("o1", "Under consideration"), ("o2", "Planned"), ("o3", "In progress"), ("o4", "Done")],
)


def card(pid: str, status: str, pos: float, **kw: object) -> SyncedCard:
    base: dict[str, object] = {
        "platform_id": pid,
        "content_id": f"I_{pid}",
        "item_type": "ISSUE",
        "number": int(pid.strip("P")),
        "title": f"Card {pid}",
        "body": "",
        "status": status,
        "position": pos,
        "labels": ["enhancement"],
        "assignees": [],
        "target_month": "2026-12",
        "github_votes": 0,
        "url": "",
        "updated_at": NOW - timedelta(days=40),
    }
    base.update(kw)
    return SyncedCard(**base)  # type: ignore[arg-type]


def item(platform: Platform, pid: str, score: int, kind: ItemKind = ItemKind.MESSAGE) -> InboxItem:
    return InboxItem(
        platform=platform,
        platform_id=pid,
        kind=kind,
        container="ideas",
        author=Account(platform, "u1", "someone"),
        body="An idea",
        created_at=NOW - timedelta(days=3),
        title="An idea",
        score=score,
        is_suggestion=True,
    )


@pytest.fixture
def service(data_dir: Path, aloop: asyncio.AbstractEventLoop) -> RoadmapService:
    store = Store.open(data_dir / "desk.db")
    svc = RoadmapService(store, ChangeBus())
    svc.clock = None  # type: ignore[attr-defined]
    yield svc  # type: ignore[misc]
    svc.close()
    store.close()


def test_votes_add_up_across_platforms_and_update_live(
    service: RoadmapService, aloop: asyncio.AbstractEventLoop
) -> None:
    links = [
        {"platform": "discord", "platform_id": "1234", "url": ""},
        {"platform": "reddit", "platform_id": "t3_abc", "url": ""},
        {"platform": "github", "platform_id": "D_idea1", "url": ""},
    ]
    snap = RoadmapSnapshot(
        INFO, [card("P1", "Planned", 0, github_votes=12, links=links, labels=["community-idea"])]
    )
    aloop.run_until_complete(service.apply_roadmap(snap))
    inbox = InboxService(service.store, service.bus)  # type: ignore[arg-type]
    aloop.run_until_complete(
        inbox.ingest(
            [
                item(Platform.DISCORD, "1234", 9),
                item(Platform.REDDIT, "t3_abc", 41, ItemKind.POST),
                item(Platform.GITHUB, "D_idea1", 5, ItemKind.DISCUSSION),
            ]
        )
    )
    row = service.cards()[0]
    assert service.votes_breakdown(row) == {"github": 12, "discord": 9, "reddit": 41, "github_discussion": 5}
    assert service.total_votes(row) == 67
    # a new vote on Reddit shows up at the next read
    aloop.run_until_complete(inbox.ingest([item(Platform.REDDIT, "t3_abc", 44, ItemKind.POST)]))
    assert service.total_votes(row.id) == 70


def test_add_from_inbox_carries_origin_and_votes(
    service: RoadmapService, aloop: asyncio.AbstractEventLoop
) -> None:
    aloop.run_until_complete(service.apply_roadmap(RoadmapSnapshot(INFO, [card("P1", "Planned", 0)])))
    inbox = InboxService(service.store, service.bus)  # type: ignore[arg-type]
    aloop.run_until_complete(inbox.ingest([item(Platform.DISCORD, "777", 23)]))
    inbox_id = service.reader().execute("SELECT id FROM inbox_items WHERE platform_id = '777'").fetchone()[0]
    card_id = service.add_from_inbox(int(inbox_id)).result(5)
    row = service.card(card_id)
    assert row is not None and row.pending and row.status == "Under consideration"
    assert row.origin_item == inbox_id and row.links[0]["platform_id"] == "777"
    assert service.votes_breakdown(row) == {"github": 0, "discord": 23}
    action = outbox_repo.list_actions(service.reader())[-1]
    assert action.kind == "roadmap_add" and "atlas-desk-link: discord:777" in action.payload["body"]

    # GitHub refusing the add removes the optimistic card (the outbox applies the undo)
    def fail(conn: object) -> None:
        outbox_repo.claim_due(conn, datetime.now(UTC) + timedelta(days=1), 10)  # type: ignore[arg-type]
        outbox_repo.mark_failed(conn, action.id, "no")  # type: ignore[arg-type]
        outbox_repo.apply_undo(conn, outbox_repo.get_undo(conn, action.id))  # type: ignore[arg-type]

    service.store.submit(fail).result(5)  # type: ignore[attr-defined]
    assert service.card(card_id) is None


def test_draft_monthly_update_lists_each_section(
    service: RoadmapService, aloop: asyncio.AbstractEventLoop
) -> None:
    since = NOW - timedelta(days=30)
    cards = [
        card("P1", "Done", 0, title="Dark mode", updated_at=NOW - timedelta(days=5)),
        card("P2", "Done", 1, title="Old thing", updated_at=NOW - timedelta(days=90)),
        card(
            "P3",
            "Planned",
            2,
            title="Offline sync",
            updated_at=NOW - timedelta(days=2),
            labels=["community-idea"],
            github_votes=50,
            why_note="Needs the new sync engine first.",
        ),
        card(
            "P4",
            "Under consideration",
            3,
            title="Calendar <script>",
            labels=["community-idea"],
            github_votes=80,
            why_note="Popular, but waits for the design review.",
        ),
    ]
    aloop.run_until_complete(service.apply_roadmap(RoadmapSnapshot(INFO, cards)))
    text = service.draft_monthly_update(since)
    sections = [line for line in text.splitlines() if line.startswith("## ")]
    assert sections == [
        "## Done since the last update",
        "## Newly planned",
        "## Most voted community ideas",
        "## Why some ideas are waiting",
    ]
    done = text.split("## Done since the last update")[1].split("## Newly planned")[0]
    assert "Dark mode" in done and "Old thing" not in done
    planned = text.split("## Newly planned")[1].split("## Most voted")[0]
    assert "Offline sync" in planned
    voted = text.split("## Most voted community ideas")[1].split("## Why")[0]
    assert voted.index("Calendar") < voted.index("Offline sync")  # 80 votes before 50
    assert "80 votes" in voted
    why = text.split("## Why some ideas are waiting")[1]
    assert "Needs the new sync engine first." in why and "waits for the design review" in why
    assert "<script>" not in text  # community text cannot inject HTML into the published markdown


def test_publish_update_queues_one_action_per_target(service: RoadmapService) -> None:
    ids = service.publish_update(
        "# Update\n\nHello", ["discord:announcements", "github:Announcements", "reddit"]
    ).result(5)
    actions = {a.id: a for a in outbox_repo.list_actions(service.reader())}
    assert [(actions[i].platform, actions[i].kind, actions[i].target) for i in ids] == [
        (Platform.DISCORD, "announce", "announcements"),
        (Platform.GITHUB, "publish_discussion", "Announcements"),
        (Platform.REDDIT, "submit_post", ""),
    ]
    assert actions[ids[1]].payload["title"] == "Update"
    assert service.last_update() is not None


def test_sync_keeps_a_pending_move_and_archives_vanished_items(
    service: RoadmapService, aloop: asyncio.AbstractEventLoop
) -> None:
    aloop.run_until_complete(
        service.apply_roadmap(
            RoadmapSnapshot(INFO, [card("P1", "Planned", 0), card("P2", "Planned", 1), card("P3", "Done", 2)])
        )
    )
    ids = {r.platform_id: r.id for r in service.cards()}
    service.move_card(ids["P1"], "Done", ids["P3"]).result(5)
    # a poll that predates the move must not pull the card back while it is on its way
    aloop.run_until_complete(
        service.apply_roadmap(RoadmapSnapshot(INFO, [card("P1", "Planned", 0), card("P2", "Planned", 1)]))
    )
    assert [r.platform_id for r in service.cards() if r.status == "Done"] == ["P1"]
    row = service.card(ids["P3"])
    assert row is not None and row.archived


def test_sandbox_board_api_and_refusals() -> None:
    sandbox = GitHubSandbox(demo_community())
    board = sandbox.board()
    assert list(board) == ["Under consideration", "Planned", "In progress", "Done"]
    assert sum(len(v) for v in board.values()) == len(sandbox.community.roadmap)
    first, second = board["Planned"][:2]
    sandbox.move_card(second, "Planned", None)
    assert sandbox.board()["Planned"][:2] == [second, first]
    sandbox.move_card(second, "Done", board["Done"][0])
    assert sandbox.board()["Done"][:2] == [board["Done"][0], second]
    project = sandbox.project
    draft = project.add_draft({"projectId": "PVT_sbxproject0001", "title": "New idea", "body": "x"})
    assert draft.content_type == "DRAFT_ISSUE" and project.items[-1] is draft
    project.archive({"projectId": "PVT_sbxproject0001", "itemId": first})
    assert all(first not in ids for ids in sandbox.board().values())
    project.fail_next_mutation("archiveProjectV2Item", "Nope.")
    with pytest.raises(GraphQLRefusal, match=r"Nope\."):
        project.archive({"projectId": "PVT_sbxproject0001", "itemId": second})
    with pytest.raises(GraphQLRefusal):
        project.update_field_value(
            {
                "projectId": "PVT_sbxproject0001",
                "itemId": second,
                "fieldId": "PVTSSF_sbxstatus01",
                "value": {"singleSelectOptionId": "bogus"},
            }
        )
    assert json.dumps([m.name for m in project.mutations]) == json.dumps(
        ["addProjectV2DraftIssue", "archiveProjectV2Item"]
    )


def test_add_to_roadmap_helper_for_the_inbox(
    service: RoadmapService, aloop: asyncio.AbstractEventLoop
) -> None:
    import types

    from atlas_desk.ui.roadmap.actions import add_to_roadmap

    aloop.run_until_complete(service.apply_roadmap(RoadmapSnapshot(INFO, [card("P1", "Planned", 0)])))
    inbox = InboxService(service.store, service.bus)  # type: ignore[arg-type]
    aloop.run_until_complete(inbox.ingest([item(Platform.REDDIT, "t3_zz", 12, ItemKind.POST)]))
    inbox_id = int(service.reader().execute("SELECT id FROM inbox_items").fetchone()[0])
    future = add_to_roadmap(types.SimpleNamespace(roadmap=service), inbox_id, as_draft=True)
    assert future is not None
    row = service.card(future.result(5))
    assert row is not None and row.item_type == "DRAFT_ISSUE" and row.origin_item == inbox_id
    assert service.votes_breakdown(row)["reddit"] == 12
    assert add_to_roadmap(types.SimpleNamespace(roadmap=None, bus=service.bus), inbox_id) is None


def _complete(service: RoadmapService, aloop: asyncio.AbstractEventLoop, action_id: int) -> None:
    """GitHub accepted the action: run its completion as the outbox runner does."""
    from atlas_desk.core.roadmap import _complete_move

    def job(conn: object) -> None:
        action = outbox_repo.get_action(conn, action_id)  # type: ignore[arg-type]
        assert action is not None
        _complete_move(conn, action, {})  # type: ignore[arg-type]

    aloop.run_until_complete(service.store.write(job))  # type: ignore[arg-type]


def _kinds(service: RoadmapService, card_id: int) -> list[str]:
    return [e.kind for e in service.history(card_id)]


def test_a_board_read_that_crossed_an_archive_neither_revives_nor_archives_it_twice(
    service: RoadmapService, aloop: asyncio.AbstractEventLoop
) -> None:
    board = [card("P1", "Planned", 0), card("P2", "Planned", 1)]
    aloop.run_until_complete(service.apply_roadmap(RoadmapSnapshot(INFO, board)))
    p1 = next(c for c in service.cards() if c.platform_id == "P1")
    read_rev = service.sync_token()  # a poll starts reading the board, which still lists P1 ...
    action_id = service.archive_card(p1.id).result(5)  # ... the moderator archives P1 ...
    # ... and while the archive is on its way, another read (begun earlier) lists P1: it stays archived
    aloop.run_until_complete(service.apply_roadmap(RoadmapSnapshot(INFO, board, read_rev=read_rev)))
    assert p1.id not in {c.id for c in service.cards()}
    aloop.run_until_complete(service.apply_roadmap(RoadmapSnapshot(INFO, board)))  # nor a read of unknown age
    assert p1.id not in {c.id for c in service.cards()}
    _complete(service, aloop, action_id)  # GitHub archived it
    # the read that began before the archive arrives only now, still listing P1
    aloop.run_until_complete(service.apply_roadmap(RoadmapSnapshot(INFO, board, read_rev=read_rev)))
    assert p1.id not in {c.id for c in service.cards()}
    # the next read no longer lists it: nothing more happened to it
    aloop.run_until_complete(
        service.apply_roadmap(RoadmapSnapshot(INFO, board[1:], read_rev=service.sync_token()))
    )
    assert _kinds(service, p1.id).count("archived") == 1
    assert service.card(p1.id) is not None and service.card(p1.id).archived  # type: ignore[union-attr]


def test_a_board_read_from_before_a_move_does_not_move_the_card_back(
    service: RoadmapService, aloop: asyncio.AbstractEventLoop
) -> None:
    board = [card("P1", "Planned", 0), card("P2", "Planned", 1)]
    aloop.run_until_complete(service.apply_roadmap(RoadmapSnapshot(INFO, board)))
    p1 = next(c for c in service.cards() if c.platform_id == "P1")
    read_rev = service.sync_token()
    action_id = service.move_card(p1.id, "In progress").result(5)
    _complete(service, aloop, action_id)
    aloop.run_until_complete(service.apply_roadmap(RoadmapSnapshot(INFO, board, read_rev=read_rev)))
    assert service.card(p1.id).status == "In progress"  # type: ignore[union-attr]
    assert _kinds(service, p1.id).count("moved") == 1
    # a read begun after the move, showing GitHub's own later move, is applied
    moved = [card("P1", "Done", 0, updated_at=NOW), board[1]]
    fresh = RoadmapSnapshot(INFO, moved, read_rev=service.sync_token())
    aloop.run_until_complete(service.apply_roadmap(fresh))
    assert service.card(p1.id).status == "Done"  # type: ignore[union-attr]
