"""Reading decisions back: look-ups, lists, explanations, outcomes, rule statistics."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlmodel import Session, col, func, select

from ..choices import CONFIRMED
from .records import content_hash, unpack_facts
from .tables import DecisionRecord, DeclarationRecord, FindingRecord, OutcomeRecord


def reference(decision_id: int | None) -> str:
    return f"#{decision_id}"


def decision_dict(session: Session, row: DecisionRecord) -> dict[str, Any]:
    """The decision as the contract's JSON object, plus where it stands in the store."""
    findings = session.exec(
        select(FindingRecord).where(FindingRecord.decision_id == row.id).order_by(col(FindingRecord.id))
    ).all()
    declaration = session.get(DeclarationRecord, row.declaration_pk)
    as_dict = [
        {k: getattr(f, k) for k in ("rule_id", "title", "action", "score", "item_line", "evidence")} for f in findings
    ]
    return {
        "declaration_id": row.declaration_id,
        "decision": row.decision,
        "score": row.score,
        "findings": [f for f, r in zip(as_dict, findings, strict=True) if not r.is_test],
        "test_findings": [f for f, r in zip(as_dict, findings, strict=True) if r.is_test],
        "ruleset_version": row.ruleset_version,
        "screened_at": _iso(row.screened_at),
        "reference": reference(row.id),
        "revision": declaration.revision if declaration else None,
        "kind": row.kind,
        "officer": row.officer,
    }


def _iso(value: dt.datetime) -> str:
    value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def identical(session: Session, declaration_id: str, content: dict[str, Any]) -> DecisionRecord | None:
    """The latest decision on a stored declaration with this id and exactly this content."""
    digest = content_hash(content)
    query = (
        select(DecisionRecord)
        .join(DeclarationRecord, col(DeclarationRecord.id) == DecisionRecord.declaration_pk)
        .where(DeclarationRecord.declaration_id == declaration_id, DeclarationRecord.content_hash == digest)
        .order_by(col(DecisionRecord.id).desc())
        .limit(1)
    )
    return session.exec(query).first()


def find(session: Session, ref: str) -> DecisionRecord | None:
    """`#12` is decision 12; anything else is a declaration id (its latest decision)."""
    ref = ref.strip()
    if ref.startswith("#") and ref[1:].isdigit():
        return session.get(DecisionRecord, int(ref[1:]))
    query = (
        select(DecisionRecord)
        .where(DecisionRecord.declaration_id == ref)
        .order_by(col(DecisionRecord.id).desc())
        .limit(1)
    )
    found = session.exec(query).first()
    if found is None and ref.isdigit():
        return session.get(DecisionRecord, int(ref))
    return found


def listing(
    session: Session,
    decision: str | None = None,
    since: dt.date | None = None,
    rule: str | None = None,
    exporter: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Decisions, newest first, filtered; `exporter` matches part of the name, any case."""
    query = select(DecisionRecord, DeclarationRecord).join(
        DeclarationRecord, col(DeclarationRecord.id) == DecisionRecord.declaration_pk
    )
    if decision:
        query = query.where(DecisionRecord.decision == decision)
    if since:
        query = query.where(col(DecisionRecord.screened_at) >= dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC))
    if rule:
        hits = select(FindingRecord.decision_id).where(
            FindingRecord.rule_id == rule, col(FindingRecord.is_test).is_(False)
        )
        query = query.where(col(DecisionRecord.id).in_(hits))
    if exporter:
        name = (
            func.py_casefold(DeclarationRecord.exporter_name)
            if _sqlite(session)
            else func.lower(DeclarationRecord.exporter_name)
        )
        query = query.where(name.contains(exporter.casefold(), autoescape=True))
    rows = session.exec(query.order_by(col(DecisionRecord.id).desc()).limit(limit)).all()
    rules = _rules_of(session, [d.id for d, _ in rows if d.id is not None])
    return [
        {
            "reference": reference(d.id),
            "declaration_id": d.declaration_id,
            "revision": decl.revision,
            "decision": d.decision,
            "score": d.score,
            "rule_ids": rules.get(d.id or 0, []),
            "exporter": decl.exporter_name,
            "consignee": decl.consignee_name,
            "destination_country": decl.destination_country,
            "kind": d.kind,
            "officer": d.officer,
            "screened_at": _iso(d.screened_at),
        }
        for d, decl in rows
    ]


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _rules_of(session: Session, decision_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    if decision_ids:
        query = select(FindingRecord.decision_id, FindingRecord.rule_id).where(
            col(FindingRecord.decision_id).in_(decision_ids), col(FindingRecord.is_test).is_(False)
        )
        for decision_id, rule_id in session.exec(query.order_by(col(FindingRecord.id))):
            found[decision_id].append(rule_id)
    return found


def explanation(session: Session, row: DecisionRecord) -> dict[str, Any]:
    """Everything needed to explain a decision: findings, rule set, facts, outcomes."""
    body = decision_dict(session, row)
    declaration = session.get(DeclarationRecord, row.declaration_pk)
    same_revision = select(DecisionRecord.id).where(DecisionRecord.declaration_pk == row.declaration_pk)
    outcomes = session.exec(
        select(OutcomeRecord).where(col(OutcomeRecord.decision_id).in_(same_revision)).order_by(col(OutcomeRecord.id))
    ).all()
    return body | {
        "declaration": declaration.content if declaration else None,
        "facts": unpack_facts(row.facts),
        "outcomes": [
            {
                "reference": reference(o.decision_id),
                "result": o.result,
                "note": o.note,
                "officer": o.officer,
                "recorded_at": _iso(o.recorded_at),
            }
            for o in outcomes
        ],  # fmt: skip
    }


def rule_stats(session: Session, since: dt.date | None = None) -> list[dict[str, Any]]:
    """Per rule: hits, holds, inspections, confirmed irregularities and the hit rate.

    Counted once per declaration revision, on the latest decision officers acted on
    (a submission or a batch screening; a rescreen is a what-if and is left out).
    `inspected` counts hits whose declaration revision got an inspection outcome; the
    hit rate is confirmed (seized or irregularity; the latest outcome counts) over
    inspected.
    """
    acted = select(func.max(DecisionRecord.id)).where(DecisionRecord.kind != "rescreen")
    if since:
        acted = acted.where(col(DecisionRecord.screened_at) >= dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC))
    acted = acted.group_by(col(DecisionRecord.declaration_pk))
    query = (
        select(FindingRecord.rule_id, DecisionRecord.decision, DecisionRecord.declaration_pk)
        .join(DecisionRecord, col(DecisionRecord.id) == FindingRecord.decision_id)
        .where(col(FindingRecord.is_test).is_(False), col(DecisionRecord.id).in_(acted))
    )
    outcomes: dict[int, str | None] = {}
    for pk, outcome in session.exec(
        select(DecisionRecord.declaration_pk, OutcomeRecord.result)
        .join(DecisionRecord, col(DecisionRecord.id) == OutcomeRecord.decision_id)
        .order_by(col(OutcomeRecord.id))
    ):
        outcomes[pk] = outcome  # the latest outcome counts
    stats: dict[str, dict[str, Any]] = {}
    for rule_id, decision, pk in session.exec(query):
        row = stats.setdefault(
            rule_id, {"rule_id": rule_id, "hits": 0, "holds": 0, "inspections": 0, "inspected": 0, "confirmed": 0}
        )
        row["hits"] += 1
        row["holds"] += decision == "hold"
        row["inspections"] += decision == "inspect"
        result = outcomes.get(pk)
        row["inspected"] += result is not None
        row["confirmed"] += result in CONFIRMED
    for row in stats.values():
        row["hit_rate"] = round(row["confirmed"] / row["inspected"], 3) if row["inspected"] else None
    return sorted(stats.values(), key=lambda r: (-r["hits"], r["rule_id"]))


def latest_declarations(session: Session, since: dt.date | None = None) -> list[tuple[DeclarationRecord, int, str]]:
    """The newest revision of each declaration, with its newest decision's id and verdict."""
    newest = (
        select(DeclarationRecord.declaration_id, func.max(DeclarationRecord.revision).label("revision"))
        .group_by(col(DeclarationRecord.declaration_id))
        .subquery()
    )
    query = select(DeclarationRecord).join(
        newest,
        (col(DeclarationRecord.declaration_id) == newest.c.declaration_id)
        & (col(DeclarationRecord.revision) == newest.c.revision),
    )
    if since:
        query = query.where(col(DeclarationRecord.date) >= since)
    declarations = session.exec(query.order_by(col(DeclarationRecord.id))).all()
    last = select(func.max(DecisionRecord.id)).group_by(col(DecisionRecord.declaration_pk))
    verdicts = {
        pk: (decision_id, verdict)
        for decision_id, pk, verdict in session.exec(
            select(DecisionRecord.id, DecisionRecord.declaration_pk, DecisionRecord.decision).where(
                col(DecisionRecord.id).in_(last)
            )
        )
    }
    return [(d, *verdicts[d.id]) for d in declarations if d.id in verdicts]  # type: ignore[misc]
