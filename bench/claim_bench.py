"""Claim-and-record throughput: the dispatcher's database work alone, not a dispatch.

N notices due now (default 100,000) go through the real Dispatcher and the real database:
claims under a lease, pending attempts written before each send, outcomes recorded. What it
leaves out, on purpose: the clock is frozen, nothing is rendered (every notice hands back
the same cached file) and the channel accepts at once, in-process, with no HTTP. For a real
dispatch (rendering, cold and cached, and HTTP sends into `notifyd sandbox`) see
dispatch_bench.py; for the idle daemon, idle_bench.py.

    .venv/bin/python bench/claim_bench.py [--notices 100000] [--runs 3] \
        [--database postgresql+psycopg://user@host/db]

SQLite databases live in a temporary dir, removed at the end. With --database, a database
`notifyd_claim_bench` is made afresh on that server for each run and dropped after it.

Results are appended to bench/out/claim.txt.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, text

sys.path.insert(0, str(Path(__file__).parent))
from benchdb import scratch_database  # noqa: E402

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


def fill(engine: Engine, n: int, now: datetime = NOW) -> None:
    """n people, each with one permit and one notice due at `now`."""
    expiry = (now + timedelta(days=14)).date()  # its 14-day notice is due
    with engine.begin() as conn:
        for start in range(0, n, 10_000):
            ids = range(start + 1, min(n, start + 10_000) + 1)
            conn.execute(insert(schema.people), [
                {"id": i, "registry_id": f"BLT-{i:07d}", "full_name": f"Person {i}",
                 "nationality": "AU", "passport_number": f"PA{i:07d}", "language": "en",
                 "phone": f"+6281{i:08d}", "phone_kind": "mobile", "whatsapp": f"+6281{i:08d}",
                 "channels": "whatsapp", "created_at": now, "updated_at": now} for i in ids
            ])  # fmt: skip
            conn.execute(insert(schema.permits), [
                {"id": i, "permit_number": f"2C11AB{i:07d}-26", "person_id": i,
                 "permit_type": "KITAS", "office": "BLT", "expiry_date": expiry, "row_hash": "x",
                 "active": True, "warnings": "[]", "created_at": now, "updated_at": now}
                for i in ids
            ])  # fmt: skip
            conn.execute(insert(schema.notifications), [
                {"id": i, "permit_id": i, "expiry_date": expiry, "stage": 14,
                 "due_at": now - timedelta(minutes=30), "deadline": now + timedelta(days=7),
                 "status": "scheduled", "catch_up": False, "attempt_count": 0,
                 "created_at": now, "updated_at": now} for i in ids
            ])  # fmt: skip


def throughput(url: str, n: int, audio: Path, batch: int) -> float:
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notices", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=500)
    server = os.environ.get("NOTIFYD_BENCH_POSTGRES_URL", "")
    ap.add_argument("--database", default=server, help="a PostgreSQL server URL (default: SQLite)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    lines = [f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {args.notices} notices, "
             f"batch {args.batch}, load {os.getloadavg()[0]:.2f}"]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        audio = work / "note.ogg"
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=440:d=3", "-ac", "1",
             "-c:a", "libopus", "-b:a", "24k", str(audio)], check=True,
        )  # fmt: skip
        urls = [("sqlite", f"sqlite:///{work}/bench-{{}}.db")]
        if args.database:
            urls = [("postgresql", "")]
        for name, url in urls:
            rates = []
            for i in range(args.runs):
                with scratch_database(args.database, "claim") as server_db:
                    rate = throughput(server_db or url.format(i), args.notices, audio, args.batch)
                rates.append(rate)
            figures = ", ".join(f"{r:,.0f}" for r in rates)
            lines.append(f"{name}: median {statistics.median(rates):,.0f} notices/s claimed and "
                         f"recorded ({figures}); load {os.getloadavg()[0]:.2f}")  # fmt: skip
            print(lines[-1], flush=True)
    with open(OUT / "claim.txt", "a") as f:
        f.write("\n".join(lines) + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
