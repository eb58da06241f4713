"""Bulk writes of screened declarations: one round trip per table per chunk."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import operator
from itertools import islice
from typing import Any

import orjson
from sqlalchemy import insert
from sqlmodel import Session, SQLModel, col, func, select

from .tables import AuditRecord, DecisionRecord, DeclarationRecord, FindingRecord, ItemRecord

# the optional field of a decision screened on purpose without a registry (--no-registry),
# and the decision row's column that keeps it (migration 0006); its audit entries then
# say "registry": "none"
WITHOUT_REGISTRY = "screened_without_registry"


def content_hash(content: dict[str, Any]) -> str:
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def record(
    session: Session, batch: list[Any], kind: str = "screen", officer: str | None = None, force: bool = False
) -> list[tuple[int, str] | None]:
    """Store screenings; of each, the new decision id and its seal for the audit log
    (`seal`), or None where it was already stored.

    Bulk inserts (RETURNING the new ids, in order): one round trip per table."""
    ids = {s.declaration.declaration_id for s in batch}
    known: dict[str, list[tuple[int, str]]] = {}
    revision_of: dict[int, int] = {}
    query = select(
        DeclarationRecord.id,
        DeclarationRecord.declaration_id,
        DeclarationRecord.content_hash,
        DeclarationRecord.revision,
    )
    for pk, ident, digest, revision in session.exec(query.where(col(DeclarationRecord.declaration_id).in_(ids))):
        known.setdefault(ident, []).append((int(pk or 0), digest))
        revision_of[int(pk or 0)] = revision
    versions = {s.decision["ruleset_version"] for s in batch}
    registry = registry_version(session)
    # a declaration revision has one batch decision per rule set, registry and mark of a
    # run without one (the schema's unique index holds it against concurrent runs: the
    # loser retries, reads the winner's decision here and reuses it); a submission's
    # decision counts too. A run without a registry never reuses a decision made with
    # one, nor the other way round: they say different things.
    decided = set(
        session.exec(
            select(
                DecisionRecord.declaration_pk,
                DecisionRecord.ruleset_version,
                DecisionRecord.screened_without_registry,
            ).where(
                col(DecisionRecord.declaration_pk).in_([pk for rows in known.values() for pk, _ in rows]),
                col(DecisionRecord.ruleset_version).in_(versions),
                DecisionRecord.registry_version == registry,
                DecisionRecord.kind != "duplicate",
            )
        ).all()
    )
    now = dt.datetime.now(dt.UTC)
    new_rows: list[dict[str, Any]] = []
    new_items: list[list[dict[str, Any]]] = []
    targets: list[tuple[Any, int | None, int, str]] = []  # screening, existing pk, index of new row, content hash
    positions: list[int] = []  # where each target stands in the batch
    for position, screening in enumerate(batch):
        decl = screening.declaration
        content = decl.canonical()
        digest = content_hash(content)
        revisions = known.setdefault(decl.declaration_id, [])
        pk = next((p for p, h in revisions if h == digest), None)
        version = screening.decision["ruleset_version"]
        without = without_registry(screening.decision)
        if pk is not None:
            if (pk, version, without) in decided and not force:
                continue  # the same declaration, screened under the same rules: idempotent
            decided.add((pk, version, without))
            # a negative pk stands for a row of this batch, not yet inserted
            targets.append((screening, pk, -1, digest) if pk > 0 else (screening, None, -pk - 1, digest))
            positions.append(position)
            continue
        revisions.append((-len(new_rows) - 1, digest))
        decided.add((-len(new_rows) - 1, version, without))
        targets.append((screening, None, len(new_rows), digest))
        positions.append(position)
        new_rows.append(_declaration_row(decl, content, digest, len(revisions), now))
        revision_of[-len(new_rows)] = len(revisions)
        new_items.append([_item_row(i) for i in decl.items])
    new_pks = _insert_returning(session, DeclarationRecord, new_rows)
    items = [row | {"declaration_pk": new_pks[n]} for n, rows in enumerate(new_items) for row in rows]
    _insert(session, ItemRecord, items)
    decisions = []
    seals = []
    for screening, pk, index, digest in targets:
        row = _decision_row(screening, pk if pk is not None else new_pks[index])
        row |= {"kind": kind, "officer": officer, "registry_version": registry}
        row[WITHOUT_REGISTRY] = without_registry(screening.decision)
        decisions.append(row)
        d = screening.decision
        columns = sealed_columns(row, revision_of[pk if pk is not None else -index - 1])
        seals.append(
            seal(d["decision"], d["score"], d["ruleset_version"], _finding_rows(d), digest, row["facts"], columns)
        )
    decision_pks = _insert_returning(session, DecisionRecord, decisions)
    findings = [
        row | {"decision_id": decision_pks[n]}
        for n, (screening, *_) in enumerate(targets)
        for row in _finding_rows(screening.decision)
    ]
    _insert(session, FindingRecord, findings)
    stored: list[tuple[int, str] | None] = [None] * len(batch)
    for position, decision_pk, sealed in zip(positions, decision_pks, seals, strict=True):
        stored[position] = (decision_pk, sealed)
    return stored


def _insert_returning(session: Session, table: type[SQLModel], rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    # Core, not the ORM's bulk path: these rows need no identity map, and it is 3x faster
    core = table.__table__  # type: ignore[attr-defined]
    statement = insert(core).returning(core.c.id, sort_by_parameter_order=True)
    return [row[0] for row in session.connection().execute(statement, rows)]


def _insert(session: Session, table: type[SQLModel], rows: list[dict[str, Any]]) -> None:
    if rows:
        session.connection().execute(insert(table.__table__), rows)  # type: ignore[attr-defined]


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


def header_columns(content: dict[str, Any]) -> dict[str, Any]:
    """The declaration row's copies of its content's header (what lists, reports and
    history rules read), as the content holds them: `audit verify` compares the two."""
    return {
        "declaration_id": content.get("declaration_id"),
        "date": content.get("date"),
        "procedure": content.get("procedure"),
        "exporter_name": (content.get("exporter") or {}).get("name"),
        "consignee_name": (content.get("consignee") or {}).get("name"),
        "dispatch_country": content.get("dispatch_country"),
        "destination_country": content.get("destination_country"),
    }


ITEM_FIELDS = ("line", "hs_code", "description", "value", "currency", "origin_country")  # an item row's copy


def _item_row(item: Any) -> dict[str, Any]:
    return {name: getattr(item, name) for name in ITEM_FIELDS}


def _decision_row(screening: Any, declaration_pk: int) -> dict[str, Any]:
    decision = screening.decision
    return {
        "declaration_pk": declaration_pk,
        "declaration_id": decision["declaration_id"],
        "decision": decision["decision"],
        "score": decision["score"],
        "ruleset_version": decision["ruleset_version"],
        "screened_at": dt.datetime.fromisoformat(decision["screened_at"]),
        "facts": pack_facts(screening.facts),
    }


ITEM_FACTS = "item."  # the prefix of the facts each goods item has of its own (facts.FIELDS)


def pack_facts(facts: list[dict[str, Any]]) -> list[dict[str, Any]] | dict[str, Any]:
    """The facts as stored: the declaration's header facts once, then each item's own.

    Enrichment repeats the header (every fact before the first `item.` one) in every
    item's fact, so that rules can combine them; stored that way it was most of what a
    batch writes (about 2.5 KB per decision). `unpack_facts` gives back the very same
    list, key order included; facts that would not come back the same (a header that
    differs between items) are stored as they are."""
    if not facts:
        return facts
    keys = tuple(facts[0])
    size = _header_size(keys)
    header = dict(islice(facts[0].items(), size))
    items = []
    for fact in facts:
        if tuple(islice(fact, size)) != keys[:size] or not _same_values(header, fact, size):
            return facts
        items.append(dict(islice(fact.items(), size, None)))
    return {"header": header, "items": items}


_HEADER_SIZES: dict[tuple[str, ...], int] = {}  # one entry per shape of facts: a handful


def _header_size(keys: tuple[str, ...]) -> int:
    """How many facts come before the first item's own."""
    if keys not in _HEADER_SIZES:
        if len(_HEADER_SIZES) > 256:
            _HEADER_SIZES.clear()
        found = (n for n, key in enumerate(keys) if key.startswith(ITEM_FACTS))
        _HEADER_SIZES[keys] = next(found, len(keys))
    return _HEADER_SIZES[keys]


def _same_values(header: dict[str, Any], fact: dict[str, Any], size: int) -> bool:
    values = list(islice(fact.values(), size))
    if all(map(operator.is_, header.values(), values)):
        return True  # enrichment shares the header's values between items: no need to compare
    try:
        return orjson.dumps(list(header.values())) == orjson.dumps(values)  # exact: 1 is not true
    except orjson.JSONEncodeError:  # an integer past 64 bits: the standard encoder is exact too
        return json.dumps(list(header.values())) == json.dumps(values)


def unpack_facts(stored: list[dict[str, Any]] | dict[str, Any]) -> list[dict[str, Any]]:
    """One fact per item, as enrichment made them (from either stored form)."""
    if isinstance(stored, dict):
        return [stored["header"] | own for own in stored["items"]]
    return stored


SEAL = "4:"  # seals of this form cover every column of the decision row, the registry mark too
SEAL_V3 = "3:"  # every column but the registry mark (added by migration 0006; kept verifiable)
SEAL_V2 = "2:"  # findings, facts and content, not the decision's other columns (kept verifiable)


def seal(
    verdict: str,
    score: float,
    version: str,
    findings: list[dict[str, Any]],
    content_digest: str,
    facts: Any,
    columns: dict[str, Any] | None = None,
    form: str = SEAL,
) -> str:
    """What a stored decision says, in a few bytes the audit log keeps: its verdict,
    score and rule set, every finding (rows as stored, test findings too) with its
    evidence, the facts it was made on, the content hash of its declaration and (forms
    3 and 4) the decision row's other columns (`sealed_columns`). `audit verify`
    recomputes it from the stored rows, so an edit of any of them is found. Without
    `columns`: the form-2 seal, as entries written before form 3 hold it; `form` 3:
    the columns without the registry mark, as entries written before form 4 hold it."""
    sealed = sorted(orjson.dumps(_sealed_finding(f), option=orjson.OPT_SORT_KEYS).decode() for f in findings)
    body = [verdict, float(score), version, sealed, content_digest, facts]
    if columns is not None:
        body.append(columns)
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    return (form if columns is not None else SEAL_V2) + digest


def sealed_columns(row: dict[str, Any], revision: int, form: str = SEAL) -> dict[str, Any]:
    """The decision row's columns a seal of `form` (4 or 3) covers beside its verdict,
    score, rule set and facts, in a form every database hands back the same (UTC, no
    zone)."""
    at = row["screened_at"]
    at = at if at.tzinfo is None else at.astimezone(dt.UTC).replace(tzinfo=None)
    columns = {
        "declaration_id": row["declaration_id"],
        "revision": revision,
        "kind": row["kind"],
        "officer": row["officer"],
        "registry_version": row["registry_version"],
        "screened_at": at.isoformat(),
    }
    if form == SEAL:
        columns[WITHOUT_REGISTRY] = bool(row[WITHOUT_REGISTRY])
    return columns


def without_registry(decision: dict[str, Any]) -> bool:
    """Whether a decision (the contract's dict) was screened without a registry."""
    return bool(decision.get(WITHOUT_REGISTRY))


def registry_version(session: Session) -> int:
    """The registry version: the audit-log id of the newest `registry_load` entry (each
    load of companies, people or the watchlist writes one, in the transaction that
    replaces the table), 0 when none was loaded. Read in the transaction that stores."""
    found = session.exec(select(func.max(AuditRecord.id)).where(AuditRecord.action == "registry_load")).one()
    return int(found or 0)


def _sealed_finding(finding: dict[str, Any]) -> list[Any]:
    return [finding["rule_id"], finding["title"], finding["action"], float(finding["score"]), finding["item_line"],
            bool(finding["is_test"]), finding["evidence"]]  # fmt: skip


def _finding_rows(decision: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        finding | {"is_test": is_test}
        for is_test, key in ((False, "findings"), (True, "test_findings"))
        for finding in decision[key]
    ]
