"""The database: connecting, migrating, sync runs, and what staff read. With schema.py and
syncstore.py, the only modules that know SQL."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from notifyd.db import schema as s
from notifyd.errors import StoreError
from notifyd.model import PENDING, NoticeFacts, SyncReport

MIGRATIONS = Path(__file__).parent / "migrations"
#: Bound parameters per IN (…) list, well under SQLite's limit of 32,766.
IN_CHUNK = 5000


def connect(url: str, pooled: bool = False) -> Engine:
    """An engine with SQLite set up for one writer and many readers (WAL, busy timeout).

    `pooled` keeps SQLite connections open between uses (for the web app, whose many small
    receipt transactions would otherwise each open a connection and, closing the last one,
    checkpoint the WAL); by default each use opens its own."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        pool: dict[str, Any] = {"pool_size": 4} if pooled else {"poolclass": NullPool}
        engine = create_engine(url, connect_args={"timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            # Index upkeep of a large sync runs from memory: 32 MiB of page cache (default 2).
            cur.execute("PRAGMA cache_size=-32768")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Writers take the lock up front so they queue on busy_timeout instead of failing
            # half-way; readers (see `reading`) do not block anyone in WAL mode.
            read = conn.get_execution_options().get("notifyd_read", False)
            conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; run at start and by `notifyd db upgrade`."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as exc:
        raise StoreError(f"cannot migrate the database at {engine.url!r}: {exc.orig}") from exc


def open_store(url: str) -> Engine:
    engine = connect(url)
    migrate(engine)
    return engine


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def start_run(engine: Engine, source: str, now: datetime) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(s.sync_runs)
                .values(source=source, started_at=now, status="running")
                .returning(s.sync_runs.c.id)
            ).scalar_one()
        )


def finish_run(conn: Connection, report: SyncReport, now: datetime) -> None:
    values = {k: getattr(report, k) for k in _RUN_COUNTS}
    conn.execute(
        update(s.sync_runs)
        .where(s.sync_runs.c.id == report.run_id)
        .values(finished_at=now, status=report.status, message=report.message, **values)
    )


_RUN_COUNTS = (
    "rows", "accepted", "rejected", "unchanged", "new", "changed", "renewed", "left", "planned",
    "cancelled",
)  # fmt: skip


def executemany(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> int:
    """Run one statement for many rows on the driver's own cursor.

    SQLAlchemy's per-row parameter processing costs more than SQLite's own insert, and a
    registry sync writes millions of rows; values must already be in the driver's terms
    (see `instant_param`). Returns the rows affected.
    """
    if not rows:
        return 0
    if conn.dialect.name != "sqlite":
        sql = sql.replace("?", "%s")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def instant_param(conn: Connection) -> Any:
    """How this driver wants a UTC instant, as schema.UTCDateTime stores it: naive UTC (a
    PostgreSQL session in another time zone would shift an aware one), ISO text on SQLite."""
    return utc_text if conn.dialect.name == "sqlite" else naive_utc


def naive_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


@lru_cache(maxsize=8192)
def utc_text(value: datetime | None) -> str | None:
    """Cached: the notices of every permit expiring on one day share their instants."""
    naive = naive_utc(value)
    return None if naive is None else naive.isoformat(" ")


def expanding(name: str) -> Any:
    """A parameter that takes a list, for `IN :name` in text SQL."""
    return bindparam(name, expanding=True)


# --- reading for staff ------------------------------------------------------------------------


def reading(engine: Engine) -> Connection:
    """A connection for reads only: on SQLite it takes no write lock."""
    return engine.connect().execution_options(notifyd_read=True)


def last_run_id(engine: Engine) -> int | None:
    with reading(engine) as conn:
        return conn.execute(select(func.max(s.sync_runs.c.id))).scalar_one_or_none()


def rejected(engine: Engine, run_id: int) -> list[dict[str, Any]]:
    r = s.rejected_rows
    with reading(engine) as conn:
        rows = conn.execute(
            select(r.c.line, r.c.registry_id, r.c.permit_number, r.c.whole_row, r.c.reasons)
            .where(r.c.run_id == run_id)
            .order_by(r.c.line)
        )
        return [
            {
                "line": line,
                "registry_id": reg,
                "permit_number": num,
                "rejected": "row" if whole else "channels",
                "reasons": json.loads(reasons),
            }
            for line, reg, num, whole, reasons in rows
        ]


def run(engine: Engine, run_id: int) -> dict[str, Any] | None:
    with reading(engine) as conn:
        row = conn.execute(select(s.sync_runs).where(s.sync_runs.c.id == run_id)).mappings().first()
        return dict(row) if row else None


def upcoming(engine: Engine, now: datetime, until: datetime) -> list[dict[str, Any]]:
    """Scheduled notices due before `until` (overdue ones included), soonest first."""
    n, p, pe = s.notifications, s.permits, s.people
    with reading(engine) as conn:
        rows = conn.execute(
            select(
                n.c.id,
                n.c.due_at,
                n.c.deadline,
                n.c.stage,
                n.c.catch_up,
                p.c.office,
                p.c.permit_number,
                p.c.permit_type,
                p.c.expiry_date,
                pe.c.registry_id,
                pe.c.full_name,
                pe.c.language,
                pe.c.channels,
            )
            .join(p, p.c.id == n.c.permit_id)
            .join(pe, pe.c.id == p.c.person_id)
            .where(n.c.status.in_([st.value for st in PENDING]), n.c.due_at < until)
            .order_by(n.c.due_at, n.c.id)
        )
        return [dict(r) for r in rows.mappings()]


def counts_by_status(engine: Engine) -> dict[str, int]:
    n = s.notifications
    with reading(engine) as conn:
        rows = conn.execute(select(n.c.status, func.count()).group_by(n.c.status))
        return {status: int(c) for status, c in rows}


def notice_facts(engine: Engine, permit_number: str, stage: int | None) -> NoticeFacts | None:
    """What `notifyd render` needs for one permit: its person and, when planned, the notice of
    that stage (the first stage planned when none is given). None when the permit is unknown."""
    n, p, pe = s.notifications, s.permits, s.people
    with reading(engine) as conn:
        row = conn.execute(
            select(
                p.c.id,
                p.c.permit_number,
                p.c.permit_type,
                p.c.expiry_date,
                p.c.office,
                pe.c.full_name,
                pe.c.language,
            )  # fmt: skip
            .join(pe, pe.c.id == p.c.person_id)
            .where(p.c.permit_number == permit_number)
        ).first()
        if row is None:
            return None
        query = select(n.c.id, n.c.stage, n.c.catch_up).where(
            n.c.permit_id == row.id, n.c.expiry_date == row.expiry_date
        )
        if stage is not None:
            query = query.where(n.c.stage == stage)
        notice = conn.execute(query.order_by(n.c.stage.desc())).first()
    return NoticeFacts(
        notification_id=notice.id if notice else 0,
        stage=notice.stage if notice else (stage if stage is not None else 0),
        catch_up=bool(notice.catch_up) if notice else False,
        language=row.language,
        full_name=row.full_name,
        permit_number=row.permit_number,
        permit_type=row.permit_type,
        expiry_date=row.expiry_date,
        office=row.office,
    )


def last_sync_finished(engine: Engine) -> datetime | None:
    """When the last successful registry sync finished; also proves the database answers."""
    r = s.sync_runs
    with reading(engine) as conn:
        return conn.execute(
            select(func.max(r.c.finished_at)).where(r.c.status == "ok")
        ).scalar_one_or_none()
