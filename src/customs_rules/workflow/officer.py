"""The officer workflow on a shared store: submit, look up, record outcomes, rescreen,
and read the audit log. The library API the CLI's officer commands adapt."""

from __future__ import annotations

import datetime as dt
import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ..contract.decision import Decision
from ..contract.errors import StorageError
from ..contract.input_text import given_text
from ..contract.models import Declaration
from ..entities.registry import RegistryIndex
from ..io.parsing import Parsed, Rejected
from ..rules.allowances import Allowances
from ..rules.model import RulePack
from ..rules.policy import LEVELS, policy_from
from ..store import Store
from .screener import Screener, Screening, allowances_for, check_registry, pack_in_force

if TYPE_CHECKING:
    from ..entities.compiled import CompiledRegistry

ENV_OFFICER = "CUSTOMS_RULES_OFFICER"
ROLES = ("exporter", "consignee")


def current_officer(explicit: str | None = None) -> str:
    """Who acts: --officer, else $CUSTOMS_RULES_OFFICER, else the login name."""
    if explicit:
        return given_text(explicit, "--officer")
    if os.environ.get(ENV_OFFICER):
        return given_text(os.environ[ENV_OFFICER], f"${ENV_OFFICER}")
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass
class Submission:
    decision: dict[str, Any]
    new: bool  # False: the same declaration was already stored; nothing was screened
    # of the registry (stale, a table empty); a note when screened afresh (see `submit`)
    warnings: list[str] = field(default_factory=list)


def submit(
    store: Store,
    parsed: Parsed,
    officer: str,
    rules_dir: Path | None = None,
    without_registry: bool = False,
    pack: RulePack | None = None,
) -> Submission:
    """Validate, screen and store one declaration in one transaction.

    The rule pack (`pack`, else `rules_dir`, else the store's active pack, else the
    bundled one) is checked first: a broken pack refuses even a declaration already
    stored. Submitting identical content again returns the stored decision without
    screening again, if it was screened alike (with a
    registry, or without one; decided the other way, it is screened afresh and stored
    beside the earlier decision, with a note in `warnings`). The same id with different content is
    stored as a numbered amendment (revision 2, 3, ...) beside the earlier ones and
    screened afresh. The pack is compiled once per process, not once per submission.
    With no registry loaded it is refused (RegistryMissingError), unless
    `without_registry`: then every party is unknown and the decision is marked
    `screened_without_registry`.
    """
    pack = pack or pack_in_force(store, rules_dir).pack
    decl = parsed.declaration
    source = str(parsed.location)
    # screened alike before, and the other way (with a registry, or without one)
    stored, other = store.stored_decisions(decl, (without_registry, not without_registry))
    if stored is not None:
        store.audit_submission(officer, decl.declaration_id, source, stored["reference"])
        return Submission(stored, False)
    check = check_registry(store, policy_from(pack.policy_doc), without_registry)
    # decided before, but the other way (with a registry, or without one): its decision
    # says something else, so this one is screened afresh and stored beside it
    notes = [_screened_afresh(other, without_registry)] if other is not None else []
    allowances, allowed = allowances_for(store, pack)  # snoozes, the random-selection seed
    screening = _screen(store, pack, decl, check.without_registry, allowances)
    decision, new = store.submit(screening, officer, source, pack.contents)
    return Submission(decision, new, check.warnings + allowed + notes)


def _screen(
    store: Store, pack: RulePack, decl: Declaration, without_registry: bool, allowances: Allowances | None = None
) -> Screening:
    """One declaration through the set core, as a set of one, against only the part of
    the registry its parties can reach (`entities.reach.for_parties`): reading the whole
    registry would take seconds."""
    from ..entities.reach import for_parties
    from ..screening.core import screen_set
    from ..screening.frames import DeclarationSet

    screener = Screener(pack, RegistryIndex([], [], []), without_registry=without_registry, allowances=allowances)
    declarations = DeclarationSet.from_declarations([decl])
    registry = None  # without a registry: the screener's empty one
    if not without_registry:
        headers = declarations.headers
        parties = pl.concat(
            [headers.select(pl.col(f"{role}_{k}").alias(k) for k in ("id", "name", "country")) for role in ROLES]
        )
        policy = screener.policy
        registry = for_parties(store, parties, policy.link_depth, policy.name_threshold, pack.reference.history)
    from ..screening.history import party_keys
    from ..store.history import read_history

    keyed = party_keys(declarations.headers)
    keys = set(keyed["exporter_key"].to_list()) | set(keyed["consignee_key"].to_list())
    # the past of its two parties alone: the set of one is added to it (`screen_set`)
    screener.history = read_history(store, keys, set_size=len(declarations))
    result = screen_set(screener, declarations, registry=registry)
    return Screening(decl, result.decisions[0], result.item_facts()[0], registered=result.registered[0])


def _screened_afresh(other: dict[str, Any], without_registry: bool) -> str:
    was, now = ("with a registry", "without one (--no-registry)") if without_registry else (
        "WITHOUT a registry (--no-registry)", "against the loaded registry")  # fmt: skip
    return (
        f"note: {other['declaration_id']} revision {other['revision']} was decided {was} ({other['reference']}, "
        f"{other['decision']}): screened afresh {now}"
    )


def reject(store: Store, rejected: Rejected, officer: str) -> None:
    """A refused submission stores nothing but its trace in the audit log."""
    subject = rejected.declaration_id or str(rejected.location)
    store.record_rejection(officer, subject, str(rejected.location), [str(e) for e in rejected.errors])


@dataclass
class Rescreen:
    screened: int = 0
    stricter: list[dict[str, Any]] = field(default_factory=list)
    changed: int = 0


def rescreen(
    store: Store,
    since: dt.date | None,
    officer: str,
    rules_dir: Path | None = None,
    progress: Any = None,
    without_registry: bool = False,
    warn: Callable[[str], None] | None = None,
    until: dt.date | None = None,
) -> Rescreen:
    """Re-evaluate stored declarations with today's rules and registry: the newest
    revision of each, dated (the declaration's `date`) within since..until when given.

    Each new decision is recorded beside the old one (kind `rescreen`), never instead of
    it; the ones now stricter than before are listed: what escaped. Refused with no
    registry loaded, unless `without_registry` (see `submit`); `warn` hears, before
    anything is screened, what is wrong with the registry (stale, a table empty).
    """
    pack = pack_in_force(store, rules_dir).pack
    check = check_registry(store, policy_from(pack.policy_doc), without_registry)
    allowances, allowed = allowances_for(store, pack)  # snoozes, the random-selection seed
    if warn is not None:
        for warning in check.warnings + allowed:
            warn(warning)
    store.record_ruleset(pack.version, pack.contents, officer)
    at = dt.datetime.now(dt.UTC)
    report = Rescreen()
    from ..entities.compiled import CompiledRegistry  # polars: not on a submission's path

    screener = Screener(pack, RegistryIndex([], [], []), without_registry=check.without_registry,
                        allowances=allowances)  # fmt: skip
    threshold = screener.policy.name_threshold
    # the registry as compiled at its last load, read once: a rescreen goes over all history
    registry = None if check.without_registry else CompiledRegistry.from_store(store, threshold)
    _rescreen_all(store, screener, registry, (since, until), officer, at, report, progress)
    store.audit_rescreen(
        officer, since, report.screened, len(report.stricter), screener.version, check.without_registry, until
    )
    return report


RESCREEN_CHUNK = 5_000  # declarations screened and stored together


def _rescreen_all(
    store: Store,
    screener: Screener,
    registry: CompiledRegistry | None,
    declared: tuple[dt.date | None, dt.date | None],
    officer: str,
    at: dt.datetime,
    report: Rescreen,
    progress: Any,
) -> None:
    """Screen the newest revision of each stored declaration through the set core, a
    chunk at a time, and store each chunk's decisions beside the old ones: on a writer
    thread (a connection of its own, several chunks per transaction), while the next
    chunk is read and screened."""
    from ..screening.core import screen_set
    from ..store.history import read_history
    from ..store.writer import SetWriter

    rows = store.latest_declarations(*declared)
    # every stored declaration, each screened as of its own date: narrowed to what the facts read
    history = read_history(store).narrowed(screener.pack.reference)
    writer = SetWriter(Store(store.url), "rescreen", officer, force=True)
    pending: dict[int, tuple[list[Any], list[Decision]]] = {}

    def taken(written: list[Any]) -> None:
        for done in written:
            chunk, decisions = pending.pop(done.tag)
            if not done.stored:  # earlier chunks are stored: say exactly what is
                raise _stopped(StorageError(done.error), report.screened, len(rows), chunk[0][0])
            for (row, old_id, old), decision, new in zip(chunk, decisions, done.ids, strict=True):
                report.screened += 1
                report.changed += decision.decision != old
                if LEVELS[decision.decision] > LEVELS[old]:
                    report.stricter.append(_stricter(row, old_id, old, new, decision))
            if progress is not None:
                progress(len(chunk))

    try:
        for start in range(0, len(rows), RESCREEN_CHUNK):
            chunk = rows[start : start + RESCREEN_CHUNK]
            found = screen_set(screener, store.declaration_set([row.id for row, _, _ in chunk]), at, registry, history)
            pending[start] = (chunk, found.decisions)
            writer.put(start, found.screened)
            taken(writer.done())
        taken(writer.close())
    except BaseException:
        writer.abort()
        raise
    finally:
        writer.store.close()


def _stopped(exc: StorageError, stored: int, total: int, first: Any) -> StorageError:
    where = f"declaration {first.declaration_id} (revision {first.revision})"
    return StorageError(
        f"rescreen stopped at {where}: {exc.detail or exc}\nstored: the rescreen decisions of {stored} of the "
        f"{total} declaration(s), every one before {where}; not stored: the {total - stored} from it on",
        "rerun the same command to complete it (it rescreens every declaration again: those already "
        "rescreened get one more rescreen decision beside the first)",
    )


def _stricter(row: Any, old_id: int, old: str, new_id: int | None, d: Decision) -> dict[str, Any]:
    return {
        "declaration_id": row.declaration_id,
        "revision": row.revision,
        "exporter": row.exporter_name,
        "was": old,
        "was_reference": f"#{old_id}",
        "now": d.decision,
        "reference": f"#{new_id}",
        "score": d.score,
        "rule_ids": d.rule_ids,
    }
