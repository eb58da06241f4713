"""Published rule packs, four eyes (issue #14, 7): each publication of a rule-pack
version is a numbered `rule_pack` row, proposed by one officer and made active by
another; at most one is active (a partial unique index), and the pack's files stay in
`ruleset_version`, kept once per version.

Data stored before is kept as it is: the rule-set versions decisions used have no
publication (`rules history --all` lists them as `used`), so no pack is active and
commands without `--rules` go on screening with the bundled pack until one is approved.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "rule_pack",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.String, sa.ForeignKey("ruleset_version.version"), nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("proposed_by", sa.String, nullable=False),
        sa.Column("proposed_at", sa.DateTime, nullable=False),
        sa.Column("note", sa.String),
        sa.Column("source", sa.String),
        sa.Column("backtest", sa.JSON(none_as_null=True)),
        sa.Column("decided_by", sa.String),
        sa.Column("decided_at", sa.DateTime),
        sa.Column("decision_note", sa.String),
        sa.Column("superseded_by", sa.Integer),
        sa.Column("superseded_at", sa.DateTime),
    )
    op.create_index("ix_rule_pack_version", "rule_pack", ["version"])
    op.create_index(
        "ux_rule_pack_one_active",
        "rule_pack",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'active'"),
        postgresql_where=sa.text("status = 'active'"),
    )
