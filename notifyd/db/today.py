"""The console's Today page: what went out today per channel, what is due, what needs a person
to look, and thirty days of attempts per channel for the chart."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select

from notifyd.config import Config, ConsoleConfig
from notifyd.db import dispatch as dispatchstore
from notifyd.db import schema as s
from notifyd.db.store import reading
from notifyd.model import PENDING

n, a, p, pe, r, rr = (s.notifications, s.attempts, s.permits, s.people, s.sync_runs,
                      s.rejected_rows)  # fmt: skip
_PENDING = [st.value for st in PENDING]
#: A sync older than this is "not run on schedule" (the default schedule is daily).
SYNC_LATE = timedelta(hours=26)


def summary(engine: Engine, cfg: Config, now: datetime, tz: ZoneInfo) -> dict[str, Any]:
    day = now.astimezone(tz).date()
    start = datetime.combine(day, time(0), tz)
    tomorrow, after = start + timedelta(days=1), start + timedelta(days=2)
    unconfirmed_before = now - timedelta(hours=cfg.console.unconfirmed_hours)
    with reading(engine) as conn:
        sent: dict[str, dict[str, int]] = {}
        for channel, outcome, receipt, count in conn.execute(
            select(a.c.channel, a.c.outcome, a.c.receipt, func.count())
            .where(a.c.started_at >= start)
            .group_by(a.c.channel, a.c.outcome, a.c.receipt)
        ):
            row = sent.setdefault(channel, {"sent": 0, "delivered": 0, "read": 0, "failed": 0})
            if outcome in ("transient", "permanent") or receipt == "failed":
                row["failed"] += count
            elif outcome == "sent":
                row["sent"] += count
                if receipt in ("delivered", "read", "played"):
                    row["delivered"] += count
                if receipt in ("read", "played"):
                    row["read"] += count
        due = select(func.count()).where(n.c.status.in_(_PENDING))
        due_today = conn.execute(due.where(n.c.due_at < tomorrow)).scalar_one()
        due_tomorrow = conn.execute(
            due.where(n.c.due_at >= tomorrow, n.c.due_at < after)
        ).scalar_one()
        failed = [
            dict(x)
            for x in conn.execute(
                select(
                    n.c.id,
                    n.c.stage,
                    n.c.reason,
                    n.c.updated_at,
                    pe.c.id.label("person"),
                    p.c.permit_number,
                )  # fmt: skip
                .join(p, p.c.id == n.c.permit_id)
                .join(pe, pe.c.id == p.c.person_id)
                .where(n.c.status == "failed", n.c.updated_at >= start - timedelta(days=7))
                .order_by(n.c.updated_at.desc())
                .limit(50)
            ).mappings()
        ]
        unconfirmed = [
            dict(x)
            for x in conn.execute(
                select(
                    a.c.id,
                    a.c.channel,
                    a.c.started_at,
                    a.c.notification_id,
                    p.c.person_id.label("person"),
                )  # fmt: skip
                .join(n, n.c.id == a.c.notification_id)
                .join(p, p.c.id == n.c.permit_id)
                .where(
                    a.c.outcome.in_(["sent", "unknown"]),
                    a.c.receipt.is_(None),
                    a.c.started_at < unconfirmed_before,
                    a.c.started_at >= start - timedelta(days=7),
                )  # fmt: skip
                .order_by(a.c.started_at)
                .limit(50)
            ).mappings()
        ]
        last = conn.execute(select(r).order_by(r.c.id.desc()).limit(1)).mappings().first()
        rejected = 0
        if last is not None:
            rejected = conn.execute(
                select(func.count()).where(rr.c.run_id == last["id"])
            ).scalar_one()
        days = _days(conn, start - timedelta(days=29))
        failing = failing_channels(conn, list(cfg.channels), now, cfg.console)
    paused = dispatchstore.paused(engine)
    sync_late = last is None or (last["started_at"] < now - SYNC_LATE)
    return {
        "sent": sent, "due_today": due_today, "due_tomorrow": due_tomorrow, "failed": failed,
        "unconfirmed": unconfirmed, "last_sync": dict(last) if last else None,
        "rejected": rejected, "sync_late": sync_late, "paused": paused, "days": days,
        "day": day, "failing": failing,
    }  # fmt: skip


def _failed(outcome: str, receipt: str | None) -> bool:
    return outcome in ("transient", "permanent") or receipt == "failed"


def failing_channels(
    conn: Any, channels: list[str], now: datetime, c: ConsoleConfig
) -> list[dict[str, Any]]:
    """Channels whose sends are failing now, with why: the last `failing_streak` attempts
    all failed (a channel used rarely), or at least `failing_min` attempts in the last hour
    with a failed share of `failing_share` or more (a busy one failing in part). Voice
    follow-ups are left out: they fail for reasons of their own (a conversation closed)."""
    out = []
    hour = now - timedelta(hours=1)
    for channel in channels:
        last = conn.execute(
            select(a.c.outcome, a.c.receipt, a.c.error)
            .where(a.c.channel == channel, a.c.kind == "notice", a.c.outcome != "pending")
            .where(a.c.started_at >= now - timedelta(days=7))  # an idle channel: no scan
            .order_by(a.c.started_at.desc(), a.c.id.desc())
            .limit(c.failing_streak)
        ).all()
        recent = conn.execute(
            select(a.c.outcome, a.c.receipt)
            .where(a.c.channel == channel, a.c.kind == "notice", a.c.started_at >= hour)
            .where(a.c.outcome != "pending")
        ).all()
        bad = sum(_failed(o, r) for o, r in recent)
        if len(last) == c.failing_streak and all(_failed(o, r) for o, r, _ in last):
            out.append({"channel": channel, "why": "streak", "count": len(last),
                        "error": last[0][2] or ""})  # fmt: skip
        elif len(recent) >= c.failing_min and bad / len(recent) >= c.failing_share:
            out.append({"channel": channel, "why": "share", "count": bad, "of": len(recent),
                        "error": ""})  # fmt: skip
    return out


def _days(conn: Any, since: datetime) -> dict[str, dict[str, int]]:
    """Attempts per channel per day (UTC days), the last 30 days."""
    day = func.substr(func.cast(a.c.started_at, s.String), 1, 10)
    out: dict[str, dict[str, int]] = {}
    for channel, d, count in conn.execute(
        select(a.c.channel, day, func.count())
        .where(a.c.started_at >= since)
        .group_by(a.c.channel, day)
    ):
        out.setdefault(channel, {})[str(d)] = int(count)
    return out
