"""Facts stored as what the stored columns do not already hold (migration 0013).

Most of a declaration's facts are its own columns again (`declaration.date`, the
parties' names, `item.hs_code`...): storing them in every fact signature made nearly
every signature distinct (one per declaration and one per item) and repeated the
declaration's bytes. A decision now refers to three signatures, each stored once however
many decisions share it:

- the layout (`facts_layout_id`): the names of the facts in order, which of them are
  stored per declaration (`header`) and per item (`item`); the rest are rebuilt from the
  declaration's and items' columns (`DERIVED`, version `VERSION`). One per rule pack, in
  practice;
- the declaration's stored facts (`header_fact_id`): a JSON array of their values in the
  layout's order, then, where a fact rebuilt from the columns was not what enrichment
  made (a country the registry supplied), an object of those facts' values;
- its items' stored facts (`item_facts_id`): a JSON array with one array per item, in
  position order: the values of the layout's `item` facts, then, where a rebuilt fact or
  a declaration-level fact differs for that item, an object of those.

A fact is left to the columns only where, in the set being stored, its rebuilt value has
the fact's type and is the fact's value exactly (JSON text, so 0.0 is not -0.0): what
`decisions show` and `audit verify` rebuild is the facts as enrichment made them, key
order included (`rebuild`). The columns are sealed by the declaration's content hash,
the rest by the three signatures' digests (`seals`, form 6).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from ..screening.frames import HEADER_SCHEMA, ITEM_SCHEMA
from .signatures import digests

VERSION = 1  # of DERIVED: a layout names the version its facts were rebuilt by
ITEM = "item."  # the prefix of the facts each goods item has of its own (facts.FIELDS)
KEYS = ("decl", "position")
_ROLE = {"export": "exporter", "re-export": "exporter", "import": "consignee"}  # facts.DOMESTIC_ROLE


def _header_derived() -> dict[str, pl.Expr]:
    """Declaration-level facts as columns of a declaration row (with its items' `count`
    and `total`): as `screening.enrich` makes them."""
    procedure = pl.col("procedure")
    exporter = procedure.is_in([p for p, r in _ROLE.items() if r == "exporter"])
    importer = procedure.is_in([p for p, r in _ROLE.items() if r == "consignee"])
    found = {
        "declaration.procedure": procedure,
        "declaration.document_type": pl.col("document_type"),
        "declaration.date": pl.col("date").dt.to_string("%Y-%m-%d"),
        "declaration.dispatch_country": pl.col("dispatch_country"),
        "declaration.destination_country": pl.col("destination_country"),
        "declaration.transit_countries": pl.col("transit_countries"),
        "declaration.item_count": pl.col("count").cast(pl.Int64),
        "declaration.total_value": pl.col("total").fill_null(0.0),
        "domestic_party.role": pl.when(exporter).then(pl.lit("exporter")).when(importer).then(pl.lit("consignee")),
    }
    for role in ("exporter", "consignee"):
        found |= {f"{role}.{key}": pl.col(f"{role}_{key}") for key in ("name", "id", "country")}
    for key in ("name", "id"):
        found[f"domestic_party.{key}"] = (
            pl.when(exporter).then(pl.col(f"exporter_{key}")).when(importer).then(pl.col(f"consignee_{key}"))
        )
    return found


ITEM_DERIVED = ("line", "hs_code", "description", "quantity", "unit", "value", "currency", "origin_country",
                "net_mass_kg")  # fmt: skip
_HEADER_COLUMNS = ("procedure", "document_type", "date", "dispatch_country", "destination_country",
                   "transit_countries", "exporter_name", "exporter_id", "exporter_country", "consignee_name",
                   "consignee_id", "consignee_country")  # fmt: skip
DERIVED: tuple[str, ...] = (*_header_derived(), *(ITEM + name for name in ITEM_DERIVED))


def derived(headers: pl.DataFrame, items: pl.DataFrame) -> pl.DataFrame:
    """The facts the columns rebuild, one row per item (`decl`, `position`, one column
    per fact of DERIVED): from a set's columns, or from the stored rows read back, typed
    alike (the contract's types: a column of another type would rebuild another JSON)."""
    headers = headers.select(pl.col(n).cast(HEADER_SCHEMA[n]) for n in ("decl", *_HEADER_COLUMNS))
    items = items.select(pl.col(n).cast(ITEM_SCHEMA[n]) for n in (*KEYS, *ITEM_DERIVED))
    totals = items.group_by("decl").agg(pl.len().alias("count"), pl.col("value").drop_nulls().alias("values"))
    totals = totals.select("decl", "count", total=pl.col("values").map_elements(math.fsum, return_dtype=pl.Float64))
    head = headers.join(totals, on="decl", how="left").select(
        "decl", *[expr.alias(name) for name, expr in _header_derived().items()]
    )
    own = items.select(*KEYS, *[pl.col(name).alias(ITEM + name) for name in ITEM_DERIVED])
    return own.join(head, on="decl", how="left")


@dataclass
class Compact:
    """A set's facts as signatures: `texts` (sig, text) each distinct text once, and per
    declaration (`refs`: decl, layout, header, items) the sig of each of its three;
    `header` is null where the declaration has no facts."""

    texts: pl.DataFrame
    refs: pl.DataFrame

    def distinct(self) -> pl.DataFrame:
        """Every distinct text (`sig`, `digest`, `facts`), `shared` where it is a layout or
        items' facts: those many sets share, looked up before storing."""
        texts = self.texts.get_column("text")
        sigs = self.texts.get_column("sig")
        shared = sigs.is_in(pl.concat([self.refs.get_column("layout"), self.refs.get_column("items")]).implode())
        return pl.DataFrame({"sig": sigs, "digest": digests(texts), "facts": texts, "shared": shared})


def compact(facts: pl.DataFrame, headers: pl.DataFrame, items: pl.DataFrame, decls: int) -> Compact:
    """The signatures of a set's facts (one row per item: `decl`, `position`, a column per
    fact) for its `decls` declarations, whose columns are `headers` and `items`."""
    fields = [c for c in facts.columns if c not in KEYS]
    facts = facts.sort(*KEYS)
    keys = facts.select(*KEYS)
    rebuilt = derived(headers, items).cast({k: facts.schema[k] for k in KEYS})
    aligned = keys.equals(rebuilt.select(*KEYS).sort(*KEYS))
    usable = [f for f in fields if aligned and f in rebuilt.columns and rebuilt.schema[f] == facts.schema[f]]
    head_fields = [f for f in fields if not f.startswith(ITEM)]
    stored_head = [f for f in head_fields if f not in usable]
    stored_item = [f for f in fields if f.startswith(ITEM) and f not in usable]
    layout = json.dumps({"version": VERSION, "facts": fields, "header": stored_head, "item": stored_item},
                        ensure_ascii=False, separators=(",", ":"))  # fmt: skip
    rows = facts
    if usable:  # each fact beside its rebuilt value, `_r_` prefixed
        rebuilt = keys.join(rebuilt, on=list(KEYS), how="left", maintain_order="left")
        rows = pl.concat([facts, rebuilt.select(pl.col(f).alias(f"_r_{f}") for f in usable)], how="horizontal")
    rows = rows.with_columns((pl.col("position").rank("ordinal").over("decl") == 1).alias("_first"))
    firsts = rows.filter("_first")
    # per declaration (its first item): its stored facts, and the rebuilt ones that differ
    over = _members(firsts, [(f, f"_r_{f}") for f in head_fields if f in usable], ["decl"])
    firsts = firsts.join(over, on="decl", how="left", maintain_order="left")
    header = firsts.select("decl", _array([_value(f) for f in stored_head]).alias("text"))
    # per item: its stored facts, and those that differ from its declaration's first item or its columns
    rows = rows.join(firsts.select("decl", *[pl.col(f).alias(f"_1_{f}") for f in head_fields]), on="decl",
                     maintain_order="left")  # fmt: skip
    checks = [(f, f"_1_{f}") for f in head_fields]
    checks += [(f, f"_r_{f}") for f in fields if f.startswith(ITEM) and f in usable]
    rows = rows.join(_members(rows, checks, list(KEYS)), on=list(KEYS), how="left", maintain_order="left")
    entries = rows.select(*KEYS, _array([_value(f) for f in stored_item]).alias("entry"))
    texts = entries.group_by("decl", maintain_order=True).agg(
        (pl.lit("[") + pl.col("entry").str.join(",") + pl.lit("]")).alias("text")
    )
    return _numbered(layout, header, texts, decls)


def _numbered(layout: str, header: pl.DataFrame, items: pl.DataFrame, decls: int) -> Compact:
    every = pl.DataFrame({"decl": pl.int_range(decls, dtype=pl.UInt32, eager=True)})
    header = every.join(header.with_columns(pl.col("decl").cast(pl.UInt32)), on="decl", how="left")
    items = every.join(items.with_columns(pl.col("decl").cast(pl.UInt32)), on="decl", how="left")
    items = items.with_columns(pl.col("text").fill_null("[]"))
    unique = pl.concat([pl.Series("text", [layout]), header.get_column("text").drop_nulls(), items.get_column("text")])
    unique = unique.unique(maintain_order=True)
    texts = pl.DataFrame({"sig": pl.int_range(len(unique), dtype=pl.UInt32, eager=True), "text": unique})
    sig = {"layout": int(texts.filter(pl.col("text") == layout).get_column("sig")[0])}
    refs = (
        every.with_columns(pl.lit(sig["layout"], pl.UInt32).alias("layout"))
        .join(header.join(texts, on="text").select("decl", pl.col("sig").alias("header")), on="decl", how="left")
        .join(items.join(texts, on="text").select("decl", pl.col("sig").alias("items")), on="decl", how="left")
        .sort("decl")
    )
    return Compact(texts, refs)


def _value(name: str) -> pl.Expr:
    """A column's values as JSON texts (as `struct.json_encode` writes them)."""
    encoded = pl.struct(pl.col(name).alias("v")).struct.json_encode()
    return encoded.str.strip_prefix('{"v":').str.strip_suffix("}")


def _pair(name: str) -> pl.Expr:
    """`"name":value`, a member of a JSON object."""
    return pl.struct(pl.col(name)).struct.json_encode().str.strip_prefix("{").str.strip_suffix("}")


def _members(frame: pl.DataFrame, checks: list[tuple[str, str]], keys: list[str]) -> pl.DataFrame:
    """`keys` and `_members` (a JSON object's members, `"name":value,...`) of the rows of
    `frame` where some fact `name` of `checks` (name, other) is not `other`'s value
    exactly; the members are written for those rows alone (they are few)."""
    empty = frame.select(*keys).clear().with_columns(pl.lit(None, pl.String).alias("_members"))
    if not checks:
        return empty
    marks = [_differs(name, other, frame.schema[name]).alias(f"_d{n}") for n, (name, other) in enumerate(checks)]
    odd = frame.with_columns(marks).filter(pl.any_horizontal(pl.col(f"_d{n}") for n in range(len(checks))))
    if odd.is_empty():
        return empty
    members = [pl.when(pl.col(f"_d{n}")).then(_pair(name)) for n, (name, _) in enumerate(checks)]
    return odd.select(*keys, pl.concat_str(members, separator=",", ignore_nulls=True).alias("_members"))


def _differs(name: str, other: str, dtype: Any) -> pl.Expr:
    """Whether the fact is not `other`'s value exactly, as JSON writes it: 0.0 is not -0.0."""
    fact, value = pl.col(name), pl.col(other)
    same = fact.eq_missing(value)
    if dtype.is_float():
        same = same & ((fact != 0).fill_null(True) | (1 / fact).eq_missing(1 / value))
    return ~same


def _array(values: list[pl.Expr]) -> pl.Expr:
    """A JSON array of the values, then an object of the row's `_members`, if any."""
    parts = [*values, pl.lit("{") + pl.col("_members") + pl.lit("}")]
    return pl.lit("[") + pl.concat_str(parts, separator=",", ignore_nulls=True) + pl.lit("]")


# -- rebuilding ------------------------------------------------------------------------------


def rebuild(layout: str, header: str | None, items: str, columns: pl.DataFrame) -> list[dict[str, Any]]:
    """A decision's facts, one dict per item as enrichment made them, from its three
    signatures' texts and `columns` (`derived` of its stored declaration). The standard
    library reads them: a fact may hold an integer past 64 bits."""
    shape = json.loads(layout)
    if shape["version"] != VERSION:
        raise ValueError(f"facts stored by a layout of version {shape['version']}, this release knows {VERSION}")
    fields, stored_head, stored_item = shape["facts"], shape["header"], shape["item"]
    entries = json.loads(items)
    if not entries:
        return []
    head_values = json.loads(header) if header is not None else []
    head = dict(zip(stored_head, head_values, strict=False)) | _overrides(head_values, len(stored_head))
    usable = [f for f in fields if f not in stored_head and f not in stored_item]
    rows = _rebuilt_rows(columns, usable, len(entries))
    facts = []
    shared = True
    for entry, row in zip(entries, rows, strict=True):
        over = _overrides(entry, len(stored_item))
        shared = shared and not any(not f.startswith(ITEM) for f in over)
        values = row | head | dict(zip(stored_item, entry, strict=False)) | over
        facts.append(values)
    # as the signatures of migration 0008 gave them back: the declaration's facts first
    # when every item shares them, else in the facts' own order
    order = [f for f in fields if not f.startswith(ITEM)] + [f for f in fields if f.startswith(ITEM)]
    return [{f: values[f] for f in (order if shared else fields)} for values in facts]


def _overrides(values: Sequence[Any], size: int) -> dict[str, Any]:
    return dict(values[size]) if len(values) > size else {}


def _rebuilt_rows(columns: pl.DataFrame, usable: list[str], count: int) -> list[dict[str, Any]]:
    if not usable:
        return [{} for _ in range(count)]
    texts = columns.sort(*KEYS).select(pl.struct(usable).struct.json_encode()).to_series()
    return [json.loads(text) for text in texts]
