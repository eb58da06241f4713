"""The store: one database, opened once, written in transactions.

Writes are transactions: a registry file replaces its table whole or not at all, a chunk
of screened declarations is stored with its decisions, findings and audit entries in one
go, and a submission is stored with its decision and audit entry or not at all.
SQLite runs in WAL mode with `BEGIN IMMEDIATE` and retries "database is locked", so
officers never see it; PostgreSQL conflicts between concurrent submissions are retried.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine, delete, func, select

from ..errors import StorageError
from ..registry import CompanyRecord, PersonRecord, RegistryIndex, WatchlistRecord
from . import audit, schema
from .keys import company_key_rows
from .records import record
from .registry_db import StoredRegistry, company_record
from .tables import Company, CompanyKey, Person, RuleSetVersion, WatchlistEntry

ENV_DB = "CUSTOMS_RULES_DB"
RETRIES = 8
T = TypeVar("T")


def default_db_url() -> str:
    """`$CUSTOMS_RULES_DB`, else an SQLite file in the user's data directory."""
    if os.environ.get(ENV_DB):
        return os.environ[ENV_DB]
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{base / 'customs-rules' / 'customs-rules.db'}"


def _sqlite_connect(connection: Any, _record: Any) -> None:
    connection.isolation_level = None  # we say BEGIN ourselves (see _sqlite_begin)
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # take the write lock at the start, so two writers never deadlock on an upgrade
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Store:
    """One database: open it once, then load registries, submit and screen."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_db_url()
        try:
            if self.url.startswith("sqlite:///") and self.url != "sqlite:///:memory:":
                Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(self.url)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_connect)
                event.listen(self.engine, "begin", _sqlite_begin)
            self._retry(lambda: schema.upgrade(self.engine))
        except (SQLAlchemyError, OSError, ValueError) as exc:
            raise StorageError(
                f"cannot open the database {self.url}: {exc}".splitlines()[0],
                "check --db or CUSTOMS_RULES_DB (e.g. sqlite:///path.db or postgresql+psycopg://...)",
            ) from None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with Session(self.engine) as session:
            yield session

    def _retry(self, work: Callable[[], T]) -> T:
        """Run work, again after a short random pause when the database was busy or a
        concurrent writer took the same key first; the work re-reads what it needs."""
        for attempt in range(RETRIES):
            try:
                return work()
            except (OperationalError, IntegrityError) as exc:
                busy = isinstance(exc, OperationalError) and "locked" in str(exc).lower()
                conflict = isinstance(exc, IntegrityError) and _is_unique_violation(exc)
                if not (busy or conflict) or attempt == RETRIES - 1:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")

    def write(self, work: Callable[[Session], T]) -> T:
        """One transaction, retried on lock or unique conflicts; any failure stores nothing."""

        def attempt() -> T:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                return work(session)

        try:
            return self._retry(attempt)
        except SQLAlchemyError as exc:
            raise StorageError(f"database write failed, nothing was stored: {exc}".splitlines()[0]) from None

    # -- registry ---------------------------------------------------------------------

    def replace_companies(self, rows: Sequence[CompanyRecord], actor: str = "system", source: str = "") -> int:
        def work(session: Session) -> int:
            session.exec(delete(CompanyKey))
            session.exec(delete(Company))
            if rows:
                values = [_company_fields(r) for r in rows]
                pks = list(session.scalars(insert(Company).returning(Company.id, sort_by_parameter_order=True), values))  # type: ignore[arg-type]
                keys = [
                    k
                    for pk, r in zip(pks, rows, strict=True)
                    for k in company_key_rows(pk, r.company_id, r.name, r.aliases)
                ]
                session.execute(insert(CompanyKey), keys)
            _audit_load(session, actor, "companies", source, len(rows))
            return len(rows)

        return self.write(work)

    def replace_people(self, rows: Sequence[PersonRecord], actor: str = "system", source: str = "") -> int:
        def work(session: Session) -> int:
            session.exec(delete(Person))
            if rows:
                session.execute(insert(Person), [r.model_dump(mode="python") for r in rows])
            _audit_load(session, actor, "people", source, len(rows))
            return len(rows)

        return self.write(work)

    def replace_watchlist(self, rows: Sequence[WatchlistRecord], actor: str = "system", source: str = "") -> int:
        def work(session: Session) -> int:
            session.exec(delete(WatchlistEntry))
            if rows:
                session.execute(insert(WatchlistEntry), [r.model_dump() for r in rows])
            _audit_load(session, actor, "watchlist", source, len(rows))
            return len(rows)

        return self.write(work)

    def company_ids(self) -> set[str]:
        with self.reading() as session:
            return set(session.exec(select(Company.company_id)).all())

    def registry_counts(self) -> dict[str, int]:
        tables = (("companies", Company), ("people", Person), ("watchlist", WatchlistEntry))
        with self.reading() as session:
            return {name: int(session.exec(select(func.count()).select_from(t)).one()) for name, t in tables}

    def registry_index(self) -> RegistryIndex:
        """A snapshot of the registry in memory, for batches: read once per run."""
        with self.reading() as session:
            companies = [company_record(c) for c in session.exec(select(Company).order_by(Company.id))]  # type: ignore[arg-type]
            people = [PersonRecord.model_validate(p.model_dump()) for p in session.exec(select(Person))]
            watch = [WatchlistRecord.model_validate(w.model_dump()) for w in session.exec(select(WatchlistEntry))]
        return RegistryIndex(companies, people, watch)

    @contextmanager
    def stored_registry(self) -> Iterator[StoredRegistry]:
        """Registry lookups in the database, for a single declaration (no full load)."""
        with self.reading() as session:
            yield StoredRegistry(session)

    # -- screenings -------------------------------------------------------------------

    def record_ruleset(self, version: str, content: dict[str, str], actor: str = "system") -> None:
        def work(session: Session) -> None:
            _ensure_ruleset(session, version, content, actor)

        self.write(work)

    def record_screenings(
        self, screenings: Iterable[Any], kind: str = "screen", officer: str | None = None
    ) -> list[int | None]:
        """Store screened declarations with their decisions and audit entries, in one
        transaction. Each element has `.declaration`, `.decision` (the contract's dict)
        and `.facts`. Returns each one's new decision id (None: already stored)."""
        batch = list(screenings)
        if not batch:
            return []

        def work(session: Session) -> list[int | None]:
            ids = record(session, batch, kind, officer)
            audit.append(session, (decision_entry(s, i, kind, officer) for s, i in zip(batch, ids, strict=True) if i))
            return ids

        return self.write(work)

    def audit(self, entries: Iterable[audit.Entry]) -> None:
        self.write(lambda session: audit.append(session, entries))

    def count(self, table: type[SQLModel]) -> int:
        with self.reading() as session:
            return int(session.exec(select(func.count()).select_from(table)).one())


def _ensure_ruleset(session: Session, version: str, content: dict[str, str], actor: str) -> None:
    if session.get(RuleSetVersion, version) is None:
        session.add(RuleSetVersion(version=version, first_used_at=dt.datetime.now(dt.UTC), content=content))
        session.flush()
        audit.append(session, [audit.Entry(actor, "ruleset", version, {"files": sorted(content)})])


def decision_entry(screening: Any, decision_pk: int, kind: str, officer: str | None) -> audit.Entry:
    d = screening.decision
    details = {
        "decision_id": decision_pk,
        "kind": kind,
        "decision": d["decision"],
        "score": d["score"],
        "rules": [f["rule_id"] for f in d["findings"]],
        "ruleset_version": d["ruleset_version"],
    }
    return audit.Entry(officer or "system", "decision", d["declaration_id"], details)


def _audit_load(session: Session, actor: str, table: str, source: str, count: int) -> None:
    audit.append(session, [audit.Entry(actor, "registry_load", table, {"file": source, "rows": count})])


def _company_fields(row: CompanyRecord) -> dict[str, Any]:
    return row.model_dump() | {"activity_codes": ";".join(row.activity_codes), "aliases": ";".join(row.aliases)}


def _is_unique_violation(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text
