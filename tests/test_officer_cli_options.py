"""The officer commands' options: fixed sets are choices, dates say which date they
filter, decision references survive the shell, and rule statistics count shipments."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tempfile
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from conftest import CLEAN_CHIPS_DECLARATION, Prepared

from customs_rules.cli.base import main
from customs_rules.contract.choices import AUDIT_ACTIONS, DECISIONS, RESULTS

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SEED = FIXTURES / "declarations" / "aspan_arba_drones.json"  # dated 2022-11-15: a hold
REGISTRY = FIXTURES / "registry"
CLEAN = CLEAN_CHIPS_DECLARATION

# Options whose value is free by nature, each with why; every other option that takes a
# value must be a Choice (a fixed set), a number, a path or a date. A new free-text option
# has to be added here, which makes its author ask whether its values form a fixed set.
FREE_VALUES = {
    "--db": "a database URL",
    "--officer": "a person's id",
    "--note": "free text",
    "--exporter": "part of a name",
    "--rule": "a rule id: the set depends on what is stored (an unknown one is refused, see below)",
    "--cluster": "a scheduler address",
    "--expect": "a head hash `audit verify` printed (64 hex digits, checked)",
    "--sheet": "a workbook's sheet name (an unknown one is refused, naming the sheets)",
    "--party": "a company id (rules snooze)",
    "--reason": "free text (rules snooze, unsnooze)",
}
FIXED_SETS = {"--format": None, "--decision": DECISIONS, "--result": RESULTS, "--action": AUDIT_ACTIONS}


def cli(db: str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], input=input, catch_exceptions=False)


def rows(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def load(db: str) -> None:
    args = ["--companies", str(REGISTRY / "companies.csv"), "--people", str(REGISTRY / "people.csv")]
    assert cli(db, "-q", "registry", "load", *args, "--watchlist", str(REGISTRY / "watchlist.csv")).exit_code == 0


def write(tmp_path: Path, name: str, data: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def all_options() -> list[tuple[str, click.Option]]:
    found: list[tuple[str, click.Option]] = []

    def walk(command: click.Command, path: str) -> None:
        found.extend((path, p) for p in command.params if isinstance(p, click.Option))
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")

    walk(main, "customs-rules")
    return found


def _is_date(option: click.Option) -> bool:
    return getattr(option.callback, "__name__", "") == "_date"


# --- 6.4: every option whose values form a fixed set is a Choice --------------------------


def test_every_option_with_a_fixed_set_of_values_is_a_case_insensitive_choice() -> None:
    options = all_options()
    assert len(options) > 30
    unclassified = []
    for path, option in options:
        name = max(option.opts, key=len)
        if option.is_flag or option.hidden or name in ("--help", "--version"):
            continue
        kind = option.type
        if isinstance(kind, click.Choice):
            assert not kind.case_sensitive, f"{path} {name}: choices should take any case"
            if FIXED_SETS.get(name) is not None:
                assert tuple(kind.choices) == FIXED_SETS[name], f"{path} {name}"
            continue
        assert name not in FIXED_SETS, f"{path} {name} takes one of a fixed set: make it a click.Choice"
        if isinstance(kind, click.types._NumberParamTypeBase | click.Path) or _is_date(option):
            continue
        if name not in FREE_VALUES:
            unclassified.append(f"{path} {name}")
    assert unclassified == [], "free-text options: a click.Choice if the values form a fixed set, else FREE_VALUES"


@pytest.mark.parametrize(
    ("args", "option", "wrong"),
    [
        (["audit", "--action", "rejectd"], "--action", "rejectd"),
        (["decisions", "list", "--decision", "held"], "--decision", "held"),
        (["decisions", "list", "--format", "xml"], "--format", "xml"),
        (["stats", "rules", "--format", "yaml"], "--format", "yaml"),
        (["outcome", "#1", "--result", "seize"], "--result", "seize"),
    ],
)
def test_unknown_choices_are_refused_with_the_valid_ones(
    sqlite_url: str, args: list[str], option: str, wrong: str
) -> None:
    result = cli(sqlite_url, *args)
    assert result.exit_code == 2
    assert f"Invalid value for '{option}': '{wrong}' is not one of" in result.stderr
    assert result.stdout == ""


def test_audit_action_lists_its_choices_and_takes_any_case(sqlite_url: str, tmp_path: Path) -> None:
    refused = cli(sqlite_url, "audit", "--action", "rejectd")
    assert "'rejectd' is not one of " + ", ".join(f"'{a}'" for a in AUDIT_ACTIONS) in refused.stderr
    bad = dict(CLEAN, destination_country="XX")
    assert cli(sqlite_url, "submit", write(tmp_path, "bad.json", bad)).exit_code == 2
    (entry,) = rows(cli(sqlite_url, "audit", "--action", "REJECTED", "--format", "JSON"))
    assert entry["action"] == "rejected"
    assert rows(cli(sqlite_url, "decisions", "list", "--decision", "Hold", "--format", "Json")) == []


def test_every_action_the_audit_log_records_is_a_choice_of_audit_action(sqlite_url: str, tmp_path: Path) -> None:
    load(sqlite_url)
    cli(sqlite_url, "submit", str(SEED))
    cli(sqlite_url, "submit", str(SEED))  # again: a submit entry without a decision
    cli(sqlite_url, "submit", write(tmp_path, "bad.json", dict(CLEAN, destination_country="XX")))
    cli(sqlite_url, "-q", "screen", str(FIXTURES / "declarations" / "batch.jsonl"), "--format", "json")
    cli(sqlite_url, "outcome", "#1", "--result", "clean")
    cli(sqlite_url, "-q", "rescreen")
    actions = {e["action"] for e in rows(cli(sqlite_url, "audit", "--limit", "1000", "--format", "json"))}
    assert actions <= set(AUDIT_ACTIONS)
    assert len(actions) >= 7


def test_an_unknown_rule_is_refused_with_close_ids_and_a_known_silent_one_lists_nothing(two_dates: str) -> None:
    result = cli(two_dates, "decisions", "list", "--rule", "drones-ru-bx")
    assert result.exit_code == 2 and result.stdout == ""
    assert "Error: no rule 'drones-ru-bx' in any rule set used on this database" in result.stderr
    assert "hint: did you mean 'drones-ru-by'" in result.stderr
    nothing = cli(two_dates, "decisions", "list", "--rule", "zzz", "--format", "json")
    assert nothing.exit_code == 2 and "hint: see `customs-rules rules list`" in nothing.stderr
    # in the pack used, but it found nothing yet: an empty list, not an error
    assert rows(cli(two_dates, "decisions", "list", "--rule", "destination-transit-ru-by", "--format", "json")) == []
    assert len(rows(cli(two_dates, "decisions", "list", "--rule", "drones-ru-by", "--format", "json"))) == 1


# --- 6.3: each date option names the date it filters -------------------------------------


def _two_dates(db: str) -> None:
    load(db)
    assert cli(db, "submit", str(SEED)).exit_code == 0
    with tempfile.TemporaryDirectory() as folder:
        assert cli(db, "submit", write(Path(folder), "c.json", CLEAN)).exit_code == 0


@pytest.fixture()
def two_dates(db_url: str, prepared: Prepared) -> str:
    """AA-20221115-001 dated 2022-11-15 (#1, hold) and C-1 dated 2024-02-01 (#2), both screened today."""
    prepared.copy(db_url, _two_dates)
    return db_url


def ids(db: str, *args: str) -> list[str]:
    return [r["declaration_id"] for r in rows(cli(db, "decisions", "list", *args, "--format", "json"))]


def test_decisions_list_filters_by_declaration_date_or_screening_day(two_dates: str) -> None:
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert ids(two_dates, "--declared-since", "2023-01-01") == ["C-1"]
    assert ids(two_dates, "--declared-until", "2022-11-15") == ["AA-20221115-001"]  # the day itself included
    assert ids(two_dates, "--declared-since", "2022-11-15", "--declared-until", "2024-02-01") == [
        "C-1",
        "AA-20221115-001",
    ]
    assert ids(two_dates, "--screened-since", today, "--screened-until", today) == ["C-1", "AA-20221115-001"]
    assert ids(two_dates, "--screened-until", "2024-02-01") == []  # both were screened today
    assert ids(two_dates, "--screened-since", "2999-01-01") == []


def test_stats_and_rescreen_filter_by_the_date_they_name(two_dates: str) -> None:
    old = {
        r["rule_id"]
        for r in rows(cli(two_dates, "stats", "rules", "--declared-until", "2023-01-01", "--format", "json"))
    }
    assert "drones-ru-by" in old
    new = rows(cli(two_dates, "stats", "rules", "--declared-since", "2023-01-01", "--format", "json"))
    assert "drones-ru-by" not in {r["rule_id"] for r in new}
    assert rows(cli(two_dates, "stats", "rules", "--screened-until", "2000-01-01", "--format", "json")) == []
    result = cli(two_dates, "rescreen", "--declared-until", "2022-12-31", "--format", "json")
    assert result.exit_code == 0 and result.stderr.startswith("rescreened 1 declaration(s)")
    result = cli(two_dates, "rescreen", "--declared-since", "2024-02-01", "--declared-until", "2024-02-01")
    assert result.stderr.startswith("rescreened 1 declaration(s)")


@pytest.mark.parametrize(
    ("command", "instead"),
    [
        (["decisions", "list"], "--screened-since"),
        (["stats", "rules"], "--screened-since"),
        (["rescreen"], "--declared-since"),
    ],
)
def test_since_is_refused_with_the_name_of_what_it_meant(sqlite_url: str, command: list[str], instead: str) -> None:
    result = cli(sqlite_url, *command, "--since", "2024-01-01")
    assert result.exit_code == 2
    assert (
        f"Invalid value for '--since': --since was removed: it read as either date. Use {instead} (what --since filtered here)"
        in result.stderr
    )
    assert "--declared-since/--declared-until (the declaration's own date)" in result.stderr
    assert "--since" not in cli(sqlite_url, *command, "--help").stdout.replace("-since", "")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["decisions", "list", "--declared-since", "2024-13-01"],
            "Invalid value for '--declared-since': '2024-13-01' is not a date YYYY-MM-DD",
        ),
        (
            ["stats", "rules", "--screened-until", "20240101"],
            "Invalid value for '--screened-until': '20240101' is not a date YYYY-MM-DD",
        ),
        (
            ["rescreen", "--declared-since", "2024-03-01", "--declared-until", "2024-02-01"],
            "--declared-since 2024-03-01 is after --declared-until 2024-02-01: nothing can match",
        ),
    ],
)
def test_bad_dates_and_empty_periods_are_refused(sqlite_url: str, args: list[str], message: str) -> None:
    result = cli(sqlite_url, *args)
    assert result.exit_code == 2
    assert message in result.stderr


# --- 6.7: decision references that survive the shell -----------------------------------


@pytest.mark.parametrize("ref", ["#1", "1", "n1", "N1", " 1 "])
def test_a_decision_reference_works_with_or_without_the_hash(two_dates: str, ref: str) -> None:
    shown = cli(two_dates, "decisions", "show", ref, "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["reference"] == "#1"
    recorded = cli(two_dates, "outcome", ref, "--result", "clean")
    assert recorded.exit_code == 0 and "(#1)" in recorded.stderr


def test_a_number_that_is_also_a_declaration_id_is_refused_as_ambiguous(two_dates: str, tmp_path: Path) -> None:
    assert cli(two_dates, "submit", write(tmp_path, "one.json", dict(CLEAN, declaration_id="1"))).exit_code == 0
    result = cli(two_dates, "decisions", "show", "1")
    assert result.exit_code == 2
    assert "'1' is both declaration 1 (its latest decision #3) and decision #1" in result.stderr
    assert "hint: write the decision's reference in quotes, e.g. '#3' or '#1'" in result.stderr
    assert json.loads(cli(two_dates, "decisions", "show", "#1", "--format", "json").stdout)["declaration_id"] != "1"
    assert cli(two_dates, "outcome", "1", "--result", "clean").exit_code == 2


@pytest.mark.parametrize("ref", ["#x", "#", "n", "#99", "nope"])
def test_an_unknown_reference_is_refused(two_dates: str, ref: str) -> None:
    result = cli(two_dates, "decisions", "show", ref)
    assert result.exit_code == 2
    assert f"no decision {ref!r}" in result.stderr


def test_help_says_how_to_write_a_reference(sqlite_url: str) -> None:
    for command in (["decisions", "show"], ["outcome"]):
        text = " ".join(cli(sqlite_url, *command, "--help").stdout.split())
        assert "REF: #N (quoted: the shell drops what follows #), N or nN, or a declaration id" in text


# --- 6.6: rule statistics count shipments, with rates a reader cannot misread -------------


@pytest.fixture()
def amended(db_url: str, prepared: Prepared) -> str:
    """One shipment in two revisions (both held), seized; and C-1, never inspected."""
    prepared.copy(db_url, _amended)
    return db_url


def _amended(db: str) -> None:
    load(db)
    assert cli(db, "submit", str(SEED)).exit_code == 0
    seed = json.loads(SEED.read_text(encoding="utf-8"))
    seed["items"][0]["description"] = "amended: " + str(seed["items"][0].get("description"))
    with tempfile.TemporaryDirectory() as folder:
        second = cli(db, "submit", write(Path(folder), "rev2.json", seed), "--format", "json")
        assert json.loads(second.stdout)["revision"] == 2
        assert cli(db, "submit", write(Path(folder), "c.json", CLEAN)).exit_code == 0
    assert cli(db, "outcome", "#1", "--result", "seized").exit_code == 0


def test_a_shipment_counts_once_in_rule_stats(amended: str) -> None:
    stats = {r["rule_id"]: r for r in rows(cli(amended, "stats", "rules", "--format", "json"))}
    drones = stats["drones-ru-by"]
    assert drones == {
        "rule_id": "drones-ru-by",
        "hits": 1,
        "decided_hold": 1,
        "decided_inspect": 0,
        "with_outcome": 1,
        "confirmed": 1,
        "hit_rate": 1.0,
    }
    assert all(r["hits"] == 1 for r in stats.values())  # every rule found in one shipment


def test_rule_stats_table_names_its_columns_and_prints_rates_with_counts(amended: str, tmp_path: Path) -> None:
    three = dict(CLEAN, declaration_id="C-2", destination_country="RU", items=[{"hs_code": "8806.21"}])
    assert cli(amended, "submit", write(tmp_path, "c2.json", three)).exit_code == 0
    assert cli(amended, "outcome", "C-2", "--result", "clean").exit_code == 0
    table = cli(amended, "stats", "rules")
    assert table.exit_code == 0
    header = next(line for line in table.stdout.splitlines() if "declarations hit" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")] == [
        "rule",
        "declarations hit",
        "decided hold",
        "decided inspect",
        "with an outcome",
        "confirmed",
        "hit rate (confirmed / with an outcome)",
    ]
    drones = next(line for line in table.stdout.splitlines() if "drones-ru-by" in line)
    assert [c.strip() for c in drones.split("│")[1:-1]] == ["drones-ru-by", "2", "2", "0", "2", "1", "50% (1/2)"]
    assert "1.0" not in table.stdout and "0.5" not in table.stdout
    as_json = {r["rule_id"]: r for r in rows(cli(amended, "stats", "rules", "--format", "json"))}
    assert (as_json["drones-ru-by"]["hit_rate"], as_json["drones-ru-by"]["confirmed"]) == (0.5, 1)
    as_csv = list(csv.DictReader(io.StringIO(cli(amended, "stats", "rules", "--format", "csv").stdout)))
    assert as_csv[0].keys() == as_json["drones-ru-by"].keys()
    assert next(r for r in as_csv if r["rule_id"] == "drones-ru-by")["hit_rate"] == "0.5"


def test_rules_without_any_outcome_say_so(two_dates: str) -> None:
    as_json = rows(cli(two_dates, "stats", "rules", "--format", "json"))
    assert as_json and all((r["with_outcome"], r["hit_rate"]) == (0, None) for r in as_json)
    lines = [line for line in cli(two_dates, "stats", "rules").stdout.splitlines() if line.startswith("│")]
    assert len(lines) == len(as_json)
    assert all(line.split("│")[-2].strip() == "no outcome yet" for line in lines)


# --- 6.8: the form through `submit`, and country suggestions in files too -----------------


def test_declining_the_form_summary_stores_nothing(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from customs_rules.cli import officer as officer_cli

    monkeypatch.setattr(officer_cli, "stdin_is_terminal", lambda: True)
    answers = ["F-1", "", "", "", "Exporter", "", "", "Consignee", "", "", "KZ", "RU", "", "8806.21"]
    answers += ["", "", "", "", "", "", "", "", "n"]  # the item's optional fields, no other item; then decline
    result = cli(sqlite_url, "submit", input="\n".join(answers) + "\n")
    assert result.exit_code == 1 and result.stdout == ""
    assert "To be stored:" in result.stderr and "Not stored: nothing was screened or recorded." in result.stderr
    assert rows(cli(sqlite_url, "decisions", "list", "--format", "json")) == []
    assert rows(cli(sqlite_url, "audit", "--format", "json")) == []


def test_a_country_name_in_a_file_gets_the_code_it_probably_means(sqlite_url: str, tmp_path: Path) -> None:
    result = cli(sqlite_url, "submit", write(tmp_path, "d.json", dict(CLEAN, destination_country="Russia")))
    assert result.exit_code == 2
    assert (
        "field destination_country: unknown country 'Russia': expected an ISO 3166-1 alpha-2 code; "
        "did you mean RU (Russian Federation)?"
    ) in result.stderr
