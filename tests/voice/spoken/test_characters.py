"""Identifiers and phone numbers for the ear: one character at a time, in groups."""

from __future__ import annotations

import pytest

from notifyd.voice.spoken import phone, spell


@pytest.mark.parametrize(
    ("written", "lang", "said"),
    [
        ("2C11AB0001-26", "en", "2 C 1 1, A B 0 0, 0 1, 2 6"),
        ("2c11ab0001/26", "id", "2 C 1 1, A B 0 0, 0 1, 2 6"),
        ("A1234567", "de", "A 1 2 3, 4 5 6 7"),
        ("2C11AB0001-26", "zh", "2 C 1 1，A B 0 0，0 1，2 6"),
        ("2C1-9Z", "ja", "ニ シー イチ、キュウ ゼット"),
    ],
)
def test_an_identifier_is_spelled_in_groups(written: str, lang: str, said: str) -> None:
    assert spell(written, lang) == said


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("+62 342 000000", "0 3 4 2, 0 0 0, 0 0 0"),
        ("+62 21 5794 1234", "0 2 1, 5 7 9, 4 1 2, 3 4"),
        ("0361 123456", "0 3 6 1, 1 2 3, 4 5 6"),
        ("call us", ""),
    ],
)
def test_a_phone_number_is_said_as_dialled_at_home_in_digit_groups(written: str, said: str) -> None:
    assert phone(written, "en") == said


def test_no_group_is_longer_than_four_characters() -> None:
    said = spell("ABCDEFGHIJ1234567890", "en")
    assert all(len(group.split()) <= 4 for group in said.split(", "))
