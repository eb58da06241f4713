"""`customs-rules rules ...`: validate, list and test the rule pack, and list the fact fields."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..io.safe_text import json_text, terminal_text
from .base import EXIT_INPUT, CliError, handle_errors, main, open_store, rules_option

if TYPE_CHECKING:
    from ..rules.model import RulePack

# the library is imported inside each command: see base.py (`--help` must not load it)


@main.group()
def rules() -> None:
    """Validate, list, test and publish rule packs (four eyes: publish, then another
    officer approves). Without --rules, commands use the database's active pack, else
    the bundled pack."""


@contextmanager
def pack_folder(ctx: click.Context, rules_dir: Path | None) -> Iterator[tuple[Path, str]]:
    """The folder of the pack in force and what it is: --rules, else the database's
    active pack (materialised in a temporary folder for the block), else the bundled one.
    No database at all is no active pack."""
    from ..rules.packs import materialised
    from ..store.connect import MissingDatabase
    from ..workflow import screener

    if rules_dir is not None:
        yield rules_dir, str(rules_dir)
        return
    try:
        store = open_store(ctx)
    except MissingDatabase:
        store = None
    try:
        active = store.active_pack() if store is not None else None
    finally:
        if store is not None:
            store.close()
    if active is None or active.contents is None:
        yield screener.default_rules_dir(), "the bundled pack"
        return
    with materialised(active.contents, f"pack-{active.number}") as folder:
        yield folder, f"the active pack {active.label}"


def pack_of(ctx: click.Context, rules_dir: Path | None) -> RulePack:
    from ..rules.loader import load_pack

    with pack_folder(ctx, rules_dir) as (folder, _):
        return load_pack(folder)


@rules.command("validate")
@rules_option
@click.pass_context
@handle_errors
def rules_validate(ctx: click.Context, rules_dir: Path | None) -> None:
    """Check every rule file, list and the policy; report all errors with file:line."""
    from ..contract.errors import ErrorList
    from ..rules.loader import parse_pack
    from ..rules.validators import validate_pack

    with pack_folder(ctx, rules_dir) as (directory, what):
        pack, errors = parse_pack(directory)
        errors += validate_pack(pack)
    if errors:
        shown = what if what.startswith("the active") else f"rule pack {directory}"
        raise CliError(str(ErrorList(f"{shown} is invalid", errors)), EXIT_INPUT)
    counts = f"{len(pack.rules)} rules, {len(pack.reference.hs_lists)} lists"
    if pack.reference.keyword_lists:
        counts += f", {len(pack.reference.keyword_lists)} keyword lists"
    of = f" ({what})" if what.startswith("the active") else ""
    click.echo(f"ok: {counts}, version {pack.version}{of}", err=True)


@rules.command("list")
@rules_option
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"], case_sensitive=False), default="table", show_default=True
)
@click.pass_context
@handle_errors
def rules_list(ctx: click.Context, rules_dir: Path | None, fmt: str) -> None:
    """List the rules: id, status, action, score, family and title."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ..report import tables

    pack = pack_of(ctx, rules_dir)
    if fmt == "json":
        for r in pack.rules:
            row = {"id": r.id, "status": r.status.value, "action": r.action.value, "score": r.score,
                   "family": r.family, "title": r.title, "source": f"{r.source}:{r.line}"}  # fmt: skip
            click.echo(json_text(row, separators=(", ", ": ")))
        return
    table = Table(title=f"Rules ({pack.version[:19]}…)")
    for column in ("id", "status", "action", "score", "family", "title"):
        table.add_column(column, no_wrap=column == "id")
    for r in pack.rules:
        cells = (r.id, r.status.value, r.action.value, tables.number_text(r.score), r.family, r.title)
        table.add_row(*(Text(terminal_text(c)) for c in cells))
    Console(highlight=False).print(table)


@rules.command("test")
@rules_option
@click.pass_context
@handle_errors
def rules_test(ctx: click.Context, rules_dir: Path | None) -> None:
    """Run every rule's embedded examples through the engine; exit 2 if any fails."""
    from ..engine.examples import run_examples

    pack = pack_of(ctx, rules_dir)
    results = run_examples(pack)
    failed = [r for r in results if not r.passed]
    for result in failed:
        click.echo(terminal_text(f"FAIL {result.describe()}", keep_newlines=True), err=True)
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed", err=True)
    if failed:
        sys.exit(EXIT_INPUT)


@rules.command("fields")
def rules_fields() -> None:
    """List the fact fields that rule conditions can read, with their types."""
    from ..contract.facts import FIELDS

    for spec in FIELDS.values():
        missing = " (may be missing)" if spec.nullable else ""
        click.echo(f"{spec.name:36} {spec.type.value:13} {spec.description}{missing}")
