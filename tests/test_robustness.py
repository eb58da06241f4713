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

from customs_rules.cli.base import main

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


# --- 2. databases this version cannot use ----------------------------------------------

READ_AND_WRITE = [("decisions", "list"), ("audit", "verify"), ("registry", "load", "--watchlist", "WATCHLIST")]


def _commands(tmp_path: Path) -> list[list[str]]:
    watchlist = tmp_path / "watchlist.csv"
    watchlist.write_text("name,company_id,country,reason,source,listed_on\nX Corp,,RU,reported,press,2024-01-01\n")
    return [[str(watchlist) if part == "WATCHLIST" else part for part in command] for command in READ_AND_WRITE]


def _execute(db: str, sql: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    with engine.begin() as connection:
        connection.execute(text(sql))
    engine.dispose()


def _tables(db: str) -> set[str]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(db)
    with engine.connect() as connection:
        found = set(inspect(connection).get_table_names())
    engine.dispose()
    return found


def test_newer_schema_is_refused_in_plain_words(db_url: str, tmp_path: Path) -> None:
    from customs_rules.store.schema import HEAD

    load_fixture_registry(db_url)
    _execute(db_url, "UPDATE alembic_version SET version_num = '0999'")
    for command in _commands(tmp_path):
        result = run(db_url, *command)
        assert result.exit_code == 2, result.output
        assert (f"was made by a newer customs-rules (schema 0999; this version knows up to {HEAD}): "
                "upgrade customs-rules") in result.output  # fmt: skip
        assert "internal error" not in result.output
    _execute(db_url, f"UPDATE alembic_version SET version_num = '{HEAD}'")
    assert run(db_url, "decisions", "list").exit_code == 0


def test_another_applications_database_is_refused_and_left_alone(db_url: str, tmp_path: Path) -> None:
    _execute(db_url, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    for command in _commands(tmp_path):
        result = run(db_url, *command)
        assert result.exit_code == 2, result.output
        assert "is not a customs-rules database: it holds another application's tables (users)" in result.output
        assert _tables(db_url) == {"users"}


def test_another_alembic_application_is_refused(db_url: str, tmp_path: Path) -> None:
    _execute(db_url, "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
    _execute(db_url, "INSERT INTO alembic_version VALUES ('ae1027a6acf')")
    _execute(db_url, "CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    for command in _commands(tmp_path):
        result = run(db_url, *command)
        assert result.exit_code == 2, result.output
        assert "is not a customs-rules database" in result.output
        assert _tables(db_url) == {"alembic_version", "orders"}


def test_a_file_that_is_no_database_is_refused_unchanged(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# notes\n" * 100)
    before = readme.read_bytes()
    for command in _commands(tmp_path):
        result = run(f"sqlite:///{readme}", *command)
        assert result.exit_code == 2, result.output
        assert f"Error: {readme} is not an SQLite database" in result.output
    assert readme.read_bytes() == before


def test_another_applications_sqlite_file_keeps_its_bytes(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "app.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE users (id INTEGER)")
    before = path.read_bytes()
    for command in _commands(tmp_path):
        assert run(f"sqlite:///{path}", *command).exit_code == 2
    assert path.read_bytes() == before


# --- 3. control characters by the other doors -------------------------------------------

ESC_TEXT = "seal \x1b[31m42"


def _declaration_file(tmp_path: Path) -> Path:
    file = tmp_path / "d.json"
    file.write_text(json.dumps(declaration("D-1")))
    return file


def test_outcome_note_with_a_control_character_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    load_fixture_registry(sqlite_url)
    assert run(sqlite_url, "submit", str(_declaration_file(tmp_path))).exit_code == 0
    result = run(sqlite_url, "outcome", "D-1", "--result", "clean", "--note", ESC_TEXT)
    assert result.exit_code == 2, result.output
    assert "--note holds U+001B ESC at character 6; control and bidi characters are not allowed" in result.output
    assert "\x1b" not in result.output
    shown = run(sqlite_url, "decisions", "show", "D-1")
    assert "outcome:" not in shown.output  # nothing was recorded
    assert run(sqlite_url, "outcome", "D-1", "--result", "clean", "--note", "seal\t42").exit_code == 0


@pytest.mark.parametrize("how", ["option", "environment"])
def test_officer_with_a_control_character_is_refused(sqlite_url: str, tmp_path: Path, how: str) -> None:
    load_fixture_registry(sqlite_url)
    declaration_file = str(_declaration_file(tmp_path))
    watchlist = tmp_path / "w.csv"
    watchlist.write_text("name,company_id,country,reason,source,listed_on\nX Corp,,RU,reported,press,2024-01-01\n")
    commands = [["submit", declaration_file], ["screen", declaration_file], ["outcome", "D-1", "--result", "clean"],
                ["registry", "load", "--watchlist", str(watchlist)]]  # fmt: skip
    name = "Ivanov\u202eA"
    for command in commands:
        if how == "option" and command[0] != "registry":
            result = CliRunner().invoke(main, ["--db", sqlite_url, *command, "--officer", name])
            said = "--officer holds U+202E RIGHT-TO-LEFT OVERRIDE at character 7"
        else:
            result = CliRunner().invoke(main, ["--db", sqlite_url, *command], env={"CUSTOMS_RULES_OFFICER": name})
            said = "$CUSTOMS_RULES_OFFICER holds U+202E RIGHT-TO-LEFT OVERRIDE at character 7"
        assert result.exit_code == 2, (command, result.output)
        assert said in result.output
    assert "D-1" not in run(sqlite_url, "decisions", "list").output


def test_rule_title_with_a_control_character_is_a_located_rule_error(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    (rules / "lists").mkdir(parents=True)
    (rules / "r.yaml").write_text(
        "id: r-1\n"
        'title: "Red \\e[31m alert"\n'
        'description: "Goes \\u202e the other way"\n'
        "status: active\naction: inspect\nscore: 10\n"
        "conditions:\n  all:\n    - {fact: destination_country, equals: RU}\n"
    )
    result = CliRunner().invoke(main, ["rules", "validate", "--rules", str(rules)])
    assert result.exit_code == 2, result.output
    assert "r.yaml:2, field title: title holds U+001B ESC at character 5" in result.output
    assert "r.yaml:3, field description: description holds U+202E RIGHT-TO-LEFT OVERRIDE" in result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output


def test_csv_never_writes_a_raw_escape() -> None:
    import io

    from customs_rules.io.safe_text import SafeCsvWriter

    out = io.StringIO()
    SafeCsvWriter(out).writerow(
        ["Acme \x1b]0;owned\x07 LLP", "\u202eevil", "tab\tand\nnewline", -1.5, "Stra\u00dfe\u00a0GmbH"]
    )
    text = out.getvalue()
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert text == 'Acme \\x1b]0;owned\\x07 LLP,\\u202eevil,"tab\tand\nnewline",-1.5,Stra\u00dfe\u00a0GmbH\n'


def test_decisions_list_csv_escapes_what_came_in_before_validation(sqlite_url: str, tmp_path: Path) -> None:
    load_fixture_registry(sqlite_url)
    assert run(sqlite_url, "submit", str(_declaration_file(tmp_path))).exit_code == 0
    # a row stored by an older version, before input validation refused control characters
    _execute(sqlite_url, "UPDATE declaration SET exporter_name = 'Dala \x1b[2J Grain'")
    result = run(sqlite_url, "decisions", "list", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "Dala \\x1b[2J Grain" in result.output


# --- 4. audit and rescreen export CSV, as the README says ---------------------------------


def test_audit_and_rescreen_write_csv(sqlite_url: str, tmp_path: Path) -> None:
    import csv
    import io

    load_fixture_registry(sqlite_url)
    assert run(sqlite_url, "submit", str(_declaration_file(tmp_path))).exit_code == 0
    audit = run(sqlite_url, "audit", "--format", "csv")
    assert audit.exit_code == 0, audit.output
    rows = list(csv.reader(io.StringIO(audit.stdout)))
    assert rows[0] == ["id", "at", "actor", "action", "subject", "details", "hash"]
    assert {row[3] for row in rows[1:]} >= {"registry_load", "decision"}
    rescreen = run(sqlite_url, "rescreen", "--format", "csv")
    assert rescreen.exit_code == 0, rescreen.output
    assert rescreen.stdout.splitlines() == [
        "declaration_id,revision,exporter,was,was_reference,now,reference,score,rule_ids"
    ]  # nothing is stricter now: the header alone, for a script
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "[--declared-since DATE] [--declared-until DATE] [--officer ID] [--format table|json|csv]" in readme


# --- 5. odd files for `screen` and `registry load` ---------------------------------------

COMPANIES_HEADER = "company_id,name,country,registered_on,activity_codes,aliases"


def test_blank_and_empty_rows_are_skipped_in_a_batch_csv(sqlite_url: str, tmp_path: Path) -> None:
    load_fixture_registry(sqlite_url)
    file = tmp_path / "in.csv"
    empty_row = "," * (len(CSV_HEADER.split(",")) - 1)
    file.write_bytes(f"\ufeff{CSV_HEADER}\r\n\r\n   \r\n{CSV_ROW}\r\n{empty_row}\r\n \t \r\n".encode())
    result = run(sqlite_url, "screen", str(file))
    assert result.exit_code == 0, result.output
    assert "1 lines: 1 screened in 1 declaration(s)" in result.output


def test_a_header_with_too_many_columns_is_refused_at_once(sqlite_url: str, tmp_path: Path) -> None:
    load_fixture_registry(sqlite_url)
    extra = ",".join(f"x{i}" for i in range(100_000))
    batch = tmp_path / "wide.csv"
    batch.write_text(f"{CSV_HEADER},{extra}\n{CSV_ROW}\n")
    result = run(sqlite_url, "screen", str(batch))
    assert result.exit_code == 2, result.output
    assert "wide.csv:1: the header has 100,019 columns; at most 1,000 are read" in result.output
    companies = tmp_path / "companies.csv"
    companies.write_text(f"{COMPANIES_HEADER},{extra}\n")
    result = run(sqlite_url, "registry", "load", "--companies", str(companies))
    assert result.exit_code == 2, result.output
    assert "companies.csv:1: the header has 100,006 columns; at most 1,000 are read" in result.output


def test_registry_file_with_blank_rows_loads_its_rows(sqlite_url: str, tmp_path: Path) -> None:
    companies = tmp_path / "companies.csv"
    rows = "150340000011,Dala Grain LLP,KZ,2015-03-01,46.21,\r\n"
    companies.write_bytes(f"\ufeff{COMPANIES_HEADER}\r\n\r\n  \r\n{rows},,,,,\r\n".encode())
    result = run(sqlite_url, "registry", "load", "--companies", str(companies))
    assert result.exit_code == 0, result.output
    assert "loaded 1 companies" in result.output


def test_registry_file_of_a_header_and_blank_lines_holds_no_rows(sqlite_url: str, tmp_path: Path) -> None:
    # as a header alone: the table is emptied, and screening then refuses (test_registry_required)
    companies = tmp_path / "companies.csv"
    companies.write_text(f"{COMPANIES_HEADER}\n\n  \n")
    result = run(sqlite_url, "registry", "load", "--companies", str(companies))
    assert result.exit_code == 0, result.output
    assert "loaded 0 companies" in result.output


def test_registry_file_in_json_is_named_as_json(sqlite_url: str, tmp_path: Path) -> None:
    companies = tmp_path / "companies.json"
    companies.write_text('[{"company_id": "1", "name": "X"}]')
    result = run(sqlite_url, "registry", "load", "--companies", str(companies))
    assert result.exit_code == 2, result.output
    assert "JSON, not CSV; registry files are CSV (UTF-8 text)" in result.output
    assert "missing column" not in result.output
