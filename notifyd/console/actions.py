"""What supervisors may change from a person's page, each recorded in the person's story
(staff_actions) and in the audit record with the address it came from.

Resend warns first when the same address already failed permanently, and goes ahead only when
the supervisor confirms; the rules (deadline, opt-outs, an extra notice for a stage not yet
due) are in db/staff.py, shared with `notifyd resend`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from notifyd.console.app import CONSOLE, USER, address, refuse, require
from notifyd.db import corrections, staff, users
from notifyd.db.search import phone_key
from notifyd.errors import NotifydError

SUPERVISORS = ("supervisor", "admin")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/person/{id:\\d+}/resend", resend)
    app.router.add_post("/person/{id:\\d+}/opt-out", opt_out)
    app.router.add_post("/person/{id:\\d+}/note", note)
    app.router.add_post("/person/{id:\\d+}/correct", correct)


def _back(pid: int, **query: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/person/{pid}" + (f"?{urlencode(query)}" if query else ""))


async def _act(request: web.Request, action: str, run: Any, pid: int, detail: str) -> Any:
    """Run an action if the role allows, auditing the attempt either way."""
    c = request.app[CONSOLE]
    who, where = request[USER]["name"], address(request)
    refusal = require(request, *SUPERVISORS)
    if refusal is not None:
        await c.db(users.audit, c.clock(), who, action, address=where, ok=False,
                   person_id=pid, detail="refused: role " + request[USER]["role"])  # fmt: skip
        return refusal
    try:
        result = await c.db(run)
    except NotifydError as exc:
        await c.db(users.audit, c.clock(), who, action, address=where, ok=False,
                   person_id=pid, detail=str(exc))  # fmt: skip
        return refuse(request, 409, str(exc))
    await c.db(users.audit, c.clock(), who, action, address=where, person_id=pid, detail=detail)
    return result


async def resend(request: web.Request) -> web.StreamResponse:
    c = request.app[CONSOLE]
    pid = int(request.match_info["id"])
    form = await request.post()
    nid = int(str(form.get("notice", "0")) or 0)
    confirmed = form.get("confirm") == "yes"
    who = request[USER]["name"]
    if not confirmed:
        warning = await c.db(staff.resend_warning, nid)
        if warning:
            raise _back(pid, warn=str(nid))
    result = await _act(
        request, "resend",
        lambda engine: staff.resend(engine, nid, who, c.clock(), person_id=pid, force=confirmed),
        pid, f"notice {nid}",
    )  # fmt: skip
    if isinstance(result, web.Response):
        return result
    raise _back(pid, done="resend")


async def opt_out(request: web.Request) -> web.StreamResponse:
    c = request.app[CONSOLE]
    pid = int(request.match_info["id"])
    form = await request.post()
    undo = form.get("undo") == "yes"
    channel = str(form.get("channel", "*")) or "*"
    if channel != "*" and channel not in c.cfg.channels:
        return refuse(request, 400, "Unknown channel.")
    reason = str(form.get("reason", ""))[:500]
    who = request[USER]["name"]
    result = await _act(
        request, "opt_out_undo" if undo else "opt_out",
        lambda engine: staff.opt_out_person(engine, pid, channel, who, reason, c.clock(), undo),
        pid, f"channel {channel}",
    )  # fmt: skip
    if isinstance(result, web.Response):
        return result
    raise _back(pid, done="opt_out_undo" if undo else "opt_out")


async def note(request: web.Request) -> web.StreamResponse:
    c = request.app[CONSOLE]
    pid = int(request.match_info["id"])
    form = await request.post()
    text = str(form.get("text", "")).strip()[:2000]
    if not text:
        return refuse(request, 400, "Write the note first.")
    who = request[USER]["name"]
    result = await _act(
        request, "note", lambda engine: staff.note(engine, pid, who, text, c.clock()), pid, ""
    )
    if isinstance(result, web.Response):
        return result
    raise _back(pid, done="note")


async def correct(request: web.Request) -> web.StreamResponse:
    c = request.app[CONSOLE]
    pid = int(request.match_info["id"])
    form = await request.post()
    field = str(form.get("field", ""))
    value = phone_key(str(form.get("value", "")), c.cfg.registry.default_region)
    if value is None:
        return refuse(request, 400, "That is not a valid phone number; write it as 0812… or +62…")
    who = request[USER]["name"]
    result = await _act(
        request, "correct_contact",
        lambda engine: corrections.correct(engine, pid, field, value, who, c.clock()),
        pid, field,
    )  # fmt: skip
    if isinstance(result, web.Response):
        return result
    raise _back(pid, done="correct")
