"""The compiled registry kept in its snapshot alone (issue #13, item 3): the tables of name
keys (`company_key`, `person_key`), person pairs (`person_pair`) and company edges
(`company_edge`) go. Every reader reads the snapshot (`store.registry_snapshot`,
`store.snapshot_lookup`), and a load no longer writes 1.4 M rows at 100k companies.

Before dropping them, each part of the snapshot is checked against the tables it
replaces (read as the snapshot holds them: `registry_tables.read_frames`); a part that
is missing where its table has rows, of another format, or different, is written from
the tables, and an audit entry records the snapshot's new digest (`registry_snapshot`,
which `audit verify` checks as a load's). The people's name keys are not kept: their one
reader, `registry match`, computes them from the people.

Downgrade: the four tables as a load before 0014 wrote them, computed from the stored
companies and people (the snapshot stays as it is).


Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
TABLES = ("company_key", "person_key", "person_pair", "company_edge")


def upgrade() -> None:
    _keep_in_snapshot()
    for table in TABLES:
        op.drop_table(table)


def _keep_in_snapshot() -> None:
    import polars as pl
    from sqlmodel import Session

    from customs_rules.store import audit, registry_snapshot, registry_tables, snapshot_files

    session = Session(bind=op.get_bind())
    tables = registry_tables.read_frames(session)
    forms = dict(session.execute(sa.text("SELECT name, format FROM registry_snapshot")).all())
    written = []
    for name, expected in tables.items():
        if forms.get(name) == registry_snapshot.FORMAT:
            stored = pl.read_ipc(registry_snapshot.read_part(session, name) or b"")
        elif name not in forms:
            stored = snapshot_files.empty(name)
        else:
            stored = None  # another format: written again
        if stored is None or stored.schema != expected.schema or not stored.equals(expected):
            registry_snapshot.write_part(session, name, expected)
            written.append(name)
        elif name in forms and _batches_too_big(registry_snapshot.read_part(session, name) or b""):
            registry_snapshot.write_part(session, name, stored)  # the same rows, in smaller batches
            written.append(name)
        del stored, expected
    if written:
        details = {"by": "migration 0014", "parts": written, "snapshot": registry_snapshot.digest(session)}
        audit.append(session, [audit.Entry("system", "registry_snapshot", "registry", details)])
    session.flush()


def _batches_too_big(data: bytes) -> bool:
    """Whether a part was written in record batches larger than a submit's look-ups read
    (65,536 rows before 0014: `snapshot_lookup` would decode a whole one per 8,192 rows)."""
    import pyarrow as pa
    from pyarrow import ipc

    from customs_rules.store import registry_snapshot

    reader = ipc.open_file(pa.BufferReader(data))
    return reader.num_record_batches > 0 and reader.get_batch(0).num_rows > registry_snapshot.BATCH_ROWS


def downgrade() -> None:
    op.create_table(
        "company_key",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("company_pk", sa.Integer, sa.ForeignKey("company.id"), nullable=False, index=True),
        sa.Column("key", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("spelling_kind", sa.String, nullable=False),
        sa.Column("spelling", sa.String, nullable=False),
        sa.Index("ix_company_key_lookup", "key", "kind", "company_pk"),
    )
    op.create_table(
        "person_key",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_pk", sa.Integer, sa.ForeignKey("person.id"), nullable=False, index=True),
        sa.Column("key", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("spelling_kind", sa.String, nullable=False),
        sa.Column("spelling", sa.String, nullable=False),
        sa.Index("ix_person_key_lookup", "key", "kind", "person_pk"),
    )
    op.create_table(
        "person_pair",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_pk", sa.Integer, nullable=False),
        sa.Column("other_pk", sa.Integer, nullable=False),
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
    from sqlmodel import Session

    from customs_rules.store import registry_tables

    registry_tables.fill(Session(bind=op.get_bind()))
