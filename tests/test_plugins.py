"""The plugin contract and the manager: documented hooks, entry points, observers."""

from __future__ import annotations

import inspect
import logging
from importlib.metadata import entry_points

import pytest

from conftest import FRIDAY_MORNING, person
from notifyd import hookspecs, plugins
from notifyd.errors import ConfigError
from notifyd.events import SyncFinished
from notifyd.registry.sync import run_sync
from testplugins.observers import Broken, EchoVoice, Recorder, SecondCsv

HOOKS = [
    name
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(fn, "notifyd_spec")
]


def test_the_contract_has_the_hook_of_every_plugin_kind() -> None:
    assert set(HOOKS) == {
        "register_registry_sources", "register_channels", "register_voices", "track_event"
    }  # fmt: skip


@pytest.mark.parametrize("name", HOOKS)
def test_every_hook_says_what_it_gets_and_returns(name: str) -> None:
    fn = getattr(hookspecs, name)
    assert fn.__doc__ and len(fn.__doc__.split()) >= 8
    assert "return" in fn.__doc__.lower()  # what it returns, even if nothing
    assert "return" in fn.__annotations__


def test_built_ins_are_found_through_the_entry_point_group_operators_use() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="notifyd")}
    assert found["csv"] == "notifyd_plugins.registry.csv_source"
    assert found["sql"] == "notifyd_plugins.registry.sql_source"
    assert found["spool"] == "notifyd_plugins.spool.channel"
    pm = plugins.make_manager()
    assert {"csv", "sql"} <= plugins.registry_sources(pm).keys()
    assert "spool" in plugins.channel_plugins(pm)


def test_a_disabled_plugin_is_not_loaded() -> None:
    pm = plugins.make_manager(["sql"])
    assert "sql" not in plugins.registry_sources(pm)


def test_two_plugins_with_one_name_stop_at_start() -> None:
    pm = plugins.make_manager()
    pm.register(SecondCsv())
    with pytest.raises(ConfigError, match="registered twice"):
        plugins.registry_sources(pm)


def test_an_unknown_registry_source_names_the_key_and_the_choices() -> None:
    with pytest.raises(ConfigError) as info:
        plugins.source_for(plugins.make_manager(), "excel")
    assert info.value.key == "registry.source" and "csv" in info.value.fix


def test_observers_hear_a_finished_sync_and_a_broken_one_stops_nothing(
    engine, make_config, caplog
) -> None:
    pm = plugins.make_manager()
    recorder = Recorder()
    pm.register(Broken())
    pm.register(recorder)
    with caplog.at_level(logging.ERROR, logger="notifyd.plugins"):
        report = run_sync(make_config([person(1)]), engine, pm, FRIDAY_MORNING)
    (event,) = recorder.events
    assert isinstance(event, SyncFinished)
    assert (event.run_id, event.accepted, event.planned) == (report.run_id, 1, 3)
    assert "observer failed" in caplog.text


def test_a_registered_voice_is_found_by_its_name() -> None:
    pm = plugins.make_manager()
    assert set(plugins.voices(pm)) == {"espeak-ng", "edge-tts", "open-jtalk"}  # the built-ins
    pm.register(EchoVoice())
    assert "echo" in plugins.voices(pm)


def test_loading_the_channel_plugins_does_not_import_aiohttp() -> None:
    """Every command loads the plugins; only a channel's first request needs aiohttp."""
    import subprocess
    import sys

    code = (
        "import sys; from notifyd import plugins; plugins.make_manager(); "
        "assert 'aiohttp' not in sys.modules, 'aiohttp imported at load'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
