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

from .tables import AuditRecord

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
    altered = _altered_decision(session)
    return Verification(False, chain.entries, chain.last_hash, altered) if altered else chain


def _recorded_digests(session: Session) -> dict[int, tuple[str, int]]:
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


def _altered_decision(session: Session) -> str | None:
    from .tables import DecisionRecord, FindingRecord

    recorded = _recorded_digests(session)
    rules: dict[int, list[str]] = {}
    for owner, rule_id in session.exec(
        select(FindingRecord.decision_id, FindingRecord.rule_id).where(col(FindingRecord.is_test).is_(False))
    ):
        rules.setdefault(owner, []).append(rule_id)
    # decisions older than the first audited one predate the audit log (an upgraded
    # database): they have nothing to be checked against
    first_audited = min(recorded) if recorded else None
    rows = session.exec(
        select(DecisionRecord.id, DecisionRecord.decision, DecisionRecord.score, DecisionRecord.ruleset_version)
    )
    for row_id, verdict, score, version in rows:
        number = row_id or 0
        entry = recorded.get(number)
        if entry is None:
            if first_audited is not None and number > first_audited:
                return f"decision #{number} has no audit entry"
            continue
        if digest_of(verdict, score, version, sorted(rules.get(number, []))) != entry[0]:
            return f"decision #{number} no longer says what audit entry {entry[1]} recorded"
    return None


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
