"""The ticket detail: header, the requester's card, the conversation, and the composer.

The conversation is a deliberate rich path: every piece of community text goes through ``html.escape`` and
links are never followed, so a message holding markup shows it as text. Member messages, moderator replies
and internal notes each have their own look (notes on a yellow ground, marked "Internal note").
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from atlas_desk.core.sla import SlaPolicy, SlaState, format_left
from atlas_desk.core.tickets import CANNED_REPLIES
from atlas_desk.store.tickets import TicketMessageRow, TicketRow
from atlas_desk.ui.tickets.model import SLA_COLORS, STATUS_COLORS
from atlas_desk.ui.widgets.empty_state import plain_label

_ROLE_STYLE = {
    "member": ("#eef2ff", "#1e293b", "#4f46e5", ""),
    "moderator": ("#ecfdf5", "#1e293b", "#047857", "Reply — sent to the member"),
    "note": ("#fef9c3", "#422006", "#a16207", "Internal note — never sent"),
    "system": ("transparent", "#6b7280", "#6b7280", ""),
}


def _when(dt: datetime) -> str:
    return dt.astimezone().strftime("%d %b %H:%M")


def conversation_html(messages: list[TicketMessageRow], requester: str) -> str:
    """The conversation as escaped HTML (community text never becomes markup)."""
    parts = ["<html><body style='font-size:10pt'>"]
    for m in messages:
        bg, fg, accent, label = _ROLE_STYLE.get(m.role, _ROLE_STYLE["system"])
        who = requester if m.role == "member" else (m.author or "moderator")
        if m.role == "system":
            parts.append(
                f"<p style='color:{fg}; margin:6px 0; text-align:center'><i>{html.escape(m.body)}</i>"
                f" · {_when(m.created_at)}</p>"
            )
            continue
        head = f"<b style='color:{accent}'>{html.escape(who)}</b>"
        if label:
            head += f" <span style='color:{accent}'>· {label}</span>"
        head += f" <span style='color:#6b7280'>· {_when(m.created_at)}</span>"
        if m.pending:
            head += " <span style='color:#6b7280'>· sending…</span>"
        body = html.escape(m.body).replace("\n", "<br>")
        for url in m.attachments:
            body += f"<br><span style='color:#4f46e5'>📎 {html.escape(url)}</span>"
        margin = "margin:6px 60px 6px 0" if m.role == "member" else "margin:6px 0 6px 60px"
        parts.append(
            f"<table width='100%' cellpadding='8'"
            f" style='{margin}; background:{bg}; border-left:3px solid {accent}'>"
            f"<tr><td style='color:{fg}'>{head}<br>{body}</td></tr></table>"
        )
    parts.append("</body></html>")
    return "".join(parts)


class TicketDetail(QWidget):
    """Shows one ticket; emits the moderator's reply / note / canned choice."""

    reply_requested = Signal(str)
    note_requested = Signal(str)
    canned_requested = Signal(str)

    def __init__(self, policy: SlaPolicy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.policy = policy
        self.ticket: TicketRow | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)

        self.subject = plain_label("", self)
        self.subject.setObjectName("ticketSubject")
        self.subject.setWordWrap(True)
        font = self.subject.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.subject.setFont(font)
        self.badges = QLabel(self)  # a deliberate rich path: our own markup, every value in it html-escaped
        self.badges.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.subject)
        layout.addWidget(self.badges)

        card = QFrame(self)
        card.setObjectName("ticketCard")
        card.setFrameShape(QFrame.Shape.StyledPanel)
        form = QFormLayout(card)
        form.setContentsMargins(8, 6, 8, 6)
        form.setVerticalSpacing(2)
        self.card_labels: dict[str, QLabel] = {}
        for key in (
            "Member",
            "Account created",
            "Joined server",
            "Earlier tickets",
            "Assignee",
            "Opened via",
        ):
            label = plain_label("", card)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            self.card_labels[key] = label
            form.addRow(plain_label(key + ":", card), label)
        layout.addWidget(card)

        self.conversation = QTextBrowser(self)
        self.conversation.setObjectName("ticketConversation")
        self.conversation.setOpenLinks(False)
        self.conversation.setOpenExternalLinks(False)
        layout.addWidget(self.conversation, 1)

        self.composer = QPlainTextEdit(self)
        self.composer.setObjectName("ticketComposer")
        self.composer.setPlaceholderText(
            "Write a reply to the member, or an internal note (@name to mention)…"
        )
        self.composer.setMaximumHeight(110)
        layout.addWidget(self.composer)

        row = QHBoxLayout()
        self.canned = QComboBox(self)
        self.canned.addItem("Canned reply…")
        for name in CANNED_REPLIES:
            self.canned.addItem(name)
        self.canned.setToolTip("Insert a canned reply ({member}, {moderator}, {ticket} are filled in)")
        self.canned.activated.connect(self._canned)
        self.note_button = QPushButton("Add note", self)
        self.note_button.setToolTip("Internal note, never sent to the member (Ctrl+Shift+Return)")
        self.reply_button = QPushButton("Reply", self)
        self.reply_button.setDefault(True)
        self.reply_button.setToolTip("Send to the member by DM (Ctrl+Return)")
        self.note_button.clicked.connect(self._note)
        self.reply_button.clicked.connect(self._reply)
        row.addWidget(self.canned)
        row.addStretch(1)
        row.addWidget(self.note_button)
        row.addWidget(self.reply_button)
        layout.addLayout(row)
        QShortcut(QKeySequence("Ctrl+Return"), self.composer, self._reply)
        QShortcut(QKeySequence("Ctrl+Shift+Return"), self.composer, self._note)
        self.show_ticket(None, [])

    def _reply(self) -> None:
        text = self.composer.toPlainText().strip()
        if text and self.ticket is not None:
            self.reply_requested.emit(text)
            self.composer.clear()

    def _note(self) -> None:
        text = self.composer.toPlainText().strip()
        if text and self.ticket is not None:
            self.note_requested.emit(text)
            self.composer.clear()

    def _canned(self, index: int) -> None:
        if index > 0 and self.ticket is not None:
            from atlas_desk.core.tickets import fill_placeholders

            name = self.canned.itemText(index)
            me = self.property("moderator") or "moderator"
            self.composer.setPlainText(
                fill_placeholders(
                    CANNED_REPLIES[name],
                    member=self.ticket.requester,
                    moderator=str(me),
                    ticket=self.ticket.subject,
                )
            )
        self.canned.setCurrentIndex(0)

    def show_ticket(self, ticket: TicketRow | None, messages: list[TicketMessageRow]) -> None:
        """Show ``ticket`` (None: nothing selected)."""
        self.ticket = ticket
        enabled = ticket is not None and ticket.status != "closed"
        for w in (self.composer, self.reply_button, self.note_button, self.canned):
            w.setEnabled(enabled)
        if ticket is None:
            self.subject.setText("No ticket selected")
            self.badges.setText("")
            for label in self.card_labels.values():
                label.setText("")
            self.conversation.setHtml("")
            return
        self.subject.setText(ticket.subject)
        now = datetime.now(UTC)
        state = self.policy.state(ticket.opened_at, ticket.first_reply_at, now, status=ticket.status)
        if state is SlaState.MET:
            assert ticket.first_reply_at is not None
            mins = int((ticket.first_reply_at - ticket.opened_at).total_seconds() // 60)
            sla = f"first reply after {mins // 60} h {mins % 60:02d} m"
            sla_color = "#15803d"
        elif state is SlaState.NONE:
            sla, sla_color = "no reply needed", "#6b7280"
        else:
            sla = "first reply " + format_left(self.policy.seconds_left(ticket.opened_at, now))
            sla_color = SLA_COLORS[state]
        status_color = STATUS_COLORS.get(ticket.status, "#6b7280")
        self.badges.setText(
            f"<span style='color:{status_color}'><b>{html.escape(ticket.status.capitalize())}</b></span>"
            f" · {html.escape(ticket.priority.capitalize())} priority"
            f" · <span style='color:{sla_color}'>{html.escape(sla)}</span>"
            + (f" · closed: {html.escape(ticket.close_reason)}" if ticket.close_reason else "")
        )
        extra = ticket.extra

        def date(key: str) -> str:
            raw = extra.get(key)
            if not raw:
                return "unknown"
            dt = datetime.fromisoformat(str(raw))
            days = (now - dt).days
            return (
                f"{dt.date().isoformat()} ({days // 365} y {days % 365 // 30} mo)"
                if days > 365
                else (f"{dt.date().isoformat()} ({days} days)")
            )

        self.card_labels["Member"].setText(f"{ticket.requester} (@{ticket.requester_handle})")
        self.card_labels["Account created"].setText(date("requester_created_at"))
        self.card_labels["Joined server"].setText(date("joined_at"))
        self.card_labels["Earlier tickets"].setText(str(extra.get("earlier_tickets", 0)))
        self.card_labels["Assignee"].setText(ticket.assignee or "nobody yet")
        self.card_labels["Opened via"].setText(
            {
                "dm": "direct message",
                "command": "/ticket",
                "button": "the support panel",
                "modmail": "Reddit modmail",
            }.get(str(extra.get("source", "dm")), str(extra.get("source", "")))
        )
        bar = self.conversation.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        self.conversation.setHtml(conversation_html(messages, ticket.requester))
        if at_end:
            bar.setValue(bar.maximum())
