"""`notifyd user …` (console accounts) and `notifyd console` (the console alone, for an office
that runs it on another host than the daemon)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys

from notifyd.cli import common, output
from notifyd.cli.common import Subcommands, command, with_format
from notifyd.errors import ConfigError, NotifydError
from notifyd.model import ROLES


def add_commands(sub: Subcommands) -> None:
    sp = command(sub, "user", _no_action, "console accounts: add, disable, enable, passwd, list")
    group = sp.add_subparsers(required=True, metavar="ACTION")
    add = command(group, "add", cmd_add, "add an account (password prompted, or read from stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=ROLES)
    for name, func, doc in (
        ("disable", cmd_disable, "disable an account and end its sessions"),
        ("enable", cmd_enable, "enable a disabled account again"),
        ("passwd", cmd_passwd, "set an account's password (prompted, or read from stdin)"),
    ):
        command(group, name, func, doc).add_argument("name")
    with_format(command(group, "list", cmd_list, "list the accounts"))
    command(sub, "console", cmd_console, "serve the staff console alone, on [console] listen")


def _no_action(args: argparse.Namespace) -> int:
    raise NotifydError("say what to do: notifyd user add|disable|enable|passwd|list")


def _by() -> str:
    return os.environ.get("SUDO_USER") or getpass.getuser()


def _password() -> str:
    """Asked twice at a terminal; otherwise the first line of stdin (for scripts)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise NotifydError("the two passwords differ; nothing changed")
    return first


def cmd_add(args: argparse.Namespace) -> int:
    from notifyd.db import users

    engine = common.open_engine(common.load_config(args))
    users.add_user(engine, args.name, args.role, _password(), common.now(args), _by())
    common.emit(f"user {args.name} added as {args.role}\n")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    from notifyd.db import users

    engine = common.open_engine(common.load_config(args))
    users.set_password(engine, args.name, _password(), common.now(args), _by())
    common.emit(f"password of {args.name} changed\n")
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    from notifyd.db import users

    engine = common.open_engine(common.load_config(args))
    users.set_active(engine, args.name, False, common.now(args), _by())
    common.emit(f"user {args.name} disabled; their sessions ended\n")
    return 0


def cmd_enable(args: argparse.Namespace) -> int:
    from notifyd.db import users

    engine = common.open_engine(common.load_config(args))
    users.set_active(engine, args.name, True, common.now(args), _by())
    common.emit(f"user {args.name} enabled\n")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from notifyd.db import users

    engine = common.open_engine(common.load_config(args))
    common.emit(output.render(users.list_users(engine), args.format))
    return 0


def cmd_console(args: argparse.Namespace) -> int:
    from notifyd.console import app
    from notifyd.db import store

    cfg = common.load_config(args)
    if not cfg.console.listen:
        raise ConfigError("console.listen", "is empty", 'give its address, e.g. "127.0.0.1:8790"')
    engine = store.connect(store.database_url(cfg), pooled=True)
    store.migrate(engine)

    async def serve() -> None:
        runner = await app.start(cfg, engine)
        print(f"console on http://{cfg.console.listen}/ (Ctrl-C stops it)", file=sys.stderr)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(serve())
    return 0
