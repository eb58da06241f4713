"""Evaluation: enriched facts through the compiled rules into findings with evidence.

Every matching rule is a finding (never only the first). A rule counts once per
declaration: an item-level rule reports its first matching line and lists the others
in its evidence. `holds` is the plain-Python reference evaluator of the same rule
model; a property test keeps it and the engine in agreement.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..contract.decision import Finding
from ..contract.facts import FIELDS, FieldType
from ..rules.model import Condition, Leaf, Rule, RulePack, Status
from ..rules.reference import ReferenceData
from .compiler import CompiledPack, compile_pack
from .enrichment import Enriched
from .patterns import encode


@dataclass
class Evaluation:
    findings: list[Finding]
    test_findings: list[Finding]


class Evaluator:
    """Compiles a pack once, then evaluates any number of declarations with it.

    A pack loaded from files is compiled once per process (`compiled_for`), however many
    evaluators and submissions use it: compiling costs time, and the engine's memory.
    """

    def __init__(self, pack: RulePack) -> None:
        self.pack = pack
        self.compiled: CompiledPack = compiled_for(pack)
        self.rules = self.compiled.rules

    def matches(self, values: Mapping[str, Any]) -> frozenset[int]:
        return self.compiled.match(values)

    def evaluate(self, enriched: Enriched, at: dt.datetime) -> Evaluation:
        """Findings of the rules in force at `at` (the time of screening)."""
        lines: dict[int, list[int]] = {}
        for position, values in enumerate(enriched.items):
            for index in self.compiled.match(values):
                lines.setdefault(index, []).append(position)
        active: list[Finding] = []
        tests: list[Finding] = []
        for index in sorted(lines):
            rule = self.rules[index]
            if not rule.in_force(at):
                continue
            finding = make_finding(rule, enriched, lines[index], self.pack.reference)
            (tests if rule.status is Status.TEST else active).append(finding)
        return Evaluation(active, tests)


_SHARED: dict[tuple[int, str], CompiledPack] = {}  # (process, pack version): at most one


def compiled_for(pack: RulePack) -> CompiledPack:
    """The pack's compiled engine, shared in this process by every pack of the same version.

    The version hashes every file the pack was parsed from, so equal versions compile to
    equal engines. A pack built in memory (no file contents) has no such name and is
    compiled afresh. One compiled pack is kept: the one replaced is released when its
    last user drops it. The process id is part of the key: a forked worker builds its own.
    """
    if not pack.contents:
        return compile_pack(pack.evaluated(), pack.reference)
    key = (os.getpid(), pack.version)
    compiled = _SHARED.get(key)
    if compiled is None:
        _SHARED.clear()
        compiled = _SHARED[key] = compile_pack(pack.evaluated(), pack.reference)
    return compiled


def make_finding(rule: Rule, enriched: Enriched, positions: list[int], reference: ReferenceData) -> Finding:
    first = positions[0]
    evidence = evidence_for(rule, enriched.items[first], enriched.details[first], reference)
    item_line = None
    if rule.item_level:
        item_line = enriched.items[first]["item.line"]
        if len(positions) > 1:
            evidence["item_lines"] = [enriched.items[p]["item.line"] for p in positions]
    return Finding(rule.id, rule.title, rule.action.value, rule.score, item_line, evidence)


def evidence_for(
    rule: Rule, values: Mapping[str, Any], details: Mapping[str, Any], reference: ReferenceData
) -> dict[str, Any]:
    """What matched: each field test that made the rule true, its value and its detail."""
    return evidence_of(contributing(rule.condition, values, reference), values, details.get)


def evidence_of(tests: Iterable[Leaf], values: Mapping[str, Any], detail: Callable[[str], Any]) -> dict[str, Any]:
    """The evidence of the field tests that made a rule true: each field once, its value,
    and its detail (only the lists or groups the test named)."""
    evidence: dict[str, Any] = {}
    for leaf in tests:
        if leaf.field in evidence:
            continue
        value, found = values.get(leaf.field), detail(leaf.field)
        if isinstance(found, dict):
            evidence[leaf.field] = {"value": value, **_relevant(leaf, found)}
        elif found is not None:
            evidence[leaf.field] = {"value": value, "detail": found}
        else:
            evidence[leaf.field] = value
    return evidence


def contributing(
    cond: Condition, values: Mapping[str, Any], reference: ReferenceData, negated: bool = False
) -> list[Leaf]:
    """The field tests that hold (or, under `not`, that fail): the reasons a rule fired."""
    if isinstance(cond, Leaf):
        return [cond] if holds(cond, values, reference) != negated else []
    if cond.kind == "not":
        return contributing(cond.children[0], values, reference, not negated)
    return [leaf for c in cond.children for leaf in contributing(c, values, reference, negated)]


def _relevant(leaf: Leaf, detail: dict[str, Any]) -> dict[str, Any]:
    """Only the lists or groups the test named, not every one the value belongs to."""
    if leaf.op in ("in_list", "not_in_list") and "lists" in detail:
        return detail | {"lists": [e for e in detail["lists"] if e["list"] in leaf.value]}
    if leaf.op in ("in_group", "not_in_group") and "groups" in detail:
        return detail | {"groups": [g for g in detail["groups"] if g in leaf.value]}
    return detail


def holds(cond: Condition, values: Mapping[str, Any], reference: ReferenceData) -> bool:
    """The reference semantics, in plain Python: a missing value fails every test
    except `exists: false`; `not` negates; lists and groups match by membership."""
    if isinstance(cond, Leaf):
        return _leaf_holds(cond, values, reference)
    if cond.kind == "not":
        return not holds(cond.children[0], values, reference)
    results = (holds(c, values, reference) for c in cond.children)
    return all(results) if cond.kind == "all" else any(results)


def _leaf_holds(leaf: Leaf, values: Mapping[str, Any], reference: ReferenceData) -> bool:
    kind = FIELDS[leaf.field].type
    raw = values.get(leaf.field)
    if kind is FieldType.TEXT_LIST:  # missing (no description) fails in_list and not_in_list alike
        if leaf.op == "exists":
            return bool(raw) == leaf.value
        return raw is not None and any(n in raw for n in leaf.value) == (leaf.op == "in_list")
    if kind is FieldType.COUNTRY_LIST:
        countries = list(raw or [])
        if leaf.op == "exists":
            return bool(countries) == leaf.value
        inside = any(g in reference.groups_for(c) for c in countries for g in leaf.value)
        return inside == (leaf.op == "in_group")
    if leaf.op == "exists":
        return (raw is not None) == leaf.value
    if raw is None:
        return False
    if leaf.op in ("in_list", "not_in_list"):
        inside = any(name in reference.lists_for(raw) for name in leaf.value)
        return inside == (leaf.op == "in_list")
    if leaf.op in ("in_group", "not_in_group"):
        inside = any(g in reference.groups_for(raw) for g in leaf.value)
        return inside == (leaf.op == "in_group")
    value = encode(leaf.field, raw)
    if leaf.op in ("in", "not_in"):
        inside = value in {encode(leaf.field, v) for v in leaf.value}
        return inside == (leaf.op == "in")
    literal = encode(leaf.field, leaf.value)
    compare = {
        "equals": lambda: value == literal,
        "not_equals": lambda: value != literal,
        "gt": lambda: value > literal,
        "gte": lambda: value >= literal,
        "lt": lambda: value < literal,
        "lte": lambda: value <= literal,
    }
    return bool(compare[leaf.op]())


def reference_matches(rules: list[Rule], values: Mapping[str, Any], reference: ReferenceData) -> frozenset[int]:
    """Indices of the rules whose condition holds, by the reference evaluator."""
    return frozenset(i for i, r in enumerate(rules) if holds(r.condition, values, reference))
