"""The filters sidebar: All, Unread, Mentions, Needs moderation, Suggestions, Starred, then one entry per
platform and per container, each with its unread count. Entries carry only a filter key; ``filter_for``
turns a
key into the store's ``InboxFilter``."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QWidget

from atlas_desk.core.types import Platform
from atlas_desk.store import inbox as repo
from atlas_desk.store.inbox import InboxFilter
from atlas_desk.ui import icons
from atlas_desk.ui.text import inert, plain_tooltip

KEY_ROLE = int(Qt.ItemDataRole.UserRole) + 1
LABEL_ROLE = KEY_ROLE + 1

# How the Discord connector names a thread's container: "#channel › thread name".
THREAD_SEPARATOR = " › "

PLATFORM_LABELS = {"discord": "Discord", "github": "GitHub", "reddit": "Reddit"}

BASE_FILTERS: tuple[tuple[str, str], ...] = (
    (repo.ALL, "All"),
    (repo.UNREAD, "Unread"),
    (repo.MENTIONS, "Mentions"),
    (repo.MODERATION, "Needs moderation"),
    (repo.SUGGESTIONS, "Suggestions"),
    (repo.STARRED, "Starred"),
)


# A word no message contains: the Mentions filter before any handle or keyword is configured.
NO_MENTIONS = "atlasdesknohandlesconfigured"


def filter_for(key: str, mentions: Sequence[str] = (), query: str = "") -> InboxFilter:
    """The store filter behind a sidebar key, with the search text on top."""
    if key == repo.UNREAD:
        return InboxFilter(unread_only=True, query=query)
    if key == repo.MENTIONS:
        # No handles configured: nothing can mention the moderator, so match nothing rather than everything.
        return InboxFilter(mentions=tuple(mentions) or (NO_MENTIONS,), query=query)
    if key == repo.MODERATION:
        return InboxFilter(needs_moderation=True, query=query)
    if key == repo.SUGGESTIONS:
        return InboxFilter(suggestions_only=True, query=query)
    if key == repo.STARRED:
        return InboxFilter(starred_only=True, query=query)
    if key.startswith("platform:"):
        return InboxFilter(platforms=(key.split(":", 1)[1],), query=query)
    if key.startswith("container:"):
        _, platform, container_id = key.split(":", 2)
        return InboxFilter(container=(platform, container_id), query=query)
    return InboxFilter(query=query)


class FiltersSidebar(QListWidget):
    """A list of filters with unread counts; emits ``filter_selected(key)``."""

    filter_selected = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inboxFilters")
        self.setUniformItemSizes(True)
        # Names are the community's: elide long ones rather than scroll sideways.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self._counts: dict[str, int] = {}
        for key, label in BASE_FILTERS:
            self._add(key, label)
        self._add_header("Platforms")
        for platform, label in PLATFORM_LABELS.items():
            self._add(repo.platform_key(platform), label).setIcon(icons.platform_icon(Platform(platform)))
        self._containers_header: QListWidgetItem | None = None
        self.setCurrentRow(0)
        self.currentItemChanged.connect(self._on_current)

    def _add_header(self, text: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        font = item.font()
        font.setBold(True)
        item.setFont(font)
        self.addItem(item)
        return item

    def _add(self, key: str, label: str) -> QListWidgetItem:
        item = QListWidgetItem(label)
        item.setData(KEY_ROLE, key)
        item.setData(LABEL_ROLE, label)
        self.addItem(item)
        self._label(item)
        return item

    def _label(self, item: QListWidgetItem) -> None:
        key = item.data(KEY_ROLE)
        label = item.data(LABEL_ROLE)
        n = self._counts.get(key, 0)
        item.setText(f"{label}  ({n})" if n else label)
        font = item.font()
        font.setBold(n > 0)
        item.setFont(font)

    def current_key(self) -> str:
        item = self.currentItem()
        key = item.data(KEY_ROLE) if item is not None else None
        return str(key) if key else repo.ALL

    def select_key(self, key: str) -> None:
        """Make the entry with ``key`` current (emits ``filter_selected``)."""
        for row in range(self.count()):
            if self.item(row).data(KEY_ROLE) == key:
                self.setCurrentRow(row)
                return

    def set_containers(self, containers: Sequence[tuple[str, str, str]]) -> None:
        """Add entries for containers not listed yet: (platform, container_id, name)."""
        known = {self.item(r).data(KEY_ROLE) for r in range(self.count())}
        for platform, container_id, name in containers:
            key = repo.container_key(platform, container_id)
            if key in known or (platform == Platform.DISCORD.value and THREAD_SEPARATOR in name):
                continue  # Discord threads come and go by the hundred: they are reached through their items
            if self._containers_header is None:
                self._containers_header = self._add_header("Channels and categories")
            item = self._add(key, inert(name))
            with contextlib.suppress(ValueError):
                item.setIcon(icons.platform_icon(Platform(platform)))
            item.setToolTip(plain_tooltip(inert(f"{name} on {PLATFORM_LABELS.get(platform, platform)}")))

    def set_counts(self, counts: Mapping[str, int]) -> None:
        """Show new unread counts."""
        self._counts = dict(counts)
        for row in range(self.count()):
            item = self.item(row)
            if item.data(KEY_ROLE):
                self._label(item)

    def count_for(self, key: str) -> int:
        return self._counts.get(key, 0)

    def _on_current(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if current is not None and current.data(KEY_ROLE):
            self.filter_selected.emit(str(current.data(KEY_ROLE)))
