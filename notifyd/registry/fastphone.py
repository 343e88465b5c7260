"""A fast, exact reading of the common phone forms of the office's own region.

Most numbers of an Indonesian registry are written 0812-3456-7890, +62 812 3456 7890 or
628123456789. `phonenumbers.parse` spends most of its time on what such a string cannot
hold (extensions, letters, RFC 3966, other scripts' digits); this takes only strings of ASCII
digits with spaces, dots and dashes, then follows parse's own steps for them with
phonenumbers' own helpers and metadata (country code, national prefix, length test, type).
Anything else, and any number it would not accept, goes to `phonenumbers` as before; a
property test checks the two agree on generated numbers.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers import phonenumberutil as pnu

_SIMPLE = re.compile(r"\+?[0-9][0-9 .\-]*[0-9]")
_NOT_DIGIT = re.compile(r"\D")
_KEEP = (pnu.ValidationResult.TOO_SHORT, pnu.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
         pnu.ValidationResult.INVALID_LENGTH)  # fmt: skip


@lru_cache(maxsize=8)
def _region(region: str) -> tuple[PhoneMetadata, str] | None:
    """The region's metadata and country code, for a region that is alone on its code."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.national_prefix_transform_rule:
        return None
    code = meta.country_code
    if code is None or phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code) != (region,):
        return None
    return meta, str(code)


def national_number(value: str, region: str) -> tuple[str, int] | None:
    """(national significant number, phonenumbers' type) for a plain number of `region`,
    or None: let phonenumbers read it."""
    if not _SIMPLE.fullmatch(value):
        return None
    found = _region(region)
    if found is None:
        return None
    meta, code = found
    digits = _NOT_DIGIT.sub("", value)
    if value[0] == "+":
        if not digits.startswith(code):
            return None  # another country: phonenumbers
        nsn = digits[len(code) :]
    elif digits.startswith("0" + "0"):
        return None  # an international dialling prefix
    elif digits.startswith(code):  # the country code without its plus, if parse takes it so
        general = meta.general_desc
        _, rest, _ = pnu._maybe_strip_national_prefix_carrier_code(digits[len(code) :], meta)
        if not (
            (not pnu._match_national_number(digits, general, False)
             and pnu._match_national_number(rest, general, False))
            or pnu._test_number_length(digits, meta) == pnu.ValidationResult.TOO_LONG
        ):  # fmt: skip
            return None
        nsn = rest
    else:
        nsn = digits
    found_nsn = _national(nsn, meta)
    return None if found_nsn is None else (found_nsn, number_type(found_nsn, meta))


def international(value: str) -> tuple[str, str, int] | None:
    """(E.164, region, phonenumbers' type) for a plain number written with its country code
    (+44 20 7946 0958, +81 90 1234 5678), whatever the office's region; or None: let
    phonenumbers read it. Follows parse's steps (the shortest country code that exists, its
    main region's national prefix), then region_code_for_number's (the first region of the
    code whose leading digits or number types fit) and number_type's."""
    if value[:1] != "+" or not _SIMPLE.fullmatch(value):
        return None
    digits = _NOT_DIGIT.sub("", value)
    if len(digits) <= 2 or digits[0] == "0":
        return None  # parse: too short after the plus, or no country code
    for size in (1, 2, 3):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size]))
        if regions is not None:
            break
    else:
        return None
    main = PhoneMetadata.metadata_for_region(regions[0])
    if main is None:  # a non-geographic code (+800 …)
        return None
    nsn = _national(digits[size:], main)
    if nsn is None:
        return None
    for region in regions:
        meta = main if region == regions[0] else PhoneMetadata.metadata_for_region(region)
        if meta is None:
            continue
        if meta.leading_digits is not None:
            if _compiled(meta.leading_digits).match(nsn):
                return f"+{digits[:size]}{nsn}", region, number_type(nsn, meta)
        else:
            ntype = number_type(nsn, meta)
            if ntype != pnu.PhoneNumberType.UNKNOWN:
                return f"+{digits[:size]}{nsn}", region, ntype
    return None


def _national(nsn: str, meta: PhoneMetadata) -> str | None:
    """parse's last steps: the national prefix stripped when what is left can be a number."""
    _, stripped, _ = pnu._maybe_strip_national_prefix_carrier_code(nsn, meta)
    if pnu._test_number_length(stripped, meta) not in _KEEP:
        nsn = stripped
    if not 2 <= len(nsn) <= 17 or nsn[0] == "0":
        return None
    return nsn


_PNT = pnu.PhoneNumberType
_COMPILED: dict[str, re.Pattern[str]] = {}


def _fits(nsn: str, desc: Any) -> bool:
    """phonenumbers' _is_number_matching_desc, its pattern compiled once (phonenumbers
    compiles each pattern again on every call unless its global cache is switched on)."""
    if desc is None:
        return False
    lengths = desc.possible_length
    if lengths and len(nsn) not in lengths:
        return False
    source = desc.national_number_pattern
    return bool(source) and _compiled(source).fullmatch(nsn) is not None


def _compiled(source: str) -> re.Pattern[str]:
    pattern = _COMPILED.get(source)
    if pattern is None:
        pattern = _COMPILED[source] = re.compile(source)
    return pattern


def number_type(nsn: str, meta: PhoneMetadata) -> int:
    """phonenumbers' _number_type_helper, step for step, on compiled patterns."""
    if not _fits(nsn, meta.general_desc):
        return _PNT.UNKNOWN
    for desc, found in (
        (meta.premium_rate, _PNT.PREMIUM_RATE), (meta.toll_free, _PNT.TOLL_FREE),
        (meta.shared_cost, _PNT.SHARED_COST), (meta.voip, _PNT.VOIP),
        (meta.personal_number, _PNT.PERSONAL_NUMBER), (meta.pager, _PNT.PAGER),
        (meta.uan, _PNT.UAN), (meta.voicemail, _PNT.VOICEMAIL),
    ):  # fmt: skip
        if _fits(nsn, desc):
            return found
    same = meta.same_mobile_and_fixed_line_pattern
    if _fits(nsn, meta.fixed_line):
        if same or _fits(nsn, meta.mobile):
            return _PNT.FIXED_LINE_OR_MOBILE
        return _PNT.FIXED_LINE
    if not same and _fits(nsn, meta.mobile):
        return _PNT.MOBILE
    return _PNT.UNKNOWN
