"""`notifyd test-send`: a sample notice to the operator's own phone, through a real channel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from conftest import config_dict, probe, toml, write_registry
from notifyd.cli.main import main
from notifyd.db import schema, store

NOW = ["--now", "2026-12-04T09:30+07:00"]


@pytest.fixture
def cfg_path(tmp_path: Path) -> Path:
    data = config_dict(write_registry(tmp_path / "registry.csv", []), state_dir="state")
    data["offices"]["BLT"]["phone"] = "+62 342 000000"
    data["voices"] = {"engines": ["espeak-ng"]}
    data["pilot"] = {"enabled": True, "allowlist": ["+6281234567890"]}
    path = tmp_path / "notifyd.toml"
    path.write_text(toml(data))
    return path


def test_a_sample_notice_goes_out_through_the_channel_and_is_recorded(
    capsys: pytest.CaptureFixture[str], cfg_path: Path
) -> None:
    args = ["-c", str(cfg_path), *NOW, "test-send", "--to", "0812-3456-7890", "--channel",
            "whatsapp", "--lang", "id", "--by", "operator", "--format", "json"]  # fmt: skip
    assert main(args) == 0
    [sent] = json.loads(capsys.readouterr().out)
    assert (sent["to"], sent["channel"], sent["language"]) == ("+6281234567890", "whatsapp", "id")
    assert sent["engine"] == "espeak-ng:id" and "Test Notifyd" in sent["text"]
    spool = cfg_path.parent / "state" / "spool" / "whatsapp"
    [note] = spool.glob("*.ogg")
    info = probe(note)
    assert (info["codec"], info["channels"]) == ("opus", 1) and info["duration"] > 5
    engine = store.open_store(f"sqlite:///{cfg_path.parent / 'state' / 'notifyd.db'}")
    with engine.connect() as conn:
        action = conn.execute(select(schema.staff_actions)).mappings().one()
    engine.dispose()
    assert (action["action"], action["actor"]) == ("test_send", "operator")
    assert sent["provider_id"] in action["detail"]


@pytest.mark.parametrize(
    ("extra", "complaint"),
    [
        (["--to", "12"], "not a valid number"),
        (["--to", "+6281299990000"], "pilot.allowlist"),
        (["--to", "+6281234567890", "--channel", "pigeon"], "'pigeon' is not a configured"),
        (["--to", "+6281234567890", "--lang", "tlh"], "no notices in 'tlh'"),
    ],
)
def test_a_test_send_that_cannot_go_says_why_and_sends_nothing(
    capsys: pytest.CaptureFixture[str], cfg_path: Path, extra: list[str], complaint: str
) -> None:
    assert main(["-c", str(cfg_path), *NOW, "test-send", *extra]) != 0
    assert complaint in capsys.readouterr().err
    assert not (cfg_path.parent / "state" / "spool").exists()
