"""Batch screening at scale: lines/s and peak memory of `screen`, by number of workers.

    python benchmarks/bench_batch.py [--lines 1000000] [--companies 100000] [--workers 1 2] [--no-store] [--keep DIR]

It generates a shipments CSV (about 5% listed goods, 10% to RU/BY, some linked parties)
drawn from a synthetic registry, loads the registry into a fresh SQLite database, then,
in the same run, times Python's csv.DictReader reading the file (nothing else) and
`customs-rules -q screen FILE --format json --workers N` storing everything, for each N.
Peak RSS is sampled from /proc every 0.1 s and counts the parent and all its workers.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def tree_memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of a process and all its descendants, from /proc. RSS counts pages the
    forked workers share with the parent once per process; PSS splits them fairly."""
    rss = pss = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            rollup = Path(f"/proc/{current}/smaps_rollup").read_text().splitlines()
            rss += next(int(line.split()[1]) for line in rollup if line.startswith("Rss:"))
            pss += next(int(line.split()[1]) for line in rollup if line.startswith("Pss:"))
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            todo.extend(int(c) for c in children)
        except (OSError, StopIteration, ValueError):
            continue
    return rss, pss


def run_measured(command: list[str]) -> tuple[float, int, int, int]:
    """(seconds, peak RSS and peak PSS of the whole process tree in MB, exit code)."""
    peak = peak_pss = 0
    start = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, peak_pss
            while not done.is_set():
                rss, pss = tree_memory_kb(proc.pid)
                peak, peak_pss = max(peak, rss), max(peak_pss, pss)
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, err = proc.communicate()
        done.set()
        sampler.join()
    seconds = time.perf_counter() - start
    if proc.returncode:
        print(err.decode()[-2000:], file=sys.stderr)
    return seconds, peak // 1024, peak_pss // 1024, proc.returncode


def prepare(work: Path, lines: int, companies: int) -> tuple[Path, Path, list[str]]:
    """(the shipments CSV, the SQLite database holding the registry, the CLI's command
    prefix), generated and loaded in `work` unless they are there already."""
    data, registry, base_db = work / "shipments.csv", work / "registry", work / "registry.db"
    if not data.exists() or not (registry / "companies.csv").exists():
        subprocess.run(
            [sys.executable, str(HERE / "generate_shipments.py"), "--lines", str(lines), "--out", str(data),
             "--registry-out", str(registry), "--companies", str(companies)],
            check=True,
        )  # fmt: skip
    cli = [sys.executable, "-m", "customs_rules", "-q"]
    if not base_db.exists():
        subprocess.run(
            [*cli, "--db", f"sqlite:///{base_db}", "registry", "load", "--companies", str(registry / "companies.csv"),
             "--people", str(registry / "people.csv")],
            check=True,
        )  # fmt: skip
    return data, base_db, cli


def read_only(data: Path) -> tuple[int, float]:
    """(lines, seconds) of Python's csv.DictReader reading the file and nothing else: the
    yardstick of the issue's ratio target."""
    start = time.perf_counter()
    with data.open(newline="", encoding="utf-8") as handle:
        rows = sum(1 for _ in csv.DictReader(handle))
    return rows, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--no-store", action="store_true", help="screen without storing (to see the storing cost)")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep the files")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="cr-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    data, base_db, cli = prepare(work, args.lines, args.companies)
    rows, read_s = read_only(data)
    size_mb = data.stat().st_size / 1e6
    print(f"input: {rows:,} lines ({size_mb:.0f} MB), registry of {args.companies:,} companies ({work})")
    print(f"csv.DictReader read only: {read_s:.2f} s ({rows / read_s:,.0f} lines/s)")
    for workers in args.workers:
        db = work / f"bench-{workers}.db"
        shutil.copyfile(base_db, db)
        command = [*cli, "--db", f"sqlite:///{db}", "screen", str(data), "--format", "json", "--workers", str(workers)]
        if args.no_store:
            command.append("--no-store")
        seconds, peak_mb, pss_mb, code = run_measured(command)
        what = "no store" if args.no_store else "store"
        print(
            f"screen ({what}, JSON out), {workers} worker(s): {seconds:.1f} s, {rows / seconds:,.0f} lines/s, "
            f"peak RSS {peak_mb:,} MB / PSS {pss_mb:,} MB (parent + workers), "
            f"ratio read/screen {read_s / seconds:.3f}, exit {code}"
        )
        db.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
