"""Voice notes: the TTS chain with fallback, trimming and loudness, formats, and the cache.

Per note: one TTS run (espeak-ng: one process), trimming with pydub, then resampling with
FFmpeg's libraries (PyAV), EBU R128 loudness, levelling and peak limiting in numpy, and encoding
with PyAV, all in process (notifyd/voice/encode.py): no ffmpeg process is started for a note
(starting one costs more CPU than encoding a note).
Notes are cached under `<state_dir>/audio/` by a hash of (engine, voice, text, format and the
encoder settings): a retry with the same words is a file lookup, changed words render anew.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
import wave
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from pydub import AudioSegment  # type: ignore[import-untyped]
from pydub.silence import detect_leading_silence  # type: ignore[import-untyped]

from notifyd.config import AUDIO_FORMATS, Config, VoicesConfig
from notifyd.errors import NotifydError
from notifyd.hookspecs import Voice
from notifyd.voice import loudness

log = logging.getLogger(__name__)

FORMATS = AUDIO_FORMATS
#: WhatsApp plays a voice note (OGG/Opus) of up to this size.
MAX_OGG_BYTES = 512 * 1024
SILENCE_DBFS = -45.0
GAP_MS = 600  # between the two languages of a bilingual note
#: Bumped when processing changes, so cached notes made the old way are not reused.
PIPELINE_VERSION = 4


class AudioError(NotifydError):
    """No engine could make the voice note; says which engines failed and why."""


class NoteTooLong(AudioError):
    """The spoken notice is longer than voices.max_seconds: shorten its template."""


@dataclass(frozen=True)
class Part:
    """One stretch of speech: a text, spoken by one engine in one voice."""

    engine: str
    voice: str
    language: str
    text: str


@dataclass(frozen=True)
class Candidate:
    """What would be said for a note: one part, or two for a bilingual note, each part by the
    engine that speaks its language (one engine for both where one can)."""

    engine: str  # the first part's engine
    parts: tuple[Part, ...]
    template: str  # the template file it comes from, for errors

    @property
    def engines(self) -> str:
        """The engines that speak, in order, each once: "espeak-ng", "open-jtalk+espeak-ng"."""
        return "+".join(dict.fromkeys(p.engine for p in self.parts))

    @property
    def label(self) -> str:
        return f"{self.engines}:{'+'.join(p.voice for p in self.parts)}"


def audio_dir(cfg: Config) -> Path:
    return Path(cfg.state_dir) / "audio"


def cache_key(candidate: Candidate, fmt: str, v: VoicesConfig) -> str:
    settings = [PIPELINE_VERSION, v.opus_bitrate_kbps, v.opus_compression_level]
    parts = [[p.engine, p.voice, p.language, p.text] for p in candidate.parts]
    blob = json.dumps([parts, fmt, settings], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_path(cfg: Config, candidate: Candidate, fmt: str) -> Path:
    key = cache_key(candidate, fmt, cfg.voices)
    return audio_dir(cfg) / key[:2] / f"{key}.{fmt}"


def cached(cfg: Config, candidates: Sequence[Candidate], fmt: str) -> tuple[Path, str] | None:
    """The first candidate already rendered: a stat per candidate, no process, no parsing."""
    for c in candidates:
        path = cache_path(cfg, c, fmt)
        if path.exists():
            return path, c.label
    return None


async def make_note(
    cfg: Config, voices: Mapping[str, Voice], candidates: Sequence[Candidate], fmt: str
) -> tuple[Path, str]:
    """The note in `fmt` from the first engine that can make it; cached. Returns (path, engine)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown audio format {fmt!r}")
    hit = cached(cfg, candidates, fmt)
    if hit:
        return hit
    failures = []
    for c in candidates:
        started = time.monotonic()
        try:
            segment = await speak(c, voices, cfg.voices)
        except Exception as exc:  # a plugin's failure of any kind falls back, never loses the note
            reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            seconds = time.monotonic() - started
            log.warning(
                "TTS engine %s failed after %.1f s (%s), trying the next",
                c.engines,
                seconds,
                reason,
            )
            failures.append(f"{c.engines}: {reason}")
            continue
        segment = trim(segment)
        seconds = len(segment) / 1000
        if seconds > cfg.voices.max_seconds:
            raise NoteTooLong(
                f"the voice note of template {c.template} ({c.engines}) lasts {seconds:.0f} s, "
                f"over voices.max_seconds = {cfg.voices.max_seconds:g}: shorten the template "
                "or raise the limit"
            )
        data = await encode(segment, fmt, cfg.voices)
        if fmt == "ogg" and len(data) > MAX_OGG_BYTES:
            raise NoteTooLong(
                f"the voice note of template {c.template} is {len(data) // 1024} KB, over "
                f"WhatsApp's {MAX_OGG_BYTES // 1024} KB: shorten the template"
            )
        path = cache_path(cfg, c, fmt)
        await asyncio.to_thread(write_private, path, data)  # an fsync: not on the event loop
        return path, c.label
    raise AudioError("no TTS engine could speak the notice: " + "; ".join(failures))


async def speak(c: Candidate, voices: Mapping[str, Voice], v: VoicesConfig) -> AudioSegment:
    """Each part through its engine, each call bounded from outside (engines' own timeouts
    are not trusted to fire), joined with a short pause. Parts from different engines are
    brought to the first part's loudness first (the whole note is levelled later), so the
    second language is not louder or softer than the first."""
    joined: AudioSegment | None = None
    # Made and removed in a thread: on a busy disk each took milliseconds of the event loop.
    tmp = await asyncio.to_thread(tempfile.mkdtemp, prefix="notifyd-tts-")
    try:
        for i, part in enumerate(c.parts):
            out = Path(tmp) / f"{i}.wav"
            engine = voices[part.engine]
            await synthesize(engine, part, out, timeout(engine, v))
            segment = read_wav(out, part.engine)
            if joined is None:
                joined = segment
            else:
                gap = AudioSegment.silent(GAP_MS, frame_rate=joined.frame_rate)
                segment = segment.set_frame_rate(joined.frame_rate)
                if part.engine != c.parts[i - 1].engine:
                    joined, segment = await asyncio.to_thread(matched, joined, segment)
                joined = joined + gap + segment
    finally:
        await asyncio.to_thread(shutil.rmtree, tmp, True)
    assert joined is not None
    return joined


def is_online(engine: Voice) -> bool:
    """Whether the engine calls a service (a plugin says so with `online`; one that does not
    say is taken for online: the short timeout)."""
    return bool(getattr(engine, "online", True))


def timeout(engine: Voice, v: VoicesConfig) -> float:
    """An online engine may hang (a dead proxy): `engine_timeout`, short, then the next engine.
    An offline one runs on this host and is slow only when the host is busy (Open JTalk took
    over 5 s, and up to 60 s at load 13-19), and often no other engine speaks its language:
    `offline_timeout`, long."""
    return v.engine_timeout if is_online(engine) else v.offline_timeout


#: Per event loop, per engine that runs one note at a time (`one_at_a_time`): its turn.
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


async def synthesize(engine: Voice, part: Part, out: Path, seconds: float) -> None:
    """One part, bounded by `seconds` of the engine's own work. An engine that runs one note at
    a time (Open JTalk: one instance behind a lock) is waited for first, untimed: a note queued
    behind others must not spend its timeout waiting for them. Its turn passes on only when its
    work really ends (a thread cannot be stopped at a timeout), so the next note's clock starts
    when the engine is free."""
    call = engine.synthesize(part.text, part.language, part.voice, out)
    if not getattr(engine, "one_at_a_time", False):
        await asyncio.wait_for(call, seconds)
        return
    turns = _turns.setdefault(asyncio.get_running_loop(), {})
    turn = turns.setdefault(part.engine, asyncio.Semaphore(1))
    try:
        await turn.acquire()
    except BaseException:
        call.close()
        raise
    task = asyncio.ensure_future(call)
    task.add_done_callback(lambda t: _release(turn, t))
    await asyncio.wait_for(asyncio.shield(task), seconds)


def _release(turn: asyncio.Semaphore, task: asyncio.Future[None]) -> None:
    turn.release()
    if not task.cancelled():
        task.exception()  # retrieved: a late failure (its folder gone) was reported as a timeout


def matched(a: AudioSegment, b: AudioSegment) -> tuple[AudioSegment, AudioSegment]:
    """`a` and `b` at the same integrated loudness (BS.1770): the louder one turned down, so
    nothing clips."""
    gain = _lufs(a) - _lufs(b)
    if not np.isfinite(gain):
        return a, b
    return (a.apply_gain(-gain), b) if gain > 0 else (a, b.apply_gain(gain))


def _lufs(s: AudioSegment) -> float:
    samples = np.frombuffer(s.raw_data, dtype=np.int16).astype(np.float32) / np.float32(32768)
    return loudness.integrated(samples, s.frame_rate)


def read_wav(path: Path, engine: str) -> AudioSegment:
    """The engine's WAV, checked: it exists and holds some speech (a name like `--version`
    once made an engine exit 0 and write nothing)."""
    if not path.exists() or path.stat().st_size <= 44:
        raise AudioError(f"{engine} wrote no audio")
    try:
        with wave.open(str(path), "rb") as w:
            segment = AudioSegment(
                data=w.readframes(w.getnframes()),
                sample_width=w.getsampwidth(),
                frame_rate=w.getframerate(),
                channels=w.getnchannels(),
            )
    except (wave.Error, EOFError, ValueError) as exc:
        raise AudioError(f"{engine} wrote an unreadable WAV: {exc}") from exc
    if len(segment) < 300:
        raise AudioError(f"{engine} wrote only {len(segment)} ms of audio")
    return segment.set_channels(1).set_sample_width(2)


def trim(segment: AudioSegment) -> AudioSegment:
    """Without leading and trailing silence (a little kept, so speech does not start abruptly)."""
    start = detect_leading_silence(segment, SILENCE_DBFS, chunk_size=10)
    end = detect_leading_silence(segment.reverse(), SILENCE_DBFS, chunk_size=10)
    keep = 80
    start, stop = max(0, start - keep), len(segment) - max(0, end - keep)
    return segment[start:stop] if stop > start else segment


async def encode(segment: AudioSegment, fmt: str, v: VoicesConfig) -> bytes:
    """The note's bytes at the target loudness, peaks limited (notifyd/voice/encode.py), in
    process and off the event loop."""
    import av

    from notifyd.voice import encode as encoder
    from notifyd.voice import opus

    try:
        return await asyncio.to_thread(
            encoder.encode, segment.raw_data, segment.frame_rate, fmt,
            v.opus_bitrate_kbps, v.opus_compression_level,
        )  # fmt: skip
    except (av.error.FFmpegError, opus.OpusError) as exc:
        raise AudioError(f"could not encode {fmt}: {exc}") from exc


def write_private(path: Path, data: bytes) -> None:
    """Whole or not at all (a rename), mode 0600 in folders of mode 0700: it is personal data."""
    for folder in (path.parent.parent, path.parent):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())  # after a power cut the name holds the whole note or nothing
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def purge_audio(cfg: Config, now: datetime) -> int:
    """Delete cached notes older than voices.audio_retention_days; returns how many. The
    daemon schedules it; a note needed again after that is rendered anew."""
    cutoff = now.timestamp() - cfg.voices.audio_retention_days * 86400
    removed = 0
    root = audio_dir(cfg)
    if not root.is_dir():
        return 0
    for path in root.glob("*/*"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # another instance purged it first
    return removed
