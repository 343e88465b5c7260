"""The spool channel: writes each notice (text, audio, JSON record) to a folder.

For offices without a provider account, for demos and for tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from notifyd.config import Config
from notifyd.errors import ConfigError
from notifyd.hookspecs import Channel, ChannelPlugin, Message, hookimpl


class SpoolChannel:
    audio_format: str | None = "ogg"

    def __init__(self, name: str, folder: Path) -> None:
        self.name, self.folder = name, folder

    async def send(self, message: Message) -> str:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stem = f"{message.notification_id}-{self.name}"
        audio = None
        if message.audio is not None:
            audio = f"{stem}{message.audio.suffix}"
            _write_private(self.folder / audio, message.audio.read_bytes())
        _write_private(self.folder / f"{stem}.txt", message.text.encode())
        record = {
            "to": message.to, "language": message.language, "channel": self.name,
            "notification_id": message.notification_id, "attempt_id": message.attempt_id,
            "audio": audio, "text": f"{stem}.txt",
        }  # fmt: skip
        _write_private(
            self.folder / f"{stem}.json", json.dumps(record, ensure_ascii=False).encode()
        )
        return stem


def _write_private(path: Path, data: bytes) -> None:
    """Written whole or not at all (rename), readable by the owner only: it holds personal data."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class SpoolPlugin:
    name = "spool"

    def create(self, name: str, options: dict[str, Any], cfg: Config) -> Channel:
        unknown = set(options) - {"dir"}
        if unknown:
            raise ConfigError(
                f"channels.{name}.options.{sorted(unknown)[0]}", "unknown option", 'only "dir"'
            )
        folder = options.get("dir") or str(Path(cfg.state_dir) / "spool" / name)
        if not isinstance(folder, str):
            raise ConfigError(f"channels.{name}.options.dir", "must be a path", "give a folder")
        return SpoolChannel(name, cfg.resolve_path(folder))


@hookimpl
def register_channels() -> list[ChannelPlugin]:
    return [SpoolPlugin()]
