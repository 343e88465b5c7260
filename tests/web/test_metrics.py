"""Prometheus metrics over real HTTP, read from a real database at scrape time."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from conftest import FRIDAY_MORNING, add_attempt, free_port, notice_ids, person
from notifyd import plugins
from notifyd.config import Config
from notifyd.db import log as logstore
from notifyd.db import runs, staff, store
from notifyd.errors import ConfigError
from notifyd.registry.sync import run_sync
from notifyd.web import metrics

NOW = FRIDAY_MORNING


@contextmanager
def serving(cfg: Config, engine: Engine, now=NOW + timedelta(minutes=10)) -> Iterator[Any]:
    server = metrics.start(cfg, engine, clock=lambda: now)
    try:
        yield server
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        assert resp.status == 200
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_scrape_reads_notices_attempts_overdue_and_last_sync(
    engine: Engine, make_config: Callable[..., Config]
) -> None:
    port = free_port()
    cfg = make_config(
        [person(1, expiry_date="2026-12-18"), person(2, expiry_date="2026-12-18")],
        metrics={"port": port},
    )
    report = run_sync(cfg, engine, plugins.make_manager(), NOW)
    nid = notice_ids(engine, "2C11AB0001-26")[14]
    add_attempt(engine, nid, "whatsapp", "transient", NOW, error="503")
    add_attempt(engine, nid, "sms", "sent", NOW, status="sent")
    with serving(cfg, engine):
        got = scrape(port)
    assert got[("notifyd_database_up", ())] == 1
    assert got[("notifyd_notices", (("status", "scheduled"),))] == 5
    assert got[("notifyd_notices", (("status", "sent"),))] == 1
    assert got[("notifyd_attempts", (("channel", "sms"), ("outcome", "sent")))] == 1
    assert got[("notifyd_attempts", (("channel", "whatsapp"), ("outcome", "transient")))] == 1
    # Person 2's stage-14 notice has been due since the sync, ten minutes before the scrape.
    assert got[("notifyd_oldest_overdue_seconds", ())] == 600
    finished = runs.run(engine, report.run_id)["finished_at"]  # type: ignore[index]
    assert got[("notifyd_last_sync_timestamp_seconds", ())] == pytest.approx(finished.timestamp())
    assert got[("notifyd_duplicate_sends", ())] == 0


def test_sends_accepted_twice_are_counted_but_a_staff_resend_is_not(
    engine: Engine, make_config: Callable[..., Config]
) -> None:
    port = free_port()
    cfg = make_config([person(1, expiry_date="2026-12-18"), person(2, expiry_date="2026-12-18")],
                      metrics={"port": port})  # fmt: skip
    run_sync(cfg, engine, plugins.make_manager(), NOW)
    twice = notice_ids(engine, "2C11AB0001-26")[14]
    # an unknown send confirmed late by its receipt, after it had been sent again: and thrice
    for _ in range(3):
        add_attempt(engine, twice, "sms", "sent", NOW, status="sent")
    resent = notice_ids(engine, "2C11AB0002-26")[14]
    add_attempt(engine, resent, "sms", "sent", NOW, status="sent")
    staff.resend(engine, resent, "supervisor", NOW)
    add_attempt(engine, resent, "sms", "sent", NOW, status="sent")
    with serving(cfg, engine):
        got = scrape(port)
    assert got[("notifyd_duplicate_sends", ())] == 2
    assert logstore.stats(engine, NOW)["duplicates"] == 2
    assert got[("notifyd_possible_duplicate_sends", ())] == 0


def test_an_unknown_send_sent_again_without_word_is_a_possible_duplicate(
    engine: Engine, make_config: Callable[..., Config]
) -> None:
    port = free_port()
    cfg = make_config([person(1, expiry_date="2026-12-18")], metrics={"port": port})
    run_sync(cfg, engine, plugins.make_manager(), NOW)
    nid = notice_ids(engine, "2C11AB0001-26")[14]
    add_attempt(engine, nid, "sms", "unknown", NOW)  # no receipt, no lookup: sent again
    add_attempt(engine, nid, "sms", "sent", NOW, status="sent")
    other = notice_ids(engine, "2C11AB0001-26")[7]
    add_attempt(engine, other, "sms", "unknown", NOW)  # still waiting: not (yet) a duplicate
    with serving(cfg, engine):
        got = scrape(port)
    assert got[("notifyd_possible_duplicate_sends", ())] == 1
    assert got[("notifyd_duplicate_sends", ())] == 0
    assert logstore.stats(engine, NOW)["possible_duplicates"] == 1


def test_a_scrape_reflects_changes_without_any_wiring(
    engine: Engine, make_config: Callable[..., Config]
) -> None:
    port = free_port()
    cfg = make_config([person(1, expiry_date="2026-12-18")], metrics={"port": port})
    with serving(cfg, engine):
        assert ("notifyd_notices", (("status", "scheduled"),)) not in scrape(port)
        assert scrape(port)[("notifyd_last_sync_timestamp_seconds", ())] == 0
        run_sync(cfg, engine, plugins.make_manager(), NOW + timedelta(days=1))
        assert scrape(port)[("notifyd_notices", (("status", "scheduled"),))] == 3


def test_an_unreadable_database_is_a_metric_not_a_failed_scrape(
    make_config: Callable[..., Config], tmp_path: Path
) -> None:
    port = free_port()
    cfg = make_config([], metrics={"port": port})
    broken = store.connect(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables: never migrated
    with serving(cfg, broken):
        got = scrape(port)
    assert got == {("notifyd_database_up", ()): 0}


def test_port_zero_serves_nothing(make_config: Callable[..., Config], engine: Engine) -> None:
    assert metrics.start(make_config([]), engine) is None


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.10", "example.org", "::"])
def test_a_non_loopback_address_is_refused_at_start(
    make_config: Callable[..., Config], address: str
) -> None:
    with pytest.raises(ConfigError) as err:
        make_config([], metrics={"port": 9464, "address": address})
    assert err.value.key == "metrics.address" and "127.0.0.1" in err.value.fix


def test_ipv6_loopback_is_served(make_config: Callable[..., Config], engine: Engine) -> None:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
            port = int(s.getsockname()[1])
    except OSError as exc:
        pytest.skip(f"this host has no IPv6 loopback: {exc}")
    cfg = make_config([], metrics={"port": port, "address": "::1"})
    with serving(cfg, engine):
        with urllib.request.urlopen(f"http://[::1]:{port}/metrics", timeout=10) as resp:
            assert b"notifyd_database_up 1.0" in resp.read()


def test_a_port_out_of_range_is_refused(make_config: Callable[..., Config]) -> None:
    with pytest.raises(ConfigError) as err:
        make_config([], metrics={"port": 70000})
    assert err.value.key == "metrics.port"
