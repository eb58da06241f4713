"""Storing a screened set in bulk: declarations and items as columns, decisions, their
findings with evidence, and the facts the columns do not hold, once per distinct
signature (`compact`, migration 0013).

`prepared.prepare` computes what needs no database (content hashes, fact signatures) and can run
before the write lock is taken, in the writer thread; `record` then decides, in the
transaction, which declarations are new revisions and which decisions are new, and
writes every table with one bulk insert each (`bulk.insert`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlmodel import Session, func, select

from ..contract.decision import Decision
from ..screening.frames import ScreenedSet
from . import audit, bulk
from .prepared import HEADER_TABLE_COLUMNS, ITEM_TABLE_COLUMNS, PARTY_KEYS, Prepared
from .seals import WITHOUT_REGISTRY, seal_all
from .tables import (
    AuditRecord,
    DecisionRecord,
    DeclarationRecord,
    FactSignature,
    FindingRecord,
    ItemRecord,
)


@dataclass
class Stored:
    """What storing one set did: per declaration of the set, in order, its new decision's
    id and seal, or None where it was stored before; and the rows written per table."""

    decisions: list[tuple[int, str] | None]
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def written(self) -> int:
        return sum(self.rows.values())


def record(
    session: Session, prepared: Prepared, kind: str = "screen", officer: str | None = None, force: bool = False,
    method: str = "auto",
) -> Stored:  # fmt: skip
    """Store a prepared set in the caller's transaction (see the module's docstring)."""
    screened = prepared.screened
    bulk.lock(session)
    registry = registry_version(session)
    rows = _revisions(session, prepared.heads)
    targets = _targets(session, rows, screened, registry, force)
    stored: dict[str, int] = {}
    new = rows.filter(pl.col("new")).unique("pk", keep="first", maintain_order=True)
    stored["declaration"] = _write_declarations(session, new, method)
    stored["item"] = _write_items(session, new, screened, method)
    fact_ids, stored["fact_signature"] = _write_signatures(session, prepared.distinct, method)
    first = bulk.reserve_ids(session, "decision", targets.height)
    targets = targets.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + first).alias("id"))
    targets = targets.join(_fact_refs(prepared.signatures.refs, fact_ids), on="decl", how="left",
                           maintain_order="left")  # fmt: skip
    decision = targets.select(
        "id", pl.lit(kind).alias("kind"), pl.lit(officer, pl.String).alias("officer"),
        pl.col("pk").alias("declaration_pk"), "declaration_id", "decision", "score",
        pl.lit(screened.ruleset_version).alias("ruleset_version"), pl.lit(registry).alias("registry_version"),
        pl.lit(screened.without_registry).alias(WITHOUT_REGISTRY),
        pl.lit(_naive(screened.screened_at)).alias("screened_at"),
        "header_fact_id", "facts_layout_id", "item_facts_id",
    )  # fmt: skip
    stored["decision"] = bulk.insert(session, _table(DecisionRecord), decision, method)
    findings = screened.findings.join(targets.select("decl", pl.col("id").alias("decision_id")), on="decl")
    findings = findings.sort("decision_id", "is_test", "rank")
    columns = ("decision_id", "rule_id", "title", "action", "score", "item_line", "is_test", "evidence")
    stored["finding"] = bulk.insert(session, _table(FindingRecord), findings.select(columns), method)
    facts = pl.concat([  # form 6: the layout's digest, then the items'
        targets.select(pl.col("id").alias("key"), pl.lit(0).alias("position"), pl.col("layout_digest").alias("digest")),
        targets.select(pl.col("id").alias("key"), pl.lit(1).alias("position"), pl.col("items_digest").alias("digest")),
    ])  # fmt: skip
    seals = seal_all(
        decision.with_columns(targets.select("content_hash", "revision", "header_digest")).rename({"id": "key"}),
        findings.rename({"decision_id": "key"}),
        facts,
    )
    result: list[tuple[int, str] | None] = [None] * len(screened)
    for decl, decision_id, sealed in zip(targets.get_column("decl"), targets.get_column("id"), seals, strict=True):
        result[decl] = (int(decision_id), sealed)
    return Stored(result, stored)


def chunk_entry(screened: ScreenedSet, stored: Stored, kind: str, officer: str | None) -> audit.Entry | None:
    """One audit entry per stored set: every decision, by id, verdict and seal (which
    covers its row, its declaration's and items' columns, its findings and facts), and
    the rows written to each table. None when nothing was written."""
    if not stored.written:
        return None
    frame = screened.decisions
    decisions = [
        [found[0], ident, verdict, found[1]]
        for found, ident, verdict in zip(stored.decisions, frame["declaration_id"], frame["decision"], strict=True)
        if found
    ]
    details = {"kind": kind, "ruleset_version": screened.ruleset_version, "decisions": decisions,
               "rows": stored.rows}  # fmt: skip
    if screened.without_registry:
        details["registry"] = "none"  # screened with --no-registry: said where it cannot be erased
    return audit.Entry(officer or "system", "decisions", f"{len(decisions)} declaration(s)", details)


def _revisions(session: Session, heads: pl.DataFrame) -> pl.DataFrame:
    """Each declaration of the set with the pk and revision of its stored row, or of the
    new row its content makes (`new`): the same id with other content is a new revision."""
    ids = heads.get_column("declaration_id").unique().to_list()
    query = "SELECT id, declaration_id, content_hash, revision FROM declaration WHERE declaration_id IN :values"
    schema = {"pk": pl.Int64, "declaration_id": pl.String, "content_hash": pl.String, "revision": pl.Int64}
    known = bulk.frame(bulk.select_in(session, query, ids), schema)
    latest = known.group_by("declaration_id").agg(pl.col("revision").max().alias("latest"))
    # two revisions stored before migration 0008 may hash alike now (1 and 1.0): the newest counts
    known = known.sort("pk").unique(["declaration_id", "content_hash"], keep="last")
    rows = heads.join(known, on=["declaration_id", "content_hash"], how="left", maintain_order="left")
    fresh = (
        rows.filter(pl.col("pk").is_null())
        .unique(["declaration_id", "content_hash"], keep="first", maintain_order=True)
        .join(latest, on="declaration_id", how="left", maintain_order="left")
        .select("declaration_id", "content_hash",
                (pl.col("latest").fill_null(0) + pl.int_range(1, pl.len() + 1).over("declaration_id")).alias("next"))
    )  # fmt: skip
    first = bulk.reserve_ids(session, "declaration", fresh.height)
    fresh = fresh.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + first).alias("new_pk"))
    rows = rows.join(fresh, on=["declaration_id", "content_hash"], how="left", maintain_order="left")
    return rows.with_columns(
        pl.col("new_pk").is_not_null().alias("new"),
        pl.coalesce("pk", "new_pk").alias("pk"),
        pl.coalesce("revision", "next").alias("revision"),
    )


def _targets(session: Session, rows: pl.DataFrame, screened: ScreenedSet, registry: int, force: bool) -> pl.DataFrame:
    """The declarations of the set that get a decision: a declaration revision has one
    batch decision per rule set, registry and mark of a run without one (the schema's
    unique index holds it against concurrent runs); a submission's decision counts too.
    A run without a registry never reuses a decision made with one, nor the other way
    round. `force` (a rescreen): every declaration gets one."""
    rows = rows.join(screened.decisions.select("decl", "decision", "score"), on="decl", maintain_order="left")
    if force:
        return rows
    query = (
        "SELECT declaration_pk FROM decision WHERE declaration_pk IN :values AND ruleset_version = :version"
        " AND registry_version = :registry AND screened_without_registry = :without AND kind != 'duplicate'"
    )
    stored = rows.filter(~pl.col("new")).get_column("pk").unique().to_list()
    params = {"version": screened.ruleset_version, "registry": registry, "without": screened.without_registry}
    decided = [pk for (pk,) in bulk.select_in(session, query, stored, **params)]
    rows = rows.filter(~pl.col("pk").is_in(pl.Series(decided, dtype=pl.Int64).implode()))
    return rows.unique("pk", keep="first", maintain_order=True)  # the same content twice in one set: once


def _write_declarations(session: Session, new: pl.DataFrame, method: str) -> int:
    now = _naive(dt.datetime.now(dt.UTC))
    rows = new.select(
        pl.col("pk").alias("id"), "revision", "content_hash", *HEADER_TABLE_COLUMNS, *PARTY_KEYS,
        "transit_countries", pl.lit(now).alias("received_at"),
    )  # fmt: skip
    return bulk.insert(session, _table(DeclarationRecord), rows, method)


def _write_items(session: Session, new: pl.DataFrame, screened: ScreenedSet, method: str) -> int:
    items = screened.declarations.items.join(new.select("decl", pl.col("pk").alias("declaration_pk")), on="decl")
    rows = items.sort("declaration_pk", "position").select("declaration_pk", *ITEM_TABLE_COLUMNS)
    return bulk.insert(session, _table(ItemRecord), rows, method)


def _write_signatures(session: Session, distinct: pl.DataFrame, method: str) -> tuple[pl.DataFrame, int]:
    """The id of each signature of the set (sig, digest, id), the missing ones stored.
    On SQLite the ones `shared` by many sets (layouts, items' facts) are looked up first,
    and every other one is inserted with a new id unless its digest is stored already
    (INSERT OR IGNORE): when all those were new, as in a batch of new declarations,
    nothing else is looked up; else the ids are read back by digest (the ids of the ones
    left out unused)."""
    query = "SELECT digest, id FROM fact_signature WHERE digest IN :values"
    schema = {"digest": pl.String, "id": pl.Int64}
    table = _table(FactSignature)
    if bulk.dialect(session) == "sqlite" and method in ("auto", "tuples"):
        shared = distinct.filter("shared").get_column("digest").to_list()
        known = bulk.frame(bulk.select_in(session, query, shared), schema)
        todo = distinct.join(known, on="digest", how="anti", maintain_order="left")
        first = bulk.reserve_ids(session, "fact_signature", todo.height)
        fresh = todo.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + first).alias("id"))
        written = bulk.insert(session, table, fresh.select("id", "digest", "facts"), method, ignore=True)
        if written == todo.height:
            return distinct.select("sig", "digest").join(pl.concat([known, fresh.select("digest", "id")]),
                                                         on="digest"), written  # fmt: skip
        known = bulk.frame(bulk.select_in(session, query, distinct.get_column("digest").to_list()), schema)
        return distinct.select("sig", "digest").join(known, on="digest"), written
    known = bulk.frame(bulk.select_in(session, query, distinct.get_column("digest").to_list()), schema)
    missing = distinct.join(known, on="digest", how="anti", maintain_order="left")
    first = bulk.reserve_ids(session, "fact_signature", missing.height)
    missing = missing.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + first).alias("id"))
    written = bulk.insert(session, table, missing.select("id", "digest", "facts"), method)
    ids = pl.concat([known, missing.select("digest", "id")])
    return distinct.select("sig", "digest").join(ids, on="digest"), written


def _fact_refs(refs: pl.DataFrame, fact_ids: pl.DataFrame) -> pl.DataFrame:
    """Per declaration, the id and digest of each of its three signatures (`compact`)."""
    found = [refs.select("decl")]
    for ref, name in (("layout", "facts_layout_id"), ("header", "header_fact_id"), ("items", "item_facts_id")):
        ids = fact_ids.select(
            pl.col("sig").alias(ref), pl.col("id").alias(name), pl.col("digest").alias(f"{ref}_digest")
        )
        found.append(refs.select(ref).join(ids, on=ref, how="left", maintain_order="left").drop(ref))
    return pl.concat(found, how="horizontal")


def _table(model: Any) -> Any:
    return model.__table__


def _naive(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is None else at.astimezone(dt.UTC).replace(tzinfo=None)


def without_registry(decision: Decision) -> bool:
    """Whether a decision was screened without a registry."""
    return decision.without_registry


def registry_version(session: Session) -> int:
    """The registry version: the audit-log id of the newest `registry_load` entry (each
    load of companies, people or the watchlist writes one, in the transaction that
    replaces the table), 0 when none was loaded. Read in the transaction that stores."""
    found = session.exec(select(func.max(AuditRecord.id)).where(AuditRecord.action == "registry_load")).one()
    return int(found or 0)
