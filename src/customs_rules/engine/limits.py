"""What the engine accepts of a rule, checked before it ever sees one: at most 64 sibling
conditions true at once (error 303), 15 `$or`/`$and` groups per pattern (error 113) and
about 252 properties per fact (error 302), and no two field names with one FNV-1a hash
(the errors are those of the list in compiler.py's docstring)."""

from __future__ import annotations

from typing import Any

from ..contract.errors import LocatedError, Location
from ..rules.model import Rule
from .patterns import Layout, fnv1a, pattern

MAX_ALTERNATIVES = 64  # siblings true at once per engine ruleset (error 303 above)


MAX_GROUPS = 15  # $or/$and groups in one pattern (error 113 above)


MAX_PROPERTIES = 240  # properties per fact; the engine fails above 252


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
