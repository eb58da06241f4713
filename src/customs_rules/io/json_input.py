"""JSON (one object or a list, decoded piece by piece) and JSON Lines (one object a line).

A malformed JSON file is refused whole before any of its records is screened; a bad
JSON line rejects that line only, and so does a line too long to read (read through, never
held: see `inputs.LineReader`); so does a record of a JSON list that long (read past, never
held), unless it never ends: that refuses its file. Records nested
past `parsing.MAX_DEPTH` are rejected here, before they are handed to a worker.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from ..contract.errors import InputError, LocatedError, Location
from ..contract.input_text import json_int
from . import inputs
from .inputs import CutLine, LineReader, Source, empty_input, unreadable
from .parsing import TOO_DEEP, RawRecord, Rejected, has_content, too_deep


def read_json(source: Source) -> Iterator[RawRecord | Rejected]:
    _json_first_pass(source)
    yield from _read_json(source)


def read_jsonl(source: Source) -> Iterator[RawRecord | Rejected]:
    _check_lines(source)
    yield from _read_jsonl(source)


def _check_lines(source: Source) -> None:
    line = 0
    try:
        with source.open() as text:
            for line, _ in enumerate(LineReader(text), start=1):  # noqa: B007 - the last line locates errors
                pass
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise unreadable(source.name, exc, line + 1) from None
    if line == 0 or not has_content(source):
        raise empty_input(source.name)


def _read_json(source: Source) -> Iterator[RawRecord | Rejected]:
    with source.open(track=True) as text:
        for line, record, data in _json_values(text, source.name):
            where = Location(source.name, line, record)
            if isinstance(data, TooLong):  # rejected alone: the records after it are still read
                size = f"{inputs.MAX_CSV_FIELD:,}"
                problem = f"a record runs past {size} characters: too big for a declaration; it was not read"
                yield Rejected(where, [LocatedError(where, problem)], line_numbers=[line])
                continue
            yield _raw_or_too_deep(where, data)


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
    if count == 0 and not has_content(source):
        raise empty_input(source.name)


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
        self.decoder = json.JSONDecoder(**STRICT)

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
                if len(self.buf) - self.pos > inputs.MAX_CSV_FIELD:
                    # the window stops growing here: memory stays bounded whatever the file
                    cut_short = exc.pos >= len(self.buf) - 64 or exc.msg.startswith("Unterminated")
                    if not cut_short:
                        raise _json_syntax(self.name, exc, self.base_line - 1) from None
                    return self._read_past()
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
            if end - self.pos > inputs.MAX_CSV_FIELD:
                line, self.pos = self.line_at(self.pos), end
                return TooLong(line)
            self.pos = end
            return data

    def _read_past(self) -> TooLong:
        """Read past a value too long to keep, without keeping it, so only its own record
        is rejected: strings are skipped whole by a regex (escapes included), brackets
        counted outside them. A value that never ends refuses the file."""
        line, depth, in_string = self.line_at(self.pos), 0, False
        while True:
            found = (_IN_STRING if in_string else _OUTSIDE).search(self.buf, self.pos)
            if found is None or (found.group() == "\\" and found.end() >= len(self.buf)):
                # nothing more in this window (or an escape cut by its edge): drop what was read
                self.pos = len(self.buf) if found is None else found.start()
                if not self._more():
                    raise self._too_long(line)
                continue
            mark, self.pos = found.group(), found.end()
            if mark == "\\":
                self.pos += 1  # the escaped character, a quote perhaps
            elif mark == '"':
                in_string = not in_string
            elif mark in "[{":
                depth += 1
            elif depth == 0:  # the ',' or ']' after the value: it is the caller's
                self.pos = found.start()
                return TooLong(line)
            elif mark in "]}":
                depth -= 1
            if depth == 0 and mark in ']}"' and not in_string:
                return TooLong(line)

    def _too_long(self, line: int) -> InputError:
        """A value past the bound a line has (see `inputs.LineReader`) that never ends:
        the file is refused where the value starts."""
        where = Location(self.name, line)
        problem = f"a record runs past {inputs.MAX_CSV_FIELD:,} characters: too big for a declaration"
        return InputError(f"{self.name} cannot be read", [LocatedError(where, problem)])

    def _grows_number(self) -> bool:
        return self.buf[-1:].isdigit() and self._more()

    def line_at(self, pos: int) -> int:
        return self.base_line + self.buf.count("\n", 0, pos)

    def error(self, message: str) -> InputError:
        line = self.line_at(self.pos)
        return InputError(f"{self.name} is not valid JSON", [LocatedError(Location(self.name, line), message)])


@dataclass(frozen=True)
class TooLong:
    """In the place of a value too long to read: the line it starts on."""

    line: int


_OUTSIDE = re.compile(r'["\[\]{},]')  # what ends or nests a value outside strings
_IN_STRING = re.compile(r'["\\]')  # what ends a string, or escapes the next character


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (JSON has no NaN or Infinity)")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"number {text} is too big: it has no finite value")
    return number


# Python's json reads NaN, Infinity and 1e999 (as inf) by default: a strict parser
# refuses them, and so does this one, so nothing non-finite is screened or stored
# An integer too long for Python to read is kept as text, for its field to refuse (see
# `input_text.LongNumber`): one such number must not refuse the whole file.
STRICT: dict[str, Any] = {"object_pairs_hook": _no_duplicate_keys, "parse_constant": _no_constant,
                          "parse_float": _finite, "parse_int": json_int}  # fmt: skip


def _json_syntax(source: str, exc: json.JSONDecodeError, line_offset: int = 0) -> InputError:
    where = Location(source, exc.lineno + line_offset)
    return InputError(
        f"{source} is not valid JSON",
        [LocatedError(where, f"{exc.msg} (column {exc.colno})")],
        "check the file near that line; a JSON file holds one object or a list of objects",
    )


def _read_jsonl(source: Source) -> Iterator[RawRecord | Rejected]:
    with source.open(track=True) as text:
        for number, line in enumerate(LineReader(text), start=1):
            where = Location(source.name, number)
            if isinstance(line, CutLine):
                error = LocatedError(where, line.problem())
                yield Rejected(where, [error], raw=_shown(line.head), line_numbers=[number])
                continue
            if not line.strip():
                continue
            try:
                data = json.loads(line, **STRICT)
            except json.JSONDecodeError as exc:
                error = LocatedError(where, f"invalid JSON: {exc.msg} (column {exc.colno})")
                yield Rejected(where, [error], raw=line.rstrip("\r\n"), line_numbers=[number])
                continue
            except (ValueError, RecursionError) as exc:
                problem = str(exc) if isinstance(exc, ValueError) else TOO_DEEP
                yield Rejected(where, [LocatedError(where, problem)], raw=line.rstrip("\r\n"), line_numbers=[number])
                continue
            yield _raw_or_too_deep(where, data, line.rstrip("\r\n"))


def _shown(head: str, limit: int = 1000) -> str:
    """The beginning of a line too long to keep, for the rejects file."""
    return head[:limit] + "..."
