"""Voices for tests: real espeak-ng behind a counter or behind slow work, one that never
answers, one that speaks English only."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from notifyd_plugins.voice.espeak import EspeakVoice


class CountingEspeak(EspeakVoice):
    """espeak-ng itself, counting how often it is asked to speak."""

    def __init__(self) -> None:
        self.calls = 0

    async def synthesize(self, text: str, language: str, voice: str, out: Path) -> None:
        self.calls += 1
        await super().synthesize(text, language, voice, out)


class SlowEspeak(EspeakVoice):
    """espeak-ng behind `seconds` of blocking work in a thread, one call at a time (a lock), as
    Open JTalk on a busy host; `one_at_a_time` says so to notifyd or not."""

    name = "slow"

    def __init__(self, seconds: float, one_at_a_time: bool = False) -> None:
        self.seconds = seconds
        self.one_at_a_time = one_at_a_time
        self._lock = threading.Lock()

    def _work(self) -> None:
        with self._lock:
            time.sleep(self.seconds)

    async def synthesize(self, text: str, language: str, voice: str, out: Path) -> None:
        await asyncio.to_thread(self._work)
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
