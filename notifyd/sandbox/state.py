"""The sandbox's memory: the requests it saw, the failure rules in force, the callbacks it sent."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import aiohttp
from aiohttp import web

from notifyd.sandbox.rules import Fault, Settings

log = logging.getLogger(__name__)


class Sandbox:
    """State shared by every provider's routes; lives in the app as `app[SANDBOX]`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.faults: list[Fault] = list(settings.faults)
        self.requests: list[dict[str, Any]] = []
        self.callbacks: list[dict[str, Any]] = []
        self.windows: dict[str, float] = {}  # wa_id → when the person last wrote (epoch s)
        self.media: dict[str, tuple[bool, int]] = {}  # media id → (OGG/Opus?, size)
        self.files: dict[str, tuple[str, bytes]] = {}  # media id → (MIME type, bytes): the page
        self.templates: dict[str, list[dict[str, Any]]] = {}  # wa_id → templates sent
        self.calls: dict[str, dict[str, Any]] = {}
        self.resources: dict[str, dict[str, Any]] = {}  # Twilio sid → its resource
        self.feed: list[dict[str, Any]] = []  # what each person received, for the page
        self.inbound_ids: set[str] = set()  # wamids of the people's own messages (mark read)
        self._rate: dict[str, tuple[int, int]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: aiohttp.ClientSession | None = None

    def record(self, provider: str, request: web.Request, body: Any, **extra: Any) -> None:
        self.requests.append(
            {
                "provider": provider,
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": body,
                "at": time.time(),
                **extra,
            }
        )

    def show(self, provider: str, to: str, mid: str, kind: str, **fields: Any) -> None:
        """One thing a person received, as the page shows it."""
        self.feed.append(
            {"provider": provider, "to": to, "id": mid, "kind": kind, "at": time.time(), **fields}
        )

    def set_status(self, mid: str, status: str) -> None:
        for item in reversed(self.feed):
            if item["id"] == mid:
                item["status"] = status
                return

    def fault(self, provider: str, to: str) -> Fault | None:
        """The first rule that matches, used up when it has a count."""
        number = "+" + to.lstrip("+") if to else ""
        for fault in self.faults:
            if fault.provider in ("*", provider) and fault.to in ("*", number, to):
                if fault.times:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                return fault
        return None

    def over_rate(self, provider: str) -> bool:
        limit = self.settings.rate_limit
        if limit <= 0:
            return False
        second = int(time.monotonic())
        start, count = self._rate.get(provider, (second, 0))
        count = count + 1 if start == second else 1
        self._rate[provider] = (second, count)
        return count > limit

    def later(self, coro_fn: Callable[[], Awaitable[None]], delay: float | None = None) -> None:
        """Run a callback after the configured delay, off the request that caused it."""
        wait = self.settings.callback_delay if delay is None else delay

        async def run() -> None:
            await asyncio.sleep(wait)
            try:
                await coro_fn()
            except Exception:
                log.exception("sandbox callback failed")

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def post(self, provider: str, url: str, body: bytes, headers: dict[str, str]) -> int:
        """Send one callback to notifyd and remember what it answered."""
        if not url:
            return 0
        if self._client is None:
            self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        entry: dict[str, Any] = {
            "provider": provider,
            "url": url,
            "headers": headers,
            "body": body.decode("utf-8", "replace"),
            "at": time.time(),
        }
        try:
            async with self._client.post(url, data=body, headers=headers) as resp:
                entry["status"] = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            entry["status"], entry["error"] = 0, str(exc) or type(exc).__name__
        self.callbacks.append(entry)
        return int(entry["status"])

    async def idle(self) -> None:
        """Wait until every scheduled callback has run (for tests and the bench)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._client is not None:
            await self._client.close()

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "callbacks": self.callbacks,
            "faults": [asdict(f) for f in self.faults],
        }


def new_id(prefix: str = "", length: int = 32) -> str:
    return prefix + uuid.uuid4().hex[:length]


def as_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers=headers,
        content_type="application/json",
    )


SANDBOX = web.AppKey("sandbox", Sandbox)
