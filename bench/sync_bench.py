"""Registry sync benchmark: seconds, rows/s and peak memory of `notifyd sync`.

    python bench/sync_bench.py --rows 100000 [--rows 1000000] [--workdir DIR] [--reuse]
        [--database postgresql+psycopg://USER@HOST:PORT/DB] [--keep]

For each N: generate an N-row export and a copy with 1 % of rows changed (timed apart, not
counted), write two configs into the workdir pointing at a fresh database (a SQLite file there, or
with --database a database made on that PostgreSQL server; dropped at the end), then
time three runs of `notifyd -c CONFIG sync`, each a subprocess:

  a. full sync with planning, on the empty database;
  b. the same export again (an unchanged re-sync);
  c. the changed copy (renewals and new phone numbers).

Peak RSS is sampled every 50 ms over the process tree (the process and its children, summed)
with psutil; the largest single process is also taken from the kernel (wait4's ru_maxrss),
which sees peaks between samples. The Markdown table goes to stdout and bench/out/sync-N.md.
NOTIFYD_BENCH_CMD (a command line) replaces the notifyd beside this Python, for testing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import make_registry
import psutil
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
MB = 1024 * 1024


@dataclass
class Phase:
    """One timed run of the notifyd command."""

    rows: int
    name: str
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_tree: int = 0  # bytes, sampled
    peak_single: int = 0  # bytes, the larger of sampled and the kernel's ru_maxrss
    processes: int = 0  # most processes seen at once
    returncode: int = 0
    stdout: str = ""
    stderr: str = ""


class TreeSampler(threading.Thread):
    """Samples the RSS of a process and its descendants until stopped."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_tree = 0
        self.peak_single = 0
        self.processes = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop_event.is_set():
            self.sample(root)
            self._stop_event.wait(self.interval)

    def sample(self, root: psutil.Process) -> None:
        try:
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return
        total = 0
        for proc in procs:
            try:
                rss = proc.memory_info().rss
            except psutil.Error:  # gone, or a zombie not yet reaped
                continue
            total += rss
            self.peak_single = max(self.peak_single, rss)
        self.peak_tree = max(self.peak_tree, total)
        self.processes = max(self.processes, len(procs))

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def notifyd_command() -> list[str]:
    """The command to benchmark: $NOTIFYD_BENCH_CMD, else the notifyd beside this Python."""
    override = os.environ.get("NOTIFYD_BENCH_CMD")
    if override:
        command = shlex.split(override)
        if not shutil.which(command[0]):
            sys.exit(f"NOTIFYD_BENCH_CMD: {command[0]} not found")
        return command
    path = Path(sys.executable).parent / "notifyd"
    if not path.exists():
        sys.exit(f"{path} not found: install the package first (pip install -e .)")
    return [str(path)]


def toml_string(value: object) -> str:
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def write_config(path: Path, workdir: Path, rows: int, export: Path, url: str) -> None:
    """A config for one office, the bench's database and spool channels."""
    path.write_text(
        f"""channel_order = ["whatsapp", "sms"]
state_dir = {toml_string(workdir / f"state-{rows}")}

[database]
url = {toml_string(url)}

[registry]
path = {toml_string(export)}
max_drop_share = 0.5

[offices.BLT]
name = "Kantor Imigrasi Kelas II Non TPI Blitar"
timezone = "Asia/Jakarta"
window = "09:00-17:00"

[channels.whatsapp]
plugin = "spool"
kind = "whatsapp"

[channels.sms]
plugin = "spool"
kind = "sms"
""",
        encoding="utf-8",
    )


def fresh_database(workdir: Path, rows: int, server: str | None) -> str:
    """An empty database for N rows, its URL: a SQLite file in the workdir, or a database
    made on the `--database` PostgreSQL server; and an empty state folder."""
    state = workdir / f"state-{rows}"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    if server is None:
        drop_database(workdir, rows, None)
        return f"sqlite:///{workdir / f'bench-{rows}.db'}"
    drop_database(workdir, rows, server)
    with _admin(server) as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{_pg_name(rows)}"')
    return make_url(server).set(database=_pg_name(rows)).render_as_string(hide_password=False)


def drop_database(workdir: Path, rows: int, server: str | None) -> None:
    """Remove what fresh_database made."""
    if server is None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            (workdir / f"bench-{rows}.db{suffix}").unlink(missing_ok=True)
        return
    with _admin(server) as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{_pg_name(rows)}" WITH (FORCE)')


def _pg_name(rows: int) -> str:
    return f"notifyd_sync_bench_{rows}_{os.getpid()}"


@contextmanager
def _admin(server: str) -> Iterator[Any]:
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def run_phase(command: list[str], config: Path, phase: Phase, logs: Path) -> Phase:
    """Run `command -c config sync`, timed, its memory sampled; output kept in `logs`.*"""
    with (
        logs.with_suffix(".out").open("w+b") as out,
        logs.with_suffix(".err").open("w+b") as err,
    ):
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*command, "-c", str(config), "sync"], stdin=subprocess.DEVNULL, stdout=out, stderr=err
        )
        sampler = TreeSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        phase.seconds = time.perf_counter() - started
        proc.returncode = phase.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        out.seek(0)
        err.seek(0)
        phase.stdout = out.read().decode("utf-8", "replace")
        phase.stderr = err.read().decode("utf-8", "replace")
    phase.cpu_seconds = usage.ru_utime + usage.ru_stime
    phase.peak_tree = sampler.peak_tree
    phase.peak_single = max(sampler.peak_single, usage.ru_maxrss * 1024)  # Linux: KiB
    phase.processes = sampler.processes
    return phase


def tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def table(phases: list[Phase]) -> str:
    out = [
        "| N | phase | seconds | rows/s | peak RSS MB (tree) | peak RSS MB (largest process)"
        " | CPU s | processes |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in phases:
        failed = "" if p.returncode == 0 else f" **failed ({p.returncode})**"
        out.append(
            f"| {p.rows:,} | {p.name}{failed} | {p.seconds:.1f} | {p.rows / p.seconds:,.0f} "
            f"| {p.peak_tree / MB:.0f} | {p.peak_single / MB:.0f} | {p.cpu_seconds:.1f} "
            f"| {p.processes} |"
        )
    return "\n".join(out)


def environment() -> str:
    try:
        version = metadata.version("notifyd")
    except metadata.PackageNotFoundError:
        version = "not installed"
    return (
        f"{platform.node()}, {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB"
        f" RAM, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
        f" (the bench's Python), notifyd {version}"
    )


def bench(rows: int, args: argparse.Namespace, command: list[str]) -> list[Phase]:
    """Generate the exports for `rows`, run the three phases, write the report."""
    workdir: Path = args.workdir
    today = args.today or make_registry.gen.office_today()
    export = workdir / f"registry-{rows}-s{args.seed}-{today}.csv"
    changed = export.with_name(f"{export.stem}-changed-{args.change_share:g}.csv")
    if args.reuse and export.exists() and changed.exists():
        note = "reused from an earlier run"
    else:
        started = time.perf_counter()
        make_registry.write_export(export, rows, seed=args.seed, today=today)
        middle = time.perf_counter()
        make_registry.change_export(export, changed, args.change_share, seed=args.seed, today=today)
        note = (
            f"generated in {middle - started:.1f} s, the changed copy in "
            f"{time.perf_counter() - middle:.1f} s (not counted)"
        )
    print(f"N={rows:,}: {export.name} ({export.stat().st_size / MB:.0f} MB), {note}")

    config = workdir / f"config-{rows}.toml"
    config_changed = workdir / f"config-{rows}-changed.toml"
    url = fresh_database(workdir, rows, args.database)
    write_config(config, workdir, rows, export, url)
    write_config(config_changed, workdir, rows, changed, url)
    try:
        phases = run_phases(rows, args, command, workdir, config, config_changed)
    finally:
        if not args.keep:
            drop_database(workdir, rows, args.database)
    report(rows, phases, args, command, export)
    return phases


def run_phases(
    rows: int,
    args: argparse.Namespace,
    command: list[str],
    workdir: Path,
    config: Path,
    config_changed: Path,
) -> list[Phase]:

    share = f"{args.change_share:.0%}" if args.change_share >= 0.01 else f"{args.change_share:g}"
    plan = [
        ("a", "full sync + plan, empty database", config),
        ("b", "unchanged re-sync", config),
        ("c", f"re-sync, {share} of rows changed", config_changed),
    ]
    phases: list[Phase] = []
    for key, name, cfg in plan:
        phase = run_phase(command, cfg, Phase(rows, name), workdir / f"sync-{rows}-{key}")
        phases.append(phase)
        db = sum(
            f.stat().st_size for f in workdir.glob(f"bench-{rows}.db*") if f.is_file()
        )  # database and WAL (SQLite)
        size = f", database {db / MB:.0f} MB" if db else ""
        print(
            f"  {key}. {name}: {phase.seconds:.1f} s, {rows / phase.seconds:,.0f} rows/s, "
            f"peak RSS {phase.peak_tree / MB:.0f} MB (tree), {phase.peak_single / MB:.0f} MB "
            f"(largest process), CPU {phase.cpu_seconds:.1f} s{size}"
        )
        if phase.returncode != 0:
            print(f"  FAILED: exit status {phase.returncode}; stderr:", file=sys.stderr)
            print(tail(phase.stderr, 40) or "(empty)", file=sys.stderr)
            if phase.stdout.strip():
                print("  stdout:\n" + tail(phase.stdout, 20), file=sys.stderr)
            break
    return phases


def report(
    rows: int, phases: list[Phase], args: argparse.Namespace, command: list[str], export: Path
) -> None:
    """Print the table and write it, with each phase's output, to bench/out/sync-N.md."""
    text = table(phases)
    print()
    print(text)
    print()
    invoked = " ".join(shlex.quote(a) for a in [Path(sys.argv[0]).as_posix(), *sys.argv[1:]])
    parts = [
        f"# notifyd sync benchmark, N = {rows:,}",
        "",
        f"- when: {datetime.now().isoformat(timespec='seconds')}",
        f"- command: `python {invoked}`",
        f"- notifyd: `{' '.join(command)} -c CONFIG sync`; export `{export.name}`",
        f"- machine: {environment()}",
        "- peak RSS (tree) is the sum over the process and its children, sampled every 50 ms;"
        " the largest process is the larger of the samples and the kernel's ru_maxrss.",
        "",
        text,
        "",
    ]
    for phase in phases:
        parts += [f"## {phase.name}", "", "```", tail(phase.stdout, 30) or "(no output)"]
        if phase.returncode != 0:
            parts += ["--- stderr ---", tail(phase.stderr, 40)]
        parts += ["```", ""]
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    path = out / f"sync-{rows}.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    print(f"written to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="N, repeatable (default 100000)")
    parser.add_argument(
        "--workdir", type=Path, default=HERE / "out" / "work",
        help="exports, configs, databases and logs (default bench/out/work)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument(
        "--today", type=date.fromisoformat, help="generator's today (default: in Asia/Jakarta)"
    )
    parser.add_argument("--change-share", type=float, default=0.01, help="default 0.01")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse exports already in the workdir (same N, seed, day)",
    )
    parser.add_argument(
        "--database",
        help="a PostgreSQL server URL (postgresql+psycopg://user@host:port/db): each N gets its "
        "own database there, dropped at the end (default: a SQLite file in the workdir)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the database after the run (default: drop it)"
    )
    args = parser.parse_args(argv)
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    command = notifyd_command()
    failed = False
    for rows in args.rows or [100_000]:
        phases = bench(rows, args, command)
        failed = failed or len(phases) < 3 or any(p.returncode for p in phases)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
