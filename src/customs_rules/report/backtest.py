"""A backtest's outputs besides HTML: the changed declarations as a table, JSON Lines or
CSV (stdout, or `--out FILE`), the JSON summary (`--summary FILE`), and the summary tables
for people (stderr). Every CSV cell is neutralised, every JSON strict, every terminal
string escaped (`io.safe_text`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..io.safe_text import SafeCsvWriter, json_text, terminal_text

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["print_changes", "print_summary", "write_changes", "write_summary"]

DECISIONS = ("release", "inspect", "hold")


def _cells(row: dict[str, Any], columns: list[str]) -> list[Any]:
    return [";".join(v) if isinstance(v := row[c], list) else ("" if v is None else v) for c in columns]


def write_rows(out: IO[str], rows: Iterable[dict[str, Any]], columns: list[str], fmt: str) -> None:
    """`fmt` json: one object per line; csv: a header row (also with no row), then a row each."""
    if fmt == "json":
        for row in rows:
            out.write(json_text(row) + "\n")
        return
    writer = SafeCsvWriter(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(_cells(row, columns))


def print_changes(console: Console | None, out: IO[str], rows: list[dict[str, Any]], columns: list[str],
                  fmt: str) -> None:  # fmt: skip
    """The changed declarations on stdout: a table for people (only when some changed),
    else JSON Lines or CSV."""
    if fmt != "table":
        write_rows(out, rows, columns, fmt)
        return
    if not rows or console is None:
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Declarations whose decision changes (baseline -> candidate)")
    shown = ["declaration_id", "revision", "date", "exporter", "consignee", "from", "to", "rules_added",
             "rules_removed", "outcome"]  # fmt: skip
    for column in shown:
        table.add_column(column, no_wrap=column == "declaration_id")
    for row in rows:
        table.add_row(*(Text(terminal_text(str(cell))) for cell in _cells(row, shown)))
    console.print(table)


def _atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as handle:
        write(handle)
    os.replace(tmp, path)  # a half-written file never looks like a finished one


def write_changes(path: Path, rows: list[dict[str, Any]], columns: list[str]) -> None:
    """`--out FILE`: CSV if the name ends in .csv, else JSON Lines."""
    fmt = "csv" if path.name.lower().endswith(".csv") else "json"
    _atomic(path, lambda handle: write_rows(handle, rows, columns, fmt))


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    """`--summary FILE`: the JSON summary object, strict JSON, on one line."""
    _atomic(path, lambda handle: handle.write(json_text(summary) + "\n"))


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    """For people, on stderr: the from -> to matrix, the load, the confirmed cases and
    the hits per rule."""
    from rich.table import Table

    matrix = Table(title="Decisions: baseline -> candidate")
    matrix.add_column("from \\ to")
    for to in DECISIONS:
        matrix.add_column(to, justify="right")
    matrix.add_column("total", justify="right")
    for was in DECISIONS:
        row = summary["matrix"][was]
        matrix.add_row(was, *(f"{row[to]:,}" for to in DECISIONS), f"{sum(row.values()):,}")
    console.print(matrix)
    load, confirmed = summary["load"], summary["confirmed"]
    sides = Table(title="Each pack")
    for column in ("", "baseline", "candidate"):
        sides.add_column(column, justify="right" if column else "left")
    for decision in ("hold", "inspect"):
        sides.add_row(decision, *(f"{summary['decisions'][s][decision]:,}" for s in ("baseline", "candidate")))
    sides.add_row("inspection load (inspect or hold)", *(f"{load[s]:.2%}" for s in ("baseline", "candidate")))
    for what in ("caught", "missed"):
        sides.add_row(f"confirmed cases {what} (of {confirmed['total']})",
                      *(str(confirmed[s][what]) for s in ("baseline", "candidate")))  # fmt: skip
    console.print(sides)
    rules = Table(title="Hits per rule (declarations)")
    for column in ("rule", "baseline", "candidate", "change"):
        rules.add_column(column, justify="left" if column == "rule" else "right")
    for row in summary["rules"]:
        base, cand = row["baseline"], row["candidate"]
        rules.add_row(terminal_text(row["rule_id"]), _hits(base), _hits(cand), f"{cand['hits'] - base['hits']:+,}")
    console.print(rules)


def _hits(side: dict[str, Any]) -> str:
    if side["status"] is None:
        return "-" if not side["hits"] else f"{side['hits']:,}"
    return f"{side['hits']:,}" + ("" if side["status"] == "active" else f" ({side['status']})")
