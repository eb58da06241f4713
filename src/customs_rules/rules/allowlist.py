"""Trusted traders: the allow-list (an AEO list) kept beside the rules, in `rules/lists/`.

    kind: trusted_traders
    source: State Revenue Committee, register of authorised economic operators
    entries:
      - company_id: "100140000003"          # the id a declared party is matched on
        name: Steppe Grain LLP              # for people (evidence); never matched alone
        country: KZ
        valid_from: "2024-01-01"            # checked against the declaration's date
        valid_until: "2026-12-31"           # optional
        reference: AEO certificate KZ/AEO/2024/0017
        roles: [exporter]                   # optional: exporter, consignee (default both)
        rules:
          profile-new-company: waive                          # counts nothing
          linked-parties-listed-goods: {action: release, score: 20}   # counts at most this

An entry lowers or waives the named rules' findings on a declaration whose party (in one
of `roles`) has the entry's id, declared or as the registry resolved it, and whose date
lies in the entry's validity. The finding stays in the decision, its evidence saying why
(`rules.allowances`). Rules marked `waivable: false` cannot be named (sanctions and the
watchlist). The file is part of the pack, so of the rule-set version.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..contract.choices import LEVELS
from ..contract.codes import normalize_country
from ..contract.errors import LocatedError, Location
from ..contract.input_text import control_problem
from ..entities.persons import normalize_id
from .yamlfile import line_of

KIND = "trusted_traders"
ROLES = ("exporter", "consignee")
ENTRY_KEYS = {"company_id", "name", "country", "valid_from", "valid_until", "reference", "roles", "rules"}
WAIVE = "waive"


@dataclass(frozen=True)
class Lowering:
    """What a finding of one rule counts at most: `action` (release, inspect or hold: its
    floor) and `score`; None keeps the rule's own. Waived: release and 0."""

    action: str | None = None
    score: float | None = None

    @property
    def waived(self) -> bool:
        return self.action == "release" and self.score == 0


WAIVED = Lowering("release", 0.0)


@dataclass(frozen=True)
class TrustedTrader:
    company_id: str  # normalised (persons.normalize_id)
    name: str
    country: str | None
    valid_from: dt.date
    valid_until: dt.date | None
    reference: str
    roles: tuple[str, ...]
    rules: dict[str, Lowering]
    source: str  # "rules/lists/trusted_traders.yaml:12"
    line: int | None = None
    rule_lines: dict[str, int | None] | None = None
    broken: bool = False  # parsed with errors: only checked, never applied (the pack is refused)

    def in_force(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def evidence(self) -> dict[str, Any]:
        return {
            "company_id": self.company_id,
            "name": self.name,
            "reference": self.reference,
            "valid_from": self.valid_from.isoformat(),
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "list": self.source,
        }


def load_trusted_traders(doc: dict[str, Any], display: str) -> tuple[list[TrustedTrader], list[LocatedError]]:
    """The entries of one `trusted_traders` document, every bad one a located error.
    Rule ids are checked against the pack by `trusted_trader_problems`."""
    entries = doc.get("entries")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        return [], [LocatedError(Location(display, line_of(doc, "entries"), field="entries"), "entries must be a list")]
    found: list[TrustedTrader] = []
    errors: list[LocatedError] = []
    for number, entry in enumerate(entries, start=1):
        trader, problems = _entry(entry, display, number)
        errors += problems
        if trader is not None:
            found.append(trader)
    return found, errors


def _entry(entry: Any, display: str, number: int) -> tuple[TrustedTrader | None, list[LocatedError]]:
    line = line_of(entry)
    errors: list[LocatedError] = []

    def err(key: str | None, message: str, at: int | None = None) -> None:
        where = at if at is not None else (line_of(entry, key) if key else line) or line
        errors.append(LocatedError(Location(display, where, field=f"entries[{number}]" + (f".{key}" if key else "")),
                                   message))  # fmt: skip

    if not isinstance(entry, dict):
        err(None, "an entry must be a mapping (company_id, valid_from, reference, rules...)")
        return None, errors
    for key in sorted(set(entry) - ENTRY_KEYS, key=str):
        err(str(key), f"unknown key {key!r}; entry keys are: {', '.join(sorted(ENTRY_KEYS))}")
    company_id = _text(entry, "company_id", err, required=True)
    normalised = normalize_id(company_id) if company_id else None
    if company_id and (not normalised or not normalised.isascii()):
        err("company_id", f"company_id {company_id!r} must be letters and digits (a BIN, INN...)")
    name = _text(entry, "name", err) or ""
    reference = _text(entry, "reference", err, required=True)
    country = None
    if entry.get("country") not in (None, ""):
        try:
            country = normalize_country(str(entry["country"]))
        except ValueError as exc:
            err("country", str(exc))
    valid_from = _date(entry, "valid_from", err, required=True)
    valid_until = _date(entry, "valid_until", err)
    if valid_from and valid_until and valid_until < valid_from:
        err("valid_until", f"valid_until {valid_until} is before valid_from {valid_from}: never in force")
    roles = _roles(entry, err)
    rules, rule_lines = _rules(entry, err)
    if not (normalised and valid_from and rules):
        return None, errors
    where = f"{display}:{line}" if line else display
    # kept with its errors (marked broken) so that its rules are checked in the same run
    trader = TrustedTrader(normalised, name, country, valid_from, valid_until, reference or "", roles, rules, where,
                           line, rule_lines, broken=bool(errors))  # fmt: skip
    return trader, errors


def _text(entry: dict[str, Any], key: str, err: Any, required: bool = False) -> str | None:
    value = entry.get(key)
    if value in (None, ""):
        if required:
            err(None, f"missing required key {key!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        err(key, f"{key} must be plain text")
        return None
    text = str(value)
    if control_problem(text):
        err(key, f"{key} {control_problem(text)}")
        return None
    return text


def _date(entry: dict[str, Any], key: str, err: Any, required: bool = False) -> dt.date | None:
    value = entry.get(key)
    if value in (None, ""):
        if required:
            err(None, f"missing required key {key!r}")
        return None
    try:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        err(key, f"{key} must be a date YYYY-MM-DD, got {value!r}")
        return None


def _roles(entry: dict[str, Any], err: Any) -> tuple[str, ...]:
    roles = entry.get("roles")
    if roles is None:
        return ROLES
    values = roles if isinstance(roles, list) else [roles]
    if not values or any(r not in ROLES for r in values):
        err("roles", f"roles must be a list of {', '.join(ROLES)}, got {roles!r}")
        return ROLES
    return tuple(r for r in ROLES if r in values)


def _rules(entry: dict[str, Any], err: Any) -> tuple[dict[str, Lowering], dict[str, int | None]]:
    node = entry.get("rules")
    if not isinstance(node, dict) or not node:
        err("rules" if "rules" in entry else None, "rules must map each rule id it lowers to `waive` or "
            "{action: release|inspect|hold, score: N}")  # fmt: skip
        return {}, {}
    found: dict[str, Lowering] = {}
    lines: dict[str, int | None] = {}
    for rule_id, effect in node.items():
        at = line_of(node, rule_id)
        lowering = _lowering(effect, str(rule_id), at, err)
        if lowering is not None:
            found[str(rule_id)] = lowering
            lines[str(rule_id)] = at
    return found, lines


def _lowering(effect: Any, rule_id: str, at: int | None, err: Any) -> Lowering | None:
    if effect == WAIVE:
        return WAIVED
    if not isinstance(effect, dict) or not effect or set(effect) - {"action", "score"}:
        err(f"rules.{rule_id}", "each rule takes `waive` or {action: release|inspect|hold, score: N}", at)
        return None
    action = effect.get("action")
    if action is not None and action not in LEVELS:
        err(f"rules.{rule_id}", f"action must be one of {', '.join(LEVELS)}, got {action!r}", at)
        return None
    score = effect.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score < 1e300):
        err(f"rules.{rule_id}", f"score must be a number >= 0, got {score!r}", at)
        return None
    return Lowering(action, None if score is None else float(score))


def trusted_trader_problems(traders: list[TrustedTrader], rules: dict[str, Any], hold_at: float) -> list[LocatedError]:
    """What only the whole pack can tell: each named rule exists, may be waived, and is
    really lowered (a lowering that keeps the rule's action and score, or whose score
    alone still reaches the hold threshold, is a mistake); no two entries for one company
    are in force on the same day for the same role."""
    errors: list[LocatedError] = []
    for trader in traders:
        for rule_id, lowering in trader.rules.items():
            where = Location(trader.source.rsplit(":", 1)[0], (trader.rule_lines or {}).get(rule_id) or trader.line,
                             field=f"rules.{rule_id}")  # fmt: skip
            rule = rules.get(rule_id)
            if rule is None:
                errors.append(LocatedError(where, f"unknown rule {rule_id!r}"))
            elif not rule.waivable:
                errors.append(LocatedError(where, f"rule {rule_id!r} is marked waivable: false (sanctions, the "
                                                  "watchlist): no trusted trader may lower it"))  # fmt: skip
            else:
                errors += _lowering_problems(rule, lowering, hold_at, where)
    errors += _overlaps(traders)
    return errors


def _lowering_problems(rule: Any, lowering: Lowering, hold_at: float, where: Location) -> list[LocatedError]:
    if lowering.waived:
        return []
    action = lowering.action or rule.action.value
    score = rule.score if lowering.score is None else lowering.score
    if LEVELS[action] >= LEVELS[rule.action.value] and score >= rule.score:
        return [LocatedError(where, f"lowers nothing: rule {rule.id!r} is {rule.action.value} with score "
                                    f"{rule.score:g}; give a lower action or score, or `waive`")]  # fmt: skip
    if LEVELS[action] < LEVELS["hold"] and score >= hold_at:
        return [LocatedError(where, f"lowered to {action} but its score {score:g} alone still reaches the hold "
                                    f"threshold {hold_at:g}: give a score below it")]  # fmt: skip
    return []


def _overlaps(traders: list[TrustedTrader]) -> list[LocatedError]:
    errors = []
    seen: dict[str, list[TrustedTrader]] = {}
    for trader in (t for t in traders if not t.broken):
        for earlier in seen.get(trader.company_id, []):
            if set(earlier.roles) & set(trader.roles) and _overlap(earlier, trader):
                where = Location(trader.source.rsplit(":", 1)[0], trader.line, field="valid_from")
                errors.append(LocatedError(where, f"company {trader.company_id} has another entry in force on the "
                                                  f"same days ({earlier.source}): merge them or make their "
                                                  "validity dates not overlap"))  # fmt: skip
                break
        seen.setdefault(trader.company_id, []).append(trader)
    return errors


def _overlap(a: TrustedTrader, b: TrustedTrader) -> bool:
    end_a = a.valid_until or dt.date.max
    end_b = b.valid_until or dt.date.max
    return a.valid_from <= end_b and b.valid_from <= end_a
