"""Contacts corrected by staff: their own rows, winning while the registry still holds the
value they replaced (see registry/sync.py), listed for export back to the registry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from notifyd.db import schema as s
from notifyd.db.staff import record
from notifyd.db.store import chunks, reading
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


def reapply(conn: Connection, seen: Sequence[tuple[int, str, str | None]], now: datetime) -> int:
    """After the sync wrote registry values: (person id, field, registry value) for each.

    A staff correction wins while the registry still holds the value it replaced (the number
    is put back); once the registry's value changes, the correction is dropped, with why, in the
    person's story. Returns how many corrections were dropped."""
    dropped = 0
    ids = sorted({pid for pid, _f, _v in seen})
    found: dict[tuple[int, str], dict[str, Any]] = {}
    for part in chunks(ids):
        found.update(active(conn, list(part)))
    if not found:
        return 0
    for pid, field, registry_value in seen:
        fix = found.get((pid, field))
        if fix is None:
            continue
        if (registry_value or None) == (fix["replaced"] or None):
            conn.execute(update(pe).where(pe.c.id == pid).values({field: fix["value"]}))
            continue
        why = (
            "the registry now holds the corrected value"
            if registry_value == fix["value"]
            else f"the registry's {field} changed"
        )
        dropped += _drop(conn, pid, field, now, why)
        record(conn, now, "sync", "correction_dropped", person_id=pid, detail=f"{field}: {why}")
    return dropped


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
