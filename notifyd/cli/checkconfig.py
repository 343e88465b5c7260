"""`notifyd check-config`: everything a first run would trip on, found now and listed at once.

Beyond the file's own rules it loads the plugins and channels, resolves every secret
reference, loads the database driver and connects, and reads the registry export's header
and first rows through the mapping, so an OK here means `sync` can start.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import replace
from itertools import islice
from typing import TypeVar

import pluggy

from notifyd import plugins
from notifyd.cli import common
from notifyd.cli import voice as cli_voice
from notifyd.config import Config
from notifyd.config.secrets import unresolved
from notifyd.errors import ConfigError, ConfigErrors
from notifyd.model import Record
from notifyd.registry.reach import count_reach, reach_line, reach_warnings

#: Rows of the export read to count each channel's reach (a sample for a large registry).
SAMPLE = 20_000
T = TypeVar("T")


def attempt(errors: list[ConfigError], step: Callable[[], T]) -> T | None:
    """Run one check; a config problem is noted and the next check still runs."""
    try:
        return step()
    except ConfigErrors as exc:
        errors.extend(exc.errors)
    except ConfigError as exc:
        errors.append(exc)
    return None


def cmd_check_config(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)  # the file's own rules: all of them, in one error
    pm = plugins.make_manager(cfg.disabled_plugins)
    errors = unresolved(cfg)
    secrets_ok = not errors
    from notifyd.delivery.dispatch import build_channels

    for name, channel in cfg.channels.items():  # each plugin checks its options
        one = replace(cfg, channels={name: channel})
        attempt(errors, lambda one=one: build_channels(one, pm))  # type: ignore[misc]
    attempt(errors, lambda: cli_voice.check_voices(cfg, pm))
    database = _database(cfg, errors, secrets_ok)
    export, warnings = _export(cfg, pm, errors)
    offices = ", ".join(f"{code} ({o.timezone}, {o.window})" for code, o in cfg.offices.items())
    verdict = "OK" if not errors else f"{len(errors)} problem{'s' * (len(errors) > 1)}"
    common.emit(
        f"{cfg.source_path}: {verdict}\n"
        f"  offices: {offices}\n"
        f"  stages: {cfg.planner.stages} days before expiry, min gap {cfg.planner.min_gap_days}\n"
        f"  database: {database}\n"
        f"  registry: {cfg.registry.source} source, {export}\n"
        f"  channels: {', '.join(cfg.channel_order or cfg.channels) or '(none)'}\n"
    )
    for warning in warnings:
        common.emit(f"  warning: {warning}\n")
    if errors:
        raise ConfigErrors(errors)
    return 0


def _database(cfg: Config, errors: list[ConfigError], secrets_ok: bool) -> str:
    from notifyd.db import store

    if not secrets_ok and (cfg.database.url or cfg.database.password):
        return "not tried: a secret reference cannot be read (see the problems)"
    return attempt(errors, lambda: store.probe(cfg)) or "could not connect (see the problems)"


def _export(
    cfg: Config, pm: pluggy.PluginManager, errors: list[ConfigError]
) -> tuple[str, list[str]]:
    """Read the header and a sample of rows; count what each channel reaches in them."""
    from notifyd.registry.normalise import Rules, normalise

    source = attempt(errors, lambda: plugins.source_for(pm, cfg.registry.source))
    if source is None:
        return "not read", []
    problems: list[ConfigError] = []
    rows = attempt(problems, lambda: list(islice(source.read(cfg), SAMPLE)))
    mapping = [e for e in problems if e.key.startswith("registry.columns")]
    errors.extend(mapping)
    if rows is None and mapping:
        return "its header does not fit registry.columns (see the problems)", []
    if rows is None:  # not there yet, or not readable here: sync will say so again
        return "not read", [f"the export could not be read, so its header was not checked: {e}"
                            for e in problems]  # fmt: skip
    rules = Rules.from_config(cfg)
    records = [r for r in (normalise(row, rules) for row in rows) if isinstance(r, Record)]
    people, counts = count_reach(r.channels for r in records)
    order = cfg.channel_order or list(cfg.channels)
    sample = f"the first {len(rows):,} rows" if len(rows) == SAMPLE else f"{len(rows):,} rows"
    summary = f"{sample} read, {people:,} usable; can reach: {reach_line(order, people, counts)}"
    warnings = reach_warnings(order, people, counts, cfg.registry.min_channel_share)
    sequential = sum(
        1
        for i, r in enumerate(rows, start=1)
        if r.values.get("registry_id", "").strip() in (str(i), str(r.line), str(r.line - 1))
    )
    if len(rows) >= 3 and sequential == len(rows) and not cfg.registry.sequential_ids_ok:
        errors.append(
            ConfigError(
                "registry.columns.registry_id",
                "equals the row number on every row: sorting the export differently would give "
                "each id to another person, and sync refuses it",
                "map it to a column that stays with the person, or two: "
                '["Kode Kantor", "No. Register"]; if the numbers really are the office\'s own, '
                "set registry.sequential_ids_ok = true",
            )
        )
    return summary, warnings
