"""Hostile community text in the inbox: markup, invisible characters and huge bodies stay inert text.

One item per hostile case goes through InboxService into a real store; the real InboxPane shows them. For each
the reading pane must show the text literally (no image, no link but the deliberate ones, which show their
target), invisible characters as visible markers, and the list must paint the same inert text. The desk keeps
working afterwards. Qt warnings and loop errors fail these tests (pyproject's pytest settings).
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetrics,
    QImage,
    QPainter,
    QStaticText,
    QTextCharFormat,
    QTextOption,
)
from PySide6.QtWidgets import QStyleOptionViewItem, QWidget
from test_inbox_support import ACCOUNTS, attached_pane, item, open_store

from atlas_desk.core.bus import ChangeBus
from atlas_desk.core.inbox import InboxService
from atlas_desk.core.types import Account, InboxItem, Platform
from atlas_desk.store import inbox as repo
from atlas_desk.store.db import Store
from atlas_desk.ui.inbox.delegate import ROW_HEIGHT, InboxDelegate
from atlas_desk.ui.inbox.filters import KEY_ROLE, LABEL_ROLE
from atlas_desk.ui.inbox.model import InboxModel, Role
from atlas_desk.ui.inbox.pane import InboxPane
from atlas_desk.ui.inbox.reading_pane import MAX_BODY_CHARS, ReadingPane, render_markdown
from atlas_desk.ui.text import inert, inert_lines

pytestmark = pytest.mark.qt_log_ignore("propagateSizeHints")

MARKUP = '<img src=x onerror="alert(1)"><a href="http://evil.example/">click me</a><script>alert(1)</script>'
RLO = "\u202e"
# Zero-width space, zero-width joiner, word joiner, byte order mark: none of them takes any room on screen.
ZERO_WIDTH = "\u200b\u200d\u2060\ufeff"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # man ZWJ woman ZWJ girl: one emoji
DOCS = "https://docs.example/x"
# Invisible characters that must never reach the screen as they are (ZWJ is checked separately: the family
# emoji keeps its joiners).
RAW_INVISIBLE = (RLO, "\u200b", "\u2060", "\ufeff", "\u00ad", "\u061c", "\u180e")

LOBBY = ("#lobby", "c-lobby")
EVIL_CONTAINER = (f"#{MARKUP}{RLO}ybbol{ZERO_WIDTH}", "c-evil")
EVIL_NAME = f"Mod{ZERO_WIDTH} Team {MARKUP}{RLO}dom"
EVIL_HANDLE = "ad\u200bmin"
EVIL_TITLE = f"{MARKUP}{RLO}eltit{ZERO_WIDTH}"
EVIL_BODY = (
    f"{MARKUP}\n\n{RLO}gnp.exe{ZERO_WIDTH}\n\nsee [the docs]({DOCS}) {FAMILY}\n\n"
    "&#x202E;decoded by markdown, soft\u00adhyphen, letter\u061cmark, vowel\u180eseparator"
)
LONG_BODY = f"{MARKUP}{RLO}\n\n" + "lorem ipsum " * 9_000  # 108,000 characters
HUGE_WORD = "A" * 100_000 + RLO  # one word: Qt's default wrapping would take seconds to lay it out


def _lobby(pid: str, body: str, minute: int, **kw: Any) -> InboxItem:
    return item(Platform.DISCORD, pid, body, minute, container=LOBBY[0], container_id=LOBBY[1], **kw)


def hostile_items() -> list[InboxItem]:
    """One item per hostile case (names, container, title, body, long bodies) and a plain neighbour."""
    evil_author = Account(Platform.DISCORD, "6660", EVIL_HANDLE, EVIL_NAME)
    return [
        _lobby("plain", "an ordinary message", 1),
        _lobby("name", "hello from a spoofed name", 2, author=evil_author),
        item(
            Platform.DISCORD,
            "container",
            "in a hostile channel",
            3,
            container=EVIL_CONTAINER[0],
            container_id=EVIL_CONTAINER[1],
        ),
        item(Platform.GITHUB, "title", "an ordinary body", 4, title=EVIL_TITLE),
        _lobby("body", EVIL_BODY, 5),
        _lobby("long", LONG_BODY, 6),
        _lobby("word", HUGE_WORD, 7, author=evil_author),
    ]


class Desk(SimpleNamespace):
    store: Store
    service: InboxService
    pane: InboxPane


@pytest.fixture
def desk(qtbot: Any, data_dir: Path, aloop: asyncio.AbstractEventLoop) -> Iterator[Desk]:
    store = open_store(data_dir)
    service = InboxService(store, ChangeBus())
    aloop.run_until_complete(service.ingest(hostile_items()))
    pane, _service, _bus, _model = attached_pane(qtbot, store, service=service, size=(1400, 800))
    yield Desk(store=store, service=service, pane=pane)
    pane.shutdown()
    store.close()


def _model(desk: Desk) -> InboxModel:
    assert desk.pane.model is not None
    return desk.pane.model


def _row_of(desk: Desk, pid: str) -> int:
    model = _model(desk)
    for r in range(model.rowCount()):
        if model.data(model.index(r, 0), Role.ROW).platform_id == pid:
            return r
    raise AssertionError(f"{pid} is not listed")


def _select(desk: Desk, qtbot: Any, pid: str) -> str:
    """Select ``pid`` in the list; returns what the reading pane shows, as plain text."""
    desk.pane.table.selectRow(_row_of(desk, pid))
    reading = desk.pane.reading
    qtbot.waitUntil(lambda: reading.item is not None and reading.item.platform_id == pid)
    return reading.browser.toPlainText()


def _anchors_and_images(reading: ReadingPane) -> tuple[set[str], int]:
    doc = reading.browser.document()
    anchors: set[str] = set()
    images = 0
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fmt: QTextCharFormat = it.fragment().charFormat()
            images += fmt.isImageFormat()
            if fmt.isAnchor() and fmt.anchorHref():
                anchors.add(fmt.anchorHref())
            it += 1
        block = block.next()
    return anchors, images


def _assert_inert_document(reading: ReadingPane, text: str, allowed_links: set[str]) -> None:
    """No image, no markup, only the deliberate links (each followed by its target), nothing invisible."""
    anchors, images = _anchors_and_images(reading)
    assert images == 0
    assert anchors <= allowed_links
    for href in anchors:
        assert f"[{href}]" in text  # the moderator sees where a link goes before clicking it
    html = reading.browser.document().toHtml()
    assert "<img" not in html and "<script" not in html and 'evil.example/"' not in html
    assert not any(ch in text for ch in RAW_INVISIBLE)
    assert "\u200d" not in text.replace(FAMILY, "")


def test_reading_pane_shows_every_hostile_case_as_inert_text(desk: Desk, qtbot: Any) -> None:
    reading = desk.pane.reading
    mark = "[U+202E]"

    text = _select(desk, qtbot, "name")
    header = f"{inert(EVIL_NAME)} (@ad[U+200B]min) in #lobby"
    assert header in text
    assert MARKUP in text and mark in text and "Mod[U+200B][U+200D][U+2060][U+FEFF] Team" in text
    _assert_inert_document(reading, text, {reading.item.url if reading.item else ""})

    text = _select(desk, qtbot, "container")
    assert f"in #{MARKUP}[U+202E]ybbol[U+200B][U+200D][U+2060][U+FEFF]" in text
    _assert_inert_document(reading, text, {reading.item.url if reading.item else ""})

    text = _select(desk, qtbot, "title")
    assert text.startswith(f"{MARKUP}[U+202E]eltit[U+200B]")
    _assert_inert_document(reading, text, {reading.item.url if reading.item else ""})

    text = _select(desk, qtbot, "body")
    assert MARKUP in text
    assert "[U+202E]gnp.exe[U+200B][U+200D][U+2060][U+FEFF]" in text
    assert FAMILY in text  # the emoji's joiners do their job and stay
    assert "[U+202E]decoded by markdown" in text  # an entity markdown decodes is marked too
    assert "soft[U+00AD]hyphen" in text and "letter[U+061C]mark" in text and "vowel[U+180E]separator" in text
    assert f"[{DOCS}]" in text
    anchors, _ = _anchors_and_images(reading)
    assert reading.item is not None and anchors == {reading.item.url, DOCS}
    _assert_inert_document(reading, text, {reading.item.url, DOCS})

    for pid in ("long", "word"):
        text = _select(desk, qtbot, pid)
        assert "shortened for display" in text
        assert len(text) < MAX_BODY_CHARS + 10_000
        assert reading.item is not None
        _assert_inert_document(reading, text, {reading.item.url})
    # A 100,000-character word is laid out wrapping anywhere: Qt's default takes seconds over it.
    assert reading.browser.wordWrapMode() == QTextOption.WrapMode.WrapAnywhere
    assert MARKUP in _select(desk, qtbot, "long")
    _select(desk, qtbot, "title")  # nothing long around it: ordinary word wrapping
    assert reading.browser.wordWrapMode() == QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere


def test_the_conversation_block_escapes_hostile_names(desk: Desk, qtbot: Any) -> None:
    reading = desk.pane.reading
    for pid in ("plain", "name", "body", "long"):
        text = _select(desk, qtbot, pid)
        assert "Conversation" in text
        conversation = text.split("Conversation", 1)[1]
        # The spoofed author's messages are around every lobby message; the name shows literally, marked.
        assert inert(EVIL_NAME) in conversation
        assert "hello from a spoofed name" in conversation
        assert reading.item is not None
        _assert_inert_document(
            reading, text, {reading.item.url, DOCS} if pid == "body" else {reading.item.url}
        )
    # The body's own hostile markup in the conversation of a neighbour: escaped, marked, not rendered.
    text = _select(desk, qtbot, "name")
    conversation = text.split("Conversation", 1)[1]
    assert MARKUP in conversation and "[U+202E]gnp.exe" in conversation
    assert _anchors_and_images(reading)[1] == 0


class RecordingDelegate(InboxDelegate):
    """The real row painter, noting every text it paints."""

    def __init__(self, view: QWidget) -> None:
        super().__init__(view)
        self.painted: list[str] = []

    def _static_text(
        self, text: str, width: int, bold: bool, font: QFont, metrics: QFontMetrics
    ) -> QStaticText:
        self.painted.append(text)
        return super()._static_text(text, width, bold, font, metrics)

    def _draw_cell(
        self,
        painter: QPainter,
        x: int,
        top: int,
        text: str,
        width: int,
        bold: bool,
        font: QFont,
        metrics: QFontMetrics,
    ) -> None:
        self.painted.append(text)
        super()._draw_cell(painter, x, top, text, width, bold, font, metrics)

    def _draw_run(  # type: ignore[override]
        self,
        painter: QPainter,
        x: int,
        right: int,
        top: int,
        height: int,
        baseline: int,
        text: str,
        spans: Sequence[tuple[int, int]],
        font: QFont,
        metrics: QFontMetrics,
        colour: QColor,
    ) -> int:
        self.painted.append(text)
        return InboxDelegate._draw_run(
            painter, x, right, top, height, baseline, text, spans, font, metrics, colour
        )


def test_the_list_paints_the_inert_parts_of_every_row(desk: Desk, qtbot: Any) -> None:
    table = desk.pane.table
    delegate = RecordingDelegate(table)
    table.setItemDelegate(delegate)
    model = _model(desk)
    image = QImage(table.viewport().size(), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    table.viewport().render(image)
    assert not image.isNull()
    painted = set(delegate.painted)
    rows = {model.data(model.index(r, 0), Role.ROW).platform_id: r for r in range(model.rowCount())}
    assert set(rows) == {"plain", "name", "container", "title", "body", "long", "word"}
    for pid, r in rows.items():
        row = model.row_at(r)
        assert row is not None
        parts = model.display_parts(row)
        assert parts.container == inert(row.container) and parts.author == inert(
            row.author_name or row.author
        )
        assert parts.container in painted and parts.author in painted
        assert (parts.title or parts.snippet) in painted
        for shown in (parts.container, parts.author, parts.title, parts.snippet):
            assert not any(ch in shown for ch in RAW_INVISIBLE), pid
            assert "\n" not in shown and "\u200d" not in shown.replace(FAMILY, ""), pid
    by_pid = {pid: model.display_parts(model.row_at(r)) for pid, r in rows.items()}  # type: ignore[arg-type]
    assert by_pid["name"].author == "Mod[U+200B][U+200D][U+2060][U+FEFF] Team " + MARKUP + "[U+202E]dom"
    assert by_pid["container"].container.startswith("#" + MARKUP + "[U+202E]ybbol[U+200B]")
    assert by_pid["title"].title.startswith(MARKUP + "[U+202E]eltit[U+200B]")
    assert by_pid["body"].snippet.startswith(MARKUP + "  [U+202E]gnp.exe[U+200B]")
    assert FAMILY in by_pid["body"].snippet


def test_a_sidebar_entry_for_a_hostile_channel_is_inert(desk: Desk, qtbot: Any) -> None:
    sidebar = desk.pane.filters
    key = repo.container_key(Platform.DISCORD.value, EVIL_CONTAINER[1])

    def entry() -> Any:
        for r in range(sidebar.count()):
            if sidebar.item(r).data(KEY_ROLE) == key:
                return sidebar.item(r)
        return None

    qtbot.waitUntil(lambda: entry() is not None)
    assert entry().data(LABEL_ROLE) == inert(EVIL_CONTAINER[0])
    assert entry().text().startswith(inert(EVIL_CONTAINER[0]))  # then its unread count
    assert "[U+202E]" in entry().text() and RLO not in entry().text()
    sidebar.viewport().grab()  # paints the entry without a warning


def test_the_desk_keeps_working_after_the_hostile_items(
    desk: Desk, qtbot: Any, aloop: asyncio.AbstractEventLoop
) -> None:
    for pid in ("name", "container", "title", "body", "long", "word"):
        _select(desk, qtbot, pid)
    desk.pane.table.viewport().grab()
    aloop.run_until_complete(desk.service.ingest([_lobby("after", "still reading you", 60)]))
    model = _model(desk)
    qtbot.waitUntil(lambda: model.rowCount() == 8)
    assert _select(desk, qtbot, "after").count("still reading you") >= 1
    assert desk.pane.reading.item is not None and desk.pane.reading.item.platform_id == "after"


# -- a row painter that stays inside its row -------------------------------------------------------


def test_stacked_combining_marks_stay_inside_their_row(qtbot: Any, data_dir: Path, aloop: Any) -> None:
    """'Zalgo' text draws far above and below its line: it must not cover the rows around it."""
    store = open_store(data_dir)
    try:
        zalgo = "Z" + "\u0336\u0334\u0335\u030d\u030e\u0304\u0305\u033f\u0311\u0306\u0310" * 30 + "algo"
        service = InboxService(store, ChangeBus())
        aloop.run_until_complete(
            service.ingest([item(Platform.DISCORD, "z", zalgo, 1, author=ACCOUNTS[Platform.DISCORD])])
        )
        model = InboxModel(store.reader)
        model.set_filter(model.filter)
        view = QWidget()
        qtbot.addWidget(view)
        delegate = InboxDelegate(view)
        image = QImage(700, ROW_HEIGHT * 5, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        option = QStyleOptionViewItem()
        option.initFrom(view)
        option.rect = QRect(0, ROW_HEIGHT * 2, 700, ROW_HEIGHT)
        painter = QPainter(image)
        delegate.paint(painter, option, model.index(0, 0))
        painter.end()
        outside = [
            (x, y)
            for y in (*range(0, ROW_HEIGHT * 2), *range(ROW_HEIGHT * 3, ROW_HEIGHT * 5))
            for x in range(0, 700, 2)
            if image.pixelColor(x, y).alpha() != 0
        ]
        inside = [
            (x, y)
            for y in range(ROW_HEIGHT * 2, ROW_HEIGHT * 3)
            for x in range(0, 700, 2)
            if image.pixelColor(x, y).alpha() != 0
        ]
        assert inside  # the row itself was painted
        assert outside == []
        model.stop()
    finally:
        store.close()


# -- inert(): what is marked and what is left to do its job ------------------------------------------

PREPENDED_CONCATENATION_MARKS = {
    0x0600,
    0x0601,
    0x0602,
    0x0603,
    0x0604,
    0x0605,
    0x06DD,
    0x070F,
    0x0890,
    0x0891,
}
PREPENDED_CONCATENATION_MARKS |= {0x08E2, 0x110BD, 0x110CD}


def test_every_invisible_format_character_is_marked() -> None:
    """Every Cf character this Python knows (but the visible prepended marks), alone or inside a handle."""
    for cp in range(0x110000):
        ch = chr(cp)
        if unicodedata.category(ch) != "Cf" or cp in PREPENDED_CONCATENATION_MARKS:
            continue
        marker = f"[U+{cp:04X}]"
        assert inert(ch) == marker, hex(cp)
        assert inert(f"ad{ch}min") == f"ad{marker}min", hex(cp)
        assert inert_lines(f"a\n{ch}") == f"a\n{marker}", hex(cp)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("ad\u200bmin", "ad[U+200B]min"),
        ("ad\u200dmin", "ad[U+200D]min"),
        ("ad\u200cmin", "ad[U+200C]min"),
        ("\u202egnp.exe", "[U+202E]gnp.exe"),
        ("\u3164", "[U+3164]"),  # Hangul filler: the classic blank name
        ("a\u034fb", "a[U+034F]b"),  # combining grapheme joiner
        ("admin\ufe0f", "admin[U+FE0F]"),  # a presentation selector on a letter does nothing visible
        ("x\x00y\x1b[31m", "x[U+0000]y[U+001B][31m"),
        ("a\nb\r\nc\u2028d\te", "a b  c d e"),
        ("\U0001f600\u200d", "\U0001f600[U+200D]"),  # a joiner that joins nothing
        ("x\ufffcy", "x[U+FFFC]y"),  # Qt's object placeholder
        # Tag characters outside a flag carry hidden text ("hi there"): every one is marked.
        ("\U000e0068\U000e0069", "[U+E0068][U+E0069]"),
        (
            "\U0001f3f4\U000e0068\U000e0069\U000e0020\U000e007f",
            "\U0001f3f4[U+E0068][U+E0069][U+E0020][U+E007F]",
        ),
    ],
)
def test_invisible_characters_that_can_spoof_are_marked(text: str, shown: str) -> None:
    assert inert(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        FAMILY,
        "\U0001f469\U0001f3fd\u200d\U0001f4bb",  # woman, skin tone, ZWJ, laptop
        "\U0001f3f3\ufe0f\u200d\U0001f308",  # white flag, VS16, ZWJ, rainbow
        "\u2764\ufe0f",  # heart with emoji presentation
        "1\ufe0f\u20e3",  # keycap one
        "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # flag of England
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian: a word with its ZWNJ
        "\u0915\u094d\u200d\u0937",  # Devanagari half form with ZWJ
        "\u8fbb\U000e0100",  # an ideographic variation sequence
        "\u0600\u0661\u0662",  # Arabic number sign: a visible format character
        "Ça marche très bien, merci ! 👍",
    ],
)
def test_legitimate_text_stays_as_written(text: str) -> None:
    assert inert(text) == text
    assert inert_lines(text) == text


def test_markdown_bodies_are_marked_after_rendering() -> None:
    html = render_markdown(f"`code {RLO}` and [x]({DOCS}) &#x200B; &shy;")
    assert RLO not in html and "\u200b" not in html and "\u00ad" not in html
    assert "code [U+202E]" in html and "[U+200B]" in html and "[U+00AD]" in html
    # A marker is never markdown: "[U+202E](url)" in the source would otherwise become a link.
    assert 'href="http://evil' not in render_markdown(f"{RLO}(http://evil.example/)")
