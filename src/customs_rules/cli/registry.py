"""`customs-rules registry ...`: load the registry files, look a name up, count what is loaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..io.safe_text import json_text, terminal_text
from .base import EXIT_INPUT, handle_errors, main, open_store, rules_option

# the library is imported inside each command: see base.py (`--help` must not load it)


@main.group()
def registry() -> None:
    """Load and inspect the company registry and the watchlist."""


@registry.command("load")
@click.option("--companies", type=click.Path(path_type=Path), help="companies CSV")
@click.option("--people", type=click.Path(path_type=Path), help="people CSV (directors, founders, owners)")
@click.option("--watchlist", type=click.Path(path_type=Path), help="watchlist CSV (reported companies)")
@click.pass_context
@handle_errors
def registry_load(ctx: click.Context, companies: Path | None, people: Path | None, watchlist: Path | None) -> None:
    """Load registry CSV files. Each file REPLACES its table, whole or not at all:
    a file with any bad row is refused (every bad row listed) and its table is untouched."""
    if not (companies or people or watchlist):
        raise click.UsageError("give at least one of --companies, --people, --watchlist")
    from ..workflow import screener
    from ..workflow.officer import current_officer

    store = open_store(ctx)
    try:
        result = screener.load_registry(store, companies, people, watchlist, current_officer())
    finally:
        store.close()
    for name, count in result.loaded.items():
        if not ctx.obj["quiet"]:
            click.echo(f"loaded {count} {name}", err=True)
    for warning in result.warnings:
        click.echo(terminal_text(f"warning: {warning}", keep_newlines=True), err=True)
    if result.failed:
        for failure in result.failed:
            hint = getattr(failure, "hint", None)
            said = f"Error: {failure}" + (f"\nhint: {hint}" if hint else "")
            click.echo(terminal_text(said, keep_newlines=True), err=True)
        ctx.exit(EXIT_INPUT)


@registry.command("match")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"], case_sensitive=False), default="table", show_default=True
)
@rules_option
@click.pass_context
@handle_errors
def registry_match(ctx: click.Context, name: str, limit: int, fmt: str, rules_dir: Path | None) -> None:
    """Show the best candidates for NAME among registered companies, the watchlist and the
    people of the registry (with their role and company), with scores and why, so an
    analyst can check a doubtful match. Scores at or above the threshold of the rule
    pack's policy (`names: threshold`) match."""
    from rich.table import Table
    from rich.text import Text

    from ..report import tables
    from ..rules.loader import load_pack
    from ..rules.policy import policy_from
    from ..workflow import screener

    pack = load_pack(rules_dir) if rules_dir is not None else None  # a broken pack: refused before the database
    store = open_store(ctx)
    try:
        threshold = policy_from((pack or screener.pack_in_force(store).pack).policy_doc).name_threshold
        with store.stored_registry() as lookup:
            lookup.use_threshold(threshold)
            rows = _company_rows(lookup, name, limit) + _person_rows(lookup, name, limit)
    finally:
        store.close()
    rows.sort(key=lambda r: -float(r["score"] or 0))
    if fmt == "json":
        for row in rows[:limit]:
            click.echo(json_text(row, separators=(", ", ": ")))
        return
    table = Table(title=Text(terminal_text(f"Candidates for {name!r} (a match scores {threshold} or more)")))
    columns = ("score", "match", "source", "company_id", "name", "country", "via", "why")
    for column in columns:
        table.add_column(column)
    for row in rows[:limit]:
        table.add_row(*(Text("" if row[c] is None else terminal_text(row[c])) for c in columns))
    tables.stdout_console().print(table)


def _company_rows(lookup: Any, name: str, limit: int) -> list[dict[str, Any]]:
    return [
        {"source": "registry", "score": round(m.score, 3), "match": m.score >= lookup.threshold,
         "company_id": c.company_id, "name": c.name, "country": c.country, "via": f"{kind} {spelling!r}",
         "why": m.detail}
        for c, kind, spelling, m in lookup.ranked_companies(name, limit)
    ] + [
        {"source": "watchlist", "score": round(m.score, 3), "match": m.score >= lookup.threshold,
         "company_id": w.company_id, "name": w.name, "country": w.country, "via": f"{kind} {spelling!r}",
         "why": m.detail}
        for w, kind, spelling, m in lookup.ranked_watchlist(name, limit)
    ]  # fmt: skip


def _person_rows(lookup: Any, name: str, limit: int) -> list[dict[str, Any]]:
    """People whose names come closest: who they are, where, in what role (initials-only
    matches say so in `why`; they are weak evidence, never a match)."""
    from ..entities.persons import normalize_id

    rows = []
    for person, m in lookup.ranked_people(name, limit):
        company = lookup.company_by_id(normalize_id(person.company_id) or person.company_id)
        company_name = company.name if company else f"{person.company_id} (not in the registry)"
        rows.append({
            "source": "person", "score": round(m.score, 3), "match": m.score >= lookup.threshold,
            "company_id": person.company_id, "name": person.person_name,
            "country": company.country if company else None,
            "via": f"{person.role.value} of {company_name}", "role": person.role.value, "company": company_name,
            "why": m.detail,
        })  # fmt: skip
    return rows


@registry.command("status")
@click.pass_context
@handle_errors
def registry_status(ctx: click.Context) -> None:
    """Show how many companies, people and watchlist entries are loaded."""
    store = open_store(ctx)
    try:
        counts = store.registry_counts()
    finally:
        store.close()
    for name, count in counts.items():
        click.echo(f"{name}: {count}")
