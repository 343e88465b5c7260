"""db/log.py: the delivery log rows carry each attempt's address and its own outcome."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from conftest import FRIDAY_MORNING, add_attempt, notice_ids, person
from notifyd import plugins
from notifyd.db import log
from notifyd.registry.sync import run_sync

NOW = FRIDAY_MORNING


def test_log_rows_carry_the_address_each_attempt_went_to(engine: Engine, make_config: Any) -> None:
    cfg = make_config([person(1, expiry_date="2026-12-18"), person(2, expiry_date="2026-12-18")])
    run_sync(cfg, engine, plugins.make_manager(), NOW)
    nid = notice_ids(engine, "2C11AB0001-26")[14]
    add_attempt(engine, nid, "sms", "permanent", NOW, status="failed", address="+6281234560001",
                error="x" * 500)  # fmt: skip
    other = notice_ids(engine, "2C11AB0002-26")[14]
    add_attempt(engine, other, "sms", "sent", NOW, status="sent")  # from before addresses
    got = {r["notice"]: r for r in log.delivery_log(engine)}
    assert (got[nid]["address"], got[nid]["outcome"], got[nid]["status"]) == (
        "+6281234560001", "permanent", "failed",
    )  # fmt: skip
    assert got[nid]["error"] == "x" * 500
    assert got[other]["address"] is None
    story = log.story(engine, "BLT-00001")
    assert story is not None and story["attempts"][0]["address"] == "+6281234560001"
