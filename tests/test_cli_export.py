"""``atlas-desk export``: each kind from a filled store, as JSON lines and CSV, with the documented fields."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest

from atlas_desk.cli import main
from atlas_desk.config import store_path
from atlas_desk.store.export import EXPORT_FIELDS

MIGRATION = Path(__file__).resolve().parents[1] / "atlas_desk/store/migrations/0001_initial.sql"

DOCUMENTED = {
    "inbox": "id, platform, platform_id, kind, container, author, author_platform_id, title, body, url, "
    "created_at, edited_at, deleted, score, reported, is_suggestion, read, starred",
    "tickets": "id, platform, platform_id, subject, requester, assignee, status, priority, tags, opened_at, "
    "first_reply_at, first_reply_seconds, last_activity_at, closed_at",
    "roadmap": "id, platform_id, number, title, status, position, labels, assignees, target_month, "
    "votes_total, votes, why_note, url",
    "events": "id, kind, platform_id, title, starts_at, ends_at, timezone, recurrence, status, interested",
}


def insert(conn: sqlite3.Connection, table: str, **values: object) -> None:
    names = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(values.values()))


def fill_store(directory: Path) -> Path:
    """A store made with the migration SQL directly, holding a little of everything."""
    path = store_path(directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATION.read_text(encoding="utf-8"))
    t0 = "2026-11-20T09:00:00+00:00"
    insert(conn, "people", id=1, display_name="Ines Duarte", created_at=t0)
    insert(conn, "accounts", id=1, person_id=1, platform="discord", platform_id="7001", handle="ines")
    insert(
        conn, "inbox_items", platform="discord", platform_id="9001", kind="message", container="#ideas",
        account_id=1, body='Dark mode for the map, please, with "quotes", commas\nand a newline',
        url="https://discord.test/9001", created_at=t0, created_ts=1.0, score=4, is_suggestion=1, starred=1,
    )  # fmt: skip
    insert(
        conn, "inbox_items", platform="reddit", platform_id="t3_abc", kind="post", container="r/AtlasApp",
        title="Sync broke", body="Since 2.3", created_at=t0, created_ts=2.0, deleted=1,
    )  # fmt: skip
    insert(
        conn, "tickets", platform="discord", platform_id="8001", subject="Refund", requester_id=1,
        assignee="mira", status="open", priority="high", tags=json.dumps(["billing", "refund"]),
        opened_at=t0, first_reply_at="2026-11-20T10:30:00+00:00",
        last_activity_at="2026-11-20T11:00:00+00:00",
    )  # fmt: skip
    insert(
        conn, "roadmap_items", platform_id="PVTI_1", number=12, title="Offline maps", status="Planned",
        position=1.5, labels='["maps"]', assignees='["tomas"]', target_month="2027-01",
        votes=json.dumps({"github": 12, "discord": 4, "reddit": 3}), why_note="Most requested",
        url="https://github.test/atlas/12", updated_at=t0,
    )  # fmt: skip
    insert(
        conn, "community_events", kind="ama", platform_id="5001", title="AMA with the map team",
        starts_at="2026-12-01T17:00:00+00:00", ends_at="2026-12-01T18:00:00+00:00",
        recurrence="FREQ=MONTHLY", interested=37, updated_at=t0,
    )  # fmt: skip
    conn.commit()
    conn.close()
    return path


def test_export_fields_match_the_documented_contract() -> None:
    assert {k: ", ".join(v) for k, v in EXPORT_FIELDS.items()} == DOCUMENTED


@pytest.mark.parametrize("kind", list(EXPORT_FIELDS))
def test_export_json_lines(kind: str, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_store(data_dir)
    assert main(["export", kind, "--data-dir", str(data_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [json.loads(line) for line in lines]
    assert rows
    for row in rows:
        assert list(row) == list(EXPORT_FIELDS[kind])


@pytest.mark.parametrize("kind", list(EXPORT_FIELDS))
def test_export_csv_with_header(kind: str, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_store(data_dir)
    assert main(["export", kind, "--format", "csv", "--data-dir", str(data_dir)]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0] == list(EXPORT_FIELDS[kind])
    assert len(table) > 1 and all(len(r) == len(EXPORT_FIELDS[kind]) for r in table)


def test_export_values(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_store(data_dir)
    main(["export", "inbox", "--data-dir", str(data_dir)])
    first, second = (json.loads(x) for x in capsys.readouterr().out.splitlines())
    assert first["author"] == "ines" and first["author_platform_id"] == "7001"
    assert first["is_suggestion"] is True and first["starred"] is True and first["read"] is False
    assert first["body"].startswith("Dark mode") and "\n" in first["body"]
    assert second["author"] == "" and second["deleted"] is True

    main(["export", "tickets", "--data-dir", str(data_dir)])
    ticket = json.loads(capsys.readouterr().out)
    assert ticket["requester"] == "ines" and ticket["tags"] == ["billing", "refund"]
    assert ticket["first_reply_seconds"] == 5400 and ticket["closed_at"] is None

    main(["export", "roadmap", "--data-dir", str(data_dir)])
    card = json.loads(capsys.readouterr().out)
    assert card["votes_total"] == 19 and card["votes"] == {"github": 12, "discord": 4, "reddit": 3}
    assert card["labels"] == ["maps"] and card["assignees"] == ["tomas"]

    main(["export", "events", "--data-dir", str(data_dir)])
    event = json.loads(capsys.readouterr().out)
    assert event["interested"] == 37 and event["recurrence"] == "FREQ=MONTHLY"


def test_export_csv_cells(data_dir: Path, tmp_path: Path) -> None:
    fill_store(data_dir)
    out = tmp_path / "tickets.csv"
    assert (
        main(["export", "tickets", "--format", "csv", "--output", str(out), "--data-dir", str(data_dir)]) == 0
    )
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"), newline="")))
    assert rows[0]["tags"] == "billing;refund" and rows[0]["first_reply_seconds"] == "5400"
    assert rows[0]["closed_at"] == ""
    inbox = tmp_path / "inbox.csv"
    main(["export", "inbox", "--format", "csv", "--output", str(inbox), "--data-dir", str(data_dir)])
    first = next(csv.DictReader(io.StringIO(inbox.read_text(encoding="utf-8"), newline="")))
    assert first["starred"] == "true" and "commas\nand a newline" in first["body"]


def test_export_to_file_and_demo_store(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_store(data_dir / "demo")
    out = tmp_path / "events.jsonl"
    assert main(["export", "events", "--demo", "--output", str(out), "--data-dir", str(data_dir)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["title"] == "AMA with the map team"
    # The real store is a different one, and it does not exist yet.
    assert main(["export", "events", "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert "no store at" in err and "sync --once" in err


def test_export_never_creates_a_store(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "inbox", "--data-dir", str(data_dir)]) == 1
    assert not store_path(data_dir).exists()
    assert "Traceback" not in capsys.readouterr().err


def test_export_usage_errors(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "users", "--data-dir", str(data_dir)]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["export", "inbox", "--format", "xml"]) == 2
