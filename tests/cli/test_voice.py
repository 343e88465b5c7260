"""`notifyd voices`, `render` and `say`, as an operator uses them on the sample registry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import probe
from notifyd.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
TODAY = "2026-12-04"
NOW = ["--now", "2026-12-04T09:30+07:00"]


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The demo config and a sample registry dated TODAY, synced into a fresh database."""
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_sample_registry.py"),
         "-o", str(tmp_path / "registry.sample.csv"), "--today", TODAY],
        check=True, capture_output=True,
    )  # fmt: skip
    text = (ROOT / "config" / "notifyd.demo.toml").read_text(encoding="utf-8")
    cfg = tmp_path / "notifyd.toml"
    cfg.write_text(text.replace('state_dir = "../state"', 'state_dir = "state"'))
    assert main(["-c", str(cfg), *NOW, "sync"]) == 0
    return cfg


def _people(capsys: pytest.CaptureFixture[str], cfg: Path) -> list[dict[str, str]]:
    capsys.readouterr()
    assert main(["-c", str(cfg), *NOW, "upcoming", "--days", "30", "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_render_writes_the_persons_voice_note_and_prints_its_words(
    capsys: pytest.CaptureFixture[str], demo: Path, tmp_path: Path
) -> None:
    korean = next(r for r in _people(capsys, demo) if r["language"] == "ko")
    out = tmp_path / "note.ogg"
    code = main(["-c", str(demo), *NOW, "render", "--permit", korean["permit"], "-o", str(out)])
    printed = capsys.readouterr()
    assert code == 0
    assert korean["name"] in printed.out and "님" in printed.out  # Korean words
    assert "language ko, engine espeak-ng:ko" in printed.err
    info = probe(out)
    assert (info["codec"], info["channels"], info["container"]) == ("opus", 1, "ogg")
    assert 8 < info["duration"] < 60


def test_render_in_another_language_and_format(
    capsys: pytest.CaptureFixture[str], demo: Path, tmp_path: Path
) -> None:
    anyone = _people(capsys, demo)[0]
    out = tmp_path / "call.wav"
    args = ["render", "--permit", anyone["permit"], "--lang", "id", "--format", "wav"]
    assert main(["-c", str(demo), *NOW, *args, "-o", str(out)]) == 0
    assert "izin tinggal" in capsys.readouterr().out
    assert probe(out)["sample_rate"] == 8000


def test_render_of_an_unknown_permit_says_what_to_do(
    capsys: pytest.CaptureFixture[str], demo: Path, tmp_path: Path
) -> None:
    assert main(["-c", str(demo), "render", "--permit", "NOPE", "-o", str(tmp_path / "x")]) == 1
    assert "notifyd sync" in capsys.readouterr().err


def test_say_speaks_a_text(capsys: pytest.CaptureFixture[str], demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "say.mp3"
    args = ["say", "--lang", "fr", "--format", "mp3", "-o", str(out), "Bonjour à tous."]
    assert main(["-c", str(demo), *args]) == 0
    assert probe(out)["codec"] == "mp3"


def test_voices_lists_engines_languages_and_what_works(
    capsys: pytest.CaptureFixture[str], demo: Path
) -> None:
    capsys.readouterr()
    assert main(["-c", str(demo), "voices", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    espeak = {r["language"]: r for r in rows if r["engine"] == "espeak-ng"}
    assert set(espeak) >= {"id", "en", "zh", "zh-TW", "ar"}
    assert all(r["works"] == "yes" for r in espeak.values())
    jtalk = {r["language"]: r for r in rows if r["engine"] == "open-jtalk"}
    assert jtalk["ja"]["voice"] == "mei-normal" and jtalk["ja"]["works"] == "yes"
    assert jtalk["ja"]["order"] == 1 and jtalk["ja"]["reads"] == "ja"
    edge = {r["language"]: r for r in rows if r["engine"] == "edge-tts"}
    assert edge["id"]["voice"] == "id-ID-GadisNeural" and edge["id"]["order"] == "-"


def test_check_config_fails_on_sms_over_the_limit(
    capsys: pytest.CaptureFixture[str], demo: Path
) -> None:
    demo.write_text(demo.read_text().replace("[voices]\n", "[voices]\nsms_max_segments = 1\n"))
    assert main(["-c", str(demo), "check-config"]) == 2
    assert "voices.sms_max_segments" in capsys.readouterr().err


def test_the_written_note_is_private(
    capsys: pytest.CaptureFixture[str], demo: Path, tmp_path: Path
) -> None:
    import stat

    anyone = _people(capsys, demo)[0]
    out = tmp_path / "note.ogg"
    assert (
        main(["-c", str(demo), *NOW, "render", "--permit", anyone["permit"], "-o", str(out)]) == 0
    )
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_render_finds_a_permit_written_in_lower_case(
    capsys: pytest.CaptureFixture[str], demo: Path, tmp_path: Path
) -> None:
    anyone = _people(capsys, demo)[0]
    out = tmp_path / "note.mp3"
    lower = f"  {anyone['permit'].lower()} "
    args = ["render", "--permit", lower, "--format", "mp3", "-o", str(out)]
    assert main(["-c", str(demo), *NOW, *args]) == 0
    assert anyone["name"] in capsys.readouterr().out
    assert probe(out)["codec"] == "mp3"


@pytest.mark.parametrize("command", ["say", "render"])
def test_a_language_nobody_speaks_is_an_error_listing_those_that_work(
    capsys: pytest.CaptureFixture[str], demo: Path, tmp_path: Path, command: str
) -> None:
    anyone = _people(capsys, demo)[0]
    out = tmp_path / "x.ogg"
    what = ["Sugeng enjang."] if command == "say" else ["--permit", anyone["permit"]]
    code = main(["-c", str(demo), *NOW, command, "--lang", "jv", "-o", str(out), *what])
    err = capsys.readouterr().err
    assert code == 1
    assert "no notices are written in 'jv'" in err
    assert "languages that work here: " in err and "id" in err.split("work here: ")[1]
    assert not out.exists()
