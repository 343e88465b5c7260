"""Which scripts a voice reads, and names in the others made readable for it.

A voice handed a letter of a script it has no rules for spells it out ("Chinese letter",
"Cyrillic letter o", …) or reads its code point: checked for every espeak-ng voice with
`espeak-ng -x` (docs/voices.md). So, before a text reaches a voice, every run of letters in a
script that voice cannot read is transliterated to Latin with anyascii, for that voice only:
the words of the template are in the voice's own script and stay as they are; what changes is
a name from the registry. Han and Hangul are transliterated one syllable at a time, so that
王小明 becomes "Wang Xiao Ming", not the one word "WangXiaoMing".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

#: Script → code point ranges (inclusive). Anything not listed counts as "other".
RANGES: dict[str, tuple[tuple[int, int], ...]] = {
    "latin-ext": ((0x00C0, 0x024F), (0x1E00, 0x1EFF), (0x0300, 0x036F)),
    "cyrillic": ((0x0400, 0x052F),),
    "arabic": ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF),
               (0xFE70, 0xFEFF)),
    "devanagari": ((0x0900, 0x097F),),
    "thai": ((0x0E00, 0x0E7F),),
    "hangul": ((0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF)),
    "kana": ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F)),
    "han": ((0x3005, 0x3007), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
            (0x20000, 0x3134F)),
}  # fmt: skip
#: Scripts spoken a syllable (one character) at a time when transliterated.
SYLLABIC = frozenset({"han", "hangul"})
#: Vietnamese letters (Latin Extended Additional) that only the Vietnamese voice reads; the
#: others spell "ễ" as "e with circumflex and tilde".
VIETNAMESE = (0x1E00, 0x1EFF)


def script(ch: str) -> str:
    """The script of one character: "latin" (ASCII), a name from RANGES, or "other"."""
    cp = ord(ch)
    if cp < 0x80:
        return "latin"
    for name, ranges in RANGES.items():
        if any(lo <= cp <= hi for lo, hi in ranges):
            return name
    return "other"


def readable(text: str, scripts: Iterable[str], vietnamese: bool = False) -> str:
    """`text` with every letter outside `scripts` transliterated to ASCII Latin. Punctuation,
    digits and spaces stay. "latin" (ASCII) is always readable; "latin-ext" (é, ü, ă) only
    when listed, and the Vietnamese letters only when `vietnamese` is true too."""
    from anyascii import anyascii

    ok = set(scripts) | {"latin"}
    out: list[str] = []
    for ch in text:
        kind = script(ch)
        if kind == "latin" or not (ch.isalpha() or unicodedata.category(ch) == "Mn"):
            out.append(ch)
        elif kind in ok and (vietnamese or not VIETNAMESE[0] <= ord(ch) <= VIETNAMESE[1]):
            out.append(ch)
        elif kind in SYLLABIC:
            out.append(f" {anyascii(ch)} ")
        else:
            out.append(anyascii(ch))
    return _tidy("".join(out))


def _tidy(text: str) -> str:
    """Spaces made by syllable-wise transliteration: single, and none before punctuation."""
    text = re.sub(r"[ \t]{2,}", " ", text)
    return re.sub(r" ([,.;:!?)、。，])", r"\1", text).strip()
