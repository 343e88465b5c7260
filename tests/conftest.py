"""Shared fixtures: a real database on SQLite and PostgreSQL, configs and registry files."""

from __future__ import annotations

import csv
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert, select, text, update
from sqlalchemy.engine import make_url

from notifyd import config
from notifyd.config import CANONICAL_COLUMNS, Config
from notifyd.db import attempts as attemptstore
from notifyd.db import schema, store
from notifyd.planning.clock import Office

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


def free_port() -> int:
    """A loopback port free right now: tests never use the fixed defaults (8787, 8790), since
    the suite runs in several processes at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite store at tmp_path / "n.db", for what only SQLite does."""
    eng = store.open_store(f"sqlite:///{tmp_path / 'n.db'}")
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
        "email": "",
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


# --- voice notes (issue 3) ------------------------------------------------------------------


def probe(path: Path) -> dict[str, Any]:
    """ffprobe's view of an audio file: codec, channels, sample rate, duration in seconds."""
    import json
    import subprocess

    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries",
         "stream=codec_name,channels,sample_rate:format=duration,format_name",
         "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    data = json.loads(out)
    stream = data["streams"][0]
    return {
        "codec": stream["codec_name"],
        "channels": int(stream["channels"]),
        "sample_rate": int(stream["sample_rate"]),
        "duration": float(data["format"]["duration"]),
        "container": data["format"]["format_name"],
    }


def voice_config(tmp_path: Path, /, **voices: Any) -> Config:
    """A config for rendering: the Blitar office with its contact details, `[voices]` overrides."""
    return config.parse(
        {
            "state_dir": str(tmp_path / "state"),
            "offices": {
                "BLT": {
                    "name": "Kantor Imigrasi Blitar",
                    "timezone": "Asia/Jakarta",
                    "address": "Jl. Raya Blitar",
                    "phone": "+62 342 000000",
                    "website": "https://www.imigrasi.go.id",
                }  # fmt: skip
            },
            "voices": voices,
        }
    )


def sample_facts(language: str = "id", **overrides: Any) -> Any:
    """A notice's facts: a KITAS of Blitar expiring on 2026-12-18 (14 days after FRIDAY_MORNING)."""
    from datetime import date

    from notifyd.model import NoticeFacts

    values: dict[str, Any] = {
        "notification_id": 1, "stage": 14, "catch_up": False, "language": language,
        "full_name": "John Smith", "permit_number": "2C11AB0001-26", "permit_type": "KITAS",
        "expiry_date": date(2026, 12, 18), "office": "BLT",
    }  # fmt: skip
    values.update(overrides)
    return NoticeFacts(**values)


@pytest.fixture(scope="session")
def real_voices() -> dict[str, Any]:
    """The built-in voices, found through the entry points: espeak-ng, open-jtalk, edge-tts."""
    from notifyd import plugins

    return plugins.voices(plugins.make_manager())


# --- dispatch and daemon ----------------------------------------------------------------------

TESTS = Path(__file__).parent


def tone(path: Path, seconds: float, *codec: str) -> Path:
    """A real, short mono audio file made by ffmpeg from its sine source (the words of a voice
    note do not matter where this is used); `codec` are ffmpeg's output options."""
    import subprocess

    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=f=440:d={seconds}",
         "-ac", "1", *codec, str(path)],
        check=True,
    )  # fmt: skip
    return path


OPUS = ("-ar", "16000", "-c:a", "libopus", "-b:a", "24k")


@pytest.fixture(scope="session")
def tiny_audio(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """tiny_audio(fmt) → a real, short voice-note file in that format (ffmpeg's sine source),
    made once a session: what a renderer with its audio cached hands the dispatcher."""
    folder = tmp_path_factory.mktemp("audio")
    made: dict[str, Path] = {}
    codecs = {"ogg": ["-c:a", "libopus", "-b:a", "24k"], "mp3": ["-c:a", "libmp3lame"],
              "wav": ["-ar", "8000", "-c:a", "pcm_s16le"]}  # fmt: skip

    def make(fmt: str) -> Path:
        if fmt not in made:
            made[fmt] = tone(folder / f"note.{fmt}", 0.3, *codecs[fmt])
        return made[fmt]

    return make


@pytest.fixture
def fake_render(tiny_audio: Callable[[str], Path]) -> Any:
    """A stand-in for notifyd.voice.render.Renderer.render where the words do not matter: they hold
    the facts, the audio is a real tiny file in the format asked for."""
    from notifyd.model import NoticeFacts, Rendered

    async def render(facts: NoticeFacts, now: datetime, audio_format: str | None) -> Rendered:
        days = (facts.expiry_date - now.date()).days
        text = f"{facts.full_name}: permit {facts.permit_number} expires in {days} days."
        fields = {"name": facts.full_name, "permit": facts.permit_number, "days_left": str(days)}
        audio = tiny_audio(audio_format) if audio_format else None
        return Rendered(text, fields, facts.language, audio, "test-tone" if audio else None)

    return render


@pytest.fixture(scope="session")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PYTHONPATH on which a subprocess finds tests/testplugins through the real `notifyd`
    entry-point group: a *.dist-info folder whose entry_points.txt names the module."""
    folder = tmp_path_factory.mktemp("site")
    info = folder / "notifyd_testplugins-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: notifyd-testplugins\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text("[notifyd]\nrecording = testplugins.channels\n")
    return os.pathsep.join([str(folder), str(TESTS)])


# --- delivery records for the staff commands, metrics and retention tests -------------------


def notice_ids(engine: Engine, permit_number: str) -> dict[int, int]:
    """Stage → notification id of one permit's current plan (not staff's extra notices)."""
    from notifyd.db import schema

    n, p = schema.notifications, schema.permits
    with engine.connect() as conn:
        rows = conn.execute(
            select(n.c.stage, n.c.id)
            .join(p, p.c.id == n.c.permit_id)
            .where(p.c.permit_number == permit_number, n.c.extra == 0)
        )
        return {stage: nid for stage, nid in rows}


def add_attempt(
    db: Engine,
    notification_id: int,
    channel: str,
    outcome: str,
    at: datetime,
    /,
    status: str | None = None,
    **columns: Any,
) -> int:
    """An attempt row as the dispatcher writes it; `status` also moves its notice there."""
    from notifyd.db import schema

    with db.begin() as conn:
        aid = conn.execute(
            insert(schema.attempts)
            .values(
                notification_id=notification_id,
                channel=channel,
                outcome=outcome,
                started_at=at,
                finished_at=at,
                **columns,
            )  # fmt: skip
            .returning(schema.attempts.c.id)
        ).scalar_one()
        n = schema.notifications
        values: dict[str, Any] = {"attempt_count": n.c.attempt_count + 1}
        if status:
            values["status"] = status
        conn.execute(update(n).where(n.c.id == notification_id).values(**values))
    return int(aid)


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
    return tone(path, seconds, *OPUS)


# --- receipts, web app and follow-ups (issue 5) ---------------------------------------------


@pytest.fixture(scope="session")
def tiny_ogg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real half-second OGG/Opus voice note, made by ffmpeg."""
    return tone(
        tmp_path_factory.mktemp("audio") / "tone.ogg", 0.5, "-c:a", "libopus", "-b:a", "24k"
    )


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


def toml(data: dict[str, Any], prefix: str = "") -> str:
    """Just enough TOML for the tests' configs: scalars, lists of scalars, nested tables."""
    plain = [
        f"{k} = {json.dumps(v, ensure_ascii=False)}"
        for k, v in data.items()
        if not isinstance(v, dict)
    ]
    out = ([f"[{prefix}]"] if prefix and plain else []) + plain
    for k, v in data.items():
        if isinstance(v, dict):
            out.append(toml(v, f"{prefix}.{k}" if prefix else k))
    return "\n".join(out) + "\n"


def write_toml(data: dict[str, Any], path: Path) -> Path:
    path.write_text(toml(data), encoding="utf-8")
    return path


def wait_for(check: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    """Polls until check() is true. The generous default costs a passing test nothing; it
    keeps a busy machine (the suite runs in two processes) from failing a slow start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")


# --- the staff console (issue 10) -----------------------------------------------------------


def add_person(db: Engine, registry_id: str, name: str, /, **columns: Any) -> int:
    """A person row as the sync stores it (E.164 phones, upper-cased passport); `permit`
    (a permit number) adds a permit of theirs expiring on 2026-12-31."""
    from datetime import date

    permit = columns.pop("permit", None)
    values: dict[str, Any] = {
        "registry_id": registry_id, "full_name": name, "nationality": "ID", "language": "id",
        "passport_number": "", "channels": "", "created_at": FRIDAY_MORNING,
        "updated_at": FRIDAY_MORNING, **columns,
    }  # fmt: skip
    with db.begin() as conn:
        pid = conn.execute(
            insert(schema.people).values(**values).returning(schema.people.c.id)
        ).scalar_one()
        if permit:
            conn.execute(
                insert(schema.permits).values(
                    permit_number=permit,
                    person_id=pid,
                    office="BLT",
                    expiry_date=date(2026, 12, 31),
                    row_hash="x",
                    active=True,
                    created_at=FRIDAY_MORNING,
                    updated_at=FRIDAY_MORNING,
                )  # fmt: skip
            )
    return int(pid)


# --- spoken samples for the voices ----------------------------------------------------------

#: A representative spoken sentence per language (the shape of a 14-day notice, words for the
#: ear), with `{name}` where the registry's name goes. Test data for the engines, written by
#: developers: the templates' own words are reviewed in config/templates/.
SPOKEN: dict[str, str] = {
    "id": "Bapak atau Ibu {name}, izin tinggal Anda berakhir pada 18 Desember 2026, 14 hari "
    "lagi. Mohon minta penjamin Anda mengajukan perpanjangan. Kantor Imigrasi Blitar.",
    "en": "Dear {name}, your stay permit expires on 18 December 2026, in 14 days. Please ask "
    "your sponsor to apply for an extension. Blitar Immigration Office.",
    "zh": "{name}您好，您的居留许可将于2026年12月18日到期，还剩14天。请您的担保人尽快申请延期。"
    "布利塔尔移民局。",
    "zh-TW": "{name}您好，您的居留許可將於2026年12月18日到期，還剩14天。請您的擔保人盡快申請延期。"
    "布利塔爾移民局。",
    "ja": "{name}様、滞在許可の期限は2026年12月18日で、あと14日です。保証人を通じて延長を申請して"
    "ください。ブリタル入国管理事務所です。",
    "ko": "{name}님, 체류 허가가 2026년 12월 18일에 만료됩니다. 14일 남았습니다. 보증인을 통해 "
    "연장을 신청해 주십시오. 블리타르 출입국사무소입니다.",
    "ar": "السيد {name}، تنتهي صلاحية تصريح إقامتك في 18 ديسمبر 2026، بعد 14 يوما. يرجى أن "
    "يتقدم كفيلك بطلب التمديد. مكتب الهجرة في بليتار.",
    "ru": "{name}, срок вашего разрешения на пребывание истекает 18 декабря 2026 года, через 14 "
    "дней. Попросите поручителя подать заявление на продление. Иммиграционная служба Блитара.",
    "fr": "Bonjour {name}, votre permis de séjour expire le 18 décembre 2026, dans 14 jours. "
    "Demandez à votre garant de solliciter une prolongation. Office de l'immigration de Blitar.",
    "de": "Guten Tag {name}, Ihre Aufenthaltserlaubnis läuft am 18. Dezember 2026 ab, in 14 "
    "Tagen. Bitten Sie Ihren Bürgen, eine Verlängerung zu beantragen. Einwanderungsamt Blitar.",
    "hi": "{name} जी, आपका निवास परमिट 18 दिसंबर 2026 को समाप्त हो रहा है, 14 दिन बाकी हैं। कृपया "
    "अपने प्रायोजक से विस्तार के लिए आवेदन करवाएँ। ब्लितार आप्रवासन कार्यालय।",
    "ms": "Tuan atau Puan {name}, permit tinggal anda tamat pada 18 Disember 2026, iaitu 14 hari "
    "lagi. Sila minta penaja anda memohon lanjutan. Pejabat Imigresen Blitar.",
    "fil": "Magandang araw {name}, ang inyong stay permit ay mag-e-expire sa 18 Disyembre 2026, "
    "14 na araw na lang. Pakisabihan ang inyong sponsor na mag-apply ng extension.",
    "nl": "Beste {name}, uw verblijfsvergunning verloopt op 18 december 2026, over 14 dagen. "
    "Vraag uw sponsor om verlenging aan te vragen. Immigratiekantoor Blitar.",
    "it": "Gentile {name}, il suo permesso di soggiorno scade il 18 dicembre 2026, tra 14 giorni. "
    "Chieda al suo garante di presentare domanda di proroga. Ufficio immigrazione di Blitar.",
    "vi": "Kính gửi {name}, giấy phép cư trú của bạn hết hạn vào ngày 18 tháng 12 năm 2026, còn "
    "14 ngày. Vui lòng nhờ người bảo lãnh nộp đơn gia hạn. Văn phòng Xuất nhập cảnh Blitar.",
    "th": "เรียน คุณ{name} ใบอนุญาตพำนักของคุณจะหมดอายุวันที่ 18 ธันวาคม 2026 อีก 14 วัน "
    "กรุณาให้ผู้ค้ำประกันยื่นขอต่ออายุ สำนักงานตรวจคนเข้าเมืองบลิตาร์",
    "pt": "Caro {name}, a sua autorização de residência expira a 18 de dezembro de 2026, dentro "
    "de 14 dias. Peça ao seu patrocinador que solicite a prorrogação. Imigração de Blitar.",
    "es": "Estimado {name}, su permiso de estancia vence el 18 de diciembre de 2026, dentro de "
    "14 días. Pida a su patrocinador que solicite la prórroga. Oficina de Inmigración de Blitar.",
    "tr": "Sayın {name}, oturma izniniz 18 Aralık 2026 tarihinde, 14 gün sonra sona eriyor. "
    "Lütfen sponsorunuzdan uzatma başvurusu yapmasını isteyin. Blitar Göçmenlik Ofisi.",
    "uk": "{name}, термін вашого дозволу на перебування спливає 18 грудня 2026 року, через 14 "
    "днів. Попросіть поручителя подати заяву на продовження. Імміграційна служба Блітара.",
}
#: Per language: a name as a passport writes it (Latin), and one in another script (the
#: person's own, or one the language's voice cannot read, to be transliterated).
NAMES: dict[str, tuple[str, str]] = {
    "id": ("Budi Santoso", "王小明"), "en": ("John Smith", "王小明"),
    "zh": ("WANG XIAOMING", "王小明"), "zh-TW": ("CHEN TAIWEN", "陳大文"),
    "ja": ("TANAKA HANAKO", "山田太郎"), "ko": ("KIM SU A", "김수아"),
    "ar": ("YUSUF AL OTAIBI", "يوسف العتيبي"), "ru": ("ALEKSEY SMIRNOV", "Алексей Смирнов"),
    "fr": ("Chloé Martin", "Алексей Смирнов"), "de": ("Jürgen Müller", "김수아"),
    "hi": ("PRIYA SHARMA", "प्रिया शर्मा"), "ms": ("Siti Aminah", "陳大文"),
    "fil": ("Maria Santos", "สมชาย ใจดี"), "nl": ("Jan de Vries", "يوسف العتيبي"),
    "it": ("Giulia Rossi", "สมชาย ใจดี"), "vi": ("Nguyễn Văn An", "김수아"),
    "th": ("SOMCHAI JAIDEE", "สมชาย ใจดี"), "pt": ("João Silva", "Олена Шевченко"),
    "es": ("José García", "山田太郎"), "tr": ("Ayşe Yılmaz", "يوسف العتيبي"),
    "uk": ("OLENA SHEVCHENKO", "Олена Шевченко"),
}  # fmt: skip
#: The offline engine and voice that speak each language by default; None: no offline voice
#: reads it (Thai, Filipino: docs/voices.md says what is spoken instead).
OFFLINE_VOICE: dict[str, str | None] = {
    "id": "espeak-ng:id", "en": "espeak-ng:en-gb", "zh": "espeak-ng:cmn-latn-pinyin",
    "zh-TW": "espeak-ng:cmn-latn-pinyin", "ja": "open-jtalk:mei-normal", "ko": "espeak-ng:ko",
    "ar": "espeak-ng:ar", "ru": "espeak-ng:ru", "fr": "espeak-ng:fr-fr", "de": "espeak-ng:de",
    "hi": "espeak-ng:hi", "ms": "espeak-ng:ms", "fil": None, "nl": "espeak-ng:nl",
    "it": "espeak-ng:it", "vi": "espeak-ng:vi", "th": None, "pt": "espeak-ng:pt",
    "es": "espeak-ng:es", "tr": "espeak-ng:tr", "uk": "espeak-ng:uk",
}  # fmt: skip


def loudness(path: Path) -> tuple[float, float]:
    """(integrated loudness in LUFS, true peak in dBTP) of an audio file, measured by the ffmpeg
    command's EBU R128 filter: independent of notifyd's own measurement."""
    import math
    import re
    import subprocess

    err = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128=peak=true",
         "-f", "null", "-"],
        check=True, capture_output=True, text=True,
    ).stderr  # fmt: skip
    summary = err[err.rindex("Summary:") :]
    lufs = float(re.search(r"I:\s+(-?[\d.]+|-inf) LUFS", summary).group(1))  # type: ignore[union-attr]
    peak = re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1)  # type: ignore[union-attr]
    return lufs, -math.inf if peak == "-inf" else float(peak)


# --- e-mail (issue 13) ----------------------------------------------------------------------


class SmtpServer:
    """A real SMTP server (aiosmtpd) on a free loopback port, in a thread. It keeps every
    message it accepts and refuses, with a 550, every recipient whose address has "refused"."""

    def __init__(self, **controller: Any) -> None:
        import socket

        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        self.refused: list[str] = []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **controller)

    async def handle_RCPT(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if "refused" in address:
            self.refused.append(address)
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def stop(self) -> None:
        """Stop the server thread. aiosmtpd leaves the server side of a finished session (the
        plain transport under STARTTLS) to the garbage collector: collect it here, its warning
        silenced, so that it is not reported against whichever test runs next."""
        import gc
        import warnings

        self.controller.stop()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        import email
        from email import policy

        mail = email.message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), mail))
        return "250 2.0.0 queued"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.controller.start()
    yield server
    server.stop()
