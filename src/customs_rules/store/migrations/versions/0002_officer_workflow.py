"""Officer workflow (issue #3): who screened and how, inspection outcomes, the audit log,
and name keys so a party is found in the database without loading the registry.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("decision") as batch:
        batch.add_column(sa.Column("kind", sa.String, nullable=False, server_default="screen"))
        batch.add_column(sa.Column("officer", sa.String))
    op.create_table(
        "outcome",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decision.id"), nullable=False, index=True),
        sa.Column("declaration_id", sa.String, nullable=False, index=True),
        sa.Column("result", sa.String, nullable=False),
        sa.Column("note", sa.String),
        sa.Column("officer", sa.String),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False, index=True),
        sa.Column("subject", sa.String, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String, nullable=False),
        sa.Column("hash", sa.String, nullable=False),
    )
    op.create_table(
        "company_key",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("company_pk", sa.Integer, sa.ForeignKey("company.id"), nullable=False, index=True),
        sa.Column("key", sa.String, nullable=False, index=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("spelling_kind", sa.String, nullable=False),
        sa.Column("spelling", sa.String, nullable=False),
    )
    _backfill_company_keys()


def _backfill_company_keys() -> None:
    """Companies loaded before this revision get their name keys now."""
    from customs_rules.store.keys import company_key_rows

    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, company_id, name, aliases FROM company")).all()
    table = sa.table(
        "company_key",
        sa.column("company_pk"), sa.column("key"), sa.column("kind"), sa.column("spelling_kind"), sa.column("spelling"),
    )  # fmt: skip
    keys = [
        key
        for pk, company_id, name, aliases in rows
        for key in company_key_rows(pk, company_id, name, [a for a in aliases.split(";") if a])
    ]
    if keys:
        op.bulk_insert(table, keys)
