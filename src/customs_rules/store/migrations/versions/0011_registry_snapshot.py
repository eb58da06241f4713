"""The compiled registry's snapshot (issue #13): each frame a batch screens against,
stored whole at load as Arrow IPC (`store.registry_snapshot`), read back in a fraction of
the time the tables take. A registry stored before gets its snapshot now, from its tables.

Three indexes no query uses go (each load built them again: a sort of 300k to 700k rows):
company_key's on `key` alone (ix_company_key_lookup begins with it), person_pair's on
`person_pk` and `other_pk` (pairs are read by their companies' keys).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    for index, table in (("ix_company_key_key", "company_key"), ("ix_person_pair_person_pk", "person_pair"),
                         ("ix_person_pair_other_pk", "person_pair")):  # fmt: skip
        op.drop_index(index, table_name=table)
    op.create_table(
        "registry_snapshot",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("format", sa.Integer, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    _snapshot()


def _snapshot() -> None:
    from sqlmodel import Session

    from customs_rules.store import registry_tables

    session = Session(bind=op.get_bind())
    registry_tables.write_snapshot(session)


def downgrade() -> None:
    op.drop_table("registry_snapshot")
