"""What the decision policy allows besides the rules: trusted traders and snoozes lower or
waive findings, and random selection sends a share of released declarations to inspection.

    allowances = Allowances.of(pack, snoozes, seed)         # once per run
    findings, decision, score = decide(policy, allowances, findings, subject, at)

Both the screening core (`screening.core`) and the per-declaration reference
(`workflow.screener.Screener.screen`) decide through `decide`, so they agree.

- A **trusted trader** entry (`rules/allowlist.py`) applies to a declaration whose party,
  in one of the entry's roles, has the entry's company id (as declared, or as the
  registry resolved the party) and whose date lies in the entry's validity.
- A **snooze** (`customs-rules rules snooze`, stored in the database) waives one rule for
  one party (its company id, either role) up to and including its `until` day, counted
  against the day of screening.
- A lowered or waived finding stays in the decision: its `action` and `score` say what it
  counted (a waived one: `release`, 0) and `evidence.allowance` says what the rule said
  and why it counts less (the list entry or the snooze: who set it, until when, why).
  Where several apply, the one that lowers most is taken. Rules marked `waivable: false`
  are never lowered, whatever the database holds.
- **Random selection** (`rules/selection.py`) comes last: a declaration still released
  is drawn, and a drawn one is inspected with a `random-selection` finding.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..contract.choices import LEVELS
from ..contract.decision import Finding
from ..entities.persons import normalize_id
from .allowlist import WAIVED, Lowering, TrustedTrader
from .model import RulePack
from .policy import Policy
from .selection import finding as selection_finding
from .selection import selected

EVIDENCE_KEY = "allowance"


@dataclass(frozen=True)
class Snooze:
    """One rule suppressed for one party (its normalised company id) until a day."""

    id: int
    rule_id: str
    party: str
    until: dt.date
    reason: str
    officer: str
    set_at: dt.datetime  # UTC, without a zone
    lifted_at: dt.datetime | None = None  # `rules unsnooze`: no longer applies
    lifted_by: str | None = None
    lift_reason: str | None = None

    def active(self, day: dt.date) -> bool:
        return self.lifted_at is None and day <= self.until

    def evidence(self) -> dict[str, Any]:
        return {"snooze": self.id, "party": self.party, "until": self.until.isoformat(), "reason": self.reason,
                "officer": self.officer, "set_at": self.set_at.isoformat(timespec="seconds") + "Z"}  # fmt: skip


@dataclass(frozen=True)
class Subject:
    """What allowances look at in a declaration: its id, date, and each party's ids
    (normalised: as declared, and as the registry resolved it) by role."""

    declaration_id: str
    date: dt.date
    parties: tuple[tuple[str, tuple[str, ...]], ...] = ()


def party_ids(*ids: str | None) -> tuple[str, ...]:
    found: list[str] = []
    for value in ids:
        key = normalize_id(value)
        if key and key not in found:
            found.append(key)
    return tuple(found)


@dataclass
class Allowances:
    traders: tuple[TrustedTrader, ...] = ()
    snoozes: tuple[Snooze, ...] = ()
    seed: bytes | None = field(default=None, repr=False)  # random selection's secret
    never: frozenset[str] = frozenset()  # rules marked waivable: false
    _traders: dict[str, list[TrustedTrader]] = field(init=False, repr=False, compare=False)
    _snoozes: dict[tuple[str, str], list[Snooze]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._traders = {}
        for trader in self.traders:
            self._traders.setdefault(trader.company_id, []).append(trader)
        self._snoozes = {}
        for snooze in self.snoozes:
            if snooze.rule_id not in self.never:
                self._snoozes.setdefault((snooze.party, snooze.rule_id), []).append(snooze)

    @classmethod
    def of(cls, pack: RulePack, snoozes: Iterable[Snooze] = (), seed: bytes | None = None) -> Allowances:
        never = frozenset(r.id for r in pack.rules if not r.waivable)
        return cls(tuple(pack.reference.trusted_traders), tuple(snoozes), seed, never)

    @property
    def lowers(self) -> bool:
        """Whether any finding may be lowered (then each declaration's parties are read)."""
        return bool(self._traders or self._snoozes)

    def selects(self, policy: Policy) -> bool:
        return self.seed is not None and policy.random_share > 0

    def lowered(self, findings: list[Finding], subject: Subject, day: dt.date) -> tuple[list[Finding], dict[str, str]]:
        """The findings, each lowered by the allowance that lowers it most; and the caps
        on their floors (rule id -> the highest level it may set)."""
        caps: dict[str, str] = {}
        result = []
        for found in findings:
            best: tuple[tuple[int, float], Lowering, dict[str, Any]] | None = None
            for lowering, why in self._candidates(found.rule_id, subject, day):
                rank = _effect(found, lowering)
                key = (LEVELS[rank[0]], rank[1])
                if best is None or key < best[0]:
                    best = (key, lowering, why)
            if best is None:
                result.append(found)
                continue
            _, lowering, why = best
            action, score = _effect(found, lowering)
            if lowering.action is not None:
                caps[found.rule_id] = lowering.action
            effect = "waived" if lowering.waived else "lowered"
            summary = f"{effect}: {why.pop('summary')}"
            note = {"value": summary, "effect": effect, "rule_action": found.action, "rule_score": found.score} | why
            evidence = dict(found.evidence) | {EVIDENCE_KEY: note}
            result.append(dataclasses.replace(found, action=action, score=score, evidence=evidence))
        return result, caps

    def _candidates(self, rule_id: str, subject: Subject, day: dt.date) -> Iterable[tuple[Lowering, dict[str, Any]]]:
        if rule_id in self.never:  # whatever a list or the database says
            return
        for role, ids in subject.parties:
            for key in ids:
                for snooze in self._snoozes.get((key, rule_id), ()):
                    if snooze.active(day):
                        summary = f"{role} snoozed by {snooze.officer} until {snooze.until} (snooze #{snooze.id})"
                        yield WAIVED, {"summary": summary, "kind": "snooze", "role": role} | snooze.evidence()
                for trader in self._traders.get(key, ()):
                    lowering = trader.rules.get(rule_id)
                    if lowering is not None and role in trader.roles and trader.in_force(subject.date):
                        summary = f"{role} is a trusted trader ({trader.reference})"
                        yield lowering, {"summary": summary, "kind": "trusted_trader", "role": role} | trader.evidence()


def _effect(found: Finding, lowering: Lowering) -> tuple[str, float]:
    """The action and score a finding counts with under a lowering."""
    action = found.action
    if lowering.action is not None and LEVELS[lowering.action] < LEVELS[action]:
        action = lowering.action
    score = found.score if lowering.score is None else min(found.score, lowering.score)
    return action, score


def decide(
    policy: Policy, allowances: Allowances, findings: list[Finding], subject: Subject, at: dt.datetime
) -> tuple[list[Finding], str, float]:
    """One declaration's counting findings (as allowed), decision and score."""
    caps: dict[str, str] = {}
    if allowances.lowers and findings:
        findings, caps = allowances.lowered(findings, subject, at.date())
    decision, score = policy.decide([(f.rule_id, f.action, f.score) for f in findings], caps)
    seed = allowances.seed
    if decision == "release" and seed is not None and selected(seed, subject.declaration_id, policy.random_share):
        return [*findings, selection_finding(policy.random_share)], "inspect", score
    return findings, decision, score
