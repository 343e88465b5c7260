"""The pages staff read: Today, search, a person's page with their story, and voice notes.

Search is a POST (a name or number typed never lands in a URL, a history or a proxy's log);
a person's page is addressed by their internal id, which says nothing about them.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from notifyd.console import chart, views
from notifyd.console.app import CONSOLE, USER, Console, address, refuse, render
from notifyd.db import corrections, search, today, users
from notifyd.db import log as logstore
from notifyd.db import notices as noticestore

#: How often the console brings the name index up to date with the registry.
REFRESH_EVERY = timedelta(minutes=1)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", today_page)
    app.router.add_get("/search", search_page)
    app.router.add_post("/search", search_results)
    app.router.add_get("/person/{id:\\d+}", person_page)
    app.router.add_get("/voice/{notice:\\d+}", voice_note)
    app.on_startup.append(_start_refresh)
    app.on_cleanup.append(_stop_refresh)


async def _start_refresh(app: web.Application) -> None:
    c = app[CONSOLE]

    async def loop() -> None:
        while True:
            try:
                await c.db(search.refresh, c.clock())
            except Exception:  # a busy database now and then: try again next time
                import logging

                logging.getLogger(__name__).exception("search index refresh failed")
            await asyncio.sleep(REFRESH_EVERY.total_seconds())

    c.extra["refresh"] = asyncio.ensure_future(loop())


async def _stop_refresh(app: web.Application) -> None:
    task = app[CONSOLE].extra.get("refresh")
    if task is not None:
        task.cancel()


async def today_page(request: web.Request) -> web.Response:
    c = request.app[CONSOLE]
    now = c.clock()
    info = await c.db(today.summary, c.cfg, now, c.tz)
    return render(request, "today.html", info=info, chart=chart.svg(info["days"], info["day"]))


async def search_page(request: web.Request) -> web.Response:
    return render(request, "search.html", query="", results=None)


async def search_results(request: web.Request) -> web.Response:
    c = request.app[CONSOLE]
    form = await request.post()
    query = str(form.get("q", "")).strip()[:200]
    region = c.cfg.registry.default_region
    ids = await c.db(search.find, query, region)
    found = await c.db(search.people, ids)
    role = request[USER]["role"]
    for r in found:
        r["phone_shown"] = views.shown(r["phone"], role)
        r["whatsapp_shown"] = views.shown(r["whatsapp"], role)
        r["passport_shown"] = views.shown(r["passport_number"], role)
    return render(request, "search.html", query=query, results=found)


async def person_page(request: web.Request) -> web.Response:
    c = request.app[CONSOLE]
    pid = int(request.match_info["id"])
    found = await c.db(logstore.story_of, pid)
    if found is None:
        return refuse(request, 404, "No such person.")
    role = request[USER]["role"]
    fixes = await c.db(corrections.of_person, pid)
    who = found["person"]
    await c.db(
        users.audit, c.clock(), request[USER]["name"], "view_person",
        address=address(request), person_id=pid,
    )  # fmt: skip
    texts = await asyncio.to_thread(_texts, c, found["notices"])
    return render(
        request, "person.html", who=who, role=role,
        phone=views.shown(who["phone"], role), whatsapp=views.shown(who["whatsapp"], role),
        passport=views.shown(who["passport_number"], role),
        permits=found["permits"], notices=list(reversed(found["notices"])), texts=texts,
        story=views.story(found, fixes), corrections=[f for f in fixes if not f["dropped_at"]],
        local=lambda v: views.local(v, c.tz), shown=lambda v: views.shown(v, role),
        warning=request.query.get("warn", ""), done=request.query.get("done", ""),
    )  # fmt: skip


def _renderer(c: Console) -> Any:
    if c.renderer is None:
        from notifyd import plugins
        from notifyd.voice.render import Renderer

        c.renderer = Renderer(c.cfg, plugins.voices(plugins.make_manager(c.cfg.disabled_plugins)))
    return c.renderer


def _texts(c: Console, notices: list[dict[str, Any]]) -> dict[int, str]:
    """Each notice's words as its voice note says them now."""
    out: dict[int, str] = {}
    for n in notices:
        facts = noticestore.notice_facts(c.engine, n["permit_number"], n["stage"])
        if facts is None:
            continue
        try:
            out[n["id"]] = _renderer(c).words(facts, c.clock())[0]
        except Exception as exc:  # a template the operator broke: say so, keep the page
            out[n["id"]] = f"({type(exc).__name__}: {exc})"
    return out


async def voice_note(request: web.Request) -> web.StreamResponse:
    """A notice's voice note as MP3, rendered now when it is not cached."""
    c = request.app[CONSOLE]
    nid = int(request.match_info["notice"])
    key = await c.db(noticestore.notice_key, nid)
    if key is None:
        return refuse(request, 404, "No such notice.")
    facts = await c.db(noticestore.notice_facts, key[0], key[1])
    if facts is None:
        return refuse(request, 404, "No such notice.")
    result = await _renderer(c).render(facts, c.clock(), "mp3")
    path: Path = result.audio
    return web.FileResponse(path, headers={"Content-Type": "audio/mpeg"})
