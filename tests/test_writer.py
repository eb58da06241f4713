"""The writer thread stores the sets handed to it in order, and once one fails stores
none after it, saying so for each (issue #13, 6)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from customs_rules.contract.models import Declaration
from customs_rules.store import DecisionRecord, Store, store
from customs_rules.store.sets import screened_sets
from customs_rules.store.writer import SetWriter
from customs_rules.workflow.screener import Screener

SEED = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "declarations" / "aspan_arba_drones.json").read_text()
)


AT = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)  # one time: one set


def _screenings(screener: Screener, prefix: str, count: int) -> list[Any]:
    return [
        screener.screen(Declaration.model_validate(SEED | {"declaration_id": f"{prefix}-{n}"}), AT)
        for n in range(count)
    ]


def test_sets_are_stored_in_order_and_a_failure_stops_the_rest(
    db_url: str, screener: Screener, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = Store(db_url)
    opened.record_ruleset(screener.version, screener.pack.contents)
    record = store.record

    def failing(session: Any, prepared: Any, *args: Any, **kwargs: Any) -> Any:
        if "B-0" in prepared.screened.declarations.headers["declaration_id"].to_list():
            raise OperationalError("INSERT INTO decision ...", {}, Exception("disk I/O error"))
        return record(session, prepared, *args, **kwargs)

    monkeypatch.setattr(store, "record", failing)
    writer = SetWriter(opened, depth=1)
    try:
        writer.put("A", _screenings(screener, "A", 3))
        ((as_set, _),) = screened_sets(_screenings(screener, "S", 2))
        writer.put("S", as_set)  # a ScreenedSet as the core makes them
        writer.put("B", _screenings(screener, "B", 2))
        writer.put("C", _screenings(screener, "C", 2))
        done = writer.close()
        assert [d.tag for d in done] == ["A", "S", "B", "C"]
        assert [d.stored for d in done] == [True, True, False, False]
        assert all(isinstance(i, int) for d in done[:2] for i in d.ids)
        assert "disk I/O error" in done[2].error and done[3].error == done[2].error
        assert opened.count(DecisionRecord) == 5  # A and S, nothing after the failed set
    finally:
        opened.close()
