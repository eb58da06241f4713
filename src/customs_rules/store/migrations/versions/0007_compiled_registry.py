"""The registry compiled at load (issue #13): person pairs of the same-person rule and
company edges of roles and addresses, stored beside the rows they come from, and the
people's name keys kept once per distinct name (`store.registry_tables`). A registry
stored before is compiled now, by the functions a load uses, and keeps its rows.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "person_pair",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_pk", sa.Integer, nullable=False, index=True),
        sa.Column("other_pk", sa.Integer, nullable=False, index=True),
        sa.Column("company_key", sa.String, nullable=False, index=True),
        sa.Column("other_company_key", sa.String, nullable=False, index=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("full_score", sa.Float, nullable=False),
        sa.Column("initials", sa.Boolean, nullable=False),
        sa.Column("same_birth", sa.Boolean, nullable=False),
    )
    op.create_table(
        "company_edge",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("company_key", sa.String, nullable=False, index=True),
        sa.Column("other_key", sa.String, nullable=False, index=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("person_pk", sa.Integer),
        sa.Column("role", sa.String),
    )
    _compile()


def _compile() -> None:
    from sqlmodel import Session

    from customs_rules.store import registry_tables

    session = Session(bind=op.get_bind())
    people = registry_tables.read_people(session)
    if not people.is_empty():
        registry_tables.rewrite_person_keys(session, people)
    registry_tables.write_compiled(session)  # 0011 writes the snapshot
