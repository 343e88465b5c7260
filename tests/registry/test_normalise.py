"""normalise.py: one registry row → a Record, or a Rejection that names every problem and its fix.

Rules come from a real config (conftest's config_dict: channels whatsapp and sms, in that order,
and one office, BLT). Rows come from conftest's person(), which is valid unless a test says not.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from conftest import config_dict, person
from notifyd import config
from notifyd.model import RawRow, Record, Rejection
from notifyd.registry.normalise import Rules, normalise

LINE = 7


def rules(registry: dict[str, Any] | None = None, **overrides: Any) -> Rules:
    """Rules from conftest's config, with `registry` keys and top-level tables overridden."""
    data = config_dict(Path("registry.csv"), **overrides)  # the file itself is never read
    data["registry"].update(registry or {})
    return Rules.from_config(config.parse(data))


RULES = rules()


def accepted(rules: Rules = RULES, **fields: str) -> Record:
    out = normalise(RawRow(LINE, person(1, **fields)), rules)
    assert isinstance(out, Record), f"rejected: {getattr(out, 'reasons', out)}"
    return out


def rejected(rules: Rules = RULES, **fields: str) -> Rejection:
    out = normalise(RawRow(LINE, person(1, **fields)), rules)
    assert isinstance(out, Rejection), f"accepted: {out}"
    assert out.line == LINE
    return out


def reason_for(rejection: Rejection, field: str) -> str:
    """The one reason that starts with `field:`; fails when there is none."""
    found = [r for r in rejection.reasons if r.startswith(f"{field}:")]
    assert found, f"no reason names {field}: {rejection.reasons}"
    return found[0]


def no_channel_reason(rejection: Rejection) -> str:
    found = [r for r in rejection.reasons if r.startswith("no channel can reach")]
    assert found, f"no 'no channel' reason: {rejection.reasons}"
    return found[0]


# --- phones -----------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["0812-3456-7890", "+62 812 3456 7890", "62 812 3456 7890"])
def test_an_indonesian_mobile_written_any_usual_way_is_one_e164_number(written: str) -> None:
    record = accepted(phone=written)
    assert record.phone is not None
    assert (record.phone.e164, record.phone.kind, record.phone.region) == (
        "+6281234567890",
        "mobile",
        "ID",
    )
    assert record.channels == ("sms",)


@pytest.mark.parametrize("nationality", ["AU", "Australia"])
def test_a_number_invalid_in_indonesia_is_read_in_the_persons_home_country(
    nationality: str,
) -> None:
    record = accepted(phone="0412 345 678", nationality=nationality)
    assert record.phone is not None
    assert (record.phone.e164, record.phone.region) == ("+61412345678", "AU")
    assert record.channels == ("sms",)
    assert record.warnings == ()


def test_the_same_number_for_an_indonesian_is_rejected_naming_phone_and_the_fix() -> None:
    reason = no_channel_reason(rejected(phone="0412 345 678", nationality="ID"))
    assert "the phone column: '0412 345 678' is not a valid number in ID" in reason
    assert "give a valid mobile number" in reason


def test_a_us_number_is_fixed_line_or_mobile_and_accepted_for_sms() -> None:
    record = accepted(phone="+1 415 555 2671", nationality="US")
    assert record.phone is not None
    assert (record.phone.e164, record.phone.kind) == ("+14155552671", "fixed_line_or_mobile")
    assert record.channels == ("sms",)
    assert record.warnings == ()


def test_a_landline_drops_sms_with_a_warning_but_whatsapp_keeps_the_row() -> None:
    record = accepted(phone="021 5555 1234", whatsapp="0812-3456-7890")  # a Jakarta fixed line
    assert record.phone is not None and record.phone.kind == "fixed_line"
    assert record.channels == ("whatsapp",)
    (warning,) = record.warnings
    assert warning.startswith("sms: ")
    assert "holds +622155551234, a fixed_line number" in warning
    assert "SMS needs a mobile" in warning


def test_a_fixed_line_given_as_whatsapp_drops_whatsapp_with_a_warning() -> None:
    record = accepted(phone="0812-3456-7890", whatsapp="021 5555 1234")
    assert record.channels == ("sms",)
    (warning,) = record.warnings
    assert warning.startswith("whatsapp: ")
    assert "fixed_line" in warning
    assert "WhatsApp needs a mobile" in warning


@pytest.mark.parametrize(
    ("phone", "problem"),
    [
        pytest.param("0812 1234", "is not a valid number", id="too-short"),
        pytest.param("+62 809 1234 5678", "is not a valid number", id="809-too-long"),
        pytest.param("+62 809 1234 567", "premium-rate", id="premium-rate"),
        pytest.param("021 5555 1234", "a fixed_line number", id="landline"),
        pytest.param("nomor hilang", "is not a valid number", id="words"),
    ],
)
def test_a_row_whose_only_number_cannot_take_a_message_is_rejected(
    phone: str, problem: str
) -> None:
    rejection = rejected(phone=phone, whatsapp="")
    reason = no_channel_reason(rejection)
    assert "the phone column" in reason
    assert problem in reason
    assert reason.endswith("give a valid mobile number in phone or whatsapp")
    assert (rejection.registry_id, rejection.permit_number) == ("BLT-00001", "2C11AB0001-26")


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({}, id="plain"),
        pytest.param({"language": "pt"}, id="with-an-unrelated-language-warning"),
    ],
)
def test_a_row_with_no_phone_and_no_whatsapp_is_rejected(extra: dict[str, str]) -> None:
    reason = no_channel_reason(rejected(phone="", whatsapp="", **extra))
    assert "no phone or WhatsApp number" in reason
    assert "language" not in reason


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["2026-12-31", "31/12/2026", "31-12-2026", " 31/12/2026 "])
def test_expiry_dates_in_the_default_forms(written: str) -> None:
    assert accepted(expiry_date=written).expiry_date == date(2026, 12, 31)


def test_a_configured_date_format_is_accepted_and_needed() -> None:
    dotted = rules(registry={"date_formats": ["%d/%m/%Y", "%d.%m.%Y"]})
    assert accepted(dotted, expiry_date="31.12.2026").expiry_date == date(2026, 12, 31)
    reason = reason_for(rejected(expiry_date="31.12.2026"), "expiry_date")
    assert "registry.date_formats" in reason


@pytest.mark.parametrize("written", ["31/02/2027", "2026-13-01", "31/12/26", "besok"])
def test_an_impossible_or_unknown_date_is_rejected_naming_expiry_date(written: str) -> None:
    reason = reason_for(rejected(expiry_date=written), "expiry_date")
    assert repr(written) in reason
    assert "YYYY-MM-DD" in reason


# --- nationality ------------------------------------------------------------------------------


@pytest.mark.parametrize("written", ["AU", "AUS", "Australia", "australia", " au "])
def test_nationality_as_iso_code_or_english_name(written: str) -> None:
    assert accepted(nationality=written).nationality == "AU"


@pytest.mark.parametrize("written", ["Negeri Tirai Bambu", "NEGERI TIRAI BAMBU"])
def test_nationality_alias_from_config(written: str) -> None:
    with_alias = rules(registry={"nationality_aliases": {"Negeri Tirai Bambu": "Tiongkok"}})
    record = accepted(with_alias, nationality=written)
    assert record.nationality == "CN"
    assert record.language == "zh"


@pytest.mark.parametrize("written", ["Atlantis", "Korea", "Amerika Utara"])
def test_an_unknown_nationality_is_rejected_naming_nationality_and_the_fix(written: str) -> None:
    reason = reason_for(rejected(nationality=written), "nationality")
    assert repr(written) in reason
    assert "registry.nationality_aliases" in reason


# --- language ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nationality", "language"),
    [
        ("CN", "zh"),
        ("JP", "ja"),
        ("DE", "de"),
        ("FR", "fr"),
        ("SA", "ar"),
        ("RU", "ru"),
        ("KR", "ko"),
        ("MY", "ms"),
        ("IN", "hi"),
        ("US", "en"),
        ("AU", "en"),
        ("PH", "fil"),
        ("NL", "nl"),
        ("IT", "it"),
        ("VN", "vi"),
        ("TH", "th"),
        ("PT", "pt"),
        ("BR", "pt"),
        ("TL", "pt"),
        ("ES", "es"),
        ("MX", "es"),
        ("AR", "es"),
        ("TR", "tr"),
        ("UA", "uk"),
        ("TW", "zh-TW"),
        ("HK", "zh-TW"),
        ("SG", "en"),
        pytest.param("SE", "en", id="SE-no-swedish-notices-so-the-default"),
    ],
)
def test_an_empty_language_is_derived_from_nationality(nationality: str, language: str) -> None:
    record = accepted(nationality=nationality, language="")
    assert record.language == language
    assert record.warnings == ()


@pytest.mark.parametrize(("nationality", "language"), [("CN", "en"), ("SG", "zh"), ("JP", "ja")])
def test_languages_by_nationality_overrides_the_derivation(nationality: str, language: str) -> None:
    mapped = rules(languages={"by_nationality": {"CN": "en", "SG": "zh"}})
    assert accepted(mapped, nationality=nationality).language == language


@pytest.mark.parametrize(
    ("written", "language"),
    [("ar", "ar"), ("ZH", "zh"), ("zh-Hans", "zh"), ("zh_CN", "zh"), ("en-US", "en")],
)
def test_an_explicit_tag_whose_primary_language_has_notices_is_used(
    written: str, language: str
) -> None:
    record = accepted(nationality="AU", language=written)
    assert record.language == language
    assert record.warnings == ()


@pytest.mark.parametrize("written", ["xx-!!", "english please"])
def test_a_tag_that_is_not_bcp47_is_rejected_naming_language(written: str) -> None:
    reason = reason_for(rejected(language=written), "language")
    assert repr(written) in reason
    assert "leave it empty" in reason


@pytest.mark.parametrize(("nationality", "fallback"), [("AU", "en"), ("CN", "zh")])
def test_a_valid_tag_without_notices_warns_and_falls_back_to_the_derived_language(
    nationality: str, fallback: str
) -> None:
    record = accepted(nationality=nationality, language="sv")
    assert record.language == fallback
    (warning,) = record.warnings
    assert warning.startswith("language: ")
    assert "'sv'" in warning


@pytest.mark.parametrize(
    ("written", "language"),
    [("zh-Hant", "zh-TW"), ("zh_TW", "zh-TW"), ("zh-Hant-HK", "zh-TW"), ("zh-CN", "zh"),
     ("tl", "fil"), ("fil-PH", "fil"), ("pt-BR", "pt"), ("es-MX", "es")],
)  # fmt: skip
def test_a_tag_of_a_variant_or_script_finds_its_notice_language(
    written: str, language: str
) -> None:
    record = accepted(nationality="US", language=written)
    assert (record.language, record.warnings) == (language, ())


# --- channels and opt-outs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "channels"),
    [
        ("", ("whatsapp", "sms")),
        ("sms,whatsapp", ("sms", "whatsapp")),
        (" SMS ; WhatsApp ", ("sms", "whatsapp")),
        ("whatsapp", ("whatsapp",)),
        ("sms, sms", ("sms",)),
    ],
)
def test_the_persons_channel_order_is_kept_and_empty_means_channel_order(
    written: str, channels: tuple[str, ...]
) -> None:
    record = accepted(phone="0812-3456-7890", whatsapp="0813-1111-2222", channels=written)
    assert record.channels == channels


def test_an_unknown_channel_is_rejected_with_the_known_names() -> None:
    reason = reason_for(rejected(channels="sms,pigeon"), "channels")
    assert "'pigeon'" in reason
    assert "whatsapp" in reason and "sms" in reason


@pytest.mark.parametrize(
    ("written", "opt_out"),
    [
        ("yes", ("*",)),
        ("ya", ("*",)),
        ("YA", ("*",)),
        ("1", ("*",)),
        ("", ()),
        ("no", ()),
        ("tidak", ()),
        ("Tidak", ()),
        ("sms", ("sms",)),
        ("sms, whatsapp", ("sms", "whatsapp")),
    ],
)
def test_opted_out(written: str, opt_out: tuple[str, ...]) -> None:
    assert accepted(opted_out=written).opt_out == opt_out


def test_an_unknown_opted_out_value_is_rejected() -> None:
    reason = reason_for(rejected(opted_out="maybe"), "opted_out")
    assert "'maybe'" in reason


def test_an_unknown_opted_out_value_is_told_the_accepted_answers() -> None:
    """Staff read the fix: 'leave it empty for the default order' is the channels column's fix,
    and for opted_out leaving it empty would silently mean 'send everything'."""
    reason = reason_for(rejected(opted_out="maybe"), "opted_out")
    assert "default order" not in reason
    assert "yes" in reason


# --- names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "张伟",
        "محمد عبد الله",
        "Иван Петров",
        "राहुल शर्मा",
        "José María Nguyễn Thị",
        "Zoë O'Brien-Müller",
        pytest.param("نیک\u200cنام", id="persian-with-zero-width-non-joiner"),
    ],
)
def test_names_in_any_script_are_kept_as_written(name: str) -> None:
    assert accepted(full_name=name).full_name == name


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        pytest.param("Eve\u202eregnaH", "EveregnaH", id="right-to-left-override"),
        pytest.param("\u2066Ann\u2069 Lee", "Ann Lee", id="bidi-isolates"),
        pytest.param("\x00Ann\x07a\x1b", "Anna", id="nul-bell-escape"),
        pytest.param("  Maria   de  la Cruz  ", "Maria de la Cruz", id="spaces-folded"),
        pytest.param("Siti\u00a0Aminah", "Siti Aminah", id="no-break-space"),
        pytest.param("Zhang\tWei", "Zhang Wei", id="tab-is-white-space"),
        pytest.param("Jane\nDoe", "Jane Doe", id="newline-from-a-multi-line-cell"),
        pytest.param("Jane\r\n Doe", "Jane Doe", id="crlf-is-white-space"),
    ],
)
def test_names_lose_control_and_bidi_characters_and_fold_white_space(
    written: str, kept: str
) -> None:
    assert accepted(full_name=written).full_name == kept


# --- required fields and every reason ---------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["registry_id", "full_name", "permit_number", "expiry_date", "nationality"]
)
@pytest.mark.parametrize("blank", ["", "   "])
def test_a_missing_required_field_is_named(field: str, blank: str) -> None:
    reason = reason_for(rejected(**{field: blank}), field)
    assert "missing" in reason


def test_every_problem_of_a_row_is_reported_not_just_the_first() -> None:
    rejection = rejected(
        full_name="",
        nationality="Atlantis",
        expiry_date="31/02/2027",
        channels="pigeon",
        office="XYZ",
    )
    named = {reason.split(":")[0] for reason in rejection.reasons}
    assert {"full_name", "nationality", "expiry_date", "channels", "office"} <= named
    assert len(rejection.reasons) >= 5
    assert rejection.raw["nationality"] == "Atlantis"  # the row is kept as it was read


# --- offices ----------------------------------------------------------------------------------

TWO_OFFICES = {"BLT": {}, "SBY": {"name": "Kantor Imigrasi Surabaya"}}


@pytest.mark.parametrize("written", ["", "BLT", "blt", " BLT "])
def test_a_single_office_is_the_default_and_codes_ignore_case(written: str) -> None:
    assert accepted(office=written).office == "BLT"


def test_an_unknown_office_is_rejected_naming_office_and_the_known_codes() -> None:
    reason = reason_for(rejected(office="XYZ"), "office")
    assert "'XYZ'" in reason
    assert "BLT" in reason


def test_with_two_offices_and_no_default_an_empty_office_is_rejected() -> None:
    reason = reason_for(rejected(rules(offices=TWO_OFFICES), office=""), "office")
    assert "registry.default_office" in reason
    assert "BLT" in reason and "SBY" in reason


def test_with_two_offices_default_office_fills_an_empty_office() -> None:
    both = rules(offices=TWO_OFFICES, registry={"default_office": "SBY"})
    assert accepted(both, office="").office == "SBY"
    assert accepted(both, office="blt").office == "BLT"


def test_an_office_code_written_as_configured_is_accepted() -> None:
    """Config does not require upper-case codes, so a row naming one exactly must match."""
    mixed = rules(offices={"Blitar": {"name": "Kantor Imigrasi Blitar"}})
    assert accepted(mixed, office="Blitar").office == "Blitar"


@pytest.mark.parametrize(
    ("phone", "whatsapp", "nationality", "expected"),
    [
        ("0812-3456-7890", "+62 812 3456 7890", "AU", "+6281234567890"),
        ("+62 812 3456 7890", "0812 3456 7890", "AU", "+6281234567890"),
        ("0812-3456-7890", "62 812 3456 7890", "AU", "+6281234567890"),
        ("0412 345 678", "+61 412 345 678", "AU", "+61412345678"),
        ("+61 412 345 678", "0412 345 678", "AU", "+61412345678"),
        ("0812-3456-7890", "0813 9999 0000", "AU", "+6281399990000"),  # another number
    ],
)
def test_a_whatsapp_number_written_unlike_the_phone_is_read_the_same(
    phone: str, whatsapp: str, nationality: str, expected: str
) -> None:
    record = accepted(phone=phone, whatsapp=whatsapp, nationality=nationality)
    assert record.whatsapp is not None and record.whatsapp.e164 == expected
    assert record.whatsapp.kind == "mobile"


def test_a_bad_whatsapp_number_is_not_taken_for_the_phone() -> None:
    record = accepted(phone="0812-3456-7890", whatsapp="0812 34")
    assert record.whatsapp is None and record.channels == ("sms",)
    assert record.warnings and record.warnings[0].startswith("whatsapp: the whatsapp column")


# --- e-mail (issue 13) ------------------------------------------------------------------------

EMAIL_RULES = rules(
    channels={
        "email": {"plugin": "spool", "kind": "email"},
        "sms": {"plugin": "spool", "kind": "sms"},
    },
    channel_order=["email", "sms"],
)


def test_an_email_address_is_checked_and_its_domain_lowered() -> None:
    record = accepted(EMAIL_RULES, email="  Wang.Wei@Example.CN ")
    assert record.email == "Wang.Wei@example.cn"
    assert record.channels == ("email", "sms")


def test_a_person_with_only_an_email_address_is_reached_by_email() -> None:
    record = accepted(EMAIL_RULES, phone="", email="ivan@example.ru")
    assert record.channels == ("email",)


@pytest.mark.parametrize("written", ["ivan@", "ivan.example.ru", "ivan@@example.ru", "a b@c.d"])
def test_a_bad_email_address_names_the_column_and_keeps_the_other_channels(written: str) -> None:
    record = accepted(EMAIL_RULES, email=written)
    assert record.channels == ("sms",) and record.email == ""
    (warning,) = record.warnings
    assert warning.startswith("email: the email column:") and repr(written) in warning


def test_no_phone_and_a_bad_email_is_rejected_with_both_reasons() -> None:
    reason = no_channel_reason(rejected(EMAIL_RULES, phone="", email="nobody"))
    assert "email: the email column: 'nobody' is not an e-mail address" in reason
    assert "or an e-mail address" in reason
