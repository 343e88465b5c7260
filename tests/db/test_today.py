"""Today's "channels failing": a streak of failed attempts, or a failed share in the last hour
over enough attempts; voice follow-ups and other channels do not count. Both databases."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from conftest import FRIDAY_MORNING, add_attempt, notice_ids, person
from notifyd import plugins
from notifyd.db import today
from notifyd.registry.sync import run_sync

NOW = FRIDAY_MORNING


def _setup(make_config: Any, engine: Engine, **console: Any) -> tuple[Any, int]:
    cfg = make_config([person(1)], console=console)
    run_sync(cfg, engine, plugins.make_manager(), NOW)
    return cfg, notice_ids(engine, "2C11AB0001-26")[14]


def _failing(cfg: Any, engine: Engine, minutes: int = 30) -> list[dict[str, Any]]:
    now = NOW + timedelta(minutes=minutes)
    return list(today.summary(engine, cfg, now, ZoneInfo("Asia/Jakarta"))["failing"])


def test_a_streak_of_failures_marks_a_channel_failing(make_config: Any, engine: Engine) -> None:
    cfg, nid = _setup(make_config, engine, failing_streak=3)
    for k in range(2):
        add_attempt(engine, nid, "whatsapp", "permanent", NOW + timedelta(minutes=k),
                    error="131026: not on WhatsApp")  # fmt: skip
    add_attempt(engine, nid, "whatsapp", "sent", NOW + timedelta(minutes=2), kind="voice_followup",
                receipt="failed")  # fmt: skip
    add_attempt(engine, nid, "sms", "transient", NOW + timedelta(minutes=2))
    assert _failing(cfg, engine) == []  # two of three, a follow-up and another channel
    add_attempt(engine, nid, "whatsapp", "sent", NOW + timedelta(minutes=3), receipt="failed")
    (found,) = _failing(cfg, engine)
    assert (found["channel"], found["why"], found["count"]) == ("whatsapp", "streak", 3)
    add_attempt(engine, nid, "whatsapp", "sent", NOW + timedelta(minutes=4))
    assert _failing(cfg, engine) == []  # one went through


def test_a_failed_share_in_the_last_hour_over_enough_attempts(
    make_config: Any, engine: Engine
) -> None:
    cfg, nid = _setup(make_config, engine, failing_streak=50, failing_min=4, failing_share=0.5)
    for k, outcome in enumerate(["transient", "sent", "transient", "sent"]):
        add_attempt(engine, nid, "sms", outcome, NOW + timedelta(minutes=k))
    (found,) = _failing(cfg, engine)
    assert (found["channel"], found["why"], found["count"], found["of"]) == ("sms", "share", 2, 4)
    assert _failing(cfg, engine, minutes=90) == []  # an hour later: too few to judge
    add_attempt(engine, nid, "sms", "sent", NOW + timedelta(minutes=4))
    assert _failing(cfg, engine) == []  # 2 of 5
