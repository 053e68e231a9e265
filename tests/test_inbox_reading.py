"""The reading pane's header: the platform by its name and the time as a moderator reads it."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from test_inbox_support import T0, item, open_store, stored

from atlas_desk.core.types import Platform
from atlas_desk.store import inbox as repo
from atlas_desk.ui.inbox.reading_pane import ReadingPane, when_text


def test_when_text_gives_the_local_day_and_how_long_ago() -> None:
    ts = T0.timestamp()
    local = datetime.fromtimestamp(ts).astimezone()
    text = when_text(ts, now=ts + 3 * 3600 + 5)
    assert text.startswith(f"{local:%a} {local.day} {local:%b %Y, %H:%M}")
    assert text.endswith("· 3h ago")
    assert when_text(ts, now=ts + 10).endswith("· just now")


def test_header_names_the_platform_and_when(qtbot: Any, data_dir: Path) -> None:
    store = open_store(data_dir)
    try:
        (item_id,), _ = stored(store, [item(Platform.GITHUB, "g9", "Body", 1, title="Dark mode")])
        row = repo.get_item(store.reader(), item_id)
        assert row is not None
        pane = ReadingPane()
        qtbot.addWidget(pane)
        pane.show_item(row)
        text = pane.browser.toPlainText()
        assert "· GitHub ·" in text and "Open on GitHub" in text
        assert when_text(row.created_ts, time.time()) in text
        assert row.created_at not in text  # not the raw ISO timestamp
    finally:
        store.close()
