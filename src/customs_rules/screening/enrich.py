"""Enrichment of a whole set: every fact of `facts.FIELDS`, one row per goods item.

Each distinct party of the set is resolved once, each distinct pair of parties is linked
once, each distinct goods code is looked up in the lists once; the answers are joined
back to the declarations and items as columns. The feature functions are those of the
per-declaration reference (`enrichment`), called once per distinct entity, so both give
the same values and the same evidence. Evidence details are not built for every item:
`SetFacts.detail` builds the detail of one fact of one item, for the findings only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .. import enrichment as ref
from ..facts import DOMESTIC_ROLE, FIELDS
from ..models import Item, Party, Procedure
from ..reference import ReferenceData
from ..registry import PartyMatch, RegistryLookup
from .frames import DeclarationSet

Feature = ref.Feature
PARTY_FACTS = ("name", "id", "country", "known", "match", "registered_on", "watchlisted", "id_valid")
LINK_FACTS = ("linked", "shared_persons", "linked_weak", "link_path_length", "linked_by_address")
ROLES = ("exporter", "consignee")
NO_PARTY = pl.lit(None, dtype=pl.UInt32)


@dataclass
class Entities:
    """The registry's answers for the distinct entities of one set, and their evidence."""

    lookup: RegistryLookup
    reference: ReferenceData
    depth: int
    guard: frozenset[str] | None
    parties: list[tuple[Party, PartyMatch, dict[str, Feature]]] = field(default_factory=list)
    links: dict[tuple[int, int, int], dict[str, Feature]] = field(default_factory=dict)
    covers: dict[tuple[int, str, str], Feature] = field(default_factory=dict)

    def party(self, ident: str | None, name: str, country: str | None) -> tuple[Party, PartyMatch, dict[str, Feature]]:
        party = Party.model_construct(name=name, id=ident, country=country)
        match = self.lookup.resolve(party)
        features = ref.party_features("p", party, match, self.lookup)
        return party, match, {key[2:]: feature for key, feature in features.items()}

    def link(self, exporter: int, consignee: int, depth: int) -> dict[str, Feature]:
        key = (exporter, consignee, depth)
        found = self.links.get(key)
        if found is None:
            a, c = self.parties[exporter][1], self.parties[consignee][1]
            found = ref.linked_parties(a, c, self.lookup) | ref.link_paths(a, c, self.lookup, depth)
            self.links[key] = found
        return found

    def cover(self, party: int | None, hs_code: str, role: str) -> Feature:
        if party is None:
            return Feature(None, {"why": ref.NO_DOMESTIC_PARTY})
        key = (party, hs_code, role)
        found = self.covers.get(key)
        if found is None:
            item = Item.model_construct(line=1, hs_code=hs_code)
            found = ref.activity_covers(self.parties[party][1], item, self.reference, role)
            self.covers[key] = found
        return found


@dataclass
class SetFacts:
    """The facts of a set: `facts` has one row per item (`decl`, `position`, then one
    column per fact field, values as the reference gives them), in set order."""

    declarations: DeclarationSet
    facts: pl.DataFrame
    entities: Entities
    party_of: pl.DataFrame  # per declaration: exporter, consignee, pair depth (entity numbers)

    def detail(self, row: dict[str, Any], decl: int, name: str) -> Any:
        """The evidence detail of fact `name` of one item (`row`: its facts), or None."""
        kind, _, suffix = name.partition(".")
        exporter, consignee, depth = self.party_of.row(decl)
        reference = self.entities.reference
        if kind in ROLES:
            return self.entities.parties[exporter if kind == "exporter" else consignee][2][suffix].detail
        if kind == "parties":
            return self.entities.link(exporter, consignee, depth)[name].detail
        if kind == "domestic_party":
            return _domestic_detail(self, row, decl, suffix)
        if name in ("declaration.dispatch_country", "declaration.destination_country", "item.origin_country"):
            return ref.country_groups(row[name], reference).detail
        if name == "declaration.transit_countries":
            return ref.route_groups(list(row[name]), reference).detail
        if name == "item.hs_code":
            return ref.hs_lists(Item.model_construct(line=1, hs_code=row[name]), reference).detail
        if name == "item.exporter_activity_covers":
            return self.entities.cover(exporter, row["item.hs_code"], "exporter").detail
        if name == "item.domestic_party_activity_covers":
            return _domestic_cover(self, row, exporter, consignee).detail
        return None


def _domestic_role(row: dict[str, Any]) -> str | None:
    return DOMESTIC_ROLE.get(row["declaration.procedure"])


def _domestic_detail(facts: SetFacts, row: dict[str, Any], decl: int, suffix: str) -> Any:
    """As `enrichment.domestic_party` words it: the role and procedure, then the
    domestic party's own detail."""
    procedure, role = row["declaration.procedure"], _domestic_role(row)
    if role is None:
        return {"procedure": procedure, "why": ref.NO_DOMESTIC_PARTY} if suffix == "role" else None
    basis = {"role": role, "procedure": procedure}
    if suffix == "role":
        return basis
    exporter, consignee, _ = facts.party_of.row(decl)
    own = facts.entities.parties[exporter if role == "exporter" else consignee][2][suffix].detail
    return basis | (own if isinstance(own, dict) else ({} if own is None else {"detail": own}))


def _domestic_cover(facts: SetFacts, row: dict[str, Any], exporter: int, consignee: int) -> Feature:
    role = _domestic_role(row)
    if role is None:
        return Feature(None, {"why": ref.NO_DOMESTIC_PARTY})
    covers = facts.entities.cover(exporter if role == "exporter" else consignee, row["item.hs_code"], role)
    return Feature(covers.value, {"role": role, **(covers.detail or {})})


def enrich_set(declarations: DeclarationSet, entities: Entities) -> SetFacts:
    """Every fact of every item of the set (see the module's docstring)."""
    headers, items = declarations.headers, declarations.items
    parties = _party_numbers(headers, entities)
    depth = _pair_depth(items, entities)
    headers = headers.join(parties, on="decl").join(depth, on="decl", how="left")
    headers = headers.with_columns(pl.col("depth").fill_null(1 if entities.guard is not None else entities.depth))
    party_of = headers.select("exporter_p", "consignee_p", "depth")
    header_facts = _header_facts(headers, items, entities)
    item_facts = _item_facts(items, headers, entities)
    facts = item_facts.join(header_facts, on="decl", how="left").sort("decl", "position")
    ordered = ["decl", "position", *FIELDS]
    return SetFacts(declarations, facts.select(ordered), entities, party_of)


def _party_numbers(headers: pl.DataFrame, entities: Entities) -> pl.DataFrame:
    """Each declaration's exporter and consignee as numbers of distinct parties."""
    keys = ("id", "name", "country")
    both = pl.concat([headers.select([pl.col(f"{role}_{k}").alias(k) for k in keys]) for role in ROLES])
    distinct = both.unique(maintain_order=True)
    start = len(entities.parties)
    for ident, name, country in distinct.iter_rows():
        entities.parties.append(entities.party(ident, name, country))
    numbered = distinct.with_row_index("p", offset=start)
    found = headers.select("decl")
    for role in ROLES:
        on = [f"{role}_{k}" for k in keys]
        renamed = numbered.rename({k: f"{role}_{k}" for k in keys} | {"p": f"{role}_p"})
        numbers = headers.select("decl", *on).join(renamed, on=on, how="left", nulls_equal=True)
        found = found.join(numbers.select("decl", f"{role}_p"), on="decl", how="left")
    return found


def _pair_depth(items: pl.DataFrame, entities: Entities) -> pl.DataFrame:
    """The link depth of each declaration: the policy's, or 1 when a guard (see
    `enrichment.path_guard`) says no item is on a list that longer paths matter for."""
    if entities.guard is None:
        return items.select("decl").unique().with_columns(depth=pl.lit(entities.depth))
    guard = entities.guard
    codes = items.select("hs_code").unique()
    guarded = [code for (code,) in codes.iter_rows() if guard & entities.reference.lists_for(code).keys()]
    on_list = pl.col("hs_code").is_in(guarded)
    return (
        items.group_by("decl")
        .agg(on_list.any().alias("guarded"))
        .select("decl", depth=pl.when("guarded").then(entities.depth).otherwise(1))
    )


def _values(features: list[dict[str, Feature]], names: tuple[str, ...], prefix: str) -> dict[str, list[Any]]:
    return {f"{prefix}.{name}": [f[name].value for f in features] for name in names}


def _column(values: list[Any], name: str) -> pl.Series:
    return pl.Series(name, values, dtype=_dtype(name), strict=False)


def _dtype(name: str) -> Any:
    kind = FIELDS[name].type.value
    return {"bool": pl.Boolean, "number": pl.Float64, "country_list": pl.List(pl.String)}.get(kind, pl.String)


def _header_facts(headers: pl.DataFrame, items: pl.DataFrame, entities: Entities) -> pl.DataFrame:
    totals = items.group_by("decl").agg(pl.len().alias("count"), pl.col("value").drop_nulls().alias("values"))
    totals = totals.select("decl", "count", total=pl.col("values").map_elements(math.fsum, return_dtype=pl.Float64))
    frame = headers.join(totals, on="decl", how="left")
    party_rows = [p[2] for p in entities.parties]
    columns: dict[str, Any] = {
        "decl": frame["decl"],
        "declaration.procedure": frame["procedure"],
        "declaration.document_type": frame["document_type"],
        "declaration.date": frame["date"].dt.to_string("%Y-%m-%d"),
        "declaration.dispatch_country": frame["dispatch_country"],
        "declaration.destination_country": frame["destination_country"],
        "declaration.transit_countries": frame["transit_countries"],
        "declaration.item_count": frame["count"].cast(pl.Int64),
        "declaration.total_value": frame["total"].fill_null(0.0),
    }
    for role in ROLES:
        rows = [party_rows[p] for p in frame[f"{role}_p"]]
        for name, values in _values(rows, PARTY_FACTS, role).items():
            columns[name] = _column(values, name)
    pairs = [entities.link(a, c, d) for a, c, d in frame.select("exporter_p", "consignee_p", "depth").iter_rows()]
    for name in LINK_FACTS:
        key = f"parties.{name}"
        columns[key] = _column([p[key].value for p in pairs], key)
    out = pl.DataFrame(columns)
    for name in ("shared_persons", "link_path_length"):
        out = out.with_columns(pl.col(f"parties.{name}").cast(pl.Int64))
    return _with_domestic(out)


def _with_domestic(facts: pl.DataFrame) -> pl.DataFrame:
    """`domestic_party.*`: the exporter's facts on export and re-export, the consignee's
    on import, missing on transit (`facts.DOMESTIC_ROLE`)."""
    procedure = pl.col("declaration.procedure")
    exporter = procedure.is_in([p for p, r in DOMESTIC_ROLE.items() if r == "exporter"])
    importer = procedure.is_in([p for p, r in DOMESTIC_ROLE.items() if r == "consignee"])
    role = pl.when(exporter).then(pl.lit("exporter")).when(importer).then(pl.lit("consignee"))
    picked = {
        f"domestic_party.{key}": pl.when(exporter).then(pl.col(f"exporter.{key}")).when(importer)
        .then(pl.col(f"consignee.{key}"))
        for key in ref.DOMESTIC_KEYS
    }  # fmt: skip
    return facts.with_columns(role.alias("domestic_party.role"), **picked)


def _item_facts(items: pl.DataFrame, headers: pl.DataFrame, entities: Entities) -> pl.DataFrame:
    """The items' own facts; activity coverage once per distinct party, code and role."""
    parties = headers.select("decl", "procedure", "exporter_p", "consignee_p")
    frame = items.join(parties, on="decl", how="left")
    exporter_cover = _covers(frame, entities, lambda procedure, exporter, consignee: (exporter, "exporter"))
    domestic_cover = _covers(frame, entities, _domestic_party)
    return pl.DataFrame(
        {
            "decl": frame["decl"],
            "position": frame["position"],
            "item.line": frame["line"],
            "item.hs_code": frame["hs_code"],
            "item.description": frame["description"],
            "item.quantity": frame["quantity"],
            "item.unit": frame["unit"],
            "item.value": frame["value"],
            "item.currency": frame["currency"],
            "item.origin_country": frame["origin_country"],
            "item.net_mass_kg": frame["net_mass_kg"],
            "item.exporter_activity_covers": pl.Series(exporter_cover, dtype=pl.Boolean),
            "item.domestic_party_activity_covers": pl.Series(domestic_cover, dtype=pl.Boolean),
        }
    )


def _domestic_party(procedure: str, exporter: int, consignee: int) -> tuple[int | None, str | None]:
    role = DOMESTIC_ROLE.get(Procedure(procedure).value)
    if role is None:
        return None, None
    return (exporter if role == "exporter" else consignee), role


def _covers(
    frame: pl.DataFrame,
    entities: Entities,
    who: Callable[[str, int, int], tuple[int | None, str | None]],
) -> list[Any]:
    """Whether each item's goods are covered by the activities of the party `who` picks."""
    keys = frame.select("procedure", "exporter_p", "consignee_p", "hs_code")
    distinct = keys.unique(maintain_order=True)
    answers = {}
    for procedure, exporter, consignee, hs_code in distinct.iter_rows():
        party, role = who(procedure, exporter, consignee)
        answers[(procedure, exporter, consignee, hs_code)] = entities.cover(party, hs_code, role or "").value
    return [answers[key] for key in keys.iter_rows()]
