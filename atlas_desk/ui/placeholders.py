"""Stand-in panes with an empty state, for panes whose package does not provide a ``Pane`` yet.

Each says what will appear in it, which platforms feed it (with their live state) and what to configure.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from atlas_desk.core.bus import ConnectionChanged
from atlas_desk.core.types import ConnectionState, Platform
from atlas_desk.ui import icons
from atlas_desk.ui.panes import Pane, PaneContext
from atlas_desk.ui.widgets.empty_state import EmptyState, plain_label
from atlas_desk.ui.widgets.platform_status import PLATFORM_NAMES


@dataclass(frozen=True)
class EmptyCopy:
    headline: str
    detail: str
    needs: tuple[Platform, ...]
    configure: str  # what to set, shown while a needed platform is not configured
    waiting: str  # shown once every needed platform is configured


COPY: dict[str, EmptyCopy] = {
    "inbox": EmptyCopy(
        "Everything your community says will appear here",
        "Discord channels and threads, GitHub issues and discussions, Reddit posts and comments: one list, "
        "newest first, with filters for mentions, the moderation queue and suggestions.",
        (Platform.DISCORD, Platform.GITHUB, Platform.REDDIT),
        "Connect at least one platform in Settings to start filling the inbox.",
        "Connected. New messages arrive here as the desk syncs.",
    ),
    "tickets": EmptyCopy(
        "Tickets from members will appear here",
        "Members open a ticket privately: by DM to the bot, with /ticket, or with the button in the support "
        "channel. Reddit modmail joins them. Each ticket runs on a first-reply clock (24 hours by default).",
        (Platform.DISCORD, Platform.REDDIT),
        "Connect Discord and choose the moderators' tickets forum and the support channel in "
        "Settings › Discord.",
        "Connected. Ticket triage fills this pane in an upcoming version of the desk.",
    ),
    "roadmap": EmptyCopy(
        "Your roadmap board will appear here",
        "The GitHub Projects board, one column per Status option. Drag a card to move it; votes from GitHub, "
        "Discord suggestions and Reddit posts add up on each card.",
        (Platform.GITHUB,),
        "Connect GitHub and set the project owner and number in Settings › GitHub.",
        "Connected. The roadmap board fills this pane in an upcoming version of the desk.",
    ),
    "calendar": EmptyCopy(
        "AMAs, contests and scheduled posts will appear here",
        "Discord scheduled events with their interested counts, suggestion contests with a live leaderboard, "
        "and the weekly posts the desk publishes on time. Exportable as iCalendar.",
        (Platform.DISCORD,),
        "Connect Discord and set the community server (guild id) in Settings › Discord.",
        "Connected. The event calendar fills this pane in an upcoming version of the desk.",
    ),
    "insights": EmptyCopy(
        "How the community is doing will appear here",
        "Activity per platform over time, first-reply times against the SLA, open tickets and the busiest "
        "channels, from the history the desk keeps.",
        (Platform.DISCORD, Platform.GITHUB, Platform.REDDIT),
        "Connect at least one platform in Settings; insights build up from what the desk collects.",
        "Connected. Insights fill this pane in an upcoming version of the desk.",
    ),
}


class _NeedRow(QWidget):
    """``<mark> Discord — live`` inside an empty state."""

    def __init__(self, platform: Platform, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.platform = platform
        self.mark = QLabel(self)
        self.mark.setPixmap(icons.platform_icon(platform).pixmap(18, 18))
        self.dot = QLabel(self)
        self.text = plain_label("", self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addStretch(1)
        layout.addWidget(self.mark)
        layout.addWidget(plain_label(PLATFORM_NAMES[platform], self))
        layout.addWidget(self.dot)
        layout.addWidget(self.text)
        layout.addStretch(1)
        self.set_state(ConnectionState.NOT_CONFIGURED)

    def set_state(self, state: ConnectionState) -> None:
        self.state = state
        self.dot.setPixmap(icons.state_dot(state, 9))
        self.text.setText(state.value)


class PlaceholderPane(Pane):
    """A pane that only shows its empty state."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        copy = COPY[self.pane_name]
        self.copy = copy
        self.empty_state = EmptyState(
            glyph=self.pane_name,
            headline=copy.headline,
            detail=copy.detail,
            hint=copy.configure,
            action_text="Open Settings…",
            parent=self,
        )
        self.empty_state.setObjectName(f"{self.pane_name}EmptyState")
        self.need_rows = {p: _NeedRow(p, self.empty_state) for p in copy.needs}
        for row in self.need_rows.values():
            self.empty_state.extra_layout.addWidget(row)
        self.empty_state.action_triggered.connect(self._open_settings)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty_state)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    @property
    def headline(self) -> str:
        return self.empty_state.headline_label.text()

    def attach(self, context: PaneContext) -> None:
        super().attach(context)
        for change in context.bus.states.values():
            self._on_connection(change)
        context.bus.connection_changed.connect(self._on_connection)
        self.mark_loaded()

    def _on_connection(self, change: ConnectionChanged) -> None:
        row = self.need_rows.get(change.platform)
        if row is None:
            return
        row.set_state(change.state)
        configured = [r for r in self.need_rows.values() if r.state is not ConnectionState.NOT_CONFIGURED]
        self.empty_state.set_hint(self.copy.waiting if configured else self.copy.configure)

    def _open_settings(self) -> None:
        needs = self.copy.needs
        target = next(
            (p.value for p in needs if self.need_rows[p].state is ConnectionState.NOT_CONFIGURED),
            needs[0].value,
        )
        if self.context is not None:
            self.context.open_settings(target)
        else:
            window = self.window()
            opener = getattr(window, "open_settings", None)
            if callable(opener):
                opener(target)


def _placeholder(name: str, title: str) -> type[PlaceholderPane]:
    return type(f"{title}PlaceholderPane", (PlaceholderPane,), {"pane_name": name, "title": title})


PLACEHOLDERS: dict[str, type[Pane]] = {
    "inbox": _placeholder("inbox", "Inbox"),
    "tickets": _placeholder("tickets", "Tickets"),
    "roadmap": _placeholder("roadmap", "Roadmap"),
    "calendar": _placeholder("calendar", "Calendar"),
    "insights": _placeholder("insights", "Insights"),
}
