"""EXPLAIN ANALYZE of the registry sync's heavy statements on PostgreSQL, as Markdown.

    python bench/sync_explain.py --database postgresql+psycopg://USER@HOST:PORT/DB \\
        --export REGISTRY.csv [--keep]

Makes a database of its own on that server, syncs the export into it (a first sync), then,
in a transaction rolled back at the end, stages one chunk of changed lines as a re-sync does
and explains each statement that reads or writes in bulk. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sync_bench
from sqlalchemy import Connection

from notifyd import config, plugins
from notifyd.db import store
from notifyd.db import sync as syncstore
from notifyd.registry.sync import CHUNK, run_sync

STATEMENTS = {
    "load the active permits' hashes (once per sync)": "SELECT id, row_hash FROM permits "
    "WHERE active",
    "load the live rejections (once per sync)": "SELECT id, row_hash, reasons FROM rejected_rows "
    "WHERE row_hash IS NOT NULL",
    "compare a chunk of changed lines with the stored permits": "SELECT c.line, p.id, "
    "p.expiry_date, p.row_hash = c.row_hash AND p.active FROM sync_chunk c "
    "JOIN permits p ON p.permit_number = c.permit_number",
    "the stored notices of a chunk's changed permits": "SELECT permit_id, id, expiry_date, "
    "stage, status, reason, due_at, deadline FROM notifications WHERE permit_id IN "
    "(SELECT p.id FROM sync_chunk c JOIN permits p ON p.permit_number = c.permit_number)",
    "write a chunk's new notices from its distinct plans": "INSERT INTO notifications "
    "(permit_id, expiry_date, stage, due_at, deadline, status, reason, catch_up, "
    "attempt_count, created_at, updated_at) SELECT n.permit_id, n.expiry_date, p.stage, "
    "p.due_at, p.deadline, p.status, p.reason, p.catch_up, 0, now(), now() "
    "FROM sync_new n JOIN sync_plan p ON p.plan_id = n.plan_id",
    "end the rejections not met again": "UPDATE rejected_rows SET row_hash = NULL "
    "WHERE row_hash IS NOT NULL AND run_id <> 0",
}


def stage(conn: Connection) -> None:
    """One chunk of changed lines in the scratch tables, as a re-sync leaves them."""
    syncstore.create_scratch(conn)
    conn.exec_driver_sql(
        "INSERT INTO sync_chunk SELECT permit_number, id, 'changed' FROM permits "
        f"ORDER BY random() LIMIT {CHUNK}"
    )
    conn.exec_driver_sql(
        "INSERT INTO sync_plan SELECT 1, stage, due_at, deadline, status, reason, catch_up "
        "FROM notifications WHERE permit_id = (SELECT min(id) FROM permits)"
    )
    conn.exec_driver_sql(
        "INSERT INTO sync_new SELECT p.id, p.expiry_date + 365, 1 FROM sync_chunk c "  # renewed
        "JOIN permits p ON p.permit_number = c.permit_number"
    )
    for table in ("sync_chunk", "sync_plan", "sync_new"):
        conn.exec_driver_sql(f"ANALYZE {table}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a PostgreSQL server URL")
    parser.add_argument("--export", type=Path, required=True, help="a registry export (CSV)")
    parser.add_argument("--workdir", type=Path, default=Path(__file__).parent / "out" / "work")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = sum(1 for _ in args.export.open(encoding="utf-8")) - 1
    url = sync_bench.fresh_database(args.workdir, rows, args.database)
    try:
        path = args.workdir / f"explain-{rows}.toml"
        sync_bench.write_config(path, args.workdir, rows, args.export.resolve(), url)
        cfg = config.load(path)
        engine = store.open_store(url)
        started = time.perf_counter()
        report = run_sync(cfg, engine, plugins.make_manager(), datetime.now(UTC))
        print(f"first sync of {rows:,} rows: {time.perf_counter() - started:.1f} s, "
              f"{report.accepted:,} accepted, {report.rejected:,} rejected\n")  # fmt: skip
        with engine.connect() as conn, conn.begin() as tx:
            conn.exec_driver_sql("ANALYZE")
            stage(conn)
            for what, sql in STATEMENTS.items():
                plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF) {sql}").scalars()
                print(f"{what}:\n\n```\n{sql}\n\n" + "\n".join(plan) + "\n```\n")
            tx.rollback()
        engine.dispose()
    finally:
        if not args.keep:
            sync_bench.drop_database(args.workdir, rows, args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
