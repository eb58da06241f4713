"""Links between exporter and consignee through the registry seen as a graph.

Companies are the nodes. Two companies are one step apart when
- they share a natural person, in any pair of roles (found across scripts and spellings),
- one holds a role in the other (a people row whose `person_company_id` names it), or
- they are registered at the same address (once normalised: `addresses.address_key`).

A path of `depth` steps or fewer joins the parties: depth 1 is a direct link, depth 2
goes through one intermediary company (the exporter's founder is company X, whose
director also heads the consignee). A shared address is weaker evidence than a person
or a role, so paths are looked for twice: first through persons and roles only (the
strong path), then, when there is none, with address steps allowed (the address path).
Initials-only name matches never make a step. Both back-ends answer through the same
`RegistryLookup` primitives, so they find the same paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .addresses import address_key
from .registry import MAX_AT_ADDRESS, CompanyRecord, RegistryLookup, SharedPerson, normalize_id, same_person

DEFAULT_DEPTH = 2
MAX_DEPTH = 3
MAX_FRONTIER = 200  # companies expanded per level: a bound on a lookup's cost, not a finding
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
    """Roles one of the two holds in the other."""
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
    best = max(shared, key=lambda s: s.score)  # the first of the best, in the people files' order
    return Step(x, y, "person", _person_detail(best))


def _person_detail(shared: SharedPerson) -> dict[str, Any]:
    return {
        "person": shared.exporter_person, "from_role": shared.exporter_role,
        "to_person": shared.consignee_person, "to_role": shared.consignee_role,
        "score": shared.score, "method": shared.method, "why": shared.detail,
    }  # fmt: skip


def _address_step(x: CompanyRecord, y: CompanyRecord) -> Step | None:
    key = address_key(x.address)
    if key is None or key != address_key(y.address):
        return None
    detail = {"address": x.address, "to_address": y.address, "why": f"same address once normalised: {key!r}"}
    return Step(x, y, "address", detail)


def direct_step(lookup: RegistryLookup, x: CompanyRecord, y: CompanyRecord, addresses: bool) -> Step | None:
    """The strongest direct link between two companies: a role, a person, then an address."""
    roles = _role_steps(lookup, x, y)
    if roles:
        return roles[0]
    step = _person_step(lookup, x, y)
    if step is None and addresses:
        step = _address_step(x, y)
    return step


def neighbours(lookup: RegistryLookup, x: CompanyRecord, addresses: bool) -> list[Step]:
    """Every company one step from x, each once, by its strongest step found."""
    key = ("neighbours", _key(x), addresses)
    if key not in lookup.link_cache:
        found: dict[str, Step] = {}
        for step in _candidate_steps(lookup, x, addresses):
            target = _key(step.target)
            if target != _key(x) and target not in found:
                found[target] = step
        lookup.link_cache[key] = list(found.values())
    result: list[Step] = lookup.link_cache[key]
    return result


def _candidate_steps(lookup: RegistryLookup, x: CompanyRecord, addresses: bool) -> list[Step]:
    if addresses:
        steps = list(neighbours(lookup, x, False))
        key = address_key(x.address)
        at = lookup.companies_at(key) if key else []
        if len(at) <= MAX_AT_ADDRESS:  # a mass-registration address links nobody
            steps += [s for c in at if (s := _address_step(x, c)) is not None]
        return steps
    steps = []
    for row in lookup.people_of(x.company_id):
        holder = lookup.company_by_id(normalize_id(row.person_company_id) or "") if row.person_company_id else None
        if holder is not None:
            steps.append(_role_step(holder, x, row.role.value, x))
    for row in lookup.holdings_of(x.company_id):
        held = lookup.company_by_id(normalize_id(row.company_id) or row.company_id)
        if held is not None:
            steps.append(_role_step(x, held, row.role.value, x))
    namesakes = [(row, lookup.namesakes(row)) for row in lookup.people_of(x.company_id) if not row.person_company_id]
    lookup.prefetch_companies({other.company_id for _, found in namesakes for other in found})
    for row, found in namesakes:
        for other in found:
            company = lookup.company_by_id(normalize_id(other.company_id) or other.company_id)
            shared = same_person(row, other, lookup.threshold) if company is not None else None
            if company is not None and shared is not None and _key(company) != _key(x):
                steps.append(Step(x, company, "person", _person_detail(shared)))
    return steps


def find_path(lookup: RegistryLookup, a: CompanyRecord, c: CompanyRecord, depth: int, addresses: bool) -> Path | None:
    """The shortest path of at most `depth` steps from a to c, or None.

    Breadth first from a; every company reached is compared with c directly (pairwise,
    as `shared_persons` compares, so the last step never depends on a capped name search)
    before it is expanded. Neighbours and pairs are cached, so a batch pays for each
    company once.
    """
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
    level: list[tuple[CompanyRecord, tuple[Step, ...]]] = [(a, ())]
    seen = {_key(a), _key(c)}
    for length in range(1, depth + 1):
        for x, steps in level:
            if (step := direct_step(lookup, x, c, addresses)) is not None:
                return Path((*steps, step))
        if length == depth:
            break
        following: list[tuple[CompanyRecord, tuple[Step, ...]]] = []
        for x, steps in level[:MAX_FRONTIER]:
            for step in neighbours(lookup, x, addresses):
                if _key(step.target) not in seen:
                    seen.add(_key(step.target))
                    following.append((step.target, (*steps, step)))
        level = following
    return None


def link_paths(
    lookup: RegistryLookup, a: CompanyRecord, c: CompanyRecord, depth: int
) -> tuple[Path | None, Path | None]:
    """(the strong path, or None; the address path when there is no strong one, or None)."""
    strong = find_path(lookup, a, c, depth, addresses=False)
    if strong is not None:
        return strong, None
    return None, find_path(lookup, a, c, depth, addresses=True)
