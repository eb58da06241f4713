"""Opening a database: SQLite's connection settings and locking, and a file or server
database that is missing or unusable said in plain words, before anything is changed."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlmodel import create_engine

from ..contract.errors import StorageError
from . import schema


def _sqlite_connect(connection: Any, _record: Any) -> None:
    connection.isolation_level = None  # we say BEGIN ourselves (see _sqlite_begin)
    # SQLite's lower() knows ASCII only: searches on names in any script use Python's
    connection.create_function("py_casefold", 1, lambda text: text.casefold() if isinstance(text, str) else text)
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # take the write lock at the start, so two writers never deadlock on an upgrade
    connection.exec_driver_sql("BEGIN IMMEDIATE")


# Files this process has checked (device, inode) and found to be WAL-mode SQLite: never
# opened by plain Python again. Closing any descriptor of a file drops every POSIX lock
# the process holds on it, SQLite's own included: a second Store opened while this
# process stored in an open transaction let a worker process, closing its connection,
# take the database for unused, checkpoint it and delete the log under that transaction
# (a malformed database, seen with a batch writer's transaction held across chunks).
_CHECKED: set[tuple[int, int]] = set()


def _checked(path: Path) -> None:
    """Note a database file this process opened (see _CHECKED)."""
    with contextlib.suppress(OSError):
        stat = path.stat()
        _CHECKED.add((stat.st_dev, stat.st_ino))


def _check_sqlite_file(path: Path, url: str) -> None:
    """Refuse a file that is no SQLite database, or another application's or a newer
    version's database, before opening it the usual way: that switches it to WAL mode,
    which rewrites its header, and a refused file must be left as it was."""
    if not path.is_file() or path.stat().st_size == 0:
        return
    stat = path.stat()
    if (stat.st_dev, stat.st_ino) in _CHECKED:
        return  # see _CHECKED
    with path.open("rb") as file:
        header = file.read(100)
    if not header.startswith(b"SQLite format 3\x00"):
        hint = "check --db or CUSTOMS_RULES_DB; the file was not changed"
        raise schema.UnusableDatabase(f"{path} is not an SQLite database", hint)
    if header[18:20] == b"\x02\x02":
        _CHECKED.add((stat.st_dev, stat.st_ino))
        return  # in WAL mode already, as every customs-rules database is: opening changes nothing
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with engine.connect() as connection:
            schema.refuse_unusable(connection, url)
    finally:
        engine.dispose()


_URL_HINT = "check --db or CUSTOMS_RULES_DB (e.g. sqlite:///path.db or postgresql+psycopg://...)"


_MISSING_HINT = (
    "check --db or CUSTOMS_RULES_DB; only commands that store (submit, screen, registry load, outcome, "
    "rescreen, rules publish) create a database"
)


_MISSING_PG_HINT = "check --db or CUSTOMS_RULES_DB; a PostgreSQL database is created with `createdb NAME`"


def _missing_server_database(url: str, exc: Exception) -> str | None:
    """The name of the PostgreSQL database `url` names, when the server says it does not exist."""
    if not url.startswith("postgresql") or not isinstance(exc, OperationalError):
        return None
    name = make_url(url).database
    return name if name and f'database "{name}" does not exist' in str(exc) else None


class MissingDatabase(StorageError):
    """A read-only command pointed at a database that does not exist: bad input."""

    exit_code = 2
