"""History facts: the columnar computation (`screening/history.py`) against the plain
definition (`engine/history.py`) over random histories, as of each declaration's date.

Random past declarations (stored, with revisions and identical resubmissions) and flags,
and a random set (whose earlier-dated members count), with short windows so that every
window boundary is met. Also: nothing dated on or after a declaration changes its facts
(no look-ahead), an identical declaration submitted again counts once, and the settings
file is validated with located errors.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customs_rules.contract.errors import RuleError
from customs_rules.contract.facts import FIELDS
from customs_rules.contract.models import Declaration
from customs_rules.engine import history as ref
from customs_rules.rules.history import HistorySettings
from customs_rules.rules.loader import load_pack
from customs_rules.rules.model import RulePack
from customs_rules.rules.reference import ReferenceData
from customs_rules.screening.frames import DeclarationSet
from customs_rules.screening.history import (
    FLAGS_SCHEMA,
    HISTORY_KEYS,
    REEXPORT,
    HistoryBase,
    listed_code,
    rows_of,
    set_history,
    set_keys,
)
from customs_rules.screening.past import NarrowingPast
from customs_rules.workflow.screener import default_rules_dir

START = dt.date(2022, 1, 1)
SHORT = HistorySettings(cutoff=dt.date(2022, 2, 1), recent_days=10, baseline_days=20, reexport_days=15,
                        reexport_digits=4, split_days=7, flags_days=12, evidence_limit=3)  # fmt: skip
PARTIES = [{"name": "Aspan Arba LLP", "id": "190540218733"}, {"name": "ТОО «Аспан Арба»"}, {"name": "Aspan Arba TOO"},
           {"name": "Nebesnaya Mekhanika"}, {"name": "Dala Astyk", "id": "040940022317"}, {"name": "Altyn Arba"}]  # fmt: skip
HS = ["880621", "880730", "854231", "854239", "100199", "720851"]  # drones, parts, chips (CHPL), ordinary


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return dataclasses.replace(load_pack(default_rules_dir()).reference, history=SHORT)


@st.composite
def declaration(draw: st.DrawFn, ident: str) -> Declaration:
    items = [{"hs_code": draw(st.sampled_from(HS)), "value": draw(st.sampled_from([None, 0, 10, 250.5, 1000]))}
             for _ in range(draw(st.integers(1, 3)))]  # fmt: skip
    return Declaration.model_validate({
        "declaration_id": ident, "date": (START + dt.timedelta(days=draw(st.integers(0, 60)))).isoformat(),
        "procedure": draw(st.sampled_from(["export", "import", "re-export", "transit"])),
        "exporter": draw(st.sampled_from(PARTIES)), "consignee": draw(st.sampled_from(PARTIES)),
        "dispatch_country": "KZ", "destination_country": "RU", "items": items,
    })  # fmt: skip


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Declaration], list[ref.PastFlag], list[Declaration]]:
    stored = [draw(declaration(f"S-{draw(st.integers(0, 12))}")) for _ in range(draw(st.integers(0, 14)))]
    stored += draw(st.lists(st.sampled_from(stored), max_size=3)) if stored else []  # identical resubmissions
    flags = [
        ref.PastFlag(f"S-{draw(st.integers(0, 12))}", START + dt.timedelta(days=draw(st.integers(0, 60))),
                     (ref.party_key(p.get("id"), p["name"]), ref.party_key(q.get("id"), q["name"])),
                     draw(st.sampled_from(ref.FLAG_REASONS)))
        for p, q in [(draw(st.sampled_from(PARTIES)), draw(st.sampled_from(PARTIES)))
                     for _ in range(draw(st.integers(0, 4)))]
    ]  # fmt: skip
    screened = [draw(declaration(f"N-{draw(st.integers(0, 5))}")) for _ in range(draw(st.integers(1, 6)))]
    return stored, flags, screened


def base_of(stored: list[Declaration], flags: list[ref.PastFlag]) -> HistoryBase:
    base = HistoryBase().with_set(DeclarationSet.from_declarations(stored)) if stored else HistoryBase()
    rows = [(f.declaration_id, f.date, *f.keys, f.reason) for f in flags]
    return HistoryBase(base.rows, pl.DataFrame(rows, schema=FLAGS_SCHEMA, orient="row"))


def plain(declarations: list[Declaration], flags: list[ref.PastFlag]) -> ref.PlainHistory:
    past = [
        ref.PastDeclaration(d.declaration_id, d.date, d.procedure.value, ref.party_key(d.exporter.id, d.exporter.name),
                            ref.party_key(d.consignee.id, d.consignee.name),
                            tuple((i.hs_code, i.value) for i in d.items))
        for d in declarations
    ]  # fmt: skip
    return ref.PlainHistory(ref.distinct(past), flags)


def expected(
    decl: Declaration, history: ref.PlainHistory, reference: ReferenceData
) -> tuple[dict[str, Any], list[Any]]:
    header, reexports, _ = ref.history_values(
        decl.declaration_id, decl.date, decl.procedure.value, ref.party_key(decl.exporter.id, decl.exporter.name),
        ref.party_key(decl.consignee.id, decl.consignee.name), [i.hs_code for i in decl.items],
        history.declarations, history.flags, SHORT, lambda code: listed_code(reference, SHORT, code),
    )  # fmt: skip
    return header, [count for count, _ in reexports]


def computed(screened: list[Declaration], base: HistoryBase, reference: ReferenceData) -> list[Any]:
    found = set_history(DeclarationSet.from_declarations(screened), base, reference)
    items = found.items.sort("decl", "position").group_by("decl", maintain_order=True).agg(REEXPORT)
    per_item = dict(items.iter_rows())
    return [(row, per_item[row.pop("decl")]) for row in found.header.iter_rows(named=True)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=histories())
def test_columns_equal_the_plain_definition(reference: ReferenceData, case: Any) -> None:
    stored, flags, screened = case
    base = base_of(stored, flags).with_set(DeclarationSet.from_declarations(screened))
    history = plain(stored + screened, flags)
    for (header, reexports), decl in zip(computed(screened, base, reference), screened, strict=True):
        want, want_reexports = expected(decl, history, reference)
        assert {k: v for k, v in header.items() if want[k] != v} == {}, (decl, want)
        assert reexports == want_reexports


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=histories(), later=st.lists(st.integers(0, 40), min_size=1, max_size=4))
def test_no_look_ahead(reference: ReferenceData, case: Any, later: list[int]) -> None:
    """Declarations dated on or after a declaration's date never change its facts."""
    stored, flags, screened = case
    decl = screened[0]
    future = [
        d.model_copy(update={"declaration_id": f"F-{n}", "date": decl.date + dt.timedelta(days=days)})
        for n, (d, days) in enumerate(zip(screened * 4, later, strict=False))
    ]
    alone = computed([decl], base_of(stored, flags).with_set(DeclarationSet.from_declarations([decl])), reference)
    ahead = base_of(stored + future, flags).with_set(DeclarationSet.from_declarations([decl]))
    assert computed([decl], ahead, reference) == alone


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=histories(), copies=st.integers(1, 3))
def test_an_identical_declaration_submitted_again_counts_once(reference: ReferenceData, case: Any, copies: int) -> None:
    stored, flags, screened = case
    once = base_of(stored, flags).with_set(DeclarationSet.from_declarations(screened))
    again = base_of(stored + stored * copies, flags).with_set(DeclarationSet.from_declarations(screened * copies))
    assert computed(screened, again, reference) == computed(screened, once, reference)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=histories())
def test_a_narrowed_history_gives_the_same_facts_and_evidence(reference: ReferenceData, case: Any) -> None:
    """What a batch, rescreen and backtest hand their sets: the rows the facts read, from
    the history with the set in it; also with the set's party keys given, as a pre-pass
    gives them."""
    stored, flags, screened = case
    declarations = DeclarationSet.from_declarations(screened)
    whole = base_of(stored, flags).with_set(declarations)
    narrow = whole.narrowed(reference)
    assert narrow.rows.height <= whole.kept().height
    keyed = dataclasses.replace(narrow, covers_inputs=True).for_set(declarations, set_keys(declarations))
    assert computed(screened, narrow, reference) == computed(screened, whole, reference)
    assert computed(screened, keyed, reference) == computed(screened, whole, reference)
    full, short = set_history(declarations, whole, reference), set_history(declarations, narrow, reference)
    for decl, declaration in enumerate(screened):
        for name in (*HISTORY_KEYS, REEXPORT):
            for item in declaration.items:
                assert short.detail(decl, name, item.hs_code) == full.detail(decl, name, item.hs_code)
    assert narrow.plain().declarations.keys() <= whole.plain().declarations.keys()
    with pytest.raises(ValueError, match="narrowed history takes no set"):
        narrow.with_set(declarations)
    with pytest.raises(ValueError, match="party keys for a set of"):
        set_history(declarations, dataclasses.replace(narrow, set_keys=set_keys(declarations).head(0)), reference)


def test_a_history_of_drones_then_a_spike(reference: ReferenceData) -> None:
    """A hand-made case: an importer of drone parts re-exports them; evidence names the imports."""
    rows = [
        Declaration.model_validate({"declaration_id": f"I-{n}", "date": f"2022-01-{n + 10:02d}", "procedure": "import",
                                    "exporter": {"name": "Shenzhen Sky"}, "consignee": PARTIES[0],
                                    "dispatch_country": "CN", "destination_country": "KZ",
                                    "items": [{"hs_code": "880730", "value": 100}]})
        for n in range(4)
    ]  # fmt: skip
    export = Declaration.model_validate({"declaration_id": "E-1", "date": "2022-01-20", "procedure": "re-export",
                                         "exporter": PARTIES[0], "consignee": {"name": "Nebesnaya Mekhanika"},
                                         "dispatch_country": "KZ", "destination_country": "RU",
                                         "items": [{"hs_code": "8807.30", "value": 380}]})  # fmt: skip
    base = HistoryBase().with_set(DeclarationSet.from_declarations([*rows, export]))
    found = set_history(DeclarationSet.from_declarations([export]), base, reference)
    assert found.items[REEXPORT].to_list() == [4]
    assert found.header["history.since"].to_list() == ["2022-01-10"]
    assert found.header["history.exporter_first_listed_on"].to_list() == [None]  # imports are not its shipments
    detail = found.detail(0, REEXPORT, "880730")
    assert detail["count"] == 4 and [i["declaration_id"] for i in detail["imports"]] == ["I-1", "I-2", "I-3"]
    assert detail["hs_prefix"] == "8807" and detail["window"] == ["2022-01-05", "2022-01-20"]


def test_history_fields_are_listed_and_typed() -> None:
    assert set(HISTORY_KEYS) | {REEXPORT} <= set(FIELDS)
    assert FIELDS[REEXPORT].item_level and not FIELDS["history.since"].item_level


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("recent_days: 0\n", "history.yaml:3, field recent_days: recent_days must be a whole number of days"),
        ("cutoff: someday\n", "history.yaml:3, field cutoff: cutoff must be a date YYYY-MM-DD"),
        ("reexport_digits: 5\n", "reexport_digits must be 4 or 6"),
        ("listed_goods: [chpl, nuclear]\n", "unknown goods list(s) nuclear"),
        ("window: 3\n", "history.yaml:3, field window: unknown key"),
    ],
)
def test_bad_settings_are_located(tmp_path: Path, pack: RulePack, text: str, message: str) -> None:
    rules = tmp_path / "rules"
    for name, content in pack.contents.items():
        path = rules / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    (rules / "lists" / "history.yaml").write_text("kind: history\nsource: test\n" + text, encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_pack(rules)
    assert message in "\n".join(str(e) for e in caught.value.errors)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=histories(), cuts=st.lists(st.integers(0, 6), max_size=3))
def test_a_past_narrowed_as_it_is_read_is_the_narrowed_past(
    reference: ReferenceData, case: Any, cuts: list[int]
) -> None:
    """A batch's pre-pass narrows its past a set at a time (`NarrowingPast`): the same
    rows in the same order as narrowing the whole past, however the input is cut into
    sets, reading again only the sets of the two earliest declarations; and the ids the
    sets repeat (not those of the store)."""
    stored, flags, screened = case
    base = base_of(stored, flags)
    want = base.with_set(DeclarationSet.from_declarations(screened)).narrowed(reference)
    past, asked = NarrowingPast(base, [reference]), []
    rank = int(base.rows["rank"].max() or 0) + 1 if base.rows.height else 0  # as `with_set` ranks a set
    bounds = sorted({0, len(screened), *(min(c, len(screened)) for c in cuts)})
    for start, end in zip(bounds, bounds[1:], strict=False):
        rows = rows_of(DeclarationSet.from_declarations(screened[start:end]), rank)
        past.add(rows, lambda rows=rows, n=start: asked.append(n) or rows)
        rank += end - start
    found = past.finish()
    assert found.narrow and found.covers_inputs
    assert found.rows.equals(want.rows) and found.flags.equals(want.flags)
    assert len(asked) <= 2
    ids = [d.declaration_id for d in screened]
    assert past.repeated == {i for i in ids if ids.count(i) > 1}
