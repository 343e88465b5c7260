"""The `notifyd` command as staff and operators use it."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import config_dict, person, write_registry, write_toml
from notifyd.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
NOW = ["--now", "2026-12-04T09:30+07:00"]


@pytest.fixture
def cfg_file(tmp_path: Path) -> Path:
    rows = [
        person(1, full_name="王伟", nationality="CN", expiry_date="2026-12-18"),
        person(2, full_name='=HYPERLINK("http://evil")', expiry_date="2026-12-11"),
        person(3, nationality="Atlantis"),
    ]
    registry = write_registry(tmp_path / "registry.csv", rows)
    return write_toml(
        {"state_dir": str(tmp_path / "state"), **config_dict(registry)}, tmp_path / "c.toml"
    )


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_config_accepts_the_example_config(capsys) -> None:
    code, out, _ = run(capsys, "check-config", "-c", str(ROOT / "config/notifyd.example.toml"))
    assert code == 0 and "OK" in out and "BLT (Asia/Jakarta, 09:00-17:00)" in out


def test_a_bad_config_exits_2_naming_the_key_and_the_fix(tmp_path: Path) -> None:
    bad = write_toml({"offices": {"BLT": {"window": "17:00-09:00"}}}, tmp_path / "bad.toml")
    result = subprocess.run(
        [sys.executable, "-m", "notifyd.cli", "check-config", "-c", str(bad)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "offices.BLT.window" in result.stderr and "Fix:" in result.stderr


def test_the_config_path_comes_from_notifyd_config(capsys, cfg_file, monkeypatch) -> None:
    monkeypatch.setenv("NOTIFYD_CONFIG", str(cfg_file))
    code, out, _ = run(capsys, "check-config")
    assert code == 0 and str(cfg_file) in out


def test_a_channel_naming_a_missing_plugin_fails_check_config(capsys, tmp_path) -> None:
    data = config_dict(tmp_path / "r.csv")
    data["channels"]["sms"]["plugin"] = "carrier-pigeon"
    code, _, err = run(capsys, "check-config", "-c", str(write_toml(data, tmp_path / "c.toml")))
    assert code == 2 and "channels.sms.plugin" in err and "spool" in err


def test_sync_reports_counts_and_the_reasons_of_rejected_rows(capsys, cfg_file) -> None:
    code, out, _ = run(capsys, "sync", "-c", str(cfg_file), *NOW)
    assert code == 0
    assert "3 rows read" in out and "accepted: 2" in out and "rejected: 1" in out
    assert "nationality: 'Atlantis' is not a country" in out


def test_upcoming_shows_local_times_and_every_format_is_usable(capsys, cfg_file) -> None:
    run(capsys, "sync", "-c", str(cfg_file), *NOW)
    code, table, _ = run(capsys, "upcoming", "-c", str(cfg_file), "--days", "30", *NOW)
    assert code == 0 and "2026-12-04 09:30 WIB" in table and "王伟" in table
    _, js, _ = run(
        capsys, "upcoming", "-c", str(cfg_file), "--days", "30", "--format", "json", *NOW
    )
    data = json.loads(js)
    assert {r["registry_id"] for r in data} == {"BLT-00001", "BLT-00002"}
    assert data[0]["due"].endswith("+00:00")
    _, text, _ = run(
        capsys, "upcoming", "-c", str(cfg_file), "--days", "30", "--format", "csv", *NOW
    )
    names = {row["name"] for row in csv.DictReader(io.StringIO(text))}
    assert '\'=HYPERLINK("http://evil")' in names


def test_rejected_lists_the_last_runs_rows_as_json(capsys, cfg_file) -> None:
    run(capsys, "sync", "-c", str(cfg_file), *NOW)
    code, out, _ = run(capsys, "rejected", "-c", str(cfg_file), "--format", "json")
    (row,) = json.loads(out)
    assert code == 0 and row["line"] == 4 and row["rejected"] == "row"


def test_rejected_before_any_sync_says_what_to_do(capsys, cfg_file) -> None:
    code, _, err = run(capsys, "rejected", "-c", str(cfg_file))
    assert code == 1 and "notifyd sync" in err


def test_a_refused_sync_exits_3_and_says_how_to_override(capsys, tmp_path) -> None:
    rows = [person(i) for i in range(10)]
    data = {
        "state_dir": str(tmp_path / "s"),
        **config_dict(write_registry(tmp_path / "r.csv", rows)),
    }
    cfg = str(write_toml(data, tmp_path / "c.toml"))
    assert run(capsys, "sync", "-c", cfg, *NOW)[0] == 0
    write_registry(tmp_path / "r.csv", rows[:5])
    code, _, err = run(capsys, "sync", "-c", cfg, *NOW)
    assert code == 3 and "5 of 10" in err and "--accept-drops" in err
    assert run(capsys, "sync", "-c", cfg, "--accept-drops", *NOW)[0] == 0


def test_plugins_lists_the_built_ins_found_through_entry_points(capsys) -> None:
    code, out, _ = run(capsys, "plugins", "--format", "json")
    names = {p["plugin"]: p for p in json.loads(out)}
    assert code == 0 and {"csv", "sql", "spool"} <= names.keys()
    assert names["csv"]["distribution"].startswith("notifyd ")


def test_sync_as_json_gives_scripts_the_counts_and_every_rejected_row(capsys, cfg_file) -> None:
    code, out, _ = run(capsys, "sync", "-c", str(cfg_file), "--format", "json", *NOW)
    (report,) = json.loads(out)
    assert code == 0 and (report["status"], report["accepted"], report["rejected"]) == ("ok", 2, 1)
    assert report["reasons"] == {"nationality": 1}
    assert [r["line"] for r in report["rejected_rows"]] == [4]


# --- check-config: honest checks, every problem at once (issue 13) ------------------------------


def test_check_config_lists_every_problem_of_a_run_at_once(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("NOTIFYD_T_MISSING", raising=False)
    header = ["registry_id", "full_name", "nationality", "permit_number", "Tgl", "phone"]
    export = tmp_path / "r.csv"
    export.write_text(",".join(header) + "\n1x,A,AU,P1,2026-12-31,0812\n", encoding="utf-8")
    data = config_dict(export, state_dir=str(tmp_path / "state"))
    data["registry"]["columns"] = {"expiry_date": "Tanggal Habis", "whatsapp": "No. WA"}
    data["channels"]["sms"] = {"plugin": "spool", "kind": "sms",
                               "options": {"token": "env:NOTIFYD_T_MISSING"}}  # fmt: skip
    data["channels"]["call"] = {"plugin": "no-such-plugin", "kind": "call"}
    code, out, err = run(capsys, "check-config", "-c", str(write_toml(data, tmp_path / "c.toml")))
    assert code == 2
    assert ": 5 problems" in out
    for key in ("channels.sms.options.token", "channels.call.plugin",
                "registry.columns.expiry_date", "registry.columns.whatsapp"):  # fmt: skip
        assert f"  - {key}:" in err


def test_check_config_connects_to_the_database_or_says_why_not(capsys, tmp_path) -> None:
    export = write_registry(tmp_path / "r.csv", [person(1)])
    data = config_dict(export, state_dir=str(tmp_path / "state"))
    data["database"] = {"url": "postgres://notifyd@127.0.0.1/notifyd"}
    code, _, err = run(capsys, "check-config", "-c", str(write_toml(data, tmp_path / "a.toml")))
    assert code == 2 and "postgresql+psycopg://" in err
    data["database"] = {"url": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    code, out, err = run(capsys, "check-config", "-c", str(write_toml(data, tmp_path / "b.toml")))
    assert code == 2
    assert "database.url: cannot connect to postgresql+psycopg://nobody@127.0.0.1:1/none" in err
    data["database"] = {"url": "mysql+nodriver://u@h/d"}
    code, _, err = run(capsys, "check-config", "-c", str(write_toml(data, tmp_path / "c.toml")))
    assert code == 2 and "no database driver 'mysql.nodriver'" in err.replace("+", ".")


def test_check_config_connects_to_postgresql_when_there_is_one(capsys, tmp_path) -> None:
    import os

    url = os.environ.get("NOTIFYD_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("NOTIFYD_TEST_POSTGRES_URL is not set")
    data = config_dict(write_registry(tmp_path / "r.csv", [person(1)]))
    data["state_dir"] = str(tmp_path / "state")
    data["database"] = {"url": url}
    code, out, _ = run(capsys, "check-config", "-c", str(write_toml(data, tmp_path / "c.toml")))
    assert code == 0 and "(connected)" in out


def test_check_config_reads_the_export_and_warns_about_channels_reaching_nobody(
    capsys, tmp_path
) -> None:
    rows = [person(i) for i in range(4)]  # phones, no WhatsApp numbers
    data = config_dict(write_registry(tmp_path / "r.csv", rows), state_dir=str(tmp_path / "s"))
    code, out, _ = run(capsys, "check-config", "-c", str(write_toml(data, tmp_path / "c.toml")))
    assert code == 0
    assert "4 rows read, 4 usable; can reach: whatsapp 0, sms 4 of 4 people" in out
    assert "warning: channel 'whatsapp' can reach none of 4 people" in out
    assert not (tmp_path / "s" / "notifyd.db").exists()  # checking creates no database


def test_check_config_refuses_row_numbers_as_registry_ids(capsys, tmp_path) -> None:
    rows = [person(i, registry_id=str(i)) for i in range(1, 5)]
    data = config_dict(write_registry(tmp_path / "r.csv", rows), state_dir=str(tmp_path / "s"))
    code, _, err = run(capsys, "check-config", "-c", str(write_toml(data, tmp_path / "c.toml")))
    assert code == 2 and "registry.columns.registry_id: equals the row number" in err


def test_check_config_without_the_export_warns_and_passes(capsys, tmp_path) -> None:
    data = config_dict(tmp_path / "not-yet.csv", state_dir=str(tmp_path / "s"))
    code, out, _ = run(capsys, "check-config", "-c", str(write_toml(data, tmp_path / "c.toml")))
    assert code == 0
    assert "warning: the export could not be read, so its header was not checked" in out


def test_ids_that_move_between_people_exit_3_until_accepted(capsys, tmp_path) -> None:
    rows = [person(i) for i in range(10)]
    data = {
        "state_dir": str(tmp_path / "s"),
        **config_dict(write_registry(tmp_path / "r.csv", rows)),
    }
    cfg = str(write_toml(data, tmp_path / "c.toml"))
    assert run(capsys, "sync", "-c", cfg, *NOW)[0] == 0
    moved = [
        {**r, "full_name": o["full_name"], "passport_number": o["passport_number"]}
        for r, o in zip(rows, rows[1:] + rows[:1], strict=True)
    ]
    write_registry(tmp_path / "r.csv", moved)
    code, _, err = run(capsys, "sync", "-c", cfg, *NOW)
    assert code == 3 and "10 of 10 known registry ids" in err
    assert "--accept-identity-changes" in err
    code, out, _ = run(capsys, "sync", "-c", cfg, "--accept-identity-changes", *NOW)
    assert code == 0 and "10 changed" in out
    assert "can reach: whatsapp 0, sms 10 of 10 people" in out
    assert "warning: channel 'whatsapp' can reach none of 10 people" in out


def sql_registry(tmp_path: Path, url: str, query: str) -> Path:
    data = config_dict(tmp_path / "unused.csv", state_dir=str(tmp_path / "state"))
    data["registry"] = {"source": "sql", "url": url, "query": query}
    return write_toml(data, tmp_path / "sql.toml")


def test_a_registry_database_that_is_down_has_its_own_exit_status(capsys, tmp_path) -> None:
    cfg = sql_registry(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:9/registry", "SELECT 1")
    code, _, err = run(capsys, "-c", str(cfg), "sync")
    assert code == 5, err
    assert err.startswith("notifyd: registry source unreachable: the registry database")
    assert "Nothing was changed" in err and "config error" not in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_registry_query_it_refuses_is_still_a_config_error(capsys, tmp_path) -> None:
    registry = tmp_path / "registry.db"
    cfg = sql_registry(tmp_path, f"sqlite:///{registry}", "SELECT * FROM no_such_table")
    import sqlite3

    sqlite3.connect(registry).close()
    code, _, err = run(capsys, "-c", str(cfg), "sync")
    assert code == 2 and "registry.query" in err, err


def test_a_database_error_during_sync_is_one_clear_line(capsys, tmp_path) -> None:
    registry = write_registry(tmp_path / "registry.csv", [person(1)])
    data = config_dict(registry, state_dir=str(tmp_path / "state"))
    data["database"] = {"url": "postgresql+psycopg://nobody@127.0.0.1:9/notifyd"}
    cfg = write_toml(data, tmp_path / "dead.toml")
    code, _, err = run(capsys, "-c", str(cfg), "sync")
    assert code == 4, err
    assert err.startswith("notifyd: database error:") and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
