"""A channel that records every send in a JSON-lines file and fails on demand.

Options: `log` (the file), `mode` ("ok", "transient", "permanent", "unknown", "slow"),
`fail_times` (fail only the first N sends of each notice; default: always), `retry_after`,
`delay` (seconds each send takes), `audio_format`, `error` (the text of a permanent error).
The counts live in the file, so they hold across daemon restarts.

`recording-lookup` is the same channel with a provider lookup (hookspecs.LooksUp) that answers
from the file: a send of unknown outcome was received (its attempt id is in the file), unless
the option `lookup` says "missing" (the provider never got it) or "down" (it cannot answer).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from notifyd.config import Config
from notifyd.hookspecs import (
    Channel,
    ChannelPlugin,
    Lookup,
    Message,
    OutcomeUnknown,
    PermanentSendError,
    Receipt,
    TransientSendError,
    hookimpl,
)


class RecordingChannel:
    def __init__(self, name: str, options: dict[str, Any]) -> None:
        self.name = name
        self.log = Path(options["log"])
        self.mode = options.get("mode", "ok")
        self.fail_times = int(options.get("fail_times", 1_000_000))
        self.retry_after = options.get("retry_after")
        self.delay = float(options.get("delay", 0))
        self.audio_format: str | None = options.get("audio_format")
        self.error = str(options.get("error", "invalid number (test)"))

    def _calls(self, notification_id: int) -> int:
        if not self.log.exists():
            return 0
        lines = self.log.read_text().splitlines()
        return sum(1 for line in lines if json.loads(line)["id"] == notification_id)

    def _record(self, message: Message, result: str, started: float) -> None:
        row = {
            "id": message.notification_id, "channel": self.name, "to": message.to,
            "attempt": message.attempt_id, "result": result, "at": time.time(),
            "started": started, "audio": str(message.audio or ""), "text": message.text,
        }  # fmt: skip
        with open(self.log, "a") as f:
            f.write(json.dumps(row) + "\n")

    async def send(self, message: Message) -> str:
        started = time.time()
        with open(self.log.with_suffix(".started"), "a") as f:  # the call is under way
            f.write(f"{message.attempt_id}\n")
        failing = self.mode != "ok" and self._calls(message.notification_id) < self.fail_times
        if self.delay:
            await asyncio.sleep(self.delay)
        result = self.mode if failing else "ok"
        self._record(message, result, started)
        if result == "transient":
            raise TransientSendError("503 from the test provider", self.retry_after)
        if result == "permanent":
            raise PermanentSendError(self.error)
        if result == "unknown":
            raise OutcomeUnknown("timed out after sending (test)")
        return f"test-{message.notification_id}-{message.attempt_id}"


class LookingUpChannel(RecordingChannel):
    def __init__(self, name: str, options: dict[str, Any]) -> None:
        super().__init__(name, options)
        self.answer = options.get("lookup", "found")
        self.lookups: list[Lookup] = []

    async def lookup(self, attempt: Lookup) -> Receipt | None:
        self.lookups.append(attempt)
        if self.answer == "down":
            raise TransientSendError("lookup: the test provider is down")
        lines = self.log.read_text().splitlines() if self.log.exists() else []
        sent = [json.loads(line) for line in lines]
        if self.answer == "missing" or not any(r["attempt"] == attempt.attempt_id for r in sent):
            return None
        aid = attempt.attempt_id
        return Receipt(f"looked-up-{aid}", "delivered", attempt_id=aid)


class RecordingPlugin:
    name = "recording"

    def create(self, name: str, options: dict[str, Any], cfg: Config) -> Channel:
        return RecordingChannel(name, options)


class LookingUpPlugin:
    name = "recording-lookup"

    def create(self, name: str, options: dict[str, Any], cfg: Config) -> Channel:
        return LookingUpChannel(name, options)


@hookimpl
def register_channels() -> list[ChannelPlugin]:
    return [RecordingPlugin(), LookingUpPlugin()]
