"""The reading pane: one item in full, with its conversation around it, rendered safely.

The body is community markdown: markdown-it-py renders it with raw HTML disabled (tags come out as text) and
images disabled (a document must never fetch or read anything); every link is followed by its target in plain
text, and clicking one only opens it after the moderator has seen the full address and confirmed. Names,
containers and context messages are html-escaped plain text. Invisible characters (zero-width, bidi
controls…) are shown as ``[U+XXXX]`` markers everywhere (see ``ui.text``); in the body they are marked in the
rendered HTML, so an entity such as ``&#x202E;``, which markdown decodes, is caught too.

A hostile body must not freeze the desk. markdown-it is superlinear on some inputs (50,000 ``[`` take over a
second), so only bodies up to ``MARKDOWN_MAX_CHARS`` are rendered as markdown; longer ones are shown as plain
text, cut at ``MAX_BODY_CHARS`` with a note. Qt's default wrapping lays out one very long word in quadratic
time (a 50,000-character word: over a second), so a document with such a run wraps anywhere instead.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from markdown_it import MarkdownIt
from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices, QTextOption
from PySide6.QtWidgets import QMessageBox, QTextBrowser, QVBoxLayout, QWidget

from atlas_desk.store.inbox import InboxRow
from atlas_desk.ui.inbox.model import age_text
from atlas_desk.ui.text import inert, inert_lines
from atlas_desk.ui.widgets.platform_status import PLATFORM_NAMES

_PLATFORM_NAMES = {str(p): name for p, name in PLATFORM_NAMES.items()}

log = logging.getLogger("atlas_desk.ui")

MAX_BODY_CHARS = 50_000
# Longer bodies are shown as plain text: no real message is this long (Discord allows 4,000 characters, a
# Reddit comment 10,000, a post 40,000), and below it markdown-it's worst cases take about half a second.
MARKDOWN_MAX_CHARS = 20_000
# A run of this many characters without a space makes the document wrap anywhere (see the module docstring).
LONG_RUN_CHARS = 300
SHORTENED_NOTE = "(message shortened for display: {total:,} characters in all)"
CONTEXT_CHARS = 2_000
OPENABLE_SCHEMES = ("http", "https", "mailto")


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")

    def link_close(self: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
        # Find the matching link_open to show the real target beside the text the author chose.
        depth = 0
        href = ""
        for j in range(idx - 1, -1, -1):
            tok = tokens[j]
            if tok.type == "link_close":
                depth += 1
            elif tok.type == "link_open":
                if depth == 0:
                    href = str(tok.attrGet("href") or "")
                    break
                depth -= 1
        return f'</a><span style="color:#808080"> [{html.escape(href)}]</span>'

    md.add_render_rule("link_close", link_close)
    return md


_MD = _markdown()


def render_markdown(text: str) -> str:
    """Community markdown to safe HTML for a QTextDocument: no raw HTML, no images, links with their
    target, invisible characters marked. Very long bodies come back as plain text (module docstring)."""
    if len(text) > MARKDOWN_MAX_CHARS:
        return render_plain(text)
    return inert_lines(str(_MD.render(text)))


def render_plain(text: str) -> str:
    """``text`` as escaped plain text with its line breaks, at most ``MAX_BODY_CHARS`` shown, with a note."""
    # Cut before marking (100,000 invisible characters take a tenth of a second to mark) and after (a marker
    # is up to nine characters: a body of zero-width spaces grows ninefold).
    marked = inert_lines(text[:MAX_BODY_CHARS])
    parts = [f'<p style="white-space:pre-wrap">{html.escape(marked[:MAX_BODY_CHARS])}</p>']
    if len(text) > MAX_BODY_CHARS or len(marked) > MAX_BODY_CHARS:
        note = SHORTENED_NOTE.format(total=len(text))
        parts.append(f'<p style="color:#808080">{html.escape(note)}</p>')
    return "\n".join(parts)


def _longest_run(text: str) -> int:
    """Characters in the longest stretch of ``text`` without whitespace (C-speed split)."""
    return max(map(len, text.split()), default=0)


def confirm_open_url(parent: QWidget | None, url: QUrl) -> bool:
    """Show the full address and open it in the browser only if the moderator agrees. Returns True if
    opened."""
    target = url.toString(QUrl.ComponentFormattingOption.FullyEncoded)
    if url.scheme().lower() not in OPENABLE_SCHEMES:
        QMessageBox.information(
            parent, "Link not opened", f"Atlas Desk does not open links like this one:\n\n{target}"
        )
        return False
    answer = QMessageBox.question(
        parent,
        "Open link?",
        f"Open this address in your browser?\n\n{target}",
        QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    if answer != QMessageBox.StandardButton.Open:
        return False
    QDesktopServices.openUrl(url)
    return True


def when_text(created_ts: float, now: float | None = None) -> str:
    """A time as a moderator reads it: local day, date and time, and how long ago."""
    local = datetime.fromtimestamp(created_ts).astimezone()
    age = age_text(created_ts, now)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} · " + ("just now" if age == "now" else f"{age} ago")


class ReadingPane(QWidget):
    """Shows the selected item and its context."""

    link_opened = Signal(QUrl)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.browser = QTextBrowser(self)
        self.browser.setObjectName("inboxReadingPane")
        self.browser.setOpenLinks(False)
        self.browser.setOpenExternalLinks(False)
        self.browser.anchorClicked.connect(self._on_anchor)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.browser)
        self.item: InboxRow | None = None
        self.show_placeholder()

    def show_placeholder(self) -> None:
        """Nothing selected."""
        self.item = None
        self.browser.setHtml('<p style="color:#808080">Select a message to read it here.</p>')

    def show_item(self, item: InboxRow, context: Sequence[InboxRow] = ()) -> None:
        """Show ``item`` in full and the conversation around it."""
        self.item = item
        esc = html.escape
        title = esc(inert(item.title)) if item.title else ""
        who = esc(inert(item.author_name or item.author))
        handle = esc(inert(item.author))
        where = esc(inert(item.container))
        platform = esc(_PLATFORM_NAMES.get(item.platform, item.platform))
        when = esc(when_text(item.created_ts))
        meta = f"{who} (@{handle}) in {where} · {platform} · {when}"
        flags = []
        if item.reported:
            flags.append("reported")
        if item.is_suggestion:
            flags.append("suggestion")
        if item.starred:
            flags.append("starred")
        if item.deleted:
            flags.append("deleted on the platform")
        if item.score:
            flags.append(f"{item.score} votes")
        parts = []
        if title:
            parts.append(f"<h2>{title}</h2>")
        parts.append(f'<p style="color:#808080">{meta}</p>')
        if flags:
            parts.append(f'<p style="color:#808080">{esc(" · ".join(flags))}</p>')
        if item.url:
            parts.append(
                f'<p><a href="{esc(item.url, quote=True)}">Open on {platform}</a>'
                f'<span style="color:#808080"> [{esc(inert(item.url))}]</span></p>'
            )
        parts.append("<hr/>")
        parts.append(render_markdown(item.body))
        others = [c for c in context if c.id != item.id]
        if others:
            parts.append("<hr/><h4>Conversation</h4>")
            for c in context:
                who_c = esc(inert(c.author_name or c.author))
                said = inert_lines((c.title + "\n" if c.title else "") + c.body[:CONTEXT_CHARS])
                text = esc(said[:CONTEXT_CHARS]).replace("\n", "<br/>")
                weight = "font-weight:bold;" if c.id == item.id else ""
                said_by = f'<span style="color:#808080">{who_c} · {esc(when_text(c.created_ts))}</span>'
                parts.append(f'<p style="{weight}">{said_by}<br/>{text}</p>')
        document = "\n".join(parts)
        self.browser.setWordWrapMode(
            QTextOption.WrapMode.WrapAnywhere
            if _longest_run(document) > LONG_RUN_CHARS
            else QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere
        )
        self.browser.setHtml(document)

    def _on_anchor(self, url: QUrl) -> None:
        if confirm_open_url(self, url):
            self.link_opened.emit(url)
