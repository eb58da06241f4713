"""Screening with one rule pack, policy and registry (`Screener`), and the registry load:
what the CLI adapts; the public API (`customs_rules.__all__`) exports it.

    from customs_rules import Screener, Store, read_all

    store = Store("sqlite:///customs.db")
    screener = Screener.open(store)             # rules, policy and a registry snapshot
    for warning in screener.registry_check.warnings:
        print(warning)                          # e.g. the registry is older than the policy allows
    for outcome in screener.screen_inputs(read_all(["day.csv"])):
        ...                                     # a Screening or a Rejected, in input order

Batches at scale go through `batch` (worker processes) and the officer workflow through
`officer`; both build on `Screener`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..contract.decision import WITHOUT_REGISTRY, Decision
from ..contract.errors import InputError, RegistryMissingError, StorageError
from ..contract.models import Declaration
from ..contract.registry_rows import CompanyRecord, PersonRecord, WatchlistRecord
from ..engine.enrichment import enrich, path_guard
from ..engine.evaluation import Evaluator
from ..engine.history import PlainHistory, add_history
from ..entities.persons import normalize_id
from ..entities.registry import RegistryIndex, RegistryLookup
from ..entities.registry_csv import read_registry_csv
from ..io.parsing import Parsed, Rejected
from ..rules.allowances import Allowances, Subject, decide, party_ids
from ..rules.loader import load_pack
from ..rules.model import RulePack
from ..rules.policy import Policy, policy_from
from ..runtime import gc_paused, trim_heap

if TYPE_CHECKING:  # a worker screens with no database: SQLAlchemy stays unimported
    from ..store import Store

STORE_CHUNK = 500


def default_rules_dir() -> Path:
    """The bundled pack: inside the installed package, or `rules/` of a source checkout."""
    package = Path(__file__).resolve().parents[1]  # customs_rules/, above workflow/
    packaged = package / "default_rules"
    if packaged.is_dir():
        return packaged
    return package.parents[1] / "rules"


@dataclass(frozen=True)
class PackInForce:
    """The pack a command screens with, and where it came from (for messages)."""

    pack: RulePack
    origin: str  # "rules DIR", "the active pack #3 (approved by kz-007)", "the bundled pack"
    from_database: bool = False


def pack_in_force(store: Store | None, rules_dir: Path | None = None) -> PackInForce:
    """`--rules DIR` when given; else the database's active pack (published and approved:
    `rules publish`, `rules approve`), its stored files materialised safely; else the
    bundled pack. Every post on one database thus screens with the same rules."""
    if rules_dir is not None:
        return PackInForce(load_pack(rules_dir), f"rules {rules_dir}")
    active = store.active_pack() if store is not None else None
    if active is None or active.contents is None:
        return PackInForce(load_pack(default_rules_dir()), "the bundled pack")
    from ..rules.packs import pack_from_contents

    pack = pack_from_contents(active.contents, f"pack-{active.number}", active.version)
    return PackInForce(pack, f"the active pack {active.label} (approved by {active.decided_by})", True)


@dataclass
class Screening:
    """One screened declaration: its decision and its facts."""

    declaration: Declaration
    decision: Decision
    facts: list[dict[str, Any]]
    location: Any = None
    # the registry's name and id of each party it knows ("exporter", "consignee"): the
    # summary and the report count one company once, however the declarations spelled it
    registered: dict[str, str] = field(default_factory=dict)

    def party(self, role: str) -> str:
        """The party as "registered name (company id)" when the registry knows it (two
        companies may share a name), else as declared."""
        declared: str = getattr(self.declaration, role).name
        return self.registered.get(role, declared)


class Screener:
    """A compiled rule pack, its policy, and a registry snapshot: screen with it."""

    def __init__(
        self, pack: RulePack, registry: RegistryLookup, store: Store | None = None, without_registry: bool = False,
        allowances: Allowances | None = None,
    ) -> None:  # fmt: skip
        self.pack = pack
        self.version = pack.version
        self.policy: Policy = policy_from(pack.policy_doc)
        self.evaluator = Evaluator(pack)
        self.path_guard = path_guard(pack.evaluated())
        self.registry = registry
        registry.use_threshold(self.policy.name_threshold)
        self.store = store
        # screened on purpose without a registry (--no-registry): each decision says so
        self.without_registry = without_registry
        self.registry_check = RegistryCheck(without_registry)
        # the past declarations history facts read (`screening.history.HistoryBase`); the
        # reference reads them as `plain_history` (set it to screen against another past)
        self.history: Any = None
        self.plain_history: PlainHistory | None = None
        # trusted traders (the pack's), snoozes and the random-selection seed: `allowances_for`
        self.allowances = allowances if allowances is not None else Allowances.of(pack)

    @classmethod
    def open(cls, store: Store | None, rules_dir: Path | None = None, without_registry: bool = False) -> Screener:
        """The pack (`--rules`, else the store's active pack, else the bundled one: see
        `pack_in_force`) and a snapshot of the store's registry. Refused (RegistryMissingError)
        when no registry is loaded, unless `without_registry`: see `check_registry`."""
        pack = pack_in_force(store, rules_dir).pack
        policy = policy_from(pack.policy_doc)
        if store is None:
            if not without_registry:
                raise RegistryMissingError("no store, so no registry: every party would be unknown")
            check = RegistryCheck(True, [WITHOUT_REGISTRY_WARNING])
        else:
            check = check_registry(store, policy, without_registry)
        registry = RegistryIndex([], [], []) if check.without_registry or store is None else store.registry_index()
        allowances, warnings = allowances_for(store, pack)
        screener = cls(pack, registry, store, check.without_registry, allowances)
        screener.registry_check = RegistryCheck(check.without_registry, check.warnings + warnings)
        return screener

    def screen(self, decl: Declaration, at: dt.datetime | None = None) -> Screening:
        """Enrich, evaluate and decide one declaration (nothing is stored)."""
        at = at or dt.datetime.now(dt.UTC)
        enriched = enrich(decl, self.registry, self.pack.reference, self.policy.link_depth, self.path_guard)
        self._add_history(enriched)
        result = self.evaluator.evaluate(enriched, at)
        known = enriched.details[0] if enriched.details else {}
        subject = Subject(decl.declaration_id, decl.date, tuple(
            (role, party_ids(getattr(decl, role).id, (known.get(f"{role}.known") or {}).get("company_id")))
            for role in ("exporter", "consignee")
        ))  # fmt: skip
        findings, decision, score = decide(self.policy, self.allowances, list(result.findings), subject, at)
        stamp = at.isoformat().replace("+00:00", "Z")
        body = Decision(decl.declaration_id, decision, score, tuple(findings), tuple(result.test_findings),
                        self.version, stamp, self.without_registry)  # fmt: skip
        registered = {
            role: f"{found['registered_name']} ({found['company_id']})"
            for role in ("exporter", "consignee")
            if "registered_name" in (found := known.get(f"{role}.known") or {})
        }
        return Screening(decl, body, enriched.items, registered=registered)

    def _add_history(self, enriched: Any) -> None:
        from ..screening.history import listed_code

        if self.plain_history is None:
            self.plain_history = self.history.plain() if self.history is not None else PlainHistory({}, [])
        reference = self.pack.reference
        settings = reference.history
        add_history(enriched, self.plain_history, settings, lambda code: listed_code(reference, settings, code))

    def screen_inputs(
        self,
        inputs: Iterable[Parsed | Rejected],
        store: bool = True,
        at: dt.datetime | None = None,
        officer: str | None = None,
    ) -> Iterator[Screening | Rejected]:
        """Screen parsed inputs in order; rejections pass through; screenings are stored
        in chunks, each chunk one transaction (one `screened_at` for the whole run)."""
        at = at or dt.datetime.now(dt.UTC)
        keep = store and self.store is not None
        if keep:
            assert self.store is not None
            self.store.record_ruleset(self.version, self.pack.contents, officer or "system")
        pending: list[Screening] = []
        for parsed in inputs:
            if isinstance(parsed, Rejected):
                yield parsed
                continue
            screening = self.screen(parsed.declaration, at)
            screening.location = parsed.location
            pending.append(screening)
            if len(pending) >= STORE_CHUNK:
                self._flush(pending, keep, officer)
                yield from pending
                pending = []
        self._flush(pending, keep, officer)
        yield from pending

    def _flush(self, pending: list[Screening], keep: bool, officer: str | None) -> None:
        if keep and pending:
            assert self.store is not None
            self.store.record_screenings(pending, "screen", officer)


def allowances_for(store: Store | None, pack: RulePack, now: dt.datetime | None = None) -> tuple[Allowances, list[str]]:
    """What a run allows besides the rules: the pack's trusted traders, the snoozes the
    store holds that are still active, and the random-selection seed from the environment
    (`rules.selection`); and a warning when the policy asks for random selection but no
    seed is set (it is off then). A bad seed is refused (RuleError)."""
    from ..rules.selection import NO_SEED_WARNING, seed_from_environment

    snoozes = store.active_snoozes((now or dt.datetime.now(dt.UTC)).date()) if store is not None else []
    seed = seed_from_environment()
    warnings = [NO_SEED_WARNING] if seed is None and policy_from(pack.policy_doc).random_share > 0 else []
    return Allowances.of(pack, snoozes, seed), warnings


WITHOUT_REGISTRY_WARNING = (
    "warning: screening WITHOUT a registry (--no-registry): every party is unknown and the watchlist "
    "and linked-party rules cannot fire; the decisions and their audit entries are marked "
    f"{WITHOUT_REGISTRY}"
)


@dataclass(frozen=True)
class RegistryCheck:
    """Whether screening goes without a registry (--no-registry), and the warnings to
    show once per run (a registry older than the policy allows, an empty table)."""

    without_registry: bool = False
    warnings: list[str] = field(default_factory=list)


def check_registry(
    store: Store, policy: Policy, without_registry: bool = False, now: dt.datetime | None = None
) -> RegistryCheck:
    """Before a run screens against the store's registry: refuse (RegistryMissingError,
    exit 2) when no company is loaded, since every party would be "unknown" and the
    decisions wrong, unless `without_registry` says to screen without one on purpose.
    Warn when a table is empty, or when the registry is older than the policy's
    `registry: max_age_days` (its age is that of its least recently loaded table)."""
    if without_registry:
        return RegistryCheck(True, [WITHOUT_REGISTRY_WARNING])
    filled = store.registry_filled()
    if not filled["companies"]:
        raise RegistryMissingError()
    warnings = []
    empty = [name for name in ("people", "watchlist") if not filled[name]]
    if empty:
        cannot = {"people": "no director, founder or owner can link two parties", "watchlist": "no party can "
                  "be found on the watchlist"}  # fmt: skip
        warnings.append(
            f"warning: the registry has no {' and no '.join(empty)} loaded: {'; '.join(cannot[n] for n in empty)}"
        )
    stale = registry_age_warning(store.registry_loads(), policy.registry_max_age_days, now)
    if stale:
        warnings.append(stale)
    return RegistryCheck(False, warnings)


def registry_age_warning(
    loads: dict[str, dt.datetime], max_age_days: int, now: dt.datetime | None = None
) -> str | None:
    """A warning when the least recently loaded registry table is older than allowed."""
    if not loads:
        return "warning: no registry load is recorded in the audit log: the registry's age is unknown"
    table, loaded = min(loads.items(), key=lambda kv: kv[1])
    age = (now or dt.datetime.now(dt.UTC)) - loaded
    if age <= dt.timedelta(days=max_age_days):
        return None
    return (
        f"warning: the registry is {age.days} days old ({table} last loaded {loaded:%Y-%m-%d %H:%M} UTC), "
        f"older than the policy's registry.max_age_days of {max_age_days}: load a fresh one with "
        "customs-rules registry load --companies ... --people ... --watchlist ..."
    )


@dataclass
class RegistryLoad:
    loaded: dict[str, int] = field(default_factory=dict)
    failed: list[Exception] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _read(result: RegistryLoad, path: Path | None, model: type[CompanyRecord] | type[PersonRecord]) -> Any:
    """A registry file's columns, or None (not given, or refused: its errors are kept)."""
    if path is None:
        return None
    from ..entities.registry_files import read_registry_frame  # polars: not for a cold submit

    try:
        return read_registry_frame(path, model)
    except InputError as exc:
        result.failed.append(exc)
        return None


def _orphan_warnings(result: RegistryLoad, store: Store, rows: Any, source: str) -> None:
    """Warn of people whose company, or whose holder company, is not in the companies table."""
    known = store.company_ids()
    orphans = sorted(set(rows["company_id"].to_list()) - known)
    if orphans:
        result.warnings.append(
            f"{len(orphans)} company id(s) in {source} are not in the companies table; "
            "their people cannot link parties (e.g. " + ", ".join(orphans[:3]) + ")"
        )
    named = rows["person_company_id"].drop_nulls().unique().to_list()
    normalised = {normalize_id(k) for k in known} if named else set()  # most registries name no holder
    holders = sorted({h for h in named if normalize_id(h) not in normalised})
    if holders:
        result.warnings.append(
            f"{len(holders)} holder company id(s) in {source} are not in the companies table; "
            "those roles cannot link parties (e.g. " + ", ".join(holders[:3]) + ")"
        )


def load_registry(
    store: Store,
    companies: Path | None = None,
    people: Path | None = None,
    watchlist: Path | None = None,
    actor: str = "system",
) -> RegistryLoad:
    """Replace the registry tables from CSV files. Each file is all or nothing: a file
    with any bad row is refused whole (every bad row listed) and its table is untouched."""
    result = RegistryLoad()
    with _gc_paused():
        _load_files(result, store, companies, people, watchlist, actor)
    return result


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a registry loads: it makes millions of small
    tuples and lists that hold no cycles, and the collector's passes over them cost
    several times the work itself (measured by benchmarks/bench_registry_load.py)."""
    with gc_paused():
        yield


def _load_files(
    result: RegistryLoad, store: Store, companies: Path | None, people: Path | None, watchlist: Path | None,
    actor: str,
) -> None:  # fmt: skip
    def attempt(name: str, load: Any) -> None:
        try:
            result.loaded[name] = load()
        except InputError as exc:
            result.failed.append(exc)
        except StorageError as exc:  # the files loaded before it are in force: say so
            done = ", ".join(f"{table} ({rows} rows)" for table, rows in result.loaded.items()) or "no file"
            raise StorageError(
                f"loading the {name} file failed: {exc.detail or exc}\nstored: {done} loaded before it and in "
                f"force; not stored: the {name} file and any file after it (their tables are unchanged)",
                "rerun the same command to complete it (each file replaces its table whole)",
            ) from None

    # both files are read before either is stored: the last table stored compiles the links
    company_rows = _read(result, companies, CompanyRecord)
    people_rows = _read(result, people, PersonRecord)
    trim_heap()  # the files' text, read and freed: C's allocator keeps it otherwise
    if company_rows is not None:
        attempt("companies", lambda: store.replace_companies(company_rows, actor, str(companies),
                                                             compile_links=people_rows is None))  # fmt: skip
        company_rows = None  # stored: its memory goes before the people's compile
        trim_heap()
    if people_rows is not None:
        attempt("people", lambda: store.replace_people(people_rows, actor, str(people)))
        _orphan_warnings(result, store, people_rows, str(people))
    if watchlist is not None:
        attempt(
            "watchlist",
            lambda: store.replace_watchlist(read_registry_csv(watchlist, WatchlistRecord), actor, str(watchlist)),
        )
