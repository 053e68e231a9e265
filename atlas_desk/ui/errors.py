"""Errors nobody caught: log them and tell the moderator in plain text instead of dying.

``install(window)`` sets ``sys.excepthook`` (qasync's ``@asyncSlot`` reports there too), an asyncio loop
exception handler for the qasync loop, and a Qt message handler that routes Qt's own warnings to logging.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QMessageLogContext, Qt, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QWidget

if TYPE_CHECKING:  # asyncio costs ~40 ms to import; the desk imports it after the first paint
    import asyncio

    from PySide6.QtWidgets import QMessageBox

log = logging.getLogger("atlas_desk.errors")
qt_log = logging.getLogger("atlas_desk.qt")
OFFSCREEN_SIZE_HINTS = "This plugin does not support propagateSizeHints()"

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], Any]


def error_dialog(title: str, text: str, details: str = "", parent: QWidget | None = None) -> QMessageBox:
    """A plain-text error box; ``details`` go in the collapsible "Show Details…" part."""
    # Imported on first use: the reporter is installed before the window's first paint.
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    if details:
        box.setDetailedText(details)  # the detailed text is always shown as plain text
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    return box


class ErrorReporter:
    """Shows unexpected errors one at a time (an error while a dialog is open is logged, not stacked)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        self.parent = parent
        self._showing = False
        self.previous_hook: ExceptHook | None = None
        self.previous_qt_handler: Any = None

    def excepthook(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        """``sys.excepthook``: log, then show a dialog; never re-raise."""
        if issubclass(exc_type, KeyboardInterrupt):
            # Close the window rather than quit Qt's loop, so the desk shuts down in order.
            if self.parent is not None and shiboken6.isValid(self.parent):
                self.parent.close()
            else:
                app = QApplication.instance()
                if app is not None:
                    app.quit()
            return
        log.error("unexpected error", exc_info=(exc_type, exc, tb))
        self.show(exc, "".join(traceback.format_exception(exc_type, exc, tb)))

    def loop_exception_handler(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """asyncio's exception handler for errors in callbacks and tasks nobody awaited."""
        import asyncio

        exc = context.get("exception")
        message = str(context.get("message") or "error in the event loop")
        if isinstance(exc, asyncio.CancelledError):
            return
        if isinstance(exc, BaseException):
            log.error("event loop: %s", message, exc_info=(type(exc), exc, exc.__traceback__))
            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self.show(exc, details)
        else:
            log.error("event loop: %s (%s)", message, context)
            self.show(None, message)

    def show(self, exc: BaseException | None, details: str) -> None:
        """Show one plain-text dialog for an error."""
        app = QApplication.instance()
        if not isinstance(app, QApplication) or self._showing:
            return
        # The log is redacted by its filter; the dialog is not a log, and moderators paste its details into
        # bug reports, so the same redaction applies here (imported here: errors come after the first paint).
        from atlas_desk.credentials import known_secret_values
        from atlas_desk.log import redact

        secrets = known_secret_values()
        details = redact(details, secrets)
        summary = (
            f"{type(exc).__name__}: {exc}" if exc is not None else details.splitlines()[0] if details else ""
        )
        summary = redact(summary, secrets)
        text = (
            "Something went wrong inside Atlas Desk. The desk keeps running; what you were doing may not "
            "have finished.\n\n" + summary[:500]
        )
        parent = self.parent if self.parent is not None and shiboken6.isValid(self.parent) else None
        self._showing = True
        try:
            box = error_dialog("Atlas Desk: unexpected error", text, details, parent)
            box.exec()
        finally:
            self._showing = False


_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def qt_message_handler(mode: QtMsgType, context: QMessageLogContext, message: str) -> None:
    """Route Qt's messages to the ``atlas_desk.qt`` logger."""
    level = _QT_LEVELS.get(mode, logging.WARNING)
    if message == OFFSCREEN_SIZE_HINTS:
        level = logging.DEBUG  # the offscreen platform says it of every window; nothing is wrong
    where = f" ({context.file}:{context.line})" if context.file else ""
    qt_log.log(level, "%s%s", message, where)


def install(parent: QWidget | None = None, loop: asyncio.AbstractEventLoop | None = None) -> ErrorReporter:
    """Install the exception hook, the loop's exception handler (if given) and the Qt message handler."""
    reporter = ErrorReporter(parent)
    reporter.previous_hook = sys.excepthook
    sys.excepthook = reporter.excepthook
    if loop is not None:
        loop.set_exception_handler(reporter.loop_exception_handler)
    reporter.previous_qt_handler = qInstallMessageHandler(qt_message_handler)
    return reporter


def uninstall(reporter: ErrorReporter) -> None:
    """Undo ``install`` (tests; the desk keeps its hook until exit)."""
    if sys.excepthook == reporter.excepthook:
        sys.excepthook = reporter.previous_hook or sys.__excepthook__
    qInstallMessageHandler(reporter.previous_qt_handler)
