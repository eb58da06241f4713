"""`read_chunks`: every input (batch CSV, JSON, JSON Lines, .xlsx, Parquet) as Chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TextIO

from ..contract.errors import InputError, Location
from ..screening.frames import DeclarationSet
from .chunk import Chunk, exact_chunks
from .declarations import read_source, text_kind
from .inputs import Source, cannot_read
from .lines import Fallback
from .parsing import Rejected

CHUNK_LINES = 20_000  # lines (rows, records) per chunk: memory stays flat with the input (see bench_read.py)


def read_chunks(paths: Iterable[str], stream: TextIO | None = None, chunk_lines: int = CHUNK_LINES,
                sheet: str | None = None) -> Iterator[Chunk]:  # fmt: skip
    """Each input in turn (`-`: `stream` or stdin; plain or gzip) as chunks of whole
    declarations and rejections, in the order the record-by-record reader hands them on.
    An input that cannot be read at all is a chunk holding its refusal (a `Rejected` with
    `refusal` set), and reading goes on with the next. `sheet` names the sheet of every
    .xlsx input (default: the first)."""
    for path in paths:
        yield from read_input(path, stream, chunk_lines, sheet)


def read_input(path: str, stream: TextIO | None = None, chunk_lines: int = CHUNK_LINES,
               sheet: str | None = None) -> Iterator[Chunk]:  # fmt: skip
    name = "<stdin>" if path == "-" else path
    try:
        with Source(path, stream) as source:
            yield from _read_source(source, chunk_lines, sheet)
    except InputError as exc:
        refusal = Rejected(Location(name), exc.errors, raw=None, refusal=exc.what)
        yield Chunk(DeclarationSet.empty(), [refusal], [0])


def _read_source(source: Source, chunk_lines: int, sheet: str | None) -> Iterator[Chunk]:
    if source.binary_kind is not None:
        from .sheets import read_sheet_chunks

        yield from read_sheet_chunks(source, chunk_lines, sheet)
        return
    kind = text_kind(source)
    if kind == "csv":
        from .csv_read import read_csv_chunks

        handed = False
        try:
            for chunk in read_csv_chunks(source, chunk_lines):
                handed = True
                yield chunk
            return
        except Fallback:
            # raised in the first pass: the exact reader takes the whole file
            if handed:  # the second pass met what the first did not: the file changed under it
                raise cannot_read(source.name, "the file changed while it was read") from None
    yield from exact_chunks(read_source(source), chunk_lines)
