"""The batch CSV by columns, in two passes, as csv_input reads it by records.

Pass one proves the file readable and notes the line of each declaration's last row (as
a frame: one small row per distinct id). Pass two reads blocks of lines, holds the rows of
declarations not yet complete (rows scattered through the file: the exception), and hands
on each block's complete declarations as a Chunk, in the order of their last rows.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from typing import IO, Any, cast

import polars as pl

from .assemble import KEY, ODD, ORDER, assemble
from .checks import strip
from .chunk import Chunk
from .csv_columns import _csv_header
from .inputs import Source
from .lines import LINE, Block, Fallback, byte_blocks, classify, header, plain_frame, split_lines

LAST = "\0last"
AT_END = 1 << 62  # ORDER of a declaration handed on only at the end of the file (see `_held`)


def open_binary(source: Source, track: bool = False) -> IO[bytes]:
    """The file's bytes (decompressed), from the start."""
    raw = source.path.open("rb")
    source._raw = raw
    if track:
        Source.tracked = source
    return cast(IO[bytes], gzip.GzipFile(fileobj=raw) if source.gzipped else raw)


def read_csv_chunks(source: Source, chunk_lines: int) -> Iterator[Chunk]:
    """The file's chunks; Fallback (before any is handed on) when the exact reader must read it."""
    columns, last = _first_pass(source, chunk_lines)
    yield from _second_pass(source, columns, last, chunk_lines)


def _blocks(source: Source, chunk_lines: int, track: bool = False) -> Iterator[tuple[list[str], Block]]:
    """(columns, block) for each run of lines after the header."""
    columns: list[str] | None = None
    number = 1
    with open_binary(source, track) as binary:
        for data in byte_blocks(binary, chunk_lines):
            lines, clean = split_lines(data)
            if columns is None:
                if not lines:
                    raise Fallback
                columns = _columns(lines.pop(0), source.name)
                data = data[data.find(b"\n") + 1 :]
                number = 2
            block = classify(lines, clean, number, columns, data)
            number += len(lines)
            yield columns, block
    if columns is None:
        raise Fallback


def _columns(first_line: str, name: str) -> list[str]:
    cells = header(first_line)
    columns = _csv_header(iter([cells]), name)  # refuses the file as csv_input does (InputError)
    if any(c.startswith("\0") for c in columns):
        raise Fallback
    return columns


def _keys(frame: pl.DataFrame, block: Block) -> pl.DataFrame:
    """(KEY, line) of every row of the block, and of each line the csv module reads as []:
    csv_input's first pass counts such a line as a row of the declaration '' (see `_held`)."""
    odd = [((row.row.get("declaration_id") or "").strip(), row.line) for row in block.odd]
    odd += [("", number) for number in block.empty]
    keys = frame.select(strip(pl.col("declaration_id")).alias(KEY), pl.col(LINE))
    extra = pl.DataFrame(odd, schema={KEY: pl.String, LINE: pl.Int64}, orient="row")
    return pl.concat([keys, extra])


def _first_pass(source: Source, chunk_lines: int) -> tuple[list[str], pl.DataFrame]:
    columns: list[str] = []
    parts: list[pl.DataFrame] = []
    try:
        for columns, block in _blocks(source, chunk_lines):
            ids = _id_frame(block, columns)
            parts.append(_keys(ids, block).group_by(KEY).agg(pl.col(LINE).max().alias(LAST)))
    except (OSError, EOFError, UnicodeDecodeError) as exc:  # the exact reader says what is wrong
        raise Fallback from exc
    last = pl.concat(parts).group_by(KEY).agg(pl.col(LAST).max()) if parts else pl.DataFrame()
    return columns, last


def _id_frame(block: Block, columns: list[str]) -> pl.DataFrame:
    return plain_frame(block, columns, [columns.index("declaration_id")])


def _second_pass(source: Source, columns: list[str], last: pl.DataFrame, chunk_lines: int) -> Iterator[Chunk]:
    odd: dict[int, dict[Any, Any]] = {}
    frames = (_rows(block, columns, odd) for _, block in _blocks(source, chunk_lines, track=True))
    yield from in_order(frames, last, columns, odd, source.name)


def in_order(frames: Iterator[pl.DataFrame], last: pl.DataFrame, columns: list[str],
             odd: dict[int, dict[Any, Any]], source: str) -> Iterator[Chunk]:  # fmt: skip
    """Chunks of the declarations complete in each frame of rows (LINE, KEY, ODD and the
    cells), given the LAST line of each KEY: rows of the others are held until theirs."""
    held = pl.DataFrame()
    for frame in frames:
        rows = frame.join(last, on=KEY, how="left", maintain_order="left")
        rows = pl.concat([held, rows]) if held.height else rows
        rows = rows.with_columns((pl.col(LINE).max().over(KEY) == pl.col(LAST)).alias("done"))
        complete = rows.filter(pl.col("done")).drop("done").with_columns(pl.col(LAST).alias(ORDER))
        held = rows.filter(~pl.col("done")).drop("done")
        if complete.height:
            yield assemble(complete.drop(LAST), columns, odd, source, LINE)
            _forget(odd, complete)
    if held.height:
        # csv_input hands these on after all the others, in the order of their first rows
        first = held.group_by(KEY).agg(pl.col(LINE).min().alias(ORDER))
        rows = held.join(first, on=KEY, how="left", maintain_order="left").with_columns(pl.col(ORDER) + AT_END)
        yield assemble(rows.drop(LAST), columns, odd, source, LINE)


def _forget(odd: dict[int, dict[Any, Any]], complete: pl.DataFrame) -> None:
    if odd:
        for number in complete.filter(pl.col(ODD))[LINE].to_list():
            odd.pop(number, None)


def _rows(block: Block, columns: list[str], odd: dict[int, dict[Any, Any]]) -> pl.DataFrame:
    """The block's rows: plain ones with their cells, odd ones with their key (cells in `odd`)."""
    frame = plain_frame(block, columns).with_columns(
        strip(pl.col("declaration_id")).alias(KEY), pl.lit(False).alias(ODD)
    )
    if not block.odd:
        return frame
    records = []
    for row in block.odd:
        odd[row.line] = row.row
        # its cells stay out of the frame (they may hold bytes that are not UTF-8): its
        # declaration is read from `odd`
        records.append(
            dict.fromkeys(columns, "") | {LINE: row.line, KEY: (row.row.get("declaration_id") or "").strip(), ODD: True}
        )
    extra = pl.DataFrame(records, schema=frame.schema, orient="row")
    return pl.concat([frame, extra]).sort(LINE)
