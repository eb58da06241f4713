"""History facts through the commands (issue #14, item 3 and proof): `screen` (a batch whose
earlier-dated declarations count, on top of the stored ones), `rescreen` and `backtest`
each compute every history fact as the plain definition (`engine/history.py`) does, over
random stored histories with amendments and identical resubmissions, and random flags
(holds, inspection findings). tests/test_history.py holds the columnar computation to the
definition; this holds the paths that feed it: the stored history (`store/history.py`),
a batch's pre-pass (`workflow.batch.run_history`), the rescreen's and the backtest's reads.

A probe pack (one rule per history fact, short windows) makes the backtest's verdicts say
which facts it computed. Also, on both back-ends: a finding on each history fact names
the declarations behind its number, and `submit` reads the stored history too.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import sql
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from customs_rules.contract.models import Declaration
from customs_rules.engine import history as ref
from customs_rules.rules.loader import load_pack
from customs_rules.rules.model import RulePack
from customs_rules.screening.history import REEXPORT, listed_code
from customs_rules.store import DecisionRecord, DeclarationRecord, Store
from customs_rules.workflow.screener import default_rules_dir

START = dt.date(2022, 1, 1)
# the short windows of tests/test_history.py: every boundary is met within 60 days
SETTINGS = """kind: history
source: short windows for the tests
listed_goods: [chpl, drones, drone_parts]
cutoff: "2022-02-01"
recent_days: 10
baseline_days: 20
reexport_days: 15
reexport_digits: 4
split_days: 7
flags_days: 12
evidence_limit: 3
"""
PARTIES = [{"name": "Aspan Arba LLP", "id": "190540218733"}, {"name": "ТОО «Аспан Арба»"}, {"name": "Aspan Arba TOO"},
           {"name": "Nebesnaya Mekhanika"}, {"name": "Dala Astyk", "id": "040940022317"}, {"name": "Altyn Arba"}]  # fmt: skip
HS = ["880621", "880730", "854231", "854239", "100199", "720851"]  # drones, parts, chips (CHPL), ordinary
# one rule per history fact: (rule id, field, operator, value), and the same test in Python
PROBES: list[tuple[str, str, str, Any]] = [
    ("probe-since", "history.since", "exists", True),
    ("probe-first-listed", "history.exporter_first_listed_on", "exists", True),
    ("probe-before-cutoff", "history.exporter_listed_before_cutoff", "equals", True),
    *[
        (f"probe-{role}-{what.replace('_', '-')}", f"history.{role}_listed_{what}", op, value)
        for role in ("exporter", "consignee")
        for what, op, value in [("recent_count", "gte", 1), ("recent_value", "gt", 100),
                                ("baseline_count", "gte", 2), ("baseline_value", "gt", 300), ("ratio", "gte", 1)]
    ],
    ("probe-split-count", "history.consignee_split_count", "gte", 2),
    ("probe-split-value", "history.consignee_split_value", "gt", 500),
    ("probe-exporter-flags", "history.exporter_prior_flags", "gte", 1),
    ("probe-consignee-flags", "history.consignee_prior_flags", "gte", 1),
    ("probe-reexport", REEXPORT, "gte", 1),
]  # fmt: skip
TESTS: dict[str, Callable[[Any, Any], bool]] = {
    "exists": lambda v, want: (v is not None) == want,
    "equals": lambda v, want: v == want,
    "gte": lambda v, want: v is not None and v >= want,
    "gt": lambda v, want: v is not None and v > want,
}


def cli(db: str, *args: str) -> Result:
    from customs_rules.cli.base import main

    return CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)


def probe_pack(target: Path, status: str = "active", note: str = "") -> Path:
    """The bundled lists and policy, the short history settings, and the probe rules."""
    target.mkdir(parents=True, exist_ok=True)
    bundled = default_rules_dir()
    shutil.copytree(bundled / "lists", target / "lists")
    shutil.copy(bundled / "policy.yaml", target / "policy.yaml")
    (target / "lists" / "history.yaml").write_text(SETTINGS + note, encoding="utf-8")
    rules = [
        f"id: {rule}\ntitle: probe {field}\ndescription: fires on {field} {op} {value}\nstatus: {status}\n"
        f"action: inspect\nscore: 1\nfamily: probe\nreferences: [tests/test_history_paths.py]\n"
        f"conditions:\n  all:\n    - field: {field}\n      {op}: {json.dumps(value)}\n"
        for rule, field, op, value in PROBES
    ]
    (target / "probe").mkdir(exist_ok=True)
    (target / "probe" / "probe.yaml").write_text("---\n".join(rules), encoding="utf-8")
    return target


def declaration(ident: str, day: int, procedure: str, exporter: int, consignee: int,
                items: list[tuple[str, float | None]]) -> dict[str, Any]:  # fmt: skip
    return {
        "declaration_id": ident, "date": (START + dt.timedelta(days=day)).isoformat(), "procedure": procedure,
        "exporter": PARTIES[exporter], "consignee": PARTIES[consignee], "dispatch_country": "KZ",
        "destination_country": "RU", "items": [{"hs_code": hs, "value": v} for hs, v in items],
    }  # fmt: skip


@st.composite
def declarations(draw: st.DrawFn, ident: str) -> dict[str, Any]:
    items = [(draw(st.sampled_from(HS)), draw(st.sampled_from([None, 0, 10, 250.5, 1000])))
             for _ in range(draw(st.integers(1, 3)))]  # fmt: skip
    return declaration(ident, draw(st.integers(0, 60)), draw(st.sampled_from(["export", "import", "re-export",
                       "transit"])), draw(st.integers(0, 5)), draw(st.integers(0, 5)), items)  # fmt: skip


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[tuple[int, int, str]]]:
    """Stored declarations (ids come again: amendments and identical resubmissions), a
    batch file (some of its ids stored already, some declarations in it twice), and flags:
    (a stored declaration's position, the day, hold | seized | irregularity)."""
    stored = [draw(declarations(f"S-{draw(st.integers(0, 8))}")) for _ in range(draw(st.integers(1, 12)))]
    stored += draw(st.lists(st.sampled_from(stored), max_size=3))  # identical resubmissions
    ids = sorted({d["declaration_id"] for d in stored}) + [f"N-{n}" for n in range(4)]
    batch = {}
    for _ in range(draw(st.integers(1, 6))):  # one content per id in the file, maybe given twice
        ident = draw(st.sampled_from(ids))
        batch[ident] = draw(st.sampled_from([d for d in stored if d["declaration_id"] == ident]) if ident.startswith(
            "S") and draw(st.booleans()) else declarations(ident))  # fmt: skip
    given_ = list(batch.values())
    given_ += draw(st.lists(st.sampled_from(given_), max_size=2))
    flags = draw(st.lists(st.tuples(st.integers(0, len(stored) - 1), st.integers(0, 60),
                                    st.sampled_from(ref.FLAG_REASONS)), max_size=4))  # fmt: skip
    return stored, given_, flags


def past(decl: dict[str, Any]) -> ref.PastDeclaration:
    d = Declaration.model_validate(decl)
    return ref.PastDeclaration(d.declaration_id, d.date, d.procedure.value, keys(decl)[0], keys(decl)[1],
                               tuple((i.hs_code, i.value) for i in d.items))  # fmt: skip


def keys(decl: dict[str, Any]) -> tuple[str, str]:
    return (ref.party_key(decl["exporter"].get("id"), decl["exporter"]["name"]),
            ref.party_key(decl["consignee"].get("id"), decl["consignee"]["name"]))  # fmt: skip


def newest(given: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per declaration id, its newest revision: the last distinct content given (an
    identical resubmission is no new revision)."""
    seen: dict[str, list[dict[str, Any]]] = {}
    for decl in given:
        contents = seen.setdefault(decl["declaration_id"], [])
        if decl not in contents:
            contents.append(decl)
    return {ident: contents[-1] for ident, contents in seen.items()}


def expected(decl: dict[str, Any], history: dict[str, dict[str, Any]], flags: list[ref.PastFlag],
             pack: RulePack) -> tuple[dict[str, Any], list[int]]:  # fmt: skip
    settings_ = pack.reference.history
    d = Declaration.model_validate(decl)
    header, reexports, _ = ref.history_values(
        d.declaration_id, d.date, d.procedure.value, *keys(decl), [i.hs_code for i in d.items],
        {ident: past(p) for ident, p in history.items()}, flags, settings_,
        lambda code: listed_code(pack.reference, settings_, code),
    )  # fmt: skip
    return header, [count for count, _ in reexports]


def fired(header: dict[str, Any], reexports: list[int]) -> set[str]:
    """The probe rules these facts fire."""
    found = set()
    for rule, field, op, value in PROBES:
        values = reexports if field == REEXPORT else [header[field]]
        if any(TESTS[op](v, value) for v in values):
            found.add(rule)
    return found


def stored_facts(db: str, version: str, kind: str) -> dict[str, tuple[dict[str, Any], list[int]]]:
    """Per declaration id, the history facts its decision of this kind and rule set was made on."""
    store = Store(db, create=False)
    try:
        with store.reading() as session:
            chosen = select(DecisionRecord).where(
                DecisionRecord.ruleset_version == version, DecisionRecord.kind == kind
            )
            ids = [row.id for row in session.exec(chosen)]
        found = {}
        for number in ids:
            shown = store.explain(f"#{number}")
            assert shown is not None
            items = shown["facts"]
            header = {k: v for k, v in items[0].items() if k.startswith("history.")}
            assert shown["declaration_id"] not in found, "one decision per declaration"
            found[shown["declaration_id"]] = (header, [item[REEXPORT] for item in items])
        return found
    finally:
        store.close()


def revision(stored: list[dict[str, Any]], decl: dict[str, Any]) -> int:
    """The revision the store gave this content: distinct contents of an id, numbered in order."""
    contents: list[dict[str, Any]] = []
    for other in stored:
        if other["declaration_id"] == decl["declaration_id"] and other not in contents:
            contents.append(other)
    return contents.index(decl) + 1


def add_flags(db: str, flags: list[tuple[int, int, str]], stored: list[dict[str, Any]]) -> list[ref.PastFlag]:
    """Each flag on the decision of a stored declaration, dated by SQL (the tool dates them
    now): a hold decision, or an inspection outcome recorded that day."""
    made: list[tuple[int, ref.PastFlag]] = []
    for position, day, reason in flags:
        decl = stored[position]
        store = Store(db, create=False)
        try:
            with store.reading() as session:
                (number,) = session.exec(
                    select(DecisionRecord.id).join(DeclarationRecord, DecisionRecord.declaration_pk == DeclarationRecord.id)
                    .where(DeclarationRecord.declaration_id == decl["declaration_id"],
                           DeclarationRecord.revision == revision(stored, decl))
                ).all()  # fmt: skip
        finally:
            store.close()
        at = f"{START + dt.timedelta(days=day)} 12:00:00"
        if reason == "hold":
            sql(db, f"UPDATE decision SET decision = 'hold', screened_at = '{at}' WHERE id = {number}")
        else:
            assert cli(db, "-q", "outcome", f"#{number}", "--result", reason).exit_code == 0
            sql(db, f"UPDATE outcome SET recorded_at = '{at}' WHERE id = (SELECT max(id) FROM outcome)")
        flag = ref.PastFlag(decl["declaration_id"], START + dt.timedelta(days=day), keys(decl), reason)
        # a decision holds once: a later hold of it moves its date (the UPDATE above)
        made = [(n, f) for n, f in made if not (reason == "hold" == f.reason and n == number)] + [(number, flag)]
    return [flag for _, flag in made]


def write_lines(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("probes")
    return {
        "stored": probe_pack(root / "stored", note="# another version: the batch screens afresh\n"),
        "active": probe_pack(root / "active"),
        "test": probe_pack(root / "test", status="test"),
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])  # fmt: skip
@given(case=cases())
def test_batch_rescreen_and_backtest_compute_the_plain_definition(packs: dict[str, Path], case: Any) -> None:
    stored, batch, flag_specs = case
    probe = load_pack(packs["active"])
    with tempfile.TemporaryDirectory() as folder:
        db = f"sqlite:///{Path(folder) / 'h.db'}"
        stored_file = write_lines(Path(folder) / "stored.jsonl", stored)
        screened = cli(db, "-q", "screen", stored_file, "--rules", str(packs["stored"]), "--no-registry",
                       "--workers", "1", "--format", "json")  # fmt: skip
        assert screened.exit_code == 0, screened.output
        flags = add_flags(db, flag_specs, stored)
        # a batch: the stored declarations and the file's own earlier-dated ones are its past
        batch_file = write_lines(Path(folder) / "batch.jsonl", batch)
        screened = cli(db, "-q", "screen", batch_file, "--rules", str(packs["active"]), "--no-registry",
                       "--workers", "1", "--format", "json")  # fmt: skip
        assert screened.exit_code == 0, screened.output
        history = newest(stored) | newest(batch)  # the file's declarations come after the store's
        got = stored_facts(db, probe.version, "screen")
        assert got.keys() == newest(batch).keys()
        for ident, decl in newest(batch).items():
            assert got[ident] == expected(decl, history, flags, probe), ident
        # rescreen: the newest revision of each stored declaration, against the stored history
        rescreened = cli(db, "-q", "rescreen", "--rules", str(packs["active"]), "--no-registry", "--format", "json")
        assert rescreened.exit_code == 0, rescreened.output
        latest = newest(stored + batch)
        want = {ident: expected(decl, latest, flags, probe) for ident, decl in latest.items()}
        assert stored_facts(db, probe.version, "rescreen") == want
        # backtest: the probe rules in test status against the same rules active; what
        # changes, and by which rules, says which facts it computed
        backtested = cli(db, "-q", "backtest", "--rules", str(packs["active"]), "--baseline", str(packs["test"]),
                         "--no-registry", "--workers", "1", "--format", "json")  # fmt: skip
        assert backtested.exit_code == 0, backtested.output
        changes = {row["declaration_id"]: set(row["rules_added"]) for row in map(json.loads,
                   backtested.stdout.splitlines())}  # fmt: skip
        assert changes == {ident: fired(*facts) for ident, facts in want.items() if fired(*facts)}


# a hand-made history in which every probe rule fires for E-1 (a re-export on day 50):
# the exporter (party 0) shipped listed goods to party 3 before the cut-off, in the
# baseline and the recent window, twice within the split window; it imported the goods
# (I-1) from party 5; were found and held within the flags window
HISTORY = [
    declaration("X-1", 5, "export", 0, 3, [("880621", 400)]),
    declaration("X-2", 25, "export", 0, 3, [("854231", 200)]),
    declaration("X-3", 30, "export", 0, 3, [("854231", 200)]),
    declaration("I-1", 40, "import", 5, 0, [("880730", 50)]),
    declaration("X-4", 45, "export", 0, 3, [("880621", 1000)]),
    declaration("X-5", 48, "export", 0, 3, [("854231", 1000)]),
]
EXPORT = declaration("E-1", 50, "re-export", 0, 3, [("880730", 100)])
RECENT, BASELINE, EARLY = {"X-4", "X-5"}, {"X-2", "X-3"}, {"X-1", "X-2", "X-3"}
BEHIND = {
    "probe-first-listed": {"X-1"}, "probe-before-cutoff": EARLY,
    **{f"probe-{role}-{what}": ids for role in ("exporter", "consignee")
       for what, ids in [("recent-count", RECENT), ("recent-value", RECENT), ("baseline-count", BASELINE),
                         ("baseline-value", BASELINE), ("ratio", RECENT | BASELINE)]},
    "probe-split-count": RECENT, "probe-split-value": RECENT,
    "probe-exporter-flags": {"X-2", "X-3"}, "probe-consignee-flags": {"X-2", "X-3"}, "probe-reexport": {"I-1"},
}  # fmt: skip


def named_ids(value: Any) -> set[str]:
    """Every declaration id an evidence detail names."""
    if isinstance(value, dict):
        own = {value["declaration_id"]} if isinstance(value.get("declaration_id"), str) else set()
        return own.union(*(named_ids(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(named_ids(v) for v in value))
    return set()


def behind(decision: dict[str, Any]) -> dict[str, set[str]]:
    """Per probe finding, the declarations its evidence names."""
    fields = {rule: field for rule, field, _, _ in PROBES}
    return {f["rule_id"]: named_ids(f["evidence"][fields[f["rule_id"]]]) for f in decision["findings"]}


def test_each_history_finding_names_the_declarations_behind_it(
    db_url: str, packs: dict[str, Path], tmp_path: Path
) -> None:
    active = str(packs["active"])
    past = write_lines(tmp_path / "past.jsonl", HISTORY)
    stored = cli(db_url, "-q", "screen", past, "--rules", str(packs["stored"]), "--no-registry", "--format", "json")
    assert stored.exit_code == 0, stored.output
    assert cli(db_url, "-q", "outcome", "X-2", "--result", "seized").exit_code == 0
    sql(db_url, f"UPDATE outcome SET recorded_at = '{START + dt.timedelta(days=46)} 09:00:00'",
        f"UPDATE decision SET decision = 'hold', screened_at = '{START + dt.timedelta(days=45)} 09:00:00' "
        "WHERE declaration_id = 'X-3'")  # fmt: skip
    # submit reads the stored history
    (tmp_path / "e.json").write_text(json.dumps(EXPORT), encoding="utf-8")
    submitted = cli(db_url, "submit", str(tmp_path / "e.json"), "--rules", active, "--no-registry", "--format", "json")
    assert submitted.exit_code == 0, submitted.output
    decision = json.loads(submitted.stdout)
    assert {f["rule_id"] for f in decision["findings"]} == set(BEHIND) | {"probe-since"}
    # history.since: the first declaration of the whole history, whoever its parties
    (since,) = [f["evidence"]["history.since"] for f in decision["findings"] if f["rule_id"] == "probe-since"]
    assert since["value"] == "2022-01-06"
    assert behind(decision) == BEHIND | {"probe-since": {"X-1"}}
    # a batch: the file's own earlier declaration (X-6, to the same consignee) counts too
    later = [EXPORT | {"declaration_id": "E-2"}, declaration("X-6", 49, "export", 0, 3, [("854231", 10)])]
    batch = cli(db_url, "screen", write_lines(tmp_path / "batch.jsonl", later), "--rules", active,
                "--no-registry", "--format", "json")  # fmt: skip
    assert batch.exit_code == 0, batch.output
    screened = json.loads(batch.stdout.splitlines()[0])
    assert screened["declaration_id"] == "E-2"
    found = behind(screened)
    assert found["probe-split-count"] == found["probe-exporter-recent-count"] == RECENT | {"X-6"}
    assert found["probe-reexport"] == {"I-1"} and found["probe-exporter-flags"] == {"X-2", "X-3"}
    # rescreen: the stored declarations, each as of its date (E-2 and X-6 are stored now)
    rescreened = cli(db_url, "-q", "rescreen", "--rules", active, "--no-registry", "--declared-since", "2022-02-20")
    assert rescreened.exit_code == 0, rescreened.output
    shown = cli(db_url, "decisions", "show", "E-1", "--format", "json")
    assert shown.exit_code == 0
    again = json.loads(shown.stdout)
    assert again["kind"] == "rescreen"
    assert behind(again)["probe-split-count"] == RECENT | {"X-6"}
    assert behind(again)["probe-consignee-ratio"] == RECENT | BASELINE | {"X-6"}


def test_a_rescreen_s_hold_is_no_prior_hold(db_url: str, packs: dict[str, Path], tmp_path: Path) -> None:
    """A rescreen is a what-if (it may run a trial pack): its holds hold nothing at the
    border, so they never make a party "held before"; a batch's hold does."""
    strict = probe_pack(tmp_path / "strict")
    (strict / "probe" / "hold.yaml").write_text(
        "id: hold-everything\ntitle: Hold everything\ndescription: a trial pack\nstatus: active\naction: hold\n"
        "score: 100\nfamily: probe\nreferences: [tests/test_history_paths.py]\nconditions:\n"
        "  field: declaration.date\n  exists: true\n", encoding="utf-8")  # fmt: skip
    past = write_lines(tmp_path / "past.jsonl", HISTORY[:3])
    assert cli(db_url, "-q", "screen", past, "--rules", str(packs["stored"]), "--no-registry").exit_code == 0
    rescreened = cli(db_url, "-q", "rescreen", "--rules", str(strict), "--no-registry", "--format", "json")
    assert rescreened.exit_code == 0 and rescreened.stdout.count('"hold"') == 3
    sql(db_url, f"UPDATE decision SET screened_at = '{START + dt.timedelta(days=45)} 09:00:00'")  # within the window
    later = EXPORT | {"declaration_id": "E-9"}
    (tmp_path / "e.json").write_text(json.dumps(later), encoding="utf-8")
    submitted = cli(db_url, "submit", str(tmp_path / "e.json"), "--rules", str(packs["active"]), "--no-registry",
                    "--format", "json")  # fmt: skip
    assert submitted.exit_code == 0, submitted.output
    assert "probe-exporter-flags" not in behind(json.loads(submitted.stdout))
    # the batch's own decision held: that is a prior hold
    sql(db_url, "UPDATE decision SET decision = 'hold' WHERE kind = 'screen' AND declaration_id = 'X-2'")
    (tmp_path / "e.json").write_text(json.dumps(later | {"declaration_id": "E-10"}), encoding="utf-8")
    again = cli(db_url, "submit", str(tmp_path / "e.json"), "--rules", str(packs["active"]), "--no-registry",
                "--format", "json")  # fmt: skip
    assert behind(json.loads(again.stdout))["probe-exporter-flags"] == {"X-2"}
