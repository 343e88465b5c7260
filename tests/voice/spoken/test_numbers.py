"""Dates, counts and amounts for the ear, per language, with num2words codes mapped explicitly."""

from __future__ import annotations

from datetime import date

import pytest

from notifyd.config import LANGUAGES
from notifyd.voice.spoken import amount, count, day_month, person_name
from notifyd.voice.spoken.numbers import NUM2WORDS, long_date

DAY = date(2026, 12, 18)


@pytest.mark.parametrize(
    ("lang", "said"),
    [("en", "18 December"), ("id", "18 Desember"), ("zh", "12月18日"), ("de", "18. Dezember"),
     ("ru", "18 декабря"), ("th", "สิบแปด ธันวาคม"), ("fil", "Disyembre eighteen"),
     ("es", "18 de diciembre"), ("vi", "18 tháng 12")],
)  # fmt: skip
def test_the_spoken_date_is_day_and_month_in_the_language(lang: str, said: str) -> None:
    assert day_month(DAY, lang) == said


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_has_a_written_date_with_the_year(lang: str) -> None:
    assert "2026" in long_date(DAY, lang) and "18" in long_date(DAY, lang)


def test_filipino_counts_in_english_never_finnish() -> None:
    assert count(14, "fil") == "fourteen" and amount(1_000_000, "fil") == "one million"
    assert "fil" not in NUM2WORDS.values()  # num2words would answer in Finnish


@pytest.mark.parametrize(
    ("lang", "said"),
    [("id", "satu juta"), ("ms", "satu juta"), ("en", "one million"), ("zh", "100万"),
     ("zh-TW", "100萬"), ("ja", "100万"), ("hi", "10 लाख"), ("de", "eine Million")],
)  # fmt: skip
def test_the_overstay_charge_is_said_in_words(lang: str, said: str) -> None:
    assert amount(1_000_000, lang) == said


def test_counts_stay_digits_where_the_voice_reads_them_and_words_for_thai() -> None:
    assert count(14, "de") == "14" and count(14, "th") == "สิบสี่"


def test_a_passport_name_in_capitals_is_said_as_a_name() -> None:
    assert person_name("JOHN SMITH") == "John Smith"
    assert person_name("Nguyễn Văn An") == "Nguyễn Văn An"
    assert person_name("王小明") == "王小明"


@pytest.mark.parametrize(
    ("n", "said"),
    [(1_000_000, "bir milyon"), (1_500_000, "bir milyon beş yüz bin"),
     (250_000, "iki yüz elli bin"), (60_000_000, "altmış milyon")],
)  # fmt: skip
def test_turkish_amounts_are_written_as_separate_words(n: int, said: str) -> None:
    assert amount(n, "tr") == said  # num2words joins them: "birmilyon"


def test_vietnamese_writes_the_date_as_in_a_letter() -> None:
    assert long_date(DAY, "vi") == "18 tháng 12 năm 2026"  # CLDR: "18 tháng 12, 2026"
