"""Voices for tests: real espeak-ng behind a counter, one that never answers, one that speaks
English only."""

from __future__ import annotations

import asyncio
from pathlib import Path

from notifyd_plugins.voice.espeak import EspeakVoice


class CountingEspeak(EspeakVoice):
    """espeak-ng itself, counting how often it is asked to speak."""

    def __init__(self) -> None:
        self.calls = 0

    async def synthesize(self, text: str, language: str, voice: str, out: Path) -> None:
        self.calls += 1
        await super().synthesize(text, language, voice, out)


class SilentService:
    """An engine whose service accepts the connection and never answers (a stuck proxy)."""

    name = "silent"

    def languages(self) -> dict[str, list[str]]:
        return {"id": ["x"], "en": ["x"]}

    async def synthesize(self, text: str, language: str, voice: str, out: Path) -> None:
        await asyncio.sleep(3600)


class OnlyEnglish:
    name = "only-en"

    def languages(self) -> dict[str, list[str]]:
        return {"en": ["x"]}

    async def synthesize(self, text: str, language: str, voice: str, out: Path) -> None:
        raise RuntimeError("not used")
