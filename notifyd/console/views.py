"""Pure helpers the pages share: masking numbers for viewers, local times, the story in order."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

MASK = "•"


def mask(value: str | None, keep: int = 3) -> str:
    """A phone or passport number as a viewer sees it: the country code (of a phone) and the
    last `keep` characters; what is between becomes dots."""
    if not value:
        return ""
    head = value[:3] if value.startswith("+") else ""
    tail = value[-keep:] if len(value) > keep + len(head) else ""
    return head + MASK * max(len(value) - len(head) - len(tail), 1) + tail


def shown(value: str | None, role: str) -> str:
    """Supervisors and admins see numbers whole; viewers masked."""
    return (value or "") if role in ("supervisor", "admin") else mask(value)


def local(value: Any, tz: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def story(found: dict[str, Any], corrections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every event of a person's notices, newest first: planned, ended, each attempt with the
    address it went to and its own outcome, each receipt, opt-outs, staff actions."""
    ev: list[dict[str, Any]] = []

    def add(when: Any, what: str, notice: Any = None, **info: Any) -> None:
        ev.append({"when": when, "what": what, "notice": notice, **info})

    for n in found["notices"]:
        # an extra notice is a supervisor's resend of a stage not yet due, not the plan's
        what = "resend" if n.get("extra") else "planned"
        add(n["created_at"], what, n["id"], stage=n["stage"], due=n["due_at"])
        if n["status"] in ("cancelled", "superseded", "failed"):
            add(n["updated_at"], n["status"], n["id"], reason=n["reason"])
    for a in found["attempts"]:
        add(
            a["started_at"], "attempt", a["notification_id"], channel=a["channel"],
            address=a.get("address"), outcome=a["outcome"], reason=a["error"],
            provider_id=a["provider_id"], engine=a["engine"], kind=a["kind"],
        )  # fmt: skip
        if a["receipt"]:
            when = a["receipt_at"] or a["started_at"]
            add(when, "receipt", a["notification_id"], channel=a["channel"],
                outcome=a["receipt"], provider_id=a["provider_id"])  # fmt: skip
    for o in found["opt_outs"]:
        add(o["created_at"], "opted out", channel=o["channel"], by=o["created_by"],
            reason=o["source"])  # fmt: skip
        if o["lifted_at"]:
            add(o["lifted_at"], "opt-out lifted", channel=o["channel"], by=o["lifted_by"])
    for act in found["actions"]:
        add(act["at"], "staff", act["notification_id"], by=act["actor"], action=act["action"],
            reason=act["detail"])  # fmt: skip
    for c in corrections:
        add(c["created_at"], "contact corrected", by=c["created_by"], channel=c["field"],
            address=c["value"], reason=c["dropped_reason"])  # fmt: skip
    ev.sort(key=lambda e: (e["when"], e["what"] != "planned"), reverse=True)
    return ev
