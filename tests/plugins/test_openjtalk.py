"""The Japanese voice, on the real Open JTalk: a WAV of speech, only its own voice, and Latin
letters never read one by one."""

from __future__ import annotations

import asyncio
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest

from conftest import probe
from notifyd_plugins.voice.openjtalk import OpenJTalkVoice, katakana, sentences


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


def test_sentences_end_at_their_marks() -> None:
    assert sentences("あ。い！う？え") == ["あ。", "い！", "う？", "え"]
    assert sentences("ありがとう") == ["ありがとう"] and sentences(" 。") == [" 。"]


def test_a_notice_is_spoken_as_one_text_would_be_and_shared_sentences_are_made_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sentence by sentence, joined with Open JTalk's own pause: about as long as the whole
    text in one piece, with a pause at each join; the sentences a second person's notice
    shares are taken from memory (no Open JTalk run for them), the samples identical."""
    import wave

    import pyopenjtalk

    from notifyd_plugins.voice import openjtalk

    shared = "延長を申請してください。入国管理事務所です。"
    first, second = (
        "タナカ ハナコ様、あと十四日です。",
        "スズキ イチロー様、あと七日です。",
    )
    openjtalk._synthesize(first + shared, tmp_path / "1.wav")
    made: list[str] = []
    real_tts = pyopenjtalk.tts
    monkeypatch.setattr(pyopenjtalk, "tts", lambda text: made.append(text) or real_tts(text))
    openjtalk._synthesize(second + shared, tmp_path / "2.wav")
    assert made == [second]

    def samples(name: str) -> np.ndarray:  # type: ignore[type-arg]
        with wave.open(str(tmp_path / name)) as w:
            return np.frombuffer(w.readframes(w.getnframes()), np.int16)

    one, two = samples("1.wav"), samples("2.wav")
    whole, rate = real_tts(first + shared)
    assert abs(len(one) - len(whole)) / rate < 0.3  # seconds
    assert np.array_equal(one[-rate * 2 :], two[-rate * 2 :])  # the shared end, as it was
    ours, theirs = pauses(one, rate), pauses(np.clip(whole, -32768, 32767), rate)
    assert len(ours) == len(theirs) >= 2, (ours, theirs)  # the comma's and the joins'
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) <= 0.1


def pauses(pcm: np.ndarray, rate: int) -> list[float]:  # type: ignore[type-arg]
    """The quiet stretches (under -45 dBFS) of 0.3 s or more inside speech, in seconds."""
    step = rate // 100
    loud = np.abs(pcm[: len(pcm) // step * step].astype(np.int32)).reshape(-1, step).max(1) > 184
    inside = loud[np.argmax(loud) : len(loud) - np.argmax(loud[::-1])]
    edges = np.flatnonzero(np.diff(np.r_[1, inside.astype(int), 1]))
    return [n / 100 for n in edges[1::2] - edges[::2] if n >= 30]
