"""The console's aiohttp app: its listener, security headers, sessions, CSRF and roles.

Every response carries a Content-Security-Policy of 'self' only, no framing, no referrer and
no caching. A request without a live session goes to the sign-in page; every POST must carry
the session's CSRF token (the sign-in form a pre-session one, double-submitted). There is no
access log: the pages' addresses hold only opaque ids, but there is nothing to gain from one.
The database is synchronous, so each query runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from notifyd.config import Config, listen_address
from notifyd.console import i18n
from notifyd.db import users
from notifyd.db.store import Engine

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
COOKIE = "notifyd_session"
PRE_COOKIE = "notifyd_signin"
LANG_COOKIE = "notifyd_lang"
STATIC = Path(__file__).parent / "static"
OPEN_PATHS = ("/signin", "/static/")
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; media-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}


@dataclass
class Console:
    cfg: Config
    engine: Engine
    clock: Clock
    tz: ZoneInfo
    #: the voice renderer, made on the first voice note asked for
    renderer: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    async def db(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(func, self.engine, *args, **kwargs)


CONSOLE = web.AppKey("console", Console)
#: The signed-in user (a row of console_users, with the session's csrf) and the session token.
USER = web.RequestKey("user", dict)
TOKEN = web.RequestKey("token", str)


def make_app(cfg: Config, engine: Engine, *, clock: Clock | None = None) -> web.Application:
    from notifyd.console import actions, admin, logpages, pages

    users.warm()  # the unknown-name hash made before the first sign-in, not during it
    tz = ZoneInfo(next(iter(cfg.offices.values())).timezone)
    app = web.Application(middlewares=[headers_middleware, session_middleware])
    app[CONSOLE] = Console(cfg, engine, clock or _utcnow, tz)
    app.router.add_get("/signin", signin_page)
    app.router.add_post("/signin", signin)
    app.router.add_post("/signout", signout)
    app.router.add_post("/language", language)
    app.router.add_static("/static/", STATIC)
    pages.add_routes(app)
    actions.add_routes(app)
    logpages.add_routes(app)
    admin.add_routes(app)
    return app


async def start(cfg: Config, engine: Engine, *, clock: Clock | None = None) -> web.AppRunner:
    """Serve on `console.listen`; stop with `await runner.cleanup()`."""
    runner = web.AppRunner(make_app(cfg, engine, clock=clock), access_log=None)
    await runner.setup()
    host, port = listen_address(cfg.console.listen, "console.listen")
    await web.TCPSite(runner, host, port).start()
    log.info("console listening", extra={"port": int(runner.addresses[0][1])})
    return runner


def _utcnow() -> datetime:
    return datetime.now(UTC)


def address(request: web.Request) -> str:
    """Where the request came from: the proxy's X-Forwarded-For (its last hop) when trusted."""
    if request.app[CONSOLE].cfg.console.trust_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()[:64]
    return (request.remote or "")[:64]


def lang(request: web.Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in i18n.LANGUAGES else request.app[CONSOLE].cfg.console.language


def render(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    c = request.app[CONSOLE]
    language = lang(request)
    env = i18n.environment(language)
    html = env.get_template(template).render(
        user=request.get(USER), lang=language, csrf=(request.get(USER) or {}).get("csrf"),
        tz=c.tz, now=c.clock(), **values,
    )  # fmt: skip
    return web.Response(text=html, content_type="text/html", status=status)


def refuse(request: web.Request, status: int, message: str) -> web.Response:
    return render(request, "error.html", status=status, message=message)


@web.middleware
async def headers_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # redirects too: aiohttp wants them raised
        for key, value in HEADERS.items():
            exc.headers.setdefault(key, value)
        raise
    for key, value in HEADERS.items():
        response.headers.setdefault(key, value)
    return response


@web.middleware
async def session_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    c = request.app[CONSOLE]
    token = request.cookies.get(COOKIE)
    user = None
    if token:
        idle = timedelta(minutes=c.cfg.console.idle_minutes)
        user = await c.db(users.session, token, c.clock(), idle)
    if user is not None and token:
        request[USER] = user
        request[TOKEN] = token
    if request.path.startswith(OPEN_PATHS):
        return await handler(request)
    if user is None:
        if request.method == "POST":
            return refuse(request, 403, "Your session has ended. Please sign in again.")
        raise web.HTTPSeeOther("/signin")
    if request.method == "POST":
        form = await request.post()
        sent = str(form.get("csrf", ""))
        if not hmac.compare_digest(sent.encode(), user["csrf"].encode()):
            await c.db(
                users.audit, c.clock(), user["name"], "csrf_refused", address=address(request),
                ok=False, detail=request.path,
            )  # fmt: skip
            return refuse(request, 403, "This form has expired. Open the page again.")
    return await handler(request)


def require(request: web.Request, *roles: str) -> web.Response | None:
    """None when the user's role may do this; otherwise the refusal to answer with."""
    if request[USER]["role"] in roles:
        return None
    return refuse(request, 403, "Your role does not allow this. Ask a supervisor.")


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str) -> None:
    response.set_cookie(
        name, value, httponly=True, samesite="Strict", path="/",
        secure=request.app[CONSOLE].cfg.console.https,
    )  # fmt: skip


async def signin_page(request: web.Request, message: str = "", status: int = 200) -> web.Response:
    # Kept while the browser holds one: a second page load (another tab, the favicon's
    # redirect here) must not invalidate the form already shown.
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "signin.html", status=status, pre=pre, message=message)
    set_cookie(request, response, PRE_COOKIE, pre)
    return response


async def signin(request: web.Request) -> web.StreamResponse:
    c = request.app[CONSOLE]
    form = await request.post()
    pre = request.cookies.get(PRE_COOKIE, "")
    if not pre or not hmac.compare_digest(str(form.get("pre", "")).encode(), pre.encode()):
        return await signin_page(request, "This form has expired. Please try again.", 403)
    name, password = str(form.get("name", "")), str(form.get("password", ""))
    result = await c.db(users.sign_in, name, password, address(request), c.clock())
    if result.token is None:
        text = (
            "Too many failed sign-ins. Wait 15 minutes or ask an administrator."
            if result.refusal == "locked"
            else "Wrong name or password."
        )
        return await signin_page(request, text, 403 if result.refusal == "locked" else 401)
    response = web.HTTPSeeOther("/")
    set_cookie(request, response, COOKIE, result.token)
    response.del_cookie(PRE_COOKIE, path="/")
    raise response


async def signout(request: web.Request) -> web.StreamResponse:
    c = request.app[CONSOLE]
    await c.db(users.sign_out, request[TOKEN])
    await c.db(users.audit, c.clock(), request[USER]["name"], "sign_out", address=address(request))
    response = web.HTTPSeeOther("/signin")
    response.del_cookie(COOKIE, path="/")
    raise response


async def language(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    chosen = str(form.get("lang", ""))
    back = str(form.get("back", "/"))
    response = web.HTTPSeeOther(back if back.startswith("/") and not back.startswith("//") else "/")
    if chosen in i18n.LANGUAGES:
        set_cookie(request, response, LANG_COOKIE, chosen)
    raise response
