"""The tables (SQLModel): a base model with the fields, a table model beside it.

The schema is created and upgraded by the migrations in `migrations/versions`, never by
`create_all`, so a database from an earlier release upgrades in place.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import NaiveDatetime
from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlalchemy.types import JSON, LargeBinary
from sqlmodel import Field, SQLModel

# the partial unique indexes, by name: what each one's WHERE says (migrations create them)
PARTIAL_WHERE: dict[str, str] = {}


def partial_index(name: str, *columns: str, where: str) -> Index:
    """A unique index on the rows `where` says, as the migrations create it. Its
    PostgreSQL form is described only when a PostgreSQL database is opened
    (`describe_for_postgresql`): a `postgresql_where` here would load SQLAlchemy's
    PostgreSQL dialect into every SQLite process (0.025 s of CPU, 3% of a cold submit)."""
    PARTIAL_WHERE[name] = where
    return Index(name, *columns, unique=True, sqlite_where=text(where))


def describe_for_postgresql() -> None:
    """Give the partial indexes their PostgreSQL WHERE (idempotent), as the migrations
    created them: Alembic's comparison of the tables with a database reads it."""
    for table in SQLModel.metadata.tables.values():
        for index in table.indexes:
            if index.name in PARTIAL_WHERE and index.dialect_options["postgresql"]["where"] is None:
                index.dialect_options["postgresql"]["where"] = text(PARTIAL_WHERE[str(index.name)])


class CompanyBase(SQLModel):
    company_id: str = Field(index=True)
    name: str
    country: str | None = None
    registered_on: dt.date | None = None
    activity_codes: str = ""
    aliases: str = ""
    address: str | None = None


class Company(CompanyBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    address_key: str | None = Field(default=None, index=True)  # addresses.address_key, for links


class PersonBase(SQLModel):
    company_id: str = Field(index=True)
    person_name: str
    role: str
    person_id: str | None = None
    birth_date: dt.date | None = None
    person_company_id: str | None = Field(default=None, index=True)  # the role is held by this company


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
    """A declaration as columns, one row per revision (its items in `item`): the history
    that lists, reports and history rules query. `content.py` says how the columns make
    the declaration back, and defines the content hash on them (migration 0008)."""

    __tablename__ = "declaration"
    __table_args__ = (
        UniqueConstraint("declaration_id", "revision"),
        Index("ix_declaration_date", "date", "declaration_id"),  # the earliest declarations (migration 0012)
    )
    id: int | None = Field(default=None, primary_key=True)
    declaration_id: str = Field(index=True)
    revision: int = 1
    content_hash: str
    date: dt.date
    procedure: str
    document_type: str | None = None
    exporter_name: str
    exporter_id: str | None = None
    exporter_country: str | None = None
    exporter_extra: str | None = None  # the party's extra fields as a JSON object, or null
    consignee_name: str
    consignee_id: str | None = None
    consignee_country: str | None = None
    consignee_extra: str | None = None
    # each party's identity in history (`engine.history.party_key`): a submit reads the
    # past of its two parties alone, by these (migration 0012)
    exporter_key: str | None = Field(default=None, index=True)
    consignee_key: str | None = Field(default=None, index=True)
    dispatch_country: str
    destination_country: str
    transit_countries: str = ""  # alpha-2 codes in order, one space between
    extra: str | None = None  # the declaration's extra fields as a JSON object, or null
    received_at: dt.datetime
    # stored before migration 0008 and not rebuilt exactly by the columns (a field the
    # contract has since gained or lost): the content as it was, for the seals of its time
    legacy_content: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class ItemRecord(SQLModel, table=True):
    __tablename__ = "item"
    id: int | None = Field(default=None, primary_key=True)
    declaration_pk: int = Field(foreign_key="declaration.id", index=True)
    position: int = 0  # its place in the declaration, from 0
    line: int
    hs_code: str
    description: str | None = None
    quantity: float | None = None
    unit: str | None = None
    value: float | None = None
    currency: str | None = None
    origin_country: str | None = None
    net_mass_kg: float | None = None
    extra: str | None = None  # the item's extra fields as a JSON object, or null


class FactSignature(SQLModel, table=True):
    """Facts as JSON, stored once however many decisions were made on them: a layout,
    a declaration's or its items' stored facts (`store.compact`, migration 0013); before
    that, a declaration's header facts or one item's own facts (migration 0008)."""

    __tablename__ = "fact_signature"
    id: int | None = Field(default=None, primary_key=True)
    digest: str = Field(unique=True)  # of `facts`, the text as stored: `audit verify` recomputes it
    facts: str


class DecisionRecord(SQLModel, table=True):
    __tablename__ = "decision"
    # a declaration revision gets one batch decision per rule set and registry, and one
    # more per rule set screened without a registry: holds however many batches store at
    # once (migrations 0005 and 0006)
    __table_args__ = (
        partial_index(
            "ux_decision_one_batch", "declaration_pk", "ruleset_version", "registry_version",
            "screened_without_registry", where="kind = 'screen'",
        ),
    )  # fmt: skip
    id: int | None = Field(default=None, primary_key=True)
    kind: str = "screen"  # screen | submit | rescreen | duplicate (an extra copy, see migration 0005)
    officer: str | None = None
    declaration_pk: int = Field(foreign_key="declaration.id", index=True)
    declaration_id: str = Field(index=True)
    decision: str = Field(index=True)
    score: float
    ruleset_version: str = Field(foreign_key="ruleset_version.version")
    # the audit-log id of the newest registry load when it was stored (0: none, or not
    # recorded before migration 0005): see audit.registry_version
    registry_version: int = 0
    # screened on purpose without a registry (--no-registry): every party was unknown
    screened_without_registry: bool = False
    screened_at: dt.datetime
    # the facts it was decided on (`store.compact`, migration 0013): their layout, the
    # declaration's stored facts and its items'; the rest is rebuilt from the columns.
    # Decided before migration 0013 (`facts_layout_id` null): `header_fact_id` holds the
    # header facts every item shares (null: the items' facts hold them whole), and each
    # item's own facts are in `decision_item`
    header_fact_id: int | None = Field(default=None, foreign_key="fact_signature.id")
    facts_layout_id: int | None = Field(default=None, foreign_key="fact_signature.id")
    item_facts_id: int | None = Field(default=None, foreign_key="fact_signature.id")


class DecisionItem(SQLModel, table=True):
    """The facts one item of a declaration decided before migration 0013 was decided on."""

    __tablename__ = "decision_item"
    decision_id: int = Field(foreign_key="decision.id", primary_key=True)
    position: int = Field(primary_key=True)
    fact_id: int = Field(foreign_key="fact_signature.id")


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


class OutcomeRecord(SQLModel, table=True):
    """What an inspection found, recorded against the decision that sent it."""

    __tablename__ = "outcome"
    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decision.id", index=True)
    declaration_id: str = Field(index=True)
    result: str
    note: str | None = None
    officer: str | None = None
    recorded_at: dt.datetime


class AuditRecord(SQLModel, table=True):
    """One entry of the append-only audit log; `hash` chains it to the one before."""

    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: NaiveDatetime  # UTC, stored without a zone so every database hands it back unchanged
    actor: str
    action: str = Field(index=True)
    subject: str
    details: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    prev_hash: str
    hash: str


class SnoozeRecord(SQLModel, table=True):
    """A rule suppressed for one party until a day (`customs-rules rules snooze`), with
    who set it and why; lifted early by `rules unsnooze` (kept, never deleted). Each set
    and lift has its audit entry, which seals the row (`store.snoozes`)."""

    __tablename__ = "snooze"
    id: int | None = Field(default=None, primary_key=True)
    rule_id: str = Field(index=True)
    party: str = Field(index=True)  # the party's company id, normalised (entities.persons.normalize_id)
    until: dt.date = Field(index=True)  # the last day it applies (UTC day of screening)
    reason: str
    officer: str
    set_at: NaiveDatetime  # UTC
    lifted_at: NaiveDatetime | None = None  # UTC
    lifted_by: str | None = None
    lift_reason: str | None = None


class RegistrySnapshot(SQLModel, table=True):
    """One frame of the compiled registry as an Arrow IPC file (zstd), written by `registry
    load` with the table it comes from (`store.registry_snapshot`)."""

    __tablename__ = "registry_snapshot"
    name: str = Field(primary_key=True)  # companies | names | blocks | people | pairs | edges
    format: int
    rows: int
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
