"""The review kit for native speakers: every wording of every language, filled and spoken.

A reviewer cannot judge a template by reading its Jinja source: the branches (14 and 7 days,
tomorrow, today, overdue, who extends the permit) and the spoken forms (a number spelled, a
date as the voice says it) only show when rendered. `write_kit` renders each language's every
branch with sample values through the same Renderer the daemon uses, speaks it with the
installed offline voices (an offline reviewer hears what a holder hears when the online voice
is down) and writes one self-contained HTML page per language, plus an index.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Collection, Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from notifyd import config as config_mod
from notifyd.config import EXTENSION_KINDS, Config
from notifyd.hookspecs import Voice
from notifyd.model import NoticeFacts
from notifyd.voice import permits
from notifyd.voice.audio import AudioError
from notifyd.voice.render import SECOND_LANGUAGE, Renderer, engine_order

#: Engines that need the internet: the kit and the offline column of docs/languages.md leave
#: them out, so that what a reviewer hears is what a holder hears when the network is down.
ONLINE_ENGINES = frozenset({"edge-tts"})
#: The day the 14-day notice goes out; every other stage is dated from it.
SAMPLE_DAY = date(2027, 3, 4)
EXPIRY = SAMPLE_DAY + timedelta(days=14)
SAMPLE_TIME = time(9, 30)  # in the office's time zone: inside the default send window
OVERDUE_DAYS = 3
#: (key, title, days left); the order a holder meets them. "bilingual" is the key of the
#: bilingual 14-day note.
STAGES = (
    ("14", "14 days before expiry", 14), ("7", "7 days before expiry", 7),
    ("tomorrow", "the day before expiry", 1), ("today", "the expiry day", 0),
    ("overdue", f"{OVERDUE_DAYS} days after expiry (overstay)", -OVERDUE_DAYS),
)  # fmt: skip
EXTENSION_TITLES = {
    "sponsor": "the sponsor applies for the extension",
    "self": "the holder applies for the extension",
    "none": "the permit cannot be extended",
}
PERMIT_NUMBER = "2C11AB0001-27"
PERMIT_TYPE = "ITAS E23"  # a work ITAS, the commonest permit
#: Passport names (Latin letters, as the registry holds them) a holder of each language might
#: have; the default for any other language.
NAMES = {
    "id": "Siti Rahmawati", "en": "James Thompson", "zh": "Wang Xiaoming",
    "zh-TW": "Chen Yating", "ja": "Sato Haruki", "ko": "Kim Minjun", "ar": "Ahmed Al-Farsi",
    "ru": "Dmitry Ivanov", "fr": "Camille Martin", "de": "Lukas Schneider",
    "hi": "Priya Sharma", "ms": "Nur Aisyah binti Ahmad", "fil": "Maria Santos",
    "nl": "Daan de Vries", "it": "Giulia Rossi", "vi": "Nguyen Van Minh",
    "th": "Somchai Saetang", "pt": "Joao Silva", "es": "Lucia Garcia", "tr": "Mehmet Yilmaz",
    "uk": "Olena Kovalenko",
}  # fmt: skip
DEFAULT_NAME = "Alex Morgan"
#: The office of the kit when no config file is given.
SAMPLE_OFFICE = {
    "name": "Kantor Imigrasi Kelas II Non TPI Blitar", "city": "Blitar",
    "timezone": "Asia/Jakarta", "address": "Jl. Raya Blitar No. 1, Blitar",
    "phone": "+62 342 801234", "website": "https://blitar.imigrasi.go.id",
}  # fmt: skip

_PAGES = Environment(
    loader=PackageLoader("notifyd.voice", "review_pages"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def sample_config(state_dir: Path) -> Config:
    """The shipped templates, default voices and one sample office: for reviewers without a
    notifyd config."""
    return config_mod.parse({"state_dir": str(state_dir), "offices": {"BLT": SAMPLE_OFFICE}})


def offline_engines(order: Iterable[str]) -> list[str]:
    return [e for e in order if e not in ONLINE_ENGINES]


def review_config(cfg: Config, cache: Path, extension: str, bilingual: bool = False) -> Config:
    """`cfg` speaking offline only, with every permit type extended the `extension` way and the
    audio cache in `cache` (the operator's state folder may not be writable by a reviewer)."""
    v = cfg.voices
    voices = replace(
        v, engines=offline_engines(v.engines), bilingual=bilingual,
        engines_by_language={k: offline_engines(o) for k, o in v.engines_by_language.items()},
    )  # fmt: skip
    notices = replace(cfg.notices, extension={}, extension_default=extension)
    return replace(cfg, voices=voices, notices=notices, state_dir=str(cache))


def moment(cfg: Config, office: str, days_left: int) -> datetime:
    """When the stage `days_left` days before expiry is rendered, in the office's time zone."""
    zone = ZoneInfo(cfg.offices[office].timezone)
    return datetime.combine(EXPIRY - timedelta(days=days_left), SAMPLE_TIME, zone)


def facts(lang: str, office: str) -> NoticeFacts:
    return NoticeFacts(
        notification_id=0, stage=14, catch_up=False, language=lang,
        full_name=NAMES.get(lang, DEFAULT_NAME), permit_number=PERMIT_NUMBER,
        permit_type=PERMIT_TYPE, expiry_date=EXPIRY, office=office,
    )  # fmt: skip


def sections(renderers: Mapping[str, Renderer], lang: str, office: str) -> list[dict[str, Any]]:
    """Every distinct wording of `lang`: each stage for each extension kind, kinds whose words
    are the same (all of them when overdue) merged into one section."""
    out: list[dict[str, Any]] = []
    sample = facts(lang, office)
    for key, title, days in STAGES:
        merged: dict[tuple[str, str], list[str]] = {}
        for kind in EXTENSION_KINDS:
            renderer = renderers[kind]
            now = moment(renderer.cfg, office, days)
            written, _, used = renderer.words(sample, now)
            merged.setdefault((written, renderer.spoken(sample, now, used)), []).append(kind)
        for (written, spoken), kinds in merged.items():
            whom = "" if len(kinds) == len(EXTENSION_KINDS) else kinds[0]
            out.append({
                "id": f"{key}-{whom}" if whom else key, "stage": key, "days_left": days,
                "title": title, "kinds": kinds, "extension": whom,
                "extension_title": " / ".join(EXTENSION_TITLES[k] for k in kinds),
                "written": written, "spoken": [(lang, spoken)],
            })  # fmt: skip
    return out


def bilingual_section(renderer: Renderer, lang: str, office: str) -> dict[str, Any]:
    """The 14-day note as `voices.bilingual = true` speaks it: the language, then Indonesian."""
    sample = facts(lang, office)
    now = moment(renderer.cfg, office, 14)
    written, _, used = renderer.words(sample, now)
    spoken = [(used, renderer.spoken(sample, now, used))]
    if used != SECOND_LANGUAGE:
        spoken.append((SECOND_LANGUAGE, renderer.spoken(sample, now, SECOND_LANGUAGE)))
    return {
        "id": "bilingual", "stage": "bilingual", "days_left": 14, "kinds": ["sponsor"],
        "title": "bilingual note (voices.bilingual = true), 14 days before expiry",
        "extension": "sponsor", "extension_title": EXTENSION_TITLES["sponsor"],
        "written": written, "spoken": spoken,
    }  # fmt: skip


async def speak(
    renderer: Renderer, section: dict[str, Any], lang: str, office: str, folder: Path, fmt: str,
    slots: asyncio.Semaphore,
) -> None:  # fmt: skip
    """Render the section's voice note through the Renderer, copy it next to the page and
    record which engine and voice spoke it, or why none could."""
    now = moment(renderer.cfg, office, section["days_left"])
    name = f"{lang}-{section['id']}.{fmt}"
    async with slots:
        try:
            note = await renderer.render(facts(lang, office), now, fmt)
        except AudioError as exc:
            section.update(audio=None, engine="", voice="", seconds=0.0, error=str(exc))
            return
    assert note.audio is not None and note.engine is not None
    shutil.copyfile(note.audio, folder / name)
    engine, _, voice = note.engine.partition(":")
    length = seconds(folder / name)
    section.update(audio=name, engine=engine, voice=voice, seconds=length, error="")


def seconds(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        return float(container.duration or 0) / 1_000_000


async def build(
    cfg: Config, voices: Mapping[str, Voice], out: Path, cache: Path, languages: list[str],
    fmt: str = "mp3", jobs: int = 2, voiced: Collection[str] | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Every page's content, with the voice notes of the `voiced` stages (default: all) written
    into `out`, `jobs` notes at a time."""
    renderers = {k: Renderer(review_config(cfg, cache, k), voices) for k in EXTENSION_KINDS}
    two = Renderer(review_config(cfg, cache, "sponsor", bilingual=True), voices)
    office = next(iter(cfg.offices))
    slots = asyncio.Semaphore(max(1, jobs))
    pages, work = [], []
    for lang in languages:
        tpl = two.templates[lang]
        found = sections(renderers, lang, office)
        found.append(bilingual_section(two, lang, office))
        for s in found:
            if voiced is not None and s["stage"] not in voiced:
                s.update(audio=None, engine="", voice="", seconds=0.0, error="")
                continue
            renderer = two if s["id"] == "bilingual" else renderers[s["kinds"][0]]
            work.append(speak(renderer, s, lang, office, out, fmt, slots))
        pages.append({"lang": lang, "template": tpl, "sections": found,
                      "engines": engine_order(renderers["sponsor"].cfg, lang)})  # fmt: skip
    await asyncio.gather(*work)
    return pages


def write_kit(
    cfg: Config, voices: Mapping[str, Voice], out: Path, languages: list[str] | None = None,
    fmt: str = "mp3", cache: Path | None = None, jobs: int = 2,
    voiced: Collection[str] | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Write `<lang>.html` and its voice notes for each language (default: every available
    one) and `index.html` into `out`; returns the pages' content (failed notes carry `error`).
    `voiced` limits the voice notes to those stages (STAGES keys and "bilingual"); every
    wording is shown either way."""
    chosen = languages or list(cfg.languages.available)
    out.mkdir(parents=True, exist_ok=True)
    cache = cache or out / ".cache"
    pages = asyncio.run(build(cfg, voices, out, cache, chosen, fmt, jobs, voiced))
    office = cfg.offices[next(iter(cfg.offices))]
    common = {
        "sample_day": SAMPLE_DAY, "expiry": EXPIRY, "permit_number": PERMIT_NUMBER,
        "permit_type": PERMIT_TYPE, "office": office, "overdue_days": OVERDUE_DAYS,
        "permit_keys": permits.KEYS, "fmt": fmt,
    }  # fmt: skip
    page = _PAGES.get_template("page.html")
    for p in pages:
        name = NAMES.get(p["lang"], DEFAULT_NAME)
        html = page.render(**common, **p, name=name)
        (out / f"{p['lang']}.html").write_text(html, encoding="utf-8")
    index = _PAGES.get_template("index.html").render(**common, pages=pages)
    (out / "index.html").write_text(index, encoding="utf-8")
    return pages


def failures(pages: list[dict[str, Any]]) -> list[str]:
    """One line per note no offline voice could speak."""
    return [f"{p['lang']} {s['id']}: {s['error']}"
            for p in pages for s in p["sections"] if s.get("error")]  # fmt: skip
