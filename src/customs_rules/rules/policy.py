"""The decision policy: findings in, hold / inspect / release out (design.md §6).

The policy is a data file (`rules/policy.yaml`): score thresholds, and per-rule floor
overrides. A rule's action is its floor; each rule counts once per declaration; the
score is the sum over distinct rules; `hold` > `inspect` > `release`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..contract.choices import DECISIONS, LEVELS
from ..contract.errors import LocatedError, Location
from ..entities.links import DEFAULT_DEPTH, MAX_DEPTH
from ..entities.names import DEFAULT_THRESHOLD
from .model import POLICY_FILE, RulePack
from .selection import RULE_ID, SECTION, selection_problems, share_of
from .yamlfile import line_of

DEFAULT_REGISTRY_AGE = 30  # days
MAX_REGISTRY_AGE = 3650


@dataclass(frozen=True)
class Policy:
    inspect_at: float = 40.0
    hold_at: float = 100.0
    floors: dict[str, str] = field(default_factory=dict)
    link_depth: int = DEFAULT_DEPTH  # the longest registry path that links two parties
    name_threshold: float = DEFAULT_THRESHOLD  # names (companies, people, watchlist) match from this score
    registry_max_age_days: int = DEFAULT_REGISTRY_AGE  # older than this, a run warns that the registry is stale
    random_share: float = 0.0  # the share of released declarations selected at random (rules/selection.py)

    def floor(self, rule_id: str, action: str) -> str:
        return self.floors.get(rule_id, action)

    def decide(
        self, findings: Iterable[tuple[str, str, float]], caps: Mapping[str, str] | None = None
    ) -> tuple[str, float]:
        """(rule_id, action, score) of counting findings, one per rule -> (decision, score).
        `caps`: per rule, the highest floor a trusted trader or a snooze leaves it
        (`rules.allowances`), over the policy's own floor too."""
        level = 0
        score = 0.0
        for rule_id, action, rule_score in findings:
            floor = LEVELS[self.floor(rule_id, action)]
            if caps and rule_id in caps:
                floor = min(floor, LEVELS[caps[rule_id]])
            level = max(level, floor)
            score += rule_score
        if score >= self.hold_at:
            level = max(level, LEVELS["hold"])
        elif score >= self.inspect_at:
            level = max(level, LEVELS["inspect"])
        return DECISIONS[level], score


def policy_problems(pack: RulePack) -> list[LocatedError]:
    doc = pack.policy_doc
    source = str(pack.directory.name + "/" + POLICY_FILE)
    if not doc:
        return [LocatedError(Location(source), "missing policy file (thresholds and floors)")]
    if not isinstance(doc, dict):
        return [LocatedError(Location(source, line_of(doc)), "the policy must be a mapping")]
    errors = []
    sections: dict[str, dict[str, Any]] = {}
    for key in ("thresholds", "floors"):
        section = doc.get(key) or {}
        if isinstance(section, dict):
            sections[key] = section
        else:  # reported, and the other sections are still checked
            where = Location(source, line_of(doc, key), field=key)
            errors.append(LocatedError(where, f"{key} must be a mapping (name: value)"))
    if "thresholds" in sections:
        errors += _threshold_problems(doc, sections["thresholds"], source)
    ids = {r.id for r in pack.rules}
    for rule_id, level in sections.get("floors", {}).items():
        where = Location(source, line_of(sections["floors"], rule_id), field=f"floors.{rule_id}")
        if rule_id not in ids:
            errors.append(LocatedError(where, f"floor for unknown rule {rule_id!r}"))
        if level not in LEVELS:
            errors.append(LocatedError(where, f"floor must be one of {', '.join(LEVELS)}"))
    errors += _links_problems(doc, source) + _names_problems(doc, source) + _registry_problems(doc, source)
    errors += selection_problems(doc, source)
    if SECTION in doc and RULE_ID in ids:  # the selection's finding would pass for the rule's
        where = Location(source, line_of(doc, SECTION), field=SECTION)
        errors.append(LocatedError(where, f"rule id {RULE_ID!r} is taken by random selection: rename the rule"))
    unknown = set(doc) - {"kind", "thresholds", "floors", "description", "links", "names", "registry", SECTION}
    for key in sorted(unknown):
        errors.append(LocatedError(Location(source, line_of(doc, key), field=key), "unknown key"))
    return errors


def _threshold_problems(doc: dict[str, Any], thresholds: dict[str, Any], source: str) -> list[LocatedError]:
    errors = []
    for key in ("inspect", "hold"):
        value = thresholds.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            where = Location(source, line_of(doc, "thresholds"), field=f"thresholds.{key}")
            errors.append(LocatedError(where, "threshold must be a number > 0"))
    if not errors and thresholds["inspect"] > thresholds["hold"]:
        where = Location(source, line_of(doc, "thresholds"), field="thresholds")
        errors.append(LocatedError(where, "the inspect threshold is above the hold threshold"))
    return errors


def _links_problems(doc: dict[str, Any], source: str) -> list[LocatedError]:
    def valid(depth: Any) -> bool:
        return not isinstance(depth, bool) and isinstance(depth, int) and 1 <= depth <= MAX_DEPTH

    return _one_key_problems(doc, source, "links", "depth", valid, f"a whole number from 1 to {MAX_DEPTH}")


def _names_problems(doc: dict[str, Any], source: str) -> list[LocatedError]:
    def valid(value: Any) -> bool:
        return not isinstance(value, bool) and isinstance(value, int | float) and 0.5 <= value <= 1

    return _one_key_problems(doc, source, "names", "threshold", valid, "a score from 0.5 to 1.0")


def _registry_problems(doc: dict[str, Any], source: str) -> list[LocatedError]:
    def valid(days: Any) -> bool:
        return not isinstance(days, bool) and isinstance(days, int) and 1 <= days <= MAX_REGISTRY_AGE

    expected = f"a whole number of days from 1 to {MAX_REGISTRY_AGE}"
    return _one_key_problems(doc, source, "registry", "max_age_days", valid, expected)


def _one_key_problems(
    doc: dict[str, Any], source: str, section: str, key: str, valid: Callable[[Any], bool], expected: str
) -> list[LocatedError]:
    """An optional section of the policy holding one setting, e.g. `links: {depth: 2}`."""
    settings = doc.get(section)
    if settings is None:
        return []
    if not isinstance(settings, dict) or set(settings) - {key}:
        where = Location(source, line_of(doc, section), field=section)
        return [LocatedError(where, f"{section} takes one key: {key}")]
    value = settings.get(key)
    if not valid(value):
        where = Location(source, line_of(settings, key), field=f"{section}.{key}")
        return [LocatedError(where, f"{key} must be {expected}, got {value!r}")]
    return []


def policy_from(doc: dict[str, Any]) -> Policy:
    thresholds = doc.get("thresholds") or {}
    return Policy(
        inspect_at=float(thresholds.get("inspect", 40)),
        hold_at=float(thresholds.get("hold", 100)),
        floors={str(k): str(v) for k, v in (doc.get("floors") or {}).items()},
        link_depth=int((doc.get("links") or {}).get("depth", DEFAULT_DEPTH)),
        name_threshold=float((doc.get("names") or {}).get("threshold", DEFAULT_THRESHOLD)),
        registry_max_age_days=int((doc.get("registry") or {}).get("max_age_days", DEFAULT_REGISTRY_AGE)),
        random_share=share_of(doc),
    )
