"""The renderer the dispatcher calls: language fallback, bilingual notes, injection cases, the
cache hit path, and the checks of `notifyd check-config`."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydub.silence import detect_silence

from conftest import FRIDAY_MORNING, loudness, probe, sample_facts, voice_config
from notifyd.errors import ConfigError
from notifyd.voice import audio, encode
from notifyd.voice.render import Renderer, check
from testplugins.voices import OnlyEnglish

OFFLINE = {"engines": ["open-jtalk", "espeak-ng"], "engine_timeout": 60}
HOSTILE_NAMES = [
    "{{ 7*7 }}",
    '<speak><break time="10s"/></speak>',
    '"; rm -rf ~',
    "-v de",
    "--version",
    "\u202eSiti Rahma\u202c \u2067عمر\u2069",
    "Budi 😀👍🏽🇮🇩 Santoso",
    "Wolfeschlegelsteinhausenbergerdorff " * 14,  # 500 characters
]


def rendered(renderer: Renderer, lang: str = "id", fmt: str | None = "ogg", **f: Any) -> Any:
    return asyncio.run(renderer.render(sample_facts(lang, **f), FRIDAY_MORNING, fmt))


def test_text_only_when_no_format_is_asked(tmp_path: Path) -> None:
    out = rendered(Renderer(voice_config(tmp_path), {}), "en", None)
    assert out.audio is None and out.engine is None and out.language == "en"
    assert out.fields["name"] == "John Smith" and out.fields["days_left"] == "14"
    assert out.fields["expiry"] == "18 December 2026" and out.fields["office"] == "BLT"
    assert out.fields["office_phone"] == "+62 342 000000"


@pytest.mark.parametrize(
    ("tag", "used"),
    [("zh-Hans", "zh"), ("zh-Hant-HK", "zh-TW"), ("tl", "fil"), ("pt-BR", "pt"), ("sv", "en")],
)
def test_language_falls_back_to_its_primary_tag_then_the_default(
    tmp_path: Path, tag: str, used: str
) -> None:
    assert rendered(Renderer(voice_config(tmp_path), {}), tag, None).language == used


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_names_make_a_normal_voice_note(
    tmp_path: Path, real_voices: dict[str, Any], name: str
) -> None:
    renderer = Renderer(voice_config(tmp_path, **OFFLINE), real_voices)
    out = rendered(renderer, "id", full_name=name)
    info = probe(out.audio)
    assert info["codec"] == "opus" and 8 < info["duration"] < 60
    wav = audio.read_wav(rendered(renderer, "id", "wav", full_name=name).audio, "test")
    assert detect_silence(wav, min_silence_len=2000, silence_thresh=-50) == []  # no <break>
    assert "49" not in out.text and "\u202e" not in out.text and "😀" not in out.text
    assert len(out.fields["name"]) <= 60


def test_a_bilingual_note_says_it_again_in_indonesian(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    one = rendered(Renderer(voice_config(tmp_path, **OFFLINE), real_voices), "de")
    two = rendered(Renderer(voice_config(tmp_path, bilingual=True, **OFFLINE), real_voices), "de")
    assert one.engine == "espeak-ng:de" and two.engine == "espeak-ng:de+id"
    assert probe(two.audio)["duration"] > 1.7 * probe(one.audio)["duration"]
    assert two.text == one.text  # the SMS stays in the person's language


def test_japanese_is_handed_to_the_engine_in_japanese(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    """No English stand-in: the engine gets the Japanese words (issue 11a makes the voice)."""
    renderer = Renderer(voice_config(tmp_path, **OFFLINE), real_voices)
    (cand,) = renderer.candidates(sample_facts("ja"), FRIDAY_MORNING, "ja")
    assert cand.parts[0].language == "ja" and "滞在許可" in cand.parts[0].text


def test_japanese_offline_is_spoken_in_japanese_by_open_jtalk(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    # a generous timeout: which engine speaks is the point here, and today's Japanese template
    # is a 40-second note (several seconds of Open JTalk on a loaded host)
    cfg = voice_config(tmp_path, engines=["open-jtalk", "espeak-ng"], engine_timeout=60)
    out = rendered(Renderer(cfg, real_voices), "ja")
    assert out.language == "ja" and out.engine == "open-jtalk:mei-normal"


def test_a_japanese_bilingual_note_takes_each_part_to_its_own_offline_voice(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    """Open JTalk has no Indonesian and espeak-ng no Japanese: each speaks its part."""
    one = rendered(Renderer(voice_config(tmp_path, **OFFLINE), real_voices), "ja")
    two = rendered(Renderer(voice_config(tmp_path, bilingual=True, **OFFLINE), real_voices), "ja")
    assert one.engine == "open-jtalk:mei-normal"
    assert two.engine == "open-jtalk+espeak-ng:mei-normal+id"
    assert probe(two.audio)["duration"] > 1.5 * probe(one.audio)["duration"]
    lufs, peak = loudness(two.audio)
    assert abs(lufs - encode.TARGET_LUFS) <= 1.0 and peak <= encode.MAX_TRUE_PEAK_DBTP
    assert two.text == one.text


def test_one_engine_speaks_a_whole_bilingual_note_where_one_can(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    """edge-tts speaks Japanese and Indonesian: it is tried first for the whole note, then
    the offline voices part by part; German stays with espeak-ng alone."""
    cfg = voice_config(tmp_path, bilingual=True, engines=["edge-tts", "open-jtalk", "espeak-ng"])
    renderer = Renderer(cfg, real_voices)
    ja = renderer.candidates(sample_facts("ja"), FRIDAY_MORNING, "ja")
    assert [c.label for c in ja] == [
        "edge-tts:ja-JP-NanamiNeural+id-ID-GadisNeural", "open-jtalk+espeak-ng:mei-normal+id",
    ]  # fmt: skip
    assert [p.language for p in ja[1].parts] == ["ja", "id"]
    de = renderer.candidates(sample_facts("de"), FRIDAY_MORNING, "de")
    assert [c.label for c in de] == [
        "edge-tts:de-DE-KatjaNeural+id-ID-GadisNeural",
        "espeak-ng:de+id",
    ]


def test_a_cached_note_starts_no_engine(tmp_path: Path, real_voices: dict[str, Any]) -> None:
    class Refuses:
        name = "espeak-ng"

        def languages(self) -> dict[str, list[str]]:
            return real_voices["espeak-ng"].languages()

        async def synthesize(self, text: str, language: str, voice: str, out: Path) -> None:
            raise AssertionError("a cached note must not be spoken again")

    cfg = voice_config(tmp_path, **OFFLINE)
    first = rendered(Renderer(cfg, real_voices), "ko")
    again = rendered(Renderer(cfg, {"espeak-ng": Refuses()}), "ko")
    assert again.audio == first.audio and again.engine == first.engine


# --- check-config ---------------------------------------------------------------------------


def test_the_shipped_templates_and_default_voices_pass(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    check(voice_config(tmp_path), real_voices)


def test_an_unknown_engine_is_named(tmp_path: Path, real_voices: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match=r"voices.engines: no voice plugin called 'festival'"):
        check(voice_config(tmp_path, engines=["festival"]), real_voices)


def test_a_language_no_engine_speaks_is_an_error(tmp_path: Path) -> None:
    cfg = voice_config(tmp_path, engines=["only-en"])
    with pytest.raises(ConfigError, match=r"voices.engines_by_language.id: no configured engine"):
        check(cfg, {"only-en": OnlyEnglish()})


def test_a_voice_not_on_the_engine_list_is_an_error(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    cfg = voice_config(tmp_path, names={"edge-tts": {"id": "id-ID-Nobody"}})
    with pytest.raises(ConfigError, match=r"voices.names.edge-tts.id: .*id-ID-GadisNeural"):
        check(cfg, real_voices)


def test_sms_over_the_segment_limit_is_an_error(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    with pytest.raises(ConfigError, match=r"voices.sms_max_segments: the \w+ template"):
        check(voice_config(tmp_path, sms_max_segments=2), real_voices)


@pytest.mark.parametrize(
    ("voices", "key"),
    [
        ({"engine_timeout": 0}, "voices.engine_timeout"),
        ({"offline_timeout": 0}, "voices.offline_timeout"),
        ({"engines": []}, "voices.engines"),
        ({"engines_by_language": {"xx": ["espeak-ng"]}}, "voices.engines_by_language.xx"),
        ({"names": {"edge-tts": {"id": "a b"}}}, "voices.names.edge-tts.id"),
        ({"opus_compression_level": 11}, "voices.opus_compression_level"),
    ],
)
def test_bad_voice_settings_name_their_key(
    tmp_path: Path, voices: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as err:
        voice_config(tmp_path, **voices)
    assert err.value.key == key
