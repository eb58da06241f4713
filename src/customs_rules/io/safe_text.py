"""Text the tool writes from what it read: never able to attack its reader.

Three readers, three defences, each in one place so that every writer uses it:

- a terminal: control characters (escape sequences, bidi overrides, zero-width and
  other non-printable characters, lone surrogates of undecodable bytes) are shown
  escaped, `\\x1b`, `\\u202e`, instead of being obeyed (`terminal_text`);
- a spreadsheet: a CSV text cell that a spreadsheet would run as a formula (starting
  with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`
  (`SafeCsvWriter`); the tool's own numbers are written as numbers; control and bidi
  characters in a cell are written escaped, as for a terminal (a CSV on stdout may be one);
- a JSON parser: every JSON the tool writes is strict, NaN and Infinity are refused
  (`json_text`), and characters a terminal would obey are written as JSON escapes,
  so the value a program reads is unchanged.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable
from typing import Any

import orjson

from ..contract.input_text import visible

# What is escaped: whatever str.isprintable() refuses: controls (C0, DEL, C1), format
# characters such as the bidi overrides and zero-width joiners, line and paragraph
# separators, spaces other than ' ', surrogates, private-use and unassigned code points.


def _escape(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def terminal_text(value: Any, keep_newlines: bool = False) -> str:
    """`value` as text a terminal shows rather than obeys: every non-printable character
    escaped. Newlines are kept only where the tool itself lays text out on lines."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # the usual case, at C speed
        return text
    return "".join(c if c.isprintable() or (keep_newlines and c == "\n") else _escape(c) for c in text)


# what makes a spreadsheet (Excel, LibreOffice, Google Sheets) read a cell as a formula;
# the full-width forms are folded to these by some spreadsheets in East Asian locales
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def csv_cell(value: Any) -> Any:
    """A cell as written: numbers the tool computed stay numbers (a negative score is
    still a number), None is empty, text that a spreadsheet would run gets a leading `'`.
    Leading blanks do not hide a formula: some spreadsheets strip them first."""
    if value is None:
        return ""
    if isinstance(value, int):  # bool included: written True / False
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"refusing to write the non-finite number {value!r}")
        return int(value) if value.is_integer() else value
    text = value if isinstance(value, str) else str(value)
    if not text.isprintable():
        # a CSV on stdout may reach a terminal: what it would obey (ESC, bidi overrides...)
        # is written escaped; tab and newline are data, and the CSV quoting keeps them
        text = visible(text)
    stripped = text.lstrip(" \n\u00a0\u3000")
    if text and (text[0] in FORMULA_STARTS or (stripped and stripped[0] in FORMULA_STARTS)):
        return "'" + text
    return text


class SafeCsvWriter:
    """The one CSV writer of the tool: every CSV it writes (stdout, `--out`, `--rejects`,
    `decisions list`, `stats`) goes through `csv_cell`."""

    def __init__(self, handle: Any) -> None:
        self._writer = csv.writer(handle, lineterminator="\n")
        # Python quotes a field holding a line terminator, and ours is "\n" alone: a bare
        # "\r" would go out unquoted and every reader would break the row there
        self._quoted = csv.writer(handle, lineterminator="\n", quoting=csv.QUOTE_ALL)

    def writerow(self, cells: Iterable[Any]) -> None:
        row = [csv_cell(c) for c in cells]
        writer = self._quoted if any(isinstance(c, str) and "\r" in c for c in row) else self._writer
        writer.writerow(row)


def json_text(value: Any, **options: Any) -> str:
    """Strict JSON, one line: NaN and Infinity are refused (ValueError), as a strict
    parser would refuse them. Non-printable characters are written as JSON escapes
    (`\\u202e`): the same value for a program, nothing a terminal obeys.

    Without options, orjson writes it (several times the standard encoder's speed: every
    decision of a batch is a line of JSON), byte for byte as `json.dumps` would; what
    orjson would write otherwise goes to the standard encoder (`_orjson_text`)."""
    text = _orjson_text(value) if not options else None
    if text is None:
        options.setdefault("separators", (",", ":"))
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, **options)
    if text.isprintable():
        return text
    # both encoders escape the C0 controls; what is left sits inside strings
    # (the structure of JSON is printable ASCII), so escaping it keeps the value
    return "".join(c if c.isprintable() else _json_escape_char(c) for c in text)


# orjson serialises natively what the standard encoder refuses (dates, dataclasses, str
# and int subclasses such as enums): passed through to `_refuse`, then to the standard encoder
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
# where orjson's float text differs from Python's repr (which `json.dumps` writes): the
# exponent range 1e-5 to 1e-9 (orjson: 0.00001, 1e-7; Python: 1e-05, 1e-07). A string that
# merely looks like one only takes the slower path
_FLOAT_DIFFERS = re.compile(rb"[0-9]e-[0-9]")


def _refuse(value: Any) -> Any:
    raise TypeError


def _orjson_text(value: Any) -> str | None:
    """`value` as `json.dumps(value, ensure_ascii=False, separators=(",", ":"),
    allow_nan=False)` writes it, or None where orjson cannot say the same: a lone
    surrogate, a key that is not a string, an integer past 64 bits, a type the standard
    encoder refuses or writes otherwise, a float in the range where their texts differ,
    a NaN or an infinity (orjson writes them as null: the standard encoder refuses them),
    nesting deeper than orjson goes. tests/test_output_safety.py holds the two equal. The
    one difference: an enum member is written as its value, where the standard encoder
    refuses one that is not also a str or an int (the tool writes none)."""
    try:
        data = orjson.dumps(value, default=_refuse, option=_ORJSON_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):
        return None
    if (b"e-" in data and _FLOAT_DIFFERS.search(data)) or b"0.0000" in data:
        return None
    if b"null" in data and not finite_json(value):
        return None
    return data.decode()


def _json_escape_char(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:  # JSON escapes astral characters as a surrogate pair
        high, low = divmod(code - 0x10000, 0x400)
        return f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}"
    return f"\\u{code:04x}"


def finite_json(value: Any) -> bool:
    """Whether `value` holds only finite numbers (for writers, such as orjson, that
    would write NaN and Infinity as null without a word). A loop, not recursion: it runs
    on every stored value that holds a null, so it is kept fast."""
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is float:
            if item - item != 0.0:  # nan for NaN and for either infinity
                return False
        elif kind is dict:
            extend(item.values())
        elif kind is list or kind is tuple:
            extend(item)
    return True
