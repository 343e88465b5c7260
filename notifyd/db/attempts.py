"""Attempt rows (the delivery log) and what a send needs to read about its notice.

The attempt row is written before the provider is called, so a crash leaves a trace
(DESIGN.md, Delivery semantics).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from notifyd.db import schema as s
from notifyd.db.store import reading
from notifyd.model import NoticeFacts


@dataclass(frozen=True)
class Addressee:
    """Where a notice goes: the person's numbers (E.164) or None."""

    phone: str | None
    whatsapp: str | None

    def for_kind(self, kind: str) -> str | None:
        """WhatsApp channels use the WhatsApp number, falling back to the phone."""
        if kind == "whatsapp":
            return self.whatsapp or self.phone
        return self.phone


def start_attempt(
    engine: Engine, notification_id: int, channel: str, now: datetime, *, kind: str = "notice",
    engine_name: str | None = None, address: str | None = None,
) -> int:  # fmt: skip
    """A pending attempt, written before the provider is called, with the address it goes to."""
    a = s.attempts
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(a)
                .values(
                    notification_id=notification_id,
                    channel=channel,
                    started_at=now,
                    outcome="pending",
                    kind=kind,
                    engine=engine_name,
                    address=address or None,
                )  # fmt: skip
                .returning(a.c.id)
            ).scalar_one()
        )


def finish_attempt(
    engine: Engine, attempt_id: int, now: datetime, outcome: str, *,
    provider_id: str | None = None, error: str | None = None, notice_status: str | None = None,
) -> None:  # fmt: skip
    """Record how a send ended; `notice_status` moves the notice too (e.g. "sent")."""
    a, n = s.attempts, s.notifications
    with engine.begin() as conn:
        conn.execute(
            update(a)
            .where(a.c.id == attempt_id)
            .values(finished_at=now, outcome=outcome, provider_id=provider_id, error=error)
        )
        if notice_status is not None:
            nid = select(a.c.notification_id).where(a.c.id == attempt_id).scalar_subquery()
            conn.execute(
                update(n)
                .where(n.c.id == nid)
                .values(status=notice_status, attempt_count=n.c.attempt_count + 1, updated_at=now)
            )


def notice_facts(engine: Engine, notification_id: int) -> tuple[NoticeFacts, Addressee] | None:
    """What the words of a notice need, and where it goes; None for an unknown id."""
    n, p, pe = s.notifications, s.permits, s.people
    with reading(engine) as conn:
        row = conn.execute(
            select(
                n.c.id,
                n.c.stage,
                n.c.catch_up,
                pe.c.language,
                pe.c.full_name,
                p.c.permit_number,
                p.c.permit_type,
                p.c.expiry_date,
                p.c.office,
                pe.c.phone,
                pe.c.whatsapp,
            )  # fmt: skip
            .join(p, p.c.id == n.c.permit_id)
            .join(pe, pe.c.id == p.c.person_id)
            .where(n.c.id == notification_id)
        ).first()
    if row is None:
        return None
    facts = NoticeFacts(
        notification_id=row.id, stage=row.stage, catch_up=bool(row.catch_up),
        language=row.language, full_name=row.full_name, permit_number=row.permit_number,
        permit_type=row.permit_type, expiry_date=row.expiry_date, office=row.office,
    )  # fmt: skip
    return facts, Addressee(row.phone, row.whatsapp)


def attempts_of(engine: Engine, notification_id: int) -> list[dict[str, object]]:
    """The delivery log of one notice, oldest first."""
    a = s.attempts
    with reading(engine) as conn:
        rows = conn.execute(
            select(a).where(a.c.notification_id == notification_id).order_by(a.c.id)
        )
        return [dict(r) for r in rows.mappings()]
