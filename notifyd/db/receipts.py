"""Receipts and replies in the database: the rows a receipt is about, what it changes, opt-outs
and conversation windows. What a receipt means is decided in notifyd.delivery.receipts."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from notifyd.db import schema as s
from notifyd.db.store import chunks, reading
from notifyd.model import PENDING, Reason, Status

log = logging.getLogger(__name__)
#: WhatsApp's customer-service window: free-form messages (a voice note) only this long after
#: the person last wrote.
WINDOW = timedelta(hours=24)
_PENDING = [st.value for st in PENDING]


def locked_attempt(conn: Connection, channel: str, provider_id: str) -> Any | None:
    """The attempt a receipt is about, with its notice and person, locked until the commit
    (PostgreSQL; SQLite writers already queue); None for a message we never sent."""
    a, n, p, pe = s.attempts, s.notifications, s.permits, s.people
    return conn.execute(
        select(
            a.c.id,
            a.c.outcome,
            a.c.receipt,
            a.c.kind,
            a.c.channel,
            a.c.error,
            n.c.id.label("nid"),
            n.c.status,
            n.c.deadline,
            n.c.channel_pos,
            pe.c.id.label("person_id"),
            pe.c.channels,
        )  # fmt: skip
        .join(n, n.c.id == a.c.notification_id)
        .join(p, p.c.id == n.c.permit_id)
        .join(pe, pe.c.id == p.c.person_id)
        .where(a.c.channel == channel, a.c.provider_id == provider_id)
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
