"""The delivery log and the registry's sync runs, each downloadable as CSV made the same way as
the CLI's (notifyd/cli/output.py's rules: local times, formulas neutralised). Filters travel in
the query string: they are statuses, channels and dates, never a name or a number."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from aiohttp import web

from notifyd.console.app import CONSOLE, USER, address, refuse, render
from notifyd.console.csvout import csv_text
from notifyd.console.views import shown
from notifyd.db import log as logstore
from notifyd.db import runs, users
from notifyd.model import Status

OUTCOMES = ("pending", "sent", "unknown", "transient", "permanent")
PAGE = 200


def add_routes(app: web.Application) -> None:
    app.router.add_get("/log", log_page)
    app.router.add_get("/log.csv", log_csv)
    app.router.add_get("/registry", registry_page)
    app.router.add_get("/registry/{run:\\d+}/rejected.csv", rejected_csv)


def _filters(request: web.Request) -> dict[str, Any] | str:
    """The log's filters from the query, or what is wrong with one of them."""
    q = request.query
    out: dict[str, Any] = {}
    status, outcome = q.get("status", ""), q.get("outcome", "")
    if status and status not in {s.value for s in Status}:
        return f"Unknown status {status!r}."
    if outcome and outcome not in OUTCOMES:
        return f"Unknown outcome {outcome!r}."
    out["status"], out["outcome"] = status or None, outcome or None
    channel = q.get("channel", "")
    out["channel"] = channel if channel in request.app[CONSOLE].cfg.channels else None
    since = q.get("since", "")
    if since:
        try:
            day = date.fromisoformat(since)
        except ValueError:
            return "Write the date as YYYY-MM-DD."
        out["since"] = datetime.combine(day, time(0), request.app[CONSOLE].tz)
    return out


async def log_page(request: web.Request) -> web.Response:
    c = request.app[CONSOLE]
    filters = _filters(request)
    if isinstance(filters, str):
        return refuse(request, 400, filters)
    rows = await c.db(logstore.delivery_log, limit=PAGE, **filters)
    return render(
        request, "log.html", rows=rows, q=request.query, statuses=[s.value for s in Status],
        outcomes=OUTCOMES, channels=list(c.cfg.channels), page=PAGE,
        query_string=request.query_string,
    )  # fmt: skip


async def log_csv(request: web.Request) -> web.Response:
    c = request.app[CONSOLE]
    filters = _filters(request)
    if isinstance(filters, str):
        return refuse(request, 400, filters)
    rows = await c.db(logstore.delivery_log, limit=100_000, **filters)
    role = request[USER]["role"]
    rows = [{**r, "address": shown(r.get("address"), role)} for r in rows]
    await c.db(users.audit, c.clock(), request[USER]["name"], "export_log",
               address=address(request), detail=f"{len(rows)} rows")  # fmt: skip
    return _download(csv_text(rows, c.tz), "delivery-log.csv")


async def registry_page(request: web.Request) -> web.Response:
    c = request.app[CONSOLE]
    recent = await c.db(runs.recent_runs)
    rejected = await c.db(runs.rejected, recent[0]["id"]) if recent else []
    return render(request, "registry.html", runs=recent, rejected=rejected[:PAGE])


async def rejected_csv(request: web.Request) -> web.Response:
    c = request.app[CONSOLE]
    run_id = int(request.match_info["run"])
    rows = await c.db(runs.rejected, run_id)
    await c.db(users.audit, c.clock(), request[USER]["name"], "export_rejected",
               address=address(request), detail=f"run {run_id}")  # fmt: skip
    return _download(csv_text(rows, c.tz), f"rejected-run-{run_id}.csv")


def _download(text: str, name: str) -> web.Response:
    return web.Response(
        text=text, content_type="text/csv", charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )  # fmt: skip
