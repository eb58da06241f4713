"""Registry CSV files read as columns, fast, with the exact errors of the record path.

`read_registry_frame` reads companies or people files for `registry load`. Each row
first meets a quick check that only ever accepts values the pydantic model would take
unchanged (ASCII ids without surrounding blanks, printable text, ISO dates in range,
known country codes, NACE codes...); any other row goes through the model
(`registry._row_errors`), so a bad row is reported exactly as before, and a row that
the model accepts after normalising it (Unicode digits, blanks, lower-case countries)
gets the model's values. A file loads whole or not at all: any error raises InputError
listing every bad row. A file whose lines are all plain rows (`io.lines.plain_count`) is
split into fields by polars, any other by the csv module.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Callable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import TypeAdapter, ValidationError

from ..contract.errors import InputError, LocatedError, Location
from ..contract.models import OptCountry, header_typos, years_after
from ..contract.registry_rows import ACTIVITY_CODE, CompanyRecord, PersonRecord, Role
from ..io.csv_columns import blank_row
from ..io.lines import plain_count
from .persons import normalize_id, same_id
from .registry_csv import REQUIRED_COLUMNS, _registry_text, _row_errors, unreadable_row

COMPANY_SCHEMA: dict[str, Any] = {
    "company_id": pl.Utf8, "name": pl.Utf8, "country": pl.Utf8, "registered_on": pl.Date,
    "activity_codes": pl.List(pl.Utf8), "aliases": pl.List(pl.Utf8), "address": pl.Utf8,
}  # fmt: skip
PERSON_SCHEMA: dict[str, Any] = {
    "company_id": pl.Utf8, "person_name": pl.Utf8, "role": pl.Utf8, "person_id": pl.Utf8,
    "birth_date": pl.Date, "person_company_id": pl.Utf8,
}  # fmt: skip
ROLES = frozenset(r.value for r in Role)
Check = Callable[[str | None], tuple[bool, Any]]


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _ident(value: str | None) -> tuple[bool, Any]:
    ok = bool(value) and value.isascii() and value.isprintable() and value.strip() == value  # type: ignore[union-attr]
    return ok, value


def _opt_ident(value: str | None) -> tuple[bool, Any]:
    return (True, None) if _blank(value) else _ident(value)


def _text(value: str | None) -> tuple[bool, Any]:
    return bool(value) and value.isprintable() and value.strip() == value, value  # type: ignore[union-attr]


def _opt_text(value: str | None) -> tuple[bool, Any]:
    return (True, None) if _blank(value) else (value.isprintable(), value)  # type: ignore[union-attr]


@lru_cache(maxsize=4096)
def _country(value: str) -> tuple[bool, Any]:
    """A country the model would keep as written (validated once per distinct value)."""
    try:
        return TypeAdapter(OptCountry).validate_python(value) == value, value
    except ValidationError:
        return False, value


def _opt_country(value: str | None) -> tuple[bool, Any]:
    return (True, None) if _blank(value) else _country(value or "")


def _date_check(earliest: dt.date, years_ahead: int) -> Check:
    latest = years_after(dt.date.today(), years_ahead)

    def check(value: str | None) -> tuple[bool, Any]:
        if _blank(value):
            return True, None
        assert value is not None
        if len(value) != 10 or not (value[:4] + value[5:7] + value[8:]).isdigit() or value[4::3] != "--":
            return False, None
        if not value.isascii():
            return False, None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            return False, None
        return earliest <= day <= latest, day

    return check


def _list_check(item: Callable[[str], bool]) -> Check:
    def check(value: str | None) -> tuple[bool, Any]:
        parts = [p.strip() for p in (value or "").split(";") if p.strip()]
        return all(item(p) for p in parts), parts

    return check


def _role(value: str | None) -> tuple[bool, Any]:
    role = (value or "").strip().lower().replace(" ", "_").replace("-", "_")
    return role in ROLES, role


FAST: dict[type, dict[str, Check]] = {
    CompanyRecord: {
        "company_id": _ident, "name": _text, "country": _opt_country,
        "registered_on": _date_check(dt.date(1800, 1, 1), 10),
        "activity_codes": _list_check(lambda c: c.isascii() and bool(ACTIVITY_CODE.fullmatch(c))),
        "aliases": _list_check(str.isprintable), "address": _opt_text,
    },
    PersonRecord: {
        "company_id": _ident, "person_name": _text, "role": _role, "person_id": _opt_ident,
        "birth_date": _date_check(dt.date(1900, 1, 1), 0), "person_company_id": _opt_ident,
    },
}  # fmt: skip


def read_registry_frame(path: Path, model: type[CompanyRecord] | type[PersonRecord]) -> pl.DataFrame:
    """The rows of a companies or people file as columns (COMPANY_SCHEMA, PERSON_SCHEMA),
    or an InputError listing every bad row with its line (as `registry_csv.read_registry_csv`)."""
    display = str(path)
    text = _registry_text(path)
    if not text.strip():
        from ..io.inputs import cannot_read

        raise cannot_read(display, "empty file: no rows")
    whole = _clean_frame(text, model, display)
    if whole is not None:
        return whole
    reader = csv.reader(io.StringIO(text, newline=""))
    checks = FAST[model]
    rows: list[list[str]] = []
    lines: list[int] = []
    unreadable = None
    header: list[str] = []
    try:
        header = [c.strip() for c in next(reader, [])]
        _check_header(header, model, display)
        for cells in reader:
            if not cells or (not "".join(cells).strip() and _blank_row(cells, header)):
                continue
            rows.append(cells)
            lines.append(reader.line_num)
    except csv.Error as exc:  # reported after the rows read before it, as they were met
        unreadable = unreadable_row(display, reader.line_num, exc)
    del text
    # a column named twice: the row's dict keeps the last, as csv.DictReader does
    at = [(name, len(header) - 1 - header[::-1].index(name) if name in header else None) for name in checks]
    width = len(header)
    quick = _quick_columns([cells for cells in rows if len(cells) == width], at, model)
    columns: dict[str, list[Any]] = {name: [] for name in checks}
    slow: list[int] = []  # rows taken by `_row`, in `columns`
    fast: list[int] = []  # rows of `quick` taken as they are
    errors: list[LocatedError] = []
    first_line: dict[str, int] = {}
    ok, position = quick["ok"], 0
    idents = _ascii_id(quick["frame"]["company_id"]).to_list() if model is CompanyRecord else None
    for cells, line in zip(rows, lines, strict=True):
        where = Location(display, line)
        if len(cells) != width or not ok[position]:
            if len(cells) == width:
                position += 1
            before = len(columns["company_id"])
            errors += _row(cells, width, header, at, model, where, first_line, columns)
            slow += [len(fast) + len(slow)] * (len(columns["company_id"]) - before)
            continue
        ident = idents[position] if idents is not None else None  # companies: the duplicate check of `_row`
        if ident is not None and first_line.setdefault(ident, line) != line and ident:
            before = len(columns["company_id"])
            errors += _exact(cells, header, model, where, first_line, columns)
            slow += [len(fast) + len(slow)] * (len(columns["company_id"]) - before)
        else:
            fast.append(position)
        position += 1
    if unreadable is not None:
        errors.append(unreadable)
    if errors:
        raise InputError(f"{display} was not loaded: nothing from it was stored", errors)
    schema = COMPANY_SCHEMA if model is CompanyRecord else PERSON_SCHEMA
    frame = quick["frame"]
    if len(fast) != frame.height:
        frame = frame[fast]
    if slow:  # rows the model normalised: in their places among the others
        exact = pl.DataFrame(columns, schema=schema).with_columns(pl.Series("_at", slow, dtype=pl.Int64))
        known = set(slow)
        taken = [i for i in range(len(fast) + len(slow)) if i not in known]
        frame = frame.with_columns(pl.Series("_at", taken, dtype=pl.Int64))
        frame = pl.concat([frame, exact]).sort("_at").drop("_at")
    return frame


# what `_ident` takes: printable ASCII, no blank at either end
_IDENT = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"
_BY_VALUE = frozenset({"country", "registered_on", "activity_codes", "role", "birth_date"})
_LISTS = frozenset({"activity_codes", "aliases"})


def _quick_columns(
    rows: list[list[str]], at: Sequence[tuple[str, int | None]], model: type[Any], memo: dict[Any, Any] | None = None
) -> dict[str, Any]:
    """The quick check of `FAST` on whole columns: `ok` (a row the checks would take
    unchanged), `frame` (each row's values as the checks give them) and `clean` (every
    row ok, no company id twice). `memo` keeps the checks of distinct values across calls.

    Columns of few values (countries, dates, roles, activity codes) run the row checks
    once per distinct value; ids and texts are polars expressions that accept only what
    the checks accept, and give the same values (a row they cannot prove takes `_row`)."""
    cells = list(zip(*rows, strict=True))  # the rows' columns (every row has the header's width)
    raw = {name: pl.Series(name, list(cells[index]) if index is not None and rows else [None] * len(rows),
                           dtype=pl.Utf8) for name, index in at}  # fmt: skip
    return _quick_raw(raw, model, memo)


def _quick_raw(raw: dict[str, pl.Series], model: type[Any], memo: dict[Any, Any] | None = None) -> dict[str, Any]:
    """`_quick_columns` of the rows' columns (each of `FAST[model]`'s, as the csv module reads it)."""
    oks: list[pl.Series] = []
    values: dict[str, pl.Series] = {}
    for name in FAST[model]:
        ok, value = _quick(name, raw[name], FAST[model][name], {} if memo is None else memo.setdefault(name, {}))
        oks.append(ok)
        values[name] = value
    if model is PersonRecord:  # a company holding a role in itself: the model says so
        holder = values["person_company_id"]
        same = holder.is_not_null() & (_ascii_id(holder) == _ascii_id(values["company_id"]))
        oks.append(~same.fill_null(False))
    ok = pl.DataFrame(oks).select(pl.all_horizontal(pl.all()).fill_null(False)).to_series()
    schema = COMPANY_SCHEMA if model is CompanyRecord else PERSON_SCHEMA
    frame = pl.DataFrame(values).cast(schema).select(list(schema))  # type: ignore[arg-type]
    idents = _ascii_id(values["company_id"])
    twice = model is CompanyRecord and bool(idents.filter(idents != "").is_duplicated().any())
    return {"ok": ok.to_list(), "frame": frame, "clean": bool(ok.all()) and not twice}


def _quick(name: str, column: pl.Series, check: Check, memo: dict[Any, Any]) -> tuple[pl.Series, pl.Series]:
    """(ok, value) of each row of one column."""
    if name in _BY_VALUE:
        return _by_value(name, column, check, memo)
    printable = _printable(column)
    if check is _ident or check is _opt_ident:
        ident = column.str.contains(_IDENT).fill_null(False)
        if check is _ident:
            return ident, column
        empty = column.is_null() | (column == "")
        return ident | empty, pl.select(pl.when(empty).then(None).otherwise(column)).to_series()
    if check is _text:
        edges = column.str.starts_with(" ") | column.str.ends_with(" ")
        return ((column.str.len_chars() > 0) & printable & ~edges).fill_null(False), column
    if check is _opt_text:  # printable: its only blank is a space
        blank = column.is_null() | (column.str.strip_chars(" ") == "")
        return printable | column.is_null(), pl.select(pl.when(blank).then(None).otherwise(column)).to_series()
    assert name == "aliases", name  # printable: each item is too, and str.strip takes spaces only
    return printable | column.is_null(), _as_list(column)


def _by_value(name: str, column: pl.Series, check: Check, memo: dict[Any, Any]) -> tuple[pl.Series, pl.Series]:
    """The row check once per distinct value (lists as their items joined by ";", which
    no item holds)."""
    distinct = column.drop_nulls().unique().to_list()
    results = [memo[v] if v in memo else memo.setdefault(v, check(v)) for v in distinct]
    null_ok, null_value = check(None)
    if name in _LISTS:
        results = [(ok, ";".join(v)) for ok, v in results]
        null_value = ";".join(null_value)
    dtype = pl.Date if name in ("registered_on", "birth_date") else pl.Utf8
    ok = column.replace_strict(distinct, [r[0] for r in results], default=null_ok, return_dtype=pl.Boolean)
    value = column.replace_strict(distinct, [r[1] for r in results], default=null_value, return_dtype=dtype)
    return ok, _as_list(value) if name in _LISTS else value


def _as_list(column: pl.Series) -> pl.Series:
    """`registry.split_list` of text that is printable (its only blank is a space)."""
    parts = column.fill_null("").str.split(";").list.eval(pl.element().str.strip_chars(" "))
    return parts.list.eval(pl.element().filter(pl.element() != ""))


def _printable(column: pl.Series) -> pl.Series:
    """str.isprintable of each value, decided per distinct character (null: null)."""
    text = column.str.join("").item()  # one string made by polars, not a Python string per value
    if text.isprintable():  # the common case, a third of the time of the set below
        return column.is_not_null()
    bad = sorted({ch for ch in set(text) if not ch.isprintable()})
    return ~column.str.contains("[" + "".join(f"\\x{{{ord(ch):x}}}" for ch in bad) + "]").fill_null(True)


def _ascii_id(column: pl.Series) -> pl.Series:
    """`registry.normalize_id` (or "") of ASCII ids."""
    return column.str.replace_all("[^A-Za-z0-9]", "").str.to_uppercase()


CHUNK = 50_000  # rows held as Python lists at once by `_clean_frame`


def _clean_frame(text: str, model: type[Any], display: str) -> pl.DataFrame | None:
    """The file's frame if every row passes the quick checks as it is (no row of a wrong
    width, no repeated company id), read a chunk of rows at a time (bounded memory); None
    if any row needs a look of its own (`read_registry_frame` then reads it all again)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    frames: list[pl.DataFrame] = []
    idents: list[pl.Series] = []
    memo: dict[str, Any] = {}
    try:
        header = [c.strip() for c in next(reader, [])]
        _check_header(header, model, display)
        width = len(header)
        at = [(name, width - 1 - header[::-1].index(name) if name in header else None) for name in FAST[model]]
        for raw in _raw_chunks(text, reader, header, at):
            quick = _quick_raw(raw, model, memo)
            if not quick["clean"]:
                return None
            frames.append(quick["frame"])
            idents.append(_ascii_id(quick["frame"]["company_id"]))
    except (csv.Error, _Odd):
        return None
    if model is CompanyRecord and idents:
        ids = pl.concat(idents)
        if ids.filter(ids != "").is_duplicated().any():
            return None
    if not frames:
        return None
    return pl.concat(frames) if len(frames) > 1 else frames[0]


class _Odd(Exception):  # noqa: N818 - a signal: the file takes the exact reading
    """A row of a wrong width: `read_registry_frame` reads the file row by row."""


def _raw_chunks(
    text: str, reader: Any, header: list[str], at: Sequence[tuple[str, int | None]]
) -> Iterator[dict[str, pl.Series]]:
    """The rows after the header as columns (`_quick_raw`'s), CHUNK rows at a time. A file
    whose every line is a plain row (`io.lines.plain_count`: one record per line, quoted
    only around whole fields, no carriage return) is read by polars, which reads such
    lines exactly as the csv module does; any other by the csv module (`reader`, past
    the header), skipping blank rows and raising _Odd at a row of another width."""
    width = len(header)
    first, newline, body = text.partition("\n")
    data = body.encode()
    if newline and plain_count(first.encode(), width) == 1 and plain_count(data, width) is not None:
        frame = pl.read_csv(io.BytesIO(data), has_header=False, infer_schema=False, quote_char='"',
                            empty_string_is_null=False, raise_if_empty=False).fill_null("")  # fmt: skip
        del data
        for part in frame.iter_slices(CHUNK):
            yield {name: part[:, i].alias(name) if i is not None else pl.Series(name, [None] * part.height,
                   dtype=pl.Utf8) for name, i in at}  # fmt: skip
        return
    del data
    rows: list[list[str]] = []
    for cells in itertools.chain(reader, [None]):
        if cells is not None:
            if not cells or (not "".join(cells).strip() and _blank_row(cells, header)):
                continue
            if len(cells) != width:
                raise _Odd
            rows.append(cells)
        if len(rows) == CHUNK or (cells is None and rows):
            columns = list(zip(*rows, strict=True))
            yield {name: pl.Series(name, list(columns[i]) if i is not None else [None] * len(rows), dtype=pl.Utf8)
                   for name, i in at}  # fmt: skip
            rows = []


def _blank_row(cells: list[str], header: list[str]) -> bool:
    """`csv_columns.blank_row` of the row as csv.DictReader builds it (keys once each)."""
    row: dict[Any, Any] = dict(zip(header, cells, strict=False))
    if len(cells) > len(header):
        row[None] = cells[len(header) :]
    values = [v for v in row.values() if v is not None]
    return blank_row(values, len(header), None in row)


def _check_header(columns: list[str], model: type[Any], display: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS[model] if c not in columns]  # type: ignore[index]
    typos = header_typos(columns, set(model.model_fields), display)
    if missing or typos:
        errors = [LocatedError(Location(display, 1), f"missing column(s): {', '.join(missing)}")] if missing else []
        raise InputError(f"{display} was not loaded", errors + typos, "check the header row (README, 'Registry')")


def _row(
    cells: list[str], width: int, header: list[str], at: Sequence[tuple[str, int | None]], model: type[Any],
    where: Location, first_line: dict[str, int], columns: dict[str, list[Any]],
) -> list[LocatedError]:  # fmt: skip
    """Take one row (quick check, else the model) into `columns`; its errors, if any."""
    if len(cells) != width:
        return [LocatedError(where, "wrong number of values for the header")]
    if model is CompanyRecord:
        ident = normalize_id(cells[at[0][1]]) or ""  # type: ignore[index]
        if first_line.setdefault(ident, where.line or 0) != where.line and ident:
            return _exact(cells, header, model, where, first_line, columns)
    values = []
    for name, index in at:
        ok, value = FAST[model][name](cells[index] if index is not None else None)
        if not ok:
            return _exact(cells, header, model, where, first_line, columns)
        values.append(value)
    if model is PersonRecord and values[5] and same_id(values[5], values[0]):
        return _exact(cells, header, model, where, first_line, columns)
    for (name, _), value in zip(at, values, strict=True):
        columns[name].append(value)
    return []


def _exact(
    cells: list[str], header: list[str], model: type[Any], where: Location, first_line: dict[str, int],
    columns: dict[str, list[Any]],
) -> list[LocatedError]:  # fmt: skip
    """The model's own validation of a row that the quick check did not accept."""
    row = dict(zip(header, cells, strict=True))
    if model is CompanyRecord:  # the duplicate check already counted this line: let it see its own
        ident = normalize_id(row.get("company_id")) or ""
        if first_line.get(ident) == where.line:
            del first_line[ident]
    records: list[Any] = []
    errors = _row_errors(row, model, where, first_line, records)
    if records and not errors:
        record = records[0]
        for name in columns:
            value = getattr(record, name)
            columns[name].append(value.value if isinstance(value, Role) else value)
    return errors


def company_frame(rows: Sequence[CompanyRecord]) -> pl.DataFrame:
    """Validated company records as registry columns."""
    return pl.DataFrame([[getattr(r, c) for c in COMPANY_SCHEMA] for r in rows], schema=COMPANY_SCHEMA, orient="row")


def person_frame(rows: Sequence[PersonRecord]) -> pl.DataFrame:
    """Validated people records as registry columns."""
    data = [[r.company_id, r.person_name, r.role.value, r.person_id, r.birth_date, r.person_company_id] for r in rows]
    return pl.DataFrame(data, schema=PERSON_SCHEMA, orient="row")
