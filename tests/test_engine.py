"""The durable-rules engine against the plain-Python reference evaluator, and each operator."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customs_rules.contract.facts import FIELDS, FieldType
from customs_rules.engine.evaluation import Evaluator, holds, reference_matches
from customs_rules.rules.model import Action, Leaf, Node, Rule, RulePack, Status

HS = ["854231", "8806210000", "880730", "848210", "100199", "720851", "85423190"]
COUNTRIES = ["RU", "BY", "KZ", "KG", "CN", "DE", "AE"]
DATES = ["2019-05-14", "2022-02-24", "2022-06-15", "2024-01-02"]
TEXTS = ["export", "import", "goods_invoice", "id", "none"]
KEYWORD_LISTS = ["drones", "microelectronics", "navigation", "night_vision", "radio"]


def values_for(kind: FieldType) -> st.SearchStrategy[Any]:
    return {
        FieldType.HS: st.sampled_from(HS),
        FieldType.COUNTRY: st.sampled_from(COUNTRIES),
        FieldType.COUNTRY_LIST: st.lists(st.sampled_from(COUNTRIES), max_size=3),
        # the engine parses no exponent (5e-05, 1e+20) and rules compare at any precision
        FieldType.NUMBER: st.sampled_from([0, 0.00005, 0.0001, 1, 10, 100, 100.5, 100.50001, 1000.5, 50000, 1e20]),
        FieldType.DATE: st.sampled_from(DATES),
        FieldType.BOOL: st.booleans(),
        FieldType.TEXT: st.sampled_from(TEXTS),
        FieldType.TEXT_LIST: st.lists(st.sampled_from(KEYWORD_LISTS), max_size=3, unique=True).map(sorted),
    }[kind]


# Fields a random rule may read: a mix of types and nullability
FIELD_NAMES = [
    "item.hs_code", "declaration.destination_country", "declaration.transit_countries",
    "item.origin_country", "item.value", "exporter.registered_on", "exporter.known",
    "item.exporter_activity_covers", "declaration.procedure", "item.currency", "parties.linked",
    "domestic_party.role", "domestic_party.known", "domestic_party.registered_on", "item.domestic_party_activity_covers",
    "item.description_lists", "item.description_code_mismatch",
]  # fmt: skip


@st.composite
def leaf(draw: st.DrawFn, lists: tuple[str, ...], groups: tuple[str, ...]) -> Leaf:
    name = draw(st.sampled_from(FIELD_NAMES))
    kind = FIELDS[name].type
    choices: dict[FieldType, list[str]] = {
        FieldType.HS: ["in_list", "not_in_list", "equals", "not_equals", "in", "not_in", "exists"],
        FieldType.COUNTRY: ["in_group", "not_in_group", "equals", "not_equals", "in", "not_in", "exists"],
        FieldType.COUNTRY_LIST: ["in_group", "not_in_group", "exists"],
        FieldType.NUMBER: ["gt", "gte", "lt", "lte", "equals", "not_equals", "in", "not_in", "exists"],
        FieldType.DATE: ["gt", "gte", "lt", "lte", "equals", "not_equals", "exists"],
        FieldType.BOOL: ["equals", "not_equals", "exists"],
        FieldType.TEXT: ["equals", "not_equals", "in", "not_in", "exists"],
        FieldType.TEXT_LIST: ["in_list", "not_in_list", "exists"],
    }
    op = draw(st.sampled_from(choices[kind]))
    value: Any
    if op == "exists":
        value = draw(st.booleans())
    elif op.endswith("_list"):
        names = KEYWORD_LISTS if kind is FieldType.TEXT_LIST else lists
        value = tuple(draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True)))
    elif op.endswith("_group"):
        value = tuple(draw(st.lists(st.sampled_from(groups), min_size=1, max_size=2, unique=True)))
    elif op in ("in", "not_in"):
        value = tuple(draw(st.lists(values_for(kind), min_size=1, max_size=3, unique=True)))
    else:
        value = draw(values_for(kind))
    return Leaf(name, op, value)


def condition(pack: RulePack) -> st.SearchStrategy[Any]:
    lists, groups = tuple(sorted(pack.reference.hs_lists)), tuple(sorted(pack.reference.country_groups))
    return st.recursive(
        leaf(lists, groups),
        lambda children: st.one_of(
            st.builds(lambda c: Node("not", (c,)), children),
            st.builds(lambda cs: Node("all", tuple(cs)), st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda cs: Node("any", tuple(cs)), st.lists(children, min_size=1, max_size=3)),
        ),
        max_leaves=5,
    )


@st.composite
def facts(draw: st.DrawFn) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in FIELD_NAMES:
        spec = FIELDS[name]
        missing = spec.nullable and draw(st.booleans())
        values[name] = None if missing else draw(values_for(spec.type))
    return values


def make_rule(index: int, cond: Any) -> Rule:
    return Rule(f"r-{index}", "t", "d", Status.ACTIVE, Action.INSPECT, 10, cond)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_engine_agrees_with_reference_evaluator(pack: RulePack, data: st.DataObject) -> None:
    conditions = data.draw(st.lists(condition(pack), min_size=1, max_size=6))
    rules = [make_rule(i, c) for i, c in enumerate(conditions)]
    random_pack = RulePack(rules, pack.reference, pack.policy_doc, pack.directory)
    evaluator = Evaluator(random_pack)
    compiled = evaluator.compiled
    for _ in range(8):  # several facts per pack: the encoder's memos are met again
        values = data.draw(facts())
        assert evaluator.matches(values) == reference_matches(rules, values, pack.reference), values
        # the prepared encoder gives the layout's plain definition of the engine's fact
        assert compiled.engine_fact(values) == compiled.layout.engine_fact(values, pack.reference)


def fired(pack: RulePack, cond: Any, **values: Any) -> tuple[bool, bool]:
    rule = make_rule(0, cond)
    evaluator = Evaluator(RulePack([rule], pack.reference, pack.policy_doc, pack.directory))
    full = {name: None for name in FIELDS} | {k.replace("__", "."): v for k, v in values.items()}
    return 0 in evaluator.matches(full), holds(cond, full, pack.reference)


CASES = [
    (Leaf("declaration.destination_country", "equals", "RU"), {"declaration__destination_country": "RU"}, True),
    (Leaf("declaration.destination_country", "equals", "RU"), {"declaration__destination_country": "KZ"}, False),
    (Leaf("declaration.destination_country", "not_equals", "RU"), {"declaration__destination_country": "KZ"}, True),
    (Leaf("item.origin_country", "not_equals", "RU"), {}, False),  # missing value fails every test
    (Leaf("item.origin_country", "in", ("CN", "TW")), {"item__origin_country": "TW"}, True),
    (Leaf("item.origin_country", "not_in", ("CN", "TW")), {"item__origin_country": "TW"}, False),
    (Leaf("item.origin_country", "not_in", ("CN", "TW")), {"item__origin_country": "DE"}, True),
    (Leaf("item.hs_code", "in_list", ("drones",)), {"item__hs_code": "8806210000"}, True),
    (Leaf("item.hs_code", "in_list", ("chpl/1",)), {"item__hs_code": "848210"}, False),
    (Leaf("item.hs_code", "in_list", ("chpl/3B",)), {"item__hs_code": "848210"}, True),
    (Leaf("item.hs_code", "not_in_list", ("chpl",)), {"item__hs_code": "100199"}, True),
    (Leaf("declaration.transit_countries", "in_group", ("ru_by",)), {"declaration__transit_countries": ["KG", "BY"]}, True),
    (Leaf("declaration.transit_countries", "in_group", ("ru_by",)), {"declaration__transit_countries": []}, False),
    (Leaf("declaration.transit_countries", "not_in_group", ("ru_by",)), {"declaration__transit_countries": []}, True),
    (Leaf("declaration.destination_country", "not_in_group", ("ru_by",)), {"declaration__destination_country": "BY"}, False),
    (Leaf("item.value", "gt", 1000), {"item__value": 1000.5}, True),
    (Leaf("item.value", "gte", 1000), {"item__value": 1000}, True),
    (Leaf("item.value", "lt", 1000), {"item__value": 1000}, False),
    (Leaf("item.value", "lte", 1000), {"item__value": 1000}, True),
    (Leaf("item.value", "gt", 10), {}, False),
    (Leaf("item.net_mass_kg", "lt", 1), {"item__net_mass_kg": 0.00005}, True),  # no exponent reaches the engine
    (Leaf("item.net_mass_kg", "lt", 0.0001), {"item__net_mass_kg": 0.00005}, True),
    (Leaf("item.net_mass_kg", "gt", 0.00001), {"item__net_mass_kg": 0.00005}, True),
    (Leaf("item.value", "gt", 100.5), {"item__value": 100.50001}, True),  # exact, not to 4 decimals
    (Leaf("item.value", "equals", 100.5), {"item__value": 100.50001}, False),
    (Leaf("item.value", "lt", 100.5), {"item__value": 100.49999}, True),
    (Leaf("item.value", "gt", 1e16), {"item__value": 2e16}, True),
    (Leaf("item.value", "gt", 1000), {"item__value": 1e20}, True),
    (Leaf("exporter.registered_on", "gt", "2022-02-24"), {"exporter__registered_on": "2022-06-15"}, True),
    (Leaf("exporter.registered_on", "gt", "2022-02-24"), {"exporter__registered_on": "2021-12-31"}, False),
    (Leaf("exporter.registered_on", "exists", True), {"exporter__registered_on": "2021-12-31"}, True),
    (Leaf("exporter.registered_on", "exists", False), {}, True),
    (Leaf("exporter.known", "equals", False), {"exporter__known": False}, True),
    (Leaf("exporter.known", "equals", True), {"exporter__known": False}, False),
    (Node("not", (Leaf("item.origin_country", "equals", "RU"),)), {}, True),  # not(missing test)
    (Node("not", (Leaf("item.value", "gt", 10),)), {"item__value": 5}, True),
    (Node("any", (Leaf("exporter.known", "equals", True), Leaf("item.value", "gt", 10))), {"item__value": 50, "exporter__known": False}, True),
    (Node("all", (Leaf("exporter.known", "equals", True), Leaf("item.value", "gt", 10))), {"item__value": 50, "exporter__known": False}, False),
]  # fmt: skip


@pytest.mark.parametrize(("cond", "values", "expected"), CASES)
def test_each_operator(pack: RulePack, cond: Any, values: dict[str, Any], expected: bool) -> None:
    engine, reference = fired(pack, cond, **values)
    assert engine == expected
    assert reference == expected


def test_every_matching_rule_is_reported_once(pack: RulePack) -> None:
    # three rules match the same fact; one of them twice through `any`
    drones = Leaf("item.hs_code", "in_list", ("drones",))
    russia = Leaf("declaration.destination_country", "equals", "RU")
    rules = [
        make_rule(0, drones),
        make_rule(1, russia),
        make_rule(2, Node("any", (drones, russia))),
        make_rule(3, Leaf("item.value", "gt", 10**9)),
    ]
    evaluator = Evaluator(RulePack(rules, pack.reference, pack.policy_doc, pack.directory))
    values = {name: None for name in FIELDS} | {
        "item.hs_code": "880621",
        "declaration.destination_country": "RU",
        "item.value": 5.0,
        "declaration.transit_countries": [],
    }
    assert evaluator.matches(values) == {0, 1, 2}


def test_more_than_64_rules_true_at_once_are_all_reported(pack: RulePack) -> None:
    # one engine ruleset fails with error 303 past 64 siblings: the compiler splits packs
    rules = [make_rule(i, Leaf("item.value", "gt", i)) for i in range(150)]
    evaluator = Evaluator(RulePack(rules, pack.reference, pack.policy_doc, pack.directory))
    values = {name: None for name in FIELDS} | {"item.value": 1000.0, "declaration.transit_countries": []}
    assert evaluator.matches(values) == frozenset(range(150))
