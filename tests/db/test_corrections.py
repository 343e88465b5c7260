"""A staff correction of a contact wins while the registry still holds the value it replaced,
and is dropped (with why, in the story) once the registry changes; on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select

from conftest import FRIDAY_MORNING, person
from notifyd import plugins
from notifyd.db import corrections, schema
from notifyd.errors import NotifydError
from notifyd.registry.sync import run_sync

NOW = FRIDAY_MORNING


def phone_of(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(schema.people.c.phone)).scalar_one())


def sync(make_config, engine: Engine, row: dict[str, str], hours: int) -> None:
    run_sync(make_config([row]), engine, plugins.make_manager(), NOW + timedelta(hours=hours))


def test_a_correction_lasts_until_the_registry_changes(make_config, engine: Engine) -> None:
    row = person(1, phone="0812-3456-0001")
    sync(make_config, engine, row, 0)
    with engine.connect() as conn:
        pid = conn.execute(select(schema.people.c.id)).scalar_one()
    done = corrections.correct(engine, pid, "phone", "+6281299990001", "siti", NOW)
    assert done["replaced"] == "+6281234560001" and phone_of(engine) == "+6281299990001"
    assert [c["value"] for c in corrections.pending(engine)] == ["+6281299990001"]

    sync(make_config, engine, row, 1)  # the same export
    assert phone_of(engine) == "+6281299990001"
    sync(make_config, engine, {**row, "full_name": "Person One"}, 2)  # another field changed
    assert phone_of(engine) == "+6281299990001"

    sync(make_config, engine, {**row, "phone": "0812-7777-0001"}, 3)  # the registry's changed
    assert phone_of(engine) == "+6281277770001"
    assert corrections.pending(engine) == []
    (fix,) = corrections.of_person(engine, pid)
    assert fix["dropped_reason"] == "the registry's phone changed"
    with engine.connect() as conn:
        actions = conn.execute(select(schema.staff_actions.c.action)).scalars().all()
    assert actions == ["correct_contact", "correction_dropped"]


def test_only_phone_and_whatsapp_can_be_corrected(make_config, engine: Engine) -> None:
    sync(make_config, engine, person(1), 0)
    with pytest.raises(NotifydError, match="phone or whatsapp"):
        corrections.correct(engine, 1, "email", "x@example.org", "siti", NOW)
