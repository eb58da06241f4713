"""Parse and validate: JSON, JSON Lines and batch CSV into declarations or located rejections.

Nothing here stops at the first bad record: every record becomes either a `Parsed`
declaration or a `Rejected` one that says where (file and line or record) and which field.
The unit of acceptance is the declaration: one bad CSV row rejects its whole declaration.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from .errors import InputError, LocatedError, Location
from .models import Declaration

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


@dataclass
class Rejected:
    location: Location
    errors: list[LocatedError]
    declaration_id: str | None = None
    raw: Any = None


@dataclass
class _CsvGroup:
    first_line: int
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    errors: list[LocatedError] = field(default_factory=list)


def read_declarations(path: str, stream: TextIO | None = None) -> Iterator[Parsed | Rejected]:
    """Read one input (a path, or `-` for stdin) and yield each declaration or rejection.

    The format comes from the extension (.json, .jsonl/.ndjson, .csv); stdin and unknown
    extensions are sniffed from the first non-blank character.
    """
    source = "<stdin>" if path == "-" else path
    try:
        text = _read_text(path, stream)
        kind = _detect_format(path, text)
        if kind == "csv":
            yield from _read_csv(text, source)
        elif kind == "jsonl":
            yield from _read_jsonl(text, source)
        else:
            yield from _read_json(text, source)
    except InputError as exc:
        # An unreadable input is reported like a rejected record, so the inputs
        # after it are still screened.
        yield Rejected(Location(source), exc.errors, raw=None)


def _read_text(path: str, stream: TextIO | None) -> str:
    source = "<stdin>" if path == "-" else path
    try:
        if path == "-":
            stream = stream or sys.stdin
            raw = getattr(stream, "buffer", None)
            text = raw.read().decode("utf-8-sig") if raw is not None else stream.read().lstrip("\ufeff")
        else:
            text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"cannot read {path}", [LocatedError(Location(path), "no such file")]) from None
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        raise InputError(f"cannot read {source}", [LocatedError(Location(source), problem)]) from None
    except OSError as exc:
        raise InputError(f"cannot read {source}", [LocatedError(Location(source), str(exc))]) from None
    if not text.strip():
        raise InputError(f"{source} is empty", [LocatedError(Location(source), "empty input: no declarations")])
    return text


def _detect_format(path: str, text: str) -> str:
    suffix = Path(path).suffix.lower() if path != "-" else ""
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".json":
        return "json"
    head = text.lstrip()[:1]
    if head == "[":
        return "json"
    if head == "{":
        first_line = text.lstrip().split("\n", 1)[0].strip()
        return "jsonl" if _is_json_object(first_line) and text.strip().count("\n") else "json"
    return "csv"


def _is_json_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def validate_record(data: Any, location: Location, column_of: Any = None) -> Parsed | Rejected:
    """Validate one declaration's data; `column_of` maps a pydantic error to a location."""
    if not isinstance(data, dict):
        error = LocatedError(location, f"expected a JSON object, got {type(data).__name__}")
        return Rejected(location, [error], raw=data)
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


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in one object")
        result[key] = value
    return result


def _read_json(text: str, source: str) -> Iterator[Parsed | Rejected]:
    try:  # a malformed file is refused whole, before any of its records is screened
        json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise _json_syntax(source, exc) from None
    except ValueError as exc:
        raise InputError(f"{source} is not valid", [LocatedError(Location(source), str(exc))]) from None
    decoder = json.JSONDecoder()
    start = _skip_ws(text, 0)
    if start < len(text) and text[start] == "[":
        yield from _read_json_array(text, source, decoder, start + 1)
        return
    try:
        data, end = decoder.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise _json_syntax(source, exc) from None
    if _skip_ws(text, end) != len(text):
        raise _json_syntax(source, json.JSONDecodeError("extra data after the object", text, end))
    yield validate_record(data, Location(source, _line_of(text, start), 1))


def _read_json_array(text: str, source: str, decoder: json.JSONDecoder, pos: int) -> Iterator[Parsed | Rejected]:
    # Walk the array element by element, so each declaration knows its line in the file
    record = 0
    pos = _skip_ws(text, pos)
    if pos < len(text) and text[pos] == "]":
        return
    while True:
        record += 1
        try:
            data, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise _json_syntax(source, exc) from None
        yield validate_record(data, Location(source, _line_of(text, pos), record))
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            return
        raise _json_syntax(source, json.JSONDecodeError("expected ',' or ']'", text, pos))


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _json_syntax(source: str, exc: json.JSONDecodeError) -> InputError:
    where = Location(source, exc.lineno)
    return InputError(
        f"{source} is not valid JSON",
        [LocatedError(where, f"{exc.msg} (column {exc.colno})")],
        "check the file near that line; a JSON file holds one object or a list of objects",
    )


def _read_jsonl(text: str, source: str) -> Iterator[Parsed | Rejected]:
    # only \n ends a record: U+2028 and friends may stand raw inside JSON strings
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = Location(source, number)
        try:
            data = json.loads(line, object_pairs_hook=_no_duplicate_keys)
        except json.JSONDecodeError as exc:
            error = LocatedError(where, f"invalid JSON: {exc.msg} (column {exc.colno})")
            yield Rejected(where, [error], raw=line)
            continue
        except ValueError as exc:
            yield Rejected(where, [LocatedError(where, str(exc))], raw=line)
            continue
        yield validate_record(data, where)


def _read_csv(text: str, source: str) -> Iterator[Parsed | Rejected]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in REQUIRED_CSV_COLUMNS if c not in columns]
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
    reader.fieldnames = columns
    groups: dict[str, _CsvGroup] = {}
    for row in reader:
        number = reader.line_num
        key = (row.get("declaration_id") or "").strip()
        group = groups.setdefault(key, _CsvGroup(number))
        group.rows.append((number, row))
        # a ragged row rejects its whole declaration: a line must never vanish
        if None in row:
            group.errors.append(LocatedError(Location(source, number), "more values than header columns"))
        elif None in row.values():
            group.errors.append(LocatedError(Location(source, number), "fewer values than header columns"))
    for key, group in groups.items():
        yield _csv_declaration(key, group, source)


def _csv_declaration(key: str, group: _CsvGroup, source: str) -> Parsed | Rejected:
    first_line, first = group.rows[0]
    where = Location(source, first_line)
    errors = group.errors + _header_conflicts(group, source)
    errors += [
        LocatedError(Location(source, number, field="line"), "required field is missing")
        for number, row in group.rows
        if not (row.get("line") or "").strip()  # required in CSV; JSON defaults it
    ]
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
    if errors:
        return Rejected(where, errors, key or None, [r for _, r in group.rows])
    lines = [n for n, _ in group.rows]

    def column_of(loc: tuple[Any, ...]) -> Location:
        if loc and loc[0] == "items" and len(loc) > 1 and isinstance(loc[1], int):
            rest = ".".join(str(p) for p in loc[2:]) or None
            return Location(source, lines[loc[1]], field=rest)
        dotted = ".".join(str(p) for p in loc)
        return Location(source, first_line, field=PATH_TO_COLUMN.get(dotted, dotted))

    result = validate_record(header, where, column_of)
    if isinstance(result, Rejected):
        result.raw = [r for _, r in group.rows]
    return result


def _header_conflicts(group: _CsvGroup, source: str) -> list[LocatedError]:
    errors = []
    _, first = group.rows[0]
    for number, row in group.rows[1:]:
        for column in HEADER_COLUMNS:
            if (row.get(column) or "").strip() != (first.get(column) or "").strip():
                message = (
                    f"conflicts with line {group.first_line} of the same declaration "
                    f"({row.get(column)!r} != {first.get(column)!r})"
                )
                errors.append(LocatedError(Location(source, number, field=column), message))
    return errors


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
                    outcome = Rejected(outcome.location, [error], ident, content)
            yield outcome
