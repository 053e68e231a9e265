"""Work-arounds for bugs in the Qt binding, each with the versions it applies to.

PySide6 6.12.0 on Python 3.11 drops one reference to ``True`` on every ``Signal.emit()`` and one to ``None``
on every bound call that returns ``None`` (``setText``, ``postEvent``…): it treats the singletons as immortal,
which they are only from Python 3.12. A busy desk drains their reference counts and the interpreter aborts
with "Fatal Python error: none_dealloc" (or "bool_dealloc"), at the latest when it exits. 6.11.3 is not
affected. ``guard_singleton_refcounts`` makes the singletons effectively immortal, as Python 3.12 does.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("atlas_desk.ui")

# 2**40 references: at 100,000 lost references a second this lasts over 100 days.
_EXTRA_REFERENCES = 1 << 40


def affected(
    pyside_version: str, python: tuple[int, int] = (sys.version_info.major, sys.version_info.minor)
) -> bool:
    """Whether this PySide6 version on this Python loses references to None/True/False."""
    if python >= (3, 12):
        return False
    parts = pyside_version.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return False
    return (major, minor) >= (6, 12)


def guard_singleton_refcounts() -> bool:
    """Give None, True and False a huge reference count when the binding is affected; True if it did."""
    import PySide6

    if not affected(PySide6.__version__) or sys.implementation.name != "cpython":
        return False
    if getattr(guard_singleton_refcounts, "done", False):
        return True
    import ctypes

    for singleton in (None, True, False):
        # ob_refcnt is the first field of every CPython object.
        ctypes.c_ssize_t.from_address(id(singleton)).value += _EXTRA_REFERENCES
    guard_singleton_refcounts.done = True  # type: ignore[attr-defined]
    log.debug("PySide6 %s on Python 3.11: None/True/False made effectively immortal", PySide6.__version__)
    return True
