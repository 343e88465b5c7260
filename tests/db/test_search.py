"""Finding a person by name in any script, phone in any notation, passport, permit, registry id;
on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, update

from conftest import FRIDAY_MORNING, add_person
from notifyd.db import schema, search


@pytest.fixture
def people(engine: Engine) -> dict[str, int]:
    ids = {
        "kim": add_person(engine, "BLT-1", "KIM SU-A", phone="+6287751867782",
                          passport_number="M12345678", permit="2C11AB0001-26"),
        "yusuf": add_person(engine, "BLT-2", "يوسف العتيبي", phone="+6281234560002"),
        "jose": add_person(engine, "BLT-3", "José Álvarez", whatsapp="+6281234560003"),
        "li": add_person(engine, "BLT-4", "李明", phone="+6281234560004"),
        "kimberly": add_person(engine, "BLT-5", "Kimberly Smith"),
    }  # fmt: skip
    assert search.refresh(engine, FRIDAY_MORNING) == 5
    return ids


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("kim su a", "kim"),
        ("KIM SU-A", "kim"),
        ("su-a", "kim"),
        ("يوسف", "yusuf"),
        ("ywsf", "yusuf"),  # its Latin transliteration
        ("jose alvarez", "jose"),
        ("ÁLVAREZ", "jose"),
        ("李明", "li"),
        ("李", "li"),  # shorter than a trigram: a prefix
        ("0877-5186-7782", "kim"),
        ("+62 877 5186 7782", "kim"),
        ("6287751867782", "kim"),
        ("0812 3456 0003", "jose"),  # a WhatsApp number
        ("m12345678", "kim"),
        ("2c11ab0001-26", "kim"),
        ("BLT-4", "li"),
    ],
)
def test_a_caller_is_found_however_staff_write_them(
    engine: Engine, people: dict[str, int], query: str, who: str
) -> None:
    assert search.find(engine, query)[0] == people[who]


def test_a_partial_name_finds_everyone_it_fits_and_nothing_else(
    engine: Engine, people: dict[str, int]
) -> None:
    assert set(search.find(engine, "kim")) == {people["kim"], people["kimberly"]}
    assert search.find(engine, "nobody like this") == []
    assert search.find(engine, "   ") == []


def test_a_renamed_person_is_found_by_the_new_name_after_a_refresh(
    engine: Engine, people: dict[str, int]
) -> None:
    later = FRIDAY_MORNING + timedelta(hours=1)
    with engine.begin() as conn:
        conn.execute(
            update(schema.people)
            .where(schema.people.c.id == people["li"])
            .values(full_name="Li Ming Wang", updated_at=later)
        )
    assert search.refresh(engine, later) == 1  # only what changed
    assert search.refresh(engine, later) == 0  # and nothing twice
    assert search.find(engine, "ming wang") == [people["li"]]
    assert search.find(engine, "李明") == []


def test_results_carry_numbers_and_permits(engine: Engine, people: dict[str, int]) -> None:
    (row,) = search.people(engine, [people["kim"]])
    assert row["phone"] == "+6287751867782"
    assert [p["permit_number"] for p in row["permits"]] == ["2C11AB0001-26"]


def test_folding_ignores_case_accents_and_spacing() -> None:
    assert search.fold("KIM SU-A") == search.fold("kim su a") == "kimsua"
    assert search.fold("José") == "jose"
    assert search.name_key("يوسف") == "يوسف ywsf"
    assert search.phone_key("0812-3456-0003", "ID") == "+6281234560003"
    assert search.phone_key("kim", "ID") is None
