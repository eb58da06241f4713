"""Entity links (issue #5): companies' registered addresses, roles held by companies,
and name keys of people, so links are found in the database without loading the registry.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("company") as batch:
        batch.add_column(sa.Column("address", sa.String))
        batch.add_column(sa.Column("address_key", sa.String))
        batch.create_index("ix_company_address_key", ["address_key"])
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("person_company_id", sa.String))
        batch.create_index("ix_person_person_company_id", ["person_company_id"])
    op.create_table(
        "person_key",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_pk", sa.Integer, sa.ForeignKey("person.id"), nullable=False, index=True),
        sa.Column("key", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("spelling_kind", sa.String, nullable=False),
        sa.Column("spelling", sa.String, nullable=False),
    )
    # covering indexes for the candidate query (count per block, then owners per block):
    # with `key` alone every block row was read from the table, 50 ms a lookup at 300k people
    op.create_index("ix_person_key_lookup", "person_key", ["key", "kind", "person_pk"])
    op.create_index("ix_company_key_lookup", "company_key", ["key", "kind", "company_pk"])
    _backfill_person_keys()


def _backfill_person_keys() -> None:
    """People loaded before this revision get their name keys now (none had an address
    or a company holder: those columns are new)."""
    from customs_rules.store.keys import person_key_rows

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, person_name FROM person")).all()
    table = sa.table(
        "person_key",
        sa.column("person_pk"), sa.column("key"), sa.column("kind"), sa.column("spelling_kind"), sa.column("spelling"),
    )  # fmt: skip
    keys = [key for pk, name in rows for key in person_key_rows(pk, name)]
    if keys:
        op.bulk_insert(table, keys)
