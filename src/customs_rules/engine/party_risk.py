"""Registry red flags of one party, whatever the other party: the plain definition.

Three facts per party (exporter, consignee), read by rules like any other field
(`contract.facts`; settings in `rules/lists/history.yaml`, `rules.history`):

- `<role>.forwarder`: one of the company's registered activity codes is freight forwarding
  or logistics (`forwarding_activities`; an entry matches every code it is a prefix of,
  dots ignored, as the activity map matches codes). Missing when the party is unknown or
  registered no activity code.
- `<role>.address_companies`: how many registry companies are registered at the company's
  normalised address (`addresses.address_key`), itself included: the real count, however
  large (the link search ignores an address shared by more than MAX_AT_ADDRESS companies;
  this fact does not). Missing when the party is unknown or has no address.
- `<role>.risk_link_length`: the fewest steps, 1 to the link depth, from the company to
  another registry company that is "risk": registered in a country of the settings'
  `risk_links.country_groups`, or (with `risk_links.watchlist`) named by a watchlist entry
  (the company the entry resolves to, as a declared party resolves). Steps are those of
  the strong link paths (`entities.links`: a shared person, a role one company holds in
  the other; never an address). Among the risk companies nearest, the first by key; the
  evidence is the strong path to it (`links.find_path`, the same tie-breaks). Missing
  when none is that near. The depth is the declaration's link depth (the policy's
  `links.depth`, or 1 under the path guard, `enrichment.path_guard`).

This is the reference: a per-party search, simple to read. The columnar core
(`screening.party_risk`, `entities.risk_links`) answers for a whole set at once and is
held against this one (tests/test_party_risk.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from ..contract.models import Party
from ..contract.registry_rows import CompanyRecord, WatchlistRecord
from ..entities import links
from ..entities.addresses import address_key
from ..entities.persons import normalize_id
from ..entities.registry import PartyMatch, RegistryLookup
from ..rules.history import HistorySettings
from ..rules.reference import ReferenceData


class Feature(NamedTuple):
    """A value for the rules and its evidence (`enrichment.Feature` holds the same two)."""

    value: Any
    detail: Any = None


SUFFIXES = ("forwarder", "address_companies", "risk_link_length")


def forwarding(codes: Sequence[str] | None, role: str, settings: HistorySettings) -> Feature:
    """`<role>.forwarder` of a company registering these activity codes (None: unknown party)."""
    if not codes:
        return Feature(None, {"why": f"no activity codes known for the {role}"})
    entries = [(entry, entry.replace(".", "")) for entry in settings.forwarding_activities]
    found = [code for code in codes if any(code.replace(".", "").strip().startswith(e) for _, e in entries)]
    detail: dict[str, Any] = {"activity_codes": list(codes), "forwarding": found,
                              "forwarding_activities": list(settings.forwarding_activities)}  # fmt: skip
    if found:
        detail["why"] = f"registered activity {', '.join(found)}: freight forwarding or logistics"
    return Feature(bool(found), detail)


def address_detail(company: CompanyRecord, key: str, count: int, others: Sequence[CompanyRecord]) -> dict[str, Any]:
    """The evidence of `<role>.address_companies`: the address, the count, and the first
    other companies registered there (load order, at most the settings' evidence_limit)."""
    named = [{"name": c.name, "company_id": c.company_id} for c in others]
    return {"address": company.address, "address_key": key, "companies": count, "others": named,
            "why": f"{count} registry companies at the address {key!r} once normalised"}  # fmt: skip


def risk_countries(reference: ReferenceData) -> dict[str, list[str]]:
    """Each country of the settings' risk groups, with those groups (sorted); a group the
    pack does not define adds none (the validators name it)."""
    found: dict[str, list[str]] = {}
    for name in sorted(set(reference.history.risk_groups)):
        group = reference.country_groups.get(name)
        for country in sorted(group.countries) if group else ():
            found.setdefault(country, []).append(name)
    return found


def risky_detail(company: CompanyRecord, groups: Sequence[str], entry: WatchlistRecord | None) -> dict[str, Any]:
    """Why a registry company is "risk": its country's groups, the watchlist entry naming it."""
    detail: dict[str, Any] = {"name": company.name, "company_id": company.company_id, "country": company.country}
    why = []
    if groups:
        detail["groups"] = list(groups)
        why.append(f"registered in {company.country} ({', '.join(groups)})")
    if entry is not None:
        detail["watchlist"] = {"listed_name": entry.name, "reason": entry.reason, "source": entry.source}
        why.append(f"on the watchlist as {entry.name!r}: {entry.reason}")
    return detail | {"why": "; ".join(why)}


def watchlist_party(entry: WatchlistRecord) -> Party:
    """A watchlist entry as a declared party, to resolve it in the registry."""
    return Party.model_construct(id=entry.company_id, name=entry.name, country=entry.country)


def watched_companies(lookup: RegistryLookup) -> dict[str, WatchlistRecord]:
    """The registry companies the watchlist entries resolve to, by key: the first entry
    (in watchlist order) naming each."""
    found: dict[str, WatchlistRecord] = lookup.link_cache.get(("risk", "watched"))  # type: ignore[assignment]
    if found is None:
        found = {}
        for entry in lookup.watchlist:
            company = lookup.resolve(watchlist_party(entry)).company
            if company is not None:
                found.setdefault(_key(company), entry)
        lookup.link_cache[("risk", "watched")] = found
    return found


def _key(company: CompanyRecord) -> str:
    return normalize_id(company.company_id) or company.company_id


def risk_link(company: CompanyRecord, lookup: RegistryLookup, reference: ReferenceData, depth: int) -> Feature:
    """`<role>.risk_link_length` of a registry company (see the module's docstring)."""
    countries = risk_countries(reference)
    watched = watched_companies(lookup) if reference.history.risk_watchlist else {}

    def risky(other: CompanyRecord) -> bool:
        return (other.country or "") in countries or _key(other) in watched

    own = _key(company)
    seen, frontier = {own}, [company]
    for level in range(1, depth + 1):
        reached: dict[str, CompanyRecord] = {}
        for x in frontier:
            for key, y in links.neighbours(lookup, x, addresses=False).items():
                if key not in seen:
                    reached.setdefault(key, y)
        seen |= reached.keys()
        hits = sorted(key for key, y in reached.items() if risky(y))
        if hits:
            target = reached[hits[0]]
            path = links.find_path(lookup, company, target, level, addresses=False)
            assert path is not None and path.length == level, "a company reached in `level` steps has such a path"
            groups = countries.get(target.country or "", [])
            detail = {"party": company.name, "party_id": company.company_id, "length": level, "depth": depth,
                      "risky": risky_detail(target, groups, watched.get(hits[0])), "path": path.as_list()}  # fmt: skip
            return Feature(level, detail)
        frontier = sorted(reached.values(), key=_key)
    return Feature(None)


def party_risk_features(
    role: str, match: PartyMatch, lookup: RegistryLookup, reference: ReferenceData, depth: int
) -> dict[str, Feature]:
    """The three facts of one party (`role`: exporter or consignee)."""
    company = match.company
    settings = reference.history
    if company is None:
        return {f"{role}.forwarder": forwarding(None, role, settings), f"{role}.address_companies": Feature(None),
                f"{role}.risk_link_length": Feature(None)}  # fmt: skip
    key = address_key(company.address)
    if key is None:
        at = Feature(None)
    else:
        count = lookup.count_at(key)
        others = [c for c in lookup.first_at(key, settings.evidence_limit + 1) if _key(c) != _key(company)]
        at = Feature(count, address_detail(company, key, count, others[: settings.evidence_limit]))
    return {
        f"{role}.forwarder": forwarding(company.activity_codes, role, settings),
        f"{role}.address_companies": at,
        f"{role}.risk_link_length": risk_link(company, lookup, reference, depth),
    }
