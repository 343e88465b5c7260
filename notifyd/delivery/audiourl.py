"""Unguessable, expiring URLs of voice notes, for providers that fetch the audio themselves
(a phone call's <Play>).

A token is the file's name under the state dir's audio folder and an expiry, signed with
HMAC-SHA256 under `http.url_secret`; nothing is stored, and a changed name, expiry or
signature is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
from datetime import datetime
from pathlib import Path

from notifyd.config import Config, listen_address, resolve_secret
from notifyd.errors import ConfigError

AUDIO_DIR = "audio"
MIN_SECRET = 16
TYPES = {".ogg": "audio/ogg", ".opus": "audio/ogg", ".mp3": "audio/mpeg", ".wav": "audio/wav"}


class Refused(Exception):
    """A token that is not ours (403) or no longer valid (410)."""

    def __init__(self, status: int, problem: str) -> None:
        self.status = status
        super().__init__(problem)


def audio_root(cfg: Config) -> Path:
    return Path(cfg.state_dir) / AUDIO_DIR


def secret(cfg: Config) -> bytes:
    if not cfg.http.url_secret:
        raise ConfigError(
            "http.url_secret", "is not set, and audio URLs need it",
            'set it to "env:NOTIFYD_URL_SECRET" holding 32 or more random characters',
        )  # fmt: skip
    value = resolve_secret(cfg.http.url_secret, "http.url_secret").encode()
    if len(value) < MIN_SECRET:
        raise ConfigError(
            "http.url_secret", f"is shorter than {MIN_SECRET} characters",
            "use 32 or more random characters, e.g. from `openssl rand -hex 32`",
        )  # fmt: skip
    return value


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(key: bytes, name: str, expires: int) -> bytes:
    return hmac.new(key, f"audio\0{name}\0{expires}".encode(), hashlib.sha256).digest()


def make_token(key: bytes, name: str, expires: int) -> str:
    return f"{_b64(name.encode())}.{expires}.{_b64(_mac(key, name, expires))}"


def audio_url(cfg: Config, path: Path, now: datetime, ttl: float | None = None) -> str:
    """The public URL of `path` (a file under the audio folder), valid for `ttl` seconds
    (default `http.audio_ttl_seconds`)."""
    root = audio_root(cfg).resolve()
    full = path.resolve()
    if not full.is_relative_to(root):
        raise ValueError(f"{path.name} is not under the audio folder")
    expires = int(now.timestamp() + (ttl if ttl is not None else cfg.http.audio_ttl_seconds))
    token = make_token(secret(cfg), full.relative_to(root).as_posix(), expires)
    base = cfg.http.public_url.rstrip("/")
    if not base:
        host, port = listen_address(cfg.http.listen)
        base = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    return f"{base}/audio/{token}"


def url_for_message(cfg: Config, audio: Path | None, now: datetime) -> str:
    """What goes in `Message.audio_url`: the note's expiring URL when URLs are on, else ""."""
    if audio is None or not cfg.http.url_secret:
        return ""
    try:
        return audio_url(cfg, audio, now)
    except ValueError:  # not under <state_dir>/audio: a renderer of another kind
        logging.getLogger(__name__).warning("voice note outside the audio folder: no URL")
        return ""


def check(cfg: Config, key: bytes, token: str, now: datetime) -> Path:
    """The file a token names, if the token is ours and unexpired and the file lies under the
    audio folder; else Refused."""
    try:
        name_part, expires_part, mac_part = token.split(".")
        name = _unb64(name_part).decode()
        expires = int(expires_part)
        given = _unb64(mac_part)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise Refused(403, "not a valid audio token") from None
    if not hmac.compare_digest(_mac(key, name, expires), given):
        raise Refused(403, "not a valid audio token")
    if now.timestamp() >= expires:
        raise Refused(410, "this audio link has expired")
    root = audio_root(cfg).resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise Refused(403, "not under the audio folder")
    return path


def content_type(path: Path) -> str:
    return TYPES.get(path.suffix.lower(), "application/octet-stream")
