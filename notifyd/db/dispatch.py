"""The dispatcher's queries: claims under a lease, attempts, outcomes, operator controls.

With schema.py, store.py and syncstore.py, the only modules that know SQLAlchemy.

A claim is one short write transaction: `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED) RETURNING id` on PostgreSQL, so several instances never take the same row; on SQLite
the FOR UPDATE is dropped and the engine's `BEGIN IMMEDIATE` (store.connect) makes the same
statement the only writer. Every later write about a claimed notice also matches the claim's
owner token, so an instance whose lease ran out cannot overwrite its successor's work.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Engine,
    String,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from notifyd.db import schema as s
from notifyd.db.store import chunks, reading
from notifyd.model import Claimed, NoticeFacts, Status, whole_reason

_PENDING = (Status.SCHEDULED.value, Status.RETRYING.value)


def supersede_overdue(engine: Engine, now: datetime) -> list[int]:
    """Notices still waiting at their deadline are superseded (DESIGN.md: a stage not yet
    delivered at its deadline); returns their ids."""
    n = s.notifications
    with engine.begin() as conn:
        rows = conn.execute(
            update(n)
            .where(n.c.status.in_(_PENDING), n.c.due_at <= now, n.c.deadline <= now)
            .values(status=Status.SUPERSEDED.value, reason="deadline_passed", updated_at=now)
            .returning(n.c.id)
        )
        return [r[0] for r in rows]


#: A notice's reason while its last send, of unknown outcome, waits for word from the provider.
RECONCILING = "reconciling"


def claim(
    engine: Engine, owner: str, now: datetime, lease_until: datetime, limit: int,
    reconcile: Mapping[str, float] | None = None, reconcile_default: float = 0.0,
) -> list[Claimed]:  # fmt: skip
    """Take up to `limit` due notices (and notices whose lease expired) under a lease.

    A notice whose owner died mid-send (its lease expired with a pending attempt) is not sent
    again now: the attempt becomes `unknown` and the notice waits `reconcile[channel]` seconds
    (never past its deadline) for the send's receipt, as after a timeout."""
    n = s.notifications
    lease = {"status": Status.SENDING.value, "lease_owner": owner, "lease_until": lease_until}
    with engine.begin() as conn:
        expired = (
            select(n.c.id)
            .where(n.c.status == Status.SENDING.value, n.c.lease_until < now)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = [
            r[0]
            for r in conn.execute(
                update(n).where(n.c.id.in_(expired)).values(**lease).returning(n.c.id)
            )
        ]
        if ids:  # their owner died mid-send: whether those sends left is unknown
            ids = _reconcile_expired(conn, ids, now, reconcile or {}, reconcile_default)
        if len(ids) < limit:
            due = (
                select(n.c.id)
                .where(n.c.status.in_(_PENDING), n.c.due_at <= now)
                .order_by(n.c.due_at)
                .limit(limit - len(ids))
                .with_for_update(skip_locked=True)
            )
            ids += [
                r[0]
                for r in conn.execute(
                    update(n).where(n.c.id.in_(due)).values(**lease).returning(n.c.id)
                )
            ]
        return _details(conn, ids) if ids else []


def _reconcile_expired(
    conn: Any, ids: list[int], now: datetime, reconcile: Mapping[str, float], default: float
) -> list[int]:
    """Mark the pending attempts of expired claims unknown and set their notices waiting for
    reconciliation; returns the ids that had no send under way (those are worked now)."""
    n, a = s.notifications, s.attempts
    pending = conn.execute(
        select(a.c.notification_id, a.c.channel, n.c.deadline)
        .join(n, n.c.id == a.c.notification_id)
        .where(a.c.notification_id.in_(ids), a.c.outcome == "pending")
    ).all()
    conn.execute(
        update(a)
        .where(a.c.notification_id.in_(ids), a.c.outcome == "pending")
        .values(outcome="unknown", finished_at=now, error="lease expired mid-send")
    )
    waiting = {}
    for nid, channel, deadline in pending:
        wait = reconcile.get(channel, default)
        waiting[nid] = min(now + timedelta(seconds=wait), deadline)
    if waiting:
        conn.execute(
            update(n)
            .where(n.c.id == bindparam("nid"))
            .values(
                status=Status.RETRYING.value,
                reason=RECONCILING,
                due_at=bindparam("due"),
                lease_owner=None,
                lease_until=None,
                updated_at=now,
            ),  # fmt: skip
            [{"nid": nid, "due": due} for nid, due in waiting.items()],
        )
    return [nid for nid in ids if nid not in waiting]


def _unknown_sends(conn: Any, ids: list[int]) -> dict[int, tuple[int, str, datetime]]:
    """Of notices being reconciled, the last send of unknown outcome that no receipt settled."""
    a = s.attempts
    out: dict[int, tuple[int, str, datetime]] = {}
    for part in chunks(ids):
        rows = conn.execute(
            select(
                a.c.id, a.c.notification_id, a.c.channel, a.c.started_at, a.c.outcome, a.c.receipt
            )  # fmt: skip
            .where(a.c.notification_id.in_(part), a.c.kind == "notice")
            .order_by(a.c.id)
        )
        for aid, nid, channel, started, outcome, receipt in rows:
            if outcome == "unknown" and receipt is None:
                out[nid] = (aid, channel, started)
            else:
                out.pop(nid, None)
    return out


def _details(conn: Any, ids: list[int]) -> list[Claimed]:
    n, p, pe, o, a = s.notifications, s.permits, s.people, s.opt_outs, s.attempts
    rows = conn.execute(
        select(
            n.c.id,
            n.c.stage,
            n.c.catch_up,
            n.c.due_at,
            n.c.deadline,
            n.c.channel_pos,
            n.c.attempt_count,
            n.c.reason,
            p.c.permit_number,
            p.c.permit_type,
            p.c.expiry_date,
            p.c.office,
            pe.c.id.label("person_id"),
            pe.c.full_name,
            pe.c.language,
            pe.c.phone,
            pe.c.whatsapp,
            pe.c.email,
            pe.c.channels,
        )  # fmt: skip
        .join(p, p.c.id == n.c.permit_id)
        .join(pe, pe.c.id == p.c.person_id)
        .where(n.c.id.in_(ids))
        .order_by(n.c.due_at, n.c.id)
    ).all()
    opted: dict[int, set[str]] = defaultdict(set)
    people = sorted({r.person_id for r in rows})
    for part in chunks(people):
        found = select(o.c.person_id, o.c.channel).where(
            o.c.person_id.in_(part), o.c.lifted_at.is_(None)
        )
        for person_id, channel in conn.execute(found):
            opted[person_id].add(channel)
    tries: dict[int, dict[str, int]] = defaultdict(dict)
    tried = [r.id for r in rows if r.attempt_count]
    for part in chunks(tried):
        counted = (
            select(a.c.notification_id, a.c.channel, func.count())
            .where(a.c.notification_id.in_(part), a.c.kind == "notice")
            .group_by(a.c.notification_id, a.c.channel)
        )
        for nid, channel, count in conn.execute(counted):
            tries[nid][channel] = int(count)
    unknown = _unknown_sends(conn, [r.id for r in rows if r.reason == RECONCILING])
    return [
        Claimed(
            facts=NoticeFacts(
                notification_id=r.id,
                stage=r.stage,
                catch_up=bool(r.catch_up),
                language=r.language,
                full_name=r.full_name,
                permit_number=r.permit_number,
                permit_type=r.permit_type,
                expiry_date=r.expiry_date,
                office=r.office,
            ),  # fmt: skip
            due_at=r.due_at,
            deadline=r.deadline,
            phone=r.phone,
            whatsapp=r.whatsapp,
            channels=tuple(c for c in (r.channels or "").split(",") if c),
            channel_pos=r.channel_pos,
            attempt_count=r.attempt_count,
            opted_out=frozenset(opted.get(r.person_id, ())),
            tries=tries.get(r.id, {}),
            email=r.email,
            unknown=unknown.get(r.id),
        )
        for r in rows
    ]


def start_attempts(
    engine: Engine,
    owner: str,
    starts: Sequence[tuple[int, str, str | None]],
    now: datetime,
    lease_until: datetime | None = None,
    addresses: dict[int, str] | None = None,
) -> dict[int, int]:
    """Write a pending attempt for each (notification id, channel, engine) still held by
    `owner`, before the provider is called, and renew their lease to `lease_until` (a batch
    slowed by rate limits keeps what it holds); returns notification id → attempt id.

    `addresses` (notification id → the number or e-mail address the send goes to) is
    recorded on the attempt: staff must see where a message went, not where it would go now."""
    to = addresses or {}
    n, a = s.notifications, s.attempts
    out: dict[int, int] = {}
    renew = {} if lease_until is None else {"lease_until": lease_until}
    with engine.begin() as conn:
        for part in chunks(list(starts)):
            wanted = {nid: (channel, eng) for nid, channel, eng in part}
            held = conn.execute(
                select(n.c.id)
                .where(n.c.id.in_(list(wanted)), n.c.lease_owner == owner)
                .with_for_update()
            ).scalars()
            rows = [
                {
                    "notification_id": nid,
                    "channel": wanted[nid][0],
                    "engine": wanted[nid][1],
                    "started_at": now,
                    "outcome": "pending",
                    "kind": "notice",
                    "address": to.get(nid) or None,
                }  # fmt: skip
                for nid in held
            ]
            if not rows:
                continue
            made = conn.execute(
                insert(a).returning(a.c.id, a.c.notification_id),
                rows,
            )
            out.update({nid: aid for aid, nid in made})
            conn.execute(
                update(n)
                .where(n.c.id.in_([r["notification_id"] for r in rows]))
                .values(attempt_count=n.c.attempt_count + 1, updated_at=now, **renew)
            )
    return out


@dataclass(frozen=True)
class Outcome:
    """What became of one claimed notice: its attempt (if one was made) and its new state."""

    notification_id: int
    status: str  # the notice's new status; "sending" keeps it under the lease
    attempt_id: int | None = None
    attempt_outcome: str | None = None  # sent, unknown, transient, permanent; "aborted": never
    provider_id: str | None = None  # called, the attempt row is removed
    error: str | None = None
    reason: str | None = None  # the notice's reason now (failed, cancelled, unconfirmed …)
    due_at: datetime | None = None  # when to look at it again (retrying, scheduled)
    channel_pos: int | None = None
    channel: str = ""  # the channel of the attempt, for events; not written here


def finish(engine: Engine, owner: str, outcomes: Iterable[Outcome], now: datetime) -> set[int]:
    """Record attempts and move notices on; returns the ids whose lease `owner` still held
    (for the others only the attempt rows are written: they describe what really happened)."""
    n, a = s.notifications, s.attempts
    items = list(outcomes)
    kept: set[int] = set()
    with engine.begin() as conn:
        done = [o for o in items if o.attempt_id and o.attempt_outcome not in (None, "aborted")]
        if done:
            conn.execute(
                update(a)
                .where(a.c.id == bindparam("aid"))
                .values(
                    outcome=bindparam("oc"),
                    provider_id=bindparam("pid"),
                    error=bindparam("err"),
                    finished_at=now,
                ),  # fmt: skip
                [
                    {
                        "aid": o.attempt_id,
                        "oc": o.attempt_outcome,
                        "pid": o.provider_id,
                        "err": o.error,
                    }  # fmt: skip
                    for o in done
                ],
            )
        aborted = [o for o in items if o.attempt_id and o.attempt_outcome == "aborted"]
        for part in chunks([o.attempt_id for o in aborted]):
            conn.execute(delete(a).where(a.c.id.in_(part)))
        for part in chunks([o.notification_id for o in items]):
            kept.update(
                conn.execute(
                    select(n.c.id)
                    .where(n.c.id.in_(part), n.c.lease_owner == owner)
                    .with_for_update()
                ).scalars()
            )
        rows = [o for o in items if o.notification_id in kept]
        if rows:
            keep = bindparam("st", type_=String()) == Status.SENDING.value
            conn.execute(
                update(n)
                .where(n.c.id == bindparam("nid"), n.c.lease_owner == owner)
                .values(
                    status=bindparam("st"),
                    reason=bindparam("rs"),
                    due_at=func.coalesce(bindparam("due", type_=s.UTCDateTime()), n.c.due_at),
                    channel_pos=func.coalesce(bindparam("pos"), n.c.channel_pos),
                    attempt_count=n.c.attempt_count - bindparam("undo"),
                    lease_owner=case((keep, n.c.lease_owner), else_=None),
                    lease_until=case((keep, n.c.lease_until), else_=None),
                    updated_at=now,
                ),
                [
                    {
                        "nid": o.notification_id,
                        "st": o.status,
                        "rs": whole_reason(o.reason),
                        "due": o.due_at,
                        "pos": o.channel_pos,
                        "undo": 1 if o.attempt_outcome == "aborted" else 0,
                    }  # fmt: skip
                    for o in rows
                ],
            )
    return kept


def release(engine: Engine, owner_prefix: str, now: datetime) -> int:
    """Give back every lease whose owner token starts with `owner_prefix` (one instance's
    claims), at shutdown: untried notices go back to scheduled, tried ones to retrying."""
    n = s.notifications
    with engine.begin() as conn:
        result = conn.execute(
            update(n)
            .where(n.c.status == Status.SENDING.value, n.c.lease_owner.startswith(owner_prefix))
            .values(
                status=case(
                    (n.c.attempt_count == 0, Status.SCHEDULED.value),
                    else_=Status.RETRYING.value,
                ),
                lease_owner=None,
                lease_until=None,
                updated_at=now,
            )
        )
        return int(result.rowcount)


def recent_sends(
    engine: Engine, addresses: Iterable[str], since: datetime
) -> dict[str, dict[int, datetime]]:
    """For each phone number among `addresses`: the notices sent to a person with that number
    (phone or WhatsApp) since `since`, each with its latest send. Families share phones; the
    dispatcher spaces their notices (DESIGN.md, Delivery semantics)."""
    n, a, p, pe = s.notifications, s.attempts, s.permits, s.people
    wanted = sorted(set(addresses))
    out: dict[str, dict[int, datetime]] = defaultdict(dict)
    with reading(engine) as conn:
        for part in chunks(wanted):
            rows = conn.execute(
                select(
                    pe.c.phone,
                    pe.c.whatsapp,
                    n.c.id,
                    func.max(a.c.started_at, type_=s.UTCDateTime()),
                )  # fmt: skip
                .select_from(pe)
                .join(p, p.c.person_id == pe.c.id)
                .join(n, n.c.permit_id == p.c.id)
                .join(a, a.c.notification_id == n.c.id)
                .where(
                    or_(pe.c.phone.in_(part), pe.c.whatsapp.in_(part)),
                    a.c.started_at >= since,
                    a.c.kind == "notice",
                )
                .group_by(pe.c.phone, pe.c.whatsapp, n.c.id)
            )
            for phone, whatsapp, nid, last in rows:
                for number in {phone, whatsapp} & set(part):
                    seen = out[number].get(nid)
                    out[number][nid] = last if seen is None else max(seen, last)
    return dict(out)


# --- operator controls ------------------------------------------------------------------------


def office_scope(code: str) -> str:
    """The scope that pauses one office's sending (its permits' notices, every channel)."""
    return f"office:{code}"


def set_control(
    engine: Engine, scope: str, action: str, by: str, now: datetime, reason: str = ""
) -> None:
    """Record a pause or resume of `scope`: "*" for all sending, a channel name, or
    `office_scope(code)` for one office."""
    if action not in ("pause", "resume"):
        raise ValueError(action)
    with engine.begin() as conn:
        conn.execute(
            insert(s.controls).values(scope=scope, action=action, by=by, at=now, reason=reason)
        )


def paused(engine: Engine) -> dict[str, dict[str, Any]]:
    """Scopes paused now ("*", channel names, "office:CODE") → who paused them, when, why."""
    c = s.controls
    latest = select(c.c.scope, func.max(c.c.id).label("id")).group_by(c.c.scope).subquery()
    with reading(engine) as conn:
        rows = conn.execute(
            select(c.c.scope, c.c.by, c.c.at, c.c.reason)
            .join(latest, and_(latest.c.id == c.c.id))
            .where(c.c.action == "pause")
        )
        return {scope: {"by": by, "at": at, "reason": why} for scope, by, at, why in rows}


_CONTROLS = select(func.count(), func.coalesce(func.max(s.controls.c.id), 0))


def controls_version(engine: Engine) -> tuple[int, int]:
    """(count, max id) of the controls: changes with every pause or resume, from any process
    (rows are appended, never rewritten; the count also sees a row committed late with a
    smaller id). What the dispatcher keys its cached pause state on."""
    with reading(engine) as conn:
        count, top = conn.execute(_CONTROLS).one()
        return int(count), int(top)


def control_log(engine: Engine, limit: int = 50) -> list[dict[str, Any]]:
    c = s.controls
    with reading(engine) as conn:
        rows = conn.execute(select(c).order_by(c.c.id.desc()).limit(limit)).mappings()
        return [dict(r) for r in rows]
