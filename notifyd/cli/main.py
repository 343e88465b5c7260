"""The `notifyd` command: for operators (config, database, plugins) and staff (sync, lists)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from notifyd import config as config_mod
from notifyd import logs, plugins
from notifyd.cli import daemon as cli_daemon
from notifyd.cli import output
from notifyd.cli import sandbox as cli_sandbox
from notifyd.cli import staff as cli_staff
from notifyd.cli import voice as cli_voice
from notifyd.config import Config
from notifyd.db import store
from notifyd.errors import ConfigError, NotifydError, StoreError, SyncRefused
from notifyd.planning.clock import Office

EXIT_CONFIG, EXIT_REFUSED, EXIT_STORE = 2, 3, 4
#: Rejected rows `sync` lists itself; `notifyd rejected` lists them all.
SHOWN = 20


def main(argv: Sequence[str] | None = None) -> int:
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
    except StoreError as exc:
        print(f"notifyd: database error: {exc}", file=sys.stderr)
        return EXIT_STORE
    except NotifydError as exc:
        print(f"notifyd: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the output went to `head` or a pager that has quit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except SQLAlchemyError as exc:  # no traceback: its parameters hold personal data
        from notifyd.registry.sync import describe_error

        print(f"notifyd: database error: {describe_error(exc)}", file=sys.stderr)
        return EXIT_STORE


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="notifyd", description=__doc__)
    p.add_argument(
        "-c", "--config",
        help="config file (default: $NOTIFYD_CONFIG, else /etc/notifyd/notifyd.toml)",
    )  # fmt: skip
    p.add_argument(
        "--now", type=_instant, default=None,
        help="pretend it is this moment (ISO 8601 with offset); for rehearsals and tests",
    )  # fmt: skip
    sub = p.add_subparsers(required=True, metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", dest="sub_config", default=None, help="config file")
    common.add_argument(
        "--now", dest="sub_now", type=_instant, default=None, help=argparse.SUPPRESS
    )

    def command(name: str, func: Callable[[argparse.Namespace], int | None], doc: str) -> Any:
        sp = sub.add_parser(name, help=doc, description=doc, parents=[common])
        sp.set_defaults(func=func)
        return sp

    def with_format(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--format", choices=output.FORMATS, default="table")

    command("check-config", cmd_check_config, "validate the config file and exit")
    db = command("db", lambda a: _usage(db), "database maintenance")
    dbsub = db.add_subparsers(required=True, metavar="ACTION")
    dbsub.add_parser("upgrade", help="apply migrations", parents=[common]).set_defaults(
        func=cmd_db_upgrade
    )
    with_format(command("plugins", cmd_plugins, "list the plugins that are loaded"))
    sp = command("sync", cmd_sync, "read the registry now, plan notices, report rejected rows")
    sp.add_argument(
        "--accept-drops", action="store_true",
        help="apply a snapshot even if more permits left it than registry.max_drop_share allows",
    )  # fmt: skip
    with_format(sp)
    sp = command("upcoming", cmd_upcoming, "notices planned for the coming days")
    sp.add_argument("--days", type=int, default=14, help="how far ahead (default 14)")
    with_format(sp)
    sp = command("rejected", cmd_rejected, "registry rows a sync could not use, with reasons")
    sp.add_argument("--run", type=int, help="the sync run (default: the latest)")
    with_format(sp)
    cli_voice.add_commands(command, with_format)
    cli_daemon.add_commands(command, with_format)
    cli_staff.add_commands(command, with_format)
    cli_sandbox.add_commands(command, with_format)
    return p


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_CONFIG


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give an offset, e.g. 2026-12-01T09:00+07:00")
    return value.astimezone(UTC)


def _now(args: argparse.Namespace) -> datetime:
    return getattr(args, "sub_now", None) or args.now or datetime.now(UTC)


def _config(args: argparse.Namespace) -> Config:
    return config_mod.load(getattr(args, "sub_config", None) or args.config)


def _engine(cfg: Config) -> Any:
    return store.open_store(config_mod.database_url(cfg))


def _emit(text: str) -> None:
    sys.stdout.write(text)


def cmd_check_config(args: argparse.Namespace) -> int:
    cfg = _config(args)
    pm = plugins.make_manager(cfg.disabled_plugins)
    plugins.source_for(pm, cfg.registry.source)
    from notifyd.delivery.dispatch import build_channels

    build_channels(cfg, pm)  # each plugin checks its options
    cli_voice.check_voices(cfg, pm)
    offices = ", ".join(f"{code} ({o.timezone}, {o.window})" for code, o in cfg.offices.items())
    _emit(
        f"{cfg.source_path}: OK\n"
        f"  offices: {offices}\n"
        f"  stages: {cfg.planner.stages} days before expiry, min gap {cfg.planner.min_gap_days}\n"
        f"  registry: {cfg.registry.source} source\n"
        f"  channels: {', '.join(cfg.channel_order or cfg.channels) or '(none)'}\n"
    )
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    cfg = _config(args)
    engine = _engine(cfg)
    _emit(f"database at {engine.url.render_as_string(hide_password=True)} is up to date\n")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    explicit = args.sub_config or args.config
    cfg = _config(args) if (explicit or config_mod.config_path(None).exists()) else None
    pm = plugins.make_manager(cfg.disabled_plugins if cfg else ())
    _emit(output.render(plugins.listing(pm), args.format))
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from notifyd.registry.sync import run_sync

    cfg = _config(args)
    engine = _engine(cfg)
    pm = plugins.make_manager(cfg.disabled_plugins)
    report = run_sync(cfg, engine, pm, _now(args), accept_drops=args.accept_drops)
    rejected = store.rejected(engine, report.run_id)
    if args.format == "json":
        _emit(output.render([{**asdict(report), "rejected_rows": rejected}], "json"))
        return 0
    if args.format == "csv":  # the rows to fix, for a spreadsheet
        _emit(output.render(_flat_rejections(rejected), "csv"))
        return 0
    _emit(
        f"sync run {report.run_id}: {report.rows} rows read\n"
        f"  accepted: {report.accepted} ({report.new} new, {report.changed} changed, "
        f"{report.unchanged} unchanged; {report.renewed} renewed)\n"
        f"  rejected: {report.rejected}{_by_field(report.reasons)}\n"
        f"  notices planned: {report.planned}, cancelled: {report.cancelled}, "
        f"permits gone from the registry: {report.left}\n"
    )
    if rejected:
        _emit("\nrows rejected, or accepted without some channels (fix them in the export):\n")
        _emit(output.render(_reason_lines(rejected[:SHOWN]), "table"))
        if len(rejected) > SHOWN:
            _emit(
                f"… and {len(rejected) - SHOWN} more: notifyd rejected --run {report.run_id} "
                "(--format csv for a spreadsheet)\n"
            )
    return 0


def _by_field(reasons: dict[str, int]) -> str:
    if not reasons:
        return ""
    parts = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    return " (reasons: " + ", ".join(f"{field} {n}" for field, n in parts) + ")"


def _flat_rejections(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "reasons": "; ".join(r["reasons"])} for r in rows]


def _reason_lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One reason a line, so a table stays readable; the row's fields only on its first."""
    out = []
    for r in rows:
        for i, reason in enumerate(r["reasons"]):
            head = {k: (v if i == 0 else "") for k, v in r.items() if k != "reasons"}
            out.append({**head, "reason": reason})
    return out


def cmd_upcoming(args: argparse.Namespace) -> int:
    cfg = _config(args)
    engine = _engine(cfg)
    now = _now(args)
    offices = {code: Office.from_config(code, o) for code, o in cfg.offices.items()}
    rows = []
    for r in store.upcoming(engine, now, now + timedelta(days=args.days)):
        office = offices.get(r["office"])
        due = r["due_at"].astimezone(office.tz) if office else r["due_at"]
        rows.append(
            {
                "id": r["id"],
                "due": due if args.format != "json" else r["due_at"],
                "stage": r["stage"],
                "catch_up": r["catch_up"],
                "office": r["office"],
                "registry_id": r["registry_id"],
                "name": r["full_name"],
                "permit": r["permit_number"],
                "type": r["permit_type"],
                "expires": r["expiry_date"],
                "language": r["language"],
                "channels": r["channels"].replace(",", ", "),
            }
        )
    _emit(output.render(rows, args.format))
    return 0


def cmd_rejected(args: argparse.Namespace) -> int:
    cfg = _config(args)
    engine = _engine(cfg)
    run_id = args.run or store.last_run_id(engine)
    if run_id is None or store.run(engine, run_id) is None:
        raise NotifydError(
            f"no sync run {run_id or ''}; run `notifyd sync` first".replace("  ", " ")
        )
    rows = store.rejected(engine, run_id)
    shaped = {"json": rows, "csv": _flat_rejections(rows), "table": _reason_lines(rows)}
    _emit(output.render(shaped[args.format], args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
