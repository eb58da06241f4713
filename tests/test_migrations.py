"""The migrations build the schema the table models describe (issue #5 added 0003)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from customs_rules.storage import Store, schema


def test_migrations_match_the_table_models(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    try:
        with store.engine.connect() as connection:
            assert schema.current_revision(connection) == schema.HEAD == "0003"
            differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    finally:
        store.close()
    assert differences == []
