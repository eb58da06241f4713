"""The rule model: rules, their conditions and examples, and the pack they come in.

The YAML rule files become these objects in `loader`; `validators` checks them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from ..contract.errors import Location
from .reference import ReferenceData

RULE_KEYS = {
    "id", "title", "description", "status", "action", "score", "family", "references",
    "valid_from", "valid_until", "author", "tags", "conditions", "examples", "waivable",
}  # fmt: skip
REQUIRED_KEYS = ("id", "title", "description", "status", "action", "score", "conditions")
COMPARISONS = ("equals", "not_equals", "gt", "gte", "lt", "lte")
SET_OPS = ("in", "not_in")
LIST_OPS = ("in_list", "not_in_list")
GROUP_OPS = ("in_group", "not_in_group")
OPERATORS = (*COMPARISONS, *SET_OPS, *LIST_OPS, *GROUP_OPS, "exists")
POLICY_FILE = "policy.yaml"
MAX_NESTING = 32  # all/any/not levels in one rule's conditions


class Status(StrEnum):
    ACTIVE = "active"
    TEST = "test"
    RETIRED = "retired"


class Action(StrEnum):
    HOLD = "hold"
    INSPECT = "inspect"


@dataclass(frozen=True)
class Leaf:
    """`field` compared by `op` with `value` (a scalar, or a tuple for in/not_in/lists)."""

    field: str
    op: str
    value: Any
    line: int | None = None  # where the test starts (its `field`)
    op_line: int | None = None  # where its operator and value are


@dataclass(frozen=True)
class Node:
    """`all` / `any` over children, or `not` over exactly one child."""

    kind: str
    children: tuple[Condition, ...]
    line: int | None = None


Condition = Leaf | Node


@dataclass(frozen=True)
class Example:
    expect_fire: bool
    facts: dict[str, Any]
    line: int | None = None


@dataclass
class Rule:
    id: str
    title: str
    description: str
    status: Status
    action: Action
    score: float
    condition: Condition
    family: str = ""
    references: tuple[str, ...] = ()
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    examples: tuple[Example, ...] = ()
    source: str = ""
    line: int | None = None
    waivable: bool = True  # false: no trusted-trader entry or snooze may lower or waive it (rules/allowlist.py)
    broken: bool = False  # parsed with errors: kept only so the validators can check the rest

    @property
    def location(self) -> Location:
        return Location(self.source, self.line)

    def in_force(self, at: dt.datetime) -> bool:
        """Validity is checked against the time of screening, not the declaration's date
        (a backtest asks `valid_on` each declaration's date)."""
        return self.valid_on(at.date())

    def valid_on(self, day: dt.date) -> bool:
        """In force on this day: within `valid_from`..`valid_until`, both included."""
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_until and day > self.valid_until)

    def fields(self) -> set[str]:
        return {leaf.field for leaf in leaves(self.condition)}

    @property
    def item_level(self) -> bool:
        return any(f.startswith("item.") for f in self.fields())


@dataclass
class RulePack:
    """A whole rule set: rules, reference data and policy, under one content version."""

    rules: list[Rule]
    reference: ReferenceData
    policy_doc: dict[str, Any]
    directory: Path
    contents: dict[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.contents):
            digest.update(name.encode() + b"\0" + self.contents[name].encode() + b"\0")
        return f"sha256:{digest.hexdigest()}"

    def evaluated(self) -> list[Rule]:
        """Rules the engine runs: active and test ones (retired ones are kept, never run)."""
        return [r for r in self.rules if r.status is not Status.RETIRED]


def leaves(condition: Condition) -> list[Leaf]:
    """The field tests of a condition, in order (iterative: any depth is safe)."""
    found: list[Leaf] = []
    stack: list[Condition] = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, Leaf):
            found.append(node)
        else:
            stack.extend(reversed(node.children))
    return found


def depth(condition: Condition) -> int:
    """How many all/any/not levels a condition nests (iterative: any depth is safe)."""
    deepest = 0
    stack: list[tuple[Condition, int]] = [(condition, 0)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, Node):
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in node.children)
    return deepest
