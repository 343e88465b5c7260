"""Notice words per language: template files, sandboxed rendering, written and spoken values.

A template file (`config/templates/<lang>.toml`) gives, for one language, the words for the eye
(`[written] notice`, the SMS and WhatsApp text, followed by `genuine`, how to know it is real)
and the words for the ear (`[spoken] notice`, the voice note: short, no address or URL), the
names of the permits (`[permit_types]`), how the voice names the office (`[spoken] office`) and
whether a native speaker has reviewed it (`[review]`). Templates are read and compiled once;
rendering is pure: `now` is an argument and registry values reach the template as data, never
as template source, in Jinja's sandbox.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, TemplateError
from jinja2 import Template as Jinja
from jinja2.sandbox import SandboxedEnvironment

from notifyd.config import Config, NoticesConfig, OfficeConfig
from notifyd.errors import ConfigError
from notifyd.model import NoticeFacts
from notifyd.voice import permits, spoken
from notifyd.voice.sanitise import clean
from notifyd.voice.spoken import numbers
from notifyd.voice.wording import plural_for, sentence_case, unvocalised

#: The templates shipped with notifyd, used when `voices.templates_dir` is empty.
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "templates"
#: Longest permit number or type kept whole; names use sanitise.MAX_LENGTH.
SHORT_LIMIT = 40
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@dataclass(frozen=True)
class Review:
    """Whether a native speaker has read the template, who and when (empty until then)."""

    reviewed: bool
    by: str
    on: str
    note: str


@dataclass(frozen=True)
class Template:
    language: str
    path: Path
    name: str  # the language's name in English, for staff
    native: str  # the language's name in itself, for reviewers
    review: Review
    written: Jinja
    genuine: Jinja
    spoken: Jinja
    office: Jinja  # how the voice names the office
    permit_types: dict[str, str]
    #: The language whose spoken notice stands in when no engine speaks this one (Thai and
    #: Filipino offline: an English voice note, the SMS staying in the person's language).
    fallback: str = ""

    @property
    def reviewed(self) -> bool:
        return self.review.reviewed


def templates_dir(cfg: Config) -> Path:
    configured = cfg.voices.templates_dir
    return cfg.resolve_path(configured) if configured else SHIPPED


def load_all(cfg: Config) -> dict[str, Template]:
    """Every available language's template, compiled; a missing or broken one is a ConfigError."""
    folder = templates_dir(cfg)
    return {lang: load(folder / f"{lang}.toml", lang) for lang in cfg.languages.available}


def load(path: Path, language: str) -> Template:
    key = f"voices.templates_dir ({path.name})"
    if not path.is_file():
        raise ConfigError(
            key, f"no template for language {language!r} at {path}",
            f"copy config/templates/en.toml to {path.name} and translate it, "
            "or remove the language from languages.available",
        )  # fmt: skip
    where = "(top level)"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        where = "[review]"
        rev = _review(data.get("review", {}), path)
        where = "[permit_types]"
        names = {k: _text(data["permit_types"][k]) for k in permits.KEYS}
        where = "[written]"
        eye = {"plural": plural_for(language)}
        ear = {"plural": plural_for(language, lambda n: spoken.count(n, language))}
        written = _compile(data["written"]["notice"], eye)
        genuine = _compile(data["written"]["genuine"], eye)
        where = "[spoken]"
        said, office = _compile(data["spoken"]["notice"], ear), _compile(data["spoken"]["office"])
        fallback = str(data["spoken"].get("fallback", ""))
        return Template(
            language=language, path=path, name=_text(data["name"]),
            native=_text(data["native"]), review=rev, written=written, genuine=genuine,
            spoken=said, office=office, permit_types=names, fallback=fallback,
        )  # fmt: skip
    except (tomllib.TOMLDecodeError, TemplateError, KeyError, TypeError) as exc:
        missing = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
        raise ConfigError(
            key, f"{path} cannot be used, at {where}: {type(exc).__name__}: {missing}",
            "it needs name, native, [review], [permit_types] (permit, ITAS, ITAP, ITK, E23, "
            "E28A, E30, E31, E33), [written] notice and genuine, [spoken] notice and office, "
            "in valid TOML and Jinja syntax (see config/templates/en.toml)",
        ) from exc  # fmt: skip


def _review(table: Any, path: Path) -> Review:
    """The review state; `reviewed = true` must say who reviewed the file and when, so that
    docs/languages.md and the review pages can name them."""
    if not isinstance(table, dict):
        raise TypeError(f"[review] must be a table, not {table!r}")
    rev = Review(
        reviewed=_bool(table.get("reviewed", False)), by=str(table.get("by", "")).strip(),
        on=str(table.get("date", "")).strip(), note=str(table.get("note", "")),
    )  # fmt: skip
    if not rev.reviewed:
        return rev
    if not rev.by:
        raise ConfigError(
            f"{path.name} [review] by", "reviewed = true but no reviewer is named",
            'give the reviewer\'s name, e.g. by = "Siti Rahma", or set reviewed = false',
        )  # fmt: skip
    if not _iso_day(rev.on):
        raise ConfigError(
            f"{path.name} [review] date",
            f"reviewed = true needs the day of the review as YYYY-MM-DD, not {rev.on!r}",
            'write it as date = "2026-11-30", or set reviewed = false',
        )  # fmt: skip
    return rev


def _iso_day(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} must be a string")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"reviewed = {value!r} must be true or false")
    return value


def _compile(source: Any, functions: dict[str, Any] | None = None) -> Jinja:
    """A template; `functions` are the language's helpers (`plural`), bound to it."""
    return _ENV.from_string(_text(source), globals=functions)


def days_left(expiry: date, now: datetime, tz: ZoneInfo) -> int:
    """Whole days from today in the office's time zone: what the person's calendar says."""
    return (expiry - now.astimezone(tz).date()).days


def values(
    facts: NoticeFacts, office: OfficeConfig, tz: ZoneInfo, now: datetime, tpl: Template,
    notices: NoticesConfig,
) -> dict[str, Any]:  # fmt: skip
    """The written notice's values: sanitised registry values, the office's words, the date in
    the language's long form, days left, who extends the permit and the overstay rules."""
    lang = tpl.language
    left = days_left(facts.expiry_date, now, tz)
    return {
        "name": clean(facts.full_name),
        "permit": clean(facts.permit_number, SHORT_LIMIT),
        "permit_code": clean(facts.permit_type, SHORT_LIMIT),
        "permit_type": permits.name(facts.permit_type, tpl.permit_types),
        "expiry": numbers.long_date(facts.expiry_date, lang),
        "days_left": left,  # for the branches: more than one day, tomorrow, today, overdue
        "days_over": max(0, -left),
        "days": str(left),  # as the words say it
        "over": str(max(0, -left)),
        "extension": permits.extension(facts.permit_type, notices),
        "charge": numbers.written_amount(notices.overstay_charge_per_day, lang),
        "limit_days": notices.overstay_limit_days,
        "limit": notices.overstay_limit_days,  # a number in both notices, for `plural`
        "office_name": clean(office.name, 120),
        **office_names(tpl, office, written=True),
        "office_address": clean(office.address, 160),
        "office_phone": clean(office.phone, SHORT_LIMIT),
        "office_website": _site(clean(office.website, 80)),
    }


def spoken_values(
    facts: NoticeFacts, office: OfficeConfig, written: dict[str, Any], tpl: Template,
    notices: NoticesConfig,
) -> dict[str, Any]:  # fmt: skip
    """The same facts for the ear: the number spelled, the date as day and month, counts and the
    charge in words where the voice needs them, the office as "the immigration office in …"."""
    lang = tpl.language
    phone = written["office_phone"]
    return {
        **written,
        "name": spoken.person_name(written["name"]),
        "permit": spoken.spell(written["permit"], lang),
        "expiry": spoken.day_month(facts.expiry_date, lang),
        "days": spoken.count(written["days_left"], lang),
        "over": spoken.count(written["days_over"], lang),
        "charge": spoken.amount(notices.overstay_charge_per_day, lang),
        "limit_days": spoken.count(written["limit_days"], lang),
        "office_phone": spoken.phone(phone, lang) if phone else "",
        **office_names(tpl, office, written=False),
        "office_address": "",
        "office_website": "",
    }


#: The grammatical cases the `[spoken] office` template is rendered in: `office` holds the
#: nominative, `office_genitive` the form after a preposition such as Arabic إلى,
#: `office_oblique` the Hindi oblique before a postposition ("Blitar के … कार्यालय से").
CASES = {"office": "nominative", "office_genitive": "genitive", "office_oblique": "oblique"}


def office_names(tpl: Template, office: OfficeConfig, written: bool) -> dict[str, str]:
    """How the notice names the office, in each case; the written text without the vowel marks
    the voice needs (Arabic is written unvocalised)."""
    city = clean(office.city, 60)
    said = {key: tpl.office.render(city=city, case=case).strip() for key, case in CASES.items()}
    return {k: unvocalised(v) for k, v in said.items()} if written else said


def _site(url: str) -> str:
    """A website as people say and type it: no scheme ("https://" read aloud is noise)."""
    return url.removeprefix("https://").removeprefix("http://").rstrip("/")


def render(tpl: Template, vals: dict[str, Any]) -> str:
    """The written notice: its words, then how to know it is genuine (also the SMS body)."""
    lang = tpl.language
    return (
        f"{_one_line(tpl.written.render(vals), lang)}\n{_one_line(tpl.genuine.render(vals), lang)}"
    )


def render_spoken(tpl: Template, vals: dict[str, Any]) -> str:
    """The voice note's words: plain text for a TTS engine, never markup."""
    return _one_line(tpl.spoken.render(vals), tpl.language)


def _one_line(text: str, language: str) -> str:
    """One line, each sentence starting with a capital even when a value begins it."""
    return sentence_case(" ".join(text.split()), language)


def fields(vals: dict[str, Any], office_code: str) -> dict[str, str]:
    """The facts as the words show them, for providers' approved templates."""
    out = {k: str(v) for k, v in vals.items()}
    out["office"] = office_code
    return out
