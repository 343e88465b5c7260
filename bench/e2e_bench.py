"""End-to-end throughput through the provider sandbox: the daemon sends N voice notes over
WhatsApp Cloud (upload, then the `audio` message: everyone wrote within 24 hours) and the
sandbox's signed `sent` and `delivered` receipts come back to the daemon's web app.

The daemon is `notifyd.service.daemon.Daemon`, the code `notifyd run` runs (scheduler,
dispatcher, web app; SQLite, or with `--database` a fresh PostgreSQL database made on that
server and dropped after each run), in this process; only its renderer is swapped for one
handing back an already cached 15-second OGG/Opus note, as the real cache does for a note
made before. The sandbox runs as its own process (`notifyd sandbox --all-windows-open`, rate
limits off, no callback delay). The clock runs from the moment every notice is due until
every notice is `delivered`.

    .venv/bin/python bench/e2e_bench.py [--notices 3000] [--runs 3] [--concurrency 64]
                                        [--database postgresql+psycopg://USER@HOST:PORT/DB]

Results are appended to bench/out/e2e.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).parent))
from benchdb import scratch_database  # noqa: E402
from channels_bench import free_port, voice_note  # noqa: E402
from claim_bench import NOW, fill  # noqa: E402

from notifyd.db import (
    schema,
    store,  # noqa: E402
)
from notifyd.model import NoticeFacts, Rendered  # noqa: E402
from notifyd.service.daemon import Daemon  # noqa: E402

OUT = Path(__file__).parent / "out"


def write_config(work: Path, sandbox: str, web_port: int, concurrency: int, url: str) -> Path:
    path = work / "notifyd.toml"
    path.write_text(f"""
state_dir = "{work / "state"}"
channel_order = ["whatsapp"]
[database]
url = "{url}"
[registry]
path = "{work / "registry.csv"}"
[offices.BLT]
timezone = "Asia/Jakarta"
window = "00:00-24:00"
weekend = []
holidays_country = ""
[channels.whatsapp]
plugin = "whatsapp-cloud"
kind = "whatsapp"
concurrency = {concurrency}
[channels.whatsapp.options]
base_url = "{sandbox}"
phone_number_id = "106540352242922"
token = "env:BENCH_WA_TOKEN"
app_secret = "env:BENCH_WA_SECRET"
verify_token = "env:BENCH_WA_VERIFY"
[channels.whatsapp.options.templates.en]
name = "notifyd_permit_expiry"
language = "en"
[http]
listen = "127.0.0.1:{web_port}"
[console]
listen = ""
[dispatch]
tick_seconds = 0.2
batch_size = 500
concurrency = {concurrency}
""")
    os.environ.update(
        BENCH_WA_TOKEN="sandbox-token", BENCH_WA_SECRET="sandbox-app-secret", BENCH_WA_VERIFY="v"
    )
    return path


def prepare(work: Path, n: int, url: str) -> Any:
    """N people with a notice due now, each of whom wrote within the last 24 hours."""
    (work / "state").mkdir(parents=True, exist_ok=True)
    (work / "registry.csv").write_text("registry_id,full_name\n")
    engine = store.open_store(url)
    fill(engine, n)
    with engine.begin() as conn:
        conn.execute(
            insert(schema.conversations),
            [{"channel": "whatsapp", "phone": f"+6281{i:08d}", "last_inbound_at": NOW}
             for i in range(1, n + 1)],
        )  # fmt: skip
    return engine


def start_sandbox(port: int, hooks: str, delay: float) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "notifyd.cli", "sandbox", "--listen", f"127.0.0.1:{port}",
           "--all-windows-open", "--callback-delay", str(delay)]  # fmt: skip
    if hooks:
        cmd += ["--callback-url", hooks]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the sandbox did not start")


def reached(engine: Any, statuses: tuple[str, ...]) -> int:
    marks = ", ".join(f"'{s}'" for s in statuses)
    with engine.connect() as conn:
        q = f"SELECT count(*) FROM notifications WHERE status IN ({marks})"
        return int(conn.execute(text(q)).scalar_one())


def one_run(
    n: int,
    concurrency: int,
    note: Path,
    receipts: bool,
    delay: float,
    ports: tuple[int, int],
    server: str,
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, scratch_database(server, "e2e") as db:
        work = Path(tmp)
        url = db or f"sqlite:///{work / 'state' / 'notifyd.db'}"
        engine = prepare(work, n, url)
        port = ports[0] or free_port()
        web_port = ports[1] or free_port()
        hooks = f"http://127.0.0.1:{web_port}/hooks" if receipts else ""
        sandbox = start_sandbox(port, hooks, delay)
        goal = ("delivered",) if receipts else ("sent", "delivered")
        try:
            path = write_config(work, f"http://127.0.0.1:{port}", web_port, concurrency, url)
            cached = work / "state" / "audio" / "note.ogg"
            cached.parent.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(note.read_bytes())

            async def render(facts: NoticeFacts, now: datetime, fmt: str | None) -> Rendered:
                return Rendered(f"notice {facts.permit_number}", {}, "en", cached, "cached")

            daemon = Daemon(str(path), NOW, render_factory=lambda cfg, pm: render)
            sb = psutil.Process(sandbox.pid)
            me = psutil.Process()
            result: dict[str, float] = {}

            async def main() -> None:
                running = asyncio.create_task(daemon.run())
                cpu0, sb0 = sum(me.cpu_times()[:2]), sum(sb.cpu_times()[:2])
                t0 = time.perf_counter()
                while await asyncio.to_thread(reached, engine, goal) < n:
                    await asyncio.sleep(0.1)
                    if running.done():
                        raise SystemExit(f"the daemon stopped early: {running.exception()!r}")
                elapsed = time.perf_counter() - t0
                cpu, sb_cpu = sum(me.cpu_times()[:2]) - cpu0, sum(sb.cpu_times()[:2]) - sb0
                daemon._stop.set()
                await running
                result.update(rate=n / elapsed, seconds=elapsed, cpu_ms=1000 * cpu / n,
                              sandbox_cpu_ms=1000 * sb_cpu / n)  # fmt: skip

            asyncio.run(main())
            return result
        finally:
            engine.dispose()  # before the scratch database is dropped
            sandbox.terminate()
            sandbox.wait(10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notices", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument(
        "--callback-delay",
        type=float,
        default=0.2,
        help="seconds before the sandbox's receipts (default %(default)s)",
    )
    ap.add_argument(
        "--no-receipts",
        action="store_true",
        help="no callbacks: the clock stops when every notice is sent",
    )
    ap.add_argument("--port", type=int, default=0, help="the sandbox's port (0: a free one)")
    ap.add_argument("--web-port", type=int, default=0, help="the web app's port (0: free)")
    ap.add_argument(
        "--database",
        default="",
        help="a PostgreSQL server URL (postgresql+psycopg://user@host:port/db): each run gets a "
        "fresh database there, dropped after (default: SQLite in a temporary dir)",
    )
    ap.add_argument("--log", default="WARNING", help="log level of the daemon (default WARNING)")
    args = ap.parse_args()
    logging.basicConfig(level=args.log, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # skipped ticks while one runs
    OUT.mkdir(exist_ok=True)
    load = os.getloadavg()[0]
    lines = [f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.notices} notices, "
             f"{'PostgreSQL' if args.database else 'SQLite'}, "
             f"concurrency {args.concurrency}, receipts {not args.no_receipts}, "
             f"load {load:.1f}"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        note = voice_note(Path(tmp) / "note.ogg")
        runs = []
        for _ in range(args.runs):
            r = one_run(
                args.notices, args.concurrency, note, not args.no_receipts, args.callback_delay,
                (args.port, args.web_port), args.database,
            )  # fmt: skip
            runs.append(r)
            line = (f"  {r['rate']:,.0f} notices/s ({r['seconds']:.1f} s); CPU a notice: "
                    f"daemon {r['cpu_ms']:.2f} ms, "
                    f"sandbox {r['sandbox_cpu_ms']:.2f} ms")  # fmt: skip
            lines.append(line)
            print(line, flush=True)
    rates = [r["rate"] for r in runs]
    cpu = statistics.median(r["cpu_ms"] for r in runs)
    sbc = statistics.median(r["sandbox_cpu_ms"] for r in runs)
    lines.append(
        f"median {statistics.median(rates):,.0f} notices/s; CPU a notice (median): daemon "
        f"{cpu:.2f} ms, sandbox {sbc:.2f} ms; load average after {os.getloadavg()[0]:.1f}"
    )
    print(lines[-1])
    with open(OUT / "e2e.txt", "a") as f:
        f.write("\n".join(lines) + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
