"""Batch screening at scale: `screen` against csv.DictReader's read, with its peak memory.

    python benchmarks/bench_batch.py [--lines 1000000] [--companies 100000] [--workers 2]
        [--modes sqlite no-store postgresql] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
        [--keep DIR] [--rescreen]

It generates a shipments CSV (about 5% listed goods, 10% to RU/BY, some linked parties)
drawn from a synthetic registry, loads the registry into a fresh SQLite database (and,
for `postgresql`, into a fresh database on the `--pg` server, dropped at the end), then,
in the same run, times Python's csv.DictReader reading the file (nothing else) and
`customs-rules -q screen FILE --format json --workers N` for each mode: storing on
SQLite, `--no-store`, storing on PostgreSQL. With `--rescreen`, each storing mode is
followed by `customs-rules rescreen --format json` of the declarations it stored. Peak RSS is sampled from /proc every 0.1 s
and counts the whole process tree (the parent and its spawned workers).
"""

from __future__ import annotations

import argparse
import csv
import resource
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


def measured_cpu(command: list[str]) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds of the process tree, peak RSS MB, peak PSS MB) of
    `command`; stops the benchmark when it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds, peak, pss, code = run_measured(command)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code:
        sys.exit(f"failed (exit {code}): {' '.join(command)}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, cpu, peak, pss


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
    if not base_db.exists():  # the same load as PostgreSQL's, watchlist included
        load_registry(cli, f"sqlite:///{base_db}", registry)
    return data, base_db, cli


def read_only(data: Path) -> tuple[int, float]:
    """(lines, seconds) of Python's csv.DictReader reading the file and nothing else: the
    yardstick of the issue's ratio target."""
    start = time.perf_counter()
    with data.open(newline="", encoding="utf-8") as handle:
        rows = sum(1 for _ in csv.DictReader(handle))
    return rows, time.perf_counter() - start


def pg_database(server: str, name: str, create: bool, template: str | None = None) -> str:
    """A database on the PostgreSQL server at `server` created afresh (a copy of
    `template` if given) or dropped; its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if create:
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    engine.dispose()
    return make_url(server).set(database=name).render_as_string(hide_password=False)


PG_BASE, PG_RUN = "customs_rules_bench_registry", "customs_rules_bench_run"


def load_registry(cli: list[str], url: str, registry: Path) -> float:
    start = time.perf_counter()
    watchlist = ["--watchlist", str(registry / "watchlist.csv")] if (registry / "watchlist.csv").is_file() else []
    subprocess.run(
        [*cli, "--db", url, "registry", "load", "--companies", str(registry / "companies.csv"),
         "--people", str(registry / "people.csv"), *watchlist],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server URL: the benchmark creates and drops its own database there")  # fmt: skip
    parser.add_argument("--keep", type=Path, help="work in this directory and keep the files")
    parser.add_argument("--rescreen", action="store_true", help="time a rescreen of what each storing mode stored")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="cr-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    data, base_db, cli = prepare(work, args.lines, args.companies)
    rows, read_s = read_only(data)
    size_mb = data.stat().st_size / 1e6
    print(f"input: {rows:,} lines ({size_mb:.0f} MB), registry of {args.companies:,} companies ({work})")
    print(f"csv.DictReader read only: {read_s:.2f} s ({rows / read_s:,.0f} lines/s)")
    if "postgresql" in args.modes:  # the registry loaded once; each run gets a fresh copy of it
        base_url = pg_database(args.pg, PG_BASE, create=True)
        print(f"registry load on PostgreSQL: {load_registry(cli, base_url, work / 'registry'):.1f} s")
    try:
        for mode in args.modes:
            for workers in args.workers:
                pg_url = pg_database(args.pg, PG_RUN, True, PG_BASE) if mode == "postgresql" else None
                run_mode(mode, workers, cli, data, base_db, work, pg_url, rows, read_s, args.rescreen)
    finally:
        if "postgresql" in args.modes:
            pg_database(args.pg, PG_RUN, create=False)
            pg_database(args.pg, PG_BASE, create=False)


MODES = ("sqlite", "no-store", "postgresql")


def run_mode(mode: str, workers: int, cli: list[str], data: Path, base_db: Path, work: Path, pg_url: str | None,
             rows: int, read_s: float, rescreen: bool = False) -> None:  # fmt: skip
    db = work / f"bench-{workers}.db"
    if mode == "postgresql":
        assert pg_url is not None
        url = pg_url
    else:
        shutil.copyfile(base_db, db)
        url = f"sqlite:///{db}"
    command = [*cli, "--db", url, "screen", str(data), "--format", "json", "--workers", str(workers)]
    if mode == "no-store":
        command.append("--no-store")
    seconds, peak_mb, pss_mb, code = run_measured(command)
    what = {"sqlite": "storing on SQLite", "no-store": "--no-store", "postgresql": "storing on PostgreSQL"}[mode]
    print(
        f"screen ({what}, JSON out), {workers} worker(s): {seconds:.1f} s, {rows / seconds:,.0f} lines/s, "
        f"ratio read/screen {read_s / seconds:.3f}, peak RSS {peak_mb:,} MB / PSS {pss_mb:,} MB "
        f"(process tree), exit {code}",
        flush=True,
    )
    if rescreen and mode != "no-store":
        again = [*cli, "--db", url, "rescreen", "--format", "json", "--officer", "bench"]
        re_s, re_peak, re_pss, re_code = run_measured(again)
        print(
            f"rescreen of the stored declarations ({mode}): {re_s:.1f} s, {re_s / seconds:.2f}x the screen, "
            f"peak RSS {re_peak:,} MB / PSS {re_pss:,} MB, exit {re_code}",
            flush=True,
        )
    db.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
