"""Secrets are references, never values in the file: `env:NAME` or `credential:NAME` (systemd)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from notifyd.errors import ConfigError

SECRET_FIX = (
    'refer to it instead: "env:VARIABLE" (an environment variable) or '
    '"credential:NAME" (the file /etc/notifyd/credentials/NAME, handed over by systemd)'
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
        # The unit loads the whole credentials folder, which systemd names "notifyd_<file>".
        found = [Path(folder) / n for n in (f"notifyd_{name}", name)] if folder else []
        for path in found:
            if path.is_file():
                return path.read_text(encoding="utf-8").rstrip("\n")
        raise ConfigError(
            key, f"credential {name!r} is not available"
            + ("" if folder else " (no CREDENTIALS_DIRECTORY: not started by systemd)"),
            f"put the secret in the file /etc/notifyd/credentials/{name} (mode 0600; the unit "
            "hands that folder to the service) and restart; outside systemd, use env:VARIABLE "
            "or set CREDENTIALS_DIRECTORY to a folder holding the file",
        )  # fmt: skip
    raise ConfigError(key, "is not a secret reference", SECRET_FIX)


def references(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """Every (key, reference) in a config, walking its sections, tables and lists."""
    if isinstance(value, str):
        if is_secret_ref(value):
            yield key, value
    elif is_dataclass(value) and not isinstance(value, type):
        for f in fields(value):
            yield from references(getattr(value, f.name), f"{key}.{f.name}" if key else f.name)
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from references(v, f"{key}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from references(v, f"{key}[{i}]")


def unresolved(cfg: Any) -> list[ConfigError]:
    """Every secret reference in the config that cannot be read here and now."""
    problems = []
    for key, ref in references(cfg):
        try:
            resolve_secret(ref, key)
        except ConfigError as exc:
            problems.append(exc)
    return problems
