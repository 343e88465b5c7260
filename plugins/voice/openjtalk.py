"""The Japanese voice: Open JTalk through pyopenjtalk-plus, offline.

espeak-ng's Japanese spells every kanji as "Chinese letter", so Japanese gets its own engine:
Open JTalk (HTS), whose wheel ships its dictionary and the "Mei" voice (MMDAgent, CC BY 3.0)
and downloads nothing at run time. It reads kanji and kana; it reads Latin letters one by one
("JOHN" → ジョンＳエム…), so a passport name in Latin letters is first turned into katakana
with kanalizer (ジョン スミス), a single letter or a spelled-out permit number into the
letters' Japanese names (エー, ビー), and a name in another script (Hangul, Cyrillic, Thai…)
into Latin with anyascii and then into katakana. Synthesis is blocking C code at the voice's
48 kHz (about 70 ms of CPU a second of speech): it runs in a worker thread, one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import threading
import wave
from pathlib import Path
from typing import Any

from notifyd.hookspecs import Voice, hookimpl
from notifyd_plugins.voice.scripts import SYLLABIC, readable, script

VOICES: dict[str, list[str]] = {"ja": ["mei-normal"]}
#: How Japanese says the Latin letters (a spelled-out permit number, an initial).
LETTERS = dict(zip(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "エー ビー シー ディー イー エフ ジー エイチ アイ ジェー ケー エル エム エヌ オー ピー "
    "キュー アール エス ティー ユー ブイ ダブリュー エックス ワイ ゼット".split(),
    strict=True,
))  # fmt: skip
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*")
_lock = threading.Lock()
_engine: Any = None


def katakana(text: str) -> str:
    """`text` with every letter Open JTalk cannot read in katakana: a single Latin letter by its
    Japanese name, a Latin word by kanalizer (spelling rules learned from loanwords), a name in
    another script transliterated by anyascii first (Hangul and Han a syllable at a time)."""
    from anyascii import anyascii

    out: list[str] = []
    for chunk, kind in _runs(text):
        if kind == "keep":
            out.append(chunk)
        elif kind == "latin":
            out.append(_LATIN_WORD.sub(lambda m: _word(m.group(0), spell=True), chunk))
        else:  # a name in another script: its sounds, never its letters' names
            words = [anyascii(ch) for ch in chunk] if kind in SYLLABIC else [anyascii(chunk)]
            out.append("・".join(_word(w, spell=False) for w in " ".join(words).split()))
    return "".join(out)


def _runs(text: str) -> list[tuple[str, str]]:
    """`text` cut into runs: "keep" (Japanese script, digits, punctuation), "latin" (ASCII and
    accented Latin), or the name of a script to transliterate."""
    runs: list[tuple[str, str]] = []
    for ch in text:
        kind = script(ch)
        if ch in "'’" and runs and runs[-1][1] == "latin":
            kind = "latin"  # O'BRIEN is one word
        elif not ch.isalpha() or kind in ("han", "kana"):
            kind = "keep"
        elif kind == "latin-ext":
            ch, kind = readable(ch, ()), "latin"
        if runs and runs[-1][1] == kind:
            runs[-1] = (runs[-1][0] + ch, kind)
        else:
            runs.append((ch, kind))
    return runs


def _word(w: str, spell: bool) -> str:
    import kanalizer

    if spell and len(w) == 1:
        return LETTERS[w.upper()]
    try:
        return str(kanalizer.convert(re.sub(r"['’]", "", w).lower()))
    except Exception:  # kanalizer refuses odd input: spell it, never read code points
        return "・".join(LETTERS[c.upper()] for c in w if c.upper() in LETTERS)


def _load() -> Any:
    """pyopenjtalk with its dictionary loaded, once: 0.4 s, several seconds from a cold disk
    cache on a busy host. Done when the engine is first asked what it speaks (the renderer
    asks at start), so that the first note does not spend the engine timeout on it (it would
    fall back, and no other offline voice reads Japanese). It prints a notice about an
    optional extra on import: kept out of the output, in the calling thread."""
    global _engine
    with _lock:
        if _engine is None:
            with contextlib.redirect_stdout(io.StringIO()):
                import pyopenjtalk

                pyopenjtalk.g2p("テスト")  # loads the dictionary now, not inside a note
            _engine = pyopenjtalk
    return _engine


def _synthesize(text: str, out: Path) -> None:
    import numpy as np

    engine = _load()
    with _lock:  # one Open JTalk instance: not safe to share between threads
        samples, rate = engine.tts(text)
    pcm = np.clip(samples, -32768, 32767).astype(np.int16)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm.tobytes())
    out.write_bytes(buf.getvalue())  # after a timeout the caller's folder may be gone: one error


class OpenJTalkVoice:
    name = "open-jtalk"

    def languages(self) -> dict[str, list[str]]:
        _load()  # asked by whoever is about to render (the renderer, `notifyd voices`)
        return {lang: list(voices) for lang, voices in VOICES.items()}

    async def synthesize(self, text: str, language: str, voice: str, out: Path) -> None:
        if voice not in VOICES.get(language, []):
            raise ValueError(f"open-jtalk has no voice {voice!r} for {language!r}")
        await asyncio.to_thread(_synthesize, katakana(text), out)


@hookimpl
def register_voices() -> list[Voice]:
    return [OpenJTalkVoice()]
