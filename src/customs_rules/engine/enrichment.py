"""Enrichment: a declaration plus the registry and reference lists become facts.

Modelled on nomenklatura's features: small documented functions, each returning a
`Feature` (a value the rules read, and a human-readable detail that becomes the
evidence of any finding that reads it). Every field of `facts.FIELDS` is produced for
every item, so rules never meet an undefined field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..contract.facts import DOMESTIC_ROLE
from ..contract.models import Declaration, Item, Party
from ..entities import links
from ..entities.identifiers import check_id
from ..entities.registry import PartyMatch, RegistryLookup, SharedPerson
from ..rules.model import Leaf, Node, Rule
from ..rules.reference import ReferenceData
from .party_risk import party_risk_features


@dataclass(frozen=True)
class Feature:
    value: Any
    detail: Any = None


@dataclass
class Enriched:
    """A declaration's facts: one dict per item (header facts included) and their details."""

    declaration: Declaration
    items: list[dict[str, Any]] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)


def party_features(role: str, party: Party, match: PartyMatch, index: RegistryLookup) -> dict[str, Feature]:
    """What the registry says of the exporter or consignee."""
    company = match.company
    registered = company.registered_on.isoformat() if company and company.registered_on else None
    hit = index.watchlisted(party, company)
    known_detail = {"match": match.method, "score": match.score, "why": match.detail}
    if company is not None:
        known_detail |= {"company_id": company.company_id, "registered_name": company.name}
    country = party.country or (company.country if company else None)
    id_check = check_id(party.id, country)
    return {
        f"{role}.id_valid": Feature(id_check.valid, {"scheme": id_check.scheme, "why": id_check.detail}),
        f"{role}.name": Feature(party.name),
        f"{role}.id": Feature(party.id),
        f"{role}.country": Feature(party.country or (company.country if company else None)),
        f"{role}.known": Feature(company is not None, known_detail),
        f"{role}.match": Feature(match.method),
        f"{role}.registered_on": Feature(registered, {"company": company.name} if company else None),
        f"{role}.watchlisted": Feature(
            hit is not None,
            {
                "listed_name": hit[0].name,
                "reason": hit[0].reason,
                "source": hit[0].source,
                "listed_on": hit[0].listed_on.isoformat() if hit[0].listed_on else None,
                "why": hit[1],
            }
            if hit
            else None,
        ),  # fmt: skip
    }


def linked_parties(exporter: PartyMatch, consignee: PartyMatch, index: RegistryLookup) -> dict[str, Feature]:
    """Exporter and consignee share a person (any pair of roles), with the evidence.

    A person matched only up to initials is weak evidence (`parties.linked_weak`); it
    is looked for only when no person is shared, so a strong link is never downgraded.
    """
    none = {
        "parties.linked": Feature(False),
        "parties.shared_persons": Feature(0),
        "parties.linked_weak": Feature(False),
    }
    if exporter.company is None or consignee.company is None or exporter.company is consignee.company:
        return none
    shared = index.shared_persons(exporter.company, consignee.company)
    if not shared:
        weak = index.initials_persons(exporter.company, consignee.company)
        if not weak:
            return none
        detail = _persons_detail(exporter, consignee, weak) | {
            "note": "initials only: the names agree up to initials, which cannot tell Ilya from Igor"
        }
        return none | {"parties.linked_weak": Feature(True, detail)}
    detail = _persons_detail(exporter, consignee, shared)
    return none | {
        "parties.linked": Feature(True, detail),
        "parties.shared_persons": Feature(len(shared), detail),
    }


def _persons_detail(exporter: PartyMatch, consignee: PartyMatch, shared: list[SharedPerson]) -> dict[str, Any]:
    assert exporter.company is not None and consignee.company is not None
    return {
        "exporter": exporter.company.name,
        "consignee": consignee.company.name,
        "shared_persons": [
            {"person": s.exporter_person, "exporter_role": s.exporter_role,
             "consignee_person": s.consignee_person, "consignee_role": s.consignee_role,
             "score": s.score, "method": s.method, "why": s.detail}
            for s in shared
        ],
    }  # fmt: skip


def link_paths(exporter: PartyMatch, consignee: PartyMatch, index: RegistryLookup, depth: int) -> dict[str, Feature]:
    """The shortest path (of at most `depth` steps) joining exporter and consignee through
    persons and roles held by companies; else one through a shared address (weak)."""
    none = {"parties.link_path_length": Feature(None), "parties.linked_by_address": Feature(False)}
    a, c = exporter.company, consignee.company
    if a is None or c is None or a is c:
        return none
    strong, address = links.link_paths(index, a, c, depth)
    base = {"exporter": a.name, "consignee": c.name, "depth": depth}
    if strong is not None:
        detail = base | {"length": strong.length, "path": strong.as_list()}
        return none | {"parties.link_path_length": Feature(strong.length, detail)}
    if address is not None:
        detail = base | {"length": address.length, "path": address.as_list()}
        return none | {"parties.linked_by_address": Feature(True, detail)}
    return none


def activity_covers(party: PartyMatch, item: Item, reference: ReferenceData, role: str = "exporter") -> Feature:
    """Whether the party's registered activities plausibly cover the item's goods.

    None (missing) when the party is unknown or registered no activity code.
    """
    company = party.company
    if company is None or not company.activity_codes:
        return Feature(None, {"why": f"no activity codes known for the {role}"})
    codes = tuple(company.activity_codes)
    covering = reference.activity_map.covering(codes, item.hs_code)
    detail = {"activity_codes": list(codes), "hs_code": item.hs_code, "covering": covering}
    if not covering:
        detail["why"] = f"none of the activities {', '.join(codes)} covers HS {item.hs_code}"
    return Feature(bool(covering), detail)


DOMESTIC_KEYS = ("name", "id", "known", "registered_on")
NO_DOMESTIC_PARTY = "a transit declaration has no domestic party: both parties are foreign, the goods only cross"


def domestic_party(decl: Declaration, header: dict[str, Feature]) -> tuple[str | None, dict[str, Feature]]:
    """The profile facts of the party the registry is about: the exporter on export and
    re-export, the consignee on import (a foreign supplier is naturally unknown to a
    Kazakh registry; the importer is not). Transit has none: the facts are missing.
    Returns the domestic role and the `domestic_party.*` features, copied from that
    party's own, with the role and procedure added to their evidence."""
    procedure = decl.procedure.value
    role = DOMESTIC_ROLE.get(procedure)
    if role is None:
        missing = {f"domestic_party.{key}": Feature(None) for key in DOMESTIC_KEYS}
        why = {"procedure": procedure, "why": NO_DOMESTIC_PARTY}
        return None, missing | {"domestic_party.role": Feature(None, why)}
    basis = {"role": role, "procedure": procedure}
    features = {"domestic_party.role": Feature(role, basis)}
    for key in DOMESTIC_KEYS:
        own = header[f"{role}.{key}"]
        extra = own.detail if isinstance(own.detail, dict) else ({} if own.detail is None else {"detail": own.detail})
        features[f"domestic_party.{key}"] = Feature(own.value, basis | extra)
    return role, features


def hs_lists(item: Item, reference: ReferenceData) -> Feature:
    """The named goods lists (and tiers) the item's HS code falls in."""
    found = reference.lists_for(item.hs_code)
    detail = [
        {"list": name, "code": entry.code, "tier": entry.tier, "description": entry.description}
        for name, entry in found.items()
    ]
    return Feature(item.hs_code, {"lists": detail} if detail else None)


def description_features(description: str | None, hs_code: str, reference: ReferenceData) -> dict[str, Feature]:
    """What the goods description names (keyword lists) and whether the code fits it
    (`entities.goods_text`); the evidence says which words matched which list."""
    matcher = reference.goods_text()
    lists, mismatch = matcher.values(description, hs_code)
    hits = matcher.match(description).hits
    detail = matcher.mismatch(description, hs_code)[1]
    return {
        "item.description_lists": Feature(lists, {"lists": [h.as_dict() for h in hits]} if hits else None),
        "item.description_code_mismatch": Feature(mismatch, detail),
    }


def country_groups(country: str | None, reference: ReferenceData) -> Feature:
    groups = sorted(reference.groups_for(country))
    return Feature(country, {"groups": groups} if groups else None)


def route_groups(countries: list[str], reference: ReferenceData) -> Feature:
    detail = {c: sorted(reference.groups_for(c)) for c in countries}
    return Feature(countries, detail if any(detail.values()) else None)


def declaration_features(decl: Declaration, reference: ReferenceData) -> dict[str, Feature]:
    values = [i.value for i in decl.items if i.value is not None]
    return {
        "declaration.procedure": Feature(decl.procedure.value),
        "declaration.document_type": Feature(decl.document_type),
        "declaration.date": Feature(decl.date.isoformat()),
        "declaration.dispatch_country": country_groups(decl.dispatch_country, reference),
        "declaration.destination_country": country_groups(decl.destination_country, reference),
        "declaration.transit_countries": route_groups(decl.transit_countries, reference),
        "declaration.item_count": Feature(len(decl.items)),
        # exact (correctly rounded) and finite: Declaration refuses values that overflow
        "declaration.total_value": Feature(math.fsum(values)),
    }


def item_features(
    item: Item, exporter: PartyMatch, reference: ReferenceData, domestic: tuple[str, PartyMatch] | None = None
) -> dict[str, Feature]:
    """The item's own facts; `domestic` is the domestic party's role and match (None on transit)."""
    exporter_covers = activity_covers(exporter, item, reference)
    if domestic is None:
        domestic_covers = Feature(None, {"why": NO_DOMESTIC_PARTY})
    elif domestic[0] == "exporter":
        domestic_covers = Feature(exporter_covers.value, {"role": "exporter", **(exporter_covers.detail or {})})
    else:
        covers = activity_covers(domestic[1], item, reference, domestic[0])
        domestic_covers = Feature(covers.value, {"role": domestic[0], **(covers.detail or {})})
    return {
        "item.line": Feature(item.line),
        "item.hs_code": hs_lists(item, reference),
        "item.description": Feature(item.description),
        "item.quantity": Feature(item.quantity),
        "item.unit": Feature(item.unit),
        "item.value": Feature(item.value),
        "item.currency": Feature(item.currency),
        "item.origin_country": country_groups(item.origin_country, reference),
        "item.net_mass_kg": Feature(item.net_mass_kg),
        "item.exporter_activity_covers": exporter_covers,
        **description_features(item.description, item.hs_code, reference),
        "item.domestic_party_activity_covers": domestic_covers,
    }


PATH_FIELDS = frozenset({"parties.link_path_length", "parties.linked_by_address", "exporter.risk_link_length",
                         "consignee.risk_link_length"})  # fmt: skip


def path_guard(rules: list[Rule]) -> frozenset[str] | None:
    """The goods lists without which no rule can use a path longer than one step, or None
    when some rule might use one whatever the goods.

    A path search through intermediaries costs milliseconds per new company; a batch of
    ordinary goods should not pay it when every rule reading paths also demands listed
    goods (`all` with `item.hs_code in_list`). Derived from the pack, never hard-coded.
    """
    lists: set[str] = set()
    for rule in rules:
        if not rule.fields() & PATH_FIELDS:
            continue
        condition = rule.condition
        parts = condition.children if isinstance(condition, Node) and condition.kind == "all" else (condition,)
        guards = [p for p in parts if isinstance(p, Leaf) and p.field == "item.hs_code" and p.op == "in_list"]
        if not guards:
            return None
        lists |= set(guards[0].value)
    return frozenset(lists)


def enrich(
    decl: Declaration,
    index: RegistryLookup,
    reference: ReferenceData,
    depth: int = links.DEFAULT_DEPTH,
    guard: frozenset[str] | None = None,
) -> Enriched:
    """All the facts of one declaration, one fact per item; `depth` bounds the link paths.

    With a `guard` (see `path_guard`), paths longer than one step are searched only when
    an item is on one of those lists; otherwise the facts hold the direct links only.
    """
    if guard is not None and not any(guard & reference.lists_for(item.hs_code).keys() for item in decl.items):
        depth = 1
    exporter = index.resolve(decl.exporter)
    consignee = index.resolve(decl.consignee)
    header = declaration_features(decl, reference)
    header |= party_features("exporter", decl.exporter, exporter, index)
    header |= party_features("consignee", decl.consignee, consignee, index)
    header |= linked_parties(exporter, consignee, index)
    header |= link_paths(exporter, consignee, index, depth)
    for side, match in (("exporter", exporter), ("consignee", consignee)):
        risk = party_risk_features(side, match, index, reference, depth)
        header |= {name: Feature(*fact) for name, fact in risk.items()}
    role, features = domestic_party(decl, header)
    header |= features
    domestic = None if role is None else (role, exporter if role == "exporter" else consignee)
    result = Enriched(decl)
    for item in decl.items:
        features = header | item_features(item, exporter, reference, domestic)
        result.items.append({k: f.value for k, f in features.items()})
        result.details.append({k: f.detail for k, f in features.items() if f.detail is not None})
    return result
