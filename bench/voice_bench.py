"""Voice notes per second, cold (espeak-ng → OGG/Opus) and cached.

    .venv/bin/python bench/voice_bench.py [--notes 60] [--workers 1 --workers 2] [--lang id]
                                          [--compression-level 3] [--repeat 3]

Each cold note has words of its own (a different name and permit number), so nothing is found
in the cache; `workers` notes are rendered at a time by asyncio tasks in one process, as the
daemon does (espeak-ng and ffmpeg run as child processes, in parallel). The cached figure is
the time `Renderer.render` takes for a note already made. Results: bench/out/voice.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import FRIDAY_MORNING, probe, sample_facts, voice_config  # noqa: E402
from notifyd import plugins  # noqa: E402
from notifyd.voice.render import Renderer  # noqa: E402

NAMES = ["Budi Santoso", "John Smith", "Chloé Martin", "Aisha Rahman", "Kim Minsu", "Li Wei"]


async def cold(renderer: Renderer, lang: str, notes: int, workers: int, run: int) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(notes):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            facts = sample_facts(
                lang, full_name=f"{NAMES[i % len(NAMES)]} {run}-{i}",
                permit_number=f"2C11AB{i:04d}-{run:02d}",
            )  # fmt: skip
            out = await renderer.render(facts, FRIDAY_MORNING, "ogg")
            assert out.engine and out.engine.startswith("espeak-ng")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return notes / (time.perf_counter() - started)


def cpu_seconds() -> tuple[float, float]:
    """CPU time of this process and of its finished children (espeak-ng): what a note costs
    whatever else runs on the host."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime


async def cached(renderer: Renderer, lang: str, lookups: int) -> list[float]:
    facts = sample_facts(lang)
    await renderer.render(facts, FRIDAY_MORNING, "ogg")
    times = []
    for _ in range(lookups):
        started = time.perf_counter()
        await renderer.render(facts, FRIDAY_MORNING, "ogg")
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--notes", type=int, default=60)
    p.add_argument("--workers", type=int, action="append")
    p.add_argument("--lang", default="id")
    p.add_argument("--compression-level", type=int, default=None)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    workers = args.workers or [1, 2]
    voices = plugins.voices(plugins.make_manager())
    results: dict[str, object] = {"notes": args.notes, "lang": args.lang}
    with tempfile.TemporaryDirectory(prefix="voice-bench-") as tmp:
        extra = {"engines": ["espeak-ng"]}
        if args.compression_level is not None:
            extra["opus_compression_level"] = args.compression_level  # type: ignore[assignment]
        cfg = voice_config(Path(tmp), **extra)
        renderer = Renderer(cfg, voices)
        results["compression_level"] = cfg.voices.opus_compression_level
        sample = asyncio.run(renderer.render(sample_facts(args.lang), FRIDAY_MORNING, "ogg"))
        assert sample.audio is not None
        info = probe(sample.audio)
        results["note"] = {**info, "bytes": sample.audio.stat().st_size}
        print(f"one note: {info['duration']:.1f} s of {info['codec']}, "
              f"{sample.audio.stat().st_size // 1024} KB")  # fmt: skip
        run = 0
        for n in workers:
            rates, own, kids = [], [], []
            for _ in range(args.repeat):
                run += 1
                before = cpu_seconds()
                rates.append(asyncio.run(cold(renderer, args.lang, args.notes, n, run)))
                after = cpu_seconds()
                own.append((after[0] - before[0]) / args.notes * 1000)
                kids.append((after[1] - before[1]) / args.notes * 1000)
            med = statistics.median(rates)
            cpu = [a + b for a, b in zip(own, kids, strict=True)]
            results[f"cold_notes_per_s_{n}_workers"] = {
                "median": med, "runs": rates, "cpu_ms_per_note": statistics.median(cpu),
                "cpu_ms_main_process": statistics.median(own),
                "cpu_ms_children": statistics.median(kids),
            }  # fmt: skip
            print(f"cold, {n} worker(s): {med:.1f} notes/s (runs: "
                  + ", ".join(f"{r:.1f}" for r in rates)
                  + f"), CPU {statistics.median(cpu):.0f} ms a note: "
                  f"{statistics.median(own):.0f} in notifyd, "
                  f"{statistics.median(kids):.0f} in espeak-ng")  # fmt: skip
        times = asyncio.run(cached(renderer, args.lang, 2000))
        ms = sorted(t * 1000 for t in times)
        med, p99 = statistics.median(ms), ms[int(len(ms) * 0.99)]
        results["cached_ms"] = {"median": med, "p99": p99}
        print(f"cached: median {med:.3f} ms, p99 {p99:.3f} ms")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "voice.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
