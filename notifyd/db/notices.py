"""Notices as staff and `notifyd render` read them: what is due, counts, one permit's facts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from notifyd.db import schema as s
from notifyd.db.store import reading
from notifyd.model import PENDING, NoticeFacts


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
            .where(p.c.permit_number == permit_number.strip().upper())  # stored upper-case
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


def notice_key(engine: Engine, notification_id: int) -> tuple[str, int] | None:
    """(permit number, stage) of a notice, to render its words and voice note."""
    n, p = s.notifications, s.permits
    with reading(engine) as conn:
        row = conn.execute(
            select(p.c.permit_number, n.c.stage)
            .join(p, p.c.id == n.c.permit_id)
            .where(n.c.id == notification_id)
        ).first()
    return None if row is None else (str(row[0]), int(row[1]))
