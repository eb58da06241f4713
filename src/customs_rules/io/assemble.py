"""Rows of whole declarations into a Chunk: the fast path where the checks prove every row
valid, the exact path (csv_input's, through the models) for every other declaration."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import polars as pl

from ..contract.errors import LocatedError, Location
from ..screening.frames import HEADER_SCHEMA, ITEM_SCHEMA, DeclarationSet
from .checks import OK, Rows, clean, extra_json, header_fields, item_fields, strip
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
    return next(assemble_each(rows, [], columns, odd, source, line))


def assemble_each(rows: pl.DataFrame, cuts: list[int], columns: list[str], odd: Mapping[int, dict[Any, Any]],
                  source: str, line: str) -> Iterator[Chunk]:  # fmt: skip
    """`assemble` of the rows whose ORDER is below the first of `cuts` (ascending), then of
    those from it to the next..., each a Chunk (none for a part with no rows), from one
    query when every declaration of a part takes the fast path: a query costs milliseconds
    however few its rows."""
    extra = [c for c in columns if c not in HEADER_COLUMNS and c not in _ITEM_COLUMNS]
    headers, items = _fast_frames(rows, columns, extra, source, line)
    ends = headers.get_column(ORDER).search_sorted(pl.Series(cuts, dtype=pl.Int64), side="left").to_list()
    ends.append(headers.height)
    item_ends = items.get_column(DECL).search_sorted(pl.Series(ends, dtype=pl.UInt32), side="left").to_list()
    start = item_start = 0
    for part, (end, item_end) in enumerate(zip(ends, item_ends, strict=True)):
        if end == start:
            continue
        if headers.get_column(OK)[start:end].all() and items.get_column(OK)[item_start:item_end].all():
            yield Chunk(DeclarationSet(_renumbered(headers[start:end], start, HEADER_SCHEMA),
                                       _renumbered(items[item_start:item_end], start, ITEM_SCHEMA)))  # fmt: skip
        else:
            lowest, below = (cuts[part - 1] if part else None), (cuts[part] if part < len(cuts) else None)
            yield _general(rows.filter(_between(pl.col(ORDER), lowest, below)), columns, extra, odd, source, line)
        start, item_start = end, item_end


def _between(order: pl.Expr, lowest: int | None, below: int | None) -> pl.Expr:
    inside = pl.lit(True)
    if lowest is not None:
        inside &= order >= lowest
    if below is not None:
        inside &= order < below
    return inside


def _renumbered(frame: pl.DataFrame, first: int, schema: dict[str, Any]) -> pl.DataFrame:
    """Part of a set's frame as a set of its own: `decl` from 0."""
    return frame.select(pl.col(DECL).sub(first).cast(pl.UInt32), *[c for c in schema if c != DECL])


def _general(rows: pl.DataFrame, columns: list[str], extra: list[str], odd: Mapping[int, dict[Any, Any]],
             source: str, line: str) -> Chunk:  # fmt: skip
    """`assemble`, declaration by declaration: the fast path for those the checks prove,
    the exact path for the others."""
    checked = Rows(columns, rows).frame(rows, extra).sort(ORDER, line)
    # rows of a declaration are adjacent now: each agrees with the one before it on every
    # header column (stripped, as csv_input compares them), and no item line repeats
    same = pl.col(KEY) == pl.col(KEY).shift(1)
    agreed = [strip(pl.col(c)) == strip(pl.col(c)).shift(1) for c in columns if c in HEADER_COLUMNS]
    row_ok = pl.col(OK) & ~pl.col(ODD) & ~_repeated() & (~same | pl.all_horizontal(agreed)).fill_null(True)
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


def _repeated() -> pl.Expr:
    return pl.struct(KEY, "i_line").is_duplicated()


def _fast_frames(rows: pl.DataFrame, columns: list[str], extra: list[str], source: str,
                 line: str) -> tuple[pl.DataFrame, pl.DataFrame]:  # fmt: skip
    """The fast path's set of every declaration of `rows`, in ORDER, in one query: its
    headers (with their ORDER) and items, each with OK: the row is proven, and (headers)
    each row of the declaration agrees with the one before it *as written*, so that the
    header checks of its first row are those of every row, and are made on first rows only
    (the usual case). A declaration with a row not proven so takes `_general`."""
    index = "\0index"
    # "\0" is no cell's: a cell holding it fails `clean`
    written = pl.concat_str([pl.col(c) for c in columns if c in HEADER_COLUMNS], separator="\0")
    base = (
        rows.lazy()
        .sort(ORDER, line)
        .with_row_index(index)
        .with_columns(
            (pl.col(KEY) != pl.col(KEY).shift(1)).fill_null(True).alias("first"),
            (written == written.shift(1)).alias("agrees"),
        )
    )
    checks = Rows(columns, rows)
    header_values, header_ok = checks.part(header_fields)
    item_values, item_ok = checks.part(item_fields)
    firsts = base.filter(pl.col("first")).with_columns(header_values).with_columns(header_ok.alias(OK))
    proven = item_ok & clean(columns) & ~pl.col(ODD) & ~_repeated() & (pl.col("first") | pl.col("agrees"))
    every = base.with_columns(*item_values, extra_json(extra)).with_columns(proven.alias(OK))
    made = {e.meta.output_name() for e in [*header_values, *item_values]} | {"i_extra"}
    headers = firsts.select(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias(DECL),
        *[pl.col(f"h_{n}").alias(n) for n in HEADER_SCHEMA if f"h_{n}" in made],
        *_no_extra(source),
        pl.col(line).alias("line"),
        pl.lit(None, pl.Int64).alias("record"),
        (pl.col(index).shift(-1).fill_null(rows.height) - pl.col(index)).cast(pl.Int32).alias("lines"),
        pl.col(OK),
        pl.col(ORDER),
    )
    start = pl.when(pl.col("first")).then(pl.col(index)).forward_fill()
    items = every.select(
        (pl.col("first").cum_sum() - 1).cast(pl.UInt32).alias(DECL),
        (pl.col(index) - start).cast(pl.UInt32).alias("position"),
        *[pl.col(f"i_{n}").alias(n) for n in ITEM_SCHEMA if f"i_{n}" in made],
        pl.col(OK),
    )
    found = pl.collect_all([_typed(headers, HEADER_SCHEMA, (OK, ORDER)), _typed(items, ITEM_SCHEMA, (OK,))])
    return found[0], found[1]


def _no_extra(source: str) -> list[pl.Expr]:
    return [
        pl.lit(None, pl.String).alias("extra"),
        pl.lit(None, pl.String).alias("exporter_extra"),  # a CSV row has no party extra fields
        pl.lit(None, pl.String).alias("consignee_extra"),
        pl.lit(source).alias("source"),
    ]


def _typed(frame: pl.LazyFrame, schema: dict[str, Any], keep: tuple[str, ...] = ()) -> pl.LazyFrame:
    """The frame as `schema` says (and the columns `keep`)."""
    return frame.select([pl.col(c).cast(t) for c, t in schema.items()] + [pl.col(c) for c in keep])


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
    headers = first.lazy().select(
        pl.col(DECL),
        *[pl.col(f"h_{n}").alias(n) for n in header_names],
        *_no_extra(source),
        pl.col("first").alias("line"),
        pl.lit(None, pl.Int64).alias("record"),
        pl.col("n").cast(pl.Int32).alias("lines"),
    )
    item_names = [n for n in ITEM_SCHEMA if f"i_{n}" in rows.columns]
    items = rows.lazy().select(
        pl.col(DECL),
        (pl.int_range(pl.len()).over(DECL)).cast(pl.UInt32).alias("position"),
        *[pl.col(f"i_{n}").alias(n) for n in item_names],
    )
    made = pl.collect_all([_typed(headers, HEADER_SCHEMA), _typed(items, ITEM_SCHEMA)])
    return DeclarationSet(made[0], made[1])


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
