"""Encoding a voice note in process with FFmpeg's libraries (PyAV): OGG/Opus and MP3.

Starting an ffmpeg process costs about 75 ms of CPU here, more than encoding a 35-second
note at a low libopus compression level (about 50 ms); in process, a cold note costs the TTS
engine's run and this. The levelling gain and the resampling to the codec's rate are done by
an FFmpeg filter graph on the way in. Blocking: call it from a worker thread.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av

#: Opus takes 8/12/16/24/48 kHz: 16 kHz is wideband speech. MP3 for links: 24 kHz.
RATES = {"ogg": 16000, "mp3": 24000}


def encode(
    raw: bytes, rate: int, gain_db: float, fmt: str, opus_kbps: int = 24, opus_level: int = 0
) -> bytes:
    """Mono 16-bit samples at `rate` → the bytes of an OGG/Opus or MP3 file."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        if fmt == "ogg":
            stream = out.add_stream("libopus", rate=RATES[fmt], layout="mono")
            stream.bit_rate = opus_kbps * 1000
            stream.codec_context.options = {
                "compression_level": str(opus_level), "application": "audio",
                "frame_duration": "60",
            }  # fmt: skip
        else:
            stream = out.add_stream("libmp3lame", rate=RATES[fmt], layout="mono")
            stream.bit_rate = 48000
            stream.codec_context.options = {"compression_level": "7"}  # lame -q 7: fast
        ctx = stream.codec_context
        ctx.open()  # so that frame_size is known
        graph = av.filter.Graph()
        chain = [
            graph.add_abuffer(
                format="s16", sample_rate=rate, layout="mono", time_base=Fraction(1, rate)
            ),
            graph.add("volume", f"{gain_db:.2f}dB"),
            graph.add(
                "aformat",
                f"sample_fmts={ctx.format.name}:sample_rates={ctx.sample_rate}"
                ":channel_layouts=mono",
            ),
            graph.add("asetnsamples", f"n={ctx.frame_size}:p=0"),
            graph.add("abuffersink"),
        ]
        for a, b in zip(chain, chain[1:], strict=False):
            a.link_to(b)
        graph.configure()
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(raw) // 2)
        frame.planes[0].update(raw)
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        graph.push(frame)
        graph.push(None)
        while True:
            try:
                chunk = graph.pull()
            except (av.error.EOFError, av.error.BlockingIOError):
                break
            assert isinstance(chunk, av.AudioFrame)
            out.mux(stream.encode(chunk))
        out.mux(stream.encode(None))
    return buf.getvalue()
