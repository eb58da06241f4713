"""The screening core: a set of declarations in, a decision per declaration out.

    screened = screen_set(screener, declarations, at)   # declarations: a DeclarationSet

Enrichment (`enrich`), evaluation (`evaluate`) and the decision policy work on the whole
set at once. `Screener.screen` (one declaration at a time, in `api`) is kept as the plain
reference the core is held against by tests; batch, submit and rescreen call the core.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import polars as pl

from ..contract.decision import Decision, Finding
from ..engine.enrichment import path_guard
from ..entities.compiled import CompiledRegistry
from ..entities.registry import RegistryIndex
from ..rules.model import RulePack
from ..rules.policy import policy_from
from .enrich import Entities, SetFacts, enrich_set
from .evaluate import SetFindings, evaluate_set
from .frames import DECISION_SCHEMA, FINDING_SCHEMA, DeclarationSet, ScreenedSet
from .history import HistoryBase

if TYPE_CHECKING:
    from ..workflow.screener import Screener


@dataclass
class CoreResult:
    """A screened set, and each declaration's decision (`Decision.as_dict`: the contract's
    JSON object)."""

    screened: ScreenedSet
    decisions: list[Decision]
    facts: SetFacts
    # per declaration: the registry's "name (company id)" of each party it knows
    registered: list[dict[str, str]] = field(default_factory=list)

    def party_evidence(self, decl: int) -> dict[str, dict[str, Any]]:
        """Per role, what the registry and the watchlist said of one declaration's party:
        as declared (name, id, country), how it was matched (method, score, why), the
        company found, and the watchlist entry (or None). The HTML report's party evidence,
        asked for its flagged declarations only (party rows are cached per distinct party)."""
        entities, found = self.facts.entities, {}
        for role in ("exporter", "consignee"):
            p = self.facts.party_of[f"{role}_p"][decl]
            row = entities.party_row(p)
            declared = {"name": row["name"], "id": row["id"], "country": row["party_country"]}
            found[role] = (
                declared | entities.party_detail(p, "known") | {"watchlist": entities.party_detail(p, "watchlisted")}
            )
        return found

    def item_facts(self) -> list[list[dict[str, Any]]]:
        """Per declaration, the facts of its items, as the reference lists them."""
        found: list[list[dict[str, Any]]] = [[] for _ in range(len(self.decisions))]
        for row in self.facts.facts.iter_rows(named=True):
            decl = row.pop("decl")
            del row["position"]
            found[decl].append(row)
        return found


def screen_set(
    screener: Screener, declarations: DeclarationSet, at: dt.datetime | None = None,
    registry: CompiledRegistry | None = None, history: HistoryBase | None = None, *, dated: bool = False,
    facts: SetFacts | None = None,
) -> CoreResult:  # fmt: skip
    """Enrich, evaluate and decide every declaration of the set (nothing is stored).
    `registry` is the compiled registry to screen against: by default, the screener's
    in-memory registry compiled once (`compiled_registry`). `history`: the past
    declarations the history facts read, the set's own included (by default: the
    screener's `history` and the set). `dated`: each declaration as of its own date
    (rule validity against its `date`, not `at`: a backtest). `facts`: this set's
    enrichment, made by an earlier call with the same enrichment inputs
    (`enrichment_inputs`) and history, used again instead of enriching twice."""
    at = at or dt.datetime.now(dt.UTC)
    if facts is None:
        registry = registry or compiled_registry(screener)
        entities = Entities(registry, screener.pack.reference, screener.policy.link_depth, screener.path_guard)
        if history is None:
            history = (getattr(screener, "history", None) or HistoryBase()).with_set(declarations)
        facts = enrich_set(declarations, entities, history)
    found = evaluate_set(facts, screener.evaluator.compiled, at, dated)
    verdicts = _decide(screener, found) if not _allows(screener) else _allowed(screener, found, facts, at)
    stamp = at.isoformat().replace("+00:00", "Z")
    ids = declarations.headers["declaration_id"].to_list()
    bodies = [
        Decision(
            declaration_id,
            decision,
            score,
            tuple(found.active[number]),
            tuple(found.tests[number]),
            screener.version,
            stamp,
            screener.without_registry,
        )  # fmt: skip
        for number, (declaration_id, (decision, score)) in enumerate(zip(ids, verdicts, strict=True))
    ]
    screened = ScreenedSet(
        declarations, _decision_frame(ids, verdicts), _finding_frame(found), facts.facts, screener.version, at,
        screener.without_registry, party_keys=_party_keys(facts),
    )  # fmt: skip
    return CoreResult(screened, bodies, facts, _registered(facts))


def _party_keys(facts: SetFacts) -> pl.DataFrame:
    if facts.history is None:
        return pl.DataFrame()
    return facts.history.queries.select("decl", "exporter_key", "consignee_key")


def enrichment_inputs(pack: RulePack) -> tuple[Any, ...]:
    """What a set's facts depend on besides the declarations and the registry: two packs
    with equal inputs enrich a set alike (`screen_set(..., facts=)`). Keep this in step
    with the `Entities` that `screen_set` builds from its screener."""
    lists = sorted((name, text) for name, text in pack.contents.items() if name.startswith("lists/"))
    policy = policy_from(pack.policy_doc)
    return (tuple(lists), policy.link_depth, policy.name_threshold, path_guard(pack.evaluated()))


def compiled_registry(screener: Screener) -> CompiledRegistry:
    """The screener's in-memory registry (`RegistryIndex`) compiled, once per screener
    (a registry is not changed while a screener screens with it)."""
    kept: CompiledRegistry | None = getattr(screener, "_compiled", None)
    if kept is None:
        source = screener.registry
        if not isinstance(source, RegistryIndex):
            raise TypeError("screening a set needs a registry in memory, or a compiled registry (from_store)")
        records = (source.company_records(), source.person_records(), source.watchlist, source.threshold)
        kept = CompiledRegistry.from_records(*records)
        screener._compiled = kept  # type: ignore[attr-defined]
    return kept


def _decide(screener: Screener, found: SetFindings) -> list[tuple[str, float]]:
    """The policy once per distinct combination of counting rules (a batch has few)."""
    verdicts: dict[tuple[str, ...], tuple[str, float]] = {}
    result = []
    for findings in found.active:
        key = tuple(f.rule_id for f in findings)
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = screener.policy.decide([(f.rule_id, f.action, f.score) for f in findings])
        result.append(verdict)
    return result


def _allows(screener: Screener) -> bool:
    allowances = screener.allowances
    return allowances.lowers or allowances.selects(screener.policy)


def _allowed(screener: Screener, found: SetFindings, facts: SetFacts, at: dt.datetime) -> list[tuple[str, float]]:
    """The policy with trusted traders, snoozes and random selection (`rules.allowances`),
    declaration by declaration; each one's findings as they counted."""
    from ..rules.allowances import Subject, decide, party_ids

    headers = facts.declarations.headers
    ids, dates = headers["declaration_id"].to_list(), headers["date"].to_list()
    parties: list[list[tuple[str, tuple[str, ...]]]] = [[] for _ in ids]
    if screener.allowances.lowers:
        registered = facts.entities.parties["registered_id"]
        for role in ("exporter", "consignee"):
            known = registered.gather(facts.party_of[f"{role}_p"]).to_list()
            for decl, (declared, found_id) in enumerate(zip(headers[f"{role}_id"].to_list(), known, strict=True)):
                parties[decl].append((role, party_ids(declared, found_id)))
    result = []
    for decl, declaration_id in enumerate(ids):
        subject = Subject(declaration_id, dates[decl], tuple(parties[decl]))
        found.active[decl], decision, score = decide(screener.policy, screener.allowances, found.active[decl],
                                                     subject, at)  # fmt: skip
        result.append((decision, score))
    return result


def _decision_frame(ids: list[str], verdicts: list[tuple[str, float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "decl": pl.Series(range(len(ids)), dtype=pl.UInt32),
            "declaration_id": ids,
            "decision": [v[0] for v in verdicts],
            "score": [v[1] for v in verdicts],
        },
        schema=DECISION_SCHEMA,
    )


def _finding_frame(found: SetFindings) -> pl.DataFrame:
    rows = []
    for is_test, per_decl in ((False, found.active), (True, found.tests)):
        for decl, findings in enumerate(per_decl):
            rows += [_finding_row(decl, f, is_test, rank) for rank, f in enumerate(findings)]
    return pl.DataFrame(rows, schema=FINDING_SCHEMA, orient="row").sort("decl", "is_test", "rank")


def _finding_row(decl: int, finding: Finding, is_test: bool, rank: int) -> tuple[Any, ...]:
    evidence = orjson.dumps(finding.evidence).decode()
    return (decl, finding.rule_id, finding.title, finding.action, finding.score, finding.item_line, is_test,
            evidence, rank)  # fmt: skip


def _registered(facts: SetFacts) -> list[dict[str, str]]:
    """Per declaration, as `Screening.registered`: "registered name (company id)" by role."""
    parties = facts.entities.parties
    known = pl.col("registered_id").is_not_null()
    names = parties.select(pl.when(known).then(pl.format("{} ({})", "registered_name", "registered_id")))[:, 0]
    roles = [(role, names.gather(facts.party_of[f"{role}_p"]).to_list()) for role in ("exporter", "consignee")]
    result: list[dict[str, str]] = [{} for _ in range(facts.party_of.height)]
    for role, found in roles:
        for decl, name in enumerate(found):
            if name is not None:
                result[decl][role] = name
    return result
