"""OGG/Opus written by notifyd/voice/opus.py, read back by FFmpeg (ffprobe, and PyAV's demuxer
and decoder): valid pages, exact length, the same sound."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import probe
from notifyd.voice import loudness, opus

RATE = 16000


def speechlike(seconds: float) -> np.ndarray:  # type: ignore[type-arg]
    """A voiced sound that comes and goes, at about -18 LUFS."""
    t = np.arange(int(seconds * RATE)) / RATE
    voiced = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((140, 280, 700, 1200), 1))
    return (0.12 * voiced * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def pages(data: bytes) -> list[tuple[int, int, bytes]]:
    """(flags, granule position, whole page) of each Ogg page, checked to follow one another."""
    out, i = [], 0
    while i < len(data):
        assert data[i : i + 4] == b"OggS", f"no page at byte {i}"
        count = data[i + 26]
        size = 27 + count + sum(data[i + 27 : i + 27 + count])
        out.append((data[i + 5], struct.unpack("<q", data[i + 6 : i + 14])[0], data[i : i + size]))
        i += size
    return out


def decoded(data: bytes) -> np.ndarray:  # type: ignore[type-arg]
    with av.open(io.BytesIO(data)) as f:
        frames = [fr.to_ndarray().reshape(-1) for fr in f.decode(audio=0)]
    return np.concatenate(frames) if frames else np.zeros(0, np.float32)


def test_the_crc_is_oggs_own_as_ffmpeg_writes_it(tmp_path: Path) -> None:
    """Every page FFmpeg's Ogg muxer writes carries the CRC our function computes."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(speechlike(3.0).reshape(1, -1), format="flt",
                                           layout="mono")  # fmt: skip
        frame.sample_rate = RATE
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    found = pages(buf.getvalue())
    assert len(found) >= 3
    for _, _, page in found:
        assert struct.unpack("<I", page[22:26])[0] == opus.crc(page[:22] + bytes(4) + page[26:])
    assert opus.crc(b"") == 0 and opus.crc(b"\x00\x00\x00\x01") == 0x04C11DB7


@pytest.mark.parametrize("samples", [0, 100, 856, 857, 959, 960, 961, RATE * 17 + 3])
def test_the_stream_decodes_to_exactly_the_samples_given(samples: int) -> None:
    """Pre-skip and the last page's granule position cut the encoder's delay and the last
    frame's padding: at 48 kHz, three decoded samples for each one given, whatever the length
    (the look-ahead is 104 samples at 16 kHz, so 856 and 857 end each side of a frame)."""
    data = opus.ogg_opus(speechlike(samples / RATE + 1)[:samples], RATE)
    assert len(decoded(data)) == samples * 3


def test_pages_are_well_formed_and_about_a_second_long() -> None:
    data = opus.ogg_opus(speechlike(10.0), RATE)
    found = pages(data)
    flags = [f for f, _, _ in found]
    assert flags[0] == 0x02 and flags[-1] == 0x04 and set(flags[1:-1]) == {0}
    head, tags = found[0][2], found[1][2]
    assert b"OpusHead" in head and b"OpusTags" in tags
    granules = [g for _, g, _ in found[2:]]
    assert (
        granules == sorted(granules)
        and granules[0] == opus.PAGE_MS // opus.FRAME_MS * opus.FRAME_MS * 48
    )
    pre_skip = struct.unpack("<H", head[head.index(b"OpusHead") + 10 :][:2])[0]
    assert granules[-1] == pre_skip + 10 * 48000
    assert 0 < pre_skip < 48000 // 50  # the encoder's look-ahead: a few ms


def test_ffprobe_reads_a_mono_opus_note_of_the_right_length(tmp_path: Path) -> None:
    path = tmp_path / "note.ogg"
    path.write_bytes(opus.ogg_opus(speechlike(12.5), RATE, kbps=24))
    info = probe(path)
    assert info["codec"] == "opus"
    assert info["duration"] == pytest.approx(12.5, abs=0.01)  # ffprobe counts the pre-skip in
    assert 20_000 < path.stat().st_size < 60_000  # 24 kbit/s for 12.5 s, with framing


def test_the_sound_survives_the_codec() -> None:
    """Same loudness within 0.5 LU, and the waveform still lines up with the input."""
    given = speechlike(8.0)
    out = decoded(opus.ogg_opus(given, RATE))[::3].astype(np.float32)  # 48 → 16 kHz, roughly
    assert loudness.integrated(out, RATE) == pytest.approx(
        loudness.integrated(given, RATE), abs=0.5
    )
    middle = slice(RATE, 7 * RATE)
    assert np.corrcoef(out[middle], given[middle])[0, 1] > 0.9


def test_libopus_refuses_a_rate_it_cannot_take() -> None:
    with pytest.raises(opus.OpusError, match="44100 Hz"):
        opus.ogg_opus(speechlike(1.0), 44100)
