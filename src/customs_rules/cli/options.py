"""Options and printing shared by the officer commands (`officer`, `decisions`, `audit`):
who acts, the output format, the two kinds of period, and rows as a table, JSON or CSV."""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..io.safe_text import SafeCsvWriter, json_text, terminal_text

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


def check_period(kind: str, since: dt.date | None, until: dt.date | None) -> None:
    if since and until and since > until:
        raise click.UsageError(f"--{kind}-since {since} is after --{kind}-until {until}: nothing can match")


def print_rows(rows: list[dict[str, Any]], columns: list[str], fmt: str, title: str) -> None:
    from rich.table import Table
    from rich.text import Text

    from ..report import tables

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
    tables.stdout_console().print(table)


def said_where(parts: list[str], options: dict[str, Any], files: tuple[tuple[str, str], ...]) -> str:
    """How a run ended, one line for the terminal: `parts`, then each output file given
    (`files`: option name, what it holds)."""
    given = [f"{what} in {options[option]}" for option, what in files if options.get(option)]
    return terminal_text("; ".join([*parts, *given]))


def probe_writable(path: Path) -> None:
    """Raise OSError when `path` cannot be written: an output file is said unwritable
    before anything is screened, not after."""
    if path.is_dir():
        raise IsADirectoryError(21, "is a directory", str(path))
    probe = path.with_name(path.name + ".probe")
    with probe.open("w"):
        pass
    probe.unlink()
