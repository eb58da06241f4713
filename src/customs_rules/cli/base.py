"""The command line: the `customs-rules` group and what its commands share (errors, exit codes, the store).

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
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ..contract.errors import CustomsRulesError
from ..io.safe_text import terminal_text
from ..runtime import gc_paused
from ..store import ENV_DB, default_db_url

# Everything else is imported inside the commands that use it: `--help` and argument
# errors must answer at once, without SQLAlchemy, pydantic or the rules engine
# (tests/test_cold_start.py holds this).
if TYPE_CHECKING:
    from rich.console import Console

    from ..store import Store

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
    nothing (a tenth of a cold `submit`'s CPU time). Collection resumes after, without
    them: they are frozen (`gc.freeze`), else every object the command makes would set
    off collections that walk all of them again, first as the youngest generation (where
    everything made with the collector off stays), then as the oldest."""
    with gc_paused(freeze=True, sweep=False):
        yield


POLARS_THREADS = "POLARS_MAX_THREADS"


def one_polars_thread() -> None:
    """Make polars' thread pool with one thread, unless polars is loaded already or
    $POLARS_MAX_THREADS says otherwise. For a command that screens a set of one (`submit`):
    its some 1,200 small queries gain nothing from a second thread, whose waiting for work
    between them cost about a tenth of a cold submit's CPU time on a busy machine. The
    variable is set only while the pool is made (its size is read once), so processes
    this one starts are not held to one thread."""
    if "polars" in sys.modules or POLARS_THREADS in os.environ:
        return
    os.environ[POLARS_THREADS] = "1"
    try:
        import polars

        polars.thread_pool_size()  # the pool is made now
    finally:
        del os.environ[POLARS_THREADS]


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
    help="Rule pack directory (default: the database's active pack, else the bundled pack).",
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
    stop_cleanly_on_sigterm(ctx)


def stop_cleanly_on_sigterm(ctx: click.Context) -> None:
    """SIGTERM (`kill`, a service manager) stops a command as an exception would, not at
    once: an open transaction is rolled back, a batch's workers and the temporary copy of
    the registry they map are removed, and what was reported stored stays stored. Exit
    code 143 (128 + 15), as a shell reports a terminated process; a second SIGTERM ends it
    at once. Only in the main thread (signals are delivered there), and the previous
    handler comes back when the command ends (the CLI may run inside another program)."""
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.signal(signal.SIGTERM, _terminated)
    ctx.call_on_close(lambda: signal.signal(signal.SIGTERM, previous))


def _terminated(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    click.echo("Terminated.", err=True)
    raise SystemExit(128 + signum)


WRITING = {"submit", "screen", "load", "outcome", "rescreen"}  # the commands that may create the database


def open_store(ctx: click.Context) -> Store:
    from ..store import Store

    # a read-only command on a mistyped path must say so, not report on a new empty file
    return Store(ctx.obj["db"], create=ctx.command.name in WRITING)
