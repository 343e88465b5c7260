"""Per-channel limits: a token bucket (rate and burst) and a bound on sends in flight."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from types import TracebackType


class TokenBucket:
    """`rate` tokens a second up to `burst`; `take()` waits for one. A rate of 0 is no limit."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = float(burst)
        self.stamp = clock()
        self._lock = asyncio.Lock()

    def wait_needed(self) -> float:
        """Seconds until a token is free (0 when one is), after refilling."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    async def take(self) -> None:
        if self.rate <= 0:
            return
        async with self._lock:  # first come, first served
            while (wait := self.wait_needed()) > 0:
                await asyncio.sleep(wait)
            self.tokens -= 1


class Limit:
    """`async with limit:` holds one of `concurrency` slots and one token of the bucket."""

    def __init__(self, rate: float, burst: int, concurrency: int) -> None:
        self.bucket = TokenBucket(rate, burst)
        self.slots = asyncio.Semaphore(concurrency)

    async def __aenter__(self) -> None:
        await self.slots.acquire()
        try:
            await self.bucket.take()
        except BaseException:
            self.slots.release()
            raise

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.slots.release()
