"""The tables. With store.py and syncstore.py, the only modules that know SQLAlchemy.

Migrations in notifyd/migrations/versions must produce exactly this; a test compares them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend.

    PostgreSQL stores `timestamp` in UTC. SQLite has no date type: there the value is ISO text
    of the UTC moment, which sorts and compares correctly, written and read by C code
    (`isoformat`/`fromisoformat`), because the generic processor is most of the cost of
    writing millions of notices.
    """

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return String()  # no processing of its own: we hand it ready text
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return naive.isoformat(sep=" ") if dialect.name == "sqlite" else naive

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Person(Base):
    __tablename__ = "people"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    registry_id: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(Text)
    nationality: Mapped[str] = mapped_column(String(2))
    passport_number: Mapped[str] = mapped_column(String(32), default="")
    language: Mapped[str] = mapped_column(String(35), index=True)  # the console log's filter
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    phone_kind: Mapped[str | None] = mapped_column(String(24), nullable=True)
    whatsapp: Mapped[str | None] = mapped_column(String(20), nullable=True, index=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    channels: Mapped[str] = mapped_column(Text, default="")  # comma-separated, in order
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: When the retention purge blanked this person's name and numbers (None: never).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Permit(Base):
    __tablename__ = "permits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Unique through uq_permits_permit_number, an index (below) rather than a constraint,
    #: so that a first sync can build it once at the end (see db/sync_first.py).
    permit_number: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    permit_type: Mapped[str] = mapped_column(String(64), default="")
    office: Mapped[str] = mapped_column(String(16), index=True)  # the console log's filter
    expiry_date: Mapped[Any] = mapped_column(Date)
    row_hash: Mapped[str] = mapped_column(String(32))
    #: The same hash as a signed 64-bit integer, what a sync loads once into a sorted array
    #: (no hex to parse); None where row_hash is blank or older: the permit is read again.
    row_key: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    warnings: Mapped[str] = mapped_column(Text, default="")  # JSON list
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Notification(Base):
    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    permit_id: Mapped[int] = mapped_column(ForeignKey("permits.id"))
    expiry_date: Mapped[Any] = mapped_column(Date)
    stage: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    #: Why the notice is where it is, whole (see model.whole_reason): staff read it in full.
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    catch_up: Mapped[bool] = mapped_column(Boolean, default=False)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Position, in the person's channel order, of the channel to try next. The dispatcher
    #: moves it on after a permanent failure; a late failure receipt does too.
    channel_pos: Mapped[int] = mapped_column(Integer, server_default="0")
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: 0 for the planned notice of a stage (the sync's own, one per stage); 1, 2, … for extra
    #: notices a supervisor sent now for a stage not yet due, which leave the planned one be.
    extra: Mapped[int] = mapped_column(Integer, server_default="0")
    __table_args__ = (
        UniqueConstraint("permit_id", "expiry_date", "stage", "extra"),
        Index(None, "status", "due_at"),
        #: The console's log pages through notices that ended without an attempt by time.
        Index("ix_notifications_updated_at_id", "updated_at", "id"),
    )


class Attempt(Base):
    __tablename__ = "attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    channel: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))  # pending, sent, unknown, transient, permanent
    provider_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    engine: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: "notice", or "voice_followup" for a WhatsApp voice note sent after the template.
    kind: Mapped[str] = mapped_column(String(16), server_default="notice")
    #: The furthest receipt: delivered, read, played, or failed (a late failure).
    receipt: Mapped[str | None] = mapped_column(String(16), nullable=True)
    receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Where the send went, as sent (after any staff correction): an E.164 number or an
    #: e-mail address. Shown masked to viewers.
    address: Mapped[str | None] = mapped_column(String(254), nullable=True)
    #: Receipts find their attempt by (channel, provider id); the console's log pages by time.
    __table_args__ = (
        Index(None, "channel", "provider_id"),
        Index("ix_attempts_started_at_id", "started_at", "id"),
    )


class SyncRun(Base):
    __tablename__ = "sync_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # running, ok, refused, failed
    rows: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    new: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    renewed: Mapped[int] = mapped_column(Integer, default=0)
    left: Mapped[int] = mapped_column(Integer, default=0)
    planned: Mapped[int] = mapped_column(Integer, default=0)
    cancelled: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")


class RejectedRow(Base):
    """A registry row, or some channels of it, that could not be used, with every reason."""

    __tablename__ = "rejected_rows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    registry_id: Mapped[str] = mapped_column(String(64), default="")
    permit_number: Mapped[str] = mapped_column(String(64), default="")
    whole_row: Mapped[bool] = mapped_column(Boolean, default=True)
    reasons: Mapped[str] = mapped_column(Text)  # JSON list of strings
    raw: Mapped[str] = mapped_column(Text)  # JSON object, the row as read
    #: The hash of a whole-row rejection's line while it is in the registry (NULL once it is
    #: gone or fixed): a later sync that meets the line unchanged moves the row to its run.
    row_hash: Mapped[str | None] = mapped_column(String(32), nullable=True)


class OptOut(Base):
    """An opt-out from the registry, staff or the person (via a provider); lifted, never deleted."""

    __tablename__ = "opt_outs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(64))  # a channel name, or "*" for all
    source: Mapped[str] = mapped_column(String(16))  # registry, staff, provider
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lifted_by: Mapped[str | None] = mapped_column(String(128), nullable=True)


class Control(Base):
    """An operator's pause or resume, of all sending ("*"), one channel or one office;
    appended, never rewritten, so the log says who did what and when. The latest row per scope
    rules."""

    __tablename__ = "controls"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), index=True)  # "*", a channel, "office:CODE"
    action: Mapped[str] = mapped_column(String(16))  # pause, resume
    by: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Why, as the operator gave it (the console asks for one).
    reason: Mapped[str] = mapped_column(Text, server_default="", default="")


class PilotNumber(Base):
    """A number that receives notices in pilot mode, added by an admin in the console (the
    config's `pilot.allowlist` counts too)."""

    __tablename__ = "pilot_numbers"
    number: Mapped[str] = mapped_column(String(20), primary_key=True)  # E.164
    added_by: Mapped[str] = mapped_column(String(128))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffAction(Base):
    """Who did what and when from the command line: resends, opt-outs, purges, test sends."""

    __tablename__ = "staff_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))  # resend, opt_out, opt_out_undo, purge, …
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id"), nullable=True, index=True
    )
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id"), nullable=True
    )
    detail: Mapped[str] = mapped_column(Text, server_default="")


class Conversation(Base):
    """When a person last wrote to us on a channel: WhatsApp's 24-hour window opens then."""

    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    last_inbound_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (UniqueConstraint("channel", "phone"),)


class ConsoleUser(Base):
    """A staff account of the console: a role, an Argon2 hash, disabled rather than deleted."""

    __tablename__ = "console_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # viewer, supervisor, admin
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsoleSession(Base):
    """A signed-in browser. The id is the SHA-256 of the cookie's token, so a copy of the
    table does not let anyone sign in; disabling the user or signing out deletes the row."""

    __tablename__ = "console_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("console_users.id"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffAudit(Base):
    """Every sign-in, failure and action in the console: who, when, from where, and how it went."""

    __tablename__ = "staff_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(32))
    ok: Mapped[bool] = mapped_column(Boolean, default=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (Index(None, "actor", "action", "at"), Index(None, "address", "action", "at"))


class PersonSearch(Base):
    """A person's folded name keys for search (see db/search.py). On PostgreSQL a pg_trgm GIN
    index serves substrings; on SQLite an FTS5 trigram table (people_fts, made by the
    migration) does, and this btree index serves prefixes shorter than a trigram."""

    __tablename__ = "people_search"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    name_key: Mapped[str] = mapped_column(Text)
    source_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    __table_args__ = (
        Index(
            None, "name_key", postgresql_using="gin", postgresql_ops={"name_key": "gin_trgm_ops"}
        ),
    )


class ContactCorrection(Base):
    """A staff value for a phone or WhatsApp number. It wins while the registry still holds the
    value it replaced; once the registry changes, the sync drops it and says why."""

    __tablename__ = "contact_corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    field: Mapped[str] = mapped_column(String(16))  # phone, whatsapp
    value: Mapped[str] = mapped_column(String(20))  # E.164
    replaced: Mapped[str | None] = mapped_column(String(20), nullable=True)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dropped_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    dropped_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


# Search by number: phones and WhatsApp numbers (E.164, indexed on the column), passports
# (upper-cased) match exactly.
Index("ix_people_passport_number", Person.passport_number)
#: The live rejections a sync loads and clears: a few thousand among every run's history.
Index(
    "ix_rejected_rows_live",
    RejectedRow.row_hash,
    sqlite_where=RejectedRow.row_hash.is_not(None),
    postgresql_where=RejectedRow.row_hash.is_not(None),
)
Index("ix_people_updated_at", Person.updated_at)
Index("uq_permits_permit_number", Permit.permit_number, unique=True)
#: The active permits' row keys, in order: what a sync loads once, from the index alone.
Index(
    "ix_permits_row_key",
    Permit.row_key,
    sqlite_where=text("active"),
    postgresql_where=text("active"),
    postgresql_include=["id"],
)


class EarlyReceipt(Base):
    """A provider's receipt that came before its send was recorded (the provider answered
    while our commit was under way, or we crashed in between). Kept here, not in memory, so
    a restart does not lose it; applied when its attempt is recorded, dropped when stale."""

    __tablename__ = "early_receipts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[str] = mapped_column(String(128), default="")
    attempt_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text, default="")
    opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    __table_args__ = (Index(None, "channel", "provider_id"),)


class WaitingTap(Base):
    """A "listen" tap that came while sending was paused: answered after `resume`, while the
    notice's stage and the person's conversation window are still open."""

    __tablename__ = "waiting_taps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"))
    channel: Mapped[str] = mapped_column(String(64))
    tapped_at: Mapped[datetime] = mapped_column(UTCDateTime)
    __table_args__ = (UniqueConstraint("notification_id", "channel"),)


metadata = Base.metadata
people = cast(Table, Person.__table__)
permits = cast(Table, Permit.__table__)
notifications = cast(Table, Notification.__table__)
attempts = cast(Table, Attempt.__table__)
sync_runs = cast(Table, SyncRun.__table__)
rejected_rows = cast(Table, RejectedRow.__table__)
opt_outs = cast(Table, OptOut.__table__)
controls = cast(Table, Control.__table__)
pilot_numbers = cast(Table, PilotNumber.__table__)
staff_actions = cast(Table, StaffAction.__table__)
conversations = cast(Table, Conversation.__table__)
console_users = cast(Table, ConsoleUser.__table__)
console_sessions = cast(Table, ConsoleSession.__table__)
staff_audit = cast(Table, StaffAudit.__table__)
people_search = cast(Table, PersonSearch.__table__)
contact_corrections = cast(Table, ContactCorrection.__table__)
#: SQLite's FTS5 table for name search and its shadow tables: made by migration 0014, outside
#: the models (SQLAlchemy has no virtual tables), so schema comparisons leave them out.
FTS_TABLES = ("people_fts",)


def include_name(name: str | None, type_: str, _parent: Any) -> bool:
    """For Alembic's comparison: everything but the FTS5 tables."""
    return not (type_ == "table" and name is not None and name.startswith(FTS_TABLES))


early_receipts = cast(Table, EarlyReceipt.__table__)
waiting_taps = cast(Table, WaitingTap.__table__)


def compare_type(
    context: Any, inspected: Any, metadata_column: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    """For Alembic: a UTCDateTime column is DATETIME on disk on every backend (text inside on
    SQLite); any other column is compared the default way (None)."""
    if isinstance(metadata_type, UTCDateTime):
        return not isinstance(inspected_type, DateTime)
    return None
