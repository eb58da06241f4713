"""The command line: a thin click layer over the library API (`api`).

stdout carries only decisions; errors, progress and summaries go to stderr.
Exit codes: 0 every declaration screened; 2 bad rules, an unreadable file or at least
one rejected declaration (the good ones are still screened and stored); 1 internal error.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gc
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .errors import CustomsRulesError
from .safe_text import json_text, terminal_text
from .storage import ENV_DB, default_db_url

# Everything else is imported inside the commands that use it: `--help` and argument
# errors must answer at once, without SQLAlchemy, pydantic or the rules engine
# (tests/test_cold_start.py holds this).
if TYPE_CHECKING:
    from rich.console import Console

    from .storage import Store

F = TypeVar("F", bound=Callable[..., Any])
EXIT_OK, EXIT_INTERNAL, EXIT_INPUT = 0, 1, 2


class CliError(click.ClickException):
    """A library error as the user sees it: what, where, a hint, and the documented code."""

    def __init__(self, message: str, exit_code: int, hint: str | None = None) -> None:
        super().__init__(message + (f"\nhint: {hint}" if hint else ""))
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: Any = None) -> None:
        # messages quote what the user gave (file names, values): escaped for the terminal
        click.echo(f"Error: {terminal_text(self.format_message(), keep_newlines=True)}", err=True)


def handle_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # the reader of stdout went away (`| head`): stop quietly, as Unix tools do
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(EXIT_INTERNAL)
        except CustomsRulesError as exc:
            raise CliError(str(exc), exc.exit_code, exc.hint) from None
        except Exception as exc:  # noqa: BLE001 - the user gets a message, never a traceback
            if os.environ.get("CUSTOMS_RULES_DEBUG"):
                raise
            raise CliError(
                f"internal error: {type(exc).__name__}: {exc}",
                EXIT_INTERNAL,
                "set CUSTOMS_RULES_DEBUG=1 to see the traceback, and report it",
            ) from None

    return wrapper  # type: ignore[return-value]


@contextlib.contextmanager
def importing_library() -> Iterator[None]:
    """Around a command's first imports of the library (SQLAlchemy, SQLModel, pydantic,
    the engine): they create some 200,000 objects that live until the process exits, and
    the cyclic garbage collector would walk them again and again while they load, finding
    nothing (a tenth of a cold `submit`'s CPU time). Collection resumes after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@functools.cache
def skip_collection_at_exit() -> None:
    """At exit the interpreter walks every object once more looking for cycles, only to
    free memory the system takes back anyway: gc.freeze() in an exit handler spares that
    walk (a tenth of a cold `submit`). Nothing relies on it: the store closes its
    connections itself (Store.close), and modules are still torn down as usual."""
    atexit.register(gc.freeze)


def err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


rules_option = click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Rule pack directory (default: the bundled pack).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    envvar=ENV_DB,
    default=None,
    help=f"Database URL (sqlite:///FILE or postgresql+psycopg://...); also ${ENV_DB}. "
    "Default: an SQLite file under ~/.local/share/customs-rules/.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary on stderr.")
@click.version_option(package_name="customs-rules")
@click.pass_context
def main(ctx: click.Context, db: str | None, quiet: bool) -> None:
    """customs-rules: screen shipment declarations against declarative risk rules and
    say hold, inspect or release, with the evidence behind each finding."""
    ctx.obj = {"db": db or default_db_url(), "quiet": quiet}
    skip_collection_at_exit()


WRITING = {"submit", "screen", "load", "outcome", "rescreen"}  # the commands that may create the database


def open_store(ctx: click.Context) -> Store:
    from .storage import Store

    # a read-only command on a mistyped path must say so, not report on a new empty file
    return Store(ctx.obj["db"], create=ctx.command.name in WRITING)


@main.group()
def rules() -> None:
    """Validate, list and test the rule pack."""


@rules.command("validate")
@rules_option
@handle_errors
def rules_validate(rules_dir: Path | None) -> None:
    """Check every rule file, list and the policy; report all errors with file:line."""
    from . import api
    from .errors import ErrorList
    from .rules import parse_pack
    from .validators import validate_pack

    directory = rules_dir or api.default_rules_dir()
    pack, errors = parse_pack(directory)
    errors += validate_pack(pack)
    if errors:
        raise CliError(str(ErrorList(f"rule pack {directory} is invalid", errors)), EXIT_INPUT)
    click.echo(f"ok: {len(pack.rules)} rules, {len(pack.reference.hs_lists)} lists, version {pack.version}", err=True)


@rules.command("list")
@rules_option
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"], case_sensitive=False), default="table", show_default=True
)
@handle_errors
def rules_list(rules_dir: Path | None, fmt: str) -> None:
    """List the rules: id, status, action, score, family and title."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from . import api, reporting
    from .rules import load_pack

    pack = load_pack(rules_dir or api.default_rules_dir())
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
        cells = (r.id, r.status.value, r.action.value, reporting.number_text(r.score), r.family, r.title)
        table.add_row(*(Text(terminal_text(c)) for c in cells))
    Console(highlight=False).print(table)


@rules.command("test")
@rules_option
@handle_errors
def rules_test(rules_dir: Path | None) -> None:
    """Run every rule's embedded examples through the engine; exit 2 if any fails."""
    from . import api
    from .examples import run_examples
    from .rules import load_pack

    pack = load_pack(rules_dir or api.default_rules_dir())
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
    from .facts import FIELDS

    for spec in FIELDS.values():
        missing = " (may be missing)" if spec.nullable else ""
        click.echo(f"{spec.name:36} {spec.type.value:13} {spec.description}{missing}")


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
    from . import api
    from .workflow import current_officer

    store = open_store(ctx)
    try:
        result = api.load_registry(store, companies, people, watchlist, current_officer())
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

    from . import api, reporting
    from .policy import policy_from
    from .rules import load_pack

    threshold = policy_from(load_pack(rules_dir or api.default_rules_dir()).policy_doc).name_threshold
    store = open_store(ctx)
    try:
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
    reporting.stdout_console().print(table)


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
    from .registry import normalize_id

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


# the batch and officer commands register themselves on `main`
from . import batch_cli, officer_cli  # noqa: E402, F401
