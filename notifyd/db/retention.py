"""The retention purge's queries (the rules are in notifyd.service.retention): who is due, and
blanking their personal data while their notices and attempts stay as a pseudonymous record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, String, and_, cast, delete, false, or_, select, update

from notifyd.db import schema as s
from notifyd.db.store import chunks
from notifyd.logs import mask_text
from notifyd.model import PENDING, Status

n, p, pe = s.notifications, s.permits, s.people
_WAITING = [st.value for st in PENDING] + [Status.SENDING.value]


def due_people(conn: Connection, cutoff: datetime, now: datetime) -> list[int]:
    return list(conn.execute(_due_people(cutoff, now)).scalars())


def notices_of(conn: Connection, people: Sequence[int]) -> list[int]:
    notices: list[int] = []
    for part in chunks(people):
        notices += conn.execute(
            select(n.c.id).join(p, p.c.id == n.c.permit_id).where(p.c.person_id.in_(part))
        ).scalars()
    return notices


def _old_rejected(cutoff: datetime) -> Any:
    old_runs = select(s.sync_runs.c.id).where(s.sync_runs.c.started_at < cutoff)
    return s.rejected_rows.c.run_id.in_(old_runs)


def old_rejected_rows(conn: Connection, cutoff: datetime) -> int:
    """Rejected registry rows (they hold the raw row) of syncs started before the cutoff."""
    return len(conn.execute(select(s.rejected_rows.c.id).where(_old_rejected(cutoff))).all())


def delete_old_rejected_rows(conn: Connection, cutoff: datetime) -> None:
    conn.execute(delete(s.rejected_rows).where(_old_rejected(cutoff)))


def blank(conn: Connection, people: Sequence[int], now: datetime) -> None:
    for part in chunks(people):
        _blank(conn, part, now)


def mask_errors(conn: Connection, notices: Sequence[int]) -> None:
    for part in chunks(notices):
        _mask_errors(conn, part)


def _due_people(cutoff: datetime, now: datetime) -> Any:
    """People not yet purged who have permits, all of them finished, and nothing waiting
    that could still be sent (a notice left pending past its deadline is not waiting)."""
    finished = or_(
        p.c.expiry_date < cutoff.date(),
        and_(p.c.active == false(), p.c.updated_at < cutoff),
    )
    theirs = p.c.person_id == pe.c.id
    waiting = (
        select(n.c.id)
        .join(p, p.c.id == n.c.permit_id)
        .where(theirs, n.c.status.in_(_WAITING), n.c.deadline > now)
        .exists()
    )
    return (
        select(pe.c.id)
        .where(
            pe.c.purged_at.is_(None),
            select(p.c.id).where(theirs).exists(),
            ~select(p.c.id).where(theirs, ~finished).exists(),
            ~waiting,
        )
        .order_by(pe.c.id)
    )


def _blank(conn: Any, person_ids: Any, now: datetime) -> None:
    # When they last wrote to us, by number: gone with the numbers (a shared phone's other
    # holders simply get the template again instead of the voice note straight away).
    numbers = {
        number
        for row in conn.execute(select(pe.c.phone, pe.c.whatsapp).where(pe.c.id.in_(person_ids)))
        for number in row
        if number
    }
    for part in chunks(sorted(numbers)):
        conn.execute(delete(s.conversations).where(s.conversations.c.phone.in_(part)))
    conn.execute(
        update(pe)
        .where(pe.c.id.in_(person_ids))
        .values(
            registry_id="purged-" + cast(pe.c.id, String),
            full_name="",
            passport_number="",
            phone=None,
            phone_kind=None,
            whatsapp=None,
            email=None,
            purged_at=now,
            updated_at=now,
        )
    )
    # Free text staff wrote about them (an opt-out's reason) may name them too.
    conn.execute(
        update(s.staff_actions).where(s.staff_actions.c.person_id.in_(person_ids)).values(detail="")
    )


def _mask_errors(conn: Any, notice_ids: Any) -> None:
    """A provider's error text may quote the number it refused: masked as in the logs."""
    a = s.attempts
    rows = conn.execute(
        select(a.c.id, a.c.error).where(a.c.notification_id.in_(notice_ids), a.c.error.is_not(None))
    ).all()
    for aid, error in rows:
        masked = mask_text(error)
        if masked != error:
            conn.execute(update(a).where(a.c.id == aid).values(error=masked))
