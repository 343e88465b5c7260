"""Console accounts, sign-in with throttling, server-side sessions and the staff audit record.

Passwords are Argon2 hashes (argon2-cffi, rehashed on sign-in when its parameters change).
A session cookie holds a random token; the table keeps only its SHA-256, so reading the
database does not let anyone in. Failures are counted from the audit record itself: per
account and per address over `WINDOW`, so a lockout survives a restart.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, insert, select, update

from notifyd.db import schema as s
from notifyd.db.store import reading
from notifyd.errors import NotifydError
from notifyd.model import ROLES

u, ss, au = s.console_users, s.console_sessions, s.staff_audit
#: Failed sign-ins counted over this span: this many for one account, or from one address,
#: lock it out until the span since the first of them has passed.
WINDOW = timedelta(minutes=15)
MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 20
MIN_PASSWORD = 10
_hasher = PasswordHasher()


@cache
def _dummy() -> str:
    """Verified against when the account does not exist, so that a wrong name costs as much
    time as a wrong password and does not tell which it was. Made on first use: a hash costs
    a quarter of a CPU second and 64 MiB, which every command would pay at import."""
    return _hasher.hash("not a password of anyone's")


def warm() -> None:
    """Make the unknown-name hash now (the console does at start), so that the first sign-in
    with a wrong name does not take longer than the ones after it."""
    _dummy()


def audit(
    engine: Engine, now: datetime, actor: str, action: str, *, address: str = "",
    ok: bool = True, person_id: int | None = None, detail: str = "",
) -> None:  # fmt: skip
    with engine.begin() as conn:
        conn.execute(
            insert(au).values(
                at=now,
                actor=actor,
                address=address,
                action=action,
                ok=ok,
                person_id=person_id,
                detail=detail,
            )  # fmt: skip
        )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise NotifydError(f"the password is too short: use at least {MIN_PASSWORD} characters")


def add_user(
    engine: Engine, name: str, role: str, password: str, now: datetime, by: str,
    address: str = "",
) -> None:  # fmt: skip
    if role not in ROLES:
        raise NotifydError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if not name or len(name) > 64 or not name.isprintable() or " " in name:
        raise NotifydError("a user name is 1–64 printable characters without spaces")
    check_password(password)
    with engine.begin() as conn:
        if conn.execute(select(u.c.id).where(u.c.name == name)).first() is not None:
            raise NotifydError(f"user {name!r} exists; change it with `notifyd user passwd`")
        conn.execute(
            insert(u).values(
                name=name,
                role=role,
                password_hash=_hasher.hash(password),
                active=True,
                created_at=now,
                updated_at=now,
            )  # fmt: skip
        )
    audit(engine, now, by, "user_add", address=address, detail=f"{name} as {role}")


def set_password(
    engine: Engine, name: str, password: str, now: datetime, by: str, address: str = ""
) -> None:
    check_password(password)
    _change(engine, name, now, password_hash=_hasher.hash(password))
    audit(engine, now, by, "user_passwd", address=address, detail=name)


def set_active(
    engine: Engine, name: str, active: bool, now: datetime, by: str, address: str = ""
) -> None:
    """Disable (ending every session of the user at once) or enable again."""
    uid = _change(engine, name, now, active=active)
    if not active:
        with engine.begin() as conn:
            conn.execute(delete(ss).where(ss.c.user_id == uid))
    audit(engine, now, by, "user_enable" if active else "user_disable", address=address,
          detail=name)  # fmt: skip


def _change(engine: Engine, name: str, now: datetime, **values: Any) -> int:
    with engine.begin() as conn:
        uid = conn.execute(select(u.c.id).where(u.c.name == name)).scalar_one_or_none()
        if uid is None:
            raise NotifydError(f"no user {name!r}; see `notifyd user list`")
        conn.execute(update(u).where(u.c.id == uid).values(updated_at=now, **values))
    return int(uid)


def list_users(engine: Engine) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        rows = conn.execute(
            select(u.c.name, u.c.role, u.c.active, u.c.created_at).order_by(u.c.name)
        ).mappings()
        return [dict(r) for r in rows]


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to: a session token and its CSRF token, or why not."""

    token: str | None = None
    csrf: str | None = None
    refusal: str = ""  # "wrong", "locked"


def locked(engine: Engine, name: str, address: str, now: datetime) -> bool:
    since = now - WINDOW
    with reading(engine) as conn:
        fails = (
            select(func.count())
            .select_from(au)
            .where(au.c.action == "sign_in", au.c.ok.is_(False), au.c.at >= since)
        )
        by_name = conn.execute(fails.where(au.c.actor == name)).scalar_one()
        by_address = conn.execute(fails.where(au.c.address == address)).scalar_one()
    return by_name >= MAX_PER_ACCOUNT or by_address >= MAX_PER_ADDRESS


def sign_in(engine: Engine, name: str, password: str, address: str, now: datetime) -> SignIn:
    """Check the password (unless locked out), record the attempt, open a session."""
    name = name.strip()[:64]
    if locked(engine, name, address, now):
        audit(engine, now, name, "sign_in_locked", address=address, ok=False)
        return SignIn(refusal="locked")
    with reading(engine) as conn:
        user = conn.execute(select(u).where(u.c.name == name)).mappings().first()
    if user is None or not user["active"]:
        _verify(_dummy(), password)
        good = False
    else:
        good = _verify(user["password_hash"], password)
    if not good:
        audit(engine, now, name, "sign_in", address=address, ok=False)
        return SignIn(refusal="wrong")
    assert user is not None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with engine.begin() as conn:
        if _hasher.check_needs_rehash(user["password_hash"]):
            conn.execute(
                update(u).where(u.c.id == user["id"]).values(password_hash=_hasher.hash(password))
            )
        conn.execute(
            insert(ss).values(
                id=_digest(token),
                user_id=user["id"],
                csrf=csrf,
                address=address[:64],
                created_at=now,
                last_seen=now,
            )  # fmt: skip
        )
    audit(engine, now, name, "sign_in", address=address)
    return SignIn(token=token, csrf=csrf)


def _verify(hashed: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(hashed, password))
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session(engine: Engine, token: str, now: datetime, idle: timedelta) -> dict[str, Any] | None:
    """The session and its user for a cookie's token, touched; None when unknown, idle past
    `idle`, or its user disabled (the row is then removed)."""
    sid = _digest(token)
    with engine.begin() as conn:
        row = (
            conn.execute(
                select(ss.c.id, ss.c.csrf, ss.c.last_seen, u.c.name, u.c.role, u.c.active)
                .join(u, u.c.id == ss.c.user_id)
                .where(ss.c.id == sid)
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        if not row["active"] or now - row["last_seen"] > idle:
            conn.execute(delete(ss).where(ss.c.id == sid))
            return None
        if now - row["last_seen"] > timedelta(seconds=30):  # not a write per page view
            conn.execute(update(ss).where(ss.c.id == sid).values(last_seen=now))
    return {"name": row["name"], "role": row["role"], "csrf": row["csrf"]}


def sign_out(engine: Engine, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(ss).where(ss.c.id == _digest(token)))


def audit_record(engine: Engine, limit: int = 200) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        rows = conn.execute(select(au).order_by(au.c.id.desc()).limit(limit)).mappings()
        return [dict(r) for r in rows]
