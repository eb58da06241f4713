#!/usr/bin/env python3
"""CPU time of each stage of a batch worker, on the first chunks of a file, in one process.

    python benchmarks/bench_stages.py FILE --db sqlite:///REG.db [--chunks 12]

Reads the first CHUNKS chunks of FILE (5,000 lines each, as `screen` does), then screens
them as a `screen --no-store --workers 1 --out FILE.jsonl` worker does (the registry as
`registry load` compiled it, the party keys of the pre-pass, the garbage collector paused
as in a run) and times, in CPU seconds of this process: the worker's whole chunk
(`Worker.screen`), the core (`screen_set`) and its stages (enrichment, evaluation and its
fact signatures, decisions and findings as frames), the per-declaration work after it
(summary rows, content hashes, the JSON lines), and this process's writing of `--out`
JSON Lines from the decisions. It prints the input size, the times, and a digest of the
JSON written (the same on two versions: the same output).
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import functools
import hashlib
import io
import time
from collections.abc import Callable
from typing import Any

from customs_rules.contract import decision as decisions
from customs_rules.io.reader import read_input
from customs_rules.report import outputs, tables
from customs_rules.runtime import gc_paused
from customs_rules.screening import core, evaluate
from customs_rules.screening.history import set_keys
from customs_rules.store import Store
from customs_rules.store import content as stored_content
from customs_rules.workflow import batch
from customs_rules.workflow.screener import allowances_for, pack_in_force

SPENT: collections.Counter[str] = collections.Counter()


def timed(owner: Any, name: str) -> None:
    """Count the CPU time of `owner.name` (a module's function or a class's method)."""
    work: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(work)
    def counting(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return work(*args, **kwargs)
        finally:
            SPENT[name] += time.process_time() - started

    setattr(owner, name, counting)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("file")
    parser.add_argument("--db", required=True, help="a database with a registry loaded")
    parser.add_argument("--chunks", type=int, default=12)
    args = parser.parse_args()
    store = Store(args.db)
    pack = pack_in_force(store, None).pack
    allowances, _ = allowances_for(store, pack)
    chunks = []
    for chunk in read_input(args.file, None, batch.CHUNK_LINES, None):
        if len(chunk.declarations):
            chunk.party_keys = set_keys(chunk.declarations)
        chunks.append(chunk)
        if len(chunks) >= args.chunks:
            break
    worker = batch.Worker(pack, None, store.url, False, allowances=allowances)
    worker._screener()  # the registry read and compiled: not counted
    for owner, names in ((core, ["screen_set", "enrich_set", "evaluate_set", "_decide", "_finding_frame",
                                 "_registered"]), (evaluate, ["signatures"]), (batch, ["summary_rows"]),
                         (stored_content, ["content_hashes"]), (tables, ["json_line"])):  # fmt: skip
        for name in names:
            timed(owner, name)
    at = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    wanted = batch.Wanted(decisions=True)  # the decisions back, for --out written here
    digest, declarations, lines = hashlib.sha256(), 0, 0
    for chunk in chunks:
        if not len(chunk.declarations):
            continue
        with gc_paused(freeze=True):
            started = time.process_time()
            screened = worker.screen(chunk.declarations, at, wanted, chunk.party_keys)
            SPENT["Worker.screen"] += time.process_time() - started
        declarations += len(chunk.declarations)
        lines += int(chunk.declarations.headers["lines"].sum() or 0)
        results = io.StringIO()
        started = time.process_time()
        for found in screened.decisions or []:
            results.write(outputs.result_line(found) if hasattr(outputs, "result_line") else _line(found))
        SPENT["--out JSON Lines (run's process)"] += time.process_time() - started
        digest.update("".join(screened.texts).encode() + results.getvalue().encode())
    print(f"input: {args.file}: first {len(chunks)} chunks, {lines:,} lines, {declarations:,} declarations")
    for name, seconds in SPENT.most_common():
        print(f"{seconds:8.3f} s  {name}")
    print(f"JSON written: sha256 {digest.hexdigest()[:16]}")


def _line(found: decisions.Decision) -> str:
    """`--out`'s line of a decision, on a version without `outputs.result_line`."""
    handle = io.StringIO()
    file = outputs.ResultsFile.__new__(outputs.ResultsFile)
    file.handle, file.per_finding, file.csv = handle, False, None
    file.write(found)
    return handle.getvalue().rstrip("\n")


if __name__ == "__main__":
    main()
