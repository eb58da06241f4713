"""Batch screening at any scale: a stream of records through worker processes, in order.

The parent reads each input once more (cheap: no validation), cuts the records into
blocks of whole declarations, and hands the blocks to workers; each worker validates,
enriches, evaluates and decides with its own compiled engine and a snapshot of the
registry, and hands the results back. `imap` keeps them in input order, so the output is
the same for any number of workers (one `screened_at` for the whole run). The parent
alone writes: outputs, rejects, the report and the database, in chunks.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .api import Screener, Screening
from .parsing import RawRecord, Rejected, read_raw
from .registry import RegistryLookup
from .rules import RulePack

BLOCK = 200  # records per block handed to a worker: big enough to amortise the hand-over


@dataclass
class Outcome:
    """What became of one record: a screening, or a rejection (with its input lines)."""

    screening: Screening | None
    rejected: Rejected | None
    lines: int


@dataclass
class Worker:
    """Per process: the compiled pack and the registry snapshot, built once."""

    pack: RulePack
    registry: RegistryLookup
    screener: Screener | None = None

    def screen_block(self, block: list[RawRecord | Rejected], at: dt.datetime) -> list[Outcome]:
        if self.screener is None:  # compiled here: each process needs its own engine
            self.screener = Screener(self.pack, self.registry)
        results = []
        for record in block:
            parsed = record.parse() if isinstance(record, RawRecord) else record
            if isinstance(parsed, Rejected):
                results.append(Outcome(None, parsed, parsed.lines))
                continue
            screening = self.screener.screen(parsed.declaration, at)
            screening.location = parsed.location
            results.append(Outcome(screening, None, parsed.lines))
        return results


_WORKER: Worker | None = None  # set in the parent before the pool forks


def _screen_in_child(job: tuple[list[RawRecord | Rejected], dt.datetime]) -> list[Outcome]:
    assert _WORKER is not None
    return _WORKER.screen_block(*job)


def blocks(paths: Iterable[str], stream: Any = None, size: int = BLOCK) -> Iterator[list[RawRecord | Rejected]]:
    block: list[RawRecord | Rejected] = []
    for path in paths:
        for record in read_raw(path, stream):
            block.append(record)
            if len(block) >= size:
                yield block
                block = []
    if block:
        yield block


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def screen_blocks(
    jobs: Iterable[list[RawRecord | Rejected]],
    pack: RulePack,
    registry: RegistryLookup,
    at: dt.datetime,
    workers: int = 1,
) -> Iterator[Outcome]:
    """Every record's outcome, in input order, screened by `workers` processes."""
    global _WORKER
    worker = Worker(pack, registry)
    if workers <= 1:
        for block in jobs:
            yield from worker.screen_block(block, at)
        return
    _WORKER = worker  # inherited by the forked children (copy-on-write registry)
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        # a bounded look-ahead: imap pulls blocks as workers free up, so memory stays flat
        for results in pool.imap(_screen_in_child, ((b, at) for b in jobs), chunksize=1):
            yield from results
    _WORKER = None


@dataclass
class Counts:
    """What a run did, line by line: screened + rejected lines add up to the input."""

    lines: int = 0
    screened_lines: int = 0
    rejected_lines: int = 0
    declarations: int = 0
    rejected: int = 0
    decisions: dict[str, int] = field(default_factory=lambda: {"hold": 0, "inspect": 0, "release": 0})
    decided_lines: dict[str, int] = field(default_factory=lambda: {"hold": 0, "inspect": 0, "release": 0})
    rules: dict[str, int] = field(default_factory=dict)
    held_exporters: dict[str, int] = field(default_factory=dict)
    held_consignees: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.lines += outcome.lines
        if outcome.screening is None:
            self.rejected += 1
            self.rejected_lines += outcome.lines
            return
        decision = outcome.screening.decision
        verdict = decision["decision"]
        self.declarations += 1
        self.screened_lines += outcome.lines
        self.decisions[verdict] += 1
        self.decided_lines[verdict] += outcome.lines
        for finding in decision["findings"]:
            self.rules[finding["rule_id"]] = self.rules.get(finding["rule_id"], 0) + 1
        if verdict == "hold":
            decl = outcome.screening.declaration
            self.held_exporters[decl.exporter.name] = self.held_exporters.get(decl.exporter.name, 0) + 1
            self.held_consignees[decl.consignee.name] = self.held_consignees.get(decl.consignee.name, 0) + 1

    @property
    def screened(self) -> int:
        return self.declarations


def report_row(screening: Screening) -> dict[str, Any]:
    """The per-declaration summary the HTML report and `--out` use."""
    decl, d = screening.declaration, screening.decision
    return {
        "declaration_id": d["declaration_id"],
        "date": decl.date.isoformat(),
        "decision": d["decision"],
        "score": d["score"],
        "rule_ids": [f["rule_id"] for f in d["findings"]],
        "exporter": decl.exporter.name,
        "consignee": decl.consignee.name,
        "destination_country": decl.destination_country,
    }


def progress_sources(paths: list[str]) -> Callable[[], tuple[int, int]]:
    """(bytes done, bytes in all) of the inputs, for a progress bar with an ETA."""
    total = sum(Path(p).stat().st_size for p in paths if p != "-" and Path(p).is_file())
    return lambda: (0, total)
