"""`customs-rules screen`: the one batch command, from one declaration to millions of lines.

It streams the inputs, screens them on every core (or a Dask cluster), prints decisions
on stdout in input order, writes the optional results, rejects and report files, stores
in chunks, and ends with a summary on stderr. Exit 2 when anything was rejected, but
only after every good declaration was screened and stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..contract.errors import CustomsRulesError
from ..io.safe_text import terminal_text
from .base import EXIT_INPUT, err_console, handle_errors, main, open_store, rules_option
from .options import probe_writable, said_where

# the library is imported where it is used: see base.py (`--help` must not load it)
if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from ..contract.decision import Decision
    from ..store import Store
    from ..workflow import batch


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv"], case_sensitive=False), default="table",
    show_default=True,
    help="stdout: table for people; json: one decision per line (JSON Lines); csv: one row per declaration.",
)  # fmt: skip
@click.option("--out", type=click.Path(path_type=Path), help="Also write results here: .csv, else JSON Lines.")
@click.option("--per-finding", is_flag=True, help="--out gets one row per finding instead of per declaration.")
@click.option("--rejects", type=click.Path(path_type=Path), help="Write each bad line here: line, raw row, reason.")
@click.option("--report", type=click.Path(path_type=Path), help="Write a self-contained HTML report here.")
@click.option("--workers", type=click.IntRange(1), default=None, help="Worker processes [default: every core].")
@click.option("--cluster", metavar="tcp://HOST:8786", help="Screen on this Dask distributed scheduler.")
@click.option("--no-store", is_flag=True, help="Screen only; record nothing in the database.")
@click.option("--sheet", metavar="NAME", help="The sheet of each .xlsx input to read [default: its first sheet].")
@click.option(
    "--all", "--show-releases", "show_releases", is_flag=True,
    help="The table lists releases too (by default a batch's table shows holds and inspections only).",
)  # fmt: skip
@click.option("--officer", default=None, help="Who screens (recorded with each decision and in the audit log).")
@rules_option
@click.option(
    "--no-registry", is_flag=True,
    help="Screen without the registry (every party unknown), e.g. before one is loaded; marked in the audit log.",
)  # fmt: skip
@click.pass_context
@handle_errors
def screen(ctx: click.Context, paths: tuple[str, ...], **options: Any) -> None:
    """Screen declarations from PATHS: JSON, JSON Lines or batch CSV, each optionally
    gzip-compressed, .xlsx workbooks (the first sheet, or --sheet) and Parquet files,
    with the batch CSV's columns; '-' reads stdin. Any size: the inputs are streamed.

    Every good declaration is screened and stored; each rejected one is reported on
    stderr with its file, line or record, and field, and the exit code is then 2.
    """
    store = open_store(ctx)
    try:
        counts = _run(store, list(paths), ctx.obj["quiet"], **options)
    finally:
        store.close()
    if counts.rejected or counts.refused:
        ctx.exit(EXIT_INPUT)


def _run(store: Store, paths: list[str], quiet: bool, **options: Any) -> batch.Counts:
    from ..io.inputs import bytes_done, check_inputs
    from ..rules.policy import policy_from
    from ..workflow import batch
    from ..workflow.officer import current_officer
    from ..workflow.screener import allowances_for, check_registry, pack_in_force

    started = time.monotonic()
    check_inputs(paths)  # a mistyped path or a workbook: refused before anything is screened
    chosen = pack_in_force(store, options["rules_dir"])
    pack = chosen.pack
    if chosen.from_database and not quiet:
        click.echo(f"screening with {chosen.origin}", err=True)
    # before anything is opened or screened: no registry is refused (exit 2)
    check = check_registry(store, policy_from(pack.policy_doc), options["no_registry"])
    options["allowances"], allowed = allowances_for(store, pack)  # snoozes, the random-selection seed
    for warning in check.warnings + allowed:
        click.echo(warning, err=True)
    options["officer"] = current_officer(options["officer"])
    keep = not options["no_store"]
    err = err_console()
    counts = batch.Counts()
    with ExitStack() as files:
        progress = _progress(err, quiet, paths)
        sinks = _Sinks(options, files, progress)  # before anything is screened: a bad path stops nothing half-done
        if keep:
            store.record_ruleset(pack.version, pack.contents, options["officer"])
        at = dt.datetime.now(dt.UTC)
        spool = batch.Spool()  # the inputs as the history's pre-pass read them: not parsed twice
        files.callback(spool.close)
        screening = _screening(store, pack, at, options, paths, spool, files)
        writer = _writer(store.url, options["officer"]) if keep else None
        outcomes = batch.screen_files(paths, screening, writer, sys.stdin, options["sheet"], spool=spool)
        with progress:
            task = progress.add_task("screening", total=_total_bytes(paths))
            for number, outcome in enumerate(_flag_repeated_ids(outcomes, err, spool.repeated)):
                counts.add(outcome)
                sinks.write(outcome)
                if number % PROGRESS_EVERY == 0:
                    progress.update(task, completed=bytes_done(), lines=counts.lines)
            # the last writes happen under the bar, so the summary follows it at once
            sinks.finish(pack.version, at, paths, counts)
    if not quiet:
        _summary(err, counts)
        if check.without_registry:
            click.echo(f"{counts.declarations} declaration(s) screened WITHOUT a registry (--no-registry)", err=True)
        stored_in = store.url if keep and counts.declarations else None
        click.echo(_where(time.monotonic() - started, stored_in, keep, options), err=True)
    return counts


PROGRESS_EVERY = 1000  # outcomes between updates of the bar: it redraws 10 times a second at most anyway


def _writer(db_url: str, officer: str | None) -> Any:
    """Stores on a thread of this process, with a connection of its own, while the
    next chunks are screened."""
    from ..store import Store
    from ..store.writer import SetWriter

    return SetWriter(Store(db_url), "screen", officer)


def _where(seconds: float, db_url: str | None, keep: bool, options: dict[str, Any]) -> str:
    """How long the run took and where its results are (the database URL without its password)."""
    stored = f"stored in {_safe_url(db_url)}" if db_url else "nothing stored" if keep else "not stored (--no-store)"
    files = (("out", "results"), ("rejects", "rejected lines"), ("report", "report"))
    return said_where([f"done in {seconds:.1f} s", stored], options, files)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "the database"  # not a URL we can read: say nothing that might be a secret


def _screening(
    store: Store, pack: Any, at: dt.datetime, options: dict[str, Any], paths: list[str], spool: batch.Spool,
    files: ExitStack,
) -> batch.ChunkScreener:  # fmt: skip
    """Where chunks are screened: here, on worker processes, or on a Dask cluster."""
    from ..entities.registry import RegistryIndex
    from ..report.outputs import takes_lines
    from ..workflow import batch

    without = options["no_registry"]
    empty = RegistryIndex([], [], [])
    # the decisions only for the outputs that read them (JSON Lines, stdout's and --out's, come as text)
    lines = options["out"] is not None and takes_lines(options["out"], options["per_finding"])
    wanted = batch.Wanted(
        not options["no_store"], options["fmt"] != "json" or (bool(options["out"]) and not lines),
        bool(options["report"]), lines,
    )  # fmt: skip
    workers = options["workers"] or batch.default_workers()
    # each worker reads the registry as `registry load` compiled it (`CompiledRegistry.from_store`)
    worker = batch.Worker(pack, empty if without else None, store.url, without, allowances=options["allowances"])
    early = None
    if not options["cluster"] and batch.worth_starting_early(paths, workers):
        # the workers boot while the pre-pass reads; a run stopped before screening stops them
        early = files.enter_context(batch.PoolStart(worker, workers))
    history = batch.run_history(store, paths, options["sheet"], pack.reference, spool)  # the past the facts read
    if options["cluster"]:
        from ..workflow.cluster import Compiled, cluster_screening

        # cluster workers have no database: they get the registry as compiled at its load
        snapshot = Compiled.of(empty) if without else Compiled.from_store(store)
        return cluster_screening(
            options["cluster"], pack, snapshot, at, wanted, without, history, options["allowances"]
        )
    return batch.local_screening(dataclasses.replace(worker, history=history), at, workers, wanted, early)


def _flag_repeated_ids(
    outcomes: Iterator[batch.Outcome], err: Console, repeated: set[str] | None = None
) -> Iterator[batch.Outcome]:
    """One id with two different contents in one run: both are kept (the later as a new
    revision, as `submit` does), and the analyst is told, since one is probably a mistake.
    `repeated`: the only ids that can repeat, when the pre-pass read every input (else
    every id is remembered: ~300 bytes each, 130 MB for a million-line file)."""
    seen: dict[str, tuple[bytes, str]] = {}
    for outcome in outcomes:
        if outcome.row is not None and (repeated is None or outcome.row["declaration_id"] in repeated):
            ident = outcome.row["declaration_id"]
            first = seen.setdefault(ident, (outcome.digest, outcome.location))
            if first[0] != outcome.digest:
                click.echo(
                    terminal_text(
                        f"warning: declaration {ident} at {outcome.location} repeats the id of {first[1]} "
                        "with other content; both were screened (the later is stored as a new revision)"
                    ),
                    err=True,
                )
        yield outcome


class _Sinks:
    """Where outcomes go: stdout in the chosen format, rejections to stderr, the files."""

    def __init__(self, options: dict[str, Any], files: ExitStack, progress: Progress) -> None:
        self.progress = progress
        try:
            self._open(options, files)
        except OSError as exc:
            raise OutputError(f"cannot write {exc.filename or ''}: {exc.strerror or exc}") from None

    def _open(self, options: dict[str, Any], files: ExitStack) -> None:
        from ..report import tables
        from ..report.outputs import RejectsFile, ReportRows, ResultsFile

        self.fmt = options["fmt"]
        self.out = sys.stdout
        self.csv = tables.CsvWriter(self.out) if self.fmt == "csv" else None
        self.table = (
            tables.TableStream(tables.stdout_console(), options["show_releases"], self._pause)
            if self.fmt == "table"
            else None
        )
        self.results = ResultsFile(options["out"], options["per_finding"]) if options["out"] else None
        self.rejects = RejectsFile(options["rejects"]) if options["rejects"] else None
        self.report_path: Path | None = options["report"]
        self.report = ReportRows() if self.report_path else None
        if self.report_path is not None:
            probe_writable(self.report_path)
        for sink in (self.results, self.rejects, self.report):
            if sink is not None:
                files.callback(sink.close)

    def write(self, outcome: batch.Outcome) -> None:
        from ..report import tables

        if outcome.row is None:
            assert outcome.rejected is not None
            for line in tables.rejection_lines(outcome.rejected):
                self._say(line)
            if self.rejects is not None:
                self.rejects.write(outcome.rejected)
            return
        if self.fmt == "json":
            self.out.write(outcome.text + "\n")  # made by the worker
        elif self.csv is not None:
            self.csv.write(self._decision(outcome))
        elif self.table is not None:
            self.table.add(self._decision(outcome))
        if self.results is not None:
            if outcome.result:  # made by the worker
                self.results.write_line(outcome.result)
            else:
                self.results.write(self._decision(outcome))
        if self.report is not None:
            self.report.add(outcome.row, outcome.text)

    @staticmethod
    def _decision(outcome: batch.Outcome) -> Decision:
        assert outcome.decision is not None  # asked of the workers for these outputs: see _screening
        return outcome.decision

    def finish(self, version: str, at: dt.datetime, paths: list[str], counts: batch.Counts) -> None:
        if self.table is not None:
            self.table.close()
        self.out.flush()
        if self.report is not None and self.report_path is not None:
            from ..report.html import write_aggregate

            meta = {"title": "Screening report", "inputs": paths, "screened_at": at.isoformat().replace("+00:00", "Z"),
                    "ruleset_version": version, "lines": counts.lines, "screened_lines": counts.screened_lines,
                    "rejected_lines": counts.rejected_lines, "screened": counts.declarations,
                    "rejected": counts.rejected}  # fmt: skip
            write_aggregate(self.report_path, self.report.aggregate, meta)

    def _say(self, line: str) -> None:
        """A line on stderr; above the progress bar while it runs, so neither garbles the other."""
        if not self.progress.disable and self.progress.live.is_started:
            from rich.text import Text

            self.progress.console.print(Text(line), soft_wrap=True)
        else:
            click.echo(line, err=True)

    @contextmanager
    def _pause(self) -> Iterator[None]:
        """The bar steps aside while the table is printed on the same terminal."""
        live = not self.progress.disable and self.progress.live.is_started
        if live:
            self.progress.stop()
        try:
            yield
        finally:
            if live:
                self.progress.start()


class OutputError(CustomsRulesError):
    """An output file that cannot be written: said before anything is screened."""

    exit_code = 2


def _progress(err: Console, quiet: bool, paths: list[str]) -> Progress:
    """Bytes read against the inputs' sizes (so the ETA is honest), and lines/s; only for
    a person watching a terminal."""
    from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn, TimeRemainingColumn
    from rich.text import Text

    class _LinesPerSecond(ProgressColumn):
        def render(self, task: Task) -> Text:
            lines = task.fields.get("lines", 0)
            speed = lines / task.elapsed if task.elapsed else 0
            return Text(f"{lines:,} lines, {speed:,.0f} lines/s")

    return Progress(
        SpinnerColumn(), BarColumn(), TextColumn("{task.percentage:>3.0f}%"), _LinesPerSecond(),
        TextColumn("ETA"), TimeRemainingColumn(),
        console=err, transient=True, redirect_stdout=False, disable=quiet or not err.is_terminal,
    )  # fmt: skip


def _total_bytes(paths: list[str]) -> int | None:
    sizes = [Path(p).stat().st_size for p in paths if p != "-" and Path(p).is_file()]
    return sum(sizes) if len(sizes) == len(paths) and sizes else None


def _summary(err: Console, counts: batch.Counts) -> None:
    from rich.table import Table
    from rich.text import Text

    d = counts.decisions
    click.echo(
        f"{counts.lines} lines: {counts.screened_lines} screened in {counts.declarations} declaration(s) "
        f"({d['hold']} hold, {d['inspect']} inspect, {d['release']} release), "
        f"{counts.rejected_lines} rejected in {counts.rejected} declaration(s)"
        + (
            f"; {len(counts.refused)} input(s) not read: {terminal_text(', '.join(counts.refused))}"
            if counts.refused
            else ""
        ),
        err=True,
    )
    if counts.declarations < 2:
        return  # one declaration needs no tables
    table = Table(title="Summary", show_header=True)
    table.add_column("decision")
    table.add_column("declarations", justify="right")
    table.add_column("lines", justify="right")
    for verdict in ("hold", "inspect", "release"):
        table.add_row(verdict, str(d[verdict]), str(counts.decided_lines[verdict]))
    table.add_row("rejected", str(counts.rejected), str(counts.rejected_lines))
    err.print(table)
    for title, data in (("Top rules", counts.rules), ("Top held exporters", counts.held_exporters),
                        ("Top held consignees", counts.held_consignees)):  # fmt: skip
        if data:
            top = Table(title=title)
            top.add_column("name")
            top.add_column("declarations", justify="right")
            for name, n in sorted(data.items(), key=lambda kv: (-kv[1], kv[0]))[:10]:
                top.add_row(Text(terminal_text(name)), str(n))
            err.print(top)
