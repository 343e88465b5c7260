"""`notifyd templates review` and `notifyd templates doc`, as a reviewer and a developer run
them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import probe
from notifyd.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_review_without_a_config_writes_the_pages_of_the_asked_languages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NOTIFYD_CONFIG", str(tmp_path / "none.toml"))  # no config installed
    out = tmp_path / "kit"
    code = main(["templates", "review", "-o", str(out), "--lang", "vi", "--stage", "today"])
    assert code == 0, capsys.readouterr().err
    assert "wrote 1 pages" in capsys.readouterr().err
    assert sorted(p.name for p in out.glob("*.html")) == ["index.html", "vi.html"]
    notes = sorted(out.glob("*.mp3"))
    assert [n.name for n in notes] == ["vi-today-none.mp3", "vi-today-sponsor.mp3"]
    assert all(probe(n)["duration"] > 0.5 for n in notes)
    page = (out / "vi.html").read_text(encoding="utf-8")
    assert "Blitar" in page and "Nguyen Van Minh" in page  # the sample office and holder


def test_review_refuses_a_language_without_a_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NOTIFYD_CONFIG", str(tmp_path / "none.toml"))
    assert main(["templates", "review", "-o", str(tmp_path / "k"), "--lang", "sv"]) == 1
    assert "no template for sv; available: id, en" in capsys.readouterr().err


def test_doc_check_passes_on_the_repository_and_doc_repairs_a_stale_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["templates", "doc", "--check"]) == 0
    stale = tmp_path / "languages.md"
    shutil.copyfile(ROOT / "docs" / "languages.md", stale)
    text = stale.read_text(encoding="utf-8")
    stale.write_text(text.replace("| `de` | German |", "| `de` | Germanic |"), encoding="utf-8")
    assert main(["templates", "doc", "--check", "--file", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["templates", "doc", "--file", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == text
