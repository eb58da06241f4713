"""Reading stored declarations and facts back: as DeclarationSets (a rescreen, `audit
verify`), as the contract's JSON object (`decisions show`), facts as enrichment made them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlmodel import Session, col, select

from ..contract.errors import StorageError
from ..screening.frames import HEADER_SCHEMA, ITEM_SCHEMA, DeclarationSet
from . import bulk
from .compact import derived, rebuild
from .content import HEADER_COLUMNS, ITEM_COLUMNS, canonical
from .signatures import facts_of
from .tables import DecisionItem, DecisionRecord, DeclarationRecord, FactSignature, ItemRecord

SOURCE = "the database"  # where a declaration read back was read, for messages


def declaration_set(session: Session, pks: Sequence[int]) -> DeclarationSet:
    """The stored declarations with these ids, in this order, as a DeclarationSet."""
    table = DeclarationRecord.__table__  # type: ignore[attr-defined]
    order = pl.DataFrame({"pk": list(pks)}, schema={"pk": pl.Int64}).with_row_index("decl")
    columns = [table.c.id, *(table.c[name] for name in HEADER_COLUMNS)]
    rows = _rows(session, select(*columns).where(col(table.c.id).in_(list(pks))))
    schema = {"pk": pl.Int64} | {name: _stored_type(name) for name in HEADER_COLUMNS}
    headers = order.join(bulk.frame(rows, schema), on="pk", maintain_order="left")
    headers = headers.with_columns(
        pl.col("transit_countries").fill_null("").str.split(" ").list.filter(pl.element() != ""),
        pl.lit(SOURCE).alias("source"), pl.lit(None, pl.Int64).alias("line"), pl.lit(None, pl.Int64).alias("record"),
        pl.lit(1, pl.Int32).alias("lines"),
    )  # fmt: skip
    items = item_frame(session, pks).join(order, left_on="declaration_pk", right_on="pk")
    return DeclarationSet(
        headers.select([pl.col(name).cast(dtype) for name, dtype in HEADER_SCHEMA.items()]),
        items.sort("decl", "position").select([pl.col(name).cast(dtype) for name, dtype in ITEM_SCHEMA.items()]),
    )


def item_frame(session: Session, pks: Sequence[int]) -> pl.DataFrame:
    table = ItemRecord.__table__  # type: ignore[attr-defined]
    names = ("declaration_pk", "position", *ITEM_COLUMNS)
    query = select(*(table.c[name] for name in names)).where(col(table.c.declaration_pk).in_(list(pks)))
    schema = {"declaration_pk": pl.Int64, "position": pl.Int64} | {n: ITEM_SCHEMA[n] for n in ITEM_COLUMNS}
    return bulk.frame(_rows(session, query), schema)


def _stored_type(name: str) -> Any:
    return pl.String if name == "transit_countries" else HEADER_SCHEMA[name]


def _rows(session: Session, query: Any) -> list[tuple[Any, ...]]:
    # in slices of ids: SQLite takes at most 32,766 bound parameters per statement
    return list(session.connection().execute(query))


def content(session: Session, row: DeclarationRecord) -> dict[str, Any]:
    """A stored declaration as the contract's JSON object, as it was submitted."""
    if row.legacy_content is not None:
        return row.legacy_content
    items = session.exec(
        select(ItemRecord).where(ItemRecord.declaration_pk == row.id).order_by(col(ItemRecord.position))
    ).all()
    return canonical(row.model_dump(), [item.model_dump() for item in items])


def facts(session: Session, decision: DecisionRecord) -> list[dict[str, Any]]:
    """The facts a decision was made on, one per item, as enrichment made them."""
    if decision.facts_layout_id is not None:  # migration 0013: what the columns do not hold
        return _compact_facts(session, decision)
    header = session.get(FactSignature, decision.header_fact_id) if decision.header_fact_id is not None else None
    items = session.exec(
        select(FactSignature.facts)
        .join(DecisionItem, col(DecisionItem.fact_id) == FactSignature.id)
        .where(DecisionItem.decision_id == decision.id)
        .order_by(col(DecisionItem.position))
    ).all()
    return facts_of(header.facts if header is not None else None, list(items))


def _compact_facts(session: Session, decision: DecisionRecord) -> list[dict[str, Any]]:
    ids = (decision.facts_layout_id, decision.header_fact_id, decision.item_facts_id)
    rows = session.exec(select(FactSignature).where(col(FactSignature.id).in_([i for i in ids if i is not None])))
    texts = {row.id: row.facts for row in rows}
    stored = declaration_set(session, [decision.declaration_pk])
    layout, header, items = (texts.get(i) if i is not None else None for i in ids)
    if layout is None or items is None:
        raise StorageError(f"decision #{decision.id}: its facts are missing from the database (run `audit verify`)")
    try:
        return rebuild(layout, header, items, derived(stored.headers, stored.items))
    except ValueError as exc:
        raise StorageError(f"decision #{decision.id}: its facts cannot be rebuilt ({exc}): run `audit verify`") from exc
