"""The compiled registry's frames stored whole at load, read back in a fraction of a second
(issue #13, items 3 and 7).

`registry load` writes each frame `CompiledRegistry` is built from (companies, names and
blocks: the company keys sorted for search, people, pairs, edges) as one Arrow IPC file compressed with zstd, one row
of `registry_snapshot` each, in the transaction that writes the tables it comes from:
whatever replaces a table replaces its part, so a part never says other than its table.
Reading the six parts back takes ~0.3 s of CPU where reading the tables row by row took
~3.5 s (`read_frames`); a database without them (stored before migration 0011 built
them, or a part of another format) is read from the tables as before (`Store.registry_frames`).

Each load's audit entry keeps the parts' digest (`digest`), which `audit verify` checks
as it checks the tables' seals.

A batch on several processes shares one copy: the parent writes the parts uncompressed
into a directory of its own (`extract`), and each worker maps those files into memory
(`mapped_frames`): the pages are the kernel's page cache, held once for all workers, and
a worker's frames cost it no copy.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import text
from sqlmodel import Session

FORMAT = 1  # the parts' layout: a part of another format is not read
PARTS = ("companies", "names", "blocks", "people", "pairs", "edges")
DATA_SQL = text("SELECT data FROM registry_snapshot WHERE name = :name")
BATCH_ROWS = 65_536  # rows per record batch: a part is decompressed one batch at a time


def write_part(session: Session, name: str, frame: pl.DataFrame) -> None:
    """Replace part `name` with `frame`, in the caller's transaction."""
    data = frame.write_ipc(None, compression="zstd", record_batch_size=BATCH_ROWS).getbuffer()  # no copy
    session.execute(text("DELETE FROM registry_snapshot WHERE name = :name"), {"name": name})
    session.execute(
        text("INSERT INTO registry_snapshot (name, format, rows, data) VALUES (:name, :format, :rows, :data)"),
        {"name": name, "format": FORMAT, "rows": frame.height, "data": data},
    )


def drop_parts(session: Session, names: Iterable[str]) -> None:
    for name in names:
        session.execute(text("DELETE FROM registry_snapshot WHERE name = :name"), {"name": name})


def _parts(session: Session) -> dict[str, bytes] | None:
    """Every part's data, or None unless all of them are there in this format."""
    rows = session.execute(text("SELECT name, format, data FROM registry_snapshot")).all()
    found = {name: bytes(data) for name, form, data in rows if form == FORMAT}
    return found if set(found) == set(PARTS) else None


def read_frames(session: Session) -> dict[str, pl.DataFrame] | None:
    """The frames as stored at load, or None when the snapshot is not complete."""
    parts = _parts(session)
    if parts is None:
        return None
    return {name: pl.read_ipc(parts.pop(name)) for name in PARTS}


def extract(session: Session, directory: Path) -> bool:
    """Write the parts uncompressed into `directory` (NAME.arrow each), one record batch
    at a time, for `mapped_frames`. False (and nothing written) without a complete snapshot.

    The parent of a batch's workers runs this: one part is held at a time, decompressed
    by the C allocator, whose free pages go back to the system after (the parent keeps
    running for the whole batch; Arrow's own allocator kept ~50 MB)."""
    import pyarrow as pa
    from pyarrow import ipc

    found = session.execute(text("SELECT name, format FROM registry_snapshot")).all()
    if {name for name, form in found if form == FORMAT} != set(PARTS):
        return False
    pool = pa.system_memory_pool()
    for name in PARTS:
        data = session.execute(DATA_SQL, {"name": name}).scalar_one()
        reader = ipc.open_file(pa.BufferReader(bytes(data)), memory_pool=pool)
        with ipc.new_file(str(directory / f"{name}.arrow"), reader.schema) as writer:
            for n in range(reader.num_record_batches):
                writer.write_batch(reader.get_batch(n))
        del reader, data
    _trim()
    return True


def _trim() -> None:
    """Give the C allocator's free pages back to the system (glibc only)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # the process's own symbols: no search
        ctypes.CDLL(None).malloc_trim(0)


def mapped_frames(directory: Path) -> dict[str, pl.DataFrame]:
    """The frames of `extract`'s files, mapped into memory: no copy is made; the files may
    be removed once read (the mapping keeps them)."""
    import pyarrow as pa
    from pyarrow import ipc

    frames: dict[str, Any] = {}
    for name in PARTS:
        table = ipc.open_file(pa.memory_map(str(directory / f"{name}.arrow"))).read_all()
        frames[name] = pl.from_arrow(table, rechunk=False)
    return frames


def digest(session: Session) -> str | None:
    """The stored parts in a few bytes, for the audit entry of the load that wrote them
    (`audit verify` compares); None when there are none."""
    rows = session.execute(text("SELECT name, format, data FROM registry_snapshot ORDER BY name")).all()
    if not rows:
        return None
    found = hashlib.sha256()
    for name, form, data in rows:
        found.update(f"{name}\0{form}\0{len(data)}\0".encode())
        found.update(bytes(data))
    return found.hexdigest()[:32]
