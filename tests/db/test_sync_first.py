"""A first sync into an empty store: what it sets aside for its length, and gives back."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import IntegrityError

from notifyd.db import store, sync_first
from notifyd.db import sync as syncstore
from notifyd.errors import StoreError
from notifyd.model import Record
from notifyd.registry.seen import MetKeys


def _foreign_keys(engine: Engine) -> set[tuple[str, str]]:
    return {
        (t, fk["name"])
        for t in ("permits", "notifications")
        for fk in inspect(engine).get_foreign_keys(t)
    }


def test_a_first_sync_checks_the_notices_permits_once_and_keeps_its_keys(engine: Engine) -> None:
    keys = _foreign_keys(engine)
    assert ("notifications", "fk_notifications_permit_id_permits") in keys
    orphan = (
        "INSERT INTO notifications (permit_id, expiry_date, stage, due_at, deadline, status, "
        "catch_up, attempt_count, created_at, updated_at) VALUES (424242, '2027-01-01', 7, "
        "'2026-12-25 02:00:00', '2026-12-26 02:00:00', 'pending', false, 0, "
        "'2026-12-01 00:00:00', '2026-12-01 00:00:00')"
    )
    with pytest.raises(IntegrityError, match="(?i)foreign key"), engine.begin() as conn:
        syncstore.create_scratch(conn)
        assert sync_first.first_ids(conn) is not None
        try:
            conn.exec_driver_sql(orphan)
        except IntegrityError:
            assert engine.dialect.name == "sqlite"  # which checks each row as it comes
            raise
        assert engine.dialect.name == "postgresql"  # which checks them all in finish
        sync_first.finish(conn)
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM notifications").scalar() == 0
        syncstore.create_scratch(conn)
        assert sync_first.first_ids(conn) is not None
        sync_first.finish(conn)
    assert _foreign_keys(engine) == keys  # given back, under their own names


def test_a_first_sync_builds_the_numbers_index_back_unique(engine: Engine) -> None:
    """The index is off while a first sync inserts; a number stored twice still fails it."""
    stamp = "'2026-12-01 00:00:00'"
    person = (
        "INSERT INTO people (id, registry_id, full_name, nationality, passport_number, language, "
        f"channels, created_at, updated_at) VALUES (1, 'R1', 'A', 'AU', '', 'en', 'sms', {stamp}, "
        f"{stamp})"
    )
    permit = (
        "INSERT INTO permits (id, permit_number, person_id, permit_type, office, expiry_date, "
        "row_hash, active, warnings, created_at, updated_at) VALUES ({}, 'P1', 1, 'K', 'BLT', "
        f"'2027-01-01', 'h', true, '', {stamp}, {stamp})"
    )
    with pytest.raises(IntegrityError, match="(?i)unique|duplicate"), engine.begin() as conn:
        syncstore.create_scratch(conn)
        assert sync_first.first_ids(conn) is not None
        conn.exec_driver_sql(person)
        conn.exec_driver_sql(permit.format(1))
        conn.exec_driver_sql(permit.format(2))  # taken: nothing checks numbers until finish
        sync_first.finish(conn)
    with engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM permits").scalar() == 0
    indexes = {i["name"]: i["unique"] for i in inspect(engine).get_indexes("permits")}
    assert indexes["uq_permits_permit_number"]


ORPHAN = (
    "INSERT INTO notifications (permit_id, expiry_date, stage, due_at, deadline, status, "
    "catch_up, attempt_count, created_at, updated_at) VALUES (424242, '2027-01-01', 7, "
    "'2026-12-25 02:00:00', '2026-12-26 02:00:00', 'pending', 0, 0, "
    "'2026-12-01 00:00:00', '2026-12-01 00:00:00')"
)


def test_an_empty_sqlite_store_checks_foreign_keys_once_before_the_commit(
    sqlite_engine: Engine,
) -> None:
    with sqlite_engine.connect() as conn:
        with pytest.raises(StoreError, match="notifications .* missing row of permits"):
            with sync_first.empty_sqlite(conn) as check, conn.begin():
                conn.exec_driver_sql(ORPHAN)  # not refused here: rows are checked at the end
                check()
        on = conn.connection.driver_connection.execute("PRAGMA foreign_keys").fetchone()  # type: ignore[union-attr]
        assert on == (1,)  # the connection has its checks back
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM notifications").scalar() == 0


def test_a_store_with_people_keeps_checking_every_row(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO people (registry_id, full_name, nationality, passport_number, "
            "language, channels, created_at, updated_at) VALUES ('R1', 'A', 'AU', '', 'en', "
            "'sms', '2026-12-01 00:00:00', '2026-12-01 00:00:00')"
        )
    with sqlite_engine.connect() as conn:
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            with sync_first.empty_sqlite(conn), conn.begin():
                conn.exec_driver_sql(ORPHAN)


def test_a_first_sync_inserts_with_a_small_cache_and_gives_it_back(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as conn:
        syncstore.create_scratch(conn)
        before = conn.exec_driver_sql("PRAGMA main.cache_size").scalar()
        assert sync_first.first_ids(conn) is not None
        small = conn.exec_driver_sql("PRAGMA main.cache_size").scalar()
        assert small == -sync_first.FIRST_CACHE_KIB != before
        sync_first.finish(conn)
        assert conn.exec_driver_sql("PRAGMA main.cache_size").scalar() == before


def test_a_first_sync_that_fails_gives_the_connection_its_cache_and_checks_back(
    tmp_path: Path,
) -> None:
    """A pooled connection outlives a failed sync: it must not keep the sync's settings."""
    engine = store.open_store(f"sqlite:///{tmp_path / 'n.db'}", pooled=True)
    try:
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            before = driver.execute("PRAGMA main.cache_size").fetchone()  # type: ignore[union-attr]
            with pytest.raises(RuntimeError), sync_first.empty_sqlite(conn), conn.begin():
                syncstore.create_scratch(conn)
                assert sync_first.first_ids(conn) is not None
                raise RuntimeError("the export broke off")  # before finish
            assert driver.execute("PRAGMA main.cache_size").fetchone() == before  # type: ignore[union-attr]
            assert driver.execute("PRAGMA foreign_keys").fetchone() == (1,)  # type: ignore[union-attr]
            assert driver.execute("PRAGMA synchronous").fetchone() == (1,)  # type: ignore[union-attr]
            assert driver.execute("PRAGMA journal_mode").fetchone() == ("wal",)  # type: ignore[union-attr]
            assert conn.exec_driver_sql("SELECT count(*) FROM sync_runs").scalar() == 0
    finally:
        engine.dispose()


PERSON = (
    "INSERT INTO people (registry_id, full_name, nationality, passport_number, language, "
    "channels, created_at, updated_at) VALUES ('R1', 'A', 'AU', '', 'en', 'sms', "
    "'2026-12-01 00:00:00', '2026-12-01 00:00:00')"
)


def _mode(conn: sqlite3.Connection) -> tuple[str, int]:
    return (
        conn.execute("PRAGMA journal_mode").fetchone()[0],
        conn.execute("PRAGMA synchronous").fetchone()[0],
    )


def test_an_empty_sqlite_store_is_written_through_a_rollback_journal_then_back_in_wal(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    """Written once to the file, not to the WAL and again by the checkpoint; fully synced."""
    path = tmp_path / "n.db"
    with sqlite_engine.connect() as conn:
        driver = conn.connection.driver_connection
        with sync_first.empty_sqlite(conn), conn.begin():
            assert _mode(driver) == ("delete", 2)  # type: ignore[arg-type]
            conn.exec_driver_sql(PERSON)
            other = sqlite3.connect(path)  # another command while it runs: still reads
            assert other.execute("SELECT count(*) FROM people").fetchone() == (0,)
            other.close()
        assert _mode(driver) == ("wal", 1)  # type: ignore[arg-type]
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM people").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_connection_opened_while_a_first_sync_writes_connects_and_reads(
    sqlite_engine: Engine,
) -> None:
    """store.connect asks for WAL mode, which a sync holding the file refuses: not an error."""
    with sqlite_engine.connect() as conn, sync_first.empty_sqlite(conn), conn.begin():
        conn.exec_driver_sql(PERSON)
        with store.reading(sqlite_engine) as late:
            assert late.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"
            assert late.exec_driver_sql("SELECT count(*) FROM people").scalar() == 0


def test_the_daemons_first_sync_stays_in_wal_so_its_readers_never_wait(
    sqlite_engine: Engine,
) -> None:
    with sqlite_engine.connect() as conn:
        driver = conn.connection.driver_connection
        with sync_first.empty_sqlite(conn, journal=False) as check, conn.begin():
            assert _mode(driver) == ("wal", 1)  # type: ignore[arg-type]
            assert driver.execute("PRAGMA foreign_keys").fetchone() == (0,)  # type: ignore[union-attr]
            conn.exec_driver_sql(ORPHAN)
            with pytest.raises(StoreError):
                check()  # the keys are still checked once


def test_a_first_sync_with_another_connection_open_stays_in_wal(tmp_path: Path) -> None:
    path = tmp_path / "n.db"
    engine = store.open_store(f"sqlite:///{path}")
    other = sqlite3.connect(path)
    try:
        other.execute("SELECT count(*) FROM people").fetchone()
        with engine.connect() as conn:
            driver = conn.connection.driver_connection
            with sync_first.empty_sqlite(conn), conn.begin():
                assert _mode(driver) == ("wal", 1)  # type: ignore[arg-type]
                conn.exec_driver_sql(PERSON)
        assert other.execute("SELECT count(*) FROM people").fetchone() == (1,)
    finally:
        other.close()
        engine.dispose()


NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _record(registry_id: str, name: str) -> Record:
    return Record(
        line=1, registry_id=registry_id, full_name=name, nationality="AU", passport_number="",
        permit_type="KITAS", permit_number=f"P-{registry_id}", expiry_date=date(2027, 1, 31),
        office="BLT", language="en", phone=None, whatsapp=None, channels=("sms",), opt_out=(),
    )  # fmt: skip


def test_a_person_met_again_in_a_later_chunk_is_stored_once_and_given_back_to_compare(
    engine: Engine,
) -> None:
    """Both databases tell the same people apart: SQLite by its own ON CONFLICT, PostgreSQL
    from the registry ids met so far, kept in memory as hashes (met)."""
    met = MetKeys()
    with engine.begin() as conn:
        syncstore.create_scratch(conn)
        ids = sync_first.first_ids(conn)
        assert ids is not None
        first = sync_first.insert_people(
            conn, [_record("R1", "A"), _record("R2", "B")], NOW, ids, met.meet
        )
        assert first == ({"R1": 1, "R2": 2}, [])
        again = _record("R2", "B, renamed")
        later = sync_first.insert_people(conn, [again, _record("R3", "C")], NOW, ids, met.meet)
        assert later == ({"R3": 4}, [again])  # R2's record: for the caller to compare
        stored = conn.exec_driver_sql("SELECT id, registry_id, full_name FROM people ORDER BY id")
        assert stored.all() == [(1, "R1", "A"), (2, "R2", "B"), (4, "R3", "C")]
        sync_first.finish(conn)
        if engine.dialect.name == "postgresql":  # sampled, for the plans that follow
            sampled = conn.exec_driver_sql(
                "SELECT DISTINCT tablename FROM pg_stats WHERE tablename IN ('people', "
                "'permits', 'notifications')"
            )
            assert sampled.all() == [("people",)]  # no permits or notices stored here


def test_a_registry_id_whose_hash_was_met_but_never_stored_is_a_new_person(
    engine: Engine,
) -> None:
    """A "maybe met" (another registry id with the same hash, here one met but never stored)
    is settled by the people stored: the person is inserted, not taken for someone else."""
    met = MetKeys()
    met.meet(["R9"])  # its hash is known; no R9 is stored
    with engine.begin() as conn:
        syncstore.create_scratch(conn)
        ids = sync_first.first_ids(conn)
        assert ids is not None
        got = sync_first.insert_people(conn, [_record("R9", "Nine")], NOW, ids, met.meet)
        assert got == ({"R9": 1}, [])
        stored = conn.exec_driver_sql("SELECT id, registry_id, full_name FROM people")
        assert stored.all() == [(1, "R9", "Nine")]


def test_a_first_sync_builds_the_notices_indexes_back_and_a_notice_planned_twice_fails_it(
    engine: Engine,
) -> None:
    def kept() -> tuple[object, ...]:
        inspector = inspect(engine)
        return (
            sorted((i["name"], i["unique"]) for i in inspector.get_indexes("notifications")),
            sorted(str(u["name"]) for u in inspector.get_unique_constraints("notifications")),
        )

    def permit(conn: Connection) -> None:
        conn.exec_driver_sql(PERSON.replace("(registry_id", "(id, registry_id").replace(
            "VALUES (", "VALUES (1, "))  # fmt: skip
        conn.exec_driver_sql(
            "INSERT INTO permits (id, permit_number, person_id, permit_type, office, "
            "expiry_date, row_hash, active, warnings, created_at, updated_at) VALUES (1, 'P1', "
            "1, 'K', 'BLT', '2027-01-01', 'h', true, '', '2026-12-01 00:00:00', "
            "'2026-12-01 00:00:00')"
        )

    before = kept()
    assert ("ix_notifications_status_due_at", False) in before[0]
    notice = ORPHAN.replace("424242", "1").replace("'pending', 0,", "'pending', false,")
    with pytest.raises(IntegrityError, match="(?i)unique|duplicate"), engine.begin() as conn:
        permit(conn)
        assert syncstore.defer_notice_indexes(conn)
        conn.exec_driver_sql(notice)
        try:
            conn.exec_driver_sql(notice)  # the same stage of the same permit and expiry
        except IntegrityError:
            assert engine.dialect.name == "sqlite"  # whose unique constraint stays
            raise
        assert engine.dialect.name == "postgresql"  # which checks it when it is built back
        syncstore.build_notice_indexes(conn)
    assert kept() == before
    with engine.begin() as conn:
        permit(conn)
        assert syncstore.defer_notice_indexes(conn)
        conn.exec_driver_sql(notice)
        syncstore.build_notice_indexes(conn)
    assert kept() == before
    with engine.begin() as conn:  # a store with notices: not a first sync, nothing dropped
        assert not syncstore.defer_notice_indexes(conn)
