"""What a registry sync reads and writes: scratch tables, people, permits and their plans.

Hot paths: every row of every sync passes here, so the bulk statements go through the
driver's own `executemany` (see store.executemany) with values already in its terms.
"""

from __future__ import annotations

import json
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import (
    Connection,
    Index,
    UniqueConstraint,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from notifyd.db import schema as s
from notifyd.db.store import (
    chunks,
    executemany,
    insert_rows,
    instant_param,
    naive_utc,
)
from notifyd.db.sync_known import hash_key
from notifyd.model import PENDING, PlannedNotice, Record, Rejection, Status, Stored


@dataclass(frozen=True)
class Staged:
    """The stored permit of a changed line's permit number."""

    permit_id: int
    expiry_date: date
    unchanged: bool  # same row hash and still active: only a repeated line can be this


@dataclass(frozen=True)
class Known:
    """A stored permit whose row changed: what sync needs to re-plan it."""

    permit_id: int
    expiry_date: date


def create_scratch(conn: Connection) -> None:
    """Per-sync scratch tables: the changed lines being compared with their row hashes
    (`sync_chunk`), and the plans written so far (`sync_plan`, with the new permits of a chunk
    in `sync_new`)."""
    sqlite = conn.dialect.name == "sqlite"
    conn.exec_driver_sql("DROP TABLE IF EXISTS sync_chunk")
    conn.exec_driver_sql(
        "CREATE TEMPORARY TABLE sync_chunk "
        "(permit_number VARCHAR(64), line INTEGER, row_hash VARCHAR(32))"
    )
    instant, day = ("TEXT", "TEXT") if sqlite else ("TIMESTAMP", "DATE")
    conn.exec_driver_sql("DROP TABLE IF EXISTS sync_plan")
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE sync_plan (plan_id INTEGER, stage INTEGER, due_at {instant}, "
        f"deadline {instant}, status VARCHAR(16), reason TEXT, catch_up BOOLEAN)"
    )
    # Each chunk's notices join their plans by plan_id: without an index SQLite builds an
    # automatic one over every plan written so far, again for every chunk.
    conn.exec_driver_sql("CREATE INDEX sync_plan_id ON sync_plan (plan_id)")
    conn.exec_driver_sql("DROP TABLE IF EXISTS sync_new")
    conn.exec_driver_sql(
        f"CREATE TEMPORARY TABLE sync_new (permit_id INTEGER, expiry_date {day}, plan_id INTEGER)"
    )
    conn.info["sync_plans"] = {}  # plan → plan_id, for as long as these tables live
    conn.info["sync_plan_ids"] = {}  # id(plan) → (plan, plan_id), see insert_notifications


def _deferred(conn: Connection) -> list[Index | UniqueConstraint]:
    """The notices' indexes a first sync builds at the end (see defer_notice_indexes)."""
    n = s.notifications
    if conn.dialect.name != "postgresql":
        return [i for i in n.indexes if [c.name for c in i.columns] == ["status", "due_at"]]
    unique = [c for c in n.constraints if isinstance(c, UniqueConstraint)]
    return [*sorted(n.indexes, key=lambda i: str(i.name)), *unique]


def defer_notice_indexes(conn: Connection) -> bool:
    """On a first sync (no notices yet), drop the notices' secondary indexes, to be built once
    at the end, inside the sync's transaction (a refused or failed sync rolls the drop back).

    - (status, due_at): a million notices inserted in random due order cost more than one
      sorted build.
    - On PostgreSQL also the unique (permit, expiry, stage, extra) and (updated_at, id), which
      take rows in order: kept, they cost 1.2 s of 2.5 over 300,000 notices here, built after
      0.4 s. On SQLite such appends cost less than a build; SQLite cannot drop a table's
      unique constraint anyway.
    """
    if conn.execute(select(s.notifications.c.id).limit(1)).first() is not None:
        return False
    for item in _deferred(conn):
        conn.execute(
            DropConstraint(item) if isinstance(item, UniqueConstraint) else DropIndex(item)
        )
    return True


def build_notice_indexes(conn: Connection) -> None:
    """Build what defer_notice_indexes dropped; a notice planned twice fails the sync here."""
    for item in _deferred(conn):
        conn.execute(
            AddConstraint(item) if isinstance(item, UniqueConstraint) else CreateIndex(item)
        )


def stage_chunk(conn: Connection, rows: Sequence[tuple[str, int, str]]) -> dict[int, Staged]:
    """Compare the changed lines of a chunk, (permit number, line, row hash), with what is
    stored, in SQL; unchanged lines were decided from their hash and never come here.

    Returns, for each line with a stored permit, what is stored.
    """
    stored: dict[int, Staged] = {}
    _empty(conn, "sync_chunk")
    insert_rows(conn, "sync_chunk", ("permit_number", "line", "row_hash"), rows)
    for line, pid, exp, same in conn.exec_driver_sql(
        "SELECT c.line, p.id, p.expiry_date, p.row_hash = c.row_hash AND p.active "
        "FROM sync_chunk c JOIN permits p ON p.permit_number = c.permit_number"
    ):
        day = date.fromisoformat(exp) if isinstance(exp, str) else exp
        stored[line] = Staged(pid, day, bool(same))
    return stored


def _empty(conn: Connection, table: str) -> None:
    """Empty a scratch table for the next chunk. On PostgreSQL by TRUNCATE: a DELETE leaves
    the rows dead in the table (autovacuum never visits temporary ones), so each later chunk's
    DELETE and join read them all again: a 1 M first sync's 500 chunks spent 9.8 s deleting
    and 21 s inserting notices. SQLite reuses the freed pages."""
    sql = "DELETE FROM {}" if conn.dialect.name == "sqlite" else "TRUNCATE {}"
    conn.exec_driver_sql(sql.format(table))


PERSON_COLUMNS = (
    "registry_id", "full_name", "nationality", "passport_number", "language", "phone",
    "phone_kind", "whatsapp", "email", "channels", "created_at", "updated_at",
)  # fmt: skip
PERMIT_COLUMNS = (
    "permit_number", "person_id", "permit_type", "office", "expiry_date", "row_hash", "row_key",
    "active", "warnings", "created_at", "updated_at",
)  # fmt: skip


def _upsert_sql(table: str, columns: Sequence[str], key: str) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in (key, "created_at"))
    marks = ", ".join("?" * len(columns))
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


def upsert_people(conn: Connection, records: Sequence[Record], now: datetime) -> dict[str, int]:
    """Insert or update people by registry id; return registry id → person id.

    A person whose stored values are already these (a renewal changes the permit, not the
    person) is not written again: each write rewrites the row and its five indexes."""
    latest = {r.registry_id: r for r in records}  # a person on several rows: the last row wins
    rows = person_rows(conn, latest.values(), now)
    stored = _stored_people(conn, list(latest))
    values = len(PERSON_COLUMNS) - 2  # all but created_at and updated_at
    changed = [row for row in rows if stored.get(row[0], (0, None))[1] != row[:values]]
    executemany(conn, _upsert_sql("people", PERSON_COLUMNS, "registry_id"), changed)
    ids = {rid: pid for rid, (pid, _) in stored.items()}
    new = [row[0] for row in changed if row[0] not in ids]
    if new:
        ids.update(ids_of(conn, "people", "registry_id", new))
    return ids


def _stored_people(
    conn: Connection, registry_ids: Sequence[str]
) -> dict[str, tuple[int, tuple[Any, ...]]]:
    """Registry id → (person id, the stored PERSON_COLUMNS but the two instants)."""
    out: dict[str, tuple[int, tuple[Any, ...]]] = {}
    columns = ", ".join(PERSON_COLUMNS[:-2])
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    try:
        for part in chunks(registry_ids):
            marks = ", ".join([mark] * len(part))
            cursor.execute(
                f"SELECT id, {columns} FROM people WHERE registry_id IN ({marks})", list(part)
            )
            for pid, *row in cursor.fetchall():
                out[row[0]] = (pid, tuple(row))
    finally:
        cursor.close()
    return out


def person_rows(
    conn: Connection, records: Iterable[Record], now: datetime
) -> list[tuple[Any, ...]]:
    """People's columns (PERSON_COLUMNS) in the driver's terms."""
    stamp = instant_param(conn)(now)
    return [
        (
            r.registry_id,
            r.full_name,
            r.nationality,
            r.passport_number,
            r.language,
            r.phone.e164 if r.phone else None,
            r.phone.kind if r.phone else None,
            r.whatsapp.e164 if r.whatsapp else None,
            r.email or None,
            ",".join(r.channels),
            stamp,
            stamp,
        )  # fmt: skip
        for r in records
    ]


def upsert_permits(
    conn: Connection,
    items: Sequence[tuple[Record, str]],
    person_ids: dict[str, int],
    now: datetime,
) -> dict[str, int]:
    """Insert or update permits with their row hash; return permit number → permit id."""
    rows = permit_rows(conn, items, person_ids, now)
    executemany(conn, _upsert_sql("permits", PERMIT_COLUMNS, "permit_number"), rows)
    numbers = [r.permit_number for r, _ in items]
    return ids_of(conn, "permits", "permit_number", numbers)


def permit_rows(
    conn: Connection,
    items: Sequence[tuple[Record, str]],
    person_ids: dict[str, int],
    now: datetime,
) -> list[tuple[Any, ...]]:
    """Permits' columns (PERMIT_COLUMNS) in the driver's terms."""
    stamp = instant_param(conn)(now)
    sqlite = conn.dialect.name == "sqlite"
    return [
        (
            r.permit_number,
            person_ids[r.registry_id],
            r.permit_type,
            r.office,
            r.expiry_date.isoformat() if sqlite else r.expiry_date,
            row_hash,
            hash_key(row_hash),
            True,
            json.dumps(list(r.warnings), ensure_ascii=False) if r.warnings else "",
            stamp,
            stamp,
        )  # fmt: skip
        for r, row_hash in items
    ]


def ids_of(conn: Connection, table: str, key: str, keys: Sequence[str]) -> dict[str, int]:
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
    conn: Connection,
    wanted: dict[int, tuple[str, ...]],
    now: datetime,
    fresh: Container[int] = (),
) -> dict[int, set[str]]:
    """Make the registry's opt-outs match the snapshot for these people; return all opt-outs.

    The registry can add an opt-out and lift one it added, never one from staff or the person.
    People in `fresh` were just inserted and have none to read. A person with none is left
    out of the answer (most people, so a first sync builds no set for each).
    """
    o = s.opt_outs
    current: dict[int, list[tuple[int, str, str]]] = {}
    for part in chunks([pid for pid in wanted if pid not in fresh]):
        for oid, pid, channel, source in conn.execute(
            select(o.c.id, o.c.person_id, o.c.channel, o.c.source).where(
                o.c.person_id.in_(part), o.c.lifted_at.is_(None)
            )
        ):
            current.setdefault(pid, []).append((oid, channel, source))
    lift, add = [], []
    out: dict[int, set[str]] = {}
    for pid, channels in wanted.items():
        rows = current.get(pid)
        if not rows and not channels:
            continue
        rows = rows or []
        registry = {ch for _, ch, src in rows if src == "registry"}
        lift += [oid for oid, ch, src in rows if src == "registry" and ch not in channels]
        add += [
            {"person_id": pid, "channel": ch, "source": "registry", "created_at": now}
            for ch in channels
            if ch not in registry
        ]
        out[pid] = {ch for _, ch, src in rows if src != "registry"} | set(channels)
    for part in chunks(lift):
        conn.execute(update(o).where(o.c.id.in_(part)).values(lifted_at=now, lifted_by="registry"))
    if add:
        conn.execute(insert(o), add)
    return out


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
                n.c.extra,
            ).where(n.c.permit_id.in_(part))
        ):
            out[row[0]].append(Stored(*row[1:]))
    return out


def insert_notifications(
    conn: Connection, rows: Sequence[tuple[int, date, tuple[PlannedNotice, ...]]], now: datetime
) -> None:
    """Write the planned notices of many permits: (permit id, expiry date, its plan).

    Each distinct plan is written once to `sync_plan`; a permit is then one row of
    `sync_new`, and SQL makes its three notices: a third of the time of three rows each.
    """
    sqlite = conn.dialect.name == "sqlite"
    prepare = _plan_rows_text if sqlite else _plan_rows
    plans: dict[tuple[PlannedNotice, ...], int] = conn.info["sync_plans"]
    # The permits of one expiry date and office share one plan object: known by its identity,
    # it needs no hash of its notices (the entry keeps it alive, so the identity stays its own)
    by_id: dict[int, tuple[tuple[PlannedNotice, ...], int]] = conn.info["sync_plan_ids"]
    if len(by_id) > 65536:  # plans a re-sync's diff made, one per permit: keep it bounded
        by_id.clear()
    fresh, new = [], []
    for pid, exp, plan in rows:
        hit = by_id.get(id(plan))
        if hit is None or hit[0] is not plan:
            plan_id = plans.get(plan)
            if plan_id is None:
                plan_id = plans[plan] = len(plans) + 1
                fresh += [(plan_id, *row) for row in prepare(plan)]
            hit = by_id[id(plan)] = (plan, plan_id)
        new.append((pid, exp.isoformat() if sqlite else exp, hit[1]))
    insert_rows(conn, "sync_plan", _PLAN_COLUMNS, fresh)
    _empty(conn, "sync_new")
    insert_rows(conn, "sync_new", ("permit_id", "expiry_date", "plan_id"), new)
    stamp = instant_param(conn)(now)
    mark = "?" if sqlite else "%s"
    conn.exec_driver_sql(
        "INSERT INTO notifications (permit_id, expiry_date, stage, due_at, deadline, status, "
        "reason, catch_up, attempt_count, created_at, updated_at) "
        "SELECT n.permit_id, n.expiry_date, p.stage, p.due_at, p.deadline, p.status, p.reason, "
        f"p.catch_up, 0, {mark}, {mark} FROM sync_new n JOIN sync_plan p ON p.plan_id = n.plan_id",
        (stamp, stamp),
    )


_PLAN_COLUMNS = ("plan_id", "stage", "due_at", "deadline", "status", "reason", "catch_up")


def _plan_rows(plan: tuple[PlannedNotice, ...]) -> list[tuple[Any, ...]]:
    return [
        (
            n.stage,
            naive_utc(n.due_at),
            naive_utc(n.deadline),
            n.status.value,
            n.reason and str(n.reason),
            n.catch_up,
        )  # fmt: skip
        for n in plan
    ]


@lru_cache(maxsize=4096)
def _plan_rows_text(plan: tuple[PlannedNotice, ...]) -> list[tuple[Any, ...]]:
    """Cached: plans are shared by every permit that expires on one day at one office."""
    return [
        (stage, due.isoformat(" "), deadline.isoformat(" "), *rest)
        for stage, due, deadline, *rest in _plan_rows(plan)
    ]


def update_notifications(
    conn: Connection, rows: Sequence[tuple[int, PlannedNotice]], now: datetime
) -> None:
    """Rewrite planner-owned rows; the status guard keeps a row a dispatcher claimed meanwhile.
    On the driver's cursor, in id order (a few thousand rows a chunk on a re-sync)."""
    stamp = instant_param(conn)
    at = stamp(now)
    executemany(
        conn,
        "UPDATE notifications SET due_at = ?, deadline = ?, status = ?, reason = ?, "
        f"catch_up = ?, updated_at = ? WHERE id = ? AND status IN ({_listed(_PLANNER_STATUSES)})",
        sorted(
            [
                (
                    stamp(p.due_at),
                    stamp(p.deadline),
                    p.status.value,
                    None if p.reason is None else str(p.reason),
                    p.catch_up,
                    at,
                    nid,
                )  # fmt: skip
                for nid, p in rows
            ],
            key=itemgetter(-1),
        ),
    )


def _listed(values: Sequence[str]) -> str:
    """Fixed status names as SQL literals (they are ours, never input)."""
    return ", ".join(f"'{v}'" for v in values)


def _one_of(column: Any, values: Sequence[str]) -> Any:
    """`column IN (…)` spelled so that it also works in an executemany."""
    return or_(*(column == literal(v) for v in values))


_PLANNER_STATUSES = [Status.SCHEDULED.value, Status.CANCELLED.value, Status.SUPERSEDED.value]
_PENDING = [st.value for st in PENDING]


def cancel_notifications(conn: Connection, rows: Sequence[tuple[int, str]], now: datetime) -> int:
    """Cancel pending notices, (id, reason), on the driver's cursor in id order; return how
    many were still pending."""
    at = instant_param(conn)(now)
    return executemany(
        conn,
        f"UPDATE notifications SET status = '{Status.CANCELLED.value}', reason = ?, "
        f"updated_at = ? WHERE id = ? AND status IN ({_listed(_PENDING)})",
        sorted(((str(reason), at, nid) for nid, reason in rows), key=itemgetter(-1)),
    )


def count_active(conn: Connection) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(s.permits).where(s.permits.c.active.is_(True))
        ).scalar_one()
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


def insert_rejections(
    conn: Connection, run_id: int, items: Sequence[Rejection], hashes: dict[int, str]
) -> None:
    """Store rejections; `hashes` (line → row hash) for those a later sync may meet unchanged
    and keep (a duplicate depends on other lines, so it has none)."""
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
                    "row_hash": hashes.get(r.line),
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


def identities(conn: Connection, registry_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """Registry id → (name, passport) as stored, for the ids of a chunk that are already known;
    purged people (blank names) are left out, there is nothing to compare."""
    p = s.people
    out: dict[str, tuple[str, str]] = {}
    for part in chunks(list(dict.fromkeys(registry_ids))):
        rows = conn.execute(
            select(p.c.registry_id, p.c.full_name, p.c.passport_number).where(
                p.c.registry_id.in_(part), p.c.purged_at.is_(None)
            )
        )
        out.update((rid, (name, passport or "")) for rid, name, passport in rows)
    return out


def count_people(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(s.people)).scalar_one())


def reach(conn: Connection, names: Sequence[str]) -> tuple[int, dict[str, int]]:
    """People with an active permit, and how many of them each named channel can reach
    (people.channels is the comma-separated list of reachable ones): counted in the database
    by distinct list, a handful of rows, rather than matched person by person."""
    p, pm = s.people, s.permits
    holders = select(pm.c.person_id).where(pm.c.active.is_(True))
    rows = conn.execute(
        select(p.c.channels, func.count()).where(p.c.id.in_(holders)).group_by(p.c.channels)
    )
    total, counts = 0, dict.fromkeys(names, 0)
    for channels, n in rows:
        total += n
        listed = set((channels or "").split(","))
        for name in names:
            counts[name] += n if name in listed else 0
    return total, counts
