"""Batch screening at any scale: chunks of whole declarations, as columns, in order.

This process reads the inputs as chunks (`io.read_chunks`: each a `DeclarationSet` and
the rejections of that part of the input) and hands each chunk's set to a worker, which
screens it with the core (`screen_set`) and prepares it for storing (`Screened`). The
results come back in input order, so the output is the same for any number of workers
(one `screened_at` for the whole run). This process alone writes: outputs, rejects, the
report, and the database, on a writer thread that stores each chunk's set in bulk while
the next ones are screened. Only what is stored is printed and counted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import itertools
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import polars as pl

from ..contract.decision import Decision
from ..contract.errors import StorageError
from ..contract.registry_rows import WatchlistRecord
from ..entities.registry import RegistryIndex
from ..io import Chunk, read_chunks
from ..io.parsing import Rejected
from ..rules.model import RulePack
from ..runtime import trim_heap
from ..screening.frames import DeclarationSet
from .batch_counts import Counts
from .batch_pool import default_workers, mapped_graph
from .batch_workers import PoolStart, collected_once, worth_starting_early
from .prepass import CHUNK_LINES, Spool, run_history

if TYPE_CHECKING:
    from ..screening.core import CoreResult

__all__ = [
    "CHUNK_LINES",
    "ChunkScreener",
    "Counts",
    "Outcome",
    "PoolStart",
    "Part",
    "Screened",
    "Spool",
    "StoppedRun",
    "Wanted",
    "Worker",
    "default_workers",
    "local_screening",
    "run_history",
    "screen_files",
    "worth_starting_early",
]

IN_FLIGHT_PER_WORKER = 2  # chunks handed to each worker ahead: it never waits, memory stays flat


@dataclass
class Screened:
    """What a worker makes of a chunk's declarations, in the set's order: each decision
    as one line of JSON (`--format json`), as a `Decision` when the outputs
    need one (else None: the parent then never unpickles them), its summary row (report,
    counts), a digest of its content (one id, two contents is flagged), and the set
    prepared for storing (its declarations travel apart: this process has them), and
    each one's `--out` JSON line when asked (`Wanted.results`)."""

    texts: list[str]
    decisions: list[Decision] | None
    rows: list[dict[str, Any]]
    digests: list[bytes]
    prepared: Any = None  # store.prepared.Prepared, or None when nothing is stored
    results: list[str] | None = None


@dataclass(frozen=True)
class Wanted:
    """What a run asks of its workers besides the summary rows."""

    keep: bool = False  # a set prepared for storing
    decisions: bool = True  # the decisions as dicts (tables, CSV, --out)
    report: bool = False  # the HTML report's extras in the summary rows (`summary_rows`)
    results: bool = False  # each decision's `--out` JSON line (`report.outputs.result_line`)


@dataclass(slots=True)
class Outcome:
    """What became of one record: a decision (`row`, its summary, is set; `text`, its
    JSON line; `decision` the `Decision` when asked for; `result` its `--out` line
    when asked for), or a rejection."""

    lines: int
    decision: Decision | None = None
    row: dict[str, Any] | None = None
    rejected: Rejected | None = None
    digest: bytes = b""
    location: str = ""
    text: str = ""
    result: str = ""


@dataclass
class Part:
    """One chunk on its way through a run: read, screened (`screened`: None when it holds
    no valid declaration), then stored or not (`unstored`: the storage error)."""

    chunk: Chunk
    screened: Screened | None = None
    unstored: str = ""

    def outcomes(self) -> Iterator[Outcome]:
        """Decisions and rejections, in output order."""
        declarations = self.chunk.declarations
        if not len(declarations):
            yield from (Outcome(r.lines, rejected=r) for r in self.chunk.rejected)
            return
        assert self.screened is not None
        found = self.screened
        lines = declarations.headers["lines"].to_list()
        where = declarations.location_texts()
        dicts, results = found.decisions, found.results
        for outcome in self.chunk.outcomes():
            if isinstance(outcome, Rejected):
                yield Outcome(outcome.lines, rejected=outcome)
            else:
                yield Outcome(lines[outcome], dicts[outcome] if dicts is not None else None, found.rows[outcome],
                              None, found.digests[outcome], where[outcome], found.texts[outcome],
                              results[outcome] if results is not None else "")  # fmt: skip

    @property
    def declarations(self) -> int:
        return len(self.chunk.declarations)

    @property
    def lines(self) -> int:
        return int(self.chunk.declarations.headers["lines"].sum() or 0) + sum(r.lines for r in self.chunk.rejected)

    @property
    def where(self) -> str:
        """Where the chunk begins in output order."""
        first = next(self.chunk.outcomes(), None)
        if isinstance(first, Rejected):
            return str(first.location)
        return str(self.chunk.declarations.locations()[0]) if first is not None else ""


@dataclass
class Worker:
    """Per process: the compiled pack and the compiled registry, built once. The registry
    is the in-memory `registry` (compiled once by the core), else the compiled snapshot
    `frames` and `watchlist` (a cluster's), else the files of the store's snapshot in the
    directory `snapshot` and `watchlist` (a pool's: `batch_pool.shared_snapshot`), else
    the store's at `db_url` as compiled at its load, read once per process."""

    pack: RulePack
    registry: RegistryIndex | None
    db_url: str | None = None
    without_registry: bool = False  # --no-registry: decisions marked as screened without one
    frames: dict[str, pl.DataFrame] | None = None
    watchlist: list[WatchlistRecord] = field(default_factory=list)
    snapshot: str | None = None  # a directory of the store's registry snapshot, to map (batch_pool)
    screener: Any = None
    compiled: Any = None  # entities.compiled.CompiledRegistry, unless `registry` is given
    history: Any = None  # screening.history.HistoryBase: the run's past (`run_history`), or None
    history_file: str | None = None  # where the past is, when it came later (`batch_workers.PoolStart.give`)
    allowances: Any = None  # rules.allowances.Allowances: snoozes and the random seed, read by the parent

    def _screener(self) -> Any:
        from ..entities.compiled import CompiledRegistry
        from .screener import Screener

        if self.screener is None:  # compiled here: each process needs its own engine
            # with a compiled registry, the screener's own (an empty one) is never consulted
            lookup = self.registry if self.registry is not None else RegistryIndex([], [], [])
            self.screener = Screener(self.pack, lookup, without_registry=self.without_registry,
                                     allowances=self.allowances)  # fmt: skip
            threshold = self.screener.policy.name_threshold
            if self.frames is not None:
                self.compiled = CompiledRegistry(self.frames, self.watchlist, threshold)
            elif self.registry is None and self.snapshot is not None:
                self.compiled = _mapped_registry(self.snapshot, self.watchlist, threshold)
            elif self.registry is None:
                from ..store import Store  # read once, then closed: no read held open while others store

                store = Store(self.db_url)
                try:
                    self.compiled = CompiledRegistry.from_store(store, threshold)
                finally:
                    store.close()
        return self.screener

    def warm(self) -> None:
        """Build now what the first chunk would: the engine and the registry's indexes (a
        pool's worker, before its first chunk comes). A failure is left for that chunk to
        meet again and report."""
        try:
            self._screener()
            if self.compiled is not None:
                self.compiled.warm()
        except Exception:  # reported by the first chunk, which builds it all again
            self.screener = self.compiled = None

    def screen(self, declarations: DeclarationSet, at: dt.datetime, wanted: Wanted, keys: Any = None) -> Screened:
        """Screen a set with the core, and make what the run wants of it (`keys`: the
        set's party keys, when the pre-pass computed them: `io.Chunk.party_keys`)."""
        if self.history is None and self.history_file is not None:
            with open(self.history_file, "rb") as handle:
                self.history = pickle.load(handle)  # written by this run's process (`PoolStart.give`)
            self.history_file = None
        from ..report.outputs import result_line
        from ..report.tables import json_line
        from ..screening.core import screen_set
        from ..store.content import content_hashes
        from ..store.prepared import prepare

        history = self.history.for_set(declarations, keys) if self.history is not None else None
        found = screen_set(self._screener(), declarations, at, self.compiled, history)
        rows = summary_rows(found.decisions, found.registered, declarations)
        if wanted.report:
            report_extras(rows, found)
        prepared = None
        if wanted.keep:
            prepared = prepare(found.screened)
            hashes = prepared.heads.get_column("content_hash").to_list()
            # what storing needs no more (facts are in the signatures), and what this process has
            slim = dataclasses.replace(prepared.screened, declarations=DeclarationSet.empty(), facts=_NO_FACTS)
            prepared = dataclasses.replace(prepared, screened=slim)
        else:
            hashes = content_hashes(declarations.headers, declarations.items)
        texts = [json_line(decision.as_dict()) for decision in found.decisions]
        decisions = found.decisions if wanted.decisions else None
        results = [result_line(decision) for decision in found.decisions] if wanted.results else None
        return Screened(texts, decisions, rows, [bytes.fromhex(h[:32]) for h in hashes], prepared, results)


_NO_FACTS = pl.DataFrame()


def _mapped_registry(snapshot: str, watchlist: list[WatchlistRecord], threshold: float) -> Any:
    """A pool's worker's registry: the parent's copy of the snapshot and its link graph,
    mapped (`batch_pool`), and the watchlist the parent read. No database, so no SQL
    library is imported in the worker."""
    from ..entities.compiled import CompiledRegistry
    from ..entities.linking import registry_graph
    from ..store.snapshot_files import mapped_frames

    compiled = CompiledRegistry(mapped_frames(Path(snapshot)), watchlist, threshold)
    graph = mapped_graph(snapshot, threshold)  # written by the parent: `share_graph`
    if graph is not None:
        registry_graph(compiled, graph)
    return compiled


def summary_rows(
    decisions: list[Decision], registered: list[dict[str, str]], declarations: DeclarationSet
) -> list[dict[str, Any]]:
    """Per declaration, the summary the HTML report, `--out` and the counts use; a party
    the registry knows is named as "registered name (company id)" (two companies may
    share a name), else as declared."""
    heads = declarations.headers.select("date", "exporter_name", "consignee_name", "destination_country").iter_rows()
    rows = []
    for decision, known, (date, exporter, consignee, destination) in zip(decisions, registered, heads, strict=True):
        rows.append({
            "declaration_id": decision.declaration_id, "date": date.isoformat(), "decision": decision.decision,
            "score": decision.score, "rule_ids": decision.rule_ids,
            "exporter": known.get("exporter", exporter), "consignee": known.get("consignee", consignee),
            "destination_country": destination,
        })  # fmt: skip
    return rows


def report_extras(rows: list[dict[str, Any]], found: CoreResult) -> None:
    """What the HTML report reads besides the summary (`found`: the core's result): each
    rule's own action (its chart is coloured by it), and for a held or inspected
    declaration its parties' registry match and watchlist entry (its evidence list)."""
    for number, (row, decision) in enumerate(zip(rows, found.decisions, strict=True)):
        row["rule_actions"] = [f.action for f in decision.findings]
        if decision.decision != "release":
            row["parties"] = found.party_evidence(number)


# -- screening chunks, here or on worker processes ----------------------------------------

ChunkScreener = Callable[[Iterable[Chunk]], Iterator[Part]]  # chunks in, screened parts out, in order


def local_screening(
    worker: Worker, at: dt.datetime, workers: int, wanted: Wanted = Wanted(), early: PoolStart | None = None
) -> ChunkScreener:  # fmt: skip
    """Screen chunks in this process (one worker), or on `workers` spawned processes:
    `early`'s, when the run started them before its pre-pass (`worth_starting_early`;
    the run's past, `worker.history`, is handed to them now). One run's: with workers,
    this process lets go of the past once they have it, and an early pool serves once."""

    def here(chunks: Iterable[Chunk]) -> Iterator[Part]:
        try:
            for chunk in chunks:
                yield Part(chunk, _screened_here(worker, chunk, at, wanted))
        finally:  # what the run left behind can be collected again (this process goes on)
            gc.unfreeze()

    def on_pool(chunks: Iterable[Chunk]) -> Iterator[Part]:
        nonlocal worker
        chunks = iter(chunks)
        ahead = list(itertools.islice(chunks, 2))
        if len(ahead) < 2:  # one chunk: starting processes (~1 s each) would cost more than screening it
            if early is not None:
                early.abandon()
            yield from here(ahead)
            return
        pool = early if early is not None else PoolStart(worker, workers)
        try:
            pool.give(worker.history)
            worker = dataclasses.replace(worker, history=None)  # the workers have it (~30 MB here at 3M lines)
            pending: deque[tuple[Chunk, Any]] = deque()
            for chunk in itertools.chain(ahead, chunks):
                job = pool.screen(chunk.declarations, at, wanted, chunk.party_keys) if len(chunk.declarations) else None
                pending.append((chunk, job))
                while len(pending) > workers * IN_FLIGHT_PER_WORKER:
                    yield _collected(*pending.popleft())
            while pending:
                yield _collected(*pending.popleft())
        except BaseException:
            pool.abandon()
            raise
        pool.close()

    return here if workers <= 1 else on_pool


def _screened_here(worker: Worker, chunk: Chunk, at: dt.datetime, wanted: Wanted) -> Screened | None:
    if not len(chunk.declarations):
        return None
    with collected_once():
        return worker.screen(chunk.declarations, at, wanted, chunk.party_keys)


def _collected(chunk: Chunk, job: Any) -> Part:
    """A chunk's part, once its worker is done with it; what this process freed of the
    chunks before goes back to the system (~15 MB of this process at the end of a run)."""
    part = Part(chunk, job.get() if job is not None else None)
    trim_heap()
    return part


# -- a run: screening, storing in order, what was stored ----------------------------------


def screen_files(
    paths: Iterable[str], screening: ChunkScreener, writer: Any = None, stream: TextIO | None = None,
    sheet: str | None = None, chunk_lines: int | None = None, spool: Spool | None = None,
) -> Iterator[Outcome]:  # fmt: skip
    """Every record's outcome, in input order: read in chunks (or taken from the
    `spool` the history's pre-pass filled), screened by `screening`, and stored by
    `writer` (a `store.writer.SetWriter`; None: nothing stored). A storage failure stops
    the run (`StoppedRun`, saying what is stored) once the outcomes of what was stored
    are handed on."""
    run = StoredSoFar()
    size = chunk_lines or CHUNK_LINES
    chunks = spool.chunks(paths, stream, size, sheet) if spool is not None else read_chunks(paths, stream, size, sheet)
    try:
        for part in screening(run.until_stopped(chunks)):
            yield from _passed(run, writer, part)
        if writer is not None:
            yield from _written(run, writer.close())
    except BaseException:
        if writer is not None:  # an interrupted run: what was not reported stored is not stored
            writer.abort()
        raise
    finally:
        if writer is not None:
            writer.store.close()
    run.check()


def _passed(run: StoredSoFar, writer: Any, part: Part) -> Iterator[Outcome]:
    """Hand a screened chunk to the writer (when storing), and pass on the outcomes of
    the chunks stored since."""
    if writer is None:
        yield from run.passed(part)
        return
    prepared = part.screened.prepared if part.screened is not None else None
    if prepared is not None:  # its declarations travelled apart
        prepared = dataclasses.replace(
            prepared, screened=dataclasses.replace(prepared.screened, declarations=part.chunk.declarations)
        )
    writer.put(part, prepared)
    yield from _written(run, writer.done())


def _written(run: StoredSoFar, written: list[Any]) -> Iterator[Outcome]:
    for done in written:
        part: Part = done.tag
        part.unstored = done.error
        yield from run.passed(part)


class StoppedRun(StorageError):
    """A batch stopped because a chunk could not be stored: says exactly what was."""


RERUN = "rerun the same command to complete it: declarations already stored are reused, not stored twice"


@dataclass
class StoredSoFar:
    """What a storing run has stored, chunk by chunk in input order. Once a chunk fails,
    no new chunk is read; the chunks already screened are still taken in, and `check`
    then stops the run, saying what is stored."""

    declarations: int = 0
    lines: int = 0
    failed_at: str = ""
    error: str = ""
    missing: int = 0  # screened declarations not stored
    unscreened: bool = False  # chunks were left unread once the run stopped

    def until_stopped(self, chunks: Iterable[Chunk]) -> Iterator[Chunk]:
        for chunk in chunks:
            if self.failed_at:
                self.unscreened = True
                return
            yield chunk

    def passed(self, part: Part) -> Iterator[Outcome]:
        """The outcomes to print and count: those of chunks stored before any failure."""
        if part.unstored and not self.failed_at:
            self.failed_at, self.error = part.where, part.unstored
        if self.failed_at:
            self.missing += part.declarations
            return iter(())
        self.declarations += part.declarations
        self.lines += part.lines
        return part.outcomes()

    def check(self) -> None:
        if not self.failed_at:
            return
        raise StoppedRun(
            f"storing stopped at {self.failed_at}: {self.error}\n"
            f"stored: {self.declarations} declaration(s), every one in the {self.lines} input line(s) before "
            f"{self.failed_at} (rejected ones aside); not stored: {self.missing} declaration(s) "
            f"from {self.failed_at} on" + ("; the rest of the input was not screened" if self.unscreened else ""),
            # without this, the count above read as all that was missing
            RERUN,
        )
