"""Parse and validate: JSON, JSON Lines and batch CSV into declarations or located rejections.

Nothing here stops at the first bad record: every record becomes either a `Parsed`
declaration or a `Rejected` one that says where (file and line or record) and which field.
The unit of acceptance is the declaration: one bad CSV row rejects its whole declaration.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from pydantic import ValidationError

from .errors import InputError, LocatedError, Location
from .inputs import Source, unreadable
from .models import Declaration

# a long field is its declaration's problem (validation refuses it), not the whole file's
csv.field_size_limit(1 << 26)

HEADER_COLUMNS = {
    "declaration_id": ("declaration_id",),
    "date": ("date",),
    "procedure": ("procedure",),
    "document_type": ("document_type",),
    "exporter_name": ("exporter", "name"),
    "exporter_id": ("exporter", "id"),
    "exporter_country": ("exporter", "country"),
    "consignee_name": ("consignee", "name"),
    "consignee_id": ("consignee", "id"),
    "consignee_country": ("consignee", "country"),
    "dispatch_country": ("dispatch_country",),
    "destination_country": ("destination_country",),
    "transit_countries": ("transit_countries",),
}
ITEM_COLUMNS = (
    "line",
    "hs_code",
    "description",
    "quantity",
    "unit",
    "value",
    "currency",
    "origin_country",
    "net_mass_kg",
)
REQUIRED_CSV_COLUMNS = (
    "declaration_id",
    "date",
    "exporter_name",
    "consignee_name",
    "dispatch_country",
    "destination_country",
    "line",
    "hs_code",
)
# pydantic's field path (as a dotted string) back to the CSV column a user wrote
PATH_TO_COLUMN = {".".join(path): column for column, path in HEADER_COLUMNS.items()}


@dataclass
class Parsed:
    declaration: Declaration
    location: Location
    lines: int = 1  # input lines (CSV rows, JSON records) it came from


@dataclass
class Rejected:
    location: Location
    errors: list[LocatedError]
    declaration_id: str | None = None
    raw: Any = None
    line_numbers: list[int] = field(default_factory=list)  # of each input line it came from

    @property
    def lines(self) -> int:
        return max(1, len(self.line_numbers))


@dataclass
class _CsvGroup:
    first_line: int
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    errors: list[LocatedError] = field(default_factory=list)


_SURROGATE = re.compile("[\udc80-\udcff]")
# A declaration nests four levels (items, an item, its fields); extra fields may add a
# few. Far deeper data is no declaration, and past ~250 levels it cannot be stored,
# copied to a worker or even decoded (Python's recursion limit).
MAX_DEPTH = 32
TOO_DEEP = f"nested too deeply to be a declaration (more than {MAX_DEPTH} levels)"


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and objects nest more than `limit` levels (no recursion: it must
    not fail on the very data it guards against)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _undecodable(values: Any) -> bool:
    """Bytes that were not UTF-8 arrive as lone surrogates (errors='surrogateescape')."""
    for value in values:
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            if _undecodable(value.keys()) or _undecodable(value.values()):
                return True
        elif isinstance(value, list) and _undecodable(value):
            return True
    return False


def _row_undecodable(row: dict[Any, Any]) -> bool:
    """`_undecodable` for a CSV row, in one pass over its text (the check runs on every row)."""
    try:
        text = "".join(row.values())
    except TypeError:  # a ragged row holds None or a list of extra values
        return _undecodable(row.values())
    return not text.isascii() and _SURROGATE.search(text) is not None


@dataclass
class RawRecord:
    """One declaration as read, not yet validated: cheap to read in one process and
    to validate in another (the batch workers do the validating and screening)."""

    location: Location
    data: Any  # a JSON value, or the _CsvGroup of a declaration's rows
    key: str = ""

    @property
    def lines(self) -> int:
        return len(self.data.rows) if isinstance(self.data, _CsvGroup) else 1

    def parse(self) -> Parsed | Rejected:
        if isinstance(self.data, _CsvGroup):
            return _csv_declaration(self.key, self.data, self.location.source)
        if _undecodable([self.data]):
            error = LocatedError(self.location, "not UTF-8 text; save the file as UTF-8")
            return Rejected(self.location, [error], raw=self.data, line_numbers=[self.location.line or 0])
        result = validate_record(self.data, self.location)
        if isinstance(result, Rejected) and self.location.line:
            result.line_numbers = [self.location.line]
        return result


def read_declarations(path: str, stream: TextIO | None = None) -> Iterator[Parsed | Rejected]:
    """Read one input (a path, or `-` for stdin; plain or gzip) and yield each declaration
    or rejection, streaming: memory does not grow with the file.

    The format comes from the extension (.json, .jsonl/.ndjson, .csv, each optionally
    .gz); stdin and unknown extensions are sniffed from the first non-blank character.
    """
    for raw in read_raw(path, stream):
        yield raw.parse() if isinstance(raw, RawRecord) else raw


def read_raw(path: str, stream: TextIO | None = None) -> Iterator[RawRecord | Rejected]:
    """The records of one input, read but not validated (see `RawRecord`)."""
    source_name = "<stdin>" if path == "-" else path
    try:
        with Source(path, stream) as source:
            yield from read_source(source)
    except InputError as exc:
        # An unreadable input is reported like a rejected record, so the inputs
        # after it are still screened.
        yield Rejected(Location(source_name), exc.errors, raw=None)


def read_source(source: Source) -> Iterator[RawRecord | Rejected]:
    """Two passes: the first proves the whole file readable (so nothing of a broken file
    is screened) and, for CSV, learns where each declaration's last row is."""
    try:
        kind = source.kind()
        if not _has_content(source):
            raise InputError(
                f"{source.name} is empty", [LocatedError(Location(source.name), "empty input: no declarations")]
            )
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise unreadable(source.name, exc) from None
    if kind == "csv":
        yield from _read_csv(source, _csv_first_pass(source))
    elif kind == "jsonl":
        _check_lines(source)
        yield from _read_jsonl(source)
    else:
        _json_first_pass(source)
        yield from _read_json(source)


def _check_lines(source: Source) -> None:
    line = 0
    try:
        with source.open() as text:
            for line, content in enumerate(text, start=1):  # noqa: B007 - the last line locates errors
                pass
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise unreadable(source.name, exc, line + 1) from None
    if line == 0 or not _has_content(source):
        raise InputError(
            f"{source.name} is empty", [LocatedError(Location(source.name), "empty input: no declarations")]
        )


def _has_content(source: Source) -> bool:
    with source.open() as text:
        return any(chunk.strip() for chunk in iter(lambda: text.read(65536), ""))


def validate_record(data: Any, location: Location, column_of: Any = None) -> Parsed | Rejected:
    """Validate one declaration's data; `column_of` maps a pydantic error to a location."""
    if not isinstance(data, dict):
        error = LocatedError(location, f"expected a JSON object, got {type(data).__name__}")
        return Rejected(location, [error], raw=data)
    if too_deep(data):
        return Rejected(location, [LocatedError(location, TOO_DEEP)], raw=None)
    try:
        return Parsed(Declaration.model_validate(data), location)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            where = column_of(err["loc"]) if column_of else _json_location(location, err["loc"])
            errors.append(LocatedError(where, _message(err)))
        ident = data.get("declaration_id")
        return Rejected(location, errors, str(ident) if ident is not None else None, data)


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] == "string_too_short" and err.get("input") in ("", None):
        return "required field is empty"
    return msg


def _json_location(base: Location, loc: tuple[Any, ...]) -> Location:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return Location(base.source, base.line, base.record, path or None)


def _read_json(source: Source) -> Iterator[RawRecord | Rejected]:
    with source.open(track=True) as text:
        for line, record, data in _json_values(text, source.name):
            yield _raw_or_too_deep(Location(source.name, line, record), data)


def _raw_or_too_deep(where: Location, data: Any, text: str | None = None) -> RawRecord | Rejected:
    """A decoded record, or its rejection when it nests too deeply to be handed on (to a
    worker, to storage): `text` is the line it was read from, for the rejects file."""
    if isinstance(data, dict | list) and too_deep(data):
        ident = data.get("declaration_id") if isinstance(data, dict) else None
        return Rejected(where, [LocatedError(where, TOO_DEEP)], ident if isinstance(ident, str) else None, text,
                        [where.line or 0])  # fmt: skip
    return RawRecord(where, data)


def _json_first_pass(source: Source) -> None:
    """A malformed file is refused whole, before any of its records is screened."""
    try:
        with source.open() as text:
            count = sum(1 for _ in _json_values(text, source.name))
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise unreadable(source.name, exc) from None
    if count == 0 and not _has_content(source):
        raise InputError(
            f"{source.name} is empty", [LocatedError(Location(source.name), "empty input: no declarations")]
        )


def _json_values(text: TextIO, name: str) -> Iterator[tuple[int, int | None, Any]]:
    """(line, index in the list or None, value) of each element of a top-level array,
    or of a single object, decoded chunk by chunk so a file of millions of records never
    sits in memory."""
    reader = _JsonStream(text, name)
    first = reader.peek()
    if first != "[":
        yield reader.line_at(reader.pos), None, reader.value()
        if reader.peek() != "":
            raise reader.error("extra data after the object")
        return
    reader.pos += 1
    if reader.peek() == "]":
        reader.pos += 1
    else:
        for index in itertools.count(1):
            yield reader.line_at(reader.pos), index, reader.value()
            after = reader.peek()
            reader.pos += 1
            if after == "]":
                break
            if after != ",":
                reader.pos -= 1
                raise reader.error("expected ',' or ']'")
            reader.peek()
    if reader.peek() != "":
        raise reader.error("extra data after the list")


class _JsonStream:
    """A growing window over a text stream, for `raw_decode` one value at a time."""

    CHUNK = 1 << 20

    def __init__(self, text: TextIO, name: str) -> None:
        self.text, self.name = text, name
        self.buf, self.pos, self.base_line, self.eof = "", 0, 1, False
        self.decoder = json.JSONDecoder(object_pairs_hook=_no_duplicate_keys)

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.text.read(self.CHUNK)
        if not chunk:
            self.eof = True
            return False
        # drop what was consumed, counting its lines for the locations
        self.base_line += self.buf.count("\n", 0, self.pos)
        self.buf, self.pos = self.buf[self.pos :] + chunk, 0
        return True

    def peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf) or not self._more():
                return self.buf[self.pos] if self.pos < len(self.buf) else ""

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                data, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self._more():
                    continue  # the value may run on past this window
                raise _json_syntax(self.name, exc, self.base_line - 1) from None
            except RecursionError:
                where = Location(self.name, self.line_at(self.pos))
                raise InputError(f"{self.name} cannot be read", [LocatedError(where, TOO_DEEP)]) from None
            except ValueError as exc:
                raise InputError(
                    f"{self.name} is not valid", [LocatedError(Location(self.name, self.line_at(self.pos)), str(exc))]
                ) from None
            if end == len(self.buf) and not self.eof and self._grows_number():
                continue  # a number cut by the window edge: read on before trusting it
            self.pos = end
            return data

    def _grows_number(self) -> bool:
        return self.buf[-1:].isdigit() and self._more()

    def line_at(self, pos: int) -> int:
        return self.base_line + self.buf.count("\n", 0, pos)

    def error(self, message: str) -> InputError:
        line = self.line_at(self.pos)
        return InputError(f"{self.name} is not valid JSON", [LocatedError(Location(self.name, line), message)])


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in one object")
        result[key] = value
    return result


def _json_syntax(source: str, exc: json.JSONDecodeError, line_offset: int = 0) -> InputError:
    where = Location(source, exc.lineno + line_offset)
    return InputError(
        f"{source} is not valid JSON",
        [LocatedError(where, f"{exc.msg} (column {exc.colno})")],
        "check the file near that line; a JSON file holds one object or a list of objects",
    )


def _read_jsonl(source: Source) -> Iterator[RawRecord | Rejected]:
    with source.open(track=True) as text:
        for number, line in enumerate(text, start=1):
            if not line.strip():
                continue
            where = Location(source.name, number)
            try:
                data = json.loads(line, object_pairs_hook=_no_duplicate_keys)
            except json.JSONDecodeError as exc:
                error = LocatedError(where, f"invalid JSON: {exc.msg} (column {exc.colno})")
                yield Rejected(where, [error], raw=line.rstrip("\r\n"), line_numbers=[number])
                continue
            except (ValueError, RecursionError) as exc:
                problem = str(exc) if isinstance(exc, ValueError) else TOO_DEEP
                yield Rejected(where, [LocatedError(where, problem)], raw=line.rstrip("\r\n"), line_numbers=[number])
                continue
            yield _raw_or_too_deep(where, data, line.rstrip("\r\n"))


def _csv_header(reader: Any, source: str) -> list[str]:
    columns = [c.strip() for c in next(reader, [])]
    missing = [c for c in REQUIRED_CSV_COLUMNS if c not in columns]
    if not columns:
        raise InputError(f"{source} is empty", [LocatedError(Location(source), "empty input: no declarations")])
    if missing:
        raise InputError(
            f"{source} is not a batch CSV",
            [LocatedError(Location(source, 1), f"missing column(s): {', '.join(missing)}")],
            "the header row must name the batch CSV columns (see README, 'Batch CSV')",
        )
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    if repeated:
        raise InputError(
            f"{source} is not a batch CSV",
            [LocatedError(Location(source, 1), f"column(s) named twice: {', '.join(repeated)}")],
        )
    return columns


@dataclass
class _CsvScan:
    last: dict[str, int] = field(default_factory=dict)  # declaration id -> line of its last row
    swallowed: dict[str, int] = field(default_factory=dict)  # id -> line of the record that ate a row
    hidden: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # the eaten lines, by id


class _LineTap:
    """Physical lines fed to the csv reader, kept until taken: the lines of one record."""

    def __init__(self, text: TextIO) -> None:
        self.text, self.lines = text, []  # type: ignore[var-annotated]

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
            columns = _csv_header(reader, source.name)
            tap.take()
            index = columns.index("declaration_id")
            for row in reader:
                key = row[index].strip() if index < len(row) else ""
                scan.last[key] = reader.line_num
                span = tap.take()
                if len(span) > 1 and len(row) != len(columns):
                    scan.swallowed.setdefault(key, reader.line_num)
                    first = reader.line_num - len(span) + 1
                    for offset, physical in enumerate(span[1:], start=1):
                        other = next(csv.reader([physical]), [])
                        if len(other) > index:
                            ident = other[index].strip()
                            scan.swallowed.setdefault(ident, reader.line_num)
                            scan.hidden.setdefault(ident, []).append((first + offset, physical.rstrip("\r\n")))
    except (OSError, EOFError, csv.Error) as exc:
        raise unreadable(source.name, exc, reader.line_num + 1 if reader else None) from None
    return scan


def _read_csv(source: Source, scan: _CsvScan) -> Iterator[RawRecord | Rejected]:
    with source.open(track=True) as text:
        reader = csv.DictReader(text)
        reader.fieldnames = [c.strip() for c in reader.fieldnames or []]
        open_groups: dict[str, _CsvGroup] = {}
        for row in reader:
            number = reader.line_num
            key = (row.get("declaration_id") or "").strip()
            group = open_groups.get(key) or open_groups.setdefault(key, _CsvGroup(number))
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
            yield Rejected(where, [LocatedError(where, message)], key or None, [raw for _, raw in hidden],
                           [n for n, _ in hidden])  # fmt: skip


def _csv_declaration(key: str, group: _CsvGroup, source: str) -> Parsed | Rejected:
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
        return Rejected(where, errors, key or None, [_csv_text(r) for _, r in group.rows], lines)

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


def _line_errors(group: _CsvGroup, source: str) -> list[LocatedError]:
    """`line` is required in CSV (JSON defaults it), and a repeated one is reported at the
    row that repeats it."""
    errors = []
    seen: dict[Any, int] = {}
    for number, row in group.rows:
        text = (row.get("line") or "").strip()
        if not text:
            errors.append(LocatedError(Location(source, number, field="line"), "required field is missing"))
            continue
        value = int(text) if text.isdigit() else text
        first = seen.setdefault(value, number)
        if first != number:
            message = f"item line {text} appears twice in this declaration (first at line {first})"
            errors.append(LocatedError(Location(source, number, field="line"), message))
    return errors


def _header_conflicts(group: _CsvGroup, source: str) -> list[LocatedError]:
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


def _csv_item(row: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for column, value in row.items():
        if column is None or column in HEADER_COLUMNS:
            continue
        if column in ITEM_COLUMNS:
            if value is not None and value.strip():
                item[column] = value.strip()
        elif value:
            item[column] = value  # extra columns are kept, not rejected
    return item


def read_all(paths: Iterable[str], stream: TextIO | None = None) -> Iterator[Parsed | Rejected]:
    """Read several inputs in order; an unreadable one is a rejection, not a stop.

    One id with two different contents in the same run is ambiguous: the later one is
    rejected, naming where the first stands (the same content twice is harmless).
    """
    seen: dict[str, tuple[dict[str, Any], Location]] = {}
    for path in paths:
        for outcome in read_declarations(path, stream):
            if isinstance(outcome, Parsed):
                ident = outcome.declaration.declaration_id
                content = outcome.declaration.canonical()
                first = seen.setdefault(ident, (content, outcome.location))
                if first[0] != content:
                    message = f"declaration_id {ident!r} already came with other content at {first[1]}"
                    error = LocatedError(Location(outcome.location.source, outcome.location.line,
                                                  outcome.location.record, "declaration_id"), message)  # fmt: skip
                    numbers = list(range(outcome.location.line or 0, (outcome.location.line or 0) + outcome.lines))
                    outcome = Rejected(outcome.location, [error], ident, content, numbers)
            yield outcome
