"""Receipts and replies into the database: attempts, notices, opt-outs, conversation windows.

One short transaction per receipt, with the attempt and its notice locked (PostgreSQL; SQLite
writers are serialised by BEGIN IMMEDIATE), so a receipt and the dispatcher never interleave.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from notifyd.db import schema as s
from notifyd.db.store import chunks, reading
from notifyd.delivery import receipts as rules
from notifyd.hookspecs import Receipt, Reply
from notifyd.model import PENDING, Reason, Status

log = logging.getLogger(__name__)
#: WhatsApp's customer-service window: free-form messages (a voice note) only this long after
#: the person last wrote.
WINDOW = timedelta(hours=24)
_PENDING = [st.value for st in PENDING]


def apply_receipts(
    engine: Engine, channel: str, receipts: Iterable[Receipt], default_order: Sequence[str],
    now: datetime, unknown: list[tuple[str, Receipt]] | None = None,
) -> int:  # fmt: skip
    """Apply each receipt of `channel`; return how many changed something. Unknown provider
    ids and repeats change nothing (the unknown ones are added to `unknown`, if given)."""
    changed = 0
    with engine.connect() as conn:  # one connection, one transaction per receipt
        for receipt in receipts:
            with conn.begin():
                changed += _apply(conn, channel, receipt, tuple(default_order), now, unknown)
    return changed


def _apply(
    conn: Connection, channel: str, r: Receipt, default_order: tuple[str, ...], now: datetime,
    unknown: list[tuple[str, Receipt]] | None = None,
) -> bool:  # fmt: skip
    a, n, p, pe = s.attempts, s.notifications, s.permits, s.people
    row = conn.execute(
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
        .where(a.c.channel == channel, a.c.provider_id == r.provider_id)
        .order_by(a.c.id.desc())
        .limit(1)
        .with_for_update(of=[a, n])  # PostgreSQL; SQLite writers already queue
    ).first()
    if row is None:
        log.info("receipt for an unknown message", extra={"channel": channel})
        if unknown is not None:
            unknown.append((channel, r))
        return False
    attempt = rules.AttemptState(row.outcome, row.receipt, row.kind, row.channel, row.error)
    notice = rules.NoticeState(row.status, row.deadline, row.channel_pos)
    order = rules.channel_order(row.channels or "", default_order)
    at = r.at if r.at is not None and r.at.tzinfo is not None else now
    change = rules.decide(r.status, r.error, at, attempt, notice, order, now)
    if change.attempt:
        conn.execute(update(a).where(a.c.id == row.id).values(**change.attempt))
    if change.notice:
        conn.execute(
            update(n)
            .where(n.c.id == row.nid, n.c.status == row.status)
            .values(updated_at=now, **change.notice)
        )
    opted = r.opt_out and add_opt_out(conn, row.person_id, channel, order, now)
    if change.attempt or change.notice:
        log.info(
            "receipt applied",
            extra={"channel": channel, "attempt": row.id, "receipt": r.status,
                   "notice_status": change.notice.get("status", row.status)},
        )  # fmt: skip
    return bool(change.attempt or change.notice or opted)


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


def apply_replies(
    engine: Engine, channel: str, replies: Iterable[Reply], default_order: Sequence[str],
    now: datetime,
) -> list[int]:  # fmt: skip
    """Open the conversation window, record STOPs, and return the notices whose voice note
    the person asked to hear (a "listen:<id>" tap by the person that notice is for)."""
    wanted: list[int] = []
    usable = [r for r in replies if r.from_]
    if not usable:
        return wanted
    with engine.connect() as conn:
        for reply in usable:
            with conn.begin():
                _reply(conn, channel, reply, default_order, now, wanted)
    return wanted


def _reply(
    conn: Connection, channel: str, reply: Reply, default_order: Sequence[str], now: datetime,
    wanted: list[int],
) -> None:  # fmt: skip
    _touch_conversation(conn, channel, reply.from_, now)
    people = _people_with(conn, reply.from_)
    if rules.is_stop(reply.text):
        for person_id, channels in people:
            order = rules.channel_order(channels or "", tuple(default_order))
            add_opt_out(conn, person_id, channel, order, now)
    target = rules.listen_target(reply.payload)
    if target is not None and _asks_for_own(conn, target, [pid for pid, _ in people]):
        if not _followup_exists(conn, target) and target not in wanted:
            wanted.append(target)


def _touch_conversation(conn: Connection, channel: str, phone: str, now: datetime) -> None:
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


def _people_with(conn: Connection, phone: str) -> list[tuple[int, str]]:
    pe = s.people
    rows = conn.execute(
        select(pe.c.id, pe.c.channels).where(or_(pe.c.phone == phone, pe.c.whatsapp == phone))
    )
    return [(int(pid), channels) for pid, channels in rows]


def _asks_for_own(conn: Connection, notification_id: int, person_ids: list[int]) -> bool:
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


def _followup_exists(conn: Connection, notification_id: int) -> bool:
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


def record_opt_out(
    engine: Engine, notification_id: int, channel: str, default_order: Sequence[str],
    now: datetime,
) -> bool:  # fmt: skip
    """A send refused because the person opted out (e.g. Twilio 21610): record it for the
    notice's person, as a receipt saying so would."""
    n, p, pe = s.notifications, s.permits, s.people
    with engine.begin() as conn:
        row = conn.execute(
            select(pe.c.id, pe.c.channels)
            .join(p, p.c.person_id == pe.c.id)
            .join(n, n.c.permit_id == p.c.id)
            .where(n.c.id == notification_id)
        ).first()
        if row is None:
            return False
        order = rules.channel_order(row.channels or "", tuple(default_order))
        return add_opt_out(conn, int(row.id), channel, order, now)


def apply_receipt_batches(
    engine: Engine, batches: Sequence[tuple[str, Sequence[Receipt]]],
    default_order: Sequence[str], now: datetime,
    unknown: list[tuple[str, Receipt]] | None = None,
) -> int:  # fmt: skip
    """The receipts of several webhooks (channel, receipts) in one transaction: the web app
    gathers the webhooks that arrive while the previous group commits, since on SQLite a
    commit per receipt cost about as much as the receipt itself. Same rules, same result."""
    changed = 0
    order = tuple(default_order)
    with engine.connect() as conn, conn.begin():
        for channel, receipts in batches:
            for receipt in receipts:
                changed += _apply(conn, channel, receipt, order, now, unknown)
    return changed
