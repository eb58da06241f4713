"""Publishing rule packs with four eyes (issue #14, 7): `rules publish` stores a validated
pack as proposed, `rules approve` by another officer makes it the pack every post on the
database screens with, `rules reject` withdraws or refuses it, `rules history` lists them;
every step is in the audit chain. On SQLite and on PostgreSQL (CUSTOMS_RULES_TEST_PG)."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, ROOT, load_fixture_registry, sql

from customs_rules.cli.base import main
from customs_rules.contract.errors import FourEyesError, PackError
from customs_rules.rules.loader import load_pack
from customs_rules.store import Store

BUNDLED = ROOT / "rules"
SEED = FIXTURES / "declarations" / "aspan_arba_drones.json"
HISTORY_HINT = "hint: customs-rules rules history lists the packs with their numbers and status\n"


def cli(db: str, *args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False, env=env)


def candidate(tmp_path: Path, name: str = "candidate", score: int = 120) -> Path:
    """The bundled pack with the drones-ru-by rule's score changed."""
    folder = tmp_path / name
    shutil.copytree(BUNDLED, folder)
    drones = folder / "drones" / "drones.yaml"
    drones.write_text(drones.read_text(encoding="utf-8").replace("score: 100\n", f"score: {score}\n", 1), "utf-8")
    return folder


def version(folder: Path) -> str:
    return load_pack(folder).version


def publish(db: str, folder: Path, officer: str = "kz-042", *extra: str) -> Any:
    return cli(db, "-q", "rules", "publish", "--rules", str(folder), "--officer", officer, *extra)


def history(db: str, *extra: str) -> list[dict[str, Any]]:
    shown = cli(db, "rules", "history", "--format", "json", *extra)
    assert shown.exit_code == 0, shown.output
    return [json.loads(line) for line in shown.stdout.splitlines()]


def audit_actions(db: str) -> list[tuple[str, str, str]]:
    shown = cli(db, "audit", "--format", "json", "--limit", "1000")
    assert shown.exit_code == 0, shown.output
    return [(e["action"], e["actor"], e["subject"]) for e in map(json.loads, shown.stdout.splitlines())]


def test_publish_then_another_officer_approves(db_url: str, tmp_path: Path) -> None:
    folder = candidate(tmp_path)
    v = version(folder)
    published = cli(db_url, "rules", "publish", "--rules", str(folder), "--officer", "kz-042", "--note", "drones 120")
    assert published.exit_code == 0, published.output
    assert published.stdout == f"proposed #1: {v} by kz-042\n"
    assert published.stderr == (
        "against the bundled pack: 0 rule(s) added, 0 removed, 1 changed; 0 policy value(s) and 0 list file(s) "
        "changed\nanother officer makes it active: customs-rules rules approve 1 --officer NAME\n"
    )
    # the same officer, however the name is written, is refused: four eyes
    same = cli(db_url, "rules", "approve", "1", "--officer", " KZ-042 ")
    assert same.exit_code == 3
    assert same.stdout == ""
    assert same.stderr == (
        "Error: #1 was proposed by kz-042: the same officer cannot approve it (four eyes); nothing was changed\n"
        "hint: another officer approves it: customs-rules rules approve 1 --officer NAME (or withdraw it: "
        "customs-rules rules reject 1)\n"
    )
    assert [row["status"] for row in history(db_url)] == ["proposed"]
    approved = cli(db_url, "rules", "approve", "#1", "--officer", "kz-007", "--note", "checked the backtest")
    assert approved.exit_code == 0, approved.output
    assert approved.stdout == f"approved #1: {v} by kz-007, proposed by kz-042: the active pack\n"
    (row,) = history(db_url)
    assert row["status"] == "active" and row["version"] == v and row["source"] == str(folder)
    assert (row["proposed_by"], row["decided_by"], row["note"], row["decision_note"]) == (
        "kz-042", "kz-007", "drones 120", "checked the backtest",
    )  # fmt: skip
    assert row["proposed_at"].endswith("Z") and row["decided_at"] >= row["proposed_at"]
    # every step is in the audit chain, which still verifies
    steps = [a for a in audit_actions(db_url) if a[0].startswith("ruleset")]
    assert steps == [("ruleset", "kz-042", v), ("ruleset_publish", "kz-042", v), ("ruleset_approve", "kz-007", v)]
    verified = cli(db_url, "audit", "verify")
    assert verified.exit_code == 0, verified.output


def test_a_new_approval_supersedes_the_active_pack(db_url: str, tmp_path: Path) -> None:
    first, second = candidate(tmp_path, "one", 110), candidate(tmp_path, "two", 130)
    assert publish(db_url, first).exit_code == 0
    assert cli(db_url, "rules", "approve", "1", "--officer", "kz-007").exit_code == 0
    assert publish(db_url, second, "kz-007").exit_code == 0
    approved = cli(db_url, "rules", "approve", version(second)[:15], "--officer", "kz-042")  # by its version
    assert approved.exit_code == 0, approved.output
    assert (
        approved.stdout
        == f"approved #2: {version(second)} by kz-042, proposed by kz-007: the active pack; #1 superseded\n"
    )
    rows = history(db_url)
    assert [(r["pack"], r["status"], r["superseded_by"]) for r in rows] == [(1, "superseded", 2), (2, "active", None)]
    assert rows[0]["superseded_at"] == rows[1]["decided_at"]
    table = cli(db_url, "rules", "history")
    assert table.exit_code == 0 and "superseded" in table.stdout and "#2" in table.stdout
    csv = cli(db_url, "rules", "history", "--format", "csv")
    assert (
        csv.stdout.splitlines()[0] == "pack,version,status,proposed_by,proposed_at,decided_by,decided_at,note,backtest"
    )
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_refusals_say_why_and_change_nothing(db_url: str, tmp_path: Path) -> None:
    folder = candidate(tmp_path)
    v = version(folder)
    nothing = cli(db_url, "rules", "approve", "1", "--officer", "kz-007")  # no customs-rules database yet
    assert nothing.exit_code == 2 and nothing.stderr.startswith("Error: no ")
    assert publish(db_url, folder).exit_code == 0
    again = publish(db_url, folder, "kz-001")
    assert again.exit_code == 2
    assert again.stderr == (
        f"Error: {v} is already #1, proposed by kz-042: nothing was stored\n"
        "hint: approve or reject #1; customs-rules rules history lists the packs with their numbers and status\n"
    )
    missing = cli(db_url, "rules", "approve", "9", "--officer", "kz-007")
    assert (missing.exit_code, missing.stderr) == (2, "Error: no rule pack #9 on this database\n" + HISTORY_HINT)
    nonsense = cli(db_url, "rules", "approve", "latest", "--officer", "kz-007")
    assert nonsense.exit_code == 2
    assert nonsense.stderr == (
        "Error: 'latest' names no rule pack: give its number (3 or '#3') or its version (sha256:, at least 8 hex "
        "digits)\n" + HISTORY_HINT
    )
    assert cli(db_url, "rules", "approve", "1", "--officer", "kz-007").exit_code == 0
    twice = cli(db_url, "rules", "approve", "1", "--officer", "kz-008")
    assert twice.exit_code == 2
    assert twice.stderr == (
        "Error: cannot approve #1: only a proposed pack can be, and it is already the active pack (approved by "
        "kz-007)\n" + HISTORY_HINT
    )
    active = publish(db_url, folder, "kz-001")
    assert active.exit_code == 2 and f"{v} is already #1, the active pack: nothing was stored" in active.stderr
    reject_active = cli(db_url, "rules", "reject", "1", "--officer", "kz-008")
    assert reject_active.exit_code == 2 and "cannot reject #1: only a proposed pack can be" in reject_active.stderr
    assert [r["status"] for r in history(db_url)] == ["active"]
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_reject_and_withdraw(db_url: str, tmp_path: Path) -> None:
    one, two = candidate(tmp_path, "one", 110), candidate(tmp_path, "two", 130)
    assert publish(db_url, one).exit_code == 0
    assert publish(db_url, two).exit_code == 0
    rejected = cli(db_url, "rules", "reject", "1", "--officer", "kz-007", "--note", "too strict")
    assert (rejected.exit_code, rejected.stdout) == (0, f"rejected #1: {version(one)} by kz-007\n")
    withdrawn = cli(db_url, "rules", "reject", "2", "--officer", "KZ-042")
    assert (withdrawn.exit_code, withdrawn.stdout) == (0, f"withdrawn #2: {version(two)} by KZ-042\n")
    late = cli(db_url, "rules", "approve", "1", "--officer", "kz-009")
    assert late.exit_code == 2
    assert late.stderr == (
        "Error: cannot approve #1: only a proposed pack can be, and kz-007 rejected it (publish its folder again to "
        "propose it anew)\n" + HISTORY_HINT
    )
    assert publish(db_url, one).exit_code == 0  # proposed anew, as #3
    rows = history(db_url)
    assert [(r["pack"], r["status"], r["decision_note"]) for r in rows] == [
        (1, "rejected", "too strict"), (2, "withdrawn", None), (3, "proposed", None),
    ]  # fmt: skip
    assert [a[0] for a in audit_actions(db_url) if a[0].startswith("ruleset_")] == [
        "ruleset_publish", "ruleset_publish", "ruleset_reject", "ruleset_reject", "ruleset_publish",
    ]  # fmt: skip
    only = cli(db_url, "audit", "--action", "ruleset_reject", "--format", "json")
    details = [json.loads(json.loads(line)["details"]) for line in only.stdout.splitlines()]
    assert [d["status"] for d in details] == ["rejected", "withdrawn"]
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_a_broken_pack_is_refused_whole_with_every_error(db_url: str, tmp_path: Path) -> None:
    folder = candidate(tmp_path)
    chpl = folder / "dual-use" / "chpl.yaml"
    chpl.write_text(chpl.read_text(encoding="utf-8").replace("action: hold", "action: stop", 1), "utf-8")
    drones = folder / "drones" / "drones.yaml"
    drones.write_text(drones.read_text(encoding="utf-8").replace("in_list: [drones, drone_parts]",
                                                                   "in_list: [drones, dronez]", 1), "utf-8")  # fmt: skip
    refused = publish(db_url, folder)
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr.startswith(f"Error: rule pack {folder} is broken; nothing was evaluated (2 errors):\n")
    assert "candidate/dual-use/chpl.yaml:" in refused.stderr and "field action: action must be one of" in refused.stderr
    assert "candidate/drones/drones.yaml:" in refused.stderr and "dronez" in refused.stderr
    assert history(db_url) == [] and audit_actions(db_url) == []  # nothing stored
    empty = cli(db_url, "rules", "history", "--format", "csv")
    assert empty.stdout == "pack,version,status,proposed_by,proposed_at,decided_by,decided_at,note,backtest\n"
    assert empty.stderr == "no rule pack was published on this database: commands use the bundled pack\n"


def test_a_pack_whose_examples_fail_is_refused(db_url: str, tmp_path: Path) -> None:
    folder = candidate(tmp_path)
    drones = folder / "drones" / "drones.yaml"
    text = drones.read_text(encoding="utf-8")
    drones.write_text(text.replace('{item.hs_code: "8806.21", declaration.destination_country: DE}',
                                   '{item.hs_code: "8806.21", declaration.destination_country: RU}', 1), "utf-8")  # fmt: skip
    line = text.splitlines().index('    - {item.hs_code: "8806.21", declaration.destination_country: DE}') + 1
    refused = publish(db_url, folder)
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"Error: rule pack {folder}: 1 example(s) fail; nothing was stored (1 error):\n"
        f"  candidate/drones/drones.yaml:{line}, field examples: rule drones-ru-by should not fire but fired\n"
        f"hint: customs-rules rules test --rules {folder} runs them\n"
    )
    assert history(db_url) == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[1, 2]", "backtest.json: a backtest summary is a JSON object, not list"),
        ('{"changed": 3,\n "share": NaN}', "backtest.json: NaN is not a JSON number"),
        ('{"changed": 3,\n "share": }', "backtest.json:2: not JSON: Expecting value (column 11)"),
        (b"\xff{}", "backtest.json: not UTF-8 text (byte 0)"),
        ('{"a":' * 40 + "1" + "}" * 40, "backtest.json: nested deeper than 32 levels"),
        ('{"candidate_version": "sha256:0000"}', "backtest.json, field candidate_version: the backtest ran on "
         "'sha256:0000', not on the pack being published (VERSION)"),
        (None, "backtest.json: cannot read it: No such file or directory"),
    ],
)  # fmt: skip
def test_the_backtest_summary_is_one_json_object(tmp_path: Path, content: str | bytes | None, problem: str) -> None:
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    folder = candidate(tmp_path)
    summary = tmp_path / "backtest.json"
    if content is not None:
        summary.write_bytes(content if isinstance(content, bytes) else content.encode())
    refused = CliRunner().invoke(main, ["--db", db, "rules", "publish", "--rules", str(folder), "--officer", "a",
                                        "--backtest", str(summary)], catch_exceptions=False)  # fmt: skip
    assert refused.exit_code == 2
    shown = problem.replace("VERSION", version(folder))
    assert refused.stderr == f"Error: backtest summary refused: {tmp_path}/{shown}; nothing was stored\n"
    assert history(db) == []


def test_the_backtest_summary_is_stored_and_shown(db_url: str, tmp_path: Path) -> None:
    folder = candidate(tmp_path)
    summary = {"candidate_version": version(folder), "declarations": 1200, "changed": 14, "load": {"hold": 0.03}}
    (tmp_path / "bt.json").write_text(json.dumps(summary), "utf-8")
    assert publish(db_url, folder, "kz-042", "--backtest", str(tmp_path / "bt.json")).exit_code == 0
    (row,) = history(db_url)
    assert row["backtest"] == summary
    csv = cli(db_url, "rules", "history", "--format", "csv").stdout.splitlines()
    assert csv[1].endswith(',"{""candidate_version"":""' + version(folder) + '"",""declarations"":1200,""changed"":14,'
                           '""load"":{""hold"":0.03}}"')  # fmt: skip
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_posts_screen_with_the_active_pack(db_url: str, tmp_path: Path) -> None:
    load_fixture_registry(db_url)
    folder = candidate(tmp_path, score=120)
    v, bundled = version(folder), version(BUNDLED)
    # nothing published: the bundled pack
    before = cli(db_url, "screen", str(SEED), "--format", "json", "--no-store")
    assert json.loads(before.stdout)["ruleset_version"] == bundled
    assert "screening with" not in before.stderr
    assert publish(db_url, folder).exit_code == 0
    proposed = cli(db_url, "-q", "screen", str(SEED), "--format", "json", "--no-store")
    assert json.loads(proposed.stdout)["ruleset_version"] == bundled  # a proposal is not in force
    assert cli(db_url, "rules", "approve", "1", "--officer", "kz-007").exit_code == 0
    # one post screens a batch, another submits: both with the active pack
    screened = cli(db_url, "screen", str(SEED), "--format", "json")
    assert screened.exit_code == 0, screened.output
    assert screened.stderr.startswith("screening with the active pack #1 (approved by kz-007)\n")
    decision = json.loads(screened.stdout)
    assert decision["ruleset_version"] == v
    assert next(f for f in decision["findings"] if f["rule_id"] == "drones-ru-by")["score"] == 120.0
    (tmp_path / "post2.json").write_text(SEED.read_text().replace("AA-20221115-001", "POST-2"), "utf-8")
    submitted = cli(db_url, "submit", str(tmp_path / "post2.json"), "--officer", "kz-100", "--format", "json")
    assert submitted.exit_code == 0, submitted.output
    assert json.loads(submitted.stdout)["ruleset_version"] == v
    shown = cli(db_url, "decisions", "show", "POST-2", "--format", "json")
    assert json.loads(shown.stdout)["ruleset_version"] == v
    # --rules still overrides
    override = cli(db_url, "-q", "screen", str(SEED), "--format", "json", "--no-store", "--rules", str(BUNDLED))
    assert json.loads(override.stdout)["ruleset_version"] == bundled
    rescreened = cli(db_url, "rescreen", "--format", "json")
    assert rescreened.exit_code == 0, rescreened.output
    again = json.loads(cli(db_url, "decisions", "show", "POST-2", "--format", "json").stdout)
    assert (again["kind"], again["ruleset_version"]) == ("rescreen", v)
    # a backtest's baseline is the pack in force too
    summary = tmp_path / "summary.json"
    backtested = cli(db_url, "-q", "backtest", "--rules", str(BUNDLED), "--workers", "1", "--summary", str(summary))
    assert backtested.exit_code == 0, backtested.output
    baseline = json.loads(summary.read_text(encoding="utf-8"))["baseline"]
    assert baseline == {"version": v, "rules": "the active pack #1 (approved by kz-007)"}
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_rules_commands_read_the_active_pack(db_url: str, tmp_path: Path) -> None:
    folder = candidate(tmp_path)
    assert publish(db_url, folder).exit_code == 0
    assert cli(db_url, "rules", "approve", "1", "--officer", "kz-007").exit_code == 0
    listed = cli(db_url, "rules", "list", "--format", "json")
    drones = next(r for r in map(json.loads, listed.stdout.splitlines()) if r["id"] == "drones-ru-by")
    assert drones["score"] == 120.0 and drones["source"] == "pack-1/drones/drones.yaml:1"
    validated = cli(db_url, "rules", "validate")
    assert validated.exit_code == 0
    assert validated.stderr.endswith(f"version {version(folder)} (the active pack #1)\n")
    tested = cli(db_url, "rules", "test")
    assert tested.exit_code == 0 and tested.stderr.endswith(" 0 failed\n")
    assert cli(db_url, "rules", "list", "--format", "json", "--rules", str(BUNDLED)).stdout != listed.stdout


def test_rules_commands_without_a_database_use_the_bundled_pack(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'none.db'}"
    validated = cli(db, "rules", "validate")
    assert validated.exit_code == 0 and validated.stderr.endswith(f"version {version(BUNDLED)}\n")
    assert cli(db, "rules", "list").exit_code == 0
    assert not (tmp_path / "none.db").exists()  # read-only: no database is created


def test_tampered_pack_rows_are_named_by_audit_verify(db_url: str, tmp_path: Path) -> None:
    one, two = candidate(tmp_path, "one", 110), candidate(tmp_path, "two", 130)
    assert publish(db_url, one).exit_code == 0
    assert cli(db_url, "rules", "approve", "1", "--officer", "kz-007").exit_code == 0
    assert publish(db_url, two).exit_code == 0
    assert cli(db_url, "audit", "verify").exit_code == 0
    entries = len(audit_actions(db_url))
    # someone makes their own proposal active by hand, skipping the second officer
    sql(db_url, "UPDATE rule_pack SET status = 'superseded' WHERE id = 1",
        "UPDATE rule_pack SET status = 'active', decided_by = 'kz-042' WHERE id = 2")  # fmt: skip
    broken = cli(db_url, "audit", "verify")
    assert broken.exit_code == 2
    assert f"rule pack #1 (superseded) no longer says what audit entry {entries - 2} recorded" in broken.stderr
    sql(db_url, "DELETE FROM rule_pack")
    gone = cli(db_url, "audit", "verify")
    assert gone.exit_code == 2 and f"rule pack #1 recorded by audit entry {entries - 2} is missing" in gone.stderr
    # a pack made active by hand, never published nor approved
    sql(db_url, "INSERT INTO rule_pack (id, version, status, proposed_by, proposed_at) "
        f"VALUES (7, '{version(one)}', 'active', 'x', '2026-01-01 00:00:00')")  # fmt: skip
    added = cli(db_url, "audit", "verify")
    assert added.exit_code == 2
    assert "rule pack #7 (active) has no audit entry: it was not published by customs-rules" in added.stderr


def test_an_active_pack_whose_files_were_altered_is_refused(db_url: str, tmp_path: Path) -> None:
    load_fixture_registry(db_url)
    folder = candidate(tmp_path)
    assert publish(db_url, folder).exit_code == 0
    assert cli(db_url, "rules", "approve", "1", "--officer", "kz-007").exit_code == 0
    store = Store(db_url)
    try:
        content = store.find_pack("1").contents
    finally:
        store.close()
    assert content is not None
    content["drones/drones.yaml"] = content["drones/drones.yaml"].replace("score: 120", "score: 1")
    sql(db_url, f"UPDATE ruleset_version SET content = '{json.dumps(content).replace(chr(39), chr(39) * 2)}'")
    refused = cli(db_url, "screen", str(SEED), "--no-store")
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"Error: pack-1: its stored files no longer hash to {version(folder)}: the pack is refused\n"
        "hint: customs-rules audit verify names what was altered\n"
    )
    assert "no longer holds the rule files it was stored with" in cli(db_url, "audit", "verify").stderr


def test_racing_approvals_leave_exactly_one_active_pack(db_url: str, tmp_path: Path) -> None:
    folders = [candidate(tmp_path, f"p{n}", 110 + n) for n in range(3)]
    for folder in folders:
        assert publish(db_url, folder).exit_code == 0
    barrier = threading.Barrier(4)
    results: list[Any] = []

    def approve(ref: str, officer: str) -> None:
        store = Store(db_url)
        try:
            barrier.wait()
            results.append(store.approve_pack(ref, officer)[0].number)
        except PackError as exc:
            results.append(exc)
        finally:
            store.close()

    # two officers approve #1 at once, two others #2 and #3
    threads = [threading.Thread(target=approve, args=args) for args in
               [("1", "kz-007"), ("1", "kz-008"), ("2", "kz-009"), ("3", "kz-010")]]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused = [r for r in results if isinstance(r, PackError)]
    assert sorted(r for r in results if isinstance(r, int)) == [1, 2, 3] and len(refused) == 1
    assert "cannot approve #1: only a proposed pack can be" in str(refused[0])
    statuses = [r["status"] for r in history(db_url)]
    assert statuses.count("active") == 1 and statuses.count("superseded") == 2
    assert cli(db_url, "audit", "verify").exit_code == 0


def test_the_database_holds_one_active_pack(db_url: str, tmp_path: Path) -> None:
    for n in range(2):
        assert publish(db_url, candidate(tmp_path, f"p{n}", 110 + n)).exit_code == 0
    assert cli(db_url, "rules", "approve", "1", "--officer", "kz-007").exit_code == 0
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        sql(db_url, "UPDATE rule_pack SET status = 'active' WHERE id = 2")


def test_the_four_eyes_error_is_the_library_s_too(tmp_path: Path) -> None:
    from customs_rules.workflow import publishing

    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        proposed = publishing.publish(store, candidate(tmp_path), "Aigerim  Bekova")
        with pytest.raises(FourEyesError) as refused:
            publishing.approve(store, str(proposed.number), "aigerim bekova")
        assert refused.value.exit_code == 3
        approved, superseded = publishing.approve(store, "1", "Ruslan Akhmetov")
        assert (approved.status, superseded) == ("active", None)
        assert store.active_pack() is not None
    finally:
        store.close()


def test_an_approval_and_a_rejection_racing_on_one_pack_do_not_both_pass(db_url: str, tmp_path: Path) -> None:
    assert publish(db_url, candidate(tmp_path)).exit_code == 0
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def step(kind: str) -> None:
        store = Store(db_url)
        try:
            barrier.wait()
            done = store.approve_pack("1", "kz-007")[0] if kind == "approve" else store.reject_pack("1", "kz-008")
            results.append(done.status)
        except PackError as exc:
            results.append(str(exc))
        finally:
            store.close()

    threads = [threading.Thread(target=step, args=(kind,)) for kind in ("approve", "reject")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = [r for r in results if r in ("active", "rejected")]
    assert len(statuses) == 1, results
    (refusal,) = [r for r in results if r not in statuses]
    assert refusal.startswith("cannot ")
    assert [r["status"] for r in history(db_url)] == statuses
    assert cli(db_url, "audit", "verify").exit_code == 0
