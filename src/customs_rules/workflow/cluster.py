"""Screening past one machine, on a Dask distributed cluster.

The parent reads the inputs as chunks of whole declarations (`io.read_chunks`: a
declaration is never split) and sends each chunk's `DeclarationSet`. Every worker gets
one snapshot of the rules and the registry (scattered once, no database connection),
builds its own engine from it once, and screens the sets it is given with the same core
as a local worker (`batch.Worker.screen`), prepared for storing; the parent stores them.
Results come back in input order; at most a few chunks per worker are in flight, so
memory stays flat. Run workers with one thread each (`--nthreads 1`): the engine is not known to be
thread-safe (engine-notes.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ..contract.errors import CustomsRulesError
from ..contract.registry_rows import WatchlistRecord
from ..entities.compiled import CompiledRegistry
from ..entities.registry import RegistryIndex
from ..io import Chunk
from ..rules.loader import load_pack
from ..rules.model import RulePack
from ..screening.frames import DeclarationSet
from .batch import ChunkScreener, Part, Screened, Wanted, Worker

IN_FLIGHT_PER_WORKER = 2
CONNECT_TIMEOUT = "10s"  # how long a scheduler address that does not answer is tried


@dataclass(frozen=True)
class Compiled:
    """A registry as compiled (`entities.compiled.CompiledRegistry`'s frames) and its
    watchlist: what a remote worker screens against."""

    frames: dict[str, pl.DataFrame]
    watchlist: list[WatchlistRecord]

    @classmethod
    def of(cls, registry: RegistryIndex) -> Compiled:
        """A registry in memory, compiled here by the functions `registry load` uses."""
        records = (registry.company_records(), registry.person_records(), registry.watchlist, registry.threshold)
        compiled = CompiledRegistry.from_records(*records)
        return cls({name: getattr(compiled, name) for name in FRAMES}, list(registry.watchlist))

    @classmethod
    def from_store(cls, store: Any) -> Compiled:
        """The store's registry as compiled at its load."""
        return cls(store.registry_frames(), store.watchlist_records())


FRAMES = ("companies", "names", "blocks", "people", "pairs", "edges")


@dataclass(frozen=True)
class Snapshot:
    """Everything a remote worker needs, as plain data: the rules' files and the registry."""

    key: str
    rules: dict[str, str]
    registry: Compiled
    without_registry: bool = False  # --no-registry: the decisions say so
    history: Any = None  # screening.history.HistoryBase: the run's past (`batch.run_history`)
    allowances: Any = None  # rules.allowances.Allowances (snoozes, the random seed)


def snapshot_of(
    pack: RulePack,
    registry: RegistryIndex | Compiled,
    without_registry: bool = False,
    history: Any = None,
    allowances: Any = None,
) -> Snapshot:
    compiled = registry if isinstance(registry, Compiled) else Compiled.of(registry)
    digest = hashlib.sha256(pack.version.encode() + (b"\0without" if without_registry else b""))
    if allowances is not None:  # other snoozes or another seed: another snapshot (the seed only hashed)
        digest.update(repr(allowances.snoozes).encode() + hashlib.sha256(allowances.seed or b"").digest())
    for name in FRAMES:  # which registry: enough to tell the snapshots of one run apart
        frame = compiled.frames[name]
        digest.update(f"{name}:{frame.height}:{frame.hash_rows(seed=0).sum()}".encode())
    for record in compiled.watchlist:
        digest.update(record.model_dump_json().encode())
    if history is not None:
        digest.update(f"history:{history.rows.height}:{history.rows.hash_rows(seed=0).sum()}".encode())
    return Snapshot(digest.hexdigest(), pack.contents, compiled, without_registry, history, allowances)


_WORKERS: dict[str, Worker] = {}  # per worker process, one engine per snapshot


def _worker_for(snapshot: Snapshot) -> Worker:
    worker = _WORKERS.get(snapshot.key)
    if worker is None:
        # the pack is read whole into memory, so its folder goes as soon as it is loaded
        with tempfile.TemporaryDirectory(prefix="customs-rules-pack-") as folder:
            for name, text in snapshot.rules.items():
                path = Path(folder) / "rules" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
            pack = load_pack(Path(folder) / "rules")
        compiled = snapshot.registry
        worker = Worker(pack, None, None, snapshot.without_registry, compiled.frames, compiled.watchlist,
                        history=snapshot.history, allowances=snapshot.allowances)  # fmt: skip
        _WORKERS.clear()  # a new snapshot replaces the old one: one compiled engine at a time
        _WORKERS[snapshot.key] = worker
    return worker


def screen_remote(snapshot: Snapshot, declarations: DeclarationSet, at: dt.datetime, wanted: Wanted) -> Screened:
    """Runs on a Dask worker: the same core as a local worker, on a set of whole declarations."""
    return _worker_for(snapshot).screen(declarations, at, wanted)


def cluster_screening(
    address: str, pack: RulePack, registry: RegistryIndex | Compiled, at: dt.datetime, wanted: Wanted | None = None,
    without_registry: bool = False, history: Any = None, allowances: Any = None,
) -> ChunkScreener:  # fmt: skip
    """Screen chunks on the cluster at `address` (reached now: a wrong address is said
    before anything is read), in input order."""
    wanted = wanted or Wanted()
    client = _connect(address)
    snapshot = snapshot_of(pack, registry, without_registry, history, allowances)

    def on_cluster(chunks: Iterable[Chunk]) -> Iterator[Part]:
        try:
            workers = max(1, len(client.scheduler_info().get("workers", {})))
            remote = client.scatter(snapshot, broadcast=True)
            pending: deque[tuple[Chunk, Any]] = deque()
            for chunk in chunks:
                job = (
                    client.submit(screen_remote, remote, chunk.declarations, at, wanted, pure=False)
                    if len(chunk.declarations)
                    else None
                )
                pending.append((chunk, job))
                if len(pending) >= workers * IN_FLIGHT_PER_WORKER:
                    yield _collected(*pending.popleft())
            while pending:
                yield _collected(*pending.popleft())
        finally:
            client.close()

    return on_cluster


def _collected(chunk: Chunk, job: Any) -> Part:
    return Part(chunk, job.result() if job is not None else None)


def _connect(address: str) -> Any:
    try:
        from distributed import Client
    except ImportError:
        raise CustomsRulesError(
            "--cluster needs Dask distributed", "install it: pip install 'customs-rules[cluster]'"
        ) from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise CustomsRulesError(
            f"cannot reach the Dask scheduler at {address}: {exc}",
            "start one with `dask scheduler` and workers with `dask worker ADDRESS --nthreads 1`",
        ) from None
