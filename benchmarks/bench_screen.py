"""Time `customs-rules screen` on a synthetic batch CSV, beside a plain csv read.

    python benchmarks/bench_screen.py [--lines 100000] [--companies 2000] [--keep DIR]

It writes a synthetic registry and shipments file (benchmarks/generate_shipments.py),
loads the registry into a fresh SQLite database, then times, in this order:
  1. Python's csv.DictReader reading the same file (nothing else);
  2. the real CLI, `customs-rules -q screen FILE --format json > /dev/null`, storing
     every declaration, decision and finding in the database.
It prints the input size and both timings, with lines/s and the ratio.
"""

from __future__ import annotations

import argparse
import csv
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--companies", type=int, default=2_000)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep the files")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="cr-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data, registry, db = work / "shipments.csv", work / "registry", f"sqlite:///{work / 'bench.db'}"
    subprocess.run(
        [sys.executable, str(HERE / "generate_shipments.py"), "--lines", str(args.lines), "--out", str(data),
         "--registry-out", str(registry), "--companies", str(args.companies)],
        check=True,
    )  # fmt: skip
    cli = [sys.executable, "-m", "customs_rules", "--db", db, "-q"]
    subprocess.run(
        [*cli, "registry", "load", "--companies", str(registry / "companies.csv"), "--people", str(registry / "people.csv")],
        check=True,
    )  # fmt: skip

    start = time.perf_counter()
    with data.open(newline="", encoding="utf-8") as handle:
        rows = sum(1 for _ in csv.DictReader(handle))
    read_s = time.perf_counter() - start

    start = time.perf_counter()
    result = subprocess.run([*cli, "screen", str(data), "--format", "json"], stdout=subprocess.PIPE, check=False)
    screen_s = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # largest child so far
    decisions = result.stdout.count(b"\n")

    print(f"input: {rows} lines, {decisions} declarations, {args.companies} registry companies ({data})")
    print(f"csv.DictReader read only: {read_s:.2f} s ({rows / read_s:,.0f} lines/s)")
    print(
        f"customs-rules screen (store + JSON out): {screen_s:.2f} s ({rows / screen_s:,.0f} lines/s), exit {result.returncode}"
    )
    print(f"peak RSS of the largest child process: {peak_mb:.0f} MB")
    print(f"ratio read/screen: {read_s / screen_s:.3f} (screen takes {screen_s / read_s:.1f}x the read time)")


if __name__ == "__main__":
    main()
