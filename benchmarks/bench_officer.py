"""Time what an officer waits for: registry load, a cold `submit`, and a full `rescreen`.

    python benchmarks/bench_officer.py [--companies 100000] [--declarations 10000] [--runs 10]
                                       [--pg URL] [--keep DIR]

It writes a synthetic registry of --companies companies and a shipments CSV of about
--declarations declarations drawn from it (benchmarks/generate_shipments.py), then, for
SQLite (a fresh file in the work directory) and, with --pg URL or $CUSTOMS_RULES_TEST_PG,
PostgreSQL (a fresh database `cr_bench_<random>` on that server, dropped at the end):
  1. `customs-rules --db URL -q registry load --companies ... --people ...`;
  2. cold submit, from process start to decision printed: `customs-rules --db URL submit
     FILE --format json --officer bench` as a fresh process, --runs times, each with a copy
     of fixtures/declarations/aspan_arba_drones.json under a new declaration_id (so every
     run screens and stores); each run, then median, min and max;
  3. `customs-rules --db URL -q screen SHIPMENTS.csv --format json > /dev/null` (storing
     the declarations), then `customs-rules --db URL rescreen --format json` over every
     stored declaration: count, seconds, declarations/s.
It prints the input sizes and every timing, one line each, and the peak RSS of the
largest child process.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
SEED = HERE.parent / "fixtures" / "declarations" / "aspan_arba_drones.json"
LINES_PER_DECLARATION = 2.13  # generate_shipments.py makes ~2.1 lines per declaration


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "customs-rules"
    return [str(script)] if script.exists() else [sys.executable, "-m", "customs_rules"]


def count_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.DictReader(handle))


def count_shipments(path: Path) -> tuple[int, int]:
    """(lines, declarations) in a batch CSV."""
    ids: set[str] = set()
    lines = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            lines += 1
            ids.add(row["declaration_id"])
    return lines, len(ids)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux


def timed(cmd: list[str], **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(cmd, check=False, **kwargs)
    return time.perf_counter() - start, result


def fail(what: str, result: subprocess.CompletedProcess) -> None:
    err = result.stderr.decode(errors="replace")[-2000:] if isinstance(result.stderr, bytes) else ""
    sys.exit(f"{what} failed with exit {result.returncode}\n{err}")


def bench_database(label: str, db: str, work: Path, registry: Path, shipments: Path, runs: int) -> None:
    cli = [*cli_command(), "--db", db]
    print(f"--- {label}: {db}", flush=True)

    # 1. registry load (also computes the name keys)
    load_s, result = timed(
        [*cli, "-q", "registry", "load", "--companies", str(registry / "companies.csv"), "--people", str(registry / "people.csv")],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    if result.returncode != 0:
        fail(f"{label} registry load", result)
    print(f"{label} registry load: {load_s:.2f} s", flush=True)

    # 2. cold submit, a fresh process each run, a new declaration_id each run
    seed = json.loads(SEED.read_text(encoding="utf-8"))
    token = secrets.token_hex(3)
    times: list[float] = []
    for run in range(1, runs + 1):
        declaration = dict(seed, declaration_id=f"BENCH-{label}-{token}-{run:03d}")
        path = work / f"submit-{label}-{run:03d}.json"
        path.write_text(json.dumps(declaration, ensure_ascii=False, indent=2), encoding="utf-8")
        submit_s, result = timed(
            [*cli, "submit", str(path), "--format", "json", "--officer", "bench"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        if result.returncode != 0:
            fail(f"{label} submit run {run}", result)
        try:
            decision = json.loads(result.stdout)["decision"]
        except (ValueError, KeyError, TypeError):
            fail(f"{label} submit run {run} (no decision on stdout)", result)
        times.append(submit_s)
        print(f"{label} cold submit run {run}: {submit_s:.3f} s ({decision})", flush=True)
    print(
        f"{label} cold submit: median {statistics.median(times):.3f} s, min {min(times):.3f} s, "
        f"max {max(times):.3f} s over {runs} runs",
        flush=True,
    )

    # 3. store the shipments, then rescreen everything stored
    screen_s, result = timed(
        [*cli, "-q", "screen", str(shipments), "--format", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    if result.returncode != 0:
        fail(f"{label} screen", result)
    print(f"{label} screen (store + JSON out): {screen_s:.2f} s, exit {result.returncode}", flush=True)

    rescreen_s, result = timed(
        [*cli, "rescreen", "--format", "json", "--officer", "bench"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    if result.returncode != 0:
        fail(f"{label} rescreen", result)
    stderr = result.stderr.decode(errors="replace")
    match = re.search(r"rescreened (\d+) declaration", stderr)
    if not match:
        fail(f"{label} rescreen (no 'rescreened N declaration(s)' on stderr)", result)
    count = int(match.group(1))
    summary = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    print(
        f"{label} rescreen: {count} declarations in {rescreen_s:.2f} s ({count / rescreen_s:,.0f} declarations/s); {summary}",
        flush=True,
    )
    print(f"peak RSS of the largest child process so far: {peak_rss_mb():.0f} MB", flush=True)


def pg_admin_url(url: str) -> str:
    """SQLAlchemy URL -> libpq URL for psycopg."""
    return re.sub(r"^postgresql\+\w+://", "postgresql://", url)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--declarations", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=10, help="cold submit runs per database")
    parser.add_argument("--pg", default=os.environ.get("CUSTOMS_RULES_TEST_PG"), help="PostgreSQL SQLAlchemy URL")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep the files")
    parser.add_argument("--seed", type=int, default=1, help="generator seed")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="cr-bench-officer-"))
    work.mkdir(parents=True, exist_ok=True)
    shipments, registry = work / "shipments.csv", work / "registry"
    lines_wanted = max(1, round(args.declarations * LINES_PER_DECLARATION))

    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(HERE / "generate_shipments.py"), "--lines", str(lines_wanted), "--out", str(shipments),
         "--registry-out", str(registry), "--companies", str(args.companies), "--seed", str(args.seed)],
        check=True,
    )  # fmt: skip
    generate_s = time.perf_counter() - start
    companies, people = count_rows(registry / "companies.csv"), count_rows(registry / "people.csv")
    lines, declarations = count_shipments(shipments)
    print(f"input: {companies} companies, {people} people ({registry}); generated in {generate_s:.1f} s")
    print(f"input: {declarations} declarations, {lines} lines ({shipments})", flush=True)

    sqlite_db = work / "bench.db"
    sqlite_db.unlink(missing_ok=True)
    bench_database("sqlite", f"sqlite:///{sqlite_db}", work, registry, shipments, args.runs)

    if args.pg:
        import psycopg  # only needed for PostgreSQL

        name = f"cr_bench_{secrets.token_hex(4)}"
        admin = pg_admin_url(args.pg)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            bench_database("postgresql", with_database(args.pg, name), work, registry, shipments, args.runs)
        finally:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            print(f"dropped database {name}", flush=True)

    print(f"peak RSS of the largest child process: {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
