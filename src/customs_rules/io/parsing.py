"""Parse and validate: JSON, JSON Lines and batch CSV into declarations or located rejections.

Nothing here stops at the first bad record: every record becomes either a `Parsed`
declaration or a `Rejected` one that says where (file and line or record) and which field.
The unit of acceptance is the declaration: one bad CSV row rejects its whole declaration.
This module holds what every format shares; `declarations` holds the entry points, and
`csv_input` and `json_input` read their formats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..contract.errors import LocatedError, Location
from ..contract.input_text import visible
from ..contract.models import Declaration
from .inputs import Source


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
