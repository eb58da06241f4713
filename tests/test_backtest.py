"""`customs-rules backtest` (issue #14, item 6): the stored declarations under a candidate
pack and a baseline, each as of its own date; nothing stored."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customs_rules.io.declarations import read_declarations
from customs_rules.io.parsing import Parsed
from customs_rules.rules.loader import load_pack
from customs_rules.rules.model import RulePack
from customs_rules.store import Store
from customs_rules.store.history import read_history
from customs_rules.workflow.backtest import BacktestWorker, backtest
from customs_rules.workflow.screener import Screener, default_rules_dir

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
SHIPMENTS = FIXTURES / "shipments.csv"
HUB = "destination-transshipment-hub"
# what activating the transshipment-hub rule (in test status in the bundled pack) changes in the fixtures
CHANGES = [
    {"declaration_id": "55801/201124/0000098", "revision": 1, "date": "2024-11-20",
     "exporter": "ТОО «Алатау Электроникс» (080340045123)", "consignee": "Samarqand Energo Savdo MChJ (306987214)",
     "from": "release", "to": "inspect", "from_score": 0.0, "to_score": 30.0, "rules_added": [HUB],
     "rules_removed": [], "outcome": None},
    {"declaration_id": "SHELL-0001", "revision": 1, "date": "2023-03-22",
     "exporter": "ТОО «Нұр Дистрибьюшн» (220640335187)", "consignee": "ОсОО «Бишкек Диджитал Сапплай» (01908202210315)",
     "from": "inspect", "to": "hold", "from_score": 80.0, "to_score": 110.0, "rules_added": [HUB],
     "rules_removed": [], "outcome": None},
    {"declaration_id": "SHELL-0002", "revision": 1, "date": "2023-08-30",
     "exporter": "ТОО «Нұр Дистрибьюшн» (220640335187)", "consignee": "ОсОО «Бишкек Диджитал Сапплай» (01908202210315)",
     "from": "inspect", "to": "hold", "from_score": 80.0, "to_score": 110.0, "rules_added": [HUB],
     "rules_removed": [], "outcome": None},
]  # fmt: skip


def cli(db: str, *args: str) -> Result:
    from customs_rules.cli.base import main

    return CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)


def stored_fixtures(db: str) -> None:
    """The fixture registry loaded and the fixture shipments (153 declarations) stored."""
    registry = FIXTURES / "registry"
    assert cli(db, "-q", "registry", "load", *(a for t in ("companies", "people", "watchlist")
                                              for a in (f"--{t}", str(registry / f"{t}.csv")))).exit_code == 0  # fmt: skip
    assert cli(db, "-q", "screen", str(SHIPMENTS), "--workers", "1", "--format", "json").exit_code == 0


def candidate(tmp_path: Path, extra: str = "", name: str = "candidate") -> Path:
    """The bundled pack with the transshipment-hub rule made active (and `extra` lines
    added to it, e.g. validity dates)."""
    target = tmp_path / name
    shutil.copytree(default_rules_dir(), target)
    path = target / "destination" / "ru-by.yaml"
    text = path.read_text(encoding="utf-8")
    at = text.index(f"id: {HUB}\n")
    rule = text[at:].replace("status: test\n", "status: active\n" + extra, 1)
    path.write_text(text[:at] + rule, encoding="utf-8")
    return target


def table_counts(db: str) -> dict[str, int]:
    """The rows of every table of the database (and, for SQLite, a digest of the file's
    bytes: a backtest opens it read-only and must leave it byte for byte as it was)."""
    from sqlalchemy import func, inspect, select, table

    store = Store(db)
    try:
        with store.engine.connect() as conn:
            names = sorted(inspect(conn).get_table_names())
            counts = {name: conn.execute(select(func.count()).select_from(table(name))).scalar_one() for name in names}
    finally:
        store.close()
    assert {"declaration", "decision", "audit_log", "outcome", "ruleset_version", "rule_pack", "snooze"} <= set(counts)
    if db.startswith("sqlite:///"):
        path = Path(db.removeprefix("sqlite:///"))
        counts["bytes"] = hash(
            b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())
        )
    return counts


@pytest.fixture()
def stored(db_url: str) -> str:
    stored_fixtures(db_url)
    return db_url


def test_backtest_lists_the_changes_and_stores_nothing(stored: str, tmp_path: Path) -> None:
    pack = candidate(tmp_path)
    before = table_counts(stored)
    summary_file = tmp_path / "summary.json"
    result = cli(stored, "backtest", "--rules", str(pack), "--format", "json", "--workers", "1",
                 "--summary", str(summary_file))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == CHANGES
    assert table_counts(stored) == before  # no row in any table; on SQLite, not a byte of the file
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    assert summary["format"] == "customs-rules backtest summary" and summary["format_version"] == 1
    assert summary["candidate"] == {"version": load_pack(pack).version, "rules": str(pack)}
    assert summary["baseline"]["version"] == load_pack(default_rules_dir()).version
    assert (summary["declarations"], summary["lines"], summary["changed"]) == (153, 300, 3)
    assert summary["matrix"] == {
        "release": {"release": 139, "inspect": 1, "hold": 0},
        "inspect": {"release": 0, "inspect": 3, "hold": 2},
        "hold": {"release": 0, "inspect": 0, "hold": 8},
    }
    assert summary["decisions"] == {"baseline": {"release": 140, "inspect": 5, "hold": 8},
                                    "candidate": {"release": 139, "inspect": 4, "hold": 10}}  # fmt: skip
    assert (summary["candidate_version"], summary["baseline_version"]) == (
        load_pack(pack).version,
        load_pack(default_rules_dir()).version,
    )
    assert summary["baseline"]["rules"] == "the bundled pack"
    assert summary["load"] == {"baseline": round(13 / 153, 6), "candidate": round(14 / 153, 6)}
    hub = next(r for r in summary["rules"] if r["rule_id"] == HUB)
    assert hub == {
        "rule_id": HUB,
        "baseline": {"status": "test", "hits": 6},
        "candidate": {"status": "active", "hits": 6},
    }
    assert summary["confirmed"] == {"total": 0, "baseline": {"caught": 0, "missed": 0},
                                    "candidate": {"caught": 0, "missed": 0}, "caught_only_by_candidate": [],
                                    "caught_only_by_baseline": []}  # fmt: skip
    assert result.stderr.endswith(f"backtested 153 declaration(s): 3 change their decision; done in "
                                  f"{result.stderr.rsplit('done in ', 1)[1].split(' s;')[0]} s; nothing stored; "
                                  f"summary in {summary_file}\n")  # fmt: skip


def test_rules_are_in_force_as_of_each_declarations_date(stored: str, tmp_path: Path) -> None:
    """Validity dates are checked against the declaration's date: the 2023 declarations
    fall before the rule's start and keep their decision."""
    pack = candidate(tmp_path, "valid_from: 2024-01-01\n")
    result = cli(stored, "-q", "backtest", "--rules", str(pack), "--format", "json", "--workers", "1")
    assert result.exit_code == 0 and result.stderr == ""
    assert [json.loads(line) for line in result.stdout.splitlines()] == CHANGES[:1]
    ended = candidate(tmp_path, "valid_until: 2023-06-30\n", "ended")
    result = cli(stored, "-q", "backtest", "--rules", str(ended), "--format", "json", "--workers", "1")
    assert [json.loads(line)["declaration_id"] for line in result.stdout.splitlines()] == ["SHELL-0001"]


def test_confirmed_cases_each_pack_catches_and_misses(stored: str, tmp_path: Path) -> None:
    outcomes = (("55801/201124/0000098", "seized"), ("SHELL-0001", "irregularity"), ("WATCH-0001", "clean"))
    for ref, result in outcomes:
        assert cli(stored, "outcome", ref, "--result", result, "--officer", "kz-1").exit_code == 0
    pack = candidate(tmp_path)
    summary_file = tmp_path / "s.json"
    # the other way round: the bundled pack as candidate, against the one that activates the rule
    result = cli(stored, "-q", "backtest", "--rules", str(default_rules_dir()), "--baseline", str(pack),
                 "--format", "csv", "--workers", "1", "--summary", str(summary_file))  # fmt: skip
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == ("declaration_id,revision,date,exporter,consignee,from,to,from_score,to_score,rules_added,"
                        "rules_removed,outcome")  # fmt: skip
    assert lines[1] == ("55801/201124/0000098,1,2024-11-20,ТОО «Алатау Электроникс» (080340045123),Samarqand Energo "
                        f"Savdo MChJ (306987214),inspect,release,30,0,,{HUB},seized")  # fmt: skip
    assert len(lines) == 4 and lines[2].endswith(f"inspect,110,80,,{HUB},irregularity")
    confirmed = json.loads(summary_file.read_text(encoding="utf-8"))["confirmed"]
    assert confirmed == {"total": 2, "baseline": {"caught": 2, "missed": 0}, "candidate": {"caught": 1, "missed": 1},
                         "caught_only_by_candidate": [], "caught_only_by_baseline": ["55801/201124/0000098"]}  # fmt: skip


def test_declared_period_and_the_table(stored: str, tmp_path: Path) -> None:
    pack = candidate(tmp_path)
    result = cli(stored, "backtest", "--rules", str(pack), "--declared-since", "2023-08-01", "--declared-until",
                 "2023-12-31", "--workers", "1")  # fmt: skip
    assert result.exit_code == 0
    assert "SHELL-0002" in result.stdout and "SHELL-0001" not in result.stdout and "55801" not in result.stdout
    assert "Decisions: baseline -> candidate" in result.stderr
    assert "backtested 34 declaration(s): 1 change their decision; done in " in result.stderr
    nothing = cli(stored, "-q", "backtest", "--rules", str(default_rules_dir()), "--workers", "1")
    assert nothing.exit_code == 0 and nothing.stdout == "" and nothing.stderr == ""
    header = cli(stored, "-q", "backtest", "--rules", str(default_rules_dir()), "--format", "csv", "--workers", "1")
    assert header.stdout == ("declaration_id,revision,date,exporter,consignee,from,to,from_score,to_score,"
                             "rules_added,rules_removed,outcome\n")  # fmt: skip


def test_workers_give_the_same_result(stored: str, tmp_path: Path) -> None:
    pack = candidate(tmp_path)
    store = Store(stored)
    try:
        one = backtest(store, load_pack(pack), load_pack(default_rules_dir()), workers=1)
        # chunks of 40 declarations: four chunks over two spawned workers
        two = backtest(store, load_pack(pack), load_pack(default_rules_dir()), workers=2, chunk=40)
    finally:
        store.close()
    first, second = one.summary(), two.summary()
    del first["run_at"], second["run_at"]
    assert first == second and [c.as_dict() for c in one.changes] == CHANGES == [c.as_dict() for c in two.changes]


def test_packs_with_other_lists_are_enriched_each_on_its_own(stored: str, tmp_path: Path) -> None:
    """A candidate whose lists differ cannot share the baseline's facts: here the hub
    group loses Uzbekistan, so the 55801 declaration (to UZ) does not change."""
    pack = candidate(tmp_path)
    groups = pack / "lists" / "country_groups.yaml"
    groups.write_text(groups.read_text(encoding="utf-8").replace("TR, UZ, TJ]", "TR, TJ]"), encoding="utf-8")
    store = Store(stored)
    try:
        found = backtest(store, load_pack(pack), load_pack(default_rules_dir()))
        same = backtest(store, load_pack(candidate(tmp_path, name="same")), load_pack(default_rules_dir()))
    finally:
        store.close()
    assert found.shared_enrichment is False and found.summary()["shared_enrichment"] is False
    assert [c.as_dict() for c in found.changes] == CHANGES[1:]
    assert same.shared_enrichment is True and [c.as_dict() for c in same.changes] == CHANGES


# -- bad inputs ------------------------------------------------------------------------------


def test_unknown_rules_directory_and_broken_rule_file(sqlite_url: str, tmp_path: Path) -> None:
    stored_fixtures(sqlite_url)
    missing = tmp_path / "nope"
    result = cli(sqlite_url, "backtest", "--rules", str(missing))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"Error: rule pack {missing} is broken; nothing was evaluated (1 error):\n"
                             f"  {missing}: rules directory not found\nhint: fix the files named above, then run "
                             "`customs-rules rules validate`\n")  # fmt: skip
    result = cli(sqlite_url, "backtest", "--rules", str(default_rules_dir()), "--baseline", str(missing))
    assert result.exit_code == 2 and f"  {missing}: rules directory not found\n" in result.stderr
    broken = candidate(tmp_path)
    rule = broken / "destination" / "ru-by.yaml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("score: 30", "score: [30", 1), encoding="utf-8")
    result = cli(sqlite_url, "backtest", "--rules", str(broken))
    assert result.exit_code == 2 and result.stdout == ""
    assert f"Error: rule pack {broken} is broken; nothing was evaluated" in result.stderr
    assert "candidate/destination/ru-by.yaml:" in result.stderr and "Traceback" not in result.stderr


def test_refusals_before_anything_is_screened(db_url: str, tmp_path: Path) -> None:
    stored_fixtures(db_url)
    pack = str(default_rules_dir())
    reversed_period = cli(db_url, "backtest", "--rules", pack, "--declared-since", "2024-02-01",
                          "--declared-until", "2024-01-01")  # fmt: skip
    assert reversed_period.exit_code == 2
    assert "--declared-since 2024-02-01 is after --declared-until 2024-01-01" in reversed_period.stderr
    unwritable = cli(db_url, "backtest", "--rules", pack, "--summary", str(tmp_path / "no" / "s.json"))
    assert unwritable.exit_code == 2 and f"Error: cannot write {tmp_path / 'no' / 's.json'}:" in unwritable.stderr
    directory = cli(db_url, "backtest", "--rules", pack, "--report", str(tmp_path))
    assert directory.exit_code == 2 and "is a directory" in directory.stderr
    assert cli(db_url, "backtest").exit_code == 2  # --rules is required
    no_db = cli(f"sqlite:///{tmp_path / 'missing.db'}", "backtest", "--rules", pack)
    assert no_db.exit_code == 2 and not (tmp_path / "missing.db").exists()  # a read-only command creates none
    assert no_db.stderr.startswith(f"Error: no database at {tmp_path / 'missing.db'}\n")
    if db_url.startswith("postgresql"):  # a database the server does not have: the same mistake
        absent = db_url.rsplit("/", 1)[0] + "/cr_no_such_database"
        no_pg = cli(absent, "backtest", "--rules", pack)
        assert no_pg.exit_code == 2 and no_pg.stderr.startswith("Error: no database cr_no_such_database on the server")


def test_a_database_with_nothing_stored_backtests_nothing(db_url: str, tmp_path: Path) -> None:
    registry = FIXTURES / "registry"
    assert cli(db_url, "-q", "registry", "load", "--companies", str(registry / "companies.csv")).exit_code == 0
    summary = tmp_path / "summary.json"
    for form, printed in [("table", ""), ("json", ""), ("csv", "declaration_id,revision,date,exporter,consignee,"
                                                               "from,to,from_score,to_score,rules_added,"
                                                               "rules_removed,outcome\n")]:  # fmt: skip
        result = cli(db_url, "backtest", "--rules", str(candidate(tmp_path, name=form)), "--format", form,
                     "--workers", "1", "--summary", str(summary), "--report", str(tmp_path / "r.html"))  # fmt: skip
        assert result.exit_code == 0, result.output
        assert result.stdout == printed
        assert "backtested 0 declaration(s): 0 change their decision;" in result.stderr
    parsed = json.loads(summary.read_text(encoding="utf-8"), parse_constant=lambda c: pytest.fail(c))
    assert (parsed["declarations"], parsed["changed"], parsed["load"]) == (0, 0, {"baseline": 0.0, "candidate": 0.0})


def test_no_registry_is_refused_unless_asked(db_url: str) -> None:
    assert cli(db_url, "-q", "screen", str(SHIPMENTS), "--workers", "1", "--no-registry").exit_code == 0
    refused = cli(db_url, "backtest", "--rules", str(default_rules_dir()))
    assert refused.exit_code == 2 and refused.stderr.startswith("Error: no registry is loaded")
    done = cli(db_url, "backtest", "--rules", str(default_rules_dir()), "--no-registry", "--workers", "1")
    assert done.exit_code == 0 and done.stderr.startswith("warning: screening WITHOUT a registry")


# -- outputs are safe ------------------------------------------------------------------------------

HOSTILE = {
    "declaration_id": "=HYPERLINK(1)", "date": "2024-03-01",
    "exporter": {"name": "Alatau Electronics", "id": "080340045123", "country": "KZ"},
    "consignee": {"name": "<script>alert(1)</script> @SUM(A1) LLC", "country": "UZ"},
    "dispatch_country": "KZ", "destination_country": "UZ",
    "items": [{"hs_code": "8542 39 000 1", "value": 1000, "currency": "USD"}],
}  # fmt: skip


def test_outputs_neutralise_what_the_declarations_say(db_url: str, tmp_path: Path) -> None:
    stored_fixtures(db_url)
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(HOSTILE), encoding="utf-8")
    assert cli(db_url, "-q", "screen", str(path), "--workers", "1").exit_code == 0
    amended = HOSTILE | {"items": [{"hs_code": "8542 39 000 1", "value": 2000, "currency": "USD"}]}
    path.write_text(json.dumps(amended), encoding="utf-8")  # stored as revision 2: the one backtested
    assert cli(db_url, "-q", "screen", str(path), "--workers", "1").exit_code == 0
    pack = candidate(tmp_path)
    out, report = tmp_path / "changes.csv", tmp_path / "report.html"
    result = cli(db_url, "-q", "backtest", "--rules", str(pack), "--format", "json", "--workers", "1",
                 "--out", str(out), "--report", str(report), "--declared-since", "2024-03-01",
                 "--declared-until", "2024-03-01")  # fmt: skip
    assert result.exit_code == 0
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row["declaration_id"] == "=HYPERLINK(1)" and row["consignee"] == "<script>alert(1)</script> @SUM(A1) LLC"
    written = out.read_text(encoding="utf-8").splitlines()
    assert written[1] == ("'=HYPERLINK(1),2,2024-03-01,ТОО «Алатау Электроникс» (080340045123),<script>alert(1)"
                          f"</script> @SUM(A1) LLC,release,inspect,0,30,{HUB},,")  # fmt: skip
    html = report.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; @SUM(A1) LLC" in html
    assert "default-src 'none'" in html and "http" not in html.replace("http-equiv", "")
    assert f">{HUB} (test → active)</text>" in html and "<script" not in html


# -- the property: A against A changes nothing, and its decisions are those of a screening as of each date


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    db = f"sqlite:///{tmp_path_factory.mktemp('history') / 'h.db'}"
    stored_fixtures(db)
    parsed = {p.declaration.declaration_id: p.declaration for p in read_declarations(str(SHIPMENTS))
              if isinstance(p, Parsed)}  # fmt: skip
    return db, parsed


DAYS = st.dates(min_value=dt.date(2022, 6, 1), max_value=dt.date(2025, 6, 1))


@st.composite
def dated_packs(draw: st.DrawFn) -> RulePack:
    """The bundled pack, each rule given random validity dates (or none)."""
    pack = load_pack(default_rules_dir())
    rules = []
    for rule in pack.rules:
        start, end = draw(st.none() | DAYS), draw(st.none() | DAYS)
        rules.append(dataclasses.replace(rule, valid_from=start, valid_until=end))
    return dataclasses.replace(pack, rules=rules)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pack=dated_packs())
def test_a_pack_against_itself_changes_nothing_and_decides_as_of_each_date(
    history: tuple[str, dict[str, Any]], pack: RulePack
) -> None:
    db, parsed = history
    store = Store(db, create=False)
    try:
        rows = [row for row, _, _ in store.latest_declarations()]  # what a rescreen reads
        assert store.latest_declaration_keys()["pk"].to_list() == [row.id for row in rows]
        worker = BacktestWorker(pack, pack, db)
        found = worker.screen([row.id for row in rows], dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
        worker.close()
        reference = Screener(pack, store.registry_index())
        reference.history = read_history(store)  # the stored declarations: the past a rescreen reads
    finally:
        store.close()
    assert found.baseline == found.candidate and found.parties == {}
    for n, row in enumerate(rows):
        decl = parsed[row.declaration_id]
        # the plain per-declaration reference, screened at the declaration's own date
        expected = reference.screen(decl, dt.datetime.combine(decl.date, dt.time(12), tzinfo=dt.UTC)).decision
        got = (found.candidate.decisions[n], found.candidate.scores[n], list(found.candidate.rules[n]),
               list(found.candidate.tests[n]))  # fmt: skip
        assert got == (expected.decision, expected.score, expected.rule_ids, expected.test_rule_ids), (
            decl.declaration_id
        )


def test_random_selection_is_not_drawn_and_says_so(
    stored: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pack's random selection is the screening runs' (a seed kept outside the pack): a
    backtest compares the rules, draws nothing, and says so; snoozes are not applied."""
    monkeypatch.setenv("CUSTOMS_RULES_RANDOM_SEED", "0123456789abcdef0123")
    pack = candidate(tmp_path)
    (pack / "policy.yaml").write_text((pack / "policy.yaml").read_text(encoding="utf-8")
                                      + "random_selection:\n  share: 0.5\n", encoding="utf-8")  # fmt: skip
    result = cli(stored, "backtest", "--rules", str(pack), "--format", "json", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.stdout.splitlines()] == CHANGES
    assert ("note: random selection (0.5 in the candidate pack) is not drawn in a backtest: the inspection load "
            "and the matrix leave out the declarations it would add\n") in result.stderr  # fmt: skip
    plain = cli(stored, "backtest", "--rules", str(candidate(tmp_path, name="plain")), "--workers", "1")
    assert plain.exit_code == 0 and "random selection" not in plain.stderr


def test_the_report_draws_in_a_browser(sqlite_url: str, tmp_path: Path) -> None:
    """`--report` in headless Chromium, as the batch report is tested: the matrix, the
    paired bars of both packs and the changes are laid out and painted."""
    from test_report_html import chromium, png_colors

    from customs_rules.report.backtest_html import SIDES

    stored_fixtures(sqlite_url)
    report = tmp_path / "backtest.html"
    result = cli(sqlite_url, "-q", "backtest", "--rules", str(candidate(tmp_path)), "--workers", "1",
                 "--report", str(report))  # fmt: skip
    assert result.exit_code == 0, result.output
    html = report.read_text(encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", report.as_uri()).stdout
    assert dom.count("<rect") == html.count("<rect") > 2 * 20  # a bar per rule and pack
    assert all(f">{row['declaration_id']}<" in dom for row in CHANGES)
    png = tmp_path / "shot.png"
    chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,3000", report.as_uri())
    width, height, colors = png_colors(png)
    assert (width, height) == (1280, 3000)
    for side, hex_color in SIDES.items():
        want = bytes.fromhex(hex_color[1:])
        painted = sum(n for c, n in colors.items() if max(abs(a - b) for a, b in zip(c, want, strict=True)) <= 6)
        assert painted > 5_000, (side, painted)  # the bars, not just a legend swatch
