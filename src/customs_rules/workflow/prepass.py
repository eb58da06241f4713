"""A batch's pre-pass: every input read once, before any chunk is screened, for the run's
past (`run_history`: each chunk sees the earlier-dated declarations of the whole file,
whichever worker screens it), its chunks kept with their party keys (`Spool`) for the
screening pass to take instead of reading and keying them again."""

from __future__ import annotations

import contextlib
import gc
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

import polars as pl

from ..io import Chunk
from ..runtime import trim_heap

__all__ = ["CHUNK_LINES", "KEYED_CHUNKS", "Spool", "run_history"]

# input lines per chunk: measured against a 100k-company registry, a worker screens as
# many declarations a second in chunks of 5,000 lines as of 20,000, and its memory peaks
# about 300 MB lower (the core's joins over a chunk are the part that grows with it)
CHUNK_LINES = 5_000
# chunks whose party keys a batch's pre-pass computes together (`screening.history.sets_keys`):
# polars keys 50,000 lines' names in one pass at a third of the cost of ten passes
KEYED_CHUNKS = 10


def run_history(
    store: Any, paths: Iterable[str], sheet: str | None = None, reference: Any = None, spool: Spool | None = None
) -> Any:  # fmt: skip
    """A batch's past (`screening.history.HistoryBase`): the stored declarations and
    flags as the run starts, then every declaration of the inputs, read by a pre-pass
    (columns only: no screening), so that each chunk sees the earlier-dated declarations
    of the whole file, whichever worker screens it. stdin cannot be read twice: its own
    declarations count chunk by chunk (each chunk's set is added to its history).
    With the pack's `reference` (`rules.reference.ReferenceData`), a past that covers the
    inputs is narrowed to the rows its facts read (`HistoryBase.narrowed`): what each
    worker is handed. With a `spool`, the chunks read are kept there with their party
    keys and their parties' name keys (computed for KEYED_CHUNKS chunks at a time), for
    the screening pass (`screen_files`) to take instead of reading and keying again, and
    the past is narrowed as it is read (`screening.past.NarrowingPast`: the pre-pass no
    longer holds every row of the inputs); the ids read more than once are then
    `spool.repeated`."""
    from ..screening.history import HistoryBase
    from ..screening.past import NarrowingPast
    from ..store.history import read_history

    base = read_history(store) if store is not None else HistoryBase()
    paths = list(paths)
    covers = "-" not in paths
    rank = int(base.rows["rank"].max() or 0) + 1  # type: ignore[arg-type]
    if reference is not None and covers and spool is not None:
        past = NarrowingPast(base, [reference])
        _pre_pass(paths, sheet, rank, past.add, spool)
        found = past.finish()
        spool.repeated = past.repeated
    else:
        parts = [base.rows]
        _pre_pass(paths, sheet, rank, lambda rows, _: parts.append(rows), spool)
        found = HistoryBase(pl.concat(parts), base.flags, covers_inputs=covers)
        found = found.narrowed(reference) if reference is not None and found.covers_inputs else found
    gc.collect()
    trim_heap()
    return found


def _pre_pass(
    paths: list[str], sheet: str | None, rank: int, add: Callable[[pl.DataFrame, Callable[[], pl.DataFrame]], None],
    spool: Spool | None,
) -> None:  # fmt: skip
    """Each input's declarations as history rows, ranked in input order from `rank`, to
    `add` with a function giving them again (from the spool: the chunks are kept there)."""
    from ..io.reader import read_input
    from ..screening.history import rows_of, sets_keys

    for index, path in enumerate(paths):
        if path == "-":
            continue
        with spool.keeping(index) if spool is not None else contextlib.nullcontext() as keep:
            for batch in _batched(read_input(path, None, CHUNK_LINES, sheet), KEYED_CHUNKS):
                sets = [chunk for chunk in batch if len(chunk.declarations)]
                # with a spool, the parties' name keys too: the screening pass finds them by those
                for chunk, keys in zip(sets, sets_keys([c.declarations for c in sets], spool is not None), strict=True):
                    chunk.party_keys = keys
                for chunk in batch:
                    place = keep(chunk) if keep is not None else None
                    if len(chunk.declarations):
                        add(rows_of(chunk.declarations, rank, chunk.party_keys), _again(spool, index, place, rank))
                        rank += len(chunk.declarations)


def _again(spool: Spool | None, index: int, place: int | None, rank: int) -> Callable[[], pl.DataFrame]:
    """A function giving the history rows of a spooled chunk again."""

    def again() -> pl.DataFrame:
        from ..screening.history import rows_of

        assert spool is not None and place is not None, "only a spooled chunk is read again"
        chunk = spool.chunk(index, place)
        return rows_of(chunk.declarations, rank, chunk.party_keys)

    return again


def _batched(chunks: Iterable[Chunk], size: int) -> Iterator[list[Chunk]]:
    batch: list[Chunk] = []
    for chunk in chunks:
        batch.append(chunk)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Spool:
    """The inputs' chunks as a batch's pre-pass read them (`run_history`), with their
    party keys, kept in a private temporary directory (one file of pickled chunks per
    input, written and read by this process only) and removed at the end (`close`): the
    screening pass takes them from there (`chunks`) instead of parsing every file again."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="customs-rules-chunks-"))
        self.files: dict[int, Path] = {}
        # the declaration ids read more than once by the pre-pass (`run_history`), when it
        # read every input: only those can repeat an id with other content in the run
        self.repeated: set[str] | None = None

    @contextlib.contextmanager
    def keeping(self, index: int) -> Iterator[Callable[[Chunk], int]]:
        """A function keeping each chunk of input `index`, in order, and saying where
        (for `chunk`)."""
        path = self.directory / f"{index}.chunks"

        def keep(chunk: Chunk) -> int:
            place = handle.tell()
            pickle.dump(chunk, handle, protocol=pickle.HIGHEST_PROTOCOL)
            return place

        with path.open("wb") as handle:
            yield keep
        self.files[index] = path

    def chunk(self, index: int, place: int) -> Chunk:
        """The chunk of input `index` kept at `place` (once that input is all kept)."""
        with self.files[index].open("rb") as handle:
            handle.seek(place)
            found: Chunk = pickle.load(handle)  # written by `keeping`, in this run
            return found

    def chunks(
        self, paths: Iterable[str], stream: TextIO | None, chunk_lines: int, sheet: str | None
    ) -> Iterator[Chunk]:
        """As `io.read_chunks`: the kept chunks of each input read in chunks of
        `CHUNK_LINES` (the pre-pass's), the others read now."""
        from ..io.reader import read_input

        for index, path in enumerate(paths):
            kept = self.files.get(index)
            if kept is None or chunk_lines != CHUNK_LINES:
                yield from read_input(path, stream, chunk_lines, sheet)
                continue
            with kept.open("rb") as handle:
                while True:
                    try:
                        chunk = pickle.load(handle)  # written by `keeping`, in this run
                    except EOFError:
                        break
                    yield chunk

    def close(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
