"""Registry CSV files read as columns, fast, with the exact errors of the record path.

`read_registry_frame` reads companies or people files for `registry load`. Each row
first meets a quick check that only ever accepts values the pydantic model would take
unchanged (ASCII ids without surrounding blanks, printable text, ISO dates in range,
known country codes, NACE codes...); any other row goes through the model
(`registry._row_errors`), so a bad row is reported exactly as before, and a row that
the model accepts after normalising it (Unicode digits, blanks, lower-case countries)
gets the model's values. A file loads whole or not at all: any error raises InputError
listing every bad row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import TypeAdapter, ValidationError

from ..contract.errors import InputError, LocatedError, Location
from ..contract.models import OptCountry, header_typos, years_after
from ..contract.registry_rows import ACTIVITY_CODE, CompanyRecord, PersonRecord, Role
from ..io.csv_columns import blank_row
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
    reader = csv.reader(io.StringIO(text, newline=""))
    checks = FAST[model]
    columns: dict[str, list[Any]] = {name: [] for name in checks}
    errors: list[LocatedError] = []
    try:
        header = [c.strip() for c in next(reader, [])]
        _check_header(header, model, display)
        # a column named twice: the row's dict keeps the last, as csv.DictReader does
        at = [(name, len(header) - 1 - header[::-1].index(name) if name in header else None) for name in checks]
        width = len(header)
        first_line: dict[str, int] = {}
        for cells in reader:
            if not cells or (not "".join(cells).strip() and _blank_row(cells, header)):
                continue
            where = Location(display, reader.line_num)
            errors += _row(cells, width, header, at, model, where, first_line, columns)
    except csv.Error as exc:
        errors.append(unreadable_row(display, reader.line_num, exc))
    if errors:
        raise InputError(f"{display} was not loaded: nothing from it was stored", errors)
    schema = COMPANY_SCHEMA if model is CompanyRecord else PERSON_SCHEMA
    return pl.DataFrame(columns, schema=schema)


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
