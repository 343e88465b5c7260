"""The built-in voices: espeak-ng run safely, edge-tts bounded, both found as plugins; and
what espeak-ng makes of each language's words (`espeak-ng -x`)."""

from __future__ import annotations

import asyncio
import subprocess
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from conftest import FRIDAY_MORNING, probe, sample_facts, voice_config
from notifyd.config import LANGUAGES
from notifyd.voice import audio
from notifyd.voice.render import Renderer
from notifyd_plugins.voice.edge import EdgeVoice
from notifyd_plugins.voice.espeak import EspeakVoice
from notifyd_plugins.voice.openjtalk import OpenJTalkVoice

#: What espeak-ng -x writes for a character it has no rule for: "Chinese letter".
CHINESE_LETTER = "tS'aIni:z"


def test_both_voices_are_found_through_the_entry_points() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="notifyd")}
    assert found["espeak"] == "notifyd_plugins.voice.espeak"
    assert found["edge"] == "notifyd_plugins.voice.edge"
    assert found["open-jtalk"] == "notifyd_plugins.voice.openjtalk"


def test_indonesian_edge_voice_is_gadis_by_default() -> None:
    assert EdgeVoice().languages()["id"][0] == "id-ID-GadisNeural"
    assert set(EdgeVoice().languages()) >= set(LANGUAGES)
    offline = set(EspeakVoice().languages()) | set(OpenJTalkVoice().languages())
    assert set(LANGUAGES) - offline <= {"th", "fil"}  # no offline voice reads them


@pytest.mark.parametrize("text", ["--version", "-v de", '"; rm -rf ~', "<speak>halo</speak>"])
def test_espeak_reads_arguments_and_markup_as_words(tmp_path: Path, text: str) -> None:
    out = tmp_path / "x.wav"
    asyncio.run(EspeakVoice().synthesize(text, "id", "id", out))
    info = probe(out)
    assert info["codec"] == "pcm_s16le" and 0.3 < info["duration"] < 8


@pytest.mark.parametrize("voice", ["de; rm -rf ~", "--version", "en-us"])
def test_espeak_takes_only_voices_from_its_list(tmp_path: Path, voice: str) -> None:
    with pytest.raises(ValueError, match="no voice"):
        asyncio.run(EspeakVoice().synthesize("halo", "id", voice, tmp_path / "x.wav"))


def test_edge_takes_only_voices_from_its_list(tmp_path: Path) -> None:
    bad = 'id-ID-GadisNeural"><evil/>'
    with pytest.raises(ValueError, match="not on the list"):
        asyncio.run(EdgeVoice().synthesize("halo", "id", bad, tmp_path / "x.wav"))


def test_edge_gives_up_in_seconds_when_its_service_cannot_be_reached(tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    started = time.monotonic()
    try:
        asyncio.run(
            asyncio.wait_for(EdgeVoice().synthesize("Halo.", "id", "id-ID-GadisNeural", out), 10)
        )
    except (RuntimeError, OSError) as exc:  # what notifyd's chain treats as a failed engine
        assert str(exc)
        assert time.monotonic() - started < 10
        return
    assert probe(out)["codec"] == "pcm_s16le"  # a machine that reaches the service


def _phonemes(text: str, voice: str) -> str:
    return subprocess.run(
        ["espeak-ng", "-q", "-x", "-v", voice, "--stdin"],
        input=text, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_offline_voice_is_given_the_spoken_words_of_its_language(
    tmp_path: Path, real_voices: dict[str, Any], lang: str
) -> None:
    """Each language's own spoken words, to a voice that reads them; Thai and Filipino, which
    no offline voice reads, are given the English notice instead (docs/voices.md)."""
    cfg = voice_config(tmp_path, engines=["open-jtalk", "espeak-ng"])
    renderer = Renderer(cfg, real_voices)
    (cand,) = renderer.candidates(sample_facts(lang), FRIDAY_MORNING, lang)
    (part,) = cand.parts
    said = "en" if lang in ("th", "fil") else lang
    assert part.language == said and part.text == renderer.spoken(
        sample_facts(lang), FRIDAY_MORNING, said
    )
    assert part.engine == ("open-jtalk" if lang == "ja" else "espeak-ng")
    if part.engine == "espeak-ng":
        assert CHINESE_LETTER not in _phonemes(part.text, part.voice)


def test_arabic_spoken_text_carries_its_vowels(tmp_path: Path, real_voices: dict[str, Any]) -> None:
    renderer = Renderer(voice_config(tmp_path, engines=["espeak-ng"]), real_voices)
    (cand,) = renderer.candidates(sample_facts("ar"), FRIDAY_MORNING, "ar")
    harakat = sum(1 for ch in cand.parts[0].text if "\u064b" <= ch <= "\u0652")
    assert harakat > 30
    plain = renderer.words(sample_facts("ar"), FRIDAY_MORNING)[0]
    assert sum(1 for ch in plain if "\u064b" <= ch <= "\u0652") < 5


def test_espeak_output_is_a_voice_note_after_the_pipeline(tmp_path: Path) -> None:
    cfg = voice_config(tmp_path)
    cand = audio.Candidate("espeak-ng", (audio.Part("espeak-ng", "ru", "ru", "Привет."),), "t")
    path, engine = asyncio.run(audio.make_note(cfg, {"espeak-ng": EspeakVoice()}, [cand], "ogg"))
    assert engine == "espeak-ng:ru" and probe(path)["codec"] == "opus"


def test_edge_audio_is_decoded_to_the_wav_the_contract_asks_for(tmp_path: Path) -> None:
    """What edge-tts sends (MP3) becomes a WAV; the MP3 is made here, the service is offline."""
    from notifyd.voice import encode
    from notifyd_plugins.voice.edge import _mp3_to_wav

    wav = tmp_path / "espeak.wav"
    asyncio.run(EspeakVoice().synthesize("Selamat pagi.", "id", "id", wav))
    segment = audio.read_wav(wav, "espeak-ng")
    mp3 = encode.encode(segment.raw_data, segment.frame_rate, "mp3")
    out = tmp_path / "edge.wav"
    asyncio.run(_mp3_to_wav(mp3, out))
    info = probe(out)
    assert (info["codec"], info["channels"]) == ("pcm_s16le", 1)
    assert abs(info["duration"] - len(segment) / 1000) < 0.2
