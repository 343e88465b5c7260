"""The fast path for the office region's common phone forms agrees with phonenumbers."""

from __future__ import annotations

import phonenumbers
from hypothesis import example, given, settings
from hypothesis import strategies as st
from phonenumbers import phonenumberutil as pnu

from notifyd.registry.fastphone import (
    _KEEP,
    international,
    national_number,
    number_type,
    strip_national_prefix,
    takes_length,
)
from notifyd.registry.normalise import _parse_phone, parse_phone

PREFIXES = ["0", "+62", "62", "+62 ", "+62-", "0062", "+6", "+61", "", "620", "+620", "8"]
SEPARATORS = ["", "", "", " ", "-", ".", "  ", "(", ")", "/", "x", "#", ",", "\u00a0"]


@st.composite
def written_numbers(draw: st.DrawFn) -> str:
    """Numbers as people write them: a prefix, then digit groups with separators."""
    prefix = draw(st.sampled_from(PREFIXES))
    first = draw(st.sampled_from(["8", "81", "82", "85", "89", "80", "21", "61", "1", "9", ""]))
    groups = draw(st.lists(st.text("0123456789", min_size=1, max_size=5), max_size=5))
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(groups), max_size=len(groups)))
    return prefix + first + "".join(s + g for s, g in zip(seps, groups, strict=True))


@settings(max_examples=500, deadline=None)
@given(value=written_numbers(), nationality=st.sampled_from(["", "ID", "AU", "US", "MY"]))
@example(value="0812-3456-7890", nationality="AU")
@example(value="+62 812 3456 7890", nationality="")
@example(value="628123456789", nationality="ID")
@example(value="62 809 1234 5678", nationality="")
def test_the_fast_path_reads_every_number_as_phonenumbers_does(
    value: str, nationality: str
) -> None:  # noqa: E501
    _parse_phone.cache_clear()
    assert _parse_phone(value, nationality, "ID") == parse_phone(value, nationality, "ID")


@settings(max_examples=500, deadline=None)
@given(digits=st.text("0123456789", min_size=8, max_size=12))
def test_it_takes_the_common_forms_itself(digits: str) -> None:
    """Not a vacuous agreement: the common forms of a mobile number do take the fast path."""
    number = "8" + "1" + digits[:9]
    for written in (f"0{number}", f"+62 {number}", f"62{number}", f"0{number[:3]}-{number[3:]}"):
        found = national_number(written, "ID")
        reference = parse_phone(written, "", "ID")[0]
        if reference is not None:
            assert found is not None and f"+62{found[0]}" == reference[0]


#: Country codes of one region and of several (+1, +7, +44, +61), with and without leading
#: digits in their metadata, a national prefix rewritten (+81), a leading zero kept (+39),
#: non-geographic (+800), and codes that do not exist.
ABROAD = ["+1", "+7", "+44", "+61", "+81", "+86", "+82", "+33", "+39", "+49", "+65", "+60",
          "+66", "+91", "+63", "+84", "+852", "+971", "+800", "+0", "+", "+2", "+3", "+99",
          "+62", "+672", "+358", "+1 ", "+44-", "+81 (0)", "+7."]  # fmt: skip


FIRST_ABROAD = ["", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "20", "90", "80", "70",
                "13", "41", "61", "71", "91", "415"]  # fmt: skip


@st.composite
def numbers_abroad(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(ABROAD))
    first = draw(st.sampled_from(FIRST_ABROAD))
    groups = draw(st.lists(st.text("0123456789", min_size=1, max_size=5), max_size=5))
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(groups), max_size=len(groups)))
    return prefix + first + "".join(s + g for s, g in zip(seps, groups, strict=True))


@settings(max_examples=1500, deadline=None)
@given(value=numbers_abroad(), nationality=st.sampled_from(["", "ID", "AU", "US", "JP", "GB"]))
@example(value="+81 90 1234 5678", nationality="JP")
@example(value="+44 7400 123456", nationality="")
@example(value="+61 412 345 678", nationality="AU")
@example(value="+7 912 345 67 89", nationality="")
@example(value="+1 415 555 2671", nationality="US")
@example(value="+39 06 6982 1234", nationality="")
def test_numbers_with_a_country_code_read_as_phonenumbers_reads_them(
    value: str, nationality: str
) -> None:
    _parse_phone.cache_clear()
    assert _parse_phone(value, nationality, "ID") == parse_phone(value, nationality, "ID")


def test_numbers_abroad_take_the_fast_path() -> None:
    """Not vacuous: valid numbers of codes with one region and with several take it."""
    for value, region in [
        ("+81 90 1234 5678", "JP"), ("+44 7400 123456", "GB"), ("+61 412 345 678", "AU"),
        ("+7 912 345 67 89", "RU"), ("+1 415 555 2671", "US"), ("+86 139 1234 5678", "CN"),
        ("+62 812 3456 7890", "ID"),
    ]:  # fmt: skip
        found = international(value)
        reference = parse_phone(value, "", "ID")[0]
        assert found is not None and reference is not None
        assert (found[0], found[1]) == (reference[0], region)


@settings(max_examples=1000, deadline=None)
@given(
    nsn=st.text("0123456789", min_size=1, max_size=14),
    region=st.sampled_from(["ID", "JP", "GB", "US", "AU", "RU", "CN", "DE", "IT", "SG", "KR"]),
)
@example(nsn="81234567890", region="ID")
@example(nsn="7400123456", region="GB")
def test_number_type_is_phonenumbers_own(nsn: str, region: str) -> None:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    assert number_type(nsn, meta) == pnu._number_type_helper(nsn, meta)


REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)


@settings(max_examples=2000, deadline=None)
@given(
    prefix=st.sampled_from(["", "0", "00", "1", "8", "9", "15", "06", "01", "044", "0800", "7"]),
    digits=st.text("0123456789", max_size=16),
    region=st.sampled_from(REGIONS),
)
@example(prefix="0", digits="81234567890", region="ID")
@example(prefix="0", digits="111234567", region="AR")  # a prefix transform rule
@example(prefix="", digits="0", region="ID")
@example(prefix="", digits="0012415868344", region="ID")  # viable only with its prefix: kept
@example(prefix="", digits="8177440854", region="RU")
@example(prefix="", digits="90385654769", region="BR")
def test_the_prefix_and_length_steps_are_phonenumbers_own(
    prefix: str, digits: str, region: str
) -> None:
    """The national prefix and length steps, their patterns read once, answer as
    phonenumbers' own helpers do, for every region (prefixes it rewrites included)."""
    number = prefix + digits
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    reference = pnu._maybe_strip_national_prefix_carrier_code(number, meta)[1]
    assert strip_national_prefix(number, meta) == reference
    keeps = pnu._test_number_length(number, meta) not in _KEEP
    assert takes_length(number, meta) == keeps
