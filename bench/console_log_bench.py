"""The console's delivery log pages at national size on PostgreSQL: the first page under each
filter, and pages deep into the log following the cursor.

Runs against the database bench/console_bench.py leaves (1,000,000 people and permits, kept
unless it ran with --drop), adding notices and attempts with INSERT … SELECT (PostgreSQL only;
minutes, not hours): two stages per permit for the first --permits permits, two attempts per
stage-14 notice (WhatsApp failed permanently, then SMS sent), a tenth of the stage-7 notices
cancelled without any attempt, over 30 days.

    .venv/bin/python bench/console_bench.py --people 1000000 --db postgresql [--database URL]
    .venv/bin/python bench/console_log_bench.py --permits 400000 [--database URL] [--drop]

--database is the same PostgreSQL server URL console_bench.py took
(postgresql+psycopg://USER@HOST:PORT/DB, default postgresql+psycopg://postgres@127.0.0.1:5432/test):
the bench connects to `notifyd_console_bench` on that server. Each run deletes the notices and
attempts there and adds them anew, unless --keep (time the rows a previous run added). The
database is kept, for the next run, unless --drop: then it is dropped WITH (FORCE) at the end,
even after an error, as console_bench.py --drop does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from console_bench import DATABASE, SERVER, bench_url, drop_database, exists  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from notifyd.db import logpage, store  # noqa: E402
from notifyd.db.logpage import LogFilter  # noqa: E402

END = datetime(2026, 12, 4, 2, 30, tzinfo=UTC)

FILL = [
    "DELETE FROM attempts",
    "DELETE FROM notifications",
    # stage 14 and 7 of each permit; the last update spread over 30 days before END
    """INSERT INTO notifications (id, permit_id, expiry_date, stage, due_at, deadline, status,
         reason, catch_up, attempt_count, channel_pos, created_at, updated_at)
       SELECT p.id * 2 + s.k, p.id, p.expiry_date, CASE s.k WHEN 0 THEN 14 ELSE 7 END,
         :end - (p.id % 43200) * interval '1 minute', :end + interval '1 day',
         CASE WHEN s.k = 0 THEN 'delivered' WHEN p.id % 10 = 0 THEN 'cancelled'
              ELSE 'scheduled' END,
         CASE WHEN s.k = 1 AND p.id % 10 = 0 THEN 'renewed' END, false,
         CASE s.k WHEN 0 THEN 2 ELSE 0 END, 0, :end - interval '31 days',
         :end - (p.id % 43200) * interval '1 minute' + s.k * interval '1 second'
       FROM permits p CROSS JOIN (VALUES (0), (1)) AS s(k) WHERE p.id <= :permits""",
    """INSERT INTO attempts (id, notification_id, channel, started_at, finished_at, outcome,
         error, kind)
       SELECT n.id * 2 + c.k, n.id, CASE c.k WHEN 0 THEN 'whatsapp' ELSE 'sms' END,
         n.updated_at - (1 - c.k) * interval '30 seconds',
         n.updated_at - (1 - c.k) * interval '30 seconds',
         CASE c.k WHEN 0 THEN 'permanent' ELSE 'sent' END,
         CASE c.k WHEN 0 THEN '131026: the number is not on WhatsApp' END, 'notice'
       FROM notifications n CROSS JOIN (VALUES (0), (1)) AS c(k) WHERE n.stage = 14""",
    "ANALYZE",
]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] * 1000


def timed(engine: Any, f: LogFilter, rounds: int) -> tuple[float, float, int]:
    times, rows = [], 0
    for _ in range(rounds):
        t = time.perf_counter()
        found, _ = logpage.page(engine, f, None, 100)
        times.append(time.perf_counter() - t)
        rows = len(found)
    return p95(times), statistics.median(times) * 1000, rows


def deep(engine: Any, f: LogFilter, pages: int) -> tuple[float, float, int]:
    times, cursor, seen = [], None, 0
    for _ in range(pages):
        t = time.perf_counter()
        found, cursor = logpage.page(engine, f, cursor, 100)
        times.append(time.perf_counter() - t)
        seen += len(found)
        if cursor is None:
            break
    return p95(times), statistics.median(times) * 1000, seen


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0].replace("\n", " "),
        epilog=f"Runs on {DATABASE}, the database bench/console_bench.py keeps; --drop removes it.",
    )
    ap.add_argument("--permits", type=int, default=400_000)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--keep", action="store_true", help="time the rows a previous run added")
    ap.add_argument(
        "--database", default=SERVER, metavar="URL",
        help="the PostgreSQL server console_bench.py ran on, postgresql+psycopg://USER@HOST:PORT/DB"
        f" (default {SERVER}); the bench connects to {DATABASE} there",
    )  # fmt: skip
    ap.add_argument(
        "--drop", action="store_true",
        help=f"drop {DATABASE} at the end (WITH (FORCE)), even after an error",
    )  # fmt: skip
    args = ap.parse_args()
    if not exists(args.database):
        server = make_url(args.database)  # printed with the password hidden
        sys.exit(f"no {DATABASE} on {server}: run bench/console_bench.py --db postgresql first")
    try:
        measure(bench_url(args.database), args)
    finally:
        if args.drop:
            drop_database(args.database)


def measure(url: str, args: argparse.Namespace) -> None:
    """Fill (unless --keep), then print the pages' times."""
    engine = store.open_store(url)
    try:
        if not args.keep:
            t = time.perf_counter()
            with engine.begin() as conn:
                for sql in FILL:
                    conn.execute(text(sql), {"end": store.naive_utc(END), "permits": args.permits})
            print(f"filled in {time.perf_counter() - t:.0f} s")
        with engine.connect() as conn:
            notices = conn.execute(text("SELECT count(*) FROM notifications")).scalar_one()
            attempts = conn.execute(text("SELECT count(*) FROM attempts")).scalar_one()
        print(f"{notices:,} notices, {attempts:,} attempts")
        print("| page | p95 ms | median ms | rows |")
        print("|---|---:|---:|---:|")
        cases = {
            "first, no filter": LogFilter(),
            "first, channel sms": LogFilter(channel="sms"),
            "first, outcome permanent, last 7 days": LogFilter(
                outcome="permanent", since=END - timedelta(days=7)
            ),
            "first, status cancelled": LogFilter(status="cancelled"),
            "first, language ar (nobody)": LogFilter(language="ar"),
            "first, stage 7 (no attempts)": LogFilter(stage=7),
            "first, until 20 days ago": LogFilter(until=END - timedelta(days=20)),
        }
        for name, f in cases.items():
            high, mid, rows = timed(engine, f, args.rounds)
            print(f"| {name} | {high:.1f} | {mid:.1f} | {rows} |")
        high, mid, seen = deep(engine, LogFilter(), args.pages)
        print(
            f"| {args.pages} pages in a row, no filter (each) | {high:.1f} | {mid:.1f} | {seen} |"
        )
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
