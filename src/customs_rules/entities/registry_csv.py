"""Registry CSV files read row by row, every bad row with its line (the record path; the
columnar one for big files is `registry_files`)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..contract.errors import InputError, LocatedError, Location
from ..contract.models import header_typos
from ..contract.registry_rows import CompanyRecord, PersonRecord, Role, WatchlistRecord
from ..io.csv_columns import blank_row
from ..io.inputs import HEAD, MAX_CSV_FIELD, cannot_read, file_format, not_text, os_problem, path_problem
from .persons import normalize_id, same_id

R = TypeVar("R", bound=BaseModel)


REQUIRED_COLUMNS = {
    CompanyRecord: ("company_id", "name", "country", "registered_on", "activity_codes", "aliases"),
    PersonRecord: ("company_id", "person_name", "role"),
    WatchlistRecord: ("name", "company_id", "country", "reason", "source", "listed_on"),
}


def read_registry_csv(path: Path, model: type[R]) -> list[R]:
    """Every row of a registry file, or an InputError listing every bad row with its line."""
    display = str(path)
    text = _registry_text(path)
    if not text.strip():  # worded as `screen` words an empty file, not as a file missing its columns
        raise cannot_read(display, "empty file: no rows")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows: list[R] = []
    errors: list[LocatedError] = []
    try:
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in REQUIRED_COLUMNS[model] if c not in columns]
        # a misspelt optional column (person_company_id, birth_date...) would silently lose links
        typos = header_typos(columns, set(model.model_fields), display)
        if missing or typos:
            errors = [LocatedError(Location(display, 1), f"missing column(s): {', '.join(missing)}")] if missing else []
            raise InputError(f"{display} was not loaded", errors + typos, "check the header row (README, 'Registry')")
        reader.fieldnames = columns
        first_line: dict[str, int] = {}
        for row in reader:
            if not blank_row([v for v in row.values() if v is not None], len(columns), None in row):
                errors += _row_errors(row, model, Location(display, reader.line_num), first_line, rows)
    except csv.Error as exc:  # the reader cannot go on: nothing more is read
        errors.append(unreadable_row(display, reader.line_num, exc))
    if errors:
        raise InputError(f"{display} was not loaded: nothing from it was stored", errors)
    return rows


def unreadable_row(display: str, line: int, exc: csv.Error) -> LocatedError:
    """Where and why the CSV reader of a registry file could not go on."""
    problem = f"unreadable CSV: {exc}"
    if "field limit" in str(exc):
        problem = f"a field runs past {MAX_CSV_FIELD:,} characters: look for an unbalanced quote before here"
    return LocatedError(Location(display, line), problem)


def _registry_text(path: Path) -> str:
    display = str(path)
    problem = path_problem(Path(path))  # worded as `screen` words it
    if problem:
        raise cannot_read(display, problem)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise cannot_read(display, os_problem(exc)) from None
    kind = file_format(data[:HEAD])
    if kind:
        raise not_text(display, kind, "registry files are CSV (UTF-8 text)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        at = len(data) - len(exc.object) + exc.start  # the codec decoded what follows a BOM
        where = Location(display, data.count(b"\n", 0, at) + 1)
        problem = f"not UTF-8 text (byte 0x{data[at]:02x}); save the file as UTF-8"
        raise InputError(f"{display} was not loaded: nothing from it was stored", [LocatedError(where, problem)],
                         "re-encode it, e.g. iconv -f cp1251 -t utf-8") from None  # fmt: skip
    if text.lstrip()[:1] in ("[", "{"):  # no registry header starts so: it would read as "missing columns"
        raise not_text(display, "JSON, not CSV", "registry files are CSV (UTF-8 text)")
    return text


def _row_errors(
    row: dict[Any, Any], model: type[R], where: Location, first_line: dict[str, int], rows: list[R]
) -> list[LocatedError]:
    """What is wrong with one row (nothing: it is validated and added to `rows`)."""
    if None in row or None in row.values():
        return [LocatedError(where, "wrong number of values for the header")]
    errors = []
    if model is CompanyRecord:
        ident = normalize_id(row.get("company_id")) or ""
        seen = first_line.setdefault(ident, where.line or 0)
        if ident and seen != where.line:
            errors.append(LocatedError(Location(where.source, where.line, field="company_id"),
                                       f"company_id {row['company_id']} already on line {seen}"))  # fmt: skip
    if model is PersonRecord and row.get("person_company_id") and same_id(row["person_company_id"], row["company_id"]):
        return [LocatedError(Location(where.source, where.line, field="person_company_id"),
                             "a company cannot hold a role in itself")]  # fmt: skip
    try:
        rows.append(model.model_validate(row))
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            column = ".".join(str(p) for p in err["loc"])
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] in ("string_too_short", "missing"):
                message = "required field is empty"
            if err["type"] == "enum":
                message = f"unknown role {row.get('role')!r}; roles: {', '.join(r.value for r in Role)}"
            errors.append(LocatedError(Location(where.source, where.line, field=column), message))
    return errors
