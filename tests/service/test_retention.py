"""The retention purge on a real database (SQLite and PostgreSQL), after real syncs."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select

from conftest import FRIDAY_MORNING, add_attempt, notice_ids, person, utc, write_toml
from notifyd import plugins
from notifyd.cli.main import main
from notifyd.config import Config
from notifyd.db import schema
from notifyd.registry.sync import run_sync
from notifyd.service.retention import purge

NOW = FRIDAY_MORNING  # 2026-12-04; with 90 days of retention the cutoff is 2026-09-05
JULY, AUGUST, NOVEMBER = utc(2026, 7, 10, 2), utc(2026, 8, 20, 2), utc(2026, 11, 20, 2)

ANNA = person(1, full_name="Anna Müller", expiry_date="2026-08-01")  # expired in August
BEN = person(2, full_name="Ben Lee", expiry_date="2026-12-18")  # still valid
CHEN_OLD = person(3, full_name="Chen Jie", expiry_date="2026-07-30")
CHEN_NEW = person(33, registry_id="BLT-00003", full_name="Chen Jie", expiry_date="2027-03-01")
DEWI = person(4, full_name="Dewi Lestari", expiry_date="2027-01-15")  # left in August
EMIL = person(5, full_name="Emil Berg", expiry_date="2027-01-15")  # left in November
BAD = person(6, full_name="Zed", nationality="Atlantis")  # rejected, raw row kept


@pytest.fixture
def history(engine: Engine, make_config: Callable[..., Config]) -> Config:
    """Syncs since July: Dewi left the registry in August, Emil in November; Anna's first
    notice was delivered by SMS and spooled."""
    everyone = [ANNA, BEN, CHEN_OLD, CHEN_NEW, DEWI, EMIL, BAD]
    sync(make_config(everyone, retention={"days": 90}), engine, JULY)
    # the bad row is edited each time, still wrong: each sync keeps its own rejection (an
    # unchanged rejected line would move to the latest run instead)
    bad_again = {**BAD, "passport_number": "PA0000066"}
    august = [r for r in everyone if r not in (DEWI, BAD)] + [bad_again]
    sync(make_config(august), engine, AUGUST)
    bad_once_more = {**BAD, "passport_number": "PA0000666"}
    cfg = make_config([ANNA, BEN, CHEN_OLD, CHEN_NEW, bad_once_more], retention={"days": 90})
    sync(cfg, engine, NOVEMBER)
    return cfg


def sync(cfg: Config, engine: Engine, now) -> None:
    report = run_sync(cfg, engine, plugins.make_manager(), now, accept_drops=True)
    assert report.status == "ok"


def people(engine: Engine) -> dict[str, dict]:
    pe = schema.people
    with engine.connect() as conn:
        return {
            r["full_name"] or r["registry_id"]: dict(r) for r in conn.execute(select(pe)).mappings()
        }


def spool(cfg: Config, nid: int, channel: str = "sms") -> Path:
    folder = Path(cfg.state_dir) / "spool" / channel
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in (".ogg", ".txt", ".json"):
        (folder / f"{nid}-{channel}{suffix}").write_text("personal")
    return folder / f"{nid}-{channel}.txt"


def test_finished_permits_lose_names_and_numbers_but_keep_their_delivery_record(
    engine: Engine, history: Config
) -> None:
    anna_notice = notice_ids(engine, ANNA["permit_number"])[14]
    add_attempt(engine, anna_notice, "whatsapp", "permanent", JULY,
                error="+6281234560001 is not on WhatsApp")  # fmt: skip
    add_attempt(engine, anna_notice, "sms", "sent", JULY, status="delivered", provider_id="SM1")
    before = people(engine)
    with engine.begin() as conn:  # Anna and Ben wrote to us once (WhatsApp's 24-hour window)
        conn.execute(insert(schema.conversations), [
            {"channel": "whatsapp", "phone": before[name]["whatsapp"] or before[name]["phone"],
             "last_inbound_at": JULY} for name in ("Anna Müller", "Ben Lee")
        ])  # fmt: skip
    report = purge(engine, history, NOW, actor="cron")
    assert (report.people, report.notices) == (2, 6)  # Anna, and Dewi who left in August
    with engine.connect() as conn:
        phones = set(conn.execute(select(schema.conversations.c.phone)).scalars())
    assert phones == {before["Ben Lee"]["whatsapp"] or before["Ben Lee"]["phone"]}
    after = people(engine)
    for name in ("Anna Müller", "Dewi Lestari"):
        pid = before[name]["id"]
        row = after[f"purged-{pid}"]
        assert (row["full_name"], row["passport_number"], row["phone"], row["whatsapp"]) == (
            "", "", None, None,
        )  # fmt: skip
        assert row["purged_at"] == NOW
    for name in ("Ben Lee", "Chen Jie", "Emil Berg"):  # valid, one valid permit, left lately
        assert after[name] == before[name]
    a, n = schema.attempts, schema.notifications
    with engine.connect() as conn:
        failed, sent = conn.execute(
            select(a).where(a.c.notification_id == anna_notice).order_by(a.c.id)
        ).mappings()
        kept = conn.execute(select(n.c.id).where(n.c.id == anna_notice)).scalar_one()
    assert (sent["channel"], sent["outcome"], sent["provider_id"]) == ("sms", "sent", "SM1")
    assert failed["error"] == "*** is not on WhatsApp"
    assert kept == anna_notice


def test_spooled_notices_of_purged_people_and_old_cached_audio_are_deleted(
    engine: Engine, history: Config
) -> None:
    anna = spool(history, notice_ids(engine, ANNA["permit_number"])[14])
    ben = spool(history, notice_ids(engine, BEN["permit_number"])[14], "whatsapp")
    cache = Path(history.state_dir) / "audio"
    cache.mkdir(parents=True)
    old, fresh = cache / "old.ogg", cache / "fresh.ogg"
    old.write_bytes(b"OggS")
    fresh.write_bytes(b"OggS")
    os.utime(old, ((NOW - timedelta(days=91)).timestamp(),) * 2)
    os.utime(fresh, ((NOW - timedelta(days=1)).timestamp(),) * 2)
    report = purge(engine, history, NOW)
    assert report.files == 4  # Anna's .ogg, .txt and .json, and the old cached audio
    assert not anna.exists() and not anna.with_suffix(".ogg").exists() and not old.exists()
    assert ben.exists() and fresh.exists()


def test_old_rejected_rows_go_and_recent_ones_stay(engine: Engine, history: Config) -> None:
    r = schema.rejected_rows
    with engine.connect() as conn:
        assert conn.execute(select(r.c.id)).all() != []
    report = purge(engine, history, NOW)
    assert report.rejected_rows == 2  # from the July and August syncs
    with engine.connect() as conn:
        runs = conn.execute(select(r.c.run_id)).scalars().all()
    assert runs == [3]  # November's


def test_dry_run_counts_and_changes_nothing(engine: Engine, history: Config) -> None:
    before = people(engine)
    report = purge(engine, history, NOW, dry_run=True)
    assert (report.people, report.rejected_rows, report.dry_run) == (2, 2, True)
    assert people(engine) == before
    with engine.connect() as conn:
        assert conn.execute(select(schema.staff_actions)).all() == []


def test_a_purge_is_recorded_and_a_second_one_finds_nothing(
    engine: Engine, history: Config
) -> None:
    purge(engine, history, NOW, actor="cron")
    again = purge(engine, history, NOW + timedelta(days=1))
    assert (again.people, again.rejected_rows, again.files) == (0, 0, 0)
    with engine.connect() as conn:
        (action,) = conn.execute(select(schema.staff_actions)).mappings().all()
    assert (action["action"], action["actor"]) == ("purge", "cron")
    assert "people 2" in action["detail"]


def test_a_later_sync_of_the_same_export_does_not_bring_the_data_back(
    engine: Engine, history: Config
) -> None:
    purge(engine, history, NOW)
    sync(history, engine, NOW)
    assert "Anna Müller" not in people(engine)


def test_purge_from_the_command_line(
    engine: Engine, history: Config, db_url: str, tmp_path: Path, capsys
) -> None:
    data = {
        "state_dir": history.state_dir, "database": {"url": db_url},
        "registry": {"path": history.registry.path}, "retention": {"days": 90},
    }  # fmt: skip
    cfg = str(write_toml(data, tmp_path / "c.toml"))
    assert (
        main(["purge", "-c", cfg, "--dry-run", "--format", "json", "--now", NOW.isoformat()]) == 0
    )
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["people"], row["dry_run"]) == (2, True)
    assert main(["purge", "-c", cfg, "--by", "ops", "--now", NOW.isoformat()]) == 0
    assert "Anna Müller" not in people(engine)


@pytest.mark.parametrize(
    ("retention", "key"),
    [
        ({"days": 0}, "retention.days"),
        ({"audio_dirs": ["/var/cache"]}, "retention.audio_dirs[0]"),
        ({"audio_dirs": ["../elsewhere"]}, "retention.audio_dirs[0]"),
    ],
)
def test_a_bad_retention_setting_names_its_key(
    make_config: Callable[..., Config], retention: dict, key: str
) -> None:
    from notifyd.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        make_config([], retention=retention)
    assert err.value.key == key and err.value.fix
