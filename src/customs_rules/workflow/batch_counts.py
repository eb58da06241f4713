"""What a batch did, line by line: the summary's counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .batch import Outcome


@dataclass
class Counts:
    """What a run did, line by line: screened + rejected lines add up to the input."""

    lines: int = 0
    screened_lines: int = 0
    rejected_lines: int = 0
    declarations: int = 0
    rejected: int = 0
    decisions: dict[str, int] = field(default_factory=lambda: {"hold": 0, "inspect": 0, "release": 0})
    decided_lines: dict[str, int] = field(default_factory=lambda: {"hold": 0, "inspect": 0, "release": 0})
    rules: dict[str, int] = field(default_factory=dict)
    held_exporters: dict[str, int] = field(default_factory=dict)
    held_consignees: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # inputs not read at all: no line counted

    def add(self, outcome: Outcome) -> None:
        if outcome.rejected is not None and outcome.rejected.refusal is not None:
            self.refused.append(outcome.rejected.location.source)
            return
        self.lines += outcome.lines
        if outcome.row is None:
            self.rejected += 1
            self.rejected_lines += outcome.lines
            return
        verdict = outcome.row["decision"]
        self.declarations += 1
        self.screened_lines += outcome.lines
        self.decisions[verdict] += 1
        self.decided_lines[verdict] += outcome.lines
        for rule_id in outcome.row["rule_ids"]:
            self.rules[rule_id] = self.rules.get(rule_id, 0) + 1
        if verdict == "hold":
            exporter, consignee = outcome.row["exporter"], outcome.row["consignee"]
            self.held_exporters[exporter] = self.held_exporters.get(exporter, 0) + 1
            self.held_consignees[consignee] = self.held_consignees.get(consignee, 0) + 1

    @property
    def screened(self) -> int:
        return self.declarations
