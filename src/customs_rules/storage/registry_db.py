"""The registry looked up in the database, a few indexed queries per party.

A single submission must not load a registry of 100k companies and 300k people into
memory; this gives the same answers as the in-memory `RegistryIndex` (same keys, same
candidate order, same scoring) from the `company_key`, `company` and `person` tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import bindparam, text
from sqlmodel import Session, select

from .. import names
from ..models import Party
from ..registry import (
    MAX_CANDIDATES,
    CompanyRecord,
    NameSearch,
    PersonRecord,
    RegistryLookup,
    WatchlistRecord,
    normalize_id,
)
from .tables import Company, Person, WatchlistEntry

CANDIDATES_SQL = text(
    """
    SELECT k.company_pk, SUM(1.0 / s.n) AS weight
    FROM company_key k
    JOIN (SELECT key, COUNT(*) AS n FROM company_key WHERE kind = 'block' AND key IN :blocks GROUP BY key) s
      ON s.key = k.key
    WHERE k.kind = 'block' AND k.key IN :blocks
    GROUP BY k.company_pk
    ORDER BY weight DESC, k.company_pk
    LIMIT :limit
    """
)


CACHE_COMPANIES = 20_000  # companies kept between blocks before the caches start afresh


class StoredNames(NameSearch):
    def __init__(self, session: Session, threshold: float, load: Callable[[set[int]], None]) -> None:
        super().__init__(threshold)
        self.session = session
        self.load = load  # fetches the companies of candidate keys, in bulk
        self.exact_cache: dict[str, list[tuple[Any, str, str]]] = {}
        self.spellings_cache: dict[int, list[tuple[str, str]]] = {}

    def exact(self, key: str) -> list[tuple[Any, str, str]]:
        if key not in self.exact_cache:
            self.prefetch_exact([key])
        return self.exact_cache[key]

    def prefetch_exact(self, keys: Iterable[str]) -> None:
        wanted = sorted({k for k in keys if k not in self.exact_cache})
        for key in wanted:
            self.exact_cache[key] = []
        for part in _parts(wanted):
            query = text(
                "SELECT key, company_pk, spelling_kind, spelling FROM company_key "
                "WHERE kind = 'exact' AND key IN :keys ORDER BY id"
            ).bindparams(bindparam("keys", expanding=True))
            for key, pk, kind, spelling in self.session.execute(query, {"keys": part}):
                self.exact_cache[key].append((pk, kind, spelling))

    def candidates(self, blocks: set[str]) -> list[Any]:
        if not blocks:
            return []
        statement = CANDIDATES_SQL.bindparams(bindparam("blocks", expanding=True))
        rows = self.session.execute(statement, {"blocks": sorted(blocks), "limit": MAX_CANDIDATES})
        found = [row[0] for row in rows]
        # two queries for all the candidates, not two per candidate
        self.load(set(found))
        self._fetch_spellings(found)
        return found

    def _fetch_spellings(self, pks: list[int]) -> None:
        wanted = sorted({pk for pk in pks if pk not in self.spellings_cache})
        for pk in wanted:
            self.spellings_cache[pk] = []
        if wanted:
            query = text(
                "SELECT company_pk, spelling_kind, spelling FROM company_key "
                "WHERE kind = 'exact' AND company_pk IN :pks ORDER BY id"
            ).bindparams(bindparam("pks", expanding=True))
            for pk, kind, spelling in self.session.execute(query, {"pks": wanted}):
                self.spellings_cache[pk].append((kind, spelling))

    def spellings(self, record: Any) -> list[tuple[str, str]]:
        if record not in self.spellings_cache:
            self._fetch_spellings([record])
        return self.spellings_cache[record]


class StoredRegistry(RegistryLookup):
    """Registry lookups against the database, cached, and fetched in bulk per batch."""

    def __init__(self, session: Session, threshold: float = names.DEFAULT_THRESHOLD) -> None:
        watch = [WatchlistRecord.model_validate(w.model_dump()) for w in session.exec(select(WatchlistEntry))]
        super().__init__(watch, threshold)
        self.session = session
        self._names = StoredNames(session, threshold, self._load_companies)
        self._companies: dict[int, CompanyRecord] = {}
        self._ids: dict[str, int | None] = {}
        self._people: dict[str, list[PersonRecord]] = {}

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
        self._load_companies(pks)
        self._prefetch_people({self._companies[pk].company_id for pk in pks if pk in self._companies})

    def forget(self) -> None:
        self._companies.clear()
        self._ids.clear()
        self._people.clear()
        self._names.exact_cache.clear()
        self._names.spellings_cache.clear()
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


def _parts(values: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def company_record(row: Company) -> CompanyRecord:
    return CompanyRecord.model_validate(
        row.model_dump() | {"activity_codes": row.activity_codes, "aliases": row.aliases}
    )
