"""The parties' registry red flags for a whole set (`<role>.forwarder`,
`<role>.address_companies`, `<role>.risk_link_length`): columns joined per distinct party.

The definitions are the reference's (`engine.party_risk`). The forwarding answer is asked
once per distinct set of activity codes; the address counts and the nearest risk company
come from answers computed once per registry (`entities.risk_links`) and joined here;
the risk length counts only within the declaration's own link depth (the policy's, or 1
under the path guard). Evidence is built for the findings only (`detail`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from ..contract.registry_rows import split_list
from ..engine import party_risk as ref
from ..entities import risk_links

if TYPE_CHECKING:
    from .enrich import Entities

ROLES = ("exporter", "consignee")
SUFFIXES = ref.SUFFIXES
STEPS_KEPT = 20_000  # worded paths a process keeps (a run flags the same parties again and again)


def party_columns(entities: Entities) -> pl.DataFrame:
    """Per distinct party (`p`): forwarder, address_companies, risk_length and risk_target
    (the nearest risk company within the policy's depth, before the declaration's own)."""
    parties = entities.parties
    registry, reference = entities.registry, entities.reference
    settings = reference.history
    known = pl.col("company_key").is_not_null()
    codes = pl.when(known).then(pl.col("activity_codes")).alias("codes")
    frame = parties.select("p", "company_key", "address_key", codes)
    distinct = frame["codes"].unique()
    values = [ref.forwarding(split_list(c) if c is not None else None, "", settings).value for c in distinct.to_list()]
    answers = pl.DataFrame([distinct, pl.Series("forwarder", values, dtype=pl.Boolean)])
    frame = frame.join(answers, on="codes", how="left", nulls_equal=True, maintain_order="left")
    frame = frame.join(risk_links.address_counts(registry), on="address_key", how="left", maintain_order="left")
    countries = frozenset(ref.risk_countries(reference))
    reach = risk_links.risk_reach(registry, countries, settings.risk_watchlist, entities.depth)
    frame = frame.join(reach, on="company_key", how="left", maintain_order="left")
    return frame.select("p", "forwarder", "address_companies", "risk_length", "risk_target")


def header_columns(headers: pl.DataFrame, columns: pl.DataFrame) -> pl.DataFrame:
    """decl and the facts of both parties (headers: decl, exporter_p, consignee_p, depth)."""
    out = headers.select("decl", "exporter_p", "consignee_p", "depth")
    for role in ROLES:
        renamed = columns.rename({"p": f"{role}_p"} | {c: f"_{role}_{c}" for c in columns.columns if c != "p"})
        out = out.join(renamed, on=f"{role}_p", how="left", maintain_order="left")
    length = {role: pl.col(f"_{role}_risk_length") for role in ROLES}
    return out.select(
        "decl",
        *[expr for role in ROLES for expr in (
            pl.col(f"_{role}_forwarder").alias(f"{role}.forwarder"),
            pl.col(f"_{role}_address_companies").alias(f"{role}.address_companies"),
            pl.when(length[role] <= pl.col("depth")).then(length[role]).alias(f"{role}.risk_link_length"),
        )],
    )  # fmt: skip


def detail(entities: Entities, p: int, role: str, suffix: str, depth: int, value: Any) -> Any:
    """The evidence of one party fact, in the reference's words."""
    row = entities.party_row(p)
    key = row["company_key"]
    settings = entities.reference.history
    if suffix == "forwarder":
        codes = split_list(row["activity_codes"]) if key is not None else None
        return ref.forwarding(codes, role, settings).detail
    if value is None or key is None:
        return None
    registry = entities.registry
    company = registry.record(key)
    if suffix == "address_companies":
        address = row["address_key"]
        others = [k for k in risk_links.first_at(registry, address, settings.evidence_limit + 1) if k != key]
        named = [registry.record(k) for k in others[: settings.evidence_limit]]
        return ref.address_detail(company, address, value, named)
    target = entities.party_columns.row(p, named=True)["risk_target"]
    other = registry.record(target)
    watched = risk_links.watched(registry).get(target) if settings.risk_watchlist else None
    groups = ref.risk_countries(entities.reference).get(other.country or "", [])
    risky = ref.risky_detail(other, groups, watched)
    return {"party": company.name, "party_id": company.company_id, "length": value, "depth": depth,
            "risky": risky, "path": _steps(entities, key, target, value)}  # fmt: skip


def _steps(entities: Entities, key: str, target: str, length: int) -> list[dict[str, Any]]:
    """The path's steps. The first asked of a set for a length finds the paths of all the
    set's parties at that length in one pass (`risk_links.risk_paths`; one step needs no
    search); steps are worded once each."""
    if entities.risk_paths is None:
        entities.risk_paths = {}
    found = entities.risk_paths.get((key, target, length))
    if found is None:
        wanted = entities.parties.select("company_key").with_columns(
            entities.party_columns.select("risk_target", "risk_length")
        ).filter(pl.col("risk_length") == length)  # fmt: skip
        entities.risk_paths |= risk_links.risk_paths(entities.registry, wanted)
        found = entities.risk_paths[(key, target, length)]
    return [dict(step) for step in _worded(entities.registry, found)]


def _worded(registry: Any, nodes: tuple[int, ...]) -> list[dict[str, Any]]:
    kept: dict[tuple[int, ...], list[dict[str, Any]]] = risk_links.kept_of(registry).setdefault("steps", {})
    found = kept.get(nodes)
    if found is None:
        if len(kept) >= STEPS_KEPT:
            kept.clear()  # bounded memory
        found = kept[nodes] = risk_links.path_steps(registry, nodes)
    return found
