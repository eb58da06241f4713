"""Screened declarations stored as columns, facts once per distinct signature (issue
#13): a declaration's content moves from one JSON value to columns of its `declaration`
row (every header field, the parties' ids, countries and extra fields, the transit
countries) and of its `item` rows (every item field, its position); a decision's facts
move from one JSON value to `fact_signature` rows (its header facts once, each item's
own), referred to by the decision and by `decision_item` rows.

Nothing is lost: a content the columns do not rebuild exactly (a field the contract has
since gained or lost) is also kept whole in `legacy_content`. The content hash becomes
the one computed on the columns (`store.content`); seals written before stay
verifiable, since `audit verify` rebuilds what they covered from the new rows.

Revision ID: 0008
Revises: 0007
"""

import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
SLICE = 2_000  # rows read and rewritten at a time: memory stays bounded on a large database


def upgrade() -> None:
    _schema()
    _declarations()
    _facts()
    # native DROP COLUMN (SQLite 3.35+): a batch copy of `decision` would trip the
    # foreign keys of the tables that refer to it
    op.execute("ALTER TABLE declaration DROP COLUMN content")
    op.execute("ALTER TABLE decision DROP COLUMN facts")


def _schema() -> None:
    op.create_table(
        "fact_signature",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("digest", sa.String, nullable=False, unique=True),
        sa.Column("facts", sa.String, nullable=False),
    )
    op.create_table(
        "decision_item",
        sa.Column("decision_id", sa.Integer, sa.ForeignKey("decision.id"), primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("fact_id", sa.Integer, sa.ForeignKey("fact_signature.id"), nullable=False),
    )
    with op.batch_alter_table("declaration") as batch:
        for name in ("document_type", "exporter_id", "exporter_country", "exporter_extra", "consignee_id",
                     "consignee_country", "consignee_extra", "extra"):  # fmt: skip
            batch.add_column(sa.Column(name, sa.String))
        batch.add_column(sa.Column("transit_countries", sa.String, nullable=False, server_default=""))
        batch.add_column(sa.Column("legacy_content", sa.JSON))
    with op.batch_alter_table("item") as batch:
        batch.add_column(sa.Column("position", sa.Integer, nullable=False, server_default="0"))
        for name, kind in (("quantity", sa.Float), ("unit", sa.String), ("net_mass_kg", sa.Float),
                           ("extra", sa.String)):  # fmt: skip
            batch.add_column(sa.Column(name, kind))
    if op.get_bind().dialect.name == "sqlite":  # in place: a batch copy would trip the foreign keys
        op.execute("ALTER TABLE decision ADD COLUMN header_fact_id INTEGER REFERENCES fact_signature (id)")
    else:
        op.add_column("decision", sa.Column("header_fact_id", sa.Integer, sa.ForeignKey("fact_signature.id")))


def _slices(sql: str) -> Iterator[Sequence[Any]]:
    """The rows of `sql` (its first column the id) a slice at a time, by id."""
    bind, last = op.get_bind(), 0
    while part := bind.execute(sa.text(sql), {"last": last, "n": SLICE}).all():
        yield part
        last = part[-1][0]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


HEADER = ("document_type", "exporter_name", "exporter_id", "exporter_country", "exporter_extra", "consignee_name",
          "consignee_id", "consignee_country", "consignee_extra", "dispatch_country", "destination_country",
          "transit_countries", "extra", "content_hash", "legacy_content")  # fmt: skip
ITEM = ("declaration_pk", "position", "line", "hs_code", "description", "quantity", "unit", "value", "currency",
        "origin_country", "net_mass_kg", "extra")  # fmt: skip


def _declarations() -> None:
    import polars as pl

    from customs_rules.screening.frames import HEADER_SCHEMA
    from customs_rules.store.content import canonical, content_hashes, header_row, item_rows, legacy_hash, transit_text

    bind = op.get_bind()
    update = sa.text(f"UPDATE declaration SET {', '.join(f'{c} = :{c}' for c in HEADER)} WHERE id = :id")
    insert = sa.text(f"INSERT INTO item ({', '.join(ITEM)}) VALUES ({', '.join(':' + c for c in ITEM)})")
    legacy = sa.table("declaration", sa.column("id"), sa.column("legacy_content", sa.JSON))
    sql = "SELECT id, content, content_hash FROM declaration WHERE id > :last ORDER BY id LIMIT :n"
    for part in _slices(sql):
        contents = [_json(content) for _, content, _ in part]
        headers = [header_row(c) | {"decl": n} for n, c in enumerate(contents)]
        items = [row | {"decl": n} for n, c in enumerate(contents) for row in item_rows(c)]
        schema = {k: v for k, v in HEADER_SCHEMA.items() if k in headers[0]}
        frame = pl.DataFrame(headers, schema=schema, strict=False)
        item_frame = pl.DataFrame(items, schema=_item_schema(), strict=False)
        hashes = content_hashes(frame, item_frame)
        updates, kept = [], []
        for (pk, content, old), header, digest, n in zip(part, headers, hashes, range(len(part)), strict=True):
            header["transit_countries"] = transit_text(header["transit_countries"])
            own = [row for row in items if row["decl"] == n]
            exact = legacy_hash(canonical(header, own)) == old  # the columns give the sealed content back
            updates.append({c: header.get(c) for c in HEADER} | {"id": pk, "content_hash": digest,
                                                                  "legacy_content": None})  # fmt: skip
            if not exact:
                kept.append({"pk": pk, "content": _json(content)})
        bind.execute(update, updates)
        for row in kept:
            bind.execute(legacy.update().where(legacy.c.id == row["pk"]).values(legacy_content=row["content"]))
        pks = [pk for pk, _, _ in part]
        bind.execute(sa.text("DELETE FROM item WHERE declaration_pk IN :pks").bindparams(
            sa.bindparam("pks", expanding=True)), {"pks": pks})  # fmt: skip
        if items:
            bind.execute(
                insert, [{c: row.get(c) for c in ITEM} | {"declaration_pk": pks[row["decl"]]} for row in items]
            )


def _item_schema() -> dict[str, Any]:
    import polars as pl

    from customs_rules.screening.frames import ITEM_SCHEMA

    return {"decl": pl.UInt32} | {k: v for k, v in ITEM_SCHEMA.items() if k not in ("decl",)}


def _facts() -> None:
    from customs_rules.store.signatures import digests, parts, text_of

    bind = op.get_bind()
    known: dict[str, int] = {}
    next_id = 1
    sql = "SELECT id, facts FROM decision WHERE id > :last ORDER BY id LIMIT :n"
    for part in _slices(sql):
        signatures, links, headers = [], [], []
        for decision_id, stored in part:
            header, own = parts(_json(stored))
            texts = ([text_of(header)] if header is not None else []) + [text_of(item) for item in own]
            ids = []
            for text, digest in zip(texts, digests(texts), strict=True):
                if digest not in known:
                    known[digest] = next_id
                    signatures.append({"id": next_id, "digest": digest, "facts": text})
                    next_id += 1
                ids.append(known[digest])
            if header is not None:
                headers.append({"id": decision_id, "header_fact_id": ids.pop(0)})
            links += [{"decision_id": decision_id, "position": p, "fact_id": f} for p, f in enumerate(ids)]
        if signatures:
            bind.execute(sa.text("INSERT INTO fact_signature (id, digest, facts) VALUES (:id, :digest, :facts)"),
                         signatures)  # fmt: skip
        if links:
            bind.execute(sa.text("INSERT INTO decision_item (decision_id, position, fact_id)"
                                 " VALUES (:decision_id, :position, :fact_id)"), links)  # fmt: skip
        if headers:
            bind.execute(sa.text("UPDATE decision SET header_fact_id = :header_fact_id WHERE id = :id"), headers)
    if bind.dialect.name == "postgresql" and next_id > 1:  # explicit ids: the sequence moves past them
        bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('fact_signature', 'id'), :last)"),
                     {"last": next_id - 1})  # fmt: skip
