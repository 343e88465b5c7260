"""What every HTTP channel shares: one aiohttp session, typed errors, and option checks.

aiohttp rather than httpx: at concurrency 50 against a local server it costs about a
seventeenth of the CPU per request (docs/benchmarks.md, notes on performance).
"""

from __future__ import annotations

import asyncio
import email.utils
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from notifyd.config import is_secret_ref, resolve_secret
from notifyd.errors import ConfigError, OutcomeUnknown, TransientSendError

if TYPE_CHECKING:  # imported on first use: a command that sends nothing (sync) never pays for it
    import aiohttp


@dataclass(frozen=True)
class Answer:
    """A provider's answer: status, headers and the raw body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        import json

        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def text(self, limit: int = 300) -> str:
        return redact(self.body[:limit].decode("utf-8", "replace"))


class Http:
    """One aiohttp session per channel, made on first use inside the running loop."""

    def __init__(self, timeout: float, max_connections: int = 100) -> None:
        self.timeout, self.max_connections = timeout, max_connections
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def session(self) -> aiohttp.ClientSession:
        import aiohttp

        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._loop = loop  # a session belongs to one loop (a test's asyncio.run, a reload)
            self._session = aiohttp.ClientSession(
                # connect: nothing left yet (transient); sock_read: the request left (unknown)
                timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=min(5.0, self.timeout), sock_read=self.timeout
                ),
                connector=aiohttp.TCPConnector(limit=self.max_connections),
            )
        return self._session

    async def request(self, method: str, url: str, **kwargs: Any) -> Answer:
        """Send one request; map what went wrong on the way to a typed send error."""
        import aiohttp

        what = f"{method} {_host(url)}"
        try:
            async with asyncio.timeout(self.timeout * 2 + 5):  # a backstop for a stuck body
                async with self.session().request(method, url, **kwargs) as resp:
                    body = await resp.read()
                    return Answer(resp.status, dict(resp.headers), body)
        except aiohttp.ConnectionTimeoutError as exc:
            raise TransientSendError(f"{what}: no connection within the timeout") from exc
        except aiohttp.ClientConnectorError as exc:
            raise TransientSendError(f"{what}: cannot connect ({exc.os_error})") from exc
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise OutcomeUnknown(f"{what}: no answer within {self.timeout:g} s") from exc
        except aiohttp.ClientError as exc:  # the request may have left: we cannot tell
            raise OutcomeUnknown(f"{what}: {type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


_NUMBER = re.compile(r"\+?\d[\d\s().-]{6,}\d")


def redact(text: str) -> str:
    """Provider messages may quote the phone number ("The 'To' number +62… is not valid");
    error reasons end in logs, so numbers of eight digits or more are masked."""
    return _NUMBER.sub("…", text)


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Retry-After in seconds: a number of seconds or an HTTP date (RFC 9110 §10.2.3)."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class Options:
    """Reads one channel's `[channels.NAME.options]`; every error names its full key."""

    def __init__(self, channel: str, options: Mapping[str, Any], allowed: set[str]) -> None:
        self.channel, self.options = channel, options
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise ConfigError(
                self.key(unknown[0]), "unknown option", f"use some of: {', '.join(sorted(allowed))}"
            )

    def key(self, name: str) -> str:
        return f"channels.{self.channel}.options.{name}"

    def string(self, name: str, default: str | None = None, example: str = "") -> str:
        value = self.options.get(name, default)
        if value is None:
            raise ConfigError(self.key(name), "missing", f"add {name} = {example or '…'}")
        if not isinstance(value, str):
            raise ConfigError(self.key(name), "must be a string", f"e.g. {name} = {example!r}")
        return value

    def url(self, name: str, default: str | None = None) -> str:
        value = self.string(name, default, '"https://…"')
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(self.key(name), f"{value!r} is not an http(s) URL", "e.g. https://…")
        return value.rstrip("/")

    def secret(self, name: str, required: bool = True) -> str:
        value = self.options.get(name)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not is_secret_ref(value):
            raise ConfigError(
                self.key(name),
                "must be a secret reference (never the secret in clear)",
                f'write {name} = "env:VARIABLE" or "credential:NAME"',
            )
        return resolve_secret(value, self.key(name))

    def number(self, name: str, default: float, low: float, high: float) -> float:
        value = self.options.get(name, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not low <= value <= high
        ):
            raise ConfigError(self.key(name), f"{value!r} is out of range", f"use {low:g}–{high:g}")
        return float(value)

    def table(self, name: str) -> dict[str, Any]:
        value = self.options.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(self.key(name), "must be a table", f"write [{self.key(name)}]")
        return value

    def strings(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self.options.get(name, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(self.key(name), "must be a list of strings", f'{name} = ["…"]')
        return value


def http_parts(opts: Options) -> Http:
    """The shared timeout and connection options every HTTP channel accepts."""
    return Http(
        timeout=opts.number("timeout", 10, 0.1, 300),
        max_connections=int(opts.number("max_connections", 100, 1, 1000)),
    )


HTTP_OPTIONS = {"timeout", "max_connections"}
