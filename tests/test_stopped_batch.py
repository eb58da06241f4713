"""A storage failure that stops a batch says exactly what was stored (issue #12, 2.2)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import load_fixture_registry
from sqlalchemy.exc import OperationalError

from customs_rules.cli.base import main
from customs_rules.io import read_chunks
from customs_rules.store import DecisionRecord, DeclarationRecord, Store, registry_store, store
from customs_rules.workflow import batch
from customs_rules.workflow import officer as workflow

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "benchmarks" / "generate_shipments.py"
FAILING = "failing block"


def _shipments(tmp_path: Path, lines: int = 1200) -> Path:
    out = tmp_path / "day.csv"
    command = [sys.executable, str(GENERATOR), "--lines", str(lines), "--seed", "5",
               "--registry", str(ROOT / "fixtures" / "registry"), "--out", str(out)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True)
    return out


def _fail_on_the_block_of(ident: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The database refuses the one transaction that holds this declaration (forked
    workers inherit the patch)."""
    record = store.record

    def failing(session: Any, prepared: Any, *args: Any, **kwargs: Any) -> Any:
        if ident in prepared.screened.declarations.headers["declaration_id"].to_list():
            raise OperationalError("INSERT INTO decision ...", {}, Exception(f"disk I/O error ({FAILING})"))
        return record(session, prepared, *args, **kwargs)

    monkeypatch.setattr(store, "record", failing)


def _run(db: str, path: Path, workers: str) -> Result:
    return CliRunner().invoke(main, ["--db", db, "screen", str(path), "--format", "json", "--workers", workers])


def _counts(db: str) -> tuple[int, int]:
    opened = Store(db)
    try:
        return opened.count(DeclarationRecord), opened.count(DecisionRecord)
    finally:
        opened.close()


CHUNK = 400  # input lines per chunk in these tests


def _chunks(path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The chunks the batch reads `path` in (chunks of CHUNK lines from now on)."""
    monkeypatch.setattr(batch, "CHUNK_LINES", CHUNK)
    return list(read_chunks([str(path)], chunk_lines=CHUNK))


def _ids_of(chunk: Any) -> list[str]:
    return chunk.declarations.headers["declaration_id"].to_list()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_stopped_batch_says_what_it_stored_and_a_rerun_completes_it(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str
) -> None:
    path = _shipments(tmp_path)
    load_fixture_registry(db_url)
    ids = list(dict.fromkeys(line.split(",", 1)[0] for line in path.read_text().splitlines()[1:]))
    first, second, *_ = _chunks(path, monkeypatch)
    where = second.declarations.locations()[0]  # where the second chunk starts
    with monkeypatch.context() as patched:
        _fail_on_the_block_of(_ids_of(second)[10], patched)  # the second chunk
        stopped = _run(db_url, path, workers)
    assert stopped.exit_code == 1, stopped.output
    message = stopped.stderr
    assert "nothing was stored" not in message and FAILING in message
    found = re.search(r"stored: (\d+) declaration\(s\), every one in the (\d+) input line\(s\) before (\S+) ", message)
    assert found is not None, message
    stored, lines = int(found.group(1)), int(found.group(2))
    assert found.group(3) == str(where) and lines == int(first.declarations.headers["lines"].sum())
    assert f"storing stopped at {where}: database write failed" in message
    missing = re.search(r"not stored: (\d+) declaration\(s\) from", message)
    # this process stores while it screens on: the failed chunk and those screened after it
    assert missing is not None and len(second.declarations) <= int(missing.group(1)) <= len(ids) - len(
        first.declarations
    )
    assert stored == len(first.declarations)  # every declaration before the failed chunk
    assert _counts(db_url) == (stored, stored)  # the message's counts are true
    assert len(stopped.stdout.splitlines()) == stored  # the decisions printed are the ones stored
    assert "rerun the same command to complete it" in message
    rerun = _run(db_url, path, workers)
    assert rerun.exit_code == 0, rerun.output
    assert _counts(db_url) == (len(ids), len(ids))
    assert CliRunner().invoke(main, ["--db", db_url, "audit", "verify"]).exit_code == 0


def test_a_stopped_batch_says_the_rest_of_the_input_was_not_screened(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "not stored: 200 declaration(s) from X on" read as if 200 were all that was missing,
    # when every chunk after the failed one was never screened at all
    path = _shipments(tmp_path, 4800)
    load_fixture_registry(sqlite_url)
    ids = list(dict.fromkeys(line.split(",", 1)[0] for line in path.read_text().splitlines()[1:]))
    chunks = _chunks(path, monkeypatch)
    assert len(chunks) > 8  # the failed second chunk is far from the last
    with monkeypatch.context() as patched:
        _fail_on_the_block_of(_ids_of(chunks[1])[10], patched)
        stopped = _run(sqlite_url, path, "1")
    assert stopped.exit_code == 1, stopped.output
    missing = re.search(r"not stored: (\d+) declaration\(s\) from", stopped.stderr)
    first = len(chunks[0].declarations)
    assert missing is not None and len(chunks[1].declarations) <= int(missing.group(1)) < len(ids) - first
    assert "the rest of the input was not screened" in stopped.stderr
    assert _counts(sqlite_url) == (first, first)


def test_a_stopped_rescreen_says_what_it_stored(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _shipments(tmp_path)
    load_fixture_registry(db_url)
    assert _run(db_url, path, "1").exit_code == 0
    declarations, _ = _counts(db_url)
    opened = Store(db_url)
    try:
        order = [row.declaration_id for row, _, _ in opened.latest_declarations()]
    finally:
        opened.close()
    with monkeypatch.context() as patched:
        patched.setattr(workflow, "RESCREEN_CHUNK", 500)  # a small history, in several chunks
        _fail_on_the_block_of(order[500], patched)  # the second chunk of 500
        stopped = CliRunner().invoke(main, ["--db", db_url, "rescreen"])
    assert stopped.exit_code == 1, stopped.output
    assert "nothing was stored" not in stopped.stderr and FAILING in stopped.stderr
    assert f"rescreen stopped at declaration {order[500]} (revision 1)" in stopped.stderr
    assert f"stored: the rescreen decisions of 500 of the {declarations} declaration(s)" in stopped.stderr
    assert _counts(db_url) == (declarations, declarations + 500)  # the message's counts are true
    assert "rerun the same command to complete it" in stopped.stderr


def test_a_registry_load_stopped_by_storage_says_which_files_are_loaded(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = ROOT / "fixtures" / "registry"
    audit_load = registry_store._audit_load

    def failing(session: Any, actor: str, table: str, *args: Any) -> None:
        if table == "people":
            raise OperationalError("INSERT INTO audit_log ...", {}, Exception(f"disk I/O error ({FAILING})"))
        audit_load(session, actor, table, *args)

    monkeypatch.setattr(registry_store, "_audit_load", failing)
    files = ["--companies", str(registry / "companies.csv"), "--people", str(registry / "people.csv"),
             "--watchlist", str(registry / "watchlist.csv")]  # fmt: skip
    stopped = CliRunner().invoke(main, ["--db", db_url, "registry", "load", *files])
    assert stopped.exit_code == 1, stopped.output
    assert "nothing was stored" not in stopped.stderr and FAILING in stopped.stderr
    opened = Store(db_url)
    try:
        counts = opened.registry_counts()
    finally:
        opened.close()
    assert f"stored: companies ({counts['companies']} rows) loaded before it and in force" in stopped.stderr
    assert counts["companies"] > 0 and counts["people"] == 0 and counts["watchlist"] == 0
    assert "not stored: the people file and any file after it" in stopped.stderr


def test_a_cluster_run_says_what_it_stored(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cluster run: the workers hand their prepared sets back and this process stores
    them in input order, as a local run does (the cluster simulated here by this process)."""
    from customs_rules.workflow import cluster

    path = _shipments(tmp_path)
    load_fixture_registry(db_url)
    first, second, *_ = _chunks(path, monkeypatch)
    where = second.declarations.locations()[0]

    def handed_back(
        address: str, pack: Any, registry: Any, at: Any, wanted: Any, without: bool, history: Any = None,
        allowances: Any = None,
    ) -> Any:  # fmt: skip
        assert address == "tcp://scheduler:8786" and wanted.keep
        worker = batch.Worker(pack, None, None, without, registry.frames, registry.watchlist,
                              history=history, allowances=allowances)  # as a remote one  # fmt: skip
        return batch.local_screening(worker, at, 1, wanted)

    monkeypatch.setattr(cluster, "cluster_screening", handed_back)
    _fail_on_the_block_of(_ids_of(second)[10], monkeypatch)
    stopped = CliRunner().invoke(main, ["--db", db_url, "screen", str(path), "--format", "json",
                                        "--cluster", "tcp://scheduler:8786"])  # fmt: skip
    assert stopped.exit_code == 1, stopped.output
    assert "nothing was stored" not in stopped.stderr and FAILING in stopped.stderr
    assert f"storing stopped at {where}: database write failed" in stopped.stderr
    assert f"stored: {len(first.declarations)} declaration(s), every one in the" in stopped.stderr
    assert _counts(db_url) == (len(first.declarations), len(first.declarations))
