"""How many SMS segments a text takes (3GPP TS 23.038 and 23.040).

A text entirely in the GSM 7-bit default alphabet travels in septets: 160 in one segment, 153
per segment when split (7 go to the concatenation header); a character of the extension table
(^ { } \\ [ ~ ] | €) takes two septets. Any other character makes the whole message UCS-2:
70 UTF-16 code units in one segment, 67 per segment when split (an emoji counts two). No
national language shift tables: operators in Indonesia do not use them. Providers may split
an extension pair or a surrogate pair differently, so this can undercount by one segment for
a text just at a boundary; the config check leaves that margin.
"""

from __future__ import annotations

import math
from typing import NamedTuple

GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


class Segments(NamedTuple):
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets, or UTF-16 code units
    number: int  # segments


def count(text: str) -> Segments:
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        units = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        return Segments("GSM-7", units, 1 if units <= 160 else math.ceil(units / 153))
    units = len(text.encode("utf-16-le")) // 2
    return Segments("UCS-2", units, 1 if units <= 70 else math.ceil(units / 67))
