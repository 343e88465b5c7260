"""Admin pages: console users, pause and resume, the pilot allowlist.

Only admins; anyone else is refused with 403 and the refusal is audited. Each change goes
through the same core functions as the CLI (db/users.py, db/dispatch.py's controls,
db/pilot.py) and into the staff audit record with the address it came from. A password the
console makes for a new user or a reset is shown once, on the answer to that POST, and kept
nowhere but as its hash.
"""

from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web

from notifyd.config import Config
from notifyd.console import views
from notifyd.console.app import CONSOLE, USER, address, refuse, render, require
from notifyd.db import dispatch as dispatchstore
from notifyd.db import pilot, users
from notifyd.db.search import phone_key
from notifyd.errors import NotifydError


def add_routes(app: web.Application) -> None:
    app.router.add_get("/admin", admin_home)
    app.router.add_get("/admin/users", users_page)
    app.router.add_post("/admin/users", user_action)
    app.router.add_get("/admin/pause", pause_page)
    app.router.add_post("/admin/pause", pause_action)
    app.router.add_get("/admin/pilot", pilot_page)
    app.router.add_post("/admin/pilot", pilot_action)


async def admin_home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPSeeOther("/admin/users")


async def _refused(request: web.Request, action: str) -> web.Response | None:
    """The 403 for anyone but an admin, audited; None for an admin."""
    refusal = require(request, "admin")
    if refusal is not None:
        c = request.app[CONSOLE]
        await c.db(users.audit, c.clock(), request[USER]["name"], action,
                   address=address(request), ok=False,
                   detail=f"refused: role {request[USER]['role']}")  # fmt: skip
    return refusal


async def _done(
    request: web.Request, action: str, run: Any, detail: str, audits_itself: bool = False
) -> str:
    """Run a change; audit it (unless its core function does, as db/users.py's do) or its
    failure. Returns the error's text, "" when done."""
    c = request.app[CONSOLE]
    who, where = request[USER]["name"], address(request)
    try:
        await c.db(run)
    except NotifydError as exc:
        await c.db(users.audit, c.clock(), who, action, address=where, ok=False,
                   detail=f"{detail}: {exc}")  # fmt: skip
        return str(exc)
    if not audits_itself:
        await c.db(users.audit, c.clock(), who, action, address=where, detail=detail)
    return ""


# --- users ------------------------------------------------------------------------------------


async def users_page(request: web.Request, **shown: Any) -> web.Response:
    refusal = await _refused(request, "admin_users")
    if refusal is not None:
        return refusal
    c = request.app[CONSOLE]
    found = await c.db(users.list_users)
    return render(
        request, "admin_users.html", users=found, roles=users.ROLES,
        local=lambda v: views.local(v, c.tz), status=shown.pop("status", 200), **shown,
    )  # fmt: skip


async def user_action(request: web.Request) -> web.Response:
    refusal = await _refused(request, "admin_users")
    if refusal is not None:
        return refusal
    c = request.app[CONSOLE]
    form = await request.post()
    do, name = str(form.get("do", "")), str(form.get("name", "")).strip()
    me, now, where = request[USER]["name"], c.clock(), address(request)
    password = str(form.get("password", ""))
    made = "" if password else secrets.token_urlsafe(12)  # shown once, on this answer only
    if do == "add":
        role = str(form.get("role", ""))
        error = await _done(
            request, "user_add",
            lambda e: users.add_user(e, name, role, password or made, now, me, where),
            f"{name} as {role}", audits_itself=True,
        )  # fmt: skip
    elif do == "passwd":
        error = await _done(
            request, "user_passwd",
            lambda e: users.set_password(e, name, password or made, now, me, where), name,
            audits_itself=True,
        )  # fmt: skip
    elif do in ("disable", "enable"):
        if do == "disable" and name == me:
            error = "You cannot disable yourself; ask another admin."
            await c.db(users.audit, now, me, "user_disable", address=where, ok=False,
                       detail=f"{name}: own account")  # fmt: skip
        else:
            error = await _done(
                request, f"user_{do}",
                lambda e: users.set_active(e, name, do == "enable", now, me, where), name,
                audits_itself=True,
            )  # fmt: skip
    else:
        return refuse(request, 400, "Unknown action.")
    if error:
        return await users_page(request, error=error, status=409)
    one_time = made if do in ("add", "passwd") else ""
    return await users_page(request, done=do, done_name=name, one_time=one_time)


# --- pause and resume -------------------------------------------------------------------------


async def pause_page(request: web.Request, **shown: Any) -> web.Response:
    refusal = await _refused(request, "admin_pause")
    if refusal is not None:
        return refusal
    c = request.app[CONSOLE]
    paused = await c.db(dispatchstore.paused)
    recent = await c.db(dispatchstore.control_log, 20)
    return render(
        request, "admin_pause.html", paused=paused, recent=recent, scopes=_scopes(c.cfg),
        local=lambda v: views.local(v, c.tz), status=shown.pop("status", 200), **shown,
    )  # fmt: skip


def _scopes(cfg: Config) -> dict[str, str]:
    """What can be paused → how it is named: all sending, each channel, and each office when
    there are several (with one, the office is all sending)."""
    out = {"*": "all sending"} | {name: f"channel {name}" for name in cfg.channels}
    if len(cfg.offices) > 1:
        for code, office in cfg.offices.items():
            out[dispatchstore.office_scope(code)] = f"office {code} ({office.name})"
    return out


async def pause_action(request: web.Request) -> web.Response:
    refusal = await _refused(request, "admin_pause")
    if refusal is not None:
        return refusal
    c = request.app[CONSOLE]
    form = await request.post()
    do, scope = str(form.get("do", "")), str(form.get("scope", "*"))
    reason = str(form.get("reason", "")).strip()[:500]
    if do not in ("pause", "resume") or scope not in _scopes(c.cfg):
        return refuse(request, 400, "Unknown action or channel.")
    if not reason:
        return await pause_page(request, error="Give a reason: it is shown to everyone.",
                                status=400)  # fmt: skip
    me = request[USER]["name"]
    what = _scopes(c.cfg)[scope]
    await _done(
        request, do,
        lambda e: dispatchstore.set_control(e, scope, do, me, c.clock(), reason),
        f"{what}: {reason}",
    )  # fmt: skip
    return await pause_page(request, done=do)


# --- the pilot allowlist ----------------------------------------------------------------------


async def pilot_page(request: web.Request, **shown: Any) -> web.Response:
    refusal = await _refused(request, "admin_pilot")
    if refusal is not None:
        return refusal
    c = request.app[CONSOLE]
    added = await c.db(pilot.numbers)
    return render(
        request, "admin_pilot.html", enabled=c.cfg.pilot.enabled,
        configured=c.cfg.pilot.allowlist, added=added, local=lambda v: views.local(v, c.tz),
        status=shown.pop("status", 200), **shown,
    )  # fmt: skip


async def pilot_action(request: web.Request) -> web.Response:
    refusal = await _refused(request, "admin_pilot")
    if refusal is not None:
        return refusal
    c = request.app[CONSOLE]
    form = await request.post()
    do = str(form.get("do", ""))
    number = phone_key(str(form.get("number", "")), c.cfg.registry.default_region)
    if number is None:
        return await pilot_page(
            request, error="That is not a valid phone number; write it as 0812… or +62…",
            status=400,
        )  # fmt: skip
    me = request[USER]["name"]
    if do == "add":
        error = await _done(request, "pilot_add",
                            lambda e: pilot.add(e, number, me, c.clock()),
                            views.mask(number))  # fmt: skip
    elif do == "remove":
        error = await _done(request, "pilot_remove", lambda e: pilot.remove(e, number),
                            views.mask(number))  # fmt: skip
    else:
        return refuse(request, 400, "Unknown action.")
    if error:
        return await pilot_page(request, error=error, status=409)
    return await pilot_page(request, done=do)
