"""What users write is normalised before anything compares it, or refused with its place:
Unicode digits in code-like fields, look-alike letters, control characters, misspelt
columns and dates out of range (issue #12, items 1.1, 1.2, 2.2 and 5.1)."""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from conftest import GOOD_DECLARATION as GOOD
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlmodel import select

from customs_rules.cli.base import main
from customs_rules.cli.form import ask_declaration
from customs_rules.contract.codes import normalize_country, normalize_currency, normalize_hs
from customs_rules.contract.errors import InputError
from customs_rules.contract.input_text import ascii_digits
from customs_rules.contract.models import STORED, Declaration, Item, Party
from customs_rules.contract.registry_rows import CompanyRecord, PersonRecord, WatchlistRecord
from customs_rules.entities.identifiers import check_id
from customs_rules.entities.registry_csv import read_registry_csv
from customs_rules.io.declarations import read_declarations
from customs_rules.io.parsing import Parsed, Rejected
from customs_rules.report.html import time_buckets
from customs_rules.rules.reference import expand_prefixes
from customs_rules.store import DecisionRecord, DeclarationRecord, ItemRecord, Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HEADER = (
    "declaration_id,date,procedure,exporter_name,exporter_id,exporter_country,consignee_name,"
    "consignee_id,consignee_country,dispatch_country,destination_country,line,hs_code,"
    "description,quantity,unit,value,currency,origin_country"
)
# zero in scripts whose digits follow it: Arabic-Indic, extended Arabic-Indic, Devanagari,
# Bengali, Thai, fullwidth, mathematical bold
ZEROS = ["\u0660", "\u06f0", "\u0966", "\u09e6", "\u0e50", "\uff10", "\U0001d7ce"]


def in_script(text: str, zero: str) -> str:
    return "".join(chr(ord(zero) + int(ch)) if ch.isdigit() else ch for ch in text)


def run(db: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--db", db, *args], catch_exceptions=False)


def load_fixture_registry(db: str) -> None:
    registry = FIXTURES / "registry"
    result = run(db, "registry", "load", "--companies", str(registry / "companies.csv"),
                 "--people", str(registry / "people.csv"), "--watchlist", str(registry / "watchlist.csv"))  # fmt: skip
    assert result.exit_code == 0, result.stderr


def load_small_registry(db: str, tmp_path: Path) -> None:
    """The two traders of the CSV rows below: screening refuses an empty registry."""
    companies, people = tmp_path / "companies.csv", tmp_path / "people.csv"
    companies.write_text(
        "company_id,name,country,registered_on,activity_codes,aliases\n"
        "150340000011,Dala Grain LLP,KZ,2015-03-01,46.21,\nCN91,Harbin Grain Import Co,CN,2005-01-01,46.21,\n"
    )
    people.write_text("company_id,person_name,role\n150340000011,Yerlan Sadykov,director\n")
    result = run(db, "registry", "load", "--companies", str(companies), "--people", str(people))
    assert result.exit_code == 0, result.stderr


def stored(db: str) -> tuple[int, int]:
    store = Store(db)
    try:
        return store.count(DeclarationRecord), store.count(DecisionRecord)
    finally:
        store.close()


def csv_row(ident: str, description: str = "wheat", line: str = "1", date: str = "2024-01-15") -> str:
    cells = [ident, date, "export", "Dala Grain LLP", "", "KZ", "Harbin Grain Import Co", "", "CN", "KZ", "CN",
             line, "1001.99", description, "1", "t", "100", "USD", "KZ"]  # fmt: skip
    return ",".join(f'"{c}"' if any(x in c for x in ',"\n\r') else c for c in cells)


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> str:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def errors_of(result: Parsed | Rejected) -> list[str]:
    assert isinstance(result, Rejected), result
    return [str(e) for e in result.errors]


# 1.1 A misspelt CSV column is refused for the whole file, like a misspelt JSON field


@pytest.mark.parametrize(
    ("written", "meant"),
    [("transit_countrys", "transit_countries"), ("Transit_Countries", "transit_countries"),
     ("document_typ", "document_type"), ("net_mass", "net_mass_kg"), ("origin_county", "origin_country"),
     ("curency", "currency"), ("consignee_idd", "consignee_id")],
)  # fmt: skip
def test_a_misspelt_csv_column_refuses_the_whole_file(
    sqlite_url: str, tmp_path: Path, written: str, meant: str
) -> None:
    header = HEADER + f",{written}"
    rows = [csv_row("T-1") + ",RU", csv_row("T-2") + ",RU"]
    path = write_csv(tmp_path / "batch.csv", rows, header)
    load_small_registry(sqlite_url, tmp_path)
    result = run(sqlite_url, "screen", path, "--format", "json")
    assert result.exit_code == 2
    assert result.stdout == ""  # nothing screened
    assert f"{path}:1, field {written}: unknown column {written!r}: did you mean {meant!r}?" in result.stderr
    assert "Traceback" not in result.stderr
    assert stored(sqlite_url) == (0, 0)


def test_a_misspelt_required_csv_column_names_the_one_meant(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "b.csv", [csv_row("T-1")], HEADER.replace(",hs_code,", ",hs_cod,"))
    [result] = read_declarations(path)
    assert errors_of(result) == [
        f"{path}:1: missing column(s): hs_code",
        f"{path}:1, field hs_cod: unknown column 'hs_cod': did you mean 'hs_code'?",
    ]


def test_extra_csv_columns_that_are_no_near_miss_are_kept(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "b.csv", [csv_row("T-1") + ",INV-7,x"], HEADER + ",invoice_no,remark")
    [result] = read_declarations(path)
    assert isinstance(result, Parsed)
    assert result.declaration.canonical()["items"][0]["invoice_no"] == "INV-7"


def test_json_and_csv_refuse_the_same_typo() -> None:
    with pytest.raises(ValidationError, match="did you mean 'transit_countries'"):
        Declaration.model_validate(GOOD | {"transit_countrys": ["RU"]})


@pytest.mark.parametrize(
    ("written", "meant"),
    [("TRANSIT_COUNTRIES", "transit_countries"), ("Unit", "unit"), ("NET_MASS_KG", "net_mass_kg"),
     ("Description", "description"), ("ORIGIN_COUNTRY", "origin_country"), ("Document_Type", "document_type")],
)  # fmt: skip
def test_a_column_in_other_letter_case_is_a_near_miss(tmp_path: Path, written: str, meant: str) -> None:
    # upper case scored under difflib's cutoff: TRANSIT_COUNTRIES was kept as an extra
    # column and the transit through Russia was lost (a hold released), exit 0
    path = write_csv(tmp_path / "b.csv", [csv_row("T-1") + ",RU"], HEADER + f",{written}")
    [result] = read_declarations(path)
    assert errors_of(result) == [f"{path}:1, field {written}: unknown column {written!r}: did you mean {meant!r}?"]


@pytest.mark.parametrize(("written", "meant"), [("TRANSIT_COUNTRIES", "transit_countries"), ("Currency", "currency")])
def test_a_json_field_in_other_letter_case_is_a_near_miss(written: str, meant: str) -> None:
    data = (
        GOOD | {written: ["RU"]}
        if meant == "transit_countries"
        else GOOD | {"items": [GOOD["items"][0] | {written: "USD"}]}
    )
    with pytest.raises(ValidationError, match=f"unknown field {written!r}: did you mean {meant!r}"):
        Declaration.model_validate(data)


@pytest.mark.parametrize(
    ("model", "header", "typo", "meant"),
    [(CompanyRecord, "company_id,name,country,registered_on,activity_codes,aliases,adress", "adress", "address"),
     (PersonRecord, "company_id,person_name,role,person_company_ids", "person_company_ids", "person_company_id"),
     (PersonRecord, "company_id,person_name,role,birthdate", "birthdate", "birth_date")],
)  # fmt: skip
def test_a_misspelt_registry_column_refuses_the_file(
    tmp_path: Path, model: Any, header: str, typo: str, meant: str
) -> None:
    path = tmp_path / "reg.csv"
    path.write_text(header + "\n")
    with pytest.raises(InputError) as caught:
        read_registry_csv(path, model)
    assert [str(e) for e in caught.value.errors] == [
        f"{path}:1, field {typo}: unknown column {typo!r}: did you mean {meant!r}?"
    ]


# 1.2 Unicode digits are read as ASCII digits; look-alike letters are refused

digit_strings = st.text(st.characters(categories=["Nd"]), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(digit_strings)
def test_any_unicode_digit_string_equals_its_ascii_form(text: str) -> None:
    ascii_form = "".join(str(unicodedata.decimal(ch)) for ch in text)
    assert ascii_digits(text) == ascii_form and ascii_form.isascii()
    if 6 <= len(text) <= 10:
        assert normalize_hs(text) == normalize_hs(ascii_form) == ascii_form
    item = Item.model_validate({"line": "\u0661" + text[:5], "hs_code": "880621", "quantity": text, "value": text})
    assert (item.line, item.quantity, item.value) == (int("1" + ascii_form[:5]), float(ascii_form), float(ascii_form))
    assert Party.model_validate({"name": "X", "id": text}).id == ascii_form


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZEROS), st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)))
def test_dates_in_any_digits_are_the_same_date(zero: str, day: dt.date) -> None:
    written = in_script(day.isoformat(), zero)
    assert Declaration.model_validate(GOOD | {"date": written}).date == day


@pytest.mark.parametrize("zero", ZEROS)
def test_the_seed_declaration_in_other_digits_holds_as_in_ascii(sqlite_url: str, tmp_path: Path, zero: str) -> None:
    load_fixture_registry(sqlite_url)
    seed = json.loads((FIXTURES / "declarations" / "aspan_arba_drones.json").read_text())
    for item in seed["items"]:
        item["hs_code"] = in_script(item["hs_code"], zero)
        item["quantity"] = in_script(str(item["quantity"]), zero)
    seed["exporter"]["id"] = in_script(seed["exporter"]["id"], zero)
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
    result = run(sqlite_url, "screen", str(path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    decision = json.loads(result.stdout)
    assert (decision["decision"], decision["score"]) == ("hold", 390.0)
    store = Store(sqlite_url)
    try:
        with store.reading() as session:
            codes = sorted(row.hs_code for row in session.exec(select(ItemRecord)))
            [row] = session.exec(select(DeclarationRecord)).all()
        content = store.explain(f"{row.declaration_id}")["declaration"]  # type: ignore[index]
    finally:
        store.close()
    assert codes == ["854231", "8806210000", "880730"]  # stored normalised
    assert content["exporter"]["id"] == "190540218733"
    assert [item["quantity"] for item in content["items"]] == [120, 600, 5000]


LOOK_ALIKES = [
    ("\u041aZ", "U+041A CYRILLIC CAPITAL LETTER KA"),  # Cyrillic К
    ("\u039a\u0396", "U+039A GREEK CAPITAL LETTER KAPPA"),  # Greek ΚΖ
    ("R\u0423", "U+0423 CYRILLIC CAPITAL LETTER U"),
    ("\u00df", "U+00DF LATIN SMALL LETTER SHARP S"),  # upper() would make SS, South Sudan
    ("\u0131t", "U+0131 LATIN SMALL LETTER DOTLESS I"),  # upper() would make IT, Italy
    ("\u017fe", "U+017F LATIN SMALL LETTER LONG S"),  # upper() would make SE, Sweden
    ("\uff2b\uff3a", "U+FF2B FULLWIDTH LATIN CAPITAL LETTER K"),
]


@pytest.mark.parametrize(("code", "named"), LOOK_ALIKES)
def test_look_alike_letters_in_country_codes_are_refused(code: str, named: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"it holds {named}, not an ASCII letter")):
        normalize_country(code)
    rejected = Declaration.model_validate
    with pytest.raises(ValidationError, match="not an ASCII letter"):
        rejected(GOOD | {"destination_country": code})


@pytest.mark.parametrize("code", ["U\u0405D", "\u0415UR", "US\u0110", "\uff35SD", "R\u0423B"])
def test_look_alike_letters_in_currency_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError, match="not an ASCII letter"):
        normalize_currency(code)


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=4).filter(lambda s: not s.strip().isascii()))
def test_no_non_ascii_code_is_ever_taken_for_a_country_or_currency(code: str) -> None:
    for check in (normalize_country, normalize_currency):
        with pytest.raises(ValueError):
            check(code)


def test_a_party_id_with_look_alike_letters_is_refused() -> None:
    with pytest.raises(ValidationError, match="party id '\u0415811' holds U\\+0415 CYRILLIC CAPITAL LETTER IE"):
        Party.model_validate({"name": "X", "id": "\u0415811"})


def test_csv_line_numbers_in_other_digits_repeat_their_ascii_form(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "b.csv", [csv_row("T-1", line="1"), csv_row("T-1", line="\u0661")])
    [result] = read_declarations(path)
    assert errors_of(result) == [
        f"{path}:3, field line: item line \u0661 appears twice in this declaration (first at line 2)"
    ]


def test_superscript_digits_are_refused_not_read(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must have 6 to 10 digits"):
        normalize_hs("880621\u00b2")
    with pytest.raises(ValidationError):
        Item.model_validate({"line": "\u00b2", "hs_code": "880621"})


def test_registry_ids_and_dates_are_normalised_and_look_alikes_refused(tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_text(
        "company_id,name,country,registered_on,activity_codes,aliases\n"
        f"{in_script('190540218733', ZEROS[0])},Aspan Arba,KZ,{in_script('2019-05-14', ZEROS[2])},"
        f"{in_script('46.52', ZEROS[5])},\n",
        encoding="utf-8",
    )
    [company] = read_registry_csv(path, CompanyRecord)
    assert (company.company_id, company.registered_on, company.activity_codes) == (
        "190540218733", dt.date(2019, 5, 14), ["46.52"])  # fmt: skip
    path.write_text("company_id,person_name,role,person_id\nKZ1,A B,director,\u0410B12\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_registry_csv(path, PersonRecord)
    assert [str(e) for e in caught.value.errors] == [
        f"{path}:2, field person_id: id 'АB12' holds U+0410 CYRILLIC CAPITAL LETTER A: "
        "write it with ASCII letters and digits (look-alikes are refused)"
    ]


def test_a_control_character_in_a_registry_row_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("company_id,person_name,role\nKZ1,Ilya Goldberg,director\nKZ2,Ilya\x00 Goldberg,founder\n")
    with pytest.raises(InputError) as caught:
        read_registry_csv(path, PersonRecord)
    assert [str(e) for e in caught.value.errors] == [
        f"{path}:3, field person_name: text holds U+0000 NUL at character 5; control and bidi characters are not allowed"
    ]


def test_id_checksums_read_ascii_digits_only() -> None:
    # the model hands ASCII ids on; a caller of the library that does not gets no scheme, not int()'s guess
    assert check_id("190540218733", "KZ").scheme == "BIN"
    assert check_id(in_script("190540218733", ZEROS[0]), "KZ").scheme is None


def test_rule_pack_hs_prefixes_must_be_ascii_digits() -> None:
    assert expand_prefixes("8806") == ("8806",)
    for spec in (in_script("8806", ZEROS[0]), "88\u00b2", in_script("8532-8542", ZEROS[5])):
        with pytest.raises(ValueError, match="must be digits"):
            expand_prefixes(spec)


@click.command()
def form_command() -> None:
    click.echo(ask_declaration(today=dt.date(2024, 3, 1)).model_dump_json())


def test_the_form_reads_other_digits_as_ascii_and_refuses_look_alikes() -> None:
    ar = ZEROS[0]
    answers = ["F-1", in_script("2024-02-10", ar), "export", "", "Dala Grain LLP", in_script("150340000011", ar),
               "kz", "Harbin Grain Import Co", "", "", "\u041aZ", "kz", "cn", "",
               in_script("1001 99 000 0", ar), "wheat", in_script("20", ar), "t", in_script("5000", ar), "usd", "kz",
               in_script("20000", ar), "n", "y"]  # fmt: skip
    result = CliRunner().invoke(form_command, input="".join(f"{a}\n" for a in answers))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["date"] == "2024-02-10" and data["exporter"]["id"] == "150340000011"
    assert data["items"][0] | {"description": None} == {
        "line": 1, "hs_code": "1001990000", "description": None, "quantity": 20.0, "unit": "t",
        "value": 5000.0, "currency": "USD", "origin_country": "KZ", "net_mass_kg": 20000.0}  # fmt: skip
    assert "U+041A CYRILLIC CAPITAL LETTER KA, not an ASCII letter" in result.stderr


# 2.2 Control characters are a located rejection of their declaration, on both back-ends

CONTROLS = ["\x00", "\x07", "\x1b", "\x7f", "\x85", "\u202e", "\u2066", "\u2069"]


@pytest.mark.parametrize("char", CONTROLS, ids=[f"U+{ord(c):04X}" for c in CONTROLS])
@pytest.mark.parametrize(
    "path",
    [("items", 0, "description"), ("items", 0, "unit"), ("items", 0, "hs_code"), ("items", 0, "quantity"),
     ("items", 0, "item_note"), ("exporter", "name"), ("consignee", "id"), ("declaration_id",),
     ("document_type",), ("note",)],
)  # fmt: skip
def test_a_control_character_in_any_text_field_rejects_the_declaration(char: str, path: tuple[Any, ...]) -> None:
    data = json.loads(json.dumps(GOOD))
    data["items"][0] |= {"unit": "t", "description": "wheat", "quantity": "12"}
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = f"{target.get(path[-1]) or 'ab'}{char}1"
    with pytest.raises(ValidationError) as caught:
        Declaration.model_validate(data)
    text = str(caught.value)
    assert f"U+{ord(char):04X}" in text
    assert char not in text  # the message never carries the character itself


def test_a_control_character_in_an_extra_field_name_is_refused() -> None:
    with pytest.raises(ValidationError, match="U\\+001B ESC"):
        Declaration.model_validate(GOOD | {"\x1b[31mnote": "x"})
    with pytest.raises(ValidationError, match="U\\+0000 NUL"):
        Declaration.model_validate(GOOD | {"notes": [{"deep": ["ok", "bad\x00"]}]})


def test_tab_and_line_breaks_stay_allowed_in_a_description(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "b.csv", [csv_row("T-1", description="drones\r\nparts\tand spares")])
    [result] = read_declarations(path)
    assert isinstance(result, Parsed)
    assert result.declaration.items[0].description == "drones\r\nparts\tand spares"


def test_a_nul_in_one_csv_row_rejects_it_at_its_line_and_the_rest_is_stored(db_url: str, tmp_path: Path) -> None:
    rows = [csv_row(f"C-{n}") for n in range(1, 7)]
    rows[2] = csv_row("C-3", description="wheat\x00")
    rows[4] = csv_row("C-5\u202e", description="wheat")
    path = write_csv(tmp_path / "nul.csv", rows)
    load_small_registry(db_url, tmp_path)
    result = run(db_url, "screen", path, "--format", "json")
    assert result.exit_code == 2, result.stderr
    screened = [json.loads(line)["declaration_id"] for line in result.stdout.splitlines()]
    assert screened == ["C-1", "C-2", "C-4", "C-6"]
    assert f"rejected declaration C-3 at {path}:4:" in result.stderr
    assert (f"{path}:4, field description: text holds U+0000 NUL at character 6; "
            "control and bidi characters are not allowed") in result.stderr  # fmt: skip
    assert f"{path}:6, field declaration_id: text holds U+202E RIGHT-TO-LEFT OVERRIDE" in result.stderr
    assert "\x00" not in result.stderr and "\u202e" not in result.stderr
    assert "6 lines: 4 screened in 4 declaration(s) (0 hold, 0 inspect, 4 release), 2 rejected" in result.stderr
    assert stored(db_url) == (4, 4)


# 5.1 Dates out of a sane range are located rejections; the report never crashes


def test_dates_outside_the_range_are_refused() -> None:
    today = dt.date.today()
    assert Declaration.model_validate(GOOD | {"date": "1990-01-01"}).date == dt.date(1990, 1, 1)
    latest = today.replace(year=today.year + 10, day=28 if (today.month, today.day) == (2, 29) else today.day)
    assert Declaration.model_validate(GOOD | {"date": latest.isoformat()}).date == latest
    for day in ("1989-12-31", (latest + dt.timedelta(days=1)).isoformat(), "9999-12-31"):
        with pytest.raises(ValidationError, match=f"date {day} is out of range: expected 1990-01-01 to {latest}"):
            Declaration.model_validate(GOOD | {"date": day})
    # what the database holds was checked when it was stored: rescreens read it back
    assert Declaration.model_validate(GOOD | {"date": "1985-06-01"}, context=STORED).date.year == 1985


def test_registry_date_ranges() -> None:
    today = dt.date.today()
    person = {"company_id": "KZ1", "person_name": "A B", "role": "director"}
    assert PersonRecord.model_validate(person | {"birth_date": "1900-01-01"}).birth_date == dt.date(1900, 1, 1)
    for day in ("1899-12-31", (today + dt.timedelta(days=1)).isoformat()):
        with pytest.raises(ValidationError, match="is out of range"):
            PersonRecord.model_validate(person | {"birth_date": day})
    company = {"company_id": "KZ1", "name": "A"}
    assert CompanyRecord.model_validate(company | {"registered_on": "1847-10-12"}).registered_on
    with pytest.raises(ValidationError, match="registered_on|out of range"):
        CompanyRecord.model_validate(company | {"registered_on": "9999-12-31"})
    with pytest.raises(ValidationError, match="out of range"):
        WatchlistRecord.model_validate({"name": "A", "reason": "r", "listed_on": "1970-01-01"})


def test_a_far_date_is_a_located_rejection_and_the_report_is_written(sqlite_url: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "dates.csv", [csv_row("OK-1"), csv_row("FAR-1", date="9999-12-31"), csv_row("OK-2")])
    report = tmp_path / "report.html"
    load_small_registry(sqlite_url, tmp_path)
    result = run(sqlite_url, "screen", path, "--format", "json", "--report", str(report))
    assert result.exit_code == 2, result.stderr
    assert [json.loads(line)["declaration_id"] for line in result.stdout.splitlines()] == ["OK-1", "OK-2"]
    assert f"{path}:3, field date: date 9999-12-31 is out of range: expected 1990-01-01 to" in result.stderr
    assert "internal error" not in result.stderr
    assert report.read_text(encoding="utf-8").startswith("<!doctype html>")


def test_report_buckets_reach_the_last_representable_year() -> None:
    days = {dt.date(1990, 1, 1): [1, 0, 0], dt.date(9999, 12, 31): [0, 0, 1]}
    unit, rows = time_buckets(days)
    assert unit == "year" and rows[0][0] == "1990" and rows[-1] == ("9999", [0, 0, 1])
