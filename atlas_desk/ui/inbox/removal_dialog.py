"""The remove dialog: one of the subreddit's own removal reasons, an optional note for the other moderators,
whether it is spam, and how the author is told why — what Reddit's own remove flow asks.

Telling the member works as in Reddit's mod tools: a public reply under the item (distinguished, optionally
locked; Reddit's default, and what the dialog starts with once a reason is chosen), a private message from
the subreddit's modmail, or nothing. The text starts as the chosen reason's message and can be edited (plain
text); choosing another reason replaces it only while the moderator has not changed it. Without a message to
send (no reason yet) and for spam, the dialog starts at "Don't send" (spammers are not told) until the
moderator picks a way themselves.

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
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from atlas_desk.ui.text import inert, plain_tooltip
from atlas_desk.ui.widgets.empty_state import plain_label

log = logging.getLogger("atlas_desk.ui")

ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1
# Reddit's removal note is a short line for the mod log; its own remove dialog stops at 100 characters.
MOD_NOTE_MAX = 100
# Reddit's limit for a comment or a modmail message.
MESSAGE_MAX = 10000
# How the author is told (InboxService.remove's ``message_type``).
TELL_PUBLIC, TELL_PRIVATE, TELL_NONE = "public", "private", "none"


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
    """What the moderator chose: a reason (or none), the note, whether it is spam, and what the author is told
    (``message_type`` one of TELL_PUBLIC / TELL_PRIVATE / TELL_NONE)."""

    reason_id: str | None
    reason_title: str
    mod_note: str
    spam: bool
    message_type: str = TELL_NONE
    message: str = ""
    lock_message: bool = False


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
        item_kind: str = "post",
        parent: QWidget | None = None,
    ) -> None:
        """``load`` fetches the subreddit's reasons (None: they cannot be asked for, ``unavailable`` says
        why); ``known`` are reasons loaded earlier, shown while the list is refreshed; ``item_kind`` is
        "post" or "comment", which is what a public reply goes under."""
        super().__init__(parent)
        self.setObjectName("inboxRemovalDialog")
        self.setWindowTitle("Remove from Reddit")
        self._subreddit = subreddit
        self._load = load
        self._unavailable = unavailable
        self._task: asyncio.Future[Any] | None = None
        self._closed = False
        self._reasons: list[RemovalReason] = []
        self._item_noun = "comment" if item_kind == "comment" else "post"
        self._prefilled = ""  # the reason text last put into the message, to tell the moderator's edits apart
        self._tell_chosen = False  # the moderator picked how to tell the author: the dialog no longer does

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

        self.note = QLineEdit(self)
        self.note.setObjectName("removalModNote")
        self.note.setMaxLength(MOD_NOTE_MAX)
        self.note.setPlaceholderText("Note for the other moderators (optional, shown in the mod log)")
        self.note.textChanged.connect(self._update_remove_button)
        self.spam = QCheckBox("Spam (also teaches the subreddit's spam filter)", self)
        self.spam.toggled.connect(self._on_spam)

        self.tell_public = QRadioButton("As a &public reply", self)
        self.tell_public.setObjectName("removalTellPublic")
        self.tell_private = QRadioButton("As a p&rivate message", self)
        self.tell_private.setObjectName("removalTellPrivate")
        self.tell_none = QRadioButton("&Don't send", self)
        self.tell_none.setObjectName("removalTellNone")
        self.tell_group = QButtonGroup(self)
        tell_row = QHBoxLayout()
        for button in (self.tell_public, self.tell_private, self.tell_none):
            self.tell_group.addButton(button)
            tell_row.addWidget(button)
        tell_row.addStretch(1)
        self.tell_none.setChecked(True)
        self.tell_group.buttonClicked.connect(self._on_tell_clicked)
        self.tell_hint = plain_label("", self)
        self.tell_hint.setObjectName("removalTellHint")
        self.tell_hint.setWordWrap(True)
        self.message_edit = QPlainTextEdit(self)
        self.message_edit.setObjectName("removalMessage")
        self.message_edit.setTabChangesFocus(True)
        self.message_edit.setPlaceholderText("Why it was removed, in the words the author will read")
        self.message_edit.textChanged.connect(self._update_remove_button)
        self.lock_reply = QCheckBox("&Lock the reply, so no one can answer it", self)
        self.lock_reply.setObjectName("removalLockReply")

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
        layout.addWidget(self.note)
        layout.addWidget(self.spam)
        layout.addWidget(plain_label(f"Tell the {self._item_noun}'s author why", self))
        layout.addLayout(tell_row)
        layout.addWidget(self.tell_hint)
        layout.addWidget(self.message_edit, 1)
        layout.addWidget(self.lock_reply)
        layout.addWidget(buttons)
        self.resize(520, 600)

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
        # The reason's text as the subreddit wrote it, unless the moderator has made the message their own.
        if self.message_edit.toPlainText() == self._prefilled:
            self._prefilled = reason.message if reason is not None else ""
            self.message_edit.setPlainText(self._prefilled)
        self._update_tell()

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

    # -- telling the author ----------------------------------------------------------------------------

    def tell(self) -> str:
        """How the author is to be told: TELL_PUBLIC, TELL_PRIVATE or TELL_NONE."""
        if self.tell_public.isChecked():
            return TELL_PUBLIC
        if self.tell_private.isChecked():
            return TELL_PRIVATE
        return TELL_NONE

    def set_tell(self, how: str) -> None:
        """Choose how the author is told, as the moderator's own choice (the dialog stops choosing)."""
        button = {TELL_PUBLIC: self.tell_public, TELL_PRIVATE: self.tell_private}.get(how, self.tell_none)
        button.setChecked(True)
        self._on_tell_clicked(button)

    def _on_tell_clicked(self, _button: object) -> None:
        self._tell_chosen = True
        self._update_tell()

    def _on_spam(self, _checked: bool) -> None:
        self._update_tell()

    def _update_tell(self) -> None:
        """Pick the default way to tell the author (until the moderator picks one); show what it means."""
        if not self._tell_chosen:
            # Reddit's default is a public reply; spam is removed silently, and without text there is nothing
            # to send yet.
            quiet = self.spam.isChecked() or not self.message_edit.toPlainText().strip()
            (self.tell_none if quiet else self.tell_public).setChecked(True)
        how = self.tell()
        reason = self._reason_for(self.reasons.currentItem())
        if how == TELL_PUBLIC:
            where = (
                "under the post, distinguished as a moderator's and stickied"
                if self._item_noun == "post"
                else "under the comment, distinguished as a moderator's"
            )
            hint = f"A reply from you {where}; everyone in the thread can read it."
        elif how == TELL_PRIVATE:
            title = f"Your {self._item_noun} was removed"
            if reason is not None and reason.title:
                title = inert(reason.title)
            hint = f"A modmail from r/{self._subreddit} to the author alone (your name hidden): “{title}”."
        else:
            hint = "The author is not told why."
        self.tell_hint.setText(hint)
        self.message_edit.setEnabled(how != TELL_NONE)
        self.lock_reply.setEnabled(how == TELL_PUBLIC)
        self._update_remove_button()

    # -- removing --------------------------------------------------------------------------------------

    def _why_not_ready(self) -> str:
        if self.reason_id() is None and not self.note.text().strip():
            return "Choose one of the subreddit's removal reasons, or write a note"
        if self.tell() != TELL_NONE:
            text = self.message_edit.toPlainText()
            if not text.strip():
                return "Write what the author is told, or choose Don't send"
            if len(text) > MESSAGE_MAX:
                return f"Reddit takes at most {MESSAGE_MAX:,} characters: shorten the message"
        return ""

    def _update_remove_button(self) -> None:
        why = self._why_not_ready()
        self.remove_button.setEnabled(not why)
        self.remove_button.setToolTip(why)

    def _on_remove(self) -> None:
        if self._why_not_ready():
            return
        reason = self._reason_for(self.reasons.currentItem())
        how = self.tell()
        self.chosen.emit(
            RemovalChoice(
                reason_id=reason.id if reason is not None else None,
                reason_title=reason.title if reason is not None else "",
                mod_note=self.note.text().strip(),
                spam=self.spam.isChecked(),
                message_type=how,
                message=self.message_edit.toPlainText() if how != TELL_NONE else "",
                lock_message=how == TELL_PUBLIC and self.lock_reply.isChecked(),
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
