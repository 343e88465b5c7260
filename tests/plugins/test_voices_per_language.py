"""Every language offline, as `notifyd say` renders it: the engine and voice that speak it, and
what they make of names in every script, on real espeak-ng, Open JTalk and ffmpeg.

The sentences are representative spoken notices (tests/conftest.py SPOKEN), not the templates:
those are tested with their own words in tests/voice/.
"""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import NAMES, OFFLINE_VOICE, SPOKEN, loudness, probe, voice_config
from notifyd.voice import audio, encode, render
from notifyd.voice.audio import Candidate, Part
from notifyd_plugins.voice.espeak import EspeakVoice
from notifyd_plugins.voice.openjtalk import katakana

#: The default order; a generous timeout, as these tests are about which voice speaks and how
#: loud, not about how fast a loaded test host is.
OFFLINE = {"engines": ["edge-tts", "open-jtalk", "espeak-ng"], "engine_timeout": 60}
#: What espeak-ng -x writes when it spells a letter it cannot read instead of reading it:
#: "<script> letter" (in English or the voice's language), read from each voice's output.
SPELLED = ("tS'aIni:z", "sI2r'IlIk", "'ar@bIk", "dZ'ap@ni:z", "t'aI(", "l'et@", "l,Et3",
           "l'Etr", "b'u:xStA:b@", "l'et:e:Ra", "s'imbolo", "l'etR&", "l'Et@r", "haRf",
           "@ks.@r", "k,odeh'uR2uf", "l'e1t@1", "ky:R'IlIS", "si*'ilikU", "Ti*'iliko",
           "tSIR'illIko", "sI*Ik'Ik", "'a*&by", "'a*aBe", "'aRabo", "aR'AbIS", "'V*bi",
           "Sin'es", "tS'inos", "tSIn'eze", "Ci:n'e:zIS", "c'i;@ni;@3")  # fmt: skip


def offline_candidates(cfg: Any, voices: dict[str, Any], lang: str, text: str) -> list[Candidate]:
    """The engines `notifyd say` would try for `lang`, in the configured order, edge-tts left
    out (the service cannot be reached from the tests)."""
    renderer = render.Renderer(cfg, voices)
    out = []
    for engine in render.engine_order(cfg, lang):
        voice = renderer.voice_for(engine, lang) if engine in voices else None
        if voice and engine != "edge-tts":
            out.append(Candidate(engine, (Part(engine, voice, lang, text),), "say"))
    return out


def spoken(lang: str, which: int) -> str:
    return SPOKEN[lang].format(name=NAMES[lang][which])


@pytest.mark.parametrize("which", [0, 1], ids=["latin-name", "other-script-name"])
@pytest.mark.parametrize("lang", sorted(SPOKEN))
def test_each_language_is_spoken_by_its_native_offline_voice_at_the_target_loudness(
    tmp_path: Path, real_voices: dict[str, Any], lang: str, which: int
) -> None:
    cfg = voice_config(tmp_path, **OFFLINE)
    candidates = offline_candidates(cfg, real_voices, lang, spoken(lang, which))
    expected = OFFLINE_VOICE[lang]
    if expected is None:  # Thai, Filipino: no offline voice reads them; never a wrong one
        assert candidates == []
        return
    assert candidates[0].label == expected  # the native voice first: never English for it
    path, label = asyncio.run(audio.make_note(cfg, real_voices, candidates, "ogg"))
    assert label == expected
    info = probe(path)
    assert (info["codec"], info["channels"]) == ("opus", 1)
    assert 3 < info["duration"] < 20
    lufs, peak = loudness(path)
    assert abs(lufs - encode.TARGET_LUFS) <= 1.0, (lang, lufs)
    assert peak <= encode.MAX_TRUE_PEAK_DBTP, (lang, peak)


@pytest.mark.parametrize("fmt", ["mp3", "wav"])
@pytest.mark.parametrize("lang", ["ar", "en", "zh", "ja", "de"])
def test_links_and_telephony_are_levelled_too(
    tmp_path: Path, real_voices: dict[str, Any], lang: str, fmt: str
) -> None:
    """ar and en peaked above 0 dBTP before; ja comes from another engine at 48 kHz."""
    cfg = voice_config(tmp_path, **OFFLINE)
    candidates = offline_candidates(cfg, real_voices, lang, spoken(lang, 0))
    path, _ = asyncio.run(audio.make_note(cfg, real_voices, candidates, fmt))
    lufs, peak = loudness(path)
    assert abs(lufs - encode.TARGET_LUFS) <= 1.0 and peak <= encode.MAX_TRUE_PEAK_DBTP


def phonemes(text: str, voice: str) -> str:
    return subprocess.run(
        ["espeak-ng", "-q", "-x", "-v", voice, "--stdin"],
        input=text, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


@pytest.mark.parametrize("which", [0, 1], ids=["latin-name", "other-script-name"])
@pytest.mark.parametrize("lang", sorted(k for k, v in OFFLINE_VOICE.items() if v and "espeak" in v))
def test_espeak_reads_every_name_and_spells_no_letter(lang: str, which: int) -> None:
    voice = str(OFFLINE_VOICE[lang]).split(":")[1]
    given = EspeakVoice().prepare(spoken(lang, which), voice)
    said = phonemes(given, voice)
    assert not [m for m in SPELLED if m in said], (given, said)
    if which == 1:  # the name in another script was a spelled-out mess before, for most voices
        raw = phonemes(spoken(lang, 1), voice)
        native = lang in ("zh", "zh-TW", "ko", "ar", "ru", "hi", "uk") or NAMES[lang][1] == "김수아"
        assert native == (not [m for m in SPELLED if m in raw]), raw


def test_mandarin_reads_han_with_tones_and_latin_names_without_code_points() -> None:
    said = phonemes(EspeakVoice().prepare("王小明您好。Nguyễn Văn An, Олена.", "cmn-latn-pinyin"),
                    "cmn-latn-pinyin")  # fmt: skip
    assert "w'A35N" in said and "m'i35N" in said  # wáng … míng, with their rising tones
    assert not [m for m in SPELLED if m in said]
    # what `cmn` (the voice we do not use) does with the same words: pinyin read as English
    assert "(en)" in phonemes("您好", "cmn")


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("TANAKA HANAKO様", "タナカハナコサマ"),
        ("JOHN SMITH様", "ジョンスミスサマ"),
        ("番号は 2 C 1 A です", "バンゴーワニスィーイチエーデス"),
        ("김수아様", "ギムスーアサマ"),
        ("Олена様", "オレナサマ"),
        ("山田太郎様", "ヤマダタローサマ"),
    ],
)
def test_japanese_reads_latin_and_foreign_names_as_katakana(text: str, reading: str) -> None:
    import pyopenjtalk

    assert pyopenjtalk.g2p(katakana(text), kana=True).replace("・", "").replace("、", "") == reading
