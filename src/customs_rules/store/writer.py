"""Storing overlaps computing: a thread that stores the sets a batch hands it, in the
order handed, while the batch screens the next ones.

The queue is bounded (`depth` sets wait at most), so memory stays flat when storing is
the slower side. Once a set fails to be stored, the sets handed after it are not stored
(a batch stopped by storage says "stored: everything before X"); each set's fate is
reported in order (`Written`), so the caller says exactly what was stored.

Sets are written as they come into one open transaction, committed once it holds
`group_lines` input lines (or declarations) or has been open `group_seconds`, and when
the batch ends: each set keeps its own audit entry sealing every row it wrote, and a set
is reported stored only once its transaction is committed. A commit per set of 5,000
lines rewrote the random-order index pages (fact digests, declaration ids) into SQLite's
log each time. If a group fails, it is rolled back whole and its sets are stored again
one transaction each, in order, until one fails: what is stored is always every set
before the first that could not be.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from ..contract.errors import StorageError
from ..screening.frames import ScreenedSet
from .prepared import Prepared, prepare

_END = object()
GROUP_LINES = 50_000  # input lines (or declarations) per transaction of a batch
GROUP_SECONDS = 5.0  # ... or the time one stays open: SQLite's other writers wait for it
CACHE_KB = 65_536  # SQLite page cache of the writer's connection: the indexes it inserts into


@dataclass
class Written:
    """What became of one handed set: its new decision ids, in the set's order (None:
    stored before), or the error that kept it out (`error`: its own failure, or the
    earlier one that stopped the writer)."""

    tag: Any
    ids: list[int | None] = field(default_factory=list)
    error: str = ""

    @property
    def stored(self) -> bool:
        return not self.error


class SetWriter:
    """A writer thread over a Store: `put` sets (a ScreenedSet, a prepared one, or
    screened declarations one at a time, which it makes one of), read what became of them with `done`, and
    `close` to wait for the rest. `force`: every declaration gets a decision (a rescreen)."""

    def __init__(
        self, store: Any, kind: str = "screen", officer: str | None = None, depth: int = 2,
        group_lines: int = GROUP_LINES, group_seconds: float = GROUP_SECONDS, force: bool = False,
    ) -> None:  # fmt: skip
        self.store, self.kind, self.officer, self.force = store, kind, officer, force
        self.group_lines, self.group_seconds = group_lines, group_seconds
        self._jobs: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._done: queue.Queue[Written] = queue.Queue()
        self.failure = ""
        self._aborted = False
        self._group: list[tuple[Any, Prepared | None, list[int | None]]] = []  # in the open transaction
        self._session: Session | None = None
        self._opened = 0.0
        self._lines = 0
        bulk_connections(store)
        self._thread = threading.Thread(target=self._run, name="customs-rules-writer", daemon=True)
        self._thread.start()

    def put(self, tag: Any, payload: ScreenedSet | Prepared | Sequence[Any] | None) -> None:
        """Hand a set over (waits while `depth` sets are waiting already): a ScreenedSet,
        one prepared already (`prepared.prepare`), or None (nothing to store, but its
        place in the order is kept)."""
        self._jobs.put((tag, payload))

    def done(self) -> list[Written]:
        """What became of the sets handed so far, in order, each reported once."""
        found = []
        while True:
            try:
                found.append(self._done.get_nowait())
            except queue.Empty:
                return found

    def close(self) -> list[Written]:
        """Wait until every handed set is stored (or refused), and report the rest."""
        if self._thread.is_alive():
            self._jobs.put(_END)
            self._thread.join()
        return self.done()

    def abort(self) -> None:
        """Stop without storing what is not committed yet (an interrupted run: it was
        never reported stored); waits for the set being written, if any."""
        self._aborted = True
        self.close()

    def _run(self) -> None:
        try:
            while True:
                try:
                    job = self._jobs.get(timeout=self._remaining())
                except queue.Empty:  # open long enough: what it holds is reported stored
                    if self._aborted:
                        self._rollback()
                    else:
                        self._commit()
                    continue
                if job is _END:
                    break
                if self._aborted:
                    self._done.put(Written(job[0], error="stopped before it was stored"))
                    continue
                self._take(*job)
            if not self._aborted:
                self._commit()
        finally:
            self._rollback()

    def _remaining(self) -> float | None:
        if self._session is None:
            return None
        return max(0.0, self._opened + self.group_seconds - time.monotonic())

    def _take(self, tag: Any, payload: ScreenedSet | Prepared | Sequence[Any] | None) -> None:
        if self.failure:  # stopped: what comes after a failed set is not stored
            self._done.put(Written(tag, error=self.failure))
            return
        try:
            ready = _prepared(payload)
        except StorageError as exc:
            self._fail(tag, exc.detail or str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - reported as that set's failure: the batch says what is stored
            self._fail(tag, f"storing failed: {type(exc).__name__}: {exc}")
            return
        if ready is None or not len(ready.screened):
            self._group.append((tag, None, []))
            if self._session is None:
                self._report()
            return
        try:
            ids = self._write(ready)
        except Exception:  # noqa: BLE001 - the group is stored again set by set, which says what failed
            self._rollback()
            self._one_by_one([*self._group, (tag, ready, [])])
            return
        self._group.append((tag, ready, ids))
        self._lines += _size(ready)
        if self._lines >= self.group_lines:
            self._commit()

    def _write(self, ready: Prepared) -> list[int | None]:
        if self._session is None:
            self._session = Session(self.store.engine, expire_on_commit=False)
            self._session.begin()
            self._opened, self._lines = time.monotonic(), 0
        (stored,) = self.store.record_in(self._session, [ready], self.kind, self.officer, self.force)
        return [found[0] if found else None for found in stored.decisions]

    def _commit(self) -> None:
        if self._session is not None:
            try:
                self._session.commit()
            except Exception:  # noqa: BLE001 - stored again set by set, which says what failed
                self._rollback()
                self._one_by_one(self._group)
                return
            self._close_session()
            self._checkpoint()
        self._report()

    def _checkpoint(self) -> None:
        """SQLite: the log copied into the database after each group (see
        `Store.checkpoint`), which syncs it: the newest groups are all a power cut can
        take. A checkpoint that fails loses nothing stored: the log keeps it."""
        with contextlib.suppress(Exception):  # the next commit says if the database is gone
            self.store.checkpoint()

    def _report(self) -> None:
        for tag, _, ids in self._group:
            self._done.put(Written(tag, ids))
        self._group = []

    def _rollback(self) -> None:
        if self._session is not None:
            try:
                self._session.rollback()
            finally:
                self._close_session()

    def _close_session(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _one_by_one(self, group: list[tuple[Any, Prepared | None, list[int | None]]]) -> None:
        """Store a rolled-back group's sets one transaction each (the store's own, retried
        when busy), in order, until one fails; report each."""
        self._group = []
        for tag, ready, _ in group:
            if self.failure:
                self._done.put(Written(tag, error=self.failure))
                continue
            try:
                ids = self._alone(ready)
            except StorageError as exc:
                self._fail(tag, exc.detail or str(exc))
                continue
            except Exception as exc:  # noqa: BLE001 - reported as that set's failure
                self._fail(tag, f"storing failed: {type(exc).__name__}: {exc}")
                continue
            self._done.put(Written(tag, ids))

    def _alone(self, ready: Prepared | None) -> list[int | None]:
        if ready is None:
            return []
        (stored,) = self.store.record_sets([ready], self.kind, self.officer, self.force)
        return [found[0] if found else None for found in stored.decisions]

    def _fail(self, tag: Any, error: str) -> None:
        # what the open transaction holds was written before this set: it is stored first
        self._commit()
        if self.failure:  # the commit itself failed: that is the first failure
            self._done.put(Written(tag, error=self.failure))
            return
        self.failure = error
        self._done.put(Written(tag, error=error))


def _prepared(payload: ScreenedSet | Prepared | Sequence[Any] | None) -> Prepared | None:
    if isinstance(payload, Prepared):
        return payload
    if isinstance(payload, ScreenedSet):
        return prepare(payload)
    if not payload:
        return None
    from .sets import screened_sets

    groups = screened_sets(list(payload))
    if len(groups) != 1:  # screened at different times: one set each would not keep the order of ids
        raise StorageError("a set handed to the writer must be screened at one time, with one rule set")
    return prepare(groups[0][0])


def _size(ready: Prepared) -> int:
    headers = ready.screened.declarations.headers
    return int(headers["lines"].sum() or 0) if "lines" in headers.columns else len(ready.screened)


def bulk_connections(store: Any) -> None:
    """SQLite: the writer's connections sync the log at checkpoints only (synchronous
    NORMAL, which WAL mode keeps consistent: a power cut can lose the newest committed
    transactions whole, each with its audit entry, never part of one), with a page cache
    that holds the indexes a batch inserts into."""
    if store.dialect != "sqlite":
        return

    def tune(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{CACHE_KB}")
        cursor.close()

    event.listen(store.engine, "connect", tune)
    store.engine.dispose()  # connections opened before (the schema check) are not reused
