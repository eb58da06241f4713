"""Rows of whole declarations into a Chunk: the fast path where the checks prove every row
valid, the exact path (csv_input's, through the models) for every other declaration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from ..contract.errors import LocatedError, Location
from ..screening.frames import HEADER_SCHEMA, ITEM_SCHEMA, DeclarationSet
from .checks import OK, Rows, strip
from .chunk import Chunk
from .csv_columns import HEADER_COLUMNS, _row_undecodable
from .csv_input import CsvGroup
from .parsing import Parsed, Rejected

KEY = "\0key"  # the declaration id as the rows are grouped by it (stripped, as written)
ODD = "\0odd"  # a row the checks do not read (see lines.OddRow): its declaration goes the exact way
ORDER = "\0order"  # when the declaration comes out (the line of its last row)
DECL = "decl"


def assemble(rows: pl.DataFrame, columns: list[str], odd: Mapping[int, dict[Any, Any]], source: str,
             line: str) -> Chunk:  # fmt: skip
    """The declarations whose every row is in `rows` (raw cells of `columns`, `line` the
    input line of each, KEY, ODD, ORDER), as a Chunk in ORDER; `odd` holds the odd rows
    as `csv.DictReader` gives them, by line."""
    extra = [c for c in columns if c not in HEADER_COLUMNS and c not in _ITEM_COLUMNS]
    checked = Rows(columns, rows).frame(rows, extra).sort(ORDER, line)
    # rows of a declaration are adjacent now: each agrees with the one before it on every
    # header column (stripped, as csv_input compares them), and no item line repeats
    same = pl.col(KEY) == pl.col(KEY).shift(1)
    agreed = [strip(pl.col(c)) == strip(pl.col(c)).shift(1) for c in columns if c in HEADER_COLUMNS]
    row_ok = (pl.col(OK) & ~pl.col(ODD) & ~pl.struct(KEY, "i_line").is_duplicated()
              & (~same | pl.all_horizontal(agreed)).fill_null(True))  # fmt: skip
    groups = (
        checked.with_columns(row_ok.alias("fast"))
        .group_by(KEY, maintain_order=True)
        .agg(pl.col(line).first().alias("first"), pl.len().alias("n"), pl.col("fast").all())
    )
    exact = _exact(checked.filter(~pl.col(KEY).is_in(groups.filter("fast")[KEY].implode())), columns, odd,
                   source, line)  # fmt: skip
    numbers, parsed, rejected, before = _number(groups, exact)
    groups = groups.with_columns(pl.Series(DECL, numbers, dtype=pl.UInt32))
    fast = _fast_set(checked, groups.filter(pl.col("fast")), source, line)
    slow = _parsed_set(parsed, groups.filter(~pl.col("fast") & pl.col(DECL).is_not_null())[DECL])
    merged = DeclarationSet(pl.concat([fast.headers, slow.headers]).sort(DECL),
                            pl.concat([fast.items, slow.items]).sort(DECL, "position"))  # fmt: skip
    return Chunk(merged, rejected, before)


def _number(groups: pl.DataFrame, exact: dict[str, Parsed | Rejected]) -> tuple[
        list[int | None], list[Parsed], list[Rejected], list[int]]:  # fmt: skip
    """Each group's number in the set (None: rejected), the exact path's declarations and
    rejections, and where each rejection comes out."""
    if not exact:
        return list(range(groups.height)), [], [], []
    numbers: list[int | None] = []
    parsed: list[Parsed] = []
    rejected: list[Rejected] = []
    before: list[int] = []
    count = 0
    for key, fast in groups.select(KEY, "fast").iter_rows():
        outcome = None if fast else exact[key]
        if isinstance(outcome, Rejected):
            rejected.append(outcome)
            before.append(count)
            numbers.append(None)
            continue
        if outcome is not None:
            parsed.append(outcome)
        numbers.append(count)
        count += 1
    return numbers, parsed, rejected, before


_ITEM_COLUMNS = ("line", "hs_code", "description", "quantity", "unit", "value", "currency", "origin_country",
                 "net_mass_kg")  # fmt: skip


def _fast_set(checked: pl.DataFrame, groups: pl.DataFrame, source: str, line: str) -> DeclarationSet:
    rows = checked.join(groups.select(KEY, DECL, "first", "n"), on=KEY, how="inner", maintain_order="left")
    first = rows.group_by(DECL, maintain_order=True).first()
    header_names = [n for n in HEADER_SCHEMA if f"h_{n}" in first.columns]
    headers = first.select(
        pl.col(DECL),
        *[pl.col(f"h_{n}").alias(n) for n in header_names],
        pl.lit(None, pl.String).alias("extra"),
        pl.lit(None, pl.String).alias("exporter_extra"),  # a CSV row has no party extra fields
        pl.lit(None, pl.String).alias("consignee_extra"),
        pl.lit(source).alias("source"),
        pl.col("first").alias("line"),
        pl.lit(None, pl.Int64).alias("record"),
        pl.col("n").cast(pl.Int32).alias("lines"),
    )
    item_names = [n for n in ITEM_SCHEMA if f"i_{n}" in rows.columns]
    items = rows.select(
        pl.col(DECL),
        (pl.int_range(pl.len()).over(DECL)).cast(pl.UInt32).alias("position"),
        *[pl.col(f"i_{n}").alias(n) for n in item_names],
    )
    return DeclarationSet(headers.select([pl.col(c).cast(t) for c, t in HEADER_SCHEMA.items()]),
                          items.select([pl.col(c).cast(t) for c, t in ITEM_SCHEMA.items()]))  # fmt: skip


def _parsed_set(parsed: list[Parsed], numbers: pl.Series) -> DeclarationSet:
    built = DeclarationSet.from_declarations(
        [p.declaration for p in parsed], [p.location for p in parsed], [p.lines for p in parsed]
    )
    renumber = pl.col(DECL).replace_strict(list(range(len(parsed))), numbers.to_list(), return_dtype=pl.UInt32)
    return DeclarationSet(built.headers.with_columns(renumber), built.items.with_columns(renumber))


def _exact(rows: pl.DataFrame, columns: list[str], odd: Mapping[int, dict[Any, Any]], source: str,
           line: str) -> dict[str, Parsed | Rejected]:  # fmt: skip
    """Each declaration the checks could not prove, through csv_input's own path."""
    groups: dict[str, CsvGroup] = {}
    for values in rows.select(KEY, line, ODD, *columns).iter_rows():
        key, number, is_odd = values[0], values[1], values[2]
        row = odd[number] if is_odd else dict(zip(columns, values[3:], strict=True))
        group = groups.get(key) or groups.setdefault(key, CsvGroup(number))
        group.rows.append((number, row))
        where = Location(source, number)
        if _row_undecodable(row):
            group.errors.append(LocatedError(where, "not UTF-8 text; save the file as UTF-8"))
        if None in row:
            group.errors.append(LocatedError(where, "more values than header columns"))
        elif None in row.values():
            group.errors.append(LocatedError(where, "fewer values than header columns"))
    return {key: group.declaration(key, source) for key, group in groups.items()}
