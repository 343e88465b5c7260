"""The edge-tts voice: Microsoft's natural online voices, through the edge-tts package.

An unofficial service: it can be unreachable, refuse or change without notice, so it is tried
first and espeak-ng follows. Voice names come from a fixed list (edge-tts puts the voice name
into its request unescaped); the text is escaped by edge-tts and carries no SSML. The service
sends MP3, decoded here to the WAV the contract asks for by one ffmpeg run.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from notifyd.hookspecs import Voice, hookimpl

#: Language → the voices that may be configured (first: the default, a female voice). Names
#: from an `edge-tts --list-voices` listing (docs/voices.md); check new ones the same way.
#: Portuguese defaults to Portugal's voice, closest to Timor-Leste's Portuguese.
VOICES: dict[str, list[str]] = {
    "id": ["id-ID-GadisNeural", "id-ID-ArdiNeural"],
    "en": ["en-GB-SoniaNeural", "en-GB-RyanNeural", "en-US-AvaNeural", "en-US-AndrewNeural"],
    "zh": ["zh-CN-XiaoxiaoNeural", "zh-CN-YunxiNeural"],
    "zh-TW": ["zh-TW-HsiaoChenNeural", "zh-TW-YunJheNeural"],
    "yue": ["zh-HK-HiuGaaiNeural", "zh-HK-WanLungNeural"],
    "ja": ["ja-JP-NanamiNeural", "ja-JP-KeitaNeural"],
    "ko": ["ko-KR-SunHiNeural", "ko-KR-InJoonNeural"],
    "ar": ["ar-SA-ZariyahNeural", "ar-SA-HamedNeural"],
    "ru": ["ru-RU-SvetlanaNeural", "ru-RU-DmitryNeural"],
    "fr": ["fr-FR-DeniseNeural", "fr-FR-HenriNeural"],
    "de": ["de-DE-KatjaNeural", "de-DE-ConradNeural"],
    "hi": ["hi-IN-SwaraNeural", "hi-IN-MadhurNeural"],
    "ms": ["ms-MY-YasminNeural", "ms-MY-OsmanNeural"],
    "fil": ["fil-PH-BlessicaNeural", "fil-PH-AngeloNeural"],
    "nl": ["nl-NL-ColetteNeural", "nl-NL-FennaNeural", "nl-NL-MaartenNeural"],
    "it": ["it-IT-ElsaNeural", "it-IT-IsabellaNeural", "it-IT-DiegoNeural"],
    "vi": ["vi-VN-HoaiMyNeural", "vi-VN-NamMinhNeural"],
    "th": ["th-TH-PremwadeeNeural", "th-TH-NiwatNeural"],
    "pt": ["pt-PT-RaquelNeural", "pt-PT-DuarteNeural", "pt-BR-FranciscaNeural"],
    "es": ["es-ES-ElviraNeural", "es-ES-AlvaroNeural"],
    "tr": ["tr-TR-EmelNeural", "tr-TR-AhmetNeural"],
    "uk": ["uk-UA-PolinaNeural", "uk-UA-OstapNeural"],
}
CONNECT_TIMEOUT = 3  # seconds; notifyd also bounds the whole call from outside


class EdgeVoice:
    name = "edge-tts"
    online = True  # a service: may hang, so voices.engine_timeout bounds it

    def languages(self) -> dict[str, list[str]]:
        return {lang: list(voices) for lang, voices in VOICES.items()}

    async def synthesize(self, text: str, language: str, voice: str, out: Path) -> None:
        import aiohttp
        import edge_tts

        if voice not in VOICES.get(language, []):
            raise ValueError(f"edge-tts voice {voice!r} is not on the list for {language!r}")
        speech = edge_tts.Communicate(
            text, voice, connect_timeout=CONNECT_TIMEOUT, receive_timeout=CONNECT_TIMEOUT * 3
        )
        mp3 = bytearray()
        try:
            async for chunk in speech.stream():
                if chunk["type"] == "audio":
                    mp3 += chunk["data"]
        except (edge_tts.exceptions.EdgeTTSException, aiohttp.ClientError) as exc:
            raise RuntimeError(f"edge-tts: {type(exc).__name__}: {exc}") from exc
        if not mp3:
            raise RuntimeError("edge-tts sent no audio")
        await _mp3_to_wav(bytes(mp3), out)


async def _mp3_to_wav(mp3: bytes, out: Path) -> None:
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "mp3",
            "-i", "pipe:0", "-ac", "1", "-f", "wav", "-y", str(out)]  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await proc.communicate(mp3)
    except asyncio.CancelledError:  # the caller's timeout: leave no process behind
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg could not decode edge-tts audio: {err.decode()[-200:]}")


@hookimpl
def register_voices() -> list[Voice]:
    return [EdgeVoice()]
