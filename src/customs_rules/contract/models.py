"""The declaration contract (design.md §4) as pydantic v2 models.

Validation normalises what users write in many ways (HS codes with dots and spaces,
lower-case country codes) into one canonical form, and refuses what cannot be right.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import unicodedata
from collections.abc import Iterable
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any

import pycountry
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

from .errors import LocatedError, Location
from .input_text import ascii_digits, check_text, code_text, control_problem, describe, extra_problem, number_problem

HS_SEPARATORS = re.compile(r"[.\s]")
# [0-9], not \d: \d matches every script's digits, which no goods list or date parser reads
HS_DIGITS = re.compile(r"[0-9]{6,10}")
DATE_FORMAT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_TEXT = 4000  # the engine mishandles strings of 64K characters; stay far below
MAX_LINE = 1_000_000  # item line numbers: a declaration has thousands of lines at most


def normalize_hs(value: str) -> str:
    """`8806.21`, `8806 21 000 0` and `88062100` all become plain digits (6 to 10)."""
    if not isinstance(value, str):
        # a number has lost any leading zero (0101.21 -> 10121): refuse rather than guess
        raise ValueError(f'HS code {value!r} must be written as text, e.g. "8806.21" (keeps leading zeros)')
    problem = control_problem(value)
    if problem:
        raise ValueError(f"HS code {problem}")
    digits = HS_SEPARATORS.sub("", ascii_digits(value.strip()))
    if not HS_DIGITS.fullmatch(digits):
        raise ValueError(
            f"HS code {value!r} must have 6 to 10 digits (dots and spaces allowed), e.g. 8806.21 or 8806 21 000 0"
        )
    return digits


@lru_cache(maxsize=512)
def normalize_country(value: str) -> str:
    """An ISO 3166-1 alpha-2 code, case-insensitive, checked against pycountry."""
    code = _upper_ascii(value)
    if not code.isascii() or len(code) != 2 or pycountry.countries.get(alpha_2=code) is None:
        close = " or ".join(
            f"{c} ({getattr(pycountry.countries.get(alpha_2=c), 'name', '?')})" for c in country_suggestions(value)
        )
        hint = f"; did you mean {close}?" if close else ""
        why = _look_alike(code, 2)
        raise ValueError(f"unknown country {value!r}: {why}expected an ISO 3166-1 alpha-2 code{hint}")
    return code


_MINOR_WORDS = {"of", "the", "and", "da", "de"}
# common names that ISO 3166 and its translations lack
_EXONYMS = {"turkey": "TR", "holland": "NL", "burma": "MM", "ivory coast": "CI", "swaziland": "SZ",
            "macedonia": "MK", "cape verde": "CV", "east timor": "TL", "kirghizia": "KG", "kirgizia": "KG",
            "byelorussia": "BY", "belorussia": "BY", "bielorussia": "BY", "россия": "RU"}  # fmt: skip
_LANGUAGES = ("ru", "kk")  # besides English: the names officers in the region type


def _name_key(text: str) -> str:
    """Casefolded letters and digits of any script, accents dropped, one space between words."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", plain).split())


@lru_cache(maxsize=1)
def _country_names() -> tuple[dict[str, str], dict[str, str]]:
    """(every name, official and common name, in English, Russian and Kazakh, and alpha-3
    code -> alpha-2 code; the initials of each multi-word English name, UAE, USA, UK -> code)."""
    import gettext

    translations = [gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang], fallback=True)
                    for lang in _LANGUAGES]  # fmt: skip
    names: dict[str, str] = {}
    initials: dict[str, str] = {}
    for country in pycountry.countries:
        english = [getattr(country, a, None) for a in ("name", "official_name", "common_name")]
        spellings = [*english, country.alpha_3, *(t.gettext(n) for t in translations for n in english if n)]
        for spelling in filter(None, spellings):
            names.setdefault(_name_key(spelling), country.alpha_2)
        for spelling in filter(None, english):
            words = [w for w in _name_key(spelling).split() if w not in _MINOR_WORDS]
            if len(words) > 1:
                initials.setdefault("".join(w[0] for w in words), country.alpha_2)
    for exonym, code in _EXONYMS.items():
        names.setdefault(exonym, code)
    return names, initials


def country_suggestions(value: str, limit: int = 3) -> list[str]:
    """Alpha-2 codes whose country is probably meant by `value`, best first: its name,
    in English, Russian or Kazakh, or alpha-3 code ("Russian Federation", "Казахстан",
    "RUS"), its initials ("UAE"), the start of a word of its name ("Russia", "Korea"),
    or a close spelling ("Kazakstan")."""
    key = _name_key(value)
    if not key:
        return []
    names, initials = _country_names()
    found = [table[key] for table in (names, initials) if key in table]
    if len(key) >= 4:
        found += [code for name, code in names.items() if f" {name}".find(f" {key}") >= 0]
    found += [names[name] for name in difflib.get_close_matches(key, list(names), n=limit, cutoff=0.8)]
    return list(dict.fromkeys(found))[:limit]


@lru_cache(maxsize=256)
def normalize_currency(value: str) -> str:
    """An ISO 4217 code, case-insensitive, checked against pycountry."""
    code = _upper_ascii(value)
    if not code.isascii() or len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        why = _look_alike(code, 3)
        raise ValueError(f"unknown currency {value!r}: {why}expected an ISO 4217 code such as USD")
    return code


def _upper_ascii(value: str) -> str:
    # only ASCII is upper-cased: "ß" would become SS (South Sudan), Turkish "ı" an I; and a
    # Cyrillic or Greek look-alike is another letter, never read as the Latin one
    code = value.strip()
    return code.upper() if code.isascii() else code


def _look_alike(code: str, size: int) -> str:
    """For a code-sized value with a non-ASCII letter: which letter keeps it from being a code."""
    if code.isascii() or len(code) > size:
        return ""
    odd = next(ch for ch in code if not ch.isascii())
    return f"it holds {describe(odd)}, not an ASCII letter; "


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
