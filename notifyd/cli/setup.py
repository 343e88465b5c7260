"""Commands for operators setting up: check the config, migrate the database, list plugins."""

from __future__ import annotations

import argparse

from notifyd import config as config_mod
from notifyd import plugins
from notifyd.cli import checkconfig, common, output
from notifyd.cli.common import Subcommands, command, with_format


def add_commands(sub: Subcommands) -> None:
    command(sub, "check-config", checkconfig.cmd_check_config, "validate the config file and exit")
    db = command(sub, "db", lambda a: _usage(db), "database maintenance")
    dbsub = db.add_subparsers(required=True, metavar="ACTION")
    command(dbsub, "upgrade", cmd_db_upgrade, "apply migrations")
    with_format(command(sub, "plugins", cmd_plugins, "list the plugins that are loaded"))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return common.EXIT_CONFIG


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    engine = common.open_engine(cfg)
    common.emit(f"database at {engine.url.render_as_string(hide_password=True)} is up to date\n")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    explicit = args.sub_config or args.config
    cfg = common.load_config(args) if (explicit or config_mod.config_path(None).exists()) else None
    pm = plugins.make_manager(cfg.disabled_plugins if cfg else ())
    common.emit(output.render(plugins.listing(pm), args.format))
    return 0
