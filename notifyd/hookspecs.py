"""The whole plugin contract. A plugin imports only from here (and notifyd.model/errors/events).

Every hook returns objects; notifyd decides order from config, never from registration order,
and a name registered twice stops the daemon at start.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pluggy

from notifyd.config import Config
from notifyd.errors import (
    ConfigError,
    OutcomeUnknown,
    PermanentSendError,
    SourceUnreachable,
    TransientSendError,
)
from notifyd.events import Event
from notifyd.model import RawRow

PROJECT = "notifyd"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = [
    "Channel",
    "ChannelPlugin",
    "ConfigError",
    "LooksUp",
    "Lookup",
    "Message",
    "OutcomeUnknown",
    "PermanentSendError",
    "Receipt",
    "ReceivesWebhooks",
    "RegistrySource",
    "Reply",
    "SourceUnreachable",
    "TransientSendError",
    "Voice",
    "WebhookRequest",
    "WebhookResult",
    "hookimpl",
]


@runtime_checkable
class RegistrySource(Protocol):
    """Yields the office registry's rows, keyed by canonical field names (see config)."""

    name: str

    def read(self, cfg: Config) -> Iterator[RawRow]:
        """Stream rows one by one (never load the whole registry); raise ConfigError for a
        source that is wrongly configured or lacks a required column, naming the key and the
        fix, and SourceUnreachable for one that is configured right but cannot be reached now
        (a database that is down)."""
        ...

    def describe(self, cfg: Config) -> str:
        """A short, password-free label for the sync log, e.g. the file path."""
        ...


@dataclass(frozen=True)
class Message:
    """One rendered notice for one address."""

    notification_id: int
    #: The address for the channel's kind: E.164 for whatsapp/sms/call/other ("" if none),
    #: the checked e-mail address for email (docs/plugins.md has the table).
    to: str
    language: str
    text: str  # the whole notice in words (the SMS body)
    audio: Path | None = None  # the voice note, in the channel's `audio_format`
    #: The facts as the words show them (name, permit, expiry, days_left, office_phone, …),
    #: for providers whose approved templates take parameters.
    fields: Mapping[str, str] = field(default_factory=dict)
    attempt_id: int = 0  # the delivery-log row this send belongs to
    #: The person wrote to us within the provider's conversation window (WhatsApp: 24 h),
    #: so free-form messages such as a voice note may go straight away.
    window_open: bool = False
    #: This is the voice note that follows a template the person answered (WhatsApp's
    #: quick-reply tap): send the audio only.
    followup: bool = False
    #: A public, expiring URL of `audio` served by notifyd's web app, for providers that
    #: fetch the audio themselves (a phone call's <Play>); "" when there is no web app.
    audio_url: str = ""


@runtime_checkable
class Channel(Protocol):
    """A configured channel instance (e.g. `whatsapp`), made by a ChannelPlugin."""

    name: str
    #: The voice note this channel carries: "ogg" (Opus), "mp3", "wav" (8 kHz), or None for
    #: text only. The dispatcher renders that format before calling `send`.
    audio_format: str | None

    async def send(self, message: Message) -> str:
        """Send and return the provider's message id. Raise TransientSendError when a later
        try may work, PermanentSendError when it cannot, OutcomeUnknown when the request left
        and no answer came; any other exception is a bug."""
        ...


@dataclass(frozen=True)
class WebhookRequest:
    """An HTTP request to notifyd's web app under `/hooks/<channel name>`, as it arrived."""

    method: str
    url: str  # the public URL the provider called, with its query string (signatures use it)
    headers: Mapping[str, str]  # names in lower case
    query: Mapping[str, str]
    body: bytes  # raw: signatures are computed over these bytes, never re-serialised JSON


@dataclass(frozen=True)
class Receipt:
    """A provider's word on one message it accepted."""

    provider_id: str
    status: str  # "sent", "delivered", "read", "played" or "failed"
    at: datetime | None = None
    error: str = ""  # the provider's code and text, for a failure
    opt_out: bool = False  # the failure means the person asked to stop (e.g. Twilio 21610)
    #: Our attempt id, when the provider echoed it back (`Message.attempt_id`, carried in a
    #: signed part of the request): it settles a send whose provider id was never recorded.
    attempt_id: int = 0


@dataclass(frozen=True)
class Reply:
    """Something the person sent back: a quick-reply tap, a STOP, a message."""

    from_: str  # E.164
    text: str = ""
    payload: str = ""  # a quick-reply button's payload
    context_id: str = ""  # the provider id of the message it answers, when given


@dataclass(frozen=True)
class WebhookResult:
    """What a channel made of a webhook: the answer to give and what to record."""

    status: int = 200  # 403 when verification fails: then nothing else is recorded
    body: str = ""
    content_type: str = "text/plain"
    receipts: tuple[Receipt, ...] = ()
    replies: tuple[Reply, ...] = ()


@runtime_checkable
class ReceivesWebhooks(Protocol):
    """A channel that also takes its provider's callbacks (receipts, replies).

    It may also have `webhook_content_types`, a tuple of the POST Content-Types it reads
    (e.g. ("application/json",)); other bodies are refused with 415 before it is called.
    The default is JSON and form-encoded bodies."""

    def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        """Verify the request (signature, GET challenge) and parse it. Return status 403 and
        nothing else for a request that fails verification; never raise for bad input."""
        ...


@dataclass(frozen=True)
class Lookup:
    """A send whose outcome is unknown (the request left, no answer came), to look up."""

    attempt_id: int
    to: str  # E.164, the address it was sent to
    since: datetime  # when the attempt started (UTC)


@runtime_checkable
class LooksUp(Protocol):
    """A channel whose provider can say whether a message was accepted after all (Twilio's
    message list), asked before an unknown send is sent again."""

    async def lookup(self, attempt: Lookup) -> Receipt | None:
        """The provider's word on that attempt (its id and status), or None when the provider
        has no such message (it never arrived: sending again doubles nothing). Raise
        TransientSendError when the provider cannot be asked now."""
        ...


@runtime_checkable
class ChannelPlugin(Protocol):
    """A kind of channel, named in config as `[channels.NAME] plugin = "..."`."""

    name: str

    def create(self, name: str, options: dict[str, Any], cfg: Config) -> Channel:
        """Build a channel from its `[channels.NAME.options]`; raise ConfigError naming
        `channels.NAME.options.KEY` for a bad option."""
        ...


@runtime_checkable
class Voice(Protocol):
    """A text-to-speech engine. Two optional class attributes tell notifyd how to bound it:
    `online` (a service that may hang: `voices.engine_timeout`; False: runs on this host,
    `voices.offline_timeout`; unset counts as online) and `one_at_a_time` (True: notifyd
    queues notes for it and starts each one's timeout when its turn comes)."""

    name: str

    def languages(self) -> dict[str, list[str]]:
        """Language tag (BCP-47: "zh", "zh-TW", "fil") → voice names this engine speaks,
        first the default. List only languages a voice reads natively: notifyd hands a
        language to the first engine in the configured order that lists it, so a listed
        language that the voice spells or reads in another tongue reaches the listener so."""
        ...

    async def synthesize(self, text: str, language: str, voice: str, out: Path) -> None:
        """Write speech for `text` (plain text, never markup) to `out` as WAV. The text is in
        `language`, but names in it arrive as the registry gives them, in any script: make
        them readable for this voice (transliterate what it cannot read), never let it read
        code points or spell letters it has no rules for."""
        ...


@hookspec
def register_registry_sources() -> list[RegistrySource]:  # type: ignore[empty-body]
    """Return registry sources (objects with a unique `name`), chosen by `registry.source`."""


@hookspec
def register_channels() -> list[ChannelPlugin]:  # type: ignore[empty-body]
    """Return channel plugins (objects with a unique `name`), named by `channels.*.plugin`."""


@hookspec
def register_voices() -> list[Voice]:  # type: ignore[empty-body]
    """Return TTS engines (objects with a unique `name`), tried in the configured order."""


@hookspec
def track_event(event: Event) -> None:
    """Hear about something that happened (planned, cancelled, sync finished, …), after it
    was committed. Return nothing; an exception is logged and never stops notifyd."""
