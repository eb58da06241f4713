"""Links for a set of (exporter, consignee) company pairs, by joins over the compiled edges.

The same definition and tie-breaks as the per-declaration reference (`links.py`, whose
docstring states them; `enrichment.linked_parties` and `enrichment.link_paths`):

- `linked`, `shared_persons`: the strong person pairs between the two companies (the
  exporter's rows in load order, then the consignee's); `linked_weak` when there is
  none and some pair agrees up to initials only;
- `link_path_length`: the shortest path of at most `depth` steps through persons and
  roles; else `linked_by_address`: one allowing address steps. Among paths of one
  length, the first by the intermediaries' keys; each step is the strongest direct link.

Details are JSON text of the dicts the reference's features carry (`*_detail` columns).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import polars as pl

from . import persons

if TYPE_CHECKING:
    from .compiled import CompiledRegistry

LINK_SCHEMA = {
    "exporter_key": pl.Utf8, "consignee_key": pl.Utf8, "depth": pl.Int64,
    "linked": pl.Boolean, "shared_persons": pl.Int64, "linked_detail": pl.Utf8,
    "linked_weak": pl.Boolean, "linked_weak_detail": pl.Utf8,
    "link_path_length": pl.Int64, "link_path_detail": pl.Utf8,
    "linked_by_address": pl.Boolean, "linked_by_address_detail": pl.Utf8,
}  # fmt: skip
NOTE_WEAK = "initials only: the names agree up to initials, which cannot tell Ilya from Igor"


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class Graph:
    """The directed person pairs at a threshold and the canonical steps between companies."""

    def __init__(self, registry: CompiledRegistry) -> None:
        self.registry = registry
        pairs = registry.pairs
        rows = []
        for row in pairs.iter_rows():
            found = persons.classify(persons.PairMatch(*row[4:]), registry.threshold)
            if found is not None:  # scores as the evidence shows them: the best is chosen among those
                rows.append((*row[:4], found[0], round(found[1], 3), found[2]))
        schema = {"row": pl.Int64, "other_row": pl.Int64, "src": pl.Utf8, "dst": pl.Utf8, "strength": pl.Utf8,
                  "score": pl.Float64, "method": pl.Utf8}  # fmt: skip
        classified = pl.DataFrame(rows, schema=schema, orient="row")
        flipped = classified.select(
            pl.col("other_row").alias("row"), pl.col("row").alias("other_row"), pl.col("dst").alias("src"),
            pl.col("src").alias("dst"), "strength", "score", "method",
        )  # fmt: skip
        self.persons = pl.concat([classified, flipped]).sort("src", "dst", "row", "other_row")
        self.strong = self._steps(addresses=False)
        self.all = self._steps(addresses=True)

    def _steps(self, addresses: bool) -> pl.DataFrame:
        """(src, dst, kind, a, b, prio): the strongest direct link per directed pair.
        role: a = the people row; person: a, b = the two rows; address: none."""
        edges = self.registry.edges
        roles = edges.filter(pl.col("kind") == "role")
        held_by_dst = roles.select(pl.col("other_key").alias("src"), pl.col("company_key").alias("dst"),
                                   pl.lit(0).alias("prio"), pl.col("person_pk").alias("a"))  # fmt: skip
        held_by_src = roles.select(pl.col("company_key").alias("src"), pl.col("other_key").alias("dst"),
                                   pl.lit(1).alias("prio"), pl.col("person_pk").alias("a"))  # fmt: skip
        role_steps = pl.concat([held_by_dst, held_by_src]).with_columns(
            pl.lit("role").alias("kind"), pl.lit(None, pl.Int64).alias("b"), pl.lit(0.0).alias("neg")
        )
        strong = self.persons.filter(pl.col("strength") == persons.STRONG)
        person_steps = strong.select(
            "src", "dst", pl.lit(2).alias("prio"), pl.col("row").alias("a"), pl.lit("person").alias("kind"),
            pl.col("other_row").alias("b"), (-pl.col("score")).alias("neg"),
        )  # fmt: skip
        parts = [role_steps.select(person_steps.columns), person_steps]
        if addresses:
            placed = edges.filter(pl.col("kind") == "address")
            both = pl.concat(
                [
                    placed.select(pl.col("company_key").alias("src"), pl.col("other_key").alias("dst")),
                    placed.select(pl.col("other_key").alias("src"), pl.col("company_key").alias("dst")),
                ]
            )
            parts.append(both.select("src", "dst", pl.lit(3).alias("prio"), pl.lit(None, pl.Int64).alias("a"),
                                     pl.lit("address").alias("kind"), pl.lit(None, pl.Int64).alias("b"),
                                     pl.lit(0.0).alias("neg")))  # fmt: skip
        steps = pl.concat([p.cast({"prio": pl.Int64, "neg": pl.Float64}) for p in parts])
        steps = steps.filter(pl.col("src") != pl.col("dst"))
        return steps.sort("src", "dst", "prio", "neg", "a", "b").group_by("src", "dst", maintain_order=True).first()


def links(registry: CompiledRegistry, pairs: pl.DataFrame) -> pl.DataFrame:
    """One row per distinct (exporter_key, consignee_key, depth) of `pairs` (LINK_SCHEMA)."""
    graph = registry_graph(registry)
    todo = pairs.select(
        pl.col("exporter_key").cast(pl.Utf8), pl.col("consignee_key").cast(pl.Utf8), pl.col("depth").cast(pl.Int64)
    ).unique(maintain_order=True)
    live = todo.filter(
        pl.col("exporter_key").is_not_null() & pl.col("consignee_key").is_not_null()
        & (pl.col("exporter_key") != pl.col("consignee_key"))
    )  # fmt: skip
    strong = _paths(graph.strong, live)
    address = _paths(graph.all, live.join(strong, on=["exporter_key", "consignee_key", "depth"], how="anti"))
    shared = graph.persons.join(live.select("exporter_key", "consignee_key").unique(),
                                left_on=["src", "dst"], right_on=["exporter_key", "consignee_key"])  # fmt: skip
    by_pair: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in shared.iter_rows():
        by_pair.setdefault((row[2], row[3]), []).append(row)
    found = {(r[0], r[1], r[2]): ("strong", r[3]) for r in strong.iter_rows()}
    found |= {(r[0], r[1], r[2]): ("address", r[3]) for r in address.iter_rows()}
    out = [
        _row(graph, a, c, depth, by_pair.get((a, c), []), found.get((a, c, depth))) for a, c, depth in todo.iter_rows()
    ]
    return pl.DataFrame(out, schema=LINK_SCHEMA, orient="row")


def registry_graph(registry: CompiledRegistry) -> Graph:
    graph = getattr(registry, "_graph", None)
    if graph is None or graph.registry is not registry:
        graph = Graph(registry)
        registry._graph = graph  # type: ignore[attr-defined]
    return graph


def _paths(steps: pl.DataFrame, pairs: pl.DataFrame) -> pl.DataFrame:
    """(exporter_key, consignee_key, depth, middle: list of intermediary keys) of the pairs
    with a path of at most `depth` steps in `steps`, the shortest, first by middles."""
    hop = steps.select("src", "dst")
    one = pairs.join(hop, left_on=["exporter_key", "consignee_key"], right_on=["src", "dst"], how="semi")
    found = [one.with_columns(pl.lit([], pl.List(pl.Utf8)).alias("middle"))]
    rest = pairs.join(one, on=["exporter_key", "consignee_key", "depth"], how="anti").filter(pl.col("depth") >= 2)
    ends = (pl.col("x") != pl.col("exporter_key")) & (pl.col("x") != pl.col("consignee_key"))
    first = rest.join(hop.rename({"src": "exporter_key", "dst": "x"}), on="exporter_key")
    two = first.filter(ends).join(hop.rename({"src": "x", "dst": "consignee_key"}), on=["x", "consignee_key"])
    two = two.sort("x").group_by("exporter_key", "consignee_key", "depth", maintain_order=True).agg(pl.col("x").first())
    found.append(two.select("exporter_key", "consignee_key", "depth", pl.concat_list("x").alias("middle")))
    rest = rest.join(two, on=["exporter_key", "consignee_key", "depth"], how="anti").filter(pl.col("depth") >= 3)
    left = rest.join(hop.rename({"src": "exporter_key", "dst": "x"}), on="exporter_key").filter(ends)
    right = rest.join(hop.rename({"src": "y", "dst": "consignee_key"}), on="consignee_key")
    right = right.filter((pl.col("y") != pl.col("exporter_key")) & (pl.col("y") != pl.col("consignee_key")))
    three = left.join(hop.rename({"src": "x", "dst": "y"}), on="x").filter(pl.col("x") != pl.col("y"))
    three = three.join(right, on=["exporter_key", "consignee_key", "depth", "y"], how="semi").sort("x", "y")
    three = three.group_by("exporter_key", "consignee_key", "depth", maintain_order=True).agg(
        pl.col("x").first(), pl.col("y").first()
    )
    found.append(three.select("exporter_key", "consignee_key", "depth", pl.concat_list("x", "y").alias("middle")))
    return pl.concat(found)


def _row(graph: Graph, a: str | None, c: str | None, depth: int, shared: list[tuple[Any, ...]],
         path: tuple[str, list[str]] | None) -> tuple[Any, ...]:  # fmt: skip
    none = (a, c, depth, False, 0, None, False, None, None, None, False, None)
    if a is None or c is None or a == c:
        return none
    registry = graph.registry
    exporter, consignee = registry.record(a), registry.record(c)
    strong = [s for s in shared if s[4] == persons.STRONG]
    weak = [s for s in shared if s[4] == persons.WEAK]
    linked: tuple[Any, ...] = (False, 0, None, False, None)
    if strong:
        detail = _dump(_persons_detail(graph, exporter, consignee, strong))
        linked = (True, len(strong), detail, False, None)
    elif weak:
        linked = (False, 0, None, True, _dump(_persons_detail(graph, exporter, consignee, weak) | {"note": NOTE_WEAK}))
    paths: tuple[Any, ...] = (None, None, False, None)
    if path is not None:
        kind, middle = path
        steps = graph.strong if kind == "strong" else graph.all
        keys = [a, *middle, c]
        path_detail = {"exporter": exporter.name, "consignee": consignee.name, "depth": depth, "length": len(keys) - 1,
                  "path": [_step(graph, steps, x, y) for x, y in zip(keys, keys[1:], strict=False)]}  # fmt: skip
        dumped = _dump(path_detail)
        paths = (len(keys) - 1, dumped, False, None) if kind == "strong" else (None, None, True, dumped)
    return (a, c, depth, *linked, *paths)


def _person(graph: Graph, pk: int) -> dict[str, Any]:
    people = graph.registry.people
    return people.row(graph.registry.person_index(pk), named=True)


def _shared(graph: Graph, row: int, other: int, score: float, method: str) -> dict[str, Any]:
    mine, theirs = _person(graph, row), _person(graph, other)
    why = persons.why(method, (mine["person_name"], mine["person_id"]), theirs["person_name"])
    return {"person": mine["person_name"], "exporter_role": mine["role"], "consignee_person": theirs["person_name"],
            "consignee_role": theirs["role"], "score": round(score, 3), "method": method, "why": why}  # fmt: skip


def _persons_detail(graph: Graph, exporter: Any, consignee: Any, shared: list[tuple[Any, ...]]) -> dict[str, Any]:
    found = [_shared(graph, s[0], s[1], s[5], s[6]) for s in shared]
    return {"exporter": exporter.name, "consignee": consignee.name, "shared_persons": found}


def _step(graph: Graph, steps: pl.DataFrame, x: str, y: str) -> dict[str, Any]:
    registry = graph.registry
    source, target = registry.record(x), registry.record(y)
    step = steps.filter((pl.col("src") == x) & (pl.col("dst") == y)).row(0, named=True)
    ends = {"from": source.name, "from_id": source.company_id, "to": target.name, "to_id": target.company_id}
    if step["kind"] == "role":
        row = _person(graph, step["a"])
        holder, held = (target, source) if step["prio"] == 0 else (source, target)
        why = f"{holder.name} is {row['role']} of {held.name}"
        return ends | {"link": "role", "holder": holder.name, "role": row["role"], "of": held.name, "why": why}
    if step["kind"] == "person":
        shared = _shared(graph, step["a"], step["b"], -step["neg"], _method(graph, step["a"], step["b"]))
        return ends | {"link": "person", "person": shared["person"], "from_role": shared["exporter_role"],
                       "to_person": shared["consignee_person"], "to_role": shared["consignee_role"],
                       "score": shared["score"], "method": shared["method"], "why": shared["why"]}  # fmt: skip
    key = source.address and registry.companies.filter(pl.col("key") == x)["address_key"][0]
    why = f"same address once normalised: {key!r}"
    return ends | {"link": "address", "address": source.address, "to_address": target.address, "why": why}


def _method(graph: Graph, row: int, other: int) -> str:
    found = graph.persons.filter((pl.col("row") == row) & (pl.col("other_row") == other))
    return str(found["method"][0])
