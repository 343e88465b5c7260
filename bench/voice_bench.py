"""Voice notes per second, cold (espeak-ng → OGG/Opus) and cached.

    .venv/bin/python bench/voice_bench.py [--notes 60] [--workers 1 --workers 2] [--lang id]
                                          [--compression-level 3] [--repeat 3]
    .venv/bin/python bench/voice_bench.py --mix [--notes 66] [--repeat 3] [--no-sentence-cache]

`--mix` renders the notices of the sample registry's languages (scripts/make_sample_registry.py),
each row's language in turn, through the templates and the renderer as the daemon does
(`Renderer.render`: the spoken text of the stage's notice, the language's native offline voice,
Open JTalk for Japanese and espeak-ng for the rest, levelled and encoded), for a 14-day notice
unless `--stage` says otherwise (0 for the expiry day, -1 for an overstay). It then gives the CPU
a note costs for Japanese (Open JTalk), Chinese and English (espeak-ng) alone, one worker.
Open JTalk keeps the sentences a note shares with others in memory (in these notes, the name's
sentence and the permit number's change); `--no-sentence-cache` measures every sentence
synthesised anew, as for the first note of a template in a fresh worker. Until 2026-11-30 the
mix spoke one short representative sentence per language (10-16 s against the templates'
15-20 s), which flattered the rate by about a third.

Each cold note has words of its own (a different name and permit number), so nothing is found
in the cache; `workers` notes are rendered at a time by asyncio tasks in one process, as the
daemon does (espeak-ng runs as a child process, Open JTalk and the encoder in worker threads).
The cached figure is the time `Renderer.render` takes for a note already made. Results:
bench/out/voice.json.
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
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from conftest import (  # noqa: E402
    FRIDAY_MORNING,
    OFFLINE_VOICE,
    probe,
    sample_facts,
    voice_config,
)
from conftest import NAMES as SPOKEN_NAMES  # noqa: E402
from notifyd import plugins  # noqa: E402
from notifyd.voice.render import Renderer  # noqa: E402

#: Nationality → language of the sample registry's rows, as the nationality mapping gives it;
#: Filipino and Thai have no offline voice and are spoken in English offline (docs/voices.md).
SAMPLE_LANGUAGE = {
    "CN": "zh", "TW": "zh-TW", "JP": "ja", "KR": "ko", "SA": "ar", "EG": "ar", "RU": "ru",
    "US": "en", "AU": "en", "GB": "en", "SG": "en", "IN": "en", "MY": "ms", "FR": "fr",
    "DE": "de", "PH": "en", "NL": "nl", "TH": "en", "VN": "vi", "TL": "pt",
}  # fmt: skip


def sample_mix() -> list[str]:
    """The language of each good row of the sample registry (a pinned language wins)."""
    import importlib.util

    path = ROOT / "scripts" / "make_sample_registry.py"
    spec = importlib.util.spec_from_file_location("make_sample_registry", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return [
        str(pinned.get("language") or SAMPLE_LANGUAGE[nat])
        for _, nat, pinned, _ in module.GOOD
        if nat
    ]


async def cold_mix(renderer: Renderer, langs: list[str], notes: int, workers: int, run: int,
                   stage: int) -> float:  # fmt: skip
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(notes):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            out = await renderer.render(mix_facts(langs[i % len(langs)], i, run, stage),
                                        FRIDAY_MORNING, "ogg")  # fmt: skip
            assert out.engine == OFFLINE_VOICE[out.language], out.engine

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return notes / (time.perf_counter() - started)


def mix_facts(lang: str, i: int, run: int, stage: int) -> object:
    """A notice of its own (name and permit number) in `lang`, `stage` days before expiry
    (FRIDAY_MORNING is 14 days before the sample's expiry)."""
    return sample_facts(
        lang, full_name=f"{SPOKEN_NAMES[lang][i % 2]} {run} {i}", stage=max(stage, 0),
        permit_number=f"2C11AB{i:04d}-{run % 100:02d}",
        expiry_date=FRIDAY_MORNING.date() + timedelta(days=stage),
    )  # fmt: skip


def main_mix(args: argparse.Namespace, workers: list[int]) -> None:
    voices = plugins.voices(plugins.make_manager())
    if args.no_sentence_cache:
        from notifyd_plugins.voice import openjtalk

        openjtalk.CACHE_BYTES = 0  # every sentence made anew: a fresh worker's first notes
    langs = sample_mix()
    results: dict[str, object] = {
        "notes": args.notes, "mix": langs, "stage": args.stage,
        "sentence_cache": not args.no_sentence_cache,
    }  # fmt: skip
    print(f"mix of {len(langs)} rows: " + ", ".join(sorted(set(langs))))
    with tempfile.TemporaryDirectory(prefix="voice-bench-") as tmp:
        # A generous timeout: a loaded host must not turn a slow note into a fallback.
        cfg = voice_config(Path(tmp), engines=["open-jtalk", "espeak-ng"], engine_timeout=60)
        renderer = Renderer(cfg, voices)  # asks Open JTalk what it speaks: its dictionary loads
        durations = {}
        for lang in sorted(set(langs)):
            out = asyncio.run(renderer.render(mix_facts(lang, 0, 0, args.stage), FRIDAY_MORNING,
                                              "ogg"))  # fmt: skip
            assert out.audio is not None
            durations[lang] = probe(out.audio)["duration"]
        results["note_seconds"] = durations
        mean = statistics.mean(durations[lang] for lang in langs)
        print(f"notes last {min(durations.values()):.1f}-{max(durations.values()):.1f} s, "
              f"{mean:.1f} s on average over the mix")  # fmt: skip
        run = 0
        for n in workers:
            rates, cpu = [], []
            for _ in range(args.repeat):
                run += 1
                before = cpu_seconds()
                rates.append(asyncio.run(cold_mix(renderer, langs, args.notes, n, run, args.stage)))
                after = cpu_seconds()
                cpu.append((sum(after) - sum(before)) / args.notes * 1000)
            med = statistics.median(rates)
            results[f"cold_notes_per_s_{n}_workers"] = {
                "median": med, "runs": rates, "cpu_ms_per_note": statistics.median(cpu),
            }  # fmt: skip
            print(f"cold mix, {n} worker(s): {med:.1f} notes/s (runs: "
                  + ", ".join(f"{r:.1f}" for r in rates)
                  + f"), CPU {statistics.median(cpu):.0f} ms a note")  # fmt: skip
        per_language = {}
        for lang in ("ja", "zh", "en"):
            run += 1
            before = cpu_seconds()
            rate = asyncio.run(cold_mix(renderer, [lang], args.lang_notes, 1, run, args.stage))
            after = cpu_seconds()
            ms = (sum(after) - sum(before)) / args.lang_notes * 1000
            per_language[lang] = {"notes_per_s_1_worker": rate, "cpu_ms_per_note": ms}
            print(f"{lang} alone, 1 worker: {rate:.1f} notes/s, CPU {ms:.0f} ms a note")
        results["per_language"] = per_language
        facts = sample_facts("ja")
        times = asyncio.run(cached(renderer, facts.language, 2000))
        ms = sorted(t * 1000 for t in times)
        results["cached_ms_ja"] = {"median": statistics.median(ms), "p99": ms[int(len(ms) * 0.99)]}
        print(f"cached (ja, open-jtalk): median {statistics.median(ms):.3f} ms")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    name = f"voice_mix_stage{args.stage}" + ("_no_sentence_cache" if args.no_sentence_cache else "")
    name += ".json"
    (out / name).write_text(json.dumps(results, indent=2))


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
    p.add_argument("--mix", action="store_true", help="the sample registry's languages")
    p.add_argument("--lang-notes", type=int, default=12, help="--mix: notes per language alone")
    p.add_argument("--stage", type=int, default=14, help="--mix: days before expiry (-1: overdue)")
    p.add_argument(
        "--no-sentence-cache", action="store_true",
        help="--mix: Open JTalk synthesises every sentence anew",
    )  # fmt: skip
    args = p.parse_args()
    workers = args.workers or [1, 2]
    if args.mix:
        return main_mix(args, workers)
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
