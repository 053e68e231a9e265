"""Known harmless notices stay out of the moderator's log at warning level; real warnings do not."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtCore import QMessageLogContext, QtMsgType

from atlas_desk.log import setup_logging, teardown_logging
from atlas_desk.ui.errors import OFFSCREEN_SIZE_HINTS, qt_message_handler


def test_voice_and_offscreen_notices_are_not_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    setup_logging(tmp_path, stderr=False)
    try:
        with caplog.at_level(logging.DEBUG):
            logging.getLogger("discord.client").warning("davey is not installed, voice will NOT be supported")
            logging.getLogger("discord.client").warning("Shard ID None heartbeat blocked for more than 10 s")
            qt_message_handler(QtMsgType.QtWarningMsg, QMessageLogContext(), OFFSCREEN_SIZE_HINTS)
            qt_message_handler(QtMsgType.QtWarningMsg, QMessageLogContext(), "QPainter::begin: bad device")
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        blocked = "Shard ID None heartbeat blocked for more than 10 s"
        assert warnings == [blocked, "QPainter::begin: bad device"]
    finally:
        teardown_logging()
