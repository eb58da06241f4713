"""Reading JSON, JSON Lines and batch CSV: every rejection says where and which field."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customs_rules.io.declarations import read_declarations
from customs_rules.io.parsing import Parsed, Rejected

HEADER = (
    "declaration_id,date,procedure,exporter_name,exporter_id,exporter_country,consignee_name,"
    "consignee_id,consignee_country,dispatch_country,destination_country,line,hs_code,"
    "description,quantity,unit,value,currency,origin_country"
)


def write_batch(path: Path, rows: list[str]) -> None:
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n")


def decl(ident: str = "D-1", **extra: object) -> dict[str, object]:
    return {
        "declaration_id": ident,
        "date": "2024-01-15",
        "exporter": {"name": "Dala Grain LLP"},
        "consignee": {"name": "Harbin Grain Import Co"},
        "dispatch_country": "KZ",
        "destination_country": "CN",
        "items": [{"hs_code": "1001.99", "value": 100}],
    } | extra


def read(path: Path) -> list[Parsed | Rejected]:
    return list(read_declarations(str(path)))


def test_json_object_and_list(tmp_path: Path) -> None:
    one = tmp_path / "one.json"
    one.write_text(json.dumps(decl()))
    many = tmp_path / "many.json"
    many.write_text(json.dumps([decl("A"), decl("B")], indent=2))
    assert [type(r) for r in read(one)] == [Parsed]
    results = read(many)
    assert [r.declaration.declaration_id for r in results if isinstance(r, Parsed)] == ["A", "B"]
    assert results[1].location.record == 2
    assert results[1].location.line is not None and results[1].location.line > 2


def test_json_list_rejects_only_the_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "mixed.json"
    bad = decl("B", destination_country="XX")
    path.write_text(json.dumps([decl("A"), bad, decl("C")], indent=1))
    results = read(path)
    assert [type(r).__name__ for r in results] == ["Parsed", "Rejected", "Parsed"]
    rejected = results[1]
    assert isinstance(rejected, Rejected)
    assert rejected.declaration_id == "B"
    assert str(rejected.errors[0]).startswith(f"{path}:")
    assert "field destination_country" in str(rejected.errors[0])
    assert "unknown country 'XX'" in str(rejected.errors[0])


def test_records_of_a_json_list_on_one_line_are_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "oneline.json"
    nameless = {k: v for k, v in decl("B").items() if k != "declaration_id"}
    path.write_text(json.dumps([decl("A"), nameless, decl("C", date="bad")]))
    results = read(path)
    assert [str(e) for r in results if isinstance(r, Rejected) for e in r.errors] == [
        f"{path}:1, record 2, field declaration_id: required field is missing",
        f"{path}:1, record 3, field date: date 'bad' must be written YYYY-MM-DD",
    ]
    single = tmp_path / "single.json"
    single.write_text(json.dumps(decl("D", date="bad")))
    (rejected,) = read(single)
    assert isinstance(rejected, Rejected) and str(rejected.errors[0]).startswith(f"{single}:1, field date")


def test_malformed_json_is_located(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "declaration_id": "D-1",\n  "date": 2024-01-15\n}')
    (result,) = read(path)
    assert isinstance(result, Rejected)
    assert str(result.errors[0]).startswith(f"{path}:3:")


def test_jsonl_locates_lines(tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl"
    lines = [json.dumps(decl("A")), "", "{not json", json.dumps(decl("C", items=[{"hs_code": "85A231"}]))]
    path.write_text("\n".join(lines) + "\n")
    results = read(path)
    assert isinstance(results[0], Parsed)
    assert str(results[1].location) == f"{path}:3"
    bad_hs = results[2]
    assert isinstance(bad_hs, Rejected)
    assert str(bad_hs.errors[0]) == (
        f"{path}:4, field items[0].hs_code: HS code '85A231' must have 6 to 10 digits "
        "(dots and spaces allowed), e.g. 8806.21 or 8806 21 000 0"
    )


def test_csv_groups_rows_into_declarations(tmp_path: Path) -> None:
    path = tmp_path / "batch.csv"
    rows = [
        "D-1,2024-01-15,export,Dala Grain LLP,,KZ,Harbin Grain,,CN,KZ,CN,1,1001.99,wheat,10,t,2000,USD,KZ",
        "D-2,2024-01-15,export,Kaz Micro,,KZ,Elektronik GmbH,,DE,KZ,DE,1,8542.31,chips,5,pcs,900,EUR,TW",
        "D-1,2024-01-15,export,Dala Grain LLP,,KZ,Harbin Grain,,CN,KZ,CN,2,1001.19,durum,1,t,300,USD,KZ",
    ]
    path.write_text(HEADER + ",batch_ref\n" + "\n".join(r + ",X9" for r in rows) + "\n")
    results = read(path)
    assert all(isinstance(r, Parsed) for r in results)
    # a declaration is handed on at its last row: D-2 (line 3) before D-1 (lines 2 and 4)
    assert [r.declaration.declaration_id for r in results] == ["D-2", "D-1"]
    first = results[1].declaration
    assert [i.line for i in first.items] == [1, 2]  # non-adjacent rows of one declaration
    assert first.items[0].model_extra == {"batch_ref": "X9"}  # extra columns are kept


def test_csv_bad_row_rejects_its_whole_declaration_only(tmp_path: Path) -> None:
    path = tmp_path / "batch.csv"
    rows = [
        "D-1,2024-01-15,export,Kaz Micro,,KZ,Harbin,,CN,KZ,CN,1,8806.21,drones,1,pcs,10,USD,CN",
        "D-1,2024-01-15,export,Kaz Micro,,KZ,Harbin,,CN,KZ,CN,2,85A231,chips,1,pcs,10,USD,CN",
        "D-2,2024-01-15,export,Kaz Micro,,KZ,Harbin,,CN,KZ,XX,1,100199,wheat,1,t,10,USD,KZ",
        "D-3,2024-01-15,export,Kaz Micro,,KZ,Harbin,,CN,KZ,CN,1,100199,wheat,1,t,10,USD,KZ",
    ]
    write_batch(path, rows)
    results = read(path)
    assert [type(r).__name__ for r in results] == ["Rejected", "Rejected", "Parsed"]
    assert str(results[0].errors[0]).startswith(f"{path}:3, field hs_code:")
    assert str(results[1].errors[0]).startswith(f"{path}:4, field destination_country:")


def test_csv_conflicting_header_values_reject_the_declaration(tmp_path: Path) -> None:
    path = tmp_path / "batch.csv"
    rows = [
        "D-1,2024-01-15,export,Kaz Micro,,KZ,Harbin,,CN,KZ,CN,1,100199,wheat,1,t,10,USD,KZ",
        "D-1,2024-01-15,export,Kaz Micro,,KZ,Harbin,,CN,KZ,RU,2,100199,wheat,1,t,10,USD,KZ",
    ]
    write_batch(path, rows)
    (result,) = read(path)
    assert isinstance(result, Rejected)
    assert str(result.errors[0]).startswith(f"{path}:3, field destination_country: conflicts with line 2")


def test_csv_repeated_item_line_is_located_at_the_row_repeating_it(tmp_path: Path) -> None:
    path = tmp_path / "batch.csv"
    rows = [
        "D-1,2024-01-15,export,Kaz Micro,,KZ,Harbin,,CN,KZ,CN,1,100199,wheat,1,t,10,USD,KZ",
        "D-1,2024-01-15,export,Kaz Micro,,KZ,Harbin,,CN,KZ,CN,2,100199,wheat,1,t,10,USD,KZ",
        "D-1,2024-01-15,export,Kaz Micro,,KZ,Harbin,,CN,KZ,CN,01,8806.21,drones,1,pcs,10,USD,CN",
    ]
    write_batch(path, rows)
    (result,) = read(path)
    assert isinstance(result, Rejected)
    assert [str(e) for e in result.errors] == [
        f"{path}:4, field line: item line 01 appears twice in this declaration (first at line 2)"
    ]


@pytest.mark.parametrize("line", ["²", "1" * 5000, "1000001"])
def test_csv_odd_item_lines_are_located_rejections(tmp_path: Path, line: str) -> None:
    # a superscript two is a digit to str.isdigit(), and int() refuses 5000 digits
    path = tmp_path / "batch.csv"
    rows = [
        f"D-1,2024-01-15,export,Kaz Micro,,KZ,Harbin,,CN,KZ,CN,{line},100199,wheat,1,t,10,USD,KZ",
        "D-2,2024-01-15,export,Kaz Micro,,KZ,Harbin,,CN,KZ,CN,1,100199,wheat,1,t,10,USD,KZ",
    ]
    write_batch(path, rows)
    bad, good = read(path)
    assert isinstance(good, Parsed)
    assert isinstance(bad, Rejected) and str(bad.errors[0]).startswith(f"{path}:2, field line:")


def test_csv_missing_columns_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "batch.csv"
    path.write_text("declaration_id,date\nD-1,2024-01-01\n")
    (result,) = read(path)
    assert isinstance(result, Rejected)
    assert "missing column(s): exporter_name" in str(result.errors[0])


def test_missing_file_is_a_rejection_not_a_crash(tmp_path: Path) -> None:
    (result,) = read(tmp_path / "nope.json")
    assert isinstance(result, Rejected)
    assert "no such file" in str(result.errors[0])


def test_stdin_is_sniffed() -> None:
    text = json.dumps(decl("A")) + "\n" + json.dumps(decl("B")) + "\n"
    results = list(read_declarations("-", io.StringIO(text)))
    assert [r.declaration.declaration_id for r in results if isinstance(r, Parsed)] == ["A", "B"]
    csv_text = HEADER + "\nD-1,2024-01-15,export,A,,KZ,B,,CN,KZ,CN,1,100199,w,1,t,1,USD,KZ\n"
    (result,) = list(read_declarations("-", io.StringIO(csv_text)))
    assert isinstance(result, Parsed)
    assert str(result.location) == "<stdin>:2"


def test_ragged_csv_rows_reject_their_whole_declaration(tmp_path: Path) -> None:
    path = tmp_path / "batch.csv"
    rows = [
        "D-1,2024-01-15,export,Kaz Micro,,KZ,Harbin,,RU,KZ,RU,1,100199,wheat,1,t,10,USD,KZ",
        "D-1,2024-01-15,export,Kaz Micro,,KZ,Harbin,,RU,KZ,RU,2,880621,drone,1,pcs,10,USD,CN,EXTRA",
        "D-2,2024-01-15,export,Kaz Micro,,KZ,Harbin,,CN,KZ,CN,1,100199",
    ]
    write_batch(path, rows)
    results = read(path)
    assert [type(r).__name__ for r in results] == ["Rejected", "Rejected"]
    assert str(results[0].errors[0]) == f"{path}:3: more values than header columns"
    assert str(results[1].errors[0]) == f"{path}:4: fewer values than header columns"


def test_csv_columns_named_twice_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "batch.csv"
    path.write_text(HEADER + ",hs_code\nD-1,2024-01-15,export,A,,KZ,B,,RU,KZ,RU,1,880621,d,1,pcs,1,USD,CN,100199\n")
    (result,) = read(path)
    assert isinstance(result, Rejected)
    assert str(result.errors[0]) == f"{path}:1: column(s) named twice: hs_code"


def test_malformed_json_list_screens_none_of_its_records(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("[" + json.dumps(decl("A")) + ",\n" + json.dumps(decl("B")) + " oops]")
    (result,) = read(path)
    assert isinstance(result, Rejected) and str(result.errors[0]).startswith(f"{path}:2:")


def test_duplicate_json_keys_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text('{"declaration_id": "A", "destination_country": "RU", "destination_country": "DE"}\n')
    (result,) = read(path)
    assert isinstance(result, Rejected) and "duplicate key 'destination_country'" in str(result.errors[0])


def test_jsonl_keeps_unicode_line_separators_inside_strings(tmp_path: Path) -> None:
    path = tmp_path / "day.jsonl"
    record = decl("A", items=[{"hs_code": "100199", "description": "wheat\u2028grade 3"}])
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n")
    (result,) = read(path)
    assert isinstance(result, Parsed)


def test_stdin_bom_and_bad_encoding() -> None:
    class Bytes(io.StringIO):
        def __init__(self, data: bytes) -> None:
            super().__init__()
            self.buffer = io.BytesIO(data)

    csv_text = HEADER + "\nD-1,2024-01-15,export,A,,KZ,B,,CN,KZ,CN,1,100199,w,1,t,1,USD,KZ\n"
    (ok,) = list(read_declarations("-", Bytes(b"\xef\xbb\xbf" + csv_text.encode())))
    assert isinstance(ok, Parsed)
    (bad,) = list(read_declarations("-", Bytes(csv_text.replace("w,", "bl\xe9,").encode("latin-1"))))
    assert isinstance(bad, Rejected) and "not UTF-8 text" in str(bad.errors[0])
    (empty,) = list(read_declarations("-", Bytes(b"  \n")))
    assert isinstance(empty, Rejected) and str(empty.errors[0]) == "<stdin>: no input"


def test_one_id_with_two_contents_in_one_run_rejects_the_later(tmp_path: Path) -> None:
    from customs_rules.io.declarations import read_all

    path = tmp_path / "day.jsonl"
    same = json.dumps(decl("A"))
    path.write_text("\n".join([same, same, json.dumps(decl("A", destination_country="RU"))]) + "\n")
    results = list(read_all([str(path)]))
    assert [type(r).__name__ for r in results] == ["Parsed", "Parsed", "Rejected"]
    assert f"already came with other content at {path}:1" in str(results[2].errors[0])


def test_gzip_inputs_of_every_format(tmp_path: Path) -> None:
    import gzip

    csv_text = HEADER + "\nD-1,2024-01-15,export,A,,KZ,B,,CN,KZ,CN,1,100199,w,1,t,1,USD,KZ\n"
    texts = {
        "day.csv.gz": csv_text,
        "day.jsonl.gz": json.dumps(decl("A")) + "\n" + json.dumps(decl("B")) + "\n",
        "day.json.gz": json.dumps([decl("A"), decl("B")]),
    }
    for name, text in texts.items():
        path = tmp_path / name
        path.write_bytes(gzip.compress(text.encode()))
        results = read(path)
        assert results and all(isinstance(r, Parsed) for r in results), (name, results)
    damaged = tmp_path / "bad.csv.gz"
    damaged.write_bytes(gzip.compress(csv_text.encode())[:-12])
    (result,) = read(damaged)
    assert isinstance(result, Rejected) and "damaged gzip data" in str(result.errors[0])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["A", "B", "C", "Ж-1", 'q"x']), min_size=0, max_size=6),
    st.sampled_from(["", " ", "\n", "\n  \t", "\r\n"]),
    st.integers(min_value=1, max_value=40),
)
def test_streamed_json_lists_equal_json_loads(idents: list[str], space: str, chunk: int) -> None:
    from customs_rules.io import json_input

    records = [
        decl(i) | {"items": [{"hs_code": "100199", "value": 12.5 * n, "description": "x" * n}]}
        for n, i in enumerate(idents)
    ]
    text = "[" + space + ("," + space).join(json.dumps(r, ensure_ascii=False) for r in records) + space + "]" + space
    original = json_input._JsonStream.CHUNK
    json_input._JsonStream.CHUNK = chunk  # tiny windows: values cut at every possible place
    try:
        values = [v for _, _, v in json_input._json_values(io.StringIO(text), "t.json")]
    finally:
        json_input._JsonStream.CHUNK = original
    assert values == json.loads(text)
