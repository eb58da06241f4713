"""`screen`'s table on a batch: the flagged declarations as they come, holds first within
each block, the releases counted and left out unless asked for; then a summary that says
how long it took and where the results are."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import GOOD_DECLARATION, load_fixture_registry
from rich.console import Console

from customs_rules.cli.base import main
from customs_rules.cli.screen import _safe_url
from customs_rules.contract.decision import Decision
from customs_rules.report import tables as reporting

BASE = {k: v for k, v in GOOD_DECLARATION.items() if k != "declaration_id"}
HOLD = {"destination_country": "RU", "items": [{"hs_code": "8806.21", "value": 5}]}  # drones to Russia
INSPECT = {"destination_country": "AM", "items": [{"hs_code": "8542.31", "value": 5}]}  # chips, unknown exporter
KINDS = {"R": {}, "H": HOLD, "I": INSPECT}


def run(db: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)


def batch(tmp_path: Path, ids: list[str]) -> str:
    """One declaration per id; its first letter says what it gets: R release, H hold, I inspect."""
    path = tmp_path / "batch.jsonl"
    path.write_text("".join(json.dumps(BASE | {"declaration_id": i} | KINDS[i[0]]) + "\n" for i in ids))
    return str(path)


def shown_ids(stdout: str) -> list[str]:
    """The declarations in the table's first column, in the order printed."""
    return re.findall(r"^│ ([RHI]-\d+) +│", stdout, flags=re.MULTILINE)


@pytest.fixture()
def sqlite_url(sqlite_url: str) -> str:
    """Screening refuses a store with no registry: these runs screen against the fixture one."""
    load_fixture_registry(sqlite_url)
    return sqlite_url


@pytest.fixture()
def blocks_of_3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reporting.TableStream, "BLOCK", 3)
    monkeypatch.setattr(reporting.TableStream, "WAIT", 1e9)  # blocks by count only: no timing in tests


def test_batch_table_shows_flagged_holds_first_and_counts_releases(sqlite_url: str, tmp_path: Path) -> None:
    path = batch(tmp_path, ["R-1", "I-1", "H-1", "R-2", "H-2"])
    result = run(sqlite_url, "-q", "screen", path, "--no-store")
    assert result.exit_code == 0
    assert shown_ids(result.stdout) == ["H-1", "H-2", "I-1"]
    assert result.stdout.splitlines()[-1] == "2 release(s) not shown (--all lists them)"
    assert result.stdout.count("Screening decisions") == 1


@pytest.mark.usefixtures("blocks_of_3")
def test_holds_come_first_within_each_block_not_across_the_run(sqlite_url: str, tmp_path: Path) -> None:
    path = batch(tmp_path, ["I-1", "R-1", "H-1", "I-2", "H-2", "R-2", "H-3"])
    result = run(sqlite_url, "-q", "screen", path, "--no-store")
    assert result.exit_code == 0
    assert shown_ids(result.stdout) == ["H-1", "I-1", "H-2", "I-2", "H-3"]
    assert result.stdout.count("Screening decisions") == 1  # later blocks continue the table
    assert result.stdout.splitlines()[-1] == "2 release(s) not shown (--all lists them)"


@pytest.mark.usefixtures("blocks_of_3")
@pytest.mark.parametrize("flag", ["--all", "--show-releases"])
def test_all_lists_the_releases_too(sqlite_url: str, tmp_path: Path, flag: str) -> None:
    path = batch(tmp_path, ["R-1", "I-1", "H-1", "R-2", "H-2"])
    result = run(sqlite_url, "-q", "screen", path, "--no-store", flag)
    assert shown_ids(result.stdout) == ["H-1", "I-1", "R-1", "H-2", "R-2"]
    assert "not shown" not in result.stdout


def test_a_batch_of_releases_says_so(sqlite_url: str, tmp_path: Path) -> None:
    result = run(sqlite_url, "-q", "screen", batch(tmp_path, ["R-1", "R-2"]), "--no-store")
    assert result.stdout == "no hold or inspect; 2 release(s) not shown (--all lists them)\n"


def test_one_declaration_is_shown_whatever_its_decision(sqlite_url: str, tmp_path: Path) -> None:
    result = run(sqlite_url, "-q", "screen", batch(tmp_path, ["R-1"]), "--no-store")
    assert shown_ids(result.stdout) == ["R-1"] and "not shown" not in result.stdout


def decision(ident: str, verdict: str) -> Decision:
    return Decision(ident, verdict, 0.0, (), (), "v", "2026-12-01T00:00:00Z")


def test_the_table_is_printed_block_by_block_as_decisions_come() -> None:
    """The first hold of a big file shows once its block is in, not after the whole run."""
    out = io.StringIO()
    pauses: list[str] = []

    class Pause:
        def __enter__(self) -> None:
            pauses.append("bar stepped aside")

        def __exit__(self, *_: object) -> None:
            pass

    stream = reporting.TableStream(Console(file=out, width=120), releases=False, pause=Pause)
    stream.add(decision("H-1", "hold"))
    for n in range(stream.BLOCK - 1):
        stream.add(decision(f"R-{n}", "release"))
    assert shown_ids(out.getvalue()) == ["H-1"]  # printed before the run ends
    assert pauses == ["bar stepped aside"]
    for n in range(1000):
        stream.add(decision(f"R-{n}", "release"))
    stream.close()
    assert out.getvalue().splitlines()[-1] == "1,199 release(s) not shown (--all lists them)"


def test_summary_says_how_long_and_where_results_went(sqlite_url: str, tmp_path: Path) -> None:
    path = batch(tmp_path, ["R-1", "H-1"])
    out, rejects, report = tmp_path / "out.csv", tmp_path / "rejects.csv", tmp_path / "report.html"
    args = ["--out", str(out), "--rejects", str(rejects), "--report", str(report)]
    result = run(sqlite_url, "screen", path, "--format", "json", *args)
    assert result.exit_code == 0
    last = result.stderr.splitlines()[-1]
    assert re.fullmatch(
        rf"done in \d+\.\d s; stored in {re.escape(sqlite_url)}; results in {re.escape(str(out))}; "
        rf"rejected lines in {re.escape(str(rejects))}; report in {re.escape(str(report))}",
        last,
    ), last
    unstored = run(sqlite_url, "screen", path, "--format", "json", "--no-store")
    assert re.fullmatch(r"done in \d+\.\d s; not stored \(--no-store\)", unstored.stderr.splitlines()[-1])
    assert run(sqlite_url, "-q", "screen", path, "--format", "json", "--no-store").stderr == ""


def test_the_database_url_is_shown_without_its_password() -> None:
    assert _safe_url("postgresql+psycopg://customs:s3cret@db-host:5432/customs") == (
        "postgresql+psycopg://customs:***@db-host:5432/customs"
    )
    assert _safe_url("sqlite:////var/lib/customs.db") == "sqlite:////var/lib/customs.db"
