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

import itertools
import json
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import durable_rules_engine as engine

from ..contract.errors import LocatedError, RuleError
from ..rules.model import MAX_NESTING, Leaf, Rule, depth, leaves
from ..rules.reference import ReferenceData
from .encoder import FactEncoder
from .limits import MAX_ALTERNATIVES, alternatives
from .patterns import (
    Layout,
    leaf_pattern,
    pattern,
    test_key,
)

CACHE_SIZE = 50_000  # distinct signatures remembered; the stand-ins keep them few
SID = "0"  # the one session every fact goes through (asserted, then retracted)
RELEASE = "release"  # the `t` of the one fact the release rule reads (see release_rulesets)
_ruleset_names = itertools.count()


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
            found = self.run(fact)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[signature] = found
        return found

    def run(self, fact: dict[str, Any]) -> Fired:
        """What the engine fires for one engine fact, run now, remembered nowhere: for a
        caller that remembers outcomes itself in a smaller form (`screening.evaluate`
        numbers signatures; this cache's keys, every field and value of each fact, grew
        a batch's worker by ~25 MB over the 1M-line benchmark)."""
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


def compile_pack(rules: list[Rule], reference: ReferenceData) -> CompiledPack:
    # compiling recurses per level: a rule built in memory past the cap is refused here
    deep = [r for r in rules if depth(r.condition) > MAX_NESTING]
    if deep:
        problems = [
            LocatedError(r.location, f"rule {r.id}: conditions nest deeper than {MAX_NESTING} levels") for r in deep
        ]
        raise RuleError("rules nested too deep; nothing was compiled", problems)
    return CompiledPack(rules, reference)
