"""Officer commands: submit, decisions, outcome, stats, rescreen, audit.

A thin layer over `workflow` and the store, registered on the main `customs-rules`
group. Same streams and exit codes as `screen`: decisions on stdout, the rest on stderr.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .choices import AUDIT_ACTIONS, DECISIONS, RESULTS
from .cli import EXIT_INPUT, CliError, err_console, handle_errors, importing_library, main, open_store, rules_option
from .safe_text import SafeCsvWriter, json_text, terminal_text

# the library is imported inside each command: see cli.py (`--help` must not load it)

officer_option = click.option(
    "--officer", default=None, help="Who acts (default: $CUSTOMS_RULES_OFFICER, else the login name)."
)
format_option = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"], case_sensitive=False), default="table", show_default=True
)
rows_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"], case_sensitive=False),
    default="table",
    show_default=True,
)
F = TypeVar("F", bound=Callable[..., Any])


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date(_ctx: Any, _param: Any, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        if not ISO_DAY.fullmatch(value.strip()):
            raise ValueError
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date YYYY-MM-DD") from None


no_registry_option = click.option(
    "--no-registry", is_flag=True,
    help="Screen without the registry (every party unknown), e.g. before one is loaded; marked in the audit log.",
)  # fmt: skip


# Two dates a user can mean: the day a declaration was screened (a decision's
# `screened_at`, UTC) and the declaration's own `date`. Each option names its date.
PERIODS = {
    "screened": "decisions screened",
    "declared": "declarations dated (their `date` field)",
}


def period_options(kind: str) -> Callable[[F], F]:
    """--KIND-since and --KIND-until: whole days, both included."""

    def decorate(func: F) -> F:
        what = PERIODS[kind]
        until = click.option(
            f"--{kind}-until", callback=_date, metavar="YYYY-MM-DD", help=f"Only {what} on or before this day."
        )
        since = click.option(
            f"--{kind}-since", callback=_date, metavar="YYYY-MM-DD", help=f"Only {what} on or after this day."
        )
        return since(until(func))

    return decorate


def removed_since(instead: str) -> Callable[[F], F]:
    """`--since` filtered by the screening day in some commands and by the declaration's
    date in another: an old script using it stops with the new name rather than
    silently getting another filter. Hidden from --help; described in the README."""

    def refuse(_ctx: Any, _param: Any, value: str | None) -> None:
        if value is not None:
            raise click.BadParameter(
                f"--since was removed: it read as either date. Use {instead}; the date options name "
                "their date: --screened-since/--screened-until (the day of screening, UTC) and "
                "--declared-since/--declared-until (the declaration's own date)",
                param_hint="'--since'",
            )

    return click.option("--since", callback=refuse, expose_value=False, hidden=True)


def _check_period(kind: str, since: dt.date | None, until: dt.date | None) -> None:
    if since and until and since > until:
        raise click.UsageError(f"--{kind}-since {since} is after --{kind}-until {until}: nothing can match")


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
        from . import reporting, workflow
        from .api import default_rules_dir
        from .errors import Location
        from .parsing import Parsed, Rejected, read_declarations
        from .rules import load_pack
        from .storage import store as _store  # noqa: F401 - open_store's, loaded here with the rest

    who = workflow.current_officer(officer)
    pack = load_pack(rules_dir or default_rules_dir())  # a broken pack refuses before anything is read
    store = open_store(ctx)
    try:
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
                for line in reporting.rejection_lines(outcome):
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
    from . import reporting

    if fmt == "json":
        for d in decisions:
            click.echo(reporting.json_line(d))
    else:
        reporting.print_table(reporting.stdout_console(), decisions)


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
    for kind in PERIODS:
        _check_period(kind, filters[f"{kind}_since"], filters[f"{kind}_until"])
    store = open_store(ctx)
    try:
        rows = store.decisions(**filters)
    finally:
        store.close()
    columns = ["reference", "declaration_id", "revision", "decision", "score", "rule_ids", "exporter",
               "consignee", "destination_country", "kind", "screened_without_registry", "officer",
               "screened_at"]  # fmt: skip
    if fmt == "table":  # the full rows are in json and csv; a table must fit a screen
        columns = ["reference", "declaration_id", "decision", "score", "rule_ids", "exporter", "officer", "screened_at"]
        if any(row["screened_without_registry"] for row in rows):  # the mark, only where there is one
            columns.insert(3, "registry")
            rows = [row | {"registry": "NONE" if row["screened_without_registry"] else ""} for row in rows]
    _print_rows(rows, columns, fmt, "Decisions")


def _print_rows(rows: list[dict[str, Any]], columns: list[str], fmt: str, title: str) -> None:
    from rich.table import Table
    from rich.text import Text

    from . import reporting

    if fmt == "json":
        for row in rows:
            click.echo(json_text(row, default=str))
        return
    if fmt == "csv":
        writer = SafeCsvWriter(sys.stdout)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([";".join(v) if isinstance(v := row[c], list) else v for c in columns])
        return
    table = Table(title=title)
    for column in columns:
        table.add_column(column, no_wrap=column in ("reference", "declaration_id"))
    for row in rows:
        cells = [";".join(v) if isinstance(v := row[c], list) else ("" if v is None else str(v)) for c in columns]
        table.add_row(*(Text(terminal_text(c)) for c in cells))
    reporting.stdout_console().print(table)


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

    from . import reporting

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
    console = reporting.stdout_console()
    head = (
        f"{found['reference']}  {found['declaration_id']} revision {found['revision']}: "
        f"{found['decision'].upper()}, score {reporting.number_text(found['score'])}\n"
        f"screened {found['screened_at']} by {found['officer'] or 'batch'} ({found['kind']}), "
        f"rule set {found['ruleset_version']}"
    )
    if found.get("screened_without_registry"):
        head += "\nscreened WITHOUT a registry (--no-registry): every party was unknown to it"
    console.print(Text(terminal_text(head, keep_newlines=True)))
    reporting.print_table(console, [found])
    if found.get("declaration"):
        console.print(reporting.declaration_table(found["declaration"]))
    if found.get("facts"):
        console.print(reporting.facts_table(found["facts"]))
    for outcome in found["outcomes"]:
        line = (
            f"outcome: {outcome['result']} by {outcome['officer']} at {outcome['recorded_at']} ({outcome['reference']})"
        )
        console.print(Text(terminal_text(line + (f": {outcome['note']}" if outcome["note"] else ""))))


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
    from . import workflow
    from .input_text import given_text

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
    for kind in PERIODS:
        _check_period(kind, period[f"{kind}_since"], period[f"{kind}_until"])
    store = open_store(ctx)
    try:
        rows = store.rule_stats(**period)
    finally:
        store.close()
    if fmt == "table":
        rows = [{STATS_COLUMNS[k]: v for k, v in row.items()} | {STATS_COLUMNS["hit_rate"]: _rate(row)} for row in rows]
        _print_rows(rows, list(STATS_COLUMNS.values()), fmt, "Rule hit rates")
    else:
        _print_rows(rows, list(STATS_COLUMNS), fmt, "Rule hit rates")


def _rate(row: dict[str, Any]) -> str:
    if not row["with_outcome"]:
        return "no outcome yet"
    return f"{row['confirmed'] / row['with_outcome']:.0%} ({row['confirmed']}/{row['with_outcome']})"


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
    from . import workflow

    _check_period("declared", declared_since, declared_until)
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
        _print_rows(report.stricter, columns, fmt, "Now stricter than before")
    if not ctx.obj["quiet"]:
        click.echo(
            f"rescreened {report.screened} declaration(s): {report.changed} changed, "
            f"{len(report.stricter)} now stricter",
            err=True,
        )


@main.group(invoke_without_command=True)
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True)
@click.option("--action", type=click.Choice(AUDIT_ACTIONS, case_sensitive=False), help="Only this action.")
@rows_format_option
@click.pass_context
@handle_errors
def audit(ctx: click.Context, limit: int, action: str | None, fmt: str) -> None:
    """Show the audit log (the newest entries); `audit verify` checks its hash chain."""
    if ctx.invoked_subcommand is not None:
        return
    store = open_store(ctx)
    try:
        entries = store.audit_entries(limit, action)
    finally:
        store.close()
    rows = [
        {"id": e.id, "at": e.at.isoformat() + "Z", "actor": e.actor, "action": e.action, "subject": e.subject,
         "details": json_text(e.details, default=str, separators=(", ", ": ")), "hash": e.hash[:12]}
        for e in entries
    ]  # fmt: skip
    _print_rows(rows, ["id", "at", "actor", "action", "subject", "details", "hash"], fmt, "Audit log")


@audit.command("verify")
@click.option(
    "--expect", multiple=True, metavar="HASH", callback=lambda _c, _p, v: tuple(_head_hash(h) for h in v),
    help="Fail unless the chain still holds this head (the hash `audit verify` printed).",
)  # fmt: skip
@click.option(
    "--head-file", type=click.Path(path_type=Path), help="Keep the head here: fail unless the chain still holds "
    "the head it notes, then note the new one (kept where the database's users cannot write)."
)  # fmt: skip
@click.pass_context
@handle_errors
def audit_verify(ctx: click.Context, expect: tuple[str, ...], head_file: Path | None) -> None:
    """Check the audit log's hash chain, that every decision and outcome still says what
    it sealed and that no sealed row is missing or stored unsealed; print the head (entry
    count and last hash). Exit 2 and name the first problem if not."""
    from .errors import LocatedError, Location

    noted = _noted_head(head_file) if head_file is not None else []
    store = open_store(ctx)
    try:
        result = store.verify_audit([*expect, *noted])
    finally:
        store.close()
    if not result.ok:
        where = LocatedError(Location("audit log"), result.problem or "broken")
        raise CliError(f"audit log tampered with: {where}", EXIT_INPUT, "restore the database from a backup")
    click.echo(f"ok: {result.entries} entries, chain intact, last hash {result.last_hash}")
    click.echo(f"head {result.entries} {result.last_hash}")
    if head_file is not None:
        try:
            head_file.write_text(f"head {result.entries} {result.last_hash}\n", encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write the head file {head_file}: {exc.strerror or exc}", EXIT_INPUT) from None


def _head_hash(value: str) -> str:
    text = value.strip().lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise click.BadParameter(f"{value!r} is not a head hash (64 hexadecimal digits, as `audit verify` prints)")
    return text


def _noted_head(path: Path) -> list[str]:
    """The hash a head file notes; none when it does not exist yet (the first run)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the head file {path}: {exc}", EXIT_INPUT) from None
    parts = text.split()
    if len(parts) != 3 or parts[0] != "head" or not parts[1].isdigit() or len(parts[2]) != 64:
        raise CliError(f"{path}:1: not a head file (expected: head COUNT HASH)", EXIT_INPUT)
    return [parts[2]]


__all__ = ["audit", "decisions", "err_console", "outcome", "rescreen", "stats", "submit"]
