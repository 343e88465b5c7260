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


@dataclass(frozen=True)
class NoticeSent(Event):
    """A provider took the notice (outcome "sent"), or may have (outcome "unknown")."""

    notification_id: int
    channel: str
    attempt_id: int
    outcome: str


@dataclass(frozen=True)
class NoticeRetrying(Event):
    notification_id: int
    channel: str
    next_at: datetime
    error: str


@dataclass(frozen=True)
class NoticeFailed(Event):
    """No channel is left: the notice was not delivered."""

    notification_id: int
    reason: str


@dataclass(frozen=True)
class NoticeCancelled(Event):
    """Not sent on purpose: withheld in pilot mode, opted out, or its deadline passed
    (status superseded)."""

    notification_id: int
    status: str
    reason: str
