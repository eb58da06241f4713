"""Backtest at scale: `backtest` of the stored lines against the `screen` that stored them.

    python benchmarks/bench_backtest.py [--lines 1000000] [--companies 100000] [--workers 2]
        [--keep DIR] [--db URL]

It generates the shipments CSV and registry of `bench_batch.py` (in `--keep DIR`, reused
when there), loads the registry into a fresh SQLite database (or uses `--db URL`, which
must hold that registry and nothing screened yet), and in the same run times:

- `customs-rules -q screen FILE --format json --no-store --workers N`;
- `customs-rules -q screen FILE --format json --workers N`, storing every declaration;
- `customs-rules -q backtest --rules CANDIDATE --format json --summary FILE --workers N`
  of what that screen stored, CANDIDATE being the bundled pack with a rule in test status
  made active and another rule's validity ending mid-period (so the dated evaluation
  has something to do), beside the bundled pack as baseline;
- the same backtest with the bundled pack as candidate (no change: the case where both
  packs share one enrichment is the same code path; this prints that nothing changed).

With `--stored URL` (a database where `screen` stored the file already, e.g. by
`bench_history.py`), only the two backtests are run, without ratios.

Each command's wall time, CPU time (user + system of the whole process tree, workers
included) and peak RSS of the tree, and the backtest's ratios to each screen.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_batch import measured_cpu, prepare, read_only  # noqa: E402

RULES = HERE.parent / "rules"


def measured(command: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the process tree, peak RSS MB); stops on failure."""
    seconds, cpu, peak, _pss = measured_cpu(command)
    return seconds, cpu, peak


def candidate_pack(work: Path) -> Path:
    """The bundled pack with `destination-transshipment-hub` made active (it is in test)
    and `destination-ru-by-listed-goods` valid only until 2023-06-30."""
    target = work / "candidate"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(RULES, target)
    ru_by = target / "destination" / "ru-by.yaml"
    text = ru_by.read_text(encoding="utf-8")
    hub = text.index("id: destination-transshipment-hub\n")
    text = text[:hub] + text[hub:].replace("status: test\n", "status: active\n", 1)
    first = re.search(r"^id: destination-ru-by-listed-goods\n", text, re.M)
    assert first is not None, "the bundled pack changed: pick another rule"
    ru_by.write_text(text[: first.end()] + "valid_until: 2023-06-30\n" + text[first.end() :], encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--companies", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="work in this directory and keep the files")
    parser.add_argument("--db", help="a database URL holding the registry (default: a fresh SQLite copy)")
    parser.add_argument("--stored", help="a database URL where `screen` already stored the file: the two screens "
                        "are not run again (and no ratio is printed), only the backtests")  # fmt: skip
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="cr-backtest-"))
    work.mkdir(parents=True, exist_ok=True)
    data, base_db, cli = prepare(work, args.lines, args.companies)
    rows, read_s = read_only(data)
    print(f"input: {rows:,} lines ({data.stat().st_size / 1e6:.0f} MB), registry of {args.companies:,} companies "
          f"({work}); csv.DictReader read only: {read_s:.2f} s", flush=True)  # fmt: skip
    url = args.stored or args.db
    if url is None:
        db = work / "backtest.db"
        shutil.copyfile(base_db, db)
        url = f"sqlite:///{db}"
    workers = ["--workers", str(args.workers)]
    results = {}
    for name, extra in () if args.stored else (("screen --no-store", ["--no-store"]), ("screen (storing)", [])):
        command = [*cli, "--db", url, "screen", str(data), "--format", "json", *workers, *extra]
        results[name] = measured(command)
        wall, cpu, peak = results[name]
        print(f"{name}, {args.workers} worker(s): {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak:,} MB",
              flush=True)  # fmt: skip
    candidate = candidate_pack(work)
    for name, rules in (("backtest, changed candidate", candidate), ("backtest, candidate = baseline", RULES)):
        summary = work / "summary.json"
        command = [*cli, "--db", url, "backtest", "--rules", str(rules), "--format", "json", "--summary",
                   str(summary), *workers]  # fmt: skip
        wall, cpu, peak = measured(command)
        found = json.loads(summary.read_text(encoding="utf-8"))
        ratios = ", ".join(
            f"{wall / results[s][0]:.2f}x wall / {cpu / results[s][1]:.2f}x CPU of the {s}" for s in results
        )
        print(f"{name}, {args.workers} worker(s): {found['declarations']:,} declarations, {found['lines']:,} lines, "
              f"{found['changed']:,} changed; {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS {peak:,} MB; {ratios}",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
