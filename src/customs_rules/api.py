"""The library API: what the CLI adapts, and what other programs and tests call.

    from customs_rules.api import Screener
    from customs_rules.parsing import read_all
    from customs_rules.storage import Store

    store = Store("sqlite:///customs.db")
    screener = Screener.open(store)             # rules, policy and a registry snapshot
    for outcome in screener.screen_inputs(read_all(["day.csv"])):
        ...                                     # a Screening or a Rejected, in input order

Batches at scale go through `batch` (worker processes) and the officer workflow through
`workflow`; both build on `Screener`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .enrichment import enrich, path_guard
from .errors import InputError
from .evaluation import Evaluator
from .models import Declaration
from .parsing import Parsed, Rejected
from .policy import Policy, policy_from
from .registry import (
    CompanyRecord,
    PersonRecord,
    RegistryIndex,
    RegistryLookup,
    WatchlistRecord,
    normalize_id,
    read_registry_csv,
)
from .rules import RulePack, load_pack
from .storage import Store

STORE_CHUNK = 500


def default_rules_dir() -> Path:
    """The bundled pack: inside the installed package, or `rules/` of a source checkout."""
    packaged = Path(__file__).parent / "default_rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "rules"


@dataclass
class Screening:
    """One screened declaration: its decision (the contract's JSON object) and its facts."""

    declaration: Declaration
    decision: dict[str, Any]
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

    def __init__(self, pack: RulePack, registry: RegistryLookup, store: Store | None = None) -> None:
        self.pack = pack
        self.version = pack.version
        self.policy: Policy = policy_from(pack.policy_doc)
        self.evaluator = Evaluator(pack)
        self.path_guard = path_guard(pack.evaluated())
        self.registry = registry
        registry.use_threshold(self.policy.name_threshold)
        self.store = store

    @classmethod
    def open(cls, store: Store | None, rules_dir: Path | None = None) -> Screener:
        pack = load_pack(rules_dir or default_rules_dir())
        registry = store.registry_index() if store else RegistryIndex([], [], [])
        return cls(pack, registry, store)

    def screen(self, decl: Declaration, at: dt.datetime | None = None) -> Screening:
        """Enrich, evaluate and decide one declaration (nothing is stored)."""
        at = at or dt.datetime.now(dt.UTC)
        enriched = enrich(decl, self.registry, self.pack.reference, self.policy.link_depth, self.path_guard)
        result = self.evaluator.evaluate(enriched, at)
        counting = [(f.rule_id, f.action, f.score) for f in result.findings]
        decision, score = self.policy.decide(counting)
        body = {
            "declaration_id": decl.declaration_id,
            "decision": decision,
            "score": score,
            "findings": [f.as_dict() for f in result.findings],
            "test_findings": [f.as_dict() for f in result.test_findings],
            "ruleset_version": self.version,
            "screened_at": at.isoformat().replace("+00:00", "Z"),
        }
        known = enriched.details[0] if enriched.details else {}
        registered = {
            role: f"{found['registered_name']} ({found['company_id']})"
            for role in ("exporter", "consignee")
            if "registered_name" in (found := known.get(f"{role}.known") or {})
        }
        return Screening(decl, body, enriched.items, registered=registered)

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


@dataclass
class RegistryLoad:
    loaded: dict[str, int] = field(default_factory=dict)
    failed: list[Exception] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


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

    def attempt(name: str, load: Any) -> None:
        try:
            result.loaded[name] = load()
        except InputError as exc:
            result.failed.append(exc)

    if companies is not None:
        attempt(
            "companies",
            lambda: store.replace_companies(read_registry_csv(companies, CompanyRecord), actor, str(companies)),
        )
    if people is not None:
        rows: list[PersonRecord] = []

        def load_people() -> int:
            rows.extend(read_registry_csv(people, PersonRecord))
            return store.replace_people(rows, actor, str(people))

        attempt("people", load_people)
        known = store.company_ids()
        orphans = sorted({r.company_id for r in rows} - known)
        if orphans:
            result.warnings.append(
                f"{len(orphans)} company id(s) in {people} are not in the companies table; "
                "their people cannot link parties (e.g. " + ", ".join(orphans[:3]) + ")"
            )
        normalised = {normalize_id(k) for k in known}
        holders = sorted({h for r in rows if (h := r.person_company_id) and normalize_id(h) not in normalised})
        if holders:
            result.warnings.append(
                f"{len(holders)} holder company id(s) in {people} are not in the companies table; "
                "those roles cannot link parties (e.g. " + ", ".join(holders[:3]) + ")"
            )
    if watchlist is not None:
        attempt(
            "watchlist",
            lambda: store.replace_watchlist(read_registry_csv(watchlist, WatchlistRecord), actor, str(watchlist)),
        )
    return result
