"""The table of languages in docs/languages.md: generated from the templates and the voice
tables, rewritten between its markers only, and in step with what is committed."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from conftest import voice_config
from notifyd.config import LANGUAGES
from notifyd.errors import NotifydError
from notifyd.voice import langdoc

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "languages.md"


def shipped_table(tmp_path: Path, voices: dict[str, Any]) -> str:
    from notifyd import config

    return langdoc.table(config.parse({"state_dir": str(tmp_path)}), voices)


def test_the_committed_table_is_in_step_with_the_templates(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    from notifyd import config

    committed = DOC.read_text(encoding="utf-8")
    notes = langdoc.notes(config.parse({"state_dir": str(tmp_path)}))
    regenerated = langdoc.rewrite(committed, shipped_table(tmp_path, real_voices), notes)
    assert regenerated == committed, "docs/languages.md is stale: run `notifyd templates doc`"


def test_each_row_names_the_language_its_voices_and_its_review(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    rows = shipped_table(tmp_path, real_voices).splitlines()[2:]
    assert [r.split(" | ")[0] for r in rows] == [f"| `{lang}`" for lang in LANGUAGES]
    by_tag = {r.split(" | ")[0][3:-1]: r.split(" | ") for r in rows}
    assert by_tag["de"][1:] == [
        "German",
        "Deutsch",
        "-",
        "espeak-ng `de`",
        "edge-tts `de-DE-KatjaNeural`",
        "no |",
    ]
    assert by_tag["zh-TW"][3] == "HK, MO, TW"
    assert by_tag["fil"][4:6] == [
        "none; the `en` notice by espeak-ng `en-gb`",
        "edge-tts `fil-PH-BlessicaNeural`",
    ]
    assert by_tag["ja"][4] == "open-jtalk `mei-normal`"


def test_a_reviewed_template_shows_its_reviewer_and_missing_voices_say_none(
    tmp_path: Path, real_voices: dict[str, Any]
) -> None:
    folder = tmp_path / "tpl"
    shutil.copytree(ROOT / "config" / "templates", folder)
    ko = folder / "ko.toml"
    ko.write_text(
        ko.read_text(encoding="utf-8").replace(
            'reviewed = false\nby = ""\ndate = ""',
            'reviewed = true\nby = "Kim | Seo-yeon"\ndate = "2026-11-28"',
        ),
        encoding="utf-8",
    )
    cfg = voice_config(tmp_path, templates_dir=str(folder), engines=["espeak-ng"])
    table = langdoc.table(cfg, real_voices)
    (ko_row,) = [r for r in table.splitlines() if r.startswith("| `ko`")]
    assert ko_row.endswith("| espeak-ng `ko` | none | yes: Kim \\| Seo-yeon, 2026-11-28 |")


def test_only_the_lines_between_the_markers_change() -> None:
    doc = f"# Title\n\nbefore\n{langdoc.BEGIN}\n| old |\n{langdoc.END}\n\nafter\n"
    assert langdoc.rewrite(doc, "| new |") == (
        f"# Title\n\nbefore\n{langdoc.BEGIN}\n| new |\n{langdoc.END}\n\nafter\n"
    )
    with pytest.raises(NotifydError, match="no table markers"):
        langdoc.rewrite("# Title\n| old |\n", "| new |")


def test_the_review_notes_say_what_each_reviewer_should_check(tmp_path: Path) -> None:
    folder = tmp_path / "tpl"
    shutil.copytree(ROOT / "config" / "templates", folder)
    ar = folder / "ar.toml"
    text = ar.read_text(encoding="utf-8")
    start = text.index("reviewed = false")
    end = text.index("\n", text.index("note = ", start))
    ar.write_text(
        text[:start] + 'reviewed = true\nby = "Layla Haddad"\ndate = "2026-11-30"\n'
        'note = "Read it all;\\n the vocalisation is right."' + text[end:],
        encoding="utf-8",
    )
    notes = langdoc.notes(voice_config(tmp_path, templates_dir=str(folder))).splitlines()
    assert [n.split(" ")[1] for n in notes] == [f"`{lang}`" for lang in LANGUAGES]
    by_tag = {n.split(" ")[1].strip("`"): n for n in notes}
    assert by_tag["ar"] == (
        "- `ar` Arabic (Modern Standard) (reviewed by Layla Haddad, 2026-11-30): "
        "Read it all; the vocalisation is right."
    )
    assert by_tag["tr"].startswith("- `tr` Turkish (not reviewed): Written by the developers;")


def test_the_notes_are_rewritten_between_their_own_markers() -> None:
    doc = (
        f"{langdoc.BEGIN}\n| old |\n{langdoc.END}\ntext\n"
        f"{langdoc.NOTES_BEGIN}\n- old\n{langdoc.NOTES_END}\nend\n"
    )
    assert langdoc.rewrite(doc, "| new |", "- new") == (
        f"{langdoc.BEGIN}\n| new |\n{langdoc.END}\ntext\n"
        f"{langdoc.NOTES_BEGIN}\n- new\n{langdoc.NOTES_END}\nend\n"
    )
    with pytest.raises(NotifydError, match="no notes markers"):
        langdoc.rewrite(f"{langdoc.BEGIN}\n{langdoc.END}\n", "| t |", "- n")
