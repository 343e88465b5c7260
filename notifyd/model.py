"""Plain data the core passes around: frozen dataclasses, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple


class Status(StrEnum):
    """Status of a notification; see DESIGN.md, Delivery semantics."""

    SCHEDULED = "scheduled"
    SENDING = "sending"
    RETRYING = "retrying"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"
    FAILED = "failed"
    CANCELLED = "cancelled"
    SUPERSEDED = "superseded"


#: A console account's roles, least to most allowed.
ROLES = ("viewer", "supervisor", "admin")
#: Statuses the planner may still rewrite: nothing has been sent for them.
PLANNER_OWNED = frozenset({Status.SCHEDULED, Status.CANCELLED, Status.SUPERSEDED})
#: Statuses that still wait to be sent.
PENDING = frozenset({Status.SCHEDULED, Status.RETRYING})


#: A notice's reason is kept whole up to this length (a provider's error text, usually a
#: sentence or two); beyond it, cut with an explicit "…" so nobody mistakes it for the whole.
REASON_MAX = 2000


def whole_reason(text: str | None) -> str | None:
    """A reason as stored: whole, or cut at REASON_MAX with "…" saying it was cut."""
    if text is None or len(text) <= REASON_MAX:
        return text
    return text[: REASON_MAX - 1] + "…"


class Reason(StrEnum):
    """Why a notification was cancelled or superseded."""

    RENEWED = "renewed"
    EXPIRY_CORRECTED = "expiry_corrected"
    LEFT_REGISTRY = "left_registry"
    OPTED_OUT = "opted_out"
    NO_CHANNEL = "no_channel"
    STAGE_REMOVED = "stage_removed"
    MISSED = "missed"
    DEADLINE_PASSED = "deadline_passed"
    TOO_CLOSE = "next_stage_too_close"


class RawRow(NamedTuple):
    """One registry record as read, keyed by the canonical field names. A named tuple, not a
    dataclass: a sync makes one per row, and a tuple is made (and pickled) in a third of the
    time."""

    line: int
    values: dict[str, str]
    #: What the source itself found wrong (a cell over the size limit): rejects the row.
    problems: tuple[str, ...] = ()


@dataclass(slots=True, unsafe_hash=True)
class Phone:
    """A normalised number and what it can receive. Not frozen (see Record), still hashable:
    nothing changes one once made."""

    e164: str
    kind: str  # "mobile", "fixed_line_or_mobile", "fixed_line", "voip"
    region: str

    def __reduce__(self) -> tuple[type, tuple[str, str, str]]:
        return (Phone, (self.e164, self.kind, self.region))  # pickles fast, to and from workers


@dataclass(slots=True)
class Record:
    """A validated, normalised registry row: one person and one of their permits.

    Not frozen, though nothing changes one: a sync makes one per changed row, and a frozen
    dataclass's `__init__` (a call per field) took 3.3 µs where this one takes 0.25."""

    line: int
    registry_id: str
    full_name: str
    nationality: str  # ISO 3166-1 alpha-2
    passport_number: str
    permit_type: str
    permit_number: str
    expiry_date: date
    office: str
    language: str  # BCP-47
    phone: Phone | None
    whatsapp: Phone | None
    channels: tuple[str, ...]  # channel instance names, in the person's order
    opt_out: tuple[str, ...]  # channel names the registry opts out of; ("*",) for all
    warnings: tuple[str, ...] = ()  # channels dropped, with the reason
    email: str = ""  # normalised (domain in lower case), "" when there is none

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (Record, tuple(getattr(self, f) for f in Record.__slots__))


@dataclass(frozen=True, slots=True)
class Rejection:
    """A row that could not be used, kept with every reason."""

    line: int
    reasons: tuple[str, ...]
    raw: dict[str, str]
    registry_id: str = ""
    permit_number: str = ""


@dataclass(frozen=True, slots=True)
class PlannedNotice:
    """What the planner wants for one (permit, expiry date, stage)."""

    stage: int
    due_at: datetime  # UTC
    deadline: datetime  # UTC
    status: Status
    reason: str | None = None
    catch_up: bool = False


@dataclass(frozen=True)
class Stored:
    """A notification row as the planner needs to see it: db/ reads it, planning/ diffs it."""

    id: int
    expiry_date: date
    stage: int
    status: str
    reason: str | None
    due_at: datetime
    deadline: datetime
    #: 0: the planned notice of its stage; n > 0: an extra notice staff sent now (not planned).
    extra: int = 0


@dataclass(frozen=True, slots=True)
class NoticeFacts:
    """What the words of one notice need, read from the store when it is rendered."""

    notification_id: int
    stage: int
    catch_up: bool
    language: str  # BCP-47, as stored on the person
    full_name: str
    permit_number: str
    permit_type: str
    expiry_date: date
    office: str  # office code, a key of config.offices


@dataclass(frozen=True, slots=True)
class Rendered:
    """One notice in words and (optionally) sound, as a channel will carry it."""

    text: str  # the whole notice, also the SMS body
    fields: dict[str, str]  # the facts as the words show them, for provider templates
    language: str  # the language actually used (after any fallback)
    audio: Path | None = None  # the voice note in the format asked for
    engine: str | None = None  # which TTS engine and voice made it, for the delivery log


@dataclass(frozen=True, slots=True)
class Claimed:
    """A notice a dispatcher holds under its lease, with what sending it needs."""

    facts: NoticeFacts
    due_at: datetime
    deadline: datetime
    phone: str | None
    whatsapp: str | None
    channels: tuple[str, ...]  # the person's own order; () means the config's channel_order
    channel_pos: int
    attempt_count: int
    opted_out: frozenset[str]  # active opt-outs: channel names, "*" for all
    tries: dict[str, int] = field(default_factory=dict)  # attempts so far, per channel
    email: str | None = None
    #: The last send, when its outcome is unknown and no receipt came while it was being
    #: reconciled: (attempt id, channel, started at). Looked up before sending again.
    unknown: tuple[int, str, datetime] | None = None


@dataclass(slots=True)
class SyncReport:
    """What one sync run did, for the CLI and the sync_runs table; counted as it goes."""

    run_id: int
    status: str = "running"
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    unchanged: int = 0
    new: int = 0
    changed: int = 0
    renewed: int = 0
    left: int = 0
    planned: int = 0
    cancelled: int = 0
    message: str = ""
    reasons: dict[str, int] = field(default_factory=dict)
    #: Rows whose registry id equals their row number (an id that moves when rows are sorted).
    sequential: int = 0
    #: Known registry ids whose name and passport both changed, and a few of them.
    moved: int = 0
    moved_examples: list[str] = field(default_factory=list)
    #: People with an active permit, and how many each channel can reach.
    people: int = 0
    reach: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
