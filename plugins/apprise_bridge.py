"""Apprise bridge channel (`apprise`): the text, with the voice note attached, to Apprise URLs.

One plugin reaches email, Telegram, Signal and the rest of Apprise's services. Apprise says
only true or false, so a false becomes a transient error carrying what Apprise logged.
Apprise is an optional dependency: `pip install notifyd[apprise]`.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from pathlib import Path
from typing import Any

from notifyd.config import Config, is_secret_ref, resolve_secret
from notifyd.errors import ConfigError
from notifyd.hookspecs import Channel, ChannelPlugin, Message, TransientSendError, hookimpl
from notifyd_plugins.httpclient import Options, redact


class AppriseChannel:
    def __init__(self, name: str, opts: Options) -> None:
        try:
            import apprise
        except ImportError as exc:
            raise ConfigError(
                f"channels.{name}.plugin",
                "needs the apprise package",
                "pip install 'notifyd[apprise]'",
            ) from exc
        self.name = name
        self._apprise = apprise
        fmt = opts.string("audio_format", "ogg")
        if fmt not in ("ogg", "mp3", "wav", "none"):
            raise ConfigError(
                opts.key("audio_format"),
                f"{fmt!r} is not a format",
                'use "ogg", "mp3", "wav" or "none" (text only)',
            )
        self.audio_format: str | None = None if fmt == "none" else fmt
        self.title = opts.string("title", "")
        urls = opts.strings("urls")
        if not urls:
            raise ConfigError(opts.key("urls"), "is empty", 'list Apprise URLs, e.g. ["tgram://…"]')
        self.urls = []
        for i, url in enumerate(urls):  # URLs carry tokens: allow them by reference
            key = f"{opts.key('urls')}[{i}]"
            url = resolve_secret(url, key) if is_secret_ref(url) else url
            with warnings.catch_warnings():  # its first use loads every service module, and
                warnings.simplefilter("ignore", DeprecationWarning)  # one imports imghdr
                known = apprise.Apprise.instantiate(url) is not None
            if not known:
                raise ConfigError(
                    key,
                    "is not a URL Apprise understands",
                    "see the Apprise wiki for the service's URL form",
                )
            self.urls.append(url)
        self._lock = asyncio.Lock()  # one send at a time: Apprise's log is process-wide

    async def send(self, message: Message) -> str:
        async with self._lock:
            ok, logged = await asyncio.to_thread(self._notify, message)
        if not ok:
            raise TransientSendError("Apprise could not notify: " + (logged or "it logged nothing"))
        return f"apprise-{message.notification_id}-{message.attempt_id}"

    def _notify(self, message: Message) -> tuple[bool, str]:
        ap = self._apprise.Apprise()
        ap.add(self.urls)
        attach = None
        if message.audio is not None and Path(message.audio).exists():
            attach = self._apprise.AppriseAttachment(str(message.audio))
        with self._apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as output:
            ok = bool(ap.notify(body=message.text, title=self.title, attach=attach))
            lines = (line for line in output.getvalue().splitlines() if line.strip())
            logged = redact(" | ".join(lines))
        return ok, logged

    async def aclose(self) -> None:
        return None


class ApprisePlugin:
    name = "apprise"

    def create(self, name: str, options: dict[str, Any], cfg: Config) -> Channel:
        return AppriseChannel(name, Options(name, options, {"urls", "title", "audio_format"}))


@hookimpl
def register_channels() -> list[ChannelPlugin]:
    return [ApprisePlugin()]
