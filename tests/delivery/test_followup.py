"""The voice note after a quick-reply tap: rendered then, sent as a follow-up, recorded."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from conftest import FRIDAY_MORNING, first_notice, notice, person, send
from notifyd import plugins
from notifyd.db.attempts import attempts_of
from notifyd.delivery import followup
from notifyd.errors import OutcomeUnknown, PermanentSendError, TransientSendError
from notifyd.hookspecs import Message
from notifyd.registry.sync import run_sync
from testplugins.hooks import Sender

NOW = FRIDAY_MORNING


class Failing(Sender):
    def __init__(self, name: str, error: Exception) -> None:
        super().__init__(name)
        self.error = error

    async def send(self, message: Message) -> str:
        self.sent.append(message)
        raise self.error


@pytest.fixture
def cfg(make_config, engine: Engine):
    rows = [person(1, whatsapp="0812-3456-0001", expiry_date="2026-12-18")]
    c = make_config(rows)
    run_sync(c, engine, plugins.make_manager(), NOW)
    return c


def test_the_voice_note_is_rendered_at_the_tap_and_sent_as_a_follow_up(
    cfg, engine: Engine, ogg_render: Any
) -> None:
    nid = first_notice(engine)
    send(engine, nid, "whatsapp", "wamid.tpl")
    channel = Sender("whatsapp")
    tap = NOW + timedelta(days=1)
    result = asyncio.run(followup.send_voice(engine, cfg, channel, nid, ogg_render, tap))
    assert result is not None and (result.outcome, result.provider_id) == ("sent", "whatsapp-1")
    ((facts, when, fmt),) = ogg_render.calls
    assert (facts.notification_id, when, fmt) == (nid, tap, "ogg")
    (message,) = channel.sent
    assert message.followup and message.window_open and message.attempt_id == result.attempt_id
    assert "expires in 13 days" in message.text  # the words are true at the tap
    assert message.audio is not None and message.audio.stat().st_size > 0
    log = [(a["kind"], a["outcome"], a["engine"]) for a in attempts_of(engine, nid)]
    assert log == [("notice", "sent", None), ("voice_followup", "sent", "test-voice")]
    assert notice(engine, nid)["status"] == "sent"  # the template's status is its own


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (TransientSendError("503", 5), "transient"),
        (PermanentSendError("131047 window closed"), "permanent"),
        (OutcomeUnknown("timeout"), "unknown"),
        (RuntimeError("a bug in the channel"), "transient"),  # never left pending
    ],
)
def test_a_failed_follow_up_is_logged_on_its_attempt_only(
    cfg, engine: Engine, ogg_render: Any, error: Exception, outcome: str
) -> None:
    nid = first_notice(engine)
    send(engine, nid, "whatsapp", "wamid.tpl")
    before = notice(engine, nid)
    result = asyncio.run(
        followup.send_voice(engine, cfg, Failing("whatsapp", error), nid, ogg_render, NOW)
    )
    assert result is not None and result.outcome == outcome
    assert result.error in (str(error), "channel error: RuntimeError")
    assert attempts_of(engine, nid)[-1]["outcome"] == outcome
    assert notice(engine, nid) == before


def test_an_unknown_notice_sends_nothing(cfg, engine: Engine, ogg_render: Any) -> None:
    channel = Sender("whatsapp")
    assert asyncio.run(followup.send_voice(engine, cfg, channel, 999_999, ogg_render, NOW)) is None
    assert channel.sent == [] and ogg_render.calls == []
