"""In-process encoding (PyAV): a tone becomes a playable OGG/Opus or MP3 file, levelled."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest

from conftest import probe
from notifyd.voice import audio, encode


def tone(seconds: float, rate: int = 22050, amplitude: float = 0.1) -> bytes:
    n = int(seconds * rate)
    return struct.pack(
        f"<{n}h",
        *(int(amplitude * 32767 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(n)),
    )


@pytest.mark.parametrize(("fmt", "codec", "rate"), [("ogg", "opus", 48000), ("mp3", "mp3", 24000)])
def test_a_tone_becomes_a_mono_file_of_the_same_length(
    tmp_path: Path, fmt: str, codec: str, rate: int
) -> None:
    path = tmp_path / f"tone.{fmt}"
    path.write_bytes(encode.encode(tone(3.0), 22050, 0.0, fmt))
    info = probe(path)
    assert (info["codec"], info["channels"], info["sample_rate"]) == (codec, 1, rate)
    assert 2.9 < info["duration"] < 3.2


def test_the_gain_is_applied(tmp_path: Path) -> None:
    import subprocess

    levels = []
    for gain in (0.0, 12.0):
        path = tmp_path / f"g{gain}.ogg"
        path.write_bytes(encode.encode(tone(2.0), 22050, gain, "ogg"))
        wav = tmp_path / f"g{gain}.wav"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(path), str(wav)], check=True)
        levels.append(audio.read_wav(wav, "ffmpeg").dBFS)
    assert 10 < levels[1] - levels[0] < 14
