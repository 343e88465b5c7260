"""What staff and Prometheus cost on a full database: a metrics scrape, `notifyd status`,
`stats`, `log`, `show` and a purge dry run, each timed several times (median and worst).

    python bench/staff_bench.py --rows 1000000 [--database URL] [--workdir DIR] [--repeat 5]

Sets up once (not timed): an N-row export (bench/make_registry.py; kept in --workdir when
given, for the next run), a real sync with planning into the database (default: SQLite in the
workdir; --database a PostgreSQL server, on which `notifyd_staff_bench` is made and dropped
after; the SQLite database is removed after too), and one
attempt for every third notice, written as the dispatcher would (a third of them failed).
Results: a Markdown table on stdout and bench/out/staff-N-BACKEND.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).parent))
from benchdb import scratch_database  # noqa: E402

from notifyd import config, plugins
from notifyd.db import log as logstore
from notifyd.db import schema as s
from notifyd.db import store
from notifyd.registry.sync import run_sync
from notifyd.service import retention
from notifyd.web.metrics import StoreCollector

HERE = Path(__file__).resolve().parent


def setup(rows: int, workdir: Path, url: str | None) -> tuple[Any, Any, datetime]:
    workdir.mkdir(parents=True, exist_ok=True)
    export = workdir / f"registry-{rows}.csv"
    if not export.exists():
        subprocess.run(
            [sys.executable, str(HERE / "make_registry.py"), str(rows), "-o", str(export)],
            check=True,
        )
    data: dict[str, Any] = {
        "state_dir": str(workdir / f"state-{rows}"),
        "registry": {"path": str(export)},
        "offices": {"BLT": {"name": "Kantor Imigrasi Blitar", "timezone": "Asia/Jakarta"}},
        "channel_order": ["whatsapp", "sms"],
        "channels": {
            "whatsapp": {"plugin": "spool", "kind": "whatsapp"},
            "sms": {"plugin": "spool", "kind": "sms"},
        },
    }
    if url:  # a fresh database per size: the URL's own, emptied by the caller
        data["database"] = {"url": url}
    cfg = config.parse(data)
    engine = store.open_store(store.database_url(cfg))
    now = datetime.now(UTC)
    with store.reading(engine) as conn:
        planned = conn.execute(select(func.count()).select_from(s.notifications)).scalar_one()
    if not planned:
        t = time.perf_counter()
        run_sync(cfg, engine, plugins.make_manager(), now)
        print(f"setup: sync {time.perf_counter() - t:.1f} s", file=sys.stderr)
        add_attempts(engine, now)
    return cfg, engine, now


def add_attempts(engine: Any, now: datetime) -> None:
    """One attempt for every third notice; every third of those failed for good."""
    with engine.begin() as conn:
        sqlite = conn.dialect.name == "sqlite"
        stamp = store.instant_param(conn)(now)
        ids = list(conn.execute(text("SELECT id FROM notifications WHERE id % 3 = 0")).scalars())
        rows = [
            (nid, "whatsapp" if nid % 2 else "sms", stamp, stamp,
             "permanent" if nid % 9 == 0 else "sent", f"prov-{nid}", "espeak-ng",
             "invalid number" if nid % 9 == 0 else None)
            for nid in ids
        ]  # fmt: skip
        store.executemany(
            conn,
            "INSERT INTO attempts (notification_id, channel, started_at, finished_at, outcome, "
            "provider_id, engine, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        if not sqlite:
            conn.exec_driver_sql("ANALYZE")
    print(f"setup: {len(rows):,} attempts", file=sys.stderr)


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), max(runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument(
        "--database", "--db", dest="db", default="",
        help="a PostgreSQL server URL: a database of its own is made there, dropped after",
    )  # fmt: skip
    ap.add_argument("--workdir", type=Path, help="for the export (default: a temporary dir)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.db, "staff") as url:
        workdir = args.workdir or Path(tmp)
        try:
            measure(args, workdir, url or None)
        finally:  # the database (SQLite's is in the state dir); an export in --workdir stays
            shutil.rmtree(workdir / f"state-{args.rows}", ignore_errors=True)


def measure(args: argparse.Namespace, workdir: Path, url: str | None) -> None:
    cfg, engine, now = setup(args.rows, workdir, url)
    with store.reading(engine) as conn:
        notices = conn.execute(select(func.count()).select_from(s.notifications)).scalar_one()
        attempts = conn.execute(select(func.count()).select_from(s.attempts)).scalar_one()
        someone = conn.execute(select(s.people.c.registry_id).limit(1)).scalar_one()
    collector = StoreCollector(engine, lambda: now)
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("metrics scrape (collector)", lambda: list(collector.collect())),
        ("status", lambda: logstore.status(engine, now)),
        ("stats", lambda: logstore.stats(engine, now)),
        ("stats --since 7d", lambda: logstore.stats(engine, now, now - timedelta(days=7))),
        ("log (newest 1000)", lambda: logstore.delivery_log(engine, limit=1000)),
        ("log --person", lambda: logstore.delivery_log(engine, person=someone)),
        ("show", lambda: logstore.story(engine, someone)),
        ("purge --dry-run", lambda: retention.purge(engine, cfg, now, dry_run=True)),
    ]
    backend = engine.dialect.name
    lines = [
        f"{args.rows:,} rows, {notices:,} notices, {attempts:,} attempts, {backend}",
        "",
        "| query | median s | worst s |",
        "|---|---:|---:|",
    ]
    for name, fn in cases:
        median, worst = timed(fn, args.repeat)
        lines.append(f"| {name} | {median:.3f} | {worst:.3f} |")
    out = "\n".join(lines) + "\n"
    print(out)
    target = HERE / "out" / f"staff-{args.rows}-{backend}.md"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(out)
    engine.dispose()


if __name__ == "__main__":
    main()
