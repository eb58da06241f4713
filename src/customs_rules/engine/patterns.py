"""Rules to the engine's JSON patterns over one `Layout` of the pack's fields: field names
by their FNV-1a hash, numbers and dates as ranks among the rules' literals, negations
pushed down to the leaves (see the list in compiler.py's docstring)."""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..contract.facts import FIELDS, LIST_TYPES, FieldType, encode_date
from ..rules.model import Condition, Leaf, Rule, leaves
from ..rules.reference import ReferenceData

NEGATED = {"gt": "$lte", "gte": "$lt", "lt": "$gte", "lte": "$gt"}


NUMERIC_FIELDS = frozenset({FieldType.NUMBER, FieldType.DATE})


OTHER = "\u0000other"  # equal to no literal a rule can hold (text literals are printable)


POSITIVE = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}


def fnv1a(text: str) -> int:
    """The engine's property-name hash (FNV-1a, 32 bits)."""
    value = 2166136261
    for byte in text.encode():
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


@dataclass
class Layout:
    """How enriched facts become the engine's flat fact: one key per value or flag.

    The literals rules compare each field with are known before any rule is compiled
    (`for_rules`), because numbers and dates reach the engine as ranks among their
    field's literals: the k-th literal is 2k, and a value between the (k-1)-th and the
    k-th is 2k - 1. The engine orders ranks as the values are ordered, so every
    comparison keeps its meaning exactly, at any precision, and it never meets a number
    it cannot parse (it refuses exponents: 1e-05, 1e+16).
    """

    fields: dict[str, str] = field(default_factory=dict)
    list_flags: dict[tuple[str, str], str] = field(default_factory=dict)
    group_flags: dict[tuple[str, str], str] = field(default_factory=dict)
    literals: dict[str, set[Any]] = field(default_factory=dict)  # encoded, per field compared
    _ordered: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def for_rules(cls, rules: Iterable[Rule]) -> Layout:
        layout = cls()
        for rule in rules:
            for leaf in leaves(rule.condition):
                if leaf.op not in ("exists", "in_list", "not_in_list", "in_group", "not_in_group"):
                    values = leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
                    layout.literals.setdefault(leaf.field, set()).update(encode(leaf.field, v) for v in values)
        for name, literals in layout.literals.items():
            if FIELDS[name].type in NUMERIC_FIELDS:
                layout._ordered[name] = sorted(literals)
        return layout

    def literal(self, name: str, value: Any) -> Any:
        """A rule's literal as the engine sees it: its rank for numbers and dates."""
        encoded = encode(name, value)
        ordered = self._ordered.get(name)
        return encoded if ordered is None else 2 * (bisect.bisect_left(ordered, encoded) + 1)

    def canonical(self, name: str, value: Any) -> Any:
        """A stand-in for `value` that every rule treats exactly as it treats `value`.

        Rules compare a field only with their literals, so values between the same two
        literals (or equal to none) behave alike: sending one representative per class
        (a rank, for numbers and dates) lets facts that differ only there share one
        engine evaluation (the signature cache). A field compared with nothing (read for
        `exists`, lists, groups) only needs to be present.
        """
        literals = self.literals.get(name)
        if not literals:
            return 1
        ordered = self._ordered.get(name)
        if ordered is not None:
            place = bisect.bisect_left(ordered, value)
            return 2 * (place + 1) if place < len(ordered) and ordered[place] == value else 2 * place + 1
        if value in literals or isinstance(value, bool):
            return value
        return OTHER

    def key(self, name: str) -> str:
        return self.fields.setdefault(name, name.replace(".", "__"))

    def list_key(self, name: str, list_name: str) -> str:
        default = f"{self.key(name)}__l{len(self.list_flags)}"
        return self.list_flags.setdefault((name, list_name), default)

    def group_key(self, name: str, group: str) -> str:
        default = f"{self.key(name)}__g{len(self.group_flags)}"
        return self.group_flags.setdefault((name, group), default)

    def all_keys(self) -> list[str]:
        return [*self.fields.values(), *self.list_flags.values(), *self.group_flags.values()]

    def engine_fact(self, values: Mapping[str, Any], reference: ReferenceData) -> dict[str, Any]:
        """The engine's view of one fact; a missing value is left out, never sent as null."""
        fact: dict[str, Any] = {}
        for name, key in self.fields.items():
            value = encode(name, values.get(name))
            if value is not None:
                fact[key] = self.canonical(name, value)
        for (name, list_name), key in self.list_flags.items():
            value = values.get(name)
            if value is not None:
                fact[key] = list_name in named_lists(name, value, reference)
        for (name, group), key in self.group_flags.items():
            value = values.get(name)
            if value is None:
                continue
            countries = value if isinstance(value, list) else [value]
            fact[key] = any(group in reference.groups_for(c) for c in countries)
        return fact


def named_lists(name: str, value: Any, reference: ReferenceData) -> Collection[str]:
    """The lists `in_list` finds a value of field `name` in: an HS code's goods lists, or
    the names a text-list fact holds (the keyword lists a description matched)."""
    return value if FIELDS[name].type is FieldType.TEXT_LIST else reference.lists_for(value)


def encode(name: str, value: Any) -> Any:
    """Normalise a value to the type the engine compares well (engine-notes: loose typing)."""
    if value is None:
        return None
    kind = FIELDS[name].type
    if kind is FieldType.DATE:
        return encode_date(value)
    if kind in LIST_TYPES:
        return len(value) or None  # only `exists`, groups and lists read a list
    if kind is FieldType.NUMBER:
        return float(value)  # exact: the engine sees ranks (Layout), never the number
    return value


def compile_leaf(leaf: Leaf, layout: Layout, negate: bool) -> dict[str, Any]:
    kind = FIELDS[leaf.field].type
    nullable = FIELDS[leaf.field].nullable or kind in LIST_TYPES
    op = leaf.op
    if op in ("in_list", "not_in_list", "in_group", "not_in_group"):
        flag = layout.list_key if op.endswith("list") else layout.group_key
        keys = [flag(leaf.field, name) for name in leaf.value]
        wanted = op.startswith("in_")
        present = [{k: wanted != negate} for k in keys]
        joined = _join("$or" if wanted != negate else "$and", present)
        return _or_missing(joined, keys[0], negate and nullable)
    key = layout.key(leaf.field)
    if op == "exists":
        return {"$ex" if leaf.value != negate else "$nex": {key: 1}}
    if op in POSITIVE:
        cond = {(NEGATED if negate else POSITIVE)[op]: {key: layout.literal(leaf.field, leaf.value)}}
        return _or_missing(cond, key, negate and nullable)
    values = leaf.value if op in ("in", "not_in") else (leaf.value,)
    encoded = [layout.literal(leaf.field, v) for v in values]
    positive = op in ("in", "equals")
    if positive != negate:
        cond = _join("$or", [{key: v} for v in encoded])
    else:
        cond = _join("$and", [{"$neq": {key: v}} for v in encoded])
    # a missing value fails every test; only a negated test accepts it
    return _or_missing(cond, key, negate and nullable)


def _or_missing(cond: dict[str, Any], key: str, accept_missing: bool) -> dict[str, Any]:
    return _join("$or", [cond, {"$nex": {key: 1}}]) if accept_missing else cond


def _join(op: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    flat: list[dict[str, Any]] = []
    for part in parts:
        flat.extend(part[op] if set(part) == {op} else [part])
    return flat[0] if len(flat) == 1 else {op: flat}


def compile_condition(cond: Condition, layout: Layout, negate: bool = False) -> dict[str, Any]:
    """Negation normal form: `not` is pushed to the leaves (De Morgan)."""
    if isinstance(cond, Leaf):
        return compile_leaf(cond, layout, negate)
    if cond.kind == "not":
        return compile_condition(cond.children[0], layout, not negate)
    op = "$and" if (cond.kind == "all") != negate else "$or"
    return _join(op, [compile_condition(c, layout, negate) for c in cond.children])


def pattern(rule: Rule, layout: Layout) -> dict[str, Any]:
    # the positive `t` test keeps the session-state object from satisfying a rule
    body = _join("$and", [{"t": "fact"}, compile_condition(rule.condition, layout)])
    return {"all": [{"m": body}]}


def test_key(leaf: Leaf) -> tuple[str, str, Any]:
    """A field test's identity, whatever rule and line it is written at."""
    return (leaf.field, leaf.op, leaf.value)


def leaf_pattern(leaf: Leaf, layout: Layout) -> dict[str, Any]:
    """One field test as an engine rule: it fires when the test holds (missing: false)."""
    return {"all": [{"m": _join("$and", [{"t": "fact"}, compile_leaf(leaf, layout, False)])}]}
