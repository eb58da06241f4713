"""Links for a set of (exporter, consignee) company pairs, answered from sorted integer codes.

The same definition and tie-breaks as the per-declaration reference (`links.py`, whose
docstring states them; `enrichment.linked_parties` and `enrichment.link_paths`):

- `linked`, `shared_persons`: the strong person pairs between the two companies (the
  exporter's rows in load order, then the consignee's); `linked_weak` when there is
  none and some pair agrees up to initials only;
- `link_path_length`: the shortest path of at most `depth` steps through persons and
  roles; else `linked_by_address`: one allowing address steps. Among paths of one
  length, the first by the intermediaries' keys; each step is the strongest direct link.

Details are JSON text of the dicts the reference's features carry (`*_detail` columns).

How (`Graph`, built once per registry): companies are numbered in the order of their keys,
so comparing numbers compares keys, and a directed pair of companies (x, y) is the code
x * n + y. The person pairs, the role steps and the pairs one step apart (with and without
address steps) are columns sorted by code: a chunk's pairs are found by binary search
(`search_sorted`), never by hashing the whole registry again, and the neighbours of x are
the codes from x * n to x * n + n - 1. Details are worked out for the linked pairs only.
"""

from __future__ import annotations

import json
from array import array
from bisect import bisect_left
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
METHODS = pl.Enum(["person_id", "initials+birth_date", "initials", "name"])
KEYS = ["exporter_key", "consignee_key", "depth"]
UNLINKED = {"linked": False, "shared_persons": 0, "linked_weak": False, "linked_by_address": False}


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


class Graph:
    """The registry's person pairs at its threshold and its steps between companies, as codes.

    `nodes`: the company keys, sorted (a company's number is its position). `persons`:
    code, row, other_row, strong, score (as the evidence shows it), method; both ways
    round, sorted by code, row, other_row. `roles`: code, prio (0: the step's target holds
    a role in its source; 1: the other way round), pk of the people row; sorted.
    `strong`, `all`: the distinct codes one step apart without and with address steps."""

    def __init__(self, registry: CompiledRegistry, frames: dict[str, pl.DataFrame] | None = None) -> None:
        self.registry = registry
        self._codes: dict[str, array[int]] = {}  # `_range`'s copies of the codes of `roles` and `persons`
        if frames is not None:  # as `frames` gave them, for this registry at its threshold
            self._take(frames)
            return
        edges, pairs = registry.edges, registry.pairs
        ends = [registry.companies["key"], pairs["company_key"], pairs["other_company_key"], edges["company_key"],
                edges["other_key"]]  # fmt: skip
        self.nodes = pl.concat([e.cast(pl.Utf8) for e in ends]).unique().sort()
        self.n = len(self.nodes)
        self.persons = self._persons(pairs, registry.threshold)
        self.roles = self._roles(edges.filter(pl.col("kind") == "role"))
        strong = self.persons.filter("strong")["code"]
        self.strong = pl.concat([self.roles["code"], strong]).unique().sort()
        places = edges.filter(pl.col("kind") == "address")
        there = self._code(places["company_key"], places["other_key"])
        back = self._code(places["other_key"], places["company_key"])
        self.all = pl.concat([self.strong, there, back]).unique().sort() if places.height else self.strong

    def frames(self) -> dict[str, pl.DataFrame]:
        """What the graph is made of, as frames (a batch's workers map one copy of them:
        `workflow.batch_pool.share_graph`); "all" only when address steps add to "strong"."""
        found = {"nodes": self.nodes.to_frame("key"), "persons": self.persons, "roles": self.roles,
                 "strong": self.strong.to_frame("code")}  # fmt: skip
        return found | ({"all": self.all.to_frame("code")} if self.all is not self.strong else {})

    def _take(self, frames: dict[str, pl.DataFrame]) -> None:
        self.nodes = frames["nodes"].get_column("key")
        self.n = len(self.nodes)
        self.persons, self.roles = frames["persons"], frames["roles"]
        self.strong = frames["strong"].get_column("code")
        self.all = frames["all"].get_column("code") if "all" in frames else self.strong

    def node(self, keys: pl.Series) -> pl.Series:
        """Each key's number (null when the registry does not know it)."""
        keys = keys.cast(pl.Utf8)
        if self.n == 0:
            return pl.Series([None] * len(keys), dtype=pl.Int64)
        at = self.nodes.search_sorted(keys, side="left").cast(pl.Int64)
        known = self.nodes.gather(at.clip(upper_bound=self.n - 1)) == keys
        return pl.select(pl.when(known).then(at)).to_series()

    def key(self, node: int) -> str:
        return str(self.nodes[node])

    def _code(self, src: pl.Series, dst: pl.Series) -> pl.Series:
        """The code of each (src, dst) pair of keys; none for a company linked to itself."""
        x, y = self.node(src), self.node(dst)
        return (x * self.n + y).filter(x != y).alias("code")

    def _persons(self, pairs: pl.DataFrame, threshold: float) -> pl.DataFrame:
        """`persons.classify` as columns: the pairs that are one person, strong or weak."""
        found = pairs.select("row", "other_row", "company_key", "other_company_key", *_classified(threshold))
        found = found.filter(pl.col("method").is_not_null())
        distinct = found["score"].unique().to_list()  # as Python rounds them: the evidence shows these
        rounded = found["score"].replace_strict(distinct, [round(s, 3) for s in distinct], return_dtype=pl.Float64)
        found = found.with_columns(rounded)
        x, y = self.node(found["company_key"]), self.node(found["other_company_key"])
        found, x, y = found.filter(x != y), x.filter(x != y), y.filter(x != y)  # never a step, never asked about
        both = [
            found.select(pl.Series("code", x * self.n + y), "row", "other_row", "strong", "score", "method"),
            found.select(pl.Series("code", y * self.n + x), pl.col("other_row").alias("row"),
                         pl.col("row").alias("other_row"), "strong", "score", "method"),
        ]  # fmt: skip
        return pl.concat(both).sort("code", "row", "other_row").cast({"row": pl.Int32, "other_row": pl.Int32})

    def _roles(self, roles: pl.DataFrame) -> pl.DataFrame:
        holder, held = self.node(roles["company_key"]), self.node(roles["other_key"])
        ends = pl.DataFrame({"holder": holder, "held": held, "pk": roles["person_pk"].cast(pl.Int64)})
        ends = ends.filter(pl.col("holder") != pl.col("held"))
        n = self.n
        to_holder = ends.select((pl.col("held") * n + pl.col("holder")).alias("code"), pl.lit(0).alias("prio"), "pk")
        to_held = ends.select((pl.col("holder") * n + pl.col("held")).alias("code"), pl.lit(1).alias("prio"), "pk")
        return pl.concat([to_holder, to_held]).cast({"prio": pl.Int8}).sort("code", "prio", "pk")

    def best_step(self, x: int, y: int, addresses: bool) -> tuple[str, Any]:
        """The strongest direct link from x to y: (role, (prio, pk)), (person, a persons
        row), or (address, None)."""
        code = x * self.n + y
        roles = self._range("roles", code)
        if roles.height:
            return "role", roles.row(0)[1:]
        people = self._range("persons", code).filter("strong")
        if people.height:
            rows = people.rows()
            return "person", max(rows, key=lambda r: r[4])  # the first of the best, by row, then other row
        assert addresses, "a strong step is a role or a person"
        return "address", None

    def _range(self, name: str, code: int) -> pl.DataFrame:
        """The rows of `roles` or `persons` with this code: found by bisecting a copy of
        their codes (asked once per step of each path worded as evidence; a polars search
        costs ~100 times more than the bisection)."""
        codes = self._codes.get(name)
        frame = getattr(self, name)
        if codes is None:
            codes = self._codes[name] = array("q", frame["code"].cast(pl.Int64).to_list())
        lo = bisect_left(codes, code)
        return frame.slice(lo, bisect_left(codes, code + 1, lo) - lo)  # codes are integers


def _classified(threshold: float) -> list[pl.Expr]:
    """strong, score and method of each pair, as `persons.classify` gives them (method
    null: not one person)."""
    score, full = pl.col("score"), pl.col("full_score")
    by_id = pl.col("kind") == "person_id"
    initials = pl.col("initials") & (full >= threshold) & (score < threshold)
    by_birth = initials & pl.col("same_birth")
    method = (
        pl.when(by_id).then(pl.lit("person_id")).when(by_birth).then(pl.lit("initials+birth_date"))
        .when(initials).then(pl.lit("initials")).when(score >= threshold).then(pl.lit("name"))
    )  # fmt: skip
    value = pl.when(by_id).then(pl.lit(1.0)).when(by_birth).then(full).otherwise(score)
    return [(method != "initials").alias("strong"), value.alias("score"), method.cast(METHODS).alias("method")]


def _has(codes: pl.Series, query: pl.Series) -> pl.Series:
    """Whether each code of `query` is in the sorted `codes`."""
    if codes.is_empty():
        return pl.Series([False] * len(query), dtype=pl.Boolean)
    at = codes.search_sorted(query, side="left")
    return (codes.gather(at.clip(upper_bound=len(codes) - 1)) == query).fill_null(False)


def _around(codes: pl.Series, n: int, frame: pl.DataFrame, node: str, name: str) -> pl.DataFrame:
    """`frame` with a row per neighbour (`name`) of its column `node`, in the order of their keys."""
    start = frame[node] * n
    lo = codes.search_sorted(start, side="left").cast(pl.Int64)
    hi = codes.search_sorted(start + n, side="left").cast(pl.Int64)
    spread = frame.with_columns(pl.int_ranges(lo, hi).alias("_at")).explode("_at").drop_nulls("_at")
    found = codes.gather(spread["_at"]) - spread[node] * n
    return spread.drop("_at").with_columns(found.alias(name))


def links(registry: CompiledRegistry, pairs: pl.DataFrame) -> pl.DataFrame:
    """One row per distinct (exporter_key, consignee_key, depth) of `pairs` (LINK_SCHEMA)."""
    graph = registry_graph(registry)
    todo = pairs.select(
        pl.col("exporter_key").cast(pl.Utf8), pl.col("consignee_key").cast(pl.Utf8), pl.col("depth").cast(pl.Int64)
    ).unique(maintain_order=True)
    live = todo.with_columns(a=graph.node(todo["exporter_key"]), c=graph.node(todo["consignee_key"]))
    live = live.filter(pl.col("a").is_not_null() & pl.col("c").is_not_null() & (pl.col("a") != pl.col("c")))
    found = [_paths(graph.strong, graph.n, live).with_columns(kind=pl.lit("strong"))]
    if graph.all is not graph.strong:  # else no pair left has an address path
        rest = live.join(found[0], on=["a", "c", "depth"], how="anti")
        found.append(_paths(graph.all, graph.n, rest).with_columns(kind=pl.lit("address")))
    shared, some = _shared_rows(graph, live.select("a", "c").unique())
    chosen = live.join(pl.concat(found), on=["a", "c", "depth"], how="left")
    chosen = chosen.join(some, on=["a", "c"], how="left").filter(pl.col("kind").is_not_null() | pl.col("shared"))
    rows = [
        _row(graph, key_a, key_c, depth, a, c, shared.get((a, c), []), kind and (kind, middle))
        for key_a, key_c, depth, a, c, middle, kind, _ in chosen.iter_rows()
    ]  # details for the linked pairs only: the others are UNLINKED
    detailed = pl.DataFrame(rows, schema=LINK_SCHEMA, orient="row")
    out = todo.join(detailed, on=KEYS, how="left", maintain_order="left")
    return out.with_columns(pl.col(name).fill_null(value) for name, value in UNLINKED.items()).select(list(LINK_SCHEMA))


def registry_graph(registry: CompiledRegistry, frames: dict[str, pl.DataFrame] | None = None) -> Graph:
    """The registry's graph, built on first use (or made of `frames`, `Graph.frames` of
    the same registry at the same threshold), then kept with it."""
    graph = getattr(registry, "_graph", None)
    if graph is None or graph.registry is not registry:
        graph = Graph(registry, frames)
        registry._graph = graph  # type: ignore[attr-defined]
    return graph


def _paths(codes: pl.Series, n: int, pairs: pl.DataFrame) -> pl.DataFrame:
    """(a, c, depth, middle: the intermediaries' numbers) of the pairs with a path of at
    most `depth` steps in `codes`: the shortest, the first by the intermediaries' keys.

    Every kind of step goes both ways round, so the companies one step before c are c's
    neighbours: a path of three steps is a step between a neighbour x of a and a
    neighbour y of c, found by joining the two sides (no walk two steps out of a)."""
    on = ["a", "c", "depth"]
    hit = _has(codes, pairs["a"] * n + pairs["c"])
    found = [pairs.filter(hit).select(*on, pl.lit([], pl.List(pl.Int64)).alias("middle"))]
    rest = pairs.filter(~hit & (pl.col("depth") >= 2)).select(on)
    left = _around(codes, n, rest, "a", "x").filter(pl.col("x") != pl.col("c"))
    right = _around(codes, n, rest, "c", "y").filter(pl.col("y") != pl.col("a"))
    two = left.join(right.rename({"y": "x"}), on=[*on, "x"], how="semi")
    two = two.sort(*on, "x").unique(on, keep="first", maintain_order=True)
    found.append(two.select(*on, pl.concat_list("x").alias("middle")))
    left = left.filter(pl.col("depth") >= 3).join(two, on=on, how="anti")
    three = left.join(right, on=on).filter(pl.col("x") != pl.col("y"))
    three = three.filter(_has(codes, three["x"] * n + three["y"]))
    three = three.sort(*on, "x", "y").unique(on, keep="first", maintain_order=True)
    found.append(three.select(*on, pl.concat_list("x", "y").alias("middle")))
    return pl.concat(found)


def _shared_rows(
    graph: Graph, pairs: pl.DataFrame
) -> tuple[dict[tuple[int, int], list[tuple[Any, ...]]], pl.DataFrame]:
    """The persons rows (row, other_row, strong, score, method) of each pair (a, c) that
    has some, and those pairs (a, c, shared)."""
    codes = graph.persons["code"]
    query = pairs["a"] * graph.n + pairs["c"]
    lo = codes.search_sorted(query, side="left").cast(pl.Int64)
    hi = codes.search_sorted(query, side="right").cast(pl.Int64)
    some = pairs.with_columns(pl.Series("_at", lo), pl.Series("_to", hi)).filter(pl.col("_to") > pl.col("_at"))
    spread = some.select("a", "c", pl.int_ranges("_at", "_to").alias("_at")).explode("_at")
    rows = graph.persons.gather(spread["_at"]).select("row", "other_row", "strong", "score", "method")
    out: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
    for (a, c), row in zip(spread.select("a", "c").iter_rows(), rows.iter_rows(), strict=True):
        out.setdefault((a, c), []).append(row)
    return out, some.select("a", "c", pl.lit(True).alias("shared"))


def _row(graph: Graph, key_a: str, key_c: str, depth: int, a: int, c: int, shared: list[tuple[Any, ...]],
         path: tuple[str, list[int]] | None) -> tuple[Any, ...]:  # fmt: skip
    registry = graph.registry
    exporter, consignee = registry.record(key_a), registry.record(key_c)
    strong = [s for s in shared if s[2]]
    weak = [s for s in shared if not s[2]]
    linked: tuple[Any, ...] = (False, 0, None, False, None)
    if strong:
        detail = _dump(_persons_detail(graph, exporter, consignee, strong))
        linked = (True, len(strong), detail, False, None)
    elif weak:
        linked = (False, 0, None, True, _dump(_persons_detail(graph, exporter, consignee, weak) | {"note": NOTE_WEAK}))
    paths: tuple[Any, ...] = (None, None, False, None)
    if path is not None:
        kind, middle = path
        nodes = [a, *middle, c]
        steps = [_step(graph, x, y, kind == "address") for x, y in zip(nodes, nodes[1:], strict=False)]
        path_detail = {"exporter": exporter.name, "consignee": consignee.name, "depth": depth,
                       "length": len(nodes) - 1, "path": steps}  # fmt: skip
        dumped = _dump(path_detail)
        paths = (len(nodes) - 1, dumped, False, None) if kind == "strong" else (None, None, True, dumped)
    return (key_a, key_c, depth, *linked, *paths)


def _person(graph: Graph, pk: int) -> dict[str, Any]:
    people = graph.registry.people
    return people.row(graph.registry.person_index(pk), named=True)


def _shared(graph: Graph, row: int, other: int, score: float, method: str) -> dict[str, Any]:
    mine, theirs = _person(graph, row), _person(graph, other)
    why = persons.why(method, (mine["person_name"], mine["person_id"]), theirs["person_name"])
    return {"person": mine["person_name"], "exporter_role": mine["role"], "consignee_person": theirs["person_name"],
            "consignee_role": theirs["role"], "score": round(score, 3), "method": method, "why": why}  # fmt: skip


def _persons_detail(graph: Graph, exporter: Any, consignee: Any, shared: list[tuple[Any, ...]]) -> dict[str, Any]:
    found = [_shared(graph, s[0], s[1], s[3], s[4]) for s in shared]
    return {"exporter": exporter.name, "consignee": consignee.name, "shared_persons": found}


def _step(graph: Graph, x: int, y: int, addresses: bool) -> dict[str, Any]:
    registry = graph.registry
    key_x = graph.key(x)
    source, target = registry.record(key_x), registry.record(graph.key(y))
    kind, step = graph.best_step(x, y, addresses)
    ends = {"from": source.name, "from_id": source.company_id, "to": target.name, "to_id": target.company_id}
    if kind == "role":
        prio, pk = step
        row = _person(graph, pk)
        holder, held = (target, source) if prio == 0 else (source, target)
        why = f"{holder.name} is {row['role']} of {held.name}"
        return ends | {"link": "role", "holder": holder.name, "role": row["role"], "of": held.name, "why": why}
    if kind == "person":
        shared = _shared(graph, step[1], step[2], step[4], step[5])
        return ends | {"link": "person", "person": shared["person"], "from_role": shared["exporter_role"],
                       "to_person": shared["consignee_person"], "to_role": shared["consignee_role"],
                       "score": shared["score"], "method": shared["method"], "why": shared["why"]}  # fmt: skip
    key = source.address and registry.companies.filter(pl.col("key") == key_x)["address_key"][0]
    why = f"same address once normalised: {key!r}"
    return ends | {"link": "address", "address": source.address, "to_address": target.address, "why": why}
