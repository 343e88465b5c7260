"""The console at national size: p95 search time and page time with N people, on SQLite and
PostgreSQL.

People and permits are bulk-inserted (names in many scripts from bench/registry_gen.py, unique
E.164 phones and passports), not run through the sync, so that 1,000,000 fit in minutes; then
the search keys are built with notifyd.db.search.refresh (timed: it is what the console does
after a first sync). Searches: partial names (a random part of an existing name, in its own
script), phones written 0812…, passports and permit numbers. Page time: the search POST and a
person's page over real HTTP against the console app, signed in as a supervisor.

    .venv/bin/python bench/console_bench.py --people 1000000 --db sqlite --db postgresql \
        [--database postgresql+psycopg://USER@HOST:PORT/DB] [--workdir WORKDIR] [--drop]

SQLite is the file `console-N.db` in --workdir. PostgreSQL is the database
`notifyd_console_bench`, made afresh on the server --database names (default
postgresql+psycopg://postgres@127.0.0.1:5432/test); the URL's own database is only where the
bench connects to make and drop it (`postgres` if the URL names `notifyd_console_bench`).

The database is kept by default, on purpose: bench/console_log_bench.py runs on the one this
bench leaves, and `--reuse` times it again without filling it anew. `--drop` removes it at the
end, even after an error (the PostgreSQL database WITH (FORCE), or the SQLite file and its
-wal/-shm).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import registry_gen as gen  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from notifyd import config  # noqa: E402
from notifyd.db import search, store, users  # noqa: E402

NOW = datetime(2026, 12, 4, 2, 30, tzinfo=UTC)
#: the PostgreSQL server (--database) by default; the bench's own database is DATABASE on it
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASE = "notifyd_console_bench"


def fill(engine: Any, n: int, seed: int = 7) -> list[tuple[int, str, str, str, str]]:
    """Bulk-insert n people with a permit each; returns a sample of (id, name, phone,
    passport, permit) to search for."""
    rng = random.Random(seed)
    factory = gen.RowFactory(rng, date(2026, 12, 4), id_width=7)
    stamp = store.instant_param(engine.connect())(NOW)
    sample: list[tuple[int, str, str, str, str]] = []
    people, permits = [], []
    expiry = date(2026, 12, 31)
    with engine.begin() as conn:
        for i in range(1, n + 1):
            row, _ = factory.row()
            phone = f"+62812{i:08d}"
            passport = f"X{i:08d}"
            permit = f"2C11{i:08d}-26"
            people.append((i, f"P{i:08d}", row["full_name"], "ID", passport, "id", phone,
                           "", stamp, stamp))  # fmt: skip
            permits.append((i, permit, i, "KITAS", "BLT", expiry, "x", True, "[]", stamp, stamp))
            if rng.random() < 2000 / n:
                sample.append((i, row["full_name"], phone, passport, permit))
            if len(people) == 10000 or i == n:
                store.executemany(
                    conn,
                    "INSERT INTO people (id, registry_id, full_name, nationality, passport_number,"
                    " language, phone, channels, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    people,
                )
                store.executemany(
                    conn,
                    "INSERT INTO permits (id, permit_number, person_id, permit_type, office,"
                    " expiry_date, row_hash, active, warnings, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    permits,
                )
                people, permits = [], []
    return sample


def sample_of(engine: Any, n: int, seed: int = 7) -> list[tuple[int, str, str, str, str]]:
    """The people to search for in a database a previous run filled."""
    rng = random.Random(seed)
    ids = sorted(rng.sample(range(1, n + 1), min(n, 2000)))
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT pe.id, pe.full_name, pe.phone, pe.passport_number, p.permit_number"
                " FROM people pe JOIN permits p ON p.person_id = pe.id WHERE pe.id IN :ids"
            ).bindparams(store.expanding("ids")),
            {"ids": ids},
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def part_of(name: str, rng: random.Random) -> str:
    """What a caller gives: one word of the name, or the whole, in another case."""
    words = name.split()
    pick = rng.choice(words) if len(words) > 1 and rng.random() < 0.6 else name
    return pick.lower() if rng.random() < 0.5 else pick


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] * 1000


def time_queries(engine: Any, queries: list[str]) -> tuple[float, float, float]:
    times, hits = [], 0
    for q in queries:
        t = time.perf_counter()
        found = search.find(engine, q)
        times.append(time.perf_counter() - t)
        hits += bool(found)
    return p95(times), statistics.median(times) * 1000, hits / len(queries)


async def pages(url: str, engine: Any, sample: list[Any], rounds: int) -> dict[str, float]:
    import aiohttp

    from notifyd.console import app as console

    # the person page renders each notice's words; these people have no notices planned, so
    # the figure is the page's queries and template (voice notes load separately, on demand)
    cfg = config.parse({"state_dir": url, "console": {"listen": "127.0.0.1:0"}})
    if not any(u["name"] == "bench" for u in users.list_users(engine)):  # --reuse
        users.add_user(engine, "bench", "supervisor", "bench password 1", NOW, "bench")
    runner = await console.start(cfg, engine, clock=lambda: NOW)
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    out: dict[str, list[float]] = {"search page": [], "person page": []}
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(base + "/signin") as r:
            body = await r.text()
        pre = body.split('name="pre" value="')[1].split('"')[0]
        async with http.post(base + "/signin", data={"pre": pre, "name": "bench",
                             "password": "bench password 1"}) as r:  # fmt: skip
            body = await r.text()
        csrf = body.split('name="csrf" value="')[1].split('"')[0]
        rng = random.Random(3)
        for _ in range(rounds):
            pid, name, phone, _passport, _permit = rng.choice(sample)
            t = time.perf_counter()
            async with http.post(
                base + "/search", data={"csrf": csrf, "q": part_of(name, rng)}
            ) as r:
                await r.read()
                assert r.status == 200
            out["search page"].append(time.perf_counter() - t)
            t = time.perf_counter()
            async with http.get(f"{base}/person/{pid}") as r:
                await r.read()
                assert r.status == 200
            out["person page"].append(time.perf_counter() - t)
    await runner.cleanup()
    return {k: p95(v) for k, v in out.items()}


def bench_url(server: str) -> str:
    """The URL of the bench's database, DATABASE, on the server `server` names."""
    return make_url(server).set(database=DATABASE).render_as_string(hide_password=False)


def _admin_url(server: str) -> str:
    """Where to connect to make or drop DATABASE: the server URL's own database, or `postgres`
    when that is DATABASE itself (a database cannot be dropped from inside)."""
    url = make_url(server)
    if url.database in (None, "", DATABASE):
        url = url.set(database="postgres")
    return url.render_as_string(hide_password=False)


def _pg(server: str, sql: str, params: dict[str, str] | None = None) -> Any:
    """Run one statement on the server, outside any database of the bench; its first row."""
    admin = create_engine(_admin_url(server), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            result = conn.execute(text(sql), params or {})
            return result.first() if result.returns_rows else None
    finally:
        admin.dispose()


def exists(server: str) -> bool:
    """Whether DATABASE is on the server."""
    found = _pg(server, "SELECT 1 FROM pg_database WHERE datname = :name", {"name": DATABASE})
    return found is not None


def _sqlite_files(path: Path) -> list[Path]:
    return [Path(str(path) + suffix) for suffix in ("", "-wal", "-shm")]


def drop_database(server: str) -> None:
    """Drop DATABASE on the server, connections and all."""
    _pg(server, f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')


def run(db: str, n: int, workdir: Path, queries: int, reuse: bool = False,
        drop: bool = False, server: str = SERVER) -> None:  # fmt: skip
    path = workdir / f"console-{n}.db"
    engine = None
    try:
        if db == "sqlite":
            for stale in _sqlite_files(path) if not reuse else []:
                stale.unlink(missing_ok=True)
            url = f"sqlite:///{path}"
        else:
            if not reuse:
                drop_database(server)
                _pg(server, f'CREATE DATABASE "{DATABASE}"')
            elif not exists(server):
                raise SystemExit(f"--reuse: no {DATABASE} on {make_url(server)}: run without it")
            url = bench_url(server)
        engine = store.open_store(url)
        measure(db, n, workdir, queries, reuse, engine)
    finally:
        if engine is not None:
            engine.dispose()
        if drop and db == "postgresql":
            drop_database(server)
        elif drop:
            for left in _sqlite_files(path):
                left.unlink(missing_ok=True)


def measure(db: str, n: int, workdir: Path, queries: int, reuse: bool, engine: Any) -> None:
    """Fill the database (unless reuse), then print the search and page times."""
    filled = indexed = 0.0
    if reuse:
        sample = sample_of(engine, n)
    else:
        t = time.perf_counter()
        sample = fill(engine, n)
        filled = time.perf_counter() - t
        t = time.perf_counter()
        search.refresh(engine, NOW)
        indexed = time.perf_counter() - t
    if db == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    rng = random.Random(11)
    picks = [rng.choice(sample) for _ in range(queries)]
    kinds = {
        "name (part)": [part_of(s[1], rng) for s in picks],
        "phone 0812…": ["0" + s[2][3:6] + "-" + s[2][6:10] + "-" + s[2][10:] for s in picks],
        "passport": [s[3].lower() for s in picks],
        "permit": [s[4].lower() for s in picks],
    }
    print(f"\n{db}, {n:,} people: bulk insert {filled:.1f} s, search keys built {indexed:.1f} s")
    print("| kind | p95 ms | median ms | found |")
    print("|---|---:|---:|---:|")
    for kind, qs in kinds.items():
        high, mid, hit = time_queries(engine, qs)
        print(f"| {kind} | {high:.1f} | {mid:.1f} | {hit:.0%} |")
    figures = asyncio.run(
        pages(str(workdir / "console-bench-state"), engine, sample, max(50, queries // 4))
    )
    for kind, value in figures.items():
        print(f"| {kind} over HTTP (p95) | {value:.1f} | | |")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0].replace("\n", " "),
        epilog="The database is kept by default: bench/console_log_bench.py runs on it, and"
        " --reuse times it again. --drop removes it.",
    )
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument(
        "--db", action="append", choices=["sqlite", "postgresql"],
        help="the database(s) to time, repeatable (default: sqlite)",
    )  # fmt: skip
    ap.add_argument(
        "--database", default=SERVER, metavar="URL",
        help="the PostgreSQL server for --db postgresql, postgresql+psycopg://USER@HOST:PORT/DB"
        f" (default {SERVER}); the bench's database, {DATABASE}, is made on it",
    )  # fmt: skip
    ap.add_argument(
        "--workdir", type=Path, default=Path("/tmp"),
        help="where the SQLite file console-N.db goes (default /tmp)",
    )  # fmt: skip
    ap.add_argument("--queries", type=int, default=400)
    ap.add_argument(
        "--reuse", action="store_true",
        help="time the database a previous run filled and kept, without filling it anew",
    )  # fmt: skip
    ap.add_argument(
        "--drop", action="store_true",
        help="remove the database at the end, even after an error (kept by default:"
        " console_log_bench.py runs on it)",
    )  # fmt: skip
    args = ap.parse_args()
    for db in args.db or ["sqlite"]:
        run(db, args.people, args.workdir, args.queries, args.reuse, args.drop, args.database)


if __name__ == "__main__":
    main()
