"""Builds the plugin manager (one per process, never a global) and the name → plugin maps."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any, TypeVar

import pluggy

from notifyd import hookspecs
from notifyd.errors import ConfigError
from notifyd.events import Event

log = logging.getLogger(__name__)
T = TypeVar("T")


def make_manager(disabled: list[str] | tuple[str, ...] = ()) -> pluggy.PluginManager:
    """Load built-in and third-party plugins alike, through the `notifyd` entry-point group."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in disabled:
        pm.set_blocked(name)
    pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    pm.check_pending()
    return pm


def _by_name(results: list[list[Any]], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for group in results:
        for obj in group:
            if obj.name in out:
                raise ConfigError(
                    f"plugins ({what} {obj.name!r})", "registered twice",
                    "uninstall or disable (disabled_plugins) one of the two plugins",
                )  # fmt: skip
            out[obj.name] = obj
    return out


def registry_sources(pm: pluggy.PluginManager) -> dict[str, hookspecs.RegistrySource]:
    return _by_name(pm.hook.register_registry_sources(), "registry source")


def channel_plugins(pm: pluggy.PluginManager) -> dict[str, hookspecs.ChannelPlugin]:
    return _by_name(pm.hook.register_channels(), "channel plugin")


def voices(pm: pluggy.PluginManager) -> dict[str, hookspecs.Voice]:
    return _by_name(pm.hook.register_voices(), "voice")


def source_for(pm: pluggy.PluginManager, name: str) -> hookspecs.RegistrySource:
    sources = registry_sources(pm)
    if name not in sources:
        raise missing(pm, "registry source", name, sources, "registry.source")
    return sources[name]


_HOOKS = {
    "channel plugin": "register_channels",
    "voice": "register_voices",
    "registry source": "register_registry_sources",
}


def disabled_provider(pm: pluggy.PluginManager, what: str, name: str) -> str | None:
    """The entry point that `disabled_plugins` turns off and that would provide `name`.

    Only asked when a name is missing, so loading the disabled module costs nothing otherwise.
    """
    for ep in entry_points(group=hookspecs.PROJECT):
        if not pm.is_blocked(ep.name):
            continue
        try:
            provide = getattr(ep.load(), _HOOKS[what], None)
            names = [obj.name for obj in provide()] if provide else []
        except Exception:  # a broken disabled plugin provides nothing
            continue
        if name in names:
            return ep.name
    return None


def missing(
    pm: pluggy.PluginManager, what: str, name: str, known: Iterable[str], key: str
) -> ConfigError:
    """The error for a plugin name nothing provides: disabled by config, or not installed."""
    choices = ", ".join(sorted(known)) or "(none)"
    blocked = disabled_provider(pm, what, name)
    if blocked:
        return ConfigError(
            key, f"the {what} {name!r} comes from the plugin {blocked!r}, which disabled_plugins "
            "turns off", f"take {blocked!r} out of disabled_plugins, or use one of: {choices}",
        )  # fmt: skip
    return ConfigError(
        key, f"no {what} called {name!r}",
        f"use one of: {choices}, or install the plugin that provides it",
    )  # fmt: skip


def emit(pm: pluggy.PluginManager, event: Event) -> None:
    """Tell every observer, one by one; a failing observer is logged and skipped."""
    for impl in pm.hook.track_event.get_hookimpls():
        try:
            impl.function(event=event)
        except Exception:
            log.exception("observer failed", extra={"plugin": impl.plugin_name})


def listing(pm: pluggy.PluginManager) -> list[dict[str, str]]:
    """What is loaded, for `notifyd plugins`."""
    rows = []
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
        rows.append(
            {
                "plugin": name,
                "module": getattr(plugin, "__name__", type(plugin).__name__),
                "distribution": f"{dist.project_name} {dist.version}" if dist else "",
                "hooks": ", ".join(hooks),
            }
        )
    return sorted(rows, key=lambda r: r["plugin"])
