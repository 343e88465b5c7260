"""A notice's words and voice note: template → text → TTS chain → the channel's format.

The dispatcher calls `Renderer.render` for every send, so a note already made costs a template
render and one file lookup: templates are read once, here, and the cache is checked before any
engine runs. `check` is what `notifyd check-config` adds for voices and templates.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from notifyd.config import LANGUAGE_ALIASES, Config, OfficeConfig
from notifyd.errors import ConfigError
from notifyd.hookspecs import Voice
from notifyd.model import NoticeFacts, Rendered
from notifyd.voice import audio, segments, templates
from notifyd.voice.audio import Candidate, Part
from notifyd.voice.sanitise import MAX_LENGTH

#: The language of the second half of a bilingual note.
SECOND_LANGUAGE = "id"


class Renderer:
    def __init__(self, cfg: Config, voices: Mapping[str, Voice]) -> None:
        self.cfg = cfg
        self.voices = dict(voices)
        self.templates = templates.load_all(cfg)
        self.zones = {code: ZoneInfo(o.timezone) for code, o in cfg.offices.items()}
        self._speaks = {name: v.languages() for name, v in self.voices.items()}

    def language(self, tag: str) -> str:
        """The template language for a person's tag: itself, its alias (zh-Hant → zh-TW), its
        primary subtag, the default."""
        tag = tag.replace("_", "-")
        for candidate in (tag, LANGUAGE_ALIASES.get(tag), tag.split("-")[0].lower()):
            if candidate and candidate in self.templates:
                return candidate
        return self.cfg.languages.default

    def words(self, facts: NoticeFacts, now: datetime) -> tuple[str, dict[str, Any], str]:
        """The written notice (SMS, WhatsApp text), its values and its language."""
        lang = self.language(facts.language)
        vals = self._values(facts, now, lang)
        return templates.render(self.templates[lang], vals), vals, lang

    def spoken(self, facts: NoticeFacts, now: datetime, lang: str) -> str:
        """The voice note's words in `lang`: made for the ear, no address or URL."""
        tpl = self.templates[lang]
        office = self._office(facts)
        written = self._values(facts, now, lang)
        vals = templates.spoken_values(facts, office, written, tpl, self.cfg.notices)
        return templates.render_spoken(tpl, vals)

    async def render(
        self, facts: NoticeFacts, now: datetime, audio_format: str | None = None
    ) -> Rendered:
        text, vals, lang = self.words(facts, now)
        fields = templates.fields(vals, facts.office)
        if audio_format is None:
            return Rendered(text=text, fields=fields, language=lang)
        candidates = self.candidates(facts, now, lang)
        path, engine = await audio.make_note(self.cfg, self.voices, candidates, audio_format)
        return Rendered(text=text, fields=fields, language=lang, audio=path, engine=engine)

    def candidates(self, facts: NoticeFacts, now: datetime, lang: str) -> list[Candidate]:
        """What each engine in this language's order would say; engines that do not speak the
        language are left out (check-config makes sure one does). Only when none of them speaks
        it does the template's `fallback` language stand in (Thai offline: English), so a
        language is never handed to a stand-in while a voice that reads it is installed."""
        languages = [lang]
        if self.cfg.voices.bilingual and lang != SECOND_LANGUAGE:
            languages.append(SECOND_LANGUAGE)
        native = self._candidates(facts, now, lang, languages)
        stand_in = self.templates[lang].fallback
        if native or not stand_in or stand_in not in self.templates:
            return native
        said = [stand_in] + [code for code in languages[1:] if code != stand_in]
        return self._candidates(facts, now, lang, said)

    def _candidates(
        self, facts: NoticeFacts, now: datetime, lang: str, languages: list[str]
    ) -> list[Candidate]:
        """One engine for every part first, in the language's order (edge-tts online, espeak-ng
        offline for most: one voice throughout). Then, for a bilingual note no further engine
        speaks whole, each part by the first other engine in its own language's order that
        speaks it (Japanese offline: Open JTalk, then espeak-ng's Indonesian)."""
        template = self.templates[lang].path.name
        texts = {code: self.spoken(facts, now, code) for code in languages}
        out = []
        for engine in self._order(lang):
            parts = [self._part(engine, code, texts[code]) for code in languages]
            if all(p is not None for p in parts):
                out.append(Candidate(engine, tuple(p for p in parts if p), template))
        if len(languages) < 2:
            return out
        whole = {c.engine for c in out}
        mixed: list[Part] = []
        for code in languages:
            found = (self._part(e, code, texts[code]) for e in self._order(code) if e not in whole)
            part = next((p for p in found if p is not None), None)
            if part is None:
                return out
            mixed.append(part)
        return [*out, Candidate(mixed[0].engine, tuple(mixed), template)]

    def _order(self, lang: str) -> list[str]:
        return [e for e in engine_order(self.cfg, lang) if e in self.voices]

    def _part(self, engine: str, lang: str, text: str) -> Part | None:
        voice = self.voice_for(engine, lang)
        return None if voice is None else Part(engine, voice, lang, text)

    def voice_for(self, engine: str, lang: str) -> str | None:
        configured = self.cfg.voices.names.get(engine, {}).get(lang)
        if configured:
            return configured
        known = self._speaks.get(engine, {}).get(lang)
        return known[0] if known else None

    def _office(self, facts: NoticeFacts) -> OfficeConfig:
        return self.cfg.offices.get(facts.office) or OfficeConfig()

    def _values(self, facts: NoticeFacts, now: datetime, lang: str) -> dict[str, Any]:
        office = self._office(facts)
        zone = self.zones.get(facts.office) or ZoneInfo(office.timezone)
        tpl = self.templates[lang]
        return templates.values(facts, office, zone, now, tpl, self.cfg.notices)


def engine_order(cfg: Config, lang: str) -> list[str]:
    return cfg.voices.engines_by_language.get(lang) or cfg.voices.engines


def check(cfg: Config, voices: Mapping[str, Voice]) -> Renderer:
    """Every problem a send would meet, found now: missing templates, unknown engines and
    voices, languages no engine speaks, SMS texts over voices.sms_max_segments."""
    for key, names in _engine_keys(cfg):
        for name in names:
            if name not in voices:
                raise ConfigError(
                    key, f"no voice plugin called {name!r}",
                    f"use one of: {', '.join(sorted(voices)) or '(none installed)'}",
                )  # fmt: skip
    for engine, by_lang in cfg.voices.names.items():
        for lang, voice in by_lang.items():
            if engine in voices and voice not in voices[engine].languages().get(lang, []):
                listed = voices[engine].languages().get(lang, [])
                raise ConfigError(
                    f"voices.names.{engine}.{lang}", f"{engine} has no voice {voice!r} for {lang}",
                    f"use one of: {', '.join(listed) or '(none: remove the key)'}",
                )  # fmt: skip
    renderer = Renderer(cfg, voices)
    for lang in cfg.languages.available:
        sample = _longest_facts(lang, next(iter(cfg.offices)), _LONGEST_NAMES[0])
        if not renderer.candidates(sample, _NOON, lang):
            raise ConfigError(
                f"voices.engines_by_language.{lang}",
                f"no configured engine speaks {lang!r} ({', '.join(engine_order(cfg, lang))})",
                "add an engine that speaks it (see `notifyd voices`), or remove the language "
                "from languages.available",
            )  # fmt: skip
        worst = max(
            segments.count(renderer.words(_longest_facts(lang, code, name), now)[0])
            for code in cfg.offices
            for now in _CHECK_DAYS
            for name in _LONGEST_NAMES
        )
        if worst.number > cfg.voices.sms_max_segments:
            raise ConfigError(
                "voices.sms_max_segments",
                f"the {lang} template ({lang}.toml) takes up to {worst.number} SMS segments "
                f"({worst.encoding}, {worst.units} units), over the limit "
                f"{cfg.voices.sms_max_segments}",
                "shorten the template, or raise voices.sms_max_segments",
            )  # fmt: skip
    return renderer


def _engine_keys(cfg: Config) -> list[tuple[str, list[str]]]:
    keys = [("voices.engines", cfg.voices.engines)]
    keys += [(f"voices.engines_by_language.{lang}", order)
             for lang, order in cfg.voices.engines_by_language.items()]  # fmt: skip
    return keys


_EXPIRY = date(2026, 12, 31)
_NOON = datetime.fromisoformat("2026-12-17T05:00:00+00:00")
#: Moments giving the longest day counts each branch of a template can say: 14 days, tomorrow,
#: today, and 14 days overdue.
_CHECK_DAYS = [datetime.fromisoformat(f"2026-12-{d}T05:00:00+00:00") for d in (17, 30, 31)] + [
    datetime.fromisoformat("2027-01-14T05:00:00+00:00")
]


#: The longest names spoken in full: Latin, and one outside GSM-7 and the BMP (a name in a
#: rare Han character), which makes the whole SMS UCS-2 at two units a character.
_LONGEST_NAMES = ("W" * MAX_LENGTH, "\U00020000" * MAX_LENGTH)


def _longest_facts(lang: str, office: str, name: str) -> NoticeFacts:
    """A notice with every registry value at the longest length it is spoken in full."""
    return NoticeFacts(
        notification_id=0, stage=14, catch_up=False, language=lang,
        full_name=name, permit_number="9" * templates.SHORT_LIMIT,
        permit_type="K" * templates.SHORT_LIMIT, expiry_date=_EXPIRY, office=office,
    )  # fmt: skip
