"""Twilio's Calls resource: create, ring, fetch the TwiML and its <Play> audio, report.

https://www.twilio.com/docs/voice/api/call-resource; status callbacks (only `completed`
unless StatusCallbackEvent asks for initiated/ringing/answered):
https://www.twilio.com/docs/voice/api/call-resource#statuscallbackevent
"""

from __future__ import annotations

import asyncio
import io
import time
import wave
import xml.etree.ElementTree as ET
from email.utils import formatdate
from typing import Any

import aiohttp
from aiohttp import web

from notifyd.sandbox.state import SANDBOX, Sandbox, as_json, new_id
from notifyd.sandbox.twilio import (
    API,
    fault_answer,
    now_rfc2822,
    public,
    read_form,
    resource,
    sign,
    signed_post,
)
from notifyd.sandbox.twilio_rules import call_problem, twilio_error


async def create_call(request: web.Request) -> web.Response:
    """POST /2010-04-01/Accounts/{Sid}/Calls.json with To, From, Url or Twiml, StatusCallback."""
    sb = request.app[SANDBOX]
    form, events, err = await read_form(sb, request, "twilio-call")
    if err is not None:
        return err
    if (problem := call_problem(form)) is not None:
        return twilio_error(problem[0], 400, problem[1])
    fault = sb.fault("twilio-call", form["To"])
    if fault is not None and fault.kind == "hang":
        await asyncio.sleep(fault.seconds)
    elif (answer := fault_answer(fault, form["To"])) is not None:
        return answer
    sid = new_id("CA")
    outcome = {"busy": "busy", "no_answer": "no-answer"}.get(fault.kind if fault else "", "")
    res = resource(
        sb, "call", sid, form, status="queued", duration=None, start_time=None, end_time=None
    )
    sb.resources[sid] = res
    sb.calls[sid] = {"to": form["To"], "plays": [], "status": "queued"}
    sb.show("twilio-call", form["To"], sid, "call", status="queued")
    sb.later(lambda: _run_call(sb, res, form, events, outcome))
    return as_json(public(res), 201)


async def _run_call(
    sb: Sandbox, res: dict, form: dict[str, str], events: list[str], outcome: str
) -> None:
    """Ring; if answered, fetch the TwiML and every <Play> URL for real, then report."""
    sid, call = res["sid"], sb.calls[res["sid"]]
    url = form.get("StatusCallback", "")
    seq = 0

    async def report(status: str, event: str, **more: str) -> None:
        nonlocal seq
        call["status"] = status
        res.update(status=status, date_updated=now_rfc2822())
        sb.set_status(sid, status)
        if event == "completed" or event in events:
            params = _params(sb, sid, form, status) | {"SequenceNumber": str(seq), **more}
            seq += 1
            await signed_post(sb, "twilio-call", url, params)

    await report("queued", "initiated")
    await report("ringing", "ringing")
    seconds = 0.0
    if not outcome:
        res["start_time"] = now_rfc2822()
        await report("in-progress", "answered")
        twiml = form.get("Twiml", "") or await _fetch_twiml(sb, sid, form)
        for play_url in _play_urls(twiml):
            check, data = await _fetch_audio(play_url)
            if check.get("status") == 200:  # kept for the page's player
                check["file"] = f"{sid}-{len(call['plays'])}"
                sb.files[check["file"]] = (check["content_type"] or "audio/wav", data)
            call["plays"].append(check)
            seconds += check.get("seconds", 0.0)
        res["end_time"] = now_rfc2822()
    duration = str(round(seconds))
    res["duration"] = duration
    await report(outcome or "completed", "completed", CallDuration=duration, Duration=duration)


def _params(sb: Sandbox, sid: str, form: dict[str, str], status: str) -> dict[str, str]:
    return {
        "AccountSid": sb.settings.twilio_sid,
        "ApiVersion": API,
        "CallSid": sid,
        "CallStatus": status,
        "CallbackSource": "call-progress-events",
        "Direction": "outbound-api",
        "From": form.get("From", ""),
        "To": form["To"],
        "Timestamp": formatdate(usegmt=True),
    }


async def _fetch_twiml(sb: Sandbox, sid: str, form: dict[str, str]) -> str:
    params = {
        "CallSid": sid,
        "AccountSid": sb.settings.twilio_sid,
        "From": form.get("From", ""),
        "To": form["To"],
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
        "ApiVersion": API,
    }
    headers = {"X-Twilio-Signature": sign(sb, form["Url"], params)}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as client:
        async with client.post(form["Url"], data=params, headers=headers) as resp:
            return await resp.text()


def _play_urls(twiml: str) -> list[str]:
    """<Response><Play>URL</Play></Response>: https://www.twilio.com/docs/voice/twiml/play"""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError:
        return []
    return [(el.text or "").strip() for el in root.iter("Play")]


async def _fetch_audio(url: str) -> tuple[dict[str, Any], bytes]:
    """What Twilio would play: it fetches the file; WAV (here: 8 kHz, telephony) or MP3."""
    check: dict[str, Any] = {"url": url, "at": time.time()}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as client:
            async with client.get(url) as resp:
                check["status"] = resp.status
                check["content_type"] = resp.headers.get("Content-Type", "")
                data = await resp.read()
    except (aiohttp.ClientError, TimeoutError) as exc:
        check.update(ok=False, problem=f"fetch failed: {exc}")
        return check, b""
    if check["status"] != 200:
        check.update(ok=False, problem=f"HTTP {check['status']}")
    elif data[:4] == b"RIFF":
        try:
            with wave.open(io.BytesIO(data)) as w:
                rate, frames = w.getframerate(), w.getnframes()
        except (wave.Error, EOFError) as exc:
            check.update(ok=False, problem=f"bad WAV: {exc}")
            return check, data
        check.update(
            format="wav",
            rate=rate,
            seconds=frames / rate,
            ok=rate == 8000,
            problem="" if rate == 8000 else f"WAV at {rate} Hz, not 8 kHz",
        )
    elif data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        check.update(format="mp3", ok=True, problem="")
    else:
        check.update(ok=False, problem="neither WAV nor MP3")
    return check, data
