"""Community text on Qt surfaces that guess rich text.

Qt shows a tooltip as HTML when it *looks* like HTML (``Qt::mightBeRichText``), and there is no per-tooltip
text format, so a member's title such as ``<img src=x>`` would render. ``plain_tooltip`` takes the deliberate
rich path instead: the text is escaped and wrapped, so Qt always renders it and always shows it literally.
"""

from __future__ import annotations

_BIDI_CONTROLS = {c: f"[U+{c:04X}]" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F)}


def inert(text: str) -> str:
    """Text safe to paint on one line: bidi overrides made visible, line breaks folded into spaces."""
    return text.translate(_BIDI_CONTROLS).replace("\r", " ").replace("\n", " ")


def plain_tooltip(text: str, *, wrap: bool = True) -> str:
    """``text`` as a tooltip Qt shows literally, line breaks kept (empty text: no tooltip).

    ``wrap=False`` keeps each line on one line however long it is.
    """
    if not text:
        return ""
    import html  # on first hover, not at import: panes are built before the window's first paint

    space = "pre-wrap" if wrap else "pre"
    return f"<p style='white-space:{space}'>" + html.escape(text).replace("\n", "<br>") + "</p>"


__all__ = ["inert", "plain_tooltip"]
