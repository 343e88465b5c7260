"""The listener's bounds: connections open at once, header and body read times, and the file
descriptors they need.

The web app faces the internet and shares its process with the dispatcher and the database:
1,100 idle connections once used up the 1,024 descriptors and sending stopped. So the number of
connections is bounded (the oldest idle one is closed for a newcomer, so idle clients cannot
lock out a provider or /healthz), a connection that sends no complete headers within
`http.header_timeout` is closed (aiohttp's keep-alive timeout, which it starts when the
connection opens), and a body must arrive within `http.body_timeout`.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from aiohttp import web

from notifyd.config import Config

log = logging.getLogger(__name__)
#: Descriptors besides the listener's: database connections, provider sessions, audio files,
#: TTS subprocesses, logs.
RESERVED = 256


def handler_args(cfg: Config) -> dict[str, Any]:
    """aiohttp's per-connection settings: idle or header-less connections close after
    `header_timeout`; headers are bounded in size by aiohttp's defaults."""
    return {"keepalive_timeout": cfg.http.header_timeout}


def descriptors_needed(cfg: Config) -> int:
    """What the process needs open at most: the listener's connections, one socket per send in
    flight, and the reserve."""
    return cfg.http.max_connections + cfg.dispatch.concurrency + RESERVED


def ensure_descriptors(cfg: Config) -> int:
    """Raise the soft descriptor limit towards what the config needs (never past the hard
    limit); returns the connection bound that fits, lower than configured (with a warning
    naming the fix) when the hard limit is too small."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = descriptors_needed(cfg)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return cfg.http.max_connections
    fits = max(8, soft - cfg.dispatch.concurrency - RESERVED)
    log.warning(
        "too few file descriptors for http.max_connections: the listener takes fewer",
        extra={"limit": soft, "needed": needed, "max_connections": fits,
               "fix": "raise LimitNOFILE in the unit, or lower http.max_connections"},
    )  # fmt: skip
    return fits


class BoundedSite(web.TCPSite):
    """A TCP site that keeps at most `limit` connections open: at the limit, the oldest
    connection that is not handling a request is closed for the newcomer (or, when all are
    busy, the newcomer is closed at once)."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, limit: int) -> None:
        super().__init__(runner, host, port)
        self.limit = limit
        self.shed = 0  # connections closed to stay within the limit

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None

        def factory() -> asyncio.Protocol:
            connections = server.connections
            live = sum(1 for h in connections if h.transport and not h.transport.is_closing())
            if live >= self.limit and not self._shed(connections):
                return _Refused()
            return server()

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            factory, self._host, self._port, backlog=self._backlog,
            reuse_address=self._reuse_address,
        )  # fmt: skip

    def _shed(self, connections: list[Any]) -> bool:
        """Close the oldest idle connection; False when every one is handling a request."""
        self.shed += 1
        if self.shed in (1, 10, 100, 1000) or self.shed % 10000 == 0:
            log.warning("listener full: closing idle connections", extra={"closed": self.shed})
        for handler in connections:
            transport = handler.transport
            if transport is None or transport.is_closing():
                continue  # closed already, leaving the list at the loop's next turn
            # aiohttp's own flag (no public one): a request is being handled on it
            if not getattr(handler, "_request_in_progress", False):
                handler.force_close()
                transport.close()
                return True
        return False


class _Refused(asyncio.Protocol):
    """A connection over the bound while every other is busy: closed at once."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.close()


async def read_body(request: web.Request, timeout: float) -> bytes | None:
    """The request's body, or None when the client was too slow or went away mid-body (a
    debug line: a client that drops is no error of ours)."""
    try:
        return await asyncio.wait_for(request.read(), timeout)
    except TimeoutError:
        log.debug("request body too slow", extra={"path": request.path})
        return None
    except (ConnectionError, OSError) as exc:
        log.debug("client went away mid-body", extra={"error": type(exc).__name__})
        return None
