"""The fast path for the office region's common phone forms agrees with phonenumbers."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from notifyd.registry.fastphone import national_number
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
            assert found is not None and f"+62{found[0]}" == reference.e164
