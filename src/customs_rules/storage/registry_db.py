"""The registry looked up in the database, a few indexed queries per party.

A single submission must not load a registry of 100k companies and 300k people into
memory; this gives the same answers as the in-memory `RegistryIndex` (same keys, same
candidate order, same scoring) from the `company_key`, `company` and `person` tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from .. import names
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
).bindparams()


class StoredNames(NameSearch):
    def __init__(self, session: Session, threshold: float) -> None:
        super().__init__(threshold)
        self.session = session

    def exact(self, key: str) -> list[tuple[Any, str, str]]:
        query = text(
            "SELECT company_pk, spelling_kind, spelling FROM company_key "
            "WHERE kind = 'exact' AND key = :key ORDER BY id"
        )
        return [(row[0], row[1], row[2]) for row in self.session.execute(query, {"key": key})]

    def candidates(self, blocks: set[str]) -> list[Any]:
        if not blocks:
            return []
        statement = CANDIDATES_SQL.bindparams(_expanding("blocks"))
        rows = self.session.execute(statement, {"blocks": sorted(blocks), "limit": MAX_CANDIDATES})
        return [row[0] for row in rows]

    def spellings(self, record: Any) -> list[tuple[str, str]]:
        query = text(
            "SELECT spelling_kind, spelling FROM company_key WHERE kind = 'exact' AND company_pk = :pk ORDER BY id"
        )
        return [(row[0], row[1]) for row in self.session.execute(query, {"pk": record})]


def _expanding(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name, expanding=True)


class StoredRegistry(RegistryLookup):
    """Registry lookups against the database, for one declaration at a time."""

    def __init__(self, session: Session, threshold: float = names.DEFAULT_THRESHOLD) -> None:
        watch = [WatchlistRecord.model_validate(w.model_dump()) for w in session.exec(select(WatchlistEntry))]
        super().__init__(watch, threshold)
        self.session = session
        self._names = StoredNames(session, threshold)
        self._companies: dict[int, CompanyRecord] = {}

    def _company(self, pk: int) -> CompanyRecord:
        if pk not in self._companies:
            row = self.session.get(Company, pk)
            assert row is not None
            self._companies[pk] = company_record(row)
        return self._companies[pk]

    def company_by_id(self, ident: str) -> CompanyRecord | None:
        query = text("SELECT company_pk FROM company_key WHERE kind = 'id' AND key = :key ORDER BY id LIMIT 1")
        pk = self.session.execute(query, {"key": ident}).scalar()
        return self._company(pk) if pk is not None else None

    def company_search(
        self, name: str, accept: Callable[[CompanyRecord], bool]
    ) -> list[tuple[CompanyRecord, str, str, names.NameMatch]]:
        hits = self._names.search(name, lambda pk: accept(self._company(pk)))
        return [(self._company(pk), kind, spelling, match) for pk, kind, spelling, match in hits]

    def people_of(self, company_id: str) -> list[PersonRecord]:
        # people name their company's id as written; match it raw or normalised
        forms = sorted({company_id, normalize_id(company_id) or company_id})
        rows = self.session.exec(select(Person).where(col(Person.company_id).in_(forms)).order_by(col(Person.id)))
        return [PersonRecord.model_validate(p.model_dump()) for p in rows]


def company_record(row: Company) -> CompanyRecord:
    return CompanyRecord.model_validate(
        row.model_dump() | {"activity_codes": row.activity_codes, "aliases": row.aliases}
    )
