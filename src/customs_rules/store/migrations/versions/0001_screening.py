"""The screening schema of issue #2: registry, watchlist, declarations, decisions, findings.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "company",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("company_id", sa.String, nullable=False, index=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("country", sa.String),
        sa.Column("registered_on", sa.Date),
        sa.Column("activity_codes", sa.String, nullable=False),
        sa.Column("aliases", sa.String, nullable=False),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("company_id", sa.String, nullable=False, index=True),
        sa.Column("person_name", sa.String, nullable=False),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("person_id", sa.String),
        sa.Column("birth_date", sa.Date),
    )
    op.create_table(
        "watchlist",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("company_id", sa.String),
        sa.Column("country", sa.String),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("source", sa.String),
        sa.Column("listed_on", sa.Date),
    )
    op.create_table(
        "ruleset_version",
        sa.Column("version", sa.String, primary_key=True),
        sa.Column("first_used_at", sa.DateTime, nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
    )
    op.create_table(
        "declaration",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("declaration_id", sa.String, nullable=False, index=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String, nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("procedure", sa.String, nullable=False),
        sa.Column("exporter_name", sa.String, nullable=False),
        sa.Column("consignee_name", sa.String, nullable=False),
        sa.Column("dispatch_country", sa.String, nullable=False),
        sa.Column("destination_country", sa.String, nullable=False),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.UniqueConstraint("declaration_id", "revision"),
    )
    op.create_table(
        "item",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("declaration_pk", sa.Integer, sa.ForeignKey("declaration.id"), nullable=False, index=True),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("hs_code", sa.String, nullable=False),
        sa.Column("description", sa.String),
        sa.Column("value", sa.Float),
        sa.Column("currency", sa.String),
        sa.Column("origin_country", sa.String),
    )
    op.create_table(
        "decision",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("declaration_pk", sa.Integer, sa.ForeignKey("declaration.id"), nullable=False, index=True),
        sa.Column("declaration_id", sa.String, nullable=False, index=True),
        sa.Column("decision", sa.String, nullable=False, index=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("ruleset_version", sa.String, sa.ForeignKey("ruleset_version.version"), nullable=False),
        sa.Column("screened_at", sa.DateTime, nullable=False),
        sa.Column("facts", sa.JSON, nullable=False),
    )
    op.create_table(
        "finding",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decision.id"), nullable=False, index=True),
        sa.Column("rule_id", sa.String, nullable=False),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("item_line", sa.Integer),
        sa.Column("is_test", sa.Boolean, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
    )
    op.create_index("ix_finding_rule", "finding", ["rule_id"])
