"""Events observers hear about through `track_event`; plain data, no personal data in clear."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Event:
    at: datetime


@dataclass(frozen=True)
class SyncFinished(Event):
    run_id: int
    status: str
    accepted: int
    rejected: int
    planned: int
    cancelled: int
