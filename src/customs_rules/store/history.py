"""The stored history as columns, for the history facts (`screening/history.py`).

    base = read_history(store)      # a HistoryBase: every stored declaration's items, and the flags

One row per stored item (every revision: the newest of each declaration id is kept
when the facts are computed, its `rank` being the revision), and one flag per decision
that held a declaration and per inspection outcome that found something (seized or
irregularity), dated by when it was decided or recorded (a rescreen's hold is no hold:
`HELD_BY`). Read once per run.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import polars as pl
from sqlmodel import func, or_, select

from ..screening.history import FLAGS_SCHEMA, ROWS_SCHEMA, HistoryBase
from . import bulk
from .tables import DecisionRecord, DeclarationRecord, ItemRecord, OutcomeRecord

# the decisions that held goods: a submission's or a batch's; a rescreen is a what-if (it
# may run a trial pack: `rescreen --rules`) and holds nothing at the border, so it never
# makes a party "held before", as `stats rules` leaves it out too
HELD_BY = ("screen", "submit")
HEAD = ("id", "declaration_id", "revision", "date", "procedure", "exporter_id", "exporter_name", "consignee_id",
        "consignee_name", "exporter_key", "consignee_key")  # fmt: skip
HEAD_SCHEMA: dict[str, Any] = {
    "id": pl.Int64, "declaration_id": pl.String, "revision": pl.Int64, "date": pl.Date, "procedure": pl.String,
    "exporter_id": pl.String, "exporter_name": pl.String, "consignee_id": pl.String, "consignee_name": pl.String,
    "exporter_key": pl.String, "consignee_key": pl.String,
}  # fmt: skip


def read_history(store: Any, parties: Collection[str] | None = None, set_size: int = 1) -> HistoryBase:
    """Every stored declaration and flag (see the module's docstring); with `parties`
    (party keys), only those of the declarations involving them (every revision of
    each), and the store's earliest declarations, which `history.since` reads: enough of
    them for a set of `set_size` declarations that may amend some."""
    declaration = DeclarationRecord.__table__  # type: ignore[attr-defined]
    item = ItemRecord.__table__  # type: ignore[attr-defined]
    decision = DecisionRecord.__table__  # type: ignore[attr-defined]
    outcome = OutcomeRecord.__table__  # type: ignore[attr-defined]
    chosen: Any = None
    if parties is not None:
        keys = sorted(parties)
        involved = select(declaration.c.declaration_id).where(
            or_(declaration.c.exporter_key.in_(keys), declaration.c.consignee_key.in_(keys))
        )
        ids = select(declaration.c.id).where(declaration.c.declaration_id.in_(involved))
        chosen = declaration.c.id.in_(ids)
    with store.reading() as session:
        connection = session.connection()
        heads_query = select(*(declaration.c[n] for n in HEAD))
        items_query = select(item.c.declaration_pk, item.c.hs_code, item.c.value)
        held_query = select(decision.c.declaration_pk, decision.c.screened_at).where(
            decision.c.decision == "hold", decision.c.kind.in_(HELD_BY)
        )
        found_query = (
            select(decision.c.declaration_pk, outcome.c.recorded_at, outcome.c.result)
            .join(decision, decision.c.id == outcome.c.decision_id)
            .where(outcome.c.result.in_(["seized", "irregularity"]))
        )
        if chosen is not None:
            heads_query = heads_query.where(chosen)
            items_query = items_query.where(item.c.declaration_pk.in_(ids))
            held_query = held_query.where(decision.c.declaration_pk.in_(ids))
            found_query = found_query.where(decision.c.declaration_pk.in_(ids))
        heads = bulk.frame(list(connection.execute(heads_query)), HEAD_SCHEMA)
        items = bulk.frame(list(connection.execute(items_query)), {"id": pl.Int64, "hs_code": pl.String,
                                                                   "value": pl.Float64})  # fmt: skip
        held = list(connection.execute(held_query))
        found = list(connection.execute(found_query))
        earliest = None if chosen is None else _earliest(connection, declaration, 2 + set_size)
    # every row has its party keys: written with it, or by migration 0012
    rows = items.join(heads.rename({"revision": "rank"}), on="id").select(list(ROWS_SCHEMA))
    events = [(pk, at.date(), "hold") for pk, at in held] + [(pk, at.date(), result) for pk, at, result in found]
    flags = pl.DataFrame(events, schema={"id": pl.Int64, "date": pl.Date, "reason": pl.String}, orient="row")
    flags = flags.join(heads.select("id", "declaration_id", "exporter_key", "consignee_key"), on="id")
    return HistoryBase(
        rows.cast(ROWS_SCHEMA),  # type: ignore[arg-type]
        flags.select(list(FLAGS_SCHEMA)).cast(FLAGS_SCHEMA),  # type: ignore[arg-type]
        earliest=earliest,
    )


def _earliest(connection: Any, declaration: Any, count: int) -> list[tuple[Any, ...]]:
    """(date, declaration_id) of the `count` earliest declarations, each as its newest
    revision: revisions in date order (an index, migration 0012), the newest kept, until
    there are enough; no pass over the whole table."""
    found: list[tuple[Any, ...]] = []
    order = (declaration.c.date, declaration.c.declaration_id, declaration.c.revision)
    offset, page = 0, 4 * count
    while len(found) < count:
        rows = connection.execute(
            select(declaration.c.date, declaration.c.declaration_id, declaration.c.revision)
            .order_by(*order).limit(page).offset(offset)
        ).all()  # fmt: skip
        if not rows:
            break
        ids = sorted({ident for _, ident, _ in rows})
        newest = dict(connection.execute(
            select(declaration.c.declaration_id, func.max(declaration.c.revision))
            .where(declaration.c.declaration_id.in_(ids)).group_by(declaration.c.declaration_id)
        ).all())  # fmt: skip
        found += [(date, ident) for date, ident, revision in rows if revision == newest[ident]]
        offset += page
    return found[:count]
