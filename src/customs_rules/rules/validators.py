"""Validators of a parsed rule pack, apart from parsing (as in pySigma).

Each validator takes the pack and returns located errors; `validate_pack` runs them all
so an analyst sees every problem at once.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
from collections.abc import Callable
from typing import Any

from ..contract.codes import normalize_country, normalize_hs
from ..contract.errors import LocatedError, Location
from ..contract.facts import FIELDS, FieldType
from ..contract.models import DATE_FORMAT
from ..engine.limits import check_limits
from .model import COMPARISONS, GROUP_OPS, LIST_OPS, MAX_NESTING, SET_OPS, Leaf, Rule, RulePack, depth, leaves
from .policy import policy_problems
from .yamlfile import line_of

T = FieldType
ALLOWED_OPS: dict[FieldType, set[str]] = {
    T.TEXT: {*COMPARISONS[:2], *SET_OPS, "exists"},
    T.COUNTRY: {*COMPARISONS[:2], *SET_OPS, *GROUP_OPS, "exists"},
    T.COUNTRY_LIST: {*GROUP_OPS, "exists"},
    T.HS: {*COMPARISONS[:2], *SET_OPS, *LIST_OPS, "exists"},
    T.NUMBER: {*COMPARISONS, *SET_OPS, "exists"},
    T.DATE: {*COMPARISONS, "exists"},
    T.BOOL: {*COMPARISONS[:2], "exists"},
    T.TEXT_LIST: {*LIST_OPS, "exists"},
}


def validate_pack(pack: RulePack) -> list[LocatedError]:
    """Every validator's errors, and the engine limits of every sound rule, in one run."""
    if not pack.directory.is_dir():
        return []  # parsing already said the directory is missing
    errors: list[LocatedError] = []
    for check in VALIDATORS:
        errors += check(pack)
    # the engine-limit check compiles conditions: only those without errors of their own
    return errors + check_limits([r for r in pack.evaluated() if sound(r, pack)])


def sound(rule: Rule, pack: RulePack) -> bool:
    """Parsed whole, not nested too deep, and every field test fits its field."""
    if rule.broken or depth(rule.condition) > MAX_NESTING:
        return False
    return all(leaf_problem(leaf, pack) is None for leaf in leaves(rule.condition))


def nesting(pack: RulePack) -> list[LocatedError]:
    """Rules built in memory (files are checked as they are parsed) nest at most MAX_NESTING
    levels: the compiler and the evaluators walk conditions recursively."""
    errors = []
    for rule in pack.rules:
        levels = depth(rule.condition)
        if levels > MAX_NESTING:
            message = f"rule {rule.id}: conditions nest {levels} all/any/not levels; at most {MAX_NESTING}"
            errors.append(LocatedError(rule.location, message))
    return errors


def duplicate_ids(pack: RulePack) -> list[LocatedError]:
    seen: dict[str, Rule] = {}
    errors = []
    for rule in pack.rules:
        if not rule.id:
            continue  # its missing id is already reported
        first = seen.setdefault(rule.id, rule)
        if first is not rule:
            message = f"duplicate rule id {rule.id!r} (first defined at {first.location})"
            errors.append(LocatedError(rule.location, message))
    return errors


def conditions(pack: RulePack) -> list[LocatedError]:
    errors = []
    for rule in pack.rules:
        for leaf in leaves(rule.condition):
            problem = leaf_problem(leaf, pack)
            if problem:
                line = leaf.line if leaf.field not in FIELDS else leaf.op_line
                where = Location(rule.source, line, field=leaf.field)
                errors.append(LocatedError(where, f"rule {rule.id}: {problem}"))
    return errors


def leaf_problem(leaf: Leaf, pack: RulePack) -> str | None:
    """What is wrong with one field test, or None."""
    spec = FIELDS.get(leaf.field)
    if spec is None:
        close = difflib.get_close_matches(leaf.field, FIELDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else " (see `customs-rules rules fields`)"
        return f"unknown field {leaf.field!r}{hint}"
    if leaf.op not in ALLOWED_OPS[spec.type]:
        allowed = ", ".join(sorted(ALLOWED_OPS[spec.type]))
        return f"operator {leaf.op!r} does not fit {spec.type} field {leaf.field} (allowed: {allowed})"
    if leaf.op in LIST_OPS and spec.type is T.TEXT_LIST:
        unknown = [n for n in leaf.value if n not in pack.reference.keyword_lists]
        known = ", ".join(sorted(pack.reference.keyword_lists)) or "none"
        return f"unknown keyword list {unknown[0]!r} (keyword lists: {known})" if unknown else None
    if leaf.op in LIST_OPS:
        unknown = [n for n in leaf.value if n not in pack.reference.hs_lists]
        known = ", ".join(sorted(pack.reference.hs_lists))
        return f"unknown list {unknown[0]!r} (lists: {known})" if unknown else None
    if leaf.op in GROUP_OPS:
        unknown = [n for n in leaf.value if n not in pack.reference.country_groups]
        known = ", ".join(sorted(pack.reference.country_groups))
        return f"unknown country group {unknown[0]!r} (groups: {known})" if unknown else None
    if leaf.op == "exists":
        return None
    values = leaf.value if isinstance(leaf.value, tuple) else (leaf.value,)
    for value in values:
        problem = value_problem(spec.type, value)
        if problem:
            return f"{leaf.op} {value!r}: {problem}"
    return None


def value_problem(kind: FieldType, value: Any, strict: bool = True) -> str | None:
    """Whether a literal fits a field's type (the engine's typing is loose, ours is not);
    `strict` (rules, not their examples) asks for the canonical form: RU, not ru."""
    if kind is T.BOOL:
        return None if isinstance(value, bool) else "expected true or false"
    if kind is T.NUMBER:
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            return "expected a number"
        return None
    checks: dict[FieldType, Callable[[str], Any]] = {
        T.COUNTRY: normalize_country,
        T.HS: normalize_hs,
        T.DATE: _iso_date,
    }
    if not isinstance(value, str):
        return "expected a text value (quote it in YAML)"
    check = checks.get(kind)
    if check is not None:
        try:
            canonical = check(value)
        except ValueError as exc:
            return str(exc)
        if strict and kind is not T.DATE and canonical != value:
            return f"write it as {canonical!r}"
    return None


def _iso_date(value: str) -> str:
    # Python also reads 20220224 and 2022-W08-4 as dates; rules and facts write YYYY-MM-DD
    if not DATE_FORMAT.fullmatch(value):
        raise ValueError(f"date {value!r} must be written YYYY-MM-DD")
    return dt.date.fromisoformat(value).isoformat()


def examples(pack: RulePack) -> list[LocatedError]:
    errors = []
    for rule in pack.rules:
        for example in rule.examples:
            for name, value in example.facts.items():
                spec = FIELDS.get(name)
                where = Location(rule.source, example.line, field=name)
                if spec is None:
                    errors.append(LocatedError(where, f"rule {rule.id}: example sets unknown field {name!r}"))
                elif value is not None and spec.type is T.COUNTRY_LIST:
                    bad = [v for v in value if value_problem(T.COUNTRY, v)] if isinstance(value, list) else [value]
                    if bad:
                        errors.append(LocatedError(where, f"rule {rule.id}: expected a list of countries"))
                elif value is not None and spec.type is T.TEXT_LIST:
                    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                        errors.append(LocatedError(where, f"rule {rule.id}: expected a list of keyword list names"))
                    elif unknown := [v for v in value if v not in pack.reference.keyword_lists]:
                        message = f"rule {rule.id}: example names unknown keyword list {unknown[0]!r}"
                        errors.append(LocatedError(where, message))
                elif value is not None and (problem := value_problem(spec.type, value, False)):
                    errors.append(LocatedError(where, f"rule {rule.id}: example value {value!r}: {problem}"))
    return errors


def policy(pack: RulePack) -> list[LocatedError]:
    return policy_problems(pack)


def weak_evidence(pack: RulePack) -> list[LocatedError]:
    """A rule reading weak evidence (initials, a shared address) must not hold on its own:
    not by its action, not by its score, not by a policy floor."""
    doc = pack.policy_doc if isinstance(pack.policy_doc, dict) else {}
    thresholds = _mapping(doc.get("thresholds"))
    floors = _mapping(doc.get("floors"))
    hold_at = thresholds.get("hold")
    errors = []
    for rule in pack.evaluated():
        weak = sorted(f for f in rule.fields() if f in FIELDS and FIELDS[f].weak)
        if not weak:
            continue
        why = f"rule {rule.id} reads weak evidence ({', '.join(weak)}), which must never hold on its own"
        if rule.action == "hold":
            errors.append(LocatedError(Location(rule.source, rule.line, field="action"), f"{why}: use inspect"))
        if isinstance(hold_at, int | float) and not isinstance(hold_at, bool) and rule.score >= hold_at:
            problem = f"{why}: its score must stay below the hold threshold {hold_at:g}"
            errors.append(LocatedError(Location(rule.source, rule.line, field="score"), problem))
        if floors.get(rule.id) == "hold":
            where = Location(f"{pack.directory.name}/policy.yaml", line_of(floors, rule.id), field=f"floors.{rule.id}")
            errors.append(LocatedError(where, f"{why}: no hold floor"))
    return errors


def _mapping(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def summable_scores(pack: RulePack) -> list[LocatedError]:
    """A decision's score is the sum of its rules' scores: scores each finite but too big
    to add up would make it infinite (and every output say "Infinity")."""
    running = 0.0
    for rule in pack.evaluated():
        running += rule.score
        if not math.isfinite(running):
            problem = "the rule scores add up past the largest number a decision's score can hold (about 1.8e308)"
            return [LocatedError(Location(rule.source, rule.line, field="score"), problem)]
    return []


VALIDATORS: list[Callable[[RulePack], list[LocatedError]]] = [
    nesting,
    duplicate_ids,
    conditions,
    examples,
    policy,
    weak_evidence,
    summable_scores,
]
