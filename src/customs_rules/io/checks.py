"""The contract's checks and normalisation (contract/models.py) as polars expressions, one row at a time.

They prove a row valid, never invalid: a row they cannot prove (`OK` false) sends its
declaration to the exact path, the pydantic models, which say what is wrong and where.
So each test here may be stricter than the model's (a number written `1e3`, a tab in a
description, a country in another script all go the exact way), never looser, and each
value it yields is the one the model would have made of the same text.
"""

from __future__ import annotations

import datetime as dt
import sys
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import polars as pl
import pycountry

from ..contract.models import EARLIEST_DATE, MAX_LINE, MAX_TEXT, YEARS_AHEAD, years_after

OK = "\0ok"
# Python's whitespace (str.strip, str.split): polars strips Unicode White_Space only, which
# lacks \x1c-\x1f; naming every character keeps the grouping key exactly Python's
# (tests/test_columnar_reader.py holds it to str.isspace over every code point)
PY_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
CONTROL = r"[\x00-\x1f\x7f-\x{9f}\x{202a}-\x{202e}\x{2066}-\x{2069}]"
NUMBER = r"^[0-9]{1,30}(?:\.[0-9]{1,30})?$"  # what pydantic reads as a float, and more
LINE_NUMBER = r"^[1-9][0-9]{0,6}$"
PROCEDURES = ["export", "import", "re-export", "transit"]
# the columns whose digits of other scripts are read as ASCII digits (`Rows.digits`)
DIGIT_COLUMNS = ("declaration_id", "date", "exporter_id", "consignee_id", "line", "hs_code", "quantity", "value",
                 "net_mass_kg")  # fmt: skip


@lru_cache(maxsize=1)
def _digits() -> tuple[list[str], list[str]]:
    """Every non-ASCII decimal digit and its ASCII digit (as `input_text.ascii_digits`)."""
    found = [chr(c) for c in range(128, sys.maxunicode + 1) if chr(c).isdecimal()]
    return found, [str(unicodedata.decimal(ch)) for ch in found]


@lru_cache(maxsize=1)
def codes() -> tuple[list[str], list[str]]:
    return sorted(c.alpha_2 for c in pycountry.countries), sorted(c.alpha_3 for c in pycountry.currencies)


def strip(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars(PY_WHITESPACE)


def ascii_digits(expr: pl.Expr) -> pl.Expr:
    source, target = _digits()
    return expr.str.replace_many(source, target)


def _is_ascii(expr: pl.Expr) -> pl.Expr:
    return ~expr.str.contains(r"[^\x00-\x7f]")


def _collapse(expr: pl.Expr) -> pl.Expr:
    """`" ".join(value.split())`."""
    return strip(expr).str.replace_all(r"\s+", " ")


def _blank(expr: pl.Expr) -> pl.Expr:
    return strip(expr) == ""


def _code(expr: pl.Expr, known: list[str]) -> tuple[pl.Expr, pl.Expr]:
    """A country or currency code (models._upper_ascii): the code, and whether it is one."""
    code = strip(expr).str.to_uppercase()
    return code, _is_ascii(expr) & code.is_in(known)


def _optional(raw: pl.Expr, value: pl.Expr, ok: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """A field that a blank cell leaves out (None)."""
    blank = _blank(raw)
    return pl.when(blank).then(None).otherwise(value), blank | ok


class Rows:
    """The checks of one frame of rows (string columns as read, '' for an empty cell).

    Two steps: the normalised values first, then the tests, most of them on those values
    (`Ok` callables get the value's column), so nothing is computed twice."""

    def __init__(self, columns: list[str], rows: pl.DataFrame) -> None:
        self.columns = columns
        # digits of other scripts are rare: a column of ASCII text skips their replacement
        # (only the columns whose digits are read are asked, in one query)
        asked = [c for c in DIGIT_COLUMNS if c in columns]
        found = rows.select(pl.col(c).str.contains(r"[^\x00-\x7f]").any() for c in asked).row(0) if asked else ()
        self.unicode = {c for c, yes in zip(asked, found, strict=True) if yes}
        self.values: dict[str, pl.Expr] = {}
        self.oks: list[pl.Expr] = []

    def raw(self, name: str) -> pl.Expr | None:
        return pl.col(name) if name in self.columns else None

    def digits(self, expr: pl.Expr, column: str) -> pl.Expr:
        assert column in DIGIT_COLUMNS, column  # `unicode` asks those only
        return ascii_digits(expr) if column in self.unicode else expr

    def add(self, name: str, value: pl.Expr, ok: Any = None) -> None:
        self.values[name] = value.alias(name)
        if ok is not None:
            self.oks.append(ok(pl.col(name)) if callable(ok) else ok)

    def part(self, fields: Callable[[Rows], None]) -> tuple[list[pl.Expr], pl.Expr]:
        """The values and the test (a null fails) of one part of the contract (`header_fields`
        or `item_fields`), without `clean`: for rows whose parts are proven apart."""
        self.values, self.oks = {}, []
        fields(self)
        return list(self.values.values()), pl.all_horizontal(self.oks).fill_null(False)

    def frame(self, rows: pl.DataFrame, extra: list[str]) -> pl.DataFrame:
        """The normalised values of each row, its extra fields as JSON, and `OK`."""
        return self.lazy(rows.lazy(), extra).collect()

    def lazy(self, rows: pl.LazyFrame, extra: list[str]) -> pl.LazyFrame:
        """`frame` as a query (of rows of `rows`' frame, in any order)."""
        header_fields(self)
        item_fields(self)
        ok = pl.all_horizontal([clean(self.columns), *self.oks]).fill_null(False)
        return rows.with_columns(*self.values.values(), extra_json(extra)).with_columns(ok.alias(OK))


def clean(columns: list[str]) -> pl.Expr:
    """No cell of the row holds a character the fast path leaves to the exact one."""
    return ~pl.concat_str([pl.col(c) for c in columns]).str.contains(CONTROL)


def header_fields(rows: Rows) -> None:
    """A declaration's header, as `csv_input._csv_declaration` and the models make it."""
    countries, _ = codes()
    ident = rows.digits(_collapse(pl.col("declaration_id")), "declaration_id")
    rows.add("h_declaration_id", ident, lambda v: v.str.len_chars().is_between(1, 100))
    text = rows.digits(strip(pl.col("date")), "date")
    latest = years_after(dt.date.today(), YEARS_AHEAD)
    rows.add("h_date_text", text, lambda v: v.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))
    rows.add("h_date", text.str.to_date("%Y-%m-%d", strict=False), lambda v: v.is_between(EARLIEST_DATE, latest))
    procedure = rows.raw("procedure")
    if procedure is None:
        rows.add("h_procedure", pl.lit("export"))
    else:
        rows.add("h_procedure", pl.when(_blank(procedure)).then(pl.lit("export")).otherwise(procedure),
                 _blank(procedure) | procedure.is_in(PROCEDURES))  # fmt: skip
    document = rows.raw("document_type")
    rows.add("h_document_type", pl.lit(None, pl.String) if document is None else
             pl.when(_blank(document)).then(None).otherwise(document))  # fmt: skip
    for role in ("exporter", "consignee"):
        rows.add(f"h_{role}_name", _collapse(pl.col(f"{role}_name")), lambda v: v.str.len_chars().is_between(1, 500))
        ident_raw = rows.raw(f"{role}_id")
        if ident_raw is None:
            rows.add(f"h_{role}_id", pl.lit(None, pl.String))
        else:
            party_id = rows.digits(ident_raw, f"{role}_id")
            rows.add(f"h_{role}_id", *_optional(ident_raw, party_id,
                                                _is_ascii(party_id) & (party_id.str.len_chars() <= 64)))  # fmt: skip
        _country(rows, f"{role}_country", countries)
    for column in ("dispatch_country", "destination_country"):
        code, ok = _code(pl.col(column), countries)
        rows.add(f"h_{column}", code, ok)
    _transit(rows, countries)


def _country(rows: Rows, column: str, countries: list[str]) -> None:
    raw = rows.raw(column)
    if raw is None:
        rows.add(f"h_{column}", pl.lit(None, pl.String))
        return
    code, ok = _code(raw, countries)
    rows.add(f"h_{column}", *_optional(raw, code, ok))


def _transit(rows: Rows, countries: list[str]) -> None:
    raw = rows.raw("transit_countries")
    if raw is None:
        rows.add("h_transit_countries", pl.lit([], pl.List(pl.String)))
        return
    parts = raw.str.split(";").list.eval(strip(pl.element())).list.filter(pl.element() != "")
    listed = parts.list.eval(pl.element().str.to_uppercase())
    ok = _is_ascii(raw) & listed.list.eval(pl.element().is_in(countries)).list.all()
    rows.add("h_transit_countries", pl.when(_blank(raw)).then(pl.lit([], pl.List(pl.String))).otherwise(listed),
             _blank(raw) | ok)  # fmt: skip


def item_fields(rows: Rows) -> None:
    """A goods item, as `csv_columns._csv_item` and `models.Item` make it."""
    countries, currencies = codes()
    line = rows.digits(strip(pl.col("line")), "line")
    rows.add("i_line_text", line, lambda v: v.str.contains(LINE_NUMBER))
    rows.add("i_line", line.cast(pl.Int64, strict=False), lambda v: v <= MAX_LINE)
    hs = rows.digits(strip(pl.col("hs_code")), "hs_code").str.replace_all(r"[.\s]", "")
    rows.add("i_hs_code", hs, lambda v: v.str.contains(r"^[0-9]{6,10}$"))
    for column in ("description", "unit"):
        raw = rows.raw(column)
        value = pl.lit(None, pl.String) if raw is None else strip(raw)
        rows.add(f"i_{column}", *_optional(raw if raw is not None else pl.lit(""), value,
                                           value.str.len_chars() <= MAX_TEXT))  # fmt: skip
    for column in ("quantity", "value", "net_mass_kg"):
        raw = rows.raw(column)
        if raw is None:
            rows.add(f"i_{column}", pl.lit(None, pl.Float64))
            continue
        text = rows.digits(strip(raw), column)
        rows.add(f"i_{column}_text", text, lambda v: (v == "") | v.str.contains(NUMBER))
        rows.add(f"i_{column}", pl.when(text == "").then(None).otherwise(text.cast(pl.Float64, strict=False)))
    for column, known in (("currency", currencies), ("origin_country", countries)):
        raw = rows.raw(column)
        if raw is None:
            rows.add(f"i_{column}", pl.lit(None, pl.String))
            continue
        code, ok = _code(raw, known)
        rows.add(f"i_{column}", *_optional(raw, code, ok))


def extra_json(extra: list[str]) -> pl.Expr:
    """An item's extra fields as the JSON object `orjson.dumps` writes of them: the
    non-empty cells of the extra columns, as written, in column order; null if none."""
    import orjson

    if not extra:
        return pl.lit(None, pl.String).alias("i_extra")
    parts = []
    for column in extra:
        key = orjson.dumps(column).decode() + ":"
        value = pl.col(column).str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"', literal=True)
        parts.append(pl.when(pl.col(column) != "").then(pl.lit(key + '"') + value + pl.lit('"')))
    body = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.when(body == "").then(None).otherwise(pl.lit("{") + body + pl.lit("}")).alias("i_extra")


HEADER_OUT = ["declaration_id", "date", "procedure", "document_type", "exporter_name", "exporter_id",
              "exporter_country", "consignee_name", "consignee_id", "consignee_country", "dispatch_country",
              "destination_country", "transit_countries"]  # fmt: skip
ITEM_OUT = ["line", "hs_code", "description", "quantity", "unit", "value", "currency", "origin_country",
            "net_mass_kg"]  # fmt: skip
