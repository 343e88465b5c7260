"""The review kit on the shipped templates: a page per language with every wording, written
and spoken, and voice notes that ffprobe reads, spoken by the installed offline voices."""

from __future__ import annotations

import html
import re
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import probe, voice_config
from notifyd.config import EXTENSION_KINDS, LANGUAGES
from notifyd.voice import review
from notifyd.voice.render import Renderer
from testplugins.voices import CountingEspeak

# One process runs this file's tests: they share a module-scoped server or fixture that
# is costly to start (scripts/test.sh shares the rest of the suite out test by test).
pytestmark = pytest.mark.xdist_group("test_review")

ROOT = Path(__file__).resolve().parents[2]
#: Sections every language has: before expiry the three kinds of extension say different
#: things; overdue is the same for all of them.
ALWAYS = [f"{s}-{k}" for s in ("14", "7") for k in EXTENSION_KINDS] + ["overdue", "bilingual"]
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//|url\(|@import""", re.I)


def offline_cfg(tmp_path: Path, **voices: Any) -> Any:
    # the shipped order; Open JTalk loads at first use, so its timeout is generous here
    voices = {"engine_timeout": 60, **voices}
    return voice_config(tmp_path, engines=["edge-tts", "open-jtalk", "espeak-ng"], **voices)


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory, real_voices: dict[str, Any]) -> Any:
    """Every language's page; one voice note per language (overdue) keeps the run short."""
    tmp = tmp_path_factory.mktemp("kit")
    cfg = offline_cfg(tmp)
    out = tmp / "review"
    pages = review.write_kit(cfg, real_voices, out, voiced={"overdue"})
    return cfg, out, {p["lang"]: p for p in pages}


def expected_texts(renderer: Renderer, lang: str, days: int) -> tuple[str, str]:
    """What the daemon would write and say for this stage, from a Renderer of its own."""
    cfg = renderer.cfg
    facts = review.facts(lang, "BLT")
    now = review.moment(cfg, "BLT", days)
    written, _, used = renderer.words(facts, now)
    return written, renderer.spoken(facts, now, used)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_page_shows_every_stage_written_and_spoken(kit: Any, lang: str) -> None:
    cfg, out, pages = kit
    renderers = {k: Renderer(review.review_config(cfg, Path(cfg.state_dir), k), {})
                 for k in EXTENSION_KINDS}  # fmt: skip
    page = (out / f"{lang}.html").read_text(encoding="utf-8")
    shown = html.unescape(page)
    ids = [s["id"] for s in pages[lang]["sections"]]
    assert set(ALWAYS) <= set(ids) and len(ids) == len(set(ids))
    assert any(i.startswith("tomorrow") for i in ids) and any(i.startswith("today") for i in ids)
    for _, _, days in review.STAGES:
        for kind in EXTENSION_KINDS:
            written, spoken = expected_texts(renderers[kind], lang, days)
            for line in written.split("\n"):
                assert line in shown, (days, kind, line)
            assert spoken in shown, (days, kind)
    assert f'id="{ids[0]}"' in page and "Not reviewed" in page
    assert review.NAMES[lang] in page and review.PERMIT_NUMBER in page
    assert not EXTERNAL.search(page)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_has_an_offline_voice_note_ffprobe_reads(kit: Any, lang: str) -> None:
    _, out, pages = kit
    (overdue,) = [s for s in pages[lang]["sections"] if s["id"] == "overdue"]
    assert overdue["error"] == "" and overdue["engine"] not in review.ONLINE_ENGINES
    info = probe(out / overdue["audio"])
    assert info["codec"] == "mp3" and info["duration"] > 0.5
    page = (out / f"{lang}.html").read_text(encoding="utf-8")
    assert f'<audio controls preload="none" src="{lang}-overdue.mp3">' in page
    assert f"Spoken by {overdue['engine']}, voice {overdue['voice']};" in page
    unvoiced = [s for s in pages[lang]["sections"] if s["id"] != "overdue"]
    assert all(s["audio"] is None for s in unvoiced)
    assert not list(out.glob(f"{lang}-14-*.mp3"))


def test_the_index_lists_every_language_and_its_review_state(kit: Any) -> None:
    _, out, _ = kit
    index = (out / "index.html").read_text(encoding="utf-8")
    for lang in LANGUAGES:
        assert f'<a href="{lang}.html">' in index
    assert index.count("not reviewed") == len(LANGUAGES)
    assert not EXTERNAL.search(index)


def test_a_whole_language_is_voiced_with_the_bilingual_note_twice_as_long(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    cfg = offline_cfg(tmp_path)
    (page,) = review.write_kit(cfg, real_voices, tmp_path / "kit", ["de"], fmt="ogg")
    by_id = {s["id"]: s for s in page["sections"]}
    lengths = {}
    for sid, s in by_id.items():
        assert (s["engine"], s["error"]) == ("espeak-ng", ""), sid
        info = probe(tmp_path / "kit" / s["audio"])
        assert info["codec"] == "opus" and info["duration"] > 0.5
        lengths[sid] = info["duration"]
        assert abs(lengths[sid] - s["seconds"]) < 0.2  # the page says how long it is
    assert by_id["bilingual"]["voice"] == "de+id"
    assert lengths["bilingual"] > 1.5 * lengths["14-sponsor"]
    assert [p for _, p in by_id["bilingual"]["spoken"]][0] == by_id["14-sponsor"]["spoken"][0][1]
    assert by_id["bilingual"]["spoken"][1][0] == "id"
    counting = CountingEspeak()
    again = review.write_kit(
        cfg, {"espeak-ng": counting}, tmp_path / "kit2", ["de"], "ogg", tmp_path / "kit" / ".cache"
    )
    assert {s["id"]: s["error"] for s in again[0]["sections"]} == dict.fromkeys(by_id, "")
    assert counting.calls == 0  # a second run takes every note from the cache


def test_the_japanese_bilingual_note_is_voiced_part_by_part(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    """No offline engine speaks Japanese and Indonesian: the kit voiced no Japanese bilingual
    note before (`templates review --lang ja` exited 1)."""
    cfg = offline_cfg(tmp_path)
    voiced = {"bilingual", "14"}
    (page,) = review.write_kit(cfg, real_voices, tmp_path / "kit", ["ja"], "ogg", voiced=voiced)
    by_id = {s["id"]: s for s in page["sections"]}
    two, one = by_id["bilingual"], by_id["14-sponsor"]
    assert (two["engine"], two["voice"], two["error"]) == (
        "open-jtalk+espeak-ng",
        "mei-normal+id",
        "",
    )
    assert (one["engine"], one["voice"]) == ("open-jtalk", "mei-normal")
    assert two["seconds"] > 1.5 * one["seconds"]
    assert "open-jtalk+espeak-ng" in (tmp_path / "kit" / "ja.html").read_text(encoding="utf-8")


def test_the_page_shows_who_reviewed_the_language(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    shutil.copytree(ROOT / "config" / "templates", folder)
    de = folder / "de.toml"
    text = de.read_text(encoding="utf-8")
    old, new = (
        'reviewed = false\nby = ""\ndate = ""',
        'reviewed = true\nby = "Anna Weber"\ndate = 2026-11-20',
    )
    assert old in text
    text = text.replace(old, new)
    de.write_text(text, encoding="utf-8")
    cfg = offline_cfg(tmp_path, templates_dir=str(folder))
    review.write_kit(cfg, {}, tmp_path / "kit", ["de", "fr"], voiced=set())
    page = (tmp_path / "kit" / "de.html").read_text(encoding="utf-8")
    assert "Reviewed by <strong>Anna Weber</strong> on 2026-11-20." in page
    index = (tmp_path / "kit" / "index.html").read_text(encoding="utf-8")
    assert "reviewed by Anna Weber, 2026-11-20" in index and "not reviewed" in index
    assert "Not voiced in this run" in page and not list((tmp_path / "kit").glob("*.mp3"))


def test_a_language_no_offline_voice_speaks_is_shown_not_dropped(tmp_path: Path) -> None:
    cfg = offline_cfg(tmp_path)
    pages = review.write_kit(cfg, {}, tmp_path / "kit", ["ko"], voiced={"today"})
    lines = review.failures(pages)
    assert lines and all(line.startswith("ko today") for line in lines)
    page = (tmp_path / "kit" / "ko.html").read_text(encoding="utf-8")
    assert "No voice note: no TTS engine could speak the notice" in page
    assert "without a voice note" in (tmp_path / "kit" / "index.html").read_text()


def test_online_engines_are_left_out_and_stages_are_dated_from_the_sample_day(
    tmp_path: Path,
) -> None:
    cfg = voice_config(
        tmp_path, engines=["edge-tts", "espeak-ng"], engines_by_language={"ja": ["edge-tts"]}
    )
    quiet = review.review_config(cfg, tmp_path / "c", "none")
    assert quiet.voices.engines == ["espeak-ng"] and quiet.voices.engines_by_language["ja"] == []
    assert quiet.notices.extension == {} and quiet.notices.extension_default == "none"
    assert quiet.state_dir == str(tmp_path / "c")
    assert review.moment(cfg, "BLT", 14).date() == review.SAMPLE_DAY
    assert review.moment(cfg, "BLT", -3).date() == review.EXPIRY + timedelta(days=3)
