"""The columnar reader (customs_rules.io) against the record-by-record one (io.declarations).

Whatever the CSV, both must make the same valid declarations, field by field, in the same
order, and the same rejections with the same messages and locations.
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customs_rules.io import Chunk, from_records, read_chunks
from customs_rules.io.declarations import read_declarations
from customs_rules.io.parsing import Rejected
from customs_rules.screening.frames import DeclarationSet

COLUMNS = ["declaration_id", "date", "procedure", "document_type", "exporter_name", "exporter_id",
           "exporter_country", "consignee_name", "consignee_id", "consignee_country", "dispatch_country",
           "destination_country", "transit_countries", "line", "hs_code", "description", "quantity", "unit",
           "value", "currency", "origin_country", "net_mass_kg"]  # fmt: skip
OPTIONAL = ["procedure", "document_type", "exporter_id", "exporter_country", "consignee_id", "consignee_country",
            "transit_countries", "description", "quantity", "unit", "value", "currency", "origin_country",
            "net_mass_kg"]  # fmt: skip
GOOD = {
    "date": "2024-03-05", "procedure": "export", "document_type": "customs_declaration",
    "exporter_name": "Aspan Arba LLP", "exporter_id": "190540218733", "exporter_country": "KZ",
    "consignee_name": "Nebesnaya Mekhanika", "consignee_id": "", "consignee_country": "RU",
    "dispatch_country": "KZ", "destination_country": "RU", "transit_countries": "",
    "hs_code": "8806.21", "description": "Drones", "quantity": "120", "unit": "pcs", "value": "480000.50",
    "currency": "USD", "origin_country": "CN", "net_mass_kg": "300",
}  # fmt: skip
# values that test a normalisation or a check; some valid, some not
ODD_VALUES = {
    "date": ["２０２４-03-05", " 2024-03-05 ", "2024-02-30", "1989-12-31", "2024/03/05", "", "9999-01-01"],
    "procedure": ["import", "Export", " export", "", "re-export", "smuggle"],
    "document_type": ["", "  ", " invoice ", "inv\tx"],
    "exporter_name": ["  Aspan   Arba  ", "", "Аспан Арба", "x" * 501, "A\x1bB", "\u00a0Aspan"],
    "exporter_id": ["١٩٠٥٤٠٢١٨٧٣٣", " 123 ", "12К4", "", "9" * 65],
    "exporter_country": ["kz", " KZ ", "XX", "КZ", "", "kZ"],
    "consignee_country": ["ru", "", "Russia"],
    "dispatch_country": ["kz", "", "QQ", " kz"],
    "destination_country": ["ru", "BY", "ZZ"],
    "transit_countries": ["RU;BY", " ru ; by ", ";;", "RU;XX", "  ", "ru;"],
    "hs_code": ["8806 21 000 0", "٨٨٠٦٢١", "88062", "8806.21.00.00.1", "", "０１０１２１", "8806\u00a021"],
    "description": ["", "Дроны", " spaced ", "x" * 4001, 'with "quotes"', "a,b", "tab\there"],
    "quantity": ["", "1e3", "-1", "٣", "1.5", "00.5", "nan", " 7 ", "1" * 40, ".5", "5."],
    "unit": ["", "кг"],
    "value": ["", "1" * 31, "12.345", "inf", "١٢٣.٤"],
    "currency": ["usd", "EUR", "XXX", "ЕUR", "", "eur "],
    "origin_country": ["cn", "", "Q1"],
    "net_mass_kg": ["0", "", "-0"],
}


@st.composite
def batch_csv(draw: Any) -> bytes:
    dropped = draw(st.sets(st.sampled_from(OPTIONAL), max_size=4))
    extras = draw(st.lists(st.sampled_from(["note", "Remarks", "x_ref", "колонка"]), unique=True, max_size=2))
    columns = [c for c in COLUMNS if c not in dropped] + extras
    columns = draw(st.permutations(columns))
    n_decls = draw(st.integers(1, 8))
    ids = [draw(st.sampled_from([f"D-{i}", f"D-{i}", f" D-{i} ", f"D-{'١' if i == 1 else i}"])) for i in range(n_decls)]
    rows: list[list[str]] = []
    for number, ident in enumerate(ids):
        header = {c: _value(draw, c, 12) for c in GOOD}
        for line in range(1, draw(st.integers(1, 3)) + 1):
            cells = dict(header)
            for column in ("hs_code", "description", "quantity", "unit", "value", "currency", "origin_country",
                           "net_mass_kg"):  # fmt: skip
                cells[column] = _value(draw, column, 20)
            if draw(st.integers(0, 29)) == 0:  # a header value that conflicts
                column = draw(st.sampled_from(["date", "exporter_name", "dispatch_country"]))
                cells[column] = draw(st.sampled_from(ODD_VALUES[column]))
            cells["declaration_id"] = ident
            cells["line"] = (
                str(line)
                if draw(st.integers(0, 14))
                else draw(st.sampled_from(["", "0", "01", "٢", str(line - 1), "x", "1000001", " 3 "]))
            )
            for extra in extras:
                cells[extra] = draw(st.sampled_from(["", "kept", ' q"uote ', "\\back"]))
            rows.append([cells.get(c, "") for c in columns])
        del number
    if draw(st.booleans()):
        rows = draw(st.permutations(rows))  # scattered declarations
    return _write(draw, columns, rows)


def _value(draw: Any, column: str, odds: int) -> str:
    """Mostly the good value; one time in `odds`, one of the column's odd values."""
    if column in ODD_VALUES and draw(st.integers(0, odds - 1)) == 0:
        return str(draw(st.sampled_from(ODD_VALUES[column])))
    return GOOD[column]


def _write(draw: Any, columns: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n" if draw(st.booleans()) else "\n")
    writer.writerow(columns)
    for row in rows:
        tweak = draw(st.integers(0, 39))
        if tweak == 0:
            row = row[:-1]  # fewer values
        elif tweak == 1:
            row = [*row, "spill"]  # more values
        elif tweak == 2:
            buffer.write(draw(st.sampled_from(["\n", "   \n", ",,,\n", ",".join([""] * len(columns)) + "\n", '""\n'])))
        writer.writerow(row)
    data = buffer.getvalue().encode()
    if draw(st.integers(0, 9)) == 0:
        data = data.replace(b"Drones", b"Dr\xffnes", 1)  # bytes that are not UTF-8
    if draw(st.integers(0, 9)) == 0:
        data = data.replace(b"Drones", b'5" pipe', 1)  # a quote inside an unquoted field
    if draw(st.integers(0, 19)) == 0:
        data = b"\xef\xbb\xbf" + data
    return data


def outcomes(chunks: list[Chunk]) -> tuple[DeclarationSet, list[Any]]:
    order: list[Any] = []
    offset = 0
    for chunk in chunks:
        for outcome in chunk.outcomes():
            order.append(_rejection(outcome) if isinstance(outcome, Rejected) else offset + outcome)
        offset += len(chunk.declarations)
    return DeclarationSet.concat(c.declarations for c in chunks), order


def _rejection(rejected: Rejected) -> tuple[Any, ...]:
    return (rejected.location, rejected.errors, rejected.declaration_id, rejected.raw, rejected.line_numbers,
            rejected.refusal)  # fmt: skip


def assert_same(path: Path, chunk_lines: int) -> list[Chunk]:
    chunks = list(read_chunks([str(path)], chunk_lines=chunk_lines))
    got, got_order = outcomes(chunks)
    want, want_order = outcomes([from_records(read_declarations(str(path)))])
    assert got_order == want_order
    assert_frames(got.headers, want.headers)
    assert_frames(got.items, want.items)
    return chunks


def assert_frames(got: pl.DataFrame, want: pl.DataFrame) -> None:
    assert got.schema == want.schema
    assert got.rows() == want.rows()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=batch_csv(), chunk_lines=st.sampled_from([1, 2, 5, 1000]))
def test_columns_read_what_records_read(tmp_path: Path, data: bytes, chunk_lines: int) -> None:
    path = tmp_path / "batch.csv"
    path.write_bytes(data)
    assert_same(path, chunk_lines)


def test_a_clean_file_takes_the_fast_path_and_matches(tmp_path: Path) -> None:
    path = Path(__file__).parent.parent / "fixtures" / "shipments.csv"
    chunks = assert_same(path, 40)
    assert len(chunks) > 3 and not any(c.rejected for c in chunks)


def test_gzip_and_stdin_match(tmp_path: Path) -> None:
    source = Path(__file__).parent.parent / "fixtures" / "shipments.csv"
    packed = tmp_path / "day.csv.gz"
    packed.write_bytes(gzip.compress(source.read_bytes()))
    assert_same(packed, 100)
    stdin = io.StringIO(source.read_text(encoding="utf-8"))
    got, _ = outcomes(list(read_chunks(["-"], stdin)))
    want, _ = outcomes([from_records(read_declarations(str(source)))])
    assert got.items.rows() == want.items.rows()
    assert got.headers["source"].unique().to_list() == ["<stdin>"]


def test_a_record_spanning_lines_is_read_by_the_exact_reader(tmp_path: Path) -> None:
    source = (Path(__file__).parent.parent / "fixtures" / "shipments.csv").read_text(encoding="utf-8")
    lines = source.splitlines(keepends=True)
    lines[2] = lines[2].replace('"AC motors,', '"AC motors\non two lines,', 1)  # a quoted line break
    lines[9] = lines[9].replace(",", ',"', 1)  # an unbalanced quote swallows rows
    path = tmp_path / "broken.csv"
    path.write_text("".join(lines), encoding="utf-8")
    chunks = assert_same(path, 50)
    assert any(c.rejected for c in chunks)
    assert "AC motors\non two lines, 0.75-75 kW" in chunks[0].declarations.items["description"].to_list()


def test_refusals_match(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    typo = tmp_path / "typo.csv"
    typo.write_text(",".join(c if c != "transit_countries" else "transit_countrys" for c in COLUMNS) + "\n")
    for path in (empty, typo, tmp_path / "missing.csv"):
        chunks = list(read_chunks([str(path)]))
        assert len(chunks) == 1 and chunks[0].rejected[0].refusal
        assert outcomes(chunks)[1] == outcomes([from_records(read_declarations(str(path)))])[1]


def test_the_whitespace_stripped_is_pythons() -> None:
    import sys

    from customs_rules.io.checks import PY_WHITESPACE

    assert "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()) == PY_WHITESPACE


def test_json_and_json_lines_feed_the_same_chunks(tmp_path: Path) -> None:
    import json

    good = {"declaration_id": "J-1", "date": "2024-03-05", "exporter": {"name": "Aspan Arba LLP", "x": 1},
            "consignee": {"name": "Nebesnaya"}, "dispatch_country": "kz", "destination_country": "RU",
            "note": "kept", "items": [{"hs_code": "8806.21", "value": 5, "colour": "red"}]}  # fmt: skip
    bad = {**good, "declaration_id": "J-2", "date": "2024-02-30"}
    listed = tmp_path / "day.json"
    listed.write_text(json.dumps([good, bad, {**good, "declaration_id": "J-3"}]))
    lines = tmp_path / "day.jsonl"
    lines.write_text("\n".join(json.dumps(d) for d in (bad, good)) + "\n")
    for path in (listed, lines):
        chunks = assert_same(path, 2)
        assert sum(len(c.rejected) for c in chunks) == 1
    extra = DeclarationSet.concat(c.declarations for c in read_chunks([str(listed)]))
    assert extra.headers["extra"][0] == '{"note":"kept"}' and extra.items["extra"][0] == '{"colour":"red"}'


# cells of rows that the cheap test proves plain or not
_FIELDS = ["a", "a", "a", "", " ", "é", '"a"', "\t", "\x1c", "\u00a0a", '"a,b"', '""""', '" "', '"x"y', 'a"b', '"',
           "\x00", "a\nb"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(rows=st.lists(st.lists(st.sampled_from(_FIELDS), min_size=1, max_size=5), min_size=1, max_size=3),
       width=st.integers(2, 4), end=st.booleans())  # fmt: skip
def test_a_block_proven_plain_is_one_classify_reads_whole(rows: list[list[str]], width: int, end: bool) -> None:
    from customs_rules.io.lines import Fallback, classify, plain_count, split_lines

    data = ("\n".join(",".join(row) for row in rows) + ("\n" if end else "")).encode()
    count = plain_count(data, width)
    if count is None:
        return
    try:  # the cheap test is never looser than classify's line by line
        block = classify(*split_lines(data), 2, [f"c{i}" for i in range(width)], data)
    except Fallback:
        raise AssertionError(f"proven plain, but classify falls back: {data!r}") from None
    assert block.data == data and count == len(split_lines(data)[0])
