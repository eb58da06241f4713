"""The rule-pack side of the store: publish a pack version as proposed, approve it (four
eyes: another officer) into the one active pack, reject or withdraw it, and read the
history and the active pack back. `pack_rows` holds the table and the seals.

Each step is one transaction with its audit entry. Steps take a PostgreSQL advisory
lock (SQLite's BEGIN IMMEDIATE serialises writers anyway) and re-read the pack inside
it, so two approvals racing leave exactly one active pack, and an approval and a
rejection of one pack cannot both pass; the partial unique index on the `active` status
holds the one active pack even against a writer that skips the lock.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import text
from sqlmodel import Session, col, select

from ..contract.errors import FourEyesError, PackError
from . import audit
from .locks import PACK_LOCK_KEY
from .pack_rows import (
    ACTIVE,
    PROPOSED,
    REJECTED,
    SUPERSEDED,
    WITHDRAWN,
    PackVersion,
    RulePackRow,
    pack_seal,
    version_of,
)
from .tables import RuleSetVersion

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

T = TypeVar("T")
NUMBER = re.compile(r"#?([0-9]{1,9})")
HASH_PREFIX = re.compile(r"(?:sha256:)?([0-9a-f]{8,64})")
HISTORY_HINT = "customs-rules rules history lists the packs with their numbers and status"


class PackStore:
    """The rule-pack methods of `store.Store`, which opens the engines and writes."""

    if TYPE_CHECKING:

        def reading(self) -> AbstractContextManager[Session]: ...

        def write(self, work: Callable[[Session], T]) -> T: ...

    def publish_pack(
        self,
        version: str,
        contents: dict[str, str],
        officer: str,
        note: str | None = None,
        source: str | None = None,
        backtest: dict[str, Any] | None = None,
    ) -> PackVersion:
        """Store a validated pack's files (once per version) and a new publication of it,
        `proposed`, with its audit entry. Refused while the same version is proposed or
        active (PackError)."""

        def work(session: Session) -> PackVersion:
            _one_step_at_a_time(session)
            for row in session.exec(select(RulePackRow).where(RulePackRow.version == version)):
                if row.status in (PROPOSED, ACTIVE):
                    what = "the active pack" if row.status == ACTIVE else f"proposed by {row.proposed_by}"
                    raise PackError(
                        f"{version} is already #{row.id}, {what}: nothing was stored",
                        f"approve or reject #{row.id}; {HISTORY_HINT}",
                    )
            ensure_ruleset(session, version, contents, officer)
            row = RulePackRow(version=version, status=PROPOSED, proposed_by=officer, note=note, source=source,
                              proposed_at=_now(), backtest=backtest)  # fmt: skip
            session.add(row)
            session.flush()
            details = {"pack": row.id, "note": note, "source": source, "files": len(contents),
                       "backtest": backtest is not None, "seals": {str(row.id): pack_seal(row)}}  # fmt: skip
            audit.append(session, [audit.Entry(officer, "ruleset_publish", version, details)])
            return version_of(row)

        return self.write(work)

    def approve_pack(
        self, ref: str, officer: str, note: str | None = None, version: str | None = None
    ) -> tuple[PackVersion, int | None]:
        """Make a proposed pack the active one, by an officer other than its proposer
        (FourEyesError otherwise); the active one before it becomes `superseded`, and its
        number is returned beside the pack (None: none was active). With `version`,
        refused unless the pack still holds that version (the one that was checked)."""

        def work(session: Session) -> tuple[PackVersion, int | None]:
            _one_step_at_a_time(session)
            row = _proposed(session, ref, "approve")
            if version is not None and row.version != version:
                raise PackError(f"#{row.id} no longer holds {version}: nothing was changed", HISTORY_HINT)
            if same_officer(row.proposed_by, officer):
                raise FourEyesError(
                    f"#{row.id} was proposed by {row.proposed_by}: the same officer cannot approve it (four eyes); "
                    "nothing was changed",
                    "another officer approves it: customs-rules rules approve "
                    f"{row.id} --officer NAME (or withdraw it: customs-rules rules reject {row.id})",
                )
            now = _now()
            previous = session.exec(select(RulePackRow).where(RulePackRow.status == ACTIVE)).first()
            seals: dict[str, str] = {}
            if previous is not None:
                previous.status, previous.superseded_by, previous.superseded_at = SUPERSEDED, row.id, now
                session.flush()  # before the new one: one active row at any moment (the unique index)
                seals[str(previous.id)] = pack_seal(previous)
            row.status, row.decided_by, row.decided_at, row.decision_note = ACTIVE, officer, now, note
            session.flush()
            seals[str(row.id)] = pack_seal(row)
            details = {"pack": row.id, "note": note, "superseded": previous.id if previous else None, "seals": seals}
            audit.append(session, [audit.Entry(officer, "ruleset_approve", row.version, details)])
            return version_of(row), previous.id if previous is not None else None

        return self.write(work)

    def reject_pack(self, ref: str, officer: str, note: str | None = None) -> PackVersion:
        """Refuse a proposed pack (`rejected`), or take one's own proposal back
        (`withdrawn`): it can no longer be approved."""

        def work(session: Session) -> PackVersion:
            _one_step_at_a_time(session)
            row = _proposed(session, ref, "reject")
            row.status = WITHDRAWN if same_officer(row.proposed_by, officer) else REJECTED
            row.decided_by, row.decided_at, row.decision_note = officer, _now(), note
            session.flush()
            details = {"pack": row.id, "status": row.status, "note": note, "seals": {str(row.id): pack_seal(row)}}
            audit.append(session, [audit.Entry(officer, "ruleset_reject", row.version, details)])
            return version_of(row)

        return self.write(work)

    def active_pack(self) -> PackVersion | None:
        """The active publication with its files, or None when none was approved."""
        with self.reading() as session:
            row = session.exec(select(RulePackRow).where(RulePackRow.status == ACTIVE)).first()
            return None if row is None else version_of(row, _contents(session, row.version))

    def pack_versions(self) -> list[PackVersion]:
        """Every publication, oldest first (no files)."""
        with self.reading() as session:
            return [version_of(row) for row in session.exec(select(RulePackRow).order_by(col(RulePackRow.id)))]

    def unpublished_versions(self) -> list[tuple[str, dt.datetime]]:
        """The rule-set versions decisions used that were never published (a `--rules`
        folder, the bundled pack), with when each was first stored."""
        with self.reading() as session:
            published = select(RulePackRow.version)
            query = select(RuleSetVersion.version, RuleSetVersion.first_used_at).where(
                col(RuleSetVersion.version).not_in(published)
            )
            return [(v, at) for v, at in session.exec(query.order_by(col(RuleSetVersion.first_used_at)))]

    def find_pack(self, ref: str) -> PackVersion:
        """A publication with its files: `3`, `#3`, or its version (`sha256:` and at
        least 8 hex digits of it; the newest publication of that version)."""
        with self.reading() as session:
            row = _find(session, ref)
            return version_of(row, _contents(session, row.version))

    def stored_ruleset(self, ref: str) -> tuple[str, dict[str, str]] | None:
        """A rule-set version any decision used or any pack published (`sha256:` and at
        least 8 hex digits of it) and its files; None when none matches."""
        found = HASH_PREFIX.fullmatch(ref.strip().lower())
        if found is None:
            return None
        with self.reading() as session:
            query = select(RuleSetVersion.version).where(col(RuleSetVersion.version).startswith(f"sha256:{found[1]}"))
            versions = list(session.exec(query.limit(2)))
            if len(versions) > 1:
                raise PackError(f"{ref} names several stored rule sets: give more of its digits", HISTORY_HINT)
            return (versions[0], _contents(session, versions[0])) if versions else None


def ensure_ruleset(session: Session, version: str, content: dict[str, str], actor: str) -> None:
    """Keep a rule set's files once per version, with the audit entry of its first use."""
    if session.get(RuleSetVersion, version) is None:
        session.add(RuleSetVersion(version=version, first_used_at=dt.datetime.now(dt.UTC), content=content))
        session.flush()
        audit.append(session, [audit.Entry(actor, "ruleset", version, {"files": sorted(content)})])


def same_officer(one: str, other: str) -> bool:
    """Officers' names compared as people read them: case, width and spacing aside
    (`KZ-042 ` is `kz-042`), so the four-eyes rule is not passed by a capital letter."""

    def key(name: str) -> str:
        return " ".join(unicodedata.normalize("NFKC", name).casefold().split())

    return key(one) == key(other)


def _one_step_at_a_time(session: Session) -> None:
    """Publish, approve and reject one at a time, each reading the packs' rows after the
    step before it committed: PostgreSQL's advisory lock (SQLite's BEGIN IMMEDIATE has
    already taken its one write lock). Taken before the audit log's lock, always."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PACK_LOCK_KEY})


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _contents(session: Session, version: str) -> dict[str, str]:
    stored = session.get(RuleSetVersion, version)
    assert stored is not None  # a foreign key
    return dict(stored.content)


def _find(session: Session, ref: str) -> RulePackRow:
    given = ref.strip().lower()
    number = NUMBER.fullmatch(given)
    if number is not None:
        row = session.get(RulePackRow, int(number[1]))
        if row is None:
            raise PackError(f"no rule pack #{int(number[1])} on this database", HISTORY_HINT)
        return row
    digits = HASH_PREFIX.fullmatch(given)
    if digits is None:
        raise PackError(
            f"{ref!r} names no rule pack: give its number (3 or '#3') or its version (sha256:, at least 8 hex digits)",
            HISTORY_HINT,
        )
    query = select(RulePackRow).where(col(RulePackRow.version).startswith(f"sha256:{digits[1]}"))
    rows = list(session.exec(query.order_by(col(RulePackRow.id).desc())))
    if not rows:
        raise PackError(f"no rule pack of version {ref} on this database", HISTORY_HINT)
    if len({r.version for r in rows}) > 1:
        numbers = ", ".join(f"#{r.id}" for r in sorted(rows, key=lambda r: r.id or 0))
        raise PackError(f"{ref} names several rule packs ({numbers}): give more of its digits, or its number")
    return rows[0]


def _proposed(session: Session, ref: str, step: str) -> RulePackRow:
    row = _find(session, ref)
    if row.status == PROPOSED:
        return row
    why = {
        ACTIVE: f"it is already the active pack (approved by {row.decided_by})",
        SUPERSEDED: f"it was active, and #{row.superseded_by} superseded it",
        REJECTED: f"{row.decided_by} rejected it",
        WITHDRAWN: f"{row.decided_by} withdrew it",
    }.get(row.status, f"its status is {row.status}")
    again = " (publish its folder again to propose it anew)" if row.status != ACTIVE else ""
    raise PackError(f"cannot {step} #{row.id}: only a proposed pack can be, and {why}{again}", HISTORY_HINT)
