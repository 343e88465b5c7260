"""What a provider's receipt does to an attempt and its notice: pure, table-tested rules, and
their application, one short transaction per receipt with the rows locked (notifyd.db.receipts)
so that a receipt and the dispatcher never interleave.

Providers replay and reorder receipts and sign no timestamp, so every rule only moves forward
and a receipt seen twice changes nothing the second time (DESIGN.md, Delivery semantics).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from notifyd.db import receipts as receiptdb
from notifyd.db.store import Connection, Engine
from notifyd.hookspecs import Receipt, Reply
from notifyd.model import Reason, Status, whole_reason

log = logging.getLogger(__name__)

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
    reason: str | None = None  # "reconciling": waiting for word on an unknown send


#: The reason of a notice whose last send has an unknown outcome, waiting for its receipt (or
#: the provider's lookup) before it may be sent again.
RECONCILING = "reconciling"


def _reconciling(notice: NoticeState) -> bool:
    return notice.status == Status.RETRYING and notice.reason == RECONCILING


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
        if attempt.kind == "notice" and _reconciling(notice):  # nothing to send again
            settled = status if status != "sent" else Status.SENT.value
            return Change(changes, {"status": settled, "reason": None})
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
        and (notice.status == Status.SENT or _reconciling(notice))
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
        return {"status": Status.FAILED.value, "reason": whole_reason(error)}
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


# --- applying them, one short transaction per receipt ---------------------------------------


def apply_receipts(
    engine: Engine, channel: str, receipts: Iterable[Receipt], default_order: Sequence[str],
    now: datetime,
) -> int:  # fmt: skip
    """Apply each receipt of `channel`; return how many changed something. Repeats change
    nothing; receipts for sends not recorded yet are kept (apply_early)."""
    changed = 0
    with engine.connect() as conn:  # one connection, one transaction per receipt
        for receipt in receipts:
            with conn.begin():
                changed += _apply(conn, channel, receipt, tuple(default_order), now)
    return changed


def apply_early(
    engine: Engine, default_order: Sequence[str], now: datetime, ttl: float
) -> int:  # fmt: skip
    """Apply the kept receipts whose send is now recorded, and forget those older than `ttl`
    seconds; returns how many were applied. Run after each recorded batch and each tick, so
    a receipt kept before a crash settles its send after the restart."""
    receiptdb.expire_early(engine, now - timedelta(seconds=ttl))
    rows = receiptdb.early_receipts(engine)
    if not rows:
        return 0
    order = tuple(default_order)
    with engine.connect() as conn:
        for row in rows:
            r = Receipt(row.provider_id, row.status, row.at, row.error, bool(row.opt_out),
                        row.attempt_id or 0)  # fmt: skip
            with conn.begin():
                _apply(conn, row.channel, r, order, now, keep=False)
                receiptdb.drop_early(conn, [row.id])
    log.info("kept receipts applied", extra={"receipts": len(rows)})
    return len(rows)


def _apply(
    conn: Connection, channel: str, r: Receipt, default_order: tuple[str, ...], now: datetime,
    keep: bool = True,
) -> bool:  # fmt: skip
    """Apply one receipt. One whose send is not recorded yet (no attempt, or still pending)
    is kept in the database (`keep`) and applied once it is: see apply_early."""
    row = receiptdb.locked_attempt(conn, channel, r.provider_id, r.attempt_id)
    at = r.at if r.at is not None and r.at.tzinfo is not None else now
    if row is None or row.outcome == "pending":
        if keep:
            log.info("receipt before its send was recorded: kept", extra={"channel": channel})
            receiptdb.keep_early(
                conn, channel, r.provider_id, r.attempt_id, r.status, r.error, r.opt_out,
                r.at, now,
            )  # fmt: skip
        return False
    attempt = AttemptState(row.outcome, row.receipt, row.kind, row.channel, row.error)
    notice = NoticeState(row.status, row.deadline, row.channel_pos, row.reason)
    order = channel_order(row.channels or "", default_order)
    change = decide(r.status, r.error, at, attempt, notice, order, now)
    if r.attempt_id and r.provider_id and not row.provider_id:  # a timed-out send, found
        change = Change({**change.attempt, "provider_id": r.provider_id[:128]}, change.notice)
    receiptdb.write_change(conn, row, change.attempt, change.notice, now)
    opted = r.opt_out and receiptdb.add_opt_out(conn, row.person_id, channel, order, now)
    if change.attempt or change.notice:
        log.info(
            "receipt applied",
            extra={"channel": channel, "attempt": row.id, "receipt": r.status,
                   "notice_status": change.notice.get("status", row.status)},
        )  # fmt: skip
    return bool(change.attempt or change.notice or opted)


def apply_replies(
    engine: Engine, channel: str, replies: Iterable[Reply], default_order: Sequence[str],
    now: datetime,
) -> list[int]:  # fmt: skip
    """Open the conversation window, record STOPs, and return the notices whose voice note
    the person asked to hear (a "listen:<id>" tap by the person that notice is for)."""
    wanted: list[int] = []
    usable = [r for r in replies if r.from_]
    if not usable:
        return wanted
    with engine.connect() as conn:
        for reply in usable:
            with conn.begin():
                _reply(conn, channel, reply, default_order, now, wanted)
    return wanted


def _reply(
    conn: Connection, channel: str, reply: Reply, default_order: Sequence[str], now: datetime,
    wanted: list[int],
) -> None:  # fmt: skip
    receiptdb.touch_conversation(conn, channel, reply.from_, now)
    people = receiptdb.people_with(conn, reply.from_)
    if is_stop(reply.text):
        for person_id, channels in people:
            order = channel_order(channels or "", tuple(default_order))
            receiptdb.add_opt_out(conn, person_id, channel, order, now)
    target = listen_target(reply.payload)
    if target is not None and receiptdb.asks_for_own(conn, target, [pid for pid, _ in people]):
        if not receiptdb.followup_exists(conn, target) and target not in wanted:
            wanted.append(target)


def record_opt_out(
    engine: Engine, notification_id: int, channel: str, default_order: Sequence[str],
    now: datetime,
) -> bool:  # fmt: skip
    """A send refused because the person opted out (e.g. Twilio 21610): record it for the
    notice's person, as a receipt saying so would."""
    with engine.begin() as conn:
        row = receiptdb.person_of_notice(conn, notification_id)
        if row is None:
            return False
        order = channel_order(row.channels or "", tuple(default_order))
        return receiptdb.add_opt_out(conn, int(row.id), channel, order, now)


def apply_receipt_batches(
    engine: Engine, batches: Sequence[tuple[str, Sequence[Receipt]]],
    default_order: Sequence[str], now: datetime,
) -> int:  # fmt: skip
    """The receipts of several webhooks (channel, receipts) in one transaction: the web app
    gathers the webhooks that arrive while the previous group commits, since on SQLite a
    commit per receipt cost about as much as the receipt itself. Same rules, same result."""
    changed = 0
    order = tuple(default_order)
    with engine.connect() as conn, conn.begin():
        for channel, receipts in batches:
            for receipt in receipts:
                changed += _apply(conn, channel, receipt, order, now)
    return changed
