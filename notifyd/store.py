"""Every query notifyd makes, on SQLite and PostgreSQL alike. With schema.py, the only SQL."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    create_engine,
    event,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from notifyd import schema as s
from notifyd.errors import StoreError
from notifyd.model import PENDING, PlannedNotice, Record, Rejection, Status, SyncReport
from notifyd.plan import Stored

MIGRATIONS = Path(__file__).parent / "migrations"
#: Bound parameters per IN (…) list, well under SQLite's limit of 32,766.
IN_CHUNK = 5000


def connect(url: str) -> Engine:
    """An engine with SQLite set up for one writer and many readers (WAL, busy timeout)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

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


# --- sync: the snapshot's view of what is stored ---------------------------------------------


@dataclass(frozen=True)
class Known:
    """A stored permit, as sync needs it to skip unchanged rows."""

    permit_id: int
    row_hash: str
    expiry_date: date
    person_id: int
    active: bool


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


def create_seen(conn: Connection) -> None:
    """Per-sync scratch tables: every permit number of the snapshot with its first line
    (`sync_seen`), and the chunk being read with its row hashes (`sync_chunk`)."""
    compact = " WITHOUT ROWID" if conn.dialect.name == "sqlite" else ""  # one B-tree
    conn.exec_driver_sql("DROP TABLE IF EXISTS sync_seen")
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE sync_seen (permit_number VARCHAR(64) PRIMARY KEY, line INTEGER)"
        + compact
    )
    if conn.dialect.name == "sqlite":  # the temporary file's own page cache (default 2 MiB)
        conn.exec_driver_sql("PRAGMA temp.cache_size=-16384")
    conn.exec_driver_sql("DROP TABLE IF EXISTS sync_chunk")
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE sync_chunk "
        "(permit_number VARCHAR(64), line INTEGER, row_hash VARCHAR(32))"
    )


def stage_chunk(
    conn: Connection, rows: Sequence[tuple[str, int, str]]
) -> tuple[dict[str, int], dict[int, Known | None]]:
    """Compare a chunk's (permit number, line, row hash) with what is stored, in SQL.

    Returns each number's first line in the snapshot (a row whose number's first line is
    not its own is a duplicate), and for the lines that need work, what is stored of their
    permit (None: a new permit). Unchanged rows, nearly all of a daily sync, never come back.
    """
    first: dict[str, int] = {}
    for number, line, _ in rows:
        first.setdefault(number, line)
    conn.exec_driver_sql("DELETE FROM sync_chunk")
    _executemany(conn, "INSERT INTO sync_chunk VALUES (?, ?, ?)", rows)
    fresh = list(first.items())
    sql = "INSERT INTO sync_seen (permit_number, line) VALUES (?, ?) ON CONFLICT DO NOTHING"
    if _executemany(conn, sql, fresh) < len(fresh):  # an earlier chunk had some of them
        for part in chunks(list(first)):
            found = conn.execute(
                text(
                    "SELECT permit_number, line FROM sync_seen WHERE permit_number IN :n"
                ).bindparams(_expanding("n")),
                {"n": list(part)},
            )
            first.update((number, line) for number, line in found)
    work: dict[int, Known | None] = {}
    for line, pid, h, exp, person, active in conn.exec_driver_sql(
        "SELECT c.line, p.id, p.row_hash, p.expiry_date, p.person_id, p.active "
        "FROM sync_chunk c LEFT JOIN permits p ON p.permit_number = c.permit_number "
        "WHERE p.id IS NULL OR p.row_hash <> c.row_hash OR NOT p.active"
    ):
        day = date.fromisoformat(exp) if isinstance(exp, str) else exp
        work[line] = None if pid is None else Known(pid, h, day, person, bool(active))
    return first, work


def _executemany(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> int:
    """Run one statement for many rows on the driver's own cursor.

    SQLAlchemy's per-row parameter processing costs more than SQLite's own insert, and a
    registry sync writes millions of rows; values must already be in the driver's terms
    (see `_instant`). Returns the rows affected.
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


def _instant(conn: Connection) -> Any:
    """How this driver wants a UTC instant: ISO text on SQLite (see schema.UTCDateTime)."""
    return _utc_text if conn.dialect.name == "sqlite" else lambda v: v


@lru_cache(maxsize=8192)
def _utc_text(value: datetime | None) -> str | None:
    """Cached: the notices of every permit expiring on one day share their instants."""
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


_PERSON_COLUMNS = (
    "registry_id", "full_name", "nationality", "passport_number", "language", "phone",
    "phone_kind", "whatsapp", "channels", "created_at", "updated_at",
)  # fmt: skip
_PERMIT_COLUMNS = (
    "permit_number", "person_id", "permit_type", "office", "expiry_date", "row_hash", "active",
    "warnings", "created_at", "updated_at",
)  # fmt: skip


def _upsert_sql(table: str, columns: Sequence[str], key: str) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in (key, "created_at"))
    marks = ", ".join("?" * len(columns))
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


def upsert_people(conn: Connection, records: Sequence[Record], now: datetime) -> dict[str, int]:
    """Insert or update people by registry id; return registry id → person id."""
    latest = {r.registry_id: r for r in records}  # a person on several rows: the last row wins
    stamp = _instant(conn)(now)
    rows = [
        (
            r.registry_id,
            r.full_name,
            r.nationality,
            r.passport_number,
            r.language,
            r.phone.e164 if r.phone else None,
            r.phone.kind if r.phone else None,
            r.whatsapp.e164 if r.whatsapp else None,
            ",".join(r.channels),
            stamp,
            stamp,
        )  # fmt: skip
        for r in latest.values()
    ]
    _executemany(conn, _upsert_sql("people", _PERSON_COLUMNS, "registry_id"), rows)
    return _ids(conn, "people", "registry_id", list(latest))


def upsert_permits(
    conn: Connection,
    items: Sequence[tuple[Record, str]],
    person_ids: dict[str, int],
    now: datetime,
) -> dict[str, int]:
    """Insert or update permits with their row hash; return permit number → permit id."""
    stamp = _instant(conn)(now)
    sqlite = conn.dialect.name == "sqlite"
    rows = [
        (
            r.permit_number,
            person_ids[r.registry_id],
            r.permit_type,
            r.office,
            r.expiry_date.isoformat() if sqlite else r.expiry_date,
            row_hash,
            True,
            json.dumps(list(r.warnings), ensure_ascii=False) if r.warnings else "",
            stamp,
            stamp,
        )  # fmt: skip
        for r, row_hash in items
    ]
    _executemany(conn, _upsert_sql("permits", _PERMIT_COLUMNS, "permit_number"), rows)
    numbers = [r.permit_number for r, _ in items]
    return _ids(conn, "permits", "permit_number", numbers)


def _ids(conn: Connection, table: str, key: str, keys: Sequence[str]) -> dict[str, int]:
    """Key → id for rows just written, read on the driver's cursor."""
    out: dict[str, int] = {}
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    try:
        for part in chunks(keys):
            marks = ", ".join([mark] * len(part))
            cursor.execute(f"SELECT {key}, id FROM {table} WHERE {key} IN ({marks})", list(part))
            out.update(cursor.fetchall())
    finally:
        cursor.close()
    return out


def sync_registry_opt_outs(
    conn: Connection, wanted: dict[int, tuple[str, ...]], now: datetime
) -> dict[int, set[str]]:
    """Make the registry's opt-outs match the snapshot for these people; return all opt-outs.

    The registry can add an opt-out and lift one it added, never one from staff or the person.
    """
    o = s.opt_outs
    current: dict[int, list[tuple[int, str, str]]] = {pid: [] for pid in wanted}
    for part in chunks(list(wanted)):
        for oid, pid, channel, source in conn.execute(
            select(o.c.id, o.c.person_id, o.c.channel, o.c.source).where(
                o.c.person_id.in_(part), o.c.lifted_at.is_(None)
            )
        ):
            current[pid].append((oid, channel, source))
    lift, add = [], []
    for pid, channels in wanted.items():
        registry = {ch for _, ch, src in current[pid] if src == "registry"}
        lift += [oid for oid, ch, src in current[pid] if src == "registry" and ch not in channels]
        add += [
            {"person_id": pid, "channel": ch, "source": "registry", "created_at": now}
            for ch in channels
            if ch not in registry
        ]
    for part in chunks(lift):
        conn.execute(update(o).where(o.c.id.in_(part)).values(lifted_at=now, lifted_by="registry"))
    if add:
        conn.execute(insert(o), add)
    return {
        pid: {ch for _, ch, src in rows if src != "registry"} | set(wanted[pid])
        for pid, rows in current.items()
    }


def stored_notifications(conn: Connection, permit_ids: Sequence[int]) -> dict[int, list[Stored]]:
    n = s.notifications
    out: dict[int, list[Stored]] = {pid: [] for pid in permit_ids}
    for part in chunks(permit_ids):
        for row in conn.execute(
            select(
                n.c.permit_id,
                n.c.id,
                n.c.expiry_date,
                n.c.stage,
                n.c.status,
                n.c.reason,
                n.c.due_at,
                n.c.deadline,
            ).where(n.c.permit_id.in_(part))
        ):
            out[row[0]].append(Stored(*row[1:]))
    return out


def insert_notifications(
    conn: Connection, rows: Sequence[tuple[int, date, tuple[PlannedNotice, ...]]], now: datetime
) -> None:
    """Write the planned notices of many permits: (permit id, expiry date, its plan)."""
    sqlite = conn.dialect.name == "sqlite"
    prepare = _plan_rows_text if sqlite else _plan_rows
    stamp = _instant(conn)(now)
    _executemany(
        conn,
        "INSERT INTO notifications (permit_id, expiry_date, stage, due_at, deadline, status, "
        "reason, catch_up, attempt_count, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
        [
            (pid, exp.isoformat() if sqlite else exp, *row, stamp, stamp)
            for pid, exp, plan in rows
            for row in prepare(plan)
        ],
    )


def _plan_rows(plan: tuple[PlannedNotice, ...]) -> list[tuple[Any, ...]]:
    return [
        (n.stage, n.due_at, n.deadline, n.status.value, n.reason and str(n.reason), n.catch_up)
        for n in plan
    ]


@lru_cache(maxsize=4096)
def _plan_rows_text(plan: tuple[PlannedNotice, ...]) -> list[tuple[Any, ...]]:
    """Cached: plans are shared by every permit that expires on one day at one office."""
    return [
        (stage, _utc_text(due), _utc_text(deadline), *rest)
        for stage, due, deadline, *rest in _plan_rows(plan)
    ]


def update_notifications(
    conn: Connection, rows: Sequence[tuple[int, PlannedNotice]], now: datetime
) -> None:
    """Rewrite planner-owned rows; the status guard keeps a row a dispatcher claimed meanwhile."""
    n = s.notifications
    from sqlalchemy import bindparam

    if rows:
        conn.execute(
            update(n)
            .where(n.c.id == bindparam("nid"), _one_of(n.c.status, _PLANNER_STATUSES))
            .values(
                due_at=bindparam("due"),
                deadline=bindparam("dl"),
                status=bindparam("st"),
                reason=bindparam("rs"),
                catch_up=bindparam("cu"),
                updated_at=now,
            ),
            [
                {
                    "nid": nid,
                    "due": p.due_at,
                    "dl": p.deadline,
                    "st": p.status.value,
                    "rs": None if p.reason is None else str(p.reason),
                    "cu": p.catch_up,
                }
                for nid, p in rows
            ],
        )


def _one_of(column: Any, values: Sequence[str]) -> Any:
    """`column IN (…)` spelled so that it also works in an executemany."""
    return or_(*(column == literal(v) for v in values))


_PLANNER_STATUSES = [Status.SCHEDULED.value, Status.CANCELLED.value, Status.SUPERSEDED.value]
_PENDING = [st.value for st in PENDING]


def cancel_notifications(conn: Connection, rows: Sequence[tuple[int, str]], now: datetime) -> int:
    n = s.notifications
    from sqlalchemy import bindparam

    if not rows:
        return 0
    result = conn.execute(
        update(n)
        .where(n.c.id == bindparam("nid"), _one_of(n.c.status, _PENDING))
        .values(status=Status.CANCELLED.value, reason=bindparam("rs"), updated_at=now),
        [{"nid": nid, "rs": str(reason)} for nid, reason in rows],
    )
    return int(result.rowcount or 0)


def count_active(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(s.permits).where(s.permits.c.active.is_(True))
        ).scalar_one()
    )


def missing_active(conn: Connection) -> list[int]:
    """Active permits this snapshot did not contain (after mark_seen for every row)."""
    p = s.permits
    return list(
        conn.execute(
            select(p.c.id).where(
                p.c.active.is_(True),
                ~p.c.permit_number.in_(text("SELECT permit_number FROM sync_seen")),
            )
        ).scalars()
    )


def retire_permits(conn: Connection, permit_ids: Sequence[int], reason: str, now: datetime) -> int:
    """Mark permits inactive and cancel what they still had pending; return cancelled count."""
    n, p = s.notifications, s.permits
    cancelled = 0
    for part in chunks(permit_ids):
        conn.execute(update(p).where(p.c.id.in_(part)).values(active=False, updated_at=now))
        result = conn.execute(
            update(n)
            .where(n.c.permit_id.in_(part), n.c.status.in_(_PENDING))
            .values(status=Status.CANCELLED.value, reason=str(reason), updated_at=now)
        )
        cancelled += int(result.rowcount or 0)
    return cancelled


def insert_rejections(conn: Connection, run_id: int, items: Sequence[Rejection]) -> None:
    if items:
        conn.execute(
            insert(s.rejected_rows),
            [
                {
                    "run_id": run_id,
                    "line": r.line,
                    "registry_id": r.registry_id,
                    "permit_number": r.permit_number,
                    "whole_row": True,
                    "reasons": json.dumps(list(r.reasons), ensure_ascii=False),
                    "raw": json.dumps(r.raw, ensure_ascii=False),
                }
                for r in items
            ],
        )


def insert_warnings(conn: Connection, run_id: int, records: Sequence[Record]) -> None:
    """Rows accepted with some channels dropped: kept beside the rejections, with the reason."""
    rows = [
        {
            "run_id": run_id,
            "line": r.line,
            "registry_id": r.registry_id,
            "permit_number": r.permit_number,
            "whole_row": False,
            "reasons": json.dumps(list(r.warnings), ensure_ascii=False),
            "raw": "{}",
        }
        for r in records
        if r.warnings
    ]
    if rows:
        conn.execute(insert(s.rejected_rows), rows)


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
            .where(n.c.status.in_(_PENDING), n.c.due_at < until)
            .order_by(n.c.due_at, n.c.id)
        )
        return [dict(r) for r in rows.mappings()]


def counts_by_status(engine: Engine) -> dict[str, int]:
    n = s.notifications
    with reading(engine) as conn:
        rows = conn.execute(select(n.c.status, func.count()).group_by(n.c.status))
        return {status: int(c) for status, c in rows}
