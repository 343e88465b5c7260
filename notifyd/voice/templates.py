"""Notice words per language: template files, sandboxed rendering, dates and days left.

A template file (`config/templates/<lang>.toml`) holds the notice, the line that says how to
know it is genuine, whether a native speaker has reviewed it, and, for an offline engine that
cannot read the language's script, either its own text (vocalised Arabic) or the language it
speaks instead (`[speech.<engine>] language = "en"`). Templates are read and compiled once;
rendering is pure: `now` is an argument and values reach the template as data.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import StrictUndefined, TemplateError
from jinja2 import Template as Jinja
from jinja2.sandbox import SandboxedEnvironment

from notifyd.config import Config, OfficeConfig
from notifyd.errors import ConfigError
from notifyd.model import NoticeFacts
from notifyd.voice.sanitise import clean

#: The templates shipped with notifyd, used when `voices.templates_dir` is empty.
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "templates"
#: Longest permit number or type kept whole; names use sanitise.MAX_LENGTH.
SHORT_LIMIT = 40
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@dataclass(frozen=True)
class Speech:
    """What one engine says for a language whose script it cannot read."""

    notice: Jinja | None = None
    genuine: Jinja | None = None
    language: str | None = None  # speak this language's notice instead


@dataclass(frozen=True)
class Template:
    language: str
    path: Path
    reviewed: bool
    review_note: str
    notice: Jinja
    genuine: Jinja
    speech: dict[str, Speech] = field(default_factory=dict)


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
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        speech = {
            engine: Speech(
                notice=_compile(spec["notice"]) if "notice" in spec else None,
                genuine=_compile(spec["genuine"]) if "genuine" in spec else None,
                language=spec.get("language"),
            )
            for engine, spec in data.get("speech", {}).items()
        }
        return Template(
            language=language,
            path=path,
            reviewed=bool(data.get("reviewed", False)),
            review_note=str(data.get("review_note", "")),
            notice=_compile(data["notice"]),
            genuine=_compile(data["genuine"]),
            speech=speech,
        )
    except (tomllib.TOMLDecodeError, TemplateError, KeyError, TypeError) as exc:
        raise ConfigError(
            key, f"{path} cannot be used: {type(exc).__name__}: {exc}",
            "it needs `notice` and `genuine` strings in valid TOML and Jinja syntax",
        ) from exc  # fmt: skip


def _compile(source: Any) -> Jinja:
    if not isinstance(source, str):
        raise TypeError("a template must be a string")
    return _ENV.from_string(source)


def days_left(expiry: date, now: datetime, tz: ZoneInfo) -> int:
    """Whole days from today in the office's time zone: what the person's calendar says."""
    return (expiry - now.astimezone(tz).date()).days


def values(
    facts: NoticeFacts, office: OfficeConfig, tz: ZoneInfo, now: datetime, language: str
) -> dict[str, Any]:
    """The template's values: sanitised registry values, the office's words, date, days left."""
    return {
        "name": clean(facts.full_name),
        "permit": clean(facts.permit_number, SHORT_LIMIT),
        "permit_type": clean(facts.permit_type, SHORT_LIMIT),
        "expiry": format_date(facts.expiry_date, "long", locale=language),
        "days_left": days_left(facts.expiry_date, now, tz),
        "office_name": clean(office.name, 120),
        "office_address": clean(office.address, 160),
        "office_phone": clean(office.phone, SHORT_LIMIT),
        "office_website": _site(clean(office.website, 80)),
    }


def _site(url: str) -> str:
    """A website as people say and type it: no scheme ("https://" read aloud is noise)."""
    return url.removeprefix("https://").removeprefix("http://").rstrip("/")


def render(tpl: Template, vals: dict[str, Any]) -> str:
    """The whole notice: its words, then how to know it is genuine (also the SMS body)."""
    return f"{tpl.notice.render(vals).strip()}\n{tpl.genuine.render(vals).strip()}"


def speech_for(tpl: Template, engine: str) -> Speech | None:
    return tpl.speech.get(engine)


def render_speech(tpl: Template, speech: Speech, vals: dict[str, Any]) -> str:
    notice = speech.notice or tpl.notice
    genuine = speech.genuine or tpl.genuine
    return f"{notice.render(vals).strip()}\n{genuine.render(vals).strip()}"


def fields(vals: dict[str, Any], office_code: str) -> dict[str, str]:
    """The facts as the words show them, for providers' approved templates."""
    out = {k: str(v) for k, v in vals.items()}
    out["office"] = office_code
    return out
