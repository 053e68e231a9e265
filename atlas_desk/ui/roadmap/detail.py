"""The card detail panel and the "Draft roadmap update" editor.

The description is community text: rendered with markdown-it-py with raw HTML and images disabled, shown in a
``QTextBrowser`` that never opens a link by itself. A clicked link (or the card's origin) is first shown as
plain text with an "Open" button, so the moderator sees where it leads before anything opens.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from markdown_it import MarkdownIt
from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from atlas_desk.core.roadmap import VOTE_SOURCES, LinkedItem, history_lines, is_community_driven
from atlas_desk.store.roadmap import HistoryEntry, RoadmapRow

log = logging.getLogger("atlas_desk.ui.roadmap")

PLATFORM_WORDS = {"discord": "Discord", "github": "GitHub", "reddit": "Reddit"}

HISTORY_SHOWN = 30  # the newest entries; older ones stay in the store

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")


def render_markdown(text: str) -> str:
    """Community markdown as safe HTML: raw HTML is escaped, images are not loaded."""
    return str(_md.render(text))


def plain(text: str = "", parent: QWidget | None = None, *, wrap: bool = True) -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def heading(text: str, parent: QWidget | None = None) -> QLabel:
    label = plain(text, parent)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    return label


class LinkPreview(QFrame):
    """Shows a URL as plain text with an Open button; nothing opens until the moderator clicks it."""

    def __init__(self, parent: QWidget | None = None, opener: Callable[[QUrl], Any] | None = None) -> None:
        super().__init__(parent)
        self.opener = opener or QDesktopServices.openUrl
        self.url_label = plain("", self)
        self.url_label.setObjectName("linkPreviewUrl")
        self.open_button = QPushButton("Open", self)
        self.open_button.setToolTip("Open this address in the browser")
        self.open_button.clicked.connect(self.open)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.url_label, 1)
        layout.addWidget(self.open_button)
        self.url = ""
        self.hide()

    def show_url(self, url: str) -> None:
        self.url = url
        self.url_label.setText(url)
        self.setVisible(bool(url))

    def open(self) -> None:
        if self.url.startswith(("http://", "https://")):
            self.opener(QUrl(self.url))


class CardDetail(QFrame):
    """The selected card: title, meta, description, links, vote breakdown, the why-note editor and the
    card's history."""

    why_note_saved = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("roadmapDetail")
        self.setMinimumWidth(320)
        self.setMaximumWidth(420)
        self.card_id: int | None = None
        self.title_label = plain("", self)
        font = self.title_label.font()
        font.setPointSizeF(font.pointSizeF() + 3)
        font.setBold(True)
        self.title_label.setFont(font)
        self.meta_label = plain("", self)
        self.description = QTextBrowser(self)
        self.description.setOpenLinks(False)
        self.description.setOpenExternalLinks(False)
        self.link = LinkPreview(self)
        self.description.anchorClicked.connect(self._link_clicked)
        self.origin_label = plain("", self)
        self.origin = LinkPreview(self)
        self.votes_label = plain("", self)
        self.votes_label.setObjectName("roadmapVotes")
        self.why_edit = QPlainTextEdit(self)
        self.why_edit.setPlaceholderText(
            "Why is this card where it is? (public: goes into the monthly update)"
        )
        self.why_edit.setMaximumHeight(80)
        self.save_why = QPushButton("Save note", self)
        self.save_why.clicked.connect(self._save)
        # history lines carry community text (titles, notes, names): plain text only
        self.history_label = plain("", self)
        self.history_label.setObjectName("roadmapHistory")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        layout.addWidget(self.title_label)
        layout.addWidget(self.meta_label)
        self.description.setMaximumHeight(260)
        layout.addWidget(self.description)
        layout.addWidget(self.link)
        layout.addWidget(heading("Where it came from", self))
        layout.addWidget(self.origin_label)
        layout.addWidget(self.origin)
        layout.addWidget(heading("Votes", self))
        layout.addWidget(self.votes_label)
        layout.addWidget(heading("Why note", self))
        layout.addWidget(self.why_edit)
        layout.addWidget(self.save_why, 0, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(heading("History", self))
        layout.addWidget(self.history_label)
        layout.addStretch(1)
        self.setStyleSheet("QFrame#roadmapDetail { border-left: 1px solid palette(mid); }")

    def _link_clicked(self, url: QUrl) -> None:
        self.link.show_url(url.toString())

    def show_card(
        self,
        row: RoadmapRow,
        votes: dict[str, int],
        linked: Sequence[LinkedItem] = (),
        history: Sequence[HistoryEntry] = (),
    ) -> None:
        self.card_id = row.id
        self.title_label.setText(row.title)
        bits = [f"#{row.number}" if row.number else "Draft issue", row.status]
        if row.target_month:
            bits.append(f"target {row.target_month}")
        if row.assignees:
            bits.append("assigned to " + ", ".join(row.assignees))
        if row.labels:
            bits.append("labels: " + ", ".join(row.labels))
        if is_community_driven(row):
            bits.append("community-driven")
        self.meta_label.setText(" · ".join(bits))
        self.description.setHtml(
            render_markdown(row.body) if row.body.strip() else "<p><i>No description.</i></p>"
        )
        self.link.show_url("")
        if linked:
            words = []
            for x in linked:
                where = PLATFORM_WORDS.get(x.platform, x.platform)
                if x.title:
                    score = f" ({x.score} votes)" if x.score is not None else ""
                    words.append(f"{where}: {x.title}{score}")
                else:
                    words.append(f"{where}: {x.platform_id} (not synced yet)")
            self.origin_label.setText("\n".join(words))
        else:
            self.origin_label.setText("Added by the team (no linked suggestion).")
        self.origin.show_url(next((x.url for x in linked if x.url), row.url))
        total = sum(votes.values())
        lines = [f"{total} in all"] + [
            f"{VOTE_SOURCES[k]}: {v}" for k, v in votes.items() if k in VOTE_SOURCES
        ]
        self.votes_label.setText("\n".join(lines))
        if not self.why_edit.hasFocus():
            self.why_edit.setPlainText(row.why_note)
        lines = history_lines(history[-HISTORY_SHOWN:])
        self.history_label.setText("\n".join(lines) if lines else "Nothing recorded yet.")

    def _save(self) -> None:
        if self.card_id is not None:
            self.why_note_saved.emit(self.card_id, self.why_edit.toPlainText())


class UpdateDialog(QDialog):
    """Edit the drafted monthly update and choose where to publish it."""

    def __init__(self, draft: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Roadmap update")
        self.resize(760, 620)
        self.editor = QPlainTextEdit(self)
        self.editor.setPlainText(draft)
        self.preview_hint = plain("Markdown. Edit freely; nothing is sent until you press Publish.", self)
        self.discord = QCheckBox("Discord announcements channel", self)
        self.discord.setChecked(True)
        self.github = QCheckBox("GitHub Discussion in Announcements", self)
        self.github.setChecked(True)
        self.reddit = QCheckBox("The subreddit", self)
        buttons = QDialogButtonBox(self)
        self.publish_button = buttons.addButton("Publish", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.preview_hint)
        layout.addWidget(self.editor, 1)
        targets = QHBoxLayout()
        for box in (self.discord, self.github, self.reddit):
            targets.addWidget(box)
        targets.addStretch(1)
        layout.addLayout(targets)
        layout.addWidget(buttons)

    def text(self) -> str:
        return self.editor.toPlainText()

    def targets(self) -> list[str]:
        out = []
        if self.discord.isChecked():
            out.append("discord:announcements")
        if self.github.isChecked():
            out.append("github:Announcements")
        if self.reddit.isChecked():
            out.append("reddit")
        return out
