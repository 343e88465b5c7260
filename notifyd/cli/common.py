"""What every command module shares: the config, clock and database of a call, output, and how
a command joins the `notifyd` parser. Every command module imports this; main.py assembles them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from notifyd.cli import output

if TYPE_CHECKING:  # the parser is built without them: a command imports what it runs
    from notifyd.config import Config
    from notifyd.db.store import Engine

EXIT_CONFIG, EXIT_REFUSED, EXIT_STORE, EXIT_SOURCE = 2, 3, 4, 5
Handler = Callable[[argparse.Namespace], "int | None"]
Subcommands = Any  # argparse's _SubParsersAction


def instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give an offset, e.g. 2026-12-01T09:00+07:00")
    return value.astimezone(UTC)


#: -c and --now are accepted after the command too (`notifyd sync -c FILE`).
OPTIONS = argparse.ArgumentParser(add_help=False)
OPTIONS.add_argument("-c", "--config", dest="sub_config", default=None, help="config file")
OPTIONS.add_argument("--now", dest="sub_now", type=instant, default=None, help=argparse.SUPPRESS)


def command(sub: Subcommands, name: str, func: Handler, doc: str) -> argparse.ArgumentParser:
    """Add a command to the parser; `func(args)` runs it and returns the exit status."""
    sp: argparse.ArgumentParser = sub.add_parser(name, help=doc, description=doc, parents=[OPTIONS])
    sp.set_defaults(func=func)
    return sp


def with_format(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--format", choices=output.FORMATS, default="table")


def now(args: argparse.Namespace) -> datetime:
    return getattr(args, "sub_now", None) or args.now or datetime.now(UTC)


def load_config(args: argparse.Namespace) -> Config:
    from notifyd import config as config_mod

    return config_mod.load(getattr(args, "sub_config", None) or args.config)


def open_engine(cfg: Config) -> Engine:
    from notifyd.db import store
    from notifyd.service.private import secure_state_dir

    secure_state_dir(cfg.state_dir)
    return store.open_store(store.database_url(cfg))


def emit(text: str) -> None:
    sys.stdout.write(text)
