"""Time what a person waits for before anything is screened: `customs-rules --help` and a
cold `submit`, each a fresh process, from process start to exit.

    python benchmarks/bench_cold_start.py [--runs 10] [--db URL] [--keep DIR] [--no-compile]
    python benchmarks/bench_cold_start.py --store URL --declaration FILE [--formats json]

Input: the fixture registry (fixtures/registry: companies, people, watchlist) loaded into
a fresh SQLite file (or the empty database at --db URL), and
fixtures/declarations/aspan_arba_drones.json under a new declaration_id for each run, so
every run validates, screens and stores (printed as JSON, then as the table). With
--store URL, a database already loaded (a large registry and stored history, e.g. the
200k-line file screened into it) is used as it is, nothing loaded into it, and
--declaration names the declaration to submit (one whose parties are in that registry);
each run adds one declaration to that store. For scale it
also times a bare interpreter (`python -c pass`) and the import of SQLAlchemy and SQLModel
alone, the floor under any submit that stores through them. It prints its input, then
each measurement's runs and median (of --runs runs), min and max, and the median CPU time.

First it compiles the package's bytecode, as `pip install` does: from an editable install
with PYTHONDONTWRITEBYTECODE set, every process would otherwise compile the package's
modules from source again (about 0.1 s of a cold submit). --no-compile leaves it as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
SEED = FIXTURES / "declarations" / "aspan_arba_drones.json"


def cli_command() -> list[str]:
    script = Path(sys.executable).parent / "customs-rules"
    return [str(script)] if script.exists() else [sys.executable, "-m", "customs_rules"]


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one fresh process."""
    cpu, start = cpu_of_children(), time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed with exit {result.returncode}:\n{result.stderr.decode(errors='replace')}")
    return seconds, cpu_of_children() - cpu


def measure(label: str, commands: list[list[str]]) -> float:
    """Wall time is what the person waits; CPU time (user + system) shows how much of it
    was the program's own work when the machine is shared."""
    walls, cpus = zip(*(run(cmd) for cmd in commands), strict=True)
    median = statistics.median(walls)
    print(
        f"{label}: median {median:.3f} s (min {min(walls):.3f}, max {max(walls):.3f}); "
        f"CPU median {statistics.median(cpus):.3f} s (min {min(cpus):.3f}, max {max(cpus):.3f}); "
        f"runs {' '.join(f'{t:.3f}' for t in walls)}; CPU {' '.join(f'{t:.3f}' for t in cpus)}",
        flush=True,
    )
    return median


def compile_package() -> str:
    """Write the bytecode of the customs_rules package (what it says it did)."""
    package = subprocess.run(
        [sys.executable, "-c", "import customs_rules, pathlib; print(pathlib.Path(customs_rules.__file__).parent)"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True)
    return f"bytecode of {package} compiled"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--db", help="an empty database URL (default: a fresh SQLite file)")
    parser.add_argument("--store", help="a database URL already loaded: submit into it, load nothing")
    parser.add_argument("--declaration", type=Path, default=SEED, help="the declaration JSON to submit")
    parser.add_argument("--formats", default="json,table", help="the submit formats to time (comma-separated)")
    parser.add_argument("--no-floors", action="store_true", help="time only the submits")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep its files")
    parser.add_argument("--no-compile", action="store_true", help="leave the package's bytecode as it is")
    args = parser.parse_args()
    compiled = "bytecode as found" if args.no_compile else compile_package()
    work = args.keep or Path(tempfile.mkdtemp(prefix="cr-bench-cold-"))
    work.mkdir(parents=True, exist_ok=True)
    db = args.store or args.db or f"sqlite:///{work / 'cold.db'}"
    cli = [*cli_command(), "--db", db]
    registry = FIXTURES / "registry"
    if args.store is None:
        run([*cli, "-q", "registry", "load", "--companies", str(registry / "companies.csv"),
             "--people", str(registry / "people.csv"), "--watchlist", str(registry / "watchlist.csv")])  # fmt: skip
    counts = subprocess.run([*cli, "registry", "status"], capture_output=True, text=True, check=True).stdout
    what = "the store as found" if args.store else "fixture registry"
    print(f"input: {db}, {what} ({', '.join(counts.split(chr(10))[:3])}); {args.declaration}; {args.runs} runs each")
    print(f"machine: {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"python {sys.version.split()[0]}: {sys.executable}; {compiled}", flush=True)

    if not args.no_floors:
        measure("python -c pass", [[sys.executable, "-c", "pass"]] * args.runs)
        measure("import sqlalchemy, sqlmodel", [[sys.executable, "-c", "import sqlalchemy, sqlmodel"]] * args.runs)
        measure("customs-rules --help", [[*cli_command(), "--help"]] * args.runs)
        measure("customs-rules submit --help", [[*cli_command(), "submit", "--help"]] * args.runs)

    seed = json.loads(args.declaration.read_text(encoding="utf-8"))
    token = f"{time.time_ns():x}"
    for fmt in args.formats.split(","):
        submits = []
        for n in range(1, args.runs + 1):
            path = work / f"submit-{fmt}-{n:03d}.json"
            path.write_text(json.dumps(dict(seed, declaration_id=f"COLD-{token}-{fmt}-{n:03d}")), encoding="utf-8")
            submits.append([*cli, "submit", str(path), "--format", fmt, "--officer", "bench"])
        measure(f"cold submit --format {fmt} (screen + store)", submits)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
