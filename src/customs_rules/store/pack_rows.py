"""Published rule packs as rows (`rule_pack`, migration 0009), their seals, and the
check `audit verify` runs on them.

A pack's files are kept once per version in `ruleset_version` (their content); each
publication of a version is a `rule_pack` row, numbered (`#3`), with its status:
`proposed` (published, waiting for a second officer), `active` (the pack every post on
the database screens with; at most one, which a partial unique index holds),
`superseded` (active before), `rejected` or `withdrawn` (refused by another officer, or
taken back by its proposer). Every step writes an audit entry that seals each row it
changed, so a row edited, added or removed behind the tool's back is named by `verify`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column
from sqlalchemy.types import JSON
from sqlmodel import Field, Session, SQLModel, col, select

from .seals import first_altered
from .tables import AuditRecord, partial_index

PROPOSED, ACTIVE, SUPERSEDED, REJECTED, WITHDRAWN = "proposed", "active", "superseded", "rejected", "withdrawn"
STEPS = ("ruleset_publish", "ruleset_approve", "ruleset_reject")  # the audit actions of the steps


class RulePackRow(SQLModel, table=True):
    """One publication of a rule-pack version, numbered by `id`."""

    __tablename__ = "rule_pack"
    __table_args__ = (
        partial_index("ux_rule_pack_one_active", "status", where="status = 'active'"),
    )  # fmt: skip
    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(foreign_key="ruleset_version.version", index=True)
    status: str
    proposed_by: str
    proposed_at: dt.datetime
    note: str | None = None
    source: str | None = None  # the directory it was published from, as given
    backtest: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON(none_as_null=True)))
    decided_by: str | None = None  # who approved, rejected or withdrew it
    decided_at: dt.datetime | None = None
    decision_note: str | None = None
    superseded_by: int | None = None  # the pack approved after it
    superseded_at: dt.datetime | None = None


@dataclass(frozen=True)
class PackVersion:
    """A publication as the library hands it out (`contents`: its files, when read)."""

    number: int
    version: str
    status: str
    proposed_by: str
    proposed_at: dt.datetime
    note: str | None = None
    source: str | None = None
    backtest: dict[str, Any] | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decision_note: str | None = None
    superseded_by: int | None = None
    superseded_at: dt.datetime | None = None
    contents: dict[str, str] | None = None

    @property
    def label(self) -> str:
        return f"#{self.number}"

    def as_dict(self) -> dict[str, Any]:
        """The history's JSON object (times as ISO-8601 UTC)."""
        return {
            "pack": self.number, "version": self.version, "status": self.status,
            "proposed_by": self.proposed_by, "proposed_at": iso(self.proposed_at), "note": self.note,
            "source": self.source, "decided_by": self.decided_by, "decided_at": iso(self.decided_at),
            "decision_note": self.decision_note, "superseded_by": self.superseded_by,
            "superseded_at": iso(self.superseded_at), "backtest": self.backtest,
        }  # fmt: skip


def used_row(version: str, first_stored: dt.datetime) -> dict[str, Any]:
    """A rule set decisions used that was never published, as a history row."""
    keys = PackVersion(0, "", "", "", first_stored).as_dict()
    return dict.fromkeys(keys) | {"version": version, "status": "used", "proposed_at": iso(first_stored)}


def iso(at: dt.datetime | None) -> str | None:
    return None if at is None else utc(at).isoformat() + "Z"


def utc(at: dt.datetime) -> dt.datetime:
    """Naive UTC, as both databases hand it back."""
    return at.replace(tzinfo=None) if at.tzinfo is None else at.astimezone(dt.UTC).replace(tzinfo=None)


def version_of(row: RulePackRow, contents: dict[str, str] | None = None) -> PackVersion:
    assert row.id is not None
    return PackVersion(
        row.id, row.version, row.status, row.proposed_by, row.proposed_at, row.note, row.source, row.backtest,
        row.decided_by, row.decided_at, row.decision_note, row.superseded_by, row.superseded_at, contents,
    )  # fmt: skip


def pack_seal(row: RulePackRow) -> str:
    """Every column of a publication, in a few bytes its audit entries keep."""
    times = [None if t is None else utc(t).isoformat() for t in (row.proposed_at, row.decided_at, row.superseded_at)]
    backtest = None if row.backtest is None else json.dumps(row.backtest, sort_keys=True, separators=(",", ":"))
    body = [row.id, row.version, row.status, row.proposed_by, times[0], row.note, row.source, backtest,
            row.decided_by, times[1], row.decision_note, row.superseded_by, times[2]]  # fmt: skip
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()[:32]


def altered_pack(session: Session) -> str | None:
    """The first publication that no longer says what the newest audit entry naming it
    sealed, that no entry seals (added by hand: an "active" pack nobody approved), or
    that an entry sealed and is gone."""
    sealed: dict[int, tuple[int, str]] = {}
    query = select(AuditRecord.id, AuditRecord.details).where(col(AuditRecord.action).in_(STEPS))
    for entry_id, details in session.exec(query.order_by(col(AuditRecord.id))):
        for number, seal in (details.get("seals") or {}).items():
            sealed[int(number)] = (int(entry_id or 0), seal)
    rows = session.exec(select(RulePackRow).order_by(col(RulePackRow.id)))
    return first_altered("rule pack", rows, sealed, pack_seal, lambda row: f" ({row.status})",
                         ": it was not published by customs-rules")  # fmt: skip
