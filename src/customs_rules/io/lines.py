"""A batch CSV as blocks of physical lines, each line told plain or not.

A *plain* line is one record on one line, quoted (if at all) only around whole fields,
with as many values as the header has columns: polars reads such lines exactly as the
csv module does, and line numbers stay physical lines. Any other line is read here with
the csv module, as `csv.DictReader` reads it (a ragged row, bytes that are not UTF-8, a
quote inside an unquoted field), and its declaration takes the exact path.

What this reader cannot follow line by line sends the whole file to the exact reader
(`Fallback`): a record spanning lines (a quoted line break, an unbalanced quote), a
lone carriage return (a line end to the csv module, not to polars), a line past
`inputs.MAX_CSV_FIELD`, a header that is not one plain line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import polars as pl

from . import inputs  # MAX_CSV_FIELD read at each use: tests lower it
from .csv_columns import blank_row
from .parsing import SURROGATE

# characters the fast path leaves to the exact one: the csv module and Python's str.strip()
# read them otherwise than polars does, and the models refuse most of them
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# one field: unquoted without quotes, or quoted whole ("" is a quote inside)
_FIELD = r'(?:[^",]*|"(?:[^"]|"")*")'
PLAIN = rf"^{_FIELD}(?:,{_FIELD})*$"
_QUOTED = r'"(?:[^"]|"")*"'
# Python's str.isspace(): Unicode White_Space and the four separators \x1c-\x1f
PY_SPACE = r"[\s\x1c-\x1f]"
_BLANK_FIELD = rf'(?:{PY_SPACE}*|"{PY_SPACE}*")'
BLANK = rf"^{_BLANK_FIELD}(?:,{_BLANK_FIELD})*$"
PIECE = 1 << 20
LINE = "\0line"  # the input line of a row (no header name holds a NUL: see `header`)


class Fallback(Exception):  # noqa: N818 - a signal, not an error: the exact reader takes the file
    """The file takes the exact (record-by-record) reader."""


@dataclass
class OddRow:
    """A line read by the csv module: the row as `csv.DictReader` gives it."""

    line: int
    row: dict[Any, Any]


@dataclass
class Block:
    """The non-blank rows of a run of lines: plain ones as text (for polars), odd ones read."""

    first: int  # number of the block's first line
    last: int  # number of its last line
    plain: pl.Series = field(default_factory=lambda: pl.Series(dtype=pl.String))
    plain_lines: pl.Series = field(default_factory=lambda: pl.Series(dtype=pl.Int64))
    odd: list[OddRow] = field(default_factory=list)
    empty: list[int] = field(default_factory=list)  # lines the csv module reads as [] (see csv_read._keys)
    data: bytes = b""  # the lines as read, when every one is a plain row


def byte_blocks(binary: IO[bytes], chunk_lines: int, skip_bom: bool = True) -> Iterator[bytes]:
    """Runs of whole lines of at least `chunk_lines` lines (the last may be shorter)."""
    piece = max(256, min(PIECE, chunk_lines * 128))
    carry, count, first = b"", 0, skip_bom
    while True:
        data = binary.read(piece)
        if first:
            data, first = data.removeprefix(b"\xef\xbb\xbf"), False
        if not data:
            if carry:
                yield carry
            return
        carry += data
        count += data.count(b"\n")
        if count >= chunk_lines:
            cut = carry.rfind(b"\n") + 1
            yield carry[:cut]
            carry, count = carry[cut:], 0
        elif len(carry) > 4 * inputs.MAX_CSV_FIELD:  # a line too long: the exact reader reads it through
            raise Fallback


def plain_count(data: bytes, width: int) -> int | None:
    """How many lines `data` holds when a test cheaper than `classify` proves each of them
    a plain, non-blank row of `width` values (so `classify` would hand polars the bytes as
    they are); None when `classify` must say. The test is stricter, never looser: a line
    holding only spaces, commas and quotes, say, is left to `classify`."""
    if width < 2 or not data or len(data) > inputs.MAX_CSV_FIELD or any(b in data for b in _NOT_PLAIN):
        return None  # blank lines, carriage returns, long lines...: classify's cases
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    count = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    # polars splits the lines (the separator is in none of them, and no quote is special);
    # an empty line reads as null
    lines = pl.read_csv(io.BytesIO(data), has_header=False, separator="\0", quote_char=None, infer_schema=False,
                        new_columns=["l"])  # fmt: skip
    if lines.height != count:
        return None
    plain = (pl.col("l").str.contains(_row(width)) & pl.col("l").str.contains(_SUBSTANCE)).fill_null(False)
    return count if lines.select(plain.all()).item() else None


# a NUL (polars' separator above), a carriage return, a BOM (polars drops it at the start)
_NOT_PLAIN = (b"\0", b"\r", b"\xef\xbb\xbf")


# a line of exactly `width` fields, each unquoted without quotes or quoted whole: what
# PLAIN and the count of commas outside quoted fields say together, in one pass
_ROW = r'(?:[^",]*|"(?:[^"]|"")*")'
# a character no blank field holds (see BLANK): a line with one is not blank
_SUBSTANCE = r'[^\s\x1c-\x1f,"]'


def _row(width: int) -> str:
    return rf"^{_ROW}(?:,{_ROW}){{{width - 1}}}$"


def split_lines(data: bytes) -> tuple[list[str], bool]:
    """The block's lines without their '\\n', and whether all were UTF-8 (if not, the bytes
    that are not come as lone surrogates, as the exact reader reads them)."""
    try:
        text, clean = data.decode("utf-8"), True
    except UnicodeDecodeError:
        text, clean = data.decode("utf-8", "surrogateescape"), False
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines, clean


def header(first_line: str) -> list[str]:
    """The header's cells (the file's first line), or Fallback when it is not one plain line."""
    body = first_line.removesuffix("\r")
    if not body.strip() or CONTROL.search(body) or SURROGATE.search(body) or not re.fullmatch(PLAIN, body):
        raise Fallback
    return next(csv.reader([body]), [])


def classify(lines: list[str], clean: bool, first: int, columns: list[str], data: bytes = b"") -> Block:
    """Sort a block's lines: plain rows, odd rows (read here), blanks skipped. `data` is
    the lines as bytes: polars reads it as it is when every line is a plain row."""
    width = len(columns)
    block = Block(first, first + len(lines) - 1)
    odd = set() if clean else {i for i, line in enumerate(lines) if SURROGATE.search(line)}
    body = pl.Series("l", lines if clean else ["\0" if i in odd else line for i, line in enumerate(lines)],
                     dtype=pl.String)  # fmt: skip
    if b"\r" in data or not clean:
        body = body.str.strip_suffix("\r")
        if body.str.contains("\r", literal=True).any():
            raise Fallback
    if (body.str.len_chars() > inputs.MAX_CSV_FIELD).any():
        raise Fallback
    quoted = body.str.contains('"', literal=True)
    commas = body.str.count_matches(",", literal=True)
    plain = ~quoted & (commas == width - 1)
    if quoted.any():  # only lines with a quote need the full test
        test = body.str.contains(PLAIN) & (body.str.replace_all(_QUOTED, "").str.count_matches(",", literal=True)
                                           == width - 1)  # fmt: skip
        plain = pl.select(pl.when(quoted).then(test).otherwise(plain)).to_series()
    if odd:
        plain = plain & ~pl.Series(range(len(lines))).is_in(list(odd))
    keep = plain & ~body.str.contains(BLANK)
    numbers = pl.int_range(first, first + len(lines), dtype=pl.Int64, eager=True)
    if clean and keep.all():
        block.data = data
    block.plain, block.plain_lines = body.filter(keep), numbers.filter(keep)
    for offset in (~plain).arg_true().to_list():
        _odd_line(block, lines[offset], first + offset, columns)
    return block


def _odd_line(block: Block, line: str, number: int, columns: list[str]) -> None:
    """A line that is not plain, read as `csv.DictReader` reads it (blanks skipped)."""
    cells = next(csv.reader([line + "\n"]), [])
    if any("\n" in cell or "\r" in cell for cell in cells):
        raise Fallback  # a quoted field runs on to the next line
    if not cells:
        block.empty.append(number)
        return
    row: dict[Any, Any] = dict(zip(columns, cells, strict=False))
    if len(cells) > len(columns):
        row[None] = cells[len(columns) :]
    else:
        row.update(dict.fromkeys(columns[len(cells) :]))
    if blank_row([v for v in row.values() if v is not None], len(columns), None in row):
        return
    block.odd.append(OddRow(number, row))


def plain_frame(block: Block, columns: list[str], only: list[int] | None = None) -> pl.DataFrame:
    """The block's plain rows as string columns (empty cells as ''), with their line (`LINE`);
    `only`: the positions of the columns to read (all by default)."""
    names = [f"c{i}" for i in range(len(columns))]
    if only is not None:
        names, columns = [names[i] for i in only], [columns[i] for i in only]
    if len(block.plain):
        data = block.data or (block.plain.str.join("\n").item() + "\n").encode("utf-8")
        frame = pl.read_csv(io.BytesIO(data), has_header=False, infer_schema=False, empty_string_is_null=False,
                            quote_char='"', raise_if_empty=False, columns=only)  # fmt: skip
    else:
        frame = pl.DataFrame(schema=dict.fromkeys(names, pl.String))
    frame.columns = columns
    return frame.with_columns(block.plain_lines.alias(LINE))
