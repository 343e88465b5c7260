"""The audio pipeline on real espeak-ng and ffmpeg: formats, lengths, cache, fallback, purge."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import FRIDAY_MORNING, loudness, probe, sample_facts, voice_config
from notifyd.config import LANGUAGES
from notifyd.voice import audio, encode
from notifyd.voice.audio import AudioError, Candidate, NoteTooLong, Part
from notifyd.voice.render import Renderer
from testplugins.voices import CountingEspeak, SilentService, SlowEspeak

#: The offline engines (edge-tts cannot be reached here); Japanese is Open JTalk's, loaded at
#: first use, so its timeout is generous on a busy machine.
OFFLINE = {"engines": ["open-jtalk", "espeak-ng"], "engine_timeout": 60}


def render(renderer: Renderer, fmt: str | None = "ogg", **facts: Any) -> Any:
    lang = facts.pop("language", "id")
    now = facts.pop("now", FRIDAY_MORNING)
    return asyncio.run(renderer.render(sample_facts(lang, **facts), now, fmt))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_whatsapp_voice_note_in_every_language(
    tmp_path: Path, real_voices: dict[str, Any], lang: str
) -> None:
    renderer = Renderer(voice_config(tmp_path, **OFFLINE), real_voices)
    out = render(renderer, language=lang)
    info = probe(out.audio)
    assert (info["codec"], info["channels"], info["container"]) == ("opus", 1, "ogg")
    assert info["sample_rate"] == 48000  # Opus always decodes at 48 kHz
    assert 8 < info["duration"] < 60
    assert out.audio.stat().st_size <= audio.MAX_OGG_BYTES
    assert out.engine.startswith("open-jtalk:" if lang == "ja" else "espeak-ng:")


def test_mp3_and_telephone_wav(tmp_path: Path, real_voices: dict[str, Any]) -> None:
    renderer = Renderer(voice_config(tmp_path, **OFFLINE), real_voices)
    mp3 = probe(render(renderer, "mp3").audio)
    wav = probe(render(renderer, "wav").audio)
    assert (mp3["codec"], mp3["channels"]) == ("mp3", 1)
    assert (wav["codec"], wav["channels"], wav["sample_rate"]) == ("pcm_s16le", 1, 8000)
    assert abs(mp3["duration"] - wav["duration"]) < 0.5


def test_silence_is_trimmed_and_loudness_levelled(tmp_path: Path, real_voices: Any) -> None:

    renderer = Renderer(voice_config(tmp_path, **OFFLINE), real_voices)
    note = audio.read_wav(render(renderer, "wav").audio, "test")
    assert note[:100].dBFS > -60 or note[100:300].dBFS > -45  # speech starts at once
    lufs, peak = loudness(render(renderer, "wav").audio)
    assert abs(lufs - encode.TARGET_LUFS) <= 1.0 and peak <= encode.MAX_TRUE_PEAK_DBTP


def test_a_retry_with_the_same_words_renders_nothing(tmp_path: Path) -> None:
    espeak = CountingEspeak()
    renderer = Renderer(voice_config(tmp_path, **OFFLINE), {"espeak-ng": espeak})
    first = render(renderer)
    again = render(renderer, now=FRIDAY_MORNING + timedelta(hours=3))  # same day: same words
    assert again.audio == first.audio and espeak.calls == 1
    fewer_days = render(renderer, now=FRIDAY_MORNING + timedelta(days=1))
    assert fewer_days.audio != first.audio and espeak.calls == 2
    other_format = render(renderer, "wav")
    assert other_format.audio.suffix == ".wav" and espeak.calls == 3


def test_cached_notes_are_private(tmp_path: Path, real_voices: dict[str, Any]) -> None:
    renderer = Renderer(voice_config(tmp_path, **OFFLINE), real_voices)
    path = render(renderer).audio
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    assert path.parent.parent == tmp_path / "state" / "audio"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp")]


def test_unreachable_edge_tts_falls_back_to_espeak_quickly(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    cfg = voice_config(tmp_path, engines=["edge-tts", "espeak-ng"], engine_timeout=3.0)
    renderer = Renderer(cfg, real_voices)
    started = time.monotonic()
    out = render(renderer)
    elapsed = time.monotonic() - started
    if out.engine.startswith("edge-tts:"):
        pytest.skip("edge-tts is reachable from this machine; nothing falls back")
    assert out.engine == "espeak-ng:id"
    assert elapsed < 3.0 + 5.0  # the engine's bound, plus espeak-ng and ffmpeg on a busy host


def test_an_engine_that_never_answers_is_given_up_after_the_timeout(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    cfg = voice_config(tmp_path, engines=["silent", "espeak-ng"], engine_timeout=1.0)
    renderer = Renderer(cfg, {"silent": SilentService(), **real_voices})
    started = time.monotonic()
    out = render(renderer)
    assert out.engine == "espeak-ng:id"
    assert 1.0 <= time.monotonic() - started < 1.0 + 5.0


def test_an_offline_engine_gets_the_offline_timeout_an_online_one_the_engine_timeout(
    tmp_path: Path,
) -> None:
    """The same slow engine: offline it is waited for (a busy host), online it is given up."""
    cfg = voice_config(tmp_path, engines=["slow"], engine_timeout=0.5, offline_timeout=30)
    out = render(Renderer(cfg, {"slow": SlowEspeak(seconds=1.5)}))
    assert out.engine == "slow:id"
    online = SlowEspeak(seconds=1.5)
    online.online = True
    cfg = voice_config(tmp_path / "online", engines=["slow"], engine_timeout=0.5)
    with pytest.raises(AudioError, match="slow: TimeoutError"):
        render(Renderer(cfg, {"slow": online}))
    assert audio.timeout(SilentService(), cfg.voices) == 0.5  # unsaid: taken for online


@pytest.mark.parametrize("queued", [True, False])
def test_notes_waiting_for_a_one_at_a_time_engine_do_not_spend_their_timeout(
    tmp_path: Path, queued: bool
) -> None:
    """Four notes at once for an engine that speaks one at a time, 1 s each, with 3 s each
    allowed: the fourth waits 3 s for the others. Queued, that wait is not counted; counted
    (the engine's lock taken inside its call, as before), the fourth note times out."""
    engine = SlowEspeak(seconds=1.0, one_at_a_time=queued)
    cfg = voice_config(tmp_path, engines=["slow"], offline_timeout=3.0)
    renderer = Renderer(cfg, {"slow": engine})

    async def four() -> list[Any]:
        facts = [sample_facts("id", permit_number=f"C{n}") for n in range(4)]
        jobs = [renderer.render(f, FRIDAY_MORNING, "ogg") for f in facts]
        return await asyncio.gather(*jobs, return_exceptions=True)

    results = asyncio.run(four())
    failed = [r for r in results if isinstance(r, AudioError)]
    if queued:
        assert failed == [] and {r.engine for r in results} == {"slow:id"}
    else:
        assert failed and "TimeoutError" in str(failed[0])


def test_parts_from_two_engines_are_matched_in_loudness_the_louder_turned_down() -> None:
    """Open JTalk (48 kHz) and espeak-ng (22.05 kHz) do not come out equally loud."""
    import numpy as np
    from pydub import AudioSegment

    def tone(amplitude: float, rate: int) -> Any:
        t = np.arange(3 * rate) / rate
        pcm = (amplitude * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
        return AudioSegment(data=pcm.tobytes(), sample_width=2, frame_rate=rate, channels=1)

    loud, soft = tone(0.8, 48000), tone(0.1, 22050)
    a, b = audio.matched(loud, soft)
    assert abs(audio._lufs(a) - audio._lufs(b)) < 0.1
    assert b.raw_data == soft.raw_data and a.max < loud.max  # the loud one turned down
    a, b = audio.matched(soft, loud)
    assert a.raw_data == soft.raw_data and abs(audio._lufs(a) - audio._lufs(b)) < 0.1


def test_the_cache_key_covers_each_parts_engine_and_voice() -> None:
    v = voice_config(Path("/nonexistent"), engines=["espeak-ng"]).voices
    ja = Part("open-jtalk", "mei-normal", "ja", "こんにちは")
    parts = [
        Part("espeak-ng", "id", "id", "Halo"),
        Part("edge-tts", "id-ID-GadisNeural", "id", "Halo"),
    ]
    keys = {audio.cache_key(Candidate("open-jtalk", (ja, p), "ja.toml"), "ogg", v) for p in parts}
    assert len(keys) == 2


def test_when_every_engine_fails_the_error_says_why(tmp_path: Path) -> None:
    cfg = voice_config(tmp_path, engines=["silent"], engine_timeout=0.5)
    renderer = Renderer(cfg, {"silent": SilentService()})
    with pytest.raises(AudioError, match="silent: TimeoutError"):
        render(renderer)


def test_a_note_over_the_limit_is_an_error_naming_the_template(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    renderer = Renderer(voice_config(tmp_path, max_seconds=5, **OFFLINE), real_voices)
    with pytest.raises(NoteTooLong, match=r"template id\.toml .*voices\.max_seconds"):
        render(renderer)


def test_an_engine_that_writes_nothing_is_a_failure(tmp_path: Path) -> None:
    class Mute:
        name = "mute"

        def languages(self) -> dict[str, list[str]]:
            return {"id": ["x"]}

        async def synthesize(self, text: str, language: str, voice: str, out: Path) -> None:
            return None  # exits "successfully", writes no file

    cand = Candidate("mute", (Part("mute", "x", "id", "halo"),), "id.toml")
    cfg = voice_config(tmp_path)
    with pytest.raises(AudioError, match="mute: AudioError: mute wrote no audio"):
        asyncio.run(audio.make_note(cfg, {"mute": Mute()}, [cand], "ogg"))


def test_purge_removes_notes_past_retention(tmp_path: Path, real_voices: dict[str, Any]) -> None:
    cfg = voice_config(tmp_path, audio_retention_days=30, **OFFLINE)
    renderer = Renderer(cfg, real_voices)
    old = render(renderer).audio
    new = render(renderer, "wav").audio
    now = datetime.now(UTC)
    month_ago = (now - timedelta(days=31)).timestamp()
    os.utime(old, (month_ago, month_ago))
    assert audio.purge_audio(cfg, now) == 1
    assert not old.exists() and new.exists()
    assert audio.purge_audio(cfg, now) == 0


def test_the_opus_note_is_levelled_too(tmp_path: Path, real_voices: dict[str, Any]) -> None:
    import subprocess

    renderer = Renderer(voice_config(tmp_path, **OFFLINE), real_voices)
    ogg = render(renderer, "ogg").audio
    decoded = tmp_path / "decoded.wav"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(ogg), str(decoded)], check=True)
    note = audio.read_wav(decoded, "ffmpeg")
    assert -24 < note.dBFS < -12 and note.max_dBFS <= 0
