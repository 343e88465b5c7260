"""`notifyd test-send`: one sample notice to the operator's own phone, through a real channel.

It is rendered and sent exactly as a real notice would be (same templates, voice, audio format
and channel), about a made-up permit, so an operator can hear and read what people will get
before the daemon sends anything. Recorded as a staff action; it never touches the queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers

from notifyd.config import Config
from notifyd.delivery.audiourl import url_for_message
from notifyd.delivery.dispatch import Render
from notifyd.errors import ConfigError, NotifydError
from notifyd.hookspecs import Channel, Message
from notifyd.model import NoticeFacts, Rendered
from notifyd.planning.clock import Office

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TestSent:
    channel: str
    to: str
    language: str
    provider_id: str
    engine: str | None
    text: str


def e164(phone: str, region: str) -> str:
    """The operator's number in E.164; a clear error for one that cannot receive anything."""
    try:
        number = phonenumbers.parse(phone, region)
    except phonenumbers.NumberParseException as exc:
        raise NotifydError(f"--to {phone!r}: not a phone number ({exc})") from exc
    if not phonenumbers.is_valid_number(number):
        raise NotifydError(f"--to {phone!r}: not a valid number; give it as +<country><number>")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sample_facts(cfg: Config, language: str, now: datetime) -> NoticeFacts:
    """A made-up permit of the first office, expiring at the first stage: what a real first
    notice says, with a name that tells the operator it is a test."""
    code = next(iter(cfg.offices))
    stage = max(cfg.planner.stages)
    today = now.astimezone(Office.from_config(code, cfg.offices[code]).tz).date()
    return NoticeFacts(
        notification_id=0, stage=stage, catch_up=False, language=language,
        full_name="Test Notifyd", permit_number="TEST-0000", permit_type="KITAS",
        expiry_date=today + timedelta(days=max(stage, 0)), office=code,
    )  # fmt: skip


def check_allowed(cfg: Config, to: str) -> None:
    if cfg.pilot.enabled and to not in cfg.pilot.allowlist:
        raise ConfigError(
            "pilot.allowlist", f"pilot mode is on and {to} is not on the allowlist",
            "add the number to pilot.allowlist (and reload), or turn pilot mode off",
        )  # fmt: skip


async def send_sample(
    cfg: Config, channel: Channel, render: Render, to: str, language: str, now: datetime
) -> TestSent:
    facts = sample_facts(cfg, language, now)
    rendered: Rendered = await render(facts, now, channel.audio_format)
    message = Message(
        notification_id=0, to=to, language=rendered.language, text=rendered.text,
        audio=rendered.audio, fields=rendered.fields, window_open=False,
        audio_url=url_for_message(cfg, rendered.audio, now),  # a call fetches it from the daemon
    )  # fmt: skip
    provider_id = await channel.send(message)
    log.info("test notice sent", extra={"channel": channel.name, "provider_id": provider_id})
    return TestSent(channel.name, to, rendered.language, provider_id, rendered.engine,
                    rendered.text)  # fmt: skip
