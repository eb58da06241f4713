"""The declaration contract (design.md §4) as pydantic v2 models.

Validation normalises what users write in many ways (HS codes with dots and spaces,
lower-case country codes) into one canonical form, and refuses what cannot be right.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .codes import (
    normalize_country,
    normalize_currency,
    normalize_hs,
)
from .errors import LocatedError, Location
from .input_text import ascii_digits, check_text, code_text, extra_problem, number_problem

DATE_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_TEXT = 4000  # the engine mishandles strings of 64K characters; stay far below
MAX_LINE = 1_000_000  # item line numbers: a declaration has thousands of lines at most


def _strict_date(value: Any) -> Any:
    # pydantic would accept timestamps and other shapes; the contract says YYYY-MM-DD
    if isinstance(value, dt.date):
        return value
    text = ascii_digits(value.strip()) if isinstance(value, str) else value
    if not isinstance(text, str) or not DATE_FORMAT.fullmatch(text):
        raise ValueError(f"date {value!r} must be written YYYY-MM-DD")
    return text


def years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


STORED = {"stored": True}  # validation context of data read back from the database
EARLIEST_DATE = dt.date(1990, 1, 1)  # a declaration's date: the customs systems this screens began then
YEARS_AHEAD = 10  # ...up to this many years after today (a typo such as 9999 is no date of a shipment)


def date_range(earliest: dt.date, years_ahead: int, what: str = "date") -> AfterValidator:
    """Dates from `earliest` to `years_ahead` years after today; anything else is a typo
    that would break date arithmetic downstream (a report's year 10000). Data read back
    from the database (validation context `stored`) was checked when it was stored."""

    def check(value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        if value is None or (isinstance(info.context, dict) and info.context.get("stored")):
            return value
        latest = years_after(dt.date.today(), years_ahead)
        if not earliest <= value <= latest:
            raise ValueError(f"{what} {value.isoformat()} is out of range: expected {earliest} to {latest}")
        return value

    return AfterValidator(check)


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _not_a_flag(value: Any) -> Any:
    # pydantic would read true as 1.0: a JSON boolean is no quantity, value or mass
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {str(value).lower()}")
    return value


def _null_is_default(default: Any) -> Any:
    """JSON null for an optional field means "not given": its default, not an error."""
    return BeforeValidator(lambda value: default() if value is None else value)


def _line_number(value: Any) -> Any:
    if isinstance(value, bool | float):
        raise ValueError(f"line must be a whole number, got {value!r}")
    problem = number_problem(value)
    if problem:
        raise ValueError(problem)
    return ascii_digits(value) if isinstance(value, str) and not value.isascii() else value


def _opt_number(value: Any) -> Any:
    # one validator, not three: it runs on every number of every row of a batch
    problem = number_problem(value)
    if problem:
        raise ValueError(problem)
    if isinstance(value, str):
        if not value.strip():
            return None
        # pydantic reads numbers written in ASCII only: other digits are read as theirs
        return value if value.isascii() and value.isprintable() else ascii_digits(check_text(value))
    return _not_a_flag(value)


def _opt_text(value: Any) -> Any:
    if isinstance(value, str):
        return (value if value.isprintable() else check_text(value)) if value.strip() else None
    return value


def _text(value: Any) -> Any:
    if isinstance(value, str):
        value = " ".join(check_text(value).split())
    return value


def _ident(value: Any) -> Any:
    # a declaration id is text, but `D-١` must be the same declaration as `D-1`
    return ascii_digits(value) if isinstance(value, str) else value


HsCode = Annotated[str, BeforeValidator(normalize_hs)]
Country = Annotated[str, AfterValidator(normalize_country)]
Currency = Annotated[str, AfterValidator(normalize_currency)]
IsoDate = Annotated[dt.date, BeforeValidator(_strict_date)]
DeclarationDate = Annotated[IsoDate, date_range(EARLIEST_DATE, YEARS_AHEAD)]
Name = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=500)]
OptText = Annotated[Annotated[str, Field(max_length=MAX_TEXT)] | None, BeforeValidator(_opt_text)]
OptCountry = Annotated[Country | None, BeforeValidator(_blank_to_none)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]
OptNumber = Annotated[Amount | None, BeforeValidator(_opt_number)]


class Procedure(StrEnum):
    EXPORT = "export"
    IMPORT = "import"
    RE_EXPORT = "re-export"
    TRANSIT = "transit"


def near_miss(name: str, known: Iterable[str]) -> str | None:
    """The contract field or column that `name` looks like a misspelling of, or None.
    One test for JSON fields and CSV columns, so both refuse the same typos."""
    if name in known:
        return None
    # compared case-folded: difflib scores TRANSIT_COUNTRIES far from transit_countries
    # (and Unit from unit), so other letter case would pass as an extra field unseen
    folded = {k.casefold(): k for k in known}
    close = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.8)
    return folded[close[0]] if close else None


# far more columns than any declaration or registry file has: such a header is refused
# before each column is compared with the contract's (that costs per column, every row too)
MAX_COLUMNS = 1000


def header_typos(columns: list[str], known: set[str], source: str) -> list[LocatedError]:
    """A located error for each header column that looks like a misspelt known column
    (or one for the whole header, when it has more than `MAX_COLUMNS` columns)."""
    if len(columns) > MAX_COLUMNS:
        problem = f"the header has {len(columns):,} columns; at most {MAX_COLUMNS:,} are read"
        return [LocatedError(Location(source, 1), problem)]
    errors = []
    for column in columns:
        close = near_miss(column, known)
        if close:
            message = f"unknown column {column!r}: did you mean {close!r}?"
            errors.append(LocatedError(Location(source, 1, field=column), message))
    return errors


def refuse_typos(data: Any, known: set[str]) -> Any:
    """Extra fields are kept (the contract grows by optional fields), but one that looks
    like a misspelt contract field is refused: a lost `transit_countries` hides a risk.
    Extra fields are stored as written, so they must hold no control character either."""
    if isinstance(data, dict):
        extra = [key for key in data if key not in known]
        for key in extra:
            close = near_miss(key, known) if isinstance(key, str) else None
            if close:
                raise ValueError(f"unknown field {key!r}: did you mean {close!r}?")
        problem = extra_problem({key: data[key] for key in extra}) if extra else None
        if problem:
            raise ValueError(problem)
    return data


class Party(BaseModel):
    """An exporter or consignee: a name, and optionally an official id and a country."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _typos(cls, data: Any) -> Any:
        return refuse_typos(data, set(cls.model_fields))

    name: Name
    id: Annotated[Annotated[str, Field(max_length=64)] | None, BeforeValidator(_blank_to_none)] = None
    country: OptCountry = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        # ids such as BINs are often written as numbers in JSON
        value = str(value).strip() if isinstance(value, int) and not isinstance(value, bool) else value
        # compared with the registry's ids: ASCII digits, and no look-alike letters
        return code_text(value, "party id") if isinstance(value, str) else value


class Item(BaseModel):
    """One goods item (one line) of a declaration."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _typos(cls, data: Any) -> Any:
        return refuse_typos(data, set(cls.model_fields))

    line: Annotated[int, BeforeValidator(_line_number), Field(ge=1, le=MAX_LINE)]
    hs_code: HsCode
    description: OptText = None
    quantity: OptNumber = None
    unit: OptText = None
    value: OptNumber = None
    currency: Annotated[Currency | None, BeforeValidator(_blank_to_none)] = None
    origin_country: OptCountry = None
    net_mass_kg: OptNumber = None


class Declaration(BaseModel):
    """A shipment declaration or accompanying goods invoice (design.md §4)."""

    model_config = ConfigDict(extra="allow")

    declaration_id: Annotated[str, BeforeValidator(_ident), BeforeValidator(_text), Field(min_length=1, max_length=100)]
    date: DeclarationDate
    procedure: Annotated[Procedure, _null_is_default(lambda: Procedure.EXPORT)] = Procedure.EXPORT
    document_type: Annotated[str | None, BeforeValidator(_opt_text)] = None
    exporter: Party
    consignee: Party
    dispatch_country: Country
    destination_country: Country
    transit_countries: Annotated[list[Country], _null_is_default(list)] = Field(default_factory=list)
    items: list[Item] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _default_item_lines(cls, data: Any) -> Any:
        refuse_typos(data, set(cls.model_fields))
        # In JSON an item's line defaults to its position (design.md §4)
        if isinstance(data, dict) and isinstance(data.get("items"), list):
            items = []
            for position, item in enumerate(data["items"], start=1):
                if isinstance(item, dict) and item.get("line") in (None, ""):
                    item = {**item, "line": position}
                items.append(item)
            data = {**data, "items": items}
        return data

    @field_validator("items")
    @classmethod
    def _unique_lines(cls, items: list[Item]) -> list[Item]:
        seen: set[int] = set()
        for item in items:
            if item.line in seen:
                raise ValueError(f"item line {item.line} appears twice; line numbers are unique")
            seen.add(item.line)
        return items

    @field_validator("items")
    @classmethod
    def _summable_values(cls, items: list[Item]) -> list[Item]:
        # the declaration's total value is a fact rules read: values each finite but
        # too big to add up would make it infinite, and every output say "Infinity"
        try:
            if math.isfinite(math.fsum(i.value for i in items if i.value is not None)):
                return items
        except OverflowError:
            pass
        running = 0.0
        for item in items:
            running += item.value or 0.0
            if not math.isfinite(running):
                break
        raise ValueError(
            f"item values add up past the largest total this tool can hold (about 1.8e308) at line {item.line}: "
            "the declaration's total value cannot be computed"
        )

    def canonical(self) -> dict[str, Any]:
        """The declaration as JSON-ready data, the same however it was written."""
        return self.model_dump(mode="json", exclude_none=False)
