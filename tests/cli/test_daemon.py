"""Operator controls from the command line: pause, resume and paused, on a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from conftest import config_dict, person, write_registry, write_toml
from notifyd.cli.main import main

AT = ["--now", "2026-12-04T09:30+07:00"]  # 02:30 UTC
LATER = ["--now", "2026-12-04T10:15+07:00"]


@pytest.fixture
def cfg(tmp_path: Path, db_url: str, engine: Engine) -> str:
    registry = write_registry(tmp_path / "registry.csv", [person(1)])
    data = {"state_dir": str(tmp_path / "state"), **config_dict(registry)}
    data["database"] = {"url": db_url}
    return str(write_toml(data, tmp_path / "c.toml"))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    return code, capsys.readouterr().out


def test_resuming_one_channel_says_that_all_sending_stays_paused(capsys, cfg) -> None:
    run(capsys, "pause", "-c", cfg, "--by", "siti", *AT)
    run(capsys, "pause", "-c", cfg, "--channel", "sms", "--by", "budi", *AT)
    code, out = run(capsys, "resume", "-c", cfg, "--channel", "sms", "--by", "budi", *LATER)
    assert code == 0 and out.splitlines() == [
        "channel sms: resumed by budi",
        "still paused: all sending (by siti since 2026-12-04 09:30 WIB)",
        "nothing is sent until all sending is resumed (`notifyd resume`)",
    ]


def test_resuming_all_sending_says_which_channel_stays_paused(capsys, cfg) -> None:
    run(capsys, "pause", "-c", cfg, "--channel", "whatsapp", "--by", "budi", *AT)
    run(capsys, "pause", "-c", cfg, "--by", "siti", *AT)
    _, out = run(capsys, "resume", "-c", cfg, "--by", "siti", *LATER)
    assert "still paused: channel whatsapp (by budi since 2026-12-04 09:30 WIB)" in out
    assert "`notifyd resume --channel NAME`" in out
    _, out = run(capsys, "resume", "-c", cfg, "--channel", "whatsapp", "--by", "budi", *LATER)
    assert "nothing else is paused: sending goes on" in out
    _, out = run(capsys, "resume", "-c", cfg, "--channel", "sms", *LATER)
    assert "channel sms: resumed by" in out and "(it was not paused)" in out


def test_paused_shows_the_office_local_time_and_names_the_zone(capsys, cfg) -> None:
    run(capsys, "pause", "-c", cfg, "--channel", "sms", "--by", "budi", *AT)
    _, out = run(capsys, "paused", "-c", cfg)
    assert "2026-12-04 09:30 WIB" in out and "Asia/Jakarta" in out and "02:30" not in out
    _, out = run(capsys, "paused", "-c", cfg, "--format", "json")
    assert json.loads(out) == [{"scope": "sms", "by": "budi", "since": "2026-12-04T09:30:00+07:00"}]
