"""The Japanese voice: Open JTalk through pyopenjtalk-plus, offline.

espeak-ng's Japanese spells every kanji as "Chinese letter", so Japanese gets its own engine:
Open JTalk (HTS), whose wheel ships its dictionary and the "Mei" voice (MMDAgent, CC BY 3.0)
and downloads nothing at run time. It reads kanji and kana; it reads Latin letters one by one
("JOHN" → ジョンＳエム…), so a passport name in Latin letters is first turned into katakana
with kanalizer (ジョン スミス), a single letter or a spelled-out permit number into the
letters' Japanese names (エー, ビー), and a name in another script (Hangul, Cyrillic, Thai…)
into Latin with anyascii and then into katakana. Synthesis is blocking C code at the voice's
48 kHz (about 65 ms of CPU a second of speech): it runs in a worker thread, one at a time.

Open JTalk is by far the costliest voice (a 14 s note: about 0.85 s of CPU, where espeak-ng
takes 40 ms), and it cannot run at a lower rate: the Mei voice's spectra are defined at 48 kHz,
and synthesising it at 16 kHz moved the first formant of /a/ from about 790 to 400 Hz
(docs/benchmarks.md). So each sentence is synthesised on its own and kept in memory: the
sentences a notice shares with the others of its office and stage ("Please ask your sponsor…",
the office's name) are made once per worker process, and only the sentence with the person's
name and date is new. A sentence ends at 。！？, where Open JTalk pauses anyway; they are joined
with the pause it makes between sentences (0.5 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import threading
import wave
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

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
#: A sentence: up to and with its end mark (a text without one is one sentence).
_SENTENCE = re.compile(r"[^。！？!?]+[。！？!?]*|[。！？!?]+")
#: Between two sentences: Open JTalk's own pause at 。 inside one text (measured 0.49–0.56 s).
PAUSE_S = 0.5
#: Sentences kept, by their audio's size: a 3 s sentence at 48 kHz is 288 KB, so about 40 here.
CACHE_BYTES = 12 * 1024 * 1024
_cache: OrderedDict[str, tuple[npt.NDArray[np.int16], int]] = OrderedDict()
_cached_bytes = 0


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


def sentences(text: str) -> list[str]:
    """`text` cut after each 。！？ (the mark kept with its sentence); blank pieces dropped."""
    return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def _sentence(text: str) -> tuple[npt.NDArray[np.int16], int]:
    """One sentence's samples and rate, from the cache or from Open JTalk."""
    global _cached_bytes
    engine = _load()
    with _lock:  # one Open JTalk instance: not safe to share between threads; guards the cache
        hit = _cache.get(text)
        if hit is not None:
            _cache.move_to_end(text)
            return hit
        samples, rate = engine.tts(text)
        pcm = np.clip(samples, -32768, 32767).astype(np.int16)
        _cache[text] = pcm, int(rate)
        _cached_bytes += pcm.nbytes
        while _cached_bytes > CACHE_BYTES and _cache:
            _cached_bytes -= _cache.popitem(last=False)[1][0].nbytes
    return pcm, int(rate)


def _quiet_edges(pcm: npt.NDArray[np.int16], rate: int) -> tuple[int, int]:
    """How many samples of near silence (under -45 dBFS, by 10 ms) start and end `pcm`."""
    step = rate // 100
    count = len(pcm) // step
    if not count:
        return 0, 0
    loud = np.abs(pcm[: count * step].astype(np.int32)).reshape(count, step).max(axis=1) > 184
    if not loud.any():
        return len(pcm), 0
    return int(np.argmax(loud)) * step, len(pcm) - (count - int(np.argmax(loud[::-1]))) * step


def _synthesize(text: str, out: Path) -> None:
    """`text` sentence by sentence, joined with Open JTalk's own pause, as a 16-bit WAV."""
    pieces: list[npt.NDArray[np.int16]] = []
    rate = 48000
    said = sentences(text) or [text]
    for i, sentence in enumerate(said):
        pcm, rate = _sentence(sentence)
        lead, tail = _quiet_edges(pcm, rate)
        half = int(PAUSE_S * rate) // 2  # each side of a join keeps half the pause
        start = max(0, lead - half) if i else 0
        stop = len(pcm) - (max(0, tail - half) if i < len(said) - 1 else 0)
        pieces.append(pcm[start : max(start, stop)])
    pcm = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    out.write_bytes(buf.getvalue())  # after a timeout the caller's folder may be gone: one error


class OpenJTalkVoice:
    name = "open-jtalk"
    online = False  # bounded by voices.offline_timeout
    #: One Open JTalk instance, behind a lock: notifyd queues notes for it and starts each
    #: note's timeout when its turn comes, not while it waits.
    one_at_a_time = True

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
