"""db/staff.py's resend, the core the CLI and the console share, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from conftest import FRIDAY_MORNING, add_attempt, notice_ids, person
from notifyd import plugins
from notifyd.config import Config
from notifyd.db import schema, staff
from notifyd.errors import NotifydError
from notifyd.registry.sync import run_sync

NOW = FRIDAY_MORNING
n = schema.notifications


@pytest.fixture
def synced(engine: Engine, make_config: Any) -> Config:
    cfg: Config = make_config([person(1, expiry_date="2026-12-18")])
    run_sync(cfg, engine, plugins.make_manager(), NOW)
    return cfg


def rows(engine: Engine, stage: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        found = conn.execute(select(n).where(n.c.stage == stage).order_by(n.c.extra))
        return [dict(r) for r in found.mappings()]


def test_each_resend_of_a_stage_not_yet_due_is_one_more_extra_notice(
    engine: Engine, synced: Config
) -> None:
    planned = notice_ids(engine, "2C11AB0001-26")[0]
    first = staff.resend(engine, planned, "siti", NOW)
    second = staff.resend(engine, planned, "budi", NOW + timedelta(minutes=5))
    got = rows(engine, 0)
    assert [r["extra"] for r in got] == [0, 1, 2]
    assert [r["id"] for r in got] == [planned, first["notice"], second["notice"]]
    assert got[0]["due_at"] > NOW + timedelta(days=13)  # the planned one did not move
    assert got[2]["due_at"] == NOW + timedelta(minutes=5)


def test_resending_an_extra_notice_that_is_due_requeues_it_and_makes_no_other(
    engine: Engine, synced: Config
) -> None:
    planned = notice_ids(engine, "2C11AB0001-26")[7]
    extra = staff.resend(engine, planned, "siti", NOW)["notice"]
    add_attempt(engine, extra, "sms", "sent", NOW, status="delivered", address="+6281234560001")
    done = staff.resend(engine, extra, "siti", NOW + timedelta(minutes=1))
    assert (done["notice"], done["extra_of"], done["status"]) == (extra, None, "retrying")
    assert [r["extra"] for r in rows(engine, 7)] == [0, 1]


def test_the_warning_needs_force_and_the_force_is_recorded(engine: Engine, synced: Config) -> None:
    nid = notice_ids(engine, "2C11AB0001-26")[14]
    add_attempt(engine, nid, "whatsapp", "unknown", NOW, receipt="failed", address="+6281234560001",
                error="131026")  # fmt: skip  # a late failure receipt counts as permanent
    assert "whatsapp to the same address already failed" in (
        staff.resend_warning(engine, nid) or ""
    )
    with pytest.raises(staff.NeedsConfirmation, match="resend anyway"):
        staff.resend(engine, nid, "siti", NOW)
    assert isinstance(staff.NeedsConfirmation("x"), NotifydError)  # the CLI's exit status 1
    done = staff.resend(engine, nid, "siti", NOW, force=True)
    assert done["warning"] and done["warning"].endswith(": 131026")
    with engine.connect() as conn:
        detail = conn.execute(select(schema.staff_actions.c.detail)).scalar_one()
    assert "sent despite: whatsapp to the same address" in detail


@pytest.mark.postgresql
def test_two_resends_racing_for_one_extra_notice_give_the_second_a_clear_answer(
    db_url: str, make_config: Any
) -> None:
    """PostgreSQL lets two resends read the same highest extra number; the unique key stops the
    second, which is told what happened instead of getting a database error."""
    import threading

    from notifyd.db import store

    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite queues writers (BEGIN IMMEDIATE): the race cannot happen there")
    engine = store.open_store(db_url)
    try:
        run_sync(make_config([person(1, expiry_date="2026-12-18")]), engine,
                 plugins.make_manager(), NOW)  # fmt: skip
        planned = notice_ids(engine, "2C11AB0001-26")[0]
        first = engine.connect()
        other = first.begin()  # the other supervisor's resend, not yet committed
        row = dict(first.execute(select(n).where(n.c.id == planned)).mappings().one())
        first.execute(n.insert().values(
            {**{k: v for k, v in row.items() if k != "id"}, "extra": 1, "due_at": NOW}
        ))  # fmt: skip
        answer: list[BaseException] = []

        def resend() -> None:
            try:
                staff.resend(engine, planned, "budi", NOW)
            except BaseException as exc:  # noqa: BLE001 - the answer is what is checked
                answer.append(exc)

        racing = threading.Thread(target=resend)
        racing.start()
        racing.join(1.0)
        assert racing.is_alive()  # waiting on the other's uncommitted row of the same key
        other.commit()
        racing.join(30)
        assert len(answer) == 1 and isinstance(answer[0], NotifydError), answer
        assert "just resent by someone else" in str(answer[0])
        assert [r["extra"] for r in rows(engine, 0)] == [0, 1]
        first.close()
    finally:
        engine.dispose()
