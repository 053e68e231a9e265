"""Create / edit an event: AMA, contest or scheduled post, validated before it can be saved.

Times are entered as wall-clock times in an explicit IANA time zone (``zoneinfo``); the dialog turns them into
aware datetimes. Validation is the core's (``atlas_desk.core.calendar.validate``); problems are listed in
plain words and the Save button stays disabled until there are none.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from PySide6.QtCore import QDate, QDateTime, Qt, QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from atlas_desk.core.calendar import (
    POST_KIND_LABELS,
    CalendarError,
    EventDraft,
    describe_question_source,
    parse_question_source,
    validate,
    zone,
)

KINDS = (("ama", "AMA (Discord event)"), ("contest", "Suggestion contest"), ("post", "Scheduled post"))
ENTITIES = (("stage", "Stage channel"), ("voice", "Voice channel"), ("external", "Somewhere else"))


class EventDialog(QDialog):
    """The create/edit dialog. ``channels``: (id, name, kind) of the guild's; ``targets``: (key, label)."""

    def __init__(
        self,
        tz_name: str,
        *,
        channels: Sequence[tuple[str, str, str]] = (),
        targets: Sequence[tuple[str, str]] = (),
        draft: EventDraft | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit event" if draft is not None else "New event")
        self.channels = list(channels)
        form = QFormLayout()
        self.kind = QComboBox()
        for key, label in KINDS:
            self.kind.addItem(label, key)
        self.title_edit = QLineEdit()
        self.title_edit.setMaxLength(200)
        self.description = QPlainTextEdit()
        self.description.setTabChangesFocus(True)
        self.description.setFixedHeight(90)
        self.zone = QComboBox()
        self.zone.setEditable(True)
        self.zone.addItems(sorted(zoneinfo.available_timezones()))
        self.zone.setCurrentText(tz_name)
        self.start = QDateTimeEdit()
        self.end = QDateTimeEdit()
        for edit in (self.start, self.end):
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setCalendarPopup(True)
        self.has_end = QCheckBox("Ends")
        self.has_end.setChecked(True)
        self.entity = QComboBox()
        for key, label in ENTITIES:
            self.entity.addItem(label, key)
        self.channel = QComboBox()
        self.location = QLineEdit()
        self.monthly = QCheckBox("Repeat every month on this weekday (e.g. the first Thursday)")
        self.reminder = QSpinBox()
        self.reminder.setRange(0, 24 * 60)
        self.reminder.setSuffix(" min before")
        self.reminder.setValue(15)
        self.post_kind = QComboBox()
        for key, label in POST_KIND_LABELS.items():
            self.post_kind.addItem(label, key)
        self.targets = QListWidget()
        self.targets.setFixedHeight(80)
        for key, label in targets:
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.targets.addItem(item)
        self.prize = QLineEdit()
        self.sources = QLineEdit()
        self.sources.setPlaceholderText(
            "links or discord:<channel id>, github:<discussion #>, reddit:<post id>"
        )
        self.sources.setToolTip(
            "Where questions for this AMA are gathered: a Discord channel or thread, a GitHub Discussion"
            " and a Reddit post. Paste their links, separated by spaces."
        )
        self.problems = QLabel()
        self.problems.setTextFormat(Qt.TextFormat.PlainText)
        self.problems.setWordWrap(True)
        self.problems.setObjectName("calendarDialogProblems")
        self.problems.setStyleSheet("color: #b91c1c")

        form.addRow("Kind", self.kind)
        form.addRow("Title", self.title_edit)
        form.addRow("Description", self.description)
        form.addRow("Time zone", self.zone)
        form.addRow("Starts", self.start)
        form.addRow(self.has_end, self.end)
        self._rows: dict[str, list[QWidget]] = {"ama": [], "contest": [], "post": []}
        self._add(form, "ama", "Where", self.entity)
        self._add(form, "ama", "Channel", self.channel)
        self._add(form, "ama", "Location", self.location)
        self._add(form, "ama", "", self.monthly)
        self._add(form, "ama", "Reminder", self.reminder)
        self._add(form, "ama", "Questions from", self.sources)
        self._add(form, "post", "Post kind", self.post_kind)
        self._add(form, "post", "Publish to", self.targets)
        self._add(form, "contest", "Prize", self.prize)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problems)
        layout.addWidget(self.buttons)
        self._form = form

        now = datetime.now(zone(tz_name) if tz_name else ZoneInfo("UTC")).replace(second=0, microsecond=0)
        self._set_times(now + timedelta(days=1), now + timedelta(days=1, hours=1))
        if draft is not None:
            self.load(draft)
        for signal in (
            self.kind.currentIndexChanged,
            self.entity.currentIndexChanged,
            self.zone.currentTextChanged,
            self.title_edit.textChanged,
            self.description.textChanged,
            self.start.dateTimeChanged,
            self.end.dateTimeChanged,
            self.has_end.toggled,
            self.location.textChanged,
            self.channel.currentIndexChanged,
            self.targets.itemChanged,
            self.monthly.toggled,
            self.sources.textChanged,
        ):
            signal.connect(self._refresh)
        self._refresh()

    def _add(self, form: QFormLayout, kind: str, label: str, widget: QWidget) -> None:
        form.addRow(label, widget)
        self._rows[kind].append(widget)

    def _set_times(self, start: datetime, end: datetime | None) -> None:
        self.start.setDateTime(_qdt(start))
        self.has_end.setChecked(end is not None)
        self.end.setDateTime(_qdt(end or start + timedelta(hours=1)))

    def load(self, draft: EventDraft) -> None:
        """Fill the fields from ``draft`` (times shown in its own time zone)."""
        self.kind.setCurrentIndex(max(0, self.kind.findData(draft.kind)))
        self.title_edit.setText(draft.title)
        self.description.setPlainText(draft.description)
        self.zone.setCurrentText(draft.timezone)
        try:
            tz = zone(draft.timezone)
        except CalendarError:
            tz = ZoneInfo("UTC")
        self._set_times(
            draft.starts_at.astimezone(tz), draft.ends_at.astimezone(tz) if draft.ends_at else None
        )
        self.entity.setCurrentIndex(max(0, self.entity.findData(draft.entity)))
        self._fill_channels()
        self.channel.setCurrentIndex(max(0, self.channel.findData(draft.channel_id)))
        self.location.setText(draft.location)
        self.monthly.setChecked(draft.monthly)
        self.reminder.setValue(draft.reminder_minutes)
        self.post_kind.setCurrentIndex(max(0, self.post_kind.findData(draft.post_kind)))
        self.prize.setText(draft.prize)
        self.sources.setText(" ".join(describe_question_source(s) for s in draft.question_sources))
        for i in range(self.targets.count()):
            item = self.targets.item(i)
            on = item.data(Qt.ItemDataRole.UserRole) in draft.targets
            item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def _fill_channels(self) -> None:
        want = {"stage": "stage", "voice": "voice"}.get(str(self.entity.currentData()), "")
        current = self.channel.currentData()
        self.channel.blockSignals(True)
        self.channel.clear()
        for cid, name, kind in self.channels:
            if kind == want:
                self.channel.addItem(name, cid)
        index = self.channel.findData(current)
        self.channel.setCurrentIndex(index if index >= 0 else 0)
        self.channel.blockSignals(False)

    def _refresh(self) -> None:
        kind = str(self.kind.currentData())
        for k, widgets in self._rows.items():
            for w in widgets:
                self._form.setRowVisible(w, k == kind)
        if kind == "ama":
            self._fill_channels()
            external = self.entity.currentData() == "external"
            self._form.setRowVisible(self.channel, not external)
            self._form.setRowVisible(self.location, external)
        self.end.setEnabled(self.has_end.isChecked())
        problems = self.problem_list()
        self.problems.setText("\n".join(f"• {p}" for p in problems))
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not problems)

    def problem_list(self) -> list[str]:
        try:
            return validate(self.draft())
        except CalendarError as exc:
            return [str(exc)]

    def question_sources(self) -> list[dict[str, str]]:
        """The AMA's question sources as entered; raises ``CalendarError`` for one it cannot read."""
        if self.kind.currentData() != "ama":
            return []
        return [parse_question_source(part) for part in self.sources.text().replace(",", " ").split()]

    def draft(self) -> EventDraft:
        """The event as entered. Raises ``CalendarError`` for an unknown time zone."""
        tz_name = self.zone.currentText().strip()
        tz = zone(tz_name)
        start = _aware(self.start.dateTime(), tz)
        end = _aware(self.end.dateTime(), tz) if self.has_end.isChecked() else None
        targets = [
            str(self.targets.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.targets.count())
            if self.targets.item(i).checkState() == Qt.CheckState.Checked
        ]
        return EventDraft(
            kind=str(self.kind.currentData()),
            title=self.title_edit.text(),
            starts_at=start,
            ends_at=end,
            timezone=tz_name,
            description=self.description.toPlainText(),
            entity=str(self.entity.currentData()),
            channel_id=str(self.channel.currentData() or ""),
            location=self.location.text(),
            monthly=self.monthly.isChecked(),
            reminder_minutes=self.reminder.value(),
            targets=targets,
            post_kind=str(self.post_kind.currentData()),
            prize=self.prize.text(),
            question_sources=self.question_sources(),
        )

    def accept(self) -> None:
        if self.problem_list():
            self._refresh()
            return
        super().accept()


def _qdt(dt: datetime) -> QDateTime:
    # The wall-clock fields only: the zone is the combo box's, not Qt's.
    return QDateTime(QDate(dt.year, dt.month, dt.day), QTime(dt.hour, dt.minute))


def _aware(value: QDateTime, tz: ZoneInfo) -> datetime:
    d, t = value.date(), value.time()
    return datetime(d.year(), d.month(), d.day(), t.hour(), t.minute(), tzinfo=tz)
