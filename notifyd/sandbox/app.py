"""The sandbox app: every provider's routes, the control endpoints, and ways to run it.

Control endpoints (all under /_sandbox/, for tests and demos):
  GET/DELETE requests      what notifyd sent (GET ?provider=whatsapp filters)
  GET callbacks            what the sandbox sent back and what notifyd answered
  GET/POST/DELETE faults   failure rules: {"kind", "provider", "to", "times", "status",
                           "code", "retry_after", "seconds"} (see state.KINDS)
  POST tap {"to", "message_id"?, "choice"?}   the person taps a button (default: the
                           first button of the last template or interactive message)
  POST inbound {"provider": "whatsapp"|"twilio", "from", "text"}   the person writes
  GET calls                each call and the audio it fetched and checked
  POST idle                wait until every scheduled callback has been sent
  GET  /_sandbox/          the page: what each person received, as a phone shows it
Unknown paths and methods under a provider's prefix answer in that provider's error shape.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web

from notifyd.sandbox import gateway, page, twilio, twilio_read, waha, whatsapp
from notifyd.sandbox.rules import KINDS, Fault, Settings
from notifyd.sandbox.state import SANDBOX, Sandbox, as_json
from notifyd.sandbox.twilio_rules import twilio_error
from notifyd.sandbox.wa_checks import graph_error

GRAPH_PATH = re.compile(r"^/v\d+\.\d+/")

log = logging.getLogger(__name__)


def check_loopback(host: str) -> None:
    """The sandbox fakes providers with well-known dev secrets: never on a real network."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the sandbox listens on loopback only, not {host!r}: use 127.0.0.1")


def make_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=32 * 1024 * 1024, middlewares=[provider_errors])
    app[SANDBOX] = Sandbox(settings)
    whatsapp.add_routes(app)
    twilio_read.add_routes(app)
    page.add_routes(app)
    waha.add_routes(app)
    gateway.add_routes(app)
    r = app.router
    r.add_get("/_sandbox/requests", _requests)
    r.add_delete("/_sandbox/requests", _clear)
    r.add_get("/_sandbox/callbacks", _callbacks)
    r.add_get("/_sandbox/faults", _faults)
    r.add_post("/_sandbox/faults", _add_fault)
    r.add_delete("/_sandbox/faults", _clear_faults)
    r.add_post("/_sandbox/tap", _tap)
    r.add_post("/_sandbox/inbound", _inbound)
    r.add_get("/_sandbox/calls", _calls)
    r.add_post("/_sandbox/idle", _idle)
    r.add_get("/_sandbox/health", _health)

    async def close(app: web.Application) -> None:
        await app[SANDBOX].close()

    app.on_cleanup.append(close)
    return app


@web.middleware
async def provider_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """A path or method the sandbox does not serve, answered as Graph or Twilio would."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status not in (404, 405):
            raise
        path, method = request.path, request.method.lower()
        if GRAPH_PATH.match(path):
            if exc.status == 405:
                node = path.split("/")[2]
                return graph_error(
                    100,
                    message=f"Unsupported {method} request. Object with ID '{node}' does not "
                    "exist, cannot be loaded due to missing permissions, or does not support "
                    "this operation.",
                    subcode=33,
                    kind="GraphMethodException",
                )
            return graph_error(2500, message=f"Unknown path components: {path}")
        if path.startswith(f"/{twilio.API}/"):
            if exc.status == 405:
                return twilio_error(20004, 405)
            return twilio_error(20404, 404, path=path)
        raise


async def _requests(request: web.Request) -> web.Response:
    sb, provider = request.app[SANDBOX], request.query.get("provider")
    rows = [r for r in sb.requests if not provider or r["provider"] == provider]
    return as_json(rows)


async def _callbacks(request: web.Request) -> web.Response:
    return as_json(request.app[SANDBOX].callbacks)


async def _calls(request: web.Request) -> web.Response:
    return as_json(request.app[SANDBOX].calls)


async def _health(request: web.Request) -> web.Response:
    return as_json({"ok": True, "fault_kinds": KINDS})


async def _clear(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX]
    sb.requests.clear()
    sb.callbacks.clear()
    sb.feed.clear()
    return web.Response(status=204)


async def _faults(request: web.Request) -> web.Response:
    return as_json([asdict(f) for f in request.app[SANDBOX].faults])


async def _add_fault(request: web.Request) -> web.Response:
    data = await request.json()
    try:
        faults = [Fault.parse(d) for d in (data if isinstance(data, list) else [data])]
    except (TypeError, ValueError) as exc:
        return as_json({"error": str(exc)}, 400)
    request.app[SANDBOX].faults.extend(faults)
    return as_json([asdict(f) for f in faults], 201)


async def _clear_faults(request: web.Request) -> web.Response:
    request.app[SANDBOX].faults.clear()
    return web.Response(status=204)


async def _tap(request: web.Request) -> web.Response:
    data = await request.json()
    sb, to = request.app[SANDBOX], str(data.get("to", ""))
    return as_json(
        await whatsapp.tap(sb, to, str(data.get("message_id", "")), int(data.get("choice", 0)))
    )


async def _inbound(request: web.Request) -> web.Response:
    data: dict[str, Any] = await request.json()
    sb, frm, text = request.app[SANDBOX], str(data.get("from", "")), str(data.get("text", ""))
    if data.get("provider", "whatsapp") == "twilio":
        return as_json(await twilio.inbound(sb, frm, text))
    return as_json(await whatsapp.inbound_text(sb, frm, text))


async def _idle(request: web.Request) -> web.Response:
    await request.app[SANDBOX].idle()
    return as_json({"idle": True})


async def serve(settings: Settings) -> None:
    """Run until cancelled (the CLI's Ctrl-C)."""
    check_loopback(settings.host)
    runner = web.AppRunner(make_app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


class Background:
    """The sandbox on a thread of its own with its own loop: for tests and benchmarks."""

    def __init__(self, settings: Settings, app: web.Application | None = None) -> None:
        check_loopback(settings.host)
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.app = make_app(settings) if app is None else app
        self.runner = web.AppRunner(self.app, access_log=None)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    @property
    def state(self) -> Sandbox:
        return self.app[SANDBOX]

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def start(self) -> Background:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    async def _start(self) -> None:
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.settings.host, self.settings.port)
        await site.start()
        if self.settings.port == 0:  # a free port, chosen by the OS
            server = site._server
            assert server is not None
            self.settings.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.call(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()
