"""Registry sync on a real database (SQLite and PostgreSQL): DESIGN.md's sync semantics."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, func, insert, inspect, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from conftest import FRIDAY_MORNING, config_dict, person, wait_for, write_toml
from notifyd import config, plugins
from notifyd.config import Config
from notifyd.db import notices as noticedb
from notifyd.db import runs, schema, store
from notifyd.errors import ConfigError, SyncRefused
from notifyd.model import SyncReport
from notifyd.registry import packing
from notifyd.registry import sync as sync_module
from notifyd.registry.sync import CHUNK, describe_error, run_sync

NOW = FRIDAY_MORNING  # 2026-12-04 09:30 WIB


def sync(cfg: Config, engine: Engine, now=NOW, **kw) -> SyncReport:
    return run_sync(cfg, engine, plugins.make_manager(), now, **kw)


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Everything sync may change, for before/after comparisons."""
    out = {}
    with engine.connect() as conn:
        for table in (schema.people, schema.permits, schema.notifications, schema.opt_outs):
            rows = conn.execute(select(table).order_by(table.c.id)).all()
            out[table.name] = [tuple(r) for r in rows]
    return out


def notices(engine: Engine, permit_number: str) -> dict[tuple, tuple]:
    """(expiry date, stage) → (status, reason) for one permit."""
    n, p = schema.notifications, schema.permits
    with engine.connect() as conn:
        rows = conn.execute(
            select(n.c.expiry_date, n.c.stage, n.c.status, n.c.reason)
            .join(p, p.c.id == n.c.permit_id)
            .where(p.c.permit_number == permit_number)
        )
        return {(str(e), s): (st, r) for e, s, st, r in rows}


MakeConfig = Callable[..., Config]


def test_first_sync_plans_every_stage_of_every_accepted_permit(
    engine: Engine, make_config: MakeConfig
) -> None:
    rows = [person(i, expiry_date="2027-01-29") for i in range(5)]
    report = sync(make_config(rows), engine)
    assert (report.status, report.accepted, report.new, report.rejected) == ("ok", 5, 5, 0)
    assert report.planned == 15
    assert set(notices(engine, rows[0]["permit_number"]).values()) == {("scheduled", None)}
    assert noticedb.counts_by_status(engine) == {"scheduled": 15}


def test_a_second_sync_of_the_same_file_changes_nothing(
    engine: Engine, make_config: MakeConfig
) -> None:
    cfg = make_config([person(i) for i in range(20)] + [person(99, nationality="Atlantis")])
    first = sync(cfg, engine)
    before = snapshot(engine)
    second = sync(cfg, engine, now=NOW + timedelta(hours=3))
    assert snapshot(engine) == before
    assert (second.unchanged, second.new, second.changed, second.planned) == (20, 0, 0, 0)
    assert second.rejected == first.rejected == 1


def test_renewal_cancels_the_old_plan_and_plans_the_new_expiry(
    engine: Engine, make_config: MakeConfig
) -> None:
    old = person(1, expiry_date="2026-12-31")
    sync(make_config([old, person(2)]), engine)
    report = sync(make_config([{**old, "expiry_date": "31/12/2027"}, person(2)]), engine)
    assert (report.renewed, report.changed, report.unchanged) == (1, 1, 1)
    plan = notices(engine, old["permit_number"])
    assert {v for k, v in plan.items() if k[0] == "2026-12-31"} == {("cancelled", "renewed")}
    assert {v for k, v in plan.items() if k[0] == "2027-12-31"} == {("scheduled", None)}


def test_a_sent_notice_is_never_rewritten_by_a_renewal(
    engine: Engine, make_config: MakeConfig
) -> None:
    row = person(1, expiry_date="2026-12-18")  # stage 14 was due on 2026-12-04
    sync(make_config([row]), engine)
    n = schema.notifications
    with engine.begin() as conn:
        conn.execute(update(n).where(n.c.stage == 14).values(status="delivered"))
    sync(make_config([{**row, "expiry_date": "2027-06-18"}]), engine)
    assert notices(engine, row["permit_number"])[("2026-12-18", 14)] == ("delivered", None)


def test_a_permit_missing_from_the_snapshot_has_its_pending_notices_cancelled(
    engine: Engine, make_config: MakeConfig
) -> None:
    rows = [person(i) for i in range(10)]
    sync(make_config(rows), engine)
    report = sync(make_config(rows[1:]), engine)
    assert report.left == 1
    assert set(notices(engine, rows[0]["permit_number"]).values()) == {
        ("cancelled", "left_registry")
    }
    with engine.connect() as conn:
        active = conn.execute(
            select(schema.permits.c.active).where(
                schema.permits.c.permit_number == rows[0]["permit_number"]
            )
        ).scalar_one()
    assert not active
    # Back in the next export: planned again.
    sync(make_config(rows), engine)
    assert set(notices(engine, rows[0]["permit_number"]).values()) == {("scheduled", None)}


def test_a_snapshot_dropping_too_many_permits_is_refused_whole(
    engine: Engine, make_config: MakeConfig
) -> None:
    rows = [person(i) for i in range(10)]
    sync(make_config(rows), engine)
    before = snapshot(engine)
    truncated = make_config(rows[:7] + [person(50)])  # 3 of 10 gone (30 % > 20 %), one new
    with pytest.raises(SyncRefused, match=r"3 of 10 .*--accept-drops"):
        sync(truncated, engine)
    assert snapshot(engine) == before
    runs = _runs(engine)
    assert runs[-1]["status"] == "refused" and "max_drop_share" in runs[-1]["message"]
    report = sync(truncated, engine, accept_drops=True)
    assert (report.status, report.left, report.new) == ("ok", 3, 1)


def test_a_drop_within_the_configured_share_is_applied(
    engine: Engine, make_config: MakeConfig
) -> None:
    rows = [person(i) for i in range(10)]
    sync(make_config(rows, registry={"max_drop_share": 0.5}), engine)
    report = sync(make_config(rows[:6], registry={"max_drop_share": 0.5}), engine)
    assert (report.status, report.left) == ("ok", 4)


def test_bad_rows_are_kept_with_line_and_every_reason_and_never_stop_the_sync(
    engine: Engine, make_config: MakeConfig
) -> None:
    rows = [
        person(1),
        person(2, nationality="Atlantis", expiry_date="31/02/2027", phone="123"),
        person(3),
    ]
    report = sync(make_config(rows), engine)
    assert (report.accepted, report.rejected) == (2, 1)
    (bad,) = [r for r in runs.rejected(engine, report.run_id) if r["rejected"] == "row"]
    assert bad["line"] == 3  # the header is line 1
    assert bad["registry_id"] == rows[1]["registry_id"]
    fields = [reason.split(":")[0] for reason in bad["reasons"]]
    assert {"nationality", "expiry_date", "no channel can reach this person (sms"} <= set(fields)
    with engine.connect() as conn:
        raw = conn.execute(select(schema.rejected_rows.c.raw)).scalar_one()
    assert json.loads(raw)["nationality"] == "Atlantis"


def test_a_permit_number_twice_rejects_the_second_row_naming_the_first(
    engine: Engine, make_config: MakeConfig
) -> None:
    rows = [person(1), person(2), person(3, permit_number=person(1)["permit_number"])]
    report = sync(make_config(rows), engine)
    assert (report.accepted, report.rejected) == (2, 1)
    (dup,) = runs.rejected(engine, report.run_id)
    assert dup["line"] == 4 and "already on line 2" in dup["reasons"][0]


def test_a_duplicate_across_chunks_is_caught(engine: Engine, make_config: MakeConfig) -> None:
    rows = [person(i, phone="") for i in range(CHUNK + 5)]
    rows = [{**r, "channels": "", "whatsapp": "+62 812 3456 7890"} for r in rows]
    rows.append({**rows[0], "registry_id": "OTHER"})
    report = sync(make_config(rows), engine, workers=0)
    assert report.rejected == 1
    assert "already on line 2" in runs.rejected(engine, report.run_id)[0]["reasons"][0]


def test_a_channel_a_number_cannot_receive_is_dropped_with_its_reason(
    engine: Engine, make_config: MakeConfig
) -> None:
    landline = person(1, phone="+62 21 5795 1234", whatsapp="+62 812 3456 7890")
    report = sync(make_config([landline]), engine)
    assert report.accepted == 1
    (warning,) = runs.rejected(engine, report.run_id)
    assert warning["rejected"] == "channels"
    assert warning["reasons"][0].startswith("sms: the phone column holds +62215795")
    with engine.connect() as conn:
        channels = conn.execute(select(schema.people.c.channels)).scalar_one()
    assert channels == "whatsapp"


def test_registry_opt_out_cancels_and_clearing_it_plans_again(
    engine: Engine, make_config: MakeConfig
) -> None:
    row = person(1)
    sync(make_config([{**row, "opted_out": "ya"}]), engine)
    assert set(notices(engine, row["permit_number"]).values()) == {("cancelled", "opted_out")}
    sync(make_config([row]), engine)
    assert set(notices(engine, row["permit_number"]).values()) == {("scheduled", None)}


def test_the_registry_never_lifts_an_opt_out_made_by_staff(
    engine: Engine, make_config: MakeConfig
) -> None:
    row = person(1)
    sync(make_config([row]), engine)
    with engine.begin() as conn:
        pid = conn.execute(select(schema.people.c.id)).scalar_one()
        conn.execute(
            insert(schema.opt_outs).values(
                person_id=pid, channel="*", source="staff", created_at=NOW, created_by="ani"
            )
        )
    sync(make_config([{**row, "phone": "0812-9999-0000"}]), engine)  # a change re-plans
    assert set(notices(engine, row["permit_number"]).values()) == {("cancelled", "opted_out")}
    with engine.connect() as conn:
        lifted = conn.execute(select(schema.opt_outs.c.lifted_at)).scalar_one()
    assert lifted is None


def test_opting_out_of_every_channel_of_a_person_is_a_total_opt_out(
    engine: Engine, make_config: MakeConfig
) -> None:
    row = person(1, channels="sms", opted_out="sms")
    sync(make_config([row]), engine)
    assert set(notices(engine, row["permit_number"]).values()) == {("cancelled", "opted_out")}


def test_changing_the_stages_replans_every_permit(engine: Engine, make_config: MakeConfig) -> None:
    row = person(1, expiry_date="2027-03-31")
    sync(make_config([row]), engine)
    report = sync(make_config([row], planner={"stages": [30, 14, 0]}), engine)
    assert report.changed == 1
    plan = notices(engine, row["permit_number"])
    assert plan[("2027-03-31", 30)] == ("scheduled", None)
    assert plan[("2027-03-31", 7)] == ("cancelled", "stage_removed")


def test_a_late_registration_gets_one_catch_up_for_the_most_recent_missed_stage(
    engine: Engine, make_config: MakeConfig
) -> None:
    row = person(1, expiry_date="2026-12-10")  # stage 14 (11-26) and 7 (12-03) are past
    sync(make_config([row]), engine)
    plan = notices(engine, row["permit_number"])
    assert plan[("2026-12-10", 14)] == ("superseded", "missed")
    assert plan[("2026-12-10", 7)] == ("scheduled", None)
    with engine.connect() as conn:
        due = conn.execute(
            select(schema.notifications.c.due_at).where(schema.notifications.c.stage == 7)
        ).scalar_one()
    assert due == NOW  # the window is open: now


def test_workers_give_the_same_result_as_inline(
    make_config: MakeConfig, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(packing, "POOL_AFTER", CHUNK // 2)  # start workers early
    rows = [person(i, nationality=["AU", "CN", "Japan", "DEU"][i % 4]) for i in range(CHUNK * 2)]
    rows[7]["nationality"] = "Atlantis"
    results = []
    for workers in (0, 1):
        engine = store.open_store(f"sqlite:///{tmp_path / f'w{workers}.db'}")
        report = sync(make_config(rows), engine, workers=workers)
        results.append((report.accepted, report.rejected, snapshot_values(engine)))
        engine.dispose()
    assert results[0] == results[1]
    assert results[0][:2] == (CHUNK * 2 - 1, 1)


@pytest.mark.parametrize("rows_travel", [True, False], ids=["rows built in workers", "by writer"])
def test_a_first_sync_in_workers_finds_repeated_numbers_in_line_order_as_inline(
    make_config: MakeConfig, tmp_path, monkeypatch, rows_travel: bool
) -> None:
    """A first sync's rows are built and normalised in the workers (the CSV source's `make`
    pickles), its repeats found after, in line order; a source whose `make` does not pickle
    has its rows built by the writer. Either way: what an inline sync gives."""
    monkeypatch.setattr(packing, "POOL_AFTER", CHUNK // 2)
    if not rows_travel:
        monkeypatch.setattr(sync_module, "pickles", lambda make: False)
    rows = [person(i) for i in range(CHUNK * 2 + 10)]
    rows[3]["nationality"] = "Atlantis"  # rejected, and still the first line of its number
    rows[CHUNK + 5]["permit_number"] = rows[3]["permit_number"]  # a repeat in a later chunk
    rows[20]["permit_number"] = rows[19]["permit_number"].lower()  # in the same chunk
    results = []
    for workers in (0, 1):
        engine = store.open_store(f"sqlite:///{tmp_path / f'w{workers}{rows_travel}.db'}")
        report = sync(make_config(rows), engine, workers=workers)
        rejected = [(r["line"], r["reasons"]) for r in runs.rejected(engine, report.run_id)]
        results.append((report.accepted, report.rejected, rejected, snapshot_values(engine)))
        engine.dispose()
    assert results[0] == results[1]
    accepted, rejected, reasons, _ = results[1]
    assert (accepted, rejected) == (CHUNK * 2 + 10 - 3, 3)
    assert [line for line, _ in reasons] == [5, 22, CHUNK + 7]
    assert "already on line 21" in reasons[1][1][0]
    assert "already on line 5" in reasons[2][1][0]


def test_a_first_sync_again_after_nothing_was_accepted_keeps_its_repeats(
    engine: Engine, make_config: MakeConfig
) -> None:
    """The store is still empty after a snapshot of rejected rows only: the next sync is a
    first sync again, which keeps an unchanged rejected line's reasons without judging it,
    and still makes a later line with its number a repeat."""
    bad = person(1, nationality="Atlantis")
    twin = person(2, permit_number=bad["permit_number"])
    before = sync(make_config([bad, twin]), engine)
    again = sync(make_config([bad, twin]), engine)
    assert (before.accepted, before.rejected) == (again.accepted, again.rejected) == (0, 2)
    reasons = {r["line"]: r["reasons"] for r in runs.rejected(engine, again.run_id)}
    assert "nationality" in reasons[2][0]
    assert "already on line 2" in reasons[3][0]


def snapshot_values(engine: Engine) -> list[tuple]:
    n, p = schema.notifications, schema.permits
    with engine.connect() as conn:
        return conn.execute(
            select(p.c.permit_number, n.c.stage, n.c.status, n.c.due_at)
            .join(p, p.c.id == n.c.permit_id)
            .order_by(p.c.permit_number, n.c.stage)
        ).all()


def _runs(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(select(schema.sync_runs).order_by(schema.sync_runs.c.id))
            .mappings()
            .all()
        ]


def test_a_database_error_is_described_without_the_rows_personal_data(engine: Engine) -> None:
    row = {"registry_id": None, "full_name": "Wang Wei", "nationality": "CN", "language": "zh",
           "phone": "+6281234567890", "created_at": NOW, "updated_at": NOW}  # fmt: skip
    with pytest.raises(IntegrityError) as info, engine.begin() as conn:
        conn.execute(insert(schema.people).values(**row))
    assert "Wang Wei" in str(info.value)  # SQLAlchemy's own message carries the parameters
    text = describe_error(info.value)
    assert text.startswith("IntegrityError: ") and "null" in text.lower()
    assert "Wang Wei" not in text and "6281234567890" not in text


def test_instants_are_utc_whatever_the_postgresql_sessions_time_zone(
    db_url: str, make_config: MakeConfig
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL session setting; SQLite has no session time zone")
    jakarta = make_url(db_url).update_query_dict({"options": "-c timezone=Asia/Jakarta"})
    engine = store.open_store(jakarta.render_as_string(hide_password=False))
    row = person(1, expiry_date="2027-01-29")  # a Friday: stage 14 due Fri 2027-01-15
    sync(make_config([row]), engine)
    with engine.connect() as conn:
        zone = conn.exec_driver_sql("SHOW timezone").scalar_one()
        due = conn.execute(
            select(schema.notifications.c.due_at).where(schema.notifications.c.stage == 14)
        ).scalar_one()
    engine.dispose()
    assert zone == "Asia/Jakarta"
    assert due == datetime(2027, 1, 15, 2, 0, tzinfo=UTC)  # 09:00 WIB


def test_a_first_sync_leaves_the_schema_whole(engine: Engine, make_config: MakeConfig) -> None:
    """The first sync builds the notices' (status, due_at) index at its end, not row by row."""
    sync(make_config([person(i) for i in range(3)]), engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": schema.compare_type, "include_name": schema.include_name}
        )
        assert compare_metadata(context, schema.metadata) == []
    indexes = {tuple(i["column_names"]) for i in inspect(engine).get_indexes("notifications")}
    assert ("status", "due_at") in indexes


# --- an office's own export, through the config alone (issue 13) --------------------------------

OFFICE_EXPORT = Path(__file__).parent.parent / "data" / "ekspor_kantor.csv"
OFFICE_COLUMNS = {
    "registry_id": ["Kode Kantor", "No. Register"],
    "office": "Kode Kantor",  # one column feeds two fields
    "full_name": "Nama",
    "passport_number": "No. Paspor",
    "nationality": "Kewarganegaraan",
    "phone": "No. HP",
    "expiry_date": "Tanggal Habis Berlaku",
    "permit_type": "Jenis Izin",
    "permit_number": "No. Izin Tinggal",
}


def office_config(tmp_path: Path, export: Path = OFFICE_EXPORT, **registry: Any) -> Config:
    data = config_dict(export, state_dir=str(tmp_path / "state"))
    data["registry"].update({"delimiter": ";", "columns": OFFICE_COLUMNS, **registry})
    return config.parse(data)


def resorted(tmp_path: Path, key: Callable[[list[str]], Any]) -> Path:
    """The office's export sorted anew, its "No." column renumbered as a spreadsheet would."""
    with open(OFFICE_EXPORT, encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f, delimiter=";"))
    rows.sort(key=key)
    for i, row in enumerate(rows, start=1):
        row[0] = str(i)
    path = tmp_path / "ekspor_urut_nama.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, delimiter=";").writerows([header, *rows])
    return path


def people(engine: Engine) -> dict[str, tuple]:
    p = schema.people
    with engine.connect() as conn:
        rows = conn.execute(
            select(p.c.registry_id, p.c.full_name, p.c.nationality, p.c.phone, p.c.channels)
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def test_an_office_export_is_accepted_through_config_alone(engine: Engine, tmp_path: Path) -> None:
    report = sync(office_config(tmp_path), engine)
    assert (report.status, report.rows, report.accepted, report.rejected) == ("ok", 12, 10, 2)
    stored = people(engine)
    assert stored == {
        "BLT-0001": ("Wang Wei", "CN", "+6281234560001", "sms"),
        "BLT-0002": ("John Smith", "US", "+6281234560002", "sms"),
        "BLT-0003": ("Kim Min-jun", "KR", "+6281234560003", "sms"),
        "BLT-0004": ("Hans Müller", "DE", "+6281234560004", "sms"),
        "BLT-0005": ("Abdullah Al-Saud", "SA", "+6281234560005", "sms"),
        "BLT-0006": ("Oliver Brown", "GB", "+6281234560006", "sms"),
        "BLT-0007": ("Ivan Petrov", "RU", "+6281234560007", "sms"),
        "BLT-0008": ("Maria Santos", "PH", "+6281234560008", "sms"),
        "BLT-0009": ("Claire Dubois", "FR", "+6281234560009", "sms"),
        "BLT-0012": ("Sophie Martin", "FR", "+6281234560012", "sms"),
    }
    p = schema.permits
    with engine.connect() as conn:
        expiry = dict(conn.execute(select(p.c.permit_number, p.c.expiry_date)).all())
        types = dict(conn.execute(select(p.c.permit_number, p.c.permit_type)).all())
    assert {k[6:10]: str(v) for k, v in expiry.items()} == {
        "0001": "2026-12-31", "0002": "2026-12-05", "0003": "2026-12-05", "0004": "2027-01-14",
        "0005": "2027-02-28", "0006": "2027-08-17", "0007": "2027-05-01", "0008": "2027-01-31",
        "0009": "2027-03-20", "0012": "2027-10-15",
    }  # fmt: skip
    assert types["2C21AB0003-26"] == "ITAP"
    rejected = {r["line"]: r["reasons"] for r in runs.rejected(engine, report.run_id)}
    assert set(rejected) == {11, 12}
    assert "no channel can reach this person" in " ".join(rejected[11])
    assert "expiry_date: '31 Februari 2027' is not a date" in " ".join(rejected[12])
    # no WhatsApp column: said with counts, not silently dropped
    assert (report.people, report.reach) == (10, {"whatsapp": 0, "sms": 10})
    (warning,) = report.warnings
    assert "'whatsapp' can reach none of 10 people" in warning


def test_a_resorted_office_export_changes_nobodys_identity(engine: Engine, tmp_path: Path) -> None:
    sync(office_config(tmp_path), engine)
    before = people(engine)
    by_name = resorted(tmp_path, key=lambda row: row[3])
    again = sync(office_config(tmp_path, by_name), engine, now=NOW + timedelta(hours=1))
    assert (again.status, again.new, again.changed, again.unchanged) == ("ok", 0, 0, 10)
    assert people(engine) == before


def test_a_row_number_as_registry_id_is_refused_with_the_way_out(
    engine: Engine, tmp_path: Path
) -> None:
    columns = {**OFFICE_COLUMNS, "registry_id": "No."}
    with pytest.raises(SyncRefused, match="equals the row number on all 12 rows") as info:
        sync(office_config(tmp_path, columns=columns), engine)
    assert "registry.sequential_ids_ok" in str(info.value)
    assert people(engine) == {}


def test_ids_that_move_between_people_are_refused_like_a_mass_drop(
    engine: Engine, tmp_path: Path
) -> None:
    columns = {**OFFICE_COLUMNS, "registry_id": "No."}
    sync(office_config(tmp_path, columns=columns, sequential_ids_ok=True), engine)
    before = snapshot(engine)
    by_name = resorted(tmp_path, key=lambda row: row[3])
    cfg = office_config(tmp_path, by_name, columns=columns, sequential_ids_ok=True)
    with pytest.raises(SyncRefused, match="another name and another passport") as info:
        sync(cfg, engine, now=NOW + timedelta(hours=1))
    assert "--accept-identity-changes" in str(info.value)
    assert snapshot(engine) == before
    applied = sync(cfg, engine, now=NOW + timedelta(hours=2), accept_identities=True)
    assert applied.status == "ok" and applied.moved >= 2


def test_one_person_renamed_with_a_new_passport_is_no_mass_change(
    engine: Engine, make_config: MakeConfig
) -> None:
    rows = [person(i) for i in range(10)]
    sync(make_config(rows), engine)
    rows[3] = person(3, full_name="Renamed Person", passport_number="NEW123")
    report = sync(make_config(rows), engine, now=NOW + timedelta(hours=1))
    assert (report.status, report.moved, report.changed) == ("ok", 1, 1)


def test_a_source_that_cannot_be_opened_leaves_no_run(
    engine: Engine, make_config: MakeConfig, tmp_path: Path
) -> None:
    cfg = make_config([person(1)], registry={"path": str(tmp_path / "gone.csv")})
    with pytest.raises(ConfigError, match="cannot open"):
        sync(cfg, engine)
    assert runs.last_run_id(engine) is None
    report = sync(make_config([person(1)]), engine)
    assert report.run_id == 1  # the failed attempt used up no run number


def test_the_example_configs_indonesian_mapping_reads_the_office_export(
    engine: Engine, tmp_path: Path
) -> None:
    """The commented [registry.columns] of config/notifyd.example.toml, uncommented, is all an
    office with this export needs: the README's first-install section relies on it."""
    import tomllib

    text = (Path(__file__).parents[2] / "config" / "notifyd.example.toml").read_text()
    block = text.split("[registry.columns]\n", 1)[1].split("\n\n", 1)[0]
    lines = [ln.removeprefix("# ").split("  #")[0] for ln in block.splitlines()]
    columns = tomllib.loads("\n".join(lines))
    assert columns["registry_id"] == ["Kode Kantor", "No. Register"]
    report = sync(office_config(tmp_path, columns=columns), engine)
    assert (report.accepted, report.rejected) == (10, 2)
    assert "BLT-0001" in people(engine)


# --- issue 15: a sync whose cost follows what changed ---------------------------------------


def test_a_run_records_when_it_really_finished(engine: Engine, make_config: MakeConfig) -> None:
    began = time.monotonic()
    report = sync(make_config([person(i) for i in range(3)]), engine)
    took = timedelta(seconds=time.monotonic() - began)
    run = runs.run(engine, report.run_id)
    assert run is not None
    assert run["started_at"] == NOW
    assert NOW < run["finished_at"] <= NOW + took


def _whole_rejections(engine: Engine) -> list[tuple]:
    r = schema.rejected_rows
    with engine.connect() as conn:
        return conn.execute(
            select(r.c.id, r.c.run_id, r.c.line).where(r.c.whole_row.is_(True)).order_by(r.c.id)
        ).all()


def test_an_unchanged_rejected_line_is_kept_not_judged_again(
    engine: Engine, make_config: MakeConfig, monkeypatch
) -> None:
    rows = [person(i) for i in range(4)] + [person(9, nationality="Atlantis")]
    first = sync(make_config(rows), engine)
    (kept,) = _whole_rejections(engine)
    judged: list[int] = []
    real = packing.normalise
    monkeypatch.setattr(packing, "normalise", lambda r, rules: judged.append(r.line) or
                        real(r, rules))  # fmt: skip
    rows.insert(0, person(20))  # the rejected line moves down by one
    again = sync(make_config(rows), engine, now=NOW + timedelta(hours=1), workers=0)
    assert judged == [2]  # only the new line
    assert (again.rejected, again.reasons) == (1, first.reasons)
    assert _whole_rejections(engine) == [(kept[0], again.run_id, 7)]  # the same row, moved
    (shown,) = runs.rejected(engine, again.run_id)
    assert (shown["line"], shown["permit_number"]) == (7, "2C11AB0009-26")
    assert "nationality: 'Atlantis' is not a country" in shown["reasons"][0]


def test_a_rejected_line_is_judged_again_when_it_or_the_config_changes(
    engine: Engine, make_config: MakeConfig
) -> None:
    rows = [person(i) for i in range(4)] + [person(9, nationality="Atlantis")]
    sync(make_config(rows), engine)
    aliased = make_config(rows, registry={"nationality_aliases": {"Atlantis": "AU"}})
    again = sync(aliased, engine, now=NOW + timedelta(hours=1))
    assert (again.rejected, again.new) == (0, 1)  # the config that judged it changed
    rows[4] = person(9, nationality="Atlantis", full_name="Someone Else")
    third = sync(make_config(rows), engine, now=NOW + timedelta(hours=2))
    assert third.rejected == 1
    assert runs.rejected(engine, third.run_id)[0]["line"] == 6
    rows[4] = person(9)
    fourth = sync(make_config(rows), engine, now=NOW + timedelta(hours=3))
    assert (fourth.rejected, runs.rejected(engine, fourth.run_id)) == (0, [])
    r = schema.rejected_rows
    with engine.connect() as conn:  # no longer live: a later sync would not move it
        live = conn.execute(select(r.c.id).where(r.c.row_hash.is_not(None))).all()
    assert live == []


def test_a_line_repeating_a_permit_met_unchanged_is_still_the_duplicate(
    engine: Engine, make_config: MakeConfig
) -> None:
    rows = [person(i) for i in range(5)]
    sync(make_config(rows), engine)
    later = [*rows, person(2, full_name="Changed Later")]  # unchanged first, changed after
    report = sync(make_config(later), engine, now=NOW + timedelta(hours=1))
    assert (report.unchanged, report.changed, report.rejected) == (5, 0, 1)
    (dup,) = runs.rejected(engine, report.run_id)
    assert dup["line"] == 7
    assert "'2C11AB0002-26' is already on line 4" in dup["reasons"][0]
    earlier = [person(2, full_name="Changed First"), *rows]  # changed first, unchanged after
    report = sync(make_config(earlier), engine, now=NOW + timedelta(hours=2))
    assert (report.unchanged, report.changed, report.rejected) == (4, 1, 1)
    (dup,) = runs.rejected(engine, report.run_id)
    assert dup["line"] == 5
    assert "'2C11AB0002-26' is already on line 2" in dup["reasons"][0]
    with engine.connect() as conn:
        name = conn.execute(
            select(schema.people.c.full_name).where(schema.people.c.registry_id == "BLT-00002")
        ).scalar_one()
    assert name == "Changed First"


def test_a_first_sync_meeting_a_person_again_in_a_later_chunk_keeps_one_person(
    engine: Engine, make_config: MakeConfig
) -> None:
    rows = [person(i) for i in range(CHUNK + 3)]
    rows[-1] = person(CHUNK + 2, registry_id="BLT-00001", full_name="Person 1",
                      passport_number="PA0000001")  # fmt: skip
    report = sync(make_config(rows), engine)
    assert (report.new, report.moved) == (CHUNK + 3, 0)
    p, pm = schema.people, schema.permits
    with engine.connect() as conn:
        owners = conn.execute(
            select(pm.c.person_id).join(p, p.c.id == pm.c.person_id)
            .where(p.c.registry_id == "BLT-00001")
        ).scalars().all()  # fmt: skip
        assert conn.execute(select(func.count()).select_from(p)).scalar_one() == CHUNK + 2
    assert len(owners) == 2 and len(set(owners)) == 1
    again = sync(make_config(rows), engine, now=NOW + timedelta(hours=1))
    assert (again.unchanged, again.new, again.changed) == (CHUNK + 3, 0, 0)
    add_person_later = [*rows, person(CHUNK + 9)]  # ids the first sync gave do not collide
    third = sync(make_config(add_person_later), engine, now=NOW + timedelta(hours=2))
    assert (third.new, third.unchanged) == (1, CHUNK + 3)


def test_sync_leaves_no_process_behind(make_config: MakeConfig, tmp_path: Path) -> None:
    """`notifyd sync` with its worker pool started: nothing it started outlives it."""
    rows = [person(i) for i in range(40)]
    cfg = make_config(rows, database={"url": f"sqlite:///{tmp_path / 'sub.db'}"})
    data = config_dict(
        cfg.registry.path, database={"url": cfg.database.url}, state_dir=str(tmp_path / "state")
    )
    path = write_toml(data, tmp_path / "c.toml")
    mark = uuid.uuid4().hex
    code = (
        "import sys; from notifyd.registry import packing; packing.POOL_AFTER = 10; "
        "from notifyd.cli.main import main; sys.exit(main(sys.argv[1:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "-c", str(path), "sync"],
        env={**os.environ, "NOTIFYD_TEST_MARK": mark}, capture_output=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()
    left = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if proc.environ().get("NOTIFYD_TEST_MARK") == mark:
                left.append(proc.info)
        except psutil.Error:
            continue
    assert left == []


def test_a_killed_sync_leaves_no_worker_behind(make_config: MakeConfig, tmp_path: Path) -> None:
    """`notifyd sync` killed while its worker pool runs: the worker and the resource tracker
    leave too (a kill allows no clean-up in the killed process itself)."""
    rows = [person(i) for i in range(40)]
    cfg = make_config(rows)
    data = config_dict(
        cfg.registry.path,
        database={"url": f"sqlite:///{tmp_path / 'killed.db'}"},
        state_dir=str(tmp_path / "state"),
    )
    path = write_toml(data, tmp_path / "c.toml")
    mark = uuid.uuid4().hex
    code = (  # the first chunk's results are never collected: the sync waits with its pool up
        "import sys, time; from notifyd.registry import packing, sync; packing.POOL_AFTER = 10; "
        "sync._write = lambda *a, **k: time.sleep(600); "
        "from notifyd.cli.main import main; sys.exit(main(sys.argv[1:]))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "-c", str(path), "sync"],
        env={**os.environ, "NOTIFYD_TEST_MARK": mark},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        parent = psutil.Process(proc.pid)
        wait_for(lambda: any("spawn_main" in " ".join(c.cmdline()) for c in
                             parent.children(recursive=True)), 60, "the worker")  # fmt: skip
    finally:
        proc.kill()
        proc.wait()
    wait_for(lambda: _marked(mark) == [], 30, "the worker and the tracker to leave")


def _marked(mark: str) -> list[int]:
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("NOTIFYD_TEST_MARK") == mark:
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


# --- issue 15, stop 18: integer row keys, raw lines ---------------------------------------


def test_row_keys_are_the_row_hashes_as_signed_64_bit_integers(
    engine: Engine, make_config: MakeConfig
) -> None:
    """permits.row_key round-trips the full signed range on SQLite and PostgreSQL (BIGINT),
    and is what the next sync finds every unchanged line by."""
    from notifyd.db.sync_known import active_hashes, hash_key

    cfg = make_config([person(i) for i in range(40)])
    sync(cfg, engine)
    p = schema.permits
    with engine.connect() as conn:
        rows = conn.execute(select(p.c.row_hash, p.c.row_key)).all()
        table = active_hashes(conn)
    assert len(rows) == 40 and all(key == hash_key(text) for text, key in rows)
    keys = sorted(key for _, key in rows)
    assert keys[0] < 0 < keys[-1]  # both halves of the range (40 random hashes)
    assert table.keys.tolist() == keys and len(table.unhashed) == 0
    again = sync(cfg, engine, now=NOW + timedelta(hours=1))
    assert (again.unchanged, again.changed, again.new) == (40, 0, 0)


def test_the_active_keys_are_read_whole_and_in_order_across_pages(
    engine: Engine, make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The active permits' keys come in (key, id) order whatever the page size: keys shared by
    several permits across a page's end, the extremes of the signed range, permits without a
    key (read again) and retired ones (not at all)."""
    from notifyd.db import sync_known

    sync(make_config([person(i) for i in range(30)]), engine)
    p = schema.permits
    with engine.begin() as conn:
        ids = sorted(conn.execute(select(p.c.id)).scalars())
        given = {ids[0]: -(1 << 63), ids[1]: (1 << 63) - 1, ids[2]: None, ids[3]: None}
        given |= dict.fromkeys(ids[4:12], 7) | dict.fromkeys(ids[12:15], -7)
        for pid, key in given.items():
            conn.execute(update(p).where(p.c.id == pid).values(row_key=key))
        conn.execute(update(p).where(p.c.id.in_(ids[20:23])).values(active=False))
        expected = sorted(
            (key, pid)
            for pid, key in conn.execute(
                select(p.c.id, p.c.row_key).where(p.c.active.is_(True), p.c.row_key.is_not(None))
            )
        )
        for size in (1, 3, 4, 100):
            monkeypatch.setattr(sync_known, "PAGE", size)
            table = sync_known.active_hashes(conn)
            got = list(zip(table.keys.tolist(), table.ids.tolist(), strict=True))
            if engine.dialect.name == "sqlite":  # the index's own order: ties by id
                assert got == expected
            else:
                assert sorted(got) == expected and table.keys.tolist() == [k for k, _ in expected]
            assert sorted(table.unhashed.tolist()) == ids[2:4] and len(got) == 30 - 2 - 3


def test_a_permit_without_a_row_key_is_read_again_and_gets_one(
    engine: Engine, make_config: MakeConfig
) -> None:
    rows = [person(i) for i in range(5)]
    cfg = make_config(rows)
    sync(cfg, engine)
    p = schema.permits
    with engine.begin() as conn:  # as staff's opt-out undo, or a database from before 0019
        conn.execute(
            update(p).where(p.c.permit_number == rows[0]["permit_number"]).values(row_key=None)
        )
    again = sync(cfg, engine, now=NOW + timedelta(hours=1))
    assert again.unchanged == 5 and again.left == 0  # read again, compared in SQL: the same
    with engine.connect() as conn:
        assert None not in conn.execute(select(p.c.row_key)).scalars().all()


def test_line_endings_changed_from_crlf_to_lf_leave_every_line_unchanged(
    engine: Engine, make_config: MakeConfig
) -> None:
    rows = [person(i) for i in range(6)] + [person(6, full_name='Jane "JJ"\nDoe')]
    cfg = make_config(rows)  # csv's own line ends: "\r\n"
    sync(cfg, engine)
    path = Path(cfg.registry.path)
    text = path.read_bytes()
    assert text.count(b"\r\n") == 8 and b'JJ""\nDoe' in text
    path.write_bytes(text.replace(b"\r\n", b"\n"))  # saved again by another program
    again = sync(cfg, engine, now=NOW + timedelta(hours=1))
    assert (again.unchanged, again.changed, again.new) == (7, 0, 0)
    path.write_bytes(text.replace(b"Person 3,", b"Person Three,"))
    third = sync(cfg, engine, now=NOW + timedelta(hours=2))
    assert (third.unchanged, third.changed) == (6, 1)


def test_a_row_number_column_no_field_reads_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    """With a column no field reads (a running row number), lines are hashed by the cells
    that feed some field: renumbering the rows is no change."""
    rows = [person(i) for i in range(8)]

    def export(numbers: list[int]) -> Config:
        path = tmp_path / "numbered.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["No.", *rows[0]])
            writer.writerows([n, *r.values()] for n, r in zip(numbers, rows, strict=True))
        data = config_dict(path)
        data["state_dir"] = str(tmp_path / "state")
        return config.parse(data)

    sync(export(list(range(1, 9))), engine)
    again = sync(export(list(range(101, 109))), engine, now=NOW + timedelta(hours=1))
    assert (again.unchanged, again.changed, again.new) == (8, 0, 0)


@pytest.mark.parametrize("span", [1, 25])
def test_a_repeat_across_chunks_is_the_same_duplicate_however_many_chunks_are_staged_together(
    engine: Engine, make_config: MakeConfig, monkeypatch: pytest.MonkeyPatch, span: int
) -> None:
    """A re-sync stages the changed lines of up to SPAN chunks together; a permit met once
    changed and once unchanged, in different chunks, still keeps its first line."""
    monkeypatch.setattr(sync_module, "SPAN", span)
    rows = [person(i) for i in range(2 * CHUNK)]
    sync(make_config(rows), engine)
    twin = CHUNK + 5  # its unchanged line is in the second chunk
    earlier = [person(twin, full_name="Changed First"), *rows]
    report = sync(make_config(earlier), engine, now=NOW + timedelta(hours=1))
    assert (report.unchanged, report.changed, report.rejected) == (2 * CHUNK - 1, 1, 1)
    (dup,) = runs.rejected(engine, report.run_id)
    assert dup["line"] == twin + 3 and "is already on line 2" in dup["reasons"][0]
    later = [*rows, person(3, full_name="Changed Later")]
    report = sync(make_config(later), engine, now=NOW + timedelta(hours=2))
    assert (report.unchanged, report.changed, report.rejected) == (2 * CHUNK - 1, 1, 1)
    (dup,) = runs.rejected(engine, report.run_id)
    assert dup["line"] == 2 * CHUNK + 2 and "is already on line 5" in dup["reasons"][0]


def test_a_renewal_leaves_its_person_unwritten_and_a_new_phone_writes_it(
    engine: Engine, make_config: MakeConfig
) -> None:
    """A changed line whose person's values are what is stored (a renewal) does not rewrite
    the person; one whose values changed does (people.updated_at says which)."""
    rows = [person(1, expiry_date="2026-12-31"), person(2)]
    sync(make_config(rows), engine)
    renewed = [{**rows[0], "expiry_date": "2027-12-31"}, {**rows[1], "phone": "0812-9999-0002"}]
    later = NOW + timedelta(hours=1)
    report = sync(make_config(renewed), engine, now=later)
    assert (report.changed, report.renewed) == (2, 1)
    pe = schema.people
    with engine.connect() as conn:
        stamps = dict(conn.execute(select(pe.c.registry_id, pe.c.updated_at)).all())
        phone = conn.execute(select(pe.c.phone).where(pe.c.registry_id == "BLT-00002")).scalar_one()
    assert stamps == {"BLT-00001": NOW, "BLT-00002": later}
    assert phone == "+6281299990002"
