"""Levelling and encoding a voice note in process: numpy, libopus, PyAV (FFmpeg's libraries).

Loudness is EBU R128 / ITU-R BS.1770 integrated loudness, measured on the note at the rate it
is delivered in (what the listener gets), then set to TARGET_LUFS by one gain. Speech from a
TTS engine peaks 16–20 dB above its loudness, so at the target some peaks would pass 0 dBFS
(an Arabic note measured +1.1 dBTP before): a look-ahead limiter holds the samples under a
ceiling set per format below −1 dBTP, with room for the peaks that fall between samples and
for the codec's overshoot (measured, docs/benchmarks.md "Loudness"); what the limiter takes
off is measured and made up. Tests measure the true peak of every language's output.

One pass through FFmpeg's resampler, the measuring and limiting in numpy on the samples in
memory (notifyd/voice/loudness.py: a few ms a pass, where a filter-graph pass with `ebur128`
cost 25–35 ms and a note took two to four), then the encoder fed the samples directly:
libopus for OGG/Opus (notifyd/voice/opus.py), PyAV's encoders for MP3 and WAV. Starting an
ffmpeg process would cost more than all of it. Blocking: call it from a thread.
"""

from __future__ import annotations

import io
import math
from fractions import Fraction

import av
import numpy as np

from notifyd.voice import loudness, opus
from notifyd.voice.loudness import Samples

#: Opus takes 8/12/16/24/48 kHz: 16 kHz is wideband speech. MP3 for links: 24 kHz. WAV is
#: for telephony: 8 kHz.
RATES = {"ogg": 16000, "mp3": 24000, "wav": 8000}
TARGET_LUFS = -18.0
MAX_TRUE_PEAK_DBTP = -1.0
#: The limiter's ceiling (sample peak, dBFS) per format: below MAX_TRUE_PEAK_DBTP by what
#: inter-sample peaks and each codec add (lossy codecs ring on transients).
CEILING_DBFS = {"ogg": -5.5, "mp3": -3.0, "wav": -3.0}
_CODECS = {"mp3": "libmp3lame", "wav": "pcm_s16le"}  # OGG/Opus: notifyd/voice/opus.py
#: Make-up passes after limiting: stop when the note is this close to the target (LU).
_CLOSE_LU = 0.2
_PASSES = 4


def encode(
    raw: bytes, rate: int, fmt: str, opus_kbps: int = 24, opus_level: int = 0,
    target_lufs: float = TARGET_LUFS,
) -> bytes:  # fmt: skip
    """Mono 16-bit samples at `rate` → the bytes of an OGG/Opus, MP3 or WAV file at the
    target loudness with its peaks limited."""
    samples = resample(raw, rate, RATES[fmt])
    return _encode(level(samples, RATES[fmt], fmt, target_lufs), fmt, opus_kbps, opus_level)


def level(samples: Samples, rate: int, fmt: str, target_lufs: float = TARGET_LUFS) -> Samples:
    """`samples` at the target loudness, under the format's ceiling. Too short or silent to
    measure: left as they are."""
    if len(samples) < rate * 4 // 10:
        return samples
    power = np.square(loudness.weighted(samples, rate))  # K-weighted, once
    measured = loudness.gated(power, rate)
    if not (math.isfinite(measured) and measured > -70):
        return samples
    ceiling = CEILING_DBFS[fmt]
    gain_db = target_lufs - measured
    if loudness.peak_db(samples) + gain_db <= ceiling:
        return samples * np.float32(10 ** (gain_db / 20))
    # The limiter takes loudness off with the peaks: find by the secant method the gain that
    # leaves the target after limiting (each extra dB is partly taken again). The limiter's
    # gain changes slowly next to the K-weighting's memory, so the limited note's weighted
    # power is the weighted power times the gain squared; and the limiter works on 2.5 ms
    # blocks, so a pass needs only each block's peak and mean power: it costs no filtering
    # and touches no sample.
    size = loudness.block_size(rate)
    tops, block_power = loudness.block_tops(samples, rate), loudness.block_means(power, rate)
    tried: tuple[float, float] | None = None  # (gain, loudness) of the pass before
    for _ in range(_PASSES):
        edges = loudness.edge_gains(tops * np.float32(10 ** (gain_db / 20)), ceiling)
        scale = 10 ** (gain_db / 10) * (1.0 if edges is None else loudness.mean_square(edges))
        reached = loudness.gated(block_power * scale, rate // size)
        short = target_lufs - reached
        if not math.isfinite(reached) or abs(short) < _CLOSE_LU:
            break
        slope = 1.0
        if tried is not None and gain_db != tried[0]:
            slope = min(1.0, max(0.1, (reached - tried[1]) / (gain_db - tried[0])))
        tried = (gain_db, reached)
        gain_db += short / slope
    out = samples * np.float32(10 ** (gain_db / 20))
    edges = loudness.edge_gains(tops * np.float32(10 ** (gain_db / 20)), ceiling)
    return (
        out if edges is None else (out * loudness.expand(edges, size, len(out))).astype(np.float32)
    )


def resample(raw: bytes, rate: int, to_rate: int) -> Samples:
    """Mono 16-bit samples at `rate` → float samples in [-1, 1] at `to_rate` (FFmpeg's
    resampler, in C)."""
    frame = av.AudioFrame(format="s16", layout="mono", samples=len(raw) // 2)
    frame.planes[0].update(raw)
    frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=to_rate)
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    if not frames:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([f.to_ndarray().reshape(-1) for f in frames]).astype(np.float32)


def _encode(samples: Samples, fmt: str, opus_kbps: int, opus_level: int) -> bytes:
    """The file's bytes: OGG/Opus through the system's libopus (notifyd/voice/opus.py), MP3
    and WAV through PyAV, fed the whole note as one frame (PyAV cuts it into the codec's frames
    in C: a Python loop over the frames cost a quarter of the encoding)."""
    rate = RATES[fmt]
    if fmt == "ogg":
        return opus.ogg_opus(samples, rate, opus_kbps, opus_level)
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(_CODECS[fmt], rate=rate, layout="mono")
        assert isinstance(stream, av.AudioStream)
        ctx = stream.codec_context
        if fmt == "mp3":
            stream.bit_rate = 48000
            ctx.options = {"compression_level": "7"}  # lame -q 7: fast
        ctx.format = _sample_format(stream)
        if len(samples):
            data = _as_format(samples, ctx.format.name)
            frame = av.AudioFrame.from_ndarray(data, format=ctx.format.name, layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buf.getvalue()


def _sample_format(stream: av.AudioStream) -> str:
    """Float when the codec takes it (no rounding before a lossy codec), 16-bit otherwise."""
    codec = stream.codec_context.codec
    offered = [f.name for f in codec.audio_formats or ()]
    for name in ("flt", "fltp", "s16", "s16p"):
        if name in offered:
            return name
    raise ValueError(f"{codec.name} takes none of flt/fltp/s16/s16p")


def _as_format(samples: Samples, name: str) -> np.ndarray:  # type: ignore[type-arg]
    """Mono samples as the (1, n) array PyAV takes for `name` (packed and planar are alike
    for one channel)."""
    if name.startswith("s16"):
        scaled = np.clip(np.rint(samples * 32767.0), -32768, 32767)
        return scaled.astype(np.int16).reshape(1, -1)
    return samples.astype(np.float32).reshape(1, -1)
