"""The store: one database, opened once, written in transactions.

Writes are transactions: a registry file replaces its table whole or not at all, a chunk
of screened declarations is stored with its decisions, findings and audit entries in one
go, and a submission is stored with its decision and audit entry or not at all.
SQLite runs in WAL mode with `BEGIN IMMEDIATE` and retries "database is locked", so
officers never see it; PostgreSQL conflicts between concurrent submissions are retried.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlmodel import Session, SQLModel, create_engine, func, select

from ..contract.errors import StorageError
from . import audit, default_db_url, queries, schema
from . import reading as readback
from .connect import (
    _MISSING_HINT,
    _MISSING_PG_HINT,
    _URL_HINT,
    MissingDatabase,
    _check_sqlite_file,
    _checked,
    _missing_server_database,
    _sqlite_begin,
    _sqlite_connect,
)
from .packs import PackStore
from .packs import ensure_ruleset as _ensure_ruleset
from .prepared import Prepared, prepare
from .records import Stored, chunk_entry, record, without_registry
from .registry_store import RegistryStore
from .sets import json_text as _json_text
from .sets import screened_sets
from .snoozes import SnoozeStore, altered_snooze
from .tables import DecisionRecord, OutcomeRecord, describe_for_postgresql

RETRIES = 8
INSERT_SLICE = 5_000
CHECKPOINT_WRITES = 25  # stored chunks between two restarts of the SQLite write-ahead log
T = TypeVar("T")

if TYPE_CHECKING:
    from ..contract.models import Declaration
    from ..screening.frames import DeclarationSet, ScreenedSet


class Store(RegistryStore, PackStore, SnoozeStore):
    """One database: open it once, then load registries, submit and screen."""

    def __init__(self, url: str | None = None, create: bool = True) -> None:
        """Open the database at `url`; with `create` false (read-only commands), refuse
        one that does not exist instead of creating it empty."""
        self.url = url or default_db_url()
        self._writes = 0
        self.bulk_method = "auto"  # how rows are written: see bulk.METHODS (benchmarks try each)
        file = self.url.startswith("sqlite:///") and self.url != "sqlite:///:memory:"
        if file and not create and not Path(self.url.removeprefix("sqlite:///")).is_file():
            raise MissingDatabase(f"no database at {self.url.removeprefix('sqlite:///')}", _MISSING_HINT)
        if file:
            _check_sqlite_file(Path(self.url.removeprefix("sqlite:///")), self.url)
        try:
            if file:
                Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            # timestamps are stored as UTC: a PostgreSQL session in another zone would shift them
            options: dict[str, Any] = {"json_serializer": _json_text}
            if self.url.startswith("postgresql"):
                options["connect_args"] = {"options": "-c timezone=UTC"}
            self.engine: Engine = create_engine(self.url, **options)
            self.read_engine = self.engine
            if self.engine.dialect.name == "sqlite":
                event.listen(self.engine, "connect", _sqlite_connect)
                event.listen(self.engine, "begin", _sqlite_begin)
                # readers take no lock in WAL mode: a long read (a rescreen's registry
                # look-ups) must not hold the write lock the same run needs to store
                self.read_engine = create_engine(self.url, json_serializer=_json_text)
                event.listen(self.read_engine, "connect", _sqlite_connect)
                event.listen(self.read_engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
                self.lookup_engine = self.read_engine
            else:
                describe_for_postgresql()  # the partial indexes' WHERE, for Alembic's comparison
                # registry look-ups see one snapshot per block (StoredRegistry.prefetch)
                self.lookup_engine = self.engine.execution_options(isolation_level="REPEATABLE READ")
            if not create and not schema.exists(self.engine):
                self.close()
                raise MissingDatabase(f"no customs-rules database at {self.engine.url!r}", _MISSING_HINT)
            self._retry(lambda: schema.upgrade(self.engine))
            if file:
                _checked(Path(self.url.removeprefix("sqlite:///")))
        except schema.UnusableDatabase:
            self.close()
            raise
        except (SQLAlchemyError, OSError, ValueError, ImportError) as exc:
            missing = _missing_server_database(self.url, exc)
            if missing:  # a mistyped name in --db is bad input, as a missing SQLite file is
                raise MissingDatabase(f"no database {missing} on the server", _MISSING_PG_HINT) from None
            raise StorageError(f"cannot open the database {self.url}: {exc}".splitlines()[0], _URL_HINT) from None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        for engine in {self.engine, self.read_engine, self.lookup_engine}:
            engine.dispose()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        with Session(self.read_engine) as session:
            yield session

    def _retry(self, work: Callable[[], T]) -> T:
        """Run work, again after a short random pause when the database was busy or a
        concurrent writer took the same key first; the work re-reads what it needs."""
        for attempt in range(RETRIES):
            try:
                return work()
            except (OperationalError, IntegrityError) as exc:
                busy = isinstance(exc, OperationalError) and "locked" in str(exc).lower()
                conflict = isinstance(exc, IntegrityError) and _is_unique_violation(exc)
                if not (busy or conflict) or attempt == RETRIES - 1:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise AssertionError("unreachable")

    def write(self, work: Callable[[Session], T]) -> T:
        """One transaction, retried on lock or unique conflicts; any failure stores nothing."""

        def attempt() -> T:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                return work(session)

        try:
            return self._retry(attempt)
        except SQLAlchemyError as exc:
            # true of this transaction: a caller that stored earlier ones says what they hold
            detail = f"database write failed: {exc}".splitlines()[0]
            raise StorageError(detail.replace(":", ", nothing was stored:", 1), detail=detail) from None

    # -- screenings -------------------------------------------------------------------

    def record_ruleset(self, version: str, content: dict[str, str], actor: str = "system") -> None:
        def work(session: Session) -> None:
            _ensure_ruleset(session, version, content, actor)

        self.write(work)

    def record_set(
        self, screened: ScreenedSet, kind: str = "screen", officer: str | None = None, force: bool = False
    ) -> Stored:
        """Store a screened set in one transaction: its declarations (new revisions where
        an id comes again with other content; identical content is stored once), their
        items, a decision per declaration not decided alike before (every one with
        `force`: a rescreen), findings with their evidence, the facts' signatures, and the
        audit entry that seals every row written. The rule set must be recorded."""
        (stored,) = self.record_sets([prepare(screened)], kind, officer, force)
        return stored

    def record_sets(
        self, sets: Sequence[Prepared], kind: str = "screen", officer: str | None = None, force: bool = False
    ) -> list[Stored]:
        """Store prepared sets (`prepared.prepare`, which needs no database: a writer
        thread prepares the next set while this one is stored) in one transaction."""

        def work(session: Session) -> list[Stored]:
            return self.record_in(session, sets, kind, officer, force)

        if not any(len(part.screened) for part in sets):
            return [Stored([]) for _ in sets]
        done = self.write(work)
        self._writes += 1
        if self._writes % CHECKPOINT_WRITES == 0:
            self.checkpoint()
        return done

    def record_in(
        self, session: Session, sets: Sequence[Prepared], kind: str = "screen", officer: str | None = None,
        force: bool = False,
    ) -> list[Stored]:  # fmt: skip
        """Store prepared sets in the caller's transaction, each with the audit entry
        that seals what it wrote (a batch's writer keeps one open over several)."""
        done = [record(session, part, kind, officer, force, self.bulk_method) for part in sets]
        entries = [chunk_entry(part.screened, stored, kind, officer) for part, stored in zip(sets, done, strict=True)]
        audit.append(session, [entry for entry in entries if entry is not None])
        return done

    def record_screenings(
        self, screenings: Iterable[Any], kind: str = "screen", officer: str | None = None, force: bool = False
    ) -> list[int | None]:
        """Store screened declarations one at a time (each with `.declaration`, `.decision`,
        a `contract.decision.Decision`, and `.facts`) through `record_sets`, in one transaction.
        Returns each one's new decision id (None: already stored)."""
        batch = list(screenings)
        groups = screened_sets(batch)
        done = self.record_sets([prepare(screened) for screened, _ in groups], kind, officer, force)
        ids: list[int | None] = [None] * len(batch)
        for (_, places), stored in zip(groups, done, strict=True):
            for place, found in zip(places, stored.decisions, strict=True):
                ids[place] = found[0] if found else None
        return ids

    def checkpoint(self) -> None:
        """SQLite: copy the write-ahead log into the database and start it afresh. A
        batch's workers read and write all the time, so the log never finds the idle
        moment it restarts in by itself: it grew to 8.5 GB over 1M lines. This waits for
        the reads open now to end (workers end theirs before they store)."""
        if self.dialect != "sqlite":
            return
        raw = self.engine.raw_connection()
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()

    def submit(self, screening: Any, officer: str, source: str, ruleset: dict[str, str]) -> tuple[dict[str, Any], bool]:
        """Store one screened declaration, its decision and audit entries in one
        transaction. Returns the stored decision and whether it is new: when another
        officer stored the same declaration first (screened alike: with a registry, or
        without one), theirs is returned."""
        decl = screening.declaration
        without = without_registry(screening.decision)
        ((screened, _),) = screened_sets([screening])
        prepared = prepare(screened)
        digest = prepared.heads.get_column("content_hash")[0]

        def stored_by_another(session: Session) -> tuple[dict[str, Any], bool] | None:
            same = queries.identical(session, decl.declaration_id, digest, without)
            if same is None:
                return None
            found: dict[str, Any] = {"source": source, "already_stored": queries.reference(same.id)}
            audit.append(session, [audit.Entry(officer, "submit", decl.declaration_id, found)])
            return queries.decision_dict(session, same), False

        def work(session: Session) -> tuple[dict[str, Any], bool]:
            # another officer may have stored it while this one screened, even between
            # two statements of this transaction (read committed): check before and after
            earlier = stored_by_another(session)
            if earlier is not None:
                return earlier
            _ensure_ruleset(session, screening.decision.ruleset_version, ruleset, officer)
            (stored,) = record(session, prepared, "submit", officer, method=self.bulk_method).decisions
            if stored is None:
                later = stored_by_another(session)
                assert later is not None  # record() skips only what is stored already
                return later
            decision_pk, sealed = stored
            details = {"source": source, "decision_id": decision_pk}
            audit.append(session, [audit.Entry(officer, "submit", decl.declaration_id, details)])
            audit.append(session, [decision_entry(screening, decision_pk, sealed, "submit", officer)])
            row = session.get(DecisionRecord, decision_pk)
            assert row is not None
            return queries.decision_dict(session, row), True

        return self.write(work)

    def stored_decision(self, declaration: Declaration, without_registry: bool = False) -> dict[str, Any] | None:
        """The decision already stored for exactly this declaration, if any, screened
        alike: with a registry, or (`without_registry`) without one."""
        (found,) = self.stored_decisions(declaration, (without_registry,))
        return found

    def stored_decisions(
        self, declaration: Declaration, without_registry: Sequence[bool] = (False, True)
    ) -> list[dict[str, Any] | None]:
        """`stored_decision` for each value of `without_registry`, in that order: the
        content hashed once, read in one session (a submission asks both ways)."""
        from ..screening.frames import DeclarationSet
        from .content import content_hashes

        declarations = DeclarationSet.from_declarations([declaration])
        (digest,) = content_hashes(declarations.headers, declarations.items)
        with self.reading() as session:
            rows = [queries.identical(session, declaration.declaration_id, digest, w) for w in without_registry]
            return [queries.decision_dict(session, row) if row is not None else None for row in rows]

    def audit_submission(self, actor: str, declaration_id: str, source: str, existing: str) -> None:
        details = {"source": source, "already_stored": existing}
        self.append_audit([audit.Entry(actor, "submit", declaration_id, details)])

    def audit_rescreen(
        self,
        actor: str,
        since: Any,
        screened: int,
        stricter: int,
        version: str,
        without_registry: bool = False,
        until: Any = None,
    ) -> None:
        details = {"since": str(since) if since else None, "screened": screened, "stricter": stricter,
                   "ruleset_version": version} | ({"until": str(until)} if until else {})  # fmt: skip
        if without_registry:
            details["registry"] = "none"
        self.append_audit([audit.Entry(actor, "rescreen", "stored declarations", details)])

    def record_rejection(self, actor: str, subject: str, source: str, errors: list[str]) -> None:
        details = {"source": source, "errors": errors}
        self.write(lambda session: audit.append(session, [audit.Entry(actor, "rejected", subject, details)]))

    def decisions(self, **filters: Any) -> list[dict[str, Any]]:
        with self.reading() as session:
            return queries.listing(session, **filters)

    def explain(self, ref: str) -> dict[str, Any] | None:
        with self.reading() as session:
            row = queries.find(session, ref)
            return queries.explanation(session, row) if row is not None else None

    def add_outcome(self, ref: str, result: str, note: str | None, officer: str) -> dict[str, Any] | None:
        """Record what an inspection found against a decision; None if there is none."""

        def work(session: Session) -> dict[str, Any] | None:
            row = queries.find(session, ref)
            if row is None or row.id is None:
                return None
            now = dt.datetime.now(dt.UTC)
            outcome = OutcomeRecord(
                decision_id=row.id, declaration_id=row.declaration_id, result=result, note=note,
                officer=officer, recorded_at=now,
            )  # fmt: skip
            session.add(outcome)
            session.flush()  # its id, for the audit entry that seals it
            details = {"decision_id": row.id, "result": result, "note": note, "outcome_id": outcome.id,
                       "seal": audit.outcome_seal(outcome)}  # fmt: skip
            audit.append(session, [audit.Entry(officer, "outcome", row.declaration_id, details)])
            return {"reference": queries.reference(row.id), "declaration_id": row.declaration_id, "result": result}

        return self.write(work)

    def rule_stats(self, **period: dt.date | None) -> list[dict[str, Any]]:
        with self.reading() as session:
            return queries.rule_stats(session, **period)

    def latest_declaration_keys(self, since: dt.date | None = None, until: dt.date | None = None) -> Any:
        """The declarations `latest_declarations` gives, as a frame (`queries`)."""
        with self.reading() as session:
            return queries.latest_declaration_keys(session, since, until)

    def latest_outcomes(self) -> dict[str, str]:  # per declaration id, its latest inspection outcome
        with self.reading() as session:
            return queries.latest_outcomes(session)

    def latest_declarations(
        self, since: dt.date | None = None, until: dt.date | None = None
    ) -> list[tuple[Any, int, str]]:
        """The newest revision of each declaration dated within since..until, with its
        newest decision's id and verdict."""
        with self.reading() as session:
            return queries.latest_declarations(session, since, until)

    def declaration_set(self, pks: Sequence[int]) -> DeclarationSet:
        """The stored declarations with these row ids, in this order, read back whole."""
        with self.reading() as session:
            return readback.declaration_set(session, pks)

    def append_audit(self, entries: Iterable[audit.Entry]) -> None:
        self.write(lambda session: audit.append(session, entries))

    def audit_entries(self, limit: int = 100, action: str | None = None) -> list[Any]:
        with self.reading() as session:
            return audit.entries(session, limit, action)

    def verify_audit(self, expect: Iterable[str] = ()) -> audit.Verification:
        # one snapshot (REPEATABLE READ on PostgreSQL): a batch storing meanwhile must not
        # show decisions whose audit entry the chain walk did not see
        with Session(self.lookup_engine) as session:
            found = audit.verify(session, expect=expect)
            altered = altered_snooze(session) if found.ok else None  # snoozes: their own seals
            return audit.Verification(False, found.entries, found.last_hash, altered) if altered else found

    def count(self, table: type[SQLModel]) -> int:
        with self.reading() as session:
            return int(session.exec(select(func.count()).select_from(table)).one())


def decision_entry(screening: Any, decision_pk: int, sealed: str, kind: str, officer: str | None) -> audit.Entry:
    d = screening.decision
    details = {
        "digest": sealed,
        "decision_id": decision_pk,
        "kind": kind,
        "decision": d.decision,
        "score": d.score,
        "rules": d.rule_ids,
        "ruleset_version": d.ruleset_version,
    }
    if d.without_registry:
        details["registry"] = "none"
    return audit.Entry(officer or "system", "decision", d.declaration_id, details)


def _is_unique_violation(exc: IntegrityError) -> bool:
    text = str(exc.orig).lower()
    return "unique" in text or "duplicate key" in text
