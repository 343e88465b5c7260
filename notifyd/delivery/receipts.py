"""What a provider's receipt does to an attempt and its notice: pure, table-tested rules.

Providers replay and reorder receipts and sign no timestamp, so every rule only moves forward
and a receipt seen twice changes nothing the second time (DESIGN.md, Delivery semantics).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notifyd.model import Reason, Status

#: How far a message got; `played` (a voice note heard) counts at least as `read`.
RANK = {"sent": 1, "delivered": 2, "read": 3, "played": 4}
#: Failures a later call on the same channel may get past (Twilio call statuses).
TRANSIENT_FAILURES = ("busy", "no-answer", "no_answer", "no answer")
#: Notice statuses a positive receipt may move forward: the chain after sending, and a notice
#: waiting to retry or given up whose earlier message turns out to have arrived.
LIFTABLE = frozenset({Status.SENT, Status.DELIVERED, Status.READ, Status.PLAYED, Status.RETRYING})
#: Words of an SMS or chat reply that ask to stop (Twilio's default opt-out keywords and
#: Indonesian "berhenti").
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE",
     "BERHENTI"}
)  # fmt: skip
LISTEN_PREFIX = "listen:"
REASON_MAX = 64


@dataclass(frozen=True)
class AttemptState:
    outcome: str  # pending, sent, unknown, transient, permanent
    receipt: str | None
    kind: str  # notice or voice_followup
    channel: str
    error: str | None = None


@dataclass(frozen=True)
class NoticeState:
    status: str
    deadline: datetime
    channel_pos: int


@dataclass(frozen=True)
class Change:
    """Column values to write; empty dicts mean nothing changes."""

    attempt: dict[str, Any]
    notice: dict[str, Any]


NOTHING = Change({}, {})


def failure_outcome(error: str) -> str:
    """A late failure is permanent unless the person was busy or did not answer."""
    text = error.lower()
    return "transient" if any(word in text for word in TRANSIENT_FAILURES) else "permanent"


def decide(
    status: str,
    error: str,
    at: datetime,
    attempt: AttemptState,
    notice: NoticeState,
    order: tuple[str, ...],
    now: datetime,
) -> Change:
    """The change one receipt (`status`, `error`, reported `at`) makes to its attempt and notice.

    `order` is the person's channel order, used to pick the channel after a late failure.
    """
    if status == "failed":
        return _failed(error, at, attempt, notice, order, now)
    if status not in RANK or attempt.receipt == "failed":
        return NOTHING  # unknown words, or a message already known to have failed
    changes: dict[str, Any] = {}
    if RANK[status] > RANK.get(attempt.receipt or "", 0):
        changes.update(receipt=status, receipt_at=at)
    if attempt.outcome == "unknown":  # the message left after all: reconciled
        changes.update(outcome="sent")
    if status == "sent" or not changes:
        return Change(changes, {})
    current = notice.status
    chain = current in (Status.SENT, Status.DELIVERED, Status.READ, Status.PLAYED)
    liftable = current in LIFTABLE if attempt.kind == "notice" else chain
    if liftable and RANK[status] > RANK.get(current, 0):
        return Change(changes, {"status": status, "reason": None})
    return Change(changes, {})


def _failed(
    error: str,
    at: datetime,
    attempt: AttemptState,
    notice: NoticeState,
    order: tuple[str, ...],
    now: datetime,
) -> Change:
    text = error or "failed (the provider gave no reason)"
    if RANK.get(attempt.receipt or "", 0) >= RANK["delivered"]:
        note = f"failed after {attempt.receipt}: {text}"
        return NOTHING if attempt.error == note else Change({"error": note}, {})
    if attempt.receipt == "failed":
        return NOTHING  # a duplicate
    outcome = failure_outcome(text)
    changes: dict[str, Any] = {"receipt": "failed", "receipt_at": at, "error": text}
    if attempt.outcome in ("pending", "sent", "unknown"):
        changes["outcome"] = outcome
    moves_on = (
        attempt.kind == "notice"
        and attempt.outcome in ("sent", "unknown")
        and notice.status == Status.SENT
    )
    if not moves_on:
        return Change(changes, {})
    return Change(changes, next_step(outcome, text, attempt.channel, notice, order, now))


def next_step(
    outcome: str,
    error: str,
    channel: str,
    notice: NoticeState,
    order: tuple[str, ...],
    now: datetime,
) -> dict[str, Any]:
    """After a failed message: the same channel again (transient), the next one, or the end."""
    if now >= notice.deadline:
        return {"status": Status.SUPERSEDED.value, "reason": Reason.DEADLINE_PASSED.value}
    here = order.index(channel) if channel in order else notice.channel_pos
    pos = here if outcome == "transient" else here + 1
    if pos >= len(order):
        return {"status": Status.FAILED.value, "reason": error[:REASON_MAX]}
    return {"status": Status.RETRYING.value, "reason": None, "due_at": now, "channel_pos": pos}


def channel_order(person_channels: str, default: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The person's own order (stored comma-separated), else the config's."""
    mine = tuple(c for c in person_channels.split(",") if c)
    return mine or tuple(default)


def is_stop(text: str) -> bool:
    return " ".join(text.split()).upper() in STOP_WORDS


def listen_target(payload: str) -> int | None:
    """The notification a "listen:<id>" quick-reply payload asks to hear, else None."""
    if not payload.startswith(LISTEN_PREFIX):
        return None
    rest = payload.removeprefix(LISTEN_PREFIX)
    return int(rest) if rest.isdigit() and len(rest) < 19 else None
