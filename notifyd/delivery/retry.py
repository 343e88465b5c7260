"""Retry policy and channel choice. Pure: `now`, the random source and the facts are arguments.

Backoff is exponential with full jitter (AWS Architecture Blog, "Exponential Backoff And
Jitter"): try n waits a random time in [0, min(cap, base * 2^(n-1))], so instances that failed
together do not retry together. A provider's Retry-After is a floor. A retry never runs at or
after the stage's deadline: a reminder is worthless once the next one is due.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Policy:
    max_attempts: int  # tries on one channel
    base: float  # seconds
    cap: float  # seconds
    jitter: bool = True


def delay(tries: int, policy: Policy, rng: random.Random) -> float:
    """Seconds to wait after the `tries`-th failed try on a channel (tries >= 1)."""
    ceiling = min(policy.cap, policy.base * 2.0 ** max(tries - 1, 0))
    return rng.uniform(0.0, ceiling) if policy.jitter else ceiling


def next_try(
    now: datetime,
    tries: int,
    deadline: datetime,
    policy: Policy,
    rng: random.Random,
    retry_after: float | None = None,
) -> datetime | None:
    """When to try the same channel again after `tries` failed tries, or None when it must
    not be tried again (out of tries, or the next try would reach the deadline)."""
    if tries >= policy.max_attempts:
        return None
    wait = delay(tries, policy, rng)
    if retry_after is not None and retry_after > wait:
        wait = retry_after
    at = now + timedelta(seconds=wait)
    return at if at < deadline else None


@dataclass(frozen=True)
class Choice:
    """The channel to use (its position in the order and name), or why none can be used."""

    pos: int | None
    name: str = ""
    reason: str = ""  # when pos is None: why nothing is left


def choose_channel(
    order: Sequence[str],
    start: int,
    usable: Mapping[str, str],
) -> Choice:
    """The first channel at or after position `start` whose entry in `usable` is "" (usable);
    a non-empty entry says why that channel is skipped (opted out, no address, withheld)."""
    reasons = []
    for pos in range(start, len(order)):
        name = order[pos]
        why = usable.get(name, "not configured")
        if not why:
            return Choice(pos, name)
        reasons.append(f"{name}: {why}")
    return Choice(None, reason="; ".join(reasons) or "no channel left")


def skip_reason(
    name: str,
    address: str | None,
    needs_address: bool,
    opted_out: Collection[str],
    allowlist: Collection[str] | None,
) -> str:
    """Why channel `name` cannot carry this notice, or "" when it can. `allowlist` is None
    outside pilot mode."""
    if "*" in opted_out or name in opted_out:
        return "opted_out"
    if needs_address and not address:
        return "no_address"
    if allowlist is not None and address not in allowlist:
        return "withheld_pilot"
    return ""
