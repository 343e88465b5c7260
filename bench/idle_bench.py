"""The idle daemon's cost: `notifyd run` with nothing due, its CPU, wakeups and RSS over a minute.

The daemon runs as a subprocess on a config of its own (an empty registry, a spool channel,
a SQLite database in a temporary state dir, or `--database URL`; the staff console on
`--port`, a free port by default). Start-up (imports, migration, the first sync and purge) is
left out: the bench waits `--settle` seconds, then until a 5 s window costs under 2 % CPU.
Everything it makes is removed at the end (the temporary dir, the PostgreSQL database).

    .venv/bin/python bench/idle_bench.py [--seconds 60] [--runs 3] [--rows 0] [--port 0] \\
        [--database URL]

`--rows N` syncs an N-row export (bench/make_registry.py's generator) into the database before
the daemon starts, so it idles over a realistic queue: N permits and their planned notices
(those due at once are sent, to the spool, while it settles).

With --database postgresql+psycopg://user@host/db, a database `notifyd_idle_bench` is made
afresh on that server and dropped after. Results are appended to bench/out/idle.txt.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).parent))
from benchdb import scratch_database  # noqa: E402
from channels_bench import free_port  # noqa: E402
from make_registry import write_export  # noqa: E402

OUT = Path(__file__).parent / "out"


def idle(
    seconds: float, settle: float, workdir: Path, url: str, rows: int, port: int
) -> tuple[float, float, float]:
    """CPU % (of one core), peak RSS (MB) and wakeups a minute of `notifyd run` with nothing
    due; with `rows`, on a database synced from an export of that many rows first (its notices
    planned, those due at once sent during the settling time)."""
    registry = workdir / "registry.csv"
    if rows:
        write_export(registry, rows, seed=1)
    else:
        registry.write_text("registry_id,full_name,nationality,permit_number,expiry_date\n")
    cfg = workdir / "idle.toml"
    database = f'[database]\nurl = "{url}"\n' if url else ""
    cfg.write_text(
        f'state_dir = "{workdir / "idle-state"}"\nchannel_order = ["sms"]\n'
        f'[registry]\npath = "{workdir / "registry.csv"}"\n'
        '[channels.sms]\nplugin = "spool"\nkind = "sms"\n'
        f'[console]\nlisten = "127.0.0.1:{port or free_port()}"\n' + database
    )
    if rows:  # synced now, so the daemon does not sync again at start
        sync = [sys.executable, "-m", "notifyd.cli", "-c", str(cfg), "sync"]
        subprocess.run(sync, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cmd = [sys.executable, "-m", "notifyd.cli", "-c", str(cfg), "run"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        p = psutil.Process(proc.pid)
        settled(p, settle, proc)  # start-up (imports, migration, first sync) is not idle time
        before = threads(proc.pid)
        t0 = time.monotonic()
        rss = 0
        while time.monotonic() - t0 < seconds:
            rss = max(rss, p.memory_info().rss)
            time.sleep(1)
        after, elapsed = threads(proc.pid), time.monotonic() - t0
        ns = sum(run - before.get(tid, (0, 0))[0] for tid, (run, _) in after.items())
        slices = sum(n - before.get(tid, (0, 0))[1] for tid, (_, n) in after.items())
        return 100 * ns / 1e9 / elapsed, rss / 2**20, 60 * slices / elapsed
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def threads(pid: int) -> dict[int, tuple[int, int]]:
    """Each thread's time on a CPU (ns) and times it ran (a wakeup each, when idle), by the
    scheduler's own clock (/proc/PID/task/*/schedstat): the 10 ms ticks of `cpu_times` make
    0.017 % the least a minute can show."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            run, _, slices = (task / "schedstat").read_text().split()
        except (FileNotFoundError, ValueError):  # a thread that just ended
            continue
        out[int(task.name)] = (int(run), int(slices))
    return out


def settled(p: psutil.Process, least: float, proc: subprocess.Popen[bytes]) -> None:
    """Wait `least` seconds, then until a 5 s window costs under 2 % CPU (start-up done on a
    loaded machine too), at most two minutes."""
    time.sleep(least)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            assert proc.stderr is not None
            raise SystemExit(f"notifyd run exited: {proc.stderr.read().decode()[-2000:]}")
        before = sum(p.cpu_times()[:2])
        time.sleep(5)
        if sum(p.cpu_times()[:2]) - before < 0.1:
            return
    raise SystemExit("notifyd run did not settle within two minutes")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--settle", type=float, default=10, help="start-up seconds left out")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--database", default="", help="a PostgreSQL server URL (default: SQLite)")
    ap.add_argument("--port", type=int, default=0, help="the staff console's (0: a free one)")
    ap.add_argument("--rows", type=int, default=0, help="sync an export of this many rows first")
    args = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    load = os.getloadavg()
    lines = [f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load {load[0]:.2f} {load[1]:.2f}"]
    cpus, rsss, wakes = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp, scratch_database(args.database, "idle") as url:
            cpu, rss, woke = idle(args.seconds, args.settle, Path(tmp), url, args.rows, args.port)
        cpus.append(cpu)
        rsss.append(rss)
        wakes.append(woke)
        print(f"  run: CPU {cpu:.3f} %, {woke:.0f} wakeups a minute, max RSS {rss:.0f} MB, "
              f"load {os.getloadavg()[0]:.2f}")  # fmt: skip
    kind = "postgresql" if args.database else "sqlite"
    lines.append(
        f"idle daemon ({kind}, {args.rows:,} registry rows) over {args.seconds:.0f} s: CPU median "
        f"{statistics.median(cpus):.3f} % ({', '.join(f'{c:.3f}' for c in cpus)}), "
        f"{statistics.median(wakes):.0f} thread wakeups a minute, max RSS {max(rsss):.0f} MB; "
        f"load after {os.getloadavg()[0]:.2f}"
    )
    print(lines[-1], flush=True)
    with open(OUT / "idle.txt", "a") as f:
        f.write("\n".join(lines) + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
