"""The batch CSV's columns (design.md section 4): where each goes in a declaration, which
are required, what a header must hold and when a row counts as blank. Shared by the
record-by-record reader (`csv_input`), the columnar one (`csv_read`, `assemble`, `sheets`)
and the registry files."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..contract.errors import InputError, LocatedError, Location
from ..contract.models import header_typos
from .inputs import empty_input
from .parsing import SURROGATE, undecodable

HEADER_COLUMNS = {
    "declaration_id": ("declaration_id",),
    "date": ("date",),
    "procedure": ("procedure",),
    "document_type": ("document_type",),
    "exporter_name": ("exporter", "name"),
    "exporter_id": ("exporter", "id"),
    "exporter_country": ("exporter", "country"),
    "consignee_name": ("consignee", "name"),
    "consignee_id": ("consignee", "id"),
    "consignee_country": ("consignee", "country"),
    "dispatch_country": ("dispatch_country",),
    "destination_country": ("destination_country",),
    "transit_countries": ("transit_countries",),
}


ITEM_COLUMNS = (
    "line",
    "hs_code",
    "description",
    "quantity",
    "unit",
    "value",
    "currency",
    "origin_country",
    "net_mass_kg",
)


REQUIRED_CSV_COLUMNS = (
    "declaration_id",
    "date",
    "exporter_name",
    "consignee_name",
    "dispatch_country",
    "destination_country",
    "line",
    "hs_code",
)


CONTRACT_COLUMNS = {*HEADER_COLUMNS, *ITEM_COLUMNS}


# pydantic's field path (as a dotted string) back to the CSV column a user wrote
PATH_TO_COLUMN = {".".join(path): column for column, path in HEADER_COLUMNS.items()}


def _row_undecodable(row: dict[Any, Any]) -> bool:
    """`undecodable` for a CSV row, in one pass over its text (the check runs on every row)."""
    try:
        text = "".join(row.values())
    except TypeError:  # a ragged row holds None or a list of extra values
        return undecodable(row.values())
    return not text.isascii() and SURROGATE.search(text) is not None


def _csv_header(reader: Any, source: str) -> list[str]:
    columns = [c.strip() for c in next(reader, [])]
    missing = [c for c in REQUIRED_CSV_COLUMNS if c not in columns]
    if not columns:
        raise empty_input(source)
    # extra columns are kept, but a misspelt contract column would silently drop its field
    # (a lost transit_countries hides a risk): the whole file is refused, as JSON is
    typos = header_typos(columns, CONTRACT_COLUMNS, source)
    if missing or typos:
        errors = [LocatedError(Location(source, 1), f"missing column(s): {', '.join(missing)}")] if missing else []
        hint = "the header row must name the batch CSV columns as the contract spells them (see README, 'Batch CSV')"
        raise InputError(f"{source} is not a batch CSV", errors + typos, hint)
    repeated = sorted(c for c, n in Counter(columns).items() if n > 1)
    if repeated:
        raise InputError(
            f"{source} is not a batch CSV",
            [LocatedError(Location(source, 1), f"column(s) named twice: {', '.join(repeated)}")],
        )
    return columns


def blank_row(cells: list[Any], width: int, extra: bool = False) -> bool:
    """A row that holds nothing: blanks on a line of their own, or a full row of empty
    cells (a spreadsheet's trailing rows, `,,,,`). The csv module skips only empty lines;
    these are skipped too, rather than rejected as a row with no declaration_id. A line
    too long to read never looks blank (see `_stand_in`): it never vanishes."""
    if extra:
        return False
    if len(cells) == width:
        return all(isinstance(cell, str) and not cell.strip() for cell in cells)
    return len(cells) == 1 and cells[0] != "" and not cells[0].strip()


def _csv_item(row: dict[str, str]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for column, value in row.items():
        if column is None or column in HEADER_COLUMNS:
            continue
        if column in ITEM_COLUMNS:
            if value is not None and value.strip():
                item[column] = value.strip()
        elif value:
            item[column] = value  # extra columns are kept, not rejected
    return item
