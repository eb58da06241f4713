"""Migration 0008 moves a database stored in the layout before it (content and facts as
JSON per row) to columns and fact signatures, keeping every decision explainable as
before and every seal verifiable (issue #13, 6), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import Prepared, sql
from old_layout import Old, database_at
from sqlalchemy import text

from customs_rules.cli.base import main
from customs_rules.contract.models import Declaration
from customs_rules.store import Store, schema
from customs_rules.store.seals import SEAL_V2, SEAL_V3, SEAL_V4
from customs_rules.workflow.screener import Screener

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SEED = json.loads((FIXTURES / "declarations" / "aspan_arba_drones.json").read_text())
# party and declaration extra fields, transit countries, items of every field
RICH = SEED | {
    "declaration_id": "RICH-1", "transit_countries": ["KG", "UZ"], "customs_office": "Almaty",
    "exporter": SEED["exporter"] | {"phone": "+7 727 000", "rank": 12345678901234567890123},
    "items": [item | {"quantity": 2, "unit": "pcs", "net_mass_kg": 1.5, "colour": "red"} for item in SEED["items"]],
}  # fmt: skip
SEALED = "no longer says what audit entry"


def _cli(db: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)


def test_a_database_stored_before_0008_moves_to_columns_and_signatures(db_url: str, screener: Screener) -> None:
    rows = [Old(SEED), Old(RICH), Old(SEED | {"declaration_id": "OLD-1"}, drop="document_type")]
    database_at(db_url, "0007", screener, rows)
    store = Store(db_url)  # opening migrates
    try:
        with store.engine.connect() as conn:
            assert schema.current_revision(conn) == schema.HEAD  # 0008, and those after it
            legacy = conn.execute(text("SELECT id FROM declaration WHERE legacy_content IS NOT NULL")).scalars().all()
            transit = conn.execute(text("SELECT transit_countries FROM declaration WHERE id = 2")).scalar_one()
            extra = conn.execute(text("SELECT exporter_extra FROM declaration WHERE id = 2")).scalar_one()
        assert legacy == [3]  # only the content the columns cannot give back exactly is kept whole
        assert transit == "KG UZ" and json.loads(extra)["rank"] == 12345678901234567890123
        for number, row in enumerate(rows, start=1):
            explained = store.explain(f"#{number}")
            assert explained is not None and explained["declaration"] == row.content
            assert list(explained["declaration"]) == list(row.content)  # the keys in their order too
            assert explained["facts"] == row.screening.facts
            assert [list(f) for f in explained["facts"]] == [list(f) for f in row.screening.facts]
        # the same content again is the same revision (one content hash, on the columns)
        assert store.stored_decision(Declaration.model_validate(SEED)) is not None
        assert next(store.declaration_set([2]).declarations(stored=True)).canonical() == rows[1].content
    finally:
        store.close()
    verified = _cli(db_url, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    sql(db_url, "UPDATE item SET hs_code = '999999' WHERE declaration_pk = 2")
    broken = _cli(db_url, "audit", "verify")
    assert broken.exit_code == 2 and f"decision #2 {SEALED}" in broken.stderr


def _at_0007(db: str, screener: Screener, form: str) -> None:
    database_at(db, "0007", screener, [Old(RICH, form=form), Old(SEED, form=SEAL_V4)])


TAMPERING = {
    "header facts": "UPDATE fact_signature SET facts = '{}' WHERE id = (SELECT header_fact_id FROM decision WHERE id = 1)",
    "an item's facts": "DELETE FROM decision_item WHERE decision_id = 1 AND position = 1",
    "a finding": "UPDATE finding SET score = 0 WHERE decision_id = 1",
    "a party's extra field": "UPDATE declaration SET exporter_extra = NULL WHERE id = 1",
    "the registry mark": "UPDATE decision SET screened_without_registry = true WHERE id = 1",
    "the verdict": "UPDATE decision SET decision = 'release', score = 0 WHERE id = 1",
}


@pytest.mark.parametrize("form", [SEAL_V4, SEAL_V3, SEAL_V2, "digest"])
@pytest.mark.parametrize("tampering", list(TAMPERING))
def test_seals_of_every_earlier_form_verify_and_guard_the_migrated_rows(
    db_url: str, prepared: Prepared, screener: Screener, form: str, tampering: str
) -> None:
    if form == "digest" and tampering not in ("the verdict", "the registry mark"):
        pytest.skip("entries written before seals covered the verdict, score and rule ids only")
    prepared.copy(db_url, _at_0007, screener, form)
    assert _cli(db_url, "audit", "verify").exit_code == 0  # opening migrated: every form still verifies
    sql(db_url, TAMPERING[tampering])
    broken = _cli(db_url, "audit", "verify")
    assert broken.exit_code == 2 and f"decision #1 {SEALED}" in broken.stderr, broken.stderr
