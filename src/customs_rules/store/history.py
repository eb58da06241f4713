"""The stored history as columns, for the history facts (`screening/history.py`).

    base = read_history(store)      # a HistoryBase: every stored declaration's items, and the flags

One row per stored item (every revision: the newest of each declaration id is kept
when the facts are computed, its `rank` being the revision), and one flag per decision
that held a declaration and per inspection outcome that found something (seized or
irregularity), dated by when it was decided or recorded (a rescreen's hold is no hold:
`HELD_BY`). Read once per run.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlmodel import select

from ..screening.history import FLAGS_SCHEMA, ROWS_SCHEMA, HistoryBase, party_keys
from . import bulk
from .tables import DecisionRecord, DeclarationRecord, ItemRecord, OutcomeRecord

# the decisions that held goods: a submission's or a batch's; a rescreen is a what-if (it
# may run a trial pack: `rescreen --rules`) and holds nothing at the border, so it never
# makes a party "held before", as `stats rules` leaves it out too
HELD_BY = ("screen", "submit")
HEAD = ("id", "declaration_id", "revision", "date", "procedure", "exporter_id", "exporter_name", "consignee_id",
        "consignee_name")  # fmt: skip
HEAD_SCHEMA: dict[str, Any] = {
    "id": pl.Int64, "declaration_id": pl.String, "revision": pl.Int64, "date": pl.Date, "procedure": pl.String,
    "exporter_id": pl.String, "exporter_name": pl.String, "consignee_id": pl.String, "consignee_name": pl.String,
}  # fmt: skip


def read_history(store: Any) -> HistoryBase:
    """Every stored declaration and flag (see the module's docstring)."""
    declaration = DeclarationRecord.__table__  # type: ignore[attr-defined]
    item = ItemRecord.__table__  # type: ignore[attr-defined]
    decision = DecisionRecord.__table__  # type: ignore[attr-defined]
    outcome = OutcomeRecord.__table__  # type: ignore[attr-defined]
    with store.reading() as session:
        connection = session.connection()
        heads = bulk.frame(list(connection.execute(select(*(declaration.c[n] for n in HEAD)))), HEAD_SCHEMA)
        items = bulk.frame(
            list(connection.execute(select(item.c.declaration_pk, item.c.hs_code, item.c.value))),
            {"id": pl.Int64, "hs_code": pl.String, "value": pl.Float64},
        )
        held = list(connection.execute(
            select(decision.c.declaration_pk, decision.c.screened_at)
            .where(decision.c.decision == "hold", decision.c.kind.in_(HELD_BY))
        ))  # fmt: skip
        found = list(connection.execute(
            select(decision.c.declaration_pk, outcome.c.recorded_at, outcome.c.result)
            .join(decision, decision.c.id == outcome.c.decision_id)
            .where(outcome.c.result.in_(["seized", "irregularity"]))
        ))  # fmt: skip
    keyed = party_keys(heads)
    rows = items.join(keyed.rename({"revision": "rank"}), on="id").select(list(ROWS_SCHEMA))
    events = [(pk, at.date(), "hold") for pk, at in held] + [(pk, at.date(), result) for pk, at, result in found]
    flags = pl.DataFrame(events, schema={"id": pl.Int64, "date": pl.Date, "reason": pl.String}, orient="row")
    flags = flags.join(keyed.select("id", "declaration_id", "exporter_key", "consignee_key"), on="id")
    return HistoryBase(rows.cast(ROWS_SCHEMA), flags.select(list(FLAGS_SCHEMA)).cast(FLAGS_SCHEMA))  # type: ignore[arg-type]
