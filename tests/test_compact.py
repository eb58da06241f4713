"""Facts stored as what the columns do not hold (`store.compact`, migration 0013) come back
exactly as the signatures of form 5 gave them (`signatures.split` and `facts_of`): the
same values, types and key order, whatever enrichment made (facts that differ from the
columns, declaration facts that differ between items, another type than the column's)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from customs_rules.contract.models import Declaration
from customs_rules.screening.frames import DeclarationSet
from customs_rules.store.compact import compact, derived, rebuild
from customs_rules.store.signatures import facts_of, split

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEED = json.loads((FIXTURES / "declarations" / "aspan_arba_drones.json").read_text())
OTHER = SEED | {
    "declaration_id": "OTHER-1", "procedure": "import", "transit_countries": ["KG"],
    "items": [SEED["items"][0] | {"quantity": 2, "net_mass_kg": 0.0, "value": None}],
}  # fmt: skip
DECLARATIONS = DeclarationSet.from_declarations([Declaration.model_validate(d) for d in (SEED, OTHER, SEED)])
# the facts the columns rebuild, with others between them, as enrichment orders them
COLUMNS = derived(DECLARATIONS.headers, DECLARATIONS.items)
OWN = {"exporter.known": pl.Boolean, "history.value": pl.Float64, "parties.path": pl.Int64,
       "item.flag": pl.Boolean, "item.lists": pl.List(pl.String)}  # fmt: skip
VALUES = {
    pl.Boolean: st.none() | st.booleans(),
    pl.Float64: st.none() | st.sampled_from([0.0, -0.0, 1.5, 1e20, 3.0]),
    pl.Int64: st.none() | st.integers(-(2**63), 2**63 - 1),
    pl.String: st.none() | st.text(max_size=4),
    pl.List(pl.String): st.none() | st.lists(st.text(max_size=2), max_size=2),
}


def _facts() -> pl.DataFrame:
    frame = COLUMNS.with_columns(pl.lit(None, dtype).alias(name) for name, dtype in OWN.items())
    fields = [c for c in COLUMNS.columns if c not in ("decl", "position")]
    order = (
        fields[:10] + ["exporter.known", "history.value"] + fields[10:] + ["parties.path", "item.flag", "item.lists"]
    )
    return frame.select("decl", "position", *order)


def _texts_of(frame: pl.DataFrame) -> list[str]:
    """Each declaration's facts as form 5 stored and gave them back (the reference)."""
    signatures = split(frame)
    texts = dict(signatures.texts.iter_rows())
    header = dict(signatures.header.iter_rows())
    found = []
    for decl in range(len(DECLARATIONS)):
        items = signatures.items.filter(pl.col("decl") == decl).sort("position").get_column("sig").to_list()
        head = texts[header[decl]] if decl in header else None
        found.append(json.dumps(facts_of(head, [texts[s] for s in items])))
    return found


@settings(deadline=None, max_examples=60)
@given(st.data())
def test_facts_come_back_as_the_signatures_of_form_5_gave_them(data: Any) -> None:
    frame = _facts()
    rows = frame.height
    for _ in range(data.draw(st.integers(0, 8))):
        name = data.draw(st.sampled_from([c for c in frame.columns if c not in ("decl", "position")]))
        dtype = frame.schema[name]
        if dtype not in VALUES or data.draw(st.booleans()) and dtype == pl.Int64:
            frame = frame.with_columns(pl.col(name).cast(pl.Float64, strict=False))  # another type than the column's
            continue
        row = data.draw(st.integers(0, rows - 1))
        value = data.draw(VALUES[dtype])
        column = frame.get_column(name).to_list()
        column[row] = value
        frame = frame.with_columns(pl.Series(name, column, dtype=dtype))
    packed = compact(frame, DECLARATIONS.headers, DECLARATIONS.items, len(DECLARATIONS))
    texts = dict(packed.texts.iter_rows())
    expected = _texts_of(frame)
    for decl, layout, header, items in packed.refs.iter_rows():
        columns = COLUMNS.filter(pl.col("decl") == decl)
        back = rebuild(texts[layout], texts.get(header) if header is not None else None, texts[items], columns)
        assert json.dumps(back) == expected[decl]


def test_the_columns_own_facts_are_not_stored_again() -> None:
    packed = compact(_facts(), DECLARATIONS.headers, DECLARATIONS.items, len(DECLARATIONS))
    stored = packed.texts.get_column("text").to_list()
    layout = json.loads(stored[0])
    assert layout["header"] == ["exporter.known", "history.value", "parties.path"]
    assert layout["item"] == ["item.flag", "item.lists"]
    # the first and third declarations are the same content: their facts are one signature each
    assert packed.refs.get_column("header").n_unique() == 1 and packed.refs.get_column("items").n_unique() == 2
    assert len(stored) == 4 and not any(SEED["exporter"]["name"] in text for text in stored[1:])
