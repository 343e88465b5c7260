"""Registry row → validated Record, or a Rejection with every reason. Pure and picklable.

Each reason names the field, the value's problem and the fix, because staff read them to
correct the export, not a programmer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.languages import get_official_languages
from email_validator import EmailNotValidError, validate_email

from notifyd.config import LANGUAGE_ALIASES, NATIONALITY_LANGUAGES, Config
from notifyd.model import Phone, RawRow, Record, Rejection
from notifyd.registry.fastphone import international, national_number
from notifyd.registry.forms import country_code, parse_date

PNT = phonenumbers.PhoneNumberType
#: What each number type can receive (see shared notes: US numbers are FIXED_LINE_OR_MOBILE).
KINDS = {
    PNT.MOBILE: "mobile",
    PNT.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PNT.FIXED_LINE: "fixed_line",
    PNT.VOIP: "voip",
}
TEXTABLE = frozenset({"mobile", "fixed_line_or_mobile"})
#: A number as read, (E.164, kind, region): a Phone's fields, as a plain tuple because a row's
#: numbers cross back from a worker so (and a frozen dataclass takes as long as its parse).
Number = tuple[str, str, str]
YES = frozenset({"1", "y", "yes", "true", "ya", "all", "*", "x"})
NO = frozenset({"", "0", "n", "no", "false", "tidak"})
_SPLIT = re.compile(r"[,;|\s]+")


@dataclass(frozen=True)
class Rules:
    """What normalisation needs from the config, small enough to send to worker processes."""

    region: str
    date_formats: tuple[str, ...]
    offices: tuple[str, ...]
    default_office: str
    channels: tuple[tuple[str, str], ...]  # (name, kind) in config order
    channel_order: tuple[str, ...]
    languages: tuple[str, ...]
    default_language: str
    by_nationality: tuple[tuple[str, str], ...]
    nationality_aliases: tuple[tuple[str, str], ...]

    @classmethod
    def from_config(cls, cfg: Config) -> Rules:
        r = cfg.registry
        offices = tuple(cfg.offices)
        default_office = r.default_office or (offices[0] if len(offices) == 1 else "")
        return cls(
            region=r.default_region.upper(),
            date_formats=tuple(r.date_formats),
            offices=offices,
            default_office=default_office,
            channels=tuple((name, ch.kind) for name, ch in cfg.channels.items()),
            channel_order=tuple(cfg.channel_order or cfg.channels),
            languages=tuple(cfg.languages.available),
            default_language=cfg.languages.default,
            by_nationality=tuple(cfg.languages.by_nationality.items()),
            nationality_aliases=tuple((k.casefold(), v) for k, v in r.nationality_aliases.items()),
        )


#: Distinct values each per-rules memo keeps at most (dates, nationalities, language tags …):
#: an export has few; a stream of distinct ones is read as before, without being kept.
MEMO_SIZE = 8192


class Memo:
    """Per-rules answers for the cells whose result depends on the cell alone (and the rules):
    nationality, expiry date, office, language (with the nationality), channels, opted_out,
    permit type. Computed once per distinct value by the same functions as before; each dict
    stops growing at MEMO_SIZE."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.kinds = dict(rules.channels)
        self.order = rules.channel_order
        self.mail = "email" in self.kinds.values()
        self.nationality: dict[str, tuple[str | None, tuple[str, ...]]] = {}
        self.date: dict[str, tuple[date | None, tuple[str, ...]]] = {}
        self.office: dict[str, tuple[str, tuple[str, ...]]] = {}
        #: (cell, nationality) → (language, warnings, reasons)
        self.language: dict[tuple[str, str | None], tuple[str, tuple[str, ...], tuple[str, ...]]]
        self.language = {}
        self.channels: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self.opt_out: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        self.permit_type: dict[str, str] = {}


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(cache) < MEMO_SIZE:
        cache[key] = value
    return value


def _judged(
    cache: dict[str, Any], raw: str, judge: Callable[[str, Any, list[str]], Any], given: Any
) -> tuple[Any, tuple[str, ...]]:
    """A cell the memo has not met: judged as `normalise` judges it (its value and the reasons
    it gave), remembered while the memo has room."""
    said: list[str] = []
    return _remember(cache, raw, (judge(raw, given, said), tuple(said)))  # type: ignore[no-any-return]


_memos: dict[Rules, Memo] = {}
_last: Memo | None = None


def memo_for(rules: Rules) -> Memo:
    """The memo of these rules (the last one asked for without hashing them again)."""
    global _last
    last = _last
    if last is not None and last.rules is rules:
        return last
    memo = _memos.get(rules)
    if memo is None:
        if len(_memos) >= 4:
            _memos.clear()
        memo = _memos[rules] = Memo(rules)
    _last = memo
    return memo


#: The cells normalise reads, in the order normalise_cells takes them.
FIELDS = (
    "registry_id", "full_name", "nationality", "passport_number", "permit_type", "permit_number",
    "expiry_date", "phone", "whatsapp", "language", "channels", "opted_out", "office", "email",
)  # fmt: skip


def normalise(row: RawRow, rules: Rules) -> Record | Rejection:
    """Validate one row; collect every problem rather than stopping at the first."""
    get = row.values.get
    cells = tuple([get(name, "") for name in FIELDS])
    t = normalise_cells(row.line, cells, row.problems, memo_for(rules))
    if not t[0]:
        return Rejection(t[1], t[2], dict(row.values), t[4], t[5])
    phone = None if t[11] is None else Phone(*t[11])
    whatsapp = phone if t[12] == t[11] else (None if t[12] is None else Phone(*t[12]))
    return Record(*t[1:11], phone, whatsapp, *t[13:])  # type: ignore[arg-type,call-arg]


def normalise_cells(
    line: int, cells: tuple[str, ...], problems: tuple[str, ...], memo: Memo
) -> tuple[Any, ...]:
    """`normalise` of a row's cells in FIELDS order, as the tuple that crosses back from a
    worker (see packing): a Record's fields after True, its phones as (e164, kind, region);
    or a Rejection's after False, its raw cells None (the caller has them as it got them)."""
    rules = memo.rules
    reasons: list[str] = list(problems)
    warnings: list[str] = []
    (registry_id, full_name, nationality_raw, passport, permit_type_raw, permit_number,
     expiry_raw, phone_raw, wa_raw, language_raw, channels_raw, opted_out_raw, office_raw,
     email_raw) = cells  # fmt: skip

    # clean(), its fast path inline: these cells differ on every row
    registry_id = " ".join(registry_id.split()) if registry_id.isprintable() else clean(registry_id)
    if not registry_id:
        reasons.append("registry_id: missing; fill it in")
    full_name = " ".join(full_name.split()) if full_name.isprintable() else clean(full_name)
    if not full_name:
        reasons.append("full_name: missing; fill it in")
    permit_number = (
        " ".join(permit_number.split()) if permit_number.isprintable() else clean(permit_number)
    ).upper()
    if not permit_number:
        reasons.append("permit_number: missing; fill it in")

    # a hit stays inline (the hot path); a miss is judged and remembered by _judged
    nationality, said_ = memo.nationality.get(nationality_raw) or _judged(
        memo.nationality, nationality_raw, _nationality, rules
    )
    reasons += said_

    expiry, said_ = memo.date.get(expiry_raw) or _judged(memo.date, expiry_raw, _date, rules)
    reasons += said_

    office, said_ = memo.office.get(office_raw) or _judged(memo.office, office_raw, _office, rules)
    reasons += said_

    raw = language_raw
    spoken = memo.language.get((raw, nationality))
    if spoken is None:
        said: list[str] = []
        warned: list[str] = []
        language = _language(raw, nationality, rules, warned, said)
        spoken = (language, tuple(warned), tuple(said))
        spoken = _remember(memo.language, (raw, nationality), spoken)
    language, warned_, said_ = spoken
    warnings += warned_
    reasons += said_

    channel_kinds = memo.kinds
    raw = channels_raw
    asked = memo.channels.get(raw)
    if asked is None:
        said = []
        names = tuple(_channel_list(raw, "channels", channel_kinds, said))
        asked = _remember(memo.channels, raw, (names, tuple(said)))
    wanted, said_ = asked
    reasons += said_
    explicit = bool(wanted)
    wanted = wanted or memo.order

    opt_out, said_ = memo.opt_out.get(opted_out_raw) or _judged(
        memo.opt_out, opted_out_raw, _opt_out, channel_kinds
    )
    reasons += said_

    region = rules.region
    phone, phone_err = _phone(phone_raw, nationality, region) if phone_raw else (None, None)
    whatsapp: Number | None
    if not wa_raw:
        whatsapp, wa_err = None, None
    elif phone is not None and _written_as(wa_raw, phone, region):
        whatsapp, wa_err = phone, None  # usually the same number, written another way
    else:
        whatsapp, wa_err = _phone(wa_raw, nationality, region)
    email, email_err = _email(email_raw) if email_raw else ("", None)
    channels: list[str] = []
    dropped: list[str] = []
    for name in wanted:
        kind = channel_kinds[name]
        if kind == "email":
            problem = f"the email column: {email_err}" if email_err else None
            problem = problem or (None if email else "the email column is empty")
        else:
            problem = _cannot_reach(kind, phone, phone_err, whatsapp, wa_err)
        if problem is None:
            channels.append(name)
        elif explicit or not problem.endswith(" is empty"):
            dropped.append(f"{name}: {problem}")  # a bad number, or a channel asked for
    if not channels:
        mail = memo.mail
        reasons.append(
            "no channel can reach this person ("
            + ("; ".join(dropped) or ("no phone, WhatsApp number or e-mail address" if mail
                                      else "no phone or WhatsApp number"))
            + "); give a valid mobile number in phone or whatsapp"
            + (", or an e-mail address" if mail else "")
        )  # fmt: skip
    warnings += dropped
    if reasons:
        return (False, line, tuple(reasons), None, registry_id, permit_number)
    assert expiry is not None and nationality is not None
    passport = " ".join(passport.split()) if passport.isprintable() else clean(passport)
    passport = passport.replace(" ", "").upper()
    raw = permit_type_raw
    permit_type = memo.permit_type.get(raw)
    if permit_type is None:
        permit_type = _remember(memo.permit_type, raw, clean(raw))
    return (
        True, line, registry_id, full_name, nationality, passport, permit_type, permit_number,
        expiry, office, language,
        phone, whatsapp,
        tuple(channels), opt_out, tuple(warnings), email,
    )  # fmt: skip


def _email(raw: str) -> tuple[str, str | None]:
    """A checked address (the domain in lower case, an internationalised one kept), or why not.
    Only the form is checked: a DNS lookup per row would make sync depend on the network."""
    value = clean(raw)
    if not value:
        return "", None
    try:
        found = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return "", f"{value!r} is not an e-mail address ({exc}); correct it or leave it empty"
    return str(found.normalized), None


#: Format characters that spell words (Persian, Indic scripts): kept, unlike bidi overrides.
JOINERS = frozenset("\u200c\u200d")


def clean(value: str) -> str:
    """Trim, fold any white space (tabs, line breaks) to one space, and drop control, bidi
    and other invisible format characters, keeping the joiners some scripts spell with."""
    if value.isprintable():  # no Cc or Cf character (a name in Hangul, Han, Arabic …)
        return " ".join(value.split())
    kept = "".join(
        ch
        for ch in value
        if ch.isspace() or ch in JOINERS or unicodedata.category(ch) not in ("Cc", "Cf")
    )
    return " ".join(kept.split())


def _nationality(raw: str, rules: Rules, reasons: list[str]) -> str | None:
    value = clean(raw)
    if not value:
        reasons.append(
            "nationality: missing; give an ISO code (AU, AUS) or a name in Indonesian or English"
        )
        return None
    code = country_code(value, rules.nationality_aliases)
    if code is None:
        reasons.append(
            f"nationality: {value!r} is not a country; use an ISO code (AU, AUS), a name in "
            "Indonesian or English (Tiongkok, China), or add it to registry.nationality_aliases"
        )
    return code


def _date(raw: str, rules: Rules, reasons: list[str]) -> date | None:
    value = clean(raw)
    if not value:
        reasons.append("expiry_date: missing; give the permit's last day, e.g. 2027-03-31")
        return None
    found = parse_date(value, rules.date_formats)
    if found is None:
        shown = ", ".join(["YYYY-MM-DD", *rules.date_formats, "5 Desember 2026", "05-Des-2026"])
        reasons.append(
            f"expiry_date: {value!r} is not a date in any accepted form ({shown}); "
            "correct it or add its form to registry.date_formats"
        )
    return found


def _office(raw: str, rules: Rules, reasons: list[str]) -> str:
    value = clean(raw)
    if not value:
        if not rules.default_office:
            reasons.append(
                f"office: missing and there is no default; use one of {', '.join(rules.offices)} "
                "or set registry.default_office"
            )
        return rules.default_office
    code = {o.casefold(): o for o in rules.offices}.get(value.casefold())
    if code is None:
        reasons.append(
            f"office: {value!r} is not a configured office; use one of "
            f"{', '.join(rules.offices)} or add [offices.{value}] to the config"
        )
    return code or value


def _language(
    raw: str, nationality: str | None, rules: Rules, warnings: list[str], reasons: list[str]
) -> str:
    value = clean(raw)
    if not value:
        return derive_language(nationality, rules)
    tag = _language_tag(value)
    if tag is None:
        reasons.append(
            f"language: {value!r} is not a BCP-47 language tag; use e.g. en, zh, ar, or leave it "
            "empty to derive it from the nationality"
        )
        return rules.default_language
    if tag in rules.languages:
        return tag
    alias = LANGUAGE_ALIASES.get(tag) or LANGUAGE_ALIASES.get("-".join(tag.split("-")[:2]))
    if alias in rules.languages:
        return str(alias)
    primary = tag.split("-")[0]
    if primary in rules.languages:
        return primary
    fallback = derive_language(nationality, rules)
    warnings.append(f"language: no notices are written in {tag!r} yet; {fallback!r} is used")
    return fallback


@lru_cache(maxsize=1024)
def _language_tag(value: str) -> str | None:
    try:
        locale = Locale.parse(value.replace("_", "-"), sep="-")
    except (ValueError, UnknownLocaleError):
        return None
    parts = [locale.language, locale.script, locale.territory]
    return "-".join(p for p in parts if p)


@lru_cache(maxsize=1024)
def derive_language(nationality: str | None, rules: Rules) -> str:
    """Config mapping first, then the country's official languages that have notices."""
    if nationality is None:
        return rules.default_language
    mapped = dict(rules.by_nationality).get(nationality) or NATIONALITY_LANGUAGES.get(nationality)
    if mapped and mapped in rules.languages:
        return mapped
    for lang in get_official_languages(nationality, de_facto=True):
        if lang in rules.languages:
            return str(lang)
    return rules.default_language


def _channel_list(raw: str, field: str, known: dict[str, str], reasons: list[str]) -> list[str]:
    names = [n for n in _SPLIT.split(clean(raw).lower()) if n]
    unknown = [n for n in names if n not in known]
    if unknown:
        reasons.append(
            f"{field}: {', '.join(map(repr, unknown))} is not a configured channel; use "
            f"{', '.join(known) or '(none configured)'} or leave it empty for the default order"
        )
    return list(dict.fromkeys(n for n in names if n in known))


def _opt_out(raw: str, known: dict[str, str], reasons: list[str]) -> tuple[str, ...]:
    value = clean(raw).lower()
    if value in NO:
        return ()
    if value in YES:
        return ("*",)
    names = [n for n in _SPLIT.split(value) if n]
    unknown = [n for n in names if n not in known]
    if unknown:
        reasons.append(
            f"opted_out: {', '.join(map(repr, unknown))} is not an answer; write yes (ya, 1) "
            f"to stop every notice, no (tidak, or empty) to send them, or channel names "
            f"({', '.join(known)}) to stop only those"
        )
    return tuple(dict.fromkeys(n for n in names if n in known))


_NOT_DIGIT = re.compile(r"\D")


def _written_as(raw: str, phone: Number, region: str) -> bool:
    """True when `raw` is the digits of `phone` in international or national form.

    Saves parsing the same number twice (half of all rows); a miss only means a full parse.
    """
    if not raw:
        return False
    digits = _NOT_DIGIT.sub("", raw)
    if raw.lstrip().startswith("+"):
        return digits == phone[0][1:]
    return digits == _national_digits(phone) or (phone[2] == region and digits == phone[0][1:])


def _national_digits(phone: Number) -> str:
    """The number as dialled inside its country (0812… in Indonesia): E.164 is the country
    code and the national number, and the region's metadata knows its trunk prefix."""
    code, prefix = _dialling(phone[2])
    return prefix + phone[0][1 + len(code) :]


@lru_cache(maxsize=256)
def _dialling(region: str) -> tuple[str, str]:
    """A region's country code and national (trunk) prefix, as text."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    prefix = (meta.national_prefix if meta else None) or ""
    return str(phonenumbers.country_code_for_region(region)), prefix


def _phone(raw: str, nationality: str | None, region: str) -> tuple[Number | None, str | None]:
    value = clean(raw)
    if not value:
        return None, None
    return _parse_phone(value, nationality or "", region)


#: A number met again is mostly a family member's, on the row before: a few thousand recent
#: ones catch those (65,536 held 27 MB of a worker for no measurable gain).
@lru_cache(maxsize=4096)
def _parse_phone(value: str, nationality: str, region: str) -> tuple[Number | None, str | None]:
    """Office region first; a number without a country code may be the person's home format.
    The region's common forms, and numbers written with a country code only one region
    has, take a fast path that agrees with phonenumbers."""
    if value.startswith("+"):
        abroad = international(value)
        if abroad is not None and abroad[2] in KINDS:
            return (abroad[0], KINDS[abroad[2]], abroad[1]), None
    fast = national_number(value, region)
    if fast is not None and fast[1] in KINDS:
        nsn, ntype = fast
        return (f"+{_dialling(region)[0]}{nsn}", KINDS[ntype], region), None
    return parse_phone(value, nationality, region)


def parse_phone(value: str, nationality: str, region: str) -> tuple[Number | None, str | None]:
    """`_parse_phone` through phonenumbers alone (the reference of the fast path)."""
    regions = [region]
    if nationality and nationality != region and not value.startswith(("+", "00")):
        regions.append(nationality)
    for reg in regions:
        try:
            number = phonenumbers.parse(value, reg)
        except phonenumbers.NumberParseException:
            continue
        ntype = phonenumbers.number_type(number)  # UNKNOWN for invalid numbers
        if ntype in KINDS:
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            found = phonenumbers.region_code_for_number(number) or reg
            return (e164, KINDS[ntype], found), None
        if ntype != PNT.UNKNOWN:  # valid here, but a service number: no other reading
            return None, f"{value!r} is a premium-rate, shared-cost or other service number"
    tried = " or ".join(regions)
    return None, (
        f"{value!r} is not a valid number in {tried}; write it with its country code, "
        "e.g. +62 812 3456 7890"
    )


def _cannot_reach(
    kind: str,
    phone: Number | None,
    phone_err: str | None,
    whatsapp: Number | None,
    wa_err: str | None,
) -> str | None:
    """Why a channel of this kind cannot reach the person, or None if it can."""
    if kind == "other":
        return None
    if kind == "whatsapp":
        if whatsapp is None:
            return f"the whatsapp column: {wa_err}" if wa_err else "the whatsapp column is empty"
        if whatsapp[1] not in TEXTABLE:
            return (
                f"the whatsapp column holds {whatsapp[0]}, a {whatsapp[1]} number; "
                "WhatsApp needs a mobile"
            )
        return None
    if phone is None:
        return f"the phone column: {phone_err}" if phone_err else "the phone column is empty"
    if kind == "sms" and phone[1] not in TEXTABLE:
        return f"the phone column holds {phone[0]}, a {phone[1]} number; SMS needs a mobile"
    return None
