"""The append-only audit log, chained by hashes so tampering is detectable.

Each entry's hash is sha256(previous hash + the entry's canonical JSON); entries carry
explicit consecutive ids, written under a lock (PostgreSQL advisory lock; SQLite's write
lock), so a changed, inserted or deleted entry breaks the chain at a known place.
Removing the newest entries leaves a valid shorter chain: `verify` reports the count
and the last hash, which a risk unit can note down elsewhere to detect that too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, text
from sqlmodel import Session, col, select

from .tables import AuditRecord, DecisionRecord, DeclarationRecord, FindingRecord, ItemRecord

GENESIS = "0" * 64
LOCK_KEY = 7_320_116  # the advisory lock of audit appends


@dataclass(frozen=True)
class Entry:
    actor: str
    action: str
    subject: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    last_hash: str
    problem: str | None = None


def entry_hash(prev_hash: str, at: dt.datetime, entry: Entry) -> str:
    body = {
        "at": _utc(at).isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "details": entry.details,
    }
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _utc(at: dt.datetime) -> dt.datetime:
    # databases may hand datetimes back without their zone; the log is always UTC
    return at.replace(tzinfo=None) if at.tzinfo is None else at.astimezone(dt.UTC).replace(tzinfo=None)


def digest_of(verdict: str, score: float, version: str, rule_ids: list[str]) -> str:
    body = json.dumps([verdict, float(score), version, rule_ids], separators=(",", ":"))
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def append(session: Session, entries: Iterable[Entry]) -> None:
    """Append entries inside the caller's transaction (they land with its other writes)."""
    batch = list(entries)
    if not batch:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    last = session.exec(select(AuditRecord.id, AuditRecord.hash).order_by(col(AuditRecord.id).desc()).limit(1)).first()
    last_id, prev = (int(last[0] or 0), last[1]) if last else (0, GENESIS)
    at = _utc(dt.datetime.now(dt.UTC))
    rows = []
    for offset, entry in enumerate(batch, start=1):
        digest = entry_hash(prev, at, entry)
        rows.append({
            "id": last_id + offset, "at": at, "actor": entry.actor, "action": entry.action,
            "subject": entry.subject, "details": entry.details, "prev_hash": prev, "hash": digest,
        })  # fmt: skip
        prev = digest
    session.execute(insert(AuditRecord), rows)


def verify(session: Session, batch_size: int = 5000) -> Verification:
    """Walk the whole chain, then check every decision still says what the log recorded;
    the first broken link or altered decision is reported."""
    chain = _verify_chain(session, batch_size)
    if not chain.ok:
        return chain
    altered = _altered_decision(session, batch_size)
    return Verification(False, chain.entries, chain.last_hash, altered) if altered else chain


def _recorded_digests(session: Session) -> dict[int, tuple[str, int]]:
    """Per decision id: the digest its audit entry holds, and that entry's id."""
    found: dict[int, tuple[str, int]] = {}
    query = select(AuditRecord.id, AuditRecord.action, AuditRecord.details).where(
        col(AuditRecord.action).in_(["decision", "decisions"])
    )
    for entry_id, action, details in session.exec(query):
        if action == "decision" and details.get("digest"):
            found[int(details["decision_id"])] = (details["digest"], entry_id or 0)
        for item in details.get("decisions", []) if action == "decisions" else []:
            if len(item) > 3:
                found[int(item[0])] = (item[3], entry_id or 0)
    return found


def _altered_decision(session: Session, batch_size: int = 5000) -> str | None:
    """The first stored decision or declaration that no longer says what was recorded:
    a decision against its audit entry's seal (its verdict, score, findings with their
    evidence, facts and declaration content hash; older entries hold a shorter digest
    of the verdict, score and rule ids), a declaration against its content hash, and
    its item rows against its content."""
    recorded = _recorded_digests(session)
    # decisions older than the first audited one predate the audit log (an upgraded
    # database): they have nothing to be checked against
    first_audited = min(recorded) if recorded else None
    last_id = 0
    while True:
        rows = session.exec(
            select(DecisionRecord, DeclarationRecord.content_hash)
            .join(DeclarationRecord, col(DeclarationRecord.id) == DecisionRecord.declaration_pk)
            .where(col(DecisionRecord.id) > last_id)
            .order_by(col(DecisionRecord.id))
            .limit(batch_size)
        ).all()
        if not rows:
            return _altered_declaration(session, batch_size)
        findings = _findings_of(session, [int(row.id or 0) for row, _ in rows])
        for row, content_digest in rows:
            number = int(row.id or 0)
            entry = recorded.get(number)
            if entry is None:
                if first_audited is not None and number > first_audited:
                    return f"decision #{number} has no audit entry"
                continue
            if _digest(row, content_digest, findings.get(number, []), entry[0]) != entry[0]:
                return f"decision #{number} no longer says what audit entry {entry[1]} recorded"
        last_id = int(rows[-1][0].id or 0)


def _digest(row: DecisionRecord, content_digest: str, findings: list[FindingRecord], recorded: str) -> str:
    """The digest an audit entry holds, recomputed from the stored rows, in the form
    the entry holds it (a seal, or the shorter digest of entries written before seals)."""
    from .records import SEAL, seal

    if not recorded.startswith(SEAL):
        rules = sorted(f.rule_id for f in findings if not f.is_test)
        return digest_of(row.decision, row.score, row.ruleset_version, rules)
    rows = [
        {"rule_id": f.rule_id, "title": f.title, "action": f.action, "score": f.score, "item_line": f.item_line,
         "is_test": f.is_test, "evidence": f.evidence}
        for f in findings
    ]  # fmt: skip
    return seal(row.decision, row.score, row.ruleset_version, rows, content_digest, row.facts)


def _findings_of(session: Session, decision_ids: list[int]) -> dict[int, list[FindingRecord]]:
    found: dict[int, list[FindingRecord]] = {}
    query = (
        select(FindingRecord).where(col(FindingRecord.decision_id).in_(decision_ids)).order_by(col(FindingRecord.id))
    )
    for finding in session.exec(query):
        found.setdefault(finding.decision_id, []).append(finding)
    return found


def _altered_declaration(session: Session, batch_size: int) -> str | None:
    """The first declaration whose content no longer has its hash, or whose item rows
    no longer match its content."""
    from .records import ITEM_FIELDS, content_hash

    last_id = 0
    while True:
        rows = session.exec(
            select(DeclarationRecord).where(col(DeclarationRecord.id) > last_id).order_by(col(DeclarationRecord.id))
            .limit(batch_size)
        ).all()  # fmt: skip
        if not rows:
            return None
        items: dict[int, list[tuple[Any, ...]]] = {}
        query = select(ItemRecord).where(col(ItemRecord.declaration_pk).in_([r.id for r in rows]))
        for item in session.exec(query.order_by(col(ItemRecord.id))):
            items.setdefault(item.declaration_pk, []).append(tuple(getattr(item, f) for f in ITEM_FIELDS))
        for row in rows:
            name = f"declaration {row.declaration_id} (revision {row.revision})"
            if content_hash(row.content) != row.content_hash:
                return f"{name} no longer has the content it was stored with"
            declared = [tuple(i.get(f) for f in ITEM_FIELDS) for i in row.content.get("items", [])]
            if items.get(int(row.id or 0), []) != declared:
                return f"the item rows of {name} no longer match its content"
        last_id = int(rows[-1].id or 0)


def _verify_chain(session: Session, batch_size: int) -> Verification:
    prev, expected_id, count = GENESIS, 1, 0
    last_id = 0
    while True:
        query = select(AuditRecord).where(col(AuditRecord.id) > last_id).order_by(col(AuditRecord.id)).limit(batch_size)
        rows = session.exec(query).all()
        if not rows:
            return Verification(True, count, prev)
        for row in rows:
            if row.id != expected_id:
                return Verification(False, count, prev, f"entry {expected_id} is missing (next is {row.id})")
            if row.prev_hash != prev:
                return Verification(False, count, prev, f"entry {row.id} does not follow entry {row.id - 1}")
            entry = Entry(row.actor, row.action, row.subject, row.details)
            if entry_hash(prev, row.at, entry) != row.hash:
                return Verification(False, count, prev, f"entry {row.id} was altered after it was written")
            prev, expected_id, count = row.hash, expected_id + 1, count + 1
        last_id = rows[-1].id or 0


def entries(session: Session, limit: int, action: str | None = None) -> list[AuditRecord]:
    query = select(AuditRecord)
    if action:
        query = query.where(AuditRecord.action == action)
    rows = session.exec(query.order_by(col(AuditRecord.id).desc()).limit(limit)).all()
    return list(reversed(rows))
