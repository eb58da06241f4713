"""Storing overlaps computing: a thread that stores the sets a batch hands it, in the
order handed, while the batch screens the next ones.

The queue is bounded (`depth` sets wait at most), so memory stays flat when storing is
the slower side. Once a set fails to be stored, the sets handed after it are not stored
(a batch stopped by storage says "stored: everything before X"); each set's fate is
reported in order (`Written`), so the caller says exactly what was stored.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..contract.errors import StorageError
from ..screening.frames import ScreenedSet
from .records import Prepared, prepare

_END = object()


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
    `close` to wait for the rest."""

    def __init__(self, store: Any, kind: str = "screen", officer: str | None = None, depth: int = 2) -> None:
        self.store, self.kind, self.officer = store, kind, officer
        self._jobs: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._done: queue.Queue[Written] = queue.Queue()
        self.failure = ""
        self._thread = threading.Thread(target=self._run, name="customs-rules-writer", daemon=True)
        self._thread.start()

    def put(self, tag: Any, payload: ScreenedSet | Prepared | Sequence[Any] | None) -> None:
        """Hand a set over (waits while `depth` sets are waiting already): a ScreenedSet,
        one prepared already (`records.prepare`), or None (nothing to store, but its
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
        self._jobs.put(_END)
        self._thread.join()
        return self.done()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not _END:
            tag, payload = job
            if self.failure:  # stopped: what comes after a failed set is not stored
                self._done.put(Written(tag, error=self.failure))
                continue
            try:
                self._done.put(Written(tag, self._store(payload)))
            except StorageError as exc:
                self.failure = exc.detail or str(exc)
                self._done.put(Written(tag, error=self.failure))
            except Exception as exc:  # noqa: BLE001 - reported as that set's failure: the batch says what is stored
                self.failure = f"storing failed: {type(exc).__name__}: {exc}"
                self._done.put(Written(tag, error=self.failure))

    def _store(self, payload: ScreenedSet | Prepared | Sequence[Any] | None) -> list[int | None]:
        if isinstance(payload, ScreenedSet | Prepared):
            ready = payload if isinstance(payload, Prepared) else prepare(payload)
            (stored,) = self.store.record_sets([ready], self.kind, self.officer)
            return [found[0] if found else None for found in stored.decisions]
        return list(self.store.record_screenings(payload, self.kind, self.officer)) if payload else []
