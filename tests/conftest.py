"""Shared fixtures: a real database on SQLite and PostgreSQL, configs and registry files."""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url

from notifyd import attemptstore, config, schema, store
from notifyd.clock import Office
from notifyd.config import CANONICAL_COLUMNS, Config

#: Set by .ci/run; when set, PostgreSQL tests fail instead of skipping if it is unreachable.
PG_ENV = "NOTIFYD_TEST_POSTGRES_URL"
#: A Friday morning in Blitar, inside the office window: 2026-12-04 09:30 WIB.
FRIDAY_MORNING = datetime(2026, 12, 4, 2, 30, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def office(code: str = "BLT", **overrides: object) -> Office:
    """An office compiled from a validated config; Blitar (WIB) unless overridden."""
    settings: dict[str, object] = {
        "name": "Kantor Imigrasi Blitar",
        "timezone": "Asia/Jakarta",
        "window": "09:00-17:00",
        "weekend": ["sat", "sun"],
        "holidays_country": "ID",
        "closed": ["2026-11-10"],
    }
    settings.update(overrides)
    cfg = config.parse({"offices": {code: settings}})
    return Office.from_config(code, cfg.offices[code])


def _postgres_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"{PG_ENV} is not set; PostgreSQL tests skipped (.ci/run sets it)")
    return url


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh database for this test session on the server $NOTIFYD_TEST_POSTGRES_URL names."""
    url = make_url(_postgres_url())
    name = f"notifyd_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the variable is set: an unreachable server is a failure
        pytest.fail(f"PostgreSQL at {url.render_as_string(hide_password=True)}: {exc}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'notifyd.db'}"
        return
    url = request.getfixturevalue("postgres_database")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = store.open_store(db_url)
    yield eng
    eng.dispose()


Row = dict[str, str]


def person(n: int, **fields: str) -> Row:
    """A valid registry row; keyword arguments override fields."""
    row = {
        "registry_id": f"BLT-{n:05d}",
        "full_name": f"Person {n}",
        "nationality": "AU",
        "passport_number": f"PA{n:07d}",
        "permit_type": "KITAS",
        "permit_number": f"2C11AB{n:04d}-26",
        "expiry_date": "2026-12-31",
        "phone": f"0812-3456-{n % 10000:04d}",
        "whatsapp": "",
        "language": "",
        "channels": "",
        "opted_out": "",
        "office": "",
    }
    row.update(fields)
    return row


def write_registry(path: Path, rows: list[Row], delimiter: str = ",", bom: bool = False) -> Path:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(CANONICAL_COLUMNS), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def config_dict(registry_path: Path, /, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "channel_order": ["whatsapp", "sms"],
        "registry": {"path": str(registry_path)},
        "offices": {"BLT": {"name": "Kantor Imigrasi Blitar", "timezone": "Asia/Jakarta"}},
        "channels": {
            "whatsapp": {"plugin": "spool", "kind": "whatsapp"},
            "sms": {"plugin": "spool", "kind": "sms"},
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """make_config(rows, **overrides) → a Config whose CSV registry holds `rows`."""

    def make(rows: list[Row], **overrides: Any) -> Config:
        registry = write_registry(tmp_path / "registry.csv", rows)
        data = config_dict(registry, **overrides)
        data.setdefault("state_dir", str(tmp_path / "state"))
        return config.parse(data)

    return make


# --- receipts, web app and follow-ups (issue 5) ---------------------------------------------


@pytest.fixture(scope="session")
def tiny_ogg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real half-second OGG/Opus voice note, made by ffmpeg."""
    import subprocess

    out = tmp_path_factory.mktemp("audio") / "tone.ogg"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=0.5",
         "-ac", "1", "-c:a", "libopus", "-b:a", "24k", str(out)],
        check=True,
    )  # fmt: skip
    return out


@pytest.fixture
def ogg_render(tiny_ogg: Path, tmp_path: Path) -> Any:
    """A `render` callable (the Renderer's signature) that words the facts and copies the
    real OGG into place; it records what it was asked."""
    import shutil

    from notifyd.model import NoticeFacts, Rendered

    calls: list[tuple[NoticeFacts, datetime, str | None]] = []

    async def render(facts: NoticeFacts, now: datetime, audio_format: str | None) -> Rendered:
        calls.append((facts, now, audio_format))
        days = (facts.expiry_date - now.date()).days
        text = f"{facts.full_name}: permit {facts.permit_number} expires in {days} days"
        audio = None
        if audio_format == "ogg":
            audio = tmp_path / f"voice-{facts.notification_id}.ogg"
            shutil.copy(tiny_ogg, audio)
        fields = {"name": facts.full_name, "days_left": str(days)}
        return Rendered(text, fields, facts.language, audio, "test-voice")

    render.calls = calls  # type: ignore[attr-defined]
    return render


# --- notices with attempts, for receipt tests --------------------------------------------


def first_notice(engine: Engine, registry_id: str = "BLT-00001") -> int:
    """The person's soonest scheduled notice."""
    n, p, pe = schema.notifications, schema.permits, schema.people
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(n.c.id)
                .join(p, p.c.id == n.c.permit_id)
                .join(pe, pe.c.id == p.c.person_id)
                .where(pe.c.registry_id == registry_id, n.c.status == "scheduled")
                .order_by(n.c.due_at)
                .limit(1)
            ).scalar_one()
        )


def send(engine: Engine, nid: int, channel: str, provider_id: str, kind: str = "notice") -> int:
    """Record a send the provider accepted, as the dispatcher does (attempt, then "sent")."""
    aid = attemptstore.start_attempt(engine, nid, channel, FRIDAY_MORNING, kind=kind)
    status = "sent" if kind == "notice" else None
    attemptstore.finish_attempt(
        engine, aid, FRIDAY_MORNING, "sent", provider_id=provider_id, notice_status=status
    )
    return aid


def notice(engine: Engine, nid: int) -> dict[str, Any]:
    n = schema.notifications
    with engine.connect() as conn:
        row = conn.execute(select(n).where(n.c.id == nid)).mappings().one()
        return dict(row)


def attempt(engine: Engine, aid: int) -> dict[str, Any]:
    a = schema.attempts
    with engine.connect() as conn:
        return dict(conn.execute(select(a).where(a.c.id == aid)).mappings().one())


def everything(engine: Engine) -> dict[str, list[tuple]]:
    """Every table a receipt or reply may change, for before/after comparisons."""
    out = {}
    with engine.connect() as conn:
        for t in (schema.notifications, schema.attempts, schema.opt_outs, schema.conversations):
            out[t.name] = [tuple(r) for r in conn.execute(select(t).order_by(t.c.id))]
    return out
