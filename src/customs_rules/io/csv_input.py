"""Batch CSV (design.md section 4): one row per goods item, grouped into declarations.

Two passes: the first learns where each declaration's last row is (rows of one
declaration need not be adjacent) and finds rows swallowed by an unbalanced quote; the
second hands each declaration on at its last row. A bad row rejects its whole
declaration, never part of it; so does a line too long to read (`inputs.LineReader`) and a
quoted field that runs on past the field limit.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from ..contract.errors import InputError, LocatedError, Location
from ..contract.input_text import ascii_digits, visible
from . import inputs
from .csv_columns import (
    HEADER_COLUMNS,
    PATH_TO_COLUMN,
    REQUIRED_CSV_COLUMNS,
    _csv_header,
    _csv_item,
    _row_undecodable,
    blank_row,
)
from .inputs import LineReader, Source, unreadable
from .parsing import Group, Parsed, RawRecord, Rejected, validate_record

PLAIN_NUMBER = re.compile(r"[0-9]{1,18}")


def read_csv(source: Source) -> Iterator[RawRecord | Rejected]:
    yield from _read_csv(source, _csv_first_pass(source))


@dataclass
class CsvGroup(Group):
    """The rows of one declaration, with what was wrong with them as they were read."""

    first_line: int
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    errors: list[LocatedError] = field(default_factory=list)
    # records that could not be read as rows (a line too long, a field past the limit):
    # (line, what was kept of it, why); any of them rejects the declaration
    unread: list[tuple[int, str, LocatedError]] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return len(self.rows) + len(self.unread)

    def declaration(self, key: str, source: str) -> Parsed | Rejected:
        if self.unread:
            return _unread_declaration(key, self, source)
        return _csv_declaration(key, self, source)


@dataclass
class _CsvScan:
    last: dict[str, int] = field(default_factory=dict)  # declaration id -> line of its last row
    # a record whose quoted field ran past the limit, by the line where it did: (its id,
    # its first line, the head of that line)
    overflow: dict[int, tuple[str, int, str]] = field(default_factory=dict)
    swallowed: dict[str, int] = field(default_factory=dict)  # id -> line of the record that ate a row
    hidden: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # the eaten lines, by id


class _LineTap:
    """Physical lines fed to the csv reader, kept until taken: the lines of one record."""

    def __init__(self, text: TextIO) -> None:
        self.reader = LineReader(text, _stand_in)
        self.text, self.lines = iter(self.reader), []  # type: ignore[var-annotated]

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = next(self.text)
        self.lines.append(line)
        return line

    def take(self) -> list[str]:
        lines, self.lines = self.lines, []
        return lines


def _csv_first_pass(source: Source) -> _CsvScan:
    """The line of each declaration's last row, so pass two can hand a declaration on as
    soon as it is complete: adjacent rows cost nothing, scattered ones wait for their last.

    It also finds rows swallowed by an unbalanced quote (a record spanning several lines
    with the wrong number of values): every declaration with a row in there is rejected
    whole, so none is screened with a line missing.
    """
    scan = _CsvScan()
    reader: Any = None
    try:
        with source.open() as text:
            tap = _LineTap(text)
            reader = csv.reader(tap)
            columns = _header(reader, tap, source.name)
            index = columns.index("declaration_id")
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    if not _overflow(exc):
                        raise
                    span = tap.take() or [""]  # the record so far: a field the limit stopped
                    first = next(csv.reader([span[0][: inputs.HEAD]]), [])
                    key = first[index].strip() if index < len(first) - 1 else ""
                    scan.last[key] = reader.line_num
                    start = reader.line_num - len(span) + 1
                    scan.overflow[reader.line_num] = (key, start, span[0][: inputs.HEAD].rstrip("\r\n"))
                    _swallowed(scan, key, reader.line_num, span, index)
                    continue
                span = tap.take()
                if blank_row(row, len(columns)):
                    continue
                key = row[index].strip() if index < len(row) else ""
                scan.last[key] = reader.line_num
                if len(span) > 1 and len(row) != len(columns):
                    _swallowed(scan, key, reader.line_num, span, index)
    except (OSError, EOFError, csv.Error) as exc:
        raise unreadable(source.name, exc, reader.line_num + 1 if reader else None) from None
    return scan


def _header(reader: Any, tap: _LineTap, source: str) -> list[str]:
    try:
        columns = _csv_header(reader, source)
    except InputError:
        if not tap.reader.cut:
            raise
        columns = []
    if tap.reader.cut:  # a header row that long is no header: say so, not "missing columns"
        error = LocatedError(Location(source, 1), tap.reader.cut[0].problem())
        raise InputError(f"{source} is not a batch CSV", [error])
    tap.take()
    return columns


def _overflow(exc: csv.Error) -> bool:
    return "field limit" in str(exc)


def _swallowed(scan: _CsvScan, key: str, line_num: int, span: list[str], index: int) -> None:
    """The record ending at `line_num` spans several lines and is not a row: every
    declaration with a row in there is rejected, so none is screened with a line missing."""
    scan.swallowed.setdefault(key, line_num)
    first = line_num - len(span) + 1
    for offset, physical in enumerate(span[1:], start=1):
        other = next(csv.reader([physical]), [])
        if len(other) > index:
            ident = other[index].strip()
            scan.swallowed.setdefault(ident, line_num)
            scan.hidden.setdefault(ident, []).append((first + offset, physical.rstrip("\r\n")))


def _stand_in(head: str) -> str:
    """What the csv module reads in place of a line too long to read: the values complete
    in its head (so the row keeps its declaration id), never a blank line (which the csv
    module skips: the line would vanish)."""
    values = next(csv.reader([head]), [])[:-1]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values or [""])
    return buffer.getvalue()


def _read_csv(source: Source, scan: _CsvScan) -> Iterator[RawRecord | Rejected]:
    with source.open(track=True) as text:
        lines = LineReader(text, _stand_in)
        reader = csv.DictReader(iter(lines))
        reader.fieldnames = [c.strip() for c in reader.fieldnames or []]
        open_groups: dict[str, CsvGroup] = {}
        for row in _rows(reader, scan, source.name):
            number = reader.line_num
            if not isinstance(row, _Unread) and lines.cut and (cut := lines.take_cut(number)):
                # a line of this record was too long to read: the record was not read
                error = LocatedError(Location(source.name, cut[0].number), cut[0].problem())
                row = _Unread((row.get("declaration_id") or "").strip(), cut[0].number, _csv_text(row), error, number)
            if not isinstance(row, _Unread) and blank_row([v for v in row.values() if v is not None],
                                                          len(reader.fieldnames), None in row):  # fmt: skip
                continue
            if isinstance(row, _Unread):
                group = open_groups.get(row.key) or open_groups.setdefault(row.key, CsvGroup(row.line))
                group.unread.append((row.line, row.raw, row.error))
                if scan.last.get(row.key, row.end) <= row.end:
                    yield RawRecord(Location(source.name, group.first_line), open_groups.pop(row.key), row.key)
                continue
            key = (row.get("declaration_id") or "").strip()
            group = open_groups.get(key) or open_groups.setdefault(key, CsvGroup(number))
            group.rows.append((number, row))
            # a ragged row rejects its whole declaration: a line must never vanish
            if key in scan.swallowed and len(group.rows) == 1:
                message = (
                    f"a row of this declaration was swallowed by an unbalanced quote in the record ending "
                    f"at line {scan.swallowed[key]}; fix the quote and screen it again"
                )
                group.errors.append(LocatedError(Location(source.name, number), message))
            if _row_undecodable(row):
                group.errors.append(
                    LocatedError(Location(source.name, number), "not UTF-8 text; save the file as UTF-8")
                )
            if None in row:
                group.errors.append(LocatedError(Location(source.name, number), "more values than header columns"))
            elif None in row.values():
                group.errors.append(LocatedError(Location(source.name, number), "fewer values than header columns"))
            if scan.last.get(key, number) <= number:
                group = open_groups.pop(key)
                yield RawRecord(Location(source.name, group.first_line), group, key)
        for key, group in open_groups.items():  # only if the file changed between passes
            yield RawRecord(Location(source.name, group.first_line), group, key)
    for key, hidden in scan.hidden.items():
        if key not in scan.last:  # every row of it was swallowed: it must still be accounted for
            where = Location(source.name, hidden[0][0])
            message = (
                f"every row of this declaration was swallowed by an unbalanced quote in the record ending "
                f"at line {scan.swallowed[key]}; fix the quote and screen it again"
            )
            yield Rejected(where, [LocatedError(where, message)], visible(key) or None, [raw for _, raw in hidden],
                           [n for n, _ in hidden])  # fmt: skip


@dataclass
class _Unread:
    """A record that could not be read as a row, in the place of its row."""

    key: str
    line: int
    raw: str
    error: LocatedError
    end: int  # the line the record ends on


def _rows(reader: Any, scan: _CsvScan, source: str) -> Iterator[dict[str, Any] | _Unread]:
    """The rows of `reader`; a record whose quoted field ran past the limit (found in pass
    one) comes as `_Unread`, and reading goes on after it."""
    while True:
        try:
            yield from reader
            return
        except csv.Error as exc:
            end = reader.reader.line_num  # a DictReader's own count moves only with a row
            if not _overflow(exc) or end not in scan.overflow:
                raise
            key, start, head = scan.overflow[end]
            problem = (
                f"a quoted field from line {start} runs past {inputs.MAX_CSV_FIELD:,} characters (to line "
                f"{end}): look for an unbalanced quote on line {start}"
            )
            yield _Unread(key, start, head, LocatedError(Location(source, start), problem), end)


def _unread_declaration(key: str, group: CsvGroup, source: str) -> Rejected:
    """A declaration with a record that could not be read: rejected whole, with what is
    wrong with its other rows too."""
    errors = [error for _, _, error in group.unread]
    if group.rows:
        rest = _csv_declaration(key, group, source)
        errors += rest.errors if isinstance(rest, Rejected) else group.errors
    entries = sorted([(n, _csv_text(r)) for n, r in group.rows] + [(n, raw) for n, raw, _ in group.unread])
    errors.sort(key=lambda e: e.location.line or 0)
    where = Location(source, entries[0][0])
    return Rejected(where, errors, key or None, [raw for _, raw in entries], [n for n, _ in entries])


def _csv_declaration(key: str, group: CsvGroup, source: str) -> Parsed | Rejected:
    first_line, first = group.rows[0]
    where = Location(source, first_line)
    errors = group.errors + _header_conflicts(group, source)
    errors += _line_errors(group, source)
    header: dict[str, Any] = {}
    for column, path in HEADER_COLUMNS.items():
        value = first.get(column)
        if value is None or (column not in REQUIRED_CSV_COLUMNS and not value.strip()):
            continue
        if column == "transit_countries":
            header[column] = [c for c in (p.strip() for p in value.split(";")) if c]
            continue
        target = header
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    header["items"] = [_csv_item(row) for _, row in group.rows]
    lines = [n for n, _ in group.rows]
    if errors:
        return Rejected(where, errors, visible(key) or None, [_csv_text(r) for _, r in group.rows], lines)

    def column_of(loc: tuple[Any, ...]) -> Location:
        if loc and loc[0] == "items" and len(loc) > 1 and isinstance(loc[1], int):
            rest = ".".join(str(p) for p in loc[2:]) or None
            return Location(source, lines[loc[1]], field=rest)
        dotted = ".".join(str(p) for p in loc)
        return Location(source, first_line, field=PATH_TO_COLUMN.get(dotted, dotted))

    result = validate_record(header, where, column_of)
    if isinstance(result, Rejected):
        result.raw, result.line_numbers = [_csv_text(r) for _, r in group.rows], lines
    else:
        result.lines = len(lines)
    return result


def _line_errors(group: CsvGroup, source: str) -> list[LocatedError]:
    """`line` is required in CSV (JSON defaults it), and a repeated one is reported at the
    row that repeats it."""
    errors = []
    seen: dict[Any, int] = {}
    for number, row in group.rows:
        text = (row.get("line") or "").strip()
        if not text:
            errors.append(LocatedError(Location(source, number, field="line"), "required field is missing"))
            continue
        # "01" and "١" repeat "1"; anything else (², 5,000 digits) is compared as written
        # and left to validation, which refuses it with its location
        digits = ascii_digits(text)
        value = int(digits) if PLAIN_NUMBER.fullmatch(digits) else text
        first = seen.setdefault(value, number)
        if first != number:
            message = f"item line {text} appears twice in this declaration (first at line {first})"
            errors.append(LocatedError(Location(source, number, field="line"), message))
    return errors


def _header_conflicts(group: CsvGroup, source: str) -> list[LocatedError]:
    errors = []
    _, first = group.rows[0]
    for number, row in group.rows[1:]:
        for column in HEADER_COLUMNS:
            if (row.get(column) or "").strip() != (first.get(column) or "").strip():
                message = (
                    f"conflicts with line {group.first_line} of the same declaration "
                    f"({_short(row.get(column))} != {_short(first.get(column))})"
                )
                errors.append(LocatedError(Location(source, number, field=column), message))
    return errors


def _csv_text(row: dict[Any, Any]) -> str:
    """A row back as the CSV line it was (values in column order, extra values last)."""
    values = [("" if v is None else v) for k, v in row.items() if k is not None]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([*values, *(row.get(None) or [])])
    return buffer.getvalue()


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"
