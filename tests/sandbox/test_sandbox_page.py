"""The sandbox's page in a real browser: the operator sees what the person got, taps the
template's button from the page, and notifyd's voice note then appears and plays."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from twins import PHONE_ID, TO

from conftest import channel, ogg_voice_note
from notifyd.hookspecs import Message

# One process runs this file's tests: they share a module-scoped server or fixture that
# is costly to start (scripts/test.sh shares the rest of the suite out test by test).
pytestmark = pytest.mark.xdist_group("test_sandbox_page")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WA_TOKEN", "sandbox-token")
    monkeypatch.setenv("WA_APP_SECRET", "sandbox-app-secret")
    monkeypatch.setenv("WA_VERIFY", "verify-me")


def notifyd_whatsapp(sandbox: Any, receiver: Any, tmp_path: Path) -> Any:
    """notifyd's own WhatsApp Cloud channel, its webhook behind the receiver."""
    opts = {
        "base_url": sandbox.url,
        "phone_number_id": PHONE_ID,
        "token": "env:WA_TOKEN",
        "app_secret": "env:WA_APP_SECRET",
        "verify_token": "env:WA_VERIFY",
        "templates": {"id": {"name": "notifyd_izin_tinggal", "language": "id"}},
        "fallback_language": "id",
    }
    ch = channel("whatsapp-cloud", "whatsapp", opts, tmp_path)
    receiver.handlers["whatsapp"] = ch.handle_webhook
    return ch


def send(ch: Any, message: Message) -> str:
    async def go() -> str:
        try:
            return str(await ch.send(message))
        finally:
            await ch.aclose()

    # Playwright's sync API keeps an event loop in this thread: run notifyd in another
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result(30)


def test_a_template_tapped_on_the_page_brings_the_voice_note_which_plays(
    env: None, sandbox: Any, receiver: Any, browser: Any, tmp_path: Path
) -> None:
    note = ogg_voice_note(tmp_path / "note.ogg", seconds=2.0)
    text = "Izin tinggal Anda berakhir."
    fields = {
        "name": "Ayu Lestari",
        "permit": "2C11AB0001-26",
        "expiry": "31 Desember 2026",
        "days_left": "7",
        "office_phone": "+62 342 801234",
    }
    send(notifyd_whatsapp(sandbox, receiver, tmp_path), Message(7, TO, "id", text, fields=fields))
    page = browser.new_page()
    try:
        page.goto(sandbox.url + "/_sandbox/")
        template = page.locator("article[data-kind=template]")
        assert "notifyd_izin_tinggal" in template.inner_text()
        assert "Ayu Lestari" in template.inner_text()
        template.get_by_role("button").click()  # a plain form POST, then back to the page
        page.wait_for_url(sandbox.url + "/_sandbox/")
        assert page.locator("article[data-kind=tap]").count() == 1
        replies = [r for res in receiver.results("whatsapp") for r in res.replies]
        assert [(r.from_, r.payload) for r in replies] == [(TO, "listen:7")]

        # what notifyd does on that reply: the voice note, as a follow-up inside the window
        followup = Message(7, TO, "id", text, fields=fields, audio=note, followup=True)
        send(notifyd_whatsapp(sandbox, receiver, tmp_path), followup)
        page.reload()
        voice = page.locator("article[data-kind=audio]")
        assert "Voice note" in voice.inner_text()
        player = voice.locator("audio")
        player.evaluate("a => a.play()")
        deadline = time.monotonic() + 10
        while player.evaluate("a => a.currentTime") < 0.3 and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        assert player.evaluate("a => a.currentTime") >= 0.3
        assert player.evaluate("a => a.duration") == pytest.approx(2.0, abs=0.2)
        assert player.evaluate("a => a.error") is None
    finally:
        page.close()
