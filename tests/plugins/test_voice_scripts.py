"""Names made readable for a voice: scripts recognised, letters outside a voice's scripts
transliterated, its own script and everything else left as it was."""

from __future__ import annotations

import pytest

from notifyd_plugins.voice.scripts import readable, script


@pytest.mark.parametrize(
    ("ch", "kind"),
    [("a", "latin"), ("é", "latin-ext"), ("ễ", "latin-ext"), ("Ж", "cyrillic"), ("ي", "arabic"),
     ("र", "devanagari"), ("ส", "thai"), ("김", "hangul"), ("や", "kana"), ("ア", "kana"),
     ("王", "han"), ("々", "han"), ("\U00020000", "han"), ("Ω", "other")],
)  # fmt: skip
def test_script_of_a_character(ch: str, kind: str) -> None:
    assert script(ch) == kind


@pytest.mark.parametrize(
    ("text", "scripts", "vietnamese", "expected"),
    [
        # a voice that reads only Latin: Han and Hangul a syllable at a time, others whole
        ("Dear 王小明, hello.", ["latin-ext"], False, "Dear Wang Xiao Ming, hello."),
        ("Dear 김수아.", ["latin-ext"], False, "Dear Gim Su A."),
        ("Dear Олена Шевченко.", ["latin-ext"], False, "Dear Olena Shevchenko."),
        # Vietnamese letters only for the Vietnamese voice; other accents stay
        ("Nguyễn Văn An, Chloé", ["latin-ext"], False, "Nguyen Văn An, Chloé"),
        ("Nguyễn Văn An", ["latin-ext"], True, "Nguyễn Văn An"),
        # the voice's own script stays, and so do digits and punctuation
        ("Олена, 18 грудня.", ["cyrillic"], False, "Олена, 18 грудня."),
        ("王小明您好，2026年。", ["han"], False, "王小明您好，2026年。"),
        # a Chinese voice: accented Latin folded to ASCII
        ("Chloé 您好", ["han"], False, "Chloe 您好"),
    ],
)
def test_readable_transliterates_only_what_the_voice_cannot_read(
    text: str, scripts: list[str], vietnamese: bool, expected: str
) -> None:
    assert readable(text, scripts, vietnamese=vietnamese) == expected
