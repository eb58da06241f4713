"""The compiler for durable-rules: the only module that imports the engine.

Rules are compiled from data to the engine's JSON (never the decorator DSL) and driven
through the C extension directly, synchronously: assert a fact, run every action the
engine queued for it, retract it. The engine sees a flat fact holding only the values
the rules read; list and group memberships arrive precomputed as boolean flags.
Measured limits and pitfalls (engine-notes.md) shape the code:

- `$or` fires once per true branch: callers get a set of rule indices, never a count.
- a negation is pushed down to the leaves (the engine has no `not`); a missing value
  makes every comparison false, so a negated test on a nullable field also accepts
  "missing" (`$nex`).
- more than 64 sibling conditions true at once fail (error 303): rules are packed into
  several engine rulesets of at most 64 alternatives each, which also keeps clear of
  the 256-rules-sharing-a-condition crash and the 4096-rules limit.
- at most 15 `$or`/`$and` groups per pattern (error 113) and about 252 properties per
  fact (error 302): refused by `check_limits` with the rule's location.
- field names are compared by their 32-bit FNV-1a hash: collisions are refused.
- loose typing ("100" == 100) and a number parser that refuses exponents: numbers and
  dates reach the engine as small integer ranks among the rules' literals (`Layout`).
"""

from __future__ import annotations

import bisect
import itertools
import json
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import durable_rules_engine as engine

from ..contract.errors import LocatedError, Location, RuleError
from ..contract.facts import FIELDS, FieldType, encode_date
from ..rules.model import MAX_NESTING, Condition, Leaf, Rule, depth, leaves
from ..rules.reference import ReferenceData

MAX_ALTERNATIVES = 64  # siblings true at once per engine ruleset (error 303 above)
MAX_GROUPS = 15  # $or/$and groups in one pattern (error 113 above)
MAX_PROPERTIES = 240  # properties per fact; the engine fails above 252
CACHE_SIZE = 50_000  # distinct signatures remembered; the stand-ins keep them few
NEGATED = {"gt": "$lte", "gte": "$lt", "lt": "$gte", "lte": "$gt"}
NUMERIC_FIELDS = frozenset({FieldType.NUMBER, FieldType.DATE})
OTHER = "\u0000other"  # equal to no literal a rule can hold (text literals are printable)
POSITIVE = {"gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte"}
SID = "0"  # the one session every fact goes through (asserted, then retracted)
RELEASE = "release"  # the `t` of the one fact the release rule reads (see release_rulesets)
_ruleset_names = itertools.count()


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
            hs_code = values.get(name)
            if hs_code is not None:
                fact[key] = list_name in reference.lists_for(hs_code)
        for (name, group), key in self.group_flags.items():
            value = values.get(name)
            if value is None:
                continue
            countries = value if isinstance(value, list) else [value]
            fact[key] = any(group in reference.groups_for(c) for c in countries)
        return fact


def encode(name: str, value: Any) -> Any:
    """Normalise a value to the type the engine compares well (engine-notes: loose typing)."""
    if value is None:
        return None
    kind = FIELDS[name].type
    if kind is FieldType.DATE:
        return encode_date(value)
    if kind is FieldType.COUNTRY_LIST:
        return len(value) or None  # only `exists` and groups read a list
    if kind is FieldType.NUMBER:
        return float(value)  # exact: the engine sees ranks (Layout), never the number
    return value


def compile_leaf(leaf: Leaf, layout: Layout, negate: bool) -> dict[str, Any]:
    kind = FIELDS[leaf.field].type
    nullable = FIELDS[leaf.field].nullable or kind is FieldType.COUNTRY_LIST
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


def alternatives(cond: Any) -> int:
    """How many alternative paths (DNF terms) a compiled condition opens in the engine."""
    if isinstance(cond, dict) and "$or" in cond:
        return sum(alternatives(c) for c in cond["$or"])
    if isinstance(cond, dict) and "$and" in cond:
        total = 1
        for c in cond["$and"]:
            total *= alternatives(c)
        return total
    return 1


def groups(cond: Any) -> int:
    if isinstance(cond, dict) and ("$or" in cond or "$and" in cond):
        return 1 + sum(groups(c) for c in next(iter(cond.values())))
    return 0


def check_limits(rules: list[Rule]) -> list[LocatedError]:
    """Refuse what would cross the engine's limits, with each rule's location."""
    layout = Layout.for_rules(rules)
    errors: list[LocatedError] = []
    for rule in rules:
        body = pattern(rule, layout)["all"][0]["m"]
        paths, count = alternatives(body), groups(body)
        if paths > MAX_ALTERNATIVES:
            errors.append(LocatedError(rule.location, (
                f"rule {rule.id} expands to {paths} alternative paths; the engine allows "
                f"{MAX_ALTERNATIVES}: use a named list or country group instead of long `in` lists"
            )))  # fmt: skip
        if count > MAX_GROUPS:
            errors.append(LocatedError(rule.location, (
                f"rule {rule.id} has {count} all/any groups after compiling; the engine "
                f"allows {MAX_GROUPS}: split it into several rules"
            )))  # fmt: skip
    if len(layout.all_keys()) > MAX_PROPERTIES:
        where = rules[0].location if rules else Location("rules")
        errors.append(LocatedError(where, (
            f"the pack reads {len(layout.all_keys())} fact values and flags; the engine "
            f"allows {MAX_PROPERTIES} per fact"
        )))  # fmt: skip
    hashes: dict[int, str] = {fnv1a(k): k for k in ("t", "id", "sid")}
    for key in layout.all_keys():
        other = hashes.setdefault(fnv1a(key), key)
        if other != key and rules:
            message = f"engine field names {key!r} and {other!r} collide (32-bit hash)"
            errors.append(LocatedError(rules[0].location, message))
    return errors


class CompiledPack:
    """The rules compiled once per process into durable-rules rulesets; reuse it.

    The engine's rulesets live in C memory that Python does not see: dropping the pack
    (or `close`) deletes them, its session state first (deleting a ruleset alone keeps
    that state: about 0.3 MB a compile, measured in benchmarks/bench_compile_leak.py).
    """

    def __init__(self, rules: list[Rule], reference: ReferenceData) -> None:
        self.rules = rules
        self.reference = reference
        self.layout = Layout.for_rules(rules)
        self._handles: list[tuple[int, dict[str, tuple[bool, int]]]] = []
        self._cache: dict[tuple[Any, ...], Fired] = {}
        self._ids = itertools.count()
        # each distinct field test is also an engine rule of its own: which tests held is
        # the evidence of a rule that fired, read from the same evaluation (`Fired`)
        self.tests: list[Leaf] = list(
            {test_key(leaf): leaf for rule in rules for leaf in leaves(rule.condition)}.values()
        )
        self.test_index = {test_key(leaf): number for number, leaf in enumerate(self.tests)}
        compiled_rules = [(f"r{index}", pattern(rule, self.layout)) for index, rule in enumerate(rules)]
        compiled_rules += [(f"l{number}", leaf_pattern(leaf, self.layout)) for number, leaf in enumerate(self.tests)]
        chunks: list[dict[str, Any]] = []
        budget = MAX_ALTERNATIVES
        for name, compiled in compiled_rules:
            paths = alternatives(compiled["all"][0]["m"])
            if not chunks or budget < paths:
                chunks.append({})
                budget = MAX_ALTERNATIVES
            chunks[-1][name] = compiled
            budget -= paths
        created: list[int] = []
        # registered before the first ruleset exists, so a failure half-way releases it too
        self._release = weakref.finalize(self, release_rulesets, created)
        for chunk in chunks:
            name = f"customs_rules_{next(_ruleset_names)}"
            release_rule = {RELEASE: {"all": [{"m": {"t": RELEASE}}]}}  # never true for a fact
            handle = engine.create_ruleset(name, json.dumps(chunk | release_rule))
            created.append(handle)
            self._handles.append((handle, {n: (n[0] == "r", int(n[1:])) for n in chunk}))

        self.encoder = FactEncoder(self.layout, reference)  # the layout is complete now

    def engine_fact(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return self.encoder.fact(values)

    def close(self) -> None:
        """Delete the engine's rulesets now (dropping the pack does it too); no more `match`."""
        self._release()
        self._handles = []
        self._cache.clear()

    @property
    def released(self) -> bool:
        return not self._release.alive

    def match(self, values: Mapping[str, Any]) -> frozenset[int]:
        """Indices (into `rules`) of every rule whose condition holds for this fact."""
        return self.fired(self.engine_fact(values)).rules

    def fired(self, fact: dict[str, Any]) -> Fired:
        """What the engine fires for one engine fact (`engine_fact`): each distinct fact is
        run once; facts with the same signature fire the same rules. The encoder sets the
        keys in one fixed order, so the items are the signature."""
        signature = tuple(fact.items())
        found = self._cache.get(signature)
        if found is None:
            found = self._run(fact)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[signature] = found
        return found

    def _run(self, fact: dict[str, Any]) -> Fired:
        rules: set[int] = set()
        tests: set[int] = set()
        for handle, names in self._handles:
            message = dict(fact, t="fact", id=str(next(self._ids)), sid=SID)
            text = json.dumps(message)
            result = engine.assert_fact(handle, text)
            if result[0] != 0:  # 1: nothing matched, the fact was not stored
                continue
            try:
                started = engine.start_action_for_state(handle, result[1])
                # (state, message) first; then each completion returns the next message
                message_text = started[1] if started else None
                while message_text:
                    for name in json.loads(message_text):
                        is_rule, number = names[name]
                        (rules if is_rule else tests).add(number)
                    message_text = engine.complete_and_start_action(handle, result[1])
            finally:
                engine.retract_fact(handle, text)
        return Fired(frozenset(rules), frozenset(tests))

    def holding(self, fired: Fired) -> dict[tuple[str, str, Any], bool]:
        """Whether each field test of the pack held, by `test_key`."""
        return {test_key(leaf): number in fired.tests for number, leaf in enumerate(self.tests)}


@dataclass(frozen=True)
class Fired:
    """What one engine fact fired: the rules (indices into the pack's rules) and the field
    tests (indices into `CompiledPack.tests`) that held."""

    rules: frozenset[int]
    tests: frozenset[int]


def test_key(leaf: Leaf) -> tuple[str, str, Any]:
    """A field test's identity, whatever rule and line it is written at."""
    return (leaf.field, leaf.op, leaf.value)


def leaf_pattern(leaf: Leaf, layout: Layout) -> dict[str, Any]:
    """One field test as an engine rule: it fires when the test holds (missing: false)."""
    return {"all": [{"m": _join("$and", [{"t": "fact"}, compile_leaf(leaf, layout, False)])}]}


def release_rulesets(handles: list[int]) -> None:
    """Free what the engine holds for these rulesets (a finalizer: it must not see the pack).

    `delete_state` frees a session's action context, which the engine leaves
    uninitialised until an action has run (freeing garbage: a segfault). So the release
    fact first fires the release rule and the action is completed, which leaves the
    context empty; only then are the state and the ruleset deleted.
    """
    for handle in handles:
        text = json.dumps({"t": RELEASE, "id": RELEASE, "sid": SID})
        result = engine.assert_fact(handle, text)
        if engine.start_action_for_state(handle, result[1]):
            while engine.complete_and_start_action(handle, result[1]):
                pass
        engine.retract_fact(handle, text)
        engine.delete_state(handle, SID)
        engine.delete_ruleset(handle)
    handles.clear()


class FactEncoder:
    """`Layout.engine_fact`, prepared once per pack: a batch encodes millions of facts.

    Each field the rules read gets its stand-in through a small memo (the values rules
    can tell apart are few), and a goods code's lists or a country's groups are looked
    up once per fact, not once per flag. Keys are set in the layout's order, always the
    same, so equal facts give equal item sequences. A test keeps it equal to the layout's
    plain definition.
    """

    MEMO = 4096  # values remembered per field before its memo starts afresh

    def __init__(self, layout: Layout, reference: ReferenceData) -> None:
        self.layout, self.reference = layout, reference
        self.fields: list[tuple[str, str, dict[Any, Any]]] = [(name, key, {}) for name, key in layout.fields.items()]
        self.lists: dict[str, list[tuple[str, str]]] = {}
        for (name, list_name), key in layout.list_flags.items():
            self.lists.setdefault(name, []).append((list_name, key))
        self.groups: dict[str, list[tuple[str, str]]] = {}
        for (name, group), key in layout.group_flags.items():
            self.groups.setdefault(name, []).append((group, key))

    def sources(self) -> list[str]:
        """The facts the engine's view is made of, each once, in the layout's order."""
        names = [name for name, _, _ in self.fields]
        return list(dict.fromkeys([*names, *self.lists, *self.groups]))

    def part(self, name: str, value: Any) -> tuple[tuple[str, Any], ...]:
        """The engine keys that fact `name` holding `value` gives, with their values: the
        pieces `fact` is made of, computed once per distinct value by the set core."""
        found: dict[str, Any] = {}
        for field_name, key, _ in self.fields:
            if field_name == name and value is not None:
                encoded = encode(name, value)
                if encoded is not None:
                    found[key] = self.layout.canonical(name, encoded)
        if value is not None and name in self.lists:
            lists = self.reference.lists_for(value)
            found |= {key: list_name in lists for list_name, key in self.lists[name]}
        if value is not None and name in self.groups:
            countries = value if isinstance(value, list) else [value]
            found_groups = set().union(*(self.reference.groups_for(c) for c in countries))
            found |= {key: group in found_groups for group, key in self.groups[name]}
        return tuple(found.items())

    def fact(self, values: Mapping[str, Any]) -> dict[str, Any]:
        fact: dict[str, Any] = {}
        for name, key, memo in self.fields:
            value = values.get(name)
            if value is None:
                continue
            # by type too: 1 == True, and a memo must not hand one for the other
            memo_key = (value.__class__, value) if value.__class__ is not list else (list, len(value))
            stand_in = memo.get(memo_key, memo)
            if stand_in is memo:
                encoded = encode(name, value)
                stand_in = None if encoded is None else self.layout.canonical(name, encoded)
                if len(memo) >= self.MEMO:
                    memo.clear()
                memo[memo_key] = stand_in
            if stand_in is not None:
                fact[key] = stand_in
        for name, flags in self.lists.items():
            hs_code = values.get(name)
            if hs_code is not None:
                lists = self.reference.lists_for(hs_code)
                for list_name, key in flags:
                    fact[key] = list_name in lists
        for name, flags in self.groups.items():
            value = values.get(name)
            if value is None:
                continue
            countries = value if isinstance(value, list) else [value]
            found = set().union(*(self.reference.groups_for(c) for c in countries))
            for group, key in flags:
                fact[key] = group in found
        return fact


def compile_pack(rules: list[Rule], reference: ReferenceData) -> CompiledPack:
    # compiling recurses per level: a rule built in memory past the cap is refused here
    deep = [r for r in rules if depth(r.condition) > MAX_NESTING]
    if deep:
        problems = [
            LocatedError(r.location, f"rule {r.id}: conditions nest deeper than {MAX_NESTING} levels") for r in deep
        ]
        raise RuleError("rules nested too deep; nothing was compiled", problems)
    return CompiledPack(rules, reference)
