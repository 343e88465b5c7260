"""How an office writes countries and dates: names in Indonesian and English, month names.

Country and month names come from Babel's CLDR data for the locales below, not a hand list,
so "Tiongkok", "Korea Selatan" and "South Korea" all read as what they are. Pure and cached.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache

import pycountry
from babel import Locale

#: The languages an Indonesian office writes its exports in.
LOCALES = ("id", "en")

#: Spellings in everyday use that CLDR does not list (its names are "Prancis", "Inggris Raya",
#: "Tiongkok"); each is a variant of a CLDR name, not a country of its own.
VARIANTS = {
    "perancis": "FR",
    "inggris": "GB",
    "cina": "CN",
    "rrt": "CN",
    "rrc": "CN",
    "amerika": "US",
    "usa": "US",
    "uk": "GB",
    "england": "GB",
    "great britain": "GB",
    "belanda": "NL",
}

_WORD = re.compile(r"[^\w]+")


def fold(text: str) -> str:
    """Compare names without case, accents or punctuation: "Côte d'Ivoire" ≈ "cote d ivoire"."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_WORD.sub(" ", bare.casefold()).split())


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """Folded country name (every locale in LOCALES, with and without a bracketed part) → code."""
    names: dict[str, str] = {}
    for tag in LOCALES:
        for code, name in Locale.parse(tag).territories.items():
            if (
                len(code) != 2
                or not code.isalpha()
                or pycountry.countries.get(alpha_2=code) is None
            ):
                continue  # regions ("Asia Tenggara") and codes that are not countries
            for variant in (name, name.split("(")[0], name.removesuffix(" Raya")):
                names.setdefault(fold(variant), code)
    for variant, code in VARIANTS.items():
        names.setdefault(variant, code)
    return names


@lru_cache(maxsize=4096)
def country_code(value: str, aliases: tuple[tuple[str, str], ...] = ()) -> str | None:
    """An ISO alpha-2 code for a country written as a code or a name; None if not a country.

    Configured aliases come first; they may name a code or any name this function knows.
    """
    alias = dict(aliases).get(value.casefold())
    if alias:
        value = alias
    found = country_names().get(fold(value))
    if found:
        return found
    try:
        return str(pycountry.countries.lookup(value).alpha_2)
    except LookupError:
        return None


@lru_cache(maxsize=1)
def month_names() -> dict[str, int]:
    """Folded month name or abbreviation, in every locale of LOCALES → month number.

    Besides CLDR's wide and abbreviated names, any prefix of three letters or more of a wide
    name that points to one month only ("Sept", "Des", "Agust").
    """
    found: dict[str, set[int]] = {}
    for tag in LOCALES:
        months = Locale.parse(tag).months
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in months[context][width].items():
                    found.setdefault(fold(name), set()).add(number)
            for number, name in months[context]["wide"].items():
                for end in range(3, len(name)):
                    found.setdefault(fold(name[:end]), set()).add(number)
    return {name: next(iter(ms)) for name, ms in found.items() if len(ms) == 1}


_NAMED = re.compile(r"(\d{1,2})[\s./-]*([^\W\d_]+)\.?[\s./,-]*(\d{4})")
_NAMED_FIRST = re.compile(r"([^\W\d_]+)\.?\s+(\d{1,2}),?\s+(\d{4})")


@lru_cache(maxsize=8192)
def parse_date(value: str, formats: tuple[str, ...]) -> date | None:
    """ISO dates, the configured strptime formats, and day-month name-year forms
    ("5 Desember 2026", "05-Des-2026", "December 5, 2026") in every locale of LOCALES."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    for fmt in formats:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    day = month = year = None
    if m := _NAMED.fullmatch(value.strip()):
        day, month, year = m.group(1), m.group(2), m.group(3)
    elif m := _NAMED_FIRST.fullmatch(value.strip()):
        month, day, year = m.group(1), m.group(2), m.group(3)
    number = month_names().get(fold(month)) if month else None
    if number is None or day is None or year is None:
        return None
    try:
        return date(int(year), number, int(day))
    except ValueError:
        return None
