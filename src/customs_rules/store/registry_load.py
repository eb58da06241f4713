"""Registry tables written in bulk and compiled at load (issue #13), and read back as columns.

A registry file replaces its table whole, in the caller's transaction: the rows, their
name keys (`company_key`, `person_key`) and the compiled tables (`person_pair`,
`company_edge`: see `entities.compile`). Rows go from polars frames through the
database driver (`bulk.insert`: COPY on PostgreSQL, executemany on SQLite), with the
tables' secondary indexes dropped and built again after (`without_indexes`: one sort
per index instead of a tree update per row); ids are given in load order (1, 2, ...), so
the keys need no round trip to learn them.

`person_key` holds the keys of each distinct natural-person name once, owned by the
first row of that name (`registry_db.StoredRegistry.ranked_people` expands a name to its
rows): a registry repeats names a lot, and per-row keys were most of a load's rows.
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
from ..entities.person_pairs import PAIR_SCHEMA, company_pairs
from ..entities.persons import normalize_ids
from . import audit, bulk, registry_snapshot

SLICE = 50_000  # rows per insert
COMPANY_COLUMNS = ("id", "company_id", "name", "country", "registered_on", "activity_codes", "aliases", "address",
                   "address_key")  # fmt: skip
PERSON_COLUMNS = ("id", "company_id", "person_name", "role", "person_id", "birth_date", "person_company_id")
PAIR_COLUMNS = ("person_pk", "other_pk", "company_key", "other_company_key", "kind", "score", "full_score",
                "initials", "same_birth")  # fmt: skip
EDGE_COLUMNS = ("company_key", "other_key", "kind", "person_pk", "role")


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


def _keys(frame: pl.DataFrame, owner: str) -> pl.DataFrame:
    return frame.rename({"pk": owner}).select(owner, "key", "kind", "spelling_kind", "spelling")


def write_companies(session: Session, rows: pl.DataFrame) -> str:
    """Replace the companies and their keys. rows: the `registry_rows.CompanyRecord` columns
    (activity codes and aliases as lists), in load order. Returns the table's seal
    (`audit.frame_seal` of the rows stored)."""
    for table in ("company_key", "company"):
        _execute(session, f"DELETE FROM {table}")
    addresses = compiled.address_keys(rows["address"].to_list())
    joined = rows.with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("id"),
        pl.col("activity_codes").list.join(";"), pl.col("aliases").list.join(";"),
        pl.Series("address_key", addresses, dtype=pl.Utf8),
    ).select(COMPANY_COLUMNS)  # fmt: skip
    keys = _keys(compiled.company_keys(rows), "company_pk")
    with without_indexes(session, ("company", "company_key")):
        _insert(session, "company", joined)
        _insert(session, "company_key", keys)
    for table in ("company", "company_key"):
        _fix_sequence(session, table)
    seal = audit.frame_seal(joined, audit.REGISTRY_TABLES["companies"][1])
    # the snapshot's parts, as `read_companies` and `read_names` read the rows back; each
    # frame let go once written (a load's peak of memory is here)
    ids = keys.filter(pl.col("kind") == "id")["key"]  # each company's normalised id, in load order
    stored = joined.rename({"id": "pk"}).cast(COMPANY_SCHEMA).with_columns(ids.alias("key"))  # type: ignore[arg-type]
    del joined, ids
    registry_snapshot.write_part(session, "companies", stored)
    del stored
    named = keys.rename({"company_pk": "pk"}).filter(pl.col("kind") != "id").cast(KEY_SCHEMA)  # type: ignore[arg-type]
    del keys
    parts = compiled.name_frames(named)
    del named
    while parts:
        name, frame = parts.popitem()
        registry_snapshot.write_part(session, name, frame)
        del frame
    return seal


def write_people(session: Session, rows: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """Replace the people and their name keys. rows: the `registry_rows.PersonRecord` columns.
    Returns them as `write_compiled` takes them (`read_people`'s columns), and the table's seal."""
    for table in ("person_key", "person"):
        _execute(session, f"DELETE FROM {table}")
    people = rows.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("id"))
    with without_indexes(session, ("person", "person_key")):
        _insert(session, "person", people.select(PERSON_COLUMNS))
        _fix_sequence(session, "person")
        rewrite_person_keys(session, people.rename({"id": "pk"}))
    stored = _with_id_keys(people.rename({"id": "pk"}).select(list(PEOPLE_SCHEMA)).cast(PEOPLE_SCHEMA))  # type: ignore[arg-type]
    registry_snapshot.write_part(session, "people", stored)
    return stored, audit.frame_seal(stored, audit.REGISTRY_TABLES["people"][1])


def rewrite_person_keys(session: Session, people: pl.DataFrame) -> None:
    """person_key afresh: each distinct natural-person name's keys, owned by its first row.
    people: `pk`, `person_name`, `person_company_id`, in load order."""
    _execute(session, "DELETE FROM person_key")
    natural = people.filter(pl.col("person_company_id").is_null())
    first = natural.group_by("person_name", maintain_order=True).agg(pl.col("pk").first())
    _insert(session, "person_key", _keys(compiled.person_keys(first), "person_pk"))
    _fix_sequence(session, "person_key")


def write_compiled(session: Session, people: pl.DataFrame | None = None, snapshot: bool = True) -> tuple[int, int]:
    """Compute the person pairs and company edges from the stored companies and people
    (whichever file was just loaded, the other as stored; `people`: those just written,
    as `write_people` returns them, not read back), and their parts of the snapshot
    (`snapshot`: False in a migration older than the snapshot). Returns their counts."""
    for table in ("person_pair", "company_edge"):
        _execute(session, f"DELETE FROM {table}")
    companies = _compiling_companies(session)
    people = read_people(session) if people is None else people
    pairs = company_pairs(companies.select("key"), people)
    edges = pl.concat([compiled.role_edges(companies, people), compiled.address_edges(companies)])
    with without_indexes(session, ("person_pair", "company_edge")):
        _insert(session, "person_pair", pairs.select(
            pl.col("row").alias("person_pk"), pl.col("other_row").alias("other_pk"), "company_key",
            "other_company_key", *PAIR_COLUMNS[4:],
        ))  # fmt: skip
        _insert(session, "company_edge", edges.select(EDGE_COLUMNS))
    for table in ("person_pair", "company_edge"):
        _fix_sequence(session, table)
    if snapshot:
        for name, frame, schema in (("pairs", pairs, PAIR_FRAME), ("edges", edges, compiled.EDGE_SCHEMA)):
            registry_snapshot.write_part(session, name, frame.select(list(schema)).cast(schema))  # type: ignore[arg-type]
    return len(pairs), len(edges)


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


def read_companies(session: Session) -> pl.DataFrame:
    """The stored companies in load order, with `key` (their normalised id)."""
    sql = "SELECT id, company_id, name, country, registered_on, activity_codes, aliases, address, address_key FROM company ORDER BY id"  # noqa: E501
    frame = _frame(session, sql, COMPANY_SCHEMA, lambda r: (r[0], *r[1:4], _date(r[4]), *r[5:]))
    return frame.with_columns(_keys_of(frame["company_id"]).alias("key"))


def _compiling_companies(session: Session) -> pl.DataFrame:
    """What compiling needs of the stored companies: pk, key, address_key."""
    rows = _rows(session, "SELECT id, company_id, address_key FROM company ORDER BY id")
    frame = pl.DataFrame(rows, schema={"pk": pl.Int64, "company_id": pl.Utf8, "address_key": pl.Utf8}, orient="row")
    return frame.with_columns(_keys_of(frame["company_id"]).alias("key"))


def read_people(session: Session) -> pl.DataFrame:
    """The stored people in load order, with `company_key` and `holder_key` (normalised ids)."""
    sql = "SELECT id, company_id, person_name, role, person_id, birth_date, person_company_id FROM person ORDER BY id"
    return _with_id_keys(_frame(session, sql, PEOPLE_SCHEMA, lambda r: (*r[:5], _date(r[5]), r[6])))


def _with_id_keys(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        _keys_of(frame["company_id"]).alias("company_key"), _keys_of(frame["person_company_id"]).alias("holder_key")
    )


PAIR_FRAME = {"row": pl.Int64, "other_row": pl.Int64, "company_key": pl.Utf8, "other_company_key": pl.Utf8}
PAIR_FRAME |= {k: v for k, v in PAIR_SCHEMA.items() if k not in PAIR_FRAME}
KEY_SCHEMA = {"pk": pl.Int64, "key": pl.Utf8, "kind": pl.Utf8, "spelling_kind": pl.Utf8, "spelling": pl.Utf8}


def read_pairs(session: Session) -> pl.DataFrame:
    return _frame(session, f"SELECT {', '.join(PAIR_COLUMNS)} FROM person_pair ORDER BY id", PAIR_FRAME)


def read_edges(session: Session) -> pl.DataFrame:
    return _frame(session, f"SELECT {', '.join(EDGE_COLUMNS)} FROM company_edge ORDER BY id", compiled.EDGE_SCHEMA)


def read_company_keys(session: Session) -> pl.DataFrame:
    """company_key rows of the names (kinds exact and block; the ids are `read_companies`'
    keys): company_pk, key, kind, spelling_kind, spelling, in id order."""
    sql = "SELECT company_pk, key, kind, spelling_kind, spelling FROM company_key WHERE kind <> 'id' ORDER BY id"
    return _frame(session, sql, KEY_SCHEMA)


def write_snapshot(session: Session) -> None:
    """Every part of the snapshot afresh from the tables (a registry stored before the
    snapshot existed: migration 0011)."""
    for name, frame in read_frames(session).items():
        registry_snapshot.write_part(session, name, frame)


def read_names(session: Session) -> dict[str, pl.DataFrame]:
    """The company keys as `entities.compile.name_frames` sorts them: names, blocks."""
    return compiled.name_frames(read_company_keys(session))


def read_frames(session: Session) -> dict[str, pl.DataFrame]:
    """The registry's frames read from its tables (as the snapshot holds them)."""
    return {"companies": read_companies(session), **read_names(session), "people": read_people(session),
            "pairs": read_pairs(session), "edges": read_edges(session)}  # fmt: skip
