"""The idle tick's look before it leaps: one statement of index look-ups, every few seconds
for the daemon's whole life.

What an idle daemon costs is its wakeups: after a few seconds asleep, a process runs its code
cold (400 small Python calls took 0.7 ms after a 5 s sleep here, 0.012 ms hot), so each
thread a tick wakes and each line it runs count. On SQLite the look is therefore made on the
event loop's own thread (Watcher), on a connection of its own, its statement prepared once;
elsewhere, and whenever that connection cannot read at once, through the pool in a worker
thread (watch).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select

from notifyd.db import schema as s
from notifyd.db.store import Engine, reading
from notifyd.model import Status


@dataclass(frozen=True)
class Watch:
    """What a tick must know before doing anything: whether the pause state changed
    (`controls`, see dispatch.controls_version), the earliest due notice, the earliest lease
    to expire, and whether kept receipts or listen taps wait."""

    controls: tuple[int, int]
    next_due: datetime | None
    lease_expiry: datetime | None
    early: bool
    taps: bool

    def due(self, now: datetime) -> bool:
        """A claim would take something now (a due notice, or a lease that ran out)."""
        return any(at is not None and at <= now for at in (self.next_due, self.lease_expiry))

    def work(self, now: datetime) -> bool:
        """The tick has anything to do: a claim, a supersede or kept receipts to apply."""
        return self.early or self.due(now)


def _watch_statement() -> Any:
    """Built once: neither the statement nor (PostgreSQL, psycopg) its plan is made again."""
    n, c, e, t = s.notifications, s.controls, s.early_receipts, s.waiting_taps

    def earliest(column: Any, status: str) -> Any:
        return select(func.min(column)).where(n.c.status == status).scalar_subquery()

    return select(
        select(func.count()).select_from(c).scalar_subquery(),
        select(func.coalesce(func.max(c.c.id), 0)).scalar_subquery(),
        earliest(n.c.due_at, Status.SCHEDULED.value),
        earliest(n.c.due_at, Status.RETRYING.value),
        earliest(n.c.lease_until, Status.SENDING.value),
        exists(select(e.c.id)),
        exists(select(t.c.id)),
    )


_WATCH = _watch_statement()


def watch(engine: Engine) -> Watch:
    """The look through the engine's pool (in a worker thread: it may wait on the database)."""
    with reading(engine) as conn:
        return _made(tuple(conn.execute(_WATCH).one()))


def _made(row: tuple[Any, ...]) -> Watch:
    count, top, scheduled, retrying, lease, early, taps = row
    waiting = [at for at in (scheduled, retrying) if at is not None]
    return Watch((int(count), int(top)), min(waiting, default=None), lease, bool(early),
                 bool(taps))  # fmt: skip


class Watcher:
    """The look on SQLite from the event loop's thread, without a worker thread or the pool.

    Its connection is kept open and never waits (busy_timeout 0): a read in WAL mode does not
    wait for writers, and when it would (a first sync holding the file through a rollback
    journal, a recovery), `look` says None and the caller reads the usual way. It is made
    query-only. On the idle daemon: 0.61 % of a core before, see docs/benchmarks.md.
    """

    def __init__(self, engine: Engine) -> None:
        self.path = engine.url.database or ""
        self.sql = str(
            _WATCH.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        )
        self.instant = s.UTCDateTime().process_result_value
        self.dialect = engine.dialect
        self.conn: sqlite3.Connection | None = None
        self.looks = 0  # made here, not through the pool

    @staticmethod
    def usable(engine: Engine) -> bool:
        database = engine.url.database or ""
        return engine.dialect.name == "sqlite" and database not in ("", ":memory:")

    def look(self) -> Watch | None:
        try:
            if self.conn is None:
                self.conn = sqlite3.connect(
                    self.path, timeout=0, isolation_level=None, check_same_thread=False
                )
                self.conn.execute("PRAGMA query_only=ON")
            (row,) = self.conn.execute(self.sql).fetchall()  # all: the read ends here
        except sqlite3.Error:  # busy, locked, or the file gone: the pool's way this time
            self.close()
            return None
        self.looks += 1
        count, top, scheduled, retrying, lease, early, taps = row
        return _made(
            (
                count,
                top,
                self.instant(scheduled, self.dialect),
                self.instant(retrying, self.dialect),
                self.instant(lease, self.dialect),
                early,
                taps,
            )  # fmt: skip
        )

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
