#!/usr/bin/env python3
"""Reading a batch CSV: `csv.DictReader`'s read against the columnar reader's.

    python benchmarks/bench_read.py /tmp/ship-1m.csv [--chunk-lines 20000] [--exact]

Prints the lines and declarations read, `csv.DictReader`'s time to read every row, the
columnar reader's time to a full stream of DeclarationSets (`customs_rules.io.read_chunks`),
their ratio (DictReader / columnar: above 1 is faster than the read), and the peak RSS of
this process. `--exact` also times today's record-by-record reader (`io.declarations.read_declarations`,
pydantic per declaration) for comparison. Make the file with generate_shipments.py, e.g.

    python benchmarks/generate_shipments.py --lines 1000000 --seed 1 --out /tmp/ship-1m.csv
"""

from __future__ import annotations

import argparse
import csv
import resource
import time


def dictreader(path: str) -> tuple[int, float]:
    started = time.perf_counter()
    rows = 0
    with open(path, encoding="utf-8", newline="") as text:
        for _ in csv.DictReader(text):
            rows += 1
    return rows, time.perf_counter() - started


def columnar(path: str, chunk_lines: int) -> tuple[int, int, int, float]:
    from customs_rules.io import read_chunks

    started = time.perf_counter()
    declarations = rejected = lines = 0
    for chunk in read_chunks([path], chunk_lines=chunk_lines):
        declarations += len(chunk.declarations)
        lines += int(chunk.declarations.headers["lines"].sum() or 0) + sum(r.lines for r in chunk.rejected)
        rejected += len(chunk.rejected)
    return lines, declarations, rejected, time.perf_counter() - started


def exact(path: str) -> tuple[int, float]:
    from customs_rules.io.declarations import read_declarations
    from customs_rules.io.parsing import Parsed

    started = time.perf_counter()
    count = sum(1 for outcome in read_declarations(path) if isinstance(outcome, Parsed))
    return count, time.perf_counter() - started


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path")
    parser.add_argument("--chunk-lines", type=int, default=20_000)
    parser.add_argument("--exact", action="store_true", help="also time the record-by-record reader")
    args = parser.parse_args()
    import customs_rules.io  # noqa: F401 - imported before timing, as a command would

    rows, read_s = dictreader(args.path)
    print(f"input: {args.path}: {rows:,} lines (csv.DictReader rows)")
    print(f"csv.DictReader read: {read_s:.2f} s  (peak RSS so far {peak_rss_mb():.0f} MB)")
    lines, decls, rejected, col_s = columnar(args.path, args.chunk_lines)
    print(
        f"columnar reader: {col_s:.2f} s to {decls:,} declarations in DeclarationSets "
        f"({lines:,} lines, {rejected:,} rejected; chunks of {args.chunk_lines:,} lines)"
    )
    print(f"ratio (DictReader / columnar): {read_s / col_s:.2f}")
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    if args.exact:
        count, exact_s = exact(args.path)
        print(
            f"record-by-record reader (pydantic): {exact_s:.2f} s to {count:,} declarations; "
            f"ratio {read_s / exact_s:.3f}"
        )


if __name__ == "__main__":
    main()
