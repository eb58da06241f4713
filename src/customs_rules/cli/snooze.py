"""`customs-rules rules snooze|snoozes|unsnooze`: suppress one rule for one party until a
day, list the snoozes, lift one. Each set and lift goes to the audit chain (`store.snoozes`);
screening applies the active ones (`rules.allowances`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from ..io.safe_text import terminal_text
from .base import EXIT_INPUT, CliError, handle_errors, open_store, rules_option
from .options import _date, officer_option, print_rows, rows_format_option
from .rules import rules

MAX_DAYS = 366  # a snooze is for a while; for longer, the trusted-trader list (reviewed, versioned)
STATES = ("active", "expired", "lifted")
COLUMNS = ["id", "rule_id", "party", "until", "state", "reason", "officer", "set_at", "lifted_at", "lifted_by",
           "lift_reason"]  # fmt: skip


@rules.command("snooze")
@click.argument("rule_id")
@click.option("--party", required=True, help="The party's company id (BIN, INN...), as exporter or consignee.")
@click.option("--until", "until", required=True, callback=_date, metavar="YYYY-MM-DD",
              help=f"The last day it applies (UTC day of screening), today to {MAX_DAYS} days ahead.")  # fmt: skip
@click.option("--reason", required=True, help="Why: stored, sealed in the audit log and shown as evidence.")
@officer_option
@rules_option
@click.pass_context
@handle_errors
def rules_snooze(
    ctx: click.Context, rule_id: str, party: str, until: dt.date, reason: str, officer: str | None,
    rules_dir: Path | None,
) -> None:  # fmt: skip
    """Suppress RULE_ID for one party until a day: its findings on declarations of that
    party (either role) are waived, and say so, when screened up to that day."""
    from ..contract.input_text import given_text
    from ..entities.persons import normalize_id
    from ..rules.loader import load_pack
    from ..workflow import screener
    from ..workflow.officer import current_officer

    pack = load_pack(rules_dir or screener.default_rules_dir())
    found = {r.id: r for r in pack.rules}
    rule = found.get(rule_id)
    if rule is None:
        import difflib  # only for a mistyped rule id: every command's start imports this module

        close = difflib.get_close_matches(rule_id, list(found), n=1)
        hint = f"did you mean {close[0]!r}?" if close else "customs-rules rules list shows the rules"
        raise CliError(terminal_text(f"no rule {rule_id!r} in the pack"), EXIT_INPUT, hint)
    if not rule.waivable:
        raise CliError(f"rule {rule_id} is marked waivable: false (sanctions, the watchlist): it cannot be snoozed",
                       EXIT_INPUT)  # fmt: skip
    key = normalize_id(given_text(party, "--party"))
    if not key or not key.isascii():
        raise CliError(terminal_text(f"--party {party!r} must be a company id of letters and digits"), EXIT_INPUT)
    today = dt.datetime.now(dt.UTC).date()
    if not today <= until <= today + dt.timedelta(days=MAX_DAYS):
        raise CliError(f"--until {until} must lie from today ({today}) to {MAX_DAYS} days ahead", EXIT_INPUT,
                       "for longer, add the company to rules/lists/trusted_traders.yaml")  # fmt: skip
    reason = given_text(reason, "--reason").strip()
    if not reason:
        raise CliError("--reason must say why", EXIT_INPUT)
    who = current_officer(officer)
    store = open_store(ctx)
    try:
        snooze = store.add_snooze(rule_id, key, until, reason, who)
    finally:
        store.close()
    click.echo(terminal_text(f"snoozed {rule_id} for party {key} until {until} (#{snooze.id}), by {who}"), err=True)


@rules.command("snoozes")
@click.option("--state", type=click.Choice(STATES, case_sensitive=False), default=None,
              help="Only the snoozes in this state (default: all).")  # fmt: skip
@rows_format_option
@click.pass_context
@handle_errors
def rules_snoozes(ctx: click.Context, state: str | None, fmt: str) -> None:
    """List the snoozes, the newest first: active, expired and lifted."""
    from ..store.snoozes import describe

    store = open_store(ctx)
    try:
        found = store.snoozes()
    finally:
        store.close()
    today = dt.datetime.now(dt.UTC).date()
    rows = [row for row in (describe(s, today) for s in found) if state is None or row["state"] == state.lower()]
    print_rows(rows, COLUMNS, fmt.lower(), "Snoozes")


@rules.command("unsnooze")
@click.argument("snooze_id")
@click.option("--reason", default=None, help="Why it is lifted (stored and sealed).")
@officer_option
@click.pass_context
@handle_errors
def rules_unsnooze(ctx: click.Context, snooze_id: str, reason: str | None, officer: str | None) -> None:
    """Lift snooze SNOOZE_ID (N or #N, as `rules snoozes` lists it) now; it stays listed."""
    from ..contract.input_text import given_text
    from ..workflow.officer import current_officer

    number = snooze_id.strip().removeprefix("#")
    if not (number.isascii() and number.isdigit() and len(number) <= 18):
        raise CliError(terminal_text(f"{snooze_id!r} is no snooze number (N or #N)"), EXIT_INPUT,
                       "customs-rules rules snoozes lists them")  # fmt: skip
    reason = given_text(reason, "--reason") if reason is not None else None
    who = current_officer(officer)
    store = open_store(ctx)
    try:
        snooze = store.lift_snooze(int(number), who, reason)
    finally:
        store.close()
    click.echo(terminal_text(f"lifted snooze #{snooze.id} ({snooze.rule_id} for party {snooze.party}), by {who}"),
               err=True)  # fmt: skip
