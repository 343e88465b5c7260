"""A real dispatch: claim, render (cold and cached), send over HTTP into `notifyd sandbox`,
record; notices/s and CPU a notice.

N people have a notice due now (in English, each with its own name and permit number, so each
voice note is its own) and wrote to us within 24 hours, so each notice goes as a WhatsApp
voice note: the WhatsApp Cloud channel uploads the OGG/Opus note, then sends the `audio`
message, into the sandbox (its own process, `notifyd sandbox --all-windows-open`, real HTTP
on 127.0.0.1). The real Dispatcher and Renderer run on the real clock; one tick takes every
due notice. Two phases, each on a fresh database:

- cold: an empty audio cache; every note is spoken by espeak-ng and encoded by ffmpeg;
- cached: every note already in the cache (each note's cache file is put where the renderer
  looks for it, a copy of a note made in the cold phase): a render is templates and a lookup.

    .venv/bin/python bench/dispatch_bench.py [--cold 60] [--cached 2000] [--runs 3] \\
        [--concurrency 16] [--port 0] [--database postgresql+psycopg://user@host/db]

`--port` is the sandbox's (0: a free one); `--database` a PostgreSQL server, on which a
database `notifyd_dispatch_bench` is made afresh each run and dropped after (SQLite: in a
temporary dir). Everything made is removed at the end: the temp dir, the database, the
sandbox process. Results are appended to bench/out/dispatch.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).parent))
from benchdb import scratch_database  # noqa: E402
from channels_bench import free_port  # noqa: E402
from claim_bench import fill  # noqa: E402

from notifyd import config, plugins  # noqa: E402
from notifyd.db import dispatch as ds  # noqa: E402
from notifyd.db import schema, store  # noqa: E402
from notifyd.delivery.dispatch import Dispatcher, build_channels  # noqa: E402
from notifyd.voice import audio  # noqa: E402
from notifyd.voice.render import Renderer  # noqa: E402

OUT = Path(__file__).parent / "out"


@contextmanager
def sandbox(port: int) -> Iterator[str]:
    """`notifyd sandbox` on 127.0.0.1:`port` (0: a free port); stopped on the way out."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "notifyd.cli", "sandbox", "--listen", f"127.0.0.1:{port}",
           "--all-windows-open", "--callback-delay", "0"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):  # a minute: a start on a loaded machine is slow
            if proc.poll() is not None:
                raise SystemExit(f"the sandbox exited ({proc.returncode}): is port {port} free?")
            try:
                urllib.request.urlopen(f"{url}/_sandbox/health", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("the sandbox did not start")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def make_config(work: Path, sandbox_url: str, concurrency: int) -> config.Config:
    os.environ.update(
        BENCH_WA_TOKEN="sandbox-token", BENCH_WA_SECRET="sandbox-app-secret", BENCH_WA_VERIFY="v"
    )
    return config.parse({
        "state_dir": str(work / "state"), "channel_order": ["whatsapp"],
        "offices": {"BLT": {"name": "Kantor Imigrasi Blitar", "timezone": "Asia/Jakarta",
                            "window": "00:00-24:00", "weekend": [], "holidays_country": "",
                            "phone": "+62 342 801234"}},
        "channels": {"whatsapp": {
            "plugin": "whatsapp-cloud", "kind": "whatsapp", "concurrency": concurrency,
            "options": {"base_url": sandbox_url, "phone_number_id": "106540352242922",
                        "token": "env:BENCH_WA_TOKEN", "app_secret": "env:BENCH_WA_SECRET",
                        "verify_token": "env:BENCH_WA_VERIFY",
                        "templates": {"en": {"name": "notifyd_permit_expiry", "language": "en"}}},
        }},
        "voices": {"engines": ["espeak-ng"]},  # offline: no network voice in the figures
        "dispatch": {"batch_size": 500, "concurrency": concurrency},
    })  # fmt: skip


def prepare(url: str, n: int, now: datetime) -> Any:
    """N due notices; each person wrote within 24 hours (so a voice note may go)."""
    engine = store.open_store(url, pooled=True)
    fill(engine, n, now)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.conversations),
            [{"channel": "whatsapp", "phone": f"+6281{i:08d}", "last_inbound_at": now}
             for i in range(1, n + 1)],
        )  # fmt: skip
    return engine


def prime_cache(
    engine: Any, cfg: config.Config, renderer: Renderer, note: Path, now: datetime
) -> int:
    """Put a note in the cache for every due notice, where the renderer will look for it."""
    n = schema.notifications
    due = ds.claim(engine, "prime", now, now, 10**9)  # read the facts as the dispatcher does
    for it in due:
        lang = renderer.language(it.facts.language)
        first = renderer.candidates(it.facts, now, lang)[0]
        path = audio.cache_path(cfg, first, "ogg")
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(note, path)
    with engine.begin() as conn:  # and give them back, untouched
        conn.execute(n.update().values(status="scheduled", lease_owner=None, lease_until=None))
    return len(due)


def one_run(phase: str, n: int, args: argparse.Namespace, url: str, keep: Path) -> dict[str, float]:
    """One phase on a fresh database, a fresh state dir and a fresh sandbox. `keep`: where the
    cold phase leaves a note it made, which the cached phase copies into its cache."""
    with tempfile.TemporaryDirectory() as tmp, sandbox(args.port) as sandbox_url:
        work = Path(tmp)
        now = datetime.now(UTC)
        engine = prepare(url or f"sqlite:///{work / 'notifyd.db'}", n, now)
        try:
            cfg = make_config(work, sandbox_url, args.concurrency)
            pm = plugins.make_manager()
            renderer = Renderer(cfg, plugins.voices(pm))
            if phase == "cached":
                if not keep.exists():  # no cold phase ran (--cold 0): a tone stands in
                    subprocess.run(
                        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=15",
                         "-ac", "1", "-ar", "16000", "-c:a", "libopus", "-b:a", "24k", str(keep)],
                        check=True,
                    )  # fmt: skip
                prime_cache(engine, cfg, renderer, keep, now)
            d = Dispatcher(cfg, engine, build_channels(cfg, pm), renderer.render, pm)
            me = psutil.Process()
            sb = [p for p in me.children() if "sandbox" in " ".join(p.cmdline())][0]
            cpu0, sb0 = sum(me.cpu_times()[:2]), sum(sb.cpu_times()[:2])
            kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            taken = asyncio.run(d.tick())
            elapsed = time.perf_counter() - t0
            kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = sum(me.cpu_times()[:2]) - cpu0
            sb_cpu = sum(sb.cpu_times()[:2]) - sb0
            tts = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
            with engine.connect() as conn:
                sent = conn.execute(
                    text("SELECT count(*) FROM notifications WHERE status = 'sent'")
                ).scalar_one()
            if taken != n or sent != n:
                raise SystemExit(f"{phase}: {taken} taken, {sent} sent of {n}")
            made = sorted(audio.audio_dir(cfg).rglob("*.ogg"))
            if phase == "cold" and made and not keep.exists():
                shutil.copyfile(made[0], keep)  # the cached phase's note: a real one
            for channel in d.channels.values():
                close = getattr(channel, "aclose", None)
                if close is not None:
                    asyncio.run(close())
            return {"rate": n / elapsed, "seconds": elapsed, "cpu_ms": 1000 * cpu / n,
                    "tts_ms": 1000 * tts / n, "sandbox_ms": 1000 * sb_cpu / n,
                    "load": os.getloadavg()[0]}  # fmt: skip
        finally:
            engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cold", type=int, default=60, help="notices in the cold phase")
    ap.add_argument("--cached", type=int, default=2000, help="notices in the cached phase")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--port", type=int, default=0, help="the sandbox's port (0: a free one)")
    ap.add_argument("--database", default="", help="a PostgreSQL server URL (default: SQLite)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    db = "postgresql" if args.database else "sqlite"
    lines = [
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {db}, cold {args.cold}, cached {args.cached}, "
        f"concurrency {args.concurrency}, load {os.getloadavg()[0]:.2f}"
    ]
    with tempfile.TemporaryDirectory() as tmp:
        note = Path(tmp) / "note.ogg"
        for phase, n in (("cold", args.cold), ("cached", args.cached)):
            if not n:
                continue
            runs = []
            for _ in range(args.runs):
                with scratch_database(args.database, "dispatch") as url:
                    runs.append(r := one_run(phase, n, args, url, note))
                line = (f"  {phase}: {r['rate']:,.1f} notices/s ({n} in {r['seconds']:.1f} s); "
                        f"CPU a notice: bench process {r['cpu_ms']:.1f} ms, espeak-ng + ffmpeg "
                        f"{r['tts_ms']:.1f} ms, sandbox {r['sandbox_ms']:.1f} ms; "
                        f"load {r['load']:.2f}")  # fmt: skip
                lines.append(line)
                print(line, flush=True)
            rates = [r["rate"] for r in runs]
            lines.append(f"{phase}: median {statistics.median(rates):,.1f} notices/s "
                         f"({', '.join(f'{x:,.1f}' for x in rates)})")  # fmt: skip
            print(lines[-1], flush=True)
    with open(OUT / "dispatch.txt", "a") as f:
        f.write("\n".join(lines) + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
