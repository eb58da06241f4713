"""Time `registry load` against csv.DictReader's read of the same files (issue #13).

    python benchmarks/generate_shipments.py --lines 1000 --seed 1 --registry-out DIR --companies 100000 --out /tmp/x.csv
    python benchmarks/bench_registry_load.py DIR [--db URL] [--snapshot]

Prints the input size (rows of companies.csv and people.csv), the time csv.DictReader
takes just to read both files, the time of `workflow.screener.load_registry` (validation, keys, the
compiled person pairs and company edges, storing, audit), their ratio, both as wall and
as CPU time (a shared machine's wall times swing), the compiled parts' sizes and the
process's peak RSS. Without --db, a fresh SQLite file in a
temporary directory; with a PostgreSQL URL, its registry tables are replaced. With
--snapshot it also times `CompiledRegistry.from_store`.
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from customs_rules.store import Store  # noqa: E402
from customs_rules.workflow.screener import load_registry  # noqa: E402


def read_time(files: list[Path]) -> tuple[float, float, list[int]]:
    """csv.DictReader's read of the files: wall and CPU time, and their rows."""
    start, cpu = time.perf_counter(), time.process_time()
    counts = []
    for path in files:
        with path.open(newline="", encoding="utf-8") as handle:
            counts.append(sum(1 for _ in csv.DictReader(handle)))
    return time.perf_counter() - start, time.process_time() - cpu, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registry", type=Path, help="directory with companies.csv and people.csv")
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--snapshot", action="store_true", help="also time CompiledRegistry.from_store")
    args = parser.parse_args()
    companies, people = args.registry / "companies.csv", args.registry / "people.csv"
    read, read_cpu, counts = read_time([companies, people])
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(args.db or f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            start, cpu = time.perf_counter(), time.process_time()
            result = load_registry(store, companies, people)
            load, load_cpu = time.perf_counter() - start, time.process_time() - cpu
            if result.failed:
                raise SystemExit(f"load failed: {result.failed[0]}")
            frames = store.registry_frames() if args.snapshot else None
            if args.snapshot:
                from customs_rules.entities.compiled import CompiledRegistry

                start, cpu = time.perf_counter(), time.process_time()
                CompiledRegistry.from_store(store)
                snapshot, snapshot_cpu = time.perf_counter() - start, time.process_time() - cpu
        finally:
            store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"input: {counts[0]:,} companies, {counts[1]:,} people ({args.db or 'SQLite'})")
    print(f"csv.DictReader read: {read:.2f} s ({read_cpu:.2f} s CPU)")
    print(f"registry load: {load:.2f} s  (ratio load/read: {load / read:.1f}x); CPU {load_cpu:.2f} s (ratio "
          f"{load_cpu / read_cpu:.1f}x; this process's threads, not a PostgreSQL server's)")  # fmt: skip
    if frames is not None:
        print(f"compiled: {len(frames['pairs']):,} person pairs, {len(frames['edges']):,} role/address edges; "
              f"CompiledRegistry.from_store: {snapshot:.2f} s ({snapshot_cpu:.2f} s CPU)")  # fmt: skip
    print(f"peak RSS: {rss:.0f} MB")


if __name__ == "__main__":
    main()
