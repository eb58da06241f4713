"""Worker processes for batches: spawned, quiet on Ctrl-C, gone with their parent.

Workers are spawned, not forked: polars' thread pool does not survive a fork of a
process that has used it (the child waits forever), and the batch's process reads with
polars. Workers share one copy of the registry: the parent writes the store's compiled snapshot
into a directory of its own (`shared_snapshot`), which each worker maps into memory.
Ctrl-C reaches the whole process group: workers ignore it and the parent alone
stops, abandoning the pool (`abandon`). A parent killed outright would leave its workers
to fail on the closed pipe with a traceback: on Linux the kernel ends them with it
(SIGTERM, whose default action prints nothing); elsewhere a thread watches for the parent.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import multiprocessing.pool
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..contract.registry_rows import WatchlistRecord

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def _start_worker(parent: int, setup: Callable[..., None], args: tuple[Any, ...]) -> None:
    """Runs first in each worker process: goes quietly with its parent, then `setup(*args)`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    else:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent went before the line above took effect
        os._exit(0)
    setup(*args)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def polars_threads(workers: int) -> int:
    """Polars' threads in each of `workers` processes: the cores shared among them, where
    each made a pool of one thread per core (two workers on two cores: four threads). At
    1M lines, alternated runs took the same time either way (the machine's runs swing by
    ~10%), and the tree ~13 MB less memory with one thread each."""
    return max(1, default_workers() // workers)


@contextmanager
def _variable(name: str, value: str) -> Iterator[None]:
    """$name set to `value` inside, unless it is set already (the user's word wins)."""
    if name in os.environ:
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)


def spawn_pool(workers: int, setup: Callable[..., None], *args: Any) -> Any:
    """A pool of spawned workers that ignore Ctrl-C from birth: a spawned worker takes
    a second to import, and an interrupt meanwhile would end it with a traceback (an
    ignored signal stays ignored across exec, and Python then leaves it so). Each sizes
    polars' thread pool for its share of the cores (`polars_threads`): a spawned process
    takes its environment from this one as the pool starts it (a worker the pool starts
    later, to replace one that died, takes the default: polars reads the variable once,
    at import, before a worker could set it itself)."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    # a SIGTERM while a worker is handed its start-up data would cut it short (the worker
    # then dies with a traceback): it is held until every worker has its data, then the
    # pool is abandoned and the signal delivered. Held by a handler, not by blocking it:
    # the kernel hands a process's signal to any thread that does not block it (polars'
    # threads), and Python then runs the handler in this thread all the same
    held: list[int] = []
    before = signal.signal(signal.SIGTERM, lambda signum, frame: held.append(signum)) if main else None
    try:
        context = multiprocessing.get_context("spawn")
        with _variable("POLARS_MAX_THREADS", str(polars_threads(workers))):
            pool = context.Pool(workers, initializer=_start_worker, initargs=(os.getpid(), setup, args))
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
            signal.signal(signal.SIGTERM, signal.SIG_DFL if before is None else before)
    if held:
        abandon(pool)
        signal.raise_signal(signal.SIGTERM)
    return pool


def abandon(pool: Any) -> None:
    """End a pool that an interrupt or an error stopped, without waiting on it.

    `Pool.terminate` joins the thread that hands out work, and that thread may be stuck
    writing to a worker that will never read it (seen on Ctrl-C): the workers are killed
    first, and the pool is terminated on a thread of its own that the process does not
    wait for. Its handler thread is stopped first and waited for: a replacement worker it
    spawned as this process exited failed to read its start-up data, with a traceback
    (seen when SIGTERM came while the workers booted)."""
    handler = getattr(pool, "_worker_handler", None)
    if handler is not None:  # it replaces a worker that dies: none for those killed below
        handler._state = multiprocessing.pool.TERMINATE
        pool._change_notifier.put(None)  # it wakes, and ends
        # a replacement it was already starting gets its start-up data first (its daemon
        # thread cut short as this process exits, the child failed reading it)
        handler.join(5)
    for process in list(getattr(pool, "_pool", [])):
        process.kill()
    ending = threading.Thread(target=pool.terminate, daemon=True)
    ending.start()
    ending.join(5)


@contextmanager
def shared_snapshot(db_url: str | None) -> Iterator[tuple[str, list[WatchlistRecord]] | None]:
    """A directory holding the registry snapshot of the store at `db_url`, written once
    for the workers to map (`store.registry_snapshot`: one copy in the page cache for all
    of them, where each reading the store made one copy each), and removed when the pool
    is done; with the store's watchlist records, which the workers are handed so that
    they need no database at all. None without a url or a snapshot in the store: workers
    read the store."""
    if db_url is None:
        yield None
        return
    from ..store import Store

    directory = tempfile.mkdtemp(prefix="customs-rules-registry-")
    try:
        store = Store(db_url)
        try:
            found = store.extract_registry(Path(directory))
            watchlist = store.watchlist_records() if found else []
        finally:
            store.close()
        yield (directory, watchlist) if found else None
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def share_graph(directory: str, threshold: float) -> None:
    """Write the link graph (`entities.linking.Graph`) of the snapshot in `directory`, at
    the policy's name `threshold`, beside it for the workers to map (`mapped_graph`): built
    once here, where each worker built its own (~100 MB of each worker's memory, and its
    CPU) on its first chunk. Its person pairs depend on the threshold, so it is not part
    of the stored snapshot."""
    import gc

    from ..entities.compiled import CompiledRegistry
    from ..entities.linking import Graph
    from ..store.snapshot_files import mapped_frames

    write_graph(directory, Graph(CompiledRegistry(mapped_frames(Path(directory)), [], threshold)))
    gc.collect()  # the registry's frames go (this process goes on reading and writing)


def write_graph(directory: str, graph: Any) -> None:
    """Write a graph's frames (`Graph.frames`) into `directory`, for `mapped_graph`."""
    place = _graph_directory(directory, graph.registry.threshold)
    place.mkdir()
    for name, frame in graph.frames().items():
        frame.write_ipc(place / f"{name}.arrow", compression="uncompressed")


def mapped_graph(directory: str, threshold: float) -> dict[str, Any] | None:
    """The frames `share_graph` wrote at this threshold, mapped into memory (no copy);
    None when there are none."""
    from ..store.snapshot_files import mapped_file

    place = _graph_directory(directory, threshold)
    if not place.is_dir():
        return None
    return {path.stem: mapped_file(path) for path in sorted(place.glob("*.arrow"))}


def _graph_directory(directory: str, threshold: float) -> Path:
    return Path(directory) / f"graph-{threshold!r}"
