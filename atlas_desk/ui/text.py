"""Community text on Qt surfaces that guess rich text.

Qt shows a tooltip as HTML when it *looks* like HTML (``Qt::mightBeRichText``), and there is no per-tooltip
text format, so a member's title such as ``<img src=x>`` would render. ``plain_tooltip`` takes the deliberate
rich path instead: the text is escaped and wrapped, so Qt always renders it and always shows it literally.
"""

from __future__ import annotations


def plain_tooltip(text: str, *, wrap: bool = True) -> str:
    """``text`` as a tooltip Qt shows literally, line breaks kept (empty text: no tooltip).

    ``wrap=False`` keeps each line on one line however long it is.
    """
    if not text:
        return ""
    import html  # on first hover, not at import: panes are built before the window's first paint

    space = "pre-wrap" if wrap else "pre"
    return f"<p style='white-space:{space}'>" + html.escape(text).replace("\n", "<br>") + "</p>"


__all__ = ["plain_tooltip"]
