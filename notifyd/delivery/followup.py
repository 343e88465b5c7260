"""The voice note that follows a template the person answered (a WhatsApp quick-reply tap).

Rendered when the tap arrives, so its words (days left) are true then; recorded as an attempt
of kind "voice_followup". The notice's own status is the template's business: a follow-up that
fails is logged on its attempt and changes nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

from notifyd.config import Config
from notifyd.db import attempts as attemptstore
from notifyd.db.store import Engine
from notifyd.errors import OutcomeUnknown, PermanentSendError, TransientSendError
from notifyd.hookspecs import Channel, Message
from notifyd.model import NoticeFacts, Rendered

log = logging.getLogger(__name__)
Render = Callable[[NoticeFacts, datetime, str | None], Awaitable[Rendered]]
KIND = "voice_followup"


@dataclass(frozen=True)
class FollowupResult:
    attempt_id: int
    outcome: str  # sent, transient, permanent, unknown
    provider_id: str | None = None
    error: str | None = None


async def send_voice(
    engine: Engine,
    cfg: Config,
    channel: Channel,
    notification_id: int,
    render: Render,
    now: datetime,
    audio_url: Callable[[Path], str] | None = None,
) -> FollowupResult | None:
    """Render the notice's voice note in the channel's format and send it as a follow-up.

    Returns None for an unknown notice or a person without an address on this channel.
    """
    found = await asyncio.to_thread(attemptstore.notice_facts, engine, notification_id)
    if found is None:
        log.warning("follow-up for an unknown notice", extra={"notification": notification_id})
        return None
    facts, addressee = found
    section = cfg.channels.get(channel.name)
    to = addressee.for_kind(section.kind if section else "other")
    if not to:
        log.warning("follow-up without an address", extra={"notification": notification_id})
        return None
    rendered = await render(facts, now, channel.audio_format)
    attempt_id = await asyncio.to_thread(
        partial(attemptstore.start_attempt, kind=KIND, engine_name=rendered.engine, address=to),
        engine, notification_id, channel.name, now,
    )  # fmt: skip
    message = Message(
        notification_id=notification_id, to=to, language=rendered.language, text=rendered.text,
        audio=rendered.audio, fields=rendered.fields, attempt_id=attempt_id, window_open=True,
        followup=True,
        audio_url=audio_url(rendered.audio) if audio_url and rendered.audio else "",
    )  # fmt: skip
    outcome, provider_id = "unknown", None
    error: str | None = "cancelled at shutdown"
    try:  # the attempt is settled whatever happens: a pending one would block later taps
        provider_id = await asyncio.wait_for(channel.send(message), cfg.dispatch.send_timeout)
        outcome, error = "sent", None
    except TransientSendError as exc:
        outcome, error = "transient", exc.reason
    except PermanentSendError as exc:
        outcome, error = "permanent", exc.reason
    except OutcomeUnknown as exc:
        outcome, error = "unknown", exc.reason
    except TimeoutError:
        outcome, error = "unknown", "no answer within dispatch.send_timeout"
    except Exception as exc:  # a channel bug: recorded, never left pending
        log.exception("channel raised an untyped error", extra={"channel": channel.name})
        outcome, error = "transient", f"channel error: {type(exc).__name__}"
    finally:
        await asyncio.shield(
            asyncio.to_thread(
                partial(attemptstore.finish_attempt, provider_id=provider_id, error=error),
                engine,
                attempt_id,
                now,
                outcome,
            )  # fmt: skip
        )
    log.info(
        "voice follow-up",
        extra={"notification": notification_id, "channel": channel.name, "outcome": outcome},
    )
    return FollowupResult(attempt_id, outcome, provider_id, error)
