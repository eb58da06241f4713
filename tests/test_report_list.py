"""The report's list of held and inspected declarations: which are kept and in what order,
their party evidence, the link graphs, the in-page links, and the list from a real run."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from customs_rules.cli.base import main
from customs_rules.report import flagged
from customs_rules.report.aggregate import Aggregate, FlaggedList, Listed
from customs_rules.report.html import write_aggregate
from customs_rules.report.html_parts import short, text
from customs_rules.report.svg import link_graph
from tests.conftest import FIXTURES, load_fixture_registry

ORDER = {"hold": 0, "inspect": 1}


def row(n: int, decision: str, score: float, **more: Any) -> dict[str, Any]:
    return {"declaration_id": f"D{n}", "date": "2024-01-01", "decision": decision, "score": score,
            "rule_ids": [], "exporter": "E", "consignee": "C", "destination_country": "KZ", **more}  # fmt: skip


@given(
    st.lists(st.tuples(st.sampled_from(["hold", "inspect", "release"]), st.integers(0, 5)), max_size=40),
    st.integers(0, 8),
)
def test_the_list_keeps_the_first_holds_then_by_score_then_in_input_order(
    decisions: list[tuple[str, int]], cap: int
) -> None:
    kept = FlaggedList(cap)
    for n, (decision, score) in enumerate(decisions):
        kept.offer(row(n, decision, float(score), findings=[]))
    flagged_rows = [(ORDER[d], -s, n) for n, (d, s) in enumerate(decisions) if d != "release"]
    expected = [f"D{n}" for _, _, n in sorted(flagged_rows)[:cap]]
    assert [e.declaration_id for e in kept.entries()] == expected
    assert kept.left_out == len(flagged_rows) - len(expected)
    assert sum(kept.seen.values()) == len(flagged_rows)


def test_a_decision_line_is_read_only_when_its_declaration_is_listed() -> None:
    agg = Aggregate(cap=1)
    body = {"findings": [{"rule_id": "r1", "action": "hold", "evidence": {}}], "test_findings": [{"rule_id": "t1"}]}
    agg.add(row(1, "hold", 100.0, rule_ids=["r1"], rule_actions=["hold"]), json.dumps(body))
    agg.add(row(2, "inspect", 50.0), "not JSON: never parsed, the list is full of better ones")
    agg.add(row(3, "release", 0.0), "not JSON either")
    (entry,) = agg.flagged.entries()
    assert (entry.declaration_id, entry.findings[0]["rule_id"], entry.test_rule_ids) == ("D1", "r1", ["t1"])
    assert agg.flagged.left_out == 1 and agg.actions == {"r1": "hold"}


def test_a_capped_list_says_how_many_more_and_every_link_has_its_target(tmp_path: Path) -> None:
    agg = Aggregate(cap=3)
    for n in range(10):
        agg.add(row(n, "hold" if n % 2 else "inspect", float(n), findings=[]))
    path = tmp_path / "r.html"
    write_aggregate(path, agg, {"title": "t"})
    html = path.read_text(encoding="utf-8")
    assert "The first 3 of 10 by decision (holds first), then score, then input order; 7 more" in html
    listed = re.findall(r'<article class="listed" id="(d\d+)"', html)
    assert listed == ["d1", "d2", "d3"]
    assert re.findall(r"<h3>\d+\. (D\d+) ", html) == ["D9", "D7", "D5"]  # holds, highest score first
    ids = set(re.findall(r' id="([^"]+)"', html))
    targets = re.findall(r'<a href="#([^"]+)"', html)
    assert targets and set(targets) <= ids


def listed_entry(findings: list[dict[str, Any]], parties: dict[str, Any] | None = None) -> Listed:
    return Listed("D<1>", "hold", 100.0, "2024-01-01", "Exp", "Con", "RU", findings, [], parties or {})


def test_party_evidence_shows_the_match_and_the_watchlist_escaped() -> None:
    watched = {"value": True, "listed_name": "Evil\u202e<b>", "reason": "reported", "why": "id on the list"}
    finding = {"rule_id": "watchlist-party", "action": "hold", "evidence": {"consignee.watchlisted": watched}}
    parties = {"exporter": {"name": "Exp\x1b[31m", "id": "1", "match": "alias", "score": 0.93, "why": "alias",
                            "company_id": "1", "registered_name": "Exp LLP", "watchlist": None}}  # fmt: skip
    html = flagged.article(1, listed_entry([finding], parties))
    exporter = html[html.index('id="d1-exporter"') : html.index('id="d1-consignee"')]
    assert "<dd>alias, score 0.93</dd>" in exporter and "<dd>Exp LLP (1)</dd>" in exporter
    assert "Exp\\x1b[31m" in exporter and "\x1b" not in html  # a terminal escape shown, never kept
    assert "<dd>not listed</dd>" in exporter
    consignee = html[html.index('id="d1-consignee"') :]
    # no registry answer recorded for it: said so, and the watchlist entry comes from the finding
    assert "not recorded in this report" in consignee and "<dd>Evil\\u202e&lt;b&gt;</dd>" in consignee
    assert '<a href="#d1-consignee">consignee</a>' in html.split("<tbody>")[1]  # the rule points to it
    assert "D&lt;1&gt;" in html and "D<1>" not in html


SHARED = {
    "value": True, "exporter": "ТОО «Аспан Арба»", "consignee": "ООО «Небесная механика»",
    "shared_persons": [{"person": "Гольдберг Илья Маркович", "exporter_role": "founder",
                        "consignee_person": "Goldberg Ilya", "consignee_role": "director", "score": 1.0,
                        "method": "name", "why": "tokens 'goldberg'~'goldberg'"}],
}  # fmt: skip
PATH = {
    "value": 3, "exporter": "Sunkar", "consignee": "Ala-Too", "depth": 3, "length": 3,
    "path": [
        {"from": "Sunkar", "from_id": "KZA", "to": "Bereke", "to_id": "KZX", "link": "role", "holder": "Bereke",
         "role": "founder", "of": "Sunkar", "why": "Bereke is founder of Sunkar"},
        {"from": "Bereke", "from_id": "KZX", "to": "Dostyk", "to_id": "KZD", "link": "address",
         "address": "Dostyk 52", "to_address": "Достык 52", "why": "same address once normalised"},
        {"from": "Dostyk", "from_id": "KZD", "to": "Ala-Too", "to_id": "KGC", "link": "person", "person": "Asanov D.",
         "from_role": "director", "to_person": "Асанов Данияр", "to_role": "director", "why": "tokens"},
    ],
}  # fmt: skip


def test_a_shared_person_is_drawn_between_the_parties() -> None:
    columns, edges, steps = flagged.shared_graph(SHARED)
    assert [[(n.label, n.kind) for n in c] for c in columns] == [
        [("ТОО «Аспан Арба»", "party")], [("Гольдберг Илья Маркович", "person")], [("ООО «Небесная механика»", "party")]
    ]  # fmt: skip
    assert [(e.column, e.source, e.target, e.label) for e in edges] == [(0, 0, 0, "founder"), (1, 0, 0, "director")]
    assert "Goldberg Ilya (director of ООО «Небесная механика»)" in steps[0]


def test_a_path_is_drawn_step_by_step_with_persons_and_addresses_as_boxes() -> None:
    columns, edges, steps = flagged.path_graph(PATH)
    assert [(c[0].label, c[0].kind) for c in columns] == [
        ("Sunkar", "party"), ("Bereke", "company"), ("Dostyk 52", "address"), ("Dostyk", "company"),
        ("Asanov D.", "person"), ("Ala-Too", "party"),
    ]  # fmt: skip
    assert [e.label for e in edges] == ["founder of ←", "address", "address", "director", "director"]
    assert steps[-1] == "3 step(s), within links.depth 3"
    svg = link_graph(columns, edges, "path")
    assert svg.startswith('<svg class="graph"') and svg.count("<rect") == 6 and svg.count("<line") == 5


def test_link_evidence_is_drawn_once_per_kind_and_linked_from_the_rule() -> None:
    findings = [
        {"rule_id": "a", "action": "inspect", "evidence": {"parties.linked": SHARED, "item.hs_code": "880621"}},
        {"rule_id": "b", "action": "inspect", "evidence": {"parties.linked": SHARED}},
        {"rule_id": "c", "action": "inspect", "evidence": {"parties.link_path_length": PATH}},
    ]
    html = flagged.article(4, listed_entry(findings))
    assert html.count('<svg class="graph"') == 2
    assert html.count('<a href="#d4-links">link path</a>') == 4  # the header, and each of the three rules
    assert 'id="d4-links"' in html


RISK = {
    "value": 1, "party": "Tranzit Group", "party_id": "KG77", "length": 1, "depth": 2,
    "risky": {"name": "Nebesnaya Mekhanika LLC", "company_id": "7707083893", "country": "RU", "groups": ["ru_by"],
              "why": "registered in RU (ru_by)"},
    "path": [{"from": "Tranzit Group", "from_id": "KG77", "to": "Nebesnaya Mekhanika LLC", "to_id": "7707083893",
              "link": "role", "holder": "Nebesnaya Mekhanika LLC", "role": "founder", "of": "Tranzit Group",
              "why": "Nebesnaya Mekhanika LLC is founder of Tranzit Group"}],
}  # fmt: skip


def test_a_partys_path_to_risk_is_drawn_and_linked_from_the_rule() -> None:
    findings = [{"rule_id": "r", "action": "inspect", "evidence": {"consignee.risk_link_length": RISK}}]
    html = flagged.article(2, listed_entry(findings))
    assert html.count('<svg class="graph"') == 1
    assert "The consignee linked to Nebesnaya Mekhanika LLC (registered in RU (ru_by))" in html
    assert '<a href="#d2-consignee">consignee</a> <a href="#d2-links">link path</a>' in html
    columns, edges, _ = flagged.path_graph(RISK)
    assert [c[0].label for c in columns] == ["Tranzit Group", "Nebesnaya Mekhanika LLC"]
    assert [e.label for e in edges] == ["founder of ←"]


def test_a_name_in_a_graph_is_escaped() -> None:
    evil = dict(SHARED, exporter="<script>alert(1)</script>\u202e")
    svg = link_graph(*flagged.shared_graph(evil)[:2], "g")
    assert "<script>" not in svg and "\u202e" not in svg
    assert "<title>exporter: &lt;script&gt;alert(1)&lt;/script&gt;\\u202e</title>" in svg


def test_a_real_run_lists_its_holds_with_party_evidence_and_link_paths(db_url: str, tmp_path: Path) -> None:
    load_fixture_registry(db_url)
    report = tmp_path / "report.html"
    inputs = [str(FIXTURES / "shipments.csv"), str(FIXTURES / "declarations" / "intermediary_chips_kg.json")]
    runner = CliRunner()
    args = ["--db", db_url, "-q", "screen", *inputs, "--format", "json", "--no-store"]
    with_report = runner.invoke(main, [*args, "--report", str(report)], catch_exceptions=False)
    without = runner.invoke(main, args, catch_exceptions=False)
    assert with_report.exit_code == without.exit_code == 0, with_report.stderr

    def decisions(output: str) -> list[dict[str, Any]]:
        return [{k: v for k, v in json.loads(line).items() if k != "screened_at"} for line in output.splitlines()]

    assert decisions(with_report.stdout) == decisions(without.stdout)  # the report changes no decision
    flagged_ids = [d["declaration_id"] for d in decisions(with_report.stdout) if d["decision"] != "release"]
    html = report.read_text(encoding="utf-8")
    listed = re.findall(r"<h3>\d+\. ([\w-]+) ", html)
    assert sorted(listed) == sorted(flagged_ids) and listed[0] == "STORY-0003"  # a hold of score 390 first
    story = html[html.index('id="d1"') : html.index('id="d2"')]
    assert "<dd>id, score 1.00</dd>" in story and "<dd>name, score 1.00</dd>" in story  # each party's match
    assert 'class="graph"' in story and "Гольдберг Илья Маркович" in story
    intermediary = html[html.index("ST-20240312-001</a>") :]
    assert "ТОО «Береке Инвест»" in intermediary and "founder of ←" in intermediary
    watch = html[html.index("<h3>3. WATCH-0001") :]
    assert "<dt>why listed</dt>" in watch.split("</article>")[0]


@given(st.text(), st.integers(1, 40))
def test_any_text_comes_out_inert(value: str, limit: int) -> None:
    for out in (text(value), short(value, limit)):
        assert out.isprintable() and not set(out) & set("<>\"'")
    assert len(short(value, limit)) <= len(text(value))
