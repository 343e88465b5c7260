"""Crash resilience: kill -9 the daemon again and again while it sends, and count what reached
the provider: lost (never), duplicates (more than once), stuck (not settled at the end).

The provider is the sandbox (`notifyd sandbox`, its own process, loopback only) playing Twilio
SMS, answering each send after `--latency` seconds (its `hang` fault for every number) and
sending signed status callbacks that carry each send's attempt id in the callback URL. The
daemons are `notifyd run` processes (SQLite: one; PostgreSQL: `--instances`, each with its own
web port); every `--every` seconds on average one is killed with SIGKILL and started again.
At the end every instance gets SIGTERM and must exit 0.

    .venv/bin/python bench/resilience_bench.py [--notices 3000] [--kills 20] [--latency 0.25]
        [--db sqlite | --db postgresql+psycopg://postgres@127.0.0.1:5432/test --instances 3]

Bounded: loopback only, `--timeout` seconds at most. Results go to bench/out/resilience.txt.
`--port` sets the sandbox's port (a free one by default); the work dir (config, SQLite
database, logs) is removed at the end unless `--keep`, the PostgreSQL database always.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, func, make_url, select, text

from notifyd.db import schema

#: The permits expire in 14 days, office time: their 14-day notice is due now. Real time, not
#: `--now`: each `--now` clock starts when its process starts, so instances restarted at
#: different moments would disagree on time and take each other's leases.
DUE = (datetime.now(ZoneInfo("Asia/Jakarta")).date() + timedelta(days=14)).isoformat()
SID = "AC" + "5a" * 16
OUT = Path(__file__).parent / "out"
SETTLED = {"sent", "delivered", "read"}


_TAKEN: set[int] = set()


def free_port() -> int:
    """A free loopback port, never one handed out before in this run."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _TAKEN:
            _TAKEN.add(port)
            return port


def registry(path: Path, n: int) -> None:
    cols = ["registry_id", "full_name", "nationality", "passport_number", "permit_type",
            "permit_number", "expiry_date", "phone"]  # fmt: skip
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for i in range(n):
            w.writerow(
                [
                    f"BLT-{i:05d}",
                    f"Person {i}",
                    "AU",
                    f"PA{i:07d}",
                    "KITAS",
                    f"2C11AB{i:05d}-26",
                    DUE,
                    f"0812-{i // 10000:02d}{i % 10000:04d}-77",
                ]
            )


def config(work: Path, name: str, db: str, sandbox: int, web: int, callback: int) -> Path:
    path = work / f"{name}.toml"
    database = f'url = "{db}"' if db != "sqlite" else ""
    path.write_text(f"""
state_dir = "{work / "state"}"
channel_order = ["sms"]
[database]
{database}
[registry]
path = "{work / "registry.csv"}"
[offices.BLT]
timezone = "Asia/Jakarta"
window = "00:00-24:00"
weekend = []
holidays_country = ""
[channels.sms]
plugin = "twilio-sms"
kind = "sms"
concurrency = 16
[channels.sms.options]
base_url = "http://127.0.0.1:{sandbox}"
account_sid = "{SID}"
auth_token = "env:BENCH_TWILIO_TOKEN"
from = "+15005550006"
status_callback = "http://127.0.0.1:{callback}/hooks/sms"
timeout = 3.0
[dispatch]
tick_seconds = 0.5
batch_size = 100
lease_seconds = 8.0
send_timeout = 3.0
concurrency = 32
reconcile_seconds = 5.0
shutdown_grace = 5.0
same_phone_interval = 0.0
[http]
listen = "127.0.0.1:{web}"
[console]
listen = ""  # several instances on one host: no console (it measures delivery)
""")
    return path


def sandbox_call(port: int, method: str, path: str, data: Any = None) -> Any:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", body, method=method,
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def wait_port(port: int, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notices", type=int, default=3000)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.25)
    ap.add_argument(
        "--database",
        "--db",
        dest="db",
        default="sqlite",
        help="sqlite, or a PostgreSQL server URL (a database made, dropped after)",
    )
    ap.add_argument("--port", type=int, default=0, help="the sandbox's port (0: a free one)")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (daemon logs)")
    ap.add_argument("--instances", type=int, default=1)
    ap.add_argument("--every", type=float, default=4.0, help="mean seconds between kills")
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="notifyd-resilience-"))
    env = {**os.environ, "BENCH_TWILIO_TOKEN": "sandbox-auth-token"}
    env.pop("NOTIFY_SOCKET", None)
    cli = [sys.executable, "-m", "notifyd.cli.main"]
    registry(work / "registry.csv", args.notices)
    server = args.db
    if server != "sqlite":  # a fresh database of its own on that server, dropped at the end
        name = f"notifyd_resilience_{os.getpid()}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        args.db = make_url(server).set(database=name).render_as_string(hide_password=False)
    sb_port = args.port or free_port()
    webs = [free_port() for _ in range(args.instances)]
    paths = [config(work, f"n{i}", args.db, sb_port, webs[i], webs[0])
             for i in range(args.instances)]  # fmt: skip
    procs: list[subprocess.Popen[bytes] | None] = [None] * args.instances
    logs = [open(work / f"n{i}.log", "ab") for i in range(args.instances)]  # noqa: SIM115
    sandbox = subprocess.Popen(
        [*cli, "sandbox", "--listen", f"127.0.0.1:{sb_port}", "--callback-delay", "0.2",
         "--callback-url", f"http://127.0.0.1:{webs[0]}/hooks"],
        env=env, stdout=open(work / "sandbox.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )  # fmt: skip
    try:
        wait_port(sb_port)
        sandbox_call(sb_port, "POST", "/_sandbox/faults",
                     {"provider": "twilio-sms", "to": "*", "kind": "hang",
                      "seconds": args.latency})  # fmt: skip
        done = subprocess.run([*cli, "-c", str(paths[0]), "sync"], env=env, capture_output=True)
        assert done.returncode == 0, done.stderr.decode()

        def start(i: int) -> None:
            procs[i] = subprocess.Popen([*cli, "-c", str(paths[i]), "run"], env=env,
                                        stdout=logs[i], stderr=subprocess.STDOUT)  # fmt: skip

        for i in range(args.instances):
            start(i)
        began = time.monotonic()
        kills = 0
        while kills < args.kills and time.monotonic() - began < args.timeout:
            time.sleep(rng.uniform(0.5, 2 * args.every - 0.5))
            i = rng.randrange(args.instances)
            proc = procs[i]
            assert proc is not None
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            start(i)
        engine = create_engine(args.db if args.db != "sqlite"
                               else f"sqlite:///{work / 'state' / 'notifyd.db'}")  # fmt: skip
        n = schema.notifications

        def open_count() -> int:
            with engine.connect() as conn:
                return int(conn.execute(select(func.count()).where(
                    n.c.stage == 14, n.c.status.not_in(SETTLED))).scalar_one())  # fmt: skip

        while open_count() and time.monotonic() - began < args.timeout:
            time.sleep(1)
        took = time.monotonic() - began
        codes = []
        for proc in procs:
            assert proc is not None
            proc.send_signal(signal.SIGTERM)
            codes.append(proc.wait(30))
        requests = sandbox_call(sb_port, "GET", "/_sandbox/requests?provider=twilio-sms")
        got: dict[str, int] = {}
        for r in requests:
            if r.get("method", "POST") == "POST" and isinstance(r.get("body"), dict):
                to = r["body"].get("To")
                if to:
                    got[to] = got.get(to, 0) + 1
        with engine.connect() as conn:
            stuck = open_count()
            counted = int(conn.execute(text(
                "SELECT COALESCE(SUM(k - 1), 0) FROM (SELECT notification_id, COUNT(*) AS k "
                "FROM attempts WHERE outcome = 'sent' GROUP BY notification_id "
                "HAVING COUNT(*) > 1) AS d")).scalar_one())  # fmt: skip
        engine.dispose()
        lost = args.notices - len(got)
        duplicates = sum(c - 1 for c in got.values())
        load = os.getloadavg()[0]
        line = (f"{datetime.now(UTC):%Y-%m-%d %H:%M} db={args.db.split('+')[0].split(':')[0]} "
                f"instances={args.instances} notices={args.notices} latency={args.latency}s "
                f"kills={kills} lost={lost} duplicates={duplicates} stuck={stuck} "
                f"duplicates_counted_by_notifyd={counted} exit_codes={codes} "
                f"seconds={took:.0f} load1={load:.1f}")  # fmt: skip
        print(line)
        OUT.mkdir(exist_ok=True)
        with open(OUT / "resilience.txt", "a") as f:
            f.write(line + "\n")
    finally:
        for proc in procs:
            if proc is not None and proc.poll() is None:
                proc.kill()
        sandbox.terminate()
        sandbox.wait(10)
        for log in logs:
            log.close()
        if args.keep:
            print(f"work dir kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        if server != "sqlite":
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
