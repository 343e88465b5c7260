"""Write a realistic N-row registry export, or a copy of one with a share of rows changed.

    python bench/make_registry.py 1000000 -o WORKDIR/registry-1m.csv \\
        [--seed 1] [--today 2026-03-02]
    python bench/make_registry.py -o WORKDIR/registry-1m-changed.csv \\
        --from WORKDIR/registry-1m.csv --change-share 0.01

Streams in constant memory. About 0.5 % of generated rows are deliberately bad (see
registry_gen.BAD_KINDS); a changed copy renews half its changed rows (a later expiry date)
and gives the other half a new phone number. Summary on stderr.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import registry_gen as gen


def write_export(
    path: Path, rows: int, *, seed: int = 1, today: date | None = None, bad_share: float = 0.005
) -> Counter[str]:
    """Write `rows` rows (plus a header) to `path`; return counts of what was written."""
    if rows > gen.MAX_ROWS:
        raise ValueError(f"at most {gen.MAX_ROWS:,} rows (permit numbers would repeat)")
    rng = random.Random(seed)
    factory = gen.RowFactory(rng, today or gen.office_today(), id_width=max(6, len(str(rows))))
    counts: Counter[str] = Counter()
    kinds = gen.BAD_KINDS
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(gen.COLUMNS)
        for _ in range(rows):
            bad = None
            if rng.random() < bad_share and factory.last is not None:
                bad = kinds[int(rng.random() * len(kinds))]
                counts[bad] += 1
            row, _reason = factory.row(bad)
            if row["whatsapp"]:
                counts["whatsapp"] += 1
            writer.writerow(row.values())
    counts["rows"] = rows
    return counts


def _same_number(a: str, b: str) -> bool:
    """Whether two written phone numbers look like the same number (last 9 digits)."""
    da = "".join(ch for ch in a if ch.isdigit())
    db = "".join(ch for ch in b if ch.isdigit())
    return len(da) >= 8 and da[-9:] == db[-9:]


def _bad_phone(text: str) -> bool:
    """Whether the phone is one the generator wrote to make a row bad."""
    digits = "".join(ch for ch in text if ch.isdigit())
    return text in gen.INVALID_PHONES or digits.startswith(("0809", "62809"))


def change_export(
    source: Path, path: Path, share: float, *, seed: int = 1, today: date | None = None
) -> Counter[str]:
    """Copy `source` to `path` with about `share` of its rows changed: half renewed (expiry
    moved a year or two later, written in the row's own date style), half a new phone (and
    the WhatsApp number too when it was the same number)."""
    rng = random.Random(f"change-{seed}")
    factory = gen.RowFactory(rng, today or gen.office_today())
    counts: Counter[str] = Counter()
    with (
        source.open(newline="", encoding="utf-8-sig") as fin,
        path.open("w", newline="", encoding="utf-8") as fout,
    ):
        reader = csv.reader(fin)
        writer = csv.writer(fout)
        header = next(reader)
        writer.writerow(header)
        i_exp, i_phone, i_wa = (header.index(c) for c in ("expiry_date", "phone", "whatsapp"))
        for row in reader:
            counts["rows"] += 1
            if rng.random() < share:
                parsed = gen.read_date(row[i_exp])
                rephone = not _bad_phone(row[i_phone])  # a bad row stays bad
                if parsed is not None and (rng.random() < 0.5 or not rephone):
                    old, style = parsed
                    years = 2 if rng.random() < 0.3 else 1
                    new = max(old, factory.today) + timedelta(days=365 * years)
                    row[i_exp] = gen.write_date(new, style)
                    counts["renewed"] += 1
                elif rephone:
                    phone = gen.format_id(gen.id_mobile(rng), gen.ID_PHONE_STYLES.pick(rng))
                    if row[i_wa] and _same_number(row[i_wa], row[i_phone]):
                        row[i_wa] = phone
                    row[i_phone] = phone
                    counts["new_phone"] += 1
            writer.writerow(row)
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, help="rows to generate (not with --from)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="CSV file to write")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--today", type=date.fromisoformat, help="YYYY-MM-DD (default: today in Asia/Jakarta)"
    )
    parser.add_argument("--bad-share", type=float, default=0.005, help="default 0.005")
    parser.add_argument("--from", dest="source", type=Path, help="export to copy with changes")
    parser.add_argument("--change-share", type=float, default=0.01, help="default 0.01")
    args = parser.parse_args(argv)
    if (args.rows is None) == (args.source is None):
        parser.error("give either a number of rows or --from FILE")

    started = time.perf_counter()
    if args.source:
        counts = change_export(
            args.source, args.output, args.change_share, seed=args.seed, today=args.today
        )
        seconds = time.perf_counter() - started
        print(
            f"{args.output}: {counts['rows']:,} rows, {counts['renewed']:,} renewed, "
            f"{counts['new_phone']:,} with a new phone ({seconds:.1f} s)",
            file=sys.stderr,
        )
        return 0
    counts = write_export(
        args.output, args.rows, seed=args.seed, today=args.today, bad_share=args.bad_share
    )
    seconds = time.perf_counter() - started
    bad = {kind: counts[kind] for kind in gen.BAD_KINDS}
    print(
        f"{args.output}: {args.rows:,} rows in {seconds:.1f} s "
        f"({args.rows / max(seconds, 1e-9):,.0f} rows/s); "
        f"{counts['whatsapp'] / max(args.rows, 1):.1%} with WhatsApp; "
        f"{sum(bad.values()):,} deliberately bad: "
        + ", ".join(f"{kind} {n:,}" for kind, n in bad.items()),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
