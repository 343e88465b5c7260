"""Backoff, deadlines and channel choice: pure, table-driven."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from conftest import utc
from notifyd.delivery import retry

NOW = utc(2026, 12, 4, 2, 30)
FAR = NOW + timedelta(days=7)
POLICY = retry.Policy(max_attempts=5, base=10.0, cap=100.0)
FIXED = retry.Policy(max_attempts=5, base=10.0, cap=100.0, jitter=False)


@pytest.mark.parametrize(
    ("tries", "ceiling"), [(1, 10.0), (2, 20.0), (3, 40.0), (4, 80.0), (5, 100.0), (9, 100.0)]
)
def test_full_jitter_stays_under_the_exponential_ceiling_and_uses_all_of_it(
    tries: int, ceiling: float
) -> None:
    rng = random.Random(tries)
    waits = [retry.delay(tries, POLICY, rng) for _ in range(2000)]
    assert all(0 <= w <= ceiling for w in waits)
    assert min(waits) < ceiling * 0.05 and max(waits) > ceiling * 0.95  # the full range
    assert retry.delay(tries, FIXED, rng) == ceiling


@pytest.mark.parametrize(
    ("tries", "deadline", "retry_after", "expected"),
    [
        (1, FAR, None, NOW + timedelta(seconds=10)),
        (3, FAR, None, NOW + timedelta(seconds=40)),
        (1, FAR, 90.0, NOW + timedelta(seconds=90)),  # Retry-After is a floor
        (3, FAR, 5.0, NOW + timedelta(seconds=40)),  # … not a ceiling
        (5, FAR, None, None),  # out of tries
        (1, NOW + timedelta(seconds=10), None, None),  # would land on the deadline
        (1, NOW + timedelta(seconds=60), 3600.0, None),  # Retry-After past the deadline
    ],
)
def test_next_try(tries, deadline, retry_after, expected) -> None:  # type: ignore[no-untyped-def]
    got = retry.next_try(NOW, tries, deadline, FIXED, random.Random(1), retry_after)
    assert got == expected


def test_a_jittered_retry_is_never_at_or_after_the_deadline() -> None:
    rng = random.Random(7)
    deadline = NOW + timedelta(seconds=30)
    for tries in range(1, 5):
        for _ in range(500):
            at = retry.next_try(NOW, tries, deadline, POLICY, rng)
            assert at is None or NOW <= at < deadline


ORDER = ("whatsapp", "sms", "call")


@pytest.mark.parametrize(
    ("start", "usable", "pos", "reason"),
    [
        (0, {"whatsapp": "", "sms": "", "call": ""}, 0, ""),
        (1, {"whatsapp": "", "sms": "", "call": ""}, 1, ""),
        (0, {"whatsapp": "opted_out", "sms": "", "call": ""}, 1, ""),
        (0, {"whatsapp": "no_address", "sms": "withheld_pilot", "call": ""}, 2, ""),
        (3, {"whatsapp": "", "sms": "", "call": ""}, None, "no channel left"),
        (1, {"whatsapp": "", "sms": "opted_out"}, None, "sms: opted_out; call: not configured"),
    ],
)
def test_choose_channel(start, usable, pos, reason) -> None:  # type: ignore[no-untyped-def]
    choice = retry.choose_channel(ORDER, start, usable)
    assert (choice.pos, choice.reason) == (pos, reason)
    if pos is not None:
        assert choice.name == ORDER[pos]


@pytest.mark.parametrize(
    ("name", "address", "needs", "opted", "allow", "why"),
    [
        ("sms", "+62812", True, (), None, ""),
        ("sms", "+62812", True, ("*",), None, "opted_out"),
        ("sms", "+62812", True, ("sms",), None, "opted_out"),
        ("sms", "+62812", True, ("whatsapp",), None, ""),
        ("sms", "", True, (), None, "no_address"),
        ("spool", "", False, (), None, ""),
        ("sms", "+62812", True, (), {"+62813"}, "withheld_pilot"),
        ("sms", "+62812", True, (), {"+62812"}, ""),
    ],
)
def test_skip_reason(name, address, needs, opted, allow, why) -> None:  # type: ignore[no-untyped-def]
    assert retry.skip_reason(name, address, needs, opted, allow) == why
