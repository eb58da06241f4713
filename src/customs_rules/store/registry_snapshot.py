"""The compiled registry's frames stored whole at load, read back in a fraction of a second
(issue #13, items 3 and 7).

`registry load` writes each frame `CompiledRegistry` is built from (companies, names and
blocks: the company keys sorted for search, people, pairs, edges) as one Arrow IPC file
compressed with zstd, one row of `registry_snapshot` each, in the transaction that writes
the rows they come from: whatever replaces the companies or the people replaces their
parts. Since migration 0014 the name keys, person pairs and company edges are stored
nowhere else (their tables are gone): every reader reads them here, whole
(`read_frames`: ~0.3 s of CPU at 100k companies) or by key (`store.snapshot_lookup`). A
part not written yet (no registry loaded, or companies without people) reads as no rows.

Each load's audit entry keeps the parts' digest (`digest`), which `audit verify` checks
as it checks the tables' seals.

A batch on several processes shares one copy: the parent writes the parts uncompressed
into a directory of its own (`extract`), and each worker maps those files into memory
(`snapshot_files.mapped_frames`): the pages are the kernel's page cache, held once for all workers, and
a worker's frames cost it no copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import text
from sqlmodel import Session

from ..contract.errors import StorageError
from ..runtime import trim_heap
from .snapshot_files import PARTS, empty

FORMAT = 1  # the parts' layout: a part of another format is refused
DATA_SQL = text("SELECT data FROM registry_snapshot WHERE name = :name")
PART_SQL = text("SELECT format, data FROM registry_snapshot WHERE name = :name")


def checked(name: str, form: int, data: Any) -> bytes:
    """A part's data, refused when this version cannot read its format."""
    if form != FORMAT:
        raise StorageError(
            f"the registry snapshot's part {name!r} has format {form}, which this version does not read",
            "load the registry files again (customs-rules registry load)",
        )
    return bytes(data)


BATCH_ROWS = 8_192  # rows per record batch: a part is decompressed one batch at a time


def write_part(session: Session, name: str, frame: pl.DataFrame) -> None:
    """Replace part `name` with `frame`, in the caller's transaction."""
    store_part(session, name, encode(frame))


class Encoded:
    """A part's frame as it is stored (`encode`), made without the database: a load makes
    its parts while another thread writes its rows."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.rows = frame.height
        self.data = frame.write_ipc(None, compression="zstd", record_batch_size=BATCH_ROWS).getbuffer()  # no copy


def encode(frame: pl.DataFrame) -> Encoded:
    return Encoded(frame)


def store_part(session: Session, name: str, part: Encoded) -> None:
    """Replace part `name` with an encoded frame, in the caller's transaction."""
    session.execute(text("DELETE FROM registry_snapshot WHERE name = :name"), {"name": name})
    session.execute(
        text("INSERT INTO registry_snapshot (name, format, rows, data) VALUES (:name, :format, :rows, :data)"),
        {"name": name, "format": FORMAT, "rows": part.rows, "data": part.data},
    )


def drop_parts(session: Session, names: Iterable[str]) -> None:
    for name in names:
        session.execute(text("DELETE FROM registry_snapshot WHERE name = :name"), {"name": name})


def read_part(session: Session, name: str) -> bytes | None:
    """Part `name`'s data (None when it was not written)."""
    row = session.execute(PART_SQL, {"name": name}).first()
    return None if row is None else checked(name, row[0], row[1])


def read_frames(session: Session) -> dict[str, pl.DataFrame]:
    """The frames as stored at load (a part not written: no rows)."""
    frames = {}
    for name in PARTS:
        data = read_part(session, name)
        frames[name] = empty(name) if data is None else pl.read_ipc(data)
        del data
    return frames


def extract(session: Session, directory: Path) -> bool:
    """Write the parts uncompressed into `directory` (NAME.arrow each), one record batch
    at a time, for `snapshot_files.mapped_frames` (a part not written: no rows). True once written.

    The parent of a batch's workers runs this: one part is held at a time, decompressed
    by the C allocator, whose free pages go back to the system after (the parent keeps
    running for the whole batch; Arrow's own allocator kept ~50 MB)."""
    import pyarrow as pa
    from pyarrow import ipc

    pool = pa.system_memory_pool()
    for name in PARTS:
        data = read_part(session, name)
        if data is None:
            empty(name).write_ipc(directory / f"{name}.arrow")
            continue
        reader = ipc.open_file(pa.BufferReader(data), memory_pool=pool)
        with ipc.new_file(str(directory / f"{name}.arrow"), reader.schema) as writer:
            for n in range(reader.num_record_batches):
                writer.write_batch(reader.get_batch(n))
        del reader, data
    trim_heap()
    return True


def digest(session: Session) -> str | None:
    """The stored parts in a few bytes, for the audit entry of the load that wrote them
    (`audit verify` compares); None when there are none."""
    names = session.execute(text("SELECT name FROM registry_snapshot ORDER BY name")).scalars().all()
    if not names:
        return None
    found = hashlib.sha256()
    for name in names:  # one part's data at a time (all at once: ~25 MB more at a load's peak)
        form, data = session.execute(PART_SQL, {"name": name}).one()
        found.update(f"{name}\0{form}\0{len(data)}\0".encode())
        found.update(bytes(data))
        del data
    trim_heap()  # the parts' bytes, read and freed: ~40 MB that C's allocator kept at a load's commit
    return found.hexdigest()[:32]
