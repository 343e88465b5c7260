"""Write the sample registry export (about 40 rows) for demos and newcomers.

    python scripts/make_sample_registry.py [-o config/registry.sample.csv] [--today YYYY-MM-DD]
                                           [--seed N] [--office BLT]

Expiry dates are relative to today (in Asia/Jakarta), so that notices are due now: permits
expiring today, in 7 and in 14 days, two registered too late for a stage (a catch-up notice),
others in the coming weeks, one already expired and some years ahead. Seven rows are
deliberately bad, each for one reason; stderr lists them by line. The same --today and --seed
give the same file: UTF-8 with a BOM (as spreadsheets write it), comma-delimited, a header
row. The rows come from bench/registry_gen.py, which the registry benchmark uses too.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import random
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _load_generator() -> ModuleType:
    """Import bench/registry_gen.py (bench/ is not a package)."""
    path = ROOT / "bench" / "registry_gen.py"
    spec = importlib.util.spec_from_file_location("registry_gen", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


gen = _load_generator()

# The good rows: expiry in days from today, pinned details and what the row shows.
GOOD: list[tuple[int | None, str, dict[str, object], str]] = [
    (0, "CN", {}, "expires today: the day-0 stage"),
    (7, "AU", {"whatsapp": "same"}, "expires in 7 days: the 7-day stage"),
    (None, "", {"family": True}, "family of line {prev}: same phone and expiry"),
    (14, "JP", {"language": "ja"}, "expires in 14 days: the 14-day stage"),
    (3, "KR", {}, "expires in 3 days: a catch-up for the missed 7-day stage"),
    (10, "SA", {}, "expires in 10 days: a catch-up for the missed 14-day stage"),
    (-5, "RU", {}, "expired 5 days ago: nothing is sent"),
    (16, "US", {"channels": "sms", "phone_kind": "id"}, "SMS only"),
    (18, "AU", {"phone_kind": "national"}, "Australian number without country code"),
    (21, "IN", {}, ""),
    (24, "MY", {"language": "ms"}, ""),
    (28, "FR", {}, ""),
    (30, "DE", {"whatsapp": "same", "channels": "whatsapp,sms"}, ""),
    (35, "TW", {}, ""),
    (40, "EG", {"opted_out": "yes"}, "opted out: nothing is sent"),
    (45, "PH", {}, ""),
    (52, "NL", {}, ""),
    (60, "TH", {}, ""),
    (75, "VN", {}, ""),
    (90, "SG", {}, ""),
    (120, "CN", {"phone_kind": "foreign"}, ""),
    (150, "KR", {"whatsapp": "other"}, ""),
    (180, "JP", {"phone_kind": "national"}, ""),
    (200, "GB", {}, ""),
    (240, "TL", {"language": "id"}, ""),
    (270, "CN", {}, ""),
    (300, "US", {"phone_kind": "none"}, "WhatsApp only, no phone"),
    (330, "RU", {"language": "ru"}, ""),
    (365, "IN", {}, ""),
    (400, "DE", {}, ""),
    (500, "AU", {}, ""),
    (700, "CN", {}, ""),
    (1500, "JP", {}, "far ahead"),
]
# A deliberately bad row follows the good row with this index (0-based).
BAD_AFTER = dict(zip((3, 7, 11, 15, 19, 23, 27), gen.BAD_KINDS, strict=True))


def build(
    today: date, seed: int, office: str
) -> tuple[list[dict[str, str]], list[tuple[int, str]], list[tuple[int, str]]]:
    """The rows, the bad ones as (line, reason) and the notable good ones as (line, note)."""
    factory = gen.RowFactory(random.Random(seed), today, office=office, family_share=0.0)
    rows: list[dict[str, str]] = []
    bad: list[tuple[int, str]] = []
    notes: list[tuple[int, str]] = []
    line_of_permit: dict[str, int] = {}
    for index, (days, nationality, pinned, note) in enumerate(GOOD):
        options: dict[str, object] = {"family": False, "opted_out": "", **pinned}
        if nationality:
            options["nationality"] = nationality
        if days is not None:
            options["expiry"] = days
        row, _ = factory.row(**options)
        rows.append(row)
        line = len(rows) + 1  # line 1 is the header
        line_of_permit[row["permit_number"]] = line
        if note:
            notes.append((line, note.format(prev=line - 1)))
        kind = BAD_AFTER.get(index)
        if kind:
            row, reason = factory.row(bad=kind)
            rows.append(row)
            if kind == "duplicate_permit":
                reason += f" (line {line_of_permit[row['permit_number']]})"
            bad.append((len(rows) + 1, reason))
    return rows, bad, notes


def check(rows: list[dict[str, str]], bad_lines: set[int]) -> list[str]:
    """Phones of good rows that phonenumbers does not accept (there should be none)."""
    regions = {
        written: n.alpha2
        for n in gen.NATIONALITIES.values()
        for written in (n.alpha2, n.alpha3, n.english)
    }
    problems = []
    for line, row in enumerate(rows, start=2):
        if line in bad_lines:
            continue
        region = regions.get(row["nationality"], "")
        for column in ("phone", "whatsapp"):
            text = row[column]
            if text and not (gen.is_valid(text) or (region and gen.is_valid(text, region))):
                problems.append(f"line {line}: {column} {text!r} is not valid")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-o", "--output", type=Path, default=ROOT / "config" / "registry.sample.csv",
        help="CSV file to write (default: config/registry.sample.csv in the repository)",
    )  # fmt: skip
    parser.add_argument(
        "--today", type=date.fromisoformat, default=gen.office_today(),
        help="YYYY-MM-DD (default: today in Asia/Jakarta, the example office's time zone)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--office", default="BLT", help="office code in the office column")
    args = parser.parse_args(argv)

    rows, bad, notes = build(args.today, args.seed, args.office)
    problems = check(rows, {line for line, _ in bad})
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    # with a BOM, as spreadsheet programs write UTF-8 CSV and need it to read the names right
    with args.output.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(gen.COLUMNS)
        writer.writerows(row.values() for row in rows)

    err = sys.stderr
    print(
        f"wrote {args.output}: {len(rows)} rows ({len(rows) - len(bad)} good, {len(bad)} "
        f"deliberately bad), expiry dates relative to {args.today}, seed {args.seed}",
        file=err,
    )
    print("deliberately bad rows (line 1 is the header):", file=err)
    for line, reason in bad:
        print(f"  line {line}: {reason}", file=err)
    print(
        "rows worth a look (a stage on a day the office is closed moves to the open day before):",
        file=err,
    )
    for line, note in notes:
        print(f"  line {line}: {note}", file=err)
    return 0


if __name__ == "__main__":
    sys.exit(main())
