"""The whole plugin contract. A plugin imports only from here (and notifyd.model/errors/events).

Every hook returns objects; notifyd decides order from config, never from registration order,
and a name registered twice stops the daemon at start.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pluggy

from notifyd.config import Config
from notifyd.errors import ConfigError, OutcomeUnknown, PermanentSendError, TransientSendError
from notifyd.events import Event
from notifyd.model import RawRow

PROJECT = "notifyd"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = [
    "Channel",
    "ChannelPlugin",
    "ConfigError",
    "Message",
    "OutcomeUnknown",
    "PermanentSendError",
    "RegistrySource",
    "TransientSendError",
    "Voice",
    "hookimpl",
]


@runtime_checkable
class RegistrySource(Protocol):
    """Yields the office registry's rows, keyed by canonical field names (see config)."""

    name: str

    def read(self, cfg: Config) -> Iterator[RawRow]:
        """Stream rows one by one (never load the whole registry); raise ConfigError for a
        source that cannot be opened or lacks a required column, naming the key and the fix."""
        ...

    def describe(self, cfg: Config) -> str:
        """A short, password-free label for the sync log, e.g. the file path."""
        ...


@dataclass(frozen=True)
class Message:
    """One rendered notice for one address."""

    notification_id: int
    to: str  # E.164, or "" for channels that need no address
    language: str
    text: str  # the whole notice in words (the SMS body)
    audio: Path | None = None  # the voice note, in the channel's `audio_format`
    #: The facts as the words show them (name, permit, expiry, days_left, office_phone, …),
    #: for providers whose approved templates take parameters.
    fields: Mapping[str, str] = field(default_factory=dict)
    attempt_id: int = 0  # the delivery-log row this send belongs to


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
    """A text-to-speech engine."""

    name: str

    def languages(self) -> dict[str, list[str]]:
        """Language tag → voice names this engine can speak."""
        ...

    async def synthesize(self, text: str, language: str, voice: str, out: Path) -> None:
        """Write speech for `text` (plain text, never markup) to `out` as WAV."""
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
