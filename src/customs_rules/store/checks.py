"""`audit verify`'s checks of the stored screening rows against what the log sealed:
every decision against its seal, every declaration against its content hash (computed
again on its columns and its items'), every fact signature against its digest."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from sqlalchemy import Text, cast, select
from sqlmodel import Session, col

from . import bulk, reading
from .content import content_hashes, legacy_hash
from .seals import SEAL, SEAL_V2, SEAL_V3, SEAL_V4, SEAL_V5, legacy_seal, pack_facts, seal_all, sealed_columns
from .signatures import digests
from .tables import DecisionItem, DecisionRecord, DeclarationRecord, FactSignature, FindingRecord

Recorded = dict[int, tuple[str, int, bool]]  # decision id: (its seal, the entry's id, marked without registry)
DECISION = {"key": pl.Int64, "decision": pl.String, "score": pl.Float64, "ruleset_version": pl.String,
            "content_hash": pl.String, "declaration_id": pl.String, "revision": pl.Int64, "kind": pl.String,
            "officer": pl.String, "registry_version": pl.Int64, "screened_without_registry": pl.Boolean,
            "screened_at": pl.Datetime("us"), "header_digest": pl.String, "layout_digest": pl.String,
            "items_digest": pl.String}  # fmt: skip
FINDING = {"key": pl.Int64, "rule_id": pl.String, "title": pl.String, "action": pl.String, "score": pl.Float64,
           "item_line": pl.Int64, "is_test": pl.Boolean, "evidence": pl.String}  # fmt: skip


def altered_decision(session: Session, recorded: Recorded, batch_size: int, digest_of: Any) -> str | None:
    """The first stored decision that no longer says what its audit entry recorded (or
    has none, or is missing), then the first declaration or fact signature altered."""
    # decisions older than the first audited one predate the audit log (an upgraded
    # database): they have nothing to be checked against
    first_audited = min(recorded) if recorded else None
    last_id = 0
    while True:
        decisions = _decisions(session, last_id, batch_size)
        if decisions.is_empty():
            break
        problem = _check_batch(session, decisions, recorded, first_audited, digest_of)
        if problem:
            return problem
        last_id = int(decisions.get_column("key").max())  # type: ignore[arg-type]
    return _missing(recorded) or altered_declaration(session, batch_size) or _altered_signature(session, batch_size)


def _check_batch(
    session: Session, decisions: pl.DataFrame, recorded: Recorded, first_audited: int | None, digest_of: Any
) -> str | None:
    keys = decisions.get_column("key").to_list()
    entries = [recorded.pop(key, None) for key in keys]
    findings = _findings(session, keys)
    current = _seals(session, decisions, findings)
    for number, entry, sealed, row in zip(keys, entries, current, decisions.iter_rows(named=True), strict=True):
        if entry is None:
            if first_audited is not None and number > first_audited:
                return f"decision #{number} has no audit entry"
            continue
        # the registry mark against the entry's too: seals older than form 4 leave it out
        kept = row["screened_without_registry"] == entry[2]
        if entry[0].startswith((SEAL, SEAL_V5)):
            kept = kept and sealed == entry[0]
        else:
            kept = kept and _legacy(session, row, findings, entry[0], digest_of) == entry[0]
        if not kept:
            return f"decision #{number} no longer says what audit entry {entry[1]} recorded"
    return None


def _seals(session: Session, decisions: pl.DataFrame, findings: pl.DataFrame) -> list[str]:
    """Each decision's seal as its rows make it now: of form 6 where it has a facts layout
    (migration 0013), else of form 5 (its items' signatures in `decision_item`)."""
    compact = pl.col("layout_digest").is_not_null()
    found: dict[int, str] = {}
    for form, rows in ((SEAL, decisions.filter(compact)), (SEAL_V5, decisions.filter(~compact))):
        if rows.is_empty():
            continue
        keys = rows.get_column("key")
        if form == SEAL:
            items = pl.concat([
                rows.select("key", pl.lit(0, pl.Int64).alias("position"), pl.col("layout_digest").alias("digest")),
                rows.select("key", pl.lit(1, pl.Int64).alias("position"), pl.col("items_digest").alias("digest")),
            ])  # fmt: skip
        else:
            items = _items(session, keys.to_list())
        mine = findings.filter(pl.col("key").is_in(keys.implode()))
        found |= dict(zip(keys.to_list(), seal_all(rows, mine, items, form), strict=True))
    return [found[key] for key in decisions.get_column("key").to_list()]


def _legacy(session: Session, row: dict[str, Any], findings: pl.DataFrame, recorded: str, digest_of: Any) -> str:
    """The digest an entry written before migration 0008 holds, recomputed from the rows
    (a seal of form 4, 3 or 2, or the shorter digest of entries written before seals)."""
    own = findings.filter(pl.col("key") == row["key"]).to_dicts()
    if not recorded.startswith((SEAL_V4, SEAL_V3, SEAL_V2)):
        rules = sorted(f["rule_id"] for f in own if not f["is_test"])
        return str(digest_of(row["decision"], row["score"], row["ruleset_version"], rules))
    for finding in own:
        finding["evidence"] = json.loads(finding["evidence"])
    decision = session.get(DecisionRecord, row["key"])
    declaration = session.get(DeclarationRecord, decision.declaration_pk) if decision else None
    if decision is None or declaration is None:
        return ""
    facts = pack_facts(reading.facts(session, decision))
    content_digest = legacy_hash(reading.content(session, declaration))
    form = recorded[: len(SEAL)]
    columns = sealed_columns(decision.model_dump(), row["revision"], form) if form in (SEAL_V4, SEAL_V3) else None
    return legacy_seal(row["decision"], row["score"], row["ruleset_version"], own, content_digest, facts, columns, form)


def _missing(left: Recorded) -> str | None:
    """What is left of the sealed decisions once every stored one was checked: rows deleted."""
    if not left:
        return None
    number = min(left)
    return f"decision #{number}, sealed by audit entry {left[number][1]}, is missing"


def _decisions(session: Session, after: int, limit: int) -> pl.DataFrame:
    d, decl, fs = (_table(t) for t in (DecisionRecord, DeclarationRecord, FactSignature))
    layout, items = fs.alias("layout"), fs.alias("items")
    columns = [d.c.id, d.c.decision, d.c.score, d.c.ruleset_version, decl.c.content_hash, d.c.declaration_id,
               decl.c.revision, d.c.kind, d.c.officer, d.c.registry_version, d.c.screened_without_registry,
               d.c.screened_at, fs.c.digest, layout.c.digest, items.c.digest]  # fmt: skip
    joined = (
        d.join(decl, decl.c.id == d.c.declaration_pk)
        .outerjoin(fs, fs.c.id == d.c.header_fact_id)
        .outerjoin(layout, layout.c.id == d.c.facts_layout_id)
        .outerjoin(items, items.c.id == d.c.item_facts_id)
    )
    query = select(*columns).select_from(joined).where(d.c.id > after).order_by(d.c.id).limit(limit)
    return bulk.frame(session.connection().execute(query), DECISION)


def _findings(session: Session, keys: list[int]) -> pl.DataFrame:
    f = FindingRecord.__table__  # type: ignore[attr-defined]
    query = (
        select(
            f.c.decision_id,
            f.c.rule_id,
            f.c.title,
            f.c.action,
            f.c.score,
            f.c.item_line,
            f.c.is_test,
            cast(f.c.evidence, Text),
        )  # fmt: skip
        .where(col(f.c.decision_id).in_(keys))
        .order_by(f.c.id)
    )
    return bulk.frame(session.connection().execute(query), FINDING)


def _items(session: Session, keys: list[int]) -> pl.DataFrame:
    link, fs = DecisionItem.__table__, FactSignature.__table__  # type: ignore[attr-defined]
    query = (
        select(link.c.decision_id, link.c.position, fs.c.digest)
        .select_from(link.join(fs, fs.c.id == link.c.fact_id))
        .where(col(link.c.decision_id).in_(keys))
    )
    schema = {"key": pl.Int64, "position": pl.Int64, "digest": pl.String}
    return bulk.frame(session.connection().execute(query), schema)


def altered_declaration(session: Session, batch_size: int) -> str | None:
    """The first declaration whose columns or items' columns no longer have its content
    hash, or that has no decision (it was not stored by screening)."""
    table = DeclarationRecord.__table__  # type: ignore[attr-defined]
    last_id = 0
    while True:
        query = select(table.c.id, table.c.declaration_id, table.c.revision, table.c.content_hash)
        rows = session.connection().execute(query.where(table.c.id > last_id).order_by(table.c.id).limit(batch_size))
        found = rows.all()
        if not found:
            return None
        pks = [row[0] for row in found]
        stored = reading.declaration_set(session, pks)
        hashes = content_hashes(stored.headers, stored.items)
        link = _table(DecisionRecord).c.declaration_pk
        query = select(link).where(link.in_(pks))
        decided = set(session.connection().execute(query).scalars())
        for (pk, ident, revision, digest), now in zip(found, hashes, strict=True):
            name = f"declaration {ident} (revision {revision})"
            if pk not in decided:
                return f"{name} has no decision: it was not stored by screening"
            if now != digest:
                return f"{name} no longer has the content it was stored with"
        last_id = pks[-1]


def _altered_signature(session: Session, batch_size: int) -> str | None:
    """The first fact signature whose text no longer has the digest decisions are sealed by."""
    table = FactSignature.__table__  # type: ignore[attr-defined]
    last_id = 0
    while True:
        query = select(table.c.id, table.c.digest, table.c.facts).where(table.c.id > last_id).order_by(table.c.id)
        found = session.connection().execute(query.limit(batch_size)).all()
        if not found:
            return None
        for (number, digest, _), now in zip(found, digests(row[2] for row in found), strict=True):
            if now != digest:
                return f"the facts of signature #{number} no longer are those its decisions were made on"
        last_id = found[-1][0]


def _table(model: Any) -> Any:
    return model.__table__
