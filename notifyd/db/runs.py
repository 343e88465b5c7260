"""Sync runs: their start, their counts at the end, and the rows they rejected."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from notifyd.db import schema as s
from notifyd.db.store import reading
from notifyd.model import SyncReport


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


def last_sync_finished(engine: Engine) -> datetime | None:
    """When the last successful registry sync finished; also proves the database answers."""
    r = s.sync_runs
    with reading(engine) as conn:
        return conn.execute(
            select(func.max(r.c.finished_at)).where(r.c.status == "ok")
        ).scalar_one_or_none()


def recent_runs(engine: Engine, limit: int = 20) -> list[dict[str, Any]]:
    """The latest sync runs with their counts, newest first (the console's registry page)."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(s.sync_runs).order_by(s.sync_runs.c.id.desc()).limit(limit)
        ).mappings()
        return [dict(r) for r in rows]
