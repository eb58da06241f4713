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


def signatures(facts: pl.DataFrame, compiled: CompiledPack) -> tuple[pl.Series, list[Fired]]:
    """Each item's signature number, and what each signature fired."""
    encoder = compiled.encoder
    parts: dict[tuple[Any, ...], int] = {}
    codes: list[pl.DataFrame] = []
    for name in encoder.sources():
        column = facts.get_column(name)
        distinct = column.unique(maintain_order=True)
        numbers = []
        for value in distinct.to_list():
            numbers.append(parts.setdefault(encoder.part(name, value), len(parts)))
        mapping = pl.DataFrame({name: distinct, f"_code{len(codes)}": pl.Series(numbers, dtype=pl.UInt32)})
        codes.append(facts.select(name).join(mapping, on=name, how="left", nulls_equal=True, maintain_order="left"))
    if not codes:
        table = pl.DataFrame({"_none": [0] * facts.height})
    else:
        table = pl.concat([c.drop(c.columns[0]) for c in codes], how="horizontal")
    distinct_sigs = table.unique(maintain_order=True).with_row_index("_sig")
    numbered = table.join(distinct_sigs, on=table.columns, how="left", maintain_order="left")["_sig"]
    pieces = {number: piece for piece, number in parts.items()}
    fired = []
    for row in distinct_sigs.drop("_sig").iter_rows():
        fact: dict[str, Any] = {}
        for code in row if codes else ():
            fact.update(pieces[code])
        fired.append(compiled.fired(fact))
    return numbered, fired


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
    for decl, rule_index, row, lines, sig in grouped.iter_rows():
        rule = rules[rule_index]
        if bounded[rule_index] and not rule.valid_on(days[decl]):
            continue
        finding = _finding(rule, facts, decl, frame.row(row, named=True), lines, compiled.holding(fired[sig]))
        (tests if rule.status is Status.TEST else active)[decl].append(finding)
    return SetFindings(active, tests)


def _finding(
    rule: Rule, facts: SetFacts, decl: int, values: dict[str, Any], lines: list[int], held: Mapping[Any, bool]
) -> Finding:
    """As `evaluation.make_finding` makes it: evidence from the item that fired first."""
    evidence = _evidence(rule, facts, decl, values, held)
    item_line = None
    if rule.item_level:
        item_line = values["item.line"]
        if len(lines) > 1:
            evidence["item_lines"] = lines
    return Finding(rule.id, rule.title, rule.action.value, rule.score, item_line, evidence)


def _evidence(
    rule: Rule, facts: SetFacts, decl: int, values: dict[str, Any], held: Mapping[Any, bool]
) -> dict[str, Any]:
    return evidence_of(contributing(rule.condition, held), values, lambda name: facts.detail(values, decl, name))


def contributing(cond: Condition, held: Mapping[Any, bool], negated: bool = False) -> list[Leaf]:
    """The field tests that held (or, under `not`, that failed): the reasons a rule fired,
    as `evaluation.contributing` finds them, from the engine's answers."""
    if isinstance(cond, Leaf):
        return [cond] if held[test_key(cond)] != negated else []
    if cond.kind == "not":
        return contributing(cond.children[0], held, not negated)
    return [leaf for c in cond.children for leaf in contributing(c, held, negated)]
