"""Grammar the template words need once values are in: number agreement and sentence case.

A template cannot know the count it will hold: Arabic says "يوم واحد", "يومين", "3 أيام",
"11 يومًا", "100 يوم"; Russian "1 день", "2 дня", "5 дней". `plural` picks the form by the
language's CLDR plural rules (Babel), so a template lists the forms once instead of coding the
arithmetic. And a value that starts a sentence ("… Blitar. izin tinggal …") keeps the case it
has in the middle of one; `sentence_case` capitalises every sentence's first letter after
the values are in.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from babel import Locale

from notifyd.errors import ConfigError
from notifyd.voice.spoken.numbers import locale

#: CLDR plural categories; a template may give any of them and must give `other`.
CATEGORIES = ("zero", "one", "two", "few", "many", "other")
#: Where the count goes in a form: "# أيام" → "3 أيام"; a form without it ("يومين") stands alone.
MARK = "#"
#: Languages whose capital i is dotted (Turkish "iki" → "İki", not "Iki").
_DOTTED_I = frozenset({"tr", "az"})
#: A sentence's start: the text's start or an end of sentence and spaces, then any opening
#: quotes ("¿", "«") before its first letter. A one-letter word and a period is an
#: abbreviation, not an end: Babel's Russian date "18 марта 2027 г. (ещё 2 дня)".
_START = re.compile(r"(^|(?:[!?]|(?<!\b\w)\.)\s+)([\"'«“‘¿¡]*)(\w)")

Plural = Callable[..., str]


@cache
def _rules(language: str) -> Locale:
    return Locale.parse(locale(language))


def category(n: int, language: str) -> str:
    """The CLDR plural category of `n` in `language`: "one", "few", …, "other"."""
    return str(_rules(language).plural_form(abs(n)))


def plural_for(language: str, shown: Callable[[int], str] = str) -> Plural:
    """The template function `plural(n, one=…, few=…, other=…)` for `language`: the form of
    `n`'s category (else `other`), with `#` replaced by `n` as the words show it (`shown`:
    digits in the written notice, words where the voice needs them)."""

    def plural(n: int, **forms: str) -> str:
        unknown = sorted(set(forms) - set(CATEGORIES))
        if unknown or "other" not in forms:
            problem = f"unknown categories {', '.join(unknown)}" if unknown else "no `other` form"
            raise ConfigError(
                f"{language}.toml plural()", f"plural({n}, …) has {problem}",
                f"name the forms by CLDR category ({', '.join(CATEGORIES)}) and always give "
                'other, e.g. plural(days_left, one="# day", other="# days")',
            )  # fmt: skip
        form = forms.get(category(n, language), forms["other"])
        return form.replace(MARK, shown(n))

    return plural


def sentence_case(text: str, language: str) -> str:
    """Every sentence's first letter in capitals; scripts without case are left as they are."""

    def upper(m: re.Match[str]) -> str:
        letter = m.group(3)
        big = "İ" if letter == "i" and language in _DOTTED_I else letter.upper()
        return m.group(1) + m.group(2) + (big if len(big) == 1 else letter)

    return _START.sub(upper, text)


def unvocalised(text: str) -> str:
    """Arabic without its short-vowel and case marks (harakat, U+064B–U+065F, U+0670), as it
    is written; the voice needs them, a reader does not."""
    return "".join(c for c in text if not ("\u064b" <= c <= "\u065f" or c == "\u0670"))
