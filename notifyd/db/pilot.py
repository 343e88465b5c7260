"""The pilot allowlist kept in the database: numbers an admin adds or removes in the console
(or with `notifyd pilot`), on top of the config's `pilot.allowlist`, without a reload."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from notifyd.db import schema as s
from notifyd.db.store import reading
from notifyd.errors import NotifydError

pn = s.pilot_numbers


def numbers(engine: Engine) -> list[dict[str, Any]]:
    """The numbers added in the database, oldest first."""
    with reading(engine) as conn:
        rows = conn.execute(select(pn).order_by(pn.c.added_at, pn.c.number)).mappings()
        return [dict(r) for r in rows]


def allowlist(engine: Engine, configured: Iterable[str]) -> frozenset[str]:
    """Everything pilot mode lets through: the config's numbers and the database's."""
    with reading(engine) as conn:
        return frozenset(configured) | frozenset(conn.execute(select(pn.c.number)).scalars())


def add(engine: Engine, number: str, by: str, now: datetime) -> None:
    """Add an E.164 number (already normalised by the caller)."""
    if not number.startswith("+") or not number[1:].isdigit():
        raise NotifydError(f"{number!r} is not an E.164 number; write it as +62…")
    with engine.begin() as conn:
        if conn.execute(select(pn.c.number).where(pn.c.number == number)).first() is not None:
            raise NotifydError(f"{number} is on the allowlist already")
        conn.execute(insert(pn).values(number=number, added_by=by, added_at=now))


def remove(engine: Engine, number: str) -> None:
    with engine.begin() as conn:
        done = conn.execute(delete(pn).where(pn.c.number == number))
    if not done.rowcount:
        raise NotifydError(
            f"{number} is not on the database's allowlist (numbers in the config file are "
            "removed there)"
        )
