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
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from notifyd import config, store
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


# --- channels and the provider sandbox (issue 5) ----------------------------------------------


class Receiver:
    """A stand-in for notifyd's web app: `/hooks/<name>` hands each request, raw, to the
    `handle_webhook` registered under that name and answers what it returns."""

    def __init__(self) -> None:
        from aiohttp import web

        from notifyd.sandbox.app import Background
        from notifyd.sandbox.rules import Settings

        self.handlers: dict[str, Any] = {}
        self.seen: list[tuple[str, Any, Any]] = []  # (name, WebhookRequest, WebhookResult)
        self.audio: dict[str, Path] = {}  # name → file served at /audio/<name>
        app = web.Application()
        app.router.add_route("*", "/hooks/{name}", self._hook)
        app.router.add_get("/audio/{name}", self._audio)
        self.server = Background(Settings(port=0), app)
        self._web = web

    async def _hook(self, request: Any) -> Any:
        from notifyd.hookspecs import WebhookRequest, WebhookResult

        name = request.match_info["name"]
        hook = WebhookRequest(
            method=request.method,
            url=str(request.url),
            headers={k.lower(): v for k, v in request.headers.items()},
            query=dict(request.query),
            body=await request.read(),
        )
        handler = self.handlers.get(name)
        result = handler(hook) if handler else WebhookResult(status=404, body="no such hook")
        self.seen.append((name, hook, result))
        return self._web.Response(
            status=result.status, text=result.body, content_type=result.content_type
        )

    async def _audio(self, request: Any) -> Any:
        path = self.audio.get(request.match_info["name"])
        if path is None:
            return self._web.Response(status=404)
        kind = {".wav": "audio/x-wav", ".mp3": "audio/mpeg"}.get(path.suffix, "audio/ogg")
        return self._web.Response(body=path.read_bytes(), content_type=kind)

    @property
    def url(self) -> str:
        return self.server.url + "/hooks"

    def results(self, name: str) -> list[Any]:
        return [result for hook_name, _, result in self.seen if hook_name == name]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    rec.server.start()
    yield rec
    rec.server.stop()


@pytest.fixture
def sandbox(receiver: Receiver) -> Iterator[Any]:
    """The provider sandbox on a free loopback port; its callbacks go to `receiver`."""
    from notifyd.sandbox.app import Background
    from notifyd.sandbox.rules import Settings

    server = Background(Settings(port=0, callback_url=receiver.url, callback_delay=0.02))
    server.start()
    yield server
    server.stop()


def sandbox_call(server: Any, method: str, path: str, data: Any = None) -> Any:
    """A control request to the sandbox over HTTP (GET /_sandbox/requests, POST faults, …)."""
    import json
    import urllib.request

    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(
        server.url + path, data=body, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
    return json.loads(raw) if raw else None


def channel(plugin: str, name: str, options: dict[str, Any], tmp_path: Path) -> Any:
    """A channel made through the real entry-point group, as the daemon makes it."""
    from notifyd import plugins

    cfg = config.parse({"state_dir": str(tmp_path / "state")})
    return plugins.channel_plugins(plugins.make_manager())[plugin].create(name, options, cfg)


def ogg_voice_note(path: Path, seconds: float = 2.0) -> Path:
    """A real OGG/Opus file made by ffmpeg (a tone; the words do not matter here)."""
    import subprocess

    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:duration={seconds}",
            "-ac",
            "1",
            "-ar",
            "16000",
            "-c:a",
            "libopus",
            "-b:a",
            "24k",
            str(path),
        ],
        check=True,
    )
    return path
