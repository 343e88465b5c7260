"""Staff commands: the delivery log, one person's story, counts, status, resend, opt-out, purge.

Staff see names and numbers in clear here (they are theirs to see); output.py escapes
control and bidi characters and neutralises spreadsheet formulas.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from notifyd.cli import common, output
from notifyd.cli.common import Subcommands, command, with_format
from notifyd.errors import NotifydError
from notifyd.model import Status

if TYPE_CHECKING:  # the parser is built without them: each command imports what it runs
    from notifyd.config import Config
    from notifyd.db.store import Engine

_SPAN = re.compile(r"^(\d+)([dhm])$")
STATUSES = [st.value for st in Status]
#: An attempt's own outcome, apart from its notice's status.
OUTCOMES = ["pending", "sent", "unknown", "transient", "permanent"]


def add_commands(sub: Subcommands) -> None:
    sp = command(sub, "log", cmd_log, "the delivery log: every attempt, newest first")
    sp.add_argument("--status", choices=STATUSES, help="only notices in this status")
    sp.add_argument("--outcome", choices=OUTCOMES, help="only attempts with this outcome")
    sp.add_argument("--channel", help="only attempts on this channel")
    sp.add_argument("--since", type=since_arg, help="e.g. 7d, 12h, 30m or 2026-12-01")
    sp.add_argument("--person", help="a registry id, permit number, name, phone or passport")
    sp.add_argument("--limit", type=int, default=1000, help="at most this many rows (1000)")
    with_format(sp)
    sp = command(
        sub, "show", cmd_show, "one person's whole story: registry id, permit, name or phone"
    )
    sp.add_argument("key", metavar="PERSON")
    with_format(sp)
    sp = command(
        sub, "stats", cmd_stats, "counts by status and channel, delivery rate, oldest overdue"
    )
    sp.add_argument("--since", type=since_arg, help="e.g. 7d or 2026-12-01")
    with_format(sp)
    sp = command(sub, "status", cmd_status, "last sync, queue, oldest overdue notice, last error")
    with_format(sp)
    sp = command(
        sub, "resend", cmd_resend,
        "send a notice again now, from its first channel (a stage not yet due: an extra notice)",
    )  # fmt: skip
    sp.add_argument("id", type=int, help="the notice id (see `notifyd log`)")
    sp.add_argument(
        "--force", action="store_true",
        help="send even though the same address already failed permanently",
    )  # fmt: skip
    sp.add_argument("--by", default=None, help="who asks (default: your login name)")
    with_format(sp)
    sp = command(
        sub, "opt-out", cmd_opt_out, "stop (or with --undo, allow again) notices to a person"
    )
    sp.add_argument("key", metavar="PHONE_OR_REGISTRY_ID")
    sp.add_argument("--channel", default="*", help="one channel name (default: all)")
    sp.add_argument("--undo", action="store_true", help="lift the opt-out")
    sp.add_argument("--by", default=None, help="who asks (default: your login name)")
    sp.add_argument("--reason", default="", help="why, for the record")
    with_format(sp)
    sp = command(sub, "purge", cmd_purge, "remove personal data of permits past their retention")
    sp.add_argument("--dry-run", action="store_true", help="count only; change nothing")
    sp.add_argument("--by", default=None, help="who runs it (default: your login name)")
    with_format(sp)


def since_arg(text: str) -> datetime | timedelta:
    """`7d`, `12h`, `30m` (back from now) or an ISO date or instant."""
    m = _SPAN.match(text.strip())
    if m:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[m.group(2)]
        return timedelta(**{unit: int(m.group(1))})
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError("write 7d, 12h, 30m or a date such as 2026-12-01") from exc
    return value  # without an offset: office time, see _since


def _since(args: argparse.Namespace, now: datetime, tz: ZoneInfo) -> datetime | None:
    """A span back from now, or a date or instant; one without an offset is office time."""
    value = args.since
    if isinstance(value, timedelta):
        return now - value
    return value if value is None or value.tzinfo else value.replace(tzinfo=tz)


def office_tz(cfg: Config) -> ZoneInfo:
    """Staff read times in their office's zone (the first office's, with several)."""
    return ZoneInfo(next(iter(cfg.offices.values())).timezone)


@contextmanager
def _store(args: argparse.Namespace) -> Iterator[tuple[Config, Engine]]:
    """The config and an engine, disposed of after the command (no pooled connection left)."""
    cfg = common.load_config(args)
    engine = common.open_engine(cfg)
    try:
        yield cfg, engine
    finally:
        engine.dispose()


def _uses_store(
    func: Callable[[argparse.Namespace, Config, Engine], int],
) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        with _store(args) as (cfg, engine):
            return func(args, cfg, engine)

    return run


def _actor(args: argparse.Namespace) -> str:
    """--by, else who logged in: under `sudo -u notifyd` that is $SUDO_USER, not notifyd."""
    return args.by or os.environ.get("SUDO_USER") or getpass.getuser()


@_uses_store
def cmd_log(args: argparse.Namespace, cfg: Config, engine: Engine) -> int:
    from notifyd.console.views import mask
    from notifyd.db import log as logstore
    from notifyd.db import search

    since = _since(args, common.now(args), office_tz(cfg))
    if args.person:
        search.refresh(engine, common.now(args))
    rows = logstore.delivery_log(
        engine, status=args.status, channel=args.channel, since=since, person=args.person,
        limit=args.limit, outcome=args.outcome,
    )  # fmt: skip
    rows = [{**r, "address": mask(r["address"])} for r in rows]
    if args.format != "table":  # scripts and spreadsheets get every reason whole
        common.emit(output.render(rows, args.format, office_tz(cfg)))
        return 0
    cut = [_for_terminal(r) for r in rows]
    common.emit(output.render([r for r, _ in cut], "table", office_tz(cfg)))
    if any(was_cut for _, was_cut in cut):
        common.emit(
            f"(reasons longer than {TERMINAL_REASON} characters are cut here, ending in …; "
            "--format json or csv shows them whole)\n"
        )
    return 0


#: How much of a reason the log's table shows, so that a row still fits a terminal.
TERMINAL_REASON = 60


def _for_terminal(row: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """A log row for the table: the attempt's own outcome and the notice's current status
    under headings that say which is which, and long reasons cut (saying so)."""
    out: dict[str, Any] = {}
    was_cut = False
    for key, value in row.items():
        if key in ("reason", "error") and isinstance(value, str) and len(value) > TERMINAL_REASON:
            value, was_cut = value[: TERMINAL_REASON - 1] + "…", True
        out[_HEADINGS.get(key, key)] = value
    return out, was_cut


_HEADINGS = {"outcome": "attempt outcome", "status": "notice status", "reason": "notice reason",
             "error": "attempt error"}  # fmt: skip


@_uses_store
def cmd_show(args: argparse.Namespace, cfg: Config, engine: Engine) -> int:
    from notifyd.db import log as logstore
    from notifyd.db import search

    search.refresh(engine, common.now(args))  # a no-op when the index is current
    found = logstore.story(engine, args.key, cfg.registry.default_region)
    if found is None:
        raise NotifydError(
            f"no person or permit {args.key!r}: no registry id, permit, name, phone or passport "
            "matches; search by part of the name, e.g. notifyd show 'kim su'"
        )
    if args.format == "json":
        common.emit(json.dumps(_jsonable(found), ensure_ascii=False, indent=2) + "\n")
        return 0
    tz = office_tz(cfg)
    events = timeline(found, tz)
    if args.format == "csv":
        common.emit(output.render(events, "csv", tz))
        return 0
    who = found["person"]
    head = [{k: who[k] for k in _PERSON}]
    common.emit(output.render(head, "table", tz) + "\npermits:\n")
    common.emit(output.render([_pick(r, _PERMIT) for r in found["permits"]], "table"))
    common.emit(
        "\nnotices:\n" + output.render([_pick(r, _NOTICE) for r in found["notices"]], "table", tz)
    )
    common.emit("\nstory:\n" + output.render(events, "table", tz))
    return 0


_PERSON = ("registry_id", "full_name", "nationality", "passport_number", "language", "phone",
           "whatsapp", "channels", "purged_at")  # fmt: skip
_PERMIT = ("permit_number", "permit_type", "office", "expiry_date", "active")
_NOTICE = ("id", "permit_number", "expiry_date", "stage", "due_at", "deadline", "status",
           "reason", "catch_up", "attempt_count", "channel_pos", "extra")  # fmt: skip


def _pick(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: row[k] for k in keys}


def timeline(found: dict[str, Any], tz: ZoneInfo) -> list[dict[str, Any]]:
    """The story in time order: planned, attempts and receipts, cancellations, opt-outs,
    staff actions."""
    from notifyd.console.views import mask

    ev: list[dict[str, Any]] = []

    def add(
        when: datetime, what: str, notice: Any = None, channel: Any = None, **info: Any
    ) -> None:
        detail = ", ".join(f"{k} {v}" for k, v in info.items() if v not in (None, ""))
        ev.append(
            {"when": when, "what": what, "notice": notice, "channel": channel, "detail": detail}
        )

    for n in found["notices"]:
        what = f"extra notice {n['extra']}" if n.get("extra") else "planned"
        add(n["created_at"], what, n["id"], permit=n["permit_number"], stage=n["stage"],
            due=output.cell(n["due_at"], tz))  # fmt: skip
        if n["status"] in ("cancelled", "superseded", "failed"):
            add(n["updated_at"], n["status"], n["id"], reason=n["reason"])
    for a in found["attempts"]:
        add(a["started_at"], f"attempt {a['outcome']}", a["notification_id"], a["channel"],
            to=mask(a.get("address")), kind=a["kind"], provider_id=a["provider_id"],
            engine=a["engine"], error=a["error"])  # fmt: skip
        if a["receipt"]:
            add(a["receipt_at"] or a["started_at"], f"receipt {a['receipt']}",
                a["notification_id"], a["channel"], provider_id=a["provider_id"])  # fmt: skip
    for o in found["opt_outs"]:
        add(
            o["created_at"],
            "opted out",
            channel=o["channel"],
            source=o["source"],
            by=o["created_by"],
        )
        if o["lifted_at"]:
            add(o["lifted_at"], "opt-out lifted", channel=o["channel"], by=o["lifted_by"])
    for s in found["actions"]:
        add(s["at"], f"staff: {s['action']}", s["notification_id"], by=s["actor"], note=s["detail"])
    ev.sort(key=lambda e: e["when"])
    return ev


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


@_uses_store
def cmd_stats(args: argparse.Namespace, cfg: Config, engine: Engine) -> int:
    from notifyd.db import log as logstore

    now = common.now(args)
    tz = office_tz(cfg)
    st = logstore.stats(engine, now, _since(args, now, tz))
    if args.format == "json":
        common.emit(json.dumps(_jsonable(st), ensure_ascii=False, indent=2) + "\n")
        return 0
    rows = [{"what": "notices", "key": k, "count": v} for k, v in sorted(st["by_status"].items())]
    rows += [
        {"what": "attempts", "key": f"{r['channel']} {r['outcome']}", "count": r["attempts"]}
        for r in st["by_channel"]
    ]
    rate = st["delivery_rate"]
    rows.append(
        {"what": "delivery rate", "key": "", "count": "" if rate is None else f"{rate:.1%}"}
    )
    old = st["oldest_overdue"]
    rows.append({"what": "oldest overdue", "key": _overdue(old, now, tz), "count": ""})
    rows.append({"what": "duplicate sends", "key": "accepted twice", "count": st["duplicates"]})
    rows.append({"what": "duplicate sends", "key": "possible (unknown, sent again)",
                 "count": st["possible_duplicates"]})  # fmt: skip
    common.emit(output.render(rows, args.format, tz))
    return 0


def _overdue(old: dict[str, Any] | None, now: datetime, tz: ZoneInfo) -> str:
    if old is None:
        return "none"
    late = now - old["due_at"]
    due = output.cell(old["due_at"], tz)
    return f"notice {old['id']} ({old['status']}), due {due}, {_ago(late)} late"


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // 1440} days"


@_uses_store
def cmd_status(args: argparse.Namespace, cfg: Config, engine: Engine) -> int:
    from notifyd.db import log as logstore
    from notifyd.db.store import database_url
    from notifyd.service.health import storage

    now, tz = common.now(args), office_tz(cfg)
    st = logstore.status(engine, now)
    st["storage"] = storage(database_url(cfg))
    if args.format == "json":
        common.emit(json.dumps(_jsonable(st), ensure_ascii=False, indent=2) + "\n")
        return 0
    sync = st["last_sync"]
    err = st["last_error"]
    rows = [
        {"what": "last sync", "value": "never" if sync is None else
         f"run {sync['id']} {sync['status']} at {output.cell(sync['started_at'], tz)} "
         f"({sync['accepted']} accepted, {sync['rejected']} rejected)"},
        {"what": "queue", "value": ", ".join(f"{k} {v}" for k, v in sorted(st["queue"].items()))
         or "empty"},
        {"what": "oldest overdue", "value": _overdue(st["oldest_overdue"], now, tz)},
        {"what": "last error", "value": "none" if err is None else
         f"attempt {err['id']} (notice {err['notification_id']}) on {err['channel']} at "
         f"{output.cell(err['started_at'], tz)}: {err['outcome']} {err['error'] or ''}".strip()},
    ]  # fmt: skip
    paused = [
        f"{'all sending' if scope == '*' else scope} by {p['by']} since "
        f"{output.cell(p['at'], tz)}" for scope, p in sorted(st["paused"].items())
    ]  # fmt: skip
    rows.append({"what": "paused", "value": "; ".join(paused) or "nothing"})
    disk = st["storage"]
    if disk:
        state = "ok" if disk["state"] == "ok" else f"DEGRADED: {disk['says']}"
        rows.append({"what": "database disk",
                     "value": f"{state} ({disk['free_bytes'] // 1024} KiB free)"})  # fmt: skip
    common.emit(output.render(rows, args.format, tz))
    return 0


@_uses_store
def cmd_resend(args: argparse.Namespace, cfg: Config, engine: Engine) -> int:
    from notifyd.db import staff as staffstore

    done = staffstore.resend(engine, args.id, _actor(args), common.now(args), force=args.force)
    common.emit(output.render([done], args.format, office_tz(cfg)))
    if args.format == "table":
        if done["extra_of"] is not None:
            common.emit(
                f"stage not yet due: extra notice {done['notice']} goes out now; the planned "
                f"notice {done['extra_of']} keeps its time\n"
            )
        if done["warning"]:
            common.emit(f"warning: sent despite: {done['warning']}\n")
    return 0


@_uses_store
def cmd_opt_out(args: argparse.Namespace, cfg: Config, engine: Engine) -> int:
    from notifyd.db import staff as staffstore

    phone = e164(args.key, cfg.registry.default_region)
    if args.channel != "*" and args.channel not in cfg.channels:
        raise NotifydError(
            f"--channel {args.channel!r} is not a configured channel; use one of "
            f"{', '.join(cfg.channels)}, or leave it out for all"
        )
    res = staffstore.opt_out(
        engine, args.key, phone, args.channel, _actor(args), args.reason, common.now(args),
        undo=args.undo,
    )  # fmt: skip
    if not res.people:
        raise NotifydError(f"nobody with registry id or number {args.key!r}")
    rows = [
        {
            "registry_id": w["registry_id"],
            "name": w["full_name"],
            "channel": args.channel,
            "opt_out": "lifted" if args.undo else "on",
        }
        for w in res.people
    ]
    common.emit(output.render(rows, args.format))
    if args.format == "table":
        what = (f"{res.changed} opt-out(s) lifted; the next sync plans their notices again"
                if args.undo else
                f"{res.changed} opt-out(s) added; {res.cancelled} pending notice(s) cancelled"
                )  # fmt: skip
        common.emit(what + "\n")
    return 0


def e164(text: str, region: str) -> str | None:
    """The number staff typed, as stored (E.164); None if it is not a valid number."""
    import phonenumbers

    try:
        num = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(num):
        return None
    return str(phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164))


@_uses_store
def cmd_purge(args: argparse.Namespace, cfg: Config, engine: Engine) -> int:
    from notifyd.service import retention

    report = retention.purge(
        engine, cfg, common.now(args), dry_run=args.dry_run, actor=_actor(args)
    )
    common.emit(output.render([report.as_row()], args.format))
    return 0
