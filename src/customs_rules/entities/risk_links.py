"""The registry's party red flags for the set-at-a-time core: address counts and links to risk.

The same definitions and tie-breaks as the per-party reference (`engine.party_risk`,
whose docstring states them), answered once per registry (per process), not per party:

- `address_counts`: every address key with its number of companies (one group-by; a
  submit's partial registry brings the counts of its parties' addresses, read from the
  store: `entities.reach`);
- `risk_reach`: for every company, the nearest other "risk" company within `depth`
  strong steps (and its distance). One breadth-first pass from all the risk companies at
  once over the compiled company steps (`linking.Graph.strong`, sorted codes): each
  company keeps the two best (distance, source) pairs of distinct sources, by distance,
  then source key; two are enough, since a company's own entry (when it is itself risk)
  is the only one its answer skips. A source best for a company is, one step closer,
  among the two best of the neighbour it came through (else two better sources would
  reach the company through that neighbour too).
- `risk_path`: the evidence path of one party to its target, found as `links()` finds a
  strong path (`linking._paths`: the shortest, the first by intermediaries' keys).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from ..contract.registry_rows import WatchlistRecord
from .linking import _around, _paths, _step, registry_graph

if TYPE_CHECKING:
    from .compiled import CompiledRegistry

REACH_SCHEMA = {"company_key": pl.Utf8, "risk_length": pl.Int64, "risk_target": pl.Utf8}


def kept_of(registry: CompiledRegistry) -> dict[Any, Any]:
    """Answers kept on the registry object (a registry does not change while it screens)."""
    kept: dict[Any, Any] | None = getattr(registry, "_risk_kept", None)
    if kept is None:
        kept = {}
        registry._risk_kept = kept  # type: ignore[attr-defined]
    return kept


def address_counts(registry: CompiledRegistry) -> pl.DataFrame:
    """address_key, address_companies: every registry company counted (none left out)."""
    kept = kept_of(registry)
    if "addresses" not in kept:
        given = registry.address_counts
        if given is None:
            placed = registry.companies.filter(pl.col("address_key").is_not_null())
            given = placed.group_by("address_key").agg(pl.len().cast(pl.Int64).alias("address_companies"))
        kept["addresses"] = given
    found: pl.DataFrame = kept["addresses"]
    return found


def first_at(registry: CompiledRegistry, key: str, limit: int) -> list[str]:
    """The keys of the first `limit` companies (load order) registered at this address key."""
    return registry.companies.filter(pl.col("address_key") == key).sort("pk").head(limit)["key"].to_list()


def watched(registry: CompiledRegistry) -> dict[str, WatchlistRecord]:
    """The registry companies the watchlist entries resolve to (as declared parties do),
    by key: the first entry in watchlist order naming each."""
    kept = kept_of(registry)
    if "watched" not in kept:
        entries = registry.risk_entries()
        frame = pl.DataFrame([(e.company_id, e.name, e.country) for e in entries],
                             schema={"id": pl.Utf8, "name": pl.Utf8, "country": pl.Utf8}, orient="row")  # fmt: skip
        resolved = registry.resolve(frame)
        by_party = {(i, n, c): key for i, n, c, key in resolved.select("id", "name", "country", "company_key").rows()}
        found: dict[str, WatchlistRecord] = {}
        for entry in entries:
            key = by_party[(entry.company_id, entry.name, entry.country)]
            if key is not None:
                found.setdefault(key, entry)
        kept["watched"] = found
    result: dict[str, WatchlistRecord] = kept["watched"]
    return result


def risk_reach(registry: CompiledRegistry, countries: frozenset[str], watchlist: bool, depth: int) -> pl.DataFrame:
    """Per company that has one within `depth` strong steps: the nearest other risk
    company (REACH_SCHEMA: its distance, its key). Computed once per registry and settings."""
    kept = kept_of(registry)
    cache = ("reach", countries, watchlist, depth)
    if cache in kept:
        found: pl.DataFrame = kept[cache]
        return found
    graph = registry_graph(registry)
    keys = registry.companies.filter(pl.col("country").is_in(sorted(countries)))["key"]
    if watchlist and registry.has_watchlist:
        keys = pl.concat([keys, pl.Series(sorted(watched(registry)), dtype=pl.Utf8)])
    sources = graph.node(keys.unique()).drop_nulls().unique().sort()
    best = pl.DataFrame({"node": sources, "src": sources, "dist": pl.Series([0] * len(sources), dtype=pl.Int64)})
    frontier, codes = best, graph.strong
    for step in range(1, depth + 1):
        if frontier.is_empty():
            break
        spread = _around(codes, graph.n, frontier.select("node", "src"), "node", "next")
        offered = spread.select(pl.col("next").alias("node"), "src", pl.lit(step, pl.Int64).alias("dist"))
        offered = offered.unique(["node", "src"]).join(best, on=["node", "src"], how="anti")
        best = pl.concat([best, offered]).sort("node", "dist", "src").group_by("node", maintain_order=True).head(2)
        frontier = best.filter(pl.col("dist") == step)
    nearest = best.filter(pl.col("src") != pl.col("node")).group_by("node", maintain_order=True).first()
    found = nearest.select(
        graph.nodes.gather(nearest["node"]).alias("company_key"), pl.col("dist").alias("risk_length"),
        graph.nodes.gather(nearest["src"]).alias("risk_target"),
    ).cast(REACH_SCHEMA)  # type: ignore[arg-type]  # fmt: skip
    kept[cache] = found
    return found


def risk_paths(registry: CompiledRegistry, wanted: pl.DataFrame) -> dict[tuple[str, str, int], tuple[int, ...]]:
    """The companies (numbers of `linking.Graph`, party first, target last) of the strong
    path of each wanted (company_key, risk_target, risk_length), found for all in one pass."""
    graph = registry_graph(registry)
    wanted = wanted.select("company_key", "risk_target", "risk_length").unique()
    pairs = pl.DataFrame({"a": graph.node(wanted["company_key"]), "c": graph.node(wanted["risk_target"]),
                          "depth": wanted["risk_length"].cast(pl.Int64)})  # fmt: skip
    found = _paths(graph.strong, graph.n, pairs)
    out = {}
    for a, c, depth, middle in found.iter_rows():
        nodes = (a, *middle, c)
        assert len(nodes) == depth + 1, "the nearest risk company is `risk_length` steps away"
        out[(graph.key(a), graph.key(c), depth)] = nodes
    return out


def path_steps(registry: CompiledRegistry, nodes: tuple[int, ...]) -> list[dict[str, Any]]:
    """The evidence of a path (company numbers), step by step, as `links()` words it."""
    graph = registry_graph(registry)
    return [_step(graph, x, y, False) for x, y in zip(nodes, nodes[1:], strict=False)]
