"""Registry tables written in bulk and compiled at load (issue #13), and read back as columns.

A registry file replaces its table whole, in the caller's transaction: the rows, their
name keys (`company_key`, `person_key`) and the compiled tables (`person_pair`,
`company_edge`: see `entities.compile`). Rows go through the database driver's
`executemany` with bound parameters, a slice at a time; ids are given in load order
(1, 2, ...), so the keys need no round trip to learn them.

`person_key` holds the keys of each distinct natural-person name once, owned by the
first row of that name (`registry_db.StoredRegistry.ranked_people` expands a name to its
rows): a registry repeats names a lot, and per-row keys were most of a load's rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl
from sqlmodel import Session

from .. import names
from ..entities import compile as compiled
from ..entities.person_pairs import PAIR_SCHEMA, person_pairs
from ..registry import normalize_id

SLICE = 50_000  # rows per executemany: bounded memory for the driver's parameters
COMPANY_COLUMNS = ("id", "company_id", "name", "country", "registered_on", "activity_codes", "aliases", "address",
                   "address_key")  # fmt: skip
PERSON_COLUMNS = ("id", "company_id", "person_name", "role", "person_id", "birth_date", "person_company_id")
KEY_COLUMNS = ("company_pk", "key", "kind", "spelling_kind", "spelling")
PERSON_KEY_COLUMNS = ("person_pk", "key", "kind", "spelling_kind", "spelling")
PAIR_COLUMNS = ("person_pk", "other_pk", "company_key", "other_company_key", "kind", "score", "full_score",
                "initials", "same_birth")  # fmt: skip
EDGE_COLUMNS = ("company_key", "other_key", "kind", "person_pk", "role")


def _insert(
    session: Session, table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]] | list[Any],
    dated: bool = False,
) -> None:  # fmt: skip
    """executemany through the driver, with bound parameters; table and column names are
    this module's constants, never input. `dated`: some values are dates (SQLite takes
    them as ISO text)."""
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    cursor = connection.connection.cursor()
    try:
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(tuple(_sqlite_value(v) for v in row) if sqlite and dated else row)
            if len(batch) >= SLICE:
                cursor.executemany(sql, batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
    finally:
        cursor.close()


def _sqlite_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


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


def write_companies(session: Session, rows: pl.DataFrame) -> None:
    """Replace the companies and their keys. rows: the `registry.CompanyRecord` columns
    (activity codes and aliases as lists), in load order."""
    for table in ("company_key", "company"):
        _execute(session, f"DELETE FROM {table}")
    addresses = compiled.address_keys(rows["address"].to_list())
    joined = rows.with_columns(
        pl.col("activity_codes").list.join(";"), pl.col("aliases").list.join(";"),
        pl.Series("address_key", addresses, dtype=pl.Utf8),
    ).select(COMPANY_COLUMNS[1:])  # fmt: skip
    _insert(session, "company", COMPANY_COLUMNS, ((n, *r) for n, r in enumerate(joined.iter_rows(), 1)), True)
    _fix_sequence(session, "company")
    _insert(session, "company_key", KEY_COLUMNS, compiled.company_keys(rows))
    _fix_sequence(session, "company_key")


def write_people(session: Session, rows: pl.DataFrame) -> None:
    """Replace the people and their name keys. rows: the `registry.PersonRecord` columns."""
    for table in ("person_key", "person"):
        _execute(session, f"DELETE FROM {table}")
    ordered = rows.select(PERSON_COLUMNS[1:])
    _insert(session, "person", PERSON_COLUMNS, ((n, *r) for n, r in enumerate(ordered.iter_rows(), 1)), True)
    _fix_sequence(session, "person")
    rewrite_person_keys(session, rows.with_row_index("pk", 1).with_columns(pl.col("pk").cast(pl.Int64)))


def rewrite_person_keys(session: Session, people: pl.DataFrame) -> None:
    """person_key afresh: each distinct natural-person name's keys, owned by its first row.
    people: `pk`, `person_name`, `person_company_id`, in load order."""
    _execute(session, "DELETE FROM person_key")
    natural = people.filter(pl.col("person_company_id").is_null())
    first = natural.group_by("person_name", maintain_order=True).agg(pl.col("pk").first())
    _insert(session, "person_key", PERSON_KEY_COLUMNS, _person_keys(first.iter_rows()))
    _fix_sequence(session, "person_key")


def _person_keys(names_and_pks: Iterator[tuple[str, int]]) -> Iterator[tuple[Any, ...]]:
    blocks = []
    for name, pk in names_and_pks:
        exact, keys = names.person_spelling_keys(name)
        yield pk, exact, "exact", "name", name
        blocks += [(pk, block, "block", "name", name) for block in keys]
    yield from blocks


def write_compiled(session: Session) -> tuple[int, int]:
    """Compute the person pairs and company edges from the stored companies and people
    (whichever file was just loaded, the other as stored). Returns their counts."""
    for table in ("person_pair", "company_edge"):
        _execute(session, f"DELETE FROM {table}")
    companies, people = read_companies(session), read_people(session)
    known = companies.select("key")
    natural = people.filter(pl.col("holder_key").is_null()).select(
        pl.col("pk").alias("row"), "company_key", "person_name", "person_id", "birth_date"
    )
    pairs = person_pairs(natural)
    keyed = natural.select("row", "company_key")
    pairs = pairs.join(keyed, on="row").join(keyed, left_on="other_row", right_on="row", suffix="_other")
    pairs = pairs.join(known, left_on="company_key", right_on="key", how="semi")
    pairs = pairs.join(known, left_on="company_key_other", right_on="key", how="semi").sort("row", "other_row")
    _insert(session, "person_pair", PAIR_COLUMNS, pairs.select(
        "row", "other_row", "company_key", "company_key_other", "kind", "score", "full_score", "initials", "same_birth"
    ).iter_rows())  # fmt: skip
    edges = pl.concat([compiled.role_edges(companies, people), compiled.address_edges(companies)])
    _insert(session, "company_edge", EDGE_COLUMNS, edges.iter_rows())
    for table in ("person_pair", "company_edge"):
        _fix_sequence(session, table)
    return len(pairs), len(edges)


def _rows(session: Session, sql: str) -> list[tuple[Any, ...]]:
    connection = session.connection()
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


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
    """`registry.normalize_id` of each id, computed once per distinct id (null stays null)."""
    distinct = values.drop_nulls().unique()
    mapping = dict(zip(distinct.to_list(), [normalize_id(v) or v for v in distinct.to_list()], strict=True))
    return values.replace_strict(mapping, default=None, return_dtype=pl.Utf8)


def read_companies(session: Session) -> pl.DataFrame:
    """The stored companies in load order, with `key` (their normalised id)."""
    rows = _rows(session, "SELECT id, company_id, name, country, registered_on, activity_codes, aliases, address, "
                          "address_key FROM company ORDER BY id")  # fmt: skip
    frame = pl.DataFrame([(r[0], *r[1:4], _date(r[4]), *r[5:]) for r in rows], schema=COMPANY_SCHEMA, orient="row")
    return frame.with_columns(_keys_of(frame["company_id"]).alias("key"))


def read_people(session: Session) -> pl.DataFrame:
    """The stored people in load order, with `company_key` and `holder_key` (normalised ids)."""
    rows = _rows(session, "SELECT id, company_id, person_name, role, person_id, birth_date, person_company_id "
                          "FROM person ORDER BY id")  # fmt: skip
    frame = pl.DataFrame([(*r[:5], _date(r[5]), r[6]) for r in rows], schema=PEOPLE_SCHEMA, orient="row")
    return frame.with_columns(
        _keys_of(frame["company_id"]).alias("company_key"), _keys_of(frame["person_company_id"]).alias("holder_key")
    )


def read_pairs(session: Session) -> pl.DataFrame:
    rows = _rows(session, f"SELECT {', '.join(PAIR_COLUMNS)} FROM person_pair ORDER BY id")
    schema = {"row": pl.Int64, "other_row": pl.Int64, "company_key": pl.Utf8, "other_company_key": pl.Utf8}
    schema |= {k: v for k, v in PAIR_SCHEMA.items() if k not in schema}
    return pl.DataFrame(rows, schema=schema, orient="row")


def read_edges(session: Session) -> pl.DataFrame:
    rows = _rows(session, f"SELECT {', '.join(EDGE_COLUMNS)} FROM company_edge ORDER BY id")
    return pl.DataFrame(rows, schema=compiled.EDGE_SCHEMA, orient="row")


def read_company_keys(session: Session) -> pl.DataFrame:
    """company_key rows: company_pk, key, kind, spelling_kind, spelling, in id order."""
    rows = _rows(session, "SELECT company_pk, key, kind, spelling_kind, spelling FROM company_key ORDER BY id")
    schema = {"pk": pl.Int64, "key": pl.Utf8, "kind": pl.Utf8, "spelling_kind": pl.Utf8, "spelling": pl.Utf8}
    return pl.DataFrame(rows, schema=schema, orient="row")
