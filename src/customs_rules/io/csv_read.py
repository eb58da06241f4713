"""The batch CSV by columns, in two passes, as csv_input reads it by records.

Pass one proves the file readable and notes, for each row, the line of its declaration's
last row (`Learnt`). Pass two reads the same blocks of lines, holds the rows of
declarations not yet complete (rows scattered through the file: the exception), and hands
on each block's complete declarations as a Chunk, in the order of their last rows.

A block whose every line a cheap test proves a plain row (`lines.plain_count`: the usual
case) is handed to polars as it is, in both passes; any other is sorted line by line
(`lines.classify`). Pass two checks each block is the one pass one read (its length and
CRC-32), so it reuses what pass one learnt of it instead of sorting its lines again.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, cast

import polars as pl

from .assemble import KEY, ODD, ORDER, assemble, assemble_each
from .checks import strip
from .chunk import Chunk
from .csv_columns import _csv_header
from .inputs import Source
from .lines import LINE, Block, Fallback, byte_blocks, classify, header, plain_count, plain_frame, split_lines

LAST = "\0last"
AT_END = 1 << 62  # ORDER of a declaration handed on only at the end of the file (see `_held`)
READ = "\0read"  # a row the second pass reads (not a line the csv module reads as [])


@dataclass
class Learnt:
    """What the first pass learnt of the file, for the second."""

    columns: list[str]
    sums: list[tuple[int, int]]  # each block's length and CRC-32: the second pass must read the same
    plain: list[int | None]  # each block's line count when every line is a plain row (else None)
    last: pl.Series  # LAST of each row the second pass reads, in the order it reads them


def open_binary(source: Source, track: bool = False) -> IO[bytes]:
    """The file's bytes (decompressed), from the start."""
    raw = source.path.open("rb")
    source._raw = raw
    if track:
        Source.tracked = source
    return cast(IO[bytes], gzip.GzipFile(fileobj=raw) if source.gzipped else raw)


def read_csv_chunks(source: Source, chunk_lines: int) -> Iterator[Chunk]:
    """The file's chunks; Fallback (before any is handed on) when the exact reader must read it."""
    learnt = _first_pass(source, chunk_lines)
    yield from _second_pass(source, learnt, chunk_lines)


def _blocks(source: Source, chunk_lines: int, track: bool = False) -> Iterator[tuple[list[str], bytes, int]]:
    """(columns, bytes, number of the first line) for each run of lines after the header."""
    columns: list[str] | None = None
    number = 2
    with open_binary(source, track) as binary:
        for data in byte_blocks(binary, chunk_lines):
            if columns is None:
                end = data.find(b"\n")
                columns = _columns(_decoded(data if end < 0 else data[:end]), source.name)
                data = b"" if end < 0 else data[end + 1 :]
            yield columns, data, number
            number += data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if columns is None:
        raise Fallback


def _decoded(line: bytes) -> str:
    """A line as `lines.split_lines` decodes it."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("utf-8", "surrogateescape")


def _columns(first_line: str, name: str) -> list[str]:
    cells = header(first_line)
    columns = _csv_header(iter([cells]), name)  # refuses the file as csv_input does (InputError)
    if any(c.startswith("\0") for c in columns):
        raise Fallback
    return columns


def _sum(data: bytes) -> tuple[int, int]:
    return len(data), zlib.crc32(data)


def _classified(data: bytes, number: int, columns: list[str]) -> Block:
    return classify(*split_lines(data), number, columns, data)


def _read_plain(data: bytes, only: list[int] | None = None) -> pl.DataFrame:
    """A block of plain rows as polars reads it (`lines.plain_frame`, bytes as they are)."""
    return pl.read_csv(io.BytesIO(data), has_header=False, infer_schema=False, empty_string_is_null=False,
                       quote_char='"', raise_if_empty=False, columns=only)  # fmt: skip


def _keys(frame: pl.DataFrame, block: Block) -> pl.DataFrame:
    """(KEY, LINE, READ) of every row of the block, and of each line the csv module reads as []:
    csv_input's first pass counts such a line as a row of the declaration '' (see `_held`)."""
    odd = [((row.row.get("declaration_id") or "").strip(), row.line, True) for row in block.odd]
    odd += [("", number, False) for number in block.empty]
    keys = frame.select(strip(pl.col("declaration_id")).alias(KEY), pl.col(LINE), pl.lit(True).alias(READ))
    extra = pl.DataFrame(odd, schema={KEY: pl.String, LINE: pl.Int64, READ: pl.Boolean}, orient="row")
    return pl.concat([keys, extra]).sort(LINE) if odd else keys


def _plain_keys(data: bytes, number: int, count: int, columns: list[str]) -> pl.DataFrame | None:
    ids = _read_plain(data, [columns.index("declaration_id")])
    if ids.height != count:  # not what the test of its lines said: classify reads it
        return None
    return ids.select(
        strip(pl.col(ids.columns[0])).alias(KEY),
        pl.int_range(number, number + count, dtype=pl.Int64).alias(LINE),
        pl.lit(True).alias(READ),
    )


def _first_pass(source: Source, chunk_lines: int) -> Learnt:
    learnt = Learnt([], [], [], pl.Series(LAST, [], dtype=pl.Int64))
    parts: list[pl.DataFrame] = []
    try:
        for columns, data, number in _blocks(source, chunk_lines):
            learnt.columns = columns
            learnt.sums.append(_sum(data))
            count = plain_count(data, len(columns))
            keys = None if count is None else _plain_keys(data, number, count, columns)
            if keys is None:
                count, block = None, _classified(data, number, columns)
                keys = _keys(plain_frame(block, columns, [columns.index("declaration_id")]), block)
            learnt.plain.append(count)
            parts.append(keys)
    except (OSError, EOFError, UnicodeDecodeError) as exc:  # the exact reader says what is wrong
        raise Fallback from exc
    if parts:
        every = pl.concat(parts).lazy()
        last = every.select(pl.col(LINE).max().over(KEY).alias(LAST), pl.col(READ)).filter(pl.col(READ))
        learnt.last = last.collect().get_column(LAST)
    return learnt


def _second_pass(source: Source, learnt: Learnt, chunk_lines: int) -> Iterator[Chunk]:
    odd: dict[int, dict[Any, Any]] = {}
    yield from in_order_of_last(_frames(source, learnt, chunk_lines, odd), learnt.columns, odd, source.name)


def _frames(source: Source, learnt: Learnt, chunk_lines: int, odd: dict[int, dict[Any, Any]]) -> Iterator[pl.DataFrame]:
    """Each block's rows (`_rows`) with their LAST; Fallback when a block is not the one
    the first pass read (the file changed)."""
    done = offset = 0
    for index, (columns, data, number) in enumerate(_blocks(source, chunk_lines, track=True)):
        if index >= len(learnt.sums) or _sum(data) != learnt.sums[index]:
            raise Fallback
        count = learnt.plain[index]
        if count is None:
            frame = _rows(_classified(data, number, columns), columns, odd)
        else:
            frame = _plain_rows(data, number, count, columns)
        yield frame.with_columns(learnt.last.slice(offset, frame.height).alias(LAST))
        offset, done = offset + frame.height, index + 1
    if done != len(learnt.sums):
        raise Fallback


def in_order(frames: Iterator[pl.DataFrame], last: pl.DataFrame, columns: list[str],
             odd: dict[int, dict[Any, Any]], source: str) -> Iterator[Chunk]:  # fmt: skip
    """Chunks of the declarations complete in each frame of rows (LINE, KEY, ODD and the
    cells), given the LAST line of each KEY: rows of the others are held until theirs."""
    joined = (frame.join(last, on=KEY, how="left", maintain_order="left") for frame in frames)
    yield from in_order_of_last(joined, columns, odd, source)


def in_order_of_last(frames: Iterator[pl.DataFrame], columns: list[str], odd: dict[int, dict[Any, Any]],
                     source: str) -> Iterator[Chunk]:  # fmt: skip
    """`in_order`, each row coming with the LAST line of its KEY. Frames are taken together
    up to GROUP_ROWS rows (`assemble_each`), each still handing on its own chunk."""
    held: pl.DataFrame | None = None
    for group in _grouped(frames):
        rows = pl.concat([held, *group]) if held is not None else pl.concat(group)
        done = rows.select(pl.col(LINE).max().over(KEY) == pl.col(LAST)).to_series()
        if done.sum() == rows.height:  # every declaration complete: the usual case
            complete, held = rows, None
        else:  # (a null, a key the first pass did not see, is neither)
            complete, held = rows.filter(done), rows.filter(~done)
            held = held if held.height else None
        if complete.height:
            # a declaration comes out with the frame of its last row: cut at each frame's first
            cuts = [frame.get_column(LINE).min() for frame in group[1:] if frame.height]
            yield from assemble_each(complete.rename({LAST: ORDER}), cast(list[int], cuts), columns, odd, source, LINE)
            _forget(odd, complete)
    if held is not None:
        # csv_input hands these on after all the others, in the order of their first rows
        first = held.group_by(KEY).agg(pl.col(LINE).min().alias(ORDER))
        rows = held.join(first, on=KEY, how="left", maintain_order="left").with_columns(pl.col(ORDER) + AT_END)
        yield assemble(rows.drop(LAST), columns, odd, source, LINE)


GROUP_ROWS = 20_000  # rows assembled in one query at most, unless one frame holds more


def _grouped(frames: Iterator[pl.DataFrame]) -> Iterator[list[pl.DataFrame]]:
    group: list[pl.DataFrame] = []
    rows = 0
    for frame in frames:
        if group and rows + frame.height > GROUP_ROWS:
            yield group
            group, rows = [], 0
        group.append(frame)
        rows += frame.height
    if group:
        yield group


def _forget(odd: dict[int, dict[Any, Any]], complete: pl.DataFrame) -> None:
    if odd:
        for number in complete.filter(pl.col(ODD))[LINE].to_list():
            odd.pop(number, None)


def _plain_rows(data: bytes, number: int, count: int, columns: list[str]) -> pl.DataFrame:
    """A block of plain rows (`plain_count`), as `_rows` makes them."""
    frame = _read_plain(data)
    if frame.height != count:  # the first pass read as many
        raise Fallback
    frame.columns = columns
    return frame.with_columns(
        pl.int_range(number, number + count, dtype=pl.Int64).alias(LINE),
        strip(pl.col("declaration_id")).alias(KEY),
        pl.lit(False).alias(ODD),
    )


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
