"""Country and date forms an Indonesian office writes (notifyd/registry/forms.py)."""

from __future__ import annotations

from datetime import date

import pytest

from notifyd.registry.forms import country_code, month_names, parse_date

NUMERIC = ("%d/%m/%Y", "%d-%m-%Y")


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Tiongkok", "CN"),
        ("Amerika Serikat", "US"),
        ("Korea Selatan", "KR"),
        ("Jerman", "DE"),
        ("Arab Saudi", "SA"),
        ("Inggris", "GB"),
        ("Inggris Raya", "GB"),
        ("Rusia", "RU"),
        ("Filipina", "PH"),
        ("Perancis", "FR"),
        ("Prancis", "FR"),
        ("  korea   selatan ", "KR"),
        ("South Korea", "KR"),
        ("United Kingdom", "GB"),
        ("Côte d’Ivoire", "CI"),
        ("cote d'ivoire", "CI"),
        ("Belanda", "NL"),
        ("Jepang", "JP"),
        ("AUS", "AU"),
        ("au", "AU"),
    ],
)
def test_countries_in_indonesian_english_and_iso(written: str, code: str) -> None:
    assert country_code(written) == code


@pytest.mark.parametrize("written", ["Atlantis", "Korea", "Asia Tenggara", "Dunia", ""])
def test_regions_and_ambiguous_names_are_not_countries(written: str) -> None:
    assert country_code(written) is None


def test_an_alias_may_name_a_code_or_a_name() -> None:
    aliases = (("rrc lama", "Tiongkok"), ("kiwi", "NZ"))
    assert country_code("RRC Lama", aliases) == "CN"
    assert country_code("Kiwi", aliases) == "NZ"


@pytest.mark.parametrize(
    "written",
    [
        "5 Desember 2026",
        "05 desember 2026",
        "05-Des-2026",
        "5 Des. 2026",
        "5 December 2026",
        "05-Dec-2026",
        "December 5, 2026",
        "2026-12-05",
        "05/12/2026",
        "05-12-2026",
    ],
)
def test_dates_with_month_names_and_numbers(written: str) -> None:
    assert parse_date(written, NUMERIC) == date(2026, 12, 5)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("31 Agustus 2027", date(2027, 8, 31)),
        ("17-Agu-2027", date(2027, 8, 17)),
        ("1 Sept 2027", date(2027, 9, 1)),
        ("3 Mei 2027", date(2027, 5, 3)),
        ("3 May 2027", date(2027, 5, 3)),
        ("9 Okt 2027", date(2027, 10, 9)),
        ("29 Februari 2028", date(2028, 2, 29)),
    ],
)
def test_every_indonesian_month(written: str, expected: date) -> None:
    assert parse_date(written, NUMERIC) == expected


@pytest.mark.parametrize(
    "written", ["30 Februari 2026", "5 Ma 2026", "5 Juni", "Desember 2026", "5 Foo 2026", "x"]
)
def test_impossible_or_partial_dates_are_none(written: str) -> None:
    assert parse_date(written, NUMERIC) is None


def test_month_names_come_from_babel_for_both_languages() -> None:
    names = month_names()
    assert names["desember"] == names["december"] == 12
    assert names["agustus"] == names["august"] == 8
    assert names["maret"] == names["march"] == 3
    assert "ju" not in names and "ma" not in names  # too short to say which month
