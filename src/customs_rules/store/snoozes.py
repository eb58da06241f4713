"""Snoozes in the store: set, lift, list, and the ones screening applies (issue #14).

Setting and lifting a snooze each write the row and an audit entry in one transaction;
the entry seals every column of the row, so `audit verify` names a snooze edited,
inserted or deleted by hand (`altered_snooze`). Rows are never deleted: a lifted snooze
keeps who lifted it, when and why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import Session, col, select

from ..contract.errors import CustomsRulesError
from ..rules.allowances import Snooze
from . import audit
from .seals import first_altered
from .tables import AuditRecord, SnoozeRecord

T = TypeVar("T")
ACTIONS = ("snooze", "unsnooze")
COLUMNS = ("id", "rule_id", "party", "until", "reason", "officer", "set_at", "lifted_at", "lifted_by", "lift_reason")


class SnoozeError(CustomsRulesError):
    """An unknown snooze, or one already lifted: bad input (exit code 2)."""

    exit_code = 2


class SnoozeStore:
    """The snooze methods of `store.Store`, which opens the engines and writes."""

    if TYPE_CHECKING:

        def reading(self) -> AbstractContextManager[Session]: ...

        def write(self, work: Callable[[Session], T]) -> T: ...

    def add_snooze(self, rule_id: str, party: str, until: dt.date, reason: str, officer: str) -> Snooze:
        """Store a snooze and its audit entry (`party`: a normalised company id)."""

        def work(session: Session) -> Snooze:
            row = SnoozeRecord(rule_id=rule_id, party=party, until=until, reason=reason, officer=officer,
                               set_at=_now())  # fmt: skip
            session.add(row)
            session.flush()
            details = {"snooze_id": row.id, "rule_id": rule_id, "party": party, "until": until.isoformat(),
                       "reason": reason, "seal": snooze_seal(row)}  # fmt: skip
            audit.append(session, [audit.Entry(officer, "snooze", f"{rule_id} for {party}", details)])
            return snooze_of(row)

        return self.write(work)

    def lift_snooze(self, snooze_id: int, officer: str, reason: str | None = None) -> Snooze:
        """Lift a snooze now (it stays stored, marked lifted), with its audit entry."""

        def work(session: Session) -> Snooze:
            row = session.get(SnoozeRecord, snooze_id)
            if row is None:
                raise SnoozeError(f"no snooze #{snooze_id}", "customs-rules rules snoozes lists them")
            if row.lifted_at is not None:
                raise SnoozeError(f"snooze #{snooze_id} was already lifted by {row.lifted_by} on "
                                  f"{row.lifted_at:%Y-%m-%d %H:%M} UTC")  # fmt: skip
            row.lifted_at, row.lifted_by, row.lift_reason = _now(), officer, reason
            session.add(row)
            session.flush()
            details = {"snooze_id": row.id, "reason": reason, "seal": snooze_seal(row)}
            audit.append(session, [audit.Entry(officer, "unsnooze", f"{row.rule_id} for {row.party}", details)])
            return snooze_of(row)

        return self.write(work)

    def snoozes(self) -> list[Snooze]:
        """Every snooze, active, expired or lifted, the newest first."""
        with self.reading() as session:
            rows = session.exec(select(SnoozeRecord).order_by(col(SnoozeRecord.id).desc())).all()
            return [snooze_of(row) for row in rows]

    def active_snoozes(self, day: dt.date) -> list[Snooze]:
        """The snoozes in force on `day` (the day of screening): not lifted, `until` not past."""
        with self.reading() as session:
            query = select(SnoozeRecord).where(col(SnoozeRecord.until) >= day, col(SnoozeRecord.lifted_at).is_(None))
            return [snooze_of(row) for row in session.exec(query.order_by(col(SnoozeRecord.id))).all()]


def _now() -> dt.datetime:
    # stored without a zone (UTC), to the second: both back-ends hand it back unchanged
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def snooze_of(row: SnoozeRecord) -> Snooze:
    return Snooze(int(row.id or 0), row.rule_id, row.party, row.until, row.reason, row.officer, row.set_at,
                  row.lifted_at, row.lifted_by, row.lift_reason)  # fmt: skip


def snooze_seal(row: SnoozeRecord) -> str:
    values = []
    for name in COLUMNS:
        value = getattr(row, name)
        values.append(value.isoformat() if isinstance(value, dt.date | dt.datetime) else value)
    return hashlib.sha256(json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()[:32]


def altered_snooze(session: Session) -> str | None:
    """The first snooze that no longer holds what its newest audit entry sealed, that
    has no entry, or that an entry sealed and is gone."""
    newest: dict[int, tuple[int, str]] = {}
    query = select(AuditRecord.id, AuditRecord.details).where(col(AuditRecord.action).in_(ACTIONS))
    for entry_id, details in session.exec(query.order_by(col(AuditRecord.id))):
        newest[int(details["snooze_id"])] = (int(entry_id or 0), str(details.get("seal")))
    rows = session.exec(select(SnoozeRecord).order_by(col(SnoozeRecord.id))).all()
    return first_altered("snooze", rows, newest, snooze_seal)


def describe(snooze: Snooze, day: dt.date) -> dict[str, Any]:
    """A snooze as `rules snoozes` lists it, with its state on `day`."""
    state = "lifted" if snooze.lifted_at is not None else "active" if snooze.active(day) else "expired"
    return {
        "id": snooze.id, "rule_id": snooze.rule_id, "party": snooze.party, "until": snooze.until.isoformat(),
        "state": state, "reason": snooze.reason, "officer": snooze.officer,
        "set_at": snooze.set_at.isoformat(timespec="seconds") + "Z",
        "lifted_at": snooze.lifted_at.isoformat(timespec="seconds") + "Z" if snooze.lifted_at else None,
        "lifted_by": snooze.lifted_by, "lift_reason": snooze.lift_reason,
    }  # fmt: skip
