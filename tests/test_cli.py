"""The CLI through click's CliRunner: exact exit codes, streams and messages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from conftest import GOOD_DECLARATION as GOOD
from conftest import load_fixture_registry

from customs_rules.cli.base import main
from customs_rules.store import DecisionRecord, DeclarationRecord, FindingRecord, Store
from customs_rules.workflow.screener import default_rules_dir

COMPANIES = (
    "company_id,name,country,registered_on,activity_codes,aliases\n"
    "150340000011,Dala Grain LLP,KZ,2015-03-01,46.21,Dala Grain\n"
    "CN91,Harbin Grain Import Co,CN,2005-01-01,46.21,\n"
)
PEOPLE = "company_id,person_name,role,person_id,birth_date\n150340000011,Yerlan Sadykov,director,,\n"
WATCHLIST = "name,company_id,country,reason,source,listed_on\nRadiokomplekt,,RU,reported supplier,test,2023-06-01\n"


def run(db: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], input=input, catch_exceptions=False)


@pytest.fixture()
def loaded_url(sqlite_url: str, tmp_path: Path) -> str:
    """A store with a small registry (companies, people, watchlist): screening refuses
    a store with none loaded."""
    files = {"companies": COMPANIES, "people": PEOPLE, "watchlist": WATCHLIST}
    for name, text in files.items():
        (tmp_path / f"{name}.csv").write_text(text)
    options = [arg for name in files for arg in (f"--{name}", str(tmp_path / f"{name}.csv"))]
    assert run(sqlite_url, "-q", "registry", "load", *options).exit_code == 0
    return sqlite_url


def counts(db: str) -> tuple[int, int, int]:
    store = Store(db)
    try:
        return store.count(DeclarationRecord), store.count(DecisionRecord), store.count(FindingRecord)
    finally:
        store.close()


def write_json(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2))
    return str(path)


def all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += all_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("command", all_commands(main), ids=lambda c: " ".join(c) or "main")
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output
    lines = result.output.split("\n\n", 2)
    assert len(lines) >= 2 and lines[1].strip(), f"{command} has no help text"


def test_screen_json_prints_one_decision_per_line(loaded_url: str, tmp_path: Path) -> None:
    path = write_json(tmp_path, "d.json", [GOOD, GOOD | {"declaration_id": "D-2"}])
    result = run(loaded_url, "screen", path, "--format", "json")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [json.loads(line)["declaration_id"] for line in lines] == ["D-1", "D-2"]
    decision = json.loads(lines[0])
    assert set(decision) == {
        "declaration_id",
        "decision",
        "score",
        "findings",
        "test_findings",
        "ruleset_version",
        "screened_at",
    }
    first, *tables = result.stderr.splitlines()
    assert (
        first
        == "2 lines: 2 screened in 2 declaration(s) (0 hold, 0 inspect, 2 release), 0 rejected in 0 declaration(s)"
    )
    assert any("Summary" in line for line in tables)
    assert counts(loaded_url)[:2] == (2, 2)


def test_screen_csv_and_table_formats(sqlite_url: str, tmp_path: Path) -> None:
    path = write_json(tmp_path, "d.json", GOOD)
    # without a registry on purpose: the unknown exporter fills the test-rule column
    result = run(sqlite_url, "-q", "screen", path, "--format", "csv", "--no-store", "--no-registry")
    assert result.exit_code == 0
    header, row = result.stdout.splitlines()
    assert header == "declaration_id,decision,score,rule_ids,test_rule_ids,ruleset_version,screened_at"
    assert row.startswith("D-1,release,0,,profile-unknown-exporter-any-goods,sha256:")
    assert result.stderr.startswith("warning: screening WITHOUT a registry (--no-registry)")
    assert len(result.stderr.splitlines()) == 1  # -q: the warning, no summary
    table = run(sqlite_url, "-q", "screen", path, "--no-store", "--no-registry")
    assert table.exit_code == 0 and "RELEASE" in table.stdout and "D-1" in table.stdout
    assert counts(sqlite_url) == (0, 0, 0)


def test_screen_reads_stdin(loaded_url: str) -> None:
    result = run(loaded_url, "screen", "-", "--format", "json", input=json.dumps(GOOD))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["declaration_id"] == "D-1"


BAD_INPUTS = [
    ("malformed.json", '{\n  "declaration_id": "X",\n  "date": 2024-01-15,\n}', ":3: Expecting"),
    (
        "hs_letter.json",
        json.dumps(GOOD | {"items": [{"hs_code": "85A231"}]}),
        "field items[0].hs_code: HS code '85A231' must have 6 to 10 digits",
    ),
    (
        "country.json",
        json.dumps(GOOD | {"destination_country": "XX"}),
        "field destination_country: unknown country 'XX'",
    ),
    (
        "negative.json",
        json.dumps(GOOD | {"items": [{"hs_code": "100199", "value": -5}]}),
        "field items[0].value: Input should be greater than or equal to 0",
    ),
    ("no_items.json", json.dumps(GOOD | {"items": []}), "field items: List should have at least 1 item"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_located_exit_2_nothing_stored(
    loaded_url: str, tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    result = run(loaded_url, "screen", str(path), "--format", "json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{path}" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr
    assert counts(loaded_url) == (0, 0, 0)


def test_good_declarations_are_screened_beside_bad_ones(loaded_url: str, tmp_path: Path) -> None:
    bad = GOOD | {"declaration_id": "BAD", "destination_country": "XX"}
    path = write_json(tmp_path, "mixed.json", [GOOD, bad, GOOD | {"declaration_id": "D-3"}])
    result = run(loaded_url, "screen", path, "--format", "json")
    assert result.exit_code == 2
    assert [json.loads(x)["declaration_id"] for x in result.stdout.splitlines()] == ["D-1", "D-3"]
    assert "rejected declaration BAD at" in result.stderr
    summary = "3 lines: 2 screened in 2 declaration(s) (0 hold, 0 inspect, 2 release), 1 rejected in 1 declaration(s)"
    assert summary in result.stderr.splitlines()
    assert counts(loaded_url)[:2] == (2, 2)


def test_resubmitting_is_idempotent_and_changes_are_revisions(loaded_url: str, tmp_path: Path) -> None:
    path = write_json(tmp_path, "d.json", GOOD)
    assert run(loaded_url, "screen", path).exit_code == 0
    assert run(loaded_url, "screen", path).exit_code == 0
    assert counts(loaded_url)[:2] == (1, 1)
    changed = write_json(tmp_path, "d2.json", GOOD | {"destination_country": "UZ"})
    assert run(loaded_url, "screen", changed).exit_code == 0
    assert counts(loaded_url)[:2] == (2, 2)


def test_broken_rule_pack_exit_2_nothing_stored(sqlite_url: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    target = rules / "drones" / "drones.yaml"
    target.write_text(target.read_text().replace("in_list: [drones, drone_parts]", "in_list: [drone]", 1))
    path = write_json(tmp_path, "d.json", GOOD)
    result = run(sqlite_url, "screen", path, "--rules", str(rules))
    assert result.exit_code == 2
    assert "rules/drones/drones.yaml:18, field item.hs_code: rule drones-ru-by: unknown list 'drone'" in result.stderr
    assert "Traceback" not in result.stderr
    assert counts(sqlite_url) == (0, 0, 0)
    validate = run(sqlite_url, "rules", "validate", "--rules", str(rules))
    assert validate.exit_code == 2 and "unknown list 'drone'" in validate.stderr


def test_rules_commands(sqlite_url: str) -> None:
    assert run(sqlite_url, "rules", "validate").exit_code == 0
    tested = run(sqlite_url, "rules", "test")
    assert tested.exit_code == 0 and tested.stderr.strip().endswith("passed, 0 failed")
    listed = run(sqlite_url, "rules", "list", "--format", "json")
    ids = [json.loads(line)["id"] for line in listed.stdout.splitlines()]
    assert "drones-ru-by" in ids and len(ids) == len(set(ids))
    fields = run(sqlite_url, "rules", "fields")
    assert "item.hs_code" in fields.stdout


def test_failing_rule_example_exits_2(sqlite_url: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), rules)
    target = rules / "drones" / "drones.yaml"
    target.write_text(
        target.read_text().replace(
            '{item.hs_code: "8806.21", declaration.destination_country: DE}',
            '{item.hs_code: "8806.21", declaration.destination_country: RU}',
        )
    )
    result = run(sqlite_url, "rules", "test", "--rules", str(rules))
    assert result.exit_code == 2
    assert "FAIL rules/drones/drones.yaml:" in result.stderr and "should not fire but fired" in result.stderr


def test_registry_load_and_a_refused_file(sqlite_url: str, tmp_path: Path) -> None:
    companies, people = tmp_path / "companies.csv", tmp_path / "people.csv"
    companies.write_text(COMPANIES)
    people.write_text(PEOPLE)
    result = run(sqlite_url, "registry", "load", "--companies", str(companies), "--people", str(people))
    assert result.exit_code == 0 and result.stderr == "loaded 2 companies\nloaded 1 people\n"
    bad = tmp_path / "bad_people.csv"
    bad.write_text(PEOPLE + "150340000011,Someone,janitor,,\nCN91,,director,,\n")
    result = run(sqlite_url, "registry", "load", "--people", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:3, field role: unknown role 'janitor'" in result.stderr
    assert f"{bad}:4, field person_name:" in result.stderr
    status = run(sqlite_url, "registry", "status")
    assert status.stdout == "companies: 2\npeople: 1\nwatchlist: 0\n"  # the old table is untouched


def test_registry_load_needs_a_file(sqlite_url: str) -> None:
    result = run(sqlite_url, "registry", "load")
    assert result.exit_code == 2 and "give at least one of" in result.stderr


def test_internal_errors_exit_1_without_traceback(
    loaded_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from customs_rules.screening import core

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(core, "enrich_set", boom)  # in this process: no worker processes
    result = run(loaded_url, "screen", write_json(tmp_path, "d.json", GOOD), "--workers", "1")
    assert result.exit_code == 1
    assert "internal error: RuntimeError: disk on fire" in result.stderr
    assert "Traceback" not in result.stderr


def test_unusable_database_url_exits_1(tmp_path: Path) -> None:
    result = run("nosuchdb://x", "screen", write_json(tmp_path, "d.json", GOOD))
    assert result.exit_code == 1 and "cannot open the database nosuchdb://x" in result.stderr


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_sample_shipments_screen_cleanly(sqlite_url: str) -> None:
    load_fixture_registry(sqlite_url)
    result = run(sqlite_url, "screen", str(FIXTURES / "shipments.csv"), "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = {line.split(",")[0]: line.split(",")[1] for line in result.stdout.splitlines()[1:]}
    assert len(rows) >= 100
    assert {rows[f"STORY-000{n}"] for n in range(1, 6)} == {"hold"}
    assert {rows[f"DECOY-000{n}"] for n in range(1, 6)} == {"release"}
    assert {rows[f"CLEAN-000{n}"] for n in range(1, 6)} == {"release"}
    assert rows["WATCH-0001"] == "hold" and rows["SHELL-0001"] == "inspect" and rows["LINK-0001"] == "inspect"


def test_fixture_batch_with_bad_rows(sqlite_url: str) -> None:
    load_fixture_registry(sqlite_url)
    path = FIXTURES / "bad" / "bad_rows.csv"
    result = run(sqlite_url, "screen", str(path), "--format", "json")
    assert result.exit_code == 2
    screened = [json.loads(line)["declaration_id"] for line in result.stdout.splitlines()]
    assert screened == ["BR-GOOD-0001", "BR-GOOD-0003", "BR-GOOD-0005"]
    assert f"rejected declaration BR-BAD-HS-0002 at {path}:" in result.stderr
    assert f"{path}:5, field hs_code: HS code '85A231'" in result.stderr
    assert f"{path}:7, field destination_country: unknown country 'XX'" in result.stderr
    assert counts(sqlite_url)[:2] == (3, 3)


def test_fixture_bad_registry_file_is_refused_whole(sqlite_url: str) -> None:
    path = FIXTURES / "bad" / "bad_registry_people.csv"
    result = run(sqlite_url, "registry", "load", "--people", str(path))
    assert result.exit_code == 2
    assert f"{path}:3, field role: unknown role 'accountant'" in result.stderr
    assert f"{path}:5, field person_name:" in result.stderr
    assert "nothing from it was stored" in result.stderr
    assert run(sqlite_url, "registry", "status").stdout == "companies: 0\npeople: 0\nwatchlist: 0\n"


@pytest.mark.parametrize(
    "name", ["malformed.json", "hs_letter.json", "unknown_country.json", "negative_value.json", "no_items.json"]
)
def test_fixture_bad_declarations(sqlite_url: str, name: str) -> None:
    load_fixture_registry(sqlite_url)
    path = FIXTURES / "bad" / name
    result = run(sqlite_url, "screen", str(path))
    assert result.exit_code == 2
    assert str(path) in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert counts(sqlite_url) == (0, 0, 0)


def test_registry_duplicate_ids_and_bad_activity_codes_are_refused(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_text(
        COMPANIES + "150340000011,Dala Grain Copy,KZ,2015-03-01,46.21,\nX1,Odd Co,KZ,2020-01-01,abc,\nX2,Short Co\n"
    )
    result = run(sqlite_url, "registry", "load", "--companies", str(path))
    assert result.exit_code == 2
    assert f"{path}:4, field company_id: company_id 150340000011 already on line 2" in result.stderr
    assert f"{path}:5, field activity_codes: activity code 'abc' is not a NACE/OKED code" in result.stderr
    assert f"{path}:6: wrong number of values for the header" in result.stderr


def test_registry_match_shows_scored_candidates(sqlite_url: str) -> None:
    load_fixture_registry(sqlite_url)
    result = run(sqlite_url, "registry", "match", "Nebesnaya Mejanica", "--limit", "3", "--format", "json")
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows[0]["name"] == "ООО «Небесная механика»" and rows[0]["match"] is True and rows[0]["score"] == 1.0
    decoy = [r for r in rows if "Земная" in r["name"]]
    assert decoy and decoy[0]["match"] is False and decoy[0]["score"] < 0.92
    listed = run(sqlite_url, "registry", "match", "Radiokomplekt", "--format", "json").stdout.splitlines()
    assert json.loads(listed[0])["source"] == "watchlist"


def test_registry_match_lists_people_with_role_and_company(sqlite_url: str) -> None:
    load_fixture_registry(sqlite_url)
    result = run(sqlite_url, "registry", "match", "Goldberg I. M.", "--limit", "2", "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout == (
        '{"source": "person", "score": 0.8, "match": false, "company_id": "190540218733", '
        '"name": "Гольдберг Илья Маркович", "country": "KZ", "via": "founder of ТОО «Аспан Арба»", '
        '"role": "founder", "company": "ТОО «Аспан Арба»", '
        "\"why\": \"tokens 'goldberg'~'goldberg' 1.00, 'i'~'ilya' 0.80, 'm'~'markovich' 0.80; initials only\"}\n"
        '{"source": "person", "score": 0.8, "match": false, "company_id": "7728412683", "name": "Goldberg Ilya", '
        '"country": "RU", "via": "director of ООО «Небесная механика»", "role": "director", '
        '"company": "ООО «Небесная механика»", '
        "\"why\": \"tokens 'goldberg'~'goldberg' 1.00, 'i'~'ilya' 0.80; initials only; patronymic 'm' ignored\"}\n"
    )
    full = run(sqlite_url, "registry", "match", "Iliá Goldberg", "--limit", "3", "--format", "json")
    rows = [json.loads(line) for line in full.stdout.splitlines()]
    assert [(r["source"], r["name"], r["role"], r["match"]) for r in rows] == [
        ("person", "Гольдберг Илья Маркович", "founder", True),
        ("person", "Goldberg Ilya", "director", True),
        ("person", "Ilya Goldman", "director", False),  # the decoy, shown with its lower score
    ]
    table = run(sqlite_url, "registry", "match", "Асанов Данияр", "--limit", "2")
    assert table.exit_code == 0
    assert "Асанов Данияр Серикович" in table.stdout and "director of ТОО «Береке Инвест»" in table.stdout
    assert "Asanov Daniyar" in table.stdout and "Ермеков" not in table.stdout  # the third is past --limit
    assert table.stdout.count("│ person") == 2


def test_registry_match_refuses_a_bad_limit(sqlite_url: str) -> None:
    result = run(sqlite_url, "registry", "match", "Aspan Arba", "--limit", "0")
    assert result.exit_code == 2 and "Invalid value for '--limit': 0 is not in the range 1<=x<=100" in result.stderr


def pack_with_name_threshold(tmp_path: Path, threshold: Any) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), target)
    policy = target / "policy.yaml"
    policy.write_text(policy.read_text().replace("  threshold: 0.92", f"  threshold: {threshold}"))
    return target


def test_the_name_threshold_is_the_policys(sqlite_url: str, tmp_path: Path) -> None:
    load_fixture_registry(sqlite_url)

    def matches(*rules: str) -> list[tuple[str, float, bool]]:
        result = run(sqlite_url, "registry", "match", "Ilya Goldberk", "--limit", "2", "--format", "json", *rules)
        assert result.exit_code == 0, result.output
        return [(r["name"], r["score"], r["match"]) for r in map(json.loads, result.stdout.splitlines())]

    default = matches()
    assert default[0][0] == "Гольдберг Илья Маркович" and default[0][2] is True and default[0][1] < 0.99
    rules = pack_with_name_threshold(tmp_path, 0.99)
    strict = matches("--rules", str(rules))
    assert strict[0] == (default[0][0], default[0][1], False)
    # screening reads the same key: an exporter found at 0.96 is no longer found
    seed = json.loads((FIXTURES / "declarations" / "aspan_arba_drones.json").read_text())
    seed["exporter"] = {"name": "Aspan Arbah LLP", "country": "KZ"}
    path = tmp_path / "misspelt.json"
    path.write_text(json.dumps(seed, ensure_ascii=False))
    loose = run(sqlite_url, "screen", str(path), "--format", "json", "--no-store")
    tight = run(sqlite_url, "screen", str(path), "--format", "json", "--no-store", "--rules", str(rules))
    assert loose.exit_code == tight.exit_code == 0
    assert "linked-parties-listed-goods" in loose.stdout and "linked-parties-listed-goods" not in tight.stdout


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1.5", "field names.threshold: threshold must be a score from 0.5 to 1.0, got 1.5"),
        ("high", "field names.threshold: threshold must be a score from 0.5 to 1.0, got 'high'"),
    ],
)
def test_a_bad_name_threshold_is_a_located_error(sqlite_url: str, tmp_path: Path, value: str, message: str) -> None:
    result = run(sqlite_url, "rules", "validate", "--rules", str(pack_with_name_threshold(tmp_path, value)))
    assert result.exit_code == 2 and f"policy.yaml:23, {message}" in result.stderr, result.stderr


def test_a_registry_file_that_is_not_utf8_is_refused_at_its_line(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_bytes((COMPANIES + "X9,Казах Стил,KZ,2020-01-01,24.10,\n").encode("cp1251", errors="strict"))
    result = run(sqlite_url, "registry", "load", "--companies", str(path))
    assert result.exit_code == 2
    lines = COMPANIES.count("\n") + 1
    assert f"{path}:{lines}: not UTF-8 text (byte 0xca); save the file as UTF-8" in result.stderr
    assert run(sqlite_url, "registry", "status").stdout.startswith("companies: 0\n")


def test_a_registry_file_with_a_bom_names_the_right_bad_byte(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_bytes(b"\xef\xbb\xbf" + COMPANIES.encode() + b"X9,Bad \xff Co,KZ,2020-01-01,24.10,\n")
    result = run(sqlite_url, "registry", "load", "--companies", str(path))
    assert result.exit_code == 2
    assert f"{path}:{COMPANIES.count(chr(10)) + 1}: not UTF-8 text (byte 0xff)" in result.stderr


def test_an_unbalanced_quote_in_a_big_registry_file_is_a_located_error(sqlite_url: str, tmp_path: Path) -> None:
    # the quote swallows the rest of the file into one field of 200k characters
    rows = "".join(f"X{n},Company {n},KZ,2020-01-01,46.21,\n" for n in range(6000))
    path = tmp_path / "companies.csv"
    path.write_text(COMPANIES + 'X0,"Open Quote Co,KZ,2020-01-01,46.21,\n' + rows)
    result = run(sqlite_url, "registry", "load", "--companies", str(path))
    assert result.exit_code == 2 and "internal error" not in result.stderr
    assert f"{path}:{COMPANIES.count(chr(10)) + 6001}: wrong number of values for the header" in result.stderr
