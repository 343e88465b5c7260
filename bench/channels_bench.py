"""WhatsApp Cloud channel throughput against the sandbox: notices/s at a given concurrency.

    python bench/channels_bench.py [--notices 5000] [--concurrency 50] [--mode voice|template]
                                   [--runs 3] [--no-receipts]

The sandbox runs as its own process (`notifyd sandbox`, rate limits off, every window open);
this process holds the channel, as the daemon would, and with receipts on also the webhook
receiver (a small aiohttp app calling the channel's handle_webhook, as notifyd's web app
will). `voice` mode sends each notice as the follow-up voice note: upload the OGG, then the
audio message (two requests); `template` mode sends the cold template (one request).
It prints a Markdown row per run and the median, and writes bench/out/channels-MODE.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil
from aiohttp import web

from notifyd import config, plugins
from notifyd.hookspecs import Message, WebhookRequest

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
FIELDS = {
    "name": "Ayu Lestari",
    "permit": "2C11AB0001-26",
    "expiry": "31 Desember 2026",
    "days_left": "7",
    "office_phone": "+62 342 801234",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_sandbox(port: int, hooks: str) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-m",
        "notifyd.cli.main",
        "sandbox",
        "--listen",
        f"127.0.0.1:{port}",
        "--all-windows-open",
        "--callback-delay",
        "0",
    ]
    if hooks:
        cmd += ["--callback-url", hooks]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the sandbox did not start")


def make_channel(sandbox_url: str, tmp: Path) -> Any:
    os.environ.update(
        BENCH_WA_TOKEN="sandbox-token", BENCH_WA_SECRET="sandbox-app-secret", BENCH_WA_VERIFY="v"
    )
    options = {
        "base_url": sandbox_url,
        "phone_number_id": "106540352242922",
        "token": "env:BENCH_WA_TOKEN",
        "app_secret": "env:BENCH_WA_SECRET",
        "verify_token": "env:BENCH_WA_VERIFY",
        "templates": {"en": {"name": "notifyd_permit_expiry", "language": "en"}},
    }
    cfg = config.parse({"state_dir": str(tmp)})
    return plugins.channel_plugins(plugins.make_manager())["whatsapp-cloud"].create(
        "whatsapp", options, cfg
    )


def voice_note(path: Path) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=15",
            "-ac",
            "1",
            "-ar",
            "16000",
            "-c:a",
            "libopus",
            "-b:a",
            "24k",
            str(path),
        ],
        check=True,
    )
    return path


async def one_run(args: argparse.Namespace, sandbox_url: str, audio: Path, hooks_port: int) -> dict:
    channel = make_channel(sandbox_url, OUT)
    receipts = 0
    all_in = asyncio.Event()
    expected = 2 * args.notices  # sent + delivered for each

    async def hook(request: web.Request) -> web.Response:
        nonlocal receipts
        result = channel.handle_webhook(
            WebhookRequest(
                request.method,
                str(request.url),
                {k.lower(): v for k, v in request.headers.items()},
                dict(request.query),
                await request.read(),
            )
        )
        receipts += len(result.receipts)
        if receipts >= expected:
            all_in.set()
        return web.Response(status=result.status, text=result.body)

    runner = None
    if hooks_port:
        app = web.Application()
        app.router.add_post("/hooks/whatsapp", hook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", hooks_port).start()

    followup = args.mode == "voice"
    gate = asyncio.Semaphore(args.concurrency)
    latencies: list[float] = []
    errors: list[str] = []

    async def send(n: int) -> None:
        message = Message(
            n,
            f"+62812{n:07d}",
            "en",
            "…",
            audio if followup else None,
            fields=FIELDS,
            followup=followup,
        )
        async with gate:
            start = time.perf_counter()
            try:
                await channel.send(message)
            except Exception as exc:
                errors.append(repr(exc))
            latencies.append(time.perf_counter() - start)

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    await asyncio.gather(*(send(n) for n in range(args.notices)))
    sent_s = time.perf_counter() - start
    receipts_s = None
    if hooks_port:
        try:
            await asyncio.wait_for(all_in.wait(), 120)
            receipts_s = time.perf_counter() - start
        except TimeoutError:
            errors.append(f"only {receipts} of {expected} receipts within 120 s")
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    await channel.aclose()
    if runner is not None:
        await runner.cleanup()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    latencies.sort()
    return {
        "notices": args.notices,
        "seconds": round(sent_s, 3),
        "notices_per_s": round(args.notices / sent_s, 1),
        "with_receipts_per_s": round(args.notices / receipts_s, 1) if receipts_s else None,
        "receipts": receipts,
        "p50_ms": round(1000 * latencies[len(latencies) // 2], 1),
        "p95_ms": round(1000 * latencies[int(len(latencies) * 0.95)], 1),
        "notifyd_cpu_ms_per_notice": round(1000 * cpu / args.notices, 3),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--notices", type=int, default=5000)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--mode", choices=("voice", "template"), default="voice")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--no-receipts", action="store_true")
    p.add_argument("--port", type=int, default=0, help="the sandbox's port (0: a free one)")
    p.add_argument("--hooks-port", type=int, default=0, help="the receipts' port (0: free)")
    args = p.parse_args()
    OUT.mkdir(exist_ok=True)
    audio = voice_note(OUT / "bench-note.ogg")
    port = args.port or free_port()
    hooks_port = 0 if args.no_receipts else (args.hooks_port or free_port())
    hooks = f"http://127.0.0.1:{hooks_port}/hooks" if hooks_port else ""
    sandbox = start_sandbox(port, hooks)
    sandbox_ps = psutil.Process(sandbox.pid)
    rows = []
    try:
        for _ in range(args.runs):
            cpu0 = sum(sandbox_ps.cpu_times()[:2])
            row = asyncio.run(one_run(args, f"http://127.0.0.1:{port}", audio, hooks_port))
            row["sandbox_cpu_s"] = round(sum(sandbox_ps.cpu_times()[:2]) - cpu0, 2)
            rows.append(row)
            urllib.request.urlopen(
                urllib.request.Request(
                    f"http://127.0.0.1:{port}/_sandbox/requests", method="DELETE"
                )
            ).close()
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    keys = list(rows[0])
    print(
        f"mode {args.mode}, concurrency {args.concurrency}, audio {audio.stat().st_size} bytes, "
        f"receipts {'off' if args.no_receipts else 'on'}"
    )
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")
    median = statistics.median(r["notices_per_s"] for r in rows)
    print(f"median notices/s: {median}")
    result = {"args": vars(args), "runs": rows, "median_notices_per_s": median}
    (OUT / f"channels-{args.mode}.json").write_text(json.dumps(result, indent=2))
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
