"""Prototype (not the product): `registry load` with the compiled tables kept only in the
snapshot, to measure the design that RESULTS.md "Session 9: registry load" discusses.

    python benchmarks/proto_snapshot_only.py DIR [--db URL]

Runs `bench_registry_load.py` with `registry_load._insert` patched to skip the rows of
company_key, person_key, person_pair and company_edge (and `without_indexes` their index
builds): the rows of company and person, the snapshot, the seals and the audit entry are
written as in the product. The database it leaves cannot serve a submit or `registry
match` (they read those tables): it measures, nothing more.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from customs_rules.store import registry_load  # noqa: E402

SKIPPED = {"company_key", "person_key", "person_pair", "company_edge"}
_insert, _without = registry_load._insert, registry_load.without_indexes


def _only_rows(session, table, frame):  # type: ignore[no-untyped-def]
    if table not in SKIPPED:
        _insert(session, table, frame)


def _only_indexes(session, tables):  # type: ignore[no-untyped-def]
    return _without(session, [t for t in tables if t not in SKIPPED])


registry_load._insert = _only_rows
registry_load.without_indexes = _only_indexes

if __name__ == "__main__":
    sys.argv[0] = str(Path(__file__).with_name("bench_registry_load.py"))
    runpy.run_path(sys.argv[0], run_name="__main__")
