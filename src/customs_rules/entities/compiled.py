"""The registry as columns, for the set-at-a-time core: `CompiledRegistry`.

Loaded from the store's compiled tables (`from_store`: a few reads, no name is keyed
again) or built from records (`from_records`: tests, and the in-memory path). Its set
APIs answer for a whole chunk at once and give what the per-declaration reference
(`registry.RegistryLookup`, `links.py`, `enrichment`) gives, detail text included:

- `resolve(parties)`: each distinct (id, name, country) party's company;
- `watchlisted(parties)`: each distinct (id, name, country, company_key) party's watchlist hit;
- `links(pairs)`: each distinct (exporter, consignee, depth) pair's shared persons and paths
  (`entities.linking`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from ..contract.models import Party
from ..contract.registry_rows import CompanyRecord, PersonRecord, WatchlistRecord, split_list
from . import compile as compiled
from . import names
from .name_search import NO_LIMIT, SpellingIndex, best_candidates
from .person_pairs import company_pairs
from .persons import normalize_id
from .registry import RegistryLookup
from .registry_files import company_frame, person_frame

RESOLVED_SCHEMA = {
    "id": pl.Utf8, "name": pl.Utf8, "country": pl.Utf8, "company_key": pl.Utf8, "method": pl.Utf8,
    "score": pl.Float64, "detail": pl.Utf8,
}  # fmt: skip
RESOLVED_KEPT = 32_768  # parties whose resolution a process keeps across chunks (about 700 bytes each)
RECORDS_KEPT = 16_384  # company records a process keeps for evidence (about 1 kB each)
LISTED_SCHEMA = {
    "id": pl.Utf8, "name": pl.Utf8, "country": pl.Utf8, "company_key": pl.Utf8, "watchlisted": pl.Boolean,
    "detail": pl.Utf8,
}  # fmt: skip


class CompiledRegistry:
    """Companies, their keys, people, person pairs and edges as polars frames.

    `companies`: pk (load order, from 1), key (normalised id), company_id, name, country,
    registered_on, activity_codes and aliases (';'-joined), address, address_key.
    `people`: pk, company_id, person_name, role, person_id, birth_date, person_company_id,
    company_key, holder_key. The threshold is the policy's `names: threshold`."""

    def __init__(self, frames: dict[str, pl.DataFrame], watchlist: Iterable[WatchlistRecord], threshold: float) -> None:
        self.threshold = threshold
        if "names" not in frames:  # keys as stored (`RegistryPart`): sorted here
            frames = frames | compiled.name_frames(frames["company_keys"])
        self.companies = frames["companies"]
        self.names, self.blocks = frames["names"], frames["blocks"]  # `compile.name_frames`
        self.people = frames["people"]
        self.pairs = frames["pairs"]
        self.edges = frames["edges"]
        # address_key, address_companies: given by a partial registry (`reach`), whose
        # companies are not all those at its parties' addresses; else counted from `companies`
        self.address_counts: pl.DataFrame | None = frames.get("address_counts")
        self._watch = RegistryLookup(watchlist, threshold)  # the reference's own watchlist search
        self._names: SpellingIndex | None = None  # built when a name is first looked up
        self._records: dict[str, CompanyRecord] = {}
        # stored ids need not run 1..n (a database loaded before migration 0007): then a dict
        self._company_at = _positions(self.companies["pk"])
        self._person_at = _positions(self.people["pk"])
        countries: dict[str | None, str | None] = {}  # one string per country, not one per company
        self._countries = [countries.setdefault(c, c) for c in self.companies["country"].to_list()]
        self._keys = self.companies["key"].to_list()
        self._position: dict[str, int] | None = None  # key -> row of `companies`, built when first asked
        # a party's resolution, kept across the chunks of a run (the registry does not change)
        self._resolved: dict[tuple[str | None, str, str | None], tuple[Any, ...]] = {}

    def person_index(self, pk: int) -> int:
        """The position in `people` of the row with this pk."""
        return pk - 1 if self._person_at is None else self._person_at[pk]

    def _company_index(self, pk: int) -> int:
        return pk - 1 if self._company_at is None else self._company_at[pk]

    @classmethod
    def from_store(cls, store: Any, threshold: float = names.DEFAULT_THRESHOLD) -> CompiledRegistry:
        """The store's registry as compiled at its last load (`Store.registry_frames`)."""
        return cls(store.registry_frames(), store.watchlist_records(), threshold)

    @classmethod
    def from_records(
        cls,
        companies: Sequence[CompanyRecord],
        people: Sequence[PersonRecord],
        watchlist: Iterable[WatchlistRecord] = (),
        threshold: float = names.DEFAULT_THRESHOLD,
    ) -> CompiledRegistry:
        """Compiled in memory by the functions `registry load` uses."""
        return cls(compile_frames(company_frame(companies), person_frame(people)), watchlist, threshold)

    # -- parties ------------------------------------------------------------------------

    def resolve(self, parties: pl.DataFrame) -> pl.DataFrame:
        """One row per distinct (id, name, country) of `parties`, in the order they first
        come: company_key (null when not found), method (id, name, alias or none), score
        and detail, as `RegistryLookup.resolve` gives them. By id, then the exact name key
        (first spelling in load order among the companies of a compatible country), then
        `names.compare` against blocked candidates for the names still unresolved."""
        distinct = parties.select(pl.col("id", "name", "country").cast(pl.Utf8)).unique(maintain_order=True)
        rows = distinct.rows()
        found = [self._resolved_party(*party) for party in rows]
        columns: list[Sequence[Any]] = [*zip(*rows, strict=True), *zip(*found, strict=True)] if rows else [[]] * 7
        return pl.DataFrame(dict(zip(RESOLVED_SCHEMA, columns, strict=True)), schema=RESOLVED_SCHEMA)

    def _resolved_party(self, ident: str | None, name: str, country: str | None) -> tuple[Any, ...]:
        """(company_key, method, score, detail) of one party, kept for the next chunks:
        a run meets the same parties again and again (at most RESOLVED_KEPT of them)."""
        party = (ident, name, country)
        found = self._resolved.get(party)
        if found is None:
            id_key = normalize_id(ident) if ident else None
            if id_key is not None and id_key in self.positions():
                found = (id_key, "id", 1.0, f"id {ident} in the registry")
            else:
                found = self._by_name(ident, id_key, name, country)
            if len(self._resolved) >= RESOLVED_KEPT:
                self._resolved.clear()  # bounded memory; no bookkeeping per hit
            self._resolved[party] = found
        return found

    def positions(self) -> dict[str, int]:
        """Each company key's row in `companies` (a load refuses a repeated id; the first row wins)."""
        if self._position is None:
            self._position = {}
            for n, key in enumerate(self._keys):
                self._position.setdefault(key, n)
        return self._position

    def companies_of(self, keys: Sequence[str | None]) -> pl.DataFrame:
        """The `companies` row of each key, in order (all null for None): a gather by
        position, where a join would hash the whole registry again for every chunk."""
        at = self.positions()
        rows = pl.Series([None if key is None else at[key] for key in keys], dtype=pl.UInt32)
        return self.companies[rows]

    def _by_name(self, ident: str | None, id_key: str | None, name: str, country: str | None) -> tuple[Any, ...]:
        unknown = f"declared id {ident} is not in the registry; " if id_key else ""
        hit = self._exact_hit(name, country) or self._fuzzy_hit(name, country)
        if hit is None:
            return None, "none", 0.0, f"{unknown}{name!r} not found in the registry"
        key, kind, spelling, score, why = hit
        return key, kind, round(score, 3), f"{unknown}{name!r} ~ {kind} {spelling!r}: {why}"

    def _accepts(self, pk: int, country: str | None) -> bool:
        listed = self._countries[self._company_index(pk)]
        return not (country and listed and country != listed)

    def _exact_hit(self, name: str, country: str | None) -> tuple[Any, ...] | None:
        for pk, kind, spelling in self._name_index().exact(compiled.exact_key(name)):
            if self._accepts(pk, country):
                return self._keys[self._company_index(pk)], kind, spelling, 1.0, "same name once normalised"
        return None

    def _fuzzy_hit(self, name: str, country: str | None) -> tuple[Any, ...] | None:
        index = self._name_index()
        members = {block: index.block(block) for block in names.blocking_keys(name)}
        found = []
        for pk in best_candidates(members, NO_LIMIT):
            if not self._accepts(pk, country):
                continue
            for _, kind, spelling in index.spellings(pk):
                match = names.compare(name, spelling)
                if match.score >= self.threshold:
                    found.append((self._keys[self._company_index(pk)], kind, spelling, match.score, match.detail))
        return max(found, key=lambda hit: hit[3]) if found else None  # the first of the best

    def _name_index(self) -> SpellingIndex:
        if self._names is None:  # built once: a set looks up thousands of names
            self._names = SpellingIndex(self.names, self.blocks, compiled.key_hash)
        return self._names

    def record(self, key: str) -> CompanyRecord:
        """The company of this key as a record (for evidence and the reference's helpers)."""
        if key not in self._records:
            if len(self._records) >= RECORDS_KEPT:
                self._records.clear()  # bounded memory: a run meets most companies once
            row = self.companies.row(self.positions()[key], named=True)
            fields = {name: row[name] for name in CompanyRecord.model_fields}
            fields["activity_codes"] = split_list(row["activity_codes"])
            fields["aliases"] = split_list(row["aliases"])
            self._records[key] = CompanyRecord.model_construct(**fields)
        return self._records[key]

    # -- watchlist ----------------------------------------------------------------------

    @property
    def has_watchlist(self) -> bool:
        """Whether any watchlist is loaded (without one, no party is on it)."""
        return bool(self._watch.watchlist)

    def watchlist_entries(self) -> list[WatchlistRecord]:
        """The watchlist, in its order."""
        return list(self._watch.watchlist)

    def watchlisted(self, parties: pl.DataFrame) -> pl.DataFrame:
        """One row per distinct (id, name, country, company_key): whether the party is on
        the watchlist and the detail `enrichment.party_features` gives (`listed_name`,
        `reason`, `source`, `listed_on`, `why`) as JSON text, as `RegistryLookup.watchlisted`."""
        distinct = parties.select(pl.col("id", "name", "country", "company_key").cast(pl.Utf8)).unique(
            maintain_order=True
        )
        out = []
        for ident, name, country, key in distinct.iter_rows():
            hit = None
            if self._watch.watchlist:
                company = self.record(key) if key is not None else None
                hit = self._watch.watchlisted(Party(id=ident, name=name, country=country), company)
            detail = None
            if hit is not None:
                entry, why = hit
                listed_on = entry.listed_on.isoformat() if entry.listed_on else None
                detail = {"listed_name": entry.name, "reason": entry.reason, "source": entry.source,
                          "listed_on": listed_on, "why": why}  # fmt: skip
            out.append((ident, name, country, key, hit is not None, detail and json.dumps(detail, ensure_ascii=False)))
        return pl.DataFrame(out, schema=LISTED_SCHEMA, orient="row")

    # -- links --------------------------------------------------------------------------

    def links(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """One row per distinct (exporter_key, consignee_key, depth): see `entities.linking`."""
        from .linking import links

        return links(self, pairs)


def compile_frames(companies: pl.DataFrame, people: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """The frames `Store.registry_frames` reads back, computed in memory as a load computes them."""
    keyed = [compiled_key(i) for i in companies["company_id"].to_list()]
    frame = companies.with_row_index("pk", 1).with_columns(
        pl.col("pk").cast(pl.Int64), pl.Series("key", keyed, dtype=pl.Utf8),
        pl.col("activity_codes").list.join(";"), pl.col("aliases").list.join(";"),
        compiled.address_keys(companies["address"]).alias("address_key"),
    )  # fmt: skip
    columns = ["pk", "key", "kind", "spelling_kind", "spelling"]
    keys = compiled.name_frames(pl.DataFrame(list(compiled.company_keys(companies)), schema=columns, orient="row"))
    crowd = people.with_row_index("pk", 1).with_columns(
        pl.col("pk").cast(pl.Int64),
        pl.Series("company_key", [compiled_key(i) for i in people["company_id"].to_list()], dtype=pl.Utf8),
        pl.Series("holder_key", [i and compiled_key(i) for i in people["person_company_id"].to_list()], dtype=pl.Utf8),
    )
    pairs = company_pairs(frame.select("key"), crowd)
    edges = pl.concat([compiled.role_edges(frame, crowd), compiled.address_edges(frame)])
    return {"companies": frame, **keys, "people": crowd, "pairs": pairs, "edges": edges}


def _positions(pks: pl.Series) -> dict[int, int] | None:
    """Each pk's position, or None when the pks are 1..n (position pk - 1, no dict)."""
    if pks.is_empty() or (pks.is_sorted() and pks[0] == 1 and pks[-1] == len(pks) and pks.n_unique() == len(pks)):
        return None
    return {pk: n for n, pk in enumerate(pks.to_list())}


def compiled_key(company_id: str) -> str:
    return normalize_id(company_id) or company_id
