"""The `notifyd` command: the parser assembled from the command modules, and how errors become
exit statuses. Each group of commands lives in its own module; common.py holds what they share.

The command modules declare their parsers with light imports only and import what a command
runs (SQLAlchemy, numpy, the voice chain, the web app) inside it: `notifyd sync` pays for the
sync alone, `--help` for nothing (tests/cli/test_imports.py holds it)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from notifyd import logs
from notifyd.cli import common
from notifyd.cli import daemon as cli_daemon
from notifyd.cli import registry as cli_registry
from notifyd.cli import sandbox as cli_sandbox
from notifyd.cli import setup as cli_setup
from notifyd.cli import staff as cli_staff
from notifyd.cli import templates as cli_templates
from notifyd.cli import users as cli_users
from notifyd.cli import voice as cli_voice
from notifyd.cli.common import EXIT_CONFIG, EXIT_REFUSED, EXIT_SOURCE, EXIT_STORE
from notifyd.errors import ConfigError, NotifydError, SourceUnreachable, StoreError, SyncRefused

DESCRIPTION = (
    "The `notifyd` command: for operators (config, database, plugins) and staff (sync, lists)."
)


def main(argv: Sequence[str] | None = None) -> int:
    # Whatever the shell's umask: every file notifyd writes (database, WAL, audio, exports)
    # is the operator's alone; it holds names, phone and passport numbers.
    os.umask(0o077)
    args = _parser().parse_args(argv)
    logs.setup_logging("WARNING", json=False, stream=sys.stderr)  # masked, like the daemon's
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"notifyd: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except SyncRefused as exc:
        print(f"notifyd: sync refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except SourceUnreachable as exc:
        print(f"notifyd: registry source unreachable: {exc}", file=sys.stderr)
        return EXIT_SOURCE
    except StoreError as exc:
        print(f"notifyd: database error: {exc}", file=sys.stderr)
        _disk_hint(args)
        return EXIT_STORE
    except NotifydError as exc:
        print(f"notifyd: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the output went to `head` or a pager that has quit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a database error: no traceback, its parameters hold personal data
        if not _database_error(exc):
            raise
        from notifyd.registry.sync import describe_error

        print(f"notifyd: database error: {describe_error(exc)}", file=sys.stderr)
        _disk_hint(args)
        return EXIT_STORE


def _database_error(exc: Exception) -> bool:
    """SQLAlchemy's errors, told without importing it: a command that never loaded it raised
    none of them."""
    if "sqlalchemy" not in sys.modules:
        return False
    from notifyd.db.store import DatabaseError

    return isinstance(exc, DatabaseError)


def _disk_hint(args: argparse.Namespace) -> None:
    """After a database error: DEGRADED and why, when the embedded database's disk is full or
    read-only (the database itself cannot even be read then)."""
    from notifyd.db.store import database_url
    from notifyd.service.health import storage

    try:
        disk = storage(database_url(common.load_config(args)))
    except Exception:  # a hint only: the error above is what counts
        return
    if disk and disk["state"] != "ok":
        print(f"notifyd: DEGRADED: {disk['says']} ({disk['free_bytes'] // 1024} KiB free); "
              "free space or make it writable: a running daemon resumes by itself",
              file=sys.stderr)  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="notifyd", description=DESCRIPTION)
    p.add_argument(
        "-c", "--config",
        help="config file (default: $NOTIFYD_CONFIG, else /etc/notifyd/notifyd.toml)",
    )  # fmt: skip
    p.add_argument(
        "--now", type=common.instant, default=None,
        help="pretend it is this moment (ISO 8601 with offset); for rehearsals and tests",
    )  # fmt: skip
    sub = p.add_subparsers(required=True, metavar="COMMAND")
    groups = (
        cli_setup, cli_registry, cli_voice, cli_templates, cli_daemon, cli_staff, cli_users,
        cli_sandbox,
    )  # fmt: skip
    for group in groups:
        group.add_commands(sub)
    return p


if __name__ == "__main__":
    sys.exit(main())
