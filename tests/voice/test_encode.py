"""In-process encoding (PyAV): a tone becomes a playable OGG/Opus or MP3 file, levelled."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pytest

from conftest import loudness, probe
from notifyd.voice import encode


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
    path.write_bytes(encode.encode(tone(3.0), 22050, fmt))
    info = probe(path)
    assert (info["codec"], info["channels"], info["sample_rate"]) == (codec, 1, rate)
    assert 2.9 < info["duration"] < 3.2


@pytest.mark.parametrize("fmt", ["ogg", "mp3", "wav"])
def test_quiet_and_loud_input_reach_the_target_peaks_held(tmp_path: Path, fmt: str) -> None:
    """A quiet tone is raised, a full-scale one lowered: both end at the target loudness, and
    the full-scale square-ish one (clipped sine) stays under the true-peak limit."""
    for amplitude in (0.01, 1.0):
        raw = tone(2.0, amplitude=amplitude) if amplitude < 1 else clipped(2.0)
        path = tmp_path / f"{amplitude}.{fmt}"
        path.write_bytes(encode.encode(raw, 22050, fmt))
        lufs, peak = loudness(path)
        assert abs(lufs - encode.TARGET_LUFS) <= 1.0, (amplitude, lufs)
        assert peak <= encode.MAX_TRUE_PEAK_DBTP, (amplitude, peak)


def test_silence_is_encoded_without_gain(tmp_path: Path) -> None:
    path = tmp_path / "silence.ogg"
    path.write_bytes(encode.encode(b"\0\0" * 22050, 22050, "ogg"))
    assert 0.9 < probe(path)["duration"] < 1.2


def clipped(seconds: float, rate: int = 22050) -> bytes:
    """A sine driven three times past full scale: a near-square wave, the worst case for peaks."""
    n = int(seconds * rate)
    return struct.pack(
        f"<{n}h",
        *(max(-32767, min(32767, int(3 * 32767 * math.sin(2 * math.pi * 220 * i / rate))))
          for i in range(n)),
    )  # fmt: skip
