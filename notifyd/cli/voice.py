"""Commands for voices and notices: `notifyd voices`, `render` and `say`.

Staff and operators listen to a notice before anything is sent: `render` writes exactly the
voice note the dispatcher would send, from the same templates, engines and cache.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notifyd import plugins
from notifyd.cli import common
from notifyd.cli.common import Subcommands, command, with_format
from notifyd.config import AUDIO_FORMATS
from notifyd.errors import NotifydError

if TYPE_CHECKING:  # the parser is built without them (numpy, jinja2): commands import them
    from notifyd.config import Config
    from notifyd.hookspecs import Voice
    from notifyd.voice import render

PROBE_TEXT = {
    "id": "Halo.", "zh": "你好。", "zh-TW": "你好。", "yue": "你好。",
    "ja": "こんにちは。", "ko": "안녕하세요.",
    "ar": "مَرْحَبًا.", "ru": "Привет.", "uk": "Привіт.",
    "hi": "नमस्ते।", "th": "สวัสดี", "vi": "Xin chào.", "fil": "Kumusta.",
    "ms": "Helo.", "fr": "Bonjour.", "de": "Hallo.", "nl": "Hallo.", "it": "Ciao.",
    "pt": "Olá.", "es": "Hola.", "tr": "Merhaba.",
}  # fmt: skip


def add_commands(sub: Subcommands) -> None:
    with_format(
        command(sub, "voices", cmd_voices, "TTS engines, languages and voices, and which work")
    )
    sp = command(sub, "render", cmd_render, "print a permit's notice and write its voice note")
    sp.add_argument("--permit", required=True, help="the permit number")
    sp.add_argument("--stage", type=int, help="days before expiry (default: the planned notice)")
    sp.add_argument("--lang", help="speak this language instead of the person's")
    sp.add_argument("--format", choices=AUDIO_FORMATS, default="ogg", dest="audio_format")
    sp.add_argument("-o", "--output", required=True, help="where to write the voice note")
    sp = command(
        sub, "say", cmd_say, "speak a text through the configured engines, to test a voice"
    )
    sp.add_argument("--lang", required=True, help="language tag, e.g. id")
    sp.add_argument("--format", choices=AUDIO_FORMATS, default="ogg", dest="audio_format")
    sp.add_argument("-o", "--output", required=True, help="where to write the audio")
    sp.add_argument("text")


def check_voices(cfg: Config, pm: Any) -> None:
    """The voice and template checks of `notifyd check-config`; raises ConfigError."""
    from notifyd.voice import render

    render.check(cfg, plugins.voices(pm))


def _setup(args: argparse.Namespace) -> tuple[Config, dict[str, Voice]]:
    cfg = common.load_config(args)
    return cfg, plugins.voices(plugins.make_manager(cfg.disabled_plugins))


def cmd_voices(args: argparse.Namespace) -> int:
    from notifyd.cli.output import render as table
    from notifyd.voice import render

    cfg, voices = _setup(args)
    renderer = render.Renderer(cfg, voices)
    rows = asyncio.run(_probe_all(cfg, voices, renderer))
    common.emit(table(rows, args.format))
    return 0


async def _probe_all(
    cfg: Config, voices: Mapping[str, Voice], renderer: render.Renderer
) -> list[dict[str, Any]]:
    """One row per engine and language it speaks: natively, or the template's stand-in (Thai
    offline: English); a language nobody speaks gets a row saying so."""
    from notifyd.voice import audio, render

    jobs, rows = [], []
    for name, voice in sorted(voices.items()):
        speaks = voice.languages()
        for lang in cfg.languages.available:
            order = render.engine_order(cfg, lang)
            stand_in = renderer.templates[lang].fallback if lang in renderer.templates else ""
            spoken = lang if lang in speaks else stand_in
            if spoken not in speaks:
                continue
            listed = speaks.get(spoken, [])
            chosen = renderer.voice_for(name, spoken) if listed else None
            rows.append(
                {
                    "language": lang,
                    "engine": name,
                    "order": order.index(name) + 1 if name in order else "-",
                    "voice": chosen or "",
                    "reads": lang if spoken == lang else f"{spoken} instead",
                    "other_voices": ", ".join(v for v in listed if v != chosen),
                    "works": "",
                }
            )
            jobs.append(_probe(voice, spoken, chosen, audio.timeout(voice, cfg.voices)))
    for row, works in zip(rows, await asyncio.gather(*jobs), strict=True):
        row["works"] = works
    heard = {row["language"] for row in rows}
    rows += [
        {"language": lang, "engine": "-", "order": "-", "voice": "", "reads": "",
         "other_voices": "", "works": "no: no configured engine speaks it"}
        for lang in cfg.languages.available if lang not in heard
    ]  # fmt: skip
    return rows


async def _probe(voice: Voice, lang: str, name: str | None, timeout: float) -> str:
    from notifyd.voice import audio
    from notifyd.voice.audio import Part

    if name is None:
        return "no (no voice for this language)"
    with tempfile.TemporaryDirectory(prefix="notifyd-probe-") as tmp:
        out = Path(tmp) / "probe.wav"
        try:
            part = Part(voice.name, name, lang, PROBE_TEXT.get(lang, "Hello."))
            await audio.synthesize(voice, part, out, timeout)
            audio.read_wav(out, voice.name)
        except Exception as exc:  # any failure is the answer here, not a crash
            return f"no ({type(exc).__name__}: {str(exc)[:80]})".replace(": )", ")")
    return "yes"


def cmd_render(args: argparse.Namespace) -> int:
    from notifyd.db import notices
    from notifyd.voice import audio, render

    cfg, voices = _setup(args)
    facts = notices.notice_facts(common.open_engine(cfg), args.permit, args.stage)
    if facts is None:
        raise NotifydError(f"no permit {args.permit!r} in the database; run `notifyd sync` first")
    renderer = render.Renderer(cfg, voices)
    if args.lang:
        facts = _replace(facts, language=_spoken(cfg, voices, renderer, args.lang))
    result = asyncio.run(renderer.render(facts, common.now(args), args.audio_format))
    assert result.audio is not None
    audio.write_private(Path(args.output), result.audio.read_bytes())  # it holds a name
    common.emit(f"{result.text}\n")
    print(
        f"wrote {args.output}: {args.audio_format}, language {result.language}, "
        f"engine {result.engine}",
        file=sys.stderr,
    )
    return 0


def _speakers(cfg: Config, voices: dict[str, Voice], renderer: Any, lang: str) -> list[str]:
    from notifyd.voice import render

    return [
        e for e in render.engine_order(cfg, lang) if e in voices and renderer.voice_for(e, lang)
    ]


def _spoken(cfg: Config, voices: dict[str, Voice], renderer: Any, tag: str) -> str:
    """The language asked for, if it has notices and an engine speaks it; never another one
    in its place, which would say the wrong words with an exit status of 0."""
    lang = renderer.language(tag)
    primary = tag.replace("_", "-").split("-")[0].lower()
    if lang in (tag, primary) and _speakers(cfg, voices, renderer, lang):
        return str(lang)
    working = [code for code in renderer.templates if _speakers(cfg, voices, renderer, code)]
    raise NotifydError(
        f"no notices are written in {tag!r} or no configured engine speaks it; languages that "
        f"work here: {', '.join(sorted(working)) or '(none)'} (see `notifyd voices`)"
    )


def _replace(facts: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(facts, **changes)


def cmd_say(args: argparse.Namespace) -> int:
    from notifyd.voice import audio, render
    from notifyd.voice.audio import Candidate, Part
    from notifyd.voice.sanitise import clean

    cfg, voices = _setup(args)
    renderer = render.Renderer(cfg, voices)
    lang = _spoken(cfg, voices, renderer, args.lang)
    text = clean(args.text, 2000)
    candidates = []
    for engine in render.engine_order(cfg, lang):
        voice = renderer.voice_for(engine, lang) if engine in voices else None
        if voice:
            candidates.append(Candidate(engine, (Part(engine, voice, lang, text),), "say"))
    if not candidates:
        raise NotifydError(f"no configured engine speaks {lang!r}; see `notifyd voices`")
    path, engine = asyncio.run(audio.make_note(cfg, voices, candidates, args.audio_format))
    audio.write_private(Path(args.output), path.read_bytes())
    print(f"wrote {args.output}: {args.audio_format}, engine {engine}", file=sys.stderr)
    return 0
