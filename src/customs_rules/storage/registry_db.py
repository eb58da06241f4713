"""The registry looked up in the database, a few indexed queries per party.

A single submission must not load a registry of 100k companies and 300k people into
memory; this gives the same answers as the in-memory `RegistryIndex` (same keys, same
candidate order, same scoring) from the `company_key`, `company` and `person` tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import Session, col, select

from .. import names
from ..models import Party
from ..name_search import MAX_CANDIDATES, MAX_PERSON_BLOCK, NameSearch
from ..registry import (
    MAX_AT_ADDRESS,
    MAX_NAMESAKES,
    CompanyRecord,
    PersonRecord,
    RegistryLookup,
    WatchlistRecord,
    normalize_id,
)
from .tables import Company, Person, WatchlistEntry

# The same queries over company_key and person_key; the table names are these constants,
# never input. Values always go through bound parameters.
KEY_TABLES = {"company": ("company_key", "company_pk"), "person": ("person_key", "person_pk")}
CANDIDATES_SQL = """
    SELECT k.{owner}, SUM(1.0 / s.n) AS weight
    FROM {table} k
    JOIN (
        SELECT key, COUNT(*) AS n FROM {table} WHERE kind = 'block' AND key IN :blocks
        GROUP BY key HAVING COUNT(*) <= :max_block
    ) s
      ON s.key = k.key
    WHERE k.kind = 'block' AND k.key IN :blocks
    GROUP BY k.{owner}
    ORDER BY weight DESC, k.{owner}
    LIMIT :limit
"""
EXACT_SQL = (
    "SELECT key, {owner}, spelling_kind, spelling FROM {table} WHERE kind = 'exact' AND key IN :keys ORDER BY id"
)
SPELLINGS_SQL = (
    "SELECT {owner}, spelling_kind, spelling FROM {table} WHERE kind = 'exact' AND {owner} IN :pks ORDER BY id"
)


CACHE_COMPANIES = 10_000  # companies kept between blocks before the caches start afresh (memory: see RESULTS.md)


class StoredNames(NameSearch):
    """Spellings in a key table: `kind` "company" (company_key) or "person" (person_key)."""

    def __init__(
        self, session: Session, threshold: float, kind: str = "company", load: Callable[[set[Any]], None] | None = None
    ) -> None:
        if kind == "person":
            super().__init__(threshold, names.person_blocking_keys, MAX_PERSON_BLOCK)
        else:
            super().__init__(threshold)
        self.session = session
        self.load = load  # fetches the records of candidate keys, in bulk
        self.exact_cache: dict[str, list[tuple[Any, str, str]]] = {}
        self.spelling_cache: dict[Any, list[tuple[str, str]]] = {}
        table, owner = KEY_TABLES[kind]
        self._sql = {
            name: text(template.format(table=table, owner=owner))
            for name, template in (("candidates", CANDIDATES_SQL), ("exact", EXACT_SQL), ("spellings", SPELLINGS_SQL))
        }

    def exact(self, key: str) -> list[tuple[Any, str, str]]:
        if key not in self.exact_cache:
            self.prefetch_exact([key])
        return self.exact_cache[key]

    def prefetch_exact(self, keys: Iterable[str]) -> None:
        wanted = sorted({k for k in keys if k not in self.exact_cache})
        for key in wanted:
            self.exact_cache[key] = []
        query = self._sql["exact"].bindparams(bindparam("keys", expanding=True))
        for part in _parts(wanted):
            for key, pk, kind, spelling in self.session.execute(query, {"keys": part}):
                self.exact_cache[key].append((pk, kind, spelling))

    def candidates(self, blocks: set[str]) -> list[Any]:
        if not blocks:
            return []
        statement = self._sql["candidates"].bindparams(bindparam("blocks", expanding=True))
        params = {"blocks": sorted(blocks), "limit": MAX_CANDIDATES, "max_block": self.max_block}
        rows = self.session.execute(statement, params)
        found = [row[0] for row in rows]
        self._prefetch_spellings(found)  # one query for the candidates' spellings, not one each
        if self.load is not None:
            self.load(set(found))  # and one for their records
        return found

    def spellings(self, record: Any) -> list[tuple[str, str]]:
        if record not in self.spelling_cache:
            self._prefetch_spellings([record])
        return self.spelling_cache[record]

    def _prefetch_spellings(self, records: list[Any]) -> None:
        wanted = sorted({r for r in records if r not in self.spelling_cache})
        if not wanted:
            return
        for record in wanted:
            self.spelling_cache[record] = []
        query = self._sql["spellings"].bindparams(bindparam("pks", expanding=True))
        for record, kind, spelling in self.session.execute(query, {"pks": wanted}):
            self.spelling_cache[record].append((kind, spelling))


class StoredRegistry(RegistryLookup):
    """Registry lookups against the database, cached, and fetched in bulk per batch."""

    def __init__(self, session: Session, threshold: float = names.DEFAULT_THRESHOLD) -> None:
        watch = [WatchlistRecord.model_validate(w.model_dump()) for w in session.exec(select(WatchlistEntry))]
        super().__init__(watch, threshold)
        self.session = session
        self._names = StoredNames(session, threshold, load=self._load_companies)
        self._companies: dict[int, CompanyRecord] = {}
        self._ids: dict[str, int | None] = {}
        self._people: dict[str, list[PersonRecord]] = {}
        self._person_names = StoredNames(session, threshold, "person")
        self._persons: dict[int, PersonRecord] = {}
        self._holdings: dict[str, list[PersonRecord]] = {}

    def prefetch(self, parties: Iterable[Party]) -> None:
        """Fetch what a batch of parties needs in a few queries instead of many."""
        parties = list(parties)
        if len(self._companies) > CACHE_COMPANIES:
            self.forget()  # keeps a long batch's memory bounded; what is needed comes back
        idents = {i for p in parties if (i := normalize_id(p.id))}
        keys = {" ".join(names.tokens(p.name)) for p in parties}
        self._prefetch_ids(idents)
        self._names.prefetch_exact(keys)
        # only this block's parties: the caches hold every earlier block's too
        pks = {pk for i in idents if (pk := self._ids[i])}
        pks |= {hit[0] for key in keys for hit in self._names.exact_cache[key]}
        self._load_with_people(pks)

    def prefetch_companies(self, company_ids: Iterable[str]) -> None:
        idents = {i for c in company_ids if (i := normalize_id(c))}
        self._prefetch_ids(idents)
        pks = {pk for i in idents if (pk := self._ids.get(i))}
        self._load_with_people(pks)

    def _load_with_people(self, pks: set[int]) -> None:
        self._load_companies(pks)
        self._prefetch_people({self._companies[pk].company_id for pk in pks if pk in self._companies})

    def forget(self) -> None:
        self._companies.clear()
        self._ids.clear()
        self._people.clear()
        for search in (self._names, self._person_names):
            search.exact_cache.clear()
            search.spelling_cache.clear()
        self._persons.clear()
        self._holdings.clear()
        self.clear_caches()

    def _prefetch_ids(self, idents: set[str]) -> None:
        wanted = sorted(i for i in idents if i not in self._ids)
        for ident in wanted:
            self._ids[ident] = None
        for part in _parts(wanted):
            query = text(
                "SELECT key, MIN(company_pk) FROM company_key WHERE kind = 'id' AND key IN :keys GROUP BY key"
            ).bindparams(bindparam("keys", expanding=True))
            for key, pk in self.session.execute(query, {"keys": part}):
                self._ids[key] = pk

    def _load_companies(self, pks: set[int]) -> None:
        table = Company.__table__  # type: ignore[attr-defined]
        for part in _parts(sorted(pk for pk in pks if pk not in self._companies)):
            # plain rows, not ORM objects: a batch loads tens of thousands
            for row in self.session.execute(select(table).where(table.c.id.in_(part))).mappings():
                self._companies[row["id"]] = CompanyRecord.model_validate(dict(row))

    def _prefetch_people(self, company_ids: set[str]) -> None:
        forms = {cid: {cid, normalize_id(cid) or cid} for cid in company_ids if cid not in self._people}
        owner = {form: cid for cid, group in forms.items() for form in group}
        for cid in forms:
            self._people[cid] = []
        table = Person.__table__  # type: ignore[attr-defined]
        for part in _parts(sorted(owner)):
            query = select(table).where(table.c.company_id.in_(part)).order_by(table.c.id)
            for row in self.session.execute(query).mappings():
                self._people[owner[row["company_id"]]].append(PersonRecord.model_validate(dict(row)))

    def _company(self, pk: int) -> CompanyRecord:
        if pk not in self._companies:
            self._load_companies({pk})
        return self._companies[pk]

    def company_by_id(self, ident: str) -> CompanyRecord | None:
        if ident not in self._ids:
            self._prefetch_ids({ident})
        pk = self._ids[ident]
        return self._company(pk) if pk is not None else None

    def company_search(
        self, name: str, accept: Callable[[CompanyRecord], bool]
    ) -> list[tuple[CompanyRecord, str, str, names.NameMatch]]:
        hits = self._names.search(name, lambda pk: accept(self._company(pk)))
        return [(self._company(pk), kind, spelling, match) for pk, kind, spelling, match in hits]

    def ranked_companies(self, name: str, limit: int) -> list[tuple[CompanyRecord, str, str, names.NameMatch]]:
        """The best registry candidates for a name, scored, whatever the threshold."""
        return [
            (self._company(pk), kind, spelling, match) for pk, kind, spelling, match in self._names.ranked(name, limit)
        ]

    def ranked_watchlist(self, name: str, limit: int) -> list[tuple[WatchlistRecord, str, str, names.NameMatch]]:
        hits = self._watch_names.ranked(name, limit)
        return [(self.watchlist[n], kind, spelling, match) for n, kind, spelling, match in hits]

    def people_of(self, company_id: str) -> list[PersonRecord]:
        # people name their company's id as written; match it raw or normalised
        if company_id not in self._people:
            self._prefetch_people({company_id})
        return self._people[company_id]

    def holdings_of(self, company_id: str) -> list[PersonRecord]:
        if company_id not in self._holdings:
            forms = sorted({company_id, normalize_id(company_id) or company_id})
            query = select(Person).where(col(Person.person_company_id).in_(forms)).order_by(col(Person.id))
            self._holdings[company_id] = [_person_record(row) for row in self.session.exec(query)]
        return self._holdings[company_id]

    def namesakes(self, person: PersonRecord) -> list[PersonRecord]:
        hits = self._person_names.matches(person.person_name, MAX_NAMESAKES)
        return self._persons_by_pk([pk for pk, *_ in hits])

    def companies_at(self, key: str) -> list[CompanyRecord]:
        query = select(Company).where(Company.address_key == key).order_by(col(Company.id)).limit(MAX_AT_ADDRESS + 1)
        rows = list(self.session.exec(query))
        for row in rows:
            assert row.id is not None
            self._companies.setdefault(row.id, company_record(row))
        return [self._companies[row.id] for row in rows if row.id is not None]

    def ranked_people(self, name: str, limit: int) -> list[tuple[PersonRecord, names.NameMatch]]:
        hits = self._person_names.ranked(name, limit)
        people = self._persons_by_pk([pk for pk, *_ in hits])
        return [(person, hit[3]) for person, hit in zip(people, hits, strict=True)]

    def _persons_by_pk(self, pks: list[int]) -> list[PersonRecord]:
        wanted = sorted({pk for pk in pks if pk not in self._persons})
        for part in _parts(wanted):
            for row in self.session.exec(select(Person).where(col(Person.id).in_(part))):
                assert row.id is not None
                self._persons[row.id] = _person_record(row)
        return [self._persons[pk] for pk in pks]


def _parts(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _person_record(row: Person) -> PersonRecord:
    return PersonRecord.model_validate(row.model_dump())


def company_record(row: Company) -> CompanyRecord:
    return CompanyRecord.model_validate(
        row.model_dump() | {"activity_codes": row.activity_codes, "aliases": row.aliases}
    )
