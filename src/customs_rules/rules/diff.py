"""What changes between two rule packs: rules added, removed and changed (and, for a
changed rule, which of its fields), the policy's values, and the reference lists.

Rules are matched by id, whatever file holds them: a rule moved to another file, or
whose YAML was only re-indented, is unchanged. Conditions and examples compare as
parsed (an `in` list written on one line or several is the same condition).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .model import Condition, Leaf, Rule, RulePack

FIELDS = ("title", "description", "status", "action", "score", "family", "references", "valid_from",
          "valid_until", "conditions", "examples")  # fmt: skip
LISTS = "lists/"


@dataclass(frozen=True)
class RuleChange:
    rule_id: str
    fields: tuple[str, ...]
    before: dict[str, Any]  # the changed fields' values, as JSON
    after: dict[str, Any]


@dataclass(frozen=True)
class PolicyChange:
    path: str  # `thresholds.hold`, `floors.drones-ru-by`
    before: Any  # None: not set
    after: Any


@dataclass
class PackDiff:
    old_version: str
    new_version: str
    added: list[dict[str, Any]] = field(default_factory=list)  # rule summaries
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[RuleChange] = field(default_factory=list)
    policy: list[PolicyChange] = field(default_factory=list)
    lists: dict[str, list[str]] = field(default_factory=dict)  # added / removed / changed file names

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.policy or any(self.lists.values()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.old_version, "to": self.new_version, "added": self.added, "removed": self.removed,
            "changed": [{"id": c.rule_id, "fields": list(c.fields), "before": c.before, "after": c.after}
                        for c in self.changed],
            "policy": [{"path": p.path, "before": p.before, "after": p.after} for p in self.policy],
            "lists": self.lists,
        }  # fmt: skip


def diff_packs(old: RulePack, new: RulePack) -> PackDiff:
    """The differences from `old` to `new`, rules in id order."""
    before = {r.id: r for r in old.rules}
    after = {r.id: r for r in new.rules}
    result = PackDiff(old.version, new.version)
    result.added = [summary(after[i]) for i in sorted(after.keys() - before.keys())]
    result.removed = [summary(before[i]) for i in sorted(before.keys() - after.keys())]
    for rule_id in sorted(before.keys() & after.keys()):
        one, other = rule_fields(before[rule_id]), rule_fields(after[rule_id])
        changed = tuple(name for name in FIELDS if one[name] != other[name])
        if changed:
            result.changed.append(
                RuleChange(rule_id, changed, {n: one[n] for n in changed}, {n: other[n] for n in changed})
            )
    result.policy = [PolicyChange(p, b, a) for p, b, a in _mapping_changes(plain(old.policy_doc),
                                                                            plain(new.policy_doc))]  # fmt: skip
    old_lists = {n: t for n, t in old.contents.items() if n.startswith(LISTS)}
    new_lists = {n: t for n, t in new.contents.items() if n.startswith(LISTS)}
    result.lists = {
        "added": sorted(new_lists.keys() - old_lists.keys()),
        "removed": sorted(old_lists.keys() - new_lists.keys()),
        "changed": sorted(n for n in old_lists.keys() & new_lists.keys() if old_lists[n] != new_lists[n]),
    }
    return result


def summary(rule: Rule) -> dict[str, Any]:
    return {"id": rule.id, "status": rule.status.value, "action": rule.action.value, "score": rule.score,
            "title": rule.title}  # fmt: skip


def rule_fields(rule: Rule) -> dict[str, Any]:
    """A rule's compared fields as JSON values (no lines, no file)."""
    return {
        "title": rule.title, "description": rule.description, "status": rule.status.value,
        "action": rule.action.value, "score": rule.score, "family": rule.family,
        "references": list(rule.references), "valid_from": _day(rule.valid_from),
        "valid_until": _day(rule.valid_until), "conditions": condition_json(rule.condition),
        "examples": [{"fire": e.expect_fire, "facts": plain(e.facts)} for e in rule.examples],
    }  # fmt: skip


def condition_json(condition: Condition) -> Any:
    """A condition as the YAML wrote it, without its lines: `{"all": [...]}` or a test."""
    if isinstance(condition, Leaf):
        value = list(condition.value) if isinstance(condition.value, tuple) else plain(condition.value)
        return {"field": condition.field, condition.op: value}
    children = [condition_json(c) for c in condition.children]
    return {condition.kind: children[0] if condition.kind == "not" else children}


def plain(value: Any) -> Any:
    """YAML values (line-keeping mappings and lists, dates) as plain JSON values."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _day(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _mapping_changes(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """Leaf paths whose values differ; a value that is not a mapping on both sides is
    compared whole."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return [] if old == new else [(prefix, old, new)]
    found = []
    for key in sorted(old.keys() | new.keys()):
        path = f"{prefix}.{key}" if prefix else key
        found += _mapping_changes(old.get(key), new.get(key), path)
    return found
