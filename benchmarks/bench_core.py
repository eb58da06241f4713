#!/usr/bin/env python3
"""The set core against the per-declaration reference, in one process, on one input.

    python benchmarks/bench_core.py [FILE] [--registry DIR]

Default input: tests/golden/shipments20k.csv.gz (20,000 lines, 9,325 declarations) and the
2,000-company registry beside it. Both pipelines screen the same parsed declarations
against the same in-memory registry, nothing stored; it prints the input size, the CPU
and wall seconds of each (the core's including compiling the registry), the number of
distinct fact signatures, and whether the decisions are identical. Each pipeline runs in a
fresh process of its own (`--pipeline`), so neither profits from the other's name caches.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

from customs_rules.contract.registry_rows import CompanyRecord, PersonRecord, WatchlistRecord
from customs_rules.entities.registry import RegistryIndex
from customs_rules.entities.registry_csv import read_registry_csv
from customs_rules.io.declarations import read_all
from customs_rules.io.parsing import Parsed
from customs_rules.rules.loader import load_pack
from customs_rules.screening import evaluate
from customs_rules.screening.core import compiled_registry, screen_set
from customs_rules.screening.frames import DeclarationSet
from customs_rules.workflow.screener import Screener, default_rules_dir

ROOT = Path(__file__).resolve().parents[1]


def timed(work):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file", nargs="?", default=str(ROOT / "tests" / "golden" / "shipments20k.csv.gz"))
    parser.add_argument("--registry", type=Path, default=ROOT / "tests" / "golden")
    parser.add_argument("--pipeline", choices=["core", "reference"], help="run one pipeline (in this process)")
    args = parser.parse_args()
    if args.pipeline is None:
        digests = []
        for pipeline in ("core", "reference"):
            command = [sys.executable, __file__, args.file, "--registry", str(args.registry), "--pipeline", pipeline]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()
            print("\n".join(out[:-1] if pipeline == "core" else out[1:-1]), flush=True)
            digests.append(out[-1])
        print(f"identical decisions: {digests[0] == digests[1]}")
        return
    files = [args.registry / f"{name}.csv" for name in ("companies", "people", "watchlist")]
    records = [read_registry_csv(path, model) for path, model in
               zip(files, (CompanyRecord, PersonRecord, WatchlistRecord), strict=True)]  # fmt: skip
    index, wall, cpu = timed(lambda: RegistryIndex(*records))
    pack = load_pack(default_rules_dir())
    parsed = [p for p in read_all([args.file]) if isinstance(p, Parsed)]
    declarations = [p.declaration for p in parsed]
    lines = sum(p.lines for p in parsed)
    print(f"input: {args.file}: {lines:,} lines, {len(declarations):,} declarations; "
          f"registry {args.registry}: {len(index.company_records()):,} companies")  # fmt: skip
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    if args.pipeline == "reference":
        print(f"registry indexed in memory:            {wall:6.2f} s wall, {cpu:6.2f} s CPU")
    if args.pipeline == "core":
        found: list[int] = []
        count = evaluate.signatures

        def counting(facts, compiled):  # type: ignore[no-untyped-def]
            numbered, fired = count(facts, compiled)
            found.append(len(fired))
            return numbered, fired

        evaluate.signatures = counting
        screener = Screener(pack, index)
        _, wall, cpu = timed(lambda: compiled_registry(screener))  # what `registry load` stores
        print(f"registry compiled (done at load):      {wall:6.2f} s wall, {cpu:6.2f} s CPU")
        core, wall, cpu = timed(lambda: screen_set(screener, DeclarationSet.from_declarations(declarations), at))
        decisions = [d.as_dict() for d in core.decisions]
        print(f"set core:                              {wall:6.2f} s wall, {cpu:6.2f} s CPU; "
              f"{sum(found):,} distinct fact signatures")  # fmt: skip
    else:
        screener = Screener(pack, index)
        decisions, wall, cpu = timed(lambda: [screener.screen(d, at).decision.as_dict() for d in declarations])
        print(f"per declaration (reference):           {wall:6.2f} s wall, {cpu:6.2f} s CPU")
    print(hashlib.sha256(json.dumps(decisions, sort_keys=True).encode()).hexdigest())


if __name__ == "__main__":
    main()
