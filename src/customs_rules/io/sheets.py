"""Workbooks (.xlsx: the first sheet, or one named) and Parquet files, as the batch CSV.

The same contract columns, checks and rejections: every cell is read as the text it
shows (a date cell as YYYY-MM-DD, a whole number without '.0'), a blank row is
skipped, and a row is located by its row number (a sheet's as Excel numbers them, the
header being row 1; a Parquet file's from 1), in a source named `file[sheet]` for a
workbook. A column of a type that is no text (a struct, binary data) refuses the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from ..contract.errors import InputError
from .assemble import KEY, ODD
from .checks import strip
from .chunk import Chunk
from .csv_columns import _csv_header
from .csv_read import LAST, in_order
from .inputs import Source, cannot_read
from .lines import BLANK, LINE
from .parsing import RawRecord, Read, Rejected

TEXT_TYPES = (pl.String, pl.Categorical, pl.Enum)


def read_sheet_chunks(source: Source, chunk_lines: int, sheet: str | None = None) -> Iterator[Chunk]:
    if source.binary_kind == "xlsx":
        frame, name = _workbook(source, sheet)
        last = _last(frame)
        yield from in_order(frame.iter_slices(chunk_lines), last, _contract(frame), {}, name)
    else:
        yield from _parquet(source, chunk_lines)


def _workbook(source: Source, sheet: str | None) -> tuple[pl.DataFrame, str]:
    """The sheet's rows as text, the header checked, with LINE and KEY; and its source name."""
    import fastexcel

    try:
        book = fastexcel.read_excel(str(source.path))
        names = book.sheet_names
        if sheet is not None and sheet not in names:
            listed = ", ".join(repr(n) for n in names)
            raise cannot_read(source.name, f"no sheet named {sheet!r} (its sheets: {listed})")
        chosen = sheet if sheet is not None else names[0] if names else None
        if chosen is None:
            raise cannot_read(source.name, "a workbook without a sheet")
        table = book.load_sheet(chosen, header_row=None, dtypes="string").to_polars()
    except InputError:
        raise
    except Exception as exc:  # fastexcel's errors name what calamine could not read
        problem = f"not a readable .xlsx workbook ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        raise cannot_read(source.name, problem) from None
    name = f"{source.name}[{chosen}]"
    if table.height == 0:
        raise cannot_read(name, "empty sheet: no declarations")
    cells = ["" if v is None else str(v) for v in table.row(0)]
    columns = _csv_header(iter([cells]), name)
    body = table.slice(1)
    body.columns = columns  # duplicate names were refused with the header
    # a date cell reads as "2024-03-05 00:00:00": the date is what the sheet shows
    body = body.with_columns(pl.all().fill_null("").str.replace(r"^([0-9]{4}-[0-9]{2}-[0-9]{2}) 00:00:00$", "$1"))
    return _rows(body, first_line=2), name


def _rows(body: pl.DataFrame, first_line: int) -> pl.DataFrame:
    """Rows with LINE, KEY and ODD; blank rows (every cell blank) skipped."""
    numbered = body.with_columns(pl.int_range(first_line, first_line + body.height, dtype=pl.Int64).alias(LINE))
    blank = pl.all_horizontal([pl.col(c).str.contains(BLANK) for c in body.columns])
    return numbered.filter(~blank).with_columns(strip(pl.col("declaration_id")).alias(KEY), pl.lit(False).alias(ODD))


def _contract(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in (LINE, KEY, ODD)]


def _last(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.group_by(KEY).agg(pl.col(LINE).max().alias(LAST))


def _parquet(source: Source, chunk_lines: int) -> Iterator[Chunk]:
    """Two passes, as the CSV: the ids first (their last rows), then slices of rows."""
    try:
        scan = pl.scan_parquet(source.path)
        schema = scan.collect_schema()
        columns = _csv_header(iter([list(schema)]), source.name)
        text = [_as_text(name, dtype, source.name) for name, dtype in schema.items()]
        ids = scan.select(strip(pl.col("declaration_id").cast(pl.String)).fill_null("").alias(KEY))
        numbered = ids.with_row_index(LINE, offset=1)
        last = numbered.group_by(KEY).agg(pl.col(LINE).max().cast(pl.Int64).alias(LAST)).collect()
        rows = scan.select(text).collect().height
    except InputError:
        raise
    except Exception as exc:  # polars's errors say what is wrong with the file
        problem = f"not a readable Parquet file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        raise cannot_read(source.name, problem) from None

    def frames() -> Iterator[pl.DataFrame]:
        for start in range(0, rows, chunk_lines):
            part = scan.slice(start, chunk_lines).select(text).collect()
            yield _rows(part, first_line=start + 1)

    yield from in_order(frames(), last, columns, {}, source.name)


def _as_text(name: str, dtype: Any, source: str) -> pl.Expr:
    """A column as the text a user would have written in a CSV."""
    col = pl.col(name)
    if isinstance(dtype, TEXT_TYPES) or dtype in TEXT_TYPES:
        value = col.cast(pl.String)
    elif dtype == pl.Date or isinstance(dtype, pl.Datetime):
        value = col.dt.strftime("%Y-%m-%d")
    elif dtype.is_numeric() or dtype == pl.Boolean:
        value = col.cast(pl.String)
    elif isinstance(dtype, pl.List) and (dtype.inner in TEXT_TYPES or isinstance(dtype.inner, TEXT_TYPES)):
        value = col.cast(pl.List(pl.String)).list.join(";")
    else:
        raise cannot_read(source, f"column {name!r} holds {dtype}, not text, numbers or dates")
    return value.fill_null("").alias(name)


def sheet_records(source: Source, sheet: str | None = None) -> Iterator[Any]:
    """The record-by-record view of a workbook or Parquet file (for declarations.read_source:
    each declaration comes already validated, as a RawRecord that hands it on)."""
    for chunk in read_sheet_chunks(source, CHUNK, sheet):
        for record in chunk.records():
            yield record if isinstance(record, Rejected) else RawRecord(record.location, Read(record))


CHUNK = 20_000
