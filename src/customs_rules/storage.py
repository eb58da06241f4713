"""Storage: the only module that talks SQL (SQLModel over SQLite or PostgreSQL).

Writes are transactions: a registry file replaces its table whole or not at all, and a
chunk of screened declarations is stored with its decisions and findings in one go.
Re-storing a declaration with the same id and content is idempotent; different content
under the same id is kept as a new revision beside the old one, never over it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint, event, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.types import JSON
from sqlmodel import Field, Session, SQLModel, col, create_engine, delete, func, select

from .errors import StorageError
from .registry import CompanyRecord, PersonRecord, RegistryIndex, WatchlistRecord

ENV_DB = "CUSTOMS_RULES_DB"


def default_db_url() -> str:
    """`$CUSTOMS_RULES_DB`, else an SQLite file in the user's data directory."""
    if os.environ.get(ENV_DB):
        return os.environ[ENV_DB]
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{base / 'customs-rules' / 'customs-rules.db'}"


class CompanyBase(SQLModel):
    company_id: str = Field(index=True)
    name: str
    country: str | None = None
    registered_on: dt.date | None = None
    activity_codes: str = ""
    aliases: str = ""


class Company(CompanyBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class PersonBase(SQLModel):
    company_id: str = Field(index=True)
    person_name: str
    role: str
    person_id: str | None = None
    birth_date: dt.date | None = None


class Person(PersonBase, table=True):
    id: int | None = Field(default=None, primary_key=True)


class WatchlistBase(SQLModel):
    name: str
    company_id: str | None = None
    country: str | None = None
    reason: str
    source: str | None = None
    listed_on: dt.date | None = None


class WatchlistEntry(WatchlistBase, table=True):
    __tablename__ = "watchlist"
    id: int | None = Field(default=None, primary_key=True)


class RuleSetVersion(SQLModel, table=True):
    __tablename__ = "ruleset_version"
    version: str = Field(primary_key=True)
    first_used_at: dt.datetime
    content: dict[str, str] = Field(sa_column=Column(JSON, nullable=False))


class DeclarationRecord(SQLModel, table=True):
    __tablename__ = "declaration"
    __table_args__ = (UniqueConstraint("declaration_id", "revision"),)
    id: int | None = Field(default=None, primary_key=True)
    declaration_id: str = Field(index=True)
    revision: int = 1
    content_hash: str
    date: dt.date
    procedure: str
    exporter_name: str
    consignee_name: str
    dispatch_country: str
    destination_country: str
    received_at: dt.datetime
    content: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class ItemRecord(SQLModel, table=True):
    __tablename__ = "item"
    id: int | None = Field(default=None, primary_key=True)
    declaration_pk: int = Field(foreign_key="declaration.id", index=True)
    line: int
    hs_code: str
    description: str | None = None
    value: float | None = None
    currency: str | None = None
    origin_country: str | None = None


class DecisionRecord(SQLModel, table=True):
    __tablename__ = "decision"
    id: int | None = Field(default=None, primary_key=True)
    declaration_pk: int = Field(foreign_key="declaration.id", index=True)
    declaration_id: str = Field(index=True)
    decision: str = Field(index=True)
    score: float
    ruleset_version: str = Field(foreign_key="ruleset_version.version")
    screened_at: dt.datetime
    facts: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))


class FindingRecord(SQLModel, table=True):
    __tablename__ = "finding"
    __table_args__ = (Index("ix_finding_rule", "rule_id"),)
    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decision.id", index=True)
    rule_id: str
    title: str
    action: str
    score: float
    item_line: int | None = None
    is_test: bool = False
    evidence: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


def content_hash(content: dict[str, Any]) -> str:
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class Store:
    """One database: open it once, then load registries and record screenings."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_db_url()
        try:
            if self.url.startswith("sqlite:///") and self.url != "sqlite:///:memory:":
                Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(self.url)
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_pragmas)
            SQLModel.metadata.create_all(self.engine)
        except (SQLAlchemyError, OSError, ValueError) as exc:
            raise StorageError(
                f"cannot open the database {self.url}: {exc}".splitlines()[0],
                "check --db or CUSTOMS_RULES_DB (e.g. sqlite:///path.db or postgresql+psycopg://...)",
            ) from None

    def close(self) -> None:
        self.engine.dispose()

    def _write(self, work: Any) -> Any:
        try:
            with Session(self.engine) as session, session.begin():
                return work(session)
        except SQLAlchemyError as exc:
            raise StorageError(f"database write failed, nothing was stored: {exc}".splitlines()[0]) from None

    def replace_companies(self, rows: Sequence[CompanyRecord]) -> int:
        def work(session: Session) -> int:
            session.exec(delete(Company))
            session.add_all(Company.model_validate(_company_fields(r)) for r in rows)
            return len(rows)

        return int(self._write(work))

    def replace_people(self, rows: Sequence[PersonRecord]) -> int:
        def work(session: Session) -> int:
            session.exec(delete(Person))
            session.add_all(Person.model_validate(r.model_dump(mode="python")) for r in rows)
            return len(rows)

        return int(self._write(work))

    def replace_watchlist(self, rows: Sequence[WatchlistRecord]) -> int:
        def work(session: Session) -> int:
            session.exec(delete(WatchlistEntry))
            session.add_all(WatchlistEntry.model_validate(r.model_dump()) for r in rows)
            return len(rows)

        return int(self._write(work))

    def company_ids(self) -> set[str]:
        with Session(self.engine) as session:
            return set(session.exec(select(Company.company_id)).all())

    def registry_counts(self) -> dict[str, int]:
        with Session(self.engine) as session:
            return {
                name: int(session.exec(select(func.count()).select_from(table)).one())
                for name, table in (("companies", Company), ("people", Person), ("watchlist", WatchlistEntry))
            }

    def registry_index(self) -> RegistryIndex:
        """A snapshot of the registry for enrichment: read once per run, not per row."""
        with Session(self.engine) as session:
            companies = [
                CompanyRecord.model_validate(
                    c.model_dump() | {"activity_codes": c.activity_codes, "aliases": c.aliases}
                )
                for c in session.exec(select(Company))
            ]
            people = [PersonRecord.model_validate(p.model_dump()) for p in session.exec(select(Person))]
            watch = [WatchlistRecord.model_validate(w.model_dump()) for w in session.exec(select(WatchlistEntry))]
        return RegistryIndex(companies, people, watch)

    def record_ruleset(self, version: str, content: dict[str, str]) -> None:
        def work(session: Session) -> None:
            if session.get(RuleSetVersion, version) is None:
                now = dt.datetime.now(dt.UTC)
                session.add(RuleSetVersion(version=version, first_used_at=now, content=content))

        self._write(work)

    def record_screenings(self, screenings: Iterable[Any]) -> int:
        """Store screened declarations with their decisions, in one transaction.

        Each element has `.declaration` (a Declaration), `.decision` (the decision dict
        of the contract) and `.facts` (the enriched facts it was made on).
        """
        batch = list(screenings)
        if not batch:
            return 0
        return int(self._write(lambda session: _record(session, batch)))

    def count(self, table: type[SQLModel]) -> int:
        with Session(self.engine) as session:
            return int(session.exec(select(func.count()).select_from(table)).one())


def _company_fields(row: CompanyRecord) -> dict[str, Any]:
    return row.model_dump() | {"activity_codes": ";".join(row.activity_codes), "aliases": ";".join(row.aliases)}


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _record(session: Session, batch: list[Any]) -> int:
    """Bulk inserts (RETURNING the new ids, in order): one round trip per table."""
    ids = {s.declaration.declaration_id for s in batch}
    known: dict[str, list[tuple[int, str]]] = {}
    query = select(DeclarationRecord.id, DeclarationRecord.declaration_id, DeclarationRecord.content_hash)
    for pk, ident, digest in session.exec(query.where(col(DeclarationRecord.declaration_id).in_(ids))):
        known.setdefault(ident, []).append((int(pk or 0), digest))
    versions = {s.decision["ruleset_version"] for s in batch}
    decided = set(
        session.exec(
            select(DecisionRecord.declaration_pk, DecisionRecord.ruleset_version).where(
                col(DecisionRecord.declaration_pk).in_([pk for rows in known.values() for pk, _ in rows]),
                col(DecisionRecord.ruleset_version).in_(versions),
            )
        ).all()
    )
    now = dt.datetime.now(dt.UTC)
    new_rows: list[dict[str, Any]] = []
    new_items: list[list[dict[str, Any]]] = []
    targets: list[tuple[Any, int | None, int]] = []  # screening, existing pk, index of new row
    for screening in batch:
        decl = screening.declaration
        content = decl.canonical()
        digest = content_hash(content)
        revisions = known.setdefault(decl.declaration_id, [])
        pk = next((p for p, h in revisions if h == digest), None)
        version = screening.decision["ruleset_version"]
        if pk is not None:
            if (pk, version) in decided:
                continue  # the same declaration, screened under the same rules: idempotent
            decided.add((pk, version))
            # a negative pk stands for a row of this batch, not yet inserted
            targets.append((screening, pk, -1) if pk > 0 else (screening, None, -pk - 1))
            continue
        revisions.append((-len(new_rows) - 1, digest))
        decided.add((-len(new_rows) - 1, version))
        targets.append((screening, None, len(new_rows)))
        new_rows.append(_declaration_row(decl, content, digest, len(revisions), now))
        new_items.append([_item_row(i) for i in decl.items])
    new_pks = _insert_returning(session, DeclarationRecord, new_rows)
    items = [row | {"declaration_pk": new_pks[n]} for n, rows in enumerate(new_items) for row in rows]
    _insert(session, ItemRecord, items)
    decisions = []
    for screening, pk, index in targets:
        decisions.append(_decision_row(screening, pk if pk is not None else new_pks[index]))
    decision_pks = _insert_returning(session, DecisionRecord, decisions)
    findings = [
        row | {"decision_id": decision_pks[n]}
        for n, (screening, _, _) in enumerate(targets)
        for row in _finding_rows(screening.decision)
    ]
    _insert(session, FindingRecord, findings)
    return len(targets)


def _insert_returning(session: Session, table: type[SQLModel], rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    statement = insert(table).returning(table.id, sort_by_parameter_order=True)  # type: ignore[attr-defined]
    return [row[0] for row in session.execute(statement, rows)]


def _insert(session: Session, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(table), rows)


def _declaration_row(
    decl: Any, content: dict[str, Any], digest: str, revision: int, now: dt.datetime
) -> dict[str, Any]:
    return {
        "declaration_id": decl.declaration_id,
        "revision": revision,
        "content_hash": digest,
        "date": decl.date,
        "procedure": decl.procedure.value,
        "exporter_name": decl.exporter.name,
        "consignee_name": decl.consignee.name,
        "dispatch_country": decl.dispatch_country,
        "destination_country": decl.destination_country,
        "received_at": now,
        "content": content,
    }


def _item_row(item: Any) -> dict[str, Any]:
    return {
        "line": item.line,
        "hs_code": item.hs_code,
        "description": item.description,
        "value": item.value,
        "currency": item.currency,
        "origin_country": item.origin_country,
    }


def _decision_row(screening: Any, declaration_pk: int) -> dict[str, Any]:
    decision = screening.decision
    return {
        "declaration_pk": declaration_pk,
        "declaration_id": decision["declaration_id"],
        "decision": decision["decision"],
        "score": decision["score"],
        "ruleset_version": decision["ruleset_version"],
        "screened_at": dt.datetime.fromisoformat(decision["screened_at"]),
        "facts": screening.facts,
    }


def _finding_rows(decision: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        finding | {"is_test": is_test}
        for is_test, key in ((False, "findings"), (True, "test_findings"))
        for finding in decision[key]
    ]
