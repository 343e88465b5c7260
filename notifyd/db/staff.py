"""What staff change from the command line (resend, opt-out), each recorded in staff_actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from notifyd.db import schema as s
from notifyd.errors import NotifydError
from notifyd.model import PENDING, Reason, Status

n, p, pe, o = s.notifications, s.permits, s.people, s.opt_outs
_PENDING = [st.value for st in PENDING]
#: Cancellations a resend must respect: the person said no, or the words would be wrong.
NO_RESEND = {
    Reason.OPTED_OUT.value: "the person opted out; lift it with `notifyd opt-out … --undo` first",
    Reason.RENEWED.value: "the permit was renewed, so this notice's expiry date is wrong",
    Reason.EXPIRY_CORRECTED.value: "the permit's expiry date was corrected",
    Reason.LEFT_REGISTRY.value: "the permit is no longer in the registry",
}


def record(
    conn: Connection,
    now: datetime,
    actor: str,
    action: str,
    *,
    person_id: int | None = None,
    notification_id: int | None = None,
    detail: str = "",
) -> None:
    conn.execute(
        insert(s.staff_actions).values(
            at=now,
            actor=actor,
            action=action,
            person_id=person_id,
            notification_id=notification_id,
            detail=detail,
        )  # fmt: skip
    )


def resend_warning(engine: Engine, notification_id: int) -> str | None:
    """Why a resend may be pointless: a send of this person's already failed permanently to an
    address still on file (the same number or e-mail would be tried again)."""
    with engine.connect() as conn:
        return _warning(conn, notification_id)


def _warning(conn: Connection, notification_id: int) -> str | None:
    a = s.attempts
    rows = conn.execute(
        select(
            a.c.notification_id,
            a.c.channel,
            a.c.address,
            a.c.error,
            a.c.started_at,
            pe.c.phone,
            pe.c.whatsapp,
            pe.c.email,
            pe.c.updated_at,
        )
        .join(n, n.c.id == a.c.notification_id)
        .join(p, p.c.id == n.c.permit_id)
        .join(pe, pe.c.id == p.c.person_id)
        .where(
            p.c.person_id
            == select(p.c.person_id)
            .join(n, n.c.permit_id == p.c.id)
            .where(n.c.id == notification_id)
            .scalar_subquery(),
            or_(a.c.outcome == "permanent", a.c.receipt == "failed"),
        )
        .order_by(a.c.id.desc())
    ).all()
    for row in rows:
        on_file = {row.phone, row.whatsapp, row.email} - {None, ""}
        # Attempts from before addresses were recorded: the same address if the person's
        # contacts have not changed since.
        same = row.address in on_file if row.address else row.started_at >= row.updated_at
        if same:
            which = "this notice" if row.notification_id == notification_id else (
                f"notice {row.notification_id}"
            )  # fmt: skip
            when = f"{row.started_at:%Y-%m-%d %H:%M} UTC"
            why = f": {row.error}" if row.error else ""
            return (
                f"{row.channel} to the same address already failed permanently for {which} "
                f"at {when}{why}"
            )
    return None


class NeedsConfirmation(NotifydError):
    """A resend that would try an address that already failed permanently: staff confirm it
    (the console's "resend anyway", the CLI's --force) or correct the contact first."""


def resend(
    engine: Engine, notification_id: int, actor: str, now: datetime,
    person_id: int | None = None, force: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Send a notice again now, from its first channel, within its deadline.

    A notice whose stage is not yet due is left as planned: an extra notice for the same
    stage is made, due now (the sync leaves it and the planned one as they are). The attempt
    count stays: it is the notice's history, and the retry policy counts per channel from
    the attempts themselves. When an address still on file already failed permanently, the
    resend waits for `force` (NeedsConfirmation says why)."""
    with engine.begin() as conn:
        row = (
            conn.execute(
                select(n, p.c.person_id, pe.c.purged_at)
                .join(p, p.c.id == n.c.permit_id)
                .join(pe, pe.c.id == p.c.person_id)
                .where(n.c.id == notification_id)
            )
            .mappings()
            .first()
        )
        if row is None or (person_id is not None and row["person_id"] != person_id):
            raise NotifydError(f"no notice {notification_id}; see `notifyd log` for the ids")
        why = _refusal(conn, row, now)
        if why:
            raise NotifydError(f"notice {notification_id} cannot be resent: {why}")
        warning = _warning(conn, notification_id)
        if warning and not force:
            raise NeedsConfirmation(
                f"notice {notification_id} not resent: {warning}. Correct the contact first, "
                "or resend anyway (`notifyd resend … --force`, or confirm in the console)"
            )
        despite = f"; sent despite: {warning}" if warning else ""
        if _not_yet_due(row, now):
            return _extra(conn, row, actor, now, warning)
        new_status = Status.RETRYING if row["attempt_count"] else Status.SCHEDULED
        done = conn.execute(
            update(n)
            .where(n.c.id == notification_id, n.c.status != Status.SENDING.value)
            .values(
                status=new_status.value,
                reason=None,
                due_at=now,
                channel_pos=0,
                lease_owner=None,
                lease_until=None,
                updated_at=now,
            )  # fmt: skip
        )
        if not done.rowcount:
            raise NotifydError(f"notice {notification_id} is being sent right now; try later")
        detail = f"was {row['status']}" + (f" ({row['reason']})" if row["reason"] else "")
        record(
            conn, now, actor, "resend",
            person_id=row["person_id"], notification_id=notification_id, detail=detail + despite,
        )  # fmt: skip
    return {"notice": notification_id, "status": new_status.value, "due_at": now, "by": actor,
            "extra_of": None, "warning": warning}  # fmt: skip


def _not_yet_due(row: Any, now: datetime) -> bool:
    """A stage not yet due: scheduled as the planner left it (no reason: the dispatcher's
    deferrals of a due notice, paused, outside the window or spaced from another, give one),
    never tried, due later. Moving such a notice would lose its planned time; a notice
    that was due already is simply sent again now."""
    return (
        row["status"] == Status.SCHEDULED.value
        and not row["attempt_count"]
        and row["reason"] is None
        and row["due_at"] > now
    )


def _extra(
    conn: Connection, row: Any, actor: str, now: datetime, warning: str | None
) -> dict[str, Any]:
    """An extra notice for a stage not yet due: the same words, due now, within the planned
    notice's deadline; the planned one keeps its time."""
    same = (
        n.c.permit_id == row["permit_id"],
        n.c.expiry_date == row["expiry_date"],
        n.c.stage == row["stage"],
    )
    number = conn.execute(select(func.max(n.c.extra)).where(*same)).scalar_one() or 0
    try:
        new_id = _insert_extra(conn, row, now, number + 1)
    except IntegrityError as exc:  # PostgreSQL: another resend of this stage, a moment before
        raise NotifydError(
            f"notice {row['id']} was just resent by someone else (extra notice {number + 1} of "
            f"stage {row['stage']} exists now); open the person's page again to see it before "
            "resending"
        ) from exc
    due = f"{row['due_at']:%Y-%m-%d %H:%M} UTC"
    record(
        conn, now, actor, "resend",
        person_id=row["person_id"], notification_id=new_id,
        detail=f"extra notice {new_id} for stage {row['stage']}, sent now; the planned notice "
        f"{row['id']} stays due {due}" + (f"; sent despite: {warning}" if warning else ""),
    )  # fmt: skip
    return {"notice": new_id, "status": Status.SCHEDULED.value, "due_at": now, "by": actor,
            "extra_of": row["id"], "warning": warning}  # fmt: skip


def _insert_extra(conn: Connection, row: Any, now: datetime, number: int) -> int:
    """The extra notice's row; its number is part of the notices' unique key, so two resends
    racing for the same number cannot both make one (SQLite queues writers: no race there)."""
    return int(
        conn.execute(
            insert(n)
            .values(
                permit_id=row["permit_id"],
                expiry_date=row["expiry_date"],
                stage=row["stage"],
                due_at=now,
                deadline=row["deadline"],
                status=Status.SCHEDULED.value,
                catch_up=row["catch_up"],
                attempt_count=0,
                extra=number,
                created_at=now,
                updated_at=now,
            )
            .returning(n.c.id)
        ).scalar_one()
    )


def _refusal(conn: Connection, row: Any, now: datetime) -> str | None:
    if row["purged_at"] is not None:
        return "the person's data was purged (retention)"
    if row["status"] == Status.SENDING.value:
        return "it is being sent right now; try again in a minute"
    if row["status"] == Status.CANCELLED.value and row["reason"] in NO_RESEND:
        return str(NO_RESEND[row["reason"]])
    if row["deadline"] <= now:
        return (
            f"its deadline passed at {row['deadline']:%Y-%m-%d %H:%M} UTC "
            "(the next stage's notice, if any, carries the news now)"
        )
    total = conn.execute(
        select(o.c.id).where(
            o.c.person_id == row["person_id"], o.c.channel == "*", o.c.lifted_at.is_(None)
        )
    ).first()
    if total is not None:
        return str(NO_RESEND[Reason.OPTED_OUT.value])
    return None


@dataclass
class OptOutResult:
    people: list[dict[str, Any]] = field(default_factory=list)
    changed: int = 0  # opt-outs added or lifted
    cancelled: int = 0  # pending notices cancelled


def find_people(conn: Connection, key: str, phone: str | None) -> list[dict[str, Any]]:
    """People by registry id, else everyone with this phone or WhatsApp number (a family)."""
    cols = (pe.c.id, pe.c.registry_id, pe.c.full_name, pe.c.phone, pe.c.whatsapp, pe.c.channels)
    found = conn.execute(select(*cols).where(pe.c.registry_id == key)).mappings().all()
    if not found and phone:
        found = (
            conn.execute(
                select(*cols)
                .where(or_(pe.c.phone == phone, pe.c.whatsapp == phone))
                .order_by(pe.c.id)
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in found]


def opt_out(
    engine: Engine,
    key: str,
    phone: str | None,
    channel: str,
    actor: str,
    reason: str,
    now: datetime,
    undo: bool = False,
) -> OptOutResult:
    """Add (or with `undo`, lift) a staff opt-out for everyone `key` names.

    Adding cancels their pending notices (reason opted_out) once no channel of theirs is
    left. Lifting touches staff and provider opt-outs only (the registry's follow the
    registry) and marks their permits changed, so the next sync plans them again."""
    result = OptOutResult()
    with engine.begin() as conn:
        result.people = find_people(conn, key, phone)
        for who in result.people:
            pid = who["id"]
            if undo:
                result.changed += _lift(conn, pid, channel, actor, now)
                conn.execute(
                    update(p)
                    .where(p.c.person_id == pid, p.c.active.is_(True))
                    .values(row_hash="", row_key=None)
                )
            else:
                result.changed += _add(conn, pid, channel, actor, now)
                result.cancelled += _cancel_if_unreachable(conn, pid, who["channels"], now)
            record(
                conn, now, actor, "opt_out_undo" if undo else "opt_out",
                person_id=pid, detail=f"channel {channel}" + (f": {reason}" if reason else ""),
            )  # fmt: skip
    return result


def _add(conn: Connection, pid: int, channel: str, actor: str, now: datetime) -> int:
    existing = conn.execute(
        select(o.c.id).where(
            o.c.person_id == pid,
            o.c.channel == channel,
            o.c.source == "staff",
            o.c.lifted_at.is_(None),
        )  # fmt: skip
    ).first()
    if existing is not None:
        return 0
    conn.execute(
        insert(o).values(
            person_id=pid, channel=channel, source="staff", created_at=now, created_by=actor
        )
    )
    return 1


def _lift(conn: Connection, pid: int, channel: str, actor: str, now: datetime) -> int:
    done = conn.execute(
        update(o)
        .where(
            o.c.person_id == pid,
            o.c.channel == channel,
            o.c.source.in_(["staff", "provider"]),
            o.c.lifted_at.is_(None),
        )  # fmt: skip
        .values(lifted_at=now, lifted_by=actor)
    )
    return int(done.rowcount or 0)


def _cancel_if_unreachable(conn: Connection, pid: int, channels: str, now: datetime) -> int:
    """The sync's rule: cancel when the opt-outs cover every channel of the person's."""
    opted = set(
        conn.execute(
            select(o.c.channel).where(o.c.person_id == pid, o.c.lifted_at.is_(None))
        ).scalars()
    )
    reachable = [c for c in channels.split(",") if c and c not in opted]
    if "*" not in opted and reachable:
        return 0
    done = conn.execute(
        update(n)
        .where(
            n.c.permit_id.in_(select(p.c.id).where(p.c.person_id == pid)),
            n.c.status.in_(_PENDING),
        )
        .values(status=Status.CANCELLED.value, reason=Reason.OPTED_OUT.value, updated_at=now)
    )
    return int(done.rowcount or 0)


def opt_out_person(
    engine: Engine, person_id: int, channel: str, actor: str, reason: str, now: datetime,
    undo: bool = False,
) -> OptOutResult:  # fmt: skip
    """`opt_out` for one person named by internal id (the console's person page)."""
    with engine.connect() as conn:
        key = conn.execute(select(pe.c.registry_id).where(pe.c.id == person_id)).scalar()
    if key is None:
        raise NotifydError(f"no person {person_id}")
    return opt_out(engine, str(key), None, channel, actor, reason, now, undo=undo)


def note(engine: Engine, person_id: int, actor: str, text: str, now: datetime) -> None:
    """A free-text note in the person's story."""
    with engine.begin() as conn:
        record(conn, now, actor, "note", person_id=person_id, detail=text)
