"""Input files as files: missing ones, directories, empty stdin, files of other formats,
lines and fields past the limit, gzip bombs. Each is said with its place, counts no
phantom line, and never stops the other declarations from being screened."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import tracemalloc
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import load_fixture_registry
from hypothesis import example, given, settings
from hypothesis import strategies as st

from customs_rules.cli.base import main
from customs_rules.io import inputs, json_input
from customs_rules.io.declarations import read_declarations
from customs_rules.io.parsing import Parsed, Rejected
from customs_rules.store import DeclarationRecord, Store

HEADER = (
    "declaration_id,date,procedure,exporter_name,exporter_id,exporter_country,consignee_name,"
    "consignee_id,consignee_country,dispatch_country,destination_country,line,hs_code,"
    "description,quantity,unit,value,currency,origin_country"
)
NOTHING = "hint: nothing was screened: check the path(s) and screen again"
DECLARATIONS = (
    "declarations are read from JSON, JSON Lines or batch CSV (UTF-8 text, optionally gzip-compressed), "
    ".xlsx workbooks and Parquet files"
)
LIMIT = 1000  # characters a line may hold in these tests (1 << 26 in use)


def row(ident: str, line: int = 1, description: str = "wheat") -> str:
    return f"{ident},2024-01-15,export,Kaz Micro,,KZ,Harbin,,CN,KZ,CN,{line},100199,{description},1,t,10,USD,KZ"


def decl(ident: str) -> dict[str, Any]:
    return {
        "declaration_id": ident,
        "date": "2024-01-15",
        "exporter": {"name": "Dala Grain LLP"},
        "consignee": {"name": "Harbin Grain Import Co"},
        "dispatch_country": "KZ",
        "destination_country": "CN",
        "items": [{"hs_code": "100199"}],
    }


def run(db: str, *args: str, input: Any = None) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], input=input, catch_exceptions=False)


def stored(db: str) -> int:
    store = Store(db)
    try:
        return store.count(DeclarationRecord)
    finally:
        store.close()


def summary(result: Result) -> str:
    return next(line for line in result.stderr.splitlines() if " lines: " in line)


@pytest.fixture()
def db(sqlite_url: str) -> str:
    """A database with the fixture registry: screening refuses to run without one."""
    load_fixture_registry(sqlite_url)
    return sqlite_url


@pytest.fixture()
def small_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """Lines and fields of at most LIMIT characters, so tests need no 64 MB lines."""
    monkeypatch.setattr(inputs, "MAX_CSV_FIELD", LIMIT)
    before = csv.field_size_limit(LIMIT)
    yield LIMIT
    csv.field_size_limit(before)


# --- 6.1: a missing file, a directory, empty stdin -------------------------------------


def test_missing_file_is_refused_before_anything_is_screened(db: str, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "\n" + row("D-1") + "\n")
    missing = tmp_path / "nope.csv"
    result = run(db, "screen", str(good), str(missing), "--workers", "1")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"Error: cannot read {missing} (1 error):\n  {missing}: no such file\n{NOTHING}\n"
    assert stored(db) == 0  # the good file was not screened either: the user mistyped a path


def test_every_unreadable_path_is_named_at_once(db: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    result = run(db, "screen", str(missing), str(tmp_path), "--no-store")
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: cannot read 2 inputs (2 errors):\n  {missing}: no such file\n  {tmp_path}: is a directory\n{NOTHING}\n"
    )


def test_empty_stdin_says_no_input_and_counts_no_line(db: str) -> None:
    result = run(db, "screen", "-", "--no-store", "--workers", "1", input="")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:3] == [
        "Error: cannot read <stdin> (1 error):",
        "  <stdin>: no input",
        "0 lines: 0 screened in 0 declaration(s) (0 hold, 0 inspect, 0 release), 0 rejected in 0 declaration(s);"
        " 1 input(s) not read: <stdin>",
    ]


def test_a_run_that_screened_nothing_says_nothing_was_stored(db: str) -> None:
    result = run(db, "screen", "-", "--workers", "1", input="")
    assert result.exit_code == 2
    assert re.fullmatch(r"done in \d+\.\d s; nothing stored", result.stderr.splitlines()[-1])


def test_an_empty_stdin_after_a_good_file_leaves_the_file_screened(db: str, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "\n" + row("D-1") + "\n")
    result = run(db, "screen", str(good), "-", "--workers", "1", input="  \n")
    assert result.exit_code == 2
    assert summary(result) == (
        "1 lines: 1 screened in 1 declaration(s) (0 hold, 0 inspect, 1 release), 0 rejected in 0 declaration(s);"
        " 1 input(s) not read: <stdin>"
    )
    assert stored(db) == 1


def test_registry_load_words_file_errors_as_screen_does(db: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = run(db, "registry", "load", "--companies", str(missing), "--people", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: cannot read {missing} (1 error):\n  {missing}: no such file\n"
        f"Error: cannot read {tmp_path} (1 error):\n  {tmp_path}: is a directory\n"
    )


@pytest.mark.parametrize("content", ["", "\n\n", "\ufeff"])
def test_registry_load_says_an_empty_file_is_empty(db: str, tmp_path: Path, content: str) -> None:
    # it said "missing column(s): company_id, name..." where `screen` says the file is empty
    empty = tmp_path / "companies.csv"
    empty.write_text(content, encoding="utf-8")
    result = run(db, "registry", "load", "--companies", str(empty))
    assert result.exit_code == 2
    assert result.stderr == f"Error: cannot read {empty} (1 error):\n  {empty}: empty file: no rows\n"


def test_library_reads_a_missing_file_as_a_refusal_of_no_line(tmp_path: Path) -> None:
    (result,) = read_declarations(str(tmp_path / "nope.json"))
    assert isinstance(result, Rejected)
    assert result.refusal == f"cannot read {tmp_path / 'nope.json'}" and result.lines == 0
    assert str(result.errors[0]) == f"{tmp_path / 'nope.json'}: no such file"


# --- 6.2: workbooks, archives and other binary files -------------------------------------


def zip_bytes(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in entries.items():
            # an OpenDocument file stores its `mimetype` first and uncompressed
            archive.writestr(name, text, zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


XLSX = zip_bytes({"[Content_Types].xml": "<Types/>", "_rels/.rels": "<r/>", "xl/workbook.xml": "<workbook/>"})
ODS = zip_bytes({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<c/>"})


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (XLSX, "an Excel workbook (.xlsx)"),
        (ODS, "an OpenDocument spreadsheet (.ods)"),
        (zip_bytes({"day.csv": HEADER}), "a ZIP archive"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
            "an Excel 97-2003 workbook (.xls) or another old Office file",
        ),
        (b"PAR1\x15\x04" + bytes(100), "a Parquet file"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "a 7-Zip archive"),
        (b"\xff\xfe" + HEADER.encode("utf-16-le"), "UTF-16 text"),
        (HEADER.encode("utf-16-le"), "UTF-16 text without a byte-order mark"),
        (bytes(4096), "binary data"),
    ],
)
def test_other_formats_are_named_by_their_magic_bytes(data: bytes, kind: str) -> None:
    assert inputs.file_format(data[: inputs.HEAD]) == kind


def test_text_is_not_taken_for_another_format() -> None:
    for text in (HEADER, json.dumps(decl("A")), "[]", "PKZ,2024", row("D\x00-1")):
        assert inputs.file_format(text.encode()) is None


def test_a_damaged_workbook_is_refused_plain_gzipped_or_on_stdin(db: str, tmp_path: Path) -> None:
    """.xlsx files are read (tests/test_sheets.py): one that is no workbook inside is refused
    whole, and so is a gzipped one (workbooks are read as they are)."""
    book = tmp_path / "day.xlsx"
    book.write_bytes(XLSX)
    result = run(db, "screen", str(book), "--no-store")
    assert result.exit_code == 2
    assert f"Error: cannot read {book} (1 error):\n  {book}: not a readable .xlsx workbook (" in result.stderr
    assert summary(result).startswith("0 lines: 0 screened")
    packed = tmp_path / "day.csv.gz"  # named as a CSV, gzipped: still a workbook inside
    packed.write_bytes(gzip.compress(XLSX))
    result = run(db, "screen", str(packed), "--no-store")
    said = f"an Excel workbook (.xlsx) inside gzip; {DECLARATIONS}"
    assert result.exit_code == 2 and f"  {packed}: {said}\n" in result.stderr
    assert "hint: decompress it first: workbooks and Parquet files are read as they are; " in result.stderr
    result = run(db, "screen", "-", "--no-store", "--workers", "1", input=io.BytesIO(XLSX))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1].startswith("  <stdin>: not a readable .xlsx workbook (")
    assert summary(result).startswith("0 lines: 0 screened")


def test_old_workbooks_are_refused_with_a_way_out(db: str, tmp_path: Path) -> None:
    sheet = tmp_path / "day.ods"
    sheet.write_bytes(ODS)
    result = run(db, "screen", str(sheet), "--no-store")
    assert result.exit_code == 2
    assert f"  {sheet}: an OpenDocument spreadsheet (.ods); {DECLARATIONS}\n" in result.stderr
    assert "hint: save it as an .xlsx workbook, or the sheet as CSV UTF-8; " in result.stderr


def test_registry_load_names_a_workbook(db: str, tmp_path: Path) -> None:
    book = tmp_path / "companies.xlsx"
    book.write_bytes(XLSX)
    result = run(db, "registry", "load", "--companies", str(book))
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: cannot read {book} (1 error):\n  {book}: an Excel workbook (.xlsx); registry files are CSV (UTF-8 text)\n"
        "hint: save the sheet as CSV UTF-8 (Excel and ODS files are not read directly yet)\n"
    )


# --- 2.3: a line or field past the limit rejects its own declaration only -------------------


def test_an_oversized_csv_field_rejects_only_its_declaration(small_limit: int, tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    huge = "x" * (small_limit + 10)
    path.write_text("\n".join([HEADER, row("D-1"), row("D-2"), row("D-1", 2, huge), row("D-3")]) + "\n")
    results = list(read_declarations(str(path)))
    assert [type(r).__name__ for r in results] == ["Parsed", "Rejected", "Parsed"]
    rejected = results[1]
    assert isinstance(rejected, Rejected) and rejected.declaration_id == "D-1"
    assert rejected.line_numbers == [2, 4]
    length = len(row("D-1", 2, huge))
    assert [str(e) for e in rejected.errors] == [
        f"{path}:4: line 4 is {length:,} characters long, past the limit of {small_limit:,}: "
        "too big for a declaration; it was not read"
    ]
    assert sum(r.lines for r in results) == 4  # every line read is counted once


def test_an_oversized_line_in_the_middle_of_a_file_keeps_line_numbers(small_limit: int, tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    big = "y" * (small_limit * 5)
    with path.open("w", newline="") as out:
        out.write("\r\n".join([HEADER, row("D-1"), row("D-2", 1, big), row("D-3"), row("D-4")]) + "\r\n")
    results = list(read_declarations(str(path)))
    assert [(type(r).__name__, str(r.location)) for r in results] == [
        ("Parsed", f"{path}:2"),
        ("Rejected", f"{path}:3"),
        ("Parsed", f"{path}:4"),
        ("Parsed", f"{path}:5"),
    ]


def test_a_line_whose_id_is_past_the_head_is_still_rejected(small_limit: int, tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    path.write_text(HEADER + "\n" + "z" * (small_limit * 3) + row("D-1") + "\n" + row("D-2") + "\n")
    first, second = read_declarations(str(path))
    assert isinstance(first, Rejected) and first.line_numbers == [2]
    assert isinstance(second, Parsed)


def test_a_quoted_field_past_the_limit_rejects_its_declaration_and_reading_goes_on(
    small_limit: int, tmp_path: Path
) -> None:
    path = tmp_path / "day.csv"
    swallowed = [row("D-9", n, "d" * 90) for n in range(1, 21)]  # ~2,000 characters: past the limit
    lines = [HEADER, row("D-1", 1, '"unbalanced quote'), *swallowed, row("D-2")]
    path.write_text("\n".join(lines) + "\n")
    results = {r.declaration_id if isinstance(r, Rejected) else r.declaration.declaration_id: r
               for r in read_declarations(str(path))}  # fmt: skip
    assert isinstance(results["D-2"], Parsed)
    bad, swallowed_decl = results["D-1"], results["D-9"]
    assert isinstance(bad, Rejected) and isinstance(swallowed_decl, Rejected)
    assert str(bad.errors[0]).startswith(f"{path}:2: a quoted field from line 2 runs past {small_limit:,} characters")
    assert "look for an unbalanced quote on line 2" in str(bad.errors[0])
    assert "swallowed by an unbalanced quote" in str(swallowed_decl.errors[0])


def test_an_oversized_header_refuses_the_file(small_limit: int, tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    path.write_text(HEADER + "," + "h" * small_limit + "\n" + row("D-1") + "\n")
    (result,) = read_declarations(str(path))
    assert isinstance(result, Rejected) and result.refusal == f"{path} is not a batch CSV"
    assert str(result.errors[0]).startswith(f"{path}:1: line 1 is ")


def test_an_oversized_json_line_rejects_that_line_only(small_limit: int, tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl"
    big = decl("BIG") | {"note": "n" * small_limit}
    path.write_text("\n".join(json.dumps(d) for d in (decl("A"), big, decl("B"))) + "\n")
    results = list(read_declarations(str(path)))
    assert [type(r).__name__ for r in results] == ["Parsed", "Rejected", "Parsed"]
    assert results[1].location.line == 2 and "line 2 is" in str(results[1].errors[0])


@pytest.mark.parametrize("chunk", [1 << 20, 7])  # in one window; read past in pieces that split escapes
def test_an_oversized_json_record_rejects_that_record_only(
    small_limit: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    # it refused the whole file: the declarations after it were never screened
    monkeypatch.setattr(json_input._JsonStream, "CHUNK", chunk)
    path = tmp_path / "day.json"
    tricky = 'n\\"] }, {"x": [' * (small_limit // 10)  # escapes, quotes and brackets inside the string
    path.write_text(json.dumps([decl("A"), decl("BIG") | {"note": tricky, "more": [{"a": "]"}]}, decl("B")], indent=1))
    results = list(read_declarations(str(path)))
    assert [type(r).__name__ for r in results] == ["Parsed", "Rejected", "Parsed"]
    assert results[2].declaration.declaration_id == "B"
    big = results[1]
    assert isinstance(big, Rejected) and big.refusal is None and big.line_numbers == [19]
    assert [str(e) for e in big.errors] == [
        f"{path}:19, record 2: a record runs past {small_limit:,} characters: too big for a declaration; "
        "it was not read"
    ]


def test_an_oversized_json_record_that_never_ends_refuses_its_file(small_limit: int, tmp_path: Path) -> None:
    path = tmp_path / "day.json"
    path.write_text('[{"declaration_id": "A", "note": "' + "n" * small_limit * 2)
    (result,) = read_declarations(str(path))
    assert isinstance(result, Rejected) and result.refusal == f"{path} cannot be read"


def test_cli_counts_stay_right_with_an_oversized_line(small_limit: int, db: str, tmp_path: Path) -> None:
    path = tmp_path / "day.csv"
    rejects = tmp_path / "rejects.csv"
    path.write_text("\n".join([HEADER, row("D-1"), row("D-2", 1, "x" * small_limit), row("D-3")]) + "\n")
    result = run(db, "screen", str(path), "--workers", "1", "--rejects", str(rejects))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:2] == [
        f"rejected declaration D-2 at {path}:3:",
        f"  {path}:3: line 3 is {len(row('D-2', 1, 'x' * small_limit)):,} characters long, past the limit of "
        f"{small_limit:,}: too big for a declaration; it was not read",
    ]
    assert summary(result) == (
        "3 lines: 2 screened in 2 declaration(s) (0 hold, 0 inspect, 2 release), 1 rejected in 1 declaration(s)"
    )
    written = list(csv.DictReader(rejects.open()))
    assert [(r["line"], r["declaration_id"]) for r in written] == [("3", "D-2")]
    assert stored(db) == 2


# --- 2.4: gzip bombs: decompression streams, memory stays flat ------------------------------


def gzip_of(path: Path, head: bytes, filler: bytes, size: int, tail: bytes) -> None:
    """A gzip of `head`, `size` bytes of `filler` and `tail`, written piece by piece."""
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(head)
        piece = filler * ((1 << 20) // len(filler))
        for _ in range(size // len(piece)):
            out.write(piece)
        out.write(tail)


BOMB = 128 << 20  # decompressed bytes: 128 MB, held nowhere at once


def csv_bomb(path: Path) -> None:
    """A batch CSV whose line 3 (declaration D-2) holds a description of BOMB characters."""
    start = (HEADER + "\n" + row("D-1") + "\n" + row("D-2", 1, "")[: -len(",1,t,10,USD,KZ")]).encode()
    gzip_of(path, start, b"b", BOMB, (",1,t,10,USD,KZ\n" + row("D-3") + "\n").encode())


def test_a_gzip_bomb_of_one_huge_field_is_a_located_rejection_in_flat_memory(small_limit: int, tmp_path: Path) -> None:
    path = tmp_path / "bomb.csv.gz"
    csv_bomb(path)
    assert path.stat().st_size < BOMB // 100
    tracemalloc.start()
    try:
        results = list(read_declarations(str(path)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [type(r).__name__ for r in results] == ["Parsed", "Rejected", "Parsed"]
    assert str(results[1].location) == f"{path}:3" and results[1].declaration_id == "D-2"
    assert "line 3 is 134,217,8" in str(results[1].errors[0])
    assert peak < BOMB // 8  # no allocation ever held the line: a few pieces of 1 MiB at most


def test_a_gzip_bomb_of_zeros_is_refused_at_once(db: str, tmp_path: Path) -> None:
    path = tmp_path / "zeros.jsonl.gz"
    gzip_of(path, b"", b"\0", BOMB, b"")
    result = run(db, "screen", str(path), "--no-store")
    assert result.exit_code == 2
    assert result.stderr == f"Error: cannot read {path} (1 error):\n  {path}: binary data; {DECLARATIONS}\n{NOTHING}\n"


def test_a_gzip_bomb_on_stdin_is_spooled_compressed_and_read_in_flat_memory(small_limit: int, tmp_path: Path) -> None:
    path = tmp_path / "bomb.gz"
    csv_bomb(path)

    class Stdin(io.StringIO):  # a text stream with bytes underneath, as sys.stdin
        def __init__(self, raw: Any) -> None:
            super().__init__()
            self.buffer = raw

    tracemalloc.start()
    try:
        with path.open("rb") as raw:
            results = list(read_declarations("-", Stdin(raw)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [type(r).__name__ for r in results] == ["Parsed", "Rejected", "Parsed"]
    assert str(results[1].location) == "<stdin>:3" and "line 3 is 134,217,8" in str(results[1].errors[0])
    assert peak < BOMB // 8


# --- the bounded line reader itself ------------------------------------------------------


@settings(max_examples=300, deadline=None)
@example([(11, "\r"), (4, "\r\n"), (0, "\n")], False, 5)  # the line after a cut one ends in a split '\r\n'
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=40), st.sampled_from(["\n", "\r\n", "\r"])),
        max_size=8,
    ),
    st.booleans(),
    st.integers(min_value=1, max_value=7),
)
def test_line_reader_matches_plain_reading_and_cuts_long_lines(
    shape: list[tuple[int, str]], last_ended: bool, piece: int
) -> None:
    """Lines as `for line in text` gives them (newline=''), except that a line past the
    limit comes cut with its true length, wherever the pieces it is read in end."""
    limit = 10
    lines = [("é" if n % 3 else "a") * n + end for n, end in shape]
    if lines and not last_ended:
        lines[-1] = lines[-1].rstrip("\r\n")
    text = "".join(lines)
    expected = list(io.StringIO(text, newline=""))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(inputs, "MAX_CSV_FIELD", limit)
        patch.setattr(inputs.LineReader, "PIECE", piece)
        got = list(inputs.LineReader(io.StringIO(text, newline="")))
    assert len(got) == len(expected)
    for number, (line, want) in enumerate(zip(got, expected, strict=True), start=1):
        body = want.rstrip("\r\n")
        if len(body) > limit:
            assert isinstance(line, inputs.CutLine) and (line.number, line.length) == (number, len(body))
            assert body.startswith(line.head)
        else:
            assert line == want and not isinstance(line, inputs.CutLine)
