"""Secrets are references, never values in the file: `env:NAME` or `credential:NAME` (systemd)."""

from __future__ import annotations

import os
from pathlib import Path

from notifyd.errors import ConfigError

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
