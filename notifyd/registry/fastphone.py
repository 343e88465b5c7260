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
from typing import Any, NamedTuple

import phonenumbers
from phonenumbers import PhoneMetadata, re_util
from phonenumbers import phonenumberutil as pnu

# phonenumbers compiles a metadata pattern again on every call (parse, and the helpers used
# here) unless told to keep them; a switch of its own, where it has one: the same patterns.
getattr(re_util, "enable_pattern_cache", lambda: None)()

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
    stripped = strip_national_prefix(nsn, meta)
    if stripped is not nsn and takes_length(stripped, meta):
        nsn = stripped
    if not 2 <= len(nsn) <= 17 or nsn[0] == "0":
        return None
    return nsn


class _Parsing(NamedTuple):
    """What parse's national prefix and length steps read from a region's metadata."""

    prefix: re.Pattern[str] | None  # national_prefix_for_parsing; None: nothing to strip
    transform: bool  # a national prefix transform rule: phonenumbers' own step
    viable: Any  # the general description's pattern's fullmatch, or None
    lengths: tuple[int, ...]  # the general description's possible lengths, in its order
    later: frozenset[int]  # all but the first of them
    local: frozenset[int]  # its local-only lengths


_PARSING: dict[int, tuple[PhoneMetadata, _Parsing]] = {}


def _parsing(meta: PhoneMetadata) -> _Parsing:
    found = _PARSING.get(id(meta))
    if found is not None and found[0] is meta:
        return found[1]
    general = meta.general_desc
    source = meta.national_prefix_for_parsing
    pattern = None if general is None else general.national_number_pattern
    lengths = () if general is None else tuple(general.possible_length)
    local = () if general is None else general.possible_length_local_only
    table = _Parsing(
        prefix=_compiled(source) if source else None,
        transform=bool(meta.national_prefix_transform_rule),
        viable=_compiled(pattern).fullmatch if pattern else None,
        lengths=lengths, later=frozenset(lengths[1:]), local=frozenset(local),
    )  # fmt: skip
    _PARSING[id(meta)] = (meta, table)
    return table


def strip_national_prefix(number: str, meta: PhoneMetadata) -> str:
    """The number of phonenumbers' _maybe_strip_national_prefix_carrier_code, its patterns
    read once (a rule that transforms the prefix is left to phonenumbers itself). The number
    itself (the same object) when nothing is stripped."""
    t = _parsing(meta)
    if not number or t.prefix is None:
        return number
    found = t.prefix.match(number)
    if found is None:
        return number
    if t.transform:
        return pnu._maybe_strip_national_prefix_carrier_code(number, meta)[1]  # type: ignore[no-any-return]
    rest = number[found.end() :]
    viable = t.viable
    if viable is not None and viable(number) is not None and viable(rest) is None:
        return number  # the number was viable as written, and is not without the prefix
    return rest


def takes_length(number: str, meta: PhoneMetadata) -> bool:
    """phonenumbers' _test_number_length(number, meta) is IS_POSSIBLE or TOO_LONG: parse
    keeps the prefix stripped (the other answers are TOO_SHORT, INVALID_LENGTH and
    IS_POSSIBLE_LOCAL_ONLY)."""
    t = _parsing(meta)
    if not t.lengths:
        return pnu._test_number_length(number, meta) not in _KEEP
    size = len(number)
    if size in t.local:
        return False
    first = t.lengths[0]
    if size == first:
        return True
    if size < first:
        return False
    return size > t.lengths[-1] or size in t.later


_PNT = pnu.PhoneNumberType
_COMPILED: dict[str, re.Pattern[str]] = {}
#: A description as number_type reads it: possible lengths (None: any), its pattern's fullmatch.
_Desc = tuple[frozenset[int] | None, Any]
_SPECIAL = (
    ("premium_rate", _PNT.PREMIUM_RATE), ("toll_free", _PNT.TOLL_FREE),
    ("shared_cost", _PNT.SHARED_COST), ("voip", _PNT.VOIP),
    ("personal_number", _PNT.PERSONAL_NUMBER), ("pager", _PNT.PAGER), ("uan", _PNT.UAN),
    ("voicemail", _PNT.VOICEMAIL),
)  # fmt: skip
#: Per region's metadata (by identity, the metadata kept alive with it): its descriptions read
#: once, so that a number's type costs a length test and a match per description.
_TYPES: dict[int, tuple[PhoneMetadata, Any]] = {}


def _compiled(source: str) -> re.Pattern[str]:
    pattern = _COMPILED.get(source)
    if pattern is None:
        pattern = _COMPILED[source] = re.compile(source)
    return pattern


def _desc(desc: Any) -> _Desc | None:
    """A description as number_type reads it; None for one no number fits (absent, no pattern)."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = desc.possible_length
    pattern = _compiled(desc.national_number_pattern)
    return (frozenset(lengths) if lengths else None), pattern.fullmatch


def _types(meta: PhoneMetadata) -> Any:
    """(general, the special types in number_type's order with their type, fixed line, mobile,
    same mobile and fixed-line pattern), descriptions no number fits left out."""
    found = _TYPES.get(id(meta))
    if found is not None and found[0] is meta:
        return found[1]
    special = []
    for name, ntype in _SPECIAL:
        desc = _desc(getattr(meta, name))
        if desc is not None:
            special.append((desc[0], desc[1], ntype))
    table = (
        _desc(meta.general_desc), tuple(special), _desc(meta.fixed_line), _desc(meta.mobile),
        bool(meta.same_mobile_and_fixed_line_pattern),
    )  # fmt: skip
    _TYPES[id(meta)] = (meta, table)
    return table


def _match(nsn: str, desc: _Desc | None) -> bool:
    if desc is None:
        return False
    lengths, fullmatch = desc
    return (lengths is None or len(nsn) in lengths) and fullmatch(nsn) is not None


def number_type(nsn: str, meta: PhoneMetadata) -> int:
    """phonenumbers' _number_type_helper, step for step, on descriptions read once (it
    compiles each pattern again on every call unless its global cache is switched on)."""
    general, special, fixed, mobile, same = _types(meta)
    if not _match(nsn, general):
        return _PNT.UNKNOWN
    size = len(nsn)
    for lengths, fullmatch, found in special:
        if (lengths is None or size in lengths) and fullmatch(nsn) is not None:
            return found
    if _match(nsn, fixed):
        if same or _match(nsn, mobile):
            return _PNT.FIXED_LINE_OR_MOBILE
        return _PNT.FIXED_LINE
    if not same and _match(nsn, mobile):
        return _PNT.MOBILE
    return _PNT.UNKNOWN
