"""`customs-rules audit` and `audit verify`: read the audit log and check its hash chain."""

from __future__ import annotations

from pathlib import Path

import click

from ..contract.choices import AUDIT_ACTIONS
from ..io.safe_text import json_text
from .base import EXIT_INPUT, CliError, handle_errors, main, open_store
from .options import (
    print_rows,
    rows_format_option,
)

# the library is imported inside each command: see base.py (`--help` must not load it)


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
    print_rows(rows, ["id", "at", "actor", "action", "subject", "details", "hash"], fmt, "Audit log")


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
    from ..contract.errors import LocatedError, Location

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
