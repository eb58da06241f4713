"""The registry side of the store: registry files replace their tables whole, with their
audit entry, and the registry is read back as records, columns or look-ups by key."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, delete, func, select

from ..contract.models import STORED
from ..contract.registry_rows import CompanyRecord, PersonRecord, WatchlistRecord
from ..entities.addresses import address_key
from ..entities.registry import RegistryIndex
from . import audit
from .registry_db import StoredRegistry, company_record
from .tables import AuditRecord, Company, Person, WatchlistEntry

if TYPE_CHECKING:
    from .registry_part import RegistryPart

T = TypeVar("T")


class RegistryStore:
    """The registry's methods of `store.Store`, which opens the engines and writes."""

    lookup_engine: Engine
    if TYPE_CHECKING:

        def reading(self) -> AbstractContextManager[Session]: ...

        def write(self, work: Callable[[Session], T]) -> T: ...

    def replace_companies(
        self, rows: Sequence[CompanyRecord] | Any, actor: str = "system", source: str = "",
        compile_links: bool = True,
    ) -> int:  # fmt: skip
        """Replace the companies (records, or `registry_files` columns) and their parts of the
        snapshot, in one transaction with the audit entry; `compile_links` recomputes the
        pairs and edges (a load that replaces the people next leaves that to the people's
        transaction)."""
        import polars as pl  # not for a cold submit: imported when a registry is loaded

        from ..entities.registry_files import company_frame
        from . import registry_load

        frame = rows if isinstance(rows, pl.DataFrame) else company_frame(rows)

        def work(session: Session) -> int:
            seal = registry_load.write_companies(session, frame)
            if compile_links:
                registry_load.write_compiled(session)
            _audit_load(session, actor, "companies", source, len(frame), seal)
            return len(frame)

        return self.write(work)

    def replace_people(
        self, rows: Sequence[PersonRecord] | Any, actor: str = "system", source: str = "",
        compile_links: bool = True,
    ) -> int:  # fmt: skip
        """Replace the people (records or columns) and their part, then the pairs and edges."""
        import polars as pl

        from ..entities.registry_files import person_frame
        from . import registry_load

        frame = rows if isinstance(rows, pl.DataFrame) else person_frame(rows)

        def work(session: Session) -> int:
            seal = registry_load.write_people(session, frame, compile_links)
            _audit_load(session, actor, "people", source, len(frame), seal)
            return len(frame)

        return self.write(work)

    def registry_frames(self) -> dict[str, Any]:
        """The registry as columns (polars frames), compiled parts included, read in one
        transaction: companies, names, blocks, people, pairs, edges: the snapshot stored at
        load (`store.registry_snapshot`)."""
        from . import registry_snapshot

        with self.reading() as session:
            return registry_snapshot.read_frames(session)

    def extract_registry(self, directory: Path) -> bool:
        """Write the registry snapshot into `directory` for worker processes to map
        (`registry_snapshot.extract`); True once written."""
        from . import registry_snapshot

        with self.reading() as session:
            return registry_snapshot.extract(session, directory)

    def watchlist_records(self) -> list[WatchlistRecord]:
        with self.reading() as session:
            entries = session.exec(select(WatchlistEntry))
            return [WatchlistRecord.model_validate(w.model_dump(), context=STORED) for w in entries]

    def replace_watchlist(self, rows: Sequence[WatchlistRecord], actor: str = "system", source: str = "") -> int:
        return self._replace(WatchlistEntry, "watchlist", [r.model_dump() for r in rows], actor, source)

    def _replace(self, table: Any, name: str, rows: list[dict[str, Any]], actor: str, source: str) -> int:
        """A registry table replaced whole, with its audit entry, in one transaction."""

        def work(session: Session) -> int:
            session.exec(delete(table))
            if rows:
                session.execute(insert(table), rows)
            _audit_load(session, actor, name, source, len(rows))
            return len(rows)

        return self.write(work)

    def company_ids(self) -> set[str]:
        """Every company id, read through the driver (a load's check of 100k ids)."""
        with self.reading() as session:
            cursor = session.connection().connection.cursor()
            try:
                cursor.execute("SELECT company_id FROM company")
                return {row[0] for row in cursor.fetchall()}
            finally:
                cursor.close()

    def registry_counts(self) -> dict[str, int]:
        tables = (("companies", Company), ("people", Person), ("watchlist", WatchlistEntry))
        with self.reading() as session:
            return {name: int(session.exec(select(func.count()).select_from(t)).one()) for name, t in tables}

    def registry_filled(self) -> dict[str, bool]:
        """Whether each registry table holds any row (cheaper than counting 300k people
        before each submission)."""
        tables = (("companies", Company), ("people", Person), ("watchlist", WatchlistEntry))
        with self.reading() as session:
            return {name: session.exec(select(t.id).limit(1)).first() is not None for name, t in tables}

    def registry_loads(self) -> dict[str, dt.datetime]:
        """When each registry table (companies, people, watchlist) was last loaded, in
        UTC, from the audit log's `registry_load` entries."""
        query = (
            select(AuditRecord.subject, func.max(AuditRecord.at))
            .where(AuditRecord.action == "registry_load")
            .group_by(col(AuditRecord.subject))
        )
        with self.reading() as session:
            return {str(table): at.replace(tzinfo=dt.UTC) for table, at in session.exec(query) if at is not None}

    def registry_index(self) -> RegistryIndex:
        """A snapshot of the registry in memory, for batches: read once per run."""
        with self.reading() as session:
            companies = [company_record(c) for c in session.exec(select(Company).order_by(Company.id))]  # type: ignore[arg-type]
            # in load order, as the database back-end reads them: both rank namesakes alike
            rows = session.exec(select(Person).order_by(col(Person.id)))
            people = [PersonRecord.model_validate(p.model_dump(), context=STORED) for p in rows]
            entries = session.exec(select(WatchlistEntry))
            watch = [WatchlistRecord.model_validate(w.model_dump(), context=STORED) for w in entries]
        return RegistryIndex(companies, people, watch)

    @contextmanager
    def stored_registry(self) -> Iterator[StoredRegistry]:
        """Registry lookups in the database (no full load), for a declaration or a batch."""
        with Session(self.lookup_engine) as session:
            yield StoredRegistry(session)

    @contextmanager
    def registry_part(self) -> Iterator[RegistryPart]:
        """Reads of the compiled registry by key, all in one snapshot: what a few parties
        can reach (`entities.reach`), without reading the whole registry."""
        from .registry_part import RegistryPart

        with Session(self.lookup_engine) as session:
            yield RegistryPart(session)


def _audit_load(session: Session, actor: str, table: str, source: str, count: int, seal: str | None = None) -> None:
    """The load's audit entry: `seal`, that of the rows as the load stored them (else read back)."""
    session.flush()
    columns = audit.REGISTRY_TABLES[table][1]
    seal = seal if seal is not None else audit.registry_seal(session, table, columns)
    details = {"file": source, "rows": count, "columns": columns, "seal": seal}
    if table in audit.SNAPSHOT_TABLES:  # what screening reads of them, as stored in this transaction
        from .registry_snapshot import digest

        details["snapshot"] = digest(session)
    audit.append(session, [audit.Entry(actor, "registry_load", table, details)])


def _company_fields(row: CompanyRecord) -> dict[str, Any]:
    joined = {"activity_codes": ";".join(row.activity_codes), "aliases": ";".join(row.aliases)}
    return row.model_dump() | joined | {"address_key": address_key(row.address)}
