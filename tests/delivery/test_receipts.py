"""The receipt rules, table by table: forward only, late failures move on, replies read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import FRIDAY_MORNING
from notifyd.delivery.receipts import (
    AttemptState,
    NoticeState,
    channel_order,
    decide,
    failure_outcome,
    is_stop,
    listen_target,
)

NOW = FRIDAY_MORNING
LATER = NOW + timedelta(days=3)
ORDER = ("whatsapp", "sms", "call")


def attempt(receipt: str | None = None, outcome: str = "sent", kind: str = "notice",
            channel: str = "whatsapp", error: str | None = None) -> AttemptState:  # fmt: skip
    return AttemptState(outcome, receipt, kind, channel, error)


def notice(status: str = "sent", deadline=LATER, pos: int = 0) -> NoticeState:
    return NoticeState(status, deadline, pos)


@pytest.mark.parametrize(
    ("receipt", "incoming", "attempt_after", "status", "status_after"),
    [
        (None, "delivered", "delivered", "sent", "delivered"),
        (None, "read", "read", "sent", "read"),  # delivered can be skipped
        ("delivered", "read", "read", "delivered", "read"),
        ("read", "played", "played", "read", "played"),
        ("read", "delivered", None, "read", None),  # reordered: never back
        ("played", "read", None, "played", None),  # played counts at least as read
        ("delivered", "delivered", None, "delivered", None),  # replayed
        (None, "sent", "sent", "sent", None),  # "sent" touches only the attempt
        ("failed", "delivered", None, "retrying", None),  # a failed message stays failed
        (None, "queued", None, "sent", None),  # words we do not know
    ],
)
def test_positive_receipts_only_move_forward(
    receipt, incoming, attempt_after, status, status_after
) -> None:
    change = decide(incoming, "", NOW, attempt(receipt), notice(status), ORDER, NOW)
    assert change.attempt.get("receipt") == attempt_after
    assert change.notice.get("status") == status_after


def test_a_receipt_reconciles_an_attempt_of_unknown_outcome_and_stops_its_retry() -> None:
    change = decide(
        "delivered", "", NOW, attempt(outcome="unknown"), notice("retrying"), ORDER, NOW
    )
    assert change.attempt["outcome"] == "sent"
    assert change.notice == {"status": "delivered", "reason": None}


def test_a_follow_up_moves_a_delivered_notice_to_played_but_never_lifts_a_retry() -> None:
    played = decide(
        "played", "", NOW, attempt(kind="voice_followup"), notice("delivered"), ORDER, NOW
    )
    assert played.notice["status"] == "played"
    lifted = decide("read", "", NOW, attempt(kind="voice_followup"), notice("retrying"), ORDER, NOW)
    assert lifted.notice == {}


@pytest.mark.parametrize(
    ("channel", "error", "status", "pos", "outcome"),
    [
        ("whatsapp", "131026 Message undeliverable", "retrying", 1, "permanent"),
        ("sms", "30006 undelivered", "retrying", 2, "permanent"),
        ("call", "busy", "retrying", 2, "transient"),  # busy: the same channel again
        ("call", "no-answer", "retrying", 2, "transient"),
        ("call", "failed", "failed", None, "permanent"),  # nothing after the last channel
    ],
)
def test_a_late_failure_moves_the_notice_on(channel, error, status, pos, outcome) -> None:
    change = decide("failed", error, NOW, attempt(channel=channel), notice(), ORDER, NOW)
    assert change.attempt["receipt"] == "failed" and change.attempt["outcome"] == outcome
    assert change.notice["status"] == status
    assert change.notice.get("channel_pos") == pos
    if status == "retrying":
        assert change.notice["due_at"] == NOW
    else:
        assert change.notice["reason"] == error


def test_a_late_failure_past_the_deadline_supersedes() -> None:
    change = decide("failed", "x", NOW, attempt(), notice(deadline=NOW), ORDER, NOW)
    assert change.notice == {"status": "superseded", "reason": "deadline_passed"}


def test_a_failure_after_delivery_is_noted_on_the_attempt_only() -> None:
    change = decide("failed", "131047", NOW, attempt("delivered"), notice("delivered"), ORDER, NOW)
    assert change.attempt == {"error": "failed after delivered: 131047"}
    assert change.notice == {}
    again = attempt("delivered", error="failed after delivered: 131047")
    assert decide("failed", "131047", NOW, again, notice("delivered"), ORDER, NOW).attempt == {}


def test_a_repeated_failure_changes_nothing() -> None:
    change = decide(
        "failed", "x", NOW, attempt("failed", "permanent"), notice("retrying"), ORDER, NOW
    )
    assert change.attempt == {} and change.notice == {}


def test_a_failed_follow_up_never_moves_its_notice() -> None:
    change = decide("failed", "x", NOW, attempt(kind="voice_followup"), notice(), ORDER, NOW)
    assert change.attempt["receipt"] == "failed" and change.notice == {}


def test_a_failure_of_an_attempt_the_dispatcher_already_failed_moves_nothing() -> None:
    change = decide(
        "failed", "x", NOW, attempt(outcome="permanent"), notice("retrying"), ORDER, NOW
    )
    assert change.notice == {} and "outcome" not in change.attempt


@pytest.mark.parametrize(
    ("error", "outcome"),
    [("busy", "transient"), ("No-Answer", "transient"), ("21610 unsubscribed", "permanent"),
     ("", "permanent")],
)  # fmt: skip
def test_failure_outcome(error: str, outcome: str) -> None:
    assert failure_outcome(error) == outcome


def test_channel_order_is_the_persons_own_else_the_configs() -> None:
    assert channel_order("sms,call", ORDER) == ("sms", "call")
    assert channel_order("", ORDER) == ORDER


@pytest.mark.parametrize(
    ("text", "stop"),
    [("STOP", True), (" stop ", True), ("Stop all", True), ("berhenti", True),
     ("please stop calling", False), ("", False)],
)  # fmt: skip
def test_stop_words(text: str, stop: bool) -> None:
    assert is_stop(text) is stop


@pytest.mark.parametrize(
    ("payload", "target"),
    [("listen:42", 42), ("listen:", None), ("listen:-1", None), ("listen:4x", None),
     ("other:42", None), ("listen:" + "9" * 30, None)],
)  # fmt: skip
def test_listen_payloads(payload: str, target: int | None) -> None:
    assert listen_target(payload) == target
