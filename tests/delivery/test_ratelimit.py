"""Per-channel limits: the token bucket's arithmetic on a fake clock, and the limits at work."""

from __future__ import annotations

import asyncio
import time

import pytest

from notifyd.delivery.ratelimit import Limit, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_full_bucket_gives_its_burst_then_one_token_per_interval() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=4.0, burst=3, clock=clock)
    for _ in range(3):
        assert bucket.wait_needed() == 0
        bucket.tokens -= 1
    assert bucket.wait_needed() == pytest.approx(0.25)
    clock.now += 0.1
    assert bucket.wait_needed() == pytest.approx(0.15)
    clock.now += 10  # a long pause refills only up to the burst
    assert bucket.wait_needed() == 0 and bucket.tokens == 3


def test_take_waits_for_tokens_and_a_zero_rate_never_waits() -> None:
    async def takes(bucket: TokenBucket, n: int) -> float:
        start = time.monotonic()
        for _ in range(n):
            await bucket.take()
        return time.monotonic() - start

    assert asyncio.run(takes(TokenBucket(rate=0, burst=1), 1000)) < 1.0
    assert asyncio.run(takes(TokenBucket(rate=50.0, burst=2), 7)) >= 5 / 50 * 0.95


def test_a_limit_bounds_the_sends_in_flight() -> None:
    async def run() -> int:
        limit = Limit(rate=0, burst=1, concurrency=3)
        inside = most = 0

        async def send() -> None:
            nonlocal inside, most
            async with limit:
                inside += 1
                most = max(most, inside)
                await asyncio.sleep(0.01)
                inside -= 1

        await asyncio.gather(*(send() for _ in range(20)))
        return most

    assert asyncio.run(run()) == 3
