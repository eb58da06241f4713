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
  companies, and the people rows the pairs and edges name.

Resolution runs twice on a growing part: first with ids and exact keys only (a party it
leaves unresolved is one the whole snapshot searches by blocking keys), then with those
blocks read. The second answer's companies seed the links.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ..contract.registry_rows import WatchlistRecord
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

    def registry(self) -> CompiledRegistry:
        people = {pk for row in self.pairs for pk in row[1:3]} | {row[4] for row in self.edges if row[4] is not None}
        frames = {
            "companies": self.reader.companies(self.keys),
            "company_keys": key_frame(self.exact, self.blocks),
            "people": self.reader.people(people),
            "pairs": pair_frame(self.pairs),
            "edges": edge_frame(self.edges),
        }
        return CompiledRegistry(frames, self.watchlist, self.threshold)


def for_parties(
    store: Any, parties: pl.DataFrame, depth: int, threshold: float = names.DEFAULT_THRESHOLD
) -> CompiledRegistry:
    """The part of the store's compiled registry that `parties` (columns id, name,
    country) can reach within `depth` steps: see the module's docstring."""
    distinct = parties.select(pl.col("id", "name", "country").cast(pl.Utf8)).unique(maintain_order=True)
    with store.registry_part() as reader:
        part = _Part(reader, reader.watchlist(), threshold)
        idents = {key for ident in distinct["id"].to_list() if ident and (key := normalize_id(ident))}
        part.exact = reader.exact_rows(keys={compiled.exact_key(name) for name in distinct["name"].to_list()})
        part.keys = idents | reader.keys_of(row[1] for row in part.exact)
        found = part.registry().resolve(distinct)
        unresolved = found.filter(pl.col("company_key").is_null())["name"].unique().to_list()
        if unresolved:
            _add_candidates(part, unresolved)
            found = part.registry().resolve(distinct)
        _add_neighbourhood(part, set(found["company_key"].drop_nulls().to_list()), depth)
        return part.registry()


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
        if level == depth - 1:
            break
        ends = {key for row in pairs for key in row[3:5]} | {key for row in edges for key in row[1:3]}
        frontier = ends - reached
        reached |= frontier
    part.keys |= reached
