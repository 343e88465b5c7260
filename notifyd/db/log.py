"""What staff read about deliveries: the log, one person's story, counts and the queue.

Read-only queries; staff actions that write (resend, opt-out) are in staffstore.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, literal, or_, select

from notifyd.db import dispatch as dispatchstore
from notifyd.db import schema as s
from notifyd.db import search
from notifyd.db.store import reading
from notifyd.errors import NotifydError
from notifyd.model import PENDING, Status

n, a, p, pe = s.notifications, s.attempts, s.permits, s.people
_PENDING = [st.value for st in PENDING]
#: A notice counted as delivered for the delivery rate (a provider accepted it at least).
REACHED = [Status.SENT.value, Status.DELIVERED.value, Status.READ.value, Status.PLAYED.value]


def delivery_log(
    engine: Engine,
    *,
    status: str | None = None,
    channel: str | None = None,
    since: datetime | None = None,
    person: str | None = None,
    limit: int = 1000,
    outcome: str | None = None,
) -> list[dict[str, Any]]:
    """Attempts, newest first, with their notice, permit and person; notices that ended with
    no attempt at all (cancelled, superseded) appear once, without a channel."""
    base = (
        select(
            n.c.id.label("notice"),
            p.c.permit_number.label("permit"),
            n.c.stage,
            n.c.status,
            n.c.reason,
            pe.c.registry_id,
            pe.c.full_name.label("name"),
        )
        .join(p, p.c.id == n.c.permit_id)
        .join(pe, pe.c.id == p.c.person_id)
    )
    if status:
        base = base.where(n.c.status == status)
    tried = base.add_columns(
        a.c.started_at.label("when"),
        a.c.channel,
        a.c.address,
        a.c.kind,
        a.c.outcome,
        a.c.provider_id,
        a.c.engine,
        a.c.error,
        a.c.receipt,
    ).join(a, a.c.notification_id == n.c.id)
    untried = base.add_columns(
        n.c.updated_at.label("when"),
        literal(None).label("channel"),
        literal(None).label("address"),
        literal(None).label("kind"),
        literal(None).label("outcome"),
        literal(None).label("provider_id"),
        literal(None).label("engine"),
        literal(None).label("error"),
        literal(None).label("receipt"),
    ).where(
        ~select(a.c.id).where(a.c.notification_id == n.c.id).exists(),
        n.c.status.not_in(_PENDING) if not status else literal(True),
    )
    if channel:
        tried = tried.where(a.c.channel == channel)
    if outcome:
        tried = tried.where(a.c.outcome == outcome)
    if since:
        tried = tried.where(a.c.started_at >= since)
        untried = untried.where(n.c.updated_at >= since)
    with reading(engine) as conn:
        if person:  # resolved first: an OR across two joined tables would scan every attempt
            who = find_person(conn, person)
            if who is None:
                return []
            tried = tried.where(p.c.person_id == who["id"])
            untried = untried.where(p.c.person_id == who["id"])
        rows = [
            dict(r) for r in conn.execute(tried.order_by(a.c.id.desc()).limit(limit)).mappings()
        ]
        if not channel and not outcome:
            rows += [
                dict(r)
                for r in conn.execute(untried.order_by(n.c.id.desc()).limit(limit)).mappings()
            ]
    rows.sort(key=lambda r: r["when"], reverse=True)
    return [_log_row(r) for r in rows[:limit]]


def _log_row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "when": r["when"],
        "notice": r["notice"],
        "registry_id": r["registry_id"],
        "name": r["name"],
        "permit": r["permit"],
        "stage": r["stage"],
        "channel": r["channel"],
        "kind": r["kind"],
        "outcome": r["outcome"],
        "status": r["status"],
        "reason": r["reason"],
        "provider_id": r["provider_id"],
        "engine": r["engine"],
        "error": r["error"],
        "receipt": r["receipt"],
        "address": r["address"],  # as sent; whole here, masked by whoever shows it to staff
    }


def find_person(conn: Connection, key: str, region: str = "ID") -> dict[str, Any] | None:
    """A person by registry id or permit number, else by the console's search (a name, a
    phone in any notation, a passport); several people match: an error listing them."""
    found = conn.execute(select(pe).where(pe.c.registry_id == key)).mappings().first()
    if found is None:
        number = key.strip().upper()  # permit numbers are stored upper-case
        found = (
            conn.execute(
                select(pe).join(p, p.c.person_id == pe.c.id).where(p.c.permit_number == number)
            )
            .mappings()
            .first()
        )
    if found is not None:
        return dict(found)
    ids = search.find_in(conn, key.strip(), region, 11)
    if not ids:
        return None
    rows = conn.execute(select(pe).where(pe.c.id.in_(ids))).mappings().all()
    if len(rows) > 1:
        listed = "; ".join(f"{r['registry_id']} {r['full_name']}" for r in rows[:10])
        more = " and more" if len(ids) > 10 else ""
        raise NotifydError(
            f"{len(rows)} people match {key!r}: {listed}{more}; give one registry id"
        )
    return dict(rows[0])


def story(engine: Engine, key: str, region: str = "ID") -> dict[str, Any] | None:
    """Everything about one person: permits, notices, attempts, opt-outs and staff actions."""
    with reading(engine) as conn:
        who = find_person(conn, key, region)
        if who is None:
            return None
        return _story(conn, who)


def story_of(engine: Engine, person_id: int) -> dict[str, Any] | None:
    """One person's story by their internal id (the console's opaque page address)."""
    with reading(engine) as conn:
        who = conn.execute(select(pe).where(pe.c.id == person_id)).mappings().first()
        return None if who is None else _story(conn, dict(who))


def _story(conn: Connection, who: dict[str, Any]) -> dict[str, Any]:
    pid = who["id"]
    permits = _all(conn, select(p).where(p.c.person_id == pid).order_by(p.c.expiry_date))
    notices = _all(
        conn,
        select(n, p.c.permit_number)
        .join(p, p.c.id == n.c.permit_id)
        .where(p.c.person_id == pid)
        .order_by(n.c.due_at, n.c.id),
    )
    attempts = _all(
        conn,
        select(a, n.c.stage, p.c.permit_number)
        .join(n, n.c.id == a.c.notification_id)
        .join(p, p.c.id == n.c.permit_id)
        .where(p.c.person_id == pid)
        .order_by(a.c.started_at, a.c.id),
    )
    opt_outs = _all(
        conn, select(s.opt_outs).where(s.opt_outs.c.person_id == pid).order_by(s.opt_outs.c.id)
    )
    actions = _all(
        conn,
        select(s.staff_actions)
        .where(s.staff_actions.c.person_id == pid)
        .order_by(s.staff_actions.c.id),
    )
    return {
        "person": who,
        "permits": permits,
        "notices": notices,
        "attempts": attempts,
        "opt_outs": opt_outs,
        "actions": actions,
    }


def _all(conn: Connection, query: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(query).mappings()]


def stats(engine: Engine, now: datetime, since: datetime | None = None) -> dict[str, Any]:
    """Notices by status, attempts by channel and outcome, the delivery rate, oldest overdue.

    With `since`, only notices due and attempts started from then on are counted."""
    with reading(engine) as conn:
        nq = select(n.c.status, func.count()).group_by(n.c.status)
        aq = select(a.c.channel, a.c.outcome, func.count()).group_by(a.c.channel, a.c.outcome)
        if since:
            nq = nq.where(n.c.due_at >= since)
            aq = aq.where(a.c.started_at >= since)
        by_status = {st: int(c) for st, c in conn.execute(nq)}
        by_channel = [
            {"channel": ch, "outcome": out, "attempts": int(c)}
            for ch, out, c in conn.execute(aq.order_by(a.c.channel, a.c.outcome))
        ]
        overdue = oldest_overdue(conn, now)
        doubled = duplicates(conn, since)
        maybe = possible_duplicates(conn, since)
    reached = sum(by_status.get(st, 0) for st in REACHED)
    ended = reached + by_status.get(Status.FAILED.value, 0)
    return {
        "by_status": by_status,
        "by_channel": by_channel,
        "delivery_rate": reached / ended if ended else None,
        "oldest_overdue": overdue,
        "duplicates": doubled,
        "possible_duplicates": maybe,
    }


def duplicates(conn: Connection, since: datetime | None = None) -> int:
    """Sends the provider accepted beyond the first, per notice: what reconciliation could not
    rule out (a send of unknown outcome that a later receipt confirmed after it was sent
    again). A staff resend is meant, so its notice is not counted."""
    sa = s.staff_actions
    resent = select(sa.c.notification_id).where(
        sa.c.action == "resend", sa.c.notification_id.is_not(None)
    )
    accepted = (
        select(a.c.notification_id, func.count().label("k"))
        .where(a.c.kind == "notice", a.c.outcome == "sent", a.c.notification_id.not_in(resent))
        .group_by(a.c.notification_id)
        .having(func.count() > 1)
    )
    if since is not None:
        accepted = accepted.where(a.c.started_at >= since)
    sub = accepted.subquery()
    return int(conn.execute(select(func.coalesce(func.sum(sub.c.k - 1), 0))).scalar_one())


def possible_duplicates(conn: Connection, since: datetime | None = None) -> int:
    """Sends of unknown outcome that no receipt or lookup settled and that were sent again:
    each may have reached the person twice (the provider never said)."""
    later = a.alias("later")
    again = (
        select(later.c.id)
        .where(
            later.c.notification_id == a.c.notification_id,
            later.c.id > a.c.id,
            later.c.kind == "notice",
            later.c.outcome == "sent",
        )  # fmt: skip
        .exists()
    )
    q = select(func.count()).where(
        a.c.kind == "notice", a.c.outcome == "unknown", a.c.receipt.is_(None), again
    )
    if since is not None:
        q = q.where(a.c.started_at >= since)
    return int(conn.execute(q).scalar_one())


def oldest_overdue(conn: Connection, now: datetime) -> dict[str, Any] | None:
    """The pending notice that has waited longest past its due time."""
    row = (
        conn.execute(
            select(n.c.id, n.c.due_at, n.c.status)
            .where(n.c.status.in_(_PENDING), n.c.due_at <= now)
            .order_by(n.c.due_at, n.c.id)
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


@dataclass(frozen=True)
class Figures:
    """What the metrics report, read in one go at scrape time."""

    notices: list[tuple[str, int]]  # (status, count)
    attempts: list[tuple[str, str, int]]  # (channel, outcome, count)
    oldest_due: datetime | None  # the due time of the notice overdue longest
    last_sync: Any  # when the last good sync finished (text on some backends)
    duplicates: int = 0  # sends accepted twice or more for one notice (see duplicates)
    possible_duplicates: int = 0  # unknown sends sent again without word (possible_duplicates)


def figures(engine: Engine, now: datetime) -> Figures:
    r = s.sync_runs
    with reading(engine) as conn:
        notices = [
            (status, int(count))
            for status, count in conn.execute(select(n.c.status, func.count()).group_by(n.c.status))
        ]
        attempts = [
            (channel, outcome, int(count))
            for channel, outcome, count in conn.execute(
                select(a.c.channel, a.c.outcome, func.count()).group_by(a.c.channel, a.c.outcome)
            )
        ]
        oldest = oldest_overdue(conn, now)
        finished = conn.execute(
            select(func.max(r.c.finished_at)).where(r.c.status == "ok")
        ).scalar_one_or_none()
        doubled, maybe = duplicates(conn), possible_duplicates(conn)
    due = oldest["due_at"] if oldest else None
    return Figures(notices, attempts, due, finished, doubled, maybe)


def status(engine: Engine, now: datetime) -> dict[str, Any]:
    """The daemon's state as the database shows it, for `notifyd status`."""
    r = s.sync_runs
    with reading(engine) as conn:
        last_sync = conn.execute(select(r).order_by(r.c.id.desc()).limit(1)).mappings().first()
        queue = {
            st: int(c)
            for st, c in conn.execute(select(n.c.status, func.count()).group_by(n.c.status))
        }
        last_error = (
            conn.execute(
                select(
                    a.c.id, a.c.notification_id, a.c.channel, a.c.started_at, a.c.outcome, a.c.error
                )
                .where(
                    or_(
                        a.c.outcome.in_(["transient", "permanent", "unknown"]),
                        a.c.receipt == "failed",
                    )
                )
                .order_by(a.c.id.desc())  # the primary key: no scan of every attempt
                .limit(1)
            )
            .mappings()
            .first()
        )
        overdue = oldest_overdue(conn, now)
    return {
        "last_sync": dict(last_sync) if last_sync else None,
        "queue": queue,
        "oldest_overdue": overdue,
        "last_error": dict(last_error) if last_error else None,
        "paused": dispatchstore.paused(engine),
    }
