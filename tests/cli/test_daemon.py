"""Operator controls from the command line on a real database (SQLite and PostgreSQL): pause
with a reason, resume saying what stays paused, `paused` in the office's time, and the pilot
allowlist the console's admin page also keeps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from conftest import config_dict, person, write_registry, write_toml
from notifyd.cli.main import main
from notifyd.db import pilot

AT = ["--now", "2026-12-04T09:30+07:00"]  # 02:30 UTC
LATER = ["--now", "2026-12-04T10:15+07:00"]


@pytest.fixture
def cfg(tmp_path: Path, db_url: str, engine: Engine) -> str:
    data = {"state_dir": str(tmp_path / "state"),
            **config_dict(write_registry(tmp_path / "r.csv", [person(1)]))}  # fmt: skip
    data["database"] = {"url": db_url}
    data["pilot"] = {"enabled": True, "allowlist": ["+6281200000001"]}
    return str(write_toml(data, tmp_path / "c.toml"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_resuming_one_channel_says_that_all_sending_stays_paused(capsys, cfg) -> None:
    run(capsys, "pause", "-c", cfg, "--by", "siti", *AT)
    run(capsys, "pause", "-c", cfg, "--channel", "sms", "--by", "budi", *AT)
    code, out, _ = run(capsys, "resume", "-c", cfg, "--channel", "sms", "--by", "budi", *LATER)
    assert code == 0 and out.splitlines() == [
        "channel sms: resumed by budi",
        "still paused: all sending (by siti since 2026-12-04 09:30 WIB)",
        "nothing is sent until all sending is resumed (`notifyd resume`)",
    ]


def test_resuming_all_sending_says_which_channel_stays_paused(capsys, cfg) -> None:
    run(capsys, "pause", "-c", cfg, "--channel", "whatsapp", "--by", "budi", *AT)
    run(capsys, "pause", "-c", cfg, "--by", "siti", *AT)
    _, out, _ = run(capsys, "resume", "-c", cfg, "--by", "siti", *LATER)
    assert "still paused: channel whatsapp (by budi since 2026-12-04 09:30 WIB)" in out
    assert "`notifyd resume --channel NAME`" in out
    _, out, _ = run(capsys, "resume", "-c", cfg, "--channel", "whatsapp", "--by", "budi", *LATER)
    assert "nothing else is paused: sending goes on" in out
    _, out, _ = run(capsys, "resume", "-c", cfg, "--channel", "sms", *LATER)
    assert "channel sms: resumed by" in out and "(it was not paused)" in out


def test_paused_shows_the_office_local_time_and_names_the_zone(capsys, cfg) -> None:
    run(capsys, "pause", "-c", cfg, "--channel", "sms", "--by", "budi", *AT)
    _, out, _ = run(capsys, "paused", "-c", cfg)
    assert "2026-12-04 09:30 WIB" in out and "Asia/Jakarta" in out and "02:30" not in out
    _, out, _ = run(capsys, "paused", "-c", cfg, "--format", "json")
    assert json.loads(out) == [
        {"scope": "sms", "by": "budi", "since": "2026-12-04T09:30:00+07:00", "reason": ""}
    ]


def test_pause_with_a_reason_is_listed_with_it(capsys, cfg: str) -> None:
    code, out, _ = run(capsys, "pause", "-c", cfg, "--channel", "sms", "--by", "ani",
                       "--reason", "provider outage", *AT)  # fmt: skip
    assert code == 0 and out == "channel sms: paused by ani: provider outage\n"
    _, out, _ = run(capsys, "paused", "-c", cfg, "--format", "json")
    (row,) = json.loads(out)
    assert (row["scope"], row["by"], row["reason"]) == ("sms", "ani", "provider outage")
    assert row["since"].startswith("2026-12-04")


def test_pause_one_office(capsys, cfg: str) -> None:
    code, out, _ = run(capsys, "pause", "-c", cfg, "--office", "BLT", "--by", "ani", *AT)
    assert code == 0 and out == "office BLT: paused by ani\n"
    _, out, _ = run(capsys, "paused", "-c", cfg, "--format", "json")
    assert [r["scope"] for r in json.loads(out)] == ["office:BLT"]
    code, _, err = run(capsys, "pause", "-c", cfg, "--office", "XYZ", *AT)
    assert code != 0 and "--office" in err


def test_pilot_add_list_and_remove(capsys, cfg: str, engine: Engine) -> None:
    code, out, _ = run(capsys, "pilot", "-c", cfg, "add", "0812-9999-0001", "--by", "ani",
                       "--format", "json", *AT)  # fmt: skip
    assert code == 0
    assert [r["number"] for r in json.loads(out)] == ["+6281200000001", "+6281299990001"]
    assert pilot.allowlist(engine, []) == {"+6281299990001"}
    code, _, err = run(capsys, "pilot", "-c", cfg, "add", "12", *AT)
    assert code != 0 and "not a phone number" in err
    code, _, err = run(capsys, "pilot", "-c", cfg, "remove", "+6281200000001")
    assert code != 0 and "config file" in err
    assert run(capsys, "pilot", "-c", cfg, "remove", "+6281299990001")[0] == 0
    assert pilot.numbers(engine) == []
