"""A submit reads the past of its two parties alone (migration 0012 stores each
declaration's party keys): its history facts are those the whole store gives.

- property: a history cut down to the declarations involving a set's parties, with the
  store's earliest declarations beside it, gives the same facts as the whole history;
- on both back-ends: `read_history(store, parties)` of a stored history (with an
  amendment that changes a declaration's exporter) against `read_history(store)`;
- migration 0012 gives declarations stored before it their party keys.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from click.testing import CliRunner
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from old_layout import Old, database_at
from sqlalchemy import create_engine, text
from test_history import base_of, computed, histories
from test_history import reference as reference  # noqa: F401 - the module's fixture

from customs_rules.cli.base import main
from customs_rules.engine import history as ref
from customs_rules.rules.reference import ReferenceData
from customs_rules.screening.frames import DeclarationSet
from customs_rules.screening.history import HistoryBase, party_keys
from customs_rules.store import Store, schema
from customs_rules.store.history import read_history
from customs_rules.workflow.screener import Screener

SEED = json.loads((ROOT / "fixtures" / "declarations" / "aspan_arba_drones.json").read_text())


def parties_of(declarations: DeclarationSet) -> set[str]:
    keyed = party_keys(declarations.headers)
    return set(keyed["exporter_key"].to_list()) | set(keyed["consignee_key"].to_list())


def cut(full: HistoryBase, parties: set[str], set_size: int) -> HistoryBase:
    """What `read_history(store, parties)` reads of `full`: every revision of the
    declarations that involve the parties in any revision, their flags, the earliest."""
    involved = full.rows.filter(pl.col("exporter_key").is_in(parties) | pl.col("consignee_key").is_in(parties))
    ids = involved["declaration_id"].unique().implode()
    kept = full.kept().unique("declaration_id").sort("date", "declaration_id").head(2 + set_size)
    return HistoryBase(
        full.rows.filter(pl.col("declaration_id").is_in(ids)),
        # a flag's keys are those of the revision it was decided on: one of `ids`
        full.flags.filter(pl.col("exporter_key").is_in(parties) | pl.col("consignee_key").is_in(parties)),
        earliest=kept.select("date", "declaration_id").rows(),
    )


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=histories())
def test_the_parties_past_gives_the_facts_of_the_whole_past(reference: ReferenceData, case: Any) -> None:
    stored, flags, screened = case
    decl = DeclarationSet.from_declarations(screened[:1])
    full = base_of(stored, flags)
    partial = cut(full, parties_of(decl), 1)
    assert computed(screened[:1], partial.with_set(decl), reference) == computed(
        screened[:1], full.with_set(decl), reference
    )


def _declaration(ident: str, date: str, exporter: dict[str, str], hs: str = "880621") -> dict[str, Any]:
    consignee = SEED["consignee"] if "id" in exporter else {"name": "Harbin Grain Import Co", "country": "CN"}
    return SEED | {"declaration_id": ident, "date": date, "exporter": exporter, "consignee": consignee,
                   "items": [{"hs_code": hs, "value": 1000.0, "description": "drone"}]}  # fmt: skip


def test_a_stored_history_read_for_two_parties(db_url: str, tmp_path: Path, pack: Any) -> None:
    aspan = {"name": "Aspan Arba LLP", "id": "190540218733", "country": "KZ"}
    other = {"name": "Dala Astyk", "country": "KZ"}
    rows = [
        _declaration("H-1", "2022-01-10", other, "100199"),  # the store's earliest, of other parties
        _declaration("H-2", "2022-02-01", aspan),
        _declaration("H-3", "2022-03-01", aspan, "854231"),
        _declaration("H-4", "2022-03-05", aspan),
        _declaration("H-4", "2022-03-05", other),  # amended: H-4 is no longer Aspan Arba's
        _declaration("H-5", "2022-03-20", other),
    ]
    runner = CliRunner()
    for n, row in enumerate(rows):
        path = tmp_path / f"d{n}.json"
        path.write_text(json.dumps(row))
        done = runner.invoke(main, ["--db", db_url, "submit", str(path), "--no-registry", "--officer", "t"])
        assert done.exit_code == 0, done.output
    asked = DeclarationSet.from_declarations([_parse(_declaration("NEW", "2022-04-01", aspan))])
    store = Store(db_url)
    try:
        whole = read_history(store)
        partial = read_history(store, parties_of(asked), set_size=1)
        with store.reading() as session:
            keys = session.connection().execute(text("SELECT exporter_key FROM declaration ORDER BY id")).scalars()
            assert list(keys) == [ref.party_key(r["exporter"].get("id"), r["exporter"]["name"]) for r in rows]
    finally:
        store.close()
    assert set(partial.rows["declaration_id"].to_list()) == {"H-2", "H-3", "H-4"}
    assert partial.earliest is not None and partial.earliest[0][1] == "H-1"
    for base in (whole, partial):
        facts = base.for_set(asked)
        assert facts.earliest == base.earliest
    from customs_rules.rules.loader import load_pack
    from customs_rules.screening.history import set_history
    from customs_rules.workflow.screener import default_rules_dir

    reference = load_pack(default_rules_dir()).reference
    got = [set_history(asked, b.with_set(asked), reference).header.row(0, named=True) for b in (whole, partial)]
    assert got[0] == got[1]
    assert got[1]["history.since"] == "2022-01-10"
    assert got[1]["history.exporter_listed_recent_count"] == 2  # H-2, H-3; H-4 is another's now


def _parse(data: dict[str, Any]) -> Any:
    from customs_rules.contract.models import Declaration

    return Declaration.model_validate(data)


def test_migration_0012_keys_the_declarations_stored_before(db_url: str, screener: Screener) -> None:
    from alembic import command

    rows = [Old(SEED), Old(SEED | {"declaration_id": "OLD-2", "exporter": {"name": "ТОО «Аспан Арба»"}})]
    database_at(db_url, "0007", screener, rows)
    engine = create_engine(db_url)
    with engine.begin() as conn:
        command.upgrade(schema.alembic_config(conn), "0011")
    engine.dispose()
    store = Store(db_url)  # opening migrates through 0012
    try:
        with store.reading() as session:
            found = (
                session.connection()
                .execute(text("SELECT declaration_id, exporter_key, consignee_key FROM declaration ORDER BY id"))
                .all()
            )
    finally:
        store.close()
    want = [
        (r.data["declaration_id"], ref.party_key(r.data["exporter"].get("id"), r.data["exporter"]["name"]),
         ref.party_key(r.data["consignee"].get("id"), r.data["consignee"]["name"]))
        for r in rows
    ]  # fmt: skip
    assert [tuple(f) for f in found] == want
