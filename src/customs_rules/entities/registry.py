"""The registry looked up per declaration: companies, their people, and the watchlist.

Its rows are the contract's (`contract.registry_rows`), read from CSV by `registry_csv`
(a file loads whole or not at all). `RegistryIndex` is the in-memory snapshot that
enrichment queries: parties by id first, then by name and aliases across scripts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from ..contract.models import Party
from ..contract.registry_rows import (
    CompanyRecord,
    PersonRecord,
    WatchlistRecord,
)
from . import names, persons
from .addresses import address_key
from .name_search import MAX_PERSON_BLOCK, Hit, NameIndex, NameSearch
from .persons import PersonLink, SharedPerson, normalize_id

MAX_AT_ADDRESS = 20  # companies at one address that still link; more is a mass-registration address
# answers a lookup keeps per memo (parties, pairs, watchlist hits) before it starts afresh: a
# batch meets each party about once, and a memo without a bound grew with the input (the
# watchlist's, ~2 MB per 5,000-line chunk in each batch worker)
ANSWERS_KEPT = 32_768
T = TypeVar("T")


@dataclass(frozen=True)
class PartyMatch:
    company: CompanyRecord | None
    method: str  # id, name, alias or none
    score: float
    detail: str


class RegistryLookup:
    """Parties, links and watchlist hits; subclasses say where companies and people live
    (`RegistryIndex` in memory for batches, a database-backed one for single submissions)."""

    def __init__(self, watchlist: Iterable[WatchlistRecord], threshold: float) -> None:
        self.threshold = threshold
        self.set_watchlist(watchlist)
        self._cache: dict[tuple[str | None, str, str | None], PartyMatch] = {}
        self._links: dict[tuple[str, str], list[SharedPerson]] = {}
        self._listed: dict[tuple[Any, ...], tuple[WatchlistRecord, str] | None] = {}
        self.link_cache: dict[tuple[Any, ...], Any] = {}  # links.py keeps its paths and neighbours here

    def set_watchlist(self, watchlist: Iterable[WatchlistRecord]) -> None:
        self.watchlist = list(watchlist)
        self._watch_ids = {normalize_id(w.company_id): w for w in self.watchlist if w.company_id}
        self._watch_names = NameIndex(self.threshold)
        for number, entry in enumerate(self.watchlist):
            self._watch_names.add(number, "name", entry.name)
        self._watch_hits: dict[tuple[str, str | None], list[Hit]] = {}  # the best hit per spelling and country

    def use_threshold(self, threshold: float) -> None:
        """Match names from this score on (the policy's `names: threshold`); what was
        found under another threshold is forgotten."""
        if threshold == self.threshold:
            return
        self.threshold = threshold
        for search in vars(self).values():
            if isinstance(search, NameSearch):
                search.threshold = threshold
        self.clear_caches()

    def clear_caches(self) -> None:
        """Forget every answer (the threshold changed)."""
        self.forget_answers()

    def forget_answers(self) -> None:
        """Forget parties, links and paths."""
        self._cache.clear()
        self._links.clear()
        self._listed.clear()
        self._watch_hits.clear()
        self.link_cache.clear()

    def company_by_id(self, ident: str) -> CompanyRecord | None:
        raise NotImplementedError

    def company_search(
        self, name: str, accept: Callable[[CompanyRecord], bool]
    ) -> list[tuple[CompanyRecord, str, str, names.NameMatch]]:
        raise NotImplementedError

    def people_of(self, company_id: str) -> list[PersonRecord]:
        raise NotImplementedError

    def prefetch(self, parties: Iterable[Party]) -> None:
        """The start of a block: these parties are wanted next (the database back-end
        fetches them in a few queries, from one snapshot of the registry)."""

    def end_block(self) -> None:
        """The end of a block's look-ups (the database back-end ends its read)."""

    def prefetch_companies(self, company_ids: Iterable[str]) -> None:
        """A hint that these companies and their people are wanted next (the database
        back-end fetches them in a few queries instead of one each)."""

    def holdings_of(self, company_id: str) -> list[PersonRecord]:
        """The rows where this company holds a role in another (`person_company_id`)."""
        raise NotImplementedError

    def person_links(self, company_id: str) -> list[PersonLink]:
        """The people of other companies that the same-person rule pairs with this
        company's natural persons (`entities.persons`), strong or weak at any threshold:
        ordered by this company's row, then the other row, in load order."""
        raise NotImplementedError

    def namesakes(self, person: PersonRecord) -> list[PersonRecord]:
        """The rows of other companies that the same-person rule pairs with this row of
        the registry (one person, or initials-only evidence), in load order."""
        key = normalize_id(person.company_id) or person.company_id
        return [link.other for link in self.person_links(key) if link.row == person]

    def companies_at(self, key: str) -> list[CompanyRecord]:
        """Companies whose address has this key, in load order, at most MAX_AT_ADDRESS + 1."""
        raise NotImplementedError

    def count_at(self, key: str) -> int:
        """How many companies have this address key (every one, however many)."""
        raise NotImplementedError

    def first_at(self, key: str, limit: int) -> list[CompanyRecord]:
        """The first `limit` companies (load order) whose address has this key."""
        raise NotImplementedError

    def ranked_people(self, name: str, limit: int) -> list[tuple[PersonRecord, names.NameMatch]]:
        """The people whose names come closest, scored, whatever the threshold (for review)."""
        raise NotImplementedError

    def resolve(self, party: Party) -> PartyMatch:
        """Find the declared party in the registry: by id first, then by name and aliases."""
        key = (party.id, party.name, party.country)
        found = self._cache.get(key)
        if found is None:
            found = _kept(self._cache, key, self._resolve(party))
        return found

    def _resolve(self, party: Party) -> PartyMatch:
        ident = normalize_id(party.id)
        company = self.company_by_id(ident) if ident else None
        if company is not None:
            return PartyMatch(company, "id", 1.0, f"id {party.id} in the registry")

        def same_country(candidate: CompanyRecord) -> bool:
            # the same name in another country is another company
            return not (party.country and candidate.country and party.country != candidate.country)

        hits = self.company_search(party.name, same_country)
        unknown_id = f"declared id {party.id} is not in the registry; " if ident else ""
        if not hits:
            return PartyMatch(None, "none", 0.0, f"{unknown_id}{party.name!r} not found in the registry")
        company, kind, spelling, match = hits[0]
        detail = f"{unknown_id}{party.name!r} ~ {kind} {spelling!r}: {match.detail}"
        return PartyMatch(company, kind, round(match.score, 3), detail)

    def shared_persons(self, a: CompanyRecord, b: CompanyRecord) -> list[SharedPerson]:
        """Persons who hold any role in both companies (director of one, founder of the
        other), by the same-person rule: a's rows in load order, then b's."""
        pair = (a.company_id, b.company_id)
        found = self._links.get(pair)
        if found is None:
            found = _kept(self._links, pair, self._shared(a, b, persons.STRONG))
        return found

    def initials_persons(self, a: CompanyRecord, b: CompanyRecord) -> list[SharedPerson]:
        """Persons of both companies whose names agree only up to initials: weak evidence."""
        return self._shared(a, b, persons.WEAK)

    def _shared(self, a: CompanyRecord, b: CompanyRecord, strength: str) -> list[SharedPerson]:
        other = normalize_id(b.company_id) or b.company_id
        found = []
        for link in self.person_links(normalize_id(a.company_id) or a.company_id):
            shared = link.shared(self.threshold) if link.other_company == other else None
            if shared is not None and shared[0] == strength:
                found.append(shared[1])
        return found

    def watchlisted(self, party: Party, company: CompanyRecord | None) -> tuple[WatchlistRecord, str] | None:
        """The watchlist entry for a party (by id, then by name), with why it matched."""
        key = (party.id, party.name, party.country, company.company_id if company else None)
        if key in self._listed:
            return self._listed[key]
        return _kept(self._listed, key, self._watchlisted(party, company))

    def _watchlisted(self, party: Party, company: CompanyRecord | None) -> tuple[WatchlistRecord, str] | None:
        if not self.watchlist:
            return None
        for ident in (party.id, company.company_id if company else None):
            entry = self._watch_ids.get(normalize_id(ident)) if ident else None
            if entry is not None:
                return entry, f"id {entry.company_id} is on the watchlist"
        country = party.country or (company.country if company else None)

        def same_country(number: int) -> bool:
            listed = self.watchlist[number].country
            return not (listed and country and listed != country)

        for spelling in [party.name, *([company.name, *company.aliases] if company else [])]:
            # a company's spellings come again with every party it is found for
            hits = self._watch_hits.get((spelling, country))
            if hits is None:
                found = self._watch_names.search(spelling, same_country)[:1]
                hits = _kept(self._watch_hits, (spelling, country), found)
            if hits:
                number, _, listed, match = hits[0]
                why = f"{spelling!r} ~ {listed!r} ({match.score:.2f}): {match.detail}"
                return self.watchlist[number], why
        return None


def _kept(memo: dict[Any, T], key: Any, value: T) -> T:
    """Remember `value` under `key` in a memo of at most ANSWERS_KEPT answers (all
    forgotten when it is full: no bookkeeping per hit), and give it back."""
    if len(memo) >= ANSWERS_KEPT:
        memo.clear()
    memo[key] = value
    return value


class RegistryIndex(RegistryLookup):
    """An in-memory snapshot of the registry, indexed for fast party lookups."""

    def __init__(
        self,
        companies: Iterable[CompanyRecord],
        people: Iterable[PersonRecord],
        watchlist: Iterable[WatchlistRecord],
        threshold: float = names.DEFAULT_THRESHOLD,
    ) -> None:
        super().__init__(watchlist, threshold)
        self.companies: dict[str, CompanyRecord] = {}
        self._company_list: list[CompanyRecord] = []
        self._names = NameIndex(threshold)
        for company in companies:
            self.companies[normalize_id(company.company_id) or company.company_id] = company
            number = len(self._company_list)
            self._company_list.append(company)
            self._names.add(number, "name", company.name)
            for alias in company.aliases:
                self._names.add(number, "alias", alias)
        self._addresses: dict[str, list[CompanyRecord]] = defaultdict(list)
        for company in self._company_list:
            if key := address_key(company.address):
                self._addresses[key].append(company)
        self.people: dict[str, list[PersonRecord]] = defaultdict(list)
        self._holdings: dict[str, list[PersonRecord]] = defaultdict(list)
        self._person_list: list[PersonRecord] = list(people)
        self._person_names: NameIndex | None = None  # built when an analyst ranks people
        for person in self._person_list:
            self.people[normalize_id(person.company_id) or person.company_id].append(person)
            if person.person_company_id:
                self._holdings[normalize_id(person.person_company_id) or person.person_company_id].append(person)
        self._person_links = _person_links(self._person_list)

    def company_by_id(self, ident: str) -> CompanyRecord | None:
        return self.companies.get(ident)

    def company_records(self) -> list[CompanyRecord]:
        """The companies in load order."""
        return list(self._company_list)

    def person_records(self) -> list[PersonRecord]:
        """The people rows in load order."""
        return list(self._person_list)

    def company_search(
        self, name: str, accept: Callable[[CompanyRecord], bool]
    ) -> list[tuple[CompanyRecord, str, str, names.NameMatch]]:
        hits = self._names.search(name, lambda n: accept(self._company_list[n]))
        return [(self._company_list[n], kind, spelling, match) for n, kind, spelling, match in hits]

    def people_of(self, company_id: str) -> list[PersonRecord]:
        return self.people.get(normalize_id(company_id) or company_id, [])

    def holdings_of(self, company_id: str) -> list[PersonRecord]:
        return self._holdings.get(normalize_id(company_id) or company_id, [])

    def person_links(self, company_id: str) -> list[persons.PersonLink]:
        return self._person_links.get(company_id, [])

    def companies_at(self, key: str) -> list[CompanyRecord]:
        return self._addresses.get(key, [])[: MAX_AT_ADDRESS + 1]

    def count_at(self, key: str) -> int:
        return len(self._addresses.get(key, []))

    def first_at(self, key: str, limit: int) -> list[CompanyRecord]:
        return self._addresses.get(key, [])[:limit]

    def ranked_people(self, name: str, limit: int) -> list[tuple[PersonRecord, names.NameMatch]]:
        if self._person_names is None:
            self._person_names = NameIndex(self.threshold, names.person_blocking_keys, MAX_PERSON_BLOCK)
            for number, person in enumerate(self._person_list):
                if not person.person_company_id:
                    self._person_names.add(number, "name", person.person_name)
        return [(self._person_list[n], match) for n, _, _, match in self._person_names.ranked(name, limit)]


def _person_links(people: list[PersonRecord]) -> dict[str, list[persons.PersonLink]]:
    """Each company's person links (`RegistryLookup.person_links`), rows numbered in load order."""
    natural = [
        (n, normalize_id(p.company_id) or p.company_id, p.person_name, p.person_id, p.birth_date)
        for n, p in enumerate(people)
        if not p.person_company_id
    ]
    from .person_pairs import people_frame, person_pairs  # polars: not for a cold submit

    pairs = person_pairs(people_frame(natural))
    found: dict[str, list[tuple[int, int, persons.PersonLink]]] = defaultdict(list)
    for row, other, *fields in pairs.iter_rows():
        match = persons.PairMatch(*fields)
        for mine, theirs in ((row, other), (other, row)):
            company = normalize_id(people[mine].company_id) or people[mine].company_id
            owner = normalize_id(people[theirs].company_id) or people[theirs].company_id
            found[company].append((mine, theirs, persons.PersonLink(people[mine], people[theirs], owner, match)))
    return {company: [link for *_, link in sorted(links, key=lambda t: t[:2])] for company, links in found.items()}


def same_person(pa: PersonRecord, pb: PersonRecord, threshold: float, weak: bool = False) -> SharedPerson | None:
    """The two rows name one person (by id, else by name: `entities.persons`), read from
    pa, or None (whether or not the pair is a candidate of the key rule).

    With `weak`, only initials-only name matches are returned (method "initials"):
    evidence that "Goldberg I. M." may be Ilya Goldberg, never a match on its own. An
    initials-only name with the same birth date on both rows (or the same person id) is
    one person: a full match (method "initials+birth_date", or "person_id").
    """
    if pa.person_company_id or pb.person_company_id:
        return None  # a role held by a company links through that company (links.py)
    match = persons.pair_match((pa.person_name, pa.person_id, pa.birth_date),
                               (pb.person_name, pb.person_id, pb.birth_date))  # fmt: skip
    if match is None:
        return None
    shared = persons.PersonLink(pa, pb, "", match).shared(threshold)
    if shared is None or (shared[0] == persons.WEAK) != weak:
        return None
    return shared[1]
