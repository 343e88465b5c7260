"""The store on real SQLite and PostgreSQL: migrations, UTC instants, SQLite's settings."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select

from notifyd.db import notices, runs, schema, store
from notifyd.errors import StoreError


def test_migrations_build_exactly_the_schema_the_code_declares(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": schema.compare_type, "include_name": schema.include_name}
        )
        assert compare_metadata(context, schema.metadata) == []
    assert {"people", "permits", "notifications", "attempts", "sync_runs", "rejected_rows",
            "opt_outs"} <= set(inspect(engine).get_table_names())  # fmt: skip


def test_migrating_twice_is_harmless(engine: Engine) -> None:
    store.migrate(engine)
    with engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one()
    head = ScriptDirectory(str(store.MIGRATIONS)).get_current_head()
    assert version == head and head is not None and int(head) >= 2


def test_instants_come_back_as_the_same_aware_utc_moment(engine: Engine) -> None:
    jakarta = datetime(2026, 12, 4, 9, 0, tzinfo=timezone(timedelta(hours=7)))
    run_id = runs.start_run(engine, "test", jakarta)
    with engine.connect() as conn:
        started = conn.execute(
            select(schema.sync_runs.c.started_at).where(schema.sync_runs.c.id == run_id)
        ).scalar_one()
    assert started == jakarta and started.tzinfo == UTC and started.hour == 2


def test_a_naive_datetime_is_refused_rather_than_guessed(engine: Engine) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        runs.start_run(engine, "test", datetime(2026, 12, 4, 9, 0))


def test_rows_appended_in_bulk_come_back_exactly_as_written(engine: Engine) -> None:
    """PostgreSQL copies them in binary, typed by the table's own columns: no text escaping
    for a name with a tab, a newline or a backslash to get wrong."""
    at = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
    odd = "Nguyễn\tVăn\nA\\B 'C' \"D\" =1+1"
    with engine.begin() as conn:
        stamp = store.instant_param(conn)(at)
        people = ("id", "registry_id", "full_name", "nationality", "passport_number",
                  "language", "phone", "channels", "created_at", "updated_at")  # fmt: skip
        store.insert_rows(conn, "people", people, [
            (7, "R7", odd, "VN", "", "vi", None, "sms", stamp, stamp),
            (9, "R9", "", "AU", "PA1", "en", "+6281234567890", "", stamp, stamp),
        ])  # fmt: skip
        permits = ("id", "permit_number", "person_id", "permit_type", "office",
                   "expiry_date", "row_hash", "row_key", "active", "warnings", "created_at",
                   "updated_at")  # fmt: skip
        day = date(2027, 1, 31) if engine.dialect.name == "postgresql" else "2027-01-31"
        store.insert_rows(conn, "permits", permits, [
            (3, "P3", 7, "KITAS", "BLT", day, "h", -(2**62), True, "", stamp, stamp),
        ])  # fmt: skip
    with engine.connect() as conn:
        p, pm = schema.people, schema.permits
        assert conn.execute(select(p.c.id, p.c.full_name, p.c.phone, p.c.created_at)
                            .order_by(p.c.id)).all() == [(7, odd, None, at),
                                                         (9, "", "+6281234567890", at)]  # fmt: skip
        assert conn.execute(select(pm.c.person_id, pm.c.expiry_date, pm.c.row_key, pm.c.active)
                            ).one() == (7, date(2027, 1, 31), -(2**62), True)  # fmt: skip


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path) -> None:
    engine = store.open_store(f"sqlite:///{tmp_path / 'n.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1


def test_a_pooled_sqlite_engine_keeps_its_connection_and_bounds_the_wal(tmp_path) -> None:
    engine = store.open_store(f"sqlite:///{tmp_path / 'n.db'}", pooled=True)
    with engine.connect() as conn:
        first = conn.connection.driver_connection
        assert conn.exec_driver_sql("PRAGMA journal_size_limit").scalar_one() == 64 * 2**20
    with engine.connect() as conn:  # the daemon's next tick: the same connection, not a new one
        assert conn.connection.driver_connection is first
    engine.dispose()


def test_a_reader_does_not_wait_for_a_writer_on_sqlite(tmp_path) -> None:
    engine = store.open_store(f"sqlite:///{tmp_path / 'n.db'}")
    with engine.begin() as writer:  # holds the write lock (BEGIN IMMEDIATE)
        writer.execute(schema.sync_runs.insert().values(
            source="w", started_at=datetime.now(UTC), status="running"))  # fmt: skip
        assert runs.last_run_id(engine) is None  # WAL: the reader sees the last commit at once
    assert runs.last_run_id(engine) == 1


def test_an_unreachable_database_is_a_store_error_naming_it() -> None:
    with pytest.raises(StoreError, match=r"cannot migrate the database at .*127\.0\.0\.1:9"):
        store.open_store("postgresql+psycopg://notifyd@127.0.0.1:9/notifyd")


def test_notice_facts_of_a_permit_for_notifyd_render(engine: Engine, make_config) -> None:
    from datetime import date

    from conftest import FRIDAY_MORNING, person
    from notifyd import plugins
    from notifyd.registry.sync import run_sync

    cfg = make_config(
        [person(1, full_name="Kim Minsu", nationality="KR", expiry_date="2026-12-18")]
    )
    run_sync(cfg, engine, plugins.make_manager(), FRIDAY_MORNING)
    facts = notices.notice_facts(engine, "2C11AB0001-26", 14)
    assert facts is not None and facts.notification_id > 0 and facts.stage == 14
    assert (facts.full_name, facts.language, facts.office) == ("Kim Minsu", "ko", "BLT")
    assert facts.expiry_date == date(2026, 12, 18) and facts.permit_type == "KITAS"
    unplanned = notices.notice_facts(engine, "2C11AB0001-26", 3)  # no such stage: still renders
    assert unplanned is not None and unplanned.notification_id == 0 and unplanned.stage == 3
    assert notices.notice_facts(engine, "NOPE", None) is None


STAMP = "'2026-12-04 02:00:00'"
#: One person, and one permit of theirs (id and number as given), as the old revisions store them.
A_PERSON = (
    "INSERT INTO people (id, registry_id, full_name, nationality, passport_number, language, "
    f"channels, created_at, updated_at) VALUES (1, 'R1', 'A', 'ID', 'P', 'id', '', {STAMP}, "
    f"{STAMP})"
)
A_PERMIT = (
    "INSERT INTO permits (id, permit_number, person_id, permit_type, office, expiry_date, "
    f"row_hash, active, warnings, created_at, updated_at) VALUES (:id, :number, 1, 'K', 'BLT', "
    f"'2026-12-18', :hash, TRUE, '', {STAMP}, {STAMP})"
)


def alembic_to(engine: Engine, revision: str, down: bool = False) -> None:
    """Upgrade (or downgrade) the database to `revision` with alembic itself."""
    from alembic import command
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(store.MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_upgrading_a_database_with_deliveries_keeps_every_row(db_url: str) -> None:
    """Revision 0016 rebuilds `notifications` (its unique key takes extra notices), which the
    attempts and staff actions refer to: on SQLite that needs the foreign keys off meanwhile."""
    from sqlalchemy import text

    engine = store.connect(db_url)
    alembic_to(engine, "0014")
    with engine.begin() as conn:
        conn.execute(text(A_PERSON))
        conn.execute(text(A_PERMIT), {"id": 1, "number": "P1", "hash": "h"})
        for sql in (
            "INSERT INTO notifications (id, permit_id, expiry_date, stage, due_at, deadline, "
            "status, reason, catch_up, attempt_count, channel_pos, created_at, updated_at) VALUES "
            f"(1, 1, '2026-12-18', 14, {STAMP}, {STAMP}, 'failed', 'x', FALSE, 1, 0, {STAMP}, "
            f"{STAMP})",
            "INSERT INTO attempts (id, notification_id, channel, started_at, outcome, kind) "
            f"VALUES (1, 1, 'sms', {STAMP}, 'permanent', 'notice')",
            "INSERT INTO staff_actions (at, actor, action, person_id, notification_id, detail) "
            f"VALUES ({STAMP}, 'siti', 'resend', 1, 1, '')",
        ):
            conn.execute(text(sql))
    store.migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id, extra, reason FROM notifications")).all() == [
            (1, 0, "x")
        ]
        assert conn.execute(text("SELECT notification_id, address FROM attempts")).all() == [
            (1, None)
        ]
        assert conn.execute(text("SELECT notification_id FROM staff_actions")).all() == [(1,)]
        if conn.dialect.name == "sqlite":  # and the foreign keys are enforced again
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    engine.dispose()


def test_the_head_revision_is_read_from_the_scripts_as_alembic_reads_it() -> None:
    assert store.head_revision() == ScriptDirectory(str(store.MIGRATIONS)).get_current_head()


def test_upgrading_to_0019_gives_each_permit_its_hash_as_a_signed_integer(db_url: str) -> None:
    """Revision 0019 adds permits.row_key and fills it from row_hash: 16 hex digits read as
    a signed 64-bit integer; a blank or older (longer) hash stays None, read again."""
    from sqlalchemy import text

    engine = store.connect(db_url)
    alembic_to(engine, "0018")
    hashes = ["ffffffffffffffff", "8000000000000000", "7fffffffffffffff", "0000000000000001",
              "", "0123456789abcdef0123456789abcdef", "not hex at all!!"]  # fmt: skip
    with engine.begin() as conn:
        conn.execute(text(A_PERSON))
        for i, h in enumerate(hashes, 1):
            conn.execute(text(A_PERMIT), {"id": i, "number": f"P{i}", "hash": h})
    store.migrate(engine)
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT row_key FROM permits ORDER BY id")).scalars().all()
    assert keys == [-1, -(2**63), 2**63 - 1, 1, None, None, None]
    engine.dispose()


def test_0020_keeps_permit_numbers_unique_both_ways(db_url: str) -> None:
    """Revision 0020 moves the permits' number uniqueness from a constraint to an index (which
    a first sync can drop and build back); the rows stay, and so does the rule, both ways."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    engine = store.connect(db_url)
    permit = text(A_PERMIT)
    alembic_to(engine, "0019")
    with engine.begin() as conn:
        conn.execute(text(A_PERSON))
        conn.execute(permit, {"id": 1, "number": "P1", "hash": "h"})
    for revision, down in (("0020", False), ("0019", True)):
        alembic_to(engine, revision, down)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT permit_number FROM permits")).scalars().all() == ["P1"]
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(permit, {"id": 2, "number": "P1", "hash": "h"})
    engine.dispose()
