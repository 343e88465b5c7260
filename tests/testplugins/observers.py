"""Observers for tests: one that records events, one that always fails."""

from __future__ import annotations

from notifyd.events import Event
from notifyd.hookspecs import hookimpl


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def track_event(self, event: Event) -> None:
        self.events.append(event)


class Broken:
    @hookimpl
    def track_event(self, event: Event) -> None:
        raise RuntimeError("observer bug")


class SecondCsv:
    """A registry source whose name clashes with the built-in one."""

    @hookimpl
    def register_registry_sources(self) -> list:
        class Clash:
            name = "csv"

        return [Clash()]


class EchoVoice:
    """A voice plugin that speaks nothing, for the plugin maps."""

    @hookimpl
    def register_voices(self) -> list:
        class Echo:
            name = "echo"

        return [Echo()]
