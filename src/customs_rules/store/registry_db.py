"""The registry looked up in the database, a few reads per party.

A look-up must not load a registry of 100k companies and 300k people as records; this
gives the same answers as the in-memory `RegistryIndex` (same keys, same candidate order,
same scoring): companies and people from the `company` and `person` tables, by indexed
queries, and the name keys and person pairs from the registry snapshot (their only
copy since migration 0014: `store.registry_snapshot`), read in one transaction with them.
Company names are searched in the snapshot's sorted `names` and `blocks` parts; people's
names by the keys of the snapshot's people, computed when first searched (each distinct
name once, as a load computed them for the person_key table before 0014: ~0.3 s at 200k
people, for `registry match` only).
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
from ..entities.name_search import MAX_PERSON_BLOCK, NameSearch, SpellingIndex, best_candidates
from ..entities.persons import PairMatch, PersonLink, normalize_id
from ..entities.registry import MAX_AT_ADDRESS, RegistryLookup
from .tables import AuditRecord, Company, Person, WatchlistEntry

COMPANY = Company.__table__  # type: ignore[attr-defined]
PERSON = Person.__table__  # type: ignore[attr-defined]
COMPANY_FIELDS = tuple(CompanyRecord.model_fields)
PERSON_FIELDS = tuple(PersonRecord.model_fields)
# table and column names are these constants; values go through bound parameters (driver_rows)
COMPANIES_SQL = f"SELECT id, {', '.join(COMPANY_FIELDS)} FROM company WHERE id IN ({{marks}})"
PEOPLE_SQL = f"SELECT id, {', '.join(PERSON_FIELDS)} FROM person WHERE {{column}} IN ({{marks}}) ORDER BY id"
NAMED_SQL = "SELECT id FROM person WHERE person_company_id IS NULL AND person_name IN ({marks}) ORDER BY id"
LINK_FIELDS = ("row", "other_row", "kind", "score", "full_score", "initials", "same_birth")
CACHE_COMPANIES = 10_000  # companies kept between blocks before the caches start afresh (memory: see RESULTS.md)


class StoredNames(NameSearch):
    """Spellings of the snapshot (`kind` "company": its names and blocks; "person": the
    keys of its people's distinct names), searched by `SpellingIndex`, built when first
    searched from `frames` (a function giving the index's names and blocks frames)."""

    def __init__(
        self, frames: Callable[[], dict[str, Any]], threshold: float, kind: str = "company",
        load: Callable[[set[Any]], None] | None = None,
    ) -> None:  # fmt: skip
        if kind == "person":
            super().__init__(threshold, names.person_blocking_keys, MAX_PERSON_BLOCK)
        else:
            super().__init__(threshold)
        self.frames = frames
        self.load = load  # fetches the records of candidate keys, in bulk
        self._index: SpellingIndex | None = None

    def index(self) -> SpellingIndex:
        if self._index is None:
            from ..entities.compile import key_hash

            found = self.frames()
            self._index = SpellingIndex(found["names"], found["blocks"], key_hash)
        return self._index

    def forget(self) -> None:
        """Read the spellings again when next searched (the registry changed)."""
        self._index = None

    def exact(self, key: str) -> list[tuple[Any, str, str]]:
        return self.index().exact(key)

    def candidates(self, blocks: set[str]) -> list[Any]:
        index = self.index()
        found = best_candidates({block: index.block(block) for block in blocks}, self.max_block)
        if self.load is not None:
            self.load(set(found))  # one query for their records
        return found

    def spellings(self, record: Any) -> list[tuple[str, str]]:
        return [(kind, spelling) for _, kind, spelling in self.index().spellings(record)]


class StoredRegistry(RegistryLookup):
    """Registry lookups against the database and its snapshot, cached, fetched in bulk per batch."""

    def __init__(self, session: Session, threshold: float = names.DEFAULT_THRESHOLD) -> None:
        from .snapshot_lookup import SnapshotLookup

        super().__init__(_watchlist(session), threshold)
        self.session = session
        self._generation = _generation(session)
        self._snapshot = SnapshotLookup(session)
        self._names = StoredNames(self._company_names, threshold, load=self._load_companies)
        self._companies: dict[int, CompanyRecord] = {}
        self._ids: dict[str, int | None] = {}
        self._people: dict[str, list[PersonRecord]] = {}
        self._person_names = StoredNames(self._people_names, threshold, "person")
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
        # only this block's parties: the caches hold every earlier block's too
        pks = {pk for i in idents if (pk := self._ids[i])}
        pks |= {hit[0] for key in keys for hit in self._names.exact(key)}
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
            from .snapshot_lookup import SnapshotLookup

            self._snapshot = SnapshotLookup(self.session)
            self._names.forget()
            self._person_names.forget()
            self.set_watchlist(_watchlist(self.session))
        self._companies.clear()
        self._ids.clear()
        self._people.clear()
        self._persons.clear()
        self._holdings.clear()
        self._person_links.clear()
        if everything:
            self.clear_caches()  # answers and namesakes
        else:
            self.forget_answers()  # namesakes are kept: names to keys, small

    def _company_names(self) -> dict[str, Any]:
        """The snapshot's sorted company keys (names, blocks), read whole."""
        return {part: self._snapshot.frame(part) for part in ("names", "blocks")}

    def _people_names(self) -> dict[str, Any]:
        """Each distinct natural-person name's keys, owned by its first row (as the
        person_key table held them before migration 0014), sorted as the company keys."""
        import polars as pl

        from ..entities import compile as compiled

        people = self._snapshot.frame("people", ("pk", "person_name", "person_company_id"))
        natural = people.filter(pl.col("person_company_id").is_null())
        first = natural.group_by("person_name", maintain_order=True).agg(pl.col("pk").first())
        return compiled.name_frames(compiled.person_keys(first))

    def _prefetch_ids(self, idents: set[str]) -> None:
        wanted = sorted(i for i in idents if i not in self._ids)
        for ident in wanted:
            self._ids[ident] = None
        if wanted:
            keys, pks = self._snapshot.column("companies", "key"), self._snapshot.column("companies", "pk")
            known = keys.is_in(wanted)
            for key, pk in zip(keys.filter(known).to_list(), pks.filter(known).to_list(), strict=True):
                first = self._ids[key]
                self._ids[key] = pk if first is None else min(first, pk)

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
            there = self._snapshot.where("pairs", "company_key", [company_id])
            back = self._snapshot.where("pairs", "other_company_key", [company_id])
            rows = list(there.select("row", "other_row", "other_company_key", *LINK_FIELDS[2:]).rows())
            rows += list(back.select("other_row", "row", "company_key", *LINK_FIELDS[2:]).rows())
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
