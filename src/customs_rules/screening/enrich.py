"""Enrichment of a whole set: every fact of `facts.FIELDS`, one row per goods item.

Each distinct party of the set is resolved once, each distinct pair of parties is linked
once, each distinct goods code is looked up in the lists once; the answers are joined
back to the declarations and items as columns. The feature functions are those of the
per-declaration reference (`enrichment`), called once per distinct entity, so both give
the same values and the same evidence. Evidence details are not built for every item:
`SetFacts.detail` builds the detail of one fact of one item, for the findings only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import polars as pl

from ..contract.facts import DOMESTIC_ROLE, FIELDS
from ..contract.models import Item
from ..contract.registry_rows import split_list
from ..engine import enrichment as ref
from ..entities.compiled import CompiledRegistry
from ..entities.identifiers import check_id
from ..entities.name_text import MEMO
from ..rules.reference import ReferenceData
from . import party_risk
from .descriptions import LISTS, MISMATCH, description_columns, description_detail
from .frames import DeclarationSet
from .history import NAME_KEYS, REEXPORT, HistoryBase, SetHistory, set_history

Feature = ref.Feature
# ids repeat across the parties of a run (one company, many spellings of its name)
_checked = lru_cache(maxsize=MEMO)(check_id)
PARTY_FACTS = ("name", "id", "country", "known", "match", "registered_on", "watchlisted", "id_valid")
LINK_FACTS = ("linked", "shared_persons", "linked_weak", "link_path_length", "linked_by_address")
ROLES = ("exporter", "consignee")


@dataclass
class Entities:
    """The compiled registry's answers for the distinct entities of one set (parties,
    pairs, goods codes per party), and the evidence details, built on demand."""

    registry: CompiledRegistry
    reference: ReferenceData
    depth: int
    guard: frozenset[str] | None
    parties: pl.DataFrame = field(default_factory=pl.DataFrame)  # one row per distinct party (`p`)
    party_columns: pl.DataFrame = field(default_factory=pl.DataFrame)  # their red flags (`party_risk`)
    risk_paths: dict[tuple[str, str, int], tuple[int, ...]] | None = None  # found when first asked (`party_risk`)
    links: pl.DataFrame = field(default_factory=pl.DataFrame)  # one row per distinct pair and depth
    covers: dict[tuple[str | None, str, str], Feature] = field(default_factory=dict)  # (codes, hs_code, role)
    _codes: dict[str | None, tuple[str, ...]] = field(default_factory=dict)  # activity codes, split
    _party_rows: dict[int, dict[str, Any]] = field(default_factory=dict)

    def resolve(self, distinct: pl.DataFrame) -> None:
        """Resolve the distinct parties (id, name, country), numbered from 0 (`p`)."""
        # one row per row of `distinct`, in its order: the answers are set beside it
        found = self.registry.resolve(distinct).select("company_key", "method", "score", pl.col("detail").alias("why"))
        companies = self.registry.companies_of(found["company_key"].to_list()).select(
            pl.col("company_id").alias("registered_id"), pl.col("name").alias("registered_name"),
            pl.col("country").alias("registered_country"), "registered_on", "activity_codes", "address_key",
        )  # fmt: skip
        frame = pl.concat([distinct.select("id", "name", "country"), found, companies], how="horizontal")
        frame = frame.with_columns(pl.coalesce("country", "registered_country").alias("party_country"))
        if self.registry.has_watchlist:
            listed = self.registry.watchlisted(frame.select("id", "name", "country", "company_key"))
            frame = frame.with_columns(listed["watchlisted"], listed["detail"].alias("watch_detail"))
        else:  # as `watchlisted` answers for every party then, without asking it
            frame = frame.with_columns(pl.lit(False).alias("watchlisted"), pl.lit(None, pl.Utf8).alias("watch_detail"))
        checks = [_checked(i, c) for i, c in frame.select("id", "party_country").iter_rows()]
        self.parties = frame.with_row_index("p").with_columns(
            pl.Series("id_valid", [c.valid for c in checks], dtype=pl.Boolean),
            pl.Series("id_scheme", [c.scheme for c in checks], dtype=pl.String),
            pl.Series("id_why", [c.detail for c in checks], dtype=pl.String),
        )
        self._party_rows = {}
        self.party_columns = party_risk.party_columns(self)
        self.risk_paths = None

    def party_values(self) -> pl.DataFrame:
        """Each distinct party's facts (`p`, then the fact suffixes of PARTY_FACTS)."""
        return self.parties.select(
            "p", "name", "id", pl.col("party_country").alias("country"),
            pl.col("company_key").is_not_null().alias("known"), pl.col("method").alias("match"),
            pl.col("registered_on").dt.to_string("%Y-%m-%d").alias("registered_on"),
            pl.col("watchlisted").fill_null(False), "id_valid",
        )  # fmt: skip

    def party_row(self, p: int) -> dict[str, Any]:
        """One distinct party's row (read for evidence: the findings' parties only)."""
        row = self._party_rows.get(p)
        if row is None:
            row = self._party_rows[p] = self.parties.row(p, named=True)
        return row

    def party_detail(self, p: int, suffix: str) -> Any:
        """The evidence detail of a party fact, as `enrichment.party_features` gives it."""
        row = self.party_row(p)
        known = row["company_key"] is not None
        if suffix == "known":
            detail = {"match": row["method"], "score": row["score"], "why": row["why"]}
            if known:
                detail |= {"company_id": row["registered_id"], "registered_name": row["registered_name"]}
            return detail
        if suffix == "registered_on":
            return {"company": row["registered_name"]} if known else None
        if suffix == "watchlisted":
            return json.loads(row["watch_detail"]) if row["watch_detail"] else None
        if suffix == "id_valid":
            return {"scheme": row["id_scheme"], "why": row["id_why"]}
        return None

    def link_all(self, pairs: pl.DataFrame) -> None:
        """Links of the distinct (exporter_key, consignee_key, depth) pairs."""
        self.links = self.registry.links(pairs)

    def link_detail(self, exporter_key: str | None, consignee_key: str | None, depth: int, name: str) -> Any:
        column = {"parties.linked": "linked_detail", "parties.shared_persons": "linked_detail",
                  "parties.linked_weak": "linked_weak_detail", "parties.link_path_length": "link_path_detail",
                  "parties.linked_by_address": "linked_by_address_detail"}[name]  # fmt: skip
        found = self.links.filter(
            pl.col("exporter_key").eq_missing(exporter_key), pl.col("consignee_key").eq_missing(consignee_key),
            pl.col("depth") == depth,
        )  # fmt: skip
        text = found[column][0] if found.height else None
        return json.loads(text) if text else None

    def cover(self, company_key: str | None, codes: str | None, hs_code: str, role: str) -> Feature:
        """As `enrichment.activity_covers`: the company's activities cover the goods?"""
        return self.codes_cover(codes if company_key is not None else None, hs_code, role)

    def codes_cover(self, codes: str | None, hs_code: str, role: str) -> Feature:
        """`cover` for a company registering these codes (None: no company). The answer
        is the same for every company registering the same codes: asked once."""
        key = (codes, hs_code, role)
        found = self.covers.get(key)
        if found is None:
            activity = self._activity(codes)
            if not activity:
                found = Feature(None, {"why": f"no activity codes known for the {role}"})
            else:
                covering = self.reference.activity_map.covering(activity, hs_code)
                detail = {"activity_codes": list(activity), "hs_code": hs_code, "covering": covering}
                if not covering:
                    detail["why"] = f"none of the activities {', '.join(activity)} covers HS {hs_code}"
                found = Feature(bool(covering), detail)
            self.covers[key] = found
        return found

    def _activity(self, codes: str | None) -> tuple[str, ...]:
        found = self._codes.get(codes)
        if found is None:
            found = self._codes[codes] = tuple(split_list(codes)) if codes is not None else ()
        return found


@dataclass
class SetFacts:
    """The facts of a set: `facts` has one row per item (`decl`, `position`, then one
    column per fact field, values as the reference gives them), in set order."""

    declarations: DeclarationSet
    facts: pl.DataFrame
    entities: Entities
    # per declaration: exporter_p, consignee_p (party numbers), depth, exporter_key, consignee_key
    party_of: pl.DataFrame
    history: SetHistory | None = None  # the history facts (`screening/history.py`)

    def detail(self, row: dict[str, Any], decl: int, name: str) -> Any:
        """The evidence detail of fact `name` of one item (`row`: its facts), or None."""
        kind, _, suffix = name.partition(".")
        exporter, consignee, depth, exporter_key, consignee_key = self.party_of.row(decl)
        reference = self.entities.reference
        if kind in ROLES:
            p = exporter if kind == "exporter" else consignee
            if suffix in party_risk.SUFFIXES:
                return party_risk.detail(self.entities, p, kind, suffix, depth, row[name])
            return self.entities.party_detail(p, suffix)
        if kind == "parties":
            return self.entities.link_detail(exporter_key, consignee_key, depth, name)
        if (kind == "history" or name == REEXPORT) and self.history is not None:
            return self.history.detail(decl, name, row.get("item.hs_code"))
        if kind == "domestic_party":
            return _domestic_detail(self, row, decl, suffix)
        if name in ("declaration.dispatch_country", "declaration.destination_country", "item.origin_country"):
            return ref.country_groups(row[name], reference).detail
        if name == "declaration.transit_countries":
            return ref.route_groups(list(row[name]), reference).detail
        if name == "item.hs_code":
            return ref.hs_lists(Item.model_construct(line=1, hs_code=row[name]), reference).detail
        if name in (LISTS, MISMATCH):
            return description_detail(row["item.description"], row["item.hs_code"], reference, name)
        if name == "item.exporter_activity_covers":
            return self._cover(exporter, row["item.hs_code"], "exporter").detail
        if name == "item.domestic_party_activity_covers":
            role = _domestic_role(row)
            if role is None:
                return {"why": ref.NO_DOMESTIC_PARTY}
            covers = self._cover(exporter if role == "exporter" else consignee, row["item.hs_code"], role)
            return {"role": role, **(covers.detail or {})}
        return None

    def _cover(self, party: int, hs_code: str, role: str) -> Feature:
        row = self.entities.party_row(party)
        return self.entities.cover(row["company_key"], row["activity_codes"], hs_code, role)


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
    exporter, consignee = facts.party_of.row(decl)[:2]
    own = facts.entities.party_detail(exporter if role == "exporter" else consignee, suffix)
    return basis | (own if isinstance(own, dict) else ({} if own is None else {"detail": own}))


def enrich_set(declarations: DeclarationSet, entities: Entities, history: HistoryBase | None = None) -> SetFacts:
    """Every fact of every item of the set (see the module's docstring); the history
    facts against `history` (by default: the set's own declarations only)."""
    headers, items = declarations.headers, declarations.items
    named = history.set_keys if history is not None else None  # a batch's pre-pass keyed the names
    headers = headers.join(_party_numbers(headers, entities, named), on="decl", maintain_order="left")
    headers = headers.join(_pair_depth(items, entities), on="decl", how="left", maintain_order="left")
    keys = entities.parties.select("p", "company_key", "activity_codes")
    for role in ROLES:
        renamed = keys.rename({"p": f"{role}_p", "company_key": f"{role}_key", "activity_codes": f"{role}_codes"})
        headers = headers.join(renamed, on=f"{role}_p", how="left", maintain_order="left")
    pairs = headers.select("exporter_key", "consignee_key", "depth").unique()
    entities.link_all(pairs)
    party_of = headers.select("exporter_p", "consignee_p", "depth", "exporter_key", "consignee_key")
    past = set_history(declarations, history or HistoryBase().with_set(declarations), entities.reference)
    header_facts = _header_facts(headers, items, entities)
    header_facts = header_facts.join(party_risk.header_columns(headers, entities.party_columns), on="decl", how="left")
    header_facts = header_facts.join(past.header, on="decl", how="left")
    item_facts = _item_facts(items, headers, entities).join(past.items, on=["decl", "position"], how="left")
    facts = item_facts.join(header_facts, on="decl", how="left").sort("decl", "position")
    ordered = ["decl", "position", *FIELDS]
    return SetFacts(declarations, facts.select(ordered), entities, party_of, past)


def _party_numbers(headers: pl.DataFrame, entities: Entities, keyed: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each declaration's exporter and consignee as numbers of distinct parties. `keyed`:
    the set's party keys (`history.set_keys`); with their name keys (`history.NAME_KEYS`),
    the registry finds the parties by those instead of keying the names again."""
    keys = ("id", "name", "country")
    columns = [[pl.col(f"{role}_{k}").alias(k) for k in keys] for role in ROLES]
    if keyed is not None and set(NAME_KEYS) <= set(keyed.columns):
        headers = headers.with_columns(keyed.select(NAME_KEYS))
        columns = [[*c, pl.col(f"{role}_name_key").alias("name_key")] for c, role in zip(columns, ROLES, strict=True)]
    both = pl.concat([headers.select(c) for c in columns])
    entities.resolve(both.unique(keys, maintain_order=True))
    numbered = entities.parties.select("p", *keys)
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
        return items.select("decl").unique().with_columns(depth=pl.lit(entities.depth, dtype=pl.Int64))
    guard = entities.guard
    codes = items.select("hs_code").unique()
    guarded = [code for (code,) in codes.iter_rows() if guard & entities.reference.lists_for(code).keys()]
    on_list = pl.col("hs_code").is_in(guarded)
    return (
        items.group_by("decl")
        .agg(on_list.any().alias("guarded"))
        .select("decl", depth=pl.when("guarded").then(entities.depth).otherwise(1).cast(pl.Int64))
    )


def _header_facts(headers: pl.DataFrame, items: pl.DataFrame, entities: Entities) -> pl.DataFrame:
    totals = items.group_by("decl").agg(pl.len().alias("count"), pl.col("value").drop_nulls().alias("values"))
    totals = totals.select("decl", "count", total=pl.col("values").map_elements(math.fsum, return_dtype=pl.Float64))
    frame = headers.join(totals, on="decl", how="left", maintain_order="left")
    out = frame.select(
        "decl", "exporter_p", "consignee_p", "exporter_key", "consignee_key", "depth",
        pl.col("procedure").alias("declaration.procedure"),
        pl.col("document_type").alias("declaration.document_type"),
        pl.col("date").dt.to_string("%Y-%m-%d").alias("declaration.date"),
        pl.col("dispatch_country").alias("declaration.dispatch_country"),
        pl.col("destination_country").alias("declaration.destination_country"),
        pl.col("transit_countries").alias("declaration.transit_countries"),
        pl.col("count").cast(pl.Int64).alias("declaration.item_count"),
        pl.col("total").fill_null(0.0).alias("declaration.total_value"),
    )  # fmt: skip
    values = entities.party_values()
    for role in ROLES:
        renamed = values.rename({"p": f"{role}_p"} | {k: f"{role}.{k}" for k in PARTY_FACTS})
        out = out.join(renamed, on=f"{role}_p", how="left", maintain_order="left")
    links = entities.links.select(
        "exporter_key", "consignee_key", "depth", *[pl.col(n).alias(f"parties.{n}") for n in LINK_FACTS]
    )
    out = out.join(links, on=["exporter_key", "consignee_key", "depth"], how="left", nulls_equal=True,
                   maintain_order="left")  # fmt: skip
    out = out.drop("exporter_p", "consignee_p", "exporter_key", "consignee_key", "depth")
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
    """The items' own facts; activity coverage once per distinct codes, goods code and role."""
    parties = headers.select("decl", "procedure", "exporter_key", "exporter_codes", "consignee_key", "consignee_codes")
    frame = items.join(parties, on="decl", how="left", maintain_order="left")
    procedure = pl.col("procedure")
    by_exporter = procedure.is_in([p for p, r in DOMESTIC_ROLE.items() if r == "exporter"])
    by_consignee = procedure.is_in([p for p, r in DOMESTIC_ROLE.items() if r == "consignee"])
    frame = frame.with_columns(
        _covers(frame, entities, "exporter", pl.lit(True)).alias("_exporter_covers"),
        _covers(frame, entities, "consignee", by_consignee).alias("_consignee_covers"),
    )
    domestic = pl.when(by_exporter).then("_exporter_covers").when(by_consignee).then("_consignee_covers")
    frame = pl.concat([frame, description_columns(frame, entities.reference)], how="horizontal")
    return frame.select(
        "decl", "position",
        *[pl.col(name).alias(f"item.{name}") for name in ("line", "hs_code", "description", "quantity", "unit",
                                                          "value", "currency", "origin_country", "net_mass_kg")],
        pl.col("_exporter_covers").alias("item.exporter_activity_covers"),
        LISTS, MISMATCH, domestic.alias("item.domestic_party_activity_covers"),
    )  # fmt: skip


def _covers(frame: pl.DataFrame, entities: Entities, role: str, wanted: pl.Expr) -> pl.Series:
    """Whether the `role` party's activities cover each item's goods (`Entities.cover`),
    asked once per distinct (codes, goods code) among the rows `wanted` (null elsewhere)."""
    codes = pl.when(pl.col(f"{role}_key").is_not_null()).then(pl.col(f"{role}_codes"))
    keys = frame.select(codes.alias("codes"), "hs_code", wanted.alias("wanted"))
    distinct = keys.filter(pl.col("wanted")).select("codes", "hs_code").unique(maintain_order=True)
    values = [entities.codes_cover(codes, hs_code, role).value for codes, hs_code in distinct.iter_rows()]
    answers = distinct.with_columns(pl.Series("covers", values, dtype=pl.Boolean), wanted=pl.lit(True))
    on = ["codes", "hs_code", "wanted"]
    return keys.join(answers, on=on, how="left", nulls_equal=True, maintain_order="left")["covers"]
