"""Officer commands that screen or record: submit, outcome, rescreen.

A thin layer over `workflow` and the store, registered on the main `customs-rules`
group. Same streams and exit codes as `screen`: decisions on stdout, the rest on stderr.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import click

from ..contract.choices import RESULTS
from ..io.safe_text import terminal_text
from .base import (
    EXIT_INPUT,
    CliError,
    err_console,
    handle_errors,
    importing_library,
    main,
    one_polars_thread,
    open_store,
    rules_option,
)
from .options import (
    check_period,
    format_option,
    no_registry_option,
    officer_option,
    period_options,
    print_rows,
    removed_since,
    rows_format_option,
)

# the library is imported inside each command: see base.py (`--help` must not load it)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@main.command()
@click.argument("path", required=False)
@officer_option
@format_option
@rules_option
@no_registry_option
@click.pass_context
@handle_errors
def submit(
    ctx: click.Context, path: str | None, officer: str | None, fmt: str, rules_dir: Path | None, no_registry: bool
) -> None:
    """Submit a declaration (a JSON file, or '-' for stdin): validate, screen and store
    it in one transaction, then print the decision with its reference (#N).

    The same declaration submitted again returns the stored decision without screening
    it again; the same id with different content is stored as an amendment (revision
    2, 3, ...) beside the earlier ones. With no PATH on a terminal, asks field by field.
    """
    with importing_library():
        one_polars_thread()  # a set of one
        from ..contract.errors import Location
        from ..io.declarations import read_declarations
        from ..io.parsing import Parsed, Rejected
        from ..report import tables
        from ..rules.loader import load_pack
        from ..store import store as _store  # noqa: F401 - open_store's, loaded here with the rest
        from ..workflow import officer as workflow
        from ..workflow.screener import pack_in_force

    who = workflow.current_officer(officer)
    pack = load_pack(rules_dir) if rules_dir is not None else None  # a broken pack refuses before anything is read
    store = open_store(ctx)
    try:
        pack = pack or pack_in_force(store).pack  # the database's active pack, else the bundled one
        if path is None and stdin_is_terminal():
            from .form import ask_declaration

            outcomes: list[Parsed | Rejected] = [Parsed(ask_declaration(), Location("<form>"))]
        else:
            outcomes = list(read_declarations(path or "-", sys.stdin))
        rejected = 0
        warned: set[str] = set()  # once per run, however many declarations
        for outcome in outcomes:
            if isinstance(outcome, Rejected):
                rejected += 1
                workflow.reject(store, outcome, who)
                for line in tables.rejection_lines(outcome):
                    click.echo(line, err=True)
                continue
            result = workflow.submit(store, outcome, who, without_registry=no_registry, pack=pack)
            for warning in (w for w in result.warnings if w not in warned):
                warned.add(warning)
                click.echo(warning, err=True)
            _print_decisions([result.decision], fmt)
            d = result.decision
            status = "new" if result.new else "already submitted, not screened again"
            line = f"{d['reference']}: {d['declaration_id']} revision {d['revision']}, {d['decision']} ({status})"
            click.echo(terminal_text(line), err=True)
    finally:
        store.close()
    if rejected:
        ctx.exit(EXIT_INPUT)


def _print_decisions(decisions: list[dict[str, Any]], fmt: str) -> None:
    """Stored decisions (the contract's object and where it stands in the store)."""
    from ..contract.decision import Decision
    from ..report import tables

    if fmt == "json":
        for d in decisions:
            click.echo(tables.json_line(d))
    else:
        tables.print_table(tables.stdout_console(), [Decision.from_dict(d) for d in decisions])


@main.command()
@click.argument("ref")
@click.option(
    "--result", type=click.Choice(RESULTS, case_sensitive=False), required=True, help="What the inspection found."
)
@click.option("--note", help="Free text: what was found, seal numbers...")
@officer_option
@click.pass_context
@handle_errors
def outcome(ctx: click.Context, ref: str, result: str, note: str | None, officer: str | None) -> None:
    """Record what an inspection found for a decision.

    REF: #N (quoted: the shell drops what follows #), N or nN, or a declaration id (its
    latest decision), as in `decisions show`."""
    from ..contract.input_text import given_text
    from ..workflow import officer as workflow

    # a note is free text, but it is stored, sealed and shown again: no control characters
    note = given_text(note, "--note") if note is not None else None
    who = workflow.current_officer(officer)
    store = open_store(ctx)
    try:
        recorded = store.add_outcome(ref, result, note, who)
    finally:
        store.close()
    if recorded is None:
        raise CliError(f"no decision {ref!r}", EXIT_INPUT, "see `customs-rules decisions list`")
    click.echo(terminal_text(f"recorded {result} for {recorded['declaration_id']} ({recorded['reference']})"), err=True)


@main.command()
@period_options("declared")
@removed_since("--declared-since (what --since filtered here)")
@officer_option
@rows_format_option
@rules_option
@no_registry_option
@click.pass_context
@handle_errors
def rescreen(
    ctx: click.Context,
    declared_since: dt.date | None,
    declared_until: dt.date | None,
    officer: str | None,
    fmt: str,
    rules_dir: Path | None,
    no_registry: bool,
) -> None:
    """Re-evaluate stored declarations (the newest revision of each, optionally only
    those dated within --declared-since/--declared-until) with today's rules and
    registry. New decisions are recorded beside the old ones; those now stricter than
    before are listed: what escaped."""
    from ..workflow import officer as workflow

    check_period("declared", declared_since, declared_until)
    store = open_store(ctx)
    try:
        report = workflow.rescreen(
            store, declared_since, workflow.current_officer(officer), rules_dir, without_registry=no_registry,
            warn=lambda warning: click.echo(warning, err=True), until=declared_until,
        )  # fmt: skip
    finally:
        store.close()
    columns = [
        "declaration_id",
        "revision",
        "exporter",
        "was",
        "was_reference",
        "now",
        "reference",
        "score",
        "rule_ids",
    ]
    if report.stricter or fmt != "table":  # a script reading CSV gets its header on no row too
        print_rows(report.stricter, columns, fmt, "Now stricter than before")
    if not ctx.obj["quiet"]:
        click.echo(
            f"rescreened {report.screened} declaration(s): {report.changed} changed, "
            f"{len(report.stricter)} now stricter",
            err=True,
        )


__all__ = ["err_console", "outcome", "rescreen", "submit"]
