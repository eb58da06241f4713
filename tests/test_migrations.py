"""The migrations build the schema the table models describe (issue #5 added 0003)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from customs_rules.store import Store, schema


def test_migrations_match_the_table_models(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    try:
        with store.engine.connect() as connection:
            assert schema.current_revision(connection) == schema.HEAD == "0014"
            differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    finally:
        store.close()
    assert differences == []


def test_partial_indexes_are_described_for_postgresql_when_one_is_opened() -> None:
    """SQLite processes never load the PostgreSQL dialect for the partial indexes' WHERE;
    a PostgreSQL store describes it (as the migrations create it) when it opens."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex

    from customs_rules.store.tables import PARTIAL_WHERE, describe_for_postgresql

    describe_for_postgresql()
    describe_for_postgresql()  # idempotent
    indexes = {i.name: i for t in SQLModel.metadata.tables.values() for i in t.indexes if i.name in PARTIAL_WHERE}
    assert sorted(indexes) == ["ux_decision_one_batch", "ux_rule_pack_one_active"]
    for name, index in indexes.items():
        ddl = str(CreateIndex(index).compile(dialect=postgresql.dialect()))
        assert ddl.startswith(f"CREATE UNIQUE INDEX {name} ON ") and ddl.endswith(f" WHERE {PARTIAL_WHERE[name]}")


def test_keys_stored_before_issue_12_are_computed_again(tmp_path: Path) -> None:
    """A registry stored at 0003 kept the keys of the names and addresses of that time
    ("osoo shan treyding tyan"); at 0004 they are those a search computes now."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from customs_rules.contract.models import Party

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        command.upgrade(schema.alembic_config(conn), "0003")
        conn.execute(text(
            "INSERT INTO company (id, company_id, name, activity_codes, aliases, address, address_key)"
            " VALUES (1, 'KG1', 'ОсОО «Тянь Шань Трейдинг»', '', 'Tyan Shan Treyding', 'Бишкек ш., Чуй проспектиси, 120',"
            " '120 bishkek chuy prospektisi sh')"
        ))  # fmt: skip
        for kind, key in (("id", "KG1"), ("exact", "osoo shan treyding tyan"), ("block", "osoo")):
            conn.execute(
                text("INSERT INTO company_key (company_pk, key, kind, spelling_kind, spelling)"
                     " VALUES (1, :key, :kind, 'name', 'ОсОО «Тянь Шань Трейдинг»')"),
                {"key": key, "kind": kind},
            )  # fmt: skip
        conn.execute(
            text(
                "INSERT INTO person (id, company_id, person_name, role) VALUES (1, 'KG1', 'Petrenko O. N.', 'director')"
            )
        )
        conn.execute(text("INSERT INTO person_key (person_pk, key, kind, spelling_kind, spelling)"
                          " VALUES (1, 'stale', 'exact', 'name', 'Petrenko O. N.')"))  # fmt: skip
    with engine.begin() as conn:  # the tables as 0012 left them (0014 keeps them in the snapshot alone)
        command.upgrade(schema.alembic_config(conn), "0012")
        keys = conn.execute(text("SELECT kind, key, spelling_kind FROM company_key ORDER BY id")).all()
        people = conn.execute(text("SELECT kind, key FROM person_key WHERE kind = 'exact'")).all()
    engine.dispose()
    assert ("id", "KG1", "name") in keys and ("exact", "shan treyding tyan", "name") in keys
    assert ("exact", "osoo shan treyding tyan", "name") not in keys and ("block", "osoo", "name") not in keys
    assert people == [("exact", "n o petrenko")]
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            address = conn.execute(text("SELECT address_key FROM company")).scalar_one()
        assert address == "120 bishkek chuy"
        names = store.registry_frames()["names"]
        assert names.select("key", "spelling_kind").rows() == [
            ("shan treyding tyan", "name"),
            ("shan treyding tyan", "alias"),
        ]
        with store.stored_registry() as stored:
            found = stored.resolve(Party(name="Tian Shan Trading LLC"))
            assert found.company is not None and found.method == "name" and found.score == 1.0
    finally:
        store.close()
