"""notifyd's plan against the anchor, APScheduler 3 with one date job per alert, on the same
export in one run; prints both times and their ratio.

For each N: an N-row export (bench/make_registry.py's generator, or `--export FILE`), then

1. notifyd: `notifyd -c CONFIG sync` as a subprocess on an empty database, timed: the whole
   sync (read, validate, store, and plan every notice);
2. the anchor: APScheduler 3.x, `BackgroundScheduler` with a `SQLAlchemyJobStore` on a fresh
   SQLite file, started paused, and one `DateTrigger` job per alert added with `add_job`
   (each job pickled and written in its own transaction, as an application doing it this way
   would). The alerts are the very notices notifyd planned (their ids and due times, read from
   notifyd's database): the anchor is handed its plan for free and only stores it.

With `--max-jobs`, the time of APScheduler's first jobs is scaled to every alert and the ratio
labelled "extrapolated": an estimate, not a bound (160,000 jobs in slices of 20,000 showed its
rate following the host's load, 270-1,060 jobs/s, with no trend as its table grew).

    .venv/bin/python bench/apscheduler_bench.py --rows 20000 --rows 100000 \\
        [--max-jobs 50000] [--export FILE] [--database postgresql+psycopg://user@host/db]

`--database`: notifyd's side on a PostgreSQL server (a database `notifyd_apscheduler_bench`
made afresh and dropped after); APScheduler stays on SQLite. Everything made (exports,
databases, state dirs) lives in a temporary dir, removed at the end. Results are appended to
bench/out/apscheduler.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).parent))
from benchdb import scratch_database  # noqa: E402
from make_registry import write_export  # noqa: E402

OUT = Path(__file__).parent / "out"


def alert(notification_id: int) -> None:
    """The job each alert would run (never run here: the scheduler stays paused)."""


def write_config(path: Path, work: Path, export: Path, url: str) -> None:
    """One office, spool channels, the database `url`."""
    q = json.dumps  # a JSON string is a TOML basic string
    path.write_text(
        f'channel_order = ["whatsapp", "sms"]\nstate_dir = {q(str(work / "state"))}\n'
        f"[database]\nurl = {q(url)}\n"
        f"[registry]\npath = {q(str(export))}\nmax_drop_share = 0.5\n"
        '[offices.BLT]\nname = "Kantor Imigrasi Blitar"\ntimezone = "Asia/Jakarta"\n'
        'window = "09:00-17:00"\n'
        '[channels.whatsapp]\nplugin = "spool"\nkind = "whatsapp"\n'
        '[channels.sms]\nplugin = "spool"\nkind = "sms"\n',
        encoding="utf-8",
    )


def notifyd_sync(work: Path, export: Path, url: str) -> tuple[float, list[tuple[int, datetime]]]:
    """Seconds of `notifyd sync` on an empty database, and the alerts it planned."""
    config = work / "notifyd.toml"
    write_config(config, work, export, url)
    command = [str(Path(sys.executable).parent / "notifyd"), "-c", str(config), "sync"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"notifyd sync failed ({done.returncode}):\n{done.stderr[-3000:]}")
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id, due_at FROM notifications WHERE status = 'scheduled' ORDER BY id")
        ).all()
    engine.dispose()
    alerts = [(int(i), _instant(due)) for i, due in rows]
    return seconds, alerts


def _instant(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite: ISO text of the UTC moment
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def apscheduler_jobs(work: Path, alerts: list[tuple[int, datetime]]) -> float:
    """Seconds APScheduler 3 takes to store one date job per alert in a SQLite job store."""
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.date import DateTrigger

    db = work / "apscheduler.db"
    store = SQLAlchemyJobStore(url=f"sqlite:///{db}")
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=UTC)
    scheduler.start(paused=True)  # jobs go to the store at once, and none runs
    try:
        started = time.perf_counter()
        for nid, due in alerts:
            scheduler.add_job(alert, DateTrigger(run_date=due), args=[nid], id=str(nid),
                              misfire_grace_time=None)  # fmt: skip
        seconds = time.perf_counter() - started
        stored = len(scheduler.get_jobs())
    finally:
        # Left paused, not shut down: a shutdown wakes its thread, which would try to run
        # every job already due. The thread is a daemon thread and sleeps until the exit.
        store.engine.dispose()
    if stored != len(alerts):
        raise SystemExit(f"APScheduler stored {stored} jobs of {len(alerts)}")
    return seconds


def one_size(rows: int, args: argparse.Namespace, tmp: Path) -> str:
    work = tmp / f"n{rows}"
    work.mkdir()
    export = args.export or work / "registry.csv"
    if not args.export:
        write_export(export, rows, seed=1)
    load0 = os.getloadavg()[0]
    with scratch_database(args.database, "apscheduler") as server_db:
        url = server_db or f"sqlite:///{work / 'notifyd.db'}"
        ours, alerts = notifyd_sync(work, export, url)
    sample = alerts[: args.max_jobs] if args.max_jobs else alerts
    theirs = apscheduler_jobs(work, sample)
    scaled = theirs * len(alerts) / len(sample)
    how = "measured" if len(sample) == len(alerts) else (
        f"extrapolated from its first {len(sample):,} jobs ({len(sample) / theirs:,.0f} jobs/s)"
    )  # fmt: skip
    db = "PostgreSQL" if args.database else "SQLite"
    return (
        f"{rows:,} rows, {len(alerts):,} alerts: notifyd sync + plan ({db}) {ours:.1f} s; "
        f"APScheduler 3 one date job per alert (SQLAlchemyJobStore, SQLite) {scaled:.1f} s "
        f"[{how}]; ratio {scaled / ours:.1f}x; load {load0:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, action="append", help="export size (repeatable)")
    ap.add_argument("--export", type=Path, help="an existing export (then one --rows, its size)")
    ap.add_argument("--max-jobs", type=int, default=0, help="time only this many APScheduler jobs")
    ap.add_argument("--database", default="", help="notifyd's PostgreSQL server (default SQLite)")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    lines = [f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"]
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows or [20_000]:
            lines.append(one_size(rows, args, Path(tmp)))
            print(lines[-1], flush=True)
    with open(OUT / "apscheduler.txt", "a") as f:
        f.write("\n".join(lines) + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
