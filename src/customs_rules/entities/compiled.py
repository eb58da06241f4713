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
from .persons import normalize_id, normalize_ids
from .registry import RegistryLookup
from .registry_files import company_frame, person_frame
from .spelling_keys import company_spelling_keys, exact_keys
from .watch_filter import WatchFilter

RESOLVED_SCHEMA = {
    "id": pl.Utf8, "name": pl.Utf8, "country": pl.Utf8, "company_key": pl.Utf8, "method": pl.Utf8,
    "score": pl.Float64, "detail": pl.Utf8,
}  # fmt: skip
RESOLVED_KEPT = 32_768  # parties whose resolution a process keeps across chunks (about 700 bytes each)
# at most this many distinct parties are asked of the watchlist without `WatchFilter` (it
# costs about 30 ms to make at 500 entries, the reference's search 1-2 ms a party)
FEW_PARTIES = 8
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

    def __init__(
        self, frames: dict[str, pl.DataFrame], watchlist: Iterable[WatchlistRecord], threshold: float,
        partial: bool = False, risk_entries: Sequence[WatchlistRecord] | None = None,
    ) -> None:  # fmt: skip
        self.threshold = threshold
        self.partial = partial  # a part of the registry (`reach`): its blocks are not every company's
        # the entries `risk_entries` gives (None: the whole watchlist)
        self._risk_entries = None if risk_entries is None else list(risk_entries)
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
        self._watchlist = list(watchlist)
        self._watch_search: RegistryLookup | None = None  # the reference's own watchlist search (`_watch`)
        self._watch_keys: WatchFilter | None = None
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
        `names.compare` against blocked candidates for the names still unresolved. A
        `name_key` column, when given, is each party's exact name key (`names.spelling_keys`),
        computed already (a batch's pre-pass: `workflow.batch.run_history`).

        A run meets the same parties again and again: each party's answer is kept for the
        next chunks (at most RESOLVED_KEPT of them); the others are resolved together, by
        columns (`_resolved_parties`)."""
        named = "name_key" in parties.columns
        wanted = ["id", "name", "country", *(["name_key"] if named else [])]
        distinct = parties.select(pl.col(wanted).cast(pl.Utf8)).unique(["id", "name", "country"], maintain_order=True)
        rows = distinct.select("id", "name", "country").rows()
        kept = self._resolved
        found = [kept.get(party) for party in rows]
        new = [at for at, answer in enumerate(found) if answer is None]
        if new:
            for at, answer in zip(new, self._resolved_parties(distinct[new]), strict=True):
                found[at] = answer
                if len(kept) >= RESOLVED_KEPT:
                    kept.clear()  # bounded memory; no bookkeeping per hit
                kept[rows[at]] = answer
        columns: list[Sequence[Any]] = [*zip(*rows, strict=True), *zip(*found, strict=True)] if rows else [[]] * 7
        return pl.DataFrame(dict(zip(RESOLVED_SCHEMA, columns, strict=True)), schema=RESOLVED_SCHEMA)

    def _resolved_parties(self, parties: pl.DataFrame) -> list[tuple[Any, ...]]:
        """(company_key, method, score, detail) of each party (id, name, country): by id,
        then by name (`_by_names`)."""
        idents = parties["id"].to_list()
        id_keys = normalize_ids(parties["id"]).to_list()
        at = self.positions()
        found: list[tuple[Any, ...] | None] = [
            (key, "id", 1.0, f"id {ident} in the registry") if key is not None and key in at else None
            for ident, key in zip(idents, id_keys, strict=True)
        ]
        named = [n for n, answer in enumerate(found) if answer is None]
        if named:
            unknown = [f"declared id {idents[n]} is not in the registry; " if id_keys[n] else "" for n in named]
            for n, answer in zip(named, self._by_names(parties[named], unknown), strict=True):
                found[n] = answer
        return found  # type: ignore[return-value]

    def _by_names(self, parties: pl.DataFrame, unknown: list[str]) -> list[tuple[Any, ...]]:
        """Parties not found by id: by their exact name keys, computed by columns
        (`spelling_keys`) and looked up together (`_exact_hits`), then one by one against
        blocked candidates (`_fuzzy_hit`), with the blocking keys of those names only."""
        names_ = parties["name"]
        countries = parties["country"].to_list()
        keys = parties["name_key"] if "name_key" in parties.columns else exact_keys(names_)
        hits = self._exact_hits(keys, parties["country"])
        fuzzy = [n for n, hit in enumerate(hits) if hit is None]
        if fuzzy:
            blocks = _blocks_of(names_[fuzzy])
            texts = names_.to_list()
            for n, blocking in zip(fuzzy, blocks, strict=True):
                hits[n] = self._fuzzy_hit(texts[n], countries[n], blocking)
        found = []
        for name, hit, why_not in zip(names_.to_list(), hits, unknown, strict=True):
            if hit is None:
                found.append((None, "none", 0.0, f"{why_not}{name!r} not found in the registry"))
                continue
            key, kind, spelling, score, why = hit
            found.append((key, kind, round(score, 3), f"{why_not}{name!r} ~ {kind} {spelling!r}: {why}"))
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

    def _exact_hits(self, keys: pl.Series, countries: pl.Series) -> list[tuple[Any, ...] | None]:
        """Per (exact key, country): the first spelling of that key, in the order of the
        sorted key column (`compile.name_frames`: by the key's hash, then load order), whose
        company's country is compatible (`_accepts`); None when there is none. One binary
        search of the hashes for all the keys, the rows between gathered at once."""
        found: list[tuple[Any, ...] | None] = [None] * len(keys)
        if not self.names.height:  # no company (and no typed key column)
            return found
        hashes = pl.Series([compiled.key_hash(key) for key in keys.to_list()], dtype=pl.Int64)
        column = self.names.get_column("hash")
        asked = pl.DataFrame({
            "q": pl.int_range(len(keys), dtype=pl.UInt32, eager=True), "want": keys, "country": countries,
            "lo": column.search_sorted(hashes, "left"), "hi": column.search_sorted(hashes, "right"),
        }).filter(pl.col("hi") > pl.col("lo"))  # fmt: skip
        if not asked.height:
            return found
        asked = asked.select("q", "want", "country", pl.int_ranges("lo", "hi", dtype=pl.UInt32).alias("at"))
        asked = asked.explode("at")  # rows in key column order within each q
        spellings = self.names[asked["at"]].select("pk", "key", "spelling_kind", "spelling")
        asked = asked.hstack(spellings).filter(pl.col("key") == pl.col("want"))
        at = self._company_rows(asked["pk"])
        listed = self.companies.get_column("country").gather(at).alias("listed")
        company = self.companies.get_column("key").gather(at).alias("company")
        asked = asked.hstack([listed, company]).filter(_compatible(pl.col("country"), pl.col("listed")))
        first = asked.unique("q", keep="first", maintain_order=True)
        for q, kind, spelling, key in first.select("q", "spelling_kind", "spelling", "company").iter_rows():
            found[q] = (key, kind, spelling, 1.0, "same name once normalised")
        return found

    def _company_rows(self, pks: pl.Series) -> pl.Series:
        """The positions in `companies` of these pks."""
        if self._company_at is None:
            return (pks.cast(pl.Int64) - 1).cast(pl.UInt32)
        at = self._company_at
        return pl.Series([at[pk] for pk in pks.to_list()], dtype=pl.UInt32)

    def _accepts(self, pk: int, country: str | None) -> bool:
        listed = self._countries[self._company_index(pk)]
        return not (country and listed and country != listed)

    def _fuzzy_hit(self, name: str, country: str | None, blocks: Iterable[str]) -> tuple[Any, ...] | None:
        """The best spelling at or above the threshold among the candidates sharing the
        name's blocking keys (`blocks`: `names.blocking_keys(name)`)."""
        index = self._name_index()
        members = {block: index.block(block) for block in blocks}
        found = []
        for pk in best_candidates(members, NO_LIMIT):
            if not self._accepts(pk, country):
                continue
            for _, kind, spelling in index.spellings(pk):
                match = names.compare(name, spelling)
                if match.score >= self.threshold:
                    found.append((self._keys[self._company_index(pk)], kind, spelling, match.score, match.detail))
        return max(found, key=lambda hit: hit[3]) if found else None  # the first of the best

    def warm(self) -> None:
        """Build the indexes the first look-ups would (a batch worker's, before its first
        chunk): the company positions, the name index, the watchlist's filter."""
        self.positions()
        self._name_index()
        if self.has_watchlist:
            self._watch_filter()

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
        return bool(self._watchlist)

    def watchlist_entries(self) -> list[WatchlistRecord]:
        """The watchlist, in its order."""
        return list(self._watchlist)

    def risk_entries(self) -> list[WatchlistRecord]:
        """The entries whose companies `risk_links.watched` resolves, in watchlist order:
        all of them, or, in a part of the registry (`reach`), those that may name a company
        its links reach (the others name none: no path from its parties meets theirs)."""
        return self.watchlist_entries() if self._risk_entries is None else list(self._risk_entries)

    def watchlisted(self, parties: pl.DataFrame) -> pl.DataFrame:
        """One row per distinct (id, name, country, company_key): whether the party is on
        the watchlist and the detail `enrichment.party_features` gives (`listed_name`,
        `reason`, `source`, `listed_on`, `why`) as JSON text, as `RegistryLookup.watchlisted`."""
        distinct = parties.select(pl.col("id", "name", "country", "company_key").cast(pl.Utf8)).unique(
            maintain_order=True
        )
        listed = pl.Series("watchlisted", [False] * distinct.height, dtype=pl.Boolean)
        details = pl.Series("detail", [None] * distinct.height, dtype=pl.Utf8)
        if self._watchlist and distinct.height:
            # only the parties the watchlist's keys can find take the reference's search; a
            # few parties (a submit's) take it without the filter, which would cost more to make
            asked = distinct.with_row_index("at")
            if self._watch_keys is not None or distinct.height > FEW_PARTIES:
                asked = asked.filter(self._watch_filter().candidates(distinct))
            found = pl.Series([self._watch_detail(*row) for row in asked.drop("at").iter_rows()], dtype=pl.Utf8)
            if asked.height:
                listed = listed.scatter(asked["at"], found.is_not_null())
                details = details.scatter(asked["at"], found)
        return distinct.with_columns(listed, details).select(list(LISTED_SCHEMA))

    def _watch_detail(self, ident: str | None, name: str, country: str | None, key: str | None) -> str | None:
        """The JSON detail of a party's watchlist hit (None: not on it)."""
        company = self.record(key) if key is not None else None
        hit = self._watch.watchlisted(Party(id=ident, name=name, country=country), company)
        if hit is None:
            return None
        entry, why = hit
        listed_on = entry.listed_on.isoformat() if entry.listed_on else None
        detail = {"listed_name": entry.name, "reason": entry.reason, "source": entry.source,
                  "listed_on": listed_on, "why": why}  # fmt: skip
        return json.dumps(detail, ensure_ascii=False)

    def _watch_filter(self) -> WatchFilter:
        if self._watch_keys is None or self._watch_keys.bound.threshold != self.threshold:  # once
            blocks = None if self.partial else self.blocks
            self._watch_keys = WatchFilter(self._watchlist, self.companies, self.names, blocks,
                                           self.threshold)  # fmt: skip
        return self._watch_keys

    @property
    def _watch(self) -> RegistryLookup:
        """The reference's watchlist search, built when a party is first asked of it (a
        submit's part of the registry is made several times over, most never asked)."""
        if self._watch_search is None:
            self._watch_search = RegistryLookup(self._watchlist, self.threshold)
        return self._watch_search

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


def _compatible(country: pl.Expr, listed: pl.Expr) -> pl.Expr:
    """`_accepts` as an expression: either country unknown (null or empty), or the same."""
    unknown = country.is_null() | (country == "") | listed.is_null() | (listed == "")
    return unknown | (country == listed)


def _blocks_of(spellings: pl.Series) -> list[list[str]]:
    """`names.blocking_keys` of each spelling, in order (by columns: `spelling_keys`)."""
    _, blocks = company_spelling_keys(spellings)
    found: list[list[str]] = [[] for _ in range(len(spellings))]
    for row, key in blocks.iter_rows():
        found[row].append(key)
    return found


def _positions(pks: pl.Series) -> dict[int, int] | None:
    """Each pk's position, or None when the pks are 1..n (position pk - 1, no dict)."""
    if pks.is_empty() or (pks.is_sorted() and pks[0] == 1 and pks[-1] == len(pks) and pks.n_unique() == len(pks)):
        return None
    return {pk: n for n, pk in enumerate(pks.to_list())}


def compiled_key(company_id: str) -> str:
    return normalize_id(company_id) or company_id
