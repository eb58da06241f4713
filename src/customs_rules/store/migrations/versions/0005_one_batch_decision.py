"""One batch decision per declaration revision, rule-set version and registry version
(issue #12): the registry version each decision was made under, and a unique index that
holds however many batches store at once.

Decisions stored before this revision get registry version 0 (not recorded). Where
concurrent batches had stored the same declaration revision twice under one rule-set
version, the oldest decision keeps kind `screen` and the later copies become kind
`duplicate`: nothing is deleted, so the audit log still finds every decision it sealed,
and lists and statistics count each declaration once.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("decision") as batch:
        batch.add_column(sa.Column("registry_version", sa.Integer, nullable=False, server_default="0"))
    op.execute(
        "UPDATE decision SET kind = 'duplicate' WHERE kind = 'screen' AND id NOT IN ("
        " SELECT min(id) FROM decision WHERE kind = 'screen'"
        " GROUP BY declaration_pk, ruleset_version, registry_version)"
    )
    op.create_index(
        "ux_decision_one_batch",
        "decision",
        ["declaration_pk", "ruleset_version", "registry_version"],
        unique=True,
        sqlite_where=sa.text("kind = 'screen'"),
        postgresql_where=sa.text("kind = 'screen'"),
    )
