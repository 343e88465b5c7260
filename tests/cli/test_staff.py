"""Staff commands on a real database (SQLite and PostgreSQL): log, show, stats, status,
resend and opt-out, after a real sync and with attempts as the dispatcher records them."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from conftest import (
    FRIDAY_MORNING,
    add_attempt,
    config_dict,
    notice_ids,
    person,
    write_registry,
    write_toml,
)
from notifyd import config, plugins
from notifyd.cli.main import main
from notifyd.db import dispatch as dispatchstore
from notifyd.db import schema
from notifyd.registry.sync import run_sync

NOW = FRIDAY_MORNING  # 2026-12-04 09:30 WIB
AT = ["--now", "2026-12-04T09:30+07:00"]
LATER = ["--now", "2026-12-04T11:00+07:00"]
RLO = "\u202e"  # right-to-left override: would reverse what follows on a terminal


def sync(cfg: str, engine: Engine, now=NOW, **kw) -> None:
    """A real registry sync, as the daemon runs it."""
    report = run_sync(config.load(cfg), engine, plugins.make_manager(), now, **kw)
    assert report.status == "ok"


@pytest.fixture
def setup(tmp_path: Path, db_url: str, engine: Engine) -> tuple[str, Engine]:
    """Three people synced for real: Wang (notice due now, stage 14), a name that is a
    spreadsheet formula with a bidi override, and one who shares Wang's phone."""
    rows = [
        person(1, full_name="王伟", nationality="CN", expiry_date="2026-12-18"),
        person(2, full_name=f'=HYPERLINK("x"){RLO}evil', expiry_date="2026-12-18"),
        person(3, full_name="Li Na", expiry_date="2027-01-29", phone="0812-3456-0001"),
    ]
    registry = write_registry(tmp_path / "registry.csv", rows)
    data = {"state_dir": str(tmp_path / "state"), **config_dict(registry)}
    data["database"] = {"url": db_url}
    cfg = str(write_toml(data, tmp_path / "c.toml"))
    sync(cfg, engine)
    return cfg, engine


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def deliver_wang(engine: Engine) -> int:
    """Wang's stage-14 notice: WhatsApp fails for now, then SMS is delivered."""
    nid = notice_ids(engine, "2C11AB0001-26")[14]
    add_attempt(engine, nid, "whatsapp", "transient", NOW, error="HTTP 503 from provider")
    add_attempt(
        engine, nid, "sms", "sent", NOW + timedelta(minutes=2), status="delivered",
        provider_id="SM42", engine="espeak-ng:cmn", receipt="delivered",
        receipt_at=NOW + timedelta(minutes=3),
    )  # fmt: skip
    return nid


def test_log_lists_attempts_with_person_permit_channel_and_outcome(capsys, setup) -> None:
    cfg, engine = setup
    nid = deliver_wang(engine)
    code, out, _ = run(capsys, "log", "-c", cfg, "--format", "json", *LATER)
    rows = json.loads(out)
    tried = [r for r in rows if r["notice"] == nid]
    assert code == 0 and [r["channel"] for r in tried] == ["sms", "whatsapp"]  # newest first
    sms, wa = tried
    assert (sms["name"], sms["permit"], sms["outcome"], sms["provider_id"]) == (
        "王伟", "2C11AB0001-26", "sent", "SM42",
    )  # fmt: skip
    assert (sms["engine"], sms["receipt"], sms["status"]) == (
        "espeak-ng:cmn",
        "delivered",
        "delivered",
    )
    assert wa["error"] == "HTTP 503 from provider"


def test_log_filters_by_channel_status_person_and_since(capsys, setup) -> None:
    cfg, engine = setup
    deliver_wang(engine)
    _, out, _ = run(capsys, "log", "-c", cfg, "--channel", "whatsapp", "--format", "json", *LATER)
    assert [r["outcome"] for r in json.loads(out)] == ["transient"]
    _, out, _ = run(capsys, "log", "-c", cfg, "--person", "BLT-00002", "--format", "json", *LATER)
    assert json.loads(out) == []  # nothing tried or ended for them yet
    _, out, _ = run(capsys, "log", "-c", cfg, "--person", "2C11AB0001-26", "--format", "json",
                    *LATER)  # fmt: skip
    assert [r["channel"] for r in json.loads(out)] == ["sms", "whatsapp"]
    _, out, _ = run(capsys, "log", "-c", cfg, "--status", "scheduled", "--format", "json", *LATER)
    assert {r["status"] for r in json.loads(out)} == {"scheduled"}
    _, out, _ = run(capsys, "log", "-c", cfg, "--since", "1h", "--format", "json", *LATER)
    assert json.loads(out) == []  # the attempts were at 09:30-09:32, more than an hour ago
    _, out, _ = run(capsys, "log", "-c", cfg, "--since", "2h", "--format", "json", *LATER)
    assert len([r for r in json.loads(out) if r["channel"]]) == 2
    # A moment without an offset is the office's time (WIB): 09:31 is after the first attempt.
    _, out, _ = run(capsys, "log", "-c", cfg, "--since", "2026-12-04T09:31", "--format", "json",
                    *LATER)  # fmt: skip
    assert [r["channel"] for r in json.loads(out) if r["channel"]] == ["sms"]


def test_log_as_csv_neutralises_formulas_and_the_table_escapes_bidi(capsys, setup) -> None:
    cfg, engine = setup
    nid = notice_ids(engine, "2C11AB0002-26")[14]
    # A provider's error text is not cleaned by the sync: it may carry a bidi override.
    add_attempt(engine, nid, "whatsapp", "permanent", NOW, error=f"blocked {RLO}kcab")
    _, out, _ = run(capsys, "log", "-c", cfg, "--format", "csv", *LATER)
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert row["name"] == '\'=HYPERLINK("x")evil'  # the sync dropped the override in the name
    assert row["error"] == "blocked \\u202ekcab"
    _, table, _ = run(capsys, "log", "-c", cfg, *LATER)
    assert RLO not in table and "blocked \\u202ekcab" in table


def test_show_tells_the_whole_story_by_registry_id_or_permit(capsys, setup) -> None:
    cfg, engine = setup
    deliver_wang(engine)
    assert run(capsys, "opt-out", "-c", cfg, "BLT-00001", "--channel", "whatsapp",
               "--by", "siti", "--reason", "prefers SMS", *AT)[0] == 0  # fmt: skip
    code, out, _ = run(capsys, "show", "-c", cfg, "2C11AB0001-26", "--format", "json", *LATER)
    story = json.loads(out)
    assert code == 0 and story["person"]["full_name"] == "王伟"
    assert story["person"]["phone"] == "+6281234560001"  # staff see numbers in clear
    assert [p["permit_number"] for p in story["permits"]] == ["2C11AB0001-26"]
    assert sorted(n["stage"] for n in story["notices"]) == [0, 7, 14]
    assert [(a["channel"], a["engine"], a["receipt"]) for a in story["attempts"]] == [
        ("whatsapp", None, None), ("sms", "espeak-ng:cmn", "delivered"),
    ]  # fmt: skip
    assert [(o["channel"], o["source"], o["created_by"]) for o in story["opt_outs"]] == [
        ("whatsapp", "staff", "siti")
    ]
    assert story["actions"][0]["detail"] == "channel whatsapp: prefers SMS"
    _, table, _ = run(capsys, "show", "-c", cfg, "BLT-00001", *LATER)
    for line in ("attempt transient", "receipt delivered", "provider_id SM42", "opted out",
                 "staff: opt_out", "by siti"):  # fmt: skip
        assert line in table


def test_show_lists_cancellations_with_their_reason(capsys, setup) -> None:
    cfg, _ = setup
    run(capsys, "opt-out", "-c", cfg, "BLT-00002", *AT)
    _, out, _ = run(capsys, "show", "-c", cfg, "BLT-00002", "--format", "csv", *LATER)
    events = list(csv.DictReader(io.StringIO(out)))
    cancelled = [e for e in events if e["what"] == "cancelled"]
    assert len(cancelled) == 3 and {e["detail"] for e in cancelled} == {"reason opted_out"}


def test_show_of_an_unknown_key_says_what_to_give(capsys, setup) -> None:
    cfg, _ = setup
    code, _, err = run(capsys, "show", "-c", cfg, "NOPE-1")
    assert code == 1 and "no registry id, permit, name, phone or passport matches" in err


def test_show_and_log_find_a_person_by_name_or_phone(capsys, setup) -> None:
    cfg, engine = setup
    deliver_wang(engine)
    code, out, _ = run(capsys, "show", "-c", cfg, "li na", "--format", "json")
    assert code == 0 and json.loads(out)["person"]["registry_id"] == "BLT-00003"
    code, out, _ = run(capsys, "show", "-c", cfg, "王伟", "--format", "json")
    assert code == 0 and json.loads(out)["person"]["registry_id"] == "BLT-00001"
    code, out, _ = run(capsys, "log", "-c", cfg, "--person", "王伟", "--format", "json")
    rows = json.loads(out)
    assert code == 0 and {r["registry_id"] for r in rows} == {"BLT-00001"} and len(rows) >= 2
    # a shared phone names a family: the command lists them and asks for one registry id
    code, _, err = run(capsys, "show", "-c", cfg, "0812 3456 0001")
    assert code == 1 and "2 people match" in err and "BLT-00001" in err and "BLT-00003" in err


def test_log_filters_by_the_attempt_outcome_apart_from_the_status(capsys, setup) -> None:
    cfg, engine = setup
    deliver_wang(engine)
    code, out, _ = run(capsys, "log", "-c", cfg, "--outcome", "transient", "--format", "json")
    (row,) = json.loads(out)
    assert (row["outcome"], row["status"], row["error"]) == (
        "transient",
        "delivered",
        "HTTP 503 from provider",
    )


@pytest.mark.parametrize("option", ["--status", "--outcome"])
def test_an_unknown_status_or_outcome_is_an_error(capsys, setup, option) -> None:
    cfg, _ = setup
    with pytest.raises(SystemExit) as exit_:
        run(capsys, "log", "-c", cfg, option, "bogus")
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "invalid choice: 'bogus'" in err
    valid = "'delivered'" if option == "--status" else "'permanent'"
    assert "choose from" in err and valid in err  # the valid values are listed


def test_stats_counts_by_status_and_channel_with_the_delivery_rate(capsys, setup) -> None:
    cfg, engine = setup
    deliver_wang(engine)
    failed = notice_ids(engine, "2C11AB0002-26")[14]
    add_attempt(engine, failed, "sms", "permanent", NOW, status="failed", error="invalid number")
    code, out, _ = run(capsys, "stats", "-c", cfg, "--format", "json", *LATER)
    st = json.loads(out)
    assert code == 0 and st["by_status"]["delivered"] == 1 and st["by_status"]["failed"] == 1
    assert st["delivery_rate"] == 0.5
    assert {(r["channel"], r["outcome"]): r["attempts"] for r in st["by_channel"]} == {
        ("sms", "permanent"): 1, ("sms", "sent"): 1, ("whatsapp", "transient"): 1,
    }  # fmt: skip
    assert st["oldest_overdue"] is None  # the two due now have ended
    _, table, _ = run(capsys, "stats", "-c", cfg, *LATER)
    assert "50.0%" in table


def test_status_shows_last_sync_queue_oldest_overdue_and_last_error(capsys, setup) -> None:
    cfg, engine = setup
    deliver_wang(engine)
    code, out, _ = run(capsys, "status", "-c", cfg, *LATER)
    assert code == 0 and "ok at 2026-12-04 09:30 WIB (3 accepted, 0 rejected)" in out
    assert "delivered 1" in out and "scheduled" in out
    overdue = notice_ids(engine, "2C11AB0002-26")[14]
    assert f"notice {overdue} (scheduled), due 2026-12-04 09:30 WIB, 90 min late" in out
    assert "whatsapp" in out and "transient HTTP 503 from provider" in out
    assert "paused" in out and "nothing" in out


def test_status_says_what_is_paused_by_whom(capsys, setup) -> None:
    cfg, engine = setup
    dispatchstore.set_control(engine, "sms", "pause", "budi", NOW)
    dispatchstore.set_control(engine, "*", "pause", "siti", NOW)
    dispatchstore.set_control(engine, "*", "resume", "siti", NOW)
    _, out, _ = run(capsys, "status", "-c", cfg, *LATER)
    assert "sms by budi since 2026-12-04 09:30 WIB" in out and "all sending" not in out


def test_resend_puts_a_notice_back_due_now_and_records_who(capsys, setup) -> None:
    cfg, engine = setup
    nid = deliver_wang(engine)
    code, out, _ = run(capsys, "resend", "-c", cfg, str(nid), "--by", "siti", "--format", "json",
                       *LATER)  # fmt: skip
    assert code == 0 and json.loads(out)[0]["status"] == "retrying"
    n, sa = schema.notifications, schema.staff_actions
    with engine.connect() as conn:
        row = conn.execute(select(n).where(n.c.id == nid)).mappings().one()
        action = conn.execute(select(sa)).mappings().one()
    assert row["due_at"] == NOW + timedelta(minutes=90) and row["channel_pos"] == 0
    assert row["lease_owner"] is None and row["attempt_count"] >= 1  # the history stays
    assert (action["action"], action["actor"], action["notification_id"]) == ("resend", "siti", nid)
    assert action["at"] == NOW + timedelta(minutes=90) and action["detail"] == "was delivered"


def test_without_by_the_actor_is_who_ran_sudo(capsys, setup, monkeypatch) -> None:
    cfg, engine = setup
    monkeypatch.setenv("SUDO_USER", "dewi")
    run(capsys, "opt-out", "-c", cfg, "BLT-00002", *AT)
    with engine.connect() as conn:
        assert conn.execute(select(schema.staff_actions.c.actor)).scalar_one() == "dewi"
        assert conn.execute(select(schema.opt_outs.c.created_by)).scalar_one() == "dewi"


def test_resend_refuses_after_the_deadline_or_an_opt_out(capsys, setup) -> None:
    cfg, engine = setup
    nid = notice_ids(engine, "2C11AB0001-26")[14]  # deadline: when stage 7 is due, 11 Dec
    code, _, err = run(capsys, "resend", "-c", cfg, str(nid), "--now", "2026-12-12T10:00+07:00")
    assert code == 1 and "deadline passed" in err
    run(capsys, "opt-out", "-c", cfg, "BLT-00002", *AT)
    other = notice_ids(engine, "2C11AB0002-26")[14]
    code, _, err = run(capsys, "resend", "-c", cfg, str(other), *LATER)
    assert code == 1 and "opted out" in err and "--undo" in err
    assert run(capsys, "resend", "-c", cfg, "999999", *LATER)[0] == 1
    with engine.connect() as conn:
        assert conn.execute(select(schema.staff_actions.c.action)).scalars().all() == ["opt_out"]


def test_opt_out_by_phone_cancels_the_pending_notices_of_everyone_on_it(capsys, setup) -> None:
    cfg, engine = setup
    code, out, _ = run(capsys, "opt-out", "-c", cfg, "0812 3456 0001", "--by", "siti", *AT)
    assert code == 0 and "王伟" in out and "Li Na" in out  # a family sharing one phone
    assert "2 opt-out(s) added; 6 pending notice(s) cancelled" in out
    n = schema.notifications
    with engine.connect() as conn:
        statuses = dict(
            conn.execute(select(n.c.status, n.c.reason).where(n.c.status == "cancelled")).all()
        )
    assert statuses == {"cancelled": "opted_out"}


def test_a_channel_opt_out_keeps_notices_another_channel_can_carry(capsys, setup) -> None:
    cfg, engine = setup
    code, out, _ = run(capsys, "opt-out", "-c", cfg, "BLT-00001", "--channel", "whatsapp", *AT)
    assert code == 0 and "0 pending notice(s) cancelled" in out
    code, _, err = run(capsys, "opt-out", "-c", cfg, "BLT-00001", "--channel", "fax", *AT)
    assert code == 1 and "not a configured channel" in err


def test_a_resync_keeps_a_staff_opt_out_and_undo_lets_the_next_sync_plan_again(
    capsys, setup
) -> None:
    cfg, engine = setup
    run(capsys, "opt-out", "-c", cfg, "BLT-00003", "--by", "siti", *AT)
    sync(cfg, engine, NOW + timedelta(minutes=90))
    permit = "2C11AB0003-26"

    def statuses() -> set[str]:
        n = schema.notifications
        with engine.connect() as conn:
            ids = list(notice_ids(engine, permit).values())
            return set(conn.execute(select(n.c.status).where(n.c.id.in_(ids))).scalars())

    assert statuses() == {"cancelled"}
    code, out, _ = run(capsys, "opt-out", "-c", cfg, "BLT-00003", "--undo", "--by", "budi", *LATER)
    assert code == 0 and "1 opt-out(s) lifted" in out
    o = schema.opt_outs
    with engine.connect() as conn:
        (row,) = conn.execute(select(o)).mappings().all()  # lifted, never deleted
    assert (row["created_by"], row["lifted_by"]) == ("siti", "budi") and row["lifted_at"]
    sync(cfg, engine, NOW + timedelta(minutes=90))
    assert statuses() == {"scheduled"}


def test_undo_leaves_an_opt_out_the_registry_made(capsys, tmp_path, setup) -> None:
    cfg, engine = setup
    rows = [person(3, full_name="Li Na", expiry_date="2027-01-29", opted_out="yes")]
    run(capsys, "opt-out", "-c", cfg, "BLT-00003", *AT)
    write_registry(tmp_path / "registry.csv", rows)
    sync(cfg, engine, accept_drops=True)
    run(capsys, "opt-out", "-c", cfg, "BLT-00003", "--undo", *LATER)
    o = schema.opt_outs
    with engine.connect() as conn:
        kept = conn.execute(select(o.c.source, o.c.lifted_at).order_by(o.c.id)).all()
    assert kept == [("staff", NOW + timedelta(minutes=90)), ("registry", None)]


# --- issue 10: the address, whole reasons, resend's warning and extra notices ---------------

WANG = "+6281234560001"  # Wang's phone as stored (E.164)
LONG = "131026: message undeliverable; the recipient's phone number is not on WhatsApp. " * 4


def test_log_shows_the_address_masked_and_the_whole_reason_in_json_and_csv(capsys, setup) -> None:
    cfg, engine = setup
    nid = notice_ids(engine, "2C11AB0001-26")[14]
    add_attempt(engine, nid, "whatsapp", "permanent", NOW, address=WANG, error=LONG)
    add_attempt(engine, nid, "sms", "sent", NOW + timedelta(minutes=1), status="delivered",
                address=WANG, provider_id="SM1")  # fmt: skip
    masked = "+62" + "•" * 8 + "001"
    _, out, _ = run(capsys, "log", "-c", cfg, "--person", "BLT-00001", "--format", "json", *LATER)
    sms, wa = json.loads(out)
    assert (wa["address"], wa["error"], wa["outcome"], wa["status"]) == (
        masked, LONG, "permanent", "delivered",
    )  # fmt: skip  # the attempt's own outcome beside the notice's status now
    assert sms["address"] == masked and WANG not in out
    _, out, _ = run(capsys, "log", "-c", cfg, "--person", "BLT-00001", "--format", "csv", *LATER)
    rows = list(csv.DictReader(io.StringIO(out)))
    # "+" starts a formula in a spreadsheet: the cell is neutralised like every other
    assert [r["address"] for r in rows] == ["'" + masked] * 2 and rows[1]["error"] == LONG
    assert WANG not in out
    _, table, _ = run(capsys, "log", "-c", cfg, "--person", "BLT-00001", *LATER)
    assert "attempt outcome" in table and "notice status" in table and masked in table
    assert LONG not in table and LONG[:40] in table and WANG not in table
    assert "--format json or csv shows them whole" in table


def test_resend_of_an_address_that_failed_permanently_needs_force(capsys, setup) -> None:
    cfg, engine = setup
    nid = notice_ids(engine, "2C11AB0001-26")[14]
    add_attempt(engine, nid, "sms", "permanent", NOW, status="failed", address=WANG,
                error="21614: not a mobile number")  # fmt: skip
    n, sa = schema.notifications, schema.staff_actions
    with engine.connect() as conn:
        before = conn.execute(select(n).where(n.c.id == nid)).mappings().one()
    code, _, err = run(capsys, "resend", "-c", cfg, str(nid), "--by", "siti", *LATER)
    assert code == 1 and "sms to the same address already failed permanently" in err
    assert "21614: not a mobile number" in err and "--force" in err
    with engine.connect() as conn:  # nothing changed, nothing recorded
        assert conn.execute(select(n).where(n.c.id == nid)).mappings().one() == before
        assert conn.execute(select(sa)).first() is None
    code, out, _ = run(capsys, "resend", "-c", cfg, str(nid), "--by", "siti", "--force", *LATER)
    assert code == 0 and "warning: sent despite: sms to the same address" in out
    with engine.connect() as conn:
        row = conn.execute(select(n).where(n.c.id == nid)).mappings().one()
        action = conn.execute(select(sa)).mappings().one()
    assert (row["status"], row["attempt_count"]) == ("retrying", 1)  # the count stays
    assert "sent despite" in action["detail"]


def test_a_permanent_failure_of_an_address_no_longer_on_file_does_not_warn(capsys, setup) -> None:
    cfg, engine = setup
    nid = notice_ids(engine, "2C11AB0001-26")[14]
    add_attempt(engine, nid, "sms", "permanent", NOW, status="failed", address="+6281200000000",
                error="21614: not a mobile number")  # fmt: skip
    code, out, _ = run(capsys, "resend", "-c", cfg, str(nid), "--format", "json", *LATER)
    assert code == 0 and json.loads(out)[0]["warning"] is None


def test_resend_of_a_stage_not_yet_due_sends_an_extra_notice_and_sync_leaves_both(
    capsys, setup, tmp_path
) -> None:
    cfg, engine = setup
    planned = notice_ids(engine, "2C11AB0001-26")[7]  # due 11 Dec
    n = schema.notifications

    def stage_7() -> list[dict]:
        with engine.connect() as conn:
            same = (n.c.stage == 7, n.c.permit_id == before["permit_id"])
            rows = conn.execute(select(n).where(*same).order_by(n.c.extra))
            return [dict(r) for r in rows.mappings()]

    with engine.connect() as conn:
        before = dict(conn.execute(select(n).where(n.c.id == planned)).mappings().one())
    code, out, _ = run(capsys, "resend", "-c", cfg, str(planned), "--by", "siti", *LATER)
    assert code == 0 and f"the planned notice {planned} keeps its time" in out
    plan, extra = stage_7()
    assert plan == before
    assert (extra["extra"], extra["status"], extra["due_at"]) == (
        1, "scheduled", NOW + timedelta(minutes=90),
    )  # fmt: skip
    assert extra["deadline"] == before["deadline"] and extra["attempt_count"] == 0
    sync(cfg, engine, NOW + timedelta(hours=2))  # the registry unchanged
    assert stage_7() == [plan, extra]
    rows = [  # Wang's row changed (a new name): the sync re-plans the permit
        person(1, full_name="王伟 (WANG Wei)", nationality="CN", expiry_date="2026-12-18"),
        person(2, full_name=f'=HYPERLINK("x"){RLO}evil', expiry_date="2026-12-18"),
        person(3, full_name="Li Na", expiry_date="2027-01-29", phone="0812-3456-0001"),
    ]
    write_registry(tmp_path / "registry.csv", rows)
    sync(cfg, engine, NOW + timedelta(hours=3))
    assert stage_7() == [plan, extra]
    _, out, _ = run(capsys, "show", "-c", cfg, "BLT-00001", *LATER)
    assert "extra notice 1" in out
    with engine.connect() as conn:
        detail = conn.execute(select(schema.staff_actions.c.detail)).scalar_one()
    assert f"extra notice {extra['id']} for stage 7" in detail and f"{planned} stays due" in detail
