"""Trusted traders, snoozes and random selection through the command line, on SQLite and
PostgreSQL: exact exit codes and messages, the evidence an officer sees, the audit chain."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import FIXTURES, ROOT, Prepared, load_fixture_registry, sql

from customs_rules.cli.base import main

SEED_DECL = FIXTURES / "declarations" / "aspan_arba_drones.json"
ASPAN = "190540218733"  # the exporter's BIN, as declared
NEBESNAYA = "7728412683"  # the consignee: declared without an id, found by the registry
TODAY = dt.datetime.now(dt.UTC).date()
SEED = "kz-risk-unit-secret-2026-0001"


def run(db: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], env=env, catch_exceptions=False)


def pack_with(tmp_path: Path, traders: str | None = None, policy: str = "") -> Path:
    rules = tmp_path / "pack" / "rules"
    shutil.copytree(ROOT / "rules", rules)
    if traders is not None:
        (rules / "lists" / "trusted_traders.yaml").write_text(traders, encoding="utf-8")
    if policy:
        with (rules / "policy.yaml").open("a", encoding="utf-8") as handle:
            handle.write(policy)
    return rules


def decisions(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def by_rule(decision: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["rule_id"]: f for f in decision["findings"]}


def declaration(tmp_path: Path, ident: str, day: str = "2022-11-15") -> str:
    body = json.loads(SEED_DECL.read_text(encoding="utf-8")) | {"declaration_id": ident, "date": day}
    path = tmp_path / f"{ident}.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    return str(path)


TRADERS = f"""kind: trusted_traders
source: test register
entries:
  - company_id: "{ASPAN}"
    name: Aspan Arba LLP
    country: KZ
    valid_from: "2022-01-01"
    valid_until: "2022-12-31"
    reference: AEO KZ/2022/0001
    roles: [exporter]
    rules:
      profile-activity-mismatch: waive
      linked-parties-listed-goods: {{action: release, score: 10}}
"""


def test_the_seed_case_screens_as_before(db_url: str, tmp_path: Path) -> None:
    load_fixture_registry(db_url)
    (found,) = decisions(run(db_url, "-q", "screen", str(SEED_DECL), "--format", "json", "--no-store"))
    assert (found["decision"], found["score"]) == ("hold", 390.0)
    assert not any("allowance" in f["evidence"] for f in found["findings"])


def test_a_trusted_trader_lowers_and_waives_as_of_the_declarations_date(db_url: str, tmp_path: Path) -> None:
    load_fixture_registry(db_url)
    rules = pack_with(tmp_path, TRADERS)
    inside, outside = declaration(tmp_path, "T-1", "2022-11-15"), declaration(tmp_path, "T-2", "2023-01-01")
    found = decisions(run(db_url, "-q", "screen", inside, outside, "--format", "json", "--rules", str(rules)))
    lowered, plain = found
    assert (lowered["decision"], lowered["score"]) == ("hold", 300.0)  # 390 - 40 (waived) - 50 (60 lowered to 10)
    assert (plain["decision"], plain["score"]) == ("hold", 390.0)  # dated after the entry's validity
    waived, cut = by_rule(lowered)["profile-activity-mismatch"], by_rule(lowered)["linked-parties-listed-goods"]
    assert (waived["action"], waived["score"], cut["action"], cut["score"]) == ("release", 0.0, "release", 10.0)
    assert waived["evidence"]["allowance"] == {
        "value": "waived: exporter is a trusted trader (AEO KZ/2022/0001)", "effect": "waived",
        "rule_action": "inspect", "rule_score": 40.0, "kind": "trusted_trader", "role": "exporter",
        "company_id": ASPAN, "name": "Aspan Arba LLP", "reference": "AEO KZ/2022/0001",
        "valid_from": "2022-01-01", "valid_until": "2022-12-31", "list": "rules/lists/trusted_traders.yaml:4",
    }  # fmt: skip
    assert cut["evidence"]["allowance"]["effect"] == "lowered"
    assert "item.domestic_party_activity_covers" in waived["evidence"]  # what the rule found stays visible
    # the stored decision explains the same
    shown = run(db_url, "decisions", "show", "T-1", "--format", "json")
    assert shown.exit_code == 0
    assert by_rule(json.loads(shown.stdout))["profile-activity-mismatch"]["evidence"]["allowance"]["effect"] == "waived"
    assert run(db_url, "audit", "verify").exit_code == 0


def test_a_trusted_trader_entry_counts_from_its_first_to_its_last_day_only(db_url: str, tmp_path: Path) -> None:
    load_fixture_registry(db_url)
    rules = pack_with(tmp_path, TRADERS)  # valid 2022-01-01 to 2022-12-31, both included
    days = {"B-1": "2021-12-31", "B-2": "2022-01-01", "B-3": "2022-12-31", "B-4": "2023-01-01"}
    paths = [declaration(tmp_path, ident, day) for ident, day in days.items()]
    found = decisions(run(db_url, "-q", "screen", *paths, "--format", "json", "--no-store", "--rules", str(rules)))
    assert {d["declaration_id"]: d["score"] for d in found} == {"B-1": 390.0, "B-2": 300.0, "B-3": 300.0, "B-4": 390.0}


def test_a_snooze_past_its_day_no_longer_applies(db_url: str, tmp_path: Path) -> None:
    load_fixture_registry(db_url)
    path = declaration(tmp_path, "Z-1")
    assert snooze(db_url, "profile-activity-mismatch", "--party", ASPAN, "--until", TODAY.isoformat(), "--reason",
                  "until the registry reload").exit_code == 0  # fmt: skip
    (today,) = decisions(run(db_url, "-q", "screen", path, "--format", "json", "--no-store"))
    assert by_rule(today)["profile-activity-mismatch"]["action"] == "release" and today["score"] == 350.0
    # the day has passed (moved by hand: the tool never sets a day before today)
    sql(db_url, f"UPDATE snooze SET until = '{(TODAY - dt.timedelta(days=1)).isoformat()}'")
    (later,) = decisions(run(db_url, "-q", "screen", path, "--format", "json", "--no-store"))
    assert "allowance" not in by_rule(later)["profile-activity-mismatch"]["evidence"] and later["score"] == 390.0
    expired = run(db_url, "rules", "snoozes", "--state", "expired", "--format", "json")
    assert [json.loads(line)["id"] for line in expired.stdout.splitlines()] == [1]
    assert run(db_url, "rules", "snoozes", "--state", "active", "--format", "json").stdout == ""


def test_a_trusted_exporter_is_not_trusted_as_a_consignee(db_url: str, tmp_path: Path) -> None:
    load_fixture_registry(db_url)
    rules = pack_with(tmp_path, TRADERS.replace("roles: [exporter]", "roles: [consignee]"))
    (found,) = decisions(run(db_url, "-q", "screen", str(SEED_DECL), "--format", "json", "--no-store",
                             "--rules", str(rules)))  # fmt: skip
    assert found["score"] == 390.0


BAD_TRADERS = f"""kind: trusted_traders
source: test register
entries:
  - company_id: "{ASPAN}"
    valid_from: "2022-01-01"
    reference: AEO 1
    rules:
      drones-ru-by: waive
      no-such-rule: waive
      profile-activity-mismatch: {{action: inspect}}
  - company_id: "{ASPAN}"
    valid_from: "2022-06-01"
    valid_until: "2022-12-31"
    reference: AEO 2
    rules: {{profile-new-company: waive}}
  - company_id: "{ASPAN}"
    valid_from: "2023-01-01"
    reference: AEO 3
    colour: green
    rules:
      linked-parties-listed-goods: {{action: inspect, score: 120}}
  - name: no id
    valid_from: "2024-01-01"
    valid_until: "2024-02-30"
    reference: AEO 4
    rules: {{profile-new-company: waive}}
"""


def test_a_bad_trusted_trader_list_is_refused_with_located_errors(sqlite_url: str, tmp_path: Path) -> None:
    rules = pack_with(tmp_path, BAD_TRADERS)
    result = run(sqlite_url, "rules", "validate", "--rules", str(rules))
    assert result.exit_code == 2
    lines = [line.strip() for line in result.stderr.splitlines()]
    where = "rules/lists/trusted_traders.yaml"
    expected = [
        f"{where}:19, field entries[3].colour: unknown key 'colour'; entry keys are: company_id, country, name, "
        "reference, roles, rules, valid_from, valid_until",
        f"{where}:22, field entries[4]: missing required key 'company_id'",
        f"{where}:24, field entries[4].valid_until: valid_until must be a date YYYY-MM-DD, got '2024-02-30'",
        f"{where}:8, field rules.drones-ru-by: rule 'drones-ru-by' is marked waivable: false (sanctions, the "
        "watchlist): no trusted trader may lower it",
        f"{where}:9, field rules.no-such-rule: unknown rule 'no-such-rule'",
        f"{where}:10, field rules.profile-activity-mismatch: lowers nothing: rule 'profile-activity-mismatch' is "
        "inspect with score 40; give a lower action or score, or `waive`",
        f"{where}:21, field rules.linked-parties-listed-goods: lowers nothing: rule 'linked-parties-listed-goods' "
        "is inspect with score 60; give a lower action or score, or `waive`",
        f"{where}:11, field valid_from: company {ASPAN} has another entry in force on the same days "
        f"({where}:4): merge them or make their validity dates not overlap",
    ]
    for line in expected:
        assert line in lines, result.stderr
    assert len(lines) == len(expected) + 1  # and the head line (a pack error gives no hint here)
    assert "Traceback" not in result.output


def test_a_lowering_that_still_holds_by_score_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    rules = pack_with(tmp_path, TRADERS.replace("{action: release, score: 10}", "{action: release}"))
    policy = rules / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8").replace("hold: 100", "hold: 50"), encoding="utf-8")
    result = run(sqlite_url, "rules", "validate", "--rules", str(rules))
    assert result.exit_code == 2
    assert ("rules/lists/trusted_traders.yaml:13, field rules.linked-parties-listed-goods: lowered to release but "
            "its score 60 alone still reaches the hold threshold 50: give a score below it") in result.stderr  # fmt: skip


def snooze(db: str, *args: str) -> Result:
    return run(db, "rules", "snooze", *args)


def test_snoozes_are_set_applied_listed_lifted_and_sealed(db_url: str, tmp_path: Path) -> None:
    load_fixture_registry(db_url)
    until = (TODAY + dt.timedelta(days=30)).isoformat()
    set_ = snooze(db_url, "linked-parties-listed-goods", "--party", NEBESNAYA, "--until", until, "--reason",
                  "case 17: the shared director is checked", "--officer", "kz-042")  # fmt: skip
    assert set_.exit_code == 0
    assert set_.stderr == f"snoozed linked-parties-listed-goods for party {NEBESNAYA} until {until} (#1), by kz-042\n"
    # submit applies it: the consignee declared no id, the registry found it
    submitted = run(db_url, "submit", declaration(tmp_path, "S-1"), "--format", "json", "--officer", "kz-042")
    assert submitted.exit_code == 0, submitted.output
    decision = json.loads(submitted.stdout)
    note = by_rule(decision)["linked-parties-listed-goods"]["evidence"]["allowance"]
    assert (decision["score"], note["kind"], note["role"], note["snooze"], note["officer"]) == (
        330.0, "snooze", "consignee", 1, "kz-042")  # fmt: skip
    assert note["reason"] == "case 17: the shared director is checked"
    listed = run(db_url, "rules", "snoozes", "--format", "json")
    assert listed.exit_code == 0
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["id"], row["state"], row["party"], row["until"]) == (1, "active", NEBESNAYA, until)
    lifted = run(db_url, "rules", "unsnooze", "#1", "--reason", "case closed", "--officer", "kz-007")
    assert lifted.exit_code == 0
    assert lifted.stderr == f"lifted snooze #1 (linked-parties-listed-goods for party {NEBESNAYA}), by kz-007\n"
    again = run(db_url, "rules", "unsnooze", "1")
    assert again.exit_code == 2 and "snooze #1 was already lifted by kz-007" in again.stderr
    assert run(db_url, "rules", "unsnooze", "9").exit_code == 2
    assert run(db_url, "rules", "unsnooze", "x1").exit_code == 2
    # lifted: a rescreen counts the rule again
    rescreened = run(db_url, "rescreen", "--format", "json", "--officer", "kz-042")
    assert rescreened.exit_code == 0, rescreened.output
    states = run(db_url, "rules", "snoozes", "--state", "lifted", "--format", "csv")
    assert states.stdout.splitlines()[1].startswith(f"1,linked-parties-listed-goods,{NEBESNAYA},{until},lifted,")
    audit = run(db_url, "audit", "--format", "json")
    actions = [json.loads(line)["action"] for line in audit.stdout.splitlines()]
    assert actions.count("snooze") == 1 and actions.count("unsnooze") == 1
    assert run(db_url, "audit", "verify").exit_code == 0
    # an edit behind the tool's back is named
    sql(db_url, f"UPDATE snooze SET until = '{(TODAY + dt.timedelta(days=900)).isoformat()}'")
    verify = run(db_url, "audit", "verify")
    assert verify.exit_code == 2
    assert "snooze #1 no longer says what audit entry" in verify.output


def test_a_rescreen_applies_an_active_snooze(db_url: str, tmp_path: Path) -> None:
    load_fixture_registry(db_url)
    assert run(db_url, "-q", "screen", declaration(tmp_path, "R-1"), "--format", "json").exit_code == 0
    until = TODAY.isoformat()  # the last day it applies: today
    assert snooze(db_url, "profile-activity-mismatch", "--party", "1905 4021 8733", "--until", until, "--reason",
                  "profile updated, registry reload pending").exit_code == 0  # fmt: skip
    result = run(db_url, "rescreen", "--format", "json")
    assert result.exit_code == 0, result.output
    shown = json.loads(run(db_url, "decisions", "show", "R-1", "--format", "json").stdout)
    note = by_rule(shown)["profile-activity-mismatch"]["evidence"]["allowance"]
    assert (note["party"], note["until"], shown["score"]) == (ASPAN, until, 350.0)
    assert run(db_url, "audit", "verify").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["drones-ru-by", "--until", "{today}"],
         "rule drones-ru-by is marked waivable: false (sanctions, the watchlist): it cannot be snoozed"),
        (["watchlist-party", "--until", "{today}"], "rule watchlist-party is marked waivable: false"),
        (["drones-ru-bi", "--until", "{today}"], "no rule 'drones-ru-bi' in the pack\nhint: did you mean 'drones-ru-by'?"),
        (["profile-new-company", "--until", "2020-01-01"], "--until 2020-01-01 must lie from today"),
        (["profile-new-company", "--until", "{far}"], "days ahead\nhint: for longer, add the company to rules/lists"),
        (["profile-new-company", "--until", "{today}", "--party", "--"], "--party '--' must be a company id"),
        (["profile-new-company", "--until", "{today}", "--reason", "  "], "--reason must say why"),
        (["profile-new-company", "--until", "{today}", "--reason", "a\x1b[31m"], "--reason"),
    ],
)  # fmt: skip
def test_a_bad_snooze_is_refused_and_nothing_stored(
    db_url: str, prepared: Prepared, args: list[str], message: str
) -> None:
    prepared.copy(db_url, load_fixture_registry)
    values = {"today": TODAY.isoformat(), "far": (TODAY + dt.timedelta(days=367)).isoformat()}
    given = [a.format(**values) for a in args]
    given += [] if "--party" in given else ["--party", ASPAN]
    given += [] if "--reason" in given else ["--reason", "why"]
    result = snooze(db_url, *given)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert run(db_url, "rules", "snoozes", "--format", "json").stdout == ""


def test_snooze_commands_never_create_a_database(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'none.db'}"
    for args in (["rules", "snoozes"], ["rules", "unsnooze", "1"],
                 ["rules", "snooze", "profile-new-company", "--party", ASPAN, "--until", TODAY.isoformat(),
                  "--reason", "x"]):  # fmt: skip
        result = run(db, *args)
        assert result.exit_code == 2 and "no database at" in result.stderr, args
    assert not (tmp_path / "none.db").exists()


POLICY = "random_selection:\n  share: 0.5\n"


def test_random_selection_is_off_without_a_seed_and_says_so(sqlite_url: str, tmp_path: Path) -> None:
    load_fixture_registry(sqlite_url)
    rules = pack_with(tmp_path, policy=POLICY)
    result = run(sqlite_url, "screen", str(FIXTURES / "shipments.csv"), "--format", "csv", "--no-store", "--rules",
                 str(rules), env={"CUSTOMS_RULES_RANDOM_SEED": "", "CUSTOMS_RULES_RANDOM_SEED_FILE": ""})  # fmt: skip
    assert result.exit_code == 0
    assert ("warning: the policy's random_selection is OFF: no seed in $CUSTOMS_RULES_RANDOM_SEED or "
            "$CUSTOMS_RULES_RANDOM_SEED_FILE; no declaration is selected at random") in result.stderr  # fmt: skip
    assert "random-selection" not in result.stdout


def test_random_selection_is_reproducible_and_reveals_no_seed(sqlite_url: str, tmp_path: Path) -> None:
    load_fixture_registry(sqlite_url)
    rules = pack_with(tmp_path, policy=POLICY)
    seed_file = tmp_path / "seed"
    seed_file.write_text(SEED + "\n", encoding="utf-8")
    common = ["-q", "screen", str(FIXTURES / "shipments.csv"), "--format", "json", "--no-store", "--rules", str(rules)]
    by_env = decisions(run(sqlite_url, *common, "--workers", "1", env={"CUSTOMS_RULES_RANDOM_SEED": SEED}))
    by_file = decisions(
        run(
            sqlite_url,
            *common,
            "--workers",
            "2",
            env={"CUSTOMS_RULES_RANDOM_SEED": "", "CUSTOMS_RULES_RANDOM_SEED_FILE": str(seed_file)},
        )
    )
    plain = decisions(run(sqlite_url, *common, "--workers", "1", env={"CUSTOMS_RULES_RANDOM_SEED": ""}))
    for found in (by_env, by_file):
        for d in found:
            d.pop("screened_at")
    assert by_env == by_file  # the same seed: the same draw, whatever the workers
    picked = [d for d in by_env if "random-selection" in by_rule(d)]
    released = [d for d in plain if d["decision"] == "release"]
    assert 0.3 < len(picked) / len(released) < 0.7  # 140 released at a share of 0.5
    for d in picked:
        (finding,) = [f for f in d["findings"] if f["rule_id"] == "random-selection"]
        assert (d["decision"], finding["title"], finding["action"], finding["score"]) == (
            "inspect", "Random selection", "inspect", 0.0)  # fmt: skip
        assert SEED not in json.dumps(d)
    other = decisions(run(sqlite_url, *common, env={"CUSTOMS_RULES_RANDOM_SEED": SEED[::-1]}))
    assert {d["declaration_id"] for d in other if "random-selection" in by_rule(d)} != {
        d["declaration_id"] for d in picked}  # fmt: skip


def test_a_bad_seed_is_refused(sqlite_url: str, tmp_path: Path) -> None:
    load_fixture_registry(sqlite_url)
    rules = pack_with(tmp_path, policy=POLICY)
    short = run(sqlite_url, "screen", str(SEED_DECL), "--rules", str(rules), "--no-store",
                env={"CUSTOMS_RULES_RANDOM_SEED": "short"})  # fmt: skip
    assert short.exit_code == 2
    assert "$CUSTOMS_RULES_RANDOM_SEED: the random-selection seed must be at least 16 characters, got 5" in short.stderr
    missing = run(
        sqlite_url,
        "screen",
        str(SEED_DECL),
        "--rules",
        str(rules),
        "--no-store",
        env={"CUSTOMS_RULES_RANDOM_SEED": "", "CUSTOMS_RULES_RANDOM_SEED_FILE": str(tmp_path / "no")},
    )
    assert missing.exit_code == 2
    assert "cannot read the seed file" in missing.stderr


def test_a_bad_random_selection_policy_is_located(sqlite_url: str, tmp_path: Path) -> None:
    rules = pack_with(tmp_path, policy="random_selection:\n  share: 0.9\n")
    result = run(sqlite_url, "rules", "validate", "--rules", str(rules))
    assert result.exit_code == 2
    assert "rules/policy.yaml:29, field random_selection.share: share must be a number above 0 and at most 0.5, got 0.9" in (
        result.stderr)  # fmt: skip


def test_a_rule_may_not_take_the_random_selections_id(sqlite_url: str, tmp_path: Path) -> None:
    rules = pack_with(tmp_path, policy=POLICY)
    profile = rules / "profile" / "profile.yaml"
    profile.write_text(profile.read_text(encoding="utf-8").replace("id: profile-new-company", "id: random-selection"),
                       encoding="utf-8")  # fmt: skip
    result = run(sqlite_url, "rules", "validate", "--rules", str(rules))
    assert result.exit_code == 2
    assert ("rules/policy.yaml:28, field random_selection: rule id 'random-selection' is taken by random selection: "
            "rename the rule") in result.stderr  # fmt: skip
