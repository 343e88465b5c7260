"""The espeak-ng voice: offline, always there, robotic but clear.

espeak-ng runs with a fixed argument list and reads the text on standard input, never through
a shell and never with `-m` (SSML): a name such as `<break time="10s"/>` or `--version` is read
out as words. The caller checks that the WAV holds audio.

Each language gets the espeak-ng voice that reads it natively (checked with `espeak-ng -x`
on notifyd's words, docs/voices.md); a language with no such voice is not listed, so notifyd
never hands it to this engine. A name in a script the voice cannot read is transliterated for
it (notifyd_plugins.voice.scripts).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from notifyd.hookspecs import Voice, hookimpl
from notifyd_plugins.voice.scripts import readable

#: Language → espeak-ng voices (first: the default). Mandarin is `cmn-latn-pinyin`, never
#: `cmn`: in espeak-ng 1.51 `cmn` turns Han into pinyin and reads that as English ("nin two").
#: Not listed, for want of a voice that reads them: Japanese (`ja` spells every kanji as
#: "Chinese letter"; the open-jtalk engine speaks it), Thai (`th` garbles words and reads
#: numbers digit by digit) and Filipino (no voice).
VOICES: dict[str, list[str]] = {
    "id": ["id"], "en": ["en-gb", "en-us"], "zh": ["cmn-latn-pinyin"],
    "zh-TW": ["cmn-latn-pinyin"], "yue": ["yue"], "ko": ["ko"], "ar": ["ar"], "ru": ["ru"],
    "fr": ["fr-fr"], "de": ["de"], "hi": ["hi"], "ms": ["ms"], "nl": ["nl"], "it": ["it"],
    "vi": ["vi"], "pt": ["pt", "pt-br"], "es": ["es"], "tr": ["tr"], "uk": ["uk"],
}  # fmt: skip
#: Scripts each voice reads besides ASCII Latin. Every voice switches by itself to its Korean
#: voice for Hangul and to Hindi for Devanagari (checked), so those names are read, in their
#: own language. The Chinese voices read ASCII Latin only: as pinyin ("WANG") or English
#: ("JOHN"); an accented letter they read as its code point.
_EVERY = ("hangul", "devanagari")
SCRIPTS: dict[str, tuple[str, ...]] = {
    "cmn-latn-pinyin": ("han", *_EVERY), "yue": ("han", *_EVERY),
    "ru": ("latin-ext", "cyrillic", *_EVERY), "uk": ("latin-ext", "cyrillic", *_EVERY),
    "ar": ("latin-ext", "arabic", *_EVERY),
}  # fmt: skip
DEFAULT_SCRIPTS = ("latin-ext", *_EVERY)
WORDS_PER_MINUTE = 170  # a little slower than espeak-ng's 175: numbers and names stay clear
COMMAND = "espeak-ng"


class EspeakVoice:
    name = "espeak-ng"
    online = False  # bounded by voices.offline_timeout

    def languages(self) -> dict[str, list[str]]:
        return {lang: list(voices) for lang, voices in VOICES.items()}

    def prepare(self, text: str, voice: str) -> str:
        """The text as this voice is given it: names in scripts it cannot read transliterated."""
        return readable(text, SCRIPTS.get(voice, DEFAULT_SCRIPTS), vietnamese=voice == "vi")

    async def synthesize(self, text: str, language: str, voice: str, out: Path) -> None:
        if voice not in VOICES.get(language, []):
            raise ValueError(f"espeak-ng has no voice {voice!r} for {language!r}")
        text = self.prepare(text, voice)
        args = [COMMAND, "-v", voice, "-s", str(WORDS_PER_MINUTE), "-b", "1", "-w", str(out)]
        proc = await asyncio.create_subprocess_exec(
            *args, "--stdin",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            _, err = await proc.communicate(text.encode("utf-8"))
        except asyncio.CancelledError:  # the caller's timeout: leave no process behind
            proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            raise RuntimeError(f"espeak-ng exited {proc.returncode}: {err.decode()[-200:]}")
        if not out.exists():
            raise RuntimeError("espeak-ng wrote no file")


@hookimpl
def register_voices() -> list[Voice]:
    return [EspeakVoice()]
