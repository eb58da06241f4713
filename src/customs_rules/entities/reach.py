"""A `CompiledRegistry` of what a few parties can reach, read from the store by key.

One officer's submit must not read a registry of 100k companies (`from_store`: seconds).
Its set APIs (`resolve`, `watchlisted`, `links`) answer for these parties exactly as the
whole snapshot does, because the part holds everything they look at:

- resolve: the companies of the parties' ids; every exact-key row of their names (and
  those rows' companies); for the names neither finds, every member of their blocking
  keys (the candidates' weights depend on the blocks' sizes) and, for the candidates
  `best_candidates` picks, their companies and all their spellings;
- watchlisted: the whole watchlist, and the resolved companies;
- links of any two resolved companies at up to `depth` steps: every person pair and
  edge touching a company within `depth - 1` steps of either (a path of `depth` steps
  passes only through such companies, and each of its steps touches one), those
  companies and the companies one step further (their countries make them "risk"), and
  the people rows the pairs and edges name;
- the parties' red flags (`engine.party_risk`): the count of companies at each resolved
  company's address and the first of them (evidence), and, when the settings count the
  watchlist as risk, what resolving the watchlist entries that may name a company of
  those links needs (an entry names the company it resolves to in the whole snapshot:
  the part must resolve it alike). Every path of `depth` steps or fewer from a party is
  in the part, so its nearest risk company is the whole snapshot's.

Resolution runs twice on a growing part: first with ids and exact keys only (a party it
leaves unresolved is one the whole snapshot searches by blocking keys), then with those
blocks read. The second answer's companies seed the links. The watchlist entries are
resolved alike once the links are read, and only those that may resolve to a company
the links reach (`_entries_near`: by its id, its exact name key, or a name that scores
at the threshold against one of its spellings). The others resolve to companies no
path of the part meets: resolving all of a 500-entry watchlist cost about a quarter of
a cold submit.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ..contract.registry_rows import WatchlistRecord, split_list
from ..rules.history import DEFAULTS, HistorySettings
from ..store.registry_part import RegistryPart, edge_frame, key_frame, pair_frame
from . import compile as compiled
from . import names
from .compiled import CompiledRegistry
from .name_bound import NameBound
from .name_search import NO_LIMIT, best_candidates
from .persons import normalize_id


class _Part:
    """The rows read so far, and the registry they make."""

    def __init__(self, reader: RegistryPart, watchlist: list[WatchlistRecord], threshold: float) -> None:
        self.reader = reader
        self.watchlist = watchlist
        self.threshold = threshold
        self.keys: set[str] = set()  # companies (by key) read
        self.exact: list[tuple[Any, ...]] = []
        self.blocks: dict[str, set[int]] = {}
        self.pairs: list[tuple[Any, ...]] = []
        self.edges: list[tuple[Any, ...]] = []
        self.address_counts: pl.DataFrame | None = None
        self.risk_entries: list[WatchlistRecord] = []  # the entries that may name a linked company

    def registry(self, blocks: bool = True) -> CompiledRegistry:
        """The part read so far (without its blocks: as resolved by ids and exact keys only)."""
        people = {pk for row in self.pairs for pk in row[1:3]} | {row[4] for row in self.edges if row[4] is not None}
        frames = {
            "companies": self.reader.companies(self.keys),
            "company_keys": key_frame(self.exact, self.blocks if blocks else {}),
            "people": self.reader.people(people),
            "pairs": pair_frame(self.pairs),
            "edges": edge_frame(self.edges),
        }
        if self.address_counts is not None:
            frames["address_counts"] = self.address_counts
        return CompiledRegistry(frames, self.watchlist, self.threshold, partial=True, risk_entries=self.risk_entries)

    def add_resolution(self, wanted: pl.DataFrame) -> pl.DataFrame | None:
        """What resolving these parties (id, name, country) needs: the companies of their
        ids, the rows of their names' exact keys (and those rows' companies), and for the
        names neither finds, their blocks and candidates (`_add_candidates`). Returns
        their resolution when the part holds no blocks (so resolving them again on it
        would give the same), else None."""
        self.exact += self.reader.exact_rows(keys={compiled.exact_key(name) for name in wanted["name"].to_list()})
        idents = {key for ident in wanted["id"].to_list() if ident and (key := normalize_id(ident))}
        self.keys |= idents | self.reader.keys_of(row[1] for row in self.exact)
        found = self.registry(blocks=False).resolve(wanted)
        unresolved = found.filter(pl.col("company_key").is_null())["name"].unique().to_list()
        if unresolved:
            _add_candidates(self, unresolved)
        return None if self.blocks else found


def for_parties(
    store: Any, parties: pl.DataFrame, depth: int, threshold: float = names.DEFAULT_THRESHOLD,
    settings: HistorySettings = DEFAULTS,
) -> CompiledRegistry:  # fmt: skip
    """The part of the store's compiled registry that `parties` (columns id, name,
    country) can reach within `depth` steps: see the module's docstring. `settings`: the
    pack's (the watchlist as risk, the evidence limit)."""
    distinct = parties.select(pl.col("id", "name", "country").cast(pl.Utf8)).unique(maintain_order=True)
    with store.registry_part() as reader:
        part = _Part(reader, reader.watchlist(), threshold)
        found = part.add_resolution(distinct)
        found = part.registry().resolve(distinct) if found is None else found
        seeds = set(found["company_key"].drop_nulls().to_list())
        linked = _add_neighbourhood(part, seeds, depth)
        _add_addresses(part, seeds, settings.evidence_limit + 1)
        if settings.risk_watchlist and part.watchlist:
            part.risk_entries = _entries_near(part, linked)
            entries = [(e.company_id, e.name, e.country) for e in part.risk_entries]
            if entries:
                listed = pl.DataFrame(entries, schema=distinct.schema, orient="row")
                part.add_resolution(listed.unique(maintain_order=True))
        return part.registry()


def _entries_near(part: _Part, linked: set[str]) -> list[WatchlistRecord]:
    """The watchlist entries (in order) that may resolve to one of the `linked`
    companies, as `CompiledRegistry.resolve` resolves them: an entry whose id is a
    company's resolves to that company; the others by a name with the exact key of one
    of their spellings, or by a name search, which finds only candidates sharing a
    blocking key with the name, and only spellings `names.compare` scores at the
    threshold (`NameBound` rules out most names that cannot reach it against any of
    their spellings; the few it lets through are compared with each). Keys are compared
    by hash (`key_hash`): a collision only keeps an entry more."""
    entries = part.watchlist
    idents = [normalize_id(entry.company_id) if entry.company_id else None for entry in entries]
    known = part.reader.known(ident for ident in idents if ident)
    exact, blocks = part.reader.spelling_hashes(linked)
    bound: NameBound | None = None
    spellings: dict[int, list[str]] = {}  # pk -> the spellings of a linked company
    kept = []
    for entry, ident in zip(entries, idents, strict=True):
        if ident in known:
            if ident in linked:
                kept.append(entry)
            continue
        if compiled.key_hash(compiled.exact_key(entry.name)) in exact:
            kept.append(entry)
            continue
        sharing = set().union(*(blocks.get(compiled.key_hash(block), ()) for block in names.blocking_keys(entry.name)))
        if not sharing:
            continue
        if bound is None:  # the linked companies' spellings, once
            rows = part.reader.companies(linked).select("pk", "name", "aliases").rows()
            spellings = {pk: [name, *split_list(aliases)] for pk, name, aliases in rows}
            bound = NameBound((spelling for found in spellings.values() for spelling in found), part.threshold)
        if bound.may_match(entry.name) and any(
            names.compare(entry.name, spelling).score >= part.threshold
            for pk in sorted(sharing)
            for spelling in spellings.get(pk, ())
        ):
            kept.append(entry)
    return kept


def _add_addresses(part: _Part, seeds: set[str], named: int) -> None:
    """The count of companies at each seed's address, and the first `named` of them."""
    places = part.reader.companies(seeds)["address_key"].drop_nulls().unique().to_list()
    part.address_counts = part.reader.address_counts(places)
    for place in places:
        part.keys |= part.reader.first_at(place, named)


def _add_candidates(part: _Part, unresolved: list[str]) -> None:
    """The blocks of names the ids and exact keys left unresolved, and their candidates."""
    wanted = {name: names.blocking_keys(name) for name in unresolved}
    part.blocks |= part.reader.block_members(set().union(*wanted.values()) - set(part.blocks))
    candidates = set()
    for blocks in wanted.values():
        candidates.update(best_candidates({block: part.blocks[block] for block in blocks}, NO_LIMIT))
    part.exact += part.reader.exact_rows(companies=candidates)
    part.keys |= part.reader.keys_of(candidates)


def _add_neighbourhood(part: _Part, seeds: set[str], depth: int) -> set[str]:
    """The pairs and edges touching the companies within `depth - 1` steps of the seeds
    (both directions: every kind of step goes both ways), and those companies. Returns
    the seeds and every company a pair or an edge read names: the only companies a path
    of `depth` steps or fewer from a seed can meet."""
    reached, frontier = set(seeds), set(seeds)
    for level in range(depth):
        if not frontier:
            break
        pairs, edges = part.reader.pairs(frontier), part.reader.edges(frontier)
        part.pairs += pairs
        part.edges += edges
        ends = {key for row in pairs for key in row[3:5]} | {key for row in edges for key in row[1:3]}
        if level == depth - 1:
            reached |= ends  # a risk company `depth` steps away: its country is wanted
            break
        frontier = ends - reached
        reached |= frontier
    part.keys |= reached
    return reached
