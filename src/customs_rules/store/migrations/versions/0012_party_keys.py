"""Each declaration's party keys (issue #14): `exporter_key` and `consignee_key`, the
parties' identities in history (`engine.history.party_key`), stored and indexed so that a
submit reads the past of its two parties alone instead of the whole store, and the date
(with the id) indexed for the store's earliest declarations (`history.since`).

Declarations stored before get theirs now, computed once per distinct (id, name).

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Callable
from functools import lru_cache

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
SLICE = 5_000  # rows read and updated at a time: memory stays bounded on a large database


def upgrade() -> None:
    for role in ("exporter", "consignee"):
        op.add_column("declaration", sa.Column(f"{role}_key", sa.String))
        op.create_index(f"ix_declaration_{role}_key", "declaration", [f"{role}_key"])
    op.create_index("ix_declaration_date", "declaration", ["date", "declaration_id"])
    _backfill()


def _backfill() -> None:
    from customs_rules.engine.history import party_key

    key: Callable[[str | None, str], str] = lru_cache(maxsize=65_536)(party_key)
    bind, last = op.get_bind(), 0
    select = sa.text(
        "SELECT id, exporter_id, exporter_name, consignee_id, consignee_name FROM declaration"
        " WHERE id > :last ORDER BY id LIMIT :n"
    )
    update = sa.text("UPDATE declaration SET exporter_key = :e, consignee_key = :c WHERE id = :id")
    while rows := bind.execute(select, {"last": last, "n": SLICE}).all():
        bind.execute(update, [{"id": r[0], "e": key(r[1], r[2]), "c": key(r[3], r[4])} for r in rows])
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_declaration_date", table_name="declaration")
    for role in ("exporter", "consignee"):
        op.drop_index(f"ix_declaration_{role}_key", table_name="declaration")
        op.drop_column("declaration", f"{role}_key")
