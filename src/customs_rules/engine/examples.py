"""`rules test`: run every rule's embedded examples through the real engine.

An example gives the fact fields it cares about; the others take the neutral defaults
of `facts.FIELDS`. Each example runs through the compiled durable-rules pack and the
reference evaluator; a disagreement between them is reported too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..contract.codes import normalize_country, normalize_hs
from ..contract.facts import FIELDS, FieldType
from ..rules.model import Example, Rule, RulePack
from .evaluation import Evaluator, holds


@dataclass(frozen=True)
class ExampleResult:
    rule: Rule
    example: Example
    fired: bool
    reference: bool

    @property
    def passed(self) -> bool:
        return self.fired == self.example.expect_fire and self.fired == self.reference

    def describe(self) -> str:
        expected = "fire" if self.example.expect_fire else "not fire"
        got = "fired" if self.fired else "did not fire"
        where = f"{self.rule.source}:{self.example.line}"
        extra = "" if self.fired == self.reference else " (engine and reference evaluator disagree)"
        return f"{where}: rule {self.rule.id} should {expected} but {got}{extra}"


def example_facts(example: Example) -> dict[str, Any]:
    values = {name: spec.example_default for name, spec in FIELDS.items()}
    for name, value in example.facts.items():
        values[name] = _normalize(FIELDS[name].type, value)
    return values


def _normalize(kind: FieldType, value: Any) -> Any:
    if value is None:
        return None
    if kind is FieldType.HS:
        return normalize_hs(str(value))
    if kind is FieldType.COUNTRY:
        return normalize_country(str(value))
    if kind is FieldType.COUNTRY_LIST:
        return [normalize_country(str(v)) for v in value]
    if kind is FieldType.TEXT_LIST:
        return sorted({str(v) for v in value})
    return value


def run_examples(pack: RulePack, evaluator: Evaluator | None = None) -> list[ExampleResult]:
    evaluator = evaluator or Evaluator(pack)
    position = {id(rule): i for i, rule in enumerate(evaluator.rules)}
    results = []
    for rule in pack.rules:
        index = position.get(id(rule))
        for example in rule.examples:
            values = example_facts(example)
            reference = holds(rule.condition, values, pack.reference)
            fired = index in evaluator.matches(values) if index is not None else reference
            results.append(ExampleResult(rule, example, fired, reference))
    return results
