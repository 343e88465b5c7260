"""Contacts corrected by staff: their own rows, winning while the registry still holds the
value they replaced (see registry/sync.py), listed for export back to the registry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from notifyd.db import schema as s
from notifyd.db.staff import record
from notifyd.db.store import reading
from notifyd.errors import NotifydError

c, pe = s.contact_corrections, s.people
FIELDS = ("phone", "whatsapp")


def of_person(engine: Engine, person_id: int) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        rows = conn.execute(select(c).where(c.c.person_id == person_id).order_by(c.c.id))
        return [dict(r) for r in rows.mappings()]


def correct(
    engine: Engine, person_id: int, field: str, value: str, actor: str, now: datetime
) -> dict[str, Any]:
    """Record a staff value for `field` (an E.164 number) and use it at once."""
    if field not in FIELDS:
        raise NotifydError(f"a correction is of {' or '.join(FIELDS)}, not {field!r}")
    with engine.begin() as conn:
        who = conn.execute(select(pe).where(pe.c.id == person_id)).mappings().first()
        if who is None:
            raise NotifydError(f"no person {person_id}")
        replaced = who[field]
        _drop(conn, person_id, field, now, "replaced by a newer staff correction")
        conn.execute(
            insert(c).values(
                person_id=person_id,
                field=field,
                value=value,
                replaced=replaced,
                created_by=actor,
                created_at=now,
            )  # fmt: skip
        )
        conn.execute(update(pe).where(pe.c.id == person_id).values({field: value}))
        record(conn, now, actor, "correct_contact", person_id=person_id,
               detail=f"{field} {replaced or '(none)'} → {value}")  # fmt: skip
    return {"field": field, "value": value, "replaced": replaced}


def _drop(conn: Connection, person_id: int, field: str, now: datetime, why: str) -> int:
    done = conn.execute(
        update(c)
        .where(c.c.person_id == person_id, c.c.field == field, c.c.dropped_at.is_(None))
        .values(dropped_at=now, dropped_reason=why)
    )
    return int(done.rowcount or 0)


def active(conn: Connection, person_ids: list[int]) -> dict[tuple[int, str], dict[str, Any]]:
    """The corrections in force for these people: (person, field) → the row."""
    if not person_ids:
        return {}
    rows = conn.execute(
        select(c).where(c.c.person_id.in_(person_ids), c.c.dropped_at.is_(None))
    ).mappings()
    return {(r["person_id"], r["field"]): dict(r) for r in rows}


def apply(conn: Connection, person_id: int, field: str, registry_value: str | None,
          now: datetime) -> str | None:  # fmt: skip
    """The value the sync should store: the staff one while the registry still says what it
    replaced; otherwise the registry's, and the correction is dropped with the reason."""
    found = active(conn, [person_id]).get((person_id, field))
    if found is None:
        return registry_value
    if (registry_value or None) == (found["replaced"] or None):
        return str(found["value"])
    why = "the registry's value changed" if registry_value != found["value"] else (
        "the registry now holds the corrected value")  # fmt: skip
    _drop(conn, person_id, field, now, why)
    return registry_value


def pending(engine: Engine) -> list[dict[str, Any]]:
    """Corrections not yet in the registry: what the office exports back to it."""
    with reading(engine) as conn:
        rows = conn.execute(
            select(
                pe.c.registry_id, c.c.field, c.c.replaced, c.c.value, c.c.created_by, c.c.created_at
            )  # fmt: skip
            .join(pe, pe.c.id == c.c.person_id)
            .where(c.c.dropped_at.is_(None))
            .order_by(c.c.id)
        ).mappings()
        return [dict(r) for r in rows]
