"""Commands of the daemon and its operator controls: run, pause, resume, the pilot allowlist."""

from __future__ import annotations

import argparse
import getpass
import logging
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from notifyd.cli import common
from notifyd.cli.common import Subcommands, command, with_format
from notifyd.errors import ConfigError

if TYPE_CHECKING:  # the parser is built without them: each command imports what it runs
    from notifyd.config import Config
    from notifyd.db.store import Engine


def add_commands(sub: Subcommands) -> None:
    sp = command(
        sub, "run", cmd_run,
        "run the daemon: sync on schedule, send due notices (with --now, its clock starts there)",
    )  # fmt: skip
    sp.add_argument(
        "--sync", action="store_true", help="read the registry once at start, before the schedule"
    )
    sp.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default=None,
        help="debug, info, warning or error (default: the config's log_level, else info); "
        "names and numbers stay masked at every level",
    )
    sp.add_argument(
        "--log-format", choices=("json", "text"), default="json",
        help="json (default: one object a line, for journald) or text (for a terminal)",
    )  # fmt: skip
    sp = command(
        sub, "test-send", cmd_test_send,
        "render a sample notice and send it now to your own phone, through a real channel",
    )  # fmt: skip
    sp.add_argument("--to", required=True, help="your phone number, e.g. +6281234567890")
    sp.add_argument("--channel", help="a configured channel (default: the first in channel_order)")
    sp.add_argument("--lang", help="language of the notice (default: languages.default)")
    sp.add_argument("--by", default=None, help="who does this (default: your user name)")
    with_format(sp)
    for name, func, doc in (
        ("pause", cmd_pause, "stop sending (all channels, or one) until `notifyd resume`"),
        ("resume", cmd_resume, "send again after `notifyd pause`"),
    ):
        sp = command(sub, name, func, doc)
        sp.add_argument("--channel", help="only this channel (default: all sending)")
        sp.add_argument("--office", help="only this office's notices, on every channel")
        sp.add_argument("--by", default=None, help="who does this (default: your user name)")
        sp.add_argument("--reason", default="", help="why (shown by `paused` and the console)")
    with_format(command(sub, "paused", cmd_paused, "what is paused, by whom and since when"))
    sp = command(
        sub, "pilot", cmd_pilot,
        "the pilot allowlist kept in the database (added to the config's pilot.allowlist)",
    )  # fmt: skip
    sp.add_argument("action", choices=("list", "add", "remove"))
    sp.add_argument("number", nargs="?", help="a phone number, 0812… or +62… (add, remove)")
    sp.add_argument("--by", default=None, help="who does this (default: your user name)")
    with_format(sp)


LOG_LEVELS = ("debug", "info", "warning", "error")


def cmd_run(args: argparse.Namespace) -> int:
    from notifyd import logs
    from notifyd.service import daemon

    cfg = common.load_config(args)  # a config error is reported before anything starts
    level = args.log_level or cfg.log_level
    logs.setup_logging(level, json=args.log_format == "json")
    for chatty in ("apscheduler", "alembic", "aiohttp.access"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    start = getattr(args, "sub_now", None) or args.now
    path = getattr(args, "sub_config", None) or args.config
    return daemon.run(path, start, args.sync)


def _control(args: argparse.Namespace, action: str) -> int:
    from notifyd.cli.staff import office_tz
    from notifyd.db import dispatch as dispatchstore

    cfg = common.load_config(args)
    if args.channel and args.channel not in cfg.channels:
        raise ConfigError(
            "--channel", f"{args.channel!r} is not a configured channel",
            f"use one of: {', '.join(cfg.channels)}",
        )  # fmt: skip
    if args.office and (args.channel or args.office not in cfg.offices):
        raise ConfigError(
            "--office", f"{args.office!r} is not a configured office, or --channel is given too",
            f"use one of: {', '.join(cfg.offices)}, without --channel",
        )  # fmt: skip
    by = args.by or getpass.getuser()
    scope = dispatchstore.office_scope(args.office) if args.office else args.channel or "*"
    engine = common.open_engine(cfg)
    try:
        before = dispatchstore.paused(engine)
        dispatchstore.set_control(engine, scope, action, by, common.now(args), args.reason)
        after = dispatchstore.paused(engine)
    finally:
        engine.dispose()  # a pooled PostgreSQL engine holds its connection otherwise
    common.emit(control_report(scope, action, by, before, after, office_tz(cfg), args.reason))
    return 0


def _scope(scope: str) -> str:
    if scope == "*":
        return "all sending"
    if scope.startswith("office:"):
        return f"office {scope.removeprefix('office:')}"
    return f"channel {scope}"


def control_report(
    scope: str, action: str, by: str, before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]], tz: ZoneInfo, reason: str = "",
) -> str:  # fmt: skip
    """What a pause or resume did, and (after a resume) what stays paused, so that nobody
    believes sending goes on while a wider or another pause still holds it."""
    from notifyd.cli import output

    lines = [f"{_scope(scope)}: {action}d by {by}" + (f": {reason}" if reason else "")]
    if action == "resume" and scope not in before:
        lines[0] += " (it was not paused)"
    if action == "pause" and scope in before:
        lines[0] += f" (already paused by {before[scope]['by']})"
    if action == "resume":
        held = [
            f"{_scope(other)} (by {p['by']} since {output.cell(p['at'], tz)})"
            for other, p in sorted(after.items())
        ]
        if not held:
            lines.append("nothing else is paused: sending goes on")
        else:
            lines.append("still paused: " + "; ".join(held))
            if "*" in after:
                lines.append("nothing is sent until all sending is resumed (`notifyd resume`)")
            else:
                lines.append(
                    "what is listed sends nothing until each is resumed "
                    "(`notifyd resume --channel NAME` or `--office CODE`)"
                )
    return "\n".join(lines) + "\n"


def cmd_pause(args: argparse.Namespace) -> int:
    return _control(args, "pause")


def cmd_resume(args: argparse.Namespace) -> int:
    return _control(args, "resume")


def cmd_paused(args: argparse.Namespace) -> int:
    from notifyd.cli import output
    from notifyd.cli.staff import office_tz
    from notifyd.db import dispatch as dispatchstore

    cfg = common.load_config(args)
    tz = office_tz(cfg)
    engine = common.open_engine(cfg)
    try:
        found = dispatchstore.paused(engine)
    finally:
        engine.dispose()
    rows = [
        {
            "scope": "all sending" if scope == "*" else scope,
            "by": v["by"],
            "since": v["at"].astimezone(tz),
            "reason": v["reason"],
        }  # fmt: skip
        for scope, v in sorted(found.items())
    ]
    common.emit(output.render(rows, args.format, tz))
    if args.format == "table":
        common.emit(f"(times in {tz.key}, the office's time zone)\n" if rows else "")
    return 0


def cmd_pilot(args: argparse.Namespace) -> int:
    """The same functions the console's admin page uses (db/pilot.py)."""
    from notifyd.cli import output

    cfg = common.load_config(args)
    engine = common.open_engine(cfg)
    try:
        rows = _pilot(args, cfg, engine)
    finally:
        engine.dispose()
    common.emit(output.render(rows, args.format))
    if not cfg.pilot.enabled:
        print("pilot mode is off (pilot.enabled): everyone receives notices", file=sys.stderr)
    return 0


def _pilot(args: argparse.Namespace, cfg: Config, engine: Engine) -> list[dict[str, Any]]:
    """Add or remove (unless listing); the numbers pilot mode lets through, config first."""
    from notifyd.db import pilot
    from notifyd.db.search import phone_key

    if args.action != "list":
        number = phone_key(args.number or "", cfg.registry.default_region)
        if number is None:
            raise ConfigError(
                "number", f"{args.number!r} is not a phone number", "write it as 0812… or +62…"
            )
        if args.action == "add":
            pilot.add(engine, number, args.by or getpass.getuser(), common.now(args))
        else:
            pilot.remove(engine, number)
    rows = [{"number": n, "added": "config file", "by": ""} for n in cfg.pilot.allowlist]
    rows += [
        {"number": r["number"], "added": r["added_at"], "by": r["added_by"]}
        for r in pilot.numbers(engine)
    ]
    return rows


def cmd_test_send(args: argparse.Namespace) -> int:
    import asyncio
    import os

    from notifyd import plugins
    from notifyd.cli import output
    from notifyd.db import staff as staffstore
    from notifyd.delivery import testsend
    from notifyd.delivery.dispatch import build_channels
    from notifyd.voice.render import Renderer

    cfg, now = common.load_config(args), common.now(args)
    names = cfg.channel_order or list(cfg.channels)
    name = args.channel or (names[0] if names else "")
    if name not in cfg.channels:
        raise ConfigError(
            "--channel", f"{name!r} is not a configured channel",
            f"use one of: {', '.join(cfg.channels) or '(none: add [channels.NAME])'}",
        )  # fmt: skip
    language = args.lang or cfg.languages.default
    if language not in cfg.languages.available:
        raise ConfigError(
            "--lang", f"no notices in {language!r}",
            f"use one of: {', '.join(cfg.languages.available)}",
        )  # fmt: skip
    to = testsend.e164(args.to, cfg.registry.default_region)
    testsend.check_allowed(cfg, to)
    pm = plugins.make_manager(cfg.disabled_plugins)
    channel = build_channels(cfg, pm)[name]
    render = Renderer(cfg, plugins.voices(pm)).render
    engine = common.open_engine(cfg)
    try:
        sent = asyncio.run(testsend.send_sample(cfg, channel, render, to, language, now))
        with engine.begin() as conn:
            staffstore.record(
                conn, now, args.by or os.environ.get("SUDO_USER") or getpass.getuser(),
                "test_send", detail=f"{name} {sent.language} {sent.provider_id}",
            )  # fmt: skip
    finally:
        engine.dispose()
    common.emit(output.render([asdict(sent)], args.format))
    return 0
