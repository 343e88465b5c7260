"""Commands about the registry: sync it now, what is planned, which rows were rejected."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from notifyd import plugins
from notifyd.cli import common, output
from notifyd.cli.common import Subcommands, command, with_format
from notifyd.errors import NotifydError
from notifyd.registry.reach import reach_line

#: Rejected rows `sync` lists itself; `notifyd rejected` lists them all.
SHOWN = 20


def add_commands(sub: Subcommands) -> None:
    sp = command(sub, "sync", cmd_sync, "read the registry now, plan notices, report rejected rows")
    sp.add_argument(
        "--accept-drops", action="store_true",
        help="apply a snapshot even if more permits left it than registry.max_drop_share allows",
    )  # fmt: skip
    sp.add_argument(
        "--accept-identity-changes", action="store_true",
        help="apply a snapshot even if many registry ids get another name and passport",
    )  # fmt: skip
    with_format(sp)
    sp = command(sub, "upcoming", cmd_upcoming, "notices planned for the coming days")
    sp.add_argument("--days", type=int, default=14, help="how far ahead (default 14)")
    with_format(sp)
    sp = command(sub, "rejected", cmd_rejected, "registry rows a sync could not use, with reasons")
    sp.add_argument("--run", type=int, help="the sync run (default: the latest)")
    with_format(sp)


def cmd_sync(args: argparse.Namespace) -> int:
    from notifyd.db import runs
    from notifyd.registry.sync import run_sync

    cfg = common.load_config(args)
    engine = common.open_engine(cfg)
    pm = plugins.make_manager(cfg.disabled_plugins)
    report = run_sync(
        cfg, engine, pm, common.now(args), accept_drops=args.accept_drops,
        accept_identities=args.accept_identity_changes, journal=True,
    )  # fmt: skip
    rejected = runs.rejected(engine, report.run_id)
    order = cfg.channel_order or list(cfg.channels)
    if args.format == "json":
        common.emit(output.render([{**asdict(report), "rejected_rows": rejected}], "json"))
        return 0
    if args.format == "csv":  # the rows to fix, for a spreadsheet
        common.emit(output.render(_flat_rejections(rejected), "csv"))
        return 0
    common.emit(
        f"sync run {report.run_id}: {report.rows} rows read\n"
        f"  accepted: {report.accepted} ({report.new} new, {report.changed} changed, "
        f"{report.unchanged} unchanged; {report.renewed} renewed)\n"
        f"  rejected: {report.rejected}{_by_field(report.reasons)}\n"
        f"  notices planned: {report.planned}, cancelled: {report.cancelled}, "
        f"permits gone from the registry: {report.left}\n"
        f"  can reach: {reach_line(order, report.people, report.reach)}\n"
    )
    for warning in report.warnings:
        common.emit(f"  warning: {warning}\n")
    if rejected:
        common.emit(
            "\nrows rejected, or accepted without some channels (fix them in the export):\n"
        )
        common.emit(output.render(_reason_lines(rejected[:SHOWN]), "table"))
        if len(rejected) > SHOWN:
            common.emit(
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
    from notifyd.db import notices
    from notifyd.planning.clock import Office

    cfg = common.load_config(args)
    engine = common.open_engine(cfg)
    now = common.now(args)
    offices = {code: Office.from_config(code, o) for code, o in cfg.offices.items()}
    rows = []
    for r in notices.upcoming(engine, now, now + timedelta(days=args.days)):
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
    common.emit(output.render(rows, args.format))
    return 0


def cmd_rejected(args: argparse.Namespace) -> int:
    from notifyd.db import runs

    cfg = common.load_config(args)
    engine = common.open_engine(cfg)
    run_id = args.run or runs.last_run_id(engine)
    if run_id is None or runs.run(engine, run_id) is None:
        raise NotifydError(
            f"no sync run {run_id or ''}; run `notifyd sync` first".replace("  ", " ")
        )
    rows = runs.rejected(engine, run_id)
    shaped = {"json": rows, "csv": _flat_rejections(rows), "table": _reason_lines(rows)}
    common.emit(output.render(shaped[args.format], args.format))
    return 0
