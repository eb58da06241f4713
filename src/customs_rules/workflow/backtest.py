"""Backtest: what a candidate rule pack would have decided on the stored declarations,
beside a baseline pack, each declaration as of its own date. Nothing is stored.

    report = backtest(store, candidate_pack, baseline_pack, since, until, workers=2)
    report.summary()      # the JSON summary object (README, "Backtest")
    report.changes        # the declarations whose decision changes, in store order

The declarations are those a rescreen reads: the newest revision of each, dated within
since..until (`Store.latest_declaration_keys`), read back a chunk at a time
(`Store.declaration_set`) on this process or on spawned workers (`batch_pool`). Each
chunk goes through the core (`screening.core.screen_set`) once per pack, `dated`: a rule
is in force for a declaration when its validity dates cover the declaration's `date`.
When both packs enrich alike (`enrichment_inputs`: the same lists, link depth, name
threshold and path guard) the second screening reuses the first one's facts, so a
chunk is enriched once and evaluated twice.
"""

from __future__ import annotations

import datetime as dt
import gc
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..contract.choices import CONFIRMED
from ..rules.model import RulePack
from .batch import IN_FLIGHT_PER_WORKER, collected_once
from .batch_pool import abandon, spawn_pool

__all__ = [
    "BACKTEST_CHUNK",
    "CHANGE_COLUMNS",
    "DECISIONS",
    "Backtest",
    "BacktestWorker",
    "Change",
    "Verdicts",
    "backtest",
]

DECISIONS = ("release", "inspect", "hold")
BACKTEST_CHUNK = 5_000  # declarations per chunk, as a rescreen reads them
CHANGE_COLUMNS = ["declaration_id", "revision", "date", "exporter", "consignee", "from", "to", "from_score",
                  "to_score", "rules_added", "rules_removed", "outcome"]  # fmt: skip
SUMMARY_FORMAT = "customs-rules backtest summary"
SUMMARY_VERSION = 1


@dataclass(slots=True)
class Verdicts:
    """One pack's verdicts on a chunk, per declaration in the chunk's order."""

    decisions: list[str]
    scores: list[float]
    rules: list[tuple[str, ...]]  # the rules that count, in finding order
    tests: list[tuple[str, ...]]  # the rules in `test` status that found


@dataclass(slots=True)
class ChunkResult:
    """A chunk under both packs, and the parties of the declarations that change (by
    their place in the chunk): "registered name (company id)" when known, else as declared."""

    baseline: Verdicts
    candidate: Verdicts
    lines: int
    parties: dict[int, tuple[str, str]]


@dataclass(slots=True)
class Change:
    """A declaration whose decision differs between the packs."""

    declaration_id: str
    revision: int
    date: str
    exporter: str
    consignee: str
    was: str
    now: str
    was_score: float
    now_score: float
    added: list[str]
    removed: list[str]
    outcome: str | None

    def as_dict(self) -> dict[str, Any]:
        values = (self.declaration_id, self.revision, self.date, self.exporter, self.consignee, self.was, self.now,
                  self.was_score, self.now_score, self.added, self.removed, self.outcome)  # fmt: skip
        return dict(zip(CHANGE_COLUMNS, values, strict=True))


@dataclass
class BacktestWorker:
    """Per process: both packs' screeners, the registry and the history (every stored
    declaration, which the history facts read as of each declaration's date), built
    once; the store at `db_url` opened once, to read the chunks."""

    baseline: RulePack
    candidate: RulePack
    db_url: str | None
    without_registry: bool = False
    # the stored past as the history facts of both packs read it (`HistoryBase.narrowed`),
    # read once by the run's process; None: read here
    history: Any = None
    # (store, baseline screener, its registry, candidate screener, its registry, shared, history)
    _state: Any = None

    def _setup(self) -> Any:
        if self._state is None:
            from ..entities.compiled import CompiledRegistry
            from ..entities.registry import RegistryIndex
            from ..screening.core import enrichment_inputs
            from ..store import Store
            from .screener import Screener

            store = Store(self.db_url, create=False)
            history = self.history if self.history is not None else self.past(store)
            empty = RegistryIndex([], [], [])
            base = Screener(self.baseline, empty, without_registry=self.without_registry)
            cand = Screener(self.candidate, RegistryIndex([], [], []), without_registry=self.without_registry)
            base_registry = cand_registry = None
            if not self.without_registry:
                frames, watchlist = store.registry_frames(), store.watchlist_records()
                base_registry = CompiledRegistry(frames, watchlist, base.policy.name_threshold)
                cand_registry = base_registry
                if cand.policy.name_threshold != base.policy.name_threshold:
                    cand_registry = CompiledRegistry(frames, watchlist, cand.policy.name_threshold)
            shared = enrichment_inputs(self.baseline) == enrichment_inputs(self.candidate)
            self._state = (store, base, base_registry, cand, cand_registry, shared, history)
        return self._state

    def past(self, store: Any) -> Any:
        """Every stored declaration (the history facts of each are computed as of its own
        date), narrowed to the rows either pack's facts read."""
        from ..store.history import read_history

        return read_history(store).narrowed(self.baseline.reference, self.candidate.reference)

    def screen(self, pks: Sequence[int], at: dt.datetime) -> ChunkResult:
        """The stored declarations with these row ids, under both packs, as of their dates."""
        from ..screening.core import screen_set

        store, base, base_registry, cand, cand_registry, shared, history = self._setup()
        declarations = store.declaration_set(pks)
        first = screen_set(base, declarations, at, base_registry, history, dated=True)
        reuse = first.facts if shared else None
        second = screen_set(cand, declarations, at, cand_registry, history, dated=True, facts=reuse)
        before, after = _verdicts(first.decisions), _verdicts(second.decisions)
        changed = [n for n, (a, b) in enumerate(zip(before.decisions, after.decisions, strict=True)) if a != b]
        parties = {}
        if changed:
            heads = declarations.headers.select("exporter_name", "consignee_name").rows()
            for n in changed:
                known = first.registered[n]
                parties[n] = (known.get("exporter", heads[n][0]), known.get("consignee", heads[n][1]))
        return ChunkResult(before, after, len(declarations.items), parties)

    def close(self) -> None:
        if self._state is not None:
            self._state[0].close()
            self._state = None


def _verdicts(decisions: Sequence[Any]) -> Verdicts:
    return Verdicts(
        [d.decision for d in decisions], [d.score for d in decisions],
        [tuple(d.rule_ids) for d in decisions], [tuple(d.test_rule_ids) for d in decisions],
    )  # fmt: skip


@dataclass
class Backtest:
    """What the candidate pack would have decided, beside the baseline, and what changes."""

    baseline: RulePack
    candidate: RulePack
    since: dt.date | None
    until: dt.date | None
    run_at: dt.datetime
    without_registry: bool = False
    shared_enrichment: bool = True
    sources: dict[str, str] = field(default_factory=dict)  # where each pack came from, for people
    declarations: int = 0
    lines: int = 0
    matrix: dict[str, dict[str, int]] = field(
        default_factory=lambda: {a: dict.fromkeys(DECISIONS, 0) for a in DECISIONS}
    )
    hits: dict[str, Counter[str]] = field(default_factory=lambda: {"baseline": Counter(), "candidate": Counter()})
    confirmed: list[tuple[str, str, str, str]] = field(default_factory=list)  # (id, outcome, from, to)
    changes: list[Change] = field(default_factory=list)

    def add(self, rows: Any, found: ChunkResult, outcomes: dict[str, str]) -> None:
        """Count one chunk: `rows` the stored declarations it holds (a frame of
        `Store.latest_declaration_keys`)."""
        self.declarations += len(rows)
        self.lines += found.lines
        base, cand = found.baseline, found.candidate
        for side, verdicts in (("baseline", base), ("candidate", cand)):
            counter = self.hits[side]
            for rules, tests in zip(verdicts.rules, verdicts.tests, strict=True):
                counter.update(set(rules) | set(tests))  # a rule that found on several items: one hit
        keys = rows.select("declaration_id", "revision", "date").iter_rows()
        for n, ((ident, revision, day), was, now) in enumerate(zip(keys, base.decisions, cand.decisions, strict=True)):
            self.matrix[was][now] += 1
            outcome = outcomes.get(ident)
            if outcome in CONFIRMED:
                self.confirmed.append((ident, outcome, was, now))
            if was != now:
                exporter, consignee = found.parties[n]
                before, after = base.rules[n], cand.rules[n]
                self.changes.append(Change(
                    ident, revision, day.isoformat(), exporter, consignee, was, now,
                    base.scores[n], cand.scores[n], [r for r in after if r not in before],
                    [r for r in before if r not in after], outcome,
                ))  # fmt: skip

    def counts(self, side: str) -> dict[str, int]:
        """Declarations per decision under one pack ("baseline" or "candidate")."""
        if side == "baseline":
            return {was: sum(row.values()) for was, row in self.matrix.items()}
        return {now: sum(self.matrix[was][now] for was in DECISIONS) for now in DECISIONS}

    def load(self, side: str) -> float:
        """The inspection load: the share of declarations flagged (inspect or hold)."""
        counts = self.counts(side)
        return round((counts["inspect"] + counts["hold"]) / self.declarations, 6) if self.declarations else 0.0

    def rule_rows(self) -> list[dict[str, Any]]:
        """Per rule of either pack (or that found): its status and hits under each."""
        status = {side: {r.id: r.status.value for r in pack.rules}
                  for side, pack in (("baseline", self.baseline), ("candidate", self.candidate))}  # fmt: skip
        ids = (
            set(status["baseline"])
            | set(status["candidate"])
            | set(self.hits["baseline"])
            | set(self.hits["candidate"])
        )
        rows = [
            {"rule_id": rule_id}
            | {side: {"status": status[side].get(rule_id), "hits": self.hits[side][rule_id]} for side in status}
            for rule_id in ids
        ]
        return sorted(rows, key=lambda r: (-max(r["baseline"]["hits"], r["candidate"]["hits"]), r["rule_id"]))

    def confirmed_summary(self) -> dict[str, Any]:
        """The confirmed cases (latest outcome seized or irregularity): each pack catches
        one it flags (inspect or hold) and misses one it releases."""
        summary: dict[str, Any] = {"total": len(self.confirmed)}
        for side, place in (("baseline", 2), ("candidate", 3)):
            caught = sum(case[place] != "release" for case in self.confirmed)
            summary[side] = {"caught": caught, "missed": len(self.confirmed) - caught}
        summary["caught_only_by_candidate"] = sorted(c[0] for c in self.confirmed if c[2] == "release" != c[3])
        summary["caught_only_by_baseline"] = sorted(c[0] for c in self.confirmed if c[3] == "release" != c[2])
        return summary

    def summary(self) -> dict[str, Any]:
        """The JSON summary object (its shape: README, "Backtest")."""
        packs = {side: {"version": pack.version, "rules": self.sources.get(side, str(pack.directory))}
                 for side, pack in (("baseline", self.baseline), ("candidate", self.candidate))}  # fmt: skip
        return {
            "format": SUMMARY_FORMAT,
            "format_version": SUMMARY_VERSION,
            "candidate_version": self.candidate.version,  # what `rules publish --backtest` checks
            "baseline_version": self.baseline.version,
            "run_at": self.run_at.isoformat().replace("+00:00", "Z"),
            **packs,
            "declared_since": self.since.isoformat() if self.since else None,
            "declared_until": self.until.isoformat() if self.until else None,
            "registry": "none" if self.without_registry else "loaded",
            "shared_enrichment": self.shared_enrichment,
            "declarations": self.declarations,
            "lines": self.lines,
            "decisions": {"baseline": self.counts("baseline"), "candidate": self.counts("candidate")},
            "matrix": self.matrix,
            "changed": len(self.changes),
            "load": {"baseline": self.load("baseline"), "candidate": self.load("candidate")},
            "rules": self.rule_rows(),
            "confirmed": self.confirmed_summary(),
        }


def _matrix() -> dict[str, dict[str, int]]:
    return {was: dict.fromkeys(DECISIONS, 0) for was in DECISIONS}


def backtest(
    store: Any,
    candidate: RulePack,
    baseline: RulePack,
    since: dt.date | None = None,
    until: dt.date | None = None,
    workers: int = 1,
    without_registry: bool = False,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = BACKTEST_CHUNK,
    sources: dict[str, str] | None = None,
) -> Backtest:
    """Screen the stored declarations (the newest revision of each, dated within
    since..until) under both packs, each as of its own date, and compare. Nothing is
    stored. The caller checks the registry first (`screener.check_registry`). `progress`
    hears (declarations done, declarations in all) after each chunk. `sources`: where
    each pack ("baseline", "candidate") came from, as the summary names it (default:
    its directory)."""
    at = dt.datetime.now(dt.UTC)
    report = Backtest(baseline, candidate, since, until, at, without_registry, sources=dict(sources or {}))
    rows = store.latest_declaration_keys(since, until)
    outcomes = store.latest_outcomes()
    chunks = [rows.slice(start, chunk) for start in range(0, rows.height, chunk)]
    from ..screening.core import enrichment_inputs

    worker = BacktestWorker(baseline, candidate, store.url, without_registry)
    worker.history = worker.past(store)  # read once here: each worker is handed the narrowed past
    report.shared_enrichment = enrichment_inputs(baseline) == enrichment_inputs(candidate)
    results = _here(worker, chunks, at) if workers <= 1 or len(chunks) <= 1 else _on_pool(worker, chunks, at, workers)
    for part, found in zip(chunks, results, strict=True):
        report.add(part, found, outcomes)
        if progress is not None:
            progress(report.declarations, rows.height)
    return report


def _pks(chunk: Any) -> list[int]:
    return list(chunk["pk"].to_list())


def _here(worker: BacktestWorker, chunks: list[Any], at: dt.datetime) -> Iterator[ChunkResult]:
    try:
        for chunk in chunks:
            with collected_once():
                found = worker.screen(_pks(chunk), at)
            yield found
    finally:  # what the run left behind can be collected again (this process goes on)
        gc.unfreeze()
        worker.close()


_WORKER: BacktestWorker | None = None  # per worker process


def _take_worker(worker: BacktestWorker) -> None:
    global _WORKER
    _WORKER = worker


def _screen_in_child(pks: list[int], at: dt.datetime) -> ChunkResult:
    assert _WORKER is not None
    with collected_once():  # the pool's processes end with the run
        return _WORKER.screen(pks, at)


def _on_pool(worker: BacktestWorker, chunks: list[Any], at: dt.datetime, workers: int) -> Iterator[ChunkResult]:
    """The chunks on `workers` spawned processes, a few ahead each; results in order."""
    pool = spawn_pool(workers, _take_worker, worker)
    try:
        pending: list[Any] = []
        for chunk in chunks:
            pending.append(pool.apply_async(_screen_in_child, (_pks(chunk), at)))
            while len(pending) > workers * IN_FLIGHT_PER_WORKER:
                yield pending.pop(0).get()
        while pending:
            yield pending.pop(0).get()
    except BaseException:
        abandon(pool)
        raise
    pool.close()
    pool.join()
