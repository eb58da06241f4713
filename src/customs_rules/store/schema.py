"""Schema versions: Alembic migrations, run when a database is opened.

A database made by issue #2's release (tables, no `alembic_version`) is stamped at 0001
and upgraded in place, keeping its data. On PostgreSQL an advisory lock makes concurrent
first openings wait for one another instead of racing to migrate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from ..contract.errors import StorageError
from .locks import SCHEMA_LOCK_KEY

HEAD = "0014"  # the newest revision in migrations/versions (a test keeps them in step)
MIGRATIONS = Path(__file__).parent / "migrations"
OWN_TABLES = {"declaration", "decision"}  # tables every customs-rules schema has had
UNUSABLE_HINT = "check --db or CUSTOMS_RULES_DB; nothing in that database was changed"


class UnusableDatabase(StorageError):
    """A database this version must not open: made by a newer customs-rules, or by
    another application. Bad input (exit code 2), refused before anything is written."""

    exit_code = 2


def known_revisions() -> set[str]:
    return {path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py")}


def refuse_unusable(connection: Connection, url: str) -> None:
    """Raise `UnusableDatabase` unless the schema is one this version can use or create:
    empty, made before migrations existed, or at a revision it knows. Never writes."""
    tables = set(inspect(connection).get_table_names())
    revisions: list[str] = []
    if "alembic_version" in tables:
        revisions = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    unknown = [revision for revision in revisions if revision not in known_revisions()]
    if unknown and tables >= OWN_TABLES:
        raise UnusableDatabase(
            f"the database at {url} was made by a newer customs-rules (schema {unknown[0]}; this version "
            f"knows up to {HEAD}): upgrade customs-rules",
            "pip install --upgrade customs-rules; nothing in that database was changed",
        )
    if unknown or (tables and not revisions and not tables >= OWN_TABLES):
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise UnusableDatabase(
            f"the database at {url} is not a customs-rules database: it holds another application's tables ({shown})",
            UNUSABLE_HINT,
        )


def alembic_config(connection: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def at_head(connection: Connection) -> bool:
    """Whether the schema is at HEAD, read without Alembic: importing it costs an
    officer's `submit` a third of a second, and it is needed only to upgrade."""
    if not inspect(connection).has_table("alembic_version"):
        return False
    try:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except DBAPIError:
        return False
    return versions == [HEAD]


def exists(engine: Engine) -> bool:
    """Whether the database holds a customs-rules schema (of any revision); another
    application's database, or a newer customs-rules', is refused (`UnusableDatabase`)."""
    with engine.connect() as connection:
        refuse_unusable(connection, engine.url.render_as_string(hide_password=True))
        found = inspect(connection)
        return found.has_table("alembic_version") or found.has_table("declaration")


def upgrade(engine: Engine) -> None:
    """Bring the schema to HEAD; cheap (one query, no Alembic) when it is already there."""
    with engine.connect() as connection:
        if at_head(connection):
            return
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        refuse_unusable(connection, engine.url.render_as_string(hide_password=True))
        current = current_revision(connection)
        if current == HEAD:
            return  # another process migrated while we waited for the lock
        from alembic import command

        config = alembic_config(connection)
        if current is None and inspect(connection).has_table("declaration"):
            command.stamp(config, "0001")  # a database made before migrations existed
        command.upgrade(config, "head")
