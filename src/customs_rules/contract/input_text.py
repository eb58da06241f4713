"""What users write, made safe to compare and to store.

Code-like fields (HS codes, ids, dates, numbers, line numbers, country and currency
codes) are compared as ASCII. Python's `\\d`, `int()` and `str.isdigit()` accept any
Unicode digit, so an HS code written `٨٨٠٦ ٢١` would pass validation and then match no
goods list. Every Unicode decimal digit (category Nd: Arabic-Indic, Devanagari,
fullwidth...) is therefore read as its ASCII digit, and any other non-ASCII character in
a code is refused, never guessed: a Cyrillic `К` looks like `K` but is another letter.

Text fields may hold any letter, but not the characters that a back-end cannot store
(NUL, which PostgreSQL refuses) or that a terminal would act on (C0 controls, ESC, DEL,
C1 controls, bidi overrides and isolates). Tab, line feed and carriage return stay
allowed: they are ordinary in free text such as a description.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .errors import CustomsRulesError

# Python refuses to read an integer of more digits than this (a guard against slow
# conversions, `sys.get_int_max_str_digits`): a JSON number that long is kept as its text
# (`LongNumber`) so that its record is rejected at its field, not the file at a decode error
MAX_DIGITS = 4300
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
CONTROL_NAMES = {0x00: "NUL", 0x1B: "ESC", 0x7F: "DEL"}


class LongNumber(str):
    """A JSON integer of more than `MAX_DIGITS` digits, as written: no field takes it."""


def json_int(text: str) -> int | LongNumber:
    """`parse_int` for the JSON decoders: a number too long to read is kept as text."""
    return int(text) if len(text) <= MAX_DIGITS else LongNumber(text)


def too_big(text: str) -> str:
    """What is wrong with a number written with far too many digits, in plain words."""
    return f"number of {_digits(text):,} digits is too big: no quantity, value or line number is that long"


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def number_problem(value: Any) -> str | None:
    """Why a number (as read from JSON, or as CSV text) is too big to take, or None:
    longer than Python reads, or past the largest float (an amount is a float)."""
    if isinstance(value, str):
        return too_big(value) if len(value) > MAX_DIGITS else None
    if isinstance(value, int) and value.bit_length() > 1024:  # beyond 1.8e308
        return too_big(str(value))
    return None


def ascii_digits(text: str) -> str:
    """Every Unicode decimal digit as its ASCII digit (`٣` and `３` become `3`); other
    characters, superscripts such as `²` among them, are left for the caller to refuse."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def describe(ch: str) -> str:
    """A character by code point and name, without printing it: `U+041A CYRILLIC CAPITAL LETTER KA`."""
    point = ord(ch)
    name = CONTROL_NAMES.get(point) or unicodedata.name(ch, "control character")
    return f"U+{point:04X} {name}"


def control_problem(text: str) -> str | None:
    """Why `text` cannot be taken as text, or None."""
    if text.isprintable():  # every character CONTROL names is unprintable: the usual case, at C speed
        return None
    found = CONTROL.search(text)
    if found is None:
        return None
    where = f"at character {found.start() + 1}"
    return f"holds {describe(found.group())} {where}; control and bidi characters are not allowed"


def check_text(value: Any) -> Any:
    """A pydantic before-validator for free text: refuses control characters."""
    # isprintable() first: it runs at C speed on every text field of every row of a batch
    if isinstance(value, str) and not value.isprintable():
        problem = control_problem(value)
        if problem:
            raise ValueError(f"text {problem}")
    return value


def code_text(value: str, what: str) -> str:
    """A code-like value with ASCII digits, or a ValueError naming the character that
    keeps it from being one (`what` names the field in the message)."""
    problem = control_problem(value)
    if problem:
        raise ValueError(f"{what} {problem}")
    text = ascii_digits(value)
    if not text.isascii():
        odd = next(ch for ch in text if not ch.isascii())
        raise ValueError(
            f"{what} {value!r} holds {describe(odd)}: write it with ASCII letters and digits (look-alikes are refused)"
        )
    return text


class TextRefused(CustomsRulesError):
    """Text given on the command line or in the environment (an officer's name, a note)
    that holds a control character: refused, as the same text in a file is (exit code 2)."""

    exit_code = 2


def given_text(value: str, what: str) -> str:
    """`value` if it holds no control or bidi character, else `TextRefused` naming `what`
    (`--note`, `$CUSTOMS_RULES_OFFICER`): it would be stored, and later shown or exported."""
    problem = control_problem(value)
    if problem:
        raise TextRefused(f"{what} {problem}", f"give {what} again without it")
    return value


def check_code(what: str) -> Any:
    """A pydantic before-validator for a code-like field (text stays text, other types pass)."""

    def check(value: Any) -> Any:
        return code_text(value, what) if isinstance(value, str) else value

    return check


def visible(text: str) -> str:
    """`text` with its control and bidi characters escaped, for messages and logs."""
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def extra_problem(fields: dict[Any, Any]) -> str | None:
    """The first control character in the fields that a model does not name (kept as
    they are, so no field type checks them): their names and every text inside them."""
    stack: list[tuple[str, Any]] = [(str(k), v) for k, v in fields.items()]
    stack += [(str(k), k) for k in fields]
    while stack:
        where, value = stack.pop()
        if isinstance(value, LongNumber):
            return f"field {where!r} holds a number of {_digits(value):,} digits: too big to keep"
        if isinstance(value, str):
            problem = control_problem(value)
            if problem:
                return f"field {where!r} {problem}"
        elif isinstance(value, int) and value.bit_length() > 1024:
            return f"field {where!r} holds a number of {_digits(str(value)):,} digits: too big to keep"
        elif isinstance(value, dict):
            stack += [(where, k) for k in value] + [(where, v) for v in value.values()]
        elif isinstance(value, list):
            stack += [(where, v) for v in value]
    return None
