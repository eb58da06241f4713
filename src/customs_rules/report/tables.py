"""Reporting: decisions as JSON Lines, CSV or a rich table an officer can read."""

from __future__ import annotations

import sys
from time import monotonic
from typing import TYPE_CHECKING, Any, TextIO

from ..contract.decision import Decision
from ..contract.errors import ErrorList
from ..io.parsing import Rejected
from ..io.safe_text import SafeCsvWriter, json_text, terminal_text

# rich is imported by the functions that draw: `submit --format json`, CSV and JSON Lines
# never load it (tests/test_cold_start.py)
if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

STYLES = {"hold": "bold red", "inspect": "bold yellow", "release": "green"}
CSV_COLUMNS = ["declaration_id", "decision", "score", "rule_ids", "test_rule_ids", "ruleset_version", "screened_at"]


def json_line(decision: dict[str, Any]) -> str:
    return json_text(decision)


class CsvWriter:
    """One row per declaration: its decision, score and the rule ids that found."""

    def __init__(self, out: TextIO) -> None:
        self.writer = SafeCsvWriter(out)
        self.writer.writerow(CSV_COLUMNS)

    def write(self, decision: Decision) -> None:
        self.writer.writerow([
            decision.declaration_id,
            decision.decision,
            decision.score,  # a number: written as one, never neutralised as text
            ";".join(decision.rule_ids),
            ";".join(decision.test_rule_ids),
            decision.ruleset_version,
            decision.screened_at,
        ])  # fmt: skip


def number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def evidence_text(evidence: dict[str, Any]) -> str:
    """Evidence as short lines an officer reads: `field: value (detail, detail)`."""
    lines = []
    for name, value in evidence.items():
        if isinstance(value, dict):
            rest = [_flat(k, v) for k, v in value.items() if k != "value" and v not in (None, [], "")]
            detail = f" ({'; '.join(rest)})" if rest else ""
            lines.append(f"{terminal_text(name)}: {_short(value.get('value'))}{detail}")
        else:
            lines.append(f"{terminal_text(name)}: {_short(value)}")
    return "\n".join(lines)


def _flat(key: str, value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return f"{terminal_text(key)}: " + " | ".join(
            ", ".join(_flat(k, x) for k, x in v.items() if x not in (None, "")) for v in value
        )
    return f"{terminal_text(key)}={_short(value)}"


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_short(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(_flat(k, v) for k, v in value.items())
    if isinstance(value, float):
        return number_text(value)
    return terminal_text(value)


def decision_table(decisions: list[Decision]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Screening decisions", show_lines=True, expand=True)
    table.add_column("Declaration", no_wrap=True)
    table.add_column("Decision", no_wrap=True)
    table.add_column("Score", justify="right")
    table.add_column("Findings (rule, line, evidence)", ratio=1)
    for decision in decisions:
        verdict = Text(decision.decision.upper(), style=STYLES[decision.decision])
        # Text cells: declared values are data, never rich markup
        ident = Text(terminal_text(decision.declaration_id))
        table.add_row(ident, verdict, number_text(decision.score), _findings(decision))
    return table


def _findings(decision: Decision) -> Text:
    from rich.text import Text

    text = Text()
    groups = (("", decision.findings), ("[test] ", decision.test_findings))
    for prefix, findings in groups:
        for finding in findings:
            line = f" line {finding.item_line}" if finding.item_line is not None else ""
            style = STYLES.get(finding.action, "") if not prefix else "dim"
            text.append(f"{prefix}{terminal_text(finding.rule_id)}", style=style)
            title = terminal_text(finding.title)
            text.append(f" ({finding.action}, +{number_text(finding.score)}){line}: {title}\n")
            text.append(evidence_text(finding.evidence) + "\n", style="dim")
    return text if text.plain else Text("no findings", style="dim")


def stdout_console() -> Console:
    """stdout for people: the terminal's width, or 160 columns when piped to a file."""
    from rich.console import Console

    return Console(file=sys.stdout, highlight=False, width=None if sys.stdout.isatty() else 160)


def print_table(console: Console, decisions: list[Decision]) -> None:
    if decisions:
        console.print(decision_table(decisions))


ORDER = {"hold": 0, "inspect": 1, "release": 2}


def _width(cell: Any) -> int:
    from rich.text import Text

    return cell.cell_len if isinstance(cell, Text) else Text(str(cell)).cell_len


class TableStream:
    """The table of a batch, printed as it comes: the flagged declarations of each block,
    holds first, so the few holds of a big file show at once instead of after thousands
    of releases. Releases are counted and left out (said at the end) unless `releases`;
    a run of one declaration shows it whatever its decision.

    `pause` is called around each print, so a progress bar on the same terminal can
    step aside while the table is written."""

    BLOCK = 200  # decisions per block (the workers' block); a slow input flushes sooner
    WAIT = 1.0  # seconds a flagged decision may wait for its block to fill

    def __init__(self, console: Console, releases: bool, pause: Any = None) -> None:
        self.console, self.releases, self.pause = console, releases, pause
        self.block: list[Decision] = []
        self.seen = self.shown = self.left_out = 0
        self.lone: Decision | None = None  # a first release, shown if it stays alone
        self.started = 0.0
        self.widths = [len("Declaration"), len("Decision"), len("Score")]

    def add(self, decision: Decision) -> None:
        self.seen += 1
        if decision.decision == "release" and not self.releases:
            self.left_out += 1
            self.lone = decision if self.seen == 1 else None
        else:
            if not self.block:
                self.started = monotonic()  # how long the first flagged one has waited
            self.block.append(decision)
        if self.seen % self.BLOCK == 0 or (self.block and monotonic() - self.started >= self.WAIT):
            self.flush()

    def flush(self) -> None:
        if self.block:
            self.block.sort(key=lambda d: ORDER[d.decision])  # stable: input order within a verdict
            table = decision_table(self.block)
            # the blocks line up as one table: columns as wide as the widest so far
            self.widths = [max([w, *map(_width, table.columns[n].cells)]) for n, w in enumerate(self.widths)]
            for column, width in zip(table.columns, self.widths, strict=False):
                column.min_width = width
            if self.shown:
                table.title, table.show_header = None, False  # one table, printed block by block
            self._print(table)
            self.shown += len(self.block)
            self.block = []

    def close(self) -> None:
        from rich.text import Text

        if self.seen == 1 and self.lone is not None:  # one declaration: its decision, whatever it is
            self.block, self.left_out = [self.lone], 0
        self.flush()
        if self.left_out:
            flagged = "" if self.shown else "no hold or inspect; "
            self._print(Text(f"{flagged}{self.left_out:,} release(s) not shown (--all lists them)"))

    def _print(self, renderable: Any) -> None:
        if self.pause is not None:
            with self.pause():
                self.console.print(renderable)
        else:
            self.console.print(renderable)


ITEM_COLUMNS = ("line", "hs_code", "description", "quantity", "unit", "value", "currency", "origin_country",
                "net_mass_kg")  # fmt: skip
FACT_ITEMS_SHOWN = 8  # items side by side in the facts table; --format json has them all


def declaration_table(content: dict[str, Any]) -> Table:
    """The declaration as stored: its header in the title, one row per item."""
    from rich.table import Table
    from rich.text import Text

    def party(role: str) -> str:
        p = content.get(role) or {}
        parts = (p.get("name"), p.get("id") and f"id {p['id']}", p.get("country"))
        return " ".join(terminal_text(x) for x in parts if x)

    route = " -> ".join(terminal_text(c) for c in [content.get("dispatch_country") or "?",
                        *content.get("transit_countries", []), content.get("destination_country") or "?"])  # fmt: skip
    doc = f" ({terminal_text(content['document_type'])})" if content.get("document_type") else ""
    title = (
        f"Declaration {terminal_text(content.get('declaration_id'))} of {terminal_text(content.get('date'))}: "
        f"{terminal_text(content.get('procedure'))}{doc}, {route}\n"
        f"exporter {party('exporter')}; consignee {party('consignee')}"
    )
    table = Table(title=Text(title), title_justify="left", expand=False)
    for column in ITEM_COLUMNS:
        table.add_column(column, justify="right" if column in ("line", "quantity", "value", "net_mass_kg") else "left")
    for item in content.get("items", []):
        table.add_row(*(Text(_short(item.get(c)) if item.get(c) is not None else "") for c in ITEM_COLUMNS))
    return table


def facts_table(facts: list[dict[str, Any]]) -> Table:
    """The enriched facts the rules read: the declaration's once, then each item's side by side."""
    from rich.table import Table
    from rich.text import Text

    shown = facts[:FACT_ITEMS_SHOWN]
    more = f" (first {len(shown)} of {len(facts)} items)" if len(facts) > len(shown) else ""
    table = Table(title=f"Facts the decision was made on{more}", title_justify="left", expand=False)
    table.add_column("field")
    lines = [str(f.get("item.line", n + 1)) for n, f in enumerate(shown)]
    for line in lines:
        table.add_column(f"line {line}")
    names = list(shown[0]) if shown else []
    for name in names:
        values = [_short(f.get(name)) if f.get(name) is not None else "-" for f in shown]
        if name.startswith("item."):
            table.add_row(Text(terminal_text(name)), *(Text(v) for v in values))
        else:  # the same for every item: said once
            table.add_row(Text(terminal_text(name)), Text(values[0]), *([Text("")] * (len(values) - 1)))
    return table


def rejection_lines(rejected: Rejected) -> list[str]:
    """The lines that tell an analyst why a declaration was refused; they quote the bad
    input (its id, file name, value, raw row), so every line is escaped for a terminal."""
    if rejected.refusal is not None:  # a whole input, said as every command says file errors
        return [terminal_text(f"Error: {ErrorList(rejected.refusal, rejected.errors)}", keep_newlines=True)]
    ident = f" declaration {rejected.declaration_id}" if rejected.declaration_id else ""
    head = f"rejected{ident} at {rejected.location}:"
    return [terminal_text(line) for line in (head, *(f"  {e}" for e in rejected.errors))]
