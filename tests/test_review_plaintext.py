"""Community text that contains markup is shown literally on every Qt surface that could guess rich text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6 import QtGui
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QLabel

from atlas_desk.core.calendar import LeaderboardEntry, QuestionGroup
from atlas_desk.core.sla import SlaPolicy
from atlas_desk.store.calendar import SourceItem
from atlas_desk.store.tickets import TicketMessageRow, TicketRow
from atlas_desk.ui.calendar.model import LeaderboardModel, QuestionModel
from atlas_desk.ui.text import plain_tooltip
from atlas_desk.ui.tickets.detail import TicketDetail
from atlas_desk.ui.tickets.model import Column, TicketQueueModel

HOSTILE = '<b>x</b><img src=x><a href="http://evil">y</a>'
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def rendered(text: str) -> QTextDocument:
    """The document a tooltip (an AutoText QLabel) builds from ``text``: HTML when Qt guesses rich text."""
    doc = QTextDocument()
    if QtGui.Qt.mightBeRichText(text):  # the guess QToolTip's label makes
        doc.setHtml(text)
    else:
        doc.setPlainText(text)
    return doc


def markup_in(doc: QTextDocument) -> list[str]:
    """Anchors, images and bold runs the document made out of its text."""
    found = []
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            fmt = fragment.charFormat()
            if fmt.isAnchor() or fmt.anchorHref():
                found.append(f"anchor {fmt.anchorHref()}")
            if fmt.isImageFormat():
                found.append("image")
            if fmt.fontWeight() > 500:
                found.append(f"bold {fragment.text()!r}")
            it += 1
        block = block.next()
    return found


def assert_literal(tip: Any) -> None:
    assert isinstance(tip, str)
    doc = rendered(tip)
    assert HOSTILE in doc.toPlainText()
    assert markup_in(doc) == []


def test_the_check_itself_catches_a_raw_tooltip() -> None:
    assert markup_in(rendered(HOSTILE)) != []
    assert_literal(plain_tooltip(HOSTILE))
    assert plain_tooltip("") == ""


def ticket(subject: str) -> TicketRow:
    return TicketRow(
        id=1, platform="discord", platform_id="t1", subject=subject, requester_id=None,
        requester=HOSTILE, requester_handle=HOSTILE, assignee="", status="new", priority="normal",
        tags=[], opened_at=T0, first_reply_at=None, last_activity_at=T0, snoozed_until=None,
        closed_at=None, close_reason=HOSTILE,
    )  # fmt: skip


def test_ticket_subject_tooltip_is_shown_literally() -> None:
    model = TicketQueueModel(SlaPolicy(), clock=lambda: T0 + timedelta(hours=1))
    model.load([ticket(HOSTILE)])
    assert model.index(0, Column.SUBJECT).data(Qt.ItemDataRole.DisplayRole) == HOSTILE
    assert_literal(model.index(0, Column.SUBJECT).data(Qt.ItemDataRole.ToolTipRole))


def test_ticket_detail_shows_member_text_literally(qtbot: Any) -> None:
    detail = TicketDetail(SlaPolicy())
    qtbot.addWidget(detail)
    message = TicketMessageRow(
        id=1, ticket_id=1, platform_id="m1", author=HOSTILE, role="member", body=HOSTILE,
        created_at=T0, attachments=[HOSTILE], pending=False,
    )  # fmt: skip
    detail.show_ticket(ticket(HOSTILE), [message])
    assert detail.subject.textFormat() == Qt.TextFormat.PlainText and detail.subject.text() == HOSTILE
    for label in detail.findChildren(QLabel):
        if HOSTILE in label.text():
            assert label.textFormat() == Qt.TextFormat.PlainText or "&lt;img" in label.text()
    doc = detail.conversation.document()
    assert doc.toPlainText().count(HOSTILE) == 3  # requester name, body, attachment
    assert [m for m in markup_in(doc) if not m.startswith("bold")] == []
    assert not detail.conversation.openExternalLinks()


def source(body: str) -> SourceItem:
    return SourceItem(
        id=1, platform="discord", platform_id="q", title=HOSTILE, body=body, author=HOSTILE, score=1,
        created_at=T0, url="", container_id="", parent_id="",
    )  # fmt: skip


def test_ama_question_tooltip_is_shown_literally() -> None:
    model = QuestionModel()
    model.set_groups([QuestionGroup(lead=source("lead"), others=[source(HOSTILE)])])
    assert_literal(model.index(0, 2).data(Qt.ItemDataRole.ToolTipRole))


def test_leaderboard_url_tooltip_is_shown_literally() -> None:
    model = LeaderboardModel()
    model.set_entries([LeaderboardEntry(1, 1, "reddit", HOSTILE, HOSTILE, 5, T0, HOSTILE)])
    assert model.index(0, 2).data(Qt.ItemDataRole.DisplayRole) == HOSTILE
    assert_literal(model.index(0, 2).data(Qt.ItemDataRole.ToolTipRole))


def test_error_dialog_redacts_secrets_in_its_text_and_details(qtbot: Any, monkeypatch: Any) -> None:
    from PySide6.QtWidgets import QMessageBox

    from atlas_desk.ui import errors

    token = "mfa.desk-test-secret-value"
    monkeypatch.setenv("ATLAS_DESK_DISCORD_TOKEN", token)
    shown: list[QMessageBox] = []

    def exec_(box: QMessageBox) -> int:
        shown.append(box)
        return 0

    monkeypatch.setattr(QMessageBox, "exec", exec_)
    pat = "ghp_" + "A1b2C3d4E5" * 4
    try:
        raise RuntimeError(f"login failed with {token} and {pat} for {HOSTILE}")
    except RuntimeError as exc:
        errors.ErrorReporter(None).excepthook(RuntimeError, exc, exc.__traceback__)
    assert len(shown) == 1
    box = shown[0]
    assert box.textFormat() == Qt.TextFormat.PlainText and HOSTILE in box.text()
    for text in (box.text(), box.detailedText()):
        assert token not in text and pat not in text and "[redacted]" in text


def test_roadmap_card_detail_shows_the_description_literally_and_opens_nothing(qtbot: Any) -> None:
    from atlas_desk.core.roadmap import LinkedItem
    from atlas_desk.store.roadmap import RoadmapRow
    from atlas_desk.ui.roadmap.detail import CardDetail

    detail = CardDetail()
    qtbot.addWidget(detail)
    row = RoadmapRow(
        id=1, platform_id="p", content_id="c", item_type="ISSUE", number=7, title=HOSTILE, body=HOSTILE,
        status="Planned", position=1.0, labels=[HOSTILE], assignees=[HOSTILE], target_month="", votes={},
        origin_item=None, why_note="", url="https://github.com/a/x/issues/7", archived=False,
        pending=False,
    )  # fmt: skip
    detail.show_card(row, {}, [LinkedItem("discord", "1", HOSTILE, "http://evil", 3)])
    for label in (detail.title_label, detail.meta_label, detail.origin_label):
        assert label.textFormat() == Qt.TextFormat.PlainText and HOSTILE in label.text()
    doc = detail.description.document()
    assert HOSTILE in doc.toPlainText()
    assert markup_in(doc) == []
    assert not detail.description.openExternalLinks() and not detail.description.openLinks()
    assert detail.origin.url == "http://evil" and detail.origin.url_label.text() == "http://evil"


def test_inbox_row_tooltip_is_shown_literally(qapp: Any, tmp_path: Any) -> None:
    from atlas_desk.core.types import Platform
    from atlas_desk.ui.inbox.model import Column as InboxColumn
    from atlas_desk.ui.inbox.model import InboxModel
    from tests.test_inbox_support import item, open_store, stored

    store = open_store(tmp_path)
    try:
        stored(store, [item(Platform.REDDIT, "r9", HOSTILE, 1, title=HOSTILE)])
        model = InboxModel(store.reader)
        model.set_filter(model.filter)
        while model.canFetchMore():
            model.fetchMore()
        assert model.rowCount() == 1
        assert_literal(model.data(model.index(0, InboxColumn.SUBJECT), Qt.ItemDataRole.ToolTipRole))
        model.stop()
    finally:
        store.close()
