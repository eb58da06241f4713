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

from sqlalchemy import and_, insert, or_, text
from sqlmodel import Session, col, select

from .locks import AUDIT_LOCK_KEY
from .pack_rows import altered_pack
from .tables import (
    AuditRecord,
    CompanyBase,
    OutcomeRecord,
    Person,
    PersonBase,
    RuleSetVersion,
    WatchlistBase,
    WatchlistEntry,
)
from .tables import Company as CompanyRow

GENESIS = "0" * 64


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
    last_hash: str  # with `entries`, the head of the chain
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
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})
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


def verify(session: Session, batch_size: int = 5000, expect: Iterable[str] = ()) -> Verification:
    """Walk the whole chain, then check every decision and outcome still says what the
    log recorded, every sealed row still exists and no row exists unsealed; the first
    problem is reported. `expect`: hashes of heads noted earlier (a chain cut back
    behind one of them no longer holds it)."""
    expected = set(expect)
    chain = _verify_chain(session, batch_size, expected)
    if not chain.ok:
        return chain
    if expected:
        return Verification(False, chain.entries, chain.last_hash, _cut_back(sorted(expected), chain))
    altered = (
        _altered_decision(session, batch_size)
        or _altered_outcome(session)
        or _altered_ruleset(session)
        or altered_pack(session)
        or _altered_registry(session)
    )
    return Verification(False, chain.entries, chain.last_hash, altered) if altered else chain


def _cut_back(missing: list[str], chain: Verification) -> str:
    return (
        f"the chain no longer holds the head {missing[0]} noted earlier: entries were removed from its end "
        f"(it now ends at entry {chain.entries}, {chain.last_hash})"
    )


def _recorded_digests(session: Session) -> dict[int, tuple[str, int, bool]]:
    """Per decision id: the digest its audit entry holds, that entry's id, and whether
    the entry says it was screened without a registry ("registry": "none")."""
    found: dict[int, tuple[str, int, bool]] = {}
    query = select(AuditRecord.id, AuditRecord.action, AuditRecord.details).where(
        col(AuditRecord.action).in_(["decision", "decisions"])
    )
    for entry_id, action, details in session.exec(query):
        marked = details.get("registry") == "none"  # a chunk's entry: its run was marked whole
        if action == "decision" and details.get("digest"):
            found[int(details["decision_id"])] = (details["digest"], entry_id or 0, marked)
        for item in details.get("decisions", []) if action == "decisions" else []:
            if len(item) > 3:
                found[int(item[0])] = (item[3], entry_id or 0, marked)
    return found


def _altered_decision(session: Session, batch_size: int = 5000) -> str | None:
    """The first stored decision or declaration that no longer says what was recorded:
    a decision against its audit entry's seal (its row, findings with their evidence,
    facts and its declaration's content hash; older entries hold a shorter digest of the
    verdict, score and rule ids), a declaration against its content hash."""
    from .checks import altered_decision  # with polars: not for a cold submit

    return altered_decision(session, _recorded_digests(session), batch_size, digest_of)


def outcome_seal(row: OutcomeRecord) -> str:
    """Every column of an inspection outcome, in a few bytes its audit entry keeps."""
    body = [row.decision_id, row.declaration_id, row.result, row.note, row.officer, _utc(row.recorded_at).isoformat()]
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()[:16]


def _altered_outcome(session: Session) -> str | None:
    """The first outcome that is missing, altered or unsealed. Entries hold the outcome's
    id and seal; older ones (written before seals) name its decision, result and note,
    and are matched to the outcome rows without an entry of the newer form in order."""
    sealed: dict[int, tuple[str, int]] = {}
    older: list[tuple[int, dict[str, Any]]] = []
    query = select(AuditRecord.id, AuditRecord.details).where(AuditRecord.action == "outcome")
    for entry_id, details in session.exec(query.order_by(col(AuditRecord.id))):
        if "outcome_id" in details:
            sealed[int(details["outcome_id"])] = (details["seal"], int(entry_id or 0))
        else:
            older.append((int(entry_id or 0), dict(details)))
    unsealed = []
    for row in session.exec(select(OutcomeRecord).order_by(col(OutcomeRecord.id))):
        entry = sealed.pop(int(row.id or 0), None)
        if entry is None:
            unsealed.append(row)
        elif outcome_seal(row) != entry[0]:
            return f"outcome of decision #{row.decision_id} no longer says what audit entry {entry[1]} recorded"
    for (entry_id, details), row in zip(older, unsealed, strict=False):
        if (details.get("decision_id"), details.get("result"), details.get("note")) != (
            row.decision_id, row.result, row.note,
        ):  # fmt: skip
            return f"outcome of decision #{row.decision_id} no longer says what audit entry {entry_id} recorded"
    if sealed or len(older) > len(unsealed):
        entry_id = min(e for _, e in sealed.values()) if sealed else older[len(unsealed)][0]
        return f"the outcome recorded by audit entry {entry_id} is missing"
    if len(unsealed) > len(older):
        return f"outcome of decision #{unsealed[len(older)].decision_id} has no audit entry"
    return None


def _verify_chain(session: Session, batch_size: int, expected: set[str]) -> Verification:
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
            expected.discard(row.hash)
        last_id = rows[-1].id or 0


def entries(session: Session, limit: int, action: str | None = None) -> list[AuditRecord]:
    query = select(AuditRecord)
    if action:
        query = query.where(AuditRecord.action == action)
    rows = session.exec(query.order_by(col(AuditRecord.id).desc()).limit(limit)).all()
    return list(reversed(rows))


# a registry table (the subject of its `registry_load` entries) and the columns its seal covers
REGISTRY_TABLES: dict[str, tuple[Any, list[str]]] = {
    "companies": (CompanyRow, list(CompanyBase.model_fields)),
    "people": (Person, list(PersonBase.model_fields)),
    "watchlist": (WatchlistEntry, list(WatchlistBase.model_fields)),
}


def registry_seal(session: Session, table: str, columns: list[str] | None = None) -> str:
    """A registry table's rows as stored, in a few bytes its `registry_load` entry keeps:
    the registry is replaced whole, so the newest entry of each table seals all of it.
    Read back in the loading transaction, so both back-ends seal what they hand back.
    `columns`: those the entry names (a later release may add columns to the table)."""
    model, current = REGISTRY_TABLES[table]
    columns = columns or current
    query = select(*(getattr(model, c) for c in columns)).order_by(col(model.id))
    dates = [i for i, c in enumerate(columns) if model.model_fields[c].annotation in (dt.date, dt.date | None)]
    # the driver's rows, not the ORM's: SQLite hands dates back as the ISO text they seal as
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(str(query.compile(session.get_bind())))
        return _seal_rows(cursor, dates)
    finally:
        cursor.close()


def _seal_rows(cursor: Any, dates: list[int]) -> str:
    digest = hashlib.sha256()
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    while rows := cursor.fetchmany(10_000):
        lines = []
        for row in rows:
            values = list(row)
            for i in dates:
                if isinstance(values[i], dt.date):
                    values[i] = values[i].isoformat()
            lines.append(encode(values))
        digest.update(("\n".join(lines) + "\n").encode())
    return digest.hexdigest()[:32]


# how json.JSONEncoder(ensure_ascii=False) writes each character it escapes
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_ESCAPES |= {chr(n): f"\\u{n:04x}" for n in range(32) if chr(n) not in _ESCAPES}
# rows encoded at a time: their text is one bytes object, a few MB that C's allocator
# keeps once freed (50,000 rows left ~40 MB of it in a load, beside the registry's keys)
_SEAL_SLICE = 8_192


def frame_seal(frame: Any, columns: list[str]) -> str:
    """`registry_seal` of a table whose rows (in id order) are the frame's `columns`: the
    frame a load just stored, whose values the driver hands back as they were given
    (text, null, and dates as ISO text). Each row is written as `_seal_rows` writes it,
    by polars expressions instead of a JSON encoder call per row."""
    import polars as pl

    values = []
    for name in columns:
        column, dtype = pl.col(name), frame.schema[name]
        if dtype == pl.Date:
            years = frame[name].dt.year().drop_nulls()
            if not years.is_empty() and (years.min() < 1000 or years.max() > 9999):
                text = column.map_elements(dt.date.isoformat, return_dtype=pl.Utf8)  # as isoformat pads them
            else:
                text = column.dt.to_string("%Y-%m-%d")
        elif dtype == pl.Utf8:
            text = column.str.replace_many(list(_ESCAPES), list(_ESCAPES.values()))
        else:
            raise TypeError(f"a registry seal covers text and dates, not {dtype}")
        values.append(pl.when(column.is_null()).then(pl.lit("null")).otherwise(pl.lit('"') + text + pl.lit('"')))
    lines = frame.select(pl.concat_str(pl.lit("["), pl.concat_str(values, separator=","), pl.lit("]")).alias("line"))
    digest = hashlib.sha256()
    for part in lines.iter_slices(_SEAL_SLICE):  # each slice's lines as UTF-8 bytes, made by polars
        digest.update(part["line"].str.join("\n").cast(pl.Binary).item() + b"\n")
    return digest.hexdigest()[:32]


def _altered_registry(session: Session) -> str | None:
    """The first registry table that no longer holds what its newest load sealed (loads
    written before seals have nothing to be checked against)."""
    for table in REGISTRY_TABLES:
        query = select(AuditRecord.id, AuditRecord.details).where(
            AuditRecord.action == "registry_load", AuditRecord.subject == table
        )
        newest = session.exec(query.order_by(col(AuditRecord.id).desc()).limit(1)).first()
        if newest is None or "seal" not in newest[1]:
            continue
        if registry_seal(session, table, newest[1].get("columns")) != newest[1]["seal"]:
            return f"the {table} table no longer holds what audit entry {newest[0]} loaded"
    return _altered_snapshot(session)


SNAPSHOT_TABLES = ("companies", "people")  # the loads that write the registry snapshot


def _altered_snapshot(session: Session) -> str | None:
    """Whether the registry snapshot (`store.registry_snapshot`) still holds what the newest
    load that wrote it stored, or what migration 0014 wrote of it (its `registry_snapshot`
    entry; loads before the snapshot kept no digest). Since 0014 the snapshot is the only
    copy of the name keys, person pairs and company edges: this is what covers them."""
    from .registry_snapshot import digest

    query = select(AuditRecord.id, AuditRecord.details).where(
        or_(col(AuditRecord.action) == "registry_snapshot",
            and_(col(AuditRecord.action) == "registry_load", col(AuditRecord.subject).in_(SNAPSHOT_TABLES)))
    )  # fmt: skip
    newest = session.exec(query.order_by(col(AuditRecord.id).desc()).limit(1)).first()
    if newest is None or "snapshot" not in newest[1] or digest(session) == newest[1]["snapshot"]:
        return None
    return f"the registry snapshot no longer holds what audit entry {newest[0]} stored"


def _altered_ruleset(session: Session) -> str | None:
    """The first stored rule set whose files no longer hash to its version (the version
    is the digest of its files: `rules.RulePack.version`)."""
    for version, content in session.exec(select(RuleSetVersion.version, RuleSetVersion.content)):
        digest = hashlib.sha256()
        for name in sorted(content):
            digest.update(name.encode() + b"\0" + str(content[name]).encode() + b"\0")
        if f"sha256:{digest.hexdigest()}" != version:
            return f"rule set {version} no longer holds the rule files it was stored with"
    return None
