"""`customs-rules decisions ...` and `stats ...`: what was decided, one decision explained,
and how often each rule found and was confirmed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import click

from ..contract.choices import DECISIONS
from ..io.safe_text import json_text, terminal_text
from .base import EXIT_INPUT, CliError, handle_errors, main, open_store
from .options import (
    PERIODS,
    check_period,
    format_option,
    period_options,
    print_rows,
    removed_since,
    rows_format_option,
)

# the library is imported inside each command: see base.py (`--help` must not load it)


@main.group()
def decisions() -> None:
    """Look up stored decisions."""


@decisions.command("list")
@click.option("--decision", type=click.Choice(DECISIONS, case_sensitive=False), help="Only this decision.")
@period_options("screened")
@period_options("declared")
@removed_since("--screened-since (what --since filtered here)")
@click.option("--rule", help="Only decisions in which this rule found.")
@click.option("--exporter", help="Only exporters whose name contains this text.")
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True)
@rows_format_option
@click.pass_context
@handle_errors
def decisions_list(ctx: click.Context, fmt: str, **filters: Any) -> None:
    """List decisions, newest first. Dates are whole days (UTC for the screening day),
    both ends included."""
    rows = _read_in_periods(ctx, filters, lambda store: store.decisions(**filters))
    columns = ["reference", "declaration_id", "revision", "decision", "score", "rule_ids", "exporter",
               "consignee", "destination_country", "kind", "screened_without_registry", "officer",
               "screened_at"]  # fmt: skip
    if fmt == "table":  # the full rows are in json and csv; a table must fit a screen
        columns = ["reference", "declaration_id", "decision", "score", "rule_ids", "exporter", "officer", "screened_at"]
        if any(row["screened_without_registry"] for row in rows):  # the mark, only where there is one
            columns.insert(3, "registry")
            rows = [row | {"registry": "NONE" if row["screened_without_registry"] else ""} for row in rows]
    print_rows(rows, columns, fmt, "Decisions")


@decisions.command("show")
@click.argument("ref")
@format_option
@click.pass_context
@handle_errors
def decisions_show(ctx: click.Context, ref: str, fmt: str) -> None:
    """Explain one decision: findings, evidence, rule-set version, who screened it and
    when, and any inspection outcome.

    REF: #N (quoted: the shell drops what follows #), N or nN, or a declaration id (its
    latest decision). `decisions show 12`, `decisions show n12` and `decisions show '#12'`
    all show decision #12, unless a declaration is named 12 too: then write '#12'."""
    from rich.text import Text

    from ..contract.decision import Decision
    from ..report import tables

    store = open_store(ctx)
    try:
        found = store.explain(ref)
    finally:
        store.close()
    if found is None:
        raise CliError(f"no decision {ref!r}", EXIT_INPUT, "see `customs-rules decisions list`")
    if fmt == "json":
        click.echo(json_text(found, default=str))
        return
    console = tables.stdout_console()
    head = (
        f"{found['reference']}  {found['declaration_id']} revision {found['revision']}: "
        f"{found['decision'].upper()}, score {tables.number_text(found['score'])}\n"
        f"screened {found['screened_at']} by {found['officer'] or 'batch'} ({found['kind']}), "
        f"rule set {found['ruleset_version']}"
    )
    if found.get("screened_without_registry"):
        head += "\nscreened WITHOUT a registry (--no-registry): every party was unknown to it"
    console.print(Text(terminal_text(head, keep_newlines=True)))
    tables.print_table(console, [Decision.from_dict(found)])  # the stored decision's contract part
    if found.get("declaration"):
        console.print(tables.declaration_table(found["declaration"]))
    if found.get("facts"):
        console.print(tables.facts_table(found["facts"]))
    for outcome in found["outcomes"]:
        line = (
            f"outcome: {outcome['result']} by {outcome['officer']} at {outcome['recorded_at']} ({outcome['reference']})"
        )
        console.print(Text(terminal_text(line + (f": {outcome['note']}" if outcome["note"] else ""))))


@main.group()
def stats() -> None:
    """Statistics for the risk unit."""


# the keys of `--format json|csv` and the headers of the table
STATS_COLUMNS = {
    "rule_id": "rule",
    "hits": "declarations hit",
    "decided_hold": "decided hold",
    "decided_inspect": "decided inspect",
    "with_outcome": "with an outcome",
    "confirmed": "confirmed",
    "hit_rate": "hit rate (confirmed / with an outcome)",
}


@stats.command("rules")
@period_options("screened")
@period_options("declared")
@removed_since("--screened-since (what --since filtered here)")
@rows_format_option
@click.pass_context
@handle_errors
def stats_rules(ctx: click.Context, fmt: str, **period: dt.date | None) -> None:
    """Per rule, over submissions and batch screenings (rescreens are what-ifs): the
    declarations it found in, counted once each (their latest revision); how many of
    those were decided hold and inspect; how many have an inspection outcome; how many
    were confirmed (seized or irregularity); and the hit rate, confirmed / with an
    outcome. The table prints the rate as a percentage with its counts, e.g. 75% (3/4);
    json and csv give the fraction and the counts."""
    rows = _read_in_periods(ctx, period, lambda store: store.rule_stats(**period))
    if fmt == "table":
        rows = [{STATS_COLUMNS[k]: v for k, v in row.items()} | {STATS_COLUMNS["hit_rate"]: _rate(row)} for row in rows]
        print_rows(rows, list(STATS_COLUMNS.values()), fmt, "Rule hit rates")
    else:
        print_rows(rows, list(STATS_COLUMNS), fmt, "Rule hit rates")


def _read_in_periods(ctx: click.Context, filters: dict[str, Any], read: Callable[[Any], Any]) -> Any:
    """What `read` reads from the store, once each period's bounds in `filters` are checked."""
    for kind in PERIODS:
        check_period(kind, filters[f"{kind}_since"], filters[f"{kind}_until"])
    store = open_store(ctx)
    try:
        return read(store)
    finally:
        store.close()


def _rate(row: dict[str, Any]) -> str:
    if not row["with_outcome"]:
        return "no outcome yet"
    return f"{row['confirmed'] / row['with_outcome']:.0%} ({row['confirmed']}/{row['with_outcome']})"
