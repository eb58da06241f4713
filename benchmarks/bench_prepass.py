#!/usr/bin/env python3
"""Wall and CPU time of a batch's pre-pass (`workflow.prepass.run_history`), in one process.

    python benchmarks/bench_prepass.py FILE --db sqlite:///REG.db

Reads FILE as `screen FILE` does before screening anything: every chunk read, its parties
keyed, kept in a spool, and the run's past narrowed to the rows the pack's facts read.
Prints the input size (lines, declarations), the wall and CPU seconds, csv.DictReader's
read of the same file in the same run, and the size of the narrowed past. Run it with
`PYTHONPATH=OTHER/src` to time another version.
"""

from __future__ import annotations

import argparse
import csv
import time

from customs_rules.store import Store
from customs_rules.workflow import batch
from customs_rules.workflow.screener import pack_in_force


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--db", required=True, help="a database with a registry loaded (its rules in force)")
    args = parser.parse_args()
    started = time.perf_counter()
    with open(args.file, newline="", encoding="utf-8") as handle:
        lines = sum(1 for _ in csv.DictReader(handle))
    read = time.perf_counter() - started
    store = Store(args.db)
    pack = pack_in_force(store, None).pack
    spool = batch.Spool()
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        past = batch.run_history(store, [args.file], None, pack.reference, spool)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        spool.close()
        store.close()
    declarations = past.rows.get_column("declaration_id").n_unique()
    print(f"input: {args.file}: {lines:,} lines; csv.DictReader read {read:.2f} s")
    print(f"pre-pass: {wall:.2f} s wall, {cpu:.2f} s CPU ({wall / read:.1f}x the read)")
    print(f"narrowed past: {past.rows.height:,} rows of {declarations:,} declarations")


if __name__ == "__main__":
    main()
