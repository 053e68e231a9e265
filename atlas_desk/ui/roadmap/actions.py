"""Roadmap actions other panes offer: "Add to roadmap" on an inbox suggestion.

The inbox pane (or its context menu) calls ``add_to_roadmap(runtime, item_id)``; the card appears on the board
at once, linked to the suggestion and carrying its votes, and GitHub gets the issue (or draft) through the
outbox. A refusal comes back as a roadmap notice in plain words.
"""

from __future__ import annotations

import concurrent.futures
import logging
from typing import Any

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from atlas_desk.core.bus import Notice

log = logging.getLogger("atlas_desk.ui.roadmap")

ADD_TO_ROADMAP_SHORTCUT = "Ctrl+Shift+R"


def add_to_roadmap(
    runtime: Any, inbox_item_id: int, *, as_draft: bool = False
) -> concurrent.futures.Future[int] | None:
    """Put an inbox item on the roadmap board (returns the future of the new card's id, or None)."""
    service = getattr(runtime, "roadmap", None) if runtime is not None else None
    if service is None:
        bus = getattr(runtime, "bus", None)
        if bus is not None:
            bus.publish(
                Notice("warning", "The roadmap is not available: GitHub is not connected.", "roadmap")
            )
        return None
    future: concurrent.futures.Future[int] = service.add_from_inbox(inbox_item_id, as_draft=as_draft)
    return future


def add_to_roadmap_action(parent: QWidget, runtime: Any, current_item: Any) -> QAction:
    """A QAction "Add to roadmap" (Ctrl+Shift+R) acting on ``current_item()`` (an inbox item id or None)."""
    action = QAction("Add to roadmap", parent)
    action.setShortcut(QKeySequence(ADD_TO_ROADMAP_SHORTCUT))
    action.setToolTip(
        f"Put this suggestion on the roadmap board, linked and with its votes ({ADD_TO_ROADMAP_SHORTCUT})"
    )

    def trigger() -> None:
        item_id = current_item()
        if item_id is not None:
            add_to_roadmap(runtime, int(item_id))

    action.triggered.connect(trigger)
    return action
