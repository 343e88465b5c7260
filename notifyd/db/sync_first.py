"""A first sync into an empty store: plain inserts with ids the sync gives itself.

With no people and no permits stored, every permit of the snapshot is new (a repeated
number is rejected before it gets here), so permits need no upsert and no read-back of their
ids; people need one only for a registry id met again in a later chunk, which the insert's
row count shows (SQLite) or the registry ids met so far tell (PostgreSQL, insert_people).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, ForeignKeyConstraint, Index
from sqlalchemy.schema import AddConstraint, DropConstraint

from notifyd.db import schema as s
from notifyd.db.store import executemany, insert_rows
from notifyd.db.sync import PERMIT_COLUMNS, PERSON_COLUMNS, ids_of, permit_rows, person_rows
from notifyd.errors import StoreError
from notifyd.model import Record

log = logging.getLogger(__name__)


@dataclass
class FirstIds:
    """The last person and permit ids given by this sync."""

    person: int = 0
    permit: int = 0


@contextmanager
def empty_sqlite(conn: Connection, journal: bool = True) -> Iterator[Callable[[], None]]:
    """Around a sync's transaction on SQLite, when the store holds no people and no permits:
    foreign keys checked once, by the callable given (before the commit), and the pages
    written once, to the database file.

    - Keys: checked row by row, a million people and permits and three million notices cost
      3.2 CPU-s; the check took 0.14 s over 200,000 permits and their 600,000 notices.
      PostgreSQL's are dropped and added back instead (first_ids).
    - Pages: in WAL mode every page of a first sync (1.2 GB at a million permits) is written to
      the WAL, then copied into the database by the checkpoint. A rollback journal keeps only
      the pages the file had before (a few: the store is empty), so the rest is written once:
      a million rows took 38-41 s against 48 s, half the system time. SQLite allows the
      switch only to a connection alone on the file (another connection open: the sync stays
      in WAL, as before), with `synchronous=FULL` for the rollback journal's safety. While it
      runs, other connections' reads wait for it, not only their writes (store.connect leaves
      them in the file's mode): only when `journal` (the command line's sync, not the
      daemon's, whose dispatcher and web app read while it syncs). After it, the store is in
      WAL mode again.

    The pragmas are no-ops inside a transaction, hence before it; the connection gets its
    settings back after, whatever happened. Another writer that got in first (the
    transaction finds the store no longer empty) changes nothing: the check at the end covers
    every table.
    """
    driver = conn.connection.driver_connection
    empty = conn.dialect.name == "sqlite" and not any(
        driver.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone()  # type: ignore[union-attr]
        for table in ("people", "permits")
    )
    if not empty:
        yield lambda: None
        return
    driver.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
    level = _rollback_journal(driver) if journal else None
    try:
        yield lambda: _check_keys(conn)
    finally:
        driver.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
        if level is not None:
            _back_to_wal(driver, level)
        cache = conn.info.pop("sync_first_cache", None)  # a sync that failed before finish
        if cache is not None:
            driver.execute(f"PRAGMA main.cache_size={int(cache)}")  # type: ignore[union-attr]


def _rollback_journal(driver: Any) -> int | None:
    """Leave WAL mode for a rollback journal; return the synchronous level to restore after,
    or None when another connection holds the file open (it stays in WAL mode)."""
    try:
        mode = driver.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except sqlite3.OperationalError:  # "database is locked": not alone on the file
        return None
    if mode != "delete":  # an in-memory store
        return None
    level = int(driver.execute("PRAGMA synchronous").fetchone()[0])
    driver.execute("PRAGMA synchronous=FULL")
    return level


def _back_to_wal(driver: Any, level: int) -> None:
    driver.execute(f"PRAGMA synchronous={level}")
    try:
        driver.execute("PRAGMA journal_mode=WAL")
    except sqlite3.OperationalError:  # a reader in the middle of a read: the next connect does it
        log.warning("the store stays in its rollback journal mode until the next connection")


def _check_keys(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
    if broken is not None:
        raise StoreError(
            f"the sync would leave a row of {broken[0]} (rowid {broken[1]}) pointing at a "
            f"missing row of {broken[2]}; nothing was changed (a bug: please report it)"
        )


def first_ids(conn: Connection) -> FirstIds | None:
    """Ids to give from when the store has no people and no permits; None otherwise.

    The people's and permits' secondary indexes are dropped then, inside the sync's
    transaction (a failed or refused sync rolls the drop back), and `finish` builds them once:
    a million rows inserted into five B-trees in random key order cost more than sorted builds.
    So is the permits' unique number index: a first sync inserts each number once (a repeated
    one is rejected before, registry/seen.py) and asks nothing of the index, which `finish`
    builds back unique, so that a number stored twice would still fail the sync. A million
    permits, alone: 6.5 CPU-s with the index, 2.8 + 1.1 for its build at the end.
    On PostgreSQL the foreign keys from notices to permits and permits to people go the same
    way: checked row by row they are a trigger and a locking read of the parent for each of
    three million notices (3-4 s of 6 at 300,000 here), checked when `finish` adds them back
    one join over all rows (0.1 s). SQLite cannot drop a foreign key: empty_sqlite turns
    its checks off around the transaction and runs them once before the commit.
    """
    for table in ("people", "permits"):
        if conn.exec_driver_sql(f"SELECT 1 FROM {table} LIMIT 1").first() is not None:
            return None
    for index in _secondary():
        index.drop(conn)
    if conn.dialect.name == "postgresql":
        for key in _deferred_keys():
            conn.execute(DropConstraint(key))
    else:  # inserts in key order need few pages at hand; `finish` gives the cache back
        conn.info["sync_first_cache"] = conn.exec_driver_sql("PRAGMA main.cache_size").scalar()
        conn.exec_driver_sql(f"PRAGMA main.cache_size=-{FIRST_CACHE_KIB}")
    return FirstIds()


#: The main page cache while a first sync inserts, KiB (32 MiB otherwise, store.connect): with
#: the random-order indexes (numbers, phones, passports) built at the end, the inserts append,
#: and a larger cache only holds memory while the worker also runs (the process tree's peak).
FIRST_CACHE_KIB = 8192


def _deferred_keys() -> list[ForeignKeyConstraint]:
    """The foreign keys a first sync on PostgreSQL checks once at the end (see first_ids)."""
    return [
        k
        for t in (s.permits, s.notifications)
        for k in sorted(t.foreign_key_constraints, key=lambda k: str(k.name))
        if k.referred_table in (s.people, s.permits)
    ]


def _secondary() -> list[Index]:
    """Indexes no insert of a first sync needs: all but the people's registry ids, which decide
    its conflicts (a person on several rows)."""
    return [
        i
        for t in (s.people, s.permits)
        for i in sorted(t.indexes, key=lambda i: str(i.name))
        if not i.unique or t is s.permits
    ]


def _insert_sql(table: str, columns: Sequence[str], key: str) -> str:
    marks = ", ".join("?" * (len(columns) + 1))
    return (
        f"INSERT INTO {table} (id, {', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT ({key}) DO NOTHING"
    )


#: registry/seen.py's MetKeys.meet: of the registry ids given, those an earlier chunk may have
#: stored ("maybe": a hash met before); every one given counts as met after.
Met = Callable[[Sequence[str]], list[str]]


def insert_people(
    conn: Connection, records: Sequence[Record], now: datetime, ids: FirstIds, met: Met
) -> tuple[dict[str, int], list[Record]]:
    """Insert the chunk's people with ids given here; return registry id → person id for
    them, and the records of registry ids an earlier chunk already stored (left unchanged,
    for the caller to compare and upsert as any sync does).

    On PostgreSQL `met` tells which registry ids an earlier chunk may have stored, the
    people stored settle those (a few, or none), and the rest are copied straight in:
    through a scratch table and an `INSERT … ON CONFLICT`, 100,000 people took 2.2 s here,
    copied 0.5 s. SQLite's own `ON CONFLICT DO NOTHING` costs less than the memory `met`
    keeps (8 bytes a person).
    """
    latest = {r.registry_id: r for r in records}  # a person on several rows: the last row wins
    start = ids.person + 1
    given = {rid: start + i for i, rid in enumerate(latest)}
    ids.person += len(given)
    if conn.dialect.name == "postgresql":
        maybe = met(list(given))
        again = set(ids_of(conn, "people", "registry_id", maybe)) if maybe else set()
        new = [r for rid, r in latest.items() if rid not in again]
        rows = [(given[row[0]], *row) for row in person_rows(conn, new, now)]  # 0: registry id
        insert_rows(conn, "people", ("id", *PERSON_COLUMNS), rows)
    else:
        rows = [(given[row[0]], *row) for row in person_rows(conn, latest.values(), now)]
        sql = _insert_sql("people", PERSON_COLUMNS, "registry_id")
        if executemany(conn, sql, rows) == len(rows):
            return given, []
        stored = ids_of(conn, "people", "registry_id", list(latest))
        again = {rid for rid, pid in stored.items() if given[rid] != pid}
    return {rid: pid for rid, pid in given.items() if rid not in again}, [
        r for r in records if r.registry_id in again
    ]


def insert_permits(
    conn: Connection,
    items: Sequence[tuple[Record, str]],
    person_ids: dict[str, int],
    now: datetime,
    ids: FirstIds,
) -> dict[str, int]:
    """Insert new permits with ids given here; return permit number → permit id."""
    start = ids.permit + 1
    rows = [(start + i, *row) for i, row in enumerate(permit_rows(conn, items, person_ids, now))]
    ids.permit += len(rows)
    insert_rows(conn, "permits", ("id", *PERMIT_COLUMNS), rows)  # numbers not met before
    return {r.permit_number: start + i for i, (r, _) in enumerate(items)}


def finish(conn: Connection) -> None:
    """Build the indexes first_ids dropped; on PostgreSQL, move the id sequences past the
    ids given here."""
    before = conn.info.pop("sync_first_cache", None)
    if before is not None:  # the index builds sort in it
        conn.exec_driver_sql(f"PRAGMA main.cache_size={int(before)}")
    for index in _secondary():
        index.create(conn)
    if conn.dialect.name == "sqlite":
        return
    for key in _deferred_keys():  # checks every row once: a missing parent fails the sync
        conn.execute(AddConstraint(key))
    # Statistics for what was just loaded, as autovacuum would take them a minute after the
    # commit if it runs: without them the sync's own count of who can be reached (sync.reach)
    # joined every person one by one (0.5 s of 100,000 people, 0.08 s with them), and the
    # next re-sync read every notice for each chunk's (20 seq scans of 3 million: 9.3 s of a
    # 1 % re-sync at 1 M, 7 ms a chunk with them). A sample of 3,000 rows a table (target 10)
    # gives those plans: 0.12 s at 1 M, against 1.0 s for the default 30,000; autovacuum
    # takes the full sample later.
    conn.exec_driver_sql("SET LOCAL default_statistics_target = 10")
    conn.exec_driver_sql("ANALYZE people, permits, notifications")  # the SET ends with the sync
    for table in ("people", "permits"):
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"coalesce((SELECT max(id) FROM {table}), 1), "
            f"(SELECT max(id) FROM {table}) IS NOT NULL)"
        )
