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
    _, stripped, _ = pnu._maybe_strip_national_prefix_carrier_code(nsn, meta)
    if pnu._test_number_length(stripped, meta) not in _KEEP:
        nsn = stripped
    if not 2 <= len(nsn) <= 17 or nsn[0] == "0":
        return None
    return nsn, pnu._number_type_helper(nsn, meta)
