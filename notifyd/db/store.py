"""The database itself: its URL, connecting, migrating, and the helpers every query module of
db/ shares. The rest of notifyd sees only `Engine`, `Connection` and `DatabaseError` from here."""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchModuleError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from notifyd.config import SECRET_FIX, Config, is_secret_ref, resolve_secret
from notifyd.errors import ConfigError, StoreError

__all__ = ["Connection", "DatabaseError", "Engine"]  # the types the wings above may name
#: Any error the database raises; its parameters hold personal data, so it is described
#: without them (notifyd.registry.sync.describe_error), never printed whole.
DatabaseError = SQLAlchemyError
MIGRATIONS = Path(__file__).parent / "migrations"
#: Bound parameters per IN (…) list, well under SQLite's limit of 32,766.
IN_CHUNK = 5000


def connect(url: str, pooled: bool = False) -> Engine:
    """An engine with SQLite set up for one writer and many readers (WAL, busy timeout).

    `pooled` keeps SQLite connections open between uses (for the web app, whose many small
    receipt transactions would otherwise each open a connection and, closing the last one,
    checkpoint the WAL); by default each use opens its own."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        on_disk = bool(path) and path != ":memory:" and not path.startswith("file:")
        if on_disk:
            Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        pool: dict[str, Any] = {"pool_size": 4} if pooled else {"poolclass": NullPool}
        engine = create_engine(url, connect_args={"timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
            cur = dbapi_conn.cursor()
            try:
                cur.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError:  # a first sync holds the file in rollback mode
                pass  # (sync_first.empty_sqlite): this connection waits for it, as writers do
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            # Index upkeep of a large sync runs from memory: 32 MiB of page cache (default 2).
            cur.execute("PRAGMA cache_size=-32768")
            # Pooled connections stay open, so no last close deletes the WAL: after a large
            # sync it is cut back to 64 MiB at the next checkpoint instead of keeping its peak.
            cur.execute("PRAGMA journal_size_limit=67108864")
            cur.close()
            if on_disk:
                _private(path)

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Writers take the lock up front so they queue on busy_timeout instead of failing
            # half-way; readers (see `reading`) do not block anyone in WAL mode.
            read = conn.get_execution_options().get("notifyd_read", False)
            conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def _private(path: str) -> None:
    """The database, its WAL and SHM readable by notifyd alone, whatever the umask (they hold
    names and numbers); cheap enough to do on every connection."""
    for name in (path, f"{path}-wal", f"{path}-shm"):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except OSError:
            pass  # not there (yet), or not ours to change: the start-up check says so


#: Words of SQLite's, PostgreSQL's and the OS's errors for the database's bad days.
SIGNS = {
    "disk_full": ("database or disk is full", "no space left", "disk full", "could not extend"),
    "read_only": ("readonly database", "read-only", "read only"),
}


def classify(exc: BaseException) -> str | None:
    """What a failure says of the database: "disk_full", "read_only", "database_error" (down,
    unreachable), or None for an error that is no bad day of the database but a bug."""
    text, seen = "", exc
    for _ in range(5):
        text += " " + str(seen).lower()
        nxt = getattr(seen, "orig", None) or seen.__cause__ or seen.__context__
        if nxt is None:
            break
        seen = nxt
    for state, words in SIGNS.items():
        if any(w in text for w in words):
            return state
    return "database_error" if isinstance(exc, DatabaseError | OSError) else None


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; run at start and by `notifyd db upgrade`.

    A database already there is told by its stored revision alone, without loading alembic
    and every migration script (a few tenths of a second on each command's start)."""
    try:
        with engine.connect() as conn:
            if _at_head(conn):
                return
            from alembic import command
            from alembic.config import Config as AlembicConfig

            cfg = AlembicConfig()
            cfg.set_main_option("script_location", str(MIGRATIONS))
            sqlite = conn.dialect.name == "sqlite"
            driver = conn.connection.driver_connection
            if sqlite:  # SQLite's own way to rebuild a table others refer to (see _checked)
                driver.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            try:
                with conn.begin():
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, "head")
                    if sqlite:
                        _checked(conn)
            finally:
                if sqlite:
                    driver.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
    except OperationalError as exc:
        said = " ".join(str(exc.orig).split())  # one line, however the driver wraps it
        raise StoreError(f"cannot migrate the database at {engine.url!r}: {said}") from exc


_REVISION = re.compile(r'^revision = "([^"]+)"$', re.M)
_DOWN = re.compile(r'^down_revision = "([^"]+)"$', re.M)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest revision, read from the migration scripts' own lines (`revision = "0019"`,
    `down_revision = "0018"`); None unless exactly one revision is nobody's parent."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(text))
        parents.update(_DOWN.findall(text))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_head(conn: Connection) -> bool:
    """Whether the database's stored revision is the newest; ends the read's transaction, so
    that a migration can start its own."""
    head = head_revision()
    try:
        stored = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    except SQLAlchemyError:  # no such table yet: a new database
        stored = []
    conn.rollback()
    return head is not None and stored == [head]


def _checked(conn: Connection) -> None:
    """A migration that rebuilds a table (SQLite's batch mode: copy, drop, rename) would fail
    on dropping a table other rows refer to, so SQLite migrates with foreign keys off (the
    pragma is a no-op inside a transaction, hence before it) and checks them all before the
    commit, as SQLite's documentation prescribes for altering a table."""
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
    if broken is not None:
        raise StoreError(
            f"the migration would leave a row of {broken[0]} (rowid {broken[1]}) pointing at a "
            f"missing row of {broken[2]}; nothing was changed"
        )


def open_store(url: str, pooled: bool = False) -> Engine:
    engine = connect(url, pooled)
    migrate(engine)
    return engine


def chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def executemany(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> int:
    """Run one statement for many rows on the driver's own cursor.

    SQLAlchemy's per-row parameter processing costs more than SQLite's own insert, and a
    registry sync writes millions of rows; values must already be in the driver's terms
    (see `instant_param`). Returns the rows affected.
    """
    if not rows:
        return 0
    if conn.dialect.name != "sqlite":
        sql = sql.replace("?", "%s")
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Append rows to a table: PostgreSQL's COPY (psycopg 3 streams them in one statement,
    several times faster than an executemany), an executemany INSERT on SQLite. No conflict
    handling: for scratch tables and rows known to be new.

    The COPY is binary, typed by the table's own columns: 100,000 permits' rows took psycopg
    0.16 s to send that way, 0.5 s as text, whose every value it formats and escapes."""
    if not rows:
        return
    if conn.dialect.name == "sqlite":
        marks = ", ".join("?" * len(columns))
        executemany(conn, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
        return
    types = _column_types(conn, table, tuple(columns))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


def _column_types(conn: Connection, table: str, columns: tuple[str, ...]) -> list[int]:
    """The columns' own PostgreSQL types, as binary COPY needs them exactly: read once per
    connection and table (a scratch table made again gets the same)."""
    cache: dict[tuple[str, tuple[str, ...]], list[int]] = conn.info.setdefault("copy_types", {})
    key = (table, columns)
    if key not in cache:
        found: dict[str, int] = dict(
            conn.exec_driver_sql(
                "SELECT attname, atttypid::int FROM pg_attribute "
                "WHERE attrelid = %(t)s::regclass AND attnum > 0 AND NOT attisdropped",
                {"t": table},
            ).all()
        )
        cache[key] = [found[c] for c in columns]
    return cache[key]


def instant_param(conn: Connection) -> Any:
    """How this driver wants a UTC instant, as schema.UTCDateTime stores it: naive UTC (a
    PostgreSQL session in another time zone would shift an aware one), ISO text on SQLite."""
    return utc_text if conn.dialect.name == "sqlite" else naive_utc


def naive_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


@lru_cache(maxsize=8192)
def utc_text(value: datetime | None) -> str | None:
    """Cached: the notices of every permit expiring on one day share their instants."""
    naive = naive_utc(value)
    return None if naive is None else naive.isoformat(" ")


def expanding(name: str) -> Any:
    """A parameter that takes a list, for `IN :name` in text SQL."""
    return bindparam(name, expanding=True)


def reading(engine: Engine) -> Connection:
    """A connection for reads only: on SQLite it takes no write lock."""
    return engine.connect().execution_options(notifyd_read=True)


def database_url(cfg: Config) -> str:
    """The SQLAlchemy URL: the embedded SQLite file by default; a password only by reference."""
    raw = cfg.database.url
    if not raw:
        return f"sqlite:///{Path(cfg.state_dir) / 'notifyd.db'}"
    if is_secret_ref(raw):
        raw = resolve_secret(raw, "database.url")
    url = make_url(raw)
    if url.password and not is_secret_ref(cfg.database.url):
        raise ConfigError(
            "database.url", "holds a password in clear", SECRET_FIX + " in database.password"
        )
    if cfg.database.password:
        url = url.set(password=resolve_secret(cfg.database.password, "database.password"))
    return url.render_as_string(hide_password=False)


def probe(cfg: Config) -> str:
    """Load the database's driver and connect once, for check-config; return what was reached
    (no password). Raises ConfigError naming database.url and the fix."""
    url = make_url(database_url(cfg))
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database or "")
        if not path.exists():
            folder = next((p for p in path.parents if p.exists()), Path("/"))
            if not os.access(folder, os.W_OK):
                raise ConfigError(
                    "state_dir", f"{path} does not exist and {folder} is not writable",
                    "make state_dir a folder this user may write, or create it",
                )  # fmt: skip
            return f"{shown} (created at the first run)"
    fix = "pip install 'notifyd[postgresql]' and write postgresql+psycopg://user@host/database"
    try:
        engine = create_engine(url, poolclass=NullPool)
    except NoSuchModuleError as exc:
        raise ConfigError(
            "database.url", f"SQLAlchemy has no database driver {url.drivername!r}", fix
        ) from exc
    except ImportError as exc:
        raise ConfigError(
            "database.url", f"the driver for {url.drivername!r} is not installed ({exc.name})", fix
        ) from exc
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        raise ConfigError(
            "database.url", f"cannot connect to {shown}: {detail}",
            "check the host, port, database name, user and password, and that the server runs",
        ) from exc  # fmt: skip
    finally:
        engine.dispose()
    return f"{shown} (connected)"
