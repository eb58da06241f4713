"""Facts stored as what the columns do not hold (issue #13, storing): a decision refers to
three fact signatures (`store.compact`): its facts' layout (`facts_layout_id`), the
declaration's stored facts (`header_fact_id`, as before) and its items' (`item_facts_id`);
the facts that are the declaration's and items' own columns are rebuilt from them.

Decisions stored before keep their facts as they were stored (a header signature and one
signature per item, in `decision_item`): their audit seals (form 5) cover the exact text
of each of those signatures, so they stay as sealed, and `decisions show` and `audit
verify` read them as before. Only decisions stored from now on take the new layout.

The downgrade drops the two columns when no decision uses them; it refuses otherwise, since
the release before could neither explain those decisions nor verify their seals.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
COLUMNS = ("facts_layout_id", "item_facts_id")


def upgrade() -> None:
    for name in COLUMNS:
        if op.get_bind().dialect.name == "sqlite":  # in place: a batch copy would trip the foreign keys
            op.execute(f"ALTER TABLE decision ADD COLUMN {name} INTEGER REFERENCES fact_signature (id)")
        else:
            op.add_column("decision", sa.Column(name, sa.Integer, sa.ForeignKey("fact_signature.id")))


def downgrade() -> None:
    used = op.get_bind().execute(sa.text("SELECT count(*) FROM decision WHERE facts_layout_id IS NOT NULL"))
    if used.scalar_one():
        raise RuntimeError(
            "cannot downgrade below 0013: decisions are stored with their facts' layout (migration 0013), "
            "which the release before cannot read or verify"
        )
    for name in COLUMNS:
        if op.get_bind().dialect.name == "sqlite":  # native DROP COLUMN (SQLite 3.35+), as migration 0008
            op.execute(f"ALTER TABLE decision DROP COLUMN {name}")
        else:
            op.drop_column("decision", name)
