"""Notice words: every language, dates in its own form, days left from `now`, values as data."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from conftest import FRIDAY_MORNING, sample_facts, voice_config
from notifyd.config import LANGUAGES
from notifyd.errors import ConfigError
from notifyd.voice import segments, templates
from notifyd.voice.render import Renderer
from notifyd.voice.sanitise import ELLIPSIS, MAX_LENGTH, clean

# One process runs this file's tests: they share a module-scoped server or fixture that
# is costly to start (scripts/test.sh shares the rest of the suite out test by test).
pytestmark = pytest.mark.xdist_group("test_templates")

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_EN = ROOT / "config" / "templates" / "en.toml"
EXPIRY_WORDS = {  # 2026-12-18, as each language writes it (Babel, CLDR "long")
    "id": "18 Desember 2026", "en": "18 December 2026", "zh": "2026年12月18日",
    "zh-TW": "2026年12月18日", "ja": "2026年12月18日", "ko": "2026년 12월 18일",
    "ar": "18 ديسمبر 2026", "ru": "18 декабря 2026 г.", "fr": "18 décembre 2026",
    "de": "18. Dezember 2026", "hi": "18 दिसंबर 2026", "ms": "18 Disember 2026",
    "fil": "Disyembre 18, 2026", "nl": "18 december 2026", "it": "18 dicembre 2026",
    "vi": "18 tháng 12, 2026", "th": "18 ธันวาคม ค.ศ. 2026", "pt": "18 de dezembro de 2026",
    "es": "18 de diciembre de 2026", "tr": "18 Aralık 2026", "uk": "18 грудня 2026 р.",
}  # fmt: skip
GENUINE_MARK = {  # a word of each language's "how to know it is genuine" line
    "id": "calo", "en": "broker", "zh": "中介", "zh-TW": "仲介", "ja": "仲介", "ko": "브로커",
    "ar": "سمسار", "ru": "посредники", "fr": "intermédiaire", "de": "Vermittler", "hi": "दलाल",
    "ms": "ejen", "fil": "fixer", "nl": "bemiddelaar", "it": "intermediario",
    "vi": "môi giới", "th": "นายหน้า", "pt": "intermediários", "es": "intermediario",
    "tr": "aracı", "uk": "посередники",
}  # fmt: skip


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    return Renderer(voice_config(tmp_path_factory.mktemp("t")), {})


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_says_who_what_when_and_how_to_reach_the_office(
    renderer: Renderer, lang: str
) -> None:
    text, vals, used = renderer.words(sample_facts(lang), FRIDAY_MORNING)
    assert used == lang
    for part in ("John Smith", "2C11AB0001-26", "KITAS", EXPIRY_WORDS[lang], "14"):
        assert part in text
    assert "+62 342 000000" in text and "Kantor Imigrasi Blitar" in text
    assert "imigrasi.go.id" in text and GENUINE_MARK[lang] in text
    assert vals["days_left"] == 14
    assert "{" not in text and "}" not in text  # no template syntax left over


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("days", [1, 0, -1, -3])
def test_tomorrow_today_and_overdue_are_said_differently(
    renderer: Renderer, lang: str, days: int
) -> None:
    now = FRIDAY_MORNING + timedelta(days=14 - days)
    text, vals, _ = renderer.words(sample_facts(lang), now)
    other, _, _ = renderer.words(sample_facts(lang), FRIDAY_MORNING)
    assert vals["days_left"] == days and text != other


@pytest.mark.parametrize(
    ("lang", "days", "words"),
    [
        ("en", 1, "expires tomorrow"), ("en", 0, "expires today"),
        ("en", -3, "3 days ago"), ("en", -1, "1 day ago"), ("de", -1, "vor 1 Tag."),
        ("fr", -1, "il y a 1 jour."), ("id", -3, "3 hari yang lalu"),
    ],
)  # fmt: skip
def test_the_words_say_how_far_the_expiry_is(
    renderer: Renderer, lang: str, days: int, words: str
) -> None:
    text, _, _ = renderer.words(sample_facts(lang), FRIDAY_MORNING + timedelta(days=14 - days))
    assert words in text and "1 days" not in text


def test_days_left_count_in_the_office_time_zone() -> None:
    expiry = sample_facts().expiry_date
    late_evening_utc = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)  # already 5 Dec in Blitar (WIB)
    from zoneinfo import ZoneInfo

    assert templates.days_left(expiry, late_evening_utc, ZoneInfo("Asia/Jakarta")) == 13
    assert templates.days_left(expiry, late_evening_utc, ZoneInfo("UTC")) == 14


def test_a_name_that_looks_like_template_code_stays_words(renderer: Renderer) -> None:
    text, _, _ = renderer.words(sample_facts("en", full_name="{{ 7*7 }} {% raw %}"), FRIDAY_MORNING)
    assert "{{ 7*7 }} {% raw %}" in text and "49" not in text


def test_a_template_file_cannot_reach_python_internals(tmp_path: Path) -> None:
    path = tmp_path / "en.toml"
    source = (SHIPPED_EN).read_text(encoding="utf-8")
    path.write_text(
        source.replace("Dear {{ name }}", "{{ name.__class__.__mro__[1].__subclasses__() }}")
    )
    tpl = templates.load(path, "en")
    with pytest.raises(SecurityError):
        templates.render(tpl, {"name": "x"})


def test_a_missing_template_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "tpl").mkdir()
    cfg = voice_config(tmp_path, templates_dir=str(tmp_path / "tpl"))
    with pytest.raises(ConfigError, match=r"voices.templates_dir \(id.toml\).*translate"):
        templates.load_all(cfg)


def test_a_broken_template_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "en.toml"
    path.write_text(SHIPPED_EN.read_text(encoding="utf-8").replace("Dear {{ name }}", "{% if %}"))
    with pytest.raises(ConfigError, match=r"en.toml.*\[written\]"):
        templates.load(path, "en")


UNREVIEWED = 'reviewed = false\nby = ""\ndate = ""'


def with_review(tmp_path: Path, review: str) -> Path:
    """The shipped English template with its [review] lines replaced."""
    source = SHIPPED_EN.read_text(encoding="utf-8")
    assert UNREVIEWED in source
    path = tmp_path / "en.toml"
    path.write_text(source.replace(UNREVIEWED, review), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("review", "key", "fix"),
    [
        ('reviewed = true\nby = ""\ndate = "2026-11-30"', "by", "give the reviewer's name"),
        ('reviewed = true\nby = "  "\ndate = "2026-11-30"', "by", "give the reviewer's name"),
        ('reviewed = true\ndate = "2026-11-30"', "by", "give the reviewer's name"),
        ('reviewed = true\nby = "Ana Reyes"\ndate = ""', "date", 'date = "2026-11-30"'),
        ('reviewed = true\nby = "Ana Reyes"', "date", "YYYY-MM-DD"),
        ('reviewed = true\nby = "Ana Reyes"\ndate = "30/11/2026"', "date", "YYYY-MM-DD"),
        ('reviewed = true\nby = "Ana Reyes"\ndate = "2026-02-30"', "date", "YYYY-MM-DD"),
        ('reviewed = true\nby = "Ana Reyes"\ndate = "20261130"', "date", "YYYY-MM-DD"),
    ],
)  # fmt: skip
def test_reviewed_needs_who_and_when(tmp_path: Path, review: str, key: str, fix: str) -> None:
    path = with_review(tmp_path, review)
    with pytest.raises(ConfigError) as caught:
        templates.load(path, "en")
    assert caught.value.key == f"en.toml [review] {key}"
    assert fix in str(caught.value) and "reviewed = false" in caught.value.fix


@pytest.mark.parametrize("when", ['"2026-11-30"', "2026-11-30"])  # a string or a TOML date
def test_a_reviewed_template_names_its_reviewer(tmp_path: Path, when: str) -> None:
    path = with_review(tmp_path, f'reviewed = true\nby = " Ana Reyes "\ndate = {when}')
    tpl = templates.load(path, "en")
    assert tpl.reviewed and (tpl.review.by, tpl.review.on) == ("Ana Reyes", "2026-11-30")
    unreviewed = templates.load(with_review(tmp_path, 'reviewed = false\nby = "x"'), "en")
    assert not unreviewed.reviewed


def test_check_config_refuses_a_reviewed_template_without_a_reviewer(tmp_path: Path) -> None:
    folder = tmp_path / "tpl"
    folder.mkdir()
    with_review(folder, 'reviewed = true\nby = ""\ndate = "2026-11-30"')
    cfg = voice_config(tmp_path, templates_dir=str(folder))
    cfg = replace(cfg, languages=replace(cfg.languages, available=["en"]))
    with pytest.raises(ConfigError, match=r"en.toml \[review\] by: reviewed = true but no"):
        Renderer(cfg, {})


@pytest.mark.parametrize(
    ("text", "encoding", "number"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # an extension character takes two septets
        ("€" * 81, "GSM-7", 2),
        ("é" * 160, "GSM-7", 1),
        ("ç" + "a" * 69, "UCS-2", 1),  # ç is not in the GSM alphabet (Ç is)
        ("ç" + "a" * 70, "UCS-2", 2),
        ("你" * 134, "UCS-2", 2),
        ("你" * 135, "UCS-2", 3),
        ("😀" * 35, "UCS-2", 1),  # an emoji is two UTF-16 units
    ],
)
def test_sms_segments(text: str, encoding: str, number: int) -> None:
    got = segments.count(text)
    assert (got.encoding, got.number) == (encoding, number)


def test_indonesian_sms_stays_in_the_gsm_alphabet(renderer: Renderer) -> None:
    text, _, _ = renderer.words(sample_facts("id"), FRIDAY_MORNING)
    assert segments.count(text).encoding == "GSM-7"


# --- untrusted values -------------------------------------------------------------------------


def test_bidi_overrides_and_controls_are_removed() -> None:
    assert clean("Ali\u202ecod.exe\u202c") == "Alicod.exe"
    assert clean("A\u200fB\u2066C\u2069\x00\x1b[31mD\r\nE") == "ABC[31mD E"


def test_emoji_are_removed_letters_of_every_script_stay() -> None:
    assert clean("Budi 😀👍🏽 Santoso ❤️") == "Budi Santoso"
    for name in ("张伟", "山田 太郎", "김민수", "محمد", "Иван", "Chloé", "राहुल", "Nguyễn"):
        assert clean(name) == name


def test_very_long_values_are_shortened_at_a_word() -> None:
    name = " ".join(["Alexandra"] * 60)  # about 600 characters
    short = clean(name)
    assert len(short) <= MAX_LENGTH and short.endswith(ELLIPSIS)
    assert short.removesuffix(ELLIPSIS).split() == ["Alexandra"] * len(short.split())
    assert clean("X" * 500).endswith(ELLIPSIS) and len(clean("X" * 500)) == MAX_LENGTH
