"""notifyd's one HTTP app: provider webhooks, expiring audio URLs for calls, and health.

`/hooks/{channel}` hands the raw request to the channel, which verifies and parses it; what it
returns is recorded only for a 2xx answer, so a request that fails verification (403) records
nothing. The database is synchronous, so recording runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from notifyd.config import Config, HttpConfig, listen_address
from notifyd.db import runs, store
from notifyd.db.store import DatabaseError, Engine
from notifyd.delivery import audiourl, receipts
from notifyd.hookspecs import Channel, ReceivesWebhooks, WebhookRequest, WebhookResult
from notifyd.web import limits

log = logging.getLogger(__name__)
OnReply = Callable[[int, str], Awaitable[None] | None]
Clock = Callable[[], datetime]


@dataclass
class State:
    cfg: Config
    engine: Engine
    channels: Mapping[str, Channel]
    on_reply: OnReply | None
    clock: Clock
    secret: bytes | None
    #: The daemon's word on its database: None when fine, else why it is degraded.
    degraded: Callable[[], str | None] = lambda: None
    tasks: set[asyncio.Future[Any]] = field(default_factory=set)
    #: webhooks waiting to be recorded together (see _record_soon)
    queue: list[tuple[str, WebhookResult, asyncio.Future[list[int]]]] = field(default_factory=list)
    writer: asyncio.Future[None] | None = None


STATE = web.AppKey("state", State)


def make_app(
    cfg: Config, engine: Engine, channels: Mapping[str, Channel],
    on_reply: OnReply | None = None, *, clock: Clock | None = None,
    degraded: Callable[[], str | None] | None = None,
) -> web.Application:  # fmt: skip
    secret = audiourl.secret(cfg) if cfg.http.url_secret else None
    app = web.Application()
    app[STATE] = State(cfg, engine, channels, on_reply, clock or _utcnow, secret)
    if degraded is not None:
        app[STATE].degraded = degraded
    app.router.add_route("GET", "/hooks/{channel}", hook)
    app.router.add_route("POST", "/hooks/{channel}", hook)
    app.router.add_get("/audio/{token}", audio)
    app.router.add_get("/healthz", healthz)
    app.on_cleanup.append(_drain)
    return app


async def start(
    cfg: Config, engine: Engine, channels: Mapping[str, Channel],
    on_reply: OnReply | None = None, *, clock: Clock | None = None,
    degraded: Callable[[], str | None] | None = None,
) -> web.AppRunner:  # fmt: skip
    """Serve on `http.listen`; the caller stops it with `await runner.cleanup()`."""
    # No access log: webhook queries carry verify tokens and audio paths carry signed tokens.
    app = make_app(cfg, engine, channels, on_reply, clock=clock, degraded=degraded)
    runner = web.AppRunner(app, access_log=None, **limits.handler_args(cfg))
    await runner.setup()
    host, port = listen_address(cfg.http.listen)
    bound = limits.ensure_descriptors(cfg)
    await limits.BoundedSite(runner, host, port, bound).start()
    log.info("web app listening", extra={"port": bound_port(runner)})
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port actually bound (useful with port 0)."""
    return int(runner.addresses[0][1])


def _utcnow() -> datetime:
    return datetime.now(UTC)


def public_url(request: web.Request, http: HttpConfig) -> str:
    """The URL the provider called, as it signed it: `public_url` behind a proxy, forwarded
    headers only from a trusted proxy, else what reached us."""
    if http.public_url:
        return http.public_url.rstrip("/") + request.raw_path
    scheme, host = request.scheme, request.host
    if http.trust_proxy:
        scheme = _first(request.headers.get("X-Forwarded-Proto")) or scheme
        host = _first(request.headers.get("X-Forwarded-Host")) or host
    return f"{scheme}://{host}{request.raw_path}"


def _first(value: str | None) -> str:
    return (value or "").split(",")[0].strip()


async def hook(request: web.Request) -> web.Response:
    st = request.app[STATE]
    name = request.match_info["channel"]
    channel = st.channels.get(name)
    if channel is None or not isinstance(channel, ReceivesWebhooks):
        raise web.HTTPNotFound(text="no such channel\n")
    headers: dict[str, str] = {}
    for key, value in request.headers.items():
        k = key.lower()
        headers[k] = f"{headers[k]}, {value}" if k in headers else value
    if request.method == "POST" and not _accepts(channel, request.content_type):
        return web.Response(status=415, text="unsupported Content-Type\n")
    body = await limits.read_body(request, st.cfg.http.body_timeout)
    if body is None:
        return web.Response(status=408, text="request body too slow or cut off\n")
    incoming = WebhookRequest(
        method=request.method, url=public_url(request, st.cfg.http), headers=headers,
        query=dict(request.query), body=body,
    )  # fmt: skip
    try:
        result = channel.handle_webhook(incoming)
    except Exception as exc:  # the contract says never raise: a body the plugin could not read
        # A 4xx, not a 500: providers retry a 5xx, and a hostile body must not earn retries.
        log.error("webhook handler raised", extra={"channel": name, "error": type(exc).__name__})
        log.debug("webhook handler traceback", exc_info=True)
        return web.Response(status=400, text="unreadable request\n")
    if 200 <= result.status < 300 and (result.receipts or result.replies):
        try:
            wanted = await _record_soon(st, name, result)
        except DatabaseError as exc:  # the provider retries a 5xx; receipts are idempotent
            log.error("webhook not recorded", extra={"channel": name, "error": type(exc).__name__})
            return web.Response(status=503, text="try again later\n")
        for notification_id in wanted:
            _follow_up(st, notification_id, name)
    if result.status == 403:
        log.warning("webhook refused", extra={"channel": name})
    return web.Response(
        status=result.status,
        body=result.body.encode(),
        headers={"Content-Type": result.content_type},
    )


#: What a webhook body may be when the channel does not say (`webhook_content_types`).
CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")


def _accepts(channel: Any, content_type: str) -> bool:
    wanted = getattr(channel, "webhook_content_types", CONTENT_TYPES)
    return content_type.lower() in wanted


async def _record_soon(st: State, channel: str, result: WebhookResult) -> list[int]:
    """Record one webhook's receipts and replies; answers once they are committed. Webhooks
    that arrive while a group is being written are written together, in one transaction on
    SQLite, so a burst of receipts does not pay a commit each."""
    done: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
    st.queue.append((channel, result, done))
    if st.writer is None or st.writer.done():
        st.writer = asyncio.ensure_future(_writer(st))
    return await done


async def _writer(st: State) -> None:
    while st.queue:
        group = st.queue[:]
        del st.queue[:]
        try:
            wanted = await asyncio.to_thread(_record, st, group, st.clock())
        except Exception as exc:  # every webhook of the group answers the error (503)
            for _, _, done in group:
                if not done.done():
                    done.set_exception(exc)
            continue
        for (_, _, done), ids in zip(group, wanted, strict=True):
            if not done.done():
                done.set_result(ids)


def _record(
    st: State, group: list[tuple[str, WebhookResult, Any]], now: datetime
) -> list[list[int]]:
    order = st.cfg.channel_order or list(st.cfg.channels)
    if st.engine.dialect.name == "sqlite":
        batches = [(channel, result.receipts) for channel, result, _ in group if result.receipts]
        receipts.apply_receipt_batches(st.engine, batches, order, now)
    else:  # PostgreSQL: a short transaction per receipt keeps row locks brief
        for channel, result, _ in group:
            receipts.apply_receipts(st.engine, channel, result.receipts, order, now)
    return [
        receipts.apply_replies(st.engine, channel, result.replies, order, now)
        for channel, result, _ in group
    ]


def _follow_up(st: State, notification_id: int, channel: str) -> None:
    """Hand the tap to the daemon without holding up the provider's request."""
    if st.on_reply is None:
        log.warning("a listen tap arrived and nobody sends follow-ups", extra={"channel": channel})
        return
    try:
        pending = st.on_reply(notification_id, channel)
    except Exception:
        log.exception("follow-up failed", extra={"notification": notification_id})
        return
    if inspect.isawaitable(pending):
        task = asyncio.ensure_future(pending)
        st.tasks.add(task)
        task.add_done_callback(_finished)
        task.add_done_callback(st.tasks.discard)


def _finished(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("follow-up failed", exc_info=task.exception())


async def _drain(app: web.Application) -> None:
    tasks = list(app[STATE].tasks)
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


async def audio(request: web.Request) -> web.StreamResponse:
    st = request.app[STATE]
    if st.secret is None:
        raise web.HTTPNotFound(text="audio URLs are off (no http.url_secret)\n")
    try:
        path = audiourl.check(st.cfg, st.secret, request.match_info["token"], st.clock())
    except audiourl.Refused as exc:
        raise _refusal(exc) from None
    if not path.is_file():
        raise web.HTTPNotFound(text="no such audio\n")
    return web.FileResponse(
        path,
        headers={
            "Content-Type": audiourl.content_type(path),
            "Cache-Control": "private, no-store",
        },
    )


def _refusal(exc: audiourl.Refused) -> web.HTTPException:
    cls = web.HTTPGone if exc.status == 410 else web.HTTPForbidden
    return cls(text=f"{exc}\n")


async def healthz(request: web.Request) -> web.Response:
    """Is the database reachable, and when did the last registry sync finish? Nothing about
    people."""
    st = request.app[STATE]
    try:
        last = await asyncio.to_thread(runs.last_sync_finished, st.engine)
    except DatabaseError as exc:
        state = st.degraded() or store.classify(exc)
        if state in ("disk_full", "read_only"):
            body = {"status": "degraded", "database": state, "last_sync": None}
        else:
            body = {"status": "error", "database": type(exc).__name__, "last_sync": None}
        return web.json_response(body, status=503)
    when = last.isoformat() if last else None
    degraded = st.degraded()
    if degraded:  # readable, but it takes no writes: nothing is sent until it recovers
        body = {"status": "degraded", "database": degraded, "last_sync": when}
        return web.json_response(body, status=503)
    return web.json_response({"status": "ok", "database": "ok", "last_sync": when})
