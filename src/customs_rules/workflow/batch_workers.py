"""A batch's worker processes: started, handed the run's past, and fed chunks.

`PoolStart` makes what the workers share (the store's registry snapshot and its link
graph, mapped by each: `batch_pool`), writes the worker (`batch.Worker`) into a private
directory and spawns the pool. Each worker reads it there, then builds its engine and the
registry's indexes at once (`Worker.warm`), before any chunk comes.

A large run starts its pool before the history's pre-pass (`worth_starting_early`): the
workers boot (imports, the registry mapped, the rules compiled: about two seconds) while
this process reads the inputs, instead of after. The run's past does not exist yet then:
`give` writes it into the same directory once the pre-pass has read it, before any chunk
is handed out, and each worker reads it with its first chunk (`Worker.history_file`).
The files are written by this process and read by its own workers only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..rules.policy import policy_from
from ..runtime import gc_paused, trim_heap
from .batch_pool import abandon, share_graph, shared_snapshot, spawn_pool

# inputs that start their pool before the pre-pass: a few chunks' worth at least (a chunk
# of the generator's file is ~1.1 MB); a smaller one may fit one chunk, screened here
EARLY_BYTES = 4_000_000
WORKER_FILE, HISTORY_FILE = "worker.pickle", "history.pickle"

_WORKER: Any = None  # per worker process: the `batch.Worker`, set by `_take_worker`
_FAILED: BaseException | None = None  # why `_take_worker` could not read it


def worth_starting_early(paths: Iterable[str], workers: int) -> bool:
    """Whether a run on these inputs starts its pool before its pre-pass: several
    workers, and files (not stdin) large enough to hold several chunks."""
    paths = list(paths)
    if workers <= 1 or "-" in paths:
        return False
    with contextlib.suppress(OSError):  # a missing file is reported by the reading
        return sum(os.path.getsize(path) for path in paths) >= EARLY_BYTES
    return False


@contextlib.contextmanager
def collected_once() -> Iterator[None]:
    """Around the screening of a chunk in a run's own process: the cyclic garbage
    collector looks once, at the end, at what the chunk made (`gc.collect(0)`: while it
    is off, every new object stays in the youngest generation), then puts all that is
    left out of its reach (`gc.freeze`; `gc.unfreeze` gives it back). The registry, the
    indexes built on it and the name caches are millions of objects that live as long as
    the run, and each full collection walked them all again, finding nothing: a fifth of
    the CPU time of a 200,000-line run. Objects still die by reference count as usual."""
    with gc_paused(freeze=True):
        yield


def _take_worker(path: str) -> None:
    """A worker process's start: its `batch.Worker`, from the file `PoolStart` wrote,
    made ready for its first chunk."""
    global _WORKER, _FAILED
    try:
        with open(path, "rb") as handle:
            _WORKER = pickle.load(handle)  # written by this run's own process (`PoolStart`)
    except FileNotFoundError:
        os._exit(0)  # the run ended, its files removed, while this worker started: go quietly
    except Exception as exc:  # an error here would make the pool start the worker again, for ever
        _FAILED = exc  # the first chunk reports it
        return
    _WORKER.warm()


def _screen_in_child(declarations: Any, at: Any, wanted: Any, keys: Any = None) -> Any:
    if _FAILED is not None:
        raise _FAILED
    assert _WORKER is not None
    try:
        with collected_once():  # the pool's processes end with the run
            return _WORKER.screen(declarations, at, wanted, keys)
    finally:
        trim_heap()  # what the chunk freed goes back to the system


class PoolStart:
    """A batch's pool of `workers` processes screening for `worker` (a `batch.Worker`),
    started now; the run's past is the worker's, or the one `give` hands over later."""

    def __init__(self, worker: Any, workers: int) -> None:
        self._files = contextlib.ExitStack()
        self.pool: Any = None
        self._given = False
        try:
            directory = Path(tempfile.mkdtemp(prefix="customs-rules-run-"))
            self._files.callback(shutil.rmtree, directory, ignore_errors=True)
            self.history_file = str(directory / HISTORY_FILE)
            # workers map one copy of the store's compiled registry, written here (batch_pool)
            in_store = worker.registry is None and worker.frames is None
            shared = self._files.enter_context(shared_snapshot(worker.db_url if in_store else None))
            if shared is not None:
                share_graph(shared[0], policy_from(worker.pack.policy_doc).name_threshold)
                worker = dataclasses.replace(worker, snapshot=shared[0], watchlist=shared[1])
            history, worker = worker.history, dataclasses.replace(worker, history=None, history_file=self.history_file)
            # the worker travels as a file: the pool's start-up data stays small, so spawning
            # a process does not wait for the one before to read it all (the run's past
            # made it ~0.5 s a worker)
            with (directory / WORKER_FILE).open("wb") as handle:
                pickle.dump(worker, handle, protocol=pickle.HIGHEST_PROTOCOL)
            if history is not None:
                self.give(history)
            self.pool = spawn_pool(workers, _take_worker, str(directory / WORKER_FILE))
        except BaseException:
            self._files.close()
            raise

    def __enter__(self) -> PoolStart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abandon()  # a run that never screened (or already closed the pool: nothing left)

    def give(self, history: Any) -> None:
        """Hand the workers the run's past (None: none), before any chunk is screened."""
        if self._given:
            return
        partial = self.history_file + ".part"
        with open(partial, "wb") as handle:
            pickle.dump(history, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(partial, self.history_file)  # whole or not there
        self._given = True

    def screen(self, declarations: Any, at: Any, wanted: Any, keys: Any) -> Any:
        """A chunk handed to the pool: its `AsyncResult`."""
        assert self._given, "the run's past is given before any chunk is screened"
        return self.pool.apply_async(_screen_in_child, (declarations, at, wanted, keys))

    def close(self) -> None:
        """Wait for the workers to finish, then remove the files."""
        try:
            if self.pool is not None:
                self.pool.close()
                self.pool.join()
        finally:
            self.pool = None
            self._files.close()

    def abandon(self) -> None:
        """Stop the workers without waiting for them (an error, an interrupt, or no use
        for them), then remove the files. Safe once closed."""
        try:
            if self.pool is not None:
                abandon(self.pool)
        finally:
            self.pool = None
            self._files.close()
