"""The console's delivery log pages: every filter, and keyset pages that neither skip nor repeat
a row (attempts and attempt-less notices merged, ties at one instant included); both databases."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, update

from conftest import FRIDAY_MORNING, add_attempt, notice_ids, person
from notifyd import plugins
from notifyd.db import logpage, schema
from notifyd.db.logpage import Cursor, LogFilter
from notifyd.errors import NotifydError
from notifyd.registry.sync import run_sync

NOW = FRIDAY_MORNING


@pytest.fixture
def log(make_config: Any, engine: Engine) -> dict[str, Any]:
    """Three people (one Indonesian-speaking, one in another office), attempts on both channels,
    two at the same instant, and a notice cancelled without any attempt."""
    rows = [
        person(1, office="BLT"), person(2, language="id", office="BLT"), person(3, office="SBY"),
    ]  # fmt: skip
    offices = {"BLT": {"name": "Blitar", "timezone": "Asia/Jakarta"},
               "SBY": {"name": "Surabaya", "timezone": "Asia/Jakarta"}}  # fmt: skip
    cfg = make_config(rows, offices=offices)
    run_sync(cfg, engine, plugins.make_manager(), NOW)
    ids = [notice_ids(engine, f"2C11AB{i:04d}-26") for i in (1, 2, 3)]
    made = []
    for k, (person_notices, channel, outcome) in enumerate(
        [
            (ids[0], "whatsapp", "permanent"),
            (ids[0], "sms", "sent"),
            (ids[1], "whatsapp", "sent"),
            (ids[2], "sms", "transient"),
            (ids[1], "sms", "sent"),
        ]  # fmt: skip
    ):
        at = NOW + timedelta(minutes=k if k < 4 else 3)  # the last two at the same instant
        made.append(add_attempt(engine, person_notices[14], channel, outcome, at))
    with engine.begin() as conn:  # a notice that ended with no attempt
        conn.execute(
            update(schema.notifications)
            .where(schema.notifications.c.id == ids[2][7])
            .values(status="cancelled", reason="renewed", updated_at=NOW + timedelta(minutes=3))
        )
    return {"ids": ids, "attempts": made}


def _all_pages(engine: Engine, f: LogFilter, size: int) -> list[dict[str, Any]]:
    out, cursor = [], None
    for _ in range(50):
        rows, cursor = logpage.page(engine, f, cursor, size)
        out += rows
        if cursor is None:
            return out
    raise AssertionError("the pages never ended")


def _key(r: dict[str, Any]) -> tuple[Any, ...]:
    return (r["when"], r["notice"], r["channel"])


def test_pages_of_every_size_give_every_row_once_newest_first(
    engine: Engine, log: dict[str, Any]
) -> None:
    whole, end = logpage.page(engine, LogFilter(), None, 100)
    assert end is None and len(whole) == 6  # five attempts and the cancelled notice
    assert [r["when"] for r in whole] == sorted((r["when"] for r in whole), reverse=True)
    for size in (1, 2, 4):
        assert [_key(r) for r in _all_pages(engine, LogFilter(), size)] == [_key(r) for r in whole]


@pytest.mark.parametrize(
    ("f", "expect"),
    [
        (LogFilter(channel="sms"), 3),
        (LogFilter(outcome="permanent"), 1),
        (LogFilter(office="SBY"), 2),  # its attempt and its cancelled notice
        (LogFilter(language="id"), 2),
        (LogFilter(stage=7), 1),
        (LogFilter(status="cancelled"), 1),
        (LogFilter(status="scheduled"), 10),  # five attempts, five notices not tried yet
        (LogFilter(since=NOW + timedelta(minutes=3)), 3),
        (LogFilter(until=NOW + timedelta(minutes=1)), 1),
        (LogFilter(channel="sms", since=NOW + timedelta(minutes=2)), 2),
    ],
)
def test_each_filter_narrows_the_log(
    engine: Engine, log: dict[str, Any], f: LogFilter, expect: int
) -> None:
    rows = _all_pages(engine, f, 1)
    assert len(rows) == expect
    for r in rows:
        assert f.channel in (None, r["channel"]) and f.outcome in (None, r["outcome"])
        assert f.office in (None, r["office"]) and f.stage in (None, r["stage"])


@pytest.mark.parametrize(
    "f",
    [LogFilter(office="SBY"), LogFilter(status="scheduled", channel="sms"), LogFilter(stage=14)],
)
def test_a_narrow_filter_gives_the_same_pages_when_served_from_the_notices(
    engine: Engine, log: dict[str, Any], f: LogFilter, monkeypatch: pytest.MonkeyPatch
) -> None:
    read_back = [_key(r) for r in _all_pages(engine, f, 1)]
    monkeypatch.setattr(logpage, "SCAN", 1)  # one attempt read back: the rest from notices
    assert [_key(r) for r in _all_pages(engine, f, 1)] == read_back != []


def test_the_cursor_is_opaque_and_a_damaged_one_is_refused(
    engine: Engine, log: dict[str, Any]
) -> None:
    rows, cursor = logpage.page(engine, LogFilter(), None, 2)
    assert cursor is not None
    text = cursor.encode()
    assert Cursor.decode(text) == cursor
    assert "Person" not in base64.urlsafe_b64decode(text + "==").decode()
    for bad in ("nonsense", base64.urlsafe_b64encode(b'["2026-12-04", 1, 2]').decode(), "e30"):
        with pytest.raises(NotifydError, match="damaged"):
            Cursor.decode(bad)
