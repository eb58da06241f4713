"""Outputs that cannot attack their readers: spreadsheets (CSV formula cells), JSON
parsers (NaN, Infinity) and terminals (escape sequences, bidi overrides)."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import GOOD_DECLARATION, load_fixture_registry
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from customs_rules.cli.base import main
from customs_rules.contract.decision import Decision, Finding
from customs_rules.contract.input_text import visible
from customs_rules.io.safe_text import FORMULA_STARTS, SafeCsvWriter, csv_cell, json_text, terminal_text
from customs_rules.report import tables as reporting
from customs_rules.store.store import _json_text
from customs_rules.workflow.screener import default_rules_dir

BASE = {k: v for k, v in GOOD_DECLARATION.items() if k != "declaration_id"}
COMPANIES = (
    "company_id,name,country,registered_on,activity_codes,aliases\n150340000011,Dala Grain LLP,KZ,2015-03-01,46.21,\n"
)
FORMULA = '=HYPERLINK("http://x","click")'
BLANKS = " \n\u00a0\u3000"


@pytest.fixture()
def sqlite_url(sqlite_url: str) -> str:
    """Screening refuses a store with no registry: these runs screen against the fixture one."""
    load_fixture_registry(sqlite_url)
    return sqlite_url


def run(db: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], input=input, catch_exceptions=False)


def jsonl(tmp_path: Path, name: str, records: list[Any]) -> str:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return str(path)


def strict(line: str) -> Any:
    def refuse(name: str) -> None:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(line, parse_constant=refuse)


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            if cell and not is_number(cell):
                assert cell[0] not in FORMULA_STARTS and cell.lstrip(BLANKS)[:1] not in FORMULA_STARTS, cell


# --- CSV formula cells ---------------------------------------------------------------


@given(st.one_of(st.text(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.none()))
def test_any_cell_read_back_never_starts_a_formula(value: Any) -> None:
    out = io.StringIO()
    SafeCsvWriter(out).writerow([value])
    [[cell]] = cells(out.getvalue()) or [[""]]
    if isinstance(value, int | float):  # the tool's own numbers stay numbers, negative ones too
        assert (int(cell) if isinstance(value, int) else float(cell)) == value  # exact past 2**53 too
    else:
        assert cell == "" or (cell[0] not in FORMULA_STARTS and cell.lstrip(BLANKS)[:1] not in FORMULA_STARTS)
        # nothing but a leading quote is ever changed, and control characters escaped (visible)
        text = "" if value is None else visible(value)
        assert cell in (text, "'" + text)


def test_csv_cells_exact() -> None:
    assert [csv_cell(v) for v in (FORMULA, "+1", "-2", "@SUM(A1)", "\tx", "\rx", " =1", "ok", -3, -1.5, 2.0)] == [
        "'" + FORMULA, "'+1", "'-2", "'@SUM(A1)", "'\tx", "'\rx", "' =1", "ok", -3, -1.5, 2,
    ]  # fmt: skip


def test_every_screen_csv_neutralises_formula_cells(sqlite_url: str, tmp_path: Path) -> None:
    good = BASE | {"declaration_id": "=1+1", "exporter": {"name": FORMULA, "country": "KZ"}}
    bad = BASE | {"declaration_id": "@SUM(1)", "items": [{"hs_code": "-12", "value": 1}]}
    path = jsonl(tmp_path, "in.jsonl", [good, bad])
    out, per, rejects = tmp_path / "out.csv", tmp_path / "per.csv", tmp_path / "rejects.csv"
    result = run(sqlite_url, "-q", "screen", path, "--format", "csv", "--out", str(out), "--rejects", str(rejects))
    assert result.exit_code == 2
    stdout = cells(result.stdout)
    assert stdout[1][:3] == ["'=1+1", "release", "0"]
    assert_no_formula(stdout)
    assert cells(out.read_text())[1][:3] == ["'=1+1", "release", "0"]
    assert_no_formula(cells(out.read_text()))
    rejected = cells(rejects.read_text(encoding="utf-8"))
    assert rejected[1][:3] == [path, "2", "'@SUM(1)"]
    assert json.loads(rejected[1][4])["declaration_id"] == "@SUM(1)"
    assert_no_formula(rejected)
    run(sqlite_url, "-q", "screen", path, "--out", str(per), "--per-finding", "--no-store")
    rows = cells(per.read_text())
    assert rows[1][:2] == ["'=1+1", "release"] and len(rows) == 2
    assert_no_formula(rows)


def test_decisions_list_csv_neutralises_formula_cells(sqlite_url: str, tmp_path: Path) -> None:
    good = BASE | {"declaration_id": "+7", "exporter": {"name": FORMULA, "country": "KZ"}}
    assert run(sqlite_url, "-q", "screen", jsonl(tmp_path, "in.jsonl", [good])).exit_code == 0
    result = run(sqlite_url, "decisions", "list", "--format", "csv")
    rows = cells(result.stdout)
    assert rows[1][1:5] == ["'+7", "1", "release", "0"] and rows[1][6] == "'" + FORMULA
    assert_no_formula(rows)


# --- strict JSON -------------------------------------------------------------------------


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@given(JSON_VALUES)
def test_any_json_written_parses_strictly_to_the_same_value(value: Any) -> None:
    line = json_text(value)
    assert "\n" not in line and line.isprintable()  # one line, nothing a terminal obeys
    assert strict(line) == value


def standard_json_text(value: Any, **options: Any) -> str:
    """`json_text` as it was before orjson wrote it: the standard encoder, then the
    escaping of what a terminal would obey."""
    options.setdefault("separators", (",", ":"))
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, **options)
    return "".join(c if c.isprintable() else json_text(c)[1:-1] for c in text)


# every character (lone surrogates, controls, bidi overrides, astral), floats of every
# size (those where orjson's text differs from Python's repr: 1e-05 to 1e-09), NaN and
# infinities, integers past 64 bits, keys that are not strings, tuples, deep nesting
ANY_TEXT = st.text(alphabet=st.characters(codec=None, categories=None), max_size=8)
FLOATS = st.floats() | st.sampled_from([1e-05, 1.5e-07, -3e-09, 1e-10, 0.0001, 1e16, 1e22, -0.0, 5e-324])
SCALARS = st.none() | st.booleans() | st.integers() | st.integers(min_value=2**63 - 2, max_value=2**64 + 2) | FLOATS
KEYS = ANY_TEXT | st.integers() | st.booleans() | st.none() | st.floats(allow_nan=False)
ANY_JSON = st.recursive(
    SCALARS | ANY_TEXT,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(ANY_TEXT, inner, max_size=4)
        | st.dictionaries(KEYS, inner, max_size=3)
    ),
    max_leaves=16,
)


def outcome(write: Any, value: Any) -> Any:
    try:
        return write(value)
    except (ValueError, TypeError) as exc:
        return type(exc)


@given(ANY_JSON)
def test_json_text_is_byte_for_byte_the_standard_encoders(value: Any) -> None:
    """orjson writes the JSON of the tool (a batch's decisions); where it would write
    otherwise than `json.dumps`, the standard encoder does: the same text, or the same refusal."""
    assert outcome(json_text, value) == outcome(standard_json_text, value)


@pytest.mark.parametrize("value", [
    {"a": [1e-05, 2.5e-9, 1e-10, 0.00012, 1e+16]}, "\x1b[31m\u202e\x7f\x85\u2028\U000e0001\ud800", {1: "x", None: 2},
    2**64, [math.nan], {"x": math.inf}, [[[[]]]] * 3, ((1, "a"), {"b": (None,)}),
    json.loads("[" * 300 + "]" * 300),
])  # fmt: skip
def test_json_text_where_orjson_would_write_otherwise(value: Any) -> None:
    assert outcome(json_text, value) == outcome(standard_json_text, value)


def test_json_text_refuses_what_the_standard_encoder_refuses() -> None:
    import datetime as dt
    import enum

    class Colour(enum.Enum):
        RED = "red"

    for value in (dt.date(2026, 1, 1), {"when": dt.datetime(2026, 1, 1)}, object(), {"a": {1, 2}}):
        with pytest.raises(TypeError):
            json_text(value)
    assert json_text([dt.date(2026, 1, 1)], default=str) == '["2026-01-01"]'
    # the one difference: an enum member is written as its value (the tool writes none)
    assert json_text([Colour.RED]) == '["red"]'


def test_values_that_overflow_the_total_are_a_located_rejection(sqlite_url: str, tmp_path: Path) -> None:
    items = [{"line": n, "hs_code": "1001.99", "value": 1e308} for n in (1, 2, 3)]
    path = jsonl(tmp_path, "big.jsonl", [BASE | {"declaration_id": "INF-1", "items": items}])
    result = run(sqlite_url, "-q", "screen", path, "--format", "json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (
        f"rejected declaration INF-1 at {path}:1:\n"
        f"  {path}:1, field items: item values add up past the largest total this tool can hold "
        "(about 1.8e308) at line 2: the declaration's total value cannot be computed\n"
    )


def test_big_values_that_still_add_up_are_screened_exactly(sqlite_url: str, tmp_path: Path) -> None:
    items = [{"line": n, "hs_code": "1001.99", "value": v} for n, v in ((1, 8e307), (2, 8e307), (3, 0.1))]
    path = jsonl(tmp_path, "big.jsonl", [BASE | {"declaration_id": "BIG-1", "items": items}])
    result = run(sqlite_url, "-q", "screen", path, "--format", "json")
    assert result.exit_code == 0 and strict(result.stdout)["decision"] == "release"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_json_input_is_a_located_rejection(sqlite_url: str, tmp_path: Path, constant: str) -> None:
    line = json.dumps(BASE | {"declaration_id": "N-1"}).replace('"value": 100', f'"value": 1, "extra": {constant}')
    path = tmp_path / "n.jsonl"
    path.write_text(json.dumps(BASE | {"declaration_id": "OK-1"}) + "\n" + line + "\n")
    result = run(sqlite_url, "-q", "screen", str(path), "--format", "json", "--no-store")
    assert result.exit_code == 2
    assert [strict(x)["declaration_id"] for x in result.stdout.splitlines()] == ["OK-1"]
    assert result.stderr.startswith(f"rejected at {path}:2:\n  {path}:2: ")


def test_json_writers_refuse_nan_and_infinity() -> None:
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            json_text({"score": bad})
        with pytest.raises(Exception, match="not finite"):
            _json_text({"facts": [{"declaration.total_value": bad}]})
    assert _json_text({"a": None, "b": [1.5]}) == '{"a":null,"b":[1.5]}'


def test_rule_scores_that_cannot_add_up_are_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    for name in ("drones/drones.yaml", "destination/ru-by.yaml"):
        path = rules / name
        text = path.read_text()
        first = text.index("\nscore: ") + 1
        end = text.index("\n", first)
        path.write_text(text[:first] + "score: 1.0e+308" + text[end:])
    result = CliRunner().invoke(main, ["rules", "validate", "--rules", str(rules)])
    assert result.exit_code == 2
    assert "field score: the rule scores add up past the largest number a decision's score can hold" in result.stderr


def test_every_json_line_parses_strictly(sqlite_url: str, tmp_path: Path) -> None:
    odd = "x\x1b[2J\u202e\u2028\U000e0001"
    # a declaration holding ESC or a bidi override is rejected (README, Contracts): J-1
    # stores the unprintable characters that validation lets through; the query keeps them all
    kept = "x\u2028\U000e0001\u200f"
    good = BASE | {"declaration_id": "J-1", "note": kept}
    hold = BASE | {"declaration_id": "J-2", "destination_country": "RU", "items": [{"hs_code": "8806.21", "value": 5}]}
    path = jsonl(tmp_path, "in.jsonl", [good, hold])
    out = tmp_path / "out.jsonl"
    companies = tmp_path / "companies.csv"
    companies.write_text(COMPANIES)
    assert run(sqlite_url, "-q", "registry", "load", "--companies", str(companies)).exit_code == 0
    screened = run(sqlite_url, "-q", "screen", path, "--format", "json", "--out", str(out))
    outputs = [
        screened.stdout,
        out.read_text(),
        run(sqlite_url, "decisions", "list", "--format", "json").stdout,
        run(sqlite_url, "decisions", "show", "J-1", "--format", "json").stdout,
        run(sqlite_url, "rules", "list", "--format", "json").stdout,
        run(sqlite_url, "registry", "match", "Dala Grain " + odd, "--format", "json").stdout,
        run(sqlite_url, "audit", "--format", "json").stdout,
    ]
    for text in outputs:
        assert text
        for line in text.splitlines():
            assert line.isprintable(), line  # nothing a terminal would obey, even in JSON
            strict(line)
    assert strict(run(sqlite_url, "decisions", "show", "J-1", "--format", "json").stdout)["declaration"]["note"] == kept


# --- terminals -------------------------------------------------------------------------


def test_terminal_text_escapes_what_a_terminal_would_obey() -> None:
    assert terminal_text("a\x1b[31mb\u202ec\x07\u200b\t\udcff\U000e0001") == (
        "a\\x1b[31mb\\u202ec\\x07\\u200b\\x09\\udcff\\U000e0001"
    )
    assert terminal_text("Илья Гольдберг, Iliá") == "Илья Гольдберг, Iliá"
    assert terminal_text("one\ntwo", keep_newlines=True) == "one\ntwo"
    assert terminal_text("one\ntwo") == "one\\x0atwo"


def test_rejection_messages_escape_control_characters(sqlite_url: str, tmp_path: Path) -> None:
    bad = BASE | {"declaration_id": "D\x1b[2J-1\u202e", "dispatch_country": "K\x1bZ"}
    path = jsonl(tmp_path, "in\x1b]0;x\x07.jsonl", [bad])
    result = run(sqlite_url, "-q", "screen", path, "--no-store")
    assert result.exit_code == 2
    shown = path.replace("\x1b", "\\x1b").replace("\x07", "\\x07")
    assert result.stderr.startswith(f"rejected declaration D\\x1b[2J-1\\u202e at {shown}:1:\n  {shown}:1, ")
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr and "\x07" not in result.stderr


def test_error_messages_escape_file_names(sqlite_url: str, tmp_path: Path) -> None:
    result = run(sqlite_url, "screen", str(tmp_path / "no\x1b[2Jfile.json"), "--no-store")
    assert result.exit_code == 2
    assert "no\\x1b[2Jfile.json" in result.stderr and "\x1b" not in result.stderr


def test_registry_match_escapes_the_name(sqlite_url: str) -> None:
    result = run(sqlite_url, "registry", "match", "Aspan\x1b[2J\u202eArba")
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "Aspan\\x1b[2J\\u202eArba" in result.stdout


def render(renderable: Any) -> str:
    console = Console(file=io.StringIO(), width=200, highlight=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_tables_escape_stored_and_declared_text() -> None:
    odd = "N\x1b[2J\u202eX"
    finding = Finding("r", "t", "hold", 1.0, 1, {"exporter.name": {"value": odd, "why": odd}})
    decision = Decision(odd, "hold", 1.0, (finding,), (), "v", "2026-12-01T00:00:00Z")
    content = BASE | {"declaration_id": odd, "exporter": {"name": odd}, "items": [{"line": 1, "description": odd}]}
    for table in (
        reporting.decision_table([decision]),
        reporting.declaration_table(content),
        reporting.facts_table([{"exporter.name": odd, "item.description": odd}]),
    ):
        text = render(table)
        assert "\x1b" not in text and "\u202e" not in text and "N\\x1b[2J\\u202eX" in text


def test_an_integer_past_64_bits_in_an_extra_field_is_stored_exactly(sqlite_url: str, tmp_path: Path) -> None:
    # JSON allows any integer and extra fields are kept as given: storing must not fail on one
    path = jsonl(tmp_path, "big.jsonl", [BASE | {"declaration_id": "BIG-1", "extra_num": 10**30}])
    result = run(sqlite_url, "-q", "screen", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    shown = run(sqlite_url, "decisions", "show", "BIG-1", "--format", "json")
    assert shown.exit_code == 0 and "1000000000000000000000000000000" in shown.stdout
