"""Any input file into declarations or rejections: the entry points of the record-by-record
readers. The format is told here and read by `csv_input`, `json_input` or, by columns,
`sheets`; what every format shares is in `parsing`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from ..contract.errors import InputError, LocatedError, Location
from . import csv_input, json_input
from .inputs import Source, empty_input, unreadable
from .parsing import (
    Parsed,
    RawRecord,
    Rejected,
    has_content,
)


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

    if kind == "csv":
        yield from csv_input.read_csv(source)
    elif kind == "jsonl":
        yield from json_input.read_jsonl(source)
    else:
        yield from json_input.read_json(source)


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
