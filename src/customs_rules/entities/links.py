"""Links between exporter and consignee through the registry seen as a graph.

Companies are the nodes. Two companies are one step apart when
- they share a natural person, in any pair of roles, by the same-person rule
  (`entities.persons`: keys, then ids, birth dates and `names.compare`),
- one holds a role in the other (a people row whose `person_company_id` names it), or
- they are registered at the same address (once normalised: `addresses.address_key`),
  unless more than MAX_AT_ADDRESS companies share it (a mass-registration address).

A path of `depth` steps or fewer joins the parties: depth 1 is a direct link, depth 2
goes through one intermediary company (the exporter's founder is company X, whose
director also heads the consignee). A shared address is weaker evidence than a person
or a role, so paths are looked for twice: first through persons and roles only (the
strong path), then, when there is none, with address steps allowed (the address path).
Initials-only name matches never make a step.

Ties are settled so that any implementation finds the same path (the compiled registry,
`entities.linking`, answers for a set of pairs by joins and must agree with this one):
- the shortest path wins; among paths of one length, the one whose intermediary
  companies' keys (`persons.normalize_id` of their ids) come first, compared in order
  (the first intermediary, then the second);
- each step between two companies is their strongest direct link: a role (rows in which
  the step's target holds a role in its source first, then the other way round, each in
  load order), else a shared person (the best score; ties by the source's row, then the
  other company's row, in load order), else (address paths only) the address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..contract.registry_rows import CompanyRecord
from . import persons
from .addresses import address_key
from .persons import normalize_id
from .registry import MAX_AT_ADDRESS, RegistryLookup, SharedPerson

DEFAULT_DEPTH = 2
MAX_DEPTH = 3
MAX_CACHED = 200_000  # neighbour lists and paths kept before the cache starts afresh


@dataclass(frozen=True)
class Step:
    """One step of a path: `source` and `target` are linked by `kind` (person, role, address)."""

    source: CompanyRecord
    target: CompanyRecord
    kind: str
    detail: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        ends = {"from": self.source.name, "from_id": self.source.company_id}
        ends |= {"to": self.target.name, "to_id": self.target.company_id}
        return ends | {"link": self.kind} | self.detail


@dataclass(frozen=True)
class Path:
    steps: tuple[Step, ...]

    @property
    def length(self) -> int:
        return len(self.steps)

    def as_list(self) -> list[dict[str, Any]]:
        return [step.as_dict() for step in self.steps]


def _key(company: CompanyRecord) -> str:
    return normalize_id(company.company_id) or company.company_id


def _role_step(holder: CompanyRecord, held: CompanyRecord, role: str, source: CompanyRecord) -> Step:
    target = held if source is holder else holder
    detail = {"holder": holder.name, "role": role, "of": held.name, "why": f"{holder.name} is {role} of {held.name}"}
    return Step(source, target, "role", detail)


def _role_steps(lookup: RegistryLookup, x: CompanyRecord, y: CompanyRecord) -> list[Step]:
    """Roles one of the two holds in the other: y's in x first, each in load order."""
    steps = []
    for holder, held in ((y, x), (x, y)):
        for row in lookup.people_of(held.company_id):
            if row.person_company_id and normalize_id(row.person_company_id) == _key(holder):
                steps.append(_role_step(holder, held, row.role.value, x))
    return steps


def _person_step(lookup: RegistryLookup, x: CompanyRecord, y: CompanyRecord) -> Step | None:
    shared = lookup.shared_persons(x, y)
    if not shared:
        return None
    best = max(shared, key=lambda s: s.score)  # the first of the best, in load order
    return Step(x, y, "person", _person_detail(best))


def _person_detail(shared: SharedPerson) -> dict[str, Any]:
    return {
        "person": shared.exporter_person, "from_role": shared.exporter_role,
        "to_person": shared.consignee_person, "to_role": shared.consignee_role,
        "score": shared.score, "method": shared.method, "why": shared.detail,
    }  # fmt: skip


def _address_step(lookup: RegistryLookup, x: CompanyRecord, y: CompanyRecord) -> Step | None:
    key = address_key(x.address)
    if key is None or key != address_key(y.address) or len(lookup.companies_at(key)) > MAX_AT_ADDRESS:
        return None
    detail = {"address": x.address, "to_address": y.address, "why": f"same address once normalised: {key!r}"}
    return Step(x, y, "address", detail)


def direct_step(lookup: RegistryLookup, x: CompanyRecord, y: CompanyRecord, addresses: bool) -> Step | None:
    """The strongest direct link between two companies: a role, a person, then an address."""
    if _key(x) == _key(y):
        return None
    roles = _role_steps(lookup, x, y)
    if roles:
        return roles[0]
    step = _person_step(lookup, x, y)
    if step is None and addresses:
        step = _address_step(lookup, x, y)
    return step


def neighbours(lookup: RegistryLookup, x: CompanyRecord, addresses: bool) -> dict[str, CompanyRecord]:
    """Every company one step from x, by key."""
    key = ("neighbours", _key(x), addresses)
    if key not in lookup.link_cache:
        found: dict[str, CompanyRecord] = {}
        for company in _linked_companies(lookup, x, addresses):
            if company is not None and _key(company) != _key(x):
                found.setdefault(_key(company), company)
        lookup.link_cache[key] = found
    result: dict[str, CompanyRecord] = lookup.link_cache[key]
    return result


def _linked_companies(lookup: RegistryLookup, x: CompanyRecord, addresses: bool) -> list[CompanyRecord | None]:
    found = [
        lookup.company_by_id(normalize_id(row.person_company_id) or "")
        for row in lookup.people_of(x.company_id)
        if row.person_company_id
    ]
    found += [lookup.company_by_id(_key_of(row.company_id)) for row in lookup.holdings_of(x.company_id)]
    found += [
        lookup.company_by_id(link.other_company)
        for link in lookup.person_links(_key(x))
        if (shared := link.shared(lookup.threshold)) is not None and shared[0] == persons.STRONG
    ]
    if addresses and (key := address_key(x.address)):
        at = lookup.companies_at(key)
        if len(at) <= MAX_AT_ADDRESS:  # a mass-registration address links nobody
            found += at
    return found


def _key_of(company_id: str) -> str:
    return normalize_id(company_id) or company_id


def find_path(lookup: RegistryLookup, a: CompanyRecord, c: CompanyRecord, depth: int, addresses: bool) -> Path | None:
    """The shortest path of at most `depth` steps from a to c (ties: see the module), or None."""
    if _key(a) == _key(c):
        return None
    cache_key = ("path", _key(a), _key(c), depth, addresses)
    if cache_key not in lookup.link_cache:
        if len(lookup.link_cache) > MAX_CACHED:
            lookup.link_cache.clear()  # a long batch meets millions of pairs: keep memory bounded
        lookup.link_cache[cache_key] = _search(lookup, a, c, depth, addresses)
    found: Path | None = lookup.link_cache[cache_key]
    return found


def _search(lookup: RegistryLookup, a: CompanyRecord, c: CompanyRecord, depth: int, addresses: bool) -> Path | None:
    if (step := direct_step(lookup, a, c, addresses)) is not None:
        return Path((step,))
    if depth < 2:
        return None
    ends = {_key(a), _key(c)}
    around_a, around_c = neighbours(lookup, a, addresses), neighbours(lookup, c, addresses)
    middle = sorted(set(around_a) & set(around_c) - ends)
    if middle:
        x = around_a[middle[0]]
        return _path(lookup, [a, x, c], addresses)
    if depth < 3:
        return None
    for key in sorted(set(around_a) - ends):
        x = around_a[key]
        seconds = sorted(set(neighbours(lookup, x, addresses)) & set(around_c) - ends - {key})
        if seconds:
            return _path(lookup, [a, x, around_c[seconds[0]], c], addresses)
    return None


def _path(lookup: RegistryLookup, companies: list[CompanyRecord], addresses: bool) -> Path:
    steps = [direct_step(lookup, x, y, addresses) for x, y in zip(companies, companies[1:], strict=False)]
    assert all(step is not None for step in steps), "a neighbour is one direct step away"
    return Path(tuple(s for s in steps if s is not None))


def link_paths(
    lookup: RegistryLookup, a: CompanyRecord, c: CompanyRecord, depth: int
) -> tuple[Path | None, Path | None]:
    """(the strong path, or None; the address path when there is no strong one, or None)."""
    strong = find_path(lookup, a, c, depth, addresses=False)
    if strong is not None:
        return strong, None
    return None, find_path(lookup, a, c, depth, addresses=True)
