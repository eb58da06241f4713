#!/usr/bin/env python3
"""Record the golden decisions that the screening core is held against (issue #13).

    python tests/golden/record_golden.py            # rewrites tests/golden/*.jsonl.gz

Each golden file holds one JSON object per declaration, in output order: the decision as
`customs-rules screen --format json --no-store` prints it, without `screened_at` (the
time of the run). Inputs: `fixtures/shipments.csv` and `fixtures/declarations/*` against
the fixture registry, and `tests/golden/shipments20k.csv.gz` (20,000 generated lines:
`benchmarks/generate_shipments.py --lines 20000 --seed 13 --registry-out DIR --companies
2000`) against the registry beside it. Rerun only for a documented change of behaviour.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
CASES = {
    "fixtures": (ROOT / "fixtures" / "registry", ["fixtures/shipments.csv", "fixtures/declarations"]),
    "shipments20k": (GOLDEN, ["tests/golden/shipments20k.csv.gz"]),
}


def decisions(registry: Path, inputs: list[str]) -> list[dict[str, object]]:
    """The decisions of `inputs`, screened against `registry` in a fresh database."""
    with tempfile.TemporaryDirectory() as work:
        db = f"sqlite:///{work}/golden.db"
        cli = [sys.executable, "-m", "customs_rules", "--db", db]
        load = [*cli, "registry", "load", "--companies", str(registry / "companies.csv")]
        load += ["--people", str(registry / "people.csv"), "--watchlist", str(registry / "watchlist.csv")]
        subprocess.run(load, check=True, capture_output=True, cwd=ROOT)
        paths: list[str] = []
        for name in inputs:
            path = ROOT / name
            paths += (
                sorted(str(p) for p in path.iterdir() if p.suffix in (".json", ".jsonl")) if path.is_dir() else [name]
            )
        run = subprocess.run([*cli, "-q", "screen", *paths, "--format", "json", "--no-store", "--workers", "1"],
                             capture_output=True, text=True, cwd=ROOT)  # fmt: skip
        if run.returncode not in (0, 2):
            raise SystemExit(run.stderr)
    return [strip(json.loads(line)) for line in run.stdout.splitlines()]


def strip(decision: dict[str, object]) -> dict[str, object]:
    decision.pop("screened_at", None)
    return decision


def main() -> None:
    for name, (registry, inputs) in CASES.items():
        found = decisions(registry, inputs)
        with gzip.open(GOLDEN / f"{name}.jsonl.gz", "wt", encoding="utf-8") as out:
            for decision in found:
                out.write(json.dumps(decision, ensure_ascii=False, sort_keys=True) + "\n")
        print(f"{name}: {len(found)} decisions", file=sys.stderr)


if __name__ == "__main__":
    main()
