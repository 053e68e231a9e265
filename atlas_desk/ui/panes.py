"""The pane contract: how a pane plugs into the main window.

A pane is a ``Pane`` subclass living in ``atlas_desk/ui/<name>/pane.py`` as ``<Name>Pane`` (``InboxPane``,
``TicketsPane``, ``RoadmapPane``, ``CalendarPane``, ``InsightsPane``). The main window finds it there; until a
pane package provides one, a placeholder with an empty state stands in.

Life cycle:
1. ``__init__(parent)`` — cheap: build widgets, no I/O, no platform imports (the window is shown right after).
2. ``attach(context)`` — once, after the first paint, when the runtime (store, services) exists. Build models
   here, subscribe to ``context.bus``. Call ``mark_loaded()`` once the first data is on screen, or once it is
   known there is none and the empty state shows (the screenshot run and tests wait for it, so every path
   must reach it). ``context.runtime`` is None if it could not be built; show an empty state then.
3. ``activate()`` — the pane's tab became current: focus its main view.
4. ``shutdown()`` — the window is closing: stop timers, drop references.
Emit ``unread_count_changed(n)`` whenever the unread count changes; the tab title shows it.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget

from atlas_desk.ui.bridge import QtBus

log = logging.getLogger("atlas_desk.ui")

PANE_NAMES: tuple[str, ...] = ("inbox", "tickets", "roadmap", "calendar", "insights")
PANE_TITLES: dict[str, str] = {name: name.capitalize() for name in PANE_NAMES}


@dataclass
class PaneContext:
    """What a pane gets when the runtime is ready."""

    bus: QtBus
    runtime: Any | None  # atlas_desk.runtime.Runtime, or None when it could not be built
    open_settings: Callable[[str], None]  # open the Settings dialog on a platform's page ("" for the first)
    demo: bool = False


class Pane(QWidget):
    """Base class of the main window's panes."""

    pane_name: ClassVar[str] = ""  # "inbox": object name, screenshot file name, saved-tab key
    title: ClassVar[str] = ""  # "Inbox": the tab's title

    loaded = Signal()  # the first data is on screen
    unread_count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(self.pane_name)
        self.context: PaneContext | None = None
        self._loaded = False

    @property
    def object_name(self) -> str:
        return self.pane_name

    def attach(self, context: PaneContext) -> None:
        """Connect the pane to the runtime; the base class only keeps the context."""
        self.context = context

    def activate(self) -> None:
        """The pane became the current tab."""
        self.setFocus()

    def shutdown(self) -> None:
        """The window is closing."""

    def ready(self) -> bool:
        """Whether the pane has shown its first data."""
        return self._loaded

    def mark_loaded(self) -> None:
        """Say that the first data is on screen (emits ``loaded`` once)."""
        if not self._loaded:
            self._loaded = True
            self.loaded.emit()


@dataclass(frozen=True)
class PaneSpec:
    name: str
    title: str
    factory: Callable[[], Pane]


def pane_class(name: str) -> type[Pane]:
    """The class of pane ``name``: ``atlas_desk.ui.<name>.pane.<Name>Pane``, else a placeholder."""
    from atlas_desk.ui import placeholders

    module_name = f"atlas_desk.ui.{name}.pane"
    class_name = f"{name.capitalize()}Pane"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            # The pane exists but something it imports is missing: a bug worth seeing, not a silent fallback.
            log.exception("the %s pane could not be imported; showing its placeholder", name)
        return placeholders.PLACEHOLDERS[name]
    except Exception:
        log.exception("the %s pane could not be imported; showing its placeholder", name)
        return placeholders.PLACEHOLDERS[name]
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Pane)):
        log.error("%s has no Pane subclass %s; showing its placeholder", module_name, class_name)
        return placeholders.PLACEHOLDERS[name]
    return cls


def default_pane_specs() -> list[PaneSpec]:
    """The five panes in tab order. Pane modules are imported when a factory is called, not here."""
    return [PaneSpec(name, PANE_TITLES[name], _factory(name)) for name in PANE_NAMES]


def _factory(name: str) -> Callable[[], Pane]:
    def build() -> Pane:
        return pane_class(name)()

    return build
