"""Registry rows written in bulk and compiled at load (issue #13).

A registry file replaces its table whole, in the caller's transaction: the rows
(`company`, `person`) and the registry snapshot's parts they make (`registry_snapshot`):
the companies with their name keys (`names`, `blocks`), the people, and the compiled
person pairs and company edges (`pairs`, `edges`: see `entities.compile`). Since
migration 0014 the keys, pairs and edges are stored in the snapshot alone: as tables
they were 1.4 M rows at 100k companies, ten times `csv.DictReader`'s read of the files
to insert and index, and every reader now reads them from the snapshot. The people's
name keys are not stored at all: `registry match`, their one reader, computes them
(`registry_db.StoredRegistry`).

Rows go from polars frames through the database driver (`bulk.insert`: COPY on
PostgreSQL, executemany on SQLite), with the tables' secondary indexes dropped and built
again after (`without_indexes`: one sort per index instead of a tree update per row);
ids are given in load order (1, 2, ...), so the parts need no round trip to learn them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import polars as pl
from sqlalchemy import MetaData, Table
from sqlmodel import Session

from ..entities import compile as compiled
from ..entities.person_pairs import company_pairs
from ..entities.persons import normalize_ids
from ..runtime import trim_heap
from . import audit, bulk, registry_snapshot, snapshot_files

SLICE = 50_000  # rows per insert
COMPANY_COLUMNS = ("id", "company_id", "name", "country", "registered_on", "activity_codes", "aliases", "address",
                   "address_key")  # fmt: skip
PERSON_COLUMNS = ("id", "company_id", "person_name", "role", "person_id", "birth_date", "person_company_id")


def _insert(session: Session, table: str, frame: pl.DataFrame) -> None:
    """The frame's rows (its columns named as the table's) through the driver, a slice at
    a time (bounded memory for COPY's text): COPY on PostgreSQL, executemany on SQLite
    (`bulk.insert`). Table names are this module's."""
    target = Table(table, MetaData())
    for part in frame.iter_slices(SLICE):
        bulk.insert(session, target, part)


def _execute(session: Session, sql: str) -> None:
    connection = session.connection()
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


def _fix_sequence(session: Session, table: str) -> None:
    """After rows were given their ids, PostgreSQL's sequence starts past them."""
    if session.connection().dialect.name == "postgresql":
        _execute(session, f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                          f"GREATEST((SELECT MAX(id) FROM {table}), 1))")  # fmt: skip


@contextmanager
def without_indexes(session: Session, tables: Sequence[str]) -> Iterator[None]:
    """Drop the tables' secondary indexes and create them again on leaving, all in the
    caller's transaction (a failure rolls the drop back with the rows)."""
    indexes = [row for table in tables for row in _rows(session, _INDEXES[bulk.dialect(session)] % table)]
    for name, _ in indexes:
        _execute(session, f'DROP INDEX "{name}"')
    yield
    for _, definition in indexes:
        _execute(session, definition)


# each secondary index of a table (its name and definition); the table names are this module's
_INDEXES = {
    "sqlite": "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '%s' AND sql IS NOT NULL",
    "postgresql": "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                  "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = '%s' AND NOT x.indisprimary "
                  "AND NOT x.indisunique AND t.relnamespace = current_schema()::regnamespace",
}  # fmt: skip


def write_companies(session: Session, rows: pl.DataFrame) -> str:
    """Replace the companies and their parts of the snapshot (companies, names, blocks).
    rows: the `registry_rows.CompanyRecord` columns (activity codes and aliases as lists),
    in load order. Returns the table's seal (`audit.frame_seal` of the rows stored)."""
    joined = rows.with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("id"),
        pl.col("activity_codes").list.join(";"), pl.col("aliases").list.join(";"),
        compiled.address_keys(rows["address"]).alias("address_key"),
    ).select(COMPANY_COLUMNS)  # fmt: skip
    with rows_written(session, "company", joined):  # the parts are made meanwhile
        seal = audit.frame_seal(joined, audit.REGISTRY_TABLES["companies"][1])
        # the companies' part first, with each one's id key: the table's rows go before the names' keys are made
        stored = joined.rename({"id": "pk"}).cast(COMPANY_SCHEMA)  # type: ignore[arg-type]
        del joined
        stored = stored.with_columns(compiled.normalized_ids(rows["company_id"]).alias("key"))
        parts = {"companies": registry_snapshot.encode(stored)}
        del stored
        parts |= company_parts(rows)
    _store(session, parts)
    return seal


def company_parts(rows: pl.DataFrame) -> dict[str, registry_snapshot.Encoded]:
    """The companies' name keys as the snapshot's parts (blocks, then names), encoded;
    each frame let go once encoded (a load's peak of memory is here). rows: as
    `write_companies` takes them."""
    frames = compiled.sorted_names(*compiled.company_name_keys(rows))
    return {name: registry_snapshot.encode(frames.pop(name)) for name in ("blocks", "names")}


def write_people(session: Session, rows: pl.DataFrame, compile_links: bool = True) -> str:
    """Replace the people and their part of the snapshot, and with `compile_links` the
    person pairs and company edges (`write_compiled`), made while the rows are written.
    rows: the `registry_rows.PersonRecord` columns. Returns the table's seal."""
    people = rows.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("id"))
    companies = _part(session, "companies", ("pk", "key", "address_key")) if compile_links else None
    with rows_written(session, "person", people.select(PERSON_COLUMNS)):
        stored = _with_id_keys(people.rename({"id": "pk"}).select(list(PEOPLE_SCHEMA)).cast(PEOPLE_SCHEMA))  # type: ignore[arg-type]
        del people
        seal = audit.frame_seal(stored, audit.REGISTRY_TABLES["people"][1])
        parts = {"people": registry_snapshot.encode(stored)}
        if companies is not None:
            parts |= compiled_parts(companies, stored)
        del stored, companies
    _store(session, parts)
    return seal


def write_compiled(session: Session) -> tuple[int, int]:
    """The person pairs and company edges of the companies and people in the snapshot
    (the companies just loaded, the people as stored), written as its parts. Returns
    their counts."""
    companies = _part(session, "companies", ("pk", "key", "address_key"))
    parts = compiled_parts(companies, _part(session, "people"))
    counts = parts["pairs"].rows, parts["edges"].rows
    _store(session, parts)
    return counts


def _store(session: Session, parts: dict[str, registry_snapshot.Encoded]) -> None:
    """Store the parts in their order, each let go once stored (`parts` is left empty),
    then give what C's allocator freed back to the system (the parts' bytes and the
    driver's copies of them: ~40 MB kept otherwise at the commit that follows)."""
    for name in list(parts):
        registry_snapshot.store_part(session, name, parts.pop(name))
    trim_heap()


def compiled_parts(companies: pl.DataFrame, people: pl.DataFrame) -> dict[str, registry_snapshot.Encoded]:
    """The pairs and edges parts, encoded. companies: `pk`, `key`, `address_key`; people:
    the people part's columns."""
    pairs = company_pairs(companies.select("key"), people)
    edges = pl.concat([compiled.role_edges(companies, people), compiled.address_edges(companies)])
    parts = {}
    for name, frame in (("pairs", pairs), ("edges", edges)):
        schema = snapshot_files.SCHEMAS[name]
        parts[name] = registry_snapshot.encode(frame.select(list(schema)).cast(schema))  # type: ignore[arg-type]
    return parts


@contextmanager
def rows_written(session: Session, table: str, frame: pl.DataFrame) -> Iterator[None]:
    """Replace the table's rows with the frame's (its columns named as the table's), then
    let the caller's block make the snapshot's parts (stored after it, in the same
    transaction). Writing the rows in a thread of its own during the block (the drivers
    and polars let go of the GIL) was measured in session 11 (benchmarks/RESULTS.md): no
    gain that a loaded 2-core machine could show, and ~50 MB more peak memory on
    PostgreSQL (its COPY text beside the parts' frames); to be measured again on a quiet
    machine before it comes back."""
    _replace_rows(session, table, frame)
    del frame  # the caller's block may let its rows go
    # what the driver's inserts freed (tuples, COPY text, read-back parts) goes back to the
    # system before the parts' frames are made: C's allocator kept 35-65 MB of it there
    trim_heap()
    yield


def _replace_rows(session: Session, table: str, frame: pl.DataFrame) -> None:
    _execute(session, f"DELETE FROM {table}")
    with without_indexes(session, (table,)):
        _insert(session, table, frame)
    _fix_sequence(session, table)


def _part(session: Session, name: str, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """A part of the snapshot as stored in this transaction (no rows when not written)."""
    data = registry_snapshot.read_part(session, name)
    chosen = None if columns is None else list(columns)
    found = snapshot_files.empty(name) if data is None else pl.read_ipc(data, columns=chosen)
    return found if columns is None else found.select(columns)


def _rows(session: Session, sql: str) -> list[tuple[Any, ...]]:
    connection = session.connection()
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


# rows fetched per batch: each batch becomes a frame before the next is fetched, so at
# most this many rows exist as Python tuples at once (a whole table did: +175 MB transient)
_BATCH = 32768


def _frame(
    session: Session, sql: str, schema: dict[str, Any], row: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None
) -> pl.DataFrame:
    """The query's rows as one frame, built a batch at a time."""
    cursor = session.connection().connection.cursor()
    frames = []
    try:
        cursor.execute(sql)
        while batch := cursor.fetchmany(_BATCH):
            rows = [row(r) for r in batch] if row is not None else batch
            frames.append(pl.DataFrame(rows, schema=schema, orient="row"))
            del batch, rows
    finally:
        cursor.close()
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames, rechunk=False)


def _date(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


COMPANY_SCHEMA = {
    "pk": pl.Int64, "company_id": pl.Utf8, "name": pl.Utf8, "country": pl.Utf8, "registered_on": pl.Date,
    "activity_codes": pl.Utf8, "aliases": pl.Utf8, "address": pl.Utf8, "address_key": pl.Utf8,
}  # fmt: skip
PEOPLE_SCHEMA = {
    "pk": pl.Int64, "company_id": pl.Utf8, "person_name": pl.Utf8, "role": pl.Utf8, "person_id": pl.Utf8,
    "birth_date": pl.Date, "person_company_id": pl.Utf8,
}  # fmt: skip


def _keys_of(values: pl.Series) -> pl.Series:
    """`persons.normalize_id` of each id, or the id itself (null stays null)."""
    return pl.select(pl.coalesce(normalize_ids(values), values)).to_series()


def _with_id_keys(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        _keys_of(frame["company_id"]).alias("company_key"), _keys_of(frame["person_company_id"]).alias("holder_key")
    )
