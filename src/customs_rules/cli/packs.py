"""`customs-rules rules publish|approve|reject|history|diff`: rule packs published in the
database with four eyes (`workflow.publishing`). Exit codes: 0 done; 2 a pack, a
reference or a summary refused (nothing changed); 3 the four-eyes rule: the officer
approving is the one who proposed it; 1 internal error."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..io.safe_text import json_text, terminal_text
from .base import handle_errors, open_store
from .options import officer_option, print_rows, rows_format_option
from .rules import rules

if TYPE_CHECKING:
    from ..rules.diff import PackDiff
    from ..store import PackVersion, Store

note_option = click.option("--note", default=None, help="Why: kept with the pack and in the audit log.")


@rules.command("publish")
@click.option("--rules", "rules_dir", type=click.Path(path_type=Path), required=True, help="The pack's folder.")
@officer_option
@note_option
@click.option(
    "--backtest",
    type=click.Path(path_type=Path),
    default=None,
    help="The backtest's JSON summary (one JSON object), stored beside the pack.",
)
@click.pass_context
@handle_errors
def rules_publish(
    ctx: click.Context, rules_dir: Path, officer: str | None, note: str | None, backtest: Path | None
) -> None:
    """Validate the pack in --rules (every error, with file:line; its examples must pass)
    and store it in the database as a proposed pack, with its backtest summary. Another
    officer makes it active with `rules approve`."""
    from ..store import Store
    from ..workflow import publishing
    from ..workflow.officer import current_officer

    who = current_officer(officer)
    store = Store(ctx.obj["db"], create=True)
    try:
        proposed = publishing.publish(store, rules_dir, who, note, backtest)
        changes = _against_active(store, proposed)
    finally:
        store.close()
    click.echo(terminal_text(f"proposed #{proposed.number}: {proposed.version} by {proposed.proposed_by}"))
    if not ctx.obj["quiet"]:
        click.echo(terminal_text(changes), err=True)
        click.echo(
            f"another officer makes it active: customs-rules rules approve {proposed.number} --officer NAME", err=True
        )


def _against_active(store: Store, proposed: PackVersion) -> str:
    """One line: what the proposed pack changes from the pack in force now."""
    from ..workflow import publishing

    active = store.active_pack()
    _, _, found = publishing.diff(store, "active" if active else "bundled", f"#{proposed.number}")
    return f"against {f'the active pack {active.label}' if active else 'the bundled pack'}: {_counts(found)}"


def _counts(found: PackDiff) -> str:
    lists = sum(len(v) for v in found.lists.values())
    return (
        f"{len(found.added)} rule(s) added, {len(found.removed)} removed, {len(found.changed)} changed; "
        f"{len(found.policy)} policy value(s) and {lists} list file(s) changed"
    )


@rules.command("approve")
@click.argument("version")
@officer_option
@note_option
@click.pass_context
@handle_errors
def rules_approve(ctx: click.Context, version: str, officer: str | None, note: str | None) -> None:
    """Make the proposed pack VERSION (its number, 3 or '#3', or sha256:... of it) the
    active pack of every post on this database. The officer who proposed it cannot
    (four eyes: exit 3); the pack active before is superseded."""
    from ..workflow import publishing
    from ..workflow.officer import current_officer

    who = current_officer(officer)
    store = open_store(ctx)
    try:
        approved, superseded = publishing.approve(store, version, who, note)
    finally:
        store.close()
    before = f"; #{superseded} superseded" if superseded is not None else ""
    click.echo(terminal_text(f"approved #{approved.number}: {approved.version} by {approved.decided_by}, "
                             f"proposed by {approved.proposed_by}: the active pack{before}"))  # fmt: skip


@rules.command("reject")
@click.argument("version")
@officer_option
@note_option
@click.pass_context
@handle_errors
def rules_reject(ctx: click.Context, version: str, officer: str | None, note: str | None) -> None:
    """Refuse the proposed pack VERSION, or withdraw one's own proposal: it can no
    longer be approved (publish its folder again to propose it anew)."""
    from ..workflow import publishing
    from ..workflow.officer import current_officer

    who = current_officer(officer)
    store = open_store(ctx)
    try:
        done = publishing.reject(store, version, who, note)
    finally:
        store.close()
    click.echo(terminal_text(f"{done.status} #{done.number}: {done.version} by {done.decided_by}"))


HISTORY = ["pack", "version", "status", "proposed_by", "proposed_at", "decided_by", "decided_at", "note", "backtest"]


@rules.command("history")
@click.option("--all", "everything", is_flag=True, help="Also the rule sets decisions used unpublished (`used`).")
@rows_format_option
@click.pass_context
@handle_errors
def rules_history(ctx: click.Context, everything: bool, fmt: str) -> None:
    """Every published pack, oldest first: its number, version, status (proposed,
    active, superseded, rejected, withdrawn), who proposed it and who approved, rejected
    or withdrew it, when, the notes and the backtest summary."""
    store = open_store(ctx)
    try:
        rows = [p.as_dict() for p in store.pack_versions()]
        used = store.unpublished_versions() if everything else []
    finally:
        store.close()
    from ..store.pack_rows import used_row

    rows += [used_row(v, at) for v, at in used]
    if fmt == "table":
        rows = [_shown(row) for row in rows]
    elif fmt == "csv":
        rows = [row | {"backtest": None if row["backtest"] is None else json_text(row["backtest"])} for row in rows]
    print_rows(rows, HISTORY, fmt, "Rule packs")
    if not rows and not ctx.obj["quiet"]:
        click.echo("no rule pack was published on this database: commands use the bundled pack", err=True)


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    """A history row for the table: short version, times to the minute, a summary's
    plain values."""
    shown = dict(row)
    shown["pack"] = "" if row["pack"] is None else f"#{row['pack']}"
    shown["version"] = row["version"][:19] + "…"
    for key in ("proposed_at", "decided_at"):
        shown[key] = (row[key] or "")[:16].replace("T", " ")
    summary = row["backtest"]
    if isinstance(summary, dict):
        plain = [f"{k}={v}" for k, v in summary.items() if isinstance(v, str | int | float | bool)]
        text = "; ".join(plain) or "yes"
        shown["backtest"] = text if len(text) <= 60 else text[:59] + "…"
    return shown


@rules.command("diff")
@click.argument("old")
@click.argument("new")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"], case_sensitive=False), default="table", show_default=True
)
@click.pass_context
@handle_errors
def rules_diff(ctx: click.Context, old: str, new: str, fmt: str) -> None:
    """What changes from pack OLD to pack NEW: rules added, removed and changed (with
    the fields that changed), policy values and list files. Each is a pack number (3 or
    '#3'), a version (sha256:...), 'active', 'bundled' or a rules folder."""
    from ..workflow import publishing

    store = _existing_store(ctx)
    try:
        one, other, found = publishing.diff(store, old, new)
    finally:
        if store is not None:
            store.close()
    if fmt == "json":
        click.echo(json_text({"from_pack": one.label, "to_pack": other.label} | found.as_dict()))
        return
    click.echo(terminal_text(f"rules diff {one.label} → {other.label} ({found.old_version[:19]}… → "
                             f"{found.new_version[:19]}…)"))  # fmt: skip
    for line in _diff_lines(found):
        click.echo(terminal_text(line))


def _existing_store(ctx: click.Context) -> Store | None:
    """The database if there is one: folders and the bundled pack need none."""
    from ..store.connect import MissingDatabase

    try:
        return open_store(ctx)
    except MissingDatabase:
        return None


def _diff_lines(found: PackDiff) -> list[str]:
    if found.empty:
        return ["no differences"]
    lines: list[str] = []

    def rule(mark: str, r: dict[str, Any]) -> str:
        return f"  {mark} {r['id']}  {r['status']} {r['action']} {r['score']:g}  {r['title']}"

    if found.added:
        lines += [f"added ({len(found.added)}):"] + [rule("+", r) for r in found.added]
    if found.removed:
        lines += [f"removed ({len(found.removed)}):"] + [rule("-", r) for r in found.removed]
    if found.changed:
        lines.append(f"changed ({len(found.changed)}):")
        for change in found.changed:
            parts = [
                f"{name} {_short(change.before[name])} → {_short(change.after[name])}"
                if name not in ("conditions", "examples", "description") else name
                for name in change.fields
            ]  # fmt: skip
            lines.append(f"  ~ {change.rule_id}: " + "; ".join(parts))
    if found.policy:
        lines.append(f"policy ({len(found.policy)}):")
        lines += [f"  ~ {p.path}: {_short(p.before)} → {_short(p.after)}" for p in found.policy]
    for kind, mark in (("added", "+"), ("removed", "-"), ("changed", "~")):
        if found.lists.get(kind):
            lines.append(f"lists {kind} ({len(found.lists[kind])}):")
            lines += [f"  {mark} {name}" for name in found.lists[kind]]
    return lines


def _short(value: Any) -> str:
    text = "(none)" if value is None else value if isinstance(value, str) else json_text(value)
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    return text if len(text) <= 60 else text[:59] + "…"
