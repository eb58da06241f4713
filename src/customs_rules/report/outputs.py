"""Batch output files: results (`--out`), rejected rows (`--rejects`), the report's data.

Each writes as it goes, so a run of millions of lines never holds its results in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..contract.decision import Decision
from ..io.parsing import Rejected
from ..io.safe_text import SafeCsvWriter, json_text
from .aggregate import Aggregate

RESULT_COLUMNS = ["declaration_id", "decision", "score", "rule_ids", "test_rule_ids", "ruleset_version", "screened_at"]
FINDING_COLUMNS = [
    "declaration_id",
    "decision",
    "rule_id",
    "title",
    "action",
    "score",
    "item_line",
    "is_test",
    "evidence",
]
REJECT_COLUMNS = ["source", "line", "declaration_id", "reason", "raw"]


def _open(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    # surrogateescape: a rejected row with bytes that were not UTF-8 is written back as it came
    return path.open("w", encoding="utf-8", errors="surrogateescape", newline="")


class ResultsFile:
    """`--out FILE`: CSV (by the .csv extension) or JSON Lines; one row per declaration,
    or one per finding with `per_finding` (test findings flagged `is_test`)."""

    def __init__(self, path: Path, per_finding: bool = False) -> None:
        self.handle = _open(path)
        self.per_finding = per_finding
        self.csv = SafeCsvWriter(self.handle) if _is_csv(path) else None
        if self.csv is not None:
            self.csv.writerow(FINDING_COLUMNS if per_finding else RESULT_COLUMNS)

    def write_line(self, line: str) -> None:
        """A row made by `result_line` (by a batch's worker)."""
        self.handle.write(line + "\n")

    def write(self, decision: Decision) -> None:
        for row in self._rows(decision):
            if self.csv is not None:
                self.csv.writerow([";".join(v) if isinstance(v, list) else v for v in row.values()])
            else:
                self.handle.write(json_text(row) + "\n")

    def _rows(self, d: Decision) -> Iterator[dict[str, Any]]:
        if not self.per_finding:
            yield result_row(d)
            return
        for is_test, found in ((False, d.findings), (True, d.test_findings)):
            for f in found:
                evidence = f.evidence if self.csv is None else json_text(f.evidence)
                yield {
                    "declaration_id": d.declaration_id, "decision": d.decision, "rule_id": f.rule_id,
                    "title": f.title, "action": f.action, "score": f.score, "item_line": f.item_line,
                    "is_test": is_test, "evidence": evidence,
                }  # fmt: skip

    def close(self) -> None:
        self.handle.close()


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv"


def takes_lines(path: Path, per_finding: bool) -> bool:
    """Whether `--out` is JSON Lines, one row per declaration: rows a batch's workers can
    make (`result_line`), for this process to write as they come (`write_line`)."""
    return not _is_csv(path) and not per_finding


def result_row(d: Decision) -> dict[str, Any]:
    """A declaration's row of `--out` (JSON Lines or CSV)."""
    return {
        "declaration_id": d.declaration_id,
        "decision": d.decision,
        "score": d.score,
        "rule_ids": d.rule_ids,
        "test_rule_ids": d.test_rule_ids,
        "ruleset_version": d.ruleset_version,
        "screened_at": d.screened_at,
    }


def result_line(d: Decision) -> str:
    """A declaration's row of `--out FILE.jsonl` as `ResultsFile` writes it (without the newline)."""
    return json_text(result_row(d))


class RejectsFile:
    """`--rejects FILE`: each bad input line with its number, the raw row and the reason."""

    def __init__(self, path: Path) -> None:
        self.handle = _open(path)
        self.csv = SafeCsvWriter(self.handle)
        self.csv.writerow(REJECT_COLUMNS)

    def write(self, rejected: Rejected) -> None:
        reason = "; ".join(str(e) for e in rejected.errors)
        numbers: list[int | None] = list(rejected.line_numbers) or [rejected.location.line]
        rows = (
            rejected.raw if isinstance(rejected.raw, list) and all(isinstance(r, str) for r in rejected.raw) else None
        )
        raws = rows if rows is not None and len(rows) == len(numbers) else [rejected.raw] * len(numbers)
        for number, raw in zip(numbers, raws, strict=True):
            self.csv.writerow([rejected.location.source, number, rejected.declaration_id, reason, _raw_text(raw)])

    def close(self) -> None:
        self.handle.close()


def _raw_text(raw: Any) -> str:
    """A CSV row comes as its CSV text already; a JSON record is written as JSON."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    return json_text(raw, default=str, separators=(", ", ": "))


class ReportRows:
    """The HTML report's data, gathered while screening: counters and the bounded list of
    held and inspected declarations (`aggregate.Aggregate`), so nothing grows with the run."""

    def __init__(self) -> None:
        self.aggregate = Aggregate()

    def add(self, row: dict[str, Any], text: str | None = None) -> None:
        """`row`: a declaration's summary row; `text`: its decision's JSON line, parsed only
        when the declaration is listed."""
        self.aggregate.add(row, text)

    def close(self) -> None:
        pass
