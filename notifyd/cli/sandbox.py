"""`notifyd sandbox`: the provider sandbox on loopback, for demos, tests and benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from notifyd.cli.common import Subcommands, command
from notifyd.errors import NotifydError
from notifyd.sandbox.rules import KINDS, PROVIDERS, Fault, Settings

DOC = "a local fake of WhatsApp Cloud, WAHA, Twilio and an SMS gateway (loopback only)"


def add_commands(sub: Subcommands) -> None:
    sp = command(sub, "sandbox", cmd_sandbox, DOC)
    d = Settings()
    sp.add_argument(
        "--listen", default=f"{d.host}:{d.port}", help="HOST:PORT (default %(default)s)"
    )
    sp.add_argument(
        "--callback-url",
        default="",
        help="notifyd's webhook base: callbacks go to BASE/whatsapp, BASE/waha, "
        "BASE/sms (inbound SMS), BASE/gateway",
    )
    for flag in ("whatsapp-webhook", "waha-webhook", "twilio-inbound-url", "gateway-webhook"):
        sp.add_argument(f"--{flag}", default="", help="override that one callback URL")
    sp.add_argument(
        "--callback-delay",
        type=float,
        default=d.callback_delay,
        help="seconds before status callbacks (default %(default)s)",
    )
    sp.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        help="requests/s per provider before its rate-limit error (default: off)",
    )
    sp.add_argument(
        "--all-windows-open",
        action="store_true",
        help="treat every WhatsApp number as inside its 24-hour window (benchmarks, demos)",
    )
    sp.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="PROVIDER:NUMBER:KIND",
        help=f"a failure rule, e.g. whatsapp:+6281234567890:not_on_whatsapp; "
        f"providers {', '.join(PROVIDERS)} or *; kinds {', '.join(KINDS)}",
    )
    secrets = {
        "wa-token": d.wa_token,
        "wa-app-secret": d.wa_app_secret,
        "twilio-sid": d.twilio_sid,
        "twilio-token": d.twilio_token,
        "waha-key": d.waha_api_key,
        "waha-hmac-key": d.waha_hmac_key,
        "gateway-key": d.gateway_key,
    }
    for flag, default in secrets.items():
        sp.add_argument(f"--{flag}", default=default, help="dev credential (default %(default)s)")


def settings_from(args: argparse.Namespace) -> Settings:
    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        raise NotifydError(f"--listen {args.listen!r}: write HOST:PORT, e.g. 127.0.0.1:8788")
    faults = []
    for rule in args.fault:
        provider, _, rest = rule.partition(":")
        number, _, kind = rest.rpartition(":")
        try:
            faults.append(Fault.parse({"provider": provider, "to": number or "*", "kind": kind}))
        except (TypeError, ValueError) as exc:
            raise NotifydError(f"--fault {rule!r}: {exc}") from exc
    return Settings(
        host=host,
        port=int(port),
        callback_url=args.callback_url,
        whatsapp_webhook=args.whatsapp_webhook,
        waha_webhook=args.waha_webhook,
        twilio_inbound_url=args.twilio_inbound_url,
        gateway_webhook=args.gateway_webhook,
        callback_delay=args.callback_delay,
        rate_limit=args.rate_limit,
        all_windows_open=args.all_windows_open,
        wa_token=args.wa_token,
        wa_app_secret=args.wa_app_secret,
        twilio_sid=args.twilio_sid,
        twilio_token=args.twilio_token,
        waha_api_key=args.waha_key,
        waha_hmac_key=args.waha_hmac_key,
        gateway_key=args.gateway_key,
        faults=faults,
    )


def cmd_sandbox(args: argparse.Namespace) -> int:
    from notifyd.sandbox.app import check_loopback, serve

    settings = settings_from(args)
    try:
        check_loopback(settings.host)
    except ValueError as exc:
        raise NotifydError(str(exc)) from exc
    logging.getLogger("notifyd.sandbox").setLevel(logging.INFO)
    base = f"http://{settings.host}:{settings.port}"
    callbacks = settings.callback_url or "(none)"
    rows = [
        (
            "WhatsApp Cloud",
            f"{base}/v23.0/<phone_number_id>/messages",
            f"token {settings.wa_token}",
        ),
        ("WAHA", f"{base}/api/sendVoice", f"X-Api-Key {settings.waha_api_key}"),
        ("Twilio", f"{base}/2010-04-01/Accounts/{settings.twilio_sid}/", "Messages, Calls"),
        ("SMS gateway", f"{base}/gateway/send", f"Bearer {settings.gateway_key}"),
        ("Apprise", f"json://{settings.host}:{settings.port}/json/notify", ""),
        ("page", f"{base}/_sandbox/", "what each person received"),
        ("recorded", f"{base}/_sandbox/requests", f"callbacks to {callbacks}"),
    ]
    lines = [f"notifyd sandbox on {base} (Ctrl-C stops it)"]
    lines += [f"  {name:<15} {url}  {note}".rstrip() for name, url, note in rows]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
    try:
        asyncio.run(serve(settings))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        raise NotifydError(f"cannot listen on {settings.host}:{settings.port}: {exc}") from exc
    return 0
