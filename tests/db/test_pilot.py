"""The pilot allowlist kept in the database adds to the config's; both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from conftest import FRIDAY_MORNING
from notifyd.db import pilot
from notifyd.errors import NotifydError


def test_numbers_added_and_removed_count_with_the_configs(engine: Engine) -> None:
    assert pilot.allowlist(engine, ["+6281200000001"]) == {"+6281200000001"}
    pilot.add(engine, "+6281299990001", "ani", FRIDAY_MORNING)
    assert pilot.allowlist(engine, ["+6281200000001"]) == {"+6281200000001", "+6281299990001"}
    assert [(r["number"], r["added_by"]) for r in pilot.numbers(engine)] == [
        ("+6281299990001", "ani")
    ]
    with pytest.raises(NotifydError, match="already"):
        pilot.add(engine, "+6281299990001", "ani", FRIDAY_MORNING)
    with pytest.raises(NotifydError, match="E.164"):
        pilot.add(engine, "0812 9999", "ani", FRIDAY_MORNING)
    pilot.remove(engine, "+6281299990001")
    assert pilot.allowlist(engine, []) == frozenset()
    with pytest.raises(NotifydError, match="config file"):
        pilot.remove(engine, "+6281200000001")
