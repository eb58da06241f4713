"""CPU time of each phase of `registry load` (issue #13, item 3).

    python benchmarks/bench_registry_phases.py DIR [--src PATH]

Loads DIR's companies.csv and people.csv into a fresh SQLite database with the phase
functions wrapped to add up their CPU time (`time.process_time`: every thread of the
process, polars' too): reading and checking the files, company and person keys, address keys, inserts
(executemany), index builds, person pairs, seals, the snapshot's name frames, parts and
digest; `other` is the rest. `--src` runs another tree's code (another branch's `src`);
a phase its code does not have is left out.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PHASES = [  # (module, function, phase)
    ("entities.registry_files", "read_registry_frame", "read+check"),
    ("entities.compile", "company_keys", "company keys"),
    ("entities.compile", "company_name_keys", "company keys"),
    ("entities.compile", "person_keys", "person keys"),
    ("store.bulk", "_tuples", "executemany"),
    ("store.bulk", "_copy", "COPY"),
    ("store.registry_load", "company_pairs", "person pairs"),
    ("store.audit", "registry_seal", "seals"),
    ("store.audit", "frame_seal", "seals"),
    ("store.registry_snapshot", "write_part", "snapshot parts"),
    ("store.registry_snapshot", "encode", "snapshot parts"),
    ("store.registry_snapshot", "digest", "snapshot digest"),
    ("entities.compile", "name_frames", "name frames"),
    ("entities.compile", "sorted_names", "name frames"),
    ("entities.compile", "address_keys", "address keys"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("registry", type=Path, help="directory with companies.csv and people.csv")
    parser.add_argument("--src", type=Path, default=Path(__file__).resolve().parent.parent / "src")
    args = parser.parse_args()
    sys.path.insert(0, str(args.src))
    import importlib

    from customs_rules.store import Store, registry_load
    from customs_rules.workflow.screener import load_registry

    spent: collections.Counter[str] = collections.Counter()
    inside: collections.Counter[str] = collections.Counter()

    def wrap(module: Any, name: str, phase: str) -> None:
        function = getattr(module, name)

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if inside[phase]:  # a phase's function calling another of the same phase: counted once
                return function(*args, **kwargs)
            inside[phase] += 1
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[phase] += time.process_time() - start
                inside[phase] -= 1

        setattr(module, name, timed)

    for module_name, name, phase in PHASES:
        module = importlib.import_module(f"customs_rules.{module_name}")
        if hasattr(module, name):
            wrap(module, name, phase)
    drop = registry_load.without_indexes

    @contextlib.contextmanager
    def indexes(session: Any, tables: Any) -> Iterator[None]:
        with drop(session, tables):
            yield
            spent["_built"] = time.process_time()  # the indexes are built on leaving
        spent["index builds"] += time.process_time() - spent.pop("_built")

    registry_load.without_indexes = indexes
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'phases.db'}")
        start, wall = time.process_time(), time.perf_counter()
        result = load_registry(store, args.registry / "companies.csv", args.registry / "people.csv")
        total, wall = time.process_time() - start, time.perf_counter() - wall
        store.close()
    if result.failed:
        raise SystemExit(f"load failed: {result.failed[0]}")
    for phase, seconds in spent.most_common():
        print(f"{phase:16s} {seconds:6.2f} s")
    print(f"{'other':16s} {total - sum(spent.values()):6.2f} s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'total CPU':16s} {total:6.2f} s  (wall {wall:.2f} s, peak RSS {rss:.0f} MB)")


if __name__ == "__main__":
    main()
