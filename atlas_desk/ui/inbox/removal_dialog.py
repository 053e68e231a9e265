"""The remove dialog: one of the subreddit's own removal reasons, an optional note for the other moderators,
and whether it is spam — what Reddit's own remove flow asks.

The reasons are the subreddit's (their ids are what Reddit records with the removal), so they come from
Reddit through the connector, whose praw calls run on its worker thread: the dialog opens at once, says that
it is loading, and fills the list when they arrive. If they cannot be loaded (Reddit not connected, an error)
it says why in plain words, offers to try again, and a removal with only a note is still possible, as on
Reddit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from atlas_desk.ui.text import inert, plain_tooltip
from atlas_desk.ui.widgets.empty_state import plain_label

log = logging.getLogger("atlas_desk.ui")

ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1
# Reddit's removal note is a short line for the mod log; its own remove dialog stops at 100 characters.
MOD_NOTE_MAX = 100


@dataclass(frozen=True, slots=True)
class RemovalReason:
    """One of the subreddit's removal reasons."""

    id: str
    title: str
    message: str

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> RemovalReason:
        return cls(str(data.get("id", "")), str(data.get("title", "")), str(data.get("message", "")))


@dataclass(frozen=True, slots=True)
class RemovalChoice:
    """What the moderator chose: a reason (or none), the note, and whether it is spam."""

    reason_id: str | None
    reason_title: str
    mod_note: str
    spam: bool


ReasonsLoader = Callable[[], Awaitable[Sequence[Mapping[str, Any]]]]


class RemovalDialog(QDialog):
    """Choose how to remove one Reddit item; ``chosen(RemovalChoice)`` is emitted when Remove is pressed."""

    chosen = Signal(object)  # RemovalChoice
    reasons_loaded = Signal(object)  # list[RemovalReason], so the caller can show them at once next time

    def __init__(
        self,
        subreddit: str,
        subject: str,
        load: ReasonsLoader | None,
        *,
        known: Sequence[RemovalReason] = (),
        unavailable: str = "",
        parent: QWidget | None = None,
    ) -> None:
        """``load`` fetches the subreddit's reasons (None: they cannot be asked for, ``unavailable`` says
        why); ``known`` are reasons loaded earlier, shown while the list is refreshed."""
        super().__init__(parent)
        self.setObjectName("inboxRemovalDialog")
        self.setWindowTitle("Remove from Reddit")
        self._subreddit = subreddit
        self._load = load
        self._unavailable = unavailable
        self._task: asyncio.Future[Any] | None = None
        self._closed = False
        self._reasons: list[RemovalReason] = []

        self.subject_label = plain_label(inert(f"Remove from r/{subreddit}: {subject}"), self)
        self.subject_label.setWordWrap(True)
        self.state_label = plain_label("", self)
        self.state_label.setObjectName("removalReasonsState")
        self.state_label.setWordWrap(True)
        self.retry_button = QPushButton("Try again", self)
        self.retry_button.clicked.connect(self.load_reasons)
        self.retry_button.hide()
        state_row = QHBoxLayout()
        state_row.addWidget(self.state_label, 1)
        state_row.addWidget(self.retry_button)

        self.reasons = QListWidget(self)
        self.reasons.setObjectName("removalReasons")
        self.reasons.setUniformItemSizes(True)
        self.reasons.currentItemChanged.connect(self._on_reason)
        self.message_label = plain_label("", self)
        self.message_label.setObjectName("removalReasonMessage")
        self.message_label.setWordWrap(True)

        self.note = QLineEdit(self)
        self.note.setObjectName("removalModNote")
        self.note.setMaxLength(MOD_NOTE_MAX)
        self.note.setPlaceholderText("Note for the other moderators (optional, shown in the mod log)")
        self.note.textChanged.connect(self._update_remove_button)
        self.spam = QCheckBox("Spam (also teaches the subreddit's spam filter)", self)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, self)
        self.remove_button = buttons.addButton("Remove", QDialogButtonBox.ButtonRole.AcceptRole)
        self.remove_button.setObjectName("removalRemove")
        self.remove_button.setDefault(True)
        buttons.accepted.connect(self._on_remove)
        buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.subject_label)
        layout.addWidget(plain_label("Removal reason", self))
        layout.addLayout(state_row)
        layout.addWidget(self.reasons, 1)
        layout.addWidget(self.message_label)
        layout.addWidget(self.note)
        layout.addWidget(self.spam)
        layout.addWidget(buttons)
        self.resize(480, 420)

        self._show_reasons(known)
        self.load_reasons()

    # -- the reasons -----------------------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        return self._task is not None and not self._task.done()

    def load_reasons(self) -> None:
        """Ask Reddit for the subreddit's reasons (again), without waiting for them."""
        self.retry_button.hide()
        if self._load is None:
            why = self._unavailable or "The subreddit's removal reasons are not available."
            earlier = " The list shows the reasons loaded earlier." if self._reasons else ""
            self._set_state(why + earlier)
            self._update_remove_button()
            return
        if self.loading:
            return
        if not self._reasons:
            self._set_state(f"Loading r/{self._subreddit}'s removal reasons…")
        self._task = asyncio.ensure_future(self._fetch(self._load))
        self._task.add_done_callback(_surface)
        self._update_remove_button()

    @property
    def _gone(self) -> bool:
        # Closed, or deleted with the pane while Reddit was still answering: nothing left to show it in.
        return self._closed or not shiboken6.isValid(self)

    async def _fetch(self, load: ReasonsLoader) -> None:
        try:
            found = [RemovalReason.parse(r) for r in await load()]
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # shown in plain words; the moderator can retry or remove with a note
            if not self._gone:
                self._show_failure(str(getattr(exc, "message", "") or type(exc).__name__))
            return
        if self._gone:
            return
        self._show_reasons(found)
        self.reasons_loaded.emit(found)
        if not found:
            self._set_state(f"r/{self._subreddit} has no removal reasons: remove with a note instead.")
        self._update_remove_button()

    def _show_failure(self, why: str) -> None:
        log.info("loading the removal reasons failed: %s", why)
        earlier = " The list shows the reasons loaded earlier." if self._reasons else ""
        self._set_state(
            f"Could not load r/{self._subreddit}'s removal reasons ({why}).{earlier}"
            " Try again, or remove with a note."
        )
        self.retry_button.show()
        self._update_remove_button()

    def _show_reasons(self, reasons: Sequence[RemovalReason]) -> None:
        """Fill the list, keeping the moderator's choice if it is still there."""
        keep = self.reason_id()
        self._reasons = list(reasons)
        self.reasons.blockSignals(True)
        self.reasons.clear()
        for reason in self._reasons:
            item = QListWidgetItem(inert(reason.title) or "(untitled)")
            item.setData(ID_ROLE, reason.id)
            if reason.message:
                item.setToolTip(plain_tooltip(reason.message))
            self.reasons.addItem(item)
        self.reasons.blockSignals(False)
        self._set_state("" if self._reasons else self.state_label.text())
        if keep is not None:
            self.select_reason(keep)
        self._on_reason(self.reasons.currentItem(), None)

    def _set_state(self, text: str) -> None:
        self.state_label.setText(text)
        self.state_label.setVisible(bool(text))

    def _on_reason(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        reason = self._reason_for(current)
        # The reason's text as the subreddit wrote it, so the moderator sees what the reason says.
        self.message_label.setText(reason.message if reason is not None else "")
        self.message_label.setVisible(bool(reason is not None and reason.message))
        self._update_remove_button()

    def _reason_for(self, item: QListWidgetItem | None) -> RemovalReason | None:
        if item is None:
            return None
        rid = item.data(ID_ROLE)
        return next((r for r in self._reasons if r.id == rid), None)

    def reason_id(self) -> str | None:
        reason = self._reason_for(self.reasons.currentItem())
        return reason.id if reason is not None else None

    def select_reason(self, reason_id: str) -> bool:
        """Make the reason with this id current; False if the list does not have it."""
        for row in range(self.reasons.count()):
            if self.reasons.item(row).data(ID_ROLE) == reason_id:
                self.reasons.setCurrentRow(row)
                return True
        return False

    def reason_titles(self) -> list[str]:
        return [self.reasons.item(r).text() for r in range(self.reasons.count())]

    # -- removing --------------------------------------------------------------------------------------

    def _update_remove_button(self) -> None:
        ready = self.reason_id() is not None or bool(self.note.text().strip())
        self.remove_button.setEnabled(ready)
        self.remove_button.setToolTip(
            "" if ready else "Choose one of the subreddit's removal reasons, or write a note"
        )

    def _on_remove(self) -> None:
        reason = self._reason_for(self.reasons.currentItem())
        note = self.note.text().strip()
        if reason is None and not note:
            return
        self.chosen.emit(
            RemovalChoice(
                reason_id=reason.id if reason is not None else None,
                reason_title=reason.title if reason is not None else "",
                mod_note=note,
                spam=self.spam.isChecked(),
            )
        )
        self.accept()

    def done(self, result: int) -> None:
        # A load still running must not touch the dialog once it is closed (and deleted).
        self._closed = True
        if self._task is not None and not self._task.done():
            self._task.cancel()
        super().done(result)


def _surface(task: asyncio.Future[Any]) -> None:
    """Hand a load's unexpected failure to the loop's exception handler (the desk reports those), rather than
    let it vanish with the task; Reddit's refusals are not among them, the dialog shows those itself."""
    if not task.cancelled():
        task.result()
