"""Dates, counts, amounts and names as a voice should say them, per language.

Dates come from Babel (CLDR), as day and month only: the year is known and costs two seconds.
Counts stay digits where the voice reads them well and become words where it does not (Thai:
espeak-ng reads "14" digit by digit; Filipino: numbers are said in English, as people do).
num2words is called with explicit codes only: `lang="fil"` would silently give Finnish, and it
has no Chinese, Hindi or Malay (Malay's numerals are Indonesian's).
"""

from __future__ import annotations

import re
from datetime import date

from babel.dates import format_date, format_skeleton
from babel.numbers import format_decimal
from num2words import num2words  # type: ignore[import-untyped]

#: Notice language → Babel locale. English dates in British order (18 December), as Indonesia
#: and most English-reading holders write them.
BABEL_LOCALES = {
    "en": "en_GB", "zh": "zh_Hans_CN", "zh-TW": "zh_Hant_TW", "pt": "pt_BR", "fil": "fil_PH",
}  # fmt: skip
#: Notice language → num2words code, where num2words knows the language (checked explicitly).
NUM2WORDS = {
    "id": "id", "ms": "id", "en": "en", "fil": "en", "ja": "ja", "ko": "ko", "ar": "ar",
    "ru": "ru", "fr": "fr", "de": "de", "nl": "nl", "it": "it", "pt": "pt_BR", "es": "es",
    "tr": "tr", "uk": "uk", "vi": "vi", "th": "th",
}  # fmt: skip
#: Languages whose voices need counts in words rather than digits.
COUNT_IN_WORDS = frozenset({"th", "fil"})
#: Amounts in the units a language counts large numbers in (万, 만, लाख), where num2words has no
#: words for the language or gives them in a form the voice reads worse than the digits.
_UNITS = {"zh": (10_000, "万"), "zh-TW": (10_000, "萬"), "ja": (10_000, "万"),
          "hi": (100_000, " लाख")}  # fmt: skip


def locale(language: str) -> str:
    return BABEL_LOCALES.get(language, language.replace("-", "_"))


#: Long dates where CLDR's differs from what the language writes in a letter: Vietnamese
#: "18 tháng 3 năm 2027" (CLDR: "18 tháng 3, 2027").
LONG_PATTERNS = {"vi": "d 'tháng' M 'năm' y"}


def long_date(day: date, language: str) -> str:
    """The written date in the language's own long form: "18 December 2026", "2026年12月18日"."""
    return format_date(day, LONG_PATTERNS.get(language, "long"), locale=locale(language))


def day_month(day: date, language: str) -> str:
    """The spoken date, day and month: "18 December", "12月18日", "18 ธันวาคม" (in words)."""
    text = format_skeleton("MMMMd", day, locale=locale(language))
    if language in COUNT_IN_WORDS:
        text = re.sub(r"\d+", lambda m: count(int(m.group()), language), text)
    return text


def count(n: int, language: str) -> str:
    """A number of days, as the voice should hear it."""
    if language in COUNT_IN_WORDS:
        return str(num2words(n, lang=NUM2WORDS[language]))
    return str(n)


def amount(n: int, language: str) -> str:
    """An amount of rupiah in words (or in the language's own large units)."""
    if language in _UNITS:
        unit, word = _UNITS[language]
        if n and n % unit == 0:
            return f"{n // unit}{word}"
        return str(n)
    code = NUM2WORDS.get(language)
    if not code:
        return str(n)
    words = str(num2words(n, lang=code))
    return turkish_spaced(words) if language == "tr" else words


#: Turkish number words, longest first where one begins another (altmış before altı).
_TURKISH = re.compile(
    "altmış|altı|bir|iki|üç|dört|beş|yedi|sekiz|seksen|dokuz|doksan|on|yirmi|otuz|kırk|elli"
    "|yetmiş|yüz|bin|milyon|milyar|trilyon"
)


def turkish_spaced(words: str) -> str:
    """Turkish number words apart, as Turkish writes them: num2words gives "birmilyon",
    "ikiyüzellibin"; the language writes "bir milyon", "iki yüz elli bin"."""
    parts = _TURKISH.findall(words)
    return " ".join(parts) if "".join(parts) == words else words


def written_amount(n: int, language: str) -> str:
    """An amount as the language writes it, with its own grouping: 1.000.000, 1,000,000."""
    return format_decimal(n, locale=locale(language))


def person_name(name: str) -> str:
    """A passport name in capitals ("JOHN SMITH") in ordinary case, so no voice spells it."""
    if name.isupper() and name.isascii():
        return " ".join(w.capitalize() if len(w) > 1 else w for w in name.split(" "))
    return name
