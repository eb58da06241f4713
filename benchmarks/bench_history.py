"""What the history facts cost a batch: `screen` with them against `screen` without them.

    python benchmarks/bench_history.py [--lines 1000000] [--companies 100000] [--workers 2]
        [--modes no-store sqlite] [--keep DIR]

It generates the shipments CSV and registry of `bench_batch.py` (in `--keep DIR`, reused
when there), loads the registry into a fresh SQLite database, and for each mode times:

- with: `customs-rules -q screen FILE --format json --workers N` with the bundled pack;
- without: the same command with the bundled pack less its history rules
  (`rules/history/`), run by this script (`--without-history`) with the history pass
  replaced by constants: no pre-pass, no past handed to the workers, every history fact
  its empty value (`constant_history`). The pipeline does not skip the history facts of
  a pack whose rules read none (every decision stores and shows every fact), so this is
  how "without them" is measured.

Storing modes copy the registry database afresh for each run. For each run: wall time,
CPU time (user + system of the whole process tree, workers included), peak RSS and PSS
of the tree; then the ratio with / without of the wall and of the CPU time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RULES = HERE.parent / "rules"
WITHOUT = "--without-history"
MARK = "CUSTOMS_RULES_BENCH_WITHOUT_HISTORY"  # tells the spawned workers of such a run


def constant_history(declarations: Any, base: Any, reference: Any) -> Any:
    """Every history fact of the set at its empty value (no past read), typed as
    `screening.history.set_history` types them."""
    import polars as pl

    from customs_rules.screening.history import HISTORY_KEYS, REEXPORT, HistoryBase, SetHistory

    empty: dict[str, Any] = {"history.since": None, "history.exporter_first_listed_on": None,
                             "history.exporter_listed_before_cutoff": False}  # fmt: skip
    types = {"history.since": pl.String, "history.exporter_first_listed_on": pl.String,
             "history.exporter_listed_before_cutoff": pl.Boolean}  # fmt: skip
    for key in HISTORY_KEYS:
        if key not in empty:
            integer = key.endswith(("_count", "_flags"))
            empty[key] = None if key.endswith("_ratio") else 0 if integer else 0.0
            types[key] = pl.Int64 if integer else pl.Float64
    header = declarations.headers.select("decl").with_columns(
        pl.lit(empty[k], dtype=types[k]).alias(k) for k in HISTORY_KEYS
    )
    items = declarations.items.select("decl", "position").with_columns(pl.lit(0, dtype=pl.Int64).alias(REEXPORT))
    # no party keys either: storing computes them, as for a set screened elsewhere (`store.prepared.prepare`)
    queries = pl.DataFrame(schema={"decl": pl.UInt32, "exporter_key": pl.String, "consignee_key": pl.String})
    return SetHistory(header, items, HistoryBase(), queries, reference.history, reference)


def _without_history() -> None:
    """The history pass replaced (here, and in each spawned worker: they import this
    script as their main module)."""
    from customs_rules.screening import enrich
    from customs_rules.workflow import batch

    batch.run_history = lambda *args, **kwargs: None  # type: ignore[assignment]
    enrich.set_history = constant_history  # type: ignore[assignment]


if __name__ == "__mp_main__" and os.environ.get(MARK):  # a worker of a run without history facts
    _without_history()


def measured(command: list[str]) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds of the process tree, peak RSS MB, peak PSS MB)."""
    from bench_batch import measured_cpu

    return measured_cpu(command)


def pack_without_history(work: Path) -> Path:
    target = work / "no-history-rules"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(RULES, target, ignore=lambda folder, names: ["history"] if Path(folder) == RULES else [])
    return target


def main() -> None:
    sys.path.insert(0, str(HERE))
    from bench_batch import prepare, read_only

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--modes", nargs="+", choices=("no-store", "sqlite"), default=["no-store", "sqlite"])
    parser.add_argument("--keep", type=Path, help="work in this directory and keep the files")
    args = parser.parse_args()
    work = args.keep or Path(__import__("tempfile").mkdtemp(prefix="cr-history-"))
    work.mkdir(parents=True, exist_ok=True)
    data, base_db, cli = prepare(work, args.lines, args.companies)
    rows, read_s = read_only(data)
    print(f"input: {rows:,} lines ({data.stat().st_size / 1e6:.0f} MB), registry of {args.companies:,} companies, "
          f"{args.workers} worker(s) ({work}); csv.DictReader read only: {read_s:.2f} s")  # fmt: skip
    plain_rules = pack_without_history(work)
    for mode in args.modes:
        found = {}
        for variant in ("with", "without"):
            db = work / "bench-history.db"
            shutil.copyfile(base_db, db)
            url = f"sqlite:///{db}"
            runner = cli if variant == "with" else [sys.executable, __file__, WITHOUT, "-q"]
            command = [*runner, "--db", url, "screen", str(data), "--format", "json", "--workers", str(args.workers)]
            if variant == "without":
                command += ["--rules", str(plain_rules)]
            if mode == "no-store":
                command.append("--no-store")
            found[variant] = measured(command)
            wall, cpu, peak, pss = found[variant]
            print(f"{mode}, {variant} history facts: {wall:.1f} s wall, {cpu:.1f} s CPU, "
                  f"peak RSS {peak:,} MB / PSS {pss:,} MB (process tree)", flush=True)  # fmt: skip
            db.unlink(missing_ok=True)
        (wall, cpu, _, _), (wall0, cpu0, _, _) = found["with"], found["without"]
        print(f"{mode}: with / without history facts: {wall / wall0:.2f}x wall, {cpu / cpu0:.2f}x CPU", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == WITHOUT:
        os.environ[MARK] = "1"
        _without_history()
        from customs_rules.cli import main as cli_main

        sys.argv = ["customs-rules", *sys.argv[2:]]
        cli_main()
    else:
        main()
