"""Evaluation of a whole set: the rules engine once per distinct fact signature.

Rules compare each fact only with their literals, so the engine's view of a fact (its
stand-ins and list and group flags: `engine.encoder.FactEncoder`) takes few distinct values
per field. Each distinct value is encoded once, each distinct signature (the tuple of
encoded fields) goes through the engine once, and what fired is joined back to the
items. The same run says which field tests held (`compiler.Fired.tests`): the evidence
of a finding is read from it, the conditions are never re-run in Python.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from ..engine.compiler import CompiledPack, Fired
from ..engine.evaluation import Finding, evidence_of
from ..engine.patterns import test_key
from ..rules.model import Condition, Leaf, Rule, Status
from .enrich import SetFacts

ITEM_KEYS = ("decl", "position")


@dataclass
class SetFindings:
    """Findings per declaration (in the set's order), each list in rule order."""

    active: list[list[Finding]]
    tests: list[list[Finding]]


class _Numbering:
    """Per compiled pack, in this process: each distinct engine piece (`FactEncoder.part`)
    numbered once, each field value's piece number, and what each signature (the tuple
    of its fields' piece numbers) fired. A batch's chunks share it, so a value is encoded
    and a signature run through the engine once per run, not once per chunk."""

    KEPT = 200_000  # values and signatures remembered before the numbering starts afresh

    def __init__(self) -> None:
        self.parts: dict[tuple[Any, ...], int] = {}
        self.pieces: list[dict[str, Any]] = []
        self.values: dict[str, dict[Any, int]] = {}
        self.fired: dict[tuple[int, ...], Fired] = {}
        self.outcomes: dict[Fired, Fired] = {}  # one object per distinct outcome, shared by signatures
        self.held: dict[Fired, dict[Any, bool]] = {}
        self.size = 0

    def numbers(self, encoder: Any, name: str, values: list[Any]) -> list[int]:
        """The piece number of each of a field's values."""
        known = self.values.setdefault(name, {})
        found = []
        for value in values:
            key = tuple(value) if isinstance(value, list) else value  # a field's values share one type
            number = known.get(key)
            if number is None:
                part = encoder.part(name, value)
                number = self.parts.get(part)
                if number is None:
                    number = self.parts[part] = len(self.pieces)
                    self.pieces.append(dict(part))
                known[key] = number
                self.size += 1
            found.append(number)
        return found

    def outcome(self, compiled: CompiledPack, signature: tuple[int, ...]) -> Fired:
        """What a signature fired (the engine's fact is built only for a new one)."""
        found = self.fired.get(signature)
        if found is None:
            fact: dict[str, Any] = {}
            for number in signature:
                fact.update(self.pieces[number])
            found = compiled.run(fact)
            found = self.fired[signature] = self.outcomes.setdefault(found, found)  # few distinct ones
            self.size += 1
        return found

    def holding(self, compiled: CompiledPack, fired: Fired) -> dict[Any, bool]:
        """Which field tests held (`CompiledPack.holding`), once per distinct outcome."""
        found = self.held.get(fired)
        if found is None:
            found = self.held[fired] = compiled.holding(fired)
        return found


_NUMBERINGS: weakref.WeakKeyDictionary[CompiledPack, _Numbering] = weakref.WeakKeyDictionary()


def _numbering(compiled: CompiledPack) -> _Numbering:
    numbering = _NUMBERINGS.get(compiled)
    if numbering is None or numbering.size >= _Numbering.KEPT:
        numbering = _NUMBERINGS[compiled] = _Numbering()  # bounded memory: afresh
    return numbering


def signatures(facts: pl.DataFrame, compiled: CompiledPack) -> tuple[pl.Series, list[Fired]]:
    """Each item's signature number, and what each signature fired."""
    """Each item's signature number (in order of first appearance), and what each
    signature fired. Few polars calls per set (each costs far more than its work on a
    chunk's rows): the distinct values of every field at once, their piece numbers joined
    back in one plan, the distinct signatures of that."""
    numbering, names = _numbering(compiled), compiled.encoder.sources()
    if not names:
        return pl.Series("_sig", [0] * facts.height, dtype=pl.UInt32), [numbering.outcome(compiled, ())]
    codes = [f"_code{n}" for n in range(len(names))]
    # each field's distinct values and their hashes: a value's number reaches the items by
    # its hash (an expression per field, no join), unless two of a field's values share one
    distinct = pl.col(names).unique(maintain_order=True)
    found = facts.select(distinct.implode(), distinct.hash(_SEED).implode().name.prefix("_hash.")).row(0)
    by_hash, joined = [], []
    for name, code, values, hashes in zip(names, codes, found[: len(names)], found[len(names) :], strict=True):
        numbers = numbering.numbers(compiled.encoder, name, values)
        if _distinct(hashes):
            by_hash.append(pl.col(name).hash(_SEED).replace_strict(hashes, numbers, return_dtype=pl.UInt32).alias(code))
        else:
            mapping = pl.DataFrame([pl.Series(name, values, dtype=facts.schema[name]),
                                    pl.Series(code, numbers, dtype=pl.UInt32)])  # fmt: skip
            joined.append((name, mapping))
    # eager: a lazy plan of these expressions takes longer to plan than to run
    table = facts.select(*(name for name, _ in joined), *by_hash)
    for name, mapping in joined:
        table = table.join(mapping, on=name, how="left", nulls_equal=True, maintain_order="left")
    # signatures numbered by their rank (exact: sorted, not hashed); each one's fields
    # read from its first item
    signature = pl.struct(codes)
    table = table.select(*codes, (signature.rank("dense") - 1).cast(pl.UInt32).alias("_sig"),
                         signature.is_first_distinct().alias("_first"))  # fmt: skip
    distinct_sigs = table.filter("_first").sort("_sig").select(codes)
    return table["_sig"], [numbering.outcome(compiled, row) for row in distinct_sigs.iter_rows()]


_SEED = 20261207  # any: the same in one process for the items and the distinct values


def evaluate_set(facts: SetFacts, compiled: CompiledPack, at: dt.datetime, dated: bool = False) -> SetFindings:
    """Every finding of the rules in force at `at`, per declaration; `dated`: of the
    rules in force on each declaration's own date (a backtest), whatever `at` is."""
    frame = facts.facts
    numbered, fired = signatures(frame, compiled)
    rules = compiled.rules
    in_force = [dated or rule.in_force(at) for rule in rules]
    # dated: a rule with validity dates is checked per declaration below
    bounded = [dated and (rule.valid_from is not None or rule.valid_until is not None) for rule in rules]
    days = facts.declarations.headers["date"].to_list() if any(bounded) else []
    pairs = [(sig, rule) for sig, found in enumerate(fired) for rule in sorted(found.rules) if in_force[rule]]
    count = len(facts.declarations)
    active: list[list[Finding]] = [[] for _ in range(count)]
    tests: list[list[Finding]] = [[] for _ in range(count)]
    if not pairs:
        return SetFindings(active, tests)
    hits = pl.DataFrame(pairs, schema={"_sig": pl.UInt32, "rule": pl.UInt32}, orient="row")
    items = frame.select(*ITEM_KEYS, "item.line").with_row_index("row").with_columns(_sig=numbered)
    matched = items.join(hits, on="_sig").sort("decl", "rule", "position")
    grouped = matched.group_by("decl", "rule", maintain_order=True).agg(
        pl.col("row").first(), pl.col("item.line").alias("lines"), pl.col("_sig").first()
    )
    # the facts of each finding's first item, in one gather
    values = frame[grouped["row"]].iter_rows(named=True)
    numbering = _numbering(compiled)
    reasons: dict[tuple[int, int], list[Leaf]] = {}  # per rule and signature: those that count
    for (decl, rule_index, _, lines, sig), row in zip(grouped.iter_rows(), values, strict=True):
        rule = rules[rule_index]
        if bounded[rule_index] and not rule.valid_on(days[decl]):
            continue
        leaves = reasons.get((rule_index, sig))
        if leaves is None:
            held = numbering.holding(compiled, fired[sig])
            leaves = reasons[rule_index, sig] = contributing(rule.condition, held)
        finding = _finding(rule, facts, decl, row, lines, leaves)
        (tests if rule.status is Status.TEST else active)[decl].append(finding)
    return SetFindings(active, tests)


def _finding(
    rule: Rule, facts: SetFacts, decl: int, values: dict[str, Any], lines: list[int], leaves: list[Leaf]
) -> Finding:
    """As `evaluation.make_finding` makes it: evidence from the item that fired first
    (`leaves`: the field tests that made the rule true, `contributing`)."""
    evidence = evidence_of(leaves, values, lambda name: facts.detail(values, decl, name))
    item_line = None
    if rule.item_level:
        item_line = values["item.line"]
        if len(lines) > 1:
            evidence["item_lines"] = lines
    return Finding(rule.id, rule.title, rule.action.value, rule.score, item_line, evidence)


def contributing(cond: Condition, held: Mapping[Any, bool], negated: bool = False) -> list[Leaf]:
    """The field tests that held (or, under `not`, that failed): the reasons a rule fired,
    as `evaluation.contributing` finds them, from the engine's answers."""
    if isinstance(cond, Leaf):
        return [cond] if held[test_key(cond)] != negated else []
    if cond.kind == "not":
        return contributing(cond.children[0], held, not negated)
    return [leaf for c in cond.children for leaf in contributing(c, held, negated)]


def _distinct(hashes: list[int]) -> bool:
    """Whether a field's distinct values have distinct hashes (else they are joined)."""
    return len(set(hashes)) == len(hashes)
