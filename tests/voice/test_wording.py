"""Number agreement by CLDR plural rules, sentence case after substitution, unvocalised Arabic."""

from __future__ import annotations

import pytest

from notifyd.errors import ConfigError
from notifyd.voice.wording import category, plural_for, sentence_case, unvocalised

AR_DAYS = {"one": "يوم واحد", "two": "يومين", "few": "# أيام", "many": "# يومًا", "other": "# يوم"}
RU_DAYS = {"one": "# день", "few": "# дня", "many": "# дней", "other": "# дня"}


@pytest.mark.parametrize(
    ("n", "said"),
    [(1, "يوم واحد"), (2, "يومين"), (3, "3 أيام"), (10, "10 أيام"), (11, "11 يومًا"),
     (99, "99 يومًا"), (100, "100 يوم"), (103, "103 أيام")],
)  # fmt: skip
def test_arabic_days_agree_with_their_number(n: int, said: str) -> None:
    assert plural_for("ar")(n, **AR_DAYS) == said


@pytest.mark.parametrize(
    ("n", "said"),
    [(1, "1 день"), (2, "2 дня"), (4, "4 дня"), (5, "5 дней"), (11, "11 дней"),
     (14, "14 дней"), (21, "21 день"), (22, "22 дня"), (100, "100 дней")],
)  # fmt: skip
def test_russian_days_take_the_one_few_many_forms(n: int, said: str) -> None:
    assert plural_for("ru")(n, **RU_DAYS) == said


def test_the_count_is_shown_as_the_notice_needs_it() -> None:
    spoken = plural_for("th", lambda n: "สิบสี่" if n == 14 else str(n))
    assert spoken(14, other="อีก # วัน") == "อีก สิบสี่ วัน"


def test_a_language_without_plural_forms_uses_other() -> None:
    assert category(1, "zh") == "other" and plural_for("zh")(1, other="#天") == "1天"


@pytest.mark.parametrize("forms", [{"one": "# день"}, {"other": "#", "plural": "#"}])
def test_forms_without_other_or_with_unknown_categories_are_refused(forms: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match=r"ru\.toml plural\(\).*(other|unknown).*always give"):
        plural_for("ru")(5, **forms)


@pytest.mark.parametrize(
    ("lang", "text", "cased"),
    [
        ("id", "ini dari Kantor. izin tinggal Anda", "Ini dari Kantor. Izin tinggal Anda"),
        ("tr", "Burası göç idaresi. izniniz", "Burası göç idaresi. İzniniz"),
        ("vi", "Xin chào. giấy phép", "Xin chào. Giấy phép"),
        ("es", "Hola. ¿necesita ayuda? sí", "Hola. ¿Necesita ayuda? Sí"),
        ("ru", "18 марта 2027 г. (ещё 2 дня). ваш", "18 марта 2027 г. (ещё 2 дня). Ваш"),
        ("ar", "مرحبا. تصريح", "مرحبا. تصريح"),
        ("de", "Straße. ßtraße", "Straße. ßtraße"),
    ],
)  # fmt: skip
def test_every_sentence_starts_with_a_capital_abbreviations_do_not_end_one(
    lang: str, text: str, cased: str
) -> None:
    assert sentence_case(text, lang) == cased


def test_written_arabic_drops_the_vowel_marks_the_voice_needs() -> None:
    assert unvocalised("مَكْتَبِ الهِجْرَةِ فِي Blitar") == "مكتب الهجرة في Blitar"
