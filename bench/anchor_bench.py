"""The anchors issue 15's targets were set against, on this host, now: the sync's figures
divided by them compare across hosts and hours (this host's speed has moved by 2x between
sessions; a target in seconds alone does not say whether the code or the host changed).

1. CSV parse: `csv.reader` over the whole export, every row read, nothing kept.
2. Raw upsert: the same rows, each as it is read, through one SQLite `executemany` of
   `INSERT … ON CONFLICT (permit_number) DO UPDATE` into an empty table of the export's
   columns (unique permit number), in one transaction, WAL mode and `synchronous=NORMAL` as
   the store runs; the parse is included, the commit too. No validation, no plan: the least
   a sync of these rows can cost in this language and database.

Run:
    .venv/bin/python bench/anchor_bench.py --export WORKDIR/registry-1000000-s1-2026-11-30.csv \
        --workdir WORKDIR [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import os
import sqlite3
import statistics
import time
from collections.abc import Iterator
from pathlib import Path


def rows(export: Path) -> Iterator[list[str]]:
    with export.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)  # the header
        yield from reader


def csv_parse(export: Path) -> tuple[float, int]:
    started = time.perf_counter()
    n = sum(1 for _ in rows(export))
    return time.perf_counter() - started, n


def sqlite_files(db: Path) -> list[Path]:
    """The database file and the ones SQLite keeps beside it."""
    return [db] + [db.with_name(db.name + s) for s in ("-wal", "-shm", "-journal")]


def raw_upsert(export: Path, db: Path) -> tuple[float, int]:
    with export.open(newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    key = header.index("permit_number")
    columns = [f"c{i}" for i in range(len(header))]
    for stale in sqlite_files(db):
        stale.unlink(missing_ok=True)
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            f"CREATE TABLE registry (id INTEGER PRIMARY KEY, {', '.join(columns)}, "
            f"UNIQUE ({columns[key]}))"
        )
        marks = ", ".join("?" * len(columns))
        update = ", ".join(f"{c} = excluded.{c}" for i, c in enumerate(columns) if i != key)
        sql = (
            f"INSERT INTO registry ({', '.join(columns)}) VALUES ({marks}) "
            f"ON CONFLICT ({columns[key]}) DO UPDATE SET {update}"
        )
        width = len(columns)
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany(sql, (r for r in rows(export) if len(r) == width))
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        n = conn.execute("SELECT count(*) FROM registry").fetchone()[0]
    finally:
        conn.close()
        for left in sqlite_files(db):
            left.unlink(missing_ok=True)
    return elapsed, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--export", type=Path, required=True, help="a registry export (CSV)")
    ap.add_argument("--workdir", type=Path, default=Path("bench/out/work"))
    ap.add_argument("--repeat", type=int, default=3, help="runs of each; the median is quoted")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = args.workdir / f"anchor-{os.getpid()}.db"
    parse, upsert = [], []
    for _ in range(args.repeat):
        seconds, n = csv_parse(args.export)
        parse.append(seconds)
        seconds, stored = raw_upsert(args.export, db)
        upsert.append(seconds)
    load = os.getloadavg()[0]
    print(f"{args.export.name}: {n:,} rows, {stored:,} stored by the upsert; load {load:.1f}")
    print(f"  CSV parse: {statistics.median(parse):.2f} s (runs: "
          f"{', '.join(f'{s:.2f}' for s in parse)})")  # fmt: skip
    print(f"  raw upsert: {statistics.median(upsert):.2f} s (runs: "
          f"{', '.join(f'{s:.2f}' for s in upsert)})")  # fmt: skip


if __name__ == "__main__":
    main()
