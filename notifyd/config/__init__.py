"""TOML → frozen config. Every error names the key and the fix; secrets are references."""

from __future__ import annotations

import os
import tomllib
import types
import typing
from dataclasses import MISSING, dataclass, field, fields, replace
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from notifyd.errors import ConfigError

DEFAULT_PATH = Path("/etc/notifyd/notifyd.toml")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CANONICAL_COLUMNS = (
    "registry_id", "full_name", "nationality", "passport_number", "permit_type",
    "permit_number", "expiry_date", "phone", "whatsapp", "language", "channels",
    "opted_out", "office",
)  # fmt: skip
REQUIRED_COLUMNS = frozenset(
    {"registry_id", "full_name", "nationality", "permit_number", "expiry_date"}
)
CHANNEL_KINDS = ("whatsapp", "sms", "call", "other")
LANGUAGES = ("id", "en", "zh", "ja", "ko", "ar", "ru", "fr", "de", "hi", "ms")


@dataclass(frozen=True)
class Window:
    """A daily send window in the office's local time; `end` None means midnight (24:00)."""

    start: time
    end: time | None

    def __str__(self) -> str:
        end = "24:00" if self.end is None else self.end.strftime("%H:%M")
        return f"{self.start.strftime('%H:%M')}-{end}"


@dataclass(frozen=True)
class OfficeConfig:
    name: str = ""
    timezone: str = "Asia/Jakarta"
    window: str = "09:00-17:00"
    weekend: list[str] = field(default_factory=lambda: ["sat", "sun"])
    holidays_country: str = "ID"
    holidays_subdiv: str = ""
    closed: list[str] = field(default_factory=list)
    address: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = ""
    password: str = ""


@dataclass(frozen=True)
class RegistryConfig:
    source: str = "csv"
    path: str = ""
    delimiter: str = ","
    encoding: str = "utf-8-sig"
    url: str = ""
    query: str = ""
    date_formats: list[str] = field(default_factory=lambda: ["%d/%m/%Y", "%d-%m-%Y"])
    default_region: str = "ID"
    default_office: str = ""
    max_drop_share: float = 0.2
    schedule: str = "0 6 * * *"
    columns: dict[str, str] = field(default_factory=dict)
    nationality_aliases: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannerConfig:
    stages: list[int] = field(default_factory=lambda: [14, 7, 0])
    min_gap_days: int = 2
    closed_day: str = "previous"


@dataclass(frozen=True)
class LanguagesConfig:
    available: list[str] = field(default_factory=lambda: list(LANGUAGES))
    default: str = "en"
    by_nationality: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelConfig:
    plugin: str = ""
    kind: str = "other"
    options: dict[str, Any] = field(default_factory=dict)
    rate_per_second: float = 0.0  # token bucket refill; 0 means no limit
    burst: int = 1  # token bucket size
    concurrency: int = 4  # sends in flight at once on this channel


@dataclass(frozen=True)
class DispatchConfig:
    """The dispatcher's clock, batches, leases and retry policy (see notifyd.delivery.dispatch)."""

    tick_seconds: float = 5.0
    batch_size: int = 200
    lease_seconds: float = 300.0
    send_timeout: float = 30.0
    concurrency: int = 32
    max_attempts: int = 5  # per channel, then the next channel
    backoff_base: float = 30.0
    backoff_cap: float = 3600.0
    jitter: bool = True  # full jitter; false only to make retry times predictable in tests
    paused_recheck_seconds: float = 60.0
    shutdown_grace: float = 20.0


@dataclass(frozen=True)
class PilotConfig:
    enabled: bool = False
    allowlist: list[str] = field(default_factory=list)  # E.164 numbers


#: edge-tts voices per language (Microsoft's names); any of them can be chosen in config.
DEFAULT_EDGE_VOICES = {
    "id": "id-ID-GadisNeural", "en": "en-US-AvaNeural", "zh": "zh-CN-XiaoxiaoNeural",
    "ja": "ja-JP-NanamiNeural", "ko": "ko-KR-SunHiNeural", "ar": "ar-SA-ZariyahNeural",
    "ru": "ru-RU-SvetlanaNeural", "fr": "fr-FR-DeniseNeural", "de": "de-DE-KatjaNeural",
    "hi": "hi-IN-SwaraNeural", "ms": "ms-MY-YasminNeural",
}  # fmt: skip
AUDIO_FORMATS = ("ogg", "mp3", "wav")


@dataclass(frozen=True)
class VoicesConfig:
    """How notices are worded and spoken; see the [voices] section of the example config."""

    engines: list[str] = field(default_factory=lambda: ["edge-tts", "espeak-ng"])
    engines_by_language: dict[str, list[str]] = field(default_factory=dict)
    #: engine name → language → voice name; unset languages use the engine's own default.
    names: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"edge-tts": dict(DEFAULT_EDGE_VOICES)}
    )
    engine_timeout: float = 5.0
    bilingual: bool = False
    templates_dir: str = ""
    sms_max_segments: int = 10
    max_seconds: float = 90.0
    audio_retention_days: int = 30
    opus_bitrate_kbps: int = 24
    opus_compression_level: int = 0


@dataclass(frozen=True)
class RetentionConfig:
    #: Days after a permit's expiry (or its leaving the registry) before its holder's name,
    #: numbers and audio are purged.
    days: int = 90
    #: When the daemon purges (cron, in the first office's time zone): nightly by default.
    schedule: str = "30 2 * * *"
    #: Folders (relative to state_dir) of cached audio: files unused for `days` are deleted.
    audio_dirs: list[str] = field(default_factory=lambda: ["audio"])


@dataclass(frozen=True)
class MetricsConfig:
    #: Prometheus metrics port; 0 turns them off.
    port: int = 0
    #: Loopback only: the metrics are not meant for the network.
    address: str = "127.0.0.1"


@dataclass(frozen=True)
class HttpConfig:
    """notifyd's web app: provider webhooks, audio URLs for calls, health."""

    listen: str = "127.0.0.1:8787"
    public_url: str = ""
    trust_proxy: bool = False
    url_secret: str = ""
    audio_ttl_seconds: int = 3600


@dataclass(frozen=True)
class Config:
    state_dir: str = ""
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    languages: LanguagesConfig = field(default_factory=LanguagesConfig)
    offices: dict[str, OfficeConfig] = field(default_factory=dict)
    channels: dict[str, ChannelConfig] = field(default_factory=dict)
    channel_order: list[str] = field(default_factory=list)
    disabled_plugins: list[str] = field(default_factory=list)
    voices: VoicesConfig = field(default_factory=VoicesConfig)
    dispatch: DispatchConfig = field(default_factory=DispatchConfig)
    pilot: PilotConfig = field(default_factory=PilotConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    #: Where the file was read from; relative paths in it are read from its folder.
    source_path: str = ""

    def office(self, code: str) -> OfficeConfig:
        return self.offices[code]

    def resolve_path(self, value: str) -> Path:
        path = Path(os.path.expanduser(value))
        if path.is_absolute() or not self.source_path:
            return path
        return Path(self.source_path).parent / path


def default_state_dir() -> Path:
    """systemd's StateDirectory= when run as a service, else the user's XDG state folder."""
    if os.environ.get("STATE_DIRECTORY"):
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    xdg = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return Path(xdg) / "notifyd"


def config_path(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("NOTIFYD_CONFIG") or DEFAULT_PATH)


def load(path: str | Path | None = None) -> Config:
    """Read and validate a config file; with no file at all, the embedded defaults."""
    p = config_path(str(path) if path else None)
    if not p.exists():
        raise ConfigError(
            str(p), "no such config file",
            "pass -c FILE, set NOTIFYD_CONFIG, or copy config/notifyd.example.toml there",
        )  # fmt: skip
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(p), f"not valid TOML ({exc})", "correct the syntax there") from exc
    return parse(data, source_path=str(p.resolve()))


def parse(data: dict[str, Any], source_path: str = "") -> Config:
    """Validate a config dictionary (as TOML gives it) into a frozen Config."""
    cfg = _build(Config, data, "")
    cfg = replace(cfg, source_path=source_path)
    if not cfg.offices:
        cfg = replace(cfg, offices={"MAIN": OfficeConfig(name="Immigration office")})
    _check(cfg)
    state = cfg.resolve_path(cfg.state_dir) if cfg.state_dir else default_state_dir()
    return replace(cfg, state_dir=str(state))


# --- generic typed walk ---------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}
    if tp in names:
        return names[tp]
    origin = typing.get_origin(tp)
    if origin is list:
        return f"a list of {_type_name(typing.get_args(tp)[0]).removeprefix('a ')}s"
    if origin is dict:
        return "a table"
    return "a table"


def _build(cls: Any, data: Any, path: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(path or "(top level)", "must be a table", f"write it as [{path}]")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls) if f.name != "source_path"}
    unknown = sorted(set(data) - set(known))
    if unknown:
        key = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ConfigError(
            key, "unknown key",
            f"remove it or check its spelling; keys allowed here: {', '.join(sorted(known))}",
        )  # fmt: skip
    values = {}
    for name, value in data.items():
        key = f"{path}.{name}" if path else name
        values[name] = _value(hints[name], value, key)
    for name, f in known.items():
        if name not in values and f.default is MISSING and f.default_factory is MISSING:
            raise ConfigError(f"{path}.{name}", "missing", "add it")
    return cls(**values)


def _value(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(
                key, f"must be {_type_name(tp)}", f"write it as [ … ], e.g. {key} = []"
            )
        return [_value(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(key, "must be a table", f"write it as [{key}] with key = value lines")
        return {str(k): _value(item, v, f"{key}.{k}") for k, v in value.items()}
    if isinstance(tp, type) and hasattr(tp, "__dataclass_fields__"):
        return _build(tp, value, key)
    if isinstance(tp, types.UnionType):
        raise TypeError(tp)  # not used in config dataclasses
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ConfigError(
            key, f"must be {_type_name(tp)}, not {value!r}", f"give {key} {_type_name(tp)}"
        )
    return value


# --- rules beyond types ---------------------------------------------------------------------


def parse_window(text: str, key: str) -> Window:
    """'09:00-17:00' → Window; 24:00 is allowed as the end, a window must not wrap midnight."""
    fix = "write HH:MM-HH:MM with the start before the end, e.g. 09:00-17:00 (all day: 00:00-24:00)"
    try:
        start_s, end_s = (part.strip() for part in text.split("-"))
        start = time.fromisoformat(start_s)
        end = None if end_s == "24:00" else time.fromisoformat(end_s)
    except ValueError as exc:
        raise ConfigError(key, f"{text!r} is not a window", fix) from exc
    if len(start_s) != 5 or (end is not None and (len(end_s) != 5 or end <= start)):
        raise ConfigError(key, f"{text!r} does not run forward within one day", fix)
    return Window(start, end)


_ZONES: set[str] = set()


def check_cron(text: str, key: str) -> None:
    """A crontab line (minute hour day month weekday) the daemon's scheduler will accept."""
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(text)
    except ValueError as exc:
        raise ConfigError(
            key, f"{text!r} is not a crontab schedule ({exc})",
            'write five fields: minute hour day month weekday, e.g. "0 6 * * *"',
        ) from exc  # fmt: skip


def check_timezone(name: str, key: str) -> None:
    if not _ZONES:
        _ZONES.update(available_timezones())
    try:
        if name not in _ZONES:
            raise ZoneInfoNotFoundError(name)
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            key, f"unknown time zone {name!r}",
            "use an IANA name: Asia/Jakarta (WIB), Asia/Makassar (WITA) or Asia/Jayapura (WIT)",
        ) from exc  # fmt: skip


def _check(cfg: Config) -> None:
    p = cfg.planner
    if not p.stages:
        raise ConfigError("planner.stages", "is empty", "list days before expiry, e.g. [14, 7, 0]")
    if len(set(p.stages)) != len(p.stages):
        raise ConfigError(
            "planner.stages", f"{p.stages} repeats a stage", "list each day once, e.g. [14, 7, 0]"
        )
    if p.min_gap_days < 0:
        raise ConfigError("planner.min_gap_days", "is negative", "use 0 or more days, e.g. 2")
    if p.closed_day not in ("previous", "next"):
        raise ConfigError(
            "planner.closed_day", f"{p.closed_day!r} is not a policy", 'use "previous" or "next"'
        )
    for code, office in cfg.offices.items():
        key = f"offices.{code}"
        check_timezone(office.timezone, f"{key}.timezone")
        parse_window(office.window, f"{key}.window")
        bad = [d for d in office.weekend if d not in WEEKDAYS]
        if bad or len(set(office.weekend)) >= 7:
            raise ConfigError(
                f"{key}.weekend", f"{office.weekend} is not a set of closed weekdays",
                f"use some of {', '.join(WEEKDAYS)} (at least one day must stay open)",
            )  # fmt: skip
        for i, d in enumerate(office.closed):
            try:
                date.fromisoformat(d)
            except ValueError as exc:
                raise ConfigError(
                    f"{key}.closed[{i}]", f"{d!r} is not a date", "write dates as YYYY-MM-DD"
                ) from exc
        if office.holidays_country:
            import holidays

            if office.holidays_country not in holidays.list_supported_countries():
                raise ConfigError(
                    f"{key}.holidays_country", f"{office.holidays_country!r} is not supported",
                    'use an ISO country code the holidays package knows, e.g. "ID", or "" for none',
                )  # fmt: skip
    r = cfg.registry
    if not 0 <= r.max_drop_share <= 1:
        raise ConfigError("registry.max_drop_share", "must be between 0 and 1", "e.g. 0.2 for 20 %")
    for canon in r.columns:
        if canon not in CANONICAL_COLUMNS:
            raise ConfigError(
                f"registry.columns.{canon}", "is not a registry field",
                f"rename one of: {', '.join(CANONICAL_COLUMNS)}",
            )  # fmt: skip
    if len(r.delimiter) != 1:
        raise ConfigError("registry.delimiter", f"{r.delimiter!r} is not one character", 'e.g. ";"')
    for i, fmt in enumerate(r.date_formats):
        if "%" not in fmt:
            raise ConfigError(
                f"registry.date_formats[{i}]", f"{fmt!r} has no % field", 'e.g. "%d/%m/%Y"'
            )
    if r.default_office and r.default_office not in cfg.offices:
        raise ConfigError(
            "registry.default_office", f"{r.default_office!r} is not an office",
            f"use one of: {', '.join(cfg.offices)}",
        )  # fmt: skip
    _check_languages(cfg.languages)
    _check_voices(cfg.voices, cfg.languages)
    for name, ch in cfg.channels.items():
        if ch.kind not in CHANNEL_KINDS:
            raise ConfigError(
                f"channels.{name}.kind", f"{ch.kind!r} is not a kind", f"use one of {CHANNEL_KINDS}"
            )
        if not ch.plugin:
            raise ConfigError(
                f"channels.{name}.plugin", "missing", 'name a channel plugin, e.g. "spool"'
            )
    for i, name in enumerate(cfg.channel_order):
        if name not in cfg.channels:
            raise ConfigError(
                f"channel_order[{i}]", f"{name!r} is not a configured channel",
                f"add [channels.{name}] or use one of: {', '.join(cfg.channels) or '(none yet)'}",
            )  # fmt: skip
    _check_dispatch(cfg)
    for key, value in (("registry.schedule", cfg.registry.schedule),
                       ("retention.schedule", cfg.retention.schedule)):  # fmt: skip
        check_cron(value, key)
    _check_operations(cfg)
    _check_http(cfg.http)
    if cfg.database.password and not is_secret_ref(cfg.database.password):
        raise ConfigError("database.password", "is written in clear", SECRET_FIX)
    if cfg.database.url and not is_secret_ref(cfg.database.url):
        _plain_url(cfg.database.url, "database.url")


def _check_dispatch(cfg: Config) -> None:
    d = cfg.dispatch
    positive = ("tick_seconds", "lease_seconds", "send_timeout", "backoff_base", "backoff_cap")
    for key in positive:
        if getattr(d, key) <= 0:
            raise ConfigError(f"dispatch.{key}", "must be more than 0", "give a number of seconds")
    for key in ("batch_size", "concurrency", "max_attempts"):
        if getattr(d, key) < 1:
            raise ConfigError(f"dispatch.{key}", "must be at least 1", "e.g. the default")
    if d.paused_recheck_seconds <= 0 or d.shutdown_grace < 0:
        raise ConfigError(
            "dispatch.paused_recheck_seconds" if d.paused_recheck_seconds <= 0
            else "dispatch.shutdown_grace", "is out of range", "give a positive number of seconds",
        )  # fmt: skip
    if d.backoff_cap < d.backoff_base:
        raise ConfigError("dispatch.backoff_cap", "is below backoff_base", "raise it")
    if d.lease_seconds < 2 * d.send_timeout:
        raise ConfigError(
            "dispatch.lease_seconds", f"{d.lease_seconds} s is under twice send_timeout",
            "make the lease at least twice dispatch.send_timeout, so a live send keeps its lease",
        )  # fmt: skip
    for name, ch in cfg.channels.items():
        if ch.rate_per_second < 0:
            raise ConfigError(f"channels.{name}.rate_per_second", "is negative", "0 means no limit")
        if ch.burst < 1 or ch.concurrency < 1:
            key = "burst" if ch.burst < 1 else "concurrency"
            raise ConfigError(f"channels.{name}.{key}", "must be at least 1", "e.g. 1")
    for i, number in enumerate(cfg.pilot.allowlist):
        if not (number.startswith("+") and number[1:].isdigit() and 8 <= len(number) <= 16):
            raise ConfigError(
                f"pilot.allowlist[{i}]", f"{number!r} is not an E.164 number",
                'write it as "+6281234567890"',
            )  # fmt: skip


def _plain_url(value: str, key: str) -> Any:
    """A URL written in the file: it must parse and must not carry a password in clear."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except ArgumentError as exc:
        raise ConfigError(
            key, "is not a database URL",
            'write it as dialect+driver://user@host/database, e.g. "postgresql+psycopg://…"',
        ) from exc  # fmt: skip
    if url.password:
        raise ConfigError(key, "holds a password in clear", SECRET_FIX + " in database.password")
    return url


def _check_operations(cfg: Config) -> None:
    """Retention and metrics: a purge that never waits, or metrics open to the network, are
    mistakes worth stopping at start."""
    import ipaddress

    if cfg.retention.days < 1:
        raise ConfigError(
            "retention.days", f"{cfg.retention.days} is too short",
            "give the days to keep personal data after a permit ends, e.g. 90",
        )  # fmt: skip
    for i, folder in enumerate(cfg.retention.audio_dirs):
        if not folder or Path(folder).is_absolute() or ".." in Path(folder).parts:
            raise ConfigError(
                f"retention.audio_dirs[{i}]", f"{folder!r} is not a folder inside state_dir",
                'give a relative path such as "audio"',
            )  # fmt: skip
    m = cfg.metrics
    if not 0 <= m.port <= 65535:
        raise ConfigError("metrics.port", f"{m.port} is not a port", "use 1-65535, or 0 for off")
    try:
        loopback = m.address == "localhost" or ipaddress.ip_address(m.address).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            "metrics.address", f"{m.address!r} is not a loopback address",
            'use "127.0.0.1" or "::1"; put a reverse proxy in front to reach it from elsewhere',
        )  # fmt: skip


def listen_address(value: str, key: str = "http.listen") -> tuple[str, int]:
    """ "host:port" (an IPv6 host in brackets) → (host, port)."""
    host, sep, port = value.rpartition(":")
    fix = 'write host:port, e.g. "127.0.0.1:8787" or "[::1]:8787"'
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(key, f"{value!r} is not host:port", fix)
    return host.strip("[]"), int(port)


def _check_http(http: HttpConfig) -> None:
    from urllib.parse import urlsplit

    listen_address(http.listen)
    if http.public_url:
        parts = urlsplit(http.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ConfigError(
                "http.public_url", f"{http.public_url!r} is not a base URL",
                'give the URL providers call, without a query, e.g. "https://notifyd.example.org"',
            )  # fmt: skip
    if http.url_secret and not is_secret_ref(http.url_secret):
        raise ConfigError("http.url_secret", "is written in clear", SECRET_FIX)
    if http.audio_ttl_seconds <= 0:
        raise ConfigError(
            "http.audio_ttl_seconds", "must be positive", "e.g. 3600 (an hour) for phone calls"
        )


def _check_languages(lang: LanguagesConfig) -> None:
    from babel import Locale, UnknownLocaleError

    tags = [(f"languages.available[{i}]", tag) for i, tag in enumerate(lang.available)]
    tags.append(("languages.default", lang.default))
    tags += [(f"languages.by_nationality.{c}", tag) for c, tag in lang.by_nationality.items()]
    for key, tag in tags:
        try:
            Locale.parse(tag, sep="-")
        except (ValueError, UnknownLocaleError) as exc:
            raise ConfigError(
                key, f"{tag!r} is not a BCP-47 language tag",
                'use a tag such as "en", "zh-Hans" or "pt-BR"',
            ) from exc  # fmt: skip
    if lang.default not in lang.available:
        raise ConfigError(
            "languages.default", f"{lang.default!r} is not available",
            "add it to languages.available",
        )  # fmt: skip
    for country, tag in lang.by_nationality.items():
        if len(country) != 2 or not country.isupper():
            raise ConfigError(
                f"languages.by_nationality.{country}", "is not an ISO alpha-2 country code",
                'e.g. CN = "zh"',
            )  # fmt: skip
        if tag not in lang.available:
            raise ConfigError(
                f"languages.by_nationality.{country}", f"{tag!r} is not available",
                "add it to languages.available or map this country to an available language",
            )  # fmt: skip


def _check_voices(v: VoicesConfig, lang: LanguagesConfig) -> None:
    """Shapes and ranges; which engines exist and speak what is checked by notifyd.voice.render."""
    import re

    if not v.engines:
        raise ConfigError(
            "voices.engines", "is empty", 'list engines, e.g. ["edge-tts", "espeak-ng"]'
        )
    if v.bilingual and "id" not in lang.available:
        raise ConfigError(
            "voices.bilingual", "a bilingual note ends in Indonesian, which is not available",
            'add "id" to languages.available, or set bilingual = false',
        )  # fmt: skip
    for tag, order in v.engines_by_language.items():
        if tag not in lang.available:
            raise ConfigError(
                f"voices.engines_by_language.{tag}", f"{tag!r} is not an available language",
                "use a tag from languages.available",
            )  # fmt: skip
        if not order:
            raise ConfigError(f"voices.engines_by_language.{tag}", "is empty", 'e.g. ["espeak-ng"]')
    for engine, names in v.names.items():
        for tag, voice in names.items():
            key = f"voices.names.{engine}.{tag}"
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9+_-]{0,63}", voice):
                raise ConfigError(
                    key, f"{voice!r} is not a voice name",
                    "use a name `notifyd voices` lists, e.g. id-ID-GadisNeural",
                )  # fmt: skip
    ranges = {
        "engine_timeout": (v.engine_timeout, 0.5, 120, "seconds, e.g. 5"),
        "sms_max_segments": (v.sms_max_segments, 1, 20, "segments, e.g. 10"),
        "max_seconds": (v.max_seconds, 5, 600, "seconds, e.g. 90"),
        "audio_retention_days": (v.audio_retention_days, 1, 3650, "days, e.g. 30"),
        "opus_bitrate_kbps": (v.opus_bitrate_kbps, 6, 128, "kbit/s, e.g. 24"),
        "opus_compression_level": (v.opus_compression_level, 0, 10, "0 (fastest) to 10"),
    }
    for name, (value, low, high, unit) in ranges.items():
        if not low <= value <= high:
            raise ConfigError(
                f"voices.{name}", f"{value} is out of range",
                f"use {low} to {high} {unit}",
            )  # fmt: skip


# --- secrets --------------------------------------------------------------------------------

SECRET_FIX = (
    'refer to it instead: "env:VARIABLE" (an environment variable) or '
    '"credential:NAME" (a systemd LoadCredential= file)'
)


def is_secret_ref(value: str) -> bool:
    return value.startswith(("env:", "credential:"))


def resolve_secret(value: str, key: str) -> str:
    """Turn "env:NAME" or "credential:NAME" into the secret; the file never holds it in clear."""
    kind, _, name = value.partition(":")
    if kind == "env":
        if name not in os.environ:
            raise ConfigError(key, f"environment variable {name} is not set", f"export {name}=…")
        return os.environ[name]
    if kind == "credential":
        folder = os.environ.get("CREDENTIALS_DIRECTORY")
        if not folder or not (Path(folder) / name).is_file():
            raise ConfigError(
                key, f"systemd credential {name!r} is not available",
                f"add LoadCredential={name}:/path/to/file to the unit",
            )  # fmt: skip
        return (Path(folder) / name).read_text(encoding="utf-8").rstrip("\n")
    raise ConfigError(key, "is not a secret reference", SECRET_FIX)


def database_url(cfg: Config) -> str:
    """The SQLAlchemy URL: the embedded SQLite file by default; a password only by reference."""
    from sqlalchemy.engine import make_url

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
