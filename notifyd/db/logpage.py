"""The console's delivery log, page by page: filters and keyset pagination.

A page never uses OFFSET (deep pages would read every row before them): it continues after
the last row shown, named by a cursor of (time, source, id) only, which holds no personal
data. Two sources are merged, newest first: attempts, and notices that ended with no attempt
(cancelled, superseded) — each filtered by the same cursor, each read in index order
(attempts by (started_at, id)), then merged and cut to the page.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Select, and_, literal, or_, select

from notifyd.db import schema as s
from notifyd.db.store import reading
from notifyd.errors import NotifydError
from notifyd.model import PENDING

n, a, p, pe = s.notifications, s.attempts, s.permits, s.people
_PENDING = [st.value for st in PENDING]
#: Sources in the order they sort within one instant (newest first: attempts before notices).
ATTEMPT, NOTICE = 1, 0
#: Attempts read back along the time index before a narrow filter is served from the notices.
SCAN = 2000
DAMAGED = "This page link is damaged; open the log from its first page."


@dataclass(frozen=True)
class LogFilter:
    """What the log is narrowed to; None is "any". Times are instants (the caller turns the
    office's local dates into them); `until` is exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    office: str | None = None
    channel: str | None = None
    outcome: str | None = None
    status: str | None = None
    stage: int | None = None
    language: str | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: its last row's time, source and id (an attempt's or a notice's)."""

    when: datetime
    source: int
    id: int

    def encode(self) -> str:
        raw = json.dumps([self.when.isoformat(), self.source, self.id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def decode(text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            when, source, ident = json.loads(raw)
            found = Cursor(datetime.fromisoformat(when), int(source), int(ident))
        except (ValueError, TypeError) as exc:
            raise NotifydError(DAMAGED) from exc
        if found.when.tzinfo is None or found.source not in (ATTEMPT, NOTICE):
            raise NotifydError(DAMAGED)
        return found


def _base(f: LogFilter) -> Select[Any]:
    q = (
        select(
            n.c.id.label("notice"),
            p.c.permit_number.label("permit"),
            p.c.office,
            n.c.stage,
            n.c.status,
            n.c.reason,
            pe.c.id.label("person"),
            pe.c.registry_id,
            pe.c.full_name.label("name"),
            pe.c.language,
        )  # fmt: skip
        .join(p, p.c.id == n.c.permit_id)
        .join(pe, pe.c.id == p.c.person_id)
    )
    if f.status:
        q = q.where(n.c.status == f.status)
    if f.office:
        q = q.where(p.c.office == f.office)
    if f.stage is not None:
        q = q.where(n.c.stage == f.stage)
    if f.language:
        q = q.where(pe.c.language == f.language)
    return q


def _after(when: Any, ident: Any, source: int, cursor: Cursor | None) -> Any:
    """Rows of `source` that sort after the cursor (newest first: earlier, or the same
    instant and a lower source, or the same source and a lower id)."""
    if cursor is None:
        return literal(True)
    if source < cursor.source:
        return when <= cursor.when
    if source > cursor.source:
        return when < cursor.when
    return or_(when < cursor.when, and_(when == cursor.when, ident < cursor.id))


def _attempts_where(f: LogFilter, cursor: Cursor | None) -> list[Any]:
    """The conditions on the attempt itself: the cursor, channel, outcome, dates."""
    conds = [_after(a.c.started_at, a.c.id, ATTEMPT, cursor)]
    if f.channel:
        conds.append(a.c.channel == f.channel)
    if f.outcome:
        conds.append(a.c.outcome == f.outcome)
    if f.since:
        conds.append(a.c.started_at >= f.since)
    if f.until:
        conds.append(a.c.started_at < f.until)
    return conds


def _tried(conn: Connection, f: LogFilter, cursor: Cursor | None, limit: int) -> list[Any]:
    """Attempts, newest first. Read back along the attempts' time index while the filters
    are on the attempt alone. A filter on the notice or person (status, office, stage,
    language) may match no recent attempt at all (cancelled notices rarely have one), and
    reading back would then read every attempt ever made: so only the last `SCAN` attempts
    are read that way, and when they do not fill the page, the matching notices are found
    first (an index or a scan of notices, once) and only their attempts read."""
    conds = _attempts_where(f, cursor)
    tried = (
        _base(f)
        .add_columns(
            a.c.id.label("row_id"),
            a.c.started_at.label("when"),
            a.c.channel,
            a.c.kind,
            a.c.address,
            a.c.outcome,
            a.c.provider_id,
            a.c.engine,
            a.c.error,
            a.c.receipt,
        )  # fmt: skip
        .join(a, a.c.notification_id == n.c.id)
        .order_by(a.c.started_at.desc(), a.c.id.desc())
        .limit(limit + 1)
    )
    if not (f.status or f.office or f.stage is not None or f.language):
        return list(conn.execute(tried.where(*conds)).mappings())
    # the ids first, as a list: joined as a subquery, PostgreSQL hashes every attempt instead
    recent = (
        conn.execute(
            select(a.c.id).where(*conds).order_by(a.c.started_at.desc(), a.c.id.desc()).limit(SCAN)
        )
        .scalars()
        .all()
    )
    rows = list(conn.execute(tried.where(a.c.id.in_(recent))).mappings()) if recent else []
    if len(rows) > limit or len(recent) < SCAN:  # a full page, or every attempt was read
        return rows
    wanted = _notices(f).cte("wanted")
    if conn.dialect.name == "postgresql":  # computed once, not folded into the join
        wanted = wanted.prefix_with("MATERIALIZED")
    ids = (  # a join, not IN: the planner then knows how many notices there are
        select(a.c.id)
        .join(wanted, wanted.c.id == a.c.notification_id)
        .where(*conds)
        .order_by(a.c.started_at.desc(), a.c.id.desc())
        .limit(limit + 1)
    ).subquery()  # the page's attempts from the attempts table alone; their details after
    return list(conn.execute(tried.where(a.c.id.in_(select(ids.c.id)))).mappings())


def _notices(f: LogFilter) -> Select[Any]:
    """The ids of the notices a narrow filter lets through, joining only what it needs."""
    q = select(n.c.id)
    if f.office or f.language:
        q = q.join(p, p.c.id == n.c.permit_id)
    if f.language:
        q = q.join(pe, pe.c.id == p.c.person_id).where(pe.c.language == f.language)
    if f.office:
        q = q.where(p.c.office == f.office)
    if f.status:
        q = q.where(n.c.status == f.status)
    if f.stage is not None:
        q = q.where(n.c.stage == f.stage)
    return q


def page(
    engine: Engine, f: LogFilter, cursor: Cursor | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], Cursor | None]:
    """One page of the log, newest first, and the cursor of the next (None at the end)."""
    with reading(engine) as conn:
        rows = [{**r, "source": ATTEMPT} for r in _tried(conn, f, cursor, limit)]
        if not f.channel and not f.outcome:
            untried = (
                _base(f)
                .add_columns(
                    n.c.id.label("row_id"),
                    n.c.updated_at.label("when"),
                    *(
                        literal(None).label(k)
                        for k in (
                            "channel",
                            "kind",
                            "address",
                            "outcome",
                            "provider_id",
                            "engine",
                            "error",
                            "receipt",
                        )
                    ),
                )  # fmt: skip
                .where(
                    ~select(a.c.id).where(a.c.notification_id == n.c.id).exists(),
                    # as the CLI's log: planned notices only when their status is asked for
                    n.c.status.not_in(_PENDING) if not f.status else literal(True),
                    _after(n.c.updated_at, n.c.id, NOTICE, cursor),
                )
            )
            if f.since:
                untried = untried.where(n.c.updated_at >= f.since)
            if f.until:
                untried = untried.where(n.c.updated_at < f.until)
            rows += [
                {**r, "source": NOTICE}
                for r in conn.execute(
                    untried.order_by(n.c.updated_at.desc(), n.c.id.desc()).limit(limit + 1)
                ).mappings()
            ]
    rows.sort(key=lambda r: (r["when"], r["source"], r["row_id"]), reverse=True)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    after = Cursor(last["when"], last["source"], last["row_id"]) if more and last else None
    return [_row(r) for r in rows], after


def _row(r: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "when",
        "notice",
        "person",
        "registry_id",
        "name",
        "permit",
        "stage",
        "channel",
        "kind",
        "address",
        "outcome",
        "status",
        "reason",
        "provider_id",
        "engine",
        "error",
        "receipt",
        "office",
        "language",
    )  # the CLI's columns first, in its order
    return {k: r[k] for k in keys}


def every(engine: Engine, f: LogFilter, chunk: int = 2000) -> Any:
    """Every row of the filtered log, newest first, read a page at a time (for the CSV)."""
    cursor: Cursor | None = None
    while True:
        rows, cursor = page(engine, f, cursor, chunk)
        yield from rows
        if cursor is None:
            return
