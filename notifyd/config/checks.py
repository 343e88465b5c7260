"""Rules beyond types: windows, time zones, cron, channels, dispatch, voices, the listener."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, time
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from notifyd.config.secrets import SECRET_FIX, is_secret_ref
from notifyd.config.sections import (
    CANONICAL_COLUMNS,
    CHANNEL_KINDS,
    EXTENSION_KINDS,
    WEEKDAYS,
    Config,
    HttpConfig,
    LanguagesConfig,
    NoticesConfig,
    VoicesConfig,
    Window,
)
from notifyd.errors import ConfigError, ConfigErrors

_ZONES: set[str] = set()


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


#: How a registry field is read: the header names, the text that joins them, or a constant.
ColumnSpec = tuple[tuple[str, ...], str, str | None]

_SPEC_FIX = (
    'write a header ("No. Paspor"), several headers joined by "-" (["Kode Kantor", "No."]), '
    '{ columns = ["Kode Kantor", "No."], join = "/" }, or a constant { value = "KITAS" }'
)


def column_spec(spec: object, key: str) -> ColumnSpec:
    """Read one `registry.columns` value; one column may feed several fields."""
    if isinstance(spec, str) and spec.strip():
        return (spec,), "", None
    if isinstance(spec, list) and spec and all(isinstance(c, str) and c.strip() for c in spec):
        return tuple(spec), "-", None
    if isinstance(spec, dict):
        if set(spec) == {"value"} and isinstance(spec["value"], str):
            return (), "", spec["value"]
        join = spec.get("join", "-")
        if set(spec) <= {"columns", "join"} and isinstance(join, str):
            columns, _, _ = column_spec(spec.get("columns"), key)
            return columns, join, None
    raise ConfigError(key, f"{spec!r} is not a column mapping", _SPEC_FIX)


def check(cfg: Config) -> None:
    """Every rule beyond types; one error per part of the file, all parts checked in one run."""
    errors: list[ConfigError] = []
    offices = [partial(_check_office, code=code) for code in cfg.offices]
    parts: list[Callable[[Config], None]] = [
        _check_planner, *offices, _check_registry, _check_languages_and_voices, _check_channels,
        _check_dispatch, _check_schedules, _check_operations, _check_http_section,
        _check_database,
    ]  # fmt: skip
    for part in parts:
        try:
            part(cfg)
        except ConfigError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)


def _check_planner(cfg: Config) -> None:
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


def _check_office(cfg: Config, code: str) -> None:
    office = cfg.offices[code]
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


def _check_registry(cfg: Config) -> None:
    r = cfg.registry
    if not 0 <= r.max_drop_share <= 1:
        raise ConfigError("registry.max_drop_share", "must be between 0 and 1", "e.g. 0.2 for 20 %")
    for canon, spec in r.columns.items():
        if canon not in CANONICAL_COLUMNS:
            raise ConfigError(
                f"registry.columns.{canon}", "is not a registry field",
                f"rename one of: {', '.join(CANONICAL_COLUMNS)}",
            )  # fmt: skip
        column_spec(spec, f"registry.columns.{canon}")
    for key in ("max_identity_change_share", "min_channel_share"):
        if not 0 <= getattr(r, key) <= 1:
            raise ConfigError(f"registry.{key}", "must be between 0 and 1", "e.g. 0.2 for 20 %")
    if r.max_field_chars < 1:
        raise ConfigError("registry.max_field_chars", "must be positive", "e.g. 131072")
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


def _check_languages_and_voices(cfg: Config) -> None:
    _check_languages(cfg.languages)
    _check_voices(cfg.voices, cfg.languages)
    _check_notices(cfg.notices)


def _check_channels(cfg: Config) -> None:
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


def _check_schedules(cfg: Config) -> None:
    for key, value in (("registry.schedule", cfg.registry.schedule),
                       ("retention.schedule", cfg.retention.schedule)):  # fmt: skip
        check_cron(value, key)


def _check_http_section(cfg: Config) -> None:
    _check_http(cfg.http)
    _check_console(cfg)


def _check_database(cfg: Config) -> None:
    if cfg.database.password and not is_secret_ref(cfg.database.password):
        raise ConfigError("database.password", "is written in clear", SECRET_FIX)
    if cfg.database.url and not is_secret_ref(cfg.database.url):
        _plain_url(cfg.database.url, "database.url")


def _check_dispatch(cfg: Config) -> None:
    if cfg.log_level not in ("debug", "info", "warning", "error"):
        raise ConfigError(
            "log_level", f"{cfg.log_level!r} is not a level", "debug, info, warning or error"
        )
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
    for key in ("reconcile_seconds", "early_receipt_ttl", "same_phone_interval"):
        if getattr(d, key) < 0:
            raise ConfigError(f"dispatch.{key}", "is negative", "give a number of seconds, or 0")
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
        if ch.reconcile_seconds < 0:
            raise ConfigError(
                f"channels.{name}.reconcile_seconds", "is negative",
                "give a number of seconds; 0 uses dispatch.reconcile_seconds",
            )  # fmt: skip
        if ch.burst < 1 or ch.concurrency < 1:
            key = "burst" if ch.burst < 1 else "concurrency"
            raise ConfigError(f"channels.{name}.{key}", "must be at least 1", "e.g. 1")
    for i, number in enumerate(cfg.pilot.allowlist):
        if not (number.startswith("+") and number[1:].isdigit() and 8 <= len(number) <= 16):
            raise ConfigError(
                f"pilot.allowlist[{i}]", f"{number!r} is not an E.164 number",
                'write it as "+6281234567890"',
            )  # fmt: skip


#: dialect[+driver]://…, as SQLAlchemy reads a URL (checked here without loading SQLAlchemy).
_DB_URL = re.compile(r"^[A-Za-z][\w+]*://")


def _plain_url(value: str, key: str) -> None:
    """A URL written in the file: it must parse and must not carry a password in clear."""
    if not _DB_URL.match(value):
        raise ConfigError(
            key, "is not a database URL",
            'write it as dialect+driver://user@host/database, e.g. "postgresql+psycopg://…"',
        )  # fmt: skip
    if value.split("://", 1)[0].lower() == "postgres":
        raise ConfigError(
            key, "postgres:// is not a name SQLAlchemy knows (it wants postgresql+driver://)",
            'write "postgresql+psycopg://user@host/database" (the psycopg driver comes with '
            "pip install 'notifyd[postgresql]')",
        )  # fmt: skip
    if urlsplit(value).password:
        raise ConfigError(key, "holds a password in clear", SECRET_FIX + " in database.password")


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
    if http.max_connections < 8:
        raise ConfigError("http.max_connections", "is under 8", "e.g. 256 (the default)")
    for key in ("header_timeout", "body_timeout"):
        if getattr(http, key) <= 0:
            raise ConfigError(f"http.{key}", "must be more than 0", "e.g. 10 seconds")


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
        "offline_timeout": (v.offline_timeout, 1, 600, "seconds, e.g. 60"),
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


def _check_console(cfg: Config) -> None:
    c = cfg.console
    if c.listen:  # "" turns the daemon's console off (another instance on this host serves it)
        listen_address(c.listen, "console.listen")
    if c.listen and c.listen == cfg.http.listen:
        raise ConfigError(
            "console.listen", f"{c.listen!r} is also http.listen, which faces the internet",
            'give the console its own address, e.g. "127.0.0.1:8790"',
        )  # fmt: skip
    if c.language not in ("id", "en"):
        raise ConfigError("console.language", f"{c.language!r} is not offered", 'use "id" or "en"')
    if c.idle_minutes < 1 or c.unconfirmed_hours < 1:
        raise ConfigError(
            "console.idle_minutes", "and console.unconfirmed_hours must be 1 or more",
            "e.g. idle_minutes = 30, unconfirmed_hours = 6",
        )  # fmt: skip
    if c.failing_streak < 1 or c.failing_min < 1:
        raise ConfigError(
            "console.failing_streak", "and console.failing_min must be 1 or more",
            "e.g. failing_streak = 5, failing_min = 10",
        )  # fmt: skip
    if not 0 < c.failing_share <= 1:
        raise ConfigError(
            "console.failing_share", f"{c.failing_share!r} is not a share", "e.g. 0.5 (half)"
        )


def _check_notices(n: NoticesConfig) -> None:
    """The legal facts a notice states: amounts that make sense, extension kinds that exist."""
    if n.overstay_charge_per_day < 0:
        raise ConfigError(
            "notices.overstay_charge_per_day", "must not be negative",
            "give rupiah per day, e.g. 1000000 (PP 45/2024)",
        )  # fmt: skip
    if not 1 <= n.overstay_limit_days <= 365:
        raise ConfigError(
            "notices.overstay_limit_days", f"{n.overstay_limit_days} is out of range",
            "use the days after which deportation follows, e.g. 60 (UU 6/2011 Pasal 78)",
        )  # fmt: skip
    kinds = [(f"notices.extension.{t}", k) for t, k in n.extension.items()]
    for key, kind in [*kinds, ("notices.extension_default", n.extension_default)]:
        if kind not in EXTENSION_KINDS:
            raise ConfigError(
                key, f"{kind!r} is not a kind of extension",
                f"use one of: {', '.join(EXTENSION_KINDS)}",
            )  # fmt: skip
