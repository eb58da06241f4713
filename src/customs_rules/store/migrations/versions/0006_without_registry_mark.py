"""The mark of a decision screened without a registry (--no-registry), kept on the
decision row itself (issue #12): a run with a registry never reuses a decision made
without one, nor the other way round, and `decisions show` and `list` say so.

Decisions stored before this revision are marked from their audit entries, which said
`"registry": "none"` since --no-registry existed. The one-batch-decision index gains
the mark: a declaration revision gets one batch decision per rule set and registry, and
one more screened without a registry.

Revision ID: 0006
Revises: 0005
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
CHUNK = 1000  # decision ids per UPDATE: bound parameters stay well under every limit


def upgrade() -> None:
    # a literal default ('0': false on both back-ends), not an expression: SQLite then
    # adds the column in place instead of copying the table
    with op.batch_alter_table("decision") as batch:
        batch.add_column(sa.Column("screened_without_registry", sa.Boolean, nullable=False, server_default="0"))
    marked = sorted(_marked_decisions())
    decision = sa.table("decision", sa.column("id", sa.Integer), sa.column("screened_without_registry", sa.Boolean))
    for start in range(0, len(marked), CHUNK):
        chunk = marked[start : start + CHUNK]
        op.execute(decision.update().where(decision.c.id.in_(chunk)).values(screened_without_registry=True))
    op.drop_index("ux_decision_one_batch", table_name="decision")
    op.create_index(
        "ux_decision_one_batch",
        "decision",
        ["declaration_pk", "ruleset_version", "registry_version", "screened_without_registry"],
        unique=True,
        sqlite_where=sa.text("kind = 'screen'"),
        postgresql_where=sa.text("kind = 'screen'"),
    )


def _marked_decisions() -> set[int]:
    """The ids of the decisions whose audit entry says they were screened without a
    registry: a submission's `decision` entry, or a chunk's `decisions` entry (a run is
    marked whole)."""
    query = sa.text(
        "SELECT action, details FROM audit_log WHERE action IN ('decision', 'decisions')"
        " AND CAST(details AS TEXT) LIKE '%registry%'"
    )
    found: set[int] = set()
    for action, raw in op.get_bind().execute(query):
        details: Any = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(details, dict) or details.get("registry") != "none":
            continue
        if action == "decision":
            found.add(int(details["decision_id"]))
        else:
            found.update(int(item[0]) for item in details.get("decisions", []))
    return found
