"""Receipts and replies applied on real SQLite and PostgreSQL, to notices a real sync made."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, select

from conftest import FRIDAY_MORNING, attempt, everything, first_notice, notice, person, send
from notifyd import plugins
from notifyd.config import Config
from notifyd.db import schema
from notifyd.db.receipts import keep_tap, take_taps, window_open
from notifyd.delivery.receipts import apply_receipts, apply_replies
from notifyd.hookspecs import Receipt, Reply
from notifyd.registry.sync import run_sync

NOW = FRIDAY_MORNING
PHONE = "+6281234560001"
CALLS = {
    "channels": {"call": {"plugin": "spool", "kind": "call"}},
    "channel_order": ["whatsapp", "sms", "call"],
}


def synced(make_config: Callable[..., Config], engine: Engine, **overrides: Any) -> Config:
    rows = [person(1, whatsapp="0812-3456-0001"), person(2, whatsapp="0812-3456-0002")]
    cfg = make_config(rows, **(overrides or CALLS))
    run_sync(cfg, engine, plugins.make_manager(), NOW)
    return cfg


def receive(engine: Engine, cfg: Config, channel: str, *receipts: Receipt, now=NOW) -> int:
    return apply_receipts(engine, channel, receipts, cfg.channel_order, now)


def test_receipts_move_attempt_and_notice_forward_and_replays_change_nothing(
    engine: Engine, make_config
) -> None:
    cfg = synced(make_config, engine)
    nid = first_notice(engine)
    aid = send(engine, nid, "whatsapp", "wamid.A")
    at = NOW + timedelta(minutes=1)
    assert receive(engine, cfg, "whatsapp", Receipt("wamid.A", "delivered", at)) == 1
    assert (notice(engine, nid)["status"], attempt(engine, aid)["receipt"]) == ("delivered",) * 2
    assert attempt(engine, aid)["receipt_at"] == at
    receive(engine, cfg, "whatsapp", Receipt("wamid.A", "read", at + timedelta(minutes=1)))
    before = everything(engine)
    replayed = [Receipt("wamid.A", "delivered", at), Receipt("wamid.A", "read", at)]
    assert receive(engine, cfg, "whatsapp", *replayed) == 0
    assert everything(engine) == before
    assert notice(engine, nid)["status"] == "read"


def test_reordered_receipts_never_move_a_status_back(engine: Engine, make_config) -> None:
    cfg = synced(make_config, engine)
    nid = first_notice(engine)
    aid = send(engine, nid, "whatsapp", "wamid.B")
    receive(engine, cfg, "whatsapp", Receipt("wamid.B", "played"), Receipt("wamid.B", "read"),
            Receipt("wamid.B", "delivered"), Receipt("wamid.B", "sent"))  # fmt: skip
    assert notice(engine, nid)["status"] == "played"
    assert attempt(engine, aid)["receipt"] == "played"


def test_unknown_ids_and_other_channels_change_nothing(engine: Engine, make_config) -> None:
    cfg = synced(make_config, engine)
    send(engine, first_notice(engine), "whatsapp", "wamid.C")
    before = everything(engine)
    assert receive(engine, cfg, "whatsapp", Receipt("wamid.nobody", "failed", error="x")) == 0
    assert receive(engine, cfg, "sms", Receipt("wamid.C", "delivered")) == 0
    assert everything(engine) == before


def test_a_late_failure_moves_the_notice_to_the_next_channel(engine: Engine, make_config) -> None:
    cfg = synced(make_config, engine)
    nid = first_notice(engine)
    aid = send(engine, nid, "whatsapp", "wamid.D")
    later = NOW + timedelta(minutes=5)
    receive(engine, cfg, "whatsapp", Receipt("wamid.D", "failed", error="131026 undeliverable"),
            now=later)  # fmt: skip
    n, a = notice(engine, nid), attempt(engine, aid)
    assert (n["status"], n["channel_pos"], n["due_at"]) == ("retrying", 1, later)
    assert (a["outcome"], a["receipt"], a["error"]) == (
        "permanent",
        "failed",
        "131026 undeliverable",
    )
    before = everything(engine)
    receive(engine, cfg, "whatsapp", Receipt("wamid.D", "failed", error="131026 undeliverable"),
            Receipt("wamid.D", "delivered"), now=later)  # fmt: skip
    assert everything(engine) == before  # a replayed failure, a contradicting late delivery


def test_busy_retries_the_same_channel_and_the_last_channel_failing_fails_the_notice(
    engine: Engine, make_config
) -> None:
    cfg = synced(make_config, engine)
    nid = first_notice(engine)
    send(engine, nid, "call", "CA1")
    receive(engine, cfg, "call", Receipt("CA1", "failed", error="busy"))
    assert (notice(engine, nid)["status"], notice(engine, nid)["channel_pos"]) == ("retrying", 2)
    send(engine, nid, "call", "CA2")
    receive(engine, cfg, "call", Receipt("CA2", "failed", error="21217 invalid number"))
    assert (notice(engine, nid)["status"], notice(engine, nid)["reason"]) == (
        "failed", "21217 invalid number"
    )  # fmt: skip


def test_a_late_failure_past_the_deadline_supersedes(engine: Engine, make_config) -> None:
    cfg = synced(make_config, engine)
    nid = first_notice(engine)
    send(engine, nid, "whatsapp", "wamid.E")
    late = notice(engine, nid)["deadline"] + timedelta(seconds=1)
    receive(engine, cfg, "whatsapp", Receipt("wamid.E", "failed", error="x"), now=late)
    assert (notice(engine, nid)["status"], notice(engine, nid)["reason"]) == (
        "superseded", "deadline_passed"
    )  # fmt: skip


def test_a_failure_after_delivery_is_recorded_on_the_attempt_only(
    engine: Engine, make_config
) -> None:
    cfg = synced(make_config, engine)
    nid = first_notice(engine)
    aid = send(engine, nid, "whatsapp", "wamid.F")
    receive(engine, cfg, "whatsapp", Receipt("wamid.F", "delivered"),
            Receipt("wamid.F", "failed", error="131047"))  # fmt: skip
    assert notice(engine, nid)["status"] == "delivered"
    assert attempt(engine, aid)["error"] == "failed after delivered: 131047"


def test_an_opt_out_receipt_records_it_and_cancels_what_only_that_channel_could_send(
    engine: Engine, make_config
) -> None:
    cfg = synced(make_config, engine)
    nid = first_notice(engine)
    send(engine, nid, "call", "SM1")
    receive(engine, cfg, "call", Receipt("SM1", "failed", error="21610 unsubscribed", opt_out=True))
    with engine.connect() as conn:
        rows = conn.execute(select(schema.opt_outs.c.channel, schema.opt_outs.c.source)).all()
    assert [tuple(r) for r in rows] == [("call", "provider")]
    # the person's other notices start on whatsapp: untouched
    assert notice(engine, first_notice(engine))["channel_pos"] == 0


def test_stop_moves_pending_notices_past_the_channel_or_cancels_them(
    engine: Engine, make_config
) -> None:
    rows = [person(1, channels="sms"), person(2, whatsapp="0812-3456-0002")]
    cfg = make_config(rows, channel_order=["sms", "whatsapp"])
    run_sync(cfg, engine, plugins.make_manager(), NOW)
    apply_replies(engine, "sms", [Reply(PHONE, text="STOP")], cfg.channel_order, NOW)
    apply_replies(engine, "sms", [Reply("+6281234560002", text="stop")], cfg.channel_order, NOW)
    assert by_person(engine) == {
        "BLT-00001": {("cancelled", "opted_out", 0)},  # sms was the only way to reach them
        "BLT-00002": {("scheduled", None, 1)},  # on to WhatsApp
    }
    with engine.connect() as conn:
        sources = conn.execute(select(schema.opt_outs.c.source)).scalars().all()
    assert sources == ["provider", "provider"]


def by_person(engine: Engine) -> dict[str, set[tuple]]:
    n, p, pe = schema.notifications, schema.permits, schema.people
    out: dict[str, set[tuple]] = {}
    with engine.connect() as conn:
        for reg, *rest in conn.execute(
            select(pe.c.registry_id, n.c.status, n.c.reason, n.c.channel_pos)
            .join(p, p.c.id == n.c.permit_id)
            .join(pe, pe.c.id == p.c.person_id)
        ):
            out.setdefault(reg, set()).add(tuple(rest))
    return out


def test_a_reply_opens_the_window_for_24_hours(engine: Engine, make_config) -> None:
    cfg = synced(make_config, engine)
    assert not window_open(engine, "whatsapp", PHONE, NOW)
    apply_replies(engine, "whatsapp", [Reply(PHONE, text="hello")], cfg.channel_order, NOW)
    assert window_open(engine, "whatsapp", PHONE, NOW + timedelta(hours=23))
    assert not window_open(engine, "whatsapp", PHONE, NOW + timedelta(hours=24))
    assert not window_open(engine, "sms", PHONE, NOW)
    earlier = NOW - timedelta(hours=20)  # a replayed old webhook does not shorten it
    apply_replies(engine, "whatsapp", [Reply(PHONE, text="hello")], cfg.channel_order, earlier)
    assert window_open(engine, "whatsapp", PHONE, NOW + timedelta(hours=23))


def test_a_listen_tap_asks_for_the_voice_note_once_and_only_from_its_person(
    engine: Engine, make_config
) -> None:
    cfg = synced(make_config, engine)
    nid = first_notice(engine)
    tap = Reply(PHONE, payload=f"listen:{nid}")
    stranger = Reply("+6281234560002", payload=f"listen:{nid}")
    assert apply_replies(engine, "whatsapp", [stranger], cfg.channel_order, NOW) == []
    assert apply_replies(engine, "whatsapp", [tap, tap], cfg.channel_order, NOW) == [nid]
    send(engine, nid, "whatsapp", "wamid.voice", kind="voice_followup")
    assert apply_replies(engine, "whatsapp", [tap], cfg.channel_order, NOW) == []


def test_taps_kept_while_paused_are_taken_once_and_only_while_still_worth_answering(
    engine: Engine, make_config
) -> None:
    synced(make_config, engine)
    nid = first_notice(engine)
    keep_tap(engine, nid, "whatsapp", NOW)
    keep_tap(engine, nid, "whatsapp", NOW + timedelta(minutes=1))  # a second tap: one kept
    assert take_taps(engine, ["sms"], NOW) == []  # another channel's taps stay
    assert take_taps(engine, ["whatsapp"], NOW + timedelta(hours=1)) == [(nid, "whatsapp")]
    assert take_taps(engine, ["whatsapp"], NOW + timedelta(hours=1)) == []  # taken once
    keep_tap(engine, nid, "whatsapp", NOW)
    # a day later the person's window is closed: dropped, not answered
    assert take_taps(engine, ["whatsapp"], NOW + timedelta(hours=25)) == []
    with engine.connect() as conn:
        assert conn.execute(select(schema.waiting_taps.c.id)).all() == []
