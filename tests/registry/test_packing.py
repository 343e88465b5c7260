"""What crosses to the worker processes comes back as the Records and Rejections it was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import config_dict, person
from notifyd import config
from notifyd.model import RawRow
from notifyd.registry.normalise import Rules, normalise
from notifyd.registry.packing import normalise_packed, pack_rows, unpack


def test_packed_rows_normalise_to_exactly_what_normalise_gives(tmp_path) -> None:
    rules = Rules.from_config(config.parse(config_dict(tmp_path / "r.csv")))
    rows = [
        RawRow(2, person(1)),
        RawRow(3, person(2, whatsapp="+61 412 345 678")),
        RawRow(4, person(3, nationality="Atlantis")),
        RawRow(5, {"registry_id": "x"}, ("'Nama': a cell of 9,999 characters",)),  # other keys
        RawRow(6, person(4, phone="", whatsapp="0812-3456-0004", opted_out="sms")),
    ]
    expected = [normalise(r, rules) for r in rows]
    assert unpack(normalise_packed(pack_rows(rows), rules)) == expected
    assert pack_rows([]) == ((), [])


STARTER = """
import os, sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from notifyd.registry.packing import bare_main

with open(sys.argv[1] if len(sys.argv) > 1 else os.environ["MARKS"], "a") as f:
    f.write("imported\\n")
if __name__ == "__main__":
    os.environ["MARKS"] = sys.argv[1]
    pool = ProcessPoolExecutor(1, mp_context=get_context("spawn"))
    if sys.argv[2] == "bare":
        with bare_main():
            done = pool.submit(os.getpid)
    else:
        done = pool.submit(os.getpid)
    done.result()
    pool.shutdown()
"""


def test_workers_start_without_running_the_starters_script_again(tmp_path: Path) -> None:
    """`notifyd`'s script imports every command; a spawned worker would run it again (a
    hundred MB), where it needs only the normalising modules."""
    script = tmp_path / "starter.py"
    script.write_text(STARTER, encoding="utf-8")
    for how, times in (("bare", 1), ("plain", 2)):  # plain: the control, spawn's own way
        marks = tmp_path / f"marks-{how}"
        subprocess.run([sys.executable, str(script), str(marks), how], check=True, timeout=120)
        assert marks.read_text(encoding="utf-8").count("imported") == times, how
