"""The Japanese voice, on the real Open JTalk: a WAV of speech, only its own voice, and Latin
letters never read one by one."""

from __future__ import annotations

import asyncio
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from conftest import probe
from notifyd_plugins.voice.openjtalk import OpenJTalkVoice, katakana


def test_found_through_the_entry_point_and_speaks_only_japanese() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="notifyd")}
    assert found["open-jtalk"] == "notifyd_plugins.voice.openjtalk"
    assert OpenJTalkVoice().languages() == {"ja": ["mei-normal"]}


def test_speech_is_a_mono_wav(tmp_path: Path) -> None:
    out = tmp_path / "ja.wav"
    asyncio.run(OpenJTalkVoice().synthesize("JOHN SMITH様、こんにちは。", "ja", "mei-normal", out))
    info = probe(out)
    assert (info["codec"], info["channels"], info["sample_rate"]) == ("pcm_s16le", 1, 48000)
    assert 1.0 < info["duration"] < 6


@pytest.mark.parametrize("voice", ["mei-normal; rm -rf ~", "ja", "--version"])
def test_only_its_own_voice(tmp_path: Path, voice: str) -> None:
    with pytest.raises(ValueError, match="no voice"):
        asyncio.run(OpenJTalkVoice().synthesize("こんにちは", "ja", voice, tmp_path / "x.wav"))


def test_no_latin_letter_is_left_for_open_jtalk() -> None:
    said = katakana("JOHN O'BRIEN様、番号 2 C 1 A、Chloé Müller、Олена、김수아、สมชาย")
    assert not any("a" <= ch.lower() <= "z" for ch in said), said
    assert said.startswith("ジョン オブ") and "'" not in said  # O'BRIEN one word
    assert "シー" in said and "エー" in said
