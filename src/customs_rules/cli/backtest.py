"""`customs-rules backtest`: what a candidate rule pack would have decided on the stored
declarations, beside the baseline pack. Nothing is stored.

stdout: the declarations whose decision changes (table, JSON Lines or CSV); stderr: the
summary (the from -> to matrix, each pack's load and confirmed cases, hits per rule).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from .base import EXIT_INPUT, CliError, err_console, handle_errors, main, open_store
from .options import check_period, no_registry_option, period_options, probe_writable, rows_format_option, said_where

# the library is imported inside the command: see base.py (`--help` must not load it)


@main.command()
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path), required=True,
              help="The candidate rule pack directory.")  # fmt: skip
@click.option("--baseline", "baseline_dir", type=click.Path(path_type=Path), default=None,
              help="The pack to compare with [default: the database's active pack, else the bundled one].")  # fmt: skip
@period_options("declared")
@rows_format_option
@click.option("--out", type=click.Path(path_type=Path), help="Also write the changed declarations here: .csv, else JSON Lines.")  # fmt: skip  # noqa: E501
@click.option("--summary", "summary_path", type=click.Path(path_type=Path),
              help="Write the JSON summary object here (what `rules publish --backtest` keeps).")  # fmt: skip
@click.option("--report", type=click.Path(path_type=Path), help="Write a self-contained HTML report here.")
@click.option("--workers", type=click.IntRange(1), default=None, help="Worker processes [default: every core].")
@no_registry_option
@click.pass_context
@handle_errors
def backtest(ctx: click.Context, rules_dir: Path, baseline_dir: Path | None, declared_since: dt.date | None,
             declared_until: dt.date | None, fmt: str, **options: Any) -> None:  # fmt: skip
    """Screen the stored declarations (the newest revision of each, optionally only those
    dated within --declared-since/--declared-until) under the candidate pack (--rules) and
    the baseline, each declaration as of its own date (a rule is in force when its
    validity dates cover the declaration's date), and compare. Stores nothing.

    Lists the declarations whose decision changes; the summary (stderr, --summary, --report)
    gives the from -> to matrix, hits per rule, the inspection load and the confirmed cases
    (inspection outcome seized or irregularity) each pack catches and misses.
    """
    from ..report import backtest as out
    from ..rules.loader import load_pack
    from ..rules.policy import policy_from
    from ..workflow import backtest as workflow
    from ..workflow.batch_pool import default_workers
    from ..workflow.screener import check_registry, pack_in_force

    started = time.monotonic()
    check_period("declared", declared_since, declared_until)
    candidate = load_pack(rules_dir)  # a broken pack refuses before the store is opened
    baseline = load_pack(baseline_dir) if baseline_dir is not None else None
    for option in ("out", "summary_path", "report"):
        if options[option] is not None:
            _check_writable(options[option])
    store = open_store(ctx)
    try:
        sources = {"candidate": str(rules_dir), "baseline": str(baseline_dir)}
        if baseline is None:  # the database's active pack, else the bundled one
            in_force = pack_in_force(store)
            baseline, sources["baseline"] = in_force.pack, in_force.origin
        check = check_registry(store, policy_from(baseline.policy_doc), options["no_registry"])
        for warning in check.warnings:
            click.echo(warning, err=True)
        for note in _not_simulated(policy_from(candidate.policy_doc), policy_from(baseline.policy_doc)):
            click.echo(note, err=True)
        workers = options["workers"] or default_workers()
        with _progress(ctx.obj["quiet"]) as progress:
            report = workflow.backtest(store, candidate, baseline, declared_since, declared_until, workers,
                                       check.without_registry, progress, sources=sources)  # fmt: skip
    finally:
        store.close()
    rows = [change.as_dict() for change in report.changes]
    columns = workflow.CHANGE_COLUMNS
    summary = report.summary()
    out.print_changes(_stdout_console() if fmt == "table" else None, sys.stdout, rows, columns, fmt)
    if options["out"] is not None:
        out.write_changes(options["out"], rows, columns)
    if options["summary_path"] is not None:
        out.write_summary(options["summary_path"], summary)
    if options["report"] is not None:
        from ..report.backtest_html import write_backtest_report

        write_backtest_report(options["report"], summary, rows)
    if not ctx.obj["quiet"]:
        out.print_summary(err_console(), summary)
        click.echo(_done(report, time.monotonic() - started, options), err=True)


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """Declarations backtested against all of them, on a terminal only (never with -q)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    bar = Progress(BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err_console(), transient=True,
                   disable=quiet or not err_console().is_terminal)  # fmt: skip
    task = bar.add_task("backtest", total=None)
    with bar:
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _not_simulated(candidate: Any, baseline: Any) -> list[str]:
    """A pack's random selection is not drawn in a backtest (it compares the rules; the
    draw is the screening runs' own, from a seed kept outside the pack): said, so that
    nobody reads the inspection load as including it."""
    shares = [f"{share:g} in the {name} pack" for name, policy in (("candidate", candidate), ("baseline", baseline))
              if (share := policy.random_share) > 0]  # fmt: skip
    if not shares:
        return []
    return [f"note: random selection ({'; '.join(shares)}) is not drawn in a backtest: the inspection load and "
            "the matrix leave out the declarations it would add"]  # fmt: skip


def _stdout_console() -> Any:
    from ..report.tables import stdout_console

    return stdout_console()


def _done(report: Any, seconds: float, options: dict[str, Any]) -> str:
    parts = [
        f"backtested {report.declarations} declaration(s): {len(report.changes)} change their decision",
        f"done in {seconds:.1f} s",
        "nothing stored",
    ]
    return said_where(parts, options, (("out", "changes"), ("summary_path", "summary"), ("report", "report")))


def _check_writable(path: Path) -> None:
    """An output file that cannot be written is said before anything is screened."""
    try:
        probe_writable(path)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}", EXIT_INPUT) from None


__all__ = ["backtest"]
