"""Workbooks (.xlsx) and Parquet files: the batch CSV's columns, checks and rejections,
located by file, sheet and row."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner, Result
from conftest import load_fixture_registry

from customs_rules.cli.base import main
from customs_rules.io import read_chunks
from customs_rules.screening.frames import DeclarationSet

FIXTURE = Path(__file__).parent.parent / "fixtures" / "shipments.csv"


def run(db: str, *args: str) -> Result:
    return CliRunner(env={"COLUMNS": "400"}).invoke(main, ["--db", db, *args], catch_exceptions=False)


@pytest.fixture()
def db(sqlite_url: str) -> str:
    load_fixture_registry(sqlite_url)
    return sqlite_url


def rows(n: int = 20) -> pl.DataFrame:
    return pl.read_csv(FIXTURE, infer_schema=False, n_rows=n)


def spoil(frame: pl.DataFrame, row: int, column: str, value: str) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )


def decisions(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def csv_set(frame: pl.DataFrame, tmp_path: Path) -> DeclarationSet:
    path = tmp_path / "same.csv"
    frame.write_csv(path)
    return DeclarationSet.concat(c.declarations for c in read_chunks([str(path)]))


def test_a_workbook_is_screened_as_its_csv(db: str, tmp_path: Path) -> None:
    frame = rows()
    book = tmp_path / "day.xlsx"
    frame.write_excel(book, worksheet="Orders")
    result = run(db, "screen", str(book), "--no-store", "--format", "json", "--workers", "1")
    assert result.exit_code == 0, result.stderr
    csv_path = tmp_path / "day.csv"
    frame.write_csv(csv_path)
    expected = run(db, "screen", str(csv_path), "--no-store", "--format", "json", "--workers", "1")
    assert [(d["declaration_id"], d["decision"], d["score"]) for d in decisions(result)] == [
        (d["declaration_id"], d["decision"], d["score"]) for d in decisions(expected)
    ]
    got = DeclarationSet.concat(c.declarations for c in read_chunks([str(book)], chunk_lines=4))
    want = csv_set(frame, tmp_path)
    assert got.items.equals(want.items)
    assert got.headers.drop("source").equals(want.headers.drop("source"))
    assert got.headers["source"].unique().to_list() == [f"{book}[Orders]"]


def test_a_bad_cell_rejects_its_declaration_at_its_sheet_and_row(db: str, tmp_path: Path) -> None:
    frame = spoil(rows(), 2, "hs_code", "88062")  # sheet row 4 (the header is row 1)
    book = tmp_path / "day.xlsx"
    frame.write_excel(book, worksheet="Orders")
    result = run(db, "screen", str(book), "--no-store", "--format", "json", "--workers", "1")
    assert result.exit_code == 2
    assert f"{book}[Orders]:4, field hs_code: HS code '88062' must have 6 to 10 digits" in result.stderr
    ids = {d["declaration_id"] for d in decisions(result)}
    bad = frame["declaration_id"][2]
    assert bad not in ids and len(ids) == frame["declaration_id"].n_unique() - 1


def test_sheet_chooses_the_sheet_and_an_unknown_one_is_refused(db: str, tmp_path: Path) -> None:
    import xlsxwriter

    book = tmp_path / "two.xlsx"
    with xlsxwriter.Workbook(book) as workbook:
        pl.DataFrame({"note": ["not declarations"]}).write_excel(workbook, worksheet="Cover")
        rows(5).write_excel(workbook, worksheet="Lines")
    result = run(db, "screen", str(book), "--no-store", "--workers", "1")
    assert result.exit_code == 2 and "missing column(s): declaration_id" in result.stderr
    result = run(db, "screen", str(book), "--sheet", "Lines", "--no-store", "--format", "json", "--workers", "1")
    assert result.exit_code == 0, result.stderr
    assert len(decisions(result)) == rows(5)["declaration_id"].n_unique()
    result = run(db, "screen", str(book), "--sheet", "Nope", "--no-store", "--workers", "1")
    assert result.exit_code == 2
    assert f"{book}: no sheet named 'Nope' (its sheets: 'Cover', 'Lines')" in result.stderr


def test_screen_help_names_sheet() -> None:
    result = CliRunner().invoke(main, ["screen", "--help"])
    assert "--sheet NAME" in result.output and ".xlsx" in result.output


def test_a_parquet_file_with_typed_columns_is_screened(db: str, tmp_path: Path) -> None:
    frame = rows().with_columns(
        pl.col("date").str.to_date(), pl.col("line").cast(pl.Int64), pl.col("value").cast(pl.Float64),
        pl.col("transit_countries").str.split(";").list.filter(pl.element() != ""),
    )  # fmt: skip
    path = tmp_path / "day.parquet"
    frame.write_parquet(path)
    result = run(db, "screen", str(path), "--no-store", "--format", "json", "--workers", "1")
    assert result.exit_code == 0, result.stderr
    assert len(decisions(result)) == frame["declaration_id"].n_unique()
    got = DeclarationSet.concat(c.declarations for c in read_chunks([str(path)], chunk_lines=3))
    want = csv_set(rows(), tmp_path)
    assert got.items.equals(want.items)
    assert got.headers.drop("source", "line").equals(want.headers.drop("source", "line"))
    assert got.headers["line"].to_list() == [n - 1 for n in want.headers["line"].to_list()]  # rows from 1


def test_a_parquet_row_is_located_by_its_row_and_bad_types_refuse_the_file(db: str, tmp_path: Path) -> None:
    frame = spoil(rows(), 0, "hs_code", "88062")
    path = tmp_path / "day.parquet"
    frame.write_parquet(path)
    rejects = tmp_path / "rejects.csv"
    result = run(db, "screen", str(path), "--no-store", "--workers", "1", "--rejects", str(rejects))
    assert result.exit_code == 2
    rejected = pl.read_csv(rejects, infer_schema=False).row(0, named=True)
    assert (rejected["source"], rejected["line"]) == (str(path), "1")
    assert f"{path}:1, field hs_code: HS code '88062' must have 6 to 10 digits" in rejected["reason"]
    odd = tmp_path / "odd.parquet"
    rows().with_columns(pl.lit(b"\x00").alias("blob")).write_parquet(odd)
    result = run(db, "screen", str(odd), "--no-store", "--workers", "1")
    assert result.exit_code == 2
    assert f"{odd}: column 'blob' holds Binary, not text, numbers or dates" in result.stderr


def test_date_cells_read_as_the_date_they_show(tmp_path: Path) -> None:
    frame = rows(3).with_columns(pl.lit(dt.date(2024, 3, 5)).alias("date"))
    book = tmp_path / "dates.xlsx"
    frame.write_excel(book)
    got = DeclarationSet.concat(c.declarations for c in read_chunks([str(book)]))
    assert got.headers["date"].to_list() == [dt.date(2024, 3, 5)] * len(got)
