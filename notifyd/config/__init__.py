"""TOML → frozen config. Every error names the key and the fix; secrets are references.

One `load()`; the sections are in sections.py, the typed walk in walk.py, the rules beyond types
in checks.py and secret references in secrets.py. Everything public is importable from here."""

from __future__ import annotations

import os
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from notifyd.config.checks import (
    ColumnSpec,
    check,
    check_cron,
    check_timezone,
    column_spec,
    listen_address,
    parse_window,
)
from notifyd.config.secrets import SECRET_FIX, is_secret_ref, resolve_secret
from notifyd.config.sections import (
    AUDIO_FORMATS,
    CANONICAL_COLUMNS,
    CHANNEL_KINDS,
    DEFAULT_EDGE_VOICES,
    DEFAULT_PATH,
    EXTENSION_KINDS,
    LANGUAGE_ALIASES,
    LANGUAGES,
    NATIONALITY_LANGUAGES,
    REQUIRED_COLUMNS,
    WEEKDAYS,
    ChannelConfig,
    Config,
    ConsoleConfig,
    DatabaseConfig,
    DispatchConfig,
    HttpConfig,
    LanguagesConfig,
    MetricsConfig,
    NoticesConfig,
    OfficeConfig,
    PilotConfig,
    PlannerConfig,
    RegistryConfig,
    RetentionConfig,
    VoicesConfig,
    Window,
)
from notifyd.config.walk import build
from notifyd.errors import ConfigError

__all__ = [
    "AUDIO_FORMATS", "CANONICAL_COLUMNS", "CHANNEL_KINDS", "DEFAULT_EDGE_VOICES", "DEFAULT_PATH",
    "EXTENSION_KINDS", "LANGUAGE_ALIASES", "LANGUAGES", "NATIONALITY_LANGUAGES", "NoticesConfig",
    "REQUIRED_COLUMNS", "SECRET_FIX", "WEEKDAYS", "ChannelConfig", "Config", "ConsoleConfig",
    "DatabaseConfig", "DispatchConfig", "HttpConfig", "LanguagesConfig", "MetricsConfig",
    "OfficeConfig", "PilotConfig", "PlannerConfig", "RegistryConfig", "RetentionConfig",
    "VoicesConfig", "Window", "ColumnSpec", "column_spec", "check_cron", "check_timezone",
    "config_path", "default_state_dir",
    "is_secret_ref", "listen_address", "load", "parse", "parse_window", "resolve_secret",
]  # fmt: skip


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
    cfg = build(Config, data, "")
    cfg = replace(cfg, source_path=source_path)
    if not cfg.offices:
        cfg = replace(cfg, offices={"MAIN": OfficeConfig(name="Immigration office")})
    check(cfg)
    state = cfg.resolve_path(cfg.state_dir) if cfg.state_dir else default_state_dir()
    return replace(cfg, state_dir=str(state))
