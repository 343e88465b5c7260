"""Normalising worker benchmark: µs a row and CPU seconds of the worker's job, in-process.

    python bench/normalise_bench.py --export FILE [--rows 200000] [--repeat 3] [--digest]
        [--profile OUT.prof]

Reads the first N rows of a CSV export as a first sync does (the CSV source's rows), and feeds
them in chunks of the sync's size through what the worker process does: unpickle the packed
chunk, `normalise_packed`, pickle the results. The writer's side (packing and unpacking) is
timed apart. The collector is quietened as in the worker. Each repeat runs in a fresh process,
as each sync starts a fresh worker, so the caches start cold. `--digest` prints a hash of every
result's repr: two versions of the code that give the same digest on the same rows gave the
same packed output for every row. Run it with PYTHONPATH set to another checkout to measure
that checkout's code with the same script.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import sync_bench  # noqa: E402 (a sibling script, not a package)

#: The sync's chunk (notifyd.registry.sync.CHUNK), fixed here so old and new code get the same.
CHUNK = 2000


def one_run(export: Path, rows: int, digest: bool, profile: str | None) -> dict[str, Any]:
    """One cold run in this process: read, then time the worker's and the writer's parts."""
    from notifyd.config import load
    from notifyd.registry.collect import quieten
    from notifyd.registry.normalise import Rules
    from notifyd.registry.packing import normalise_packed, pack_rows, unpack
    from notifyd_plugins.registry.csv_source import CsvSource

    with tempfile.TemporaryDirectory() as state:
        config = Path(state) / "config.toml"  # the sync bench's config: one office, spools
        sync_bench.write_config(config, Path(state), rows, export, "sqlite://")
        cfg = load(config)
        rules = Rules.from_config(cfg)
        read = list(islice(CsvSource().read(cfg), rows))
    chunks = [read[i : i + CHUNK] for i in range(0, len(read), CHUNK)]
    wire_in: list[bytes] = []
    t = time.process_time()
    for chunk in chunks:
        wire_in.append(pickle.dumps((pack_rows(chunk), rules), pickle.HIGHEST_PROTOCOL))
    packing = time.process_time() - t
    del read, chunks
    quieten()  # as the worker's initializer does

    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    wire_out: list[bytes] = []
    t = time.process_time()
    wall = time.perf_counter()
    for data in wire_in:
        packed, got_rules = pickle.loads(data)
        wire_out.append(pickle.dumps(normalise_packed(packed, got_rules), pickle.HIGHEST_PROTOCOL))
    worker = time.process_time() - t
    worker_wall = time.perf_counter() - wall
    if prof is not None:
        prof.disable()
        prof.dump_stats(profile)  # type: ignore[arg-type]

    h = hashlib.blake2b(digest_size=16)
    unpacking = 0.0
    for data in wire_out:
        t = time.process_time()
        results = pickle.loads(data)
        unpack(results)
        unpacking += time.process_time() - t
        if digest:
            for r in results:
                h.update(repr(r).encode())
    return {
        "rows": rows,
        "worker_cpu_s": round(worker, 3),
        "worker_wall_s": round(worker_wall, 3),
        "us_per_row": round(worker / max(rows, 1) * 1e6, 2),
        "writer_pack_cpu_s": round(packing, 3),
        "writer_unpack_cpu_s": round(unpacking, 3),
        "digest": h.hexdigest() if digest else None,
        "maxrss_mb": round(_maxrss_mb(), 1),
    }


def _maxrss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--export", type=Path, required=True, help="a registry CSV export")
    p.add_argument("--rows", type=int, default=200_000, help="the first N rows (default 200000)")
    p.add_argument("--repeat", type=int, default=3, help="fresh processes, one run each")
    p.add_argument("--digest", action="store_true", help="print a hash of every result")
    p.add_argument("--profile", help="write a cProfile of the worker's part (one run)")
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one or args.profile:
        print(json.dumps(one_run(args.export, args.rows, args.digest, args.profile)))
        return
    command = [sys.executable, __file__, "--one", "--export", str(args.export)]
    command += ["--rows", str(args.rows)] + (["--digest"] if args.digest else [])
    runs = []
    for _ in range(args.repeat):
        out = subprocess.run(command, check=True, capture_output=True, text=True, env=os.environ)
        runs.append(json.loads(out.stdout))
        print(out.stdout.strip(), flush=True)
    us = sorted(r["us_per_row"] for r in runs)
    print(f"median {us[len(us) // 2]} µs a row over {args.rows:,} rows, {args.repeat} runs")


if __name__ == "__main__":
    main()
