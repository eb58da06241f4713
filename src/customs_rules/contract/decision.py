"""A declaration's decision, typed: what screening gives (`screening.core.screen_set`,
`workflow.screener.Screener.screen`) and what the outputs and the store read.

    decision.decision, decision.score, [f.rule_id for f in decision.findings]
    decision.as_dict()   # the contract's JSON object: the keys and their order as always

`as_dict` is the one way to the JSON-ready dict: JSON Lines, stored rows and their seals
depend on its keys and their order (tests/test_golden.py compares them byte for byte).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# the optional field of a decision screened on purpose without a registry (--no-registry):
# present, and true, only when it is so; also the decision table's column of that name
WITHOUT_REGISTRY = "screened_without_registry"


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule that found on a declaration, with its evidence."""

    rule_id: str
    title: str
    action: str
    score: float
    item_line: int | None
    evidence: dict[str, Any] = field(default_factory=dict)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as its fields (a batch's workers send every decision to the run's
        # process): a slotted dataclass's own state is rebuilt field by field, 3x slower
        return Finding, (self.rule_id, self.title, self.action, self.score, self.item_line, self.evidence)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "title": self.title,
            "action": self.action,
            "score": self.score,
            "item_line": self.item_line,
            "evidence": self.evidence,
        }

    @classmethod
    def from_dict(cls, found: dict[str, Any]) -> Finding:
        return cls(found["rule_id"], found["title"], found["action"], found["score"], found["item_line"],
                   found["evidence"])  # fmt: skip


@dataclass(frozen=True, slots=True)
class Decision:
    """A declaration's verdict, score and findings (test rules' apart), and how it was
    screened: rule set version, time (ISO 8601 UTC, "Z") and the registry mark."""

    declaration_id: str
    decision: str  # hold | inspect | release
    score: float
    findings: tuple[Finding, ...]
    test_findings: tuple[Finding, ...]
    ruleset_version: str
    screened_at: str
    without_registry: bool = False

    def __reduce__(self) -> tuple[Any, ...]:
        return Decision, (self.declaration_id, self.decision, self.score, self.findings, self.test_findings,
                          self.ruleset_version, self.screened_at, self.without_registry)  # fmt: skip

    @property
    def rule_ids(self) -> list[str]:
        """The ids of the rules that count (not the test rules'), in finding order."""
        return [f.rule_id for f in self.findings]

    @property
    def test_rule_ids(self) -> list[str]:
        return [f.rule_id for f in self.test_findings]

    def as_dict(self) -> dict[str, Any]:
        """The contract's JSON object: these keys in this order, the registry mark only
        when it is so."""
        body = {
            "declaration_id": self.declaration_id,
            "decision": self.decision,
            "score": self.score,
            "findings": [f.as_dict() for f in self.findings],
            "test_findings": [f.as_dict() for f in self.test_findings],
            "ruleset_version": self.ruleset_version,
            "screened_at": self.screened_at,
        }
        if self.without_registry:
            body[WITHOUT_REGISTRY] = True
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Decision:
        """A decision from the contract's JSON object (extra keys, such as a stored
        decision's `reference`, are left out)."""
        return cls(
            body["declaration_id"],
            body["decision"],
            body["score"],
            tuple(Finding.from_dict(f) for f in body["findings"]),
            tuple(Finding.from_dict(f) for f in body["test_findings"]),
            body["ruleset_version"],
            body["screened_at"],
            bool(body.get(WITHOUT_REGISTRY)),
        )
