"""Snoozes (issue #14, item 5): a rule suppressed for one party until a day, with who set
it and why; kept when lifted. A new table: nothing stored before changes.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "snooze",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule_id", sa.String, nullable=False),
        sa.Column("party", sa.String, nullable=False),
        sa.Column("until", sa.Date, nullable=False),
        sa.Column("reason", sa.String, nullable=False),
        sa.Column("officer", sa.String, nullable=False),
        sa.Column("set_at", sa.DateTime, nullable=False),
        sa.Column("lifted_at", sa.DateTime, nullable=True),
        sa.Column("lifted_by", sa.String, nullable=True),
        sa.Column("lift_reason", sa.String, nullable=True),
    )
    op.create_index("ix_snooze_rule_id", "snooze", ["rule_id"])
    op.create_index("ix_snooze_party", "snooze", ["party"])
    op.create_index("ix_snooze_until", "snooze", ["until"])
