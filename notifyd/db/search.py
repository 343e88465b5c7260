"""Finding a person the way a caller describes themselves: by name in any script (partial,
ignoring case, accents and spacing), by phone in any notation, passport, permit number or
registry id. Shared by the console and the CLI (`show`, `log --person`).

Names are searched through folded keys kept in `people_search` (refreshed from `people` by
`refresh`): on SQLite an FTS5 trigram table serves substrings, on PostgreSQL a pg_trgm GIN
index; numbers match exactly through their own indexes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import phonenumbers
from anyascii import anyascii
from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, text

from notifyd.db import schema as s
from notifyd.db.store import chunks, reading

pe, p, ps = s.people, s.permits, s.people_search
#: Shortest folded query served by the trigram index; shorter ones match name prefixes.
TRIGRAM = 3
LIMIT = 50


def fold(name: str) -> str:
    """Casefolded, accents and marks removed, only letters and digits kept (no spaces)."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum())


def name_key(name: str) -> str:
    """The key stored for a name: its own script folded, then its Latin transliteration folded
    when that differs, separated by a space (queries never contain one, so a match never spans
    the two)."""
    own, latin = fold(name), fold(anyascii(name))
    return own if latin == own or not latin else f"{own} {latin}"


def refresh(engine: Engine, now: datetime) -> int:
    """Index the people added or changed since the last refresh; returns how many.

    Cheap when nothing changed (one index look-up each side), so the console runs it every
    minute. Strictly after the newest indexed change: a sync writes every person it touches
    with its own instant in one transaction, so a refresh sees all of a sync or none of it."""
    with reading(engine) as conn:
        mark = conn.execute(select(func.max(ps.c.source_at))).scalar_one_or_none()
        query = select(pe.c.id, pe.c.full_name, pe.c.updated_at)
        if mark is not None:
            query = query.where(pe.c.updated_at > mark)
        rows = conn.execute(query).all()
    done = 0
    for batch in chunks(rows, 5000):
        with engine.begin() as conn:
            _write(conn, batch)
        done += len(batch)
    return done


def _write(conn: Connection, batch: Sequence[Any]) -> None:
    ids = [r.id for r in batch]
    values = [
        {"person_id": r.id, "name_key": name_key(r.full_name or ""), "source_at": r.updated_at}
        for r in batch
    ]
    conn.execute(delete(ps).where(ps.c.person_id.in_(ids)))
    conn.execute(insert(ps), values)
    if conn.dialect.name == "sqlite":
        listed = ",".join(str(int(i)) for i in ids)  # integers from our own table
        conn.execute(text(f"DELETE FROM people_fts WHERE rowid IN ({listed})"))
        conn.execute(
            text("INSERT INTO people_fts(rowid, name_key) VALUES (:person_id, :name_key)"),
            [{"person_id": v["person_id"], "name_key": v["name_key"]} for v in values],
        )


def phone_key(query: str, region: str) -> str | None:
    """The query as an E.164 number, if it reads as a valid one (0812…, +62 812…, 62812…)."""
    digits = sum(ch.isdigit() for ch in query)
    if digits < 6 or any(ch.isalpha() for ch in query):
        return None
    for candidate in (query, "+" + query.strip()):
        try:
            num = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return str(phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164))
    return None


def find(engine: Engine, query: str, region: str = "ID", limit: int = LIMIT) -> list[int]:
    """Ids of the people the query names, best matches first (exact keys, then names)."""
    q = query.strip()
    if not q:
        return []
    with reading(engine) as conn:
        return find_in(conn, q, region, limit)


def find_in(conn: Connection, q: str, region: str, limit: int) -> list[int]:
    found: list[int] = []

    def add(ids: Any) -> None:
        for i in ids:
            if i not in found:
                found.append(int(i))

    upper = q.upper().replace(" ", "")
    add(conn.execute(select(pe.c.id).where(pe.c.registry_id == q.strip())).scalars())
    add(
        conn.execute(select(p.c.person_id).where(p.c.permit_number == upper).limit(limit)).scalars()
    )
    add(conn.execute(select(pe.c.id).where(pe.c.passport_number == upper).limit(limit)).scalars())
    phone = phone_key(q, region)
    if phone:
        add(
            conn.execute(
                select(pe.c.id)
                .where(or_(pe.c.phone == phone, pe.c.whatsapp == phone))
                .order_by(pe.c.id)
                .limit(limit)
            ).scalars()
        )
    if phone is None and not found:  # an exact key answered: no name search on top
        add(_by_name(conn, q, limit))
    return found[:limit]


def _by_name(conn: Connection, q: str, limit: int) -> list[int]:
    key = fold(q)
    if not key:
        return []
    if len(key) < TRIGRAM:  # too short for trigrams: names that start so
        if conn.dialect.name == "sqlite":
            cond = text("name_key >= :k AND name_key < :k || char(1114111)")
        else:
            cond = text("name_key LIKE :k || '%'")
        return list(
            conn.execute(
                select(ps.c.person_id).where(cond).order_by(ps.c.name_key).limit(limit),
                {"k": key},
            ).scalars()
        )
    if conn.dialect.name == "sqlite":
        # no ORDER BY rank: scoring every match of a common name costs more than it helps
        sql = "SELECT rowid FROM people_fts WHERE people_fts MATCH :m LIMIT :n"
        return list(conn.execute(text(sql), {"m": '"' + key + '"', "n": limit}).scalars())
    return list(
        conn.execute(
            select(ps.c.person_id).where(ps.c.name_key.like("%" + key + "%")).limit(limit)
        ).scalars()
    )


def people(engine: Engine, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The search results as a list shows them: who, their numbers and their permits."""
    if not ids:
        return []
    with reading(engine) as conn:
        rows = {
            r["id"]: dict(r)
            for r in conn.execute(
                select(
                    pe.c.id,
                    pe.c.registry_id,
                    pe.c.full_name,
                    pe.c.nationality,
                    pe.c.passport_number,
                    pe.c.phone,
                    pe.c.whatsapp,
                    pe.c.language,
                ).where(pe.c.id.in_(list(ids)))  # fmt: skip
            ).mappings()
        }
        for r in rows.values():
            r["permits"] = []
        for pid, number, expiry in conn.execute(
            select(p.c.person_id, p.c.permit_number, p.c.expiry_date)
            .where(p.c.person_id.in_(list(ids)))
            .order_by(p.c.expiry_date)
        ):
            rows[pid]["permits"].append({"permit_number": number, "expiry_date": expiry})
    return [rows[i] for i in ids if i in rows]
