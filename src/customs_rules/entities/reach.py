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
  watchlist as risk, what resolving every watchlist entry needs (an entry names the
  company it resolves to in the whole snapshot: the part must resolve it alike). Every
  path of `depth` steps or fewer from a party is in the part, so its nearest risk
  company is the whole snapshot's.

Resolution runs twice on a growing part: first with ids and exact keys only (a party it
leaves unresolved is one the whole snapshot searches by blocking keys), then with those
blocks read. The second answer's companies seed the links.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ..contract.registry_rows import WatchlistRecord
from ..rules.history import DEFAULTS, HistorySettings
from ..store.registry_part import RegistryPart, edge_frame, key_frame, pair_frame
from . import compile as compiled
from . import names
from .compiled import CompiledRegistry
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

    def registry(self) -> CompiledRegistry:
        people = {pk for row in self.pairs for pk in row[1:3]} | {row[4] for row in self.edges if row[4] is not None}
        frames = {
            "companies": self.reader.companies(self.keys),
            "company_keys": key_frame(self.exact, self.blocks),
            "people": self.reader.people(people),
            "pairs": pair_frame(self.pairs),
            "edges": edge_frame(self.edges),
        }
        if self.address_counts is not None:
            frames["address_counts"] = self.address_counts
        return CompiledRegistry(frames, self.watchlist, self.threshold, partial=True)


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
        entries = [(e.company_id, e.name, e.country) for e in part.watchlist] if settings.risk_watchlist else []
        wanted = pl.concat([distinct, pl.DataFrame(entries, schema=distinct.schema, orient="row")])
        wanted = wanted.unique(maintain_order=True)
        idents = {key for ident in wanted["id"].to_list() if ident and (key := normalize_id(ident))}
        part.exact = reader.exact_rows(keys={compiled.exact_key(name) for name in wanted["name"].to_list()})
        part.keys = idents | reader.keys_of(row[1] for row in part.exact)
        found = part.registry().resolve(wanted)
        unresolved = found.filter(pl.col("company_key").is_null())["name"].unique().to_list()
        if unresolved:
            _add_candidates(part, unresolved)
        seeds = set(part.registry().resolve(distinct)["company_key"].drop_nulls().to_list())
        _add_neighbourhood(part, seeds, depth)
        _add_addresses(part, seeds, settings.evidence_limit + 1)
        return part.registry()


def _add_addresses(part: _Part, seeds: set[str], named: int) -> None:
    """The count of companies at each seed's address, and the first `named` of them."""
    places = part.reader.companies(seeds)["address_key"].drop_nulls().unique().to_list()
    part.address_counts = part.reader.address_counts(places)
    for place in places:
        part.keys |= part.reader.first_at(place, named)


def _add_candidates(part: _Part, unresolved: list[str]) -> None:
    """The blocks of names the ids and exact keys left unresolved, and their candidates."""
    wanted = {name: names.blocking_keys(name) for name in unresolved}
    part.blocks = part.reader.block_members(set().union(*wanted.values()))
    candidates = set()
    for blocks in wanted.values():
        candidates.update(best_candidates({block: part.blocks[block] for block in blocks}, NO_LIMIT))
    part.exact += part.reader.exact_rows(companies=candidates)
    part.keys |= part.reader.keys_of(candidates)


def _add_neighbourhood(part: _Part, seeds: set[str], depth: int) -> None:
    """The pairs and edges touching the companies within `depth - 1` steps of the seeds
    (both directions: every kind of step goes both ways), and those companies."""
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
