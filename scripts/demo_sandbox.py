"""The sandbox side of the README's run command (scripts/demo.sh).

    python scripts/demo_sandbox.py faults -c CONFIG       # --fault rules for today's numbers
    python scripts/demo_sandbox.py play -c CONFIG --sandbox URL [--timeout 90]

`faults` picks the people whose notices are due now and prints sandbox failure rules, one a
line, so that the log shows each path. Of those reached on WhatsApp first, the first gets the
template (and taps it, below), the second is not on WhatsApp (the notice falls back to SMS),
the third's template is accepted and then fails (a late failure: SMS too). Of those reached by
SMS first, the first has a number Twilio refuses for SMS (the notice ends as a phone call), the
second cannot be reached at all (the notice fails, with the last reason).

`play` waits until the daemon has sent everything due and the receipts are back, then taps the
"Listen" button of one delivered template (the voice note follows) and waits for it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from notifyd import config
from notifyd.db import schema, store

OPEN = ("scheduled", "sending", "retrying")
#: Failure rules for people whose first channel is WhatsApp; the first is left alone (their
#: template is delivered and tapped).
WHATSAPP_FIRST = [
    [],
    ["whatsapp:{wa}:not_on_whatsapp"],
    ["whatsapp:{wa}:late_failure"],
]
#: … and for people reached by SMS first.
SMS_FIRST = [
    ["twilio-sms:{phone}:invalid_number"],
    ["twilio-sms:{phone}:invalid_number", "twilio-call:{phone}:invalid_number"],
]


def _engine(path: str) -> Any:
    return store.open_store(store.database_url(config.load(path)))


def due_people(path: str) -> list[tuple[str, str, bool]]:
    """(WhatsApp number, phone, WhatsApp first?) of the people with a notice due now, one row
    a phone (families share one)."""
    n, p, pe = schema.notifications, schema.permits, schema.people
    now = datetime.now(UTC)
    with _engine(path).connect() as conn:
        rows = conn.execute(
            select(pe.c.whatsapp, pe.c.phone, pe.c.channels)
            .join(p, p.c.person_id == pe.c.id)
            .join(n, n.c.permit_id == p.c.id)
            .where(n.c.status == "scheduled", n.c.due_at <= now)
            .order_by(n.c.due_at, n.c.id)
        ).all()
    out: dict[str, tuple[str, str, bool]] = {}
    for wa, phone, channels in rows:
        if phone and phone not in out:
            out[phone] = (wa or phone, phone, not channels or channels.startswith("whatsapp"))
    return list(out.values())


def cmd_faults(args: argparse.Namespace) -> int:
    people = due_people(args.config)
    plans = zip(WHATSAPP_FIRST, [p for p in people if p[2]], strict=False)
    plans2 = zip(SMS_FIRST, [p for p in people if not p[2]], strict=False)
    for plan, (wa, phone, _) in [*plans, *plans2]:
        for rule in plan:
            print(rule.format(wa=wa, phone=phone))
    return 0


def _open_notices(path: str) -> int:
    n = schema.notifications
    now = datetime.now(UTC)
    with _engine(path).connect() as conn:
        waiting = conn.execute(
            select(func.count()).where(
                (n.c.status.in_(OPEN) & (n.c.due_at <= now)) | (n.c.status == "sent")
            )
        ).scalar_one()
    return int(waiting)


def _sandbox(url: str, path: str, data: Any = None) -> Any:
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(
        url + path, data=body, method="GET" if data is None else "POST",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def _wait(check: Any, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if check():
                return True
        except OSError:  # the sandbox is still starting
            pass
        time.sleep(0.5)
    return False


def cmd_play(args: argparse.Namespace) -> int:
    def sent_something() -> bool:
        return bool(_sandbox(args.sandbox, "/_sandbox/requests"))

    if not _wait(sent_something, args.timeout):
        print("nothing reached the sandbox: see state/notifyd.log", file=sys.stderr)
        return 1
    _wait(lambda: _open_notices(args.config) == 0, args.timeout)
    faulted = {f["to"].lstrip("+") for f in _sandbox(args.sandbox, "/_sandbox/faults")}
    sent = _sandbox(args.sandbox, "/_sandbox/requests?provider=whatsapp")
    templates = [r["body"]["to"] for r in sent if (r["body"] or {}).get("type") == "template"]
    clean = [to for to in templates if to not in faulted]
    if not clean:
        print("no delivered WhatsApp template to tap", file=sys.stderr)
        return 0
    before = len(sent)
    print(f"The person at +{clean[0][:5]}… taps “Dengarkan / Listen”: the voice note follows.")
    _sandbox(args.sandbox, "/_sandbox/tap", {"to": "+" + clean[0]})

    def voice_sent() -> bool:
        now = _sandbox(args.sandbox, "/_sandbox/requests?provider=whatsapp")
        return any((r["body"] or {}).get("type") == "audio" for r in now[before:])

    _wait(voice_sent, args.timeout)
    _wait(lambda: _open_notices(args.config) == 0, 10)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(required=True)
    f = sub.add_parser("faults")
    f.add_argument("-c", "--config", required=True)
    f.set_defaults(func=cmd_faults)
    p = sub.add_parser("play")
    p.add_argument("-c", "--config", required=True)
    p.add_argument("--sandbox", required=True)
    p.add_argument("--timeout", type=float, default=90.0)
    p.set_defaults(func=cmd_play)
    args = ap.parse_args()
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
