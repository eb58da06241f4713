"""Leftovers of issue 12: numbers too long to read, databases this version cannot open,
control characters that enter the store by other doors, the audit export, odd files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import GOOD_DECLARATION, load_fixture_registry

from customs_rules.cli import main

CSV_HEADER = (
    "declaration_id,date,procedure,exporter_name,exporter_id,exporter_country,consignee_name,"
    "consignee_id,consignee_country,dispatch_country,destination_country,line,hs_code,"
    "description,quantity,unit,value,currency,origin_country"
)
CSV_ROW = "D-1,2024-01-15,export,Dala Grain LLP,,KZ,Harbin Grain Import Co,,CN,KZ,CN,1,100199,wheat,1,t,10,USD,KZ"
HUGE = "9" * 5000
PYTHON_WORDS = "integer string conversion"


def run(db: str, *args: str, input: Any = None) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], input=input, catch_exceptions=False)


def declaration(ident: str, **item: Any) -> dict[str, Any]:
    data = copy.deepcopy(GOOD_DECLARATION)
    data["declaration_id"] = ident
    data["items"][0].update(item)
    return data


def with_huge(data: dict[str, Any], path: str) -> str:
    """`data` as JSON text with the number at `path` (`items.0.value`) written as 5,000 digits."""
    marker = "__HUGE__"
    target: Any = data
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    target[last] = marker
    return json.dumps(data).replace(f'"{marker}"', HUGE)


# --- 1. numbers too long for Python to read -------------------------------------------


@pytest.mark.parametrize("path, field", [("items.0.value", "items[0].value"), ("items.0.quantity", "items[0].quantity"),
                                         ("items.0.line", "items[0].line"), ("items.0.remark", "items[0]"),
                                         ("remark", None)])  # fmt: skip
def test_huge_json_number_is_a_located_rejection(sqlite_url: str, tmp_path: Path, path: str, field: str | None) -> None:
    load_fixture_registry(sqlite_url)
    good = json.dumps(declaration("D-GOOD"))
    bad = with_huge(declaration("D-BAD"), path)
    as_list = tmp_path / "in.json"
    as_list.write_text(f"[{good},\n{bad}]")
    as_lines = tmp_path / "in.jsonl"
    as_lines.write_text(f"{good}\n{bad}\n")
    for file, where in ((as_list, "in.json:2, record 2"), (as_lines, "in.jsonl:2")):
        result = run(sqlite_url, "screen", str(file))
        assert result.exit_code == 2, result.output
        assert PYTHON_WORDS not in result.output
        assert "1 screened in 1 declaration(s)" in result.output
        assert (f"{where}, field {field}: " if field else f"{where}: ") in result.output
        assert "number of 5,000 digits" in result.output and "too big" in result.output


@pytest.mark.parametrize("column", ["quantity", "value", "line"])
def test_huge_csv_number_is_a_located_rejection(sqlite_url: str, tmp_path: Path, column: str) -> None:
    load_fixture_registry(sqlite_url)
    values = dict(zip(CSV_HEADER.split(","), CSV_ROW.split(","), strict=True))
    good = ",".join(values.values())
    values.update(declaration_id="D-2", **{column: HUGE})
    file = tmp_path / "in.csv"
    file.write_text(f"{CSV_HEADER}\n{good}\n{','.join(values.values())}\n")
    result = run(sqlite_url, "screen", str(file))
    assert result.exit_code == 2, result.output
    assert f"in.csv:3, field {column}: number of 5,000 digits is too big" in result.output
    assert "1 screened in 1 declaration(s)" in result.output


def test_json_number_past_float_range_says_too_big(sqlite_url: str, tmp_path: Path) -> None:
    load_fixture_registry(sqlite_url)
    file = tmp_path / "in.json"
    file.write_text(json.dumps(declaration("D-1")).replace('"value": 100', '"value": ' + "9" * 400))
    result = run(sqlite_url, "screen", str(file))
    assert result.exit_code == 2, result.output
    assert "in.json:1, field items[0].value: number of 400 digits is too big" in result.output
