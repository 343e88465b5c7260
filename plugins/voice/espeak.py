"""The espeak-ng voice: offline, always there, robotic but clear.

espeak-ng runs with a fixed argument list and reads the text on standard input, never through
a shell and never with `-m` (SSML): a name such as `<break time="10s"/>` or `--version` is read
out as words. The caller checks that the WAV holds audio.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from notifyd.hookspecs import Voice, hookimpl

#: Language → espeak-ng voices. Chinese and Japanese are listed although their scripts are
#: read badly: the templates send English to this engine for them (docs/languages.md).
VOICES: dict[str, list[str]] = {
    "id": ["id"], "en": ["en-us", "en"], "zh": ["cmn"], "ja": ["ja"], "ko": ["ko"],
    "ar": ["ar"], "ru": ["ru"], "fr": ["fr-fr"], "de": ["de"], "hi": ["hi"], "ms": ["ms"],
    # issue 11b added the new languages with the espeak-ng voice that reads each (placeholders
    # until the voices work of issue 11a settles them): Traditional Chinese through the pinyin
    # Mandarin voice, Filipino through the English one (espeak-ng has no Tagalog).
    "zh-TW": ["cmn-latn-pinyin"], "fil": ["en-us"], "nl": ["nl"], "it": ["it"], "vi": ["vi"],
    "th": ["th"], "pt": ["pt-br", "pt"], "es": ["es"], "tr": ["tr"], "uk": ["uk"],
}  # fmt: skip
WORDS_PER_MINUTE = 170  # a little slower than espeak-ng's 175: numbers and names stay clear
COMMAND = "espeak-ng"


class EspeakVoice:
    name = "espeak-ng"

    def languages(self) -> dict[str, list[str]]:
        return {lang: list(voices) for lang, voices in VOICES.items()}

    async def synthesize(self, text: str, language: str, voice: str, out: Path) -> None:
        if voice not in VOICES.get(language, []):
            raise ValueError(f"espeak-ng has no voice {voice!r} for {language!r}")
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
