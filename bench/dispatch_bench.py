"""Dispatch throughput and the daemon's idle cost.

Throughput: N notices due now (default 100,000), their voice notes already rendered (a cached
file), through a channel that accepts at once; the real Dispatcher claims, records attempts
and outcomes in the real database. Idle: `notifyd run` as a subprocess with nothing due,
sampled with psutil for a minute.

    .venv/bin/python bench/dispatch_bench.py [--notices 100000] [--runs 3] \
        [--postgres postgresql+psycopg://user@host/db] [--idle 60]

With --postgres, a database `notifyd_dispatch_bench` is made afresh on that server each run.

Results are appended to bench/out/dispatch.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import psutil
from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from notifyd import config
from notifyd.db import schema, store
from notifyd.delivery.dispatch import Dispatcher
from notifyd.hookspecs import Message
from notifyd.model import NoticeFacts, Rendered

NOW = datetime(2026, 12, 4, 2, 30, tzinfo=UTC)  # a Friday, 09:30 in Blitar
OUT = Path(__file__).parent / "out"


class AcceptAll:
    """A channel that takes every message at once."""

    name, audio_format = "whatsapp", "ogg"

    async def send(self, message: Message) -> str:
        return f"ok-{message.notification_id}"


def fill(engine: Engine, n: int) -> None:
    """n people, each with one permit and one notice due now."""
    expiry = date(2026, 12, 18)
    with engine.begin() as conn:
        for start in range(0, n, 10_000):
            ids = range(start + 1, min(n, start + 10_000) + 1)
            conn.execute(insert(schema.people), [
                {"id": i, "registry_id": f"BLT-{i:07d}", "full_name": f"Person {i}",
                 "nationality": "AU", "passport_number": f"PA{i:07d}", "language": "en",
                 "phone": f"+6281{i:08d}", "phone_kind": "mobile", "whatsapp": f"+6281{i:08d}",
                 "channels": "whatsapp", "created_at": NOW, "updated_at": NOW} for i in ids
            ])  # fmt: skip
            conn.execute(insert(schema.permits), [
                {"id": i, "permit_number": f"2C11AB{i:07d}-26", "person_id": i,
                 "permit_type": "KITAS", "office": "BLT", "expiry_date": expiry, "row_hash": "x",
                 "active": True, "warnings": "[]", "created_at": NOW, "updated_at": NOW}
                for i in ids
            ])  # fmt: skip
            conn.execute(insert(schema.notifications), [
                {"id": i, "permit_id": i, "expiry_date": expiry, "stage": 14,
                 "due_at": NOW - timedelta(minutes=30), "deadline": NOW + timedelta(days=7),
                 "status": "scheduled", "catch_up": False, "attempt_count": 0,
                 "created_at": NOW, "updated_at": NOW} for i in ids
            ])  # fmt: skip


def fresh_postgres(server: str) -> str:
    """A new, empty database `notifyd_dispatch_bench` on the server `server` names."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "notifyd_dispatch_bench" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "notifyd_dispatch_bench"'))
    admin.dispose()
    url = make_url(server).set(database="notifyd_dispatch_bench")
    return url.render_as_string(hide_password=False)


def throughput(url: str, n: int, audio: Path, batch: int) -> float:
    if url.startswith("postgresql"):
        url = fresh_postgres(url)
    engine = store.open_store(url)
    fill(engine, n)
    cfg = config.parse({
        "state_dir": str(audio.parent), "channel_order": ["whatsapp"],
        "offices": {"BLT": {"timezone": "Asia/Jakarta"}},
        "channels": {"whatsapp": {"plugin": "bench", "kind": "whatsapp", "concurrency": 64}},
        "dispatch": {"batch_size": batch, "concurrency": 64},
    })  # fmt: skip

    async def cached(facts: NoticeFacts, now: datetime, fmt: str | None) -> Rendered:
        return Rendered(f"notice {facts.permit_number}", {}, "en", audio, "cached")

    clock = {"now": NOW}
    d = Dispatcher(cfg, engine, {"whatsapp": AcceptAll()}, cached, clock=lambda: clock["now"])
    started = time.perf_counter()
    taken = asyncio.run(d.tick())
    elapsed = time.perf_counter() - started
    with engine.connect() as conn:
        sent = conn.execute(text("SELECT count(*) FROM notifications WHERE status='sent'")).scalar()
    engine.dispose()
    assert taken == n == sent, (taken, n, sent)
    return n / elapsed


def idle(seconds: float, workdir: Path) -> tuple[float, float]:
    """CPU % and RSS (MB) of `notifyd run` with nothing due, over `seconds`."""
    (workdir / "registry.csv").write_text(
        "registry_id,full_name,nationality,permit_number,expiry_date\n"
    )
    cfg = workdir / "idle.toml"
    cfg.write_text(
        f'state_dir = "{workdir / "idle-state"}"\nchannel_order = ["sms"]\n'
        f'[registry]\npath = "{workdir / "registry.csv"}"\n'
        '[channels.sms]\nplugin = "spool"\nkind = "sms"\n'
    )
    cmd = [sys.executable, "-m", "notifyd.cli", "-c", str(cfg), "run"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(5)  # start-up (imports, migration) is not idle time
        p = psutil.Process(proc.pid)
        cpu0 = sum(p.cpu_times()[:2])
        t0 = time.monotonic()
        rss = 0
        while time.monotonic() - t0 < seconds:
            rss = max(rss, p.memory_info().rss)
            time.sleep(1)
        cpu = sum(p.cpu_times()[:2]) - cpu0
        return 100 * cpu / (time.monotonic() - t0), rss / 2**20
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notices", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--postgres", default=os.environ.get("NOTIFYD_BENCH_POSTGRES_URL", ""))
    ap.add_argument("--idle", type=float, default=60, help="seconds of idle sampling (0: skip)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    lines = [f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.notices} notices, batch {args.batch}"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        audio = work / "note.ogg"
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=440:d=3", "-ac", "1",
             "-c:a", "libopus", "-b:a", "24k", str(audio)], check=True,
        )  # fmt: skip
        urls = [("sqlite", f"sqlite:///{work}/bench-{{}}.db")]
        if args.postgres:
            urls.append(("postgresql", args.postgres))
        for name, url in urls:
            rates = [
                throughput(url.format(i), args.notices, audio, args.batch) for i in range(args.runs)
            ]
            figures = ", ".join(f"{r:,.0f}" for r in rates)
            lines.append(f"{name}: median {statistics.median(rates):,.0f} notices/s ({figures})")
            print(lines[-1], flush=True)
        if args.idle:
            cpu, rss = idle(args.idle, work)
            lines.append(
                f"idle daemon over {args.idle:.0f} s: CPU {cpu:.2f} %, max RSS {rss:.0f} MB"
            )
            print(lines[-1], flush=True)
    with open(OUT / "dispatch.txt", "a") as f:
        f.write("\n".join(lines) + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
