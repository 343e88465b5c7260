"""Receipts and replies in the database: the rows a receipt is about, what it changes, opt-outs
and conversation windows. What a receipt means is decided in notifyd.delivery.receipts."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from notifyd.db import schema as s
from notifyd.db.store import chunks, reading
from notifyd.model import PENDING, Reason, Status

log = logging.getLogger(__name__)
#: WhatsApp's customer-service window: free-form messages (a voice note) only this long after
#: the person last wrote.
WINDOW = timedelta(hours=24)
_PENDING = [st.value for st in PENDING]


def locked_attempt(
    conn: Connection, channel: str, provider_id: str, attempt_id: int = 0
) -> Any | None:
    """The attempt a receipt is about, with its notice and person, locked until the commit
    (PostgreSQL; SQLite writers already queue); None for a message we never sent. Our own
    attempt id, when the provider echoed it, wins: it finds a send whose provider id was
    never recorded (a timeout after the request left)."""
    a, n, p, pe = s.attempts, s.notifications, s.permits, s.people
    if attempt_id:
        match = and_(a.c.channel == channel, a.c.id == attempt_id)
    else:
        match = and_(a.c.channel == channel, a.c.provider_id == provider_id)
    return conn.execute(
        select(
            a.c.id,
            a.c.outcome,
            a.c.provider_id,
            a.c.receipt,
            a.c.kind,
            a.c.channel,
            a.c.error,
            n.c.id.label("nid"),
            n.c.status,
            n.c.reason,
            n.c.deadline,
            n.c.channel_pos,
            pe.c.id.label("person_id"),
            pe.c.channels,
        )  # fmt: skip
        .join(n, n.c.id == a.c.notification_id)
        .join(p, p.c.id == n.c.permit_id)
        .join(pe, pe.c.id == p.c.person_id)
        .where(match)
        .order_by(a.c.id.desc())
        .limit(1)
        .with_for_update(of=[a, n])
    ).first()


def write_change(
    conn: Connection, row: Any, attempt: dict[str, Any], notice: dict[str, Any], now: datetime
) -> None:
    """Write what a receipt changes; the notice only if nothing moved it meanwhile."""
    a, n = s.attempts, s.notifications
    if attempt:
        conn.execute(update(a).where(a.c.id == row.id).values(**attempt))
    if notice:
        conn.execute(
            update(n)
            .where(n.c.id == row.nid, n.c.status == row.status)
            .values(updated_at=now, **notice)
        )


def keep_early(
    conn: Connection, channel: str, provider_id: str, attempt_id: int, status: str, error: str,
    opt_out: bool, at: datetime | None, now: datetime,
) -> None:  # fmt: skip
    """Keep a receipt whose send is not recorded yet (see schema.EarlyReceipt)."""
    e = s.early_receipts
    conn.execute(
        insert(e).values(
            channel=channel, provider_id=provider_id[:128], attempt_id=attempt_id or None,
            status=status[:16], error=error, opt_out=opt_out, at=at, received_at=now,
        )
    )  # fmt: skip


def early_receipts(engine: Engine, limit: int = 500) -> list[Any]:
    """Kept receipts whose attempt is now recorded (no longer pending), oldest first."""
    e, a = s.early_receipts, s.attempts
    by_id = and_(e.c.attempt_id.is_not(None), a.c.id == e.c.attempt_id)
    by_pid = and_(
        e.c.attempt_id.is_(None), a.c.channel == e.c.channel, a.c.provider_id == e.c.provider_id
    )
    with reading(engine) as conn:
        return list(
            conn.execute(
                select(e)
                .where(select(a.c.id).where(or_(by_id, by_pid), a.c.outcome != "pending").exists())
                .order_by(e.c.id)
                .limit(limit)
            ).all()
        )


def drop_early(conn: Connection, ids: Sequence[int]) -> None:
    e = s.early_receipts
    for part in chunks(list(ids)):
        conn.execute(delete(e).where(e.c.id.in_(part)))


def expire_early(engine: Engine, before: datetime) -> int:
    """Forget kept receipts older than `before`: their send was never ours, or is long gone."""
    e = s.early_receipts
    with engine.begin() as conn:
        return int(conn.execute(delete(e).where(e.c.received_at < before)).rowcount)


def early_count(engine: Engine) -> int:
    e = s.early_receipts
    with reading(engine) as conn:
        return int(conn.execute(select(func.count()).select_from(e)).scalar_one())


def person_of_notice(conn: Connection, notification_id: int) -> Any | None:
    """The person a notice is for: (id, channels), or None."""
    n, p, pe = s.notifications, s.permits, s.people
    return conn.execute(
        select(pe.c.id, pe.c.channels)
        .join(p, p.c.person_id == pe.c.id)
        .join(n, n.c.permit_id == p.c.id)
        .where(n.c.id == notification_id)
    ).first()


def add_opt_out(
    conn: Connection, person_id: int, channel: str, order: Sequence[str], now: datetime
) -> bool:
    """Record that the person asked the provider to stop; their pending notices skip this
    channel, and are cancelled when no channel is left. False when already opted out."""
    o, n, p = s.opt_outs, s.notifications, s.permits
    active = {
        ch
        for (ch,) in conn.execute(
            select(o.c.channel).where(o.c.person_id == person_id, o.c.lifted_at.is_(None))
        )
    }
    if channel in active or "*" in active:
        return False
    conn.execute(
        insert(o).values(
            person_id=person_id, channel=channel, source="provider", created_at=now,
            created_by=f"provider:{channel}",
        )
    )  # fmt: skip
    active.add(channel)
    pending = conn.execute(
        select(n.c.id, n.c.channel_pos)
        .join(p, p.c.id == n.c.permit_id)
        .where(p.c.person_id == person_id, n.c.status.in_(_PENDING))
    ).all()
    for nid, pos in pending:
        later = [i for i in range(pos, len(order)) if order[i] not in active]
        values: dict[str, Any] = (
            {"channel_pos": later[0]}
            if later
            else {"status": Status.CANCELLED.value, "reason": Reason.OPTED_OUT.value}
        )
        conn.execute(
            update(n)
            .where(n.c.id == nid, n.c.status.in_(_PENDING))
            .values(updated_at=now, **values)
        )
    log.info("provider opt-out recorded", extra={"channel": channel, "pending": len(pending)})
    return True


def touch_conversation(conn: Connection, channel: str, phone: str, now: datetime) -> None:
    c = s.conversations
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(c).values(channel=channel, phone=phone, last_inbound_at=now)
    later = c.c.last_inbound_at < stmt.excluded.last_inbound_at
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[c.c.channel, c.c.phone],
            set_={"last_inbound_at": stmt.excluded.last_inbound_at},
            where=later,
        )
    )


def people_with(conn: Connection, phone: str) -> list[tuple[int, str]]:
    pe = s.people
    rows = conn.execute(
        select(pe.c.id, pe.c.channels).where(or_(pe.c.phone == phone, pe.c.whatsapp == phone))
    )
    return [(int(pid), channels) for pid, channels in rows]


def asks_for_own(conn: Connection, notification_id: int, person_ids: list[int]) -> bool:
    """A tap counts only from the person the notice is for (a payload is never trusted)."""
    if not person_ids:
        return False
    n, p = s.notifications, s.permits
    found = conn.execute(
        select(n.c.id)
        .join(p, p.c.id == n.c.permit_id)
        .where(n.c.id == notification_id, p.c.person_id.in_(person_ids))
    ).first()
    return found is not None


def followup_exists(conn: Connection, notification_id: int) -> bool:
    """A voice note already sent, on its way or of unknown fate: a replayed tap is not a
    second request."""
    a = s.attempts
    found = conn.execute(
        select(a.c.id).where(
            and_(
                a.c.notification_id == notification_id,
                a.c.kind == "voice_followup",
                a.c.outcome.in_(["pending", "sent", "unknown"]),
            )
        )
    ).first()
    return found is not None


def window_open(engine: Engine, channel: str, phone: str, now: datetime) -> bool:
    """Did the person write to us on this channel within the last 24 hours?"""
    c = s.conversations
    with reading(engine) as conn:
        last = conn.execute(
            select(c.c.last_inbound_at).where(c.c.channel == channel, c.c.phone == phone)
        ).scalar_one_or_none()
    return last is not None and now - last < WINDOW


def open_windows(
    engine: Engine, wanted: Iterable[tuple[str, str]], now: datetime
) -> set[tuple[str, str]]:
    """The (channel, phone) pairs among `wanted` whose window is open: one query per chunk of
    phones, for a whole dispatch batch (window_open would be one round trip per message)."""
    pairs = set(wanted)
    if not pairs:
        return set()
    c = s.conversations
    since = now - WINDOW
    found: set[tuple[str, str]] = set()
    phones = sorted({phone for _, phone in pairs})
    with reading(engine) as conn:
        for part in chunks(phones):
            rows = conn.execute(
                select(c.c.channel, c.c.phone).where(
                    c.c.phone.in_(part), c.c.last_inbound_at > since
                )
            )
            found.update((ch, ph) for ch, ph in rows if (ch, ph) in pairs)
    return found


def keep_tap(engine: Engine, notification_id: int, channel: str, now: datetime) -> None:
    """Remember a listen tap that came while sending was paused (once per notice and channel)."""
    t = s.waiting_taps
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(t).values(notification_id=notification_id, channel=channel,
                                    tapped_at=now)  # fmt: skip
    with engine.begin() as conn:
        conn.execute(stmt.on_conflict_do_nothing(index_elements=[t.c.notification_id, t.c.channel]))


def take_taps(engine: Engine, channels: Iterable[str], now: datetime) -> list[tuple[int, str]]:
    """Remove and return the waiting taps of `channels` still worth answering: the notice's
    stage not past its deadline, the person's window (24 h from the tap) still open. The
    others are dropped and counted in the log."""
    t, n = s.waiting_taps, s.notifications
    wanted = list(channels)
    if not wanted:
        return []
    with engine.begin() as conn:
        rows = conn.execute(
            select(t.c.id, t.c.notification_id, t.c.channel, t.c.tapped_at, n.c.deadline)
            .join(n, n.c.id == t.c.notification_id)
            .where(t.c.channel.in_(wanted))
            .with_for_update(of=t, skip_locked=True)
        ).all()
        if not rows:
            return []
        conn.execute(delete(t).where(t.c.id.in_([r.id for r in rows])))
    live = [(r.notification_id, r.channel) for r in rows
            if now < r.deadline and now - r.tapped_at < WINDOW]  # fmt: skip
    if len(live) < len(rows):
        log.info("taps too old to answer after resume", extra={"taps": len(rows) - len(live)})
    return live
