"""The registry looked up in the database, a few indexed queries per party.

A single submission must not load a registry of 100k companies and 300k people into
memory; this gives the same answers as the in-memory `RegistryIndex` (same keys, same
candidate order, same scoring) from the `company_key`, `company` and `person` tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlmodel import Session, func, select

from ..contract.errors import StorageError
from ..contract.models import STORED, Party
from ..contract.registry_rows import CompanyRecord, PersonRecord, Role, WatchlistRecord, split_list
from ..entities import name_text, names
from ..entities.name_search import MAX_PERSON_BLOCK, NameSearch, best_candidates
from ..entities.persons import PairMatch, PersonLink, normalize_id
from ..entities.registry import MAX_AT_ADDRESS, RegistryLookup
from .tables import AuditRecord, Company, Person, WatchlistEntry

# The same queries over company_key and person_key; the table and column names are these
# constants, never input. Values always go through bound parameters: each query has one
# `IN ({marks})`, which `driver_rows` fills with one placeholder per value.
KEY_TABLES = {"company": ("company_key", "company_pk"), "person": ("person_key", "person_pk")}
SIZES_SQL = "SELECT key, COUNT(DISTINCT {owner}) FROM {table} WHERE kind = 'block' AND key IN ({marks}) GROUP BY key"
MEMBERS_SQL = "SELECT DISTINCT key, {owner} FROM {table} WHERE kind = 'block' AND key IN ({marks})"
EXACT_SQL = (
    "SELECT key, {owner}, spelling_kind, spelling FROM {table} WHERE kind = 'exact' AND key IN ({marks}) ORDER BY id"
)
SPELLINGS_SQL = (
    "SELECT {owner}, spelling_kind, spelling FROM {table} WHERE kind = 'exact' AND {owner} IN ({marks}) ORDER BY id"
)


# per name search, per worker (a few tens of MB at most)
MAX_BLOCKS_CACHED = 100_000  # block sizes kept (a key and a number each)
MAX_MEMBERS_CACHED = 500_000  # block members kept, all blocks together
MAX_BLOCK_CACHED = 20_000  # members of one block past which it is not kept
COMPANY = Company.__table__  # type: ignore[attr-defined]
PERSON = Person.__table__  # type: ignore[attr-defined]
COMPANY_FIELDS = tuple(CompanyRecord.model_fields)
PERSON_FIELDS = tuple(PersonRecord.model_fields)
IDS_SQL = "SELECT key, MIN(company_pk) FROM company_key WHERE kind = 'id' AND key IN ({marks}) GROUP BY key"
COMPANIES_SQL = f"SELECT id, {', '.join(COMPANY_FIELDS)} FROM company WHERE id IN ({{marks}})"
PEOPLE_SQL = f"SELECT id, {', '.join(PERSON_FIELDS)} FROM person WHERE {{column}} IN ({{marks}}) ORDER BY id"
LINKS_SQL = (
    "SELECT person_pk, other_pk, other_company_key, kind, score, full_score, initials, same_birth "
    "FROM person_pair WHERE company_key IN ({marks})"
)
LINKS_BACK_SQL = (
    "SELECT person_pk, other_pk, company_key, kind, score, full_score, initials, same_birth "
    "FROM person_pair WHERE other_company_key IN ({marks})"
)
NAMED_SQL = "SELECT id FROM person WHERE person_company_id IS NULL AND person_name IN ({marks}) ORDER BY id"
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
        # a batch asks for the same blocks again and again: their sizes and (bounded) members
        self.block_sizes: dict[str, int] = {}
        self.block_members: dict[str, frozenset[Any]] = {}
        self._members_held = 0
        table, owner = KEY_TABLES[kind]
        queries = {"sizes": SIZES_SQL, "members": MEMBERS_SQL, "exact": EXACT_SQL, "spellings": SPELLINGS_SQL}
        self._sql = {name: sql.format(table=table, owner=owner, marks="{marks}") for name, sql in queries.items()}

    def exact(self, key: str) -> list[tuple[Any, str, str]]:
        if key not in self.exact_cache:
            self.prefetch_exact([key])
        return self.exact_cache[key]

    def prefetch_exact(self, keys: Iterable[str]) -> None:
        wanted = sorted({k for k in keys if k not in self.exact_cache})
        for key in wanted:
            self.exact_cache[key] = []
        for key, pk, kind, spelling in driver_rows(self.session, self._sql["exact"], wanted):
            self.exact_cache[key].append((pk, kind, spelling))

    def candidates(self, blocks: set[str]) -> list[Any]:
        self._fetch_sizes(blocks)
        wanted = {b for b in blocks if 0 < self.block_sizes[b] <= self.max_block}  # skipped blocks: not fetched
        found = best_candidates(self._fetch_members(wanted), self.max_block)
        self._prefetch_spellings(found)  # one query for the candidates' spellings, not one each
        if self.load is not None:
            self.load(set(found))  # and one for their records
        return found

    def _fetch_sizes(self, blocks: set[str]) -> None:
        wanted = sorted(b for b in blocks if b not in self.block_sizes)
        if len(self.block_sizes) + len(wanted) > MAX_BLOCKS_CACHED:
            self.block_sizes.clear()
            wanted = sorted(blocks)
        for block in wanted:
            self.block_sizes[block] = 0
        for key, size in driver_rows(self.session, self._sql["sizes"], wanted):
            self.block_sizes[key] = size

    def _fetch_members(self, blocks: set[str]) -> dict[str, frozenset[Any]]:
        """The members of these blocks. Blocks of up to MAX_BLOCK_CACHED members are kept
        (MAX_MEMBERS_CACHED members in all); a bigger one (a common word of company
        names) is read again each time rather than crowd the others out."""
        found = {b: self.block_members[b] for b in blocks if b in self.block_members}
        wanted = sorted(b for b in blocks if b not in found)
        fetched: dict[str, set[Any]] = {block: set() for block in wanted}
        for key, owner in driver_rows(self.session, self._sql["members"], wanted):
            fetched[key].add(owner)
        for block, members in fetched.items():
            found[block] = frozenset(members)
            if len(members) > MAX_BLOCK_CACHED:
                continue
            if self._members_held + len(members) > MAX_MEMBERS_CACHED:
                self.block_members.clear()
                self._members_held = 0
            self.block_members[block] = found[block]
            self._members_held += len(members)
        return found

    def forget_blocks(self) -> None:
        self.block_sizes.clear()
        self.block_members.clear()
        self._members_held = 0

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
        for record, kind, spelling in driver_rows(self.session, self._sql["spellings"], wanted):
            self.spelling_cache[record].append((kind, spelling))


class StoredRegistry(RegistryLookup):
    """Registry lookups against the database, cached, and fetched in bulk per batch."""

    def __init__(self, session: Session, threshold: float = names.DEFAULT_THRESHOLD) -> None:
        super().__init__(_watchlist(session), threshold)
        self.session = session
        self._generation = _generation(session)
        self._names = StoredNames(session, threshold, load=self._load_companies)
        self._companies: dict[int, CompanyRecord] = {}
        self._ids: dict[str, int | None] = {}
        self._people: dict[str, list[PersonRecord]] = {}
        self._person_names = StoredNames(session, threshold, "person")
        self._persons: dict[int, PersonRecord] = {}
        self._holdings: dict[str, list[PersonRecord]] = {}
        self._person_links: dict[str, list[PersonLink]] = {}

    def prefetch(self, parties: Iterable[Party]) -> None:
        """Fetch what a block of parties needs in a few queries instead of many.

        A block reads one snapshot of the registry: its read begins here and ends at
        `end_block`. When a registry load has landed since the last block, everything
        cached is dropped first: records are cached by row ids, which a load renumbers."""
        self.end_block()
        if (generation := _generation(self.session)) != self._generation:
            self._generation = generation
            self.forget(everything=True)
        parties = list(parties)
        if len(self._companies) > CACHE_COMPANIES:
            self.forget()  # keeps a long batch's memory bounded; what is needed comes back
        idents = {i for p in parties if (i := normalize_id(p.id))}
        keys = {" ".join(name_text.tokens(p.name)) for p in parties}
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

    def end_block(self) -> None:
        """End the block's read. A batch's workers must not hold reads open while they
        store: SQLite can only restart its write-ahead log when no read is open."""
        self.session.rollback()

    def forget(self, everything: bool = False) -> None:
        """Drop the cached records and answers (bounded memory); with `everything`, the
        name blocks, namesakes and watchlist too (the registry changed)."""
        if everything:
            self._names.forget_blocks()
            self._person_names.forget_blocks()
            self.set_watchlist(_watchlist(self.session))
        self._companies.clear()
        self._ids.clear()
        self._people.clear()
        for search in (self._names, self._person_names):
            search.exact_cache.clear()
            search.spelling_cache.clear()
        self._persons.clear()
        self._holdings.clear()
        self._person_links.clear()
        if everything:
            self.clear_caches()  # answers and namesakes
        else:
            self.forget_answers()  # namesakes are kept: names to keys, small

    def _prefetch_ids(self, idents: set[str]) -> None:
        wanted = sorted(i for i in idents if i not in self._ids)
        for ident in wanted:
            self._ids[ident] = None
        for key, pk in driver_rows(self.session, IDS_SQL, wanted):
            self._ids[key] = pk

    def _load_companies(self, pks: set[int]) -> None:
        wanted = sorted(pk for pk in pks if pk not in self._companies)
        for pk, *values in driver_rows(self.session, COMPANIES_SQL, wanted):
            self._companies[pk] = stored_company(dict(zip(COMPANY_FIELDS, values, strict=True)))

    def _prefetch_people(self, company_ids: set[str]) -> None:
        forms = {cid: {cid, normalize_id(cid) or cid} for cid in company_ids if cid not in self._people}
        owner = {form: cid for cid, group in forms.items() for form in group}
        for cid in forms:
            self._people[cid] = []
        for _, *values in driver_rows(self.session, PEOPLE_SQL.format(column="company_id", marks="{marks}"),
                                      sorted(owner)):  # fmt: skip
            person = stored_person(dict(zip(PERSON_FIELDS, values, strict=True)))
            self._people[owner[person.company_id]].append(person)

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
            sql = PEOPLE_SQL.format(column="person_company_id", marks="{marks}")
            self._holdings[company_id] = [
                stored_person(dict(zip(PERSON_FIELDS, values, strict=True)))
                for _, *values in driver_rows(self.session, sql, forms)
            ]
        return self._holdings[company_id]

    def person_links(self, company_id: str) -> list[PersonLink]:
        if company_id not in self._person_links:
            rows = list(driver_rows(self.session, LINKS_SQL, [company_id]))
            rows += [(o, p, ck, *rest) for p, o, ck, *rest in driver_rows(self.session, LINKS_BACK_SQL, [company_id])]
            rows.sort(key=lambda r: (r[0], r[1]))
            people = self._persons_by_pk([pk for r in rows for pk in r[:2]])
            self._person_links[company_id] = [
                PersonLink(people[2 * n], people[2 * n + 1], other_company,
                           PairMatch(kind, score, full_score, bool(initials), bool(same_birth)))
                for n, (_, _, other_company, kind, score, full_score, initials, same_birth) in enumerate(rows)
            ]  # fmt: skip
        return self._person_links[company_id]

    def companies_at(self, key: str) -> list[CompanyRecord]:
        return self.first_at(key, MAX_AT_ADDRESS + 1)

    def first_at(self, key: str, limit: int) -> list[CompanyRecord]:
        query = select(COMPANY).where(COMPANY.c.address_key == key).order_by(COMPANY.c.id).limit(limit)
        rows = list(self.session.execute(query).mappings())
        for row in rows:
            if row["id"] not in self._companies:
                self._companies[row["id"]] = stored_company(row)
        return [self._companies[row["id"]] for row in rows]

    def count_at(self, key: str) -> int:
        query = select(func.count()).select_from(COMPANY).where(COMPANY.c.address_key == key)
        return int(self.session.execute(query).scalar_one())

    def ranked_people(self, name: str, limit: int) -> list[tuple[PersonRecord, names.NameMatch]]:
        """The people whose names come closest: person_key holds each name once, under its
        first row; every row of the name is shown, in load order."""
        hits = self._person_names.ranked(name, limit)
        found = []
        for spelling, match in [(hit[2], hit[3]) for hit in hits]:
            pks = [pk for (pk,) in driver_rows(self.session, NAMED_SQL, [spelling])]
            found += [(person, match) for person in self._persons_by_pk(pks)]
        return found[:limit]

    def _persons_by_pk(self, pks: list[int]) -> list[PersonRecord]:
        wanted = sorted({pk for pk in pks if pk not in self._persons})
        for pk, *values in driver_rows(self.session, PEOPLE_SQL.format(column="id", marks="{marks}"), wanted):
            self._persons[pk] = stored_person(dict(zip(PERSON_FIELDS, values, strict=True)))
        return [self._persons[pk] for pk in pks]


def _watchlist(session: Session) -> list[WatchlistRecord]:
    entries = session.exec(select(WatchlistEntry))
    return [WatchlistRecord.model_validate(w.model_dump(), context=STORED) for w in entries]


def _generation(session: Session) -> int | None:
    """The audit entry of the latest registry load: each load writes one in its own
    transaction, so a new one means the registry changed."""
    query = select(func.max(AuditRecord.id)).where(AuditRecord.action == "registry_load")
    return session.exec(query).one()


def _parts(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# Rows were validated by `registry load` before they were stored; a batch builds
# hundreds of thousands of records from them, so they are not validated a second time
# (a test checks that both ways give equal records).

R = TypeVar("R", bound=BaseModel)


def trusted(model: type[R], fields: dict[str, Any]) -> R:
    """A record from values that were validated once already, every field given: what
    `model_construct` makes, at a tenth of its cost (it looks every field up again)."""
    record = model.__new__(model)
    object.__setattr__(record, "__dict__", fields)
    object.__setattr__(record, "__pydantic_fields_set__", set(fields))
    object.__setattr__(record, "__pydantic_extra__", None)  # registry records ignore extras
    object.__setattr__(record, "__pydantic_private__", None)
    return record


def stored_company(row: Mapping[Any, Any]) -> CompanyRecord:
    """The record of a `company` row, built without validating it again."""
    fields = {name: row[name] for name in COMPANY_FIELDS}
    fields["registered_on"] = stored_date(row["registered_on"])
    fields["activity_codes"] = split_list(row["activity_codes"])
    fields["aliases"] = split_list(row["aliases"])
    return trusted(CompanyRecord, fields)


def stored_person(row: Mapping[Any, Any]) -> PersonRecord:
    """The record of a `person` row, built without validating it again."""
    fields = {name: row[name] for name in PERSON_FIELDS}
    fields["role"] = Role(row["role"])
    fields["birth_date"] = stored_date(row["birth_date"])
    return trusted(PersonRecord, fields)


def stored_date(value: Any) -> dt.date | None:
    """A DATE column as the driver gives it: SQLite's is ISO text, PostgreSQL's a date."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def driver_rows(session: Session, sql: str, values: list[Any]) -> Iterator[Any]:
    """The rows of `sql`, whose one `IN ({marks})` takes `values` as bound parameters (in
    parts), straight from the database driver's cursor, in the session's transaction:
    without SQLAlchemy's per-row processing a row costs a fifth, and a batch reads
    millions. Values are never part of the SQL."""
    connection = session.connection()  # begins the session's transaction (its snapshot)
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    cursor = connection.connection.cursor()
    try:
        for part in _parts(values):
            cursor.execute(sql.format(marks=", ".join([mark] * len(part))), tuple(part))
            yield from cursor.fetchall()
    except connection.dialect.loaded_dbapi.Error as exc:  # the driver's own, not SQLAlchemy's
        raise StorageError(f"registry look-up failed: {exc}".splitlines()[0]) from None
    finally:
        cursor.close()


def company_record(row: Company) -> CompanyRecord:
    return stored_company(row.model_dump())
