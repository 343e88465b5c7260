"""The dispatcher in-process, on SQLite and PostgreSQL: claims, leases, retries, fallback."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select

from conftest import FRIDAY_MORNING, person, utc
from notifyd import events, plugins
from notifyd.config import ChannelConfig, Config
from notifyd.db import dispatch as dispatchstore
from notifyd.db import pilot as pilotstore
from notifyd.db import schema, store
from notifyd.delivery import receipts
from notifyd.delivery.dispatch import Dispatcher, build_channels
from notifyd.hookspecs import Receipt, hookimpl
from notifyd.registry.sync import run_sync
from testplugins import channels as testchannels

NOW = FRIDAY_MORNING  # 2026-12-04 09:30 WIB; a permit expiring 2026-12-18 has its 14-day stage due
DUE = "2026-12-18"
MakeConfig = Callable[..., Config]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def channel(log: Path, kind: str, **options: Any) -> dict[str, Any]:
    return {"plugin": "recording", "kind": kind, "options": {"log": str(log), **options}}


def setup(
    tmp_path: Path,
    engine: Engine,
    make_config: MakeConfig,
    rows: int = 3,
    wa: dict[str, Any] | None = None,
    sms: dict[str, Any] | None = None,
    wa_plugin: str = "recording",
    **overrides: Any,
) -> tuple[Config, Any]:
    """Sync `rows` people whose 14-day notice is due now; channels whatsapp then sms."""
    log = tmp_path / "sends.jsonl"
    cfg = make_config(
        [person(i, expiry_date=DUE, whatsapp=f"0812-3456-{i:04d}") for i in range(rows)],
        channels={
            "whatsapp": {**channel(log, "whatsapp", **(wa or {})), "plugin": wa_plugin},
            "sms": channel(log, "sms", **(sms or {})),
        },
        dispatch={
            "backoff_base": 10.0,
            "backoff_cap": 100.0,
            "jitter": False,
            **overrides.pop("dispatch", {}),
        },  # fmt: skip
        **overrides,
    )
    pm = plugins.make_manager()
    pm.register(testchannels)
    run_sync(cfg, engine, pm, NOW)
    return cfg, pm


def dispatcher(cfg: Config, engine: Engine, pm: Any, render: Any, clock: Clock) -> Dispatcher:
    return Dispatcher(cfg, engine, build_channels(cfg, pm), render, pm, clock, random.Random(4))


def sends(tmp_path: Path) -> list[dict[str, Any]]:
    log = tmp_path / "sends.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def due_notices(engine: Engine) -> dict[int, dict[str, Any]]:
    n = schema.notifications
    with engine.connect() as conn:
        rows = conn.execute(select(n).where(n.c.stage == 14)).mappings()
        return {r["id"]: dict(r) for r in rows}


def attempts(engine: Engine, nid: int) -> list[tuple[str, str]]:
    a = schema.attempts
    with engine.connect() as conn:
        rows = conn.execute(
            select(a.c.channel, a.c.outcome).where(a.c.notification_id == nid).order_by(a.c.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_due_notices_are_sent_once_with_an_attempt_each(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, wa={"audio_format": "ogg"})
    d = dispatcher(cfg, engine, pm, fake_render, Clock(NOW))
    assert asyncio.run(d.tick()) == 3
    assert asyncio.run(d.tick()) == 0
    log = sends(tmp_path)
    assert sorted(s["id"] for s in log) == sorted(due_notices(engine))
    assert {s["channel"] for s in log} == {"whatsapp"}
    assert all(s["audio"].endswith(".ogg") and s["to"].startswith("+62") for s in log)
    for nid, row in due_notices(engine).items():
        assert (row["status"], row["lease_owner"], row["attempt_count"]) == ("sent", None, 1)
        assert attempts(engine, nid) == [("whatsapp", "sent")]
    with engine.connect() as conn:
        a = schema.attempts
        assert set(conn.execute(select(a.c.engine)).scalars()) == {"test-tone"}


def test_a_transient_failure_is_retried_with_growing_delays_then_sent(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(
        tmp_path, engine, make_config, rows=1, wa={"mode": "transient", "fail_times": 2}
    )
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    (nid,) = due_notices(engine)
    asyncio.run(d.tick())
    first = due_notices(engine)[nid]
    assert (first["status"], first["due_at"]) == ("retrying", NOW + timedelta(seconds=10))
    clock.advance(9)
    assert asyncio.run(d.tick()) == 0  # not yet due
    clock.advance(1)
    asyncio.run(d.tick())
    second = due_notices(engine)[nid]
    assert second["due_at"] == clock.now + timedelta(seconds=20)  # base * 2
    assert second["reason"] == "retry"
    clock.advance(20)
    asyncio.run(d.tick())
    assert (due_notices(engine)[nid]["status"], due_notices(engine)[nid]["reason"]) == (
        "sent",
        None,
    )
    assert attempts(engine, nid) == [("whatsapp", "transient")] * 2 + [("whatsapp", "sent")]


def test_retry_after_is_a_floor_for_the_wait(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    wa = {"mode": "transient", "retry_after": 77}
    cfg, pm = setup(tmp_path, engine, make_config, rows=1, wa=wa)
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(NOW)).tick())
    (row,) = due_notices(engine).values()
    assert row["due_at"] == NOW + timedelta(seconds=77)


def test_exhausted_retries_and_permanent_errors_fall_back_to_the_next_channel(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(
        tmp_path, engine, make_config, rows=1, wa={"mode": "transient"},
        dispatch={"max_attempts": 2},
    )  # fmt: skip
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    (nid,) = due_notices(engine)
    asyncio.run(d.tick())
    clock.advance(10)
    asyncio.run(d.tick())  # second and last try on whatsapp, then sms in the same claim
    assert attempts(engine, nid) == [("whatsapp", "transient")] * 2 + [("sms", "sent")]
    row = due_notices(engine)[nid]
    assert (row["status"], row["channel_pos"]) == ("sent", 1)


def test_a_permanent_error_moves_on_at_once_and_with_none_left_the_notice_fails(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    perm = {"mode": "permanent"}
    cfg, pm = setup(tmp_path, engine, make_config, rows=1, wa=perm, sms=perm)
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(NOW)).tick())
    ((nid, row),) = due_notices(engine).items()
    assert attempts(engine, nid) == [("whatsapp", "permanent"), ("sms", "permanent")]
    assert (row["status"], row["reason"]) == ("failed", "invalid number (test)")
    assert row["lease_owner"] is None


def test_an_unknown_outcome_waits_for_reconciliation_then_is_sent_again(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1, wa={"mode": "unknown", "fail_times": 1},
                    dispatch={"reconcile_seconds": 600.0})  # fmt: skip
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    asyncio.run(d.tick())
    ((nid, row),) = due_notices(engine).items()
    assert (row["status"], row["reason"]) == ("retrying", "reconciling")
    assert row["due_at"] == NOW + timedelta(seconds=600)
    clock.advance(599)
    asyncio.run(d.tick())
    assert len(sends(tmp_path)) == 1  # not sent again within the reconciliation period
    clock.advance(2)
    asyncio.run(d.tick())
    assert attempts(engine, nid) == [("whatsapp", "unknown"), ("whatsapp", "sent")]
    row = due_notices(engine)[nid]
    assert (row["status"], row["reason"]) == ("sent", None)


def test_a_receipt_matched_by_attempt_id_settles_an_unknown_send(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1, wa={"mode": "unknown"})
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    asyncio.run(d.tick())
    ((nid, _),) = due_notices(engine).items()
    (sent,) = sends(tmp_path)
    late = Receipt("wamid.LATE", "delivered", attempt_id=sent["attempt"])  # no provider id known
    assert receipts.apply_receipts(engine, "whatsapp", [late], ["whatsapp", "sms"], clock.now) == 1
    row = due_notices(engine)[nid]
    assert (row["status"], row["reason"]) == ("delivered", None)
    clock.advance(3600)
    asyncio.run(d.tick())
    assert len(sends(tmp_path)) == 1  # settled: never sent again
    a = schema.attempts
    with engine.connect() as conn:
        got = conn.execute(select(a.c.outcome, a.c.provider_id, a.c.receipt)).one()
    assert tuple(got) == ("sent", "wamid.LATE", "delivered")


def test_a_failure_receipt_for_an_unknown_send_moves_it_to_the_next_channel(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1, wa={"mode": "unknown"})
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    asyncio.run(d.tick())
    ((nid, _),) = due_notices(engine).items()
    (sent,) = sends(tmp_path)
    failed = Receipt("wamid.F", "failed", error="131026 undeliverable", attempt_id=sent["attempt"])
    receipts.apply_receipts(engine, "whatsapp", [failed], ["whatsapp", "sms"], clock.now)
    asyncio.run(d.tick())
    assert attempts(engine, nid) == [("whatsapp", "permanent"), ("sms", "sent")]


def test_a_receipt_for_another_channels_attempt_id_changes_nothing(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1, wa={"mode": "unknown"})
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(NOW)).tick())
    (sent,) = sends(tmp_path)
    forged = Receipt("SM1", "delivered", attempt_id=sent["attempt"])
    assert receipts.apply_receipts(engine, "sms", [forged], ["whatsapp", "sms"], NOW) == 0
    assert {r["reason"] for r in due_notices(engine).values()} == {"reconciling"}


def test_the_providers_lookup_settles_an_unknown_send_without_sending_again(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1, wa={"mode": "unknown"},
                    wa_plugin="recording-lookup", dispatch={"reconcile_seconds": 60.0})  # fmt: skip
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    asyncio.run(d.tick())
    clock.advance(61)
    asyncio.run(d.tick())
    ((nid, row),) = due_notices(engine).items()
    assert len(sends(tmp_path)) == 1
    (asked,) = d.channels["whatsapp"].lookups  # type: ignore[attr-defined]
    assert asked.to.startswith("+62") and asked.since == NOW
    assert (row["status"], row["reason"]) == ("sent", None)
    assert attempts(engine, nid) == [("whatsapp", "sent")]


@pytest.mark.parametrize("answer", ["missing", "down"])
def test_a_lookup_that_finds_nothing_or_fails_sends_again(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any, answer: str
) -> None:
    wa = {"mode": "unknown", "fail_times": 1, "lookup": answer}
    cfg, pm = setup(tmp_path, engine, make_config, rows=1, wa=wa, wa_plugin="recording-lookup",
                    dispatch={"reconcile_seconds": 60.0})  # fmt: skip
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    asyncio.run(d.tick())
    clock.advance(61)
    asyncio.run(d.tick())
    ((nid, row),) = due_notices(engine).items()
    assert [r["result"] for r in sends(tmp_path)] == ["unknown", "ok"]
    assert attempts(engine, nid) == [("whatsapp", "unknown"), ("whatsapp", "sent")]


def test_reconciliation_never_runs_past_the_deadline(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1, wa={"mode": "unknown"},
                    dispatch={"reconcile_seconds": 30 * 86400.0})  # fmt: skip
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(NOW)).tick())
    ((_, row),) = due_notices(engine).items()
    assert row["due_at"] == row["deadline"]


def test_a_receipt_that_comes_before_its_send_is_recorded_is_kept_and_applied(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=2)
    order = ["whatsapp", "sms"]
    first, second = sorted(due_notices(engine))
    early = [Receipt(f"test-{first}-1", "delivered"), Receipt("nobody", "read", attempt_id=999)]
    receipts.apply_receipts(engine, "whatsapp", early, order, NOW)  # before any send
    with engine.connect() as conn:
        assert conn.execute(select(schema.early_receipts.c.status)).scalars().all() == [
            "delivered", "read",
        ]  # fmt: skip
    d = dispatcher(cfg, engine, pm, fake_render, Clock(NOW))
    asyncio.run(d.tick())  # records the sends (attempts 1 and 2), then applies what was kept
    statuses = {nid: r["status"] for nid, r in due_notices(engine).items()}
    assert statuses == {first: "delivered", second: "sent"}
    with engine.connect() as conn:  # the one for a message never ours stays until it expires
        assert conn.execute(select(schema.early_receipts.c.attempt_id)).scalars().all() == [999]
    ttl = cfg.dispatch.early_receipt_ttl
    receipts.apply_early(engine, order, NOW + timedelta(seconds=ttl + 1), ttl)
    with engine.connect() as conn:
        assert conn.execute(select(schema.early_receipts.c.id)).all() == []


def test_a_send_past_the_timeout_is_unknown(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(
        tmp_path, engine, make_config, rows=1, wa={"delay": 2},
        dispatch={"send_timeout": 0.2, "lease_seconds": 1.0},
    )  # fmt: skip
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(NOW)).tick())
    ((nid, row),) = due_notices(engine).items()
    assert attempts(engine, nid) == [("whatsapp", "unknown")]
    assert (row["status"], row["reason"]) == ("retrying", "reconciling") and sends(tmp_path) == []


def test_retries_never_reach_the_deadline(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    all_day = {"BLT": {"timezone": "Asia/Jakarta", "window": "00:00-24:00"}}
    wa = {"mode": "transient"}
    cfg, pm = setup(tmp_path, engine, make_config, rows=1, wa=wa, offices=all_day)
    ((nid, row),) = due_notices(engine).items()
    clock = Clock(row["deadline"] - timedelta(seconds=5))  # a 10 s wait would pass it
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, clock).tick())
    assert attempts(engine, nid) == [("whatsapp", "transient"), ("sms", "sent")]


def test_a_notice_past_its_deadline_is_superseded(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1)
    ((nid, row),) = due_notices(engine).items()
    clock = Clock(row["deadline"] + timedelta(seconds=1))
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, clock).tick())
    row = due_notices(engine)[nid]
    assert (row["status"], row["reason"]) == ("superseded", "deadline_passed")
    assert all(s["id"] != nid for s in sends(tmp_path))


def test_pause_all_and_pause_one_channel(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=2)
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    dispatchstore.set_control(engine, "*", "pause", "ops", NOW)
    assert asyncio.run(d.tick()) == 0
    dispatchstore.set_control(engine, "*", "resume", "ops", NOW)
    dispatchstore.set_control(engine, "whatsapp", "pause", "ops", NOW)
    assert set(dispatchstore.paused(engine)) == {"whatsapp"}
    asyncio.run(d.tick())
    assert sends(tmp_path) == []
    assert {r["status"] for r in due_notices(engine).values()} == {"scheduled"}
    assert {r["due_at"] for r in due_notices(engine).values()} == {NOW + timedelta(seconds=60)}
    dispatchstore.set_control(engine, "whatsapp", "resume", "ops", NOW)
    clock.advance(60)
    asyncio.run(d.tick())
    assert [s["channel"] for s in sends(tmp_path)] == ["whatsapp", "whatsapp"]


def test_pausing_an_office_holds_its_notices_on_every_channel(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=2)
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    dispatchstore.set_control(engine, dispatchstore.office_scope("BLT"), "pause", "ops", NOW,
                              "office closed for a move")  # fmt: skip
    asyncio.run(d.tick())
    assert sends(tmp_path) == []
    assert {r["due_at"] for r in due_notices(engine).values()} == {NOW + timedelta(seconds=60)}
    dispatchstore.set_control(engine, "office:SBY", "pause", "ops", NOW)  # another office
    dispatchstore.set_control(engine, "office:BLT", "resume", "ops", NOW)
    clock.advance(60)
    asyncio.run(d.tick())
    assert len(sends(tmp_path)) == 2


def test_pilot_numbers_added_in_the_database_count_at_the_next_tick(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    pilot = {"enabled": True, "allowlist": ["+6281234560001"]}
    cfg, pm = setup(tmp_path, engine, make_config, rows=3, pilot=pilot)
    pilotstore.add(engine, "+6281234560002", "ani", NOW)
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(NOW)).tick())
    assert sorted(s["to"] for s in sends(tmp_path)) == ["+6281234560001", "+6281234560002"]


def test_pilot_mode_sends_only_to_the_allowlist_and_withholds_the_rest(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    pilot = {"enabled": True, "allowlist": ["+6281234560001"]}
    cfg, pm = setup(tmp_path, engine, make_config, rows=3, pilot=pilot)
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(NOW)).tick())
    assert [s["to"] for s in sends(tmp_path)] == ["+6281234560001"]
    statuses = sorted((r["status"], r["reason"]) for r in due_notices(engine).values())
    assert statuses == [("cancelled", "withheld_pilot")] * 2 + [("sent", None)]


def test_a_channel_the_person_opted_out_of_is_skipped(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1)
    with engine.begin() as conn:
        person_id = conn.execute(select(schema.people.c.id)).scalar_one()
        conn.execute(
            insert(schema.opt_outs).values(
                person_id=person_id, channel="whatsapp", source="staff", created_at=NOW
            )
        )
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(NOW)).tick())
    assert [s["channel"] for s in sends(tmp_path)] == ["sms"]


def test_an_expired_lease_is_reclaimed_and_the_late_owner_is_fenced_off(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1)
    lease = NOW + timedelta(seconds=cfg.dispatch.lease_seconds)
    (held,) = dispatchstore.claim(engine, "dead:1", NOW, lease, 10)
    nid = held.facts.notification_id
    started = dispatchstore.start_attempts(engine, "dead:1", [(nid, "whatsapp", None)], NOW)
    clock = Clock(NOW + timedelta(seconds=60))
    assert asyncio.run(dispatcher(cfg, engine, pm, fake_render, clock).tick()) == 0  # leased
    clock.advance(cfg.dispatch.lease_seconds)
    # the dead owner may have sent it: wait for word before sending again
    assert asyncio.run(dispatcher(cfg, engine, pm, fake_render, clock).tick()) == 0
    assert attempts(engine, nid) == [("whatsapp", "unknown")]
    assert due_notices(engine)[nid]["reason"] == "reconciling"
    clock.advance(cfg.dispatch.reconcile_seconds)
    assert asyncio.run(dispatcher(cfg, engine, pm, fake_render, clock).tick()) == 1
    assert attempts(engine, nid) == [("whatsapp", "unknown"), ("whatsapp", "sent")]
    late = dispatchstore.Outcome(nid, "failed", started[nid], "permanent", error="late")
    assert dispatchstore.finish(engine, "dead:1", [late], clock.now) == set()
    assert due_notices(engine)[nid]["status"] == "sent"


def test_a_resync_leaves_a_retrying_notice_alone(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1, wa={"mode": "transient"})
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(NOW)).tick())
    before = due_notices(engine)
    run_sync(cfg, engine, pm, NOW + timedelta(seconds=1))
    assert due_notices(engine) == before
    assert {r["status"] for r in before.values()} == {"retrying"}


def test_release_gives_back_an_instances_leases(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=2)
    d = dispatcher(cfg, engine, pm, fake_render, Clock(NOW))
    dispatchstore.claim(engine, f"{d.instance}:1", NOW, NOW + timedelta(minutes=5), 10)
    assert asyncio.run(d.release()) == 2
    rows = due_notices(engine).values()
    assert {(r["status"], r["lease_owner"]) for r in rows} == {("scheduled", None)}


@pytest.mark.postgresql
def test_two_dispatchers_on_one_postgresql_database_never_send_a_notice_twice(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any, db_url: str
) -> None:
    cfg, pm = setup(
        tmp_path, engine, make_config, rows=300, wa={"delay": 0.002},
        dispatch={"batch_size": 20},
    )  # fmt: skip
    other = store.connect(db_url)

    async def both() -> list[int]:
        one = dispatcher(cfg, engine, pm, fake_render, Clock(NOW))
        two = dispatcher(cfg, other, pm, fake_render, Clock(NOW))
        return list(await asyncio.gather(one.tick(), two.tick()))

    try:
        taken = asyncio.run(both())
    finally:
        other.dispose()
    ids = [s["id"] for s in sends(tmp_path)]
    assert len(ids) == len(set(ids)) == 300
    assert sum(taken) == 300 and min(taken) > 0  # both worked
    assert {r["status"] for r in due_notices(engine).values()} == {"sent"}


def test_starting_an_attempt_renews_the_lease_only_for_the_owner(
    tmp_path: Path, engine: Engine, make_config: MakeConfig
) -> None:
    setup(tmp_path, engine, make_config, rows=1)
    (held,) = dispatchstore.claim(engine, "me:1", NOW, NOW + timedelta(seconds=30), 10)
    nid = held.facts.notification_id
    later = NOW + timedelta(minutes=10)
    assert dispatchstore.start_attempts(engine, "other:1", [(nid, "sms", None)], NOW, later) == {}
    assert due_notices(engine)[nid]["lease_until"] == NOW + timedelta(seconds=30)
    started = dispatchstore.start_attempts(engine, "me:1", [(nid, "sms", None)], NOW, later)
    assert list(started) == [nid]
    row = due_notices(engine)[nid]
    assert (row["lease_until"], row["attempt_count"]) == (later, 1)
    assert attempts(engine, nid) == [("sms", "pending")]


class Observer:
    """A real observer plugin: hears events and looks at the database when it does."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.heard = engine, []  # type: ignore[var-annotated]

    @hookimpl
    def track_event(self, event: events.Event) -> None:
        nid = getattr(event, "notification_id", None)
        status = due_notices(self.engine)[nid]["status"] if nid else None
        self.heard.append((type(event).__name__, status))


def test_observers_hear_each_outcome_after_it_is_committed(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(
        tmp_path, engine, make_config, rows=1, wa={"mode": "transient", "fail_times": 1}
    )
    observer = Observer(engine)
    pm.register(observer)
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    asyncio.run(d.tick())
    clock.advance(10)
    dispatchstore.set_control(engine, "whatsapp", "pause", "ops", clock.now)
    asyncio.run(d.tick())  # whatsapp is paused: the notice waits, nobody hears of it
    dispatchstore.set_control(engine, "whatsapp", "resume", "ops", clock.now)
    clock.advance(60)
    asyncio.run(d.tick())
    assert observer.heard == [("NoticeRetrying", "retrying"), ("NoticeSent", "sent")]


def test_a_channels_rate_limit_spaces_its_sends(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=5)
    limited = {**cfg.channels["whatsapp"].__dict__, "rate_per_second": 20.0, "burst": 1}
    cfg = replace(cfg, channels={**cfg.channels, "whatsapp": ChannelConfig(**limited)})
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(NOW)).tick())
    starts = sorted(s["started"] for s in sends(tmp_path))
    assert len(starts) == 5
    assert starts[-1] - starts[0] >= 4 / 20 * 0.9  # one token every 50 ms after the first


def test_outside_the_window_a_due_notice_waits_for_the_next_opening(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1)
    friday_evening = utc(2026, 12, 4, 11, 0)  # 18:00 WIB: the 09:00-17:00 window has closed
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(friday_evening)).tick())
    (row,) = due_notices(engine).values()
    monday_opening = utc(2026, 12, 7, 2, 0)  # 09:00 WIB after the weekend
    assert (row["status"], row["due_at"], row["lease_owner"]) == ("scheduled", monday_opening, None)
    assert sends(tmp_path) == []


def test_a_render_failure_sends_nothing_and_tries_again_later(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1)
    calls = []

    async def flaky(facts: Any, now: datetime, audio_format: str | None) -> Any:
        calls.append(now)
        if len(calls) == 1:
            raise OSError("espeak-ng is missing")
        return await fake_render(facts, now, audio_format)

    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, flaky, clock)
    asyncio.run(d.tick())
    (row,) = due_notices(engine).values()
    assert (row["status"], row["reason"]) == ("scheduled", "render failed: OSError")
    assert row["due_at"] == NOW + timedelta(seconds=10) and sends(tmp_path) == []
    clock.advance(10)
    asyncio.run(d.tick())
    assert [s["channel"] for s in sends(tmp_path)] == ["whatsapp"]
    (row,) = due_notices(engine).values()
    assert (row["status"], row["reason"]) == ("sent", None)


# --- what channels of issue 5 are told: the window, the audio URL; opt-outs they report -------


class Capture:
    """A WhatsApp channel that keeps every message and refuses one number as opted out."""

    name, audio_format = "whatsapp", "ogg"

    def __init__(self, refuse: str) -> None:
        self.refuse, self.messages = refuse, []  # type: list[Any]

    async def send(self, message: Any) -> str:
        from notifyd.errors import PermanentSendError

        self.messages.append(message)
        if message.to == self.refuse:
            raise PermanentSendError("21610 unsubscribed (test)", opt_out=True)
        return f"wamid.{message.notification_id}"


def test_messages_carry_the_window_and_the_audio_url_and_a_refused_opt_out_is_recorded(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, tiny_audio: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from notifyd.delivery import audiourl
    from notifyd.model import NoticeFacts, Rendered

    monkeypatch.setenv("NOTIFYD_URL_SECRET", "s" * 32)
    cfg, pm = setup(tmp_path, engine, make_config, http={"url_secret": "env:NOTIFYD_URL_SECRET"})
    note = Path(cfg.state_dir) / "audio" / "note.ogg"
    note.parent.mkdir(parents=True)
    note.write_bytes(tiny_audio("ogg").read_bytes())

    async def render(facts: NoticeFacts, now: datetime, fmt: str | None) -> Rendered:
        return Rendered("words", {}, "en", note if fmt else None, "cached")

    wrote, stale, refused = "+6281234560000", "+6281234560001", "+6281234560002"
    with engine.begin() as conn:
        conn.execute(insert(schema.conversations), [
            {"channel": "whatsapp", "phone": wrote, "last_inbound_at": NOW - timedelta(hours=1)},
            {"channel": "whatsapp", "phone": stale, "last_inbound_at": NOW - timedelta(hours=25)},
        ])  # fmt: skip
    wa = Capture(refused)
    channels = {**build_channels(cfg, pm), "whatsapp": wa}
    d = Dispatcher(cfg, engine, channels, render, pm, Clock(NOW), random.Random(4))
    assert asyncio.run(d.tick()) == 3

    opened = {m.to: m.window_open for m in wa.messages}
    assert opened == {wrote: True, stale: False, refused: False}
    for m in wa.messages:
        assert m.audio_url.startswith("http://127.0.0.1:8787/audio/")
        token = m.audio_url.rsplit("/", 1)[1]
        assert audiourl.check(cfg, audiourl.secret(cfg), token, NOW) == note.resolve()
    o = schema.opt_outs
    with engine.connect() as conn:
        rows = conn.execute(select(o.c.channel, o.c.source)).all()
    assert [tuple(r) for r in rows] == [("whatsapp", "provider")]
    # that person's notice went on to SMS in the same tick
    by_to = {s["to"]: s["channel"] for s in sends(tmp_path)}
    assert by_to == {refused: "sms"}


def test_a_send_still_queued_at_its_deadline_is_not_made(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1)
    (row,) = due_notices(engine).values()
    clock = Clock(NOW)

    async def slow(facts: Any, now: datetime, audio_format: str | None) -> Any:
        clock.now = row["deadline"] + timedelta(minutes=1)  # rendering outlasted the deadline
        return await fake_render(facts, now, audio_format)

    d = dispatcher(cfg, engine, pm, slow, clock)
    asyncio.run(d.tick())
    assert sends(tmp_path) == [] and due_notices(engine)[row["id"]]["status"] == "scheduled"
    asyncio.run(d.tick())  # the next tick finds it past its deadline (the 7-day stage is due)
    (after,) = due_notices(engine).values()
    assert (after["status"], after["reason"]) == ("superseded", "deadline_passed")
    assert row["id"] not in {s["id"] for s in sends(tmp_path)}


def test_a_family_sharing_a_phone_gets_each_notice_spaced(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    family = [person(i, expiry_date=DUE, phone="0812-3456-7777", whatsapp="0812-3456-7777")
              for i in range(3)] + [person(9, expiry_date=DUE)]  # fmt: skip
    log = tmp_path / "sends.jsonl"
    cfg = make_config(family, channels={"whatsapp": channel(log, "whatsapp"),
                                        "sms": channel(log, "sms")},
                      dispatch={"same_phone_interval": 900.0})  # fmt: skip
    pm = plugins.make_manager()
    pm.register(testchannels)
    run_sync(cfg, engine, pm, NOW)
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    asyncio.run(d.tick())
    shared = [s for s in sends(tmp_path) if s["to"] == "+6281234567777"]
    assert len(shared) == 1 and len(sends(tmp_path)) == 2  # one of the family, and person 9
    waiting = [r for r in due_notices(engine).values() if r["reason"] == "same_phone_spacing"]
    assert len(waiting) == 2 and {r["due_at"] for r in waiting} == {NOW + timedelta(minutes=15)}
    clock.advance(899)
    asyncio.run(d.tick())
    assert len(sends(tmp_path)) == 2
    clock.advance(1)
    asyncio.run(d.tick())
    assert len([s for s in sends(tmp_path) if s["to"] == "+6281234567777"]) == 2
    clock.advance(900)
    asyncio.run(d.tick())
    shared = [s for s in sends(tmp_path) if s["to"] == "+6281234567777"]
    assert len(shared) == 3 and len({s["id"] for s in shared}) == 3  # each notice, once
    assert {r["status"] for r in due_notices(engine).values()} == {"sent"}


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL the engine sends to the database (BEGIN aside), as it sends it."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        if not sql.lstrip().upper().startswith("BEGIN"):
            seen.append(" ".join(sql.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_an_idle_tick_reads_once_and_claims_nothing_until_the_next_notice_is_due(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=2)
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    assert asyncio.run(d.tick()) == 2  # the 14-day notices; the 7-day ones wait a week
    assert d.watch is not None
    looks = d.watcher.looks if d.watcher is not None else 0
    with statements(engine) as seen:
        for _ in range(3):
            clock.advance(5)
            assert asyncio.run(d.tick()) == 0
    if engine.dialect.name == "sqlite":  # looked on the loop's thread, on its own connection
        assert d.watcher is not None and d.watcher.looks - looks == 3
        assert seen == []  # nothing else: no claim, no pause query, no supersede
    else:
        assert len(seen) == 3, seen  # one look a tick through the pool, nothing else
    assert not any(sql.startswith(("UPDATE", "DELETE", "INSERT")) for sql in seen)
    next_due = d.watch.next_due
    assert next_due is not None and next_due > clock.now
    clock.now = next_due
    assert asyncio.run(d.tick()) == 2  # due at last: claimed on the first tick at its time
    assert len(sends(tmp_path)) == 4


def test_the_cached_pause_state_follows_a_pause_made_by_another_process(
    tmp_path: Path, db_url: str, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=2)
    clock = Clock(NOW - timedelta(days=1))  # nothing due yet
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    asyncio.run(d.tick())
    with statements(engine) as seen:
        asyncio.run(d.tick())
    assert not any("controls.action" in sql for sql in seen)  # unchanged: not read again
    cli = store.connect(db_url)  # the CLI's own connection, as `notifyd pause` makes it
    try:
        dispatchstore.set_control(cli, "*", "pause", "ops", NOW)
        clock.now = NOW
        assert asyncio.run(d.tick()) == 0
        assert sends(tmp_path) == []
        dispatchstore.set_control(cli, "*", "resume", "ops", NOW)
        dispatchstore.set_control(cli, "sms", "pause", "ops", NOW)
        assert asyncio.run(d.tick()) == 2
        assert set(asyncio.run(d.paused())) == {"sms"}
    finally:
        cli.dispose()
    assert [s["channel"] for s in sends(tmp_path)] == ["whatsapp", "whatsapp"]


def test_renders_run_one_a_core_so_cold_notes_do_not_overrun_their_engine_timeout(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=6)
    running, most = 0, 0

    async def slow(facts: Any, now: datetime, fmt: str | None) -> Any:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1
        return await fake_render(facts, now, fmt)

    d = dispatcher(cfg, engine, pm, slow, Clock(NOW))
    d.renders = asyncio.Semaphore(2)  # as on a 2-core machine, whatever this one has
    assert asyncio.run(d.tick()) == 6
    assert most == 2
    assert len(sends(tmp_path)) == 6


# --- issue 10: what the delivery log records -------------------------------------------------


def test_each_attempt_records_the_address_it_went_to(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1, wa={"mode": "permanent"})
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(NOW)).tick())
    (nid,) = due_notices(engine)
    a = schema.attempts
    with engine.connect() as conn:
        got = conn.execute(
            select(a.c.channel, a.c.address).where(a.c.notification_id == nid).order_by(a.c.id)
        ).all()
    # WhatsApp went to the WhatsApp number, SMS to the phone: each as the provider was given it
    assert [tuple(r) for r in got] == [("whatsapp", "+6281234560000"), ("sms", "+6281234560000")]
    assert [s["to"] for s in sends(tmp_path)] == [r.address for r in got]


def test_an_attempt_goes_to_the_number_staff_corrected(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    from notifyd.db import corrections

    cfg, pm = setup(tmp_path, engine, make_config, rows=1)
    pe = schema.people
    with engine.connect() as conn:
        pid = conn.execute(select(pe.c.id)).scalar_one()
    corrections.correct(engine, pid, "whatsapp", "+6281299990000", "siti", NOW)
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(NOW)).tick())
    with engine.connect() as conn:
        address = conn.execute(select(schema.attempts.c.address)).scalar_one()
    assert address == "+6281299990000" == sends(tmp_path)[0]["to"]


@pytest.mark.parametrize(
    ("length", "kept"), [(300, 300), (2500, 2000)], ids=["whole", "cut-with-ellipsis"]
)
def test_a_long_provider_error_is_kept_whole_as_the_notices_reason(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any,
    length: int, kept: int,
) -> None:  # fmt: skip
    error = ("131026: the number is not on WhatsApp " * 100)[:length]
    perm = {"mode": "permanent", "error": error}
    cfg, pm = setup(tmp_path, engine, make_config, rows=1, wa=perm, sms=perm)
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(NOW)).tick())
    ((nid, row),) = due_notices(engine).items()
    assert row["status"] == "failed" and len(row["reason"]) == kept
    if length == kept:
        assert row["reason"] == error  # not cut at 64 characters, as it was
    else:
        assert row["reason"] == error[: kept - 1] + "…"
    a = schema.attempts
    with engine.connect() as conn:
        errors = conn.execute(select(a.c.error).where(a.c.notification_id == nid)).scalars()
        assert set(errors) == {error}  # each attempt keeps the provider's text entire


def test_a_resend_of_a_stage_not_yet_due_is_an_extra_notice_the_plan_and_sync_leave_be(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    from notifyd.db import staff

    cfg, pm = setup(tmp_path, engine, make_config, rows=1)
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    asyncio.run(d.tick())  # stage 14 goes out now
    n = schema.notifications
    with engine.connect() as conn:
        planned = conn.execute(select(n).where(n.c.stage == 7)).mappings().one()
    assert planned["due_at"] > NOW + timedelta(days=6)
    clock.advance(cfg.dispatch.same_phone_interval + 1)
    done = staff.resend(engine, planned["id"], "siti", clock())
    assert done["extra_of"] == planned["id"] and done["notice"] != planned["id"]

    def stage_7() -> list[dict[str, Any]]:
        with engine.connect() as conn:
            rows = conn.execute(select(n).where(n.c.stage == 7).order_by(n.c.extra))
            return [dict(r) for r in rows.mappings()]

    before = stage_7()
    assert before[0] == planned  # the planned notice did not move
    extra = before[1]
    assert (extra["extra"], extra["status"], extra["due_at"]) == (1, "scheduled", clock())
    assert extra["deadline"] == planned["deadline"]
    for moment in (clock(), clock() + timedelta(hours=1)):  # an unchanged and a later sync
        run_sync(cfg, engine, pm, moment)
        assert stage_7() == before
    assert asyncio.run(d.tick()) == 1
    assert [s["id"] for s in sends(tmp_path)][-1] == extra["id"]
    after = stage_7()
    assert after[0] == planned and after[1]["status"] == "sent"
    run_sync(cfg, engine, pm, clock() + timedelta(hours=2))
    assert stage_7() == after


def test_a_due_notice_held_by_a_pause_says_so_and_a_resend_makes_no_extra_notice(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    from notifyd.db import staff

    cfg, pm = setup(tmp_path, engine, make_config, rows=1)
    clock = Clock(NOW)
    d = dispatcher(cfg, engine, pm, fake_render, clock)
    dispatchstore.set_control(engine, "whatsapp", "pause", "ops", NOW)  # its first channel
    asyncio.run(d.tick())
    ((nid, row),) = due_notices(engine).items()
    assert (row["status"], row["reason"], row["due_at"]) == (
        "scheduled", "paused", NOW + timedelta(seconds=60),
    )  # fmt: skip  # its stage is due; it waits only for the pause
    done = staff.resend(engine, nid, "siti", NOW + timedelta(seconds=5))
    assert (done["notice"], done["extra_of"]) == (nid, None)  # sent again, not doubled
    assert list(due_notices(engine)) == [nid]
    dispatchstore.set_control(engine, "whatsapp", "resume", "ops", NOW)
    clock.advance(5)
    asyncio.run(d.tick())
    assert [s["id"] for s in sends(tmp_path)] == [nid]


def test_outside_the_window_a_waiting_notice_gives_its_reason(
    tmp_path: Path, engine: Engine, make_config: MakeConfig, fake_render: Any
) -> None:
    cfg, pm = setup(tmp_path, engine, make_config, rows=1)
    friday_evening = utc(2026, 12, 4, 11, 0)
    asyncio.run(dispatcher(cfg, engine, pm, fake_render, Clock(friday_evening)).tick())
    (row,) = due_notices(engine).values()
    assert row["reason"] == "outside_window"
