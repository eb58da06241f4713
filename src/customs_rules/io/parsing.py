"""Parse and validate: JSON, JSON Lines and batch CSV into declarations or located rejections.

Nothing here stops at the first bad record: every record becomes either a `Parsed`
declaration or a `Rejected` one that says where (file and line or record) and which field.
The unit of acceptance is the declaration: one bad CSV row rejects its whole declaration.
This module holds what every format shares and the entry points; `csv_input` and
`json_input` read their formats.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from pydantic import ValidationError

from ..contract.errors import InputError, LocatedError, Location
from ..contract.input_text import visible
from ..contract.models import Declaration
from .inputs import Source, empty_input, unreadable


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
    # set when a whole input could not be read (missing, not text, broken): what was said
    # about it. Such an input holds no declaration and no line to count.
    refusal: str | None = None

    @property
    def lines(self) -> int:
        return 0 if self.refusal is not None else max(1, len(self.line_numbers))


SURROGATE = re.compile("[\udc80-\udcff]")
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


def undecodable(values: Any) -> bool:
    """Bytes that were not UTF-8 arrive as lone surrogates (errors='surrogateescape')."""
    for value in values:
        if isinstance(value, str):
            if not value.isascii() and SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            if undecodable(value.keys()) or undecodable(value.values()):
                return True
        elif isinstance(value, list) and undecodable(value):
            return True
    return False


class Group:
    """A declaration read as several rows (a batch CSV's), validated when it is parsed."""

    @property
    def lines(self) -> int:
        raise NotImplementedError

    def declaration(self, key: str, source: str) -> Parsed | Rejected:
        raise NotImplementedError


@dataclass
class Read(Group):
    """A declaration already validated (read by columns): parsing hands it on as it is."""

    result: Parsed | Rejected

    @property
    def lines(self) -> int:
        return self.result.lines

    def declaration(self, key: str, source: str) -> Parsed | Rejected:
        return self.result


@dataclass
class RawRecord:
    """One declaration as read, not yet validated: cheap to read in one process and
    to validate in another (the batch workers do the validating and screening)."""

    location: Location
    data: Any  # a JSON value, or the Group of a declaration's rows
    key: str = ""

    @property
    def lines(self) -> int:
        return self.data.lines if isinstance(self.data, Group) else 1

    def parse(self) -> Parsed | Rejected:
        if isinstance(self.data, Group):
            return self.data.declaration(self.key, self.location.source)
        if undecodable([self.data]):
            error = LocatedError(self.location, "not UTF-8 text; save the file as UTF-8")
            return Rejected(self.location, [error], raw=self.data, line_numbers=[self.location.line or 0])
        result = validate_record(self.data, self.location)
        if isinstance(result, Rejected) and self.location.line:
            result.line_numbers = [self.location.line]
        return result


def text_kind(source: Source) -> str:
    """The kind of a text input (csv, jsonl or json), once it is known to hold something:
    an empty or unreadable one is refused whole (InputError)."""
    try:
        kind = source.kind()
        if not has_content(source):
            raise empty_input(source.name)
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise unreadable(source.name, exc) from None
    return kind


def read_declarations(path: str, stream: TextIO | None = None, sheet: str | None = None) -> Iterator[Parsed | Rejected]:
    """Read one input (a path, or `-` for stdin; plain or gzip) and yield each declaration
    or rejection, streaming: memory does not grow with the file.

    The format comes from the extension (.json, .jsonl/.ndjson, .csv, each optionally
    .gz); stdin and unknown extensions are sniffed from the first non-blank character.
    Workbooks (.xlsx: `sheet`, or the first) and Parquet files are told by their magic bytes.
    """
    for raw in read_raw(path, stream, sheet):
        yield raw.parse() if isinstance(raw, RawRecord) else raw


def read_raw(path: str, stream: TextIO | None = None, sheet: str | None = None) -> Iterator[RawRecord | Rejected]:
    """The records of one input, read but not validated (see `RawRecord`)."""
    source_name = "<stdin>" if path == "-" else path
    try:
        with Source(path, stream) as source:
            yield from read_source(source, sheet)
    except InputError as exc:
        # An unreadable input is reported in the stream (as a refusal: no line, no
        # declaration), so the inputs after it are still screened.
        yield Rejected(Location(source_name), exc.errors, raw=None, refusal=exc.what)


def read_source(source: Source, sheet: str | None = None) -> Iterator[RawRecord | Rejected]:
    """Two passes: the first proves the whole file readable (so nothing of a broken file
    is screened) and, for CSV, learns where each declaration's last row is."""
    if source.binary_kind is not None:  # a workbook or a Parquet file: read by columns
        from .sheets import sheet_records

        yield from sheet_records(source, sheet)
        return
    kind = text_kind(source)
    from . import csv_input, json_input  # they build on this module's results

    if kind == "csv":
        yield from csv_input.read_csv(source)
    elif kind == "jsonl":
        yield from json_input.read_jsonl(source)
    else:
        yield from json_input.read_json(source)


def has_content(source: Source) -> bool:
    with source.open() as text:
        return any(chunk.strip() for chunk in iter(lambda: text.read(65536), ""))


def validate_record(data: Any, location: Location, column_of: Any = None) -> Parsed | Rejected:
    """Validate one declaration's data; `column_of` maps a pydantic error to a location."""
    if not isinstance(data, dict):
        error = LocatedError(location, f"expected a JSON object, got {type(data).__name__}")
        return Rejected(location, [error], raw=data)
    if column_of is None and too_deep(data):  # a batch CSV's rows always make a shallow record
        return Rejected(location, [LocatedError(location, TOO_DEEP)], raw=None)
    try:
        return Parsed(Declaration.model_validate(data), location)
    except ValidationError as exc:
        errors = []
        for err in exc.errors(include_url=False):
            where = column_of(err["loc"]) if column_of else json_location(location, err["loc"])
            errors.append(LocatedError(where, _message(err)))
        ident = data.get("declaration_id")
        # the id names the rejection on a terminal and in the audit log: no raw control characters
        return Rejected(location, errors, visible(str(ident)) if ident is not None else None, data)


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "missing":
        return "required field is missing"
    if err["type"] == "string_too_short" and err.get("input") in ("", None):
        return "required field is empty"
    return msg


def json_location(base: Location, loc: tuple[Any, ...]) -> Location:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return Location(base.source, base.line, base.record, path or None)


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
