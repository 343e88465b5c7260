"""The delivery log and the registry's sync runs, each downloadable as CSV made the same way as
the CLI's (notifyd/cli/output.py's rules: local times, formulas neutralised). Filters travel in
the query string: they are statuses, channels and dates, never a name or a number."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from notifyd.console.app import CONSOLE, HEADERS, USER, address, refuse, render, require
from notifyd.console.csvout import csv_text
from notifyd.console.views import shown
from notifyd.db import corrections, logpage, runs, users
from notifyd.db.logpage import LogFilter
from notifyd.errors import NotifydError
from notifyd.model import Status

OUTCOMES = ("pending", "sent", "unknown", "transient", "permanent")
PAGE = 100


def add_routes(app: web.Application) -> None:
    app.router.add_get("/log", log_page)
    app.router.add_get("/log.csv", log_csv)
    app.router.add_get("/registry", registry_page)
    app.router.add_get("/registry/{run:\\d+}/rejected.csv", rejected_csv)
    app.router.add_get("/registry/corrections.csv", corrections_csv)


def _day(text: str, name: str, tz: Any) -> datetime | str:
    try:
        return datetime.combine(date.fromisoformat(text), time(0), tz)
    except ValueError:
        return f"Write the date as YYYY-MM-DD ({name})."


def _filters(request: web.Request) -> LogFilter | str:
    """The log's filters from the query, or what is wrong with one of them."""
    c = request.app[CONSOLE]
    q = request.query
    status, outcome = q.get("status", ""), q.get("outcome", "")
    if status and status not in {s.value for s in Status}:
        return f"Unknown status {status!r}."
    if outcome and outcome not in OUTCOMES:
        return f"Unknown outcome {outcome!r}."
    channel, office = q.get("channel", ""), q.get("office", "")
    if channel and channel not in c.cfg.channels:
        return f"Unknown channel {channel!r}."
    if office and office not in c.cfg.offices:
        return f"Unknown office {office!r}."
    language = q.get("language", "")
    if language and language not in c.cfg.languages.available:
        return f"Unknown language {language!r}."
    stage = q.get("stage", "")
    if stage and not stage.isdigit():
        return f"Unknown stage {stage!r}."
    since = _day(q["since"], "since", c.tz) if q.get("since") else None
    until = _day(q["until"], "until", c.tz) if q.get("until") else None
    if isinstance(since, str):
        return since
    if isinstance(until, str):
        return until
    return LogFilter(
        since=since, until=until + timedelta(days=1) if until else None,  # until: inclusive
        office=office or None, channel=channel or None, outcome=outcome or None,
        status=status or None, stage=int(stage) if stage else None, language=language or None,
    )  # fmt: skip


async def log_page(request: web.Request) -> web.Response:
    c = request.app[CONSOLE]
    filters = _filters(request)
    if isinstance(filters, str):
        return refuse(request, 400, filters)
    after = request.query.get("after", "")
    try:
        cursor = logpage.Cursor.decode(after) if after else None
    except NotifydError as exc:
        return refuse(request, 400, str(exc))
    rows, more = await c.db(logpage.page, filters, cursor, PAGE)
    role = request[USER]["role"]
    rows = [{**r, "address": shown(r["address"], role)} for r in rows]
    kept = {k: v for k, v in request.query.items() if k != "after" and v}
    return render(
        request, "log.html", rows=rows, q=request.query, statuses=[s.value for s in Status],
        outcomes=OUTCOMES, channels=list(c.cfg.channels), offices=list(c.cfg.offices),
        languages=list(c.cfg.languages.available), stages=sorted(c.cfg.planner.stages),
        page=PAGE, query_string=urlencode(kept), first=cursor is None,
        next_page=urlencode({**kept, "after": more.encode()}) if more else "",
    )  # fmt: skip


async def log_csv(request: web.Request) -> web.StreamResponse:
    """The whole filtered log, streamed a page at a time (no row limit, no memory for it)."""
    c = request.app[CONSOLE]
    filters = _filters(request)
    if isinstance(filters, str):
        return refuse(request, 400, filters)
    response = web.StreamResponse(headers={
        **HEADERS, "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="delivery-log.csv"',
    })  # fmt: skip
    await response.prepare(request)
    count, cursor, header = 0, None, True
    while True:
        rows, cursor = await c.db(logpage.page, filters, cursor, 2000)
        rows = [_csv_row(r, request[USER]["role"]) for r in rows]
        if rows:
            text = csv_text(rows, c.tz)
            await response.write((text if header else text.split("\n", 1)[1]).encode())
            header = False
        count += len(rows)
        if cursor is None:
            break
    await response.write_eof()
    await c.db(users.audit, c.clock(), request[USER]["name"], "export_log",
               address=address(request), detail=f"{count} rows")  # fmt: skip
    return response


def _csv_row(r: dict[str, Any], role: str) -> dict[str, Any]:
    """The CSV's columns: the CLI's, and the office and language (not the internal person id);
    the address masked for viewers, as on the page."""
    return {k: shown(v, role) if k == "address" else v for k, v in r.items() if k != "person"}


async def registry_page(request: web.Request) -> web.Response:
    c = request.app[CONSOLE]
    recent = await c.db(runs.recent_runs)
    rejected = await c.db(runs.rejected, recent[0]["id"]) if recent else []
    fixes = await c.db(corrections.pending)
    return render(request, "registry.html", runs=recent, rejected=rejected[:200],
                  corrections=len(fixes))  # fmt: skip


async def rejected_csv(request: web.Request) -> web.Response:
    c = request.app[CONSOLE]
    run_id = int(request.match_info["run"])
    rows = await c.db(runs.rejected, run_id)
    await c.db(users.audit, c.clock(), request[USER]["name"], "export_rejected",
               address=address(request), detail=f"run {run_id}")  # fmt: skip
    return _download(csv_text(rows, c.tz), f"rejected-run-{run_id}.csv")


async def corrections_csv(request: web.Request) -> web.Response:
    """Contacts staff corrected that the registry does not hold yet, for the office to put
    into the registry (supervisors and admins: the numbers are whole)."""
    c = request.app[CONSOLE]
    refusal = require(request, "supervisor", "admin")
    if refusal is not None:
        await c.db(users.audit, c.clock(), request[USER]["name"], "export_corrections",
                   address=address(request), ok=False,
                   detail=f"refused: role {request[USER]['role']}")  # fmt: skip
        return refusal
    rows = await c.db(corrections.pending)
    await c.db(users.audit, c.clock(), request[USER]["name"], "export_corrections",
               address=address(request), detail=f"{len(rows)} rows")  # fmt: skip
    return _download(csv_text(rows, c.tz), "contact-corrections.csv")


def _download(text: str, name: str) -> web.Response:
    return web.Response(
        text=text, content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip
