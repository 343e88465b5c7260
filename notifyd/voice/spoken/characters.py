"""Identifiers and phone numbers spoken one character at a time, in groups.

Every espeak-ng voice and every neural voice names a lone letter or digit in its own language
(`espeak-ng -x -v de "2 C"` → "zwei ce"), so most languages only need the characters spaced
out, with a comma between groups for a pause. Japanese engines read a lone Latin letter
unpredictably ("A" as アンペア, ampere), so Japanese gets the letters' and digits' katakana
names, as a Japanese clerk would say them.
"""

from __future__ import annotations

import re

import phonenumbers

#: Longest run of characters said without a pause; a listener keeps about four in mind.
GROUP = 4

_JA_LETTERS = dict(
    zip(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "エー ビー シー ディー イー エフ ジー エイチ アイ ジェー ケー エル エム エヌ オー ピー "
        "キュー アール エス ティー ユー ブイ ダブリュー エックス ワイ ゼット".split(),
        strict=True,
    )
)
_JA_DIGITS = dict(
    zip("0123456789", "ゼロ イチ ニ サン ヨン ゴ ロク ナナ ハチ キュウ".split(), strict=True)
)
#: How each language joins the characters of a group and the groups of a number.
_JOIN = {"ja": (" ", "、"), "zh": (" ", "，"), "zh-TW": (" ", "，")}
_DEFAULT_JOIN = (" ", ", ")


def spell(identifier: str, language: str) -> str:
    """A permit or passport number one character at a time: "2C11AB0001-26" → "2 C 1 1, A B 0 0,
    0 1, 2 6". Punctuation in the number becomes a pause; long runs pause every GROUP."""
    groups = []
    for run in re.findall(r"[0-9A-Za-z]+", identifier.upper()):
        groups += [run[i : i + GROUP] for i in range(0, len(run), GROUP)]
    return _say(groups, language)


def phone(number: str, language: str, region: str = "ID") -> str:
    """A phone number as dialled inside the country, in digit groups: "+62 342 000000" → "0 3 4 2,
    0 0 0, 0 0 0". A number phonenumbers cannot parse is grouped as written."""
    try:
        parsed = phonenumbers.parse(number, region)
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        national = number
    groups = []
    for run in re.findall(r"[0-9]+", national):
        # a run of 5 or more digits splits in threes: 000000 → 000 000 (how numbers are read)
        size = 3 if len(run) > GROUP else GROUP
        groups += [run[i : i + size] for i in range(0, len(run), size)]
    return _say(groups, language)


def _say(groups: list[str], language: str) -> str:
    inner, outer = _JOIN.get(language, _DEFAULT_JOIN)
    if language == "ja":
        return outer.join(
            inner.join(_JA_LETTERS.get(c) or _JA_DIGITS[c] for c in g) for g in groups
        )
    return outer.join(inner.join(g) for g in groups)
