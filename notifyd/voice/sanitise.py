"""Registry values made safe to show and speak: they stay data, whatever they hold.

Templates receive values as data (never as template source), espeak-ng reads plain text on
standard input (never SSML, never arguments) and edge-tts escapes what it sends, so no value can
become code. What is left to do here is to make a value *sound* right: control characters,
bidi overrides, zero-width and other invisible characters, emoji and other pictographs are
removed, spaces are collapsed, and a very long value is shortened at a word with an ellipsis.
"""

from __future__ import annotations

import unicodedata

#: Unicode categories removed: controls, format characters (bidi overrides and isolates,
#: zero-width joiners and spaces), private use, surrogates, unassigned, and symbols that are
#: pictures (emoji, skin-tone modifiers). Letters, marks, digits and punctuation stay.
_DROP = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "So", "Sk"})
#: Emoji presentation and other variation selectors are marks (Mn) but mean nothing spoken.
_SELECTORS = frozenset(range(0xFE00, 0xFE10)) | frozenset(range(0xE0100, 0xE01F0))
#: Longest value spoken in full, in characters; longer ones end in "…".
MAX_LENGTH = 60
ELLIPSIS = "…"


def clean(value: str, limit: int = MAX_LENGTH) -> str:
    """The value without invisible or pictorial characters, at most `limit` characters long."""
    kept = []
    for ch in unicodedata.normalize("NFC", value):
        if ch.isspace():
            kept.append(" ")
        elif unicodedata.category(ch) not in _DROP and ord(ch) not in _SELECTORS:
            kept.append(ch)
    text = " ".join("".join(kept).split())
    return shorten(text, limit)


def shorten(text: str, limit: int) -> str:
    """Cut at the last space that keeps `limit` characters (a word boundary), else hard."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + ELLIPSIS
