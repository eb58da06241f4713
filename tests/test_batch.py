"""Batch screening: streaming, workers, outputs, rejects; every shortcut equals plain screening."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import load_fixture_registry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customs_rules.cli.base import main
from customs_rules.contract.models import Declaration
from customs_rules.entities.registry import RegistryIndex
from customs_rules.io.declarations import read_declarations
from customs_rules.io.parsing import Parsed
from customs_rules.rules.model import RulePack
from customs_rules.workflow import batch, batch_workers
from customs_rules.workflow.screener import Screener

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SHIPMENTS = FIXTURES / "shipments.csv"
BAD_ROWS = FIXTURES / "bad" / "bad_rows.csv"
AT = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def run(db: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)


@pytest.fixture()
def sqlite_url(sqlite_url: str) -> str:
    """Batch runs screen against the fixture registry, as the README's quick start does:
    screening refuses a store with no registry loaded."""
    load_fixture_registry(sqlite_url)
    return sqlite_url


def screened(
    pack: RulePack, registry: RegistryIndex | None, paths: list[str], workers: int, db_url: str | None = None
) -> Any:
    """Every outcome, read in chunks of 7 lines (so declarations and rejections cross
    chunk boundaries), screened by `workers` processes."""
    # the run's past, as the CLI gives it: every declaration of the inputs (`run_history`)
    worker = batch.Worker(pack, registry, db_url, history=batch.run_history(None, paths))
    screening = batch.local_screening(worker, AT, workers)
    return batch.screen_files(paths, screening, chunk_lines=7)


def outcomes(pack: RulePack, registry: RegistryIndex, paths: list[str], workers: int) -> list[Any]:
    return [
        o.decision if o.decision else [str(e) for e in o.rejected.errors]
        for o in screened(pack, registry, paths, workers)
    ]


def test_results_are_identical_for_any_number_of_workers(
    pack: RulePack, small_registry: RegistryIndex, tmp_path: Path
) -> None:
    # a batch CSV, a gzip-compressed one with bad rows, and JSON Lines: every reader's chunks
    packed = tmp_path / "bad_rows.csv.gz"
    packed.write_bytes(gzip.compress(BAD_ROWS.read_bytes()))
    paths = [str(SHIPMENTS), str(packed), str(FIXTURES / "declarations" / "batch.jsonl")]
    one = outcomes(pack, small_registry, paths, 1)
    assert len(one) > 150 and any(isinstance(o, list) for o in one)
    assert outcomes(pack, small_registry, paths, 2) == one
    assert outcomes(pack, small_registry, paths, 3) == one


def test_a_one_chunk_input_is_screened_without_starting_workers(
    pack: RulePack, small_registry: RegistryIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starting a worker costs about a second; a file that fits one chunk is screened in
    this process, with the outcomes of the pool's run. Two chunks start the pool."""
    paths = [str(SHIPMENTS)]
    worker = batch.Worker(pack, small_registry, history=batch.run_history(None, paths))
    pooled = [o.decision for o in batch.screen_files(paths, batch.local_screening(worker, AT, 2), chunk_lines=7)]

    def no_pool(*args: Any) -> Any:
        raise AssertionError("a worker process was started")

    monkeypatch.setattr(batch_workers, "spawn_pool", no_pool)
    whole = [o.decision for o in batch.screen_files(paths, batch.local_screening(worker, AT, 2), chunk_lines=10_000)]
    assert len(whole) > 150 and whole == pooled
    with pytest.raises(AssertionError, match="a worker process was started"):
        list(batch.screen_files(paths, batch.local_screening(worker, AT, 2), chunk_lines=7))


def test_the_screening_pass_takes_the_chunks_the_history_pre_pass_read(
    pack: RulePack, small_registry: RegistryIndex, tmp_path: Path
) -> None:
    """With a spool, the inputs are parsed once (by the pre-pass): the files can be gone by
    the time the chunks are screened, and every outcome is the same, on 1 or 2 workers,
    narrowed past and party keys from the pre-pass included."""
    paths = [str(tmp_path / "shipments.csv"), str(tmp_path / "bad_rows.csv")]
    Path(paths[0]).write_bytes(SHIPMENTS.read_bytes())
    Path(paths[1]).write_bytes(BAD_ROWS.read_bytes())
    want = outcomes(pack, small_registry, paths, 1)
    for workers in (1, 2):
        spool = batch.Spool()
        try:
            history = batch.run_history(None, paths, reference=pack.reference, spool=spool)
            assert history.narrow and history.rows.height < batch.run_history(None, paths).rows.height
            moved = [Path(p).rename(p + ".gone") for p in paths]
            worker = batch.Worker(pack, small_registry, history=history)
            found = batch.screen_files(paths, batch.local_screening(worker, AT, workers), spool=spool)
            assert [o.decision if o.decision else [str(e) for e in o.rejected.errors] for o in found] == want
            for gone in moved:
                gone.rename(str(gone)[: -len(".gone")])
        finally:
            spool.close()
        assert not spool.directory.exists()


def test_batch_equals_plain_per_declaration_screening(pack: RulePack, small_registry: RegistryIndex) -> None:
    plain = []
    history = batch.run_history(None, [str(SHIPMENTS)]).plain()  # the file is its own history
    for parsed in read_declarations(str(SHIPMENTS)):
        assert isinstance(parsed, Parsed)
        fresh = Screener(pack, RegistryIndex(list(small_registry.companies.values()),
                                             [p for ps in small_registry.people.values() for p in ps],
                                             small_registry.watchlist))  # fmt: skip
        fresh.plain_history = history
        plain.append(fresh.screen(parsed.declaration, AT).decision)
    assert outcomes(pack, small_registry, [str(SHIPMENTS)], 2) == plain


PARTIES = [
    {"name": "Aspan Arba LLP", "country": "KZ"}, {"name": "Nebesnaya Mejanica", "country": "RU"},
    {"name": "Kazakh Microelectronics LLP", "id": "100140000003"}, {"name": "Dala Grain LLP"},
    {"name": "Qazaq Tech Trade LLP", "country": "KZ"}, {"name": "Bishkek Components"},
    {"name": "Gulf Electronics FZE", "country": "AE"}, {"name": "ООО «Радиокомплект»"}, {"name": "Nobody Ltd"},
]  # fmt: skip
HS = ["854231", "8806.21", "880730", "848210", "100199", "720851", "851762", "3102.10"]
COUNTRIES = ["RU", "BY", "KZ", "KG", "CN", "DE", "AE", "AM"]


@st.composite
def declarations(draw: st.DrawFn) -> list[Declaration]:
    result = []
    for n in range(draw(st.integers(1, 12))):
        items = [
            {"line": i + 1, "hs_code": draw(st.sampled_from(HS)), "value": draw(st.sampled_from([0, 10, 5000.5]))}
            for i in range(draw(st.integers(1, 3)))
        ]
        result.append(Declaration.model_validate({
            "declaration_id": f"H-{n}", "date": "2024-05-01",
            "exporter": draw(st.sampled_from(PARTIES)), "consignee": draw(st.sampled_from(PARTIES)),
            "dispatch_country": "KZ", "destination_country": draw(st.sampled_from(COUNTRIES)),
            "transit_countries": draw(st.lists(st.sampled_from(COUNTRIES), max_size=2)), "items": items,
        }))  # fmt: skip
    return result


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(batch_of=declarations())
def test_cached_screening_equals_fresh_screening(
    pack: RulePack, small_registry: RegistryIndex, batch_of: list[Declaration]
) -> None:
    # the long-lived screener memoises fact signatures, parties, links and coverage;
    # a fresh one per declaration has nothing cached: both must decide alike
    shared = Screener(pack, small_registry)
    for decl in batch_of:
        fresh = Screener(pack, RegistryIndex(list(small_registry.companies.values()),
                                             [p for ps in small_registry.people.values() for p in ps],
                                             small_registry.watchlist))  # fmt: skip
        assert shared.screen(decl, AT).decision == fresh.screen(decl, AT).decision


def test_rejects_out_and_counts_add_up(sqlite_url: str, tmp_path: Path) -> None:
    out, rejects = tmp_path / "out.csv", tmp_path / "rejects.csv"
    result = run(
        sqlite_url,
        "screen",
        str(BAD_ROWS),
        "--format",
        "json",
        "--out",
        str(out),
        "--rejects",
        str(rejects),
        "--workers",
        "2",
    )
    assert result.exit_code == 2
    summary = result.stderr.splitlines()
    counts = [s for s in summary if " lines: " in s][0]
    assert counts.startswith("12 lines: ") or " lines: " in counts
    total, screened, rejected = _numbers(counts)
    assert screened + rejected == total
    rows = list(csv.DictReader(rejects.open()))
    assert {r["declaration_id"] for r in rows} == {"BR-BAD-HS-0002", "BR-BAD-COUNTRY-0004"}
    bad_hs = [r for r in rows if r["declaration_id"] == "BR-BAD-HS-0002"]
    assert all("85A231" in r["reason"] for r in bad_hs) and any("85A231" in r["raw"] for r in bad_hs)
    assert len(rows) == rejected
    results = list(csv.DictReader(out.open()))
    assert [r["declaration_id"] for r in results] == ["BR-GOOD-0001", "BR-GOOD-0003", "BR-GOOD-0005"]


def test_held_parties_are_counted_under_their_registered_name(sqlite_url: str) -> None:
    registry = FIXTURES / "registry"
    run(sqlite_url, "registry", "load", "--companies", str(registry / "companies.csv"),
        "--people", str(registry / "people.csv"), "--watchlist", str(registry / "watchlist.csv"))  # fmt: skip
    result = run(sqlite_url, "screen", str(SHIPMENTS), "--format", "json", "--no-store")
    assert result.exit_code == 0
    held = [json.loads(line) for line in result.stdout.splitlines()]
    story = [d for d in held if d["declaration_id"].startswith("STORY-") and d["decision"] == "hold"]
    assert len(story) >= 3  # declared as ТОО «Аспан Арба», Aspan Arba LLP, Aspan Arba TOO...
    top = result.stderr[result.stderr.index("Top held exporters") :]
    row = next(line for line in top.splitlines() if "Аспан Арба" in line or "Aspan Arba" in line)
    assert "ТОО «Аспан Арба» (190540218733)" in row and row.split()[-2] == str(len(story))  # one company, one row


def _numbers(line: str) -> tuple[int, int, int]:
    words = line.replace(",", "").split()
    total = int(words[0])
    screened = int(words[words.index("screened") - 1])
    rejected = int(words[words.index("rejected") - 1])
    return total, screened, rejected


def test_per_finding_jsonl_and_gzip_input(sqlite_url: str, tmp_path: Path) -> None:
    gz = tmp_path / "shipments.csv.gz"
    gz.write_bytes(gzip.compress(SHIPMENTS.read_bytes()))
    out = tmp_path / "findings.jsonl"
    result = run(
        sqlite_url, "-q", "screen", str(gz), "--format", "csv", "--no-store", "--out", str(out), "--per-finding"
    )
    assert result.exit_code == 0, result.stderr
    findings = [json.loads(line) for line in out.read_text().splitlines()]
    assert findings and {"declaration_id", "rule_id", "evidence", "is_test"} <= set(findings[0])
    assert len(result.stdout.splitlines()) - 1 == len({r.split(",")[0] for r in result.stdout.splitlines()[1:]})


@pytest.mark.parametrize("workers", ["1", "2"])
def test_out_json_lines_made_by_the_workers_are_the_decisions_rows(
    sqlite_url: str, tmp_path: Path, workers: str
) -> None:
    """`--out FILE.jsonl` (a row per declaration): the workers make each row's line; it
    says what the decision on stdout says, in input order past the rejected rows, and
    is the line this process writes from a decision (`--format csv` asks for those)."""
    paths = [str(SHIPMENTS), str(BAD_ROWS)]
    made, written = tmp_path / "made.jsonl", tmp_path / "written.jsonl"
    as_json = run(sqlite_url, "-q", "screen", *paths, "--no-store", "--workers", workers, "--format", "json",
                  "--out", str(made))  # fmt: skip
    as_csv = run(sqlite_url, "-q", "screen", *paths, "--no-store", "--workers", workers, "--format", "csv",
                 "--out", str(written))  # fmt: skip
    assert as_json.exit_code == as_csv.exit_code == 2  # the bad rows
    decisions = [json.loads(line) for line in as_json.stdout.splitlines()]
    expected = [
        {"declaration_id": d["declaration_id"], "decision": d["decision"], "score": d["score"],
         "rule_ids": [f["rule_id"] for f in d["findings"]], "test_rule_ids": [f["rule_id"] for f in d["test_findings"]],
         "ruleset_version": d["ruleset_version"], "screened_at": d["screened_at"]}
        for d in decisions
    ]  # fmt: skip
    assert [json.loads(line) for line in made.read_text().splitlines()] == expected
    at = decisions[0]["screened_at"]
    screened_at = [json.loads(line)["screened_at"] for line in written.read_text().splitlines()]
    assert written.read_text().replace(screened_at[0], at) == made.read_text()
    assert any(d["findings"] for d in decisions) and len(decisions) > 10


def test_unknown_cluster_address_is_a_clear_error(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("distributed")
    from customs_rules.workflow import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", "1s")  # nothing answers there: no need to wait 10 s
    result = run(sqlite_url, "screen", str(BAD_ROWS), "--cluster", "tcp://127.0.0.1:9", "--no-store")
    assert result.exit_code == 1 and "cannot reach the Dask scheduler" in result.stderr


def test_a_dask_cluster_gives_the_same_results(pack: RulePack, small_registry: RegistryIndex) -> None:
    distributed = pytest.importorskip("distributed")
    from customs_rules.workflow.cluster import cluster_screening

    paths = [str(SHIPMENTS), str(BAD_ROWS)]
    local = outcomes(pack, small_registry, paths, 1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        screening = cluster_screening(cluster.scheduler_address, pack, small_registry, AT)
        remote = batch.screen_files(paths, screening, chunk_lines=7)
        found = [o.decision if o.decision else [str(e) for e in o.rejected.errors] for o in remote]
    assert found == local


def test_workers_store_the_same_as_one_process(tmp_path: Path) -> None:
    from customs_rules.store import DecisionRecord, DeclarationRecord, FindingRecord, ItemRecord, Store

    stored = []
    for workers in ("1", "2"):
        url = f"sqlite:///{tmp_path / f'w{workers}.db'}"
        load_fixture_registry(url)
        result = run(url, "-q", "screen", str(SHIPMENTS), str(BAD_ROWS), "--format", "json", "--workers", workers)
        assert result.exit_code == 2
        store = Store(url)
        try:
            stored.append(tuple(store.count(t) for t in (DeclarationRecord, ItemRecord, DecisionRecord, FindingRecord)))
        finally:
            store.close()
    assert stored[0] == stored[1] and stored[0][0] == 153 + 3


def test_a_repeated_id_with_other_content_is_flagged(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl"
    first = json.loads((FIXTURES / "declarations" / "clean_wheat.json").read_text())
    path.write_text(json.dumps(first) + "\n" + json.dumps(first | {"destination_country": "UZ"}) + "\n")
    result = run(sqlite_url, "screen", str(path), "--format", "json")
    assert result.exit_code == 0
    assert f"warning: declaration {first['declaration_id']} at {path}:2 repeats the id of {path}:1" in result.stderr
    assert len(result.stdout.splitlines()) == 2


def _shipments_with(tmp_path: Path, name: str, line_no: int, edit: Any) -> Path:
    lines = SHIPMENTS.read_bytes().split(b"\n")
    lines[line_no - 1] = edit(lines[line_no - 1])
    path = tmp_path / name
    path.write_bytes(b"\n".join(lines))
    return path


def _ids(stdout: str) -> set[str]:
    return {json.loads(line)["declaration_id"] for line in stdout.splitlines()}


def test_an_unbalanced_quote_never_lets_a_declaration_lose_a_line(sqlite_url: str, tmp_path: Path) -> None:
    path = _shipments_with(tmp_path, "quote.csv", 5, lambda line: line.replace(b",", b',"', 13))
    clean = _ids(run(sqlite_url, "-q", "screen", str(SHIPMENTS), "--format", "json", "--no-store").stdout)
    rejects = tmp_path / "rejects.csv"
    result = run(sqlite_url, "screen", str(path), "--format", "json", "--no-store", "--rejects", str(rejects))
    assert result.exit_code == 2
    screened = _ids(result.stdout)
    rejected = {r["declaration_id"] for r in csv.DictReader(rejects.open())}
    assert screened | rejected == clean and not screened & rejected  # nothing lost, nothing half
    assert any("unbalanced quote" in r["reason"] for r in csv.DictReader(rejects.open()))


def test_one_bad_row_does_not_cost_the_file(sqlite_url: str, tmp_path: Path) -> None:
    latin = _shipments_with(tmp_path, "latin.csv", 7, lambda line: line.replace(b"t,", b"t\xe9,", 1))

    def long_description(line: bytes) -> bytes:
        import io

        fields = next(csv.reader([line.decode()]))
        fields[SHIPMENTS.read_text().splitlines()[0].split(",").index("description")] = "x" * 200_000
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(fields)
        return out.getvalue().encode()

    huge = _shipments_with(tmp_path, "huge.csv", 9, long_description)
    for path, reason in ((latin, "not UTF-8 text"), (huge, "at most 4000 characters")):
        rejects = tmp_path / f"{path.stem}-rejects.csv"
        result = run(sqlite_url, "-q", "screen", str(path), "--format", "json", "--no-store", "--rejects", str(rejects))
        assert result.exit_code == 2
        rows = list(csv.DictReader(rejects.open(encoding="utf-8", errors="surrogateescape")))
        assert len({r["declaration_id"] for r in rows}) == 1 and reason in rows[0]["reason"], rows[0]["reason"]
        assert len(result.stdout.splitlines()) == 152


def test_deeply_nested_json_is_a_located_rejection(sqlite_url: str, tmp_path: Path) -> None:
    good = (FIXTURES / "declarations" / "clean_wheat.json").read_text().replace("\n", " ")
    path = tmp_path / "edge.jsonl"
    path.write_text(good + "\n" + "[" * 5000 + "]" * 5000 + "\n")
    result = run(sqlite_url, "screen", str(path), "--format", "json")
    assert result.exit_code == 2
    assert len(result.stdout.splitlines()) == 1 and f"{path}:2: nested too deeply" in result.stderr


def _deep(ident: str, levels: int) -> str:
    good = json.loads((FIXTURES / "declarations" / "clean_wheat.json").read_text())
    return json.dumps(good | {"declaration_id": ident})[:-1] + ', "extra": ' + "[" * levels + "]" * levels + "}"


@pytest.mark.parametrize("workers", ["1", "2"])
@pytest.mark.parametrize("form", ["jsonl", "json"])
def test_a_record_nested_hundreds_deep_rejects_only_itself(
    sqlite_url: str, tmp_path: Path, form: str, workers: str
) -> None:
    # deep enough that it could be neither stored, nor copied to a worker
    records = [_deep("OK-0", 1), _deep("DEEP", 300), _deep("OK-2", 1)]
    path = tmp_path / f"deep.{form}"
    path.write_text("\n".join(records) if form == "jsonl" else "[" + ",\n".join(records) + "]")
    result = run(sqlite_url, "screen", str(path), "--format", "json", "--workers", workers)
    assert result.exit_code == 2, result.output
    assert [json.loads(line)["declaration_id"] for line in result.stdout.splitlines()] == ["OK-0", "OK-2"]
    where = f"{path}:2" if form == "jsonl" else f"{path}:2, record 2"
    assert f"{where}: nested too deeply to be a declaration" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def test_a_json_file_too_deep_to_decode_is_refused_whole(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "deeper.json"
    path.write_text("[" + _deep("OK-0", 1) + ",\n" + _deep("DEEP", 5000) + "]")
    result = run(sqlite_url, "screen", str(path), "--format", "json")
    assert result.exit_code == 2 and result.stdout == ""
    assert f"{path}:2: nested too deeply to be a declaration" in result.stderr


def test_unwritable_outputs_stop_before_anything_is_screened(sqlite_url: str, tmp_path: Path) -> None:
    from customs_rules.store import DeclarationRecord, Store

    for option in ("--out", "--rejects", "--report"):
        result = run(sqlite_url, "screen", str(SHIPMENTS), option, str(tmp_path))
        assert result.exit_code == 2 and "cannot write" in result.stderr, (option, result.stderr)
        assert "Traceback" not in result.stderr
    store = Store(sqlite_url)
    try:
        assert store.count(DeclarationRecord) == 0
    finally:
        store.close()


def test_rejects_keep_json_records_as_json(sqlite_url: str, tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl"
    path.write_text('{"declaration_id": "X2", "date": "2024-01-01"}\n')
    rejects = tmp_path / "rejects.csv"
    assert run(sqlite_url, "screen", str(path), "--rejects", str(rejects)).exit_code == 2
    (row,) = list(csv.DictReader(rejects.open()))
    assert json.loads(row["raw"]) == {"declaration_id": "X2", "date": "2024-01-01"} and row["line"] == "1"


def test_database_lookups_equal_the_registry_snapshot(pack: RulePack, db_url: str) -> None:
    from customs_rules.store import Store
    from customs_rules.workflow.screener import load_registry

    registry_dir = FIXTURES / "registry"
    store = Store(db_url)
    try:
        load_registry(
            store, registry_dir / "companies.csv", registry_dir / "people.csv", registry_dir / "watchlist.csv"
        )
        snapshot = store.registry_index()
    finally:
        store.close()
    paths = [str(SHIPMENTS)]
    with_snapshot = outcomes(pack, snapshot, paths, 1)
    looked_up = screened(pack, None, paths, 2, db_url)
    assert [o.decision for o in looked_up] == with_snapshot


def test_a_batch_reads_the_compiled_registry_never_the_reference_index(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The per-declaration reference's index (`Store.registry_index`: every person pair
    matched in Python) is never built for a batch, whatever the registry's size: workers
    read what `registry load` compiled."""
    from customs_rules.store import Store

    registry = FIXTURES / "registry"
    loaded = run(sqlite_url, "-q", "registry", "load", "--companies", str(registry / "companies.csv"),
                 "--people", str(registry / "people.csv"), "--watchlist", str(registry / "watchlist.csv"))  # fmt: skip
    assert loaded.exit_code == 0, loaded.output

    def refused(self: Any) -> None:
        raise AssertionError("a batch built the reference registry index")

    monkeypatch.setattr(Store, "registry_index", refused)
    decisions = []
    for workers in ("1", "2"):
        result = run(sqlite_url, "-q", "screen", str(SHIPMENTS), "--format", "json", "--workers", workers, "--no-store")
        assert result.exit_code == 0, result.output
        decisions.append([{**json.loads(line), "screened_at": None} for line in result.stdout.splitlines()])
    assert len(decisions[0]) == 153 and decisions[0] == decisions[1]
    assert {d["decision"] for d in decisions[1]} == {"hold", "inspect", "release"}


def test_location_texts_are_the_locations_as_said() -> None:
    from customs_rules.contract.errors import Location
    from customs_rules.screening.frames import DeclarationSet

    (parsed,) = [p for p in read_declarations(str(FIXTURES / "declarations" / "clean_wheat.json"))]
    assert isinstance(parsed, Parsed)
    places = [Location("day.csv", 12), Location("list.json", 1, 3), Location("", None, 4), Location()]
    found = DeclarationSet.from_declarations([parsed.declaration] * len(places), places)
    assert found.location_texts() == [str(place) for place in places] == [
        "day.csv:12", "list.json:1, record 3", "<input>, record 4", "<input>"
    ]  # fmt: skip
