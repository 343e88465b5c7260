"""An example notifyd channel: POST each notice as JSON to a URL.

The receiving service answers 2xx with `{"id": "..."}`; 429 and 5xx are worth retrying, any
other 4xx is not. Configure it as

    [channels.intranet]
    plugin = "json_post"
    kind = "other"
    [channels.intranet.options]
    url = "https://intranet.example/notices"
    token = "env:INTRANET_TOKEN"     # optional, sent as "Authorization: Bearer ..."
"""

from __future__ import annotations

from typing import Any

import aiohttp

from notifyd.config import Config, is_secret_ref, resolve_secret
from notifyd.errors import ConfigError
from notifyd.hookspecs import (
    Channel,
    ChannelPlugin,
    Message,
    OutcomeUnknown,
    PermanentSendError,
    TransientSendError,
    hookimpl,
)

OPTIONS = {"url", "token", "timeout"}


class JsonPostChannel:
    """One configured instance; notifyd calls `send` for every notice routed to it."""

    audio_format: str | None = None  # text only: notifyd renders no audio for this channel

    def __init__(self, name: str, url: str, token: str, timeout: float) -> None:
        self.name, self.url, self.token, self.timeout = name, url, token, timeout

    async def send(self, message: Message) -> str:
        body = {
            "notification_id": message.notification_id,
            "to": message.to,
            "language": message.language,
            "text": message.text,
            "fields": dict(message.fields),
        }
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        timeout = aiohttp.ClientTimeout(total=self.timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(self.url, json=body, headers=headers) as resp:
                    if resp.status == 429 or resp.status >= 500:
                        retry = resp.headers.get("Retry-After", "")
                        raise TransientSendError(
                            f"HTTP {resp.status}", float(retry) if retry.isdigit() else None
                        )
                    if resp.status >= 400:
                        raise PermanentSendError(f"HTTP {resp.status}: {await resp.text()}"[:200])
                    answer = await resp.json(content_type=None)
        except aiohttp.ClientConnectorError as exc:  # never reached the service
            raise TransientSendError(f"cannot connect: {exc.os_error}") from exc
        except (TimeoutError, aiohttp.ServerDisconnectedError) as exc:
            raise OutcomeUnknown("no answer after the notice was sent") from exc
        if not isinstance(answer, dict) or "id" not in answer:
            raise OutcomeUnknown('the answer has no "id"')
        return str(answer["id"])


class JsonPostPlugin:
    name = "json_post"  # what `[channels.NAME] plugin = ...` names

    def create(self, name: str, options: dict[str, Any], cfg: Config) -> Channel:
        key = f"channels.{name}.options"
        unknown = sorted(set(options) - OPTIONS)
        if unknown:
            raise ConfigError(f"{key}.{unknown[0]}", "unknown option", "use url, token, timeout")
        url = options.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigError(f"{key}.url", "missing or not a URL", 'e.g. "https://host/path"')
        token = options.get("token", "")
        if token and not is_secret_ref(token):
            raise ConfigError(f"{key}.token", "is written in clear", 'write "env:VARIABLE"')
        timeout = options.get("timeout", 10)
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigError(f"{key}.timeout", "must be a positive number of seconds", "e.g. 10")
        secret = resolve_secret(token, f"{key}.token") if token else ""
        return JsonPostChannel(name, url, secret, float(timeout))


@hookimpl
def register_channels() -> list[ChannelPlugin]:
    return [JsonPostPlugin()]
