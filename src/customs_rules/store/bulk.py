"""Bulk writes and reads of polars frames, inside the caller's transaction.

Measured by benchmarks/bench_store.py (see benchmarks/RESULTS.md): on SQLite the DBAPI's
`executemany` of plain tuples (`tuples`) is several times SQLAlchemy's insert of dicts
(`core`, what storing used before); on PostgreSQL `COPY ... FROM STDIN` of the frame as
CSV, written by polars (`copy`), is fastest. ADBC ingests faster still but only on a
connection of its own, outside the transaction that must hold a chunk with its audit
entry, so it is measured there and not used here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import polars as pl
from sqlalchemy import Table, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from .locks import AUDIT_LOCK_KEY

METHODS = ("auto", "tuples", "copy", "core")
SQLITE_TIME = "%Y-%m-%d %H:%M:%S%.6f"  # how SQLAlchemy stores a datetime in SQLite


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def insert(session: Session, table: Table, frame: pl.DataFrame, method: str = "auto", ignore: bool = False) -> int:
    """Insert the frame's rows (its columns are the table's) and return how many.
    `ignore` (SQLite, `tuples` only): rows that would break a unique index are left out
    (INSERT OR IGNORE), and the count is of the rows written."""
    if frame.is_empty():
        return 0
    name = dialect(session)
    if method == "auto":
        method = "copy" if name == "postgresql" else "tuples"
    if method == "core":  # SQLAlchemy's insert of dicts (aware times: the table types want them)
        aware = [pl.col(c).dt.replace_time_zone("UTC") for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
        session.connection().execute(table.insert(), frame.with_columns(aware).to_dicts())
        return frame.height
    dbapi = session.connection().dialect.loaded_dbapi
    try:
        if method == "copy" and name == "postgresql":
            _copy(session, table.name, frame)
        else:
            return _tuples(session, table.name, frame, name, ignore)
    except dbapi.Error as exc:  # as SQLAlchemy raises it: the store retries "locked", reports the rest
        raise DBAPIError.instance(f"INSERT INTO {table.name}", None, exc, dbapi.Error) from exc
    return frame.height


def _tuples(session: Session, table: str, frame: pl.DataFrame, name: str, ignore: bool = False) -> int:
    marks = ", ".join("?" if name == "sqlite" else "%s" for _ in frame.columns)
    verb = "INSERT OR IGNORE" if ignore and name == "sqlite" else "INSERT"
    statement = f"{verb} INTO {table} ({', '.join(frame.columns)}) VALUES ({marks})"
    if name == "sqlite":
        frame = frame.with_columns(_sqlite_values(frame))
    cursor = _dbapi(session).cursor()
    try:
        cursor.executemany(statement, frame.iter_rows())
        return int(cursor.rowcount) if ignore else frame.height
    finally:
        cursor.close()


def _sqlite_values(frame: pl.DataFrame) -> list[pl.Expr]:
    """Dates and times as the text SQLAlchemy writes and reads back in SQLite (sqlite3's
    own adapters are deprecated), booleans as 0 and 1."""
    converted = []
    for column, dtype in frame.schema.items():
        if dtype == pl.Date:
            converted.append(pl.col(column).dt.to_string("%Y-%m-%d"))
        elif isinstance(dtype, pl.Datetime):
            converted.append(pl.col(column).dt.to_string(SQLITE_TIME))
        elif dtype == pl.Boolean:
            converted.append(pl.col(column).cast(pl.Int8))
    return converted


def _copy(session: Session, table: str, frame: pl.DataFrame) -> None:
    # polars writes "" for an empty text and nothing for null: COPY's CSV reads them so
    statement = f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN (FORMAT csv)"
    data = frame.write_csv(include_header=False, null_value="", datetime_format="%Y-%m-%dT%H:%M:%S%.6f")
    cursor = _dbapi(session).cursor()
    try:
        with cursor.copy(statement) as copy:
            copy.write(data.encode())
    finally:
        cursor.close()


def _dbapi(session: Session) -> Any:
    """The DBAPI connection of the session's transaction (so its writes commit with it)."""
    return session.connection().connection.dbapi_connection


def reserve_ids(session: Session, table: str, count: int) -> int:
    """The first of `count` consecutive new ids of `table`, taken under the store's write
    lock (SQLite's, or the advisory lock `lock` takes on PostgreSQL)."""
    if dialect(session) == "postgresql":
        sequence = f"pg_get_serial_sequence('{table}', 'id')"
        first = int(session.execute(text(f"SELECT nextval({sequence})")).scalar_one())
        if count > 1:  # the sequence moves past the block, for writers that take ids from it
            session.execute(text(f"SELECT setval({sequence}, :last)"), {"last": first + count - 1})
        return first
    last = session.execute(text(f"SELECT max(id) FROM {table}")).scalar_one()
    return int(last or 0) + 1


def lock(session: Session) -> None:
    """Serialise writers of screened declarations: on PostgreSQL the audit log's advisory
    lock, taken before anything is read (SQLite's BEGIN IMMEDIATE took its lock)."""
    if dialect(session) == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK_KEY})


def select_in(session: Session, query: str, values: Sequence[Any], **params: Any) -> Iterator[tuple[Any, ...]]:
    """Rows of `query` (whose `IN :values` takes a list) for many values, the list bound
    as one parameter: a JSON array on SQLite (`json_each`), an array on PostgreSQL
    (`= ANY`). An expanding IN list of 5,000 bound parameters cost more to build than
    the look-up (a sixth of a batch's storing)."""
    if not values:
        return iter(())
    bound: Any
    if dialect(session) == "postgresql":
        statement, bound = query.replace("IN :values", "= ANY(:values)"), list(values)
    else:
        statement = query.replace("IN :values", "IN (SELECT value FROM json_each(:values))")
        bound = orjson.dumps(list(values)).decode()
    return iter(session.execute(text(statement), {"values": bound, **params}).all())


def frame(rows: Any, schema: dict[str, Any]) -> pl.DataFrame:
    """Rows read back as a frame of the given schema."""
    return pl.DataFrame(list(rows), schema=schema, orient="row")
