"""Community text on Qt surfaces: markup stays text, and nothing a member writes is invisible.

Qt shows a tooltip as HTML when it *looks* like HTML (``Qt::mightBeRichText``), and there is no per-tooltip
text format, so a member's title such as ``<img src=x>`` would render. ``plain_tooltip`` takes the deliberate
rich path instead: the text is escaped and wrapped, so Qt always renders it and always shows it literally.

Invisible characters. A name or a message can carry characters that take no room on screen: zero-width
spaces and joiners, the word joiner, the byte order mark, the soft hyphen, bidi controls (``\\u202egnp.exe``
reads as "exe.png"), the Arabic letter mark, the Mongolian vowel separator, Hangul fillers (a "blank" name),
variation selectors, tag characters (whole sentences can hide in them), control characters. With them
"ad\\u200bmin" passes for "admin" and a message can hide what it says. ``inert`` shows each one as a visible
``[U+XXXX]`` marker, except where it does its ordinary job and hides nothing:

- U+200D ZERO WIDTH JOINER between two emoji: the family emoji is man, ZWJ, woman, ZWJ, girl and draws as one
  family. Marked, it would read "man[U+200D]woman[U+200D]girl": every such emoji in the community would look
  broken and moderators would learn to ignore the markers. A joiner beside anything that is not an emoji
  (``ad\\u200dmin``, a trailing one after a name) is marked.
- U+FE0F/U+FE0E (emoji or text presentation) right after an emoji, or in a keycap (digit, U+FE0F, U+20E3).
- Tag characters inside a subdivision flag (black flag, a short lowercase tag, cancel tag: England, Scotland,
  Wales). Any other tag character is marked: that is where "ASCII smuggling" hides text.
- U+200C/U+200D between two letters of one script whose spelling needs them (Arabic and Persian, the Indic
  scripts, Sinhala, Khmer, Myanmar…): Persian writes ZWNJ inside everyday words. Between Latin, Greek or
  Cyrillic letters, the alphabets of look-alike handles, they are always marked.
- Ideographic variation selectors after a CJK ideograph (a name written with a variant glyph).

Format characters that draw a visible glyph (the Arabic number signs and other prepended concatenation marks)
are left alone, and so are ordinary spaces, which take room and can be seen.
"""

from __future__ import annotations

import re
import unicodedata

# Line breaks and tabs first become what the surface needs: spaces on one-line surfaces (a name must not push
# text onto another line); on multi-line ones \n and \t stay (markdown structure) and the other separators
# become them.
_ONE_LINE = str.maketrans(dict.fromkeys("\t\n\r\x0b\x0c\x85\u2028\u2029", " "))
_MULTI_LINE = str.maketrans(
    {"\r": " ", "\x0b": " ", "\x0c": " ", "\x85": "\n", "\u2028": "\n", "\u2029": "\n"}
)

# Then the characters that take no room on screen: control characters, every format character (Cf) but the
# visible prepended concatenation marks, and the other default-ignorable code points (combining grapheme
# joiner, Hangul fillers, Khmer inherent vowels, Mongolian selectors, variation selectors, the tag and
# supplementary variation selector area). U+FFFC is Qt's own object placeholder.
_HIDDEN_CLASS = (
    r"\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f"
    r"\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"
    r"\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164"
    r"\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffc"
    r"\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff"
)
_HIDDEN_RUN = re.compile(f"[{_HIDDEN_CLASS}]+")
# The few of them that str.isprintable() accepts (marks and fillers); the rest fail that fast C check.
_PRINTABLE_HIDDEN = re.compile(
    r"[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u3164\ufe00-\ufe0f\uffa0\ufffc\U000e0100-\U000e01ef]"
)

# A subdivision flag's tag (e.g. "gbeng") and cancel tag, right after a black flag: kept as they are.
_BLACK_FLAG = "\U0001f3f4"
_FLAG_TAG = re.compile(r"[\U000e0030-\U000e0039\U000e0061-\U000e007a]{3,5}\U000e007f")

# Close to Unicode's Extended_Pictographic (the standard library has no such property): what a ZWJ may join.
_EMOJI_RANGES = (
    (0x00A9, 0x00A9),
    (0x00AE, 0x00AE),
    (0x203C, 0x203C),
    (0x2049, 0x2049),
    (0x2122, 0x2122),
    (0x2139, 0x2139),
    (0x2194, 0x2199),
    (0x21A9, 0x21AA),
    (0x231A, 0x231B),
    (0x2328, 0x2328),
    (0x23CF, 0x23CF),
    (0x23E9, 0x23F3),
    (0x23F8, 0x23FA),
    (0x24C2, 0x24C2),
    (0x25AA, 0x25AB),
    (0x25B6, 0x25B6),
    (0x25C0, 0x25C0),
    (0x25FB, 0x25FE),
    (0x2600, 0x27BF),
    (0x2934, 0x2935),
    (0x2B05, 0x2B07),
    (0x2B1B, 0x2B1C),
    (0x2B50, 0x2B50),
    (0x2B55, 0x2B55),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3297),
    (0x3299, 0x3299),
    (0x1F000, 0x1FAFF),
)
# Scripts whose spelling uses ZWJ/ZWNJ between letters (the first word of the letters' Unicode names).
_JOINING_SCRIPTS = frozenset(
    {
        "ARABIC",
        "SYRIAC",
        "NKO",
        "MANDAIC",
        "MONGOLIAN",
        "DEVANAGARI",
        "BENGALI",
        "GURMUKHI",
        "GUJARATI",
        "ORIYA",
        "TAMIL",
        "TELUGU",
        "KANNADA",
        "MALAYALAM",
        "SINHALA",
        "TIBETAN",
        "MYANMAR",
        "KHMER",
    }
)
_KEYCAP_BASES = frozenset("#*0123456789")
_ZWNJ, _ZWJ, _VS15, _VS16, _KEYCAP = "\u200c", "\u200d", "\ufe0e", "\ufe0f", "\u20e3"


def _is_emoji(ch: str) -> bool:
    if not ch:
        return False
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in _EMOJI_RANGES)


def _script(ch: str) -> str:
    """The script of a letter or mark (first word of its name), '' for anything else."""
    if not ch or ch.isascii() or unicodedata.category(ch)[0] not in "LM":
        return ""
    return unicodedata.name(ch, "").split(" ", 1)[0]


def _does_its_job(ch: str, text: str, i: int) -> bool:
    """Whether the invisible ``ch`` at ``text[i]`` is part of an emoji or of a script's spelling."""
    prev = text[i - 1] if i > 0 else ""
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if ch == _ZWJ:
        # The joined emoji may carry its presentation selector before the joiner (the rainbow flag).
        before = text[i - 2] if prev == _VS16 and i >= 2 else prev
        if _is_emoji(before) and _is_emoji(nxt):
            return True
    if ch in (_ZWJ, _ZWNJ):
        script = _script(prev)
        return script in _JOINING_SCRIPTS and _script(nxt) == script
    if ch in (_VS15, _VS16):
        return _is_emoji(prev) or (prev in _KEYCAP_BASES and nxt == _KEYCAP)
    cp = ord(ch)
    if 0xFE00 <= cp <= 0xFE0D or 0xE0100 <= cp <= 0xE01EF:
        return unicodedata.name(prev, "").startswith("CJK") if prev else False
    return False


def _show_run(match: re.Match[str]) -> str:
    """A run of hidden characters, each marked unless it is doing its job."""
    text, start, end = match.string, match.start(), match.end()
    out: list[str] = []
    if start > 0 and text[start - 1] == _BLACK_FLAG:
        flag = _FLAG_TAG.match(text, start, end)
        if flag is not None:
            out.append(flag.group())
            start = flag.end()
    for i in range(start, end):
        ch = text[i]
        out.append(ch if _does_its_job(ch, text, i) else f"[U+{ord(ch):04X}]")
    return "".join(out)


def _visible(text: str, breaks: dict[int, str]) -> str:
    # Most text has nothing to change, and str.isprintable() (C speed) says so: the character class below
    # costs tens of nanoseconds a character, so it only runs when something is there to find.
    if not text.isprintable():
        text = text.translate(breaks)
        probe = text.replace("\n", "").replace("\t", "") if breaks is _MULTI_LINE else text
    else:
        probe = text
    if probe.isprintable() and (probe.isascii() or _PRINTABLE_HIDDEN.search(probe) is None):
        return text
    return _HIDDEN_RUN.sub(_show_run, text)


def inert(text: str) -> str:
    """Text safe to paint on one line: invisible characters made visible, line breaks folded into spaces."""
    return _visible(text, _ONE_LINE)


def inert_lines(text: str) -> str:
    """Like ``inert`` but keeping line feeds and tabs (a message body, markdown source or its HTML).

    The markers are plain ASCII without HTML metacharacters, so escaping for HTML may come before or after.
    """
    return _visible(text, _MULTI_LINE)


def plain_tooltip(text: str, *, wrap: bool = True) -> str:
    """``text`` as a tooltip Qt shows literally, line breaks kept (empty text: no tooltip).

    ``wrap=False`` keeps each line on one line however long it is.
    """
    if not text:
        return ""
    import html  # on first hover, not at import: panes are built before the window's first paint

    space = "pre-wrap" if wrap else "pre"
    return f"<p style='white-space:{space}'>" + html.escape(text).replace("\n", "<br>") + "</p>"


__all__ = ["inert", "inert_lines", "plain_tooltip"]
