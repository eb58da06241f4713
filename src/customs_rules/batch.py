"""Batch screening at any scale: a stream of records through worker processes, in order.

The parent reads each input once more (cheap: no validation), cuts the records into
blocks of whole declarations, and hands the blocks to workers; each worker validates,
enriches, evaluates and decides with its own compiled engine and a snapshot of the
registry, and hands the results back. `imap` keeps them in input order, so the output is
the same for any number of workers (one `screened_at` for the whole run). The parent
alone writes: outputs, rejects, the report and the database, in chunks.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import hashlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .api import Screener, Screening
from .entities.compiled import CompiledRegistry
from .errors import StorageError
from .parsing import Parsed, RawRecord, Rejected, read_raw
from .registry import RegistryLookup
from .rules import RulePack
from .screening.core import screen_set
from .screening.frames import DeclarationSet

BLOCK = 200  # records per block handed to a worker: big enough to amortise the hand-over


@dataclass
class Outcome:
    """What became of one record. Workers that store their own results hand back only
    what the parent prints and counts (`decision`, `row`); otherwise also the screening."""

    lines: int
    decision: dict[str, Any] | None = None
    row: dict[str, Any] | None = None  # the per-declaration summary (report, counts)
    rejected: Rejected | None = None
    screening: Screening | None = None  # None once stored by the worker
    digest: bytes = b""  # of the declaration's content: one id, two contents is flagged
    location: str = ""
    unstored: str = ""  # the storage error that kept this record's block out of the database

    @property
    def where(self) -> str:
        return self.location or (str(self.rejected.location) if self.rejected is not None else "")


@dataclass
class Worker:
    """Per process: the compiled pack and the registry, built once. Without a registry
    snapshot it looks parties up in the database at `db_url` (fetched in bulk per block,
    cached), which keeps a worker small whatever the registry's size; with `keep` it
    also stores what it screens (in parallel with the other workers)."""

    pack: RulePack
    registry: RegistryLookup | None
    db_url: str | None = None
    keep: bool = False
    officer: str | None = None
    without_registry: bool = False  # --no-registry: decisions marked as screened without one
    screener: Screener | None = None
    store: Any = None
    _lookups: Any = None
    compiled: CompiledRegistry | None = None

    def _screener(self) -> Screener:
        if self.screener is None:  # compiled here: each process needs its own engine
            registry = self.registry
            if registry is None:
                self._lookups = self._store().stored_registry()
                registry = self._lookups.__enter__()
            self.screener = Screener(self.pack, registry, without_registry=self.without_registry)
            if self.registry is None:  # the registry as compiled at its load, read once per process
                threshold = self.screener.policy.name_threshold
                self.compiled = CompiledRegistry.from_store(self._store(), threshold)
        return self.screener

    def _store(self) -> Any:
        from .storage import Store  # a connection of this process's own, opened once

        if self.store is None:
            self.store = Store(self.db_url)
        return self.store

    def screen_block(self, block: list[RawRecord | Rejected], at: dt.datetime) -> list[Outcome]:
        screener = self._screener()
        parsed = [record.parse() if isinstance(record, RawRecord) else record for record in block]
        good = [p for p in parsed if isinstance(p, Parsed)]
        declarations = [p.declaration for p in good]
        screener.registry.prefetch(party for d in declarations for party in (d.exporter, d.consignee))
        chunk = DeclarationSet.from_declarations(declarations, [p.location for p in good])
        found = screen_set(screener, chunk, at, self.compiled)
        screener.registry.end_block()  # no read held open while storing (see StoredRegistry.end_block)
        facts = found.item_facts()  # what storing keeps of each decision
        results = []
        number = 0
        for item in parsed:
            if isinstance(item, Rejected):
                results.append(Outcome(item.lines, rejected=item))
                continue
            screening = Screening(item.declaration, found.decisions[number], facts[number], item.location,
                                  found.registered[number])  # fmt: skip
            number += 1
            digest = hashlib.blake2b(repr(item.declaration.canonical()).encode(), digest_size=16).digest()
            results.append(
                Outcome(item.lines, screening.decision, report_row(screening), screening=screening,
                        digest=digest, location=str(item.location))
            )  # fmt: skip
        if self.keep:
            screenings = [o.screening for o in results if o.screening is not None]
            try:
                self._store().record_screenings(screenings, "screen", self.officer)
            except StorageError as exc:  # the parent says what was stored, and stops the run
                for outcome in results:
                    outcome.unstored = exc.detail or str(exc)
            for outcome in results:
                outcome.screening = None  # stored: nothing heavy goes back to the parent
        return results

    def close(self) -> None:
        if self._lookups is not None:
            self._lookups.__exit__(None, None, None)
        if self.store is not None:
            self.store.close()


_WORKER: Worker | None = None  # per worker process, set by `_start_worker`


def _screen_in_child(job: tuple[list[RawRecord | Rejected], dt.datetime]) -> list[Outcome]:
    assert _WORKER is not None
    return _WORKER.screen_block(*job)


PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def _start_worker(parent: int, worker: Worker) -> None:
    """Runs first in each worker process: takes its `Worker`, and makes it go quietly
    with its parent.

    Workers are spawned, not forked: polars' thread pool does not survive a fork of a
    process that has used it (the child waits forever), and the batch's process reads
    with polars. Ctrl-C reaches the whole process group: workers ignore it and the
    parent alone stops, ending the pool. A parent killed outright would leave its
    workers to fail on the closed pipe with a traceback: on Linux the kernel ends them
    with it (SIGTERM, whose default action prints nothing); elsewhere a thread watches
    for the parent.
    """
    global _WORKER
    _WORKER = worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent went before the line above took effect
        os._exit(0)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _spawn_pool(workers: int, worker: Worker) -> Any:
    """A pool of spawned workers that ignore Ctrl-C from birth: a spawned worker takes
    a second to import, and an interrupt meanwhile would end it with a traceback (an
    ignored signal stays ignored across exec, and Python then leaves it so)."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        context = multiprocessing.get_context("spawn")
        return context.Pool(workers, initializer=_start_worker, initargs=(os.getpid(), worker))
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


def blocks(
    paths: Iterable[str], stream: Any = None, size: int = BLOCK, sheet: str | None = None
) -> Iterator[list[RawRecord | Rejected]]:
    block: list[RawRecord | Rejected] = []
    for path in paths:
        for record in read_raw(path, stream, sheet):
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
    registry: RegistryLookup | None,
    at: dt.datetime,
    workers: int = 1,
    db_url: str | None = None,
    keep: bool = False,
    officer: str | None = None,
    without_registry: bool = False,
) -> Iterator[Outcome]:
    """Every record's outcome, in input order, screened by `workers` processes. With no
    registry snapshot, workers look parties up in the database at `db_url`; with `keep`
    they store their results there; `without_registry` marks the decisions (the
    registry given is then an empty one)."""
    # workers screen; this process stores, in a writer thread, while they screen on
    worker = Worker(pack, registry, db_url, False, officer, without_registry)
    writer = _writer(db_url, officer) if keep else None
    run = StoredSoFar()
    jobs = run.until_stopped(jobs)
    try:
        if workers <= 1:
            try:
                for block in jobs:
                    yield from _passed(run, writer, worker.screen_block(block, at))
            finally:
                worker.close()
        else:
            yield from _on_workers(run, writer, worker, workers, jobs, at)
        if writer is not None:
            yield from _written(run, writer.close())
    finally:
        if writer is not None:
            writer.store.close()
    run.check()


def _on_workers(
    run: StoredSoFar, writer: Any, worker: Worker, workers: int, jobs: Iterable[list[RawRecord | Rejected]],
    at: dt.datetime,
) -> Iterator[Outcome]:  # fmt: skip
    pool = _spawn_pool(workers, worker)
    try:
        # a bounded look-ahead: imap pulls blocks as workers free up, so memory stays flat
        for results in pool.imap(_screen_in_child, ((b, at) for b in jobs), chunksize=1):
            yield from _passed(run, writer, results)
    except BaseException:
        _abandon(pool)
        raise
    pool.close()
    pool.join()


def _abandon(pool: Any) -> None:
    """End a pool that an interrupt or an error stopped, without waiting on it.

    `Pool.terminate` joins the thread that hands out blocks, and that thread may be
    stuck writing a block to a worker that will never read it (seen on Ctrl-C): the
    workers are killed first, and the pool is terminated on a thread of its own that
    the process does not wait for."""
    for process in list(getattr(pool, "_pool", [])):
        process.kill()
    ending = threading.Thread(target=pool.terminate, daemon=True)
    ending.start()
    ending.join(5)


def _writer(db_url: str | None, officer: str | None) -> Any:
    from .storage import Store
    from .storage.writer import SetWriter

    return SetWriter(Store(db_url), "screen", officer)


def _passed(run: StoredSoFar, writer: Any, results: list[Outcome]) -> Iterator[Outcome]:
    """Hand a screened block to the writer (when storing), and pass on the outcomes of
    the blocks stored since: only what is stored is printed and counted."""
    if writer is None:
        yield from run.passed(results)
        return
    writer.put(results, [o.screening for o in results if o.screening is not None])
    yield from _written(run, writer.done())


def _written(run: StoredSoFar, written: list[Any]) -> Iterator[Outcome]:
    for done in written:
        for outcome in done.tag:
            outcome.unstored = done.error
            outcome.screening = None  # stored: the report needs only the summary row
        yield from run.passed(done.tag)


class StoppedRun(StorageError):
    """A batch stopped because a block could not be stored: says exactly what was."""


RERUN = "rerun the same command to complete it: declarations already stored are reused, not stored twice"


def store_in_order(store: Any, pending: list[Screening], officer: str | None, stored: int) -> int:
    """Store a chunk when this process stores in input order (cluster runs); how many
    declarations are stored now. A failure stops the run, saying what is stored."""
    try:
        store.record_screenings(pending, "screen", officer)
    except StorageError as exc:
        where = str(pending[0].location)
        raise StoppedRun(
            f"storing stopped at {where}: {exc.detail or exc}\nstored: {stored} declaration(s), every one "
            f"before {where} (rejected ones aside); not stored: the declarations from {where} on",
            RERUN,
        ) from None
    return stored + len(pending)


@dataclass
class StoredSoFar:
    """What a storing run has stored, block by block in input order. Once a block fails,
    no new block is handed out; the blocks already in hand are still taken in (another
    worker may have stored them), and `check` then stops the run, saying what is stored."""

    declarations: int = 0
    lines: int = 0
    failed_at: str = ""
    error: str = ""
    stored_after: int = 0  # declarations stored after the failed block, by other workers
    missing: int = 0  # screened declarations not stored
    unscreened: bool = False  # blocks were left unread once the run stopped

    def until_stopped(self, jobs: Iterable[list[RawRecord | Rejected]]) -> Iterator[list[RawRecord | Rejected]]:
        for block in jobs:
            if self.failed_at:
                self.unscreened = True
                return
            yield block

    def passed(self, results: list[Outcome]) -> list[Outcome]:
        """The outcomes to print and count: those of blocks stored before any failure."""
        screened = sum(o.decision is not None for o in results)
        failure = next((o.unstored for o in results if o.unstored), "")
        if failure and not self.failed_at:
            self.failed_at, self.error = results[0].where, failure
        if failure:
            self.missing += screened
            return []
        if self.failed_at:
            self.stored_after += screened
            return []
        self.declarations += screened
        self.lines += sum(o.lines for o in results)
        return results

    def check(self) -> None:
        if not self.failed_at:
            return
        others = (
            f"; {self.stored_after} declaration(s) after it were stored by other workers" if self.stored_after else ""
        )
        raise StoppedRun(
            f"storing stopped at {self.failed_at}: {self.error}\n"
            f"stored: {self.declarations} declaration(s), every one in the {self.lines} input line(s) before "
            f"{self.failed_at} (rejected ones aside){others}; not stored: {self.missing} declaration(s) "
            f"from {self.failed_at} on" + ("; the rest of the input was not screened" if self.unscreened else ""),
            # without this, the count above read as all that was missing
            RERUN,
        )


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
    refused: list[str] = field(default_factory=list)  # inputs not read at all: no line counted

    def add(self, outcome: Outcome) -> None:
        if outcome.rejected is not None and outcome.rejected.refusal is not None:
            self.refused.append(outcome.rejected.location.source)
            return
        self.lines += outcome.lines
        if outcome.decision is None or outcome.row is None:
            self.rejected += 1
            self.rejected_lines += outcome.lines
            return
        verdict = outcome.decision["decision"]
        self.declarations += 1
        self.screened_lines += outcome.lines
        self.decisions[verdict] += 1
        self.decided_lines[verdict] += outcome.lines
        for rule_id in outcome.row["rule_ids"]:
            self.rules[rule_id] = self.rules.get(rule_id, 0) + 1
        if verdict == "hold":
            exporter, consignee = outcome.row["exporter"], outcome.row["consignee"]
            self.held_exporters[exporter] = self.held_exporters.get(exporter, 0) + 1
            self.held_consignees[consignee] = self.held_consignees.get(consignee, 0) + 1

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
        "exporter": screening.party("exporter"),
        "consignee": screening.party("consignee"),
        "destination_country": decl.destination_country,
    }
