"""Levelling and encoding a voice note in process with FFmpeg's libraries (PyAV).

Loudness is EBU R128 / ITU-R BS.1770 integrated loudness, measured by FFmpeg's `ebur128`
filter on the note at the rate it is delivered in (what the listener gets), then set to
TARGET_LUFS by one gain. Speech from a TTS engine peaks 16–20 dB above its loudness, so at
the target some peaks would pass 0 dBFS (an Arabic note measured +1.1 dBTP before): a
look-ahead limiter (`alimiter`) holds the samples under a ceiling set per format below
−1 dBTP, with room for the peaks that fall between samples and for the codec's overshoot
(measured, docs/benchmarks.md "Loudness"). Measuring true peak itself (4× oversampling) on
every note would cost more than encoding it, so tests measure it on every language instead.

Two passes over a note already in memory: resample and measure, then gain, limit and encode.
Starting an ffmpeg process would cost more than all of it. Blocking: call it from a thread.
"""

from __future__ import annotations

import io
import math
from fractions import Fraction

import av

#: Opus takes 8/12/16/24/48 kHz: 16 kHz is wideband speech. MP3 for links: 24 kHz. WAV is
#: for telephony: 8 kHz.
RATES = {"ogg": 16000, "mp3": 24000, "wav": 8000}
TARGET_LUFS = -18.0
MAX_TRUE_PEAK_DBTP = -1.0
#: The limiter's ceiling (sample peak, dBFS) per format: below MAX_TRUE_PEAK_DBTP by what
#: inter-sample peaks and each codec add (lossy codecs ring on transients).
CEILING_DBFS = {"ogg": -5.5, "mp3": -3.0, "wav": -3.0}
_CODECS = {"ogg": "libopus", "mp3": "libmp3lame", "wav": "pcm_s16le"}


def encode(
    raw: bytes, rate: int, fmt: str, opus_kbps: int = 24, opus_level: int = 0,
    target_lufs: float = TARGET_LUFS,
) -> bytes:  # fmt: skip
    """Mono 16-bit samples at `rate` → the bytes of an OGG/Opus, MP3 or WAV file at the
    target loudness with its peaks limited."""
    frames, loudness, peak = _resample_and_measure(raw, rate, RATES[fmt])
    if not (math.isfinite(loudness) and loudness > -70):  # too short or silent to measure
        return _encode(frames, fmt, 0.0, opus_kbps, opus_level)
    gain_db = target_lufs - loudness
    if peak + gain_db > CEILING_DBFS[fmt] + 1.0:
        # The limiter will take some loudness off with the peaks: measure what it leaves and
        # make that up; the extra gain gives the limiter a little more to take, so a large
        # loss (robotic voices with sharp peaks, 1 LU or more) is measured once again. Under
        # 1 dB of limiting the loss is a fraction of an LU, not worth a pass.
        for _ in range(2):
            volume = ("volume", f"{gain_db:.2f}dB")
            chain = [volume, _limiter(fmt)]
            _, limited, _ = _measure(frames, frames[0].format.name, RATES[fmt], chain)
            if not math.isfinite(limited):
                break
            gain_db += target_lufs - limited
            if target_lufs - limited < 0.6:
                break
    return _encode(frames, fmt, gain_db, opus_kbps, opus_level)


def _encode(
    frames: list[av.AudioFrame], fmt: str, gain_db: float, opus_kbps: int, opus_level: int
) -> bytes:
    """Gain, limiter and encoder: the file's bytes."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(_CODECS[fmt], rate=RATES[fmt], layout="mono")
        assert isinstance(stream, av.AudioStream)
        ctx = stream.codec_context
        if fmt == "ogg":
            stream.bit_rate = opus_kbps * 1000
            ctx.options = {
                "compression_level": str(opus_level), "application": "audio",
                "frame_duration": "60",
            }  # fmt: skip
        elif fmt == "mp3":
            stream.bit_rate = 48000
            ctx.options = {"compression_level": "7"}  # lame -q 7: fast
        ctx.open()  # so that frame_size is known
        graph = av.filter.Graph()
        chain = [
            graph.add_abuffer(
                format=frames[0].format.name if frames else "dbl",
                sample_rate=RATES[fmt],
                layout="mono",
                time_base=Fraction(1, RATES[fmt]),
            ),  # fmt: skip
            graph.add("volume", f"{gain_db:.2f}dB"),
            graph.add(*_limiter(fmt)),
            graph.add("aformat", f"sample_fmts={ctx.format.name}:channel_layouts=mono"),
            graph.add("asetnsamples", f"n={ctx.frame_size or 1024}:p=0"),
            graph.add("abuffersink"),
        ]
        _link(chain)
        graph.configure()
        for frame in frames:
            graph.push(frame)
        graph.push(None)
        for chunk in _drain(graph):
            out.mux(stream.encode(chunk))
        out.mux(stream.encode(None))
    return buf.getvalue()


def _resample_and_measure(
    raw: bytes, rate: int, to_rate: int
) -> tuple[list[av.AudioFrame], float, float]:
    """The note as floating-point frames at `to_rate` (ebur128 hands out doubles), its
    integrated loudness (LUFS) and its sample peak (dBFS)."""
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(raw) // 2)
    frame.planes[0].update(raw)
    frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
    return _measure(
        [frame], "s16", rate,
        [("aformat", f"sample_fmts=flt:sample_rates={to_rate}:channel_layouts=mono")],
    )  # fmt: skip


def _measure(
    frames: list[av.AudioFrame], fmt: str, rate: int, filters: list[tuple[str, str]]
) -> tuple[list[av.AudioFrame], float, float]:
    """`frames` through `filters`, then EBU R128: (frames out, loudness LUFS, peak dBFS)."""
    graph = av.filter.Graph()
    chain = [
        graph.add_abuffer(format=fmt, sample_rate=rate, layout="mono", time_base=Fraction(1, rate)),
        *(graph.add(name, args) for name, args in filters),
        graph.add("ebur128", "metadata=1:peak=sample"),
        graph.add("abuffersink"),
    ]
    _link(chain)
    graph.configure()
    for frame in frames:
        graph.push(frame)
    graph.push(None)
    out = _drain(graph)
    loudness, peak = -math.inf, -math.inf
    for f in reversed(out):  # the last frame that carries them holds the whole note's values
        if "lavfi.r128.I" in f.metadata:
            loudness = float(f.metadata["lavfi.r128.I"])
            linear = float(f.metadata.get("lavfi.r128.sample_peak", "0"))
            peak = 20 * math.log10(linear) if linear > 0 else -math.inf
            break
    return out, loudness, peak


def _limiter(fmt: str) -> tuple[str, str]:
    ceiling = 10 ** (CEILING_DBFS[fmt] / 20)
    return "alimiter", f"limit={ceiling:.4f}:level=0:attack=5:release=50:latency=1"


def _link(chain: list[av.filter.context.FilterContext]) -> None:
    for a, b in zip(chain, chain[1:], strict=False):
        a.link_to(b)


def _drain(graph: av.filter.Graph) -> list[av.AudioFrame]:
    frames: list[av.AudioFrame] = []
    while True:
        try:
            chunk = graph.pull()
        except (av.error.EOFError, av.error.BlockingIOError):
            return frames
        assert isinstance(chunk, av.AudioFrame)
        frames.append(chunk)
