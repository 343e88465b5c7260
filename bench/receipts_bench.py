"""Receipts per second through the web app: signed Twilio-style status callbacks over real
HTTP, verified, parsed and applied, with sender and server on this machine.

    .venv/bin/python bench/receipts_bench.py [--notices 2000] [--concurrency 50] [--db URL]

Writes a JSON line to bench/out/receipts.jsonl and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from twilio.request_validator import RequestValidator

from notifyd import config, plugins
from notifyd.db import attempts as attemptstore
from notifyd.db import store
from notifyd.hookspecs import Receipt, WebhookRequest, WebhookResult
from notifyd.registry.sync import run_sync
from notifyd.web import app as web
from notifyd.web.signatures import form_params, verify_twilio

TOKEN = "bench-auth-token-0123456789abcdef"
NOW = datetime(2026, 12, 4, 2, 30, tzinfo=UTC)


class Channel:
    name, audio_format = "sms", None

    async def send(self, message: object) -> str:
        raise NotImplementedError

    def handle_webhook(self, request: WebhookRequest) -> WebhookResult:
        params = form_params(request.body)
        if not verify_twilio(request.url, params, request.headers.get("x-twilio-signature"), TOKEN):
            return WebhookResult(status=403)
        form = dict(params)
        return WebhookResult(receipts=(Receipt(form["MessageSid"], form["MessageStatus"]),))


def prepare(
    folder: Path, n: int, db: str | None, port: int = 0
) -> tuple[config.Config, object, list[str]]:
    registry = folder / "registry.csv"
    with open(registry, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["registry_id", "full_name", "nationality", "permit_number", "expiry_date",
                    "phone", "channels"])  # fmt: skip
        for i in range(n):
            w.writerow([f"B{i:06d}", f"P {i}", "AU", f"2C{i:06d}", "2026-12-31",
                        f"+6281{i:08d}", "sms"])  # fmt: skip
    cfg = config.parse(
        {"state_dir": str(folder), "registry": {"path": str(registry)},
         "channels": {"sms": {"plugin": "spool", "kind": "sms"}}, "channel_order": ["sms"],
         "database": {"url": db or ""}, "http": {"listen": f"127.0.0.1:{port}"}}
    )  # fmt: skip
    engine = store.open_store(store.database_url(cfg))
    run_sync(cfg, engine, plugins.make_manager(), NOW)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.exec_driver_sql(
            "SELECT min(id) FROM notifications GROUP BY permit_id ORDER BY 1")]  # fmt: skip
    sids = []
    for nid in ids:
        aid = attemptstore.start_attempt(engine, nid, "sms", NOW)
        attemptstore.finish_attempt(engine, aid, NOW, "sent", provider_id=f"SM{nid}",
                                    notice_status="sent")  # fmt: skip
        sids.append(f"SM{nid}")
    return cfg, engine, sids


async def fire(cfg: config.Config, engine: object, sids: list[str], conc: int) -> dict:
    runner = await web.start(cfg, engine, {"sms": Channel()})  # type: ignore[arg-type]
    url = f"http://127.0.0.1:{web.bound_port(runner)}/hooks/sms"
    validator, sem, rates = RequestValidator(TOKEN), asyncio.Semaphore(conc), {}
    async with aiohttp.ClientSession() as session:

        async def post(sid: str, status: str) -> None:
            form = {"MessageSid": sid, "MessageStatus": status}
            headers = {"X-Twilio-Signature": validator.compute_signature(url, form),
                       "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
            async with sem, session.post(url, data=urlencode(form), headers=headers) as r:
                assert r.status == 200, r.status

        for label, status in (("delivered", "delivered"), ("read", "read"), ("replayed", "read")):
            t0 = time.perf_counter()
            await asyncio.gather(*(post(sid, status) for sid in sids))
            rates[label] = round(len(sids) / (time.perf_counter() - t0))
    await runner.cleanup()
    return rates


@contextmanager
def scratch_database(server: str | None) -> Iterator[str | None]:
    if not server:
        yield None
        return
    url = make_url(server)
    name = f"notifyd_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--notices", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument(
        "--database", "--db", dest="db",
        help="a PostgreSQL server URL: a fresh database is made there and dropped after",
    )  # fmt: skip
    ap.add_argument("--port", type=int, default=0, help="the web app's port (0: a free one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, scratch_database(args.db) as db:
        cfg, engine, sids = prepare(Path(tmp), args.notices, db, args.port)
        rates = asyncio.run(fire(cfg, engine, sids, args.concurrency))
        engine.dispose()  # type: ignore[attr-defined]
    line = {"backend": "postgresql" if args.db else "sqlite", "notices": len(sids),
            "concurrency": args.concurrency, "receipts_per_s": rates}  # fmt: skip
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    with open(out / "receipts.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")
    print(json.dumps(line))


if __name__ == "__main__":
    main()
